/*
 * `allocinfo diff OLD NEW`: what changed between two reports.  Each
 * report's repeated tags are summed; tags then match by their key
 * (file, line, module, function), or with --ignore-lines by file,
 * module and function, every line of a function summed first.  A tag
 * in NEW only is "new", one in OLD only is "gone"; a tag in both whose
 * bytes and calls are equal is unchanged and only counted.
 *
 * Rows are sorted by |delta bytes|, then |delta calls|, then tag.  The
 * totals are over the tags the filters selected, and --fail-on-growth
 * compares the growth of those totals' bytes with its limit.
 *
 * Exit status as diff(1): 0, 1 when --fail-on-growth tripped, 2 on any
 * error, usage or input.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/output.h"
#include "report/tool.h"

#define DIFF_EXIT_GREW 1
#define DIFF_EXIT_ERROR 2
/* Digits after the point in a --fail-on-growth percentage. */
#define DIFF_PERCENT_DIGITS 6

enum diff_mark { DIFF_CHANGED, DIFF_NEW, DIFF_GONE };

/*
 * One tag of the diff: both reports' records with its key, summed.
 * @tag is the record that names it (NEW's when NEW has the key).
 */
struct diff_row {
	const struct allocinfo_record *tag;
	int64_t old_bytes, old_calls;
	int64_t new_bytes, new_calls;
	int64_t delta_bytes;
	int64_t delta_calls;
	uint64_t hash;
	bool in_old, in_new;
	enum diff_mark mark;
};

/* --fail-on-growth: a size in bytes, or a percentage of OLD's bytes. */
struct diff_limit {
	bool set;
	bool percent;
	int64_t bytes;
	uint64_t scaled_percent;        /* percent * 10^DIFF_PERCENT_DIGITS */
	const char *text;
};

struct diff_options {
	unsigned long long count;
	bool human;
	bool ignore_lines;
	enum output_format format;
	struct diff_limit limit;
};

static const char *const diff_mark_names[] = {
	[DIFF_CHANGED] = "changed",
	[DIFF_NEW] = "new",
	[DIFF_GONE] = "gone",
};

/* Parses "SIZE" or "PERCENT%"; 0, or -1 if malformed or negative. */
static int diff_parse_limit(const char *arg, struct diff_limit *limit)
{
	size_t len = strlen(arg), i, whole = 0, frac = 0;
	uint64_t v = 0;

	limit->set = true;
	limit->text = arg;
	if (!len || arg[len - 1] != '%') {
		limit->percent = false;
		if (allocinfo_parse_size(arg, &limit->bytes) ||
		    limit->bytes < 0)
			return -1;
		return 0;
	}
	/*
	 * DIGITS ["." DIGITS] "%", kept exactly: at most 12 digits before
	 * the point and DIFF_PERCENT_DIGITS after it, so v < 10^18.
	 */
	limit->percent = true;
	for (i = 0; i < len - 1 && arg[i] >= '0' && arg[i] <= '9'; i++) {
		if (++whole > 12)
			return -1;
		v = v * 10 + (uint64_t)(arg[i] - '0');
	}
	if (i < len - 1 && arg[i] == '.') {
		for (i++; i < len - 1 && arg[i] >= '0' && arg[i] <= '9'; i++) {
			if (++frac > DIFF_PERCENT_DIGITS)
				return -1;
			v = v * 10 + (uint64_t)(arg[i] - '0');
		}
		if (!frac)
			return -1;
	}
	if (!whole || i != len - 1)
		return -1;
	for (; frac < DIFF_PERCENT_DIGITS; frac++)
		v *= 10;
	limit->scaled_percent = v;
	return 0;
}

/* Did @growth of bytes over @old bytes pass the limit? */
static bool diff_limit_passed(const struct diff_limit *limit, int64_t old,
			      int64_t growth)
{
	__int128 lhs, rhs, scale = 100;
	int i;

	if (!limit->set || growth <= 0)
		return false;
	if (!limit->percent)
		return growth > limit->bytes;
	/* Growth from nothing is more than any share of it. */
	if (old <= 0)
		return true;
	/* growth / old > p / 100  <=>  growth * 100 * 10^D > old * p * 10^D */
	for (i = 0; i < DIFF_PERCENT_DIGITS; i++)
		scale *= 10;
	lhs = (__int128)growth * scale;
	rhs = (__int128)old * (__int128)limit->scaled_percent;
	return lhs > rhs;
}

/* Saturating difference; sets *@clamped when it saturates. */
static int64_t diff_sub(int64_t a, int64_t b, bool *clamped)
{
	int64_t d;

	if (!__builtin_sub_overflow(a, b, &d))
		return d;
	*clamped = true;
	return b < 0 ? INT64_MAX : INT64_MIN;
}

static uint64_t diff_magnitude(int64_t v)
{
	return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

static int diff_compare_rows(const void *pa, const void *pb)
{
	const struct diff_row *a = pa, *b = pb;
	uint64_t ma = diff_magnitude(a->delta_bytes);
	uint64_t mb = diff_magnitude(b->delta_bytes);

	if (ma != mb)
		return ma < mb ? 1 : -1;
	/* Growth before shrinkage of the same size. */
	if (a->delta_bytes != b->delta_bytes)
		return a->delta_bytes < b->delta_bytes ? 1 : -1;
	ma = diff_magnitude(a->delta_calls);
	mb = diff_magnitude(b->delta_calls);
	if (ma != mb)
		return ma < mb ? 1 : -1;
	if (a->delta_calls != b->delta_calls)
		return a->delta_calls < b->delta_calls ? 1 : -1;
	return tool_compare_tags(a->tag, b->tag);
}

struct diff_summary {
	struct output_totals old, new;
	int64_t delta_bytes;
	int64_t delta_calls;
	size_t nnew, ngone, nchanged, nunchanged;
	bool approximate;
};

/*
 * The diff's table: rows[0, n) and an open-addressing index over them
 * (at most half full) whose slots hold row index + 1, 0 when empty.
 * A probe compares the stored hash before the key's strings.
 */
struct diff_table {
	struct diff_row *rows;
	size_t n;
	size_t *slots;
	size_t mask;
};

static int diff_table_init(struct diff_table *table, size_t max_rows)
{
	size_t size = 16;

	while (size / 2 < max_rows) {
		if (size > SIZE_MAX / 4 / sizeof(*table->slots))
			return -1;
		size *= 2;
	}
	table->n = 0;
	table->mask = size - 1;
	table->slots = calloc(size, sizeof(*table->slots));
	table->rows = calloc(max_rows ? max_rows : 1, sizeof(*table->rows));
	if (table->slots && table->rows)
		return 0;
	free(table->slots);
	free(table->rows);
	return -1;
}

/* The row of @rec's key, added if new; @hash is the key's hash. */
static struct diff_row *diff_table_row(struct diff_table *table,
				       const struct allocinfo_record *rec,
				       uint64_t hash)
{
	struct diff_row *row;
	size_t h;

	for (h = (size_t)hash & table->mask; table->slots[h];
	     h = (h + 1) & table->mask) {
		row = &table->rows[table->slots[h] - 1];
		if (row->hash == hash &&
		    allocinfo_record_key_equal(row->tag, rec))
			return row;
	}
	/* n < max_rows: each record adds at most one row. */
	table->slots[h] = ++table->n;
	row = &table->rows[table->n - 1];
	row->tag = rec;
	row->hash = hash;
	return row;
}

/* Records hashed ahead of their lookup, their slots prefetched. */
#define DIFF_BATCH 16

/*
 * Adds the records of @report that the filter selects to side @is_new
 * of their rows, summing repeated keys (bytes saturate, calls wrap);
 * with --ignore-lines every record's line is forgotten first.  The
 * table is far bigger than the caches, so each batch of records has
 * its slots fetched before the first lookup waits for one.
 */
static void diff_table_add(struct diff_table *table,
			   struct allocinfo_report *report, bool is_new,
			   const struct tool_filter *filter,
			   bool ignore_lines, struct diff_summary *sum)
{
	struct allocinfo_record *batch[DIFF_BATCH];
	uint64_t hashes[DIFF_BATCH];
	size_t i = 0, n, j;

	while (i < report->count) {
		for (n = 0; n < DIFF_BATCH && i < report->count; i++) {
			struct allocinfo_record *rec = &report->records[i];

			if (!tool_filter_match(filter, rec))
				continue;
			if (ignore_lines)
				rec->line = 0;
			hashes[n] = allocinfo_record_key_hash(rec);
			__builtin_prefetch(&table->slots[hashes[n] &
							 table->mask]);
			batch[n++] = rec;
		}
		for (j = 0; j < n; j++) {
			const struct allocinfo_record *rec = batch[j];
			struct diff_row *row = diff_table_row(table, rec,
							      hashes[j]);

			sum->approximate |= rec->approximate;
			if (is_new) {
				if (!row->in_new)
					row->tag = rec;
				row->in_new = true;
				row->new_bytes = tool_add_bytes(
					row->new_bytes, rec->bytes,
					&sum->approximate);
				row->new_calls = tool_add_calls(row->new_calls,
								rec->calls);
			} else {
				row->in_old = true;
				row->old_bytes = tool_add_bytes(
					row->old_bytes, rec->bytes,
					&sum->approximate);
				row->old_calls = tool_add_calls(row->old_calls,
								rec->calls);
			}
		}
	}
}

/* ------------------------------------------------------------ output */

/* A signed size: "+" before growth, as numfmt when @human. */
static const char *diff_signed_size(char buf[OUTPUT_SIZE_MAX + 1],
				    int64_t v, bool human)
{
	buf[0] = '+';
	output_size(buf + (v > 0), v, human);
	return buf;
}

/* A signed count: "+" before growth, "0" for none. */
static const char *diff_signed_calls(char buf[OUTPUT_SIZE_MAX + 1], int64_t v)
{
	snprintf(buf, OUTPUT_SIZE_MAX + 1, v ? "%+lld" : "%lld", (long long)v);
	return buf;
}

static void diff_print_text_row(const struct diff_row *row, bool human,
				bool with_line)
{
	char d[OUTPUT_SIZE_MAX + 1], c[OUTPUT_SIZE_MAX + 1];
	char o[OUTPUT_SIZE_MAX], n[OUTPUT_SIZE_MAX];

	printf("%12s %9s %12s %9llu %12s %9llu %-4s ",
	       diff_signed_size(d, row->delta_bytes, human),
	       diff_signed_calls(c, row->delta_calls),
	       output_size(o, row->old_bytes, human),
	       (unsigned long long)row->old_calls,
	       output_size(n, row->new_bytes, human),
	       (unsigned long long)row->new_calls,
	       row->mark == DIFF_CHANGED ? "" : diff_mark_names[row->mark]);
	output_text_tag(stdout, row->tag, with_line);
	putchar('\n');
}

static void diff_print_text_summary(const struct diff_summary *sum,
				    bool human)
{
	char d[OUTPUT_SIZE_MAX + 1], c[OUTPUT_SIZE_MAX + 1];
	char o[OUTPUT_SIZE_MAX], n[OUTPUT_SIZE_MAX];

	printf("# old: %s bytes in %llu calls, %zu tags\n",
	       output_size(o, sum->old.bytes, human),
	       (unsigned long long)sum->old.calls, sum->old.tags);
	printf("# new: %s bytes in %llu calls, %zu tags\n",
	       output_size(n, sum->new.bytes, human),
	       (unsigned long long)sum->new.calls, sum->new.tags);
	printf("# change: %s bytes", diff_signed_size(d, sum->delta_bytes,
						      human));
	if (sum->old.bytes > 0)
		printf(" (%+.1Lf%%)", (long double)sum->delta_bytes * 100 /
		       (long double)sum->old.bytes);
	printf(", %s calls; %zu new, %zu gone, %zu changed, %zu unchanged"
	       " tags%s\n", diff_signed_calls(c, sum->delta_calls), sum->nnew,
	       sum->ngone,
	       sum->nchanged, sum->nunchanged,
	       sum->approximate ? " (approximate)" : "");
}

static void diff_print_json_row(const struct diff_row *row, bool with_line)
{
	printf("{\"mark\":\"%s\",\"delta_bytes\":%lld,\"delta_calls\":%lld,"
	       "\"old_bytes\":%lld,\"old_calls\":%llu,"
	       "\"new_bytes\":%lld,\"new_calls\":%llu,",
	       diff_mark_names[row->mark], (long long)row->delta_bytes,
	       (long long)row->delta_calls,
	       (long long)row->old_bytes, (unsigned long long)row->old_calls,
	       (long long)row->new_bytes, (unsigned long long)row->new_calls);
	output_json_tag(stdout, row->tag, with_line);
	putchar('}');
}

static void diff_print_json_summary(const struct diff_summary *sum,
				    bool grew)
{
	printf("\"old\":");
	output_json_totals(stdout, &sum->old);
	printf(",\"new\":");
	output_json_totals(stdout, &sum->new);
	printf(",\"change\":{\"bytes\":%lld,\"calls\":%lld,\"new_tags\":%zu,"
	       "\"gone_tags\":%zu,\"changed_tags\":%zu,"
	       "\"unchanged_tags\":%zu,\"approximate\":%s},"
	       "\"grew_past_limit\":%s}\n",
	       (long long)sum->delta_bytes, (long long)sum->delta_calls,
	       sum->nnew, sum->ngone, sum->nchanged, sum->nunchanged,
	       sum->approximate ? "true" : "false", grew ? "true" : "false");
}

static void diff_print_csv_row(const struct diff_row *row, bool with_line)
{
	printf("%s,%lld,%lld,%lld,%llu,%lld,%llu,",
	       diff_mark_names[row->mark], (long long)row->delta_bytes,
	       (long long)row->delta_calls,
	       (long long)row->old_bytes, (unsigned long long)row->old_calls,
	       (long long)row->new_bytes, (unsigned long long)row->new_calls);
	output_csv_tag(stdout, row->tag, with_line);
	putchar('\n');
}

static void diff_print(const struct diff_row *rows, size_t n,
		       const struct diff_options *opt,
		       const struct diff_summary *sum, bool grew)
{
	size_t shown = n < opt->count ? n : (size_t)opt->count, i;
	bool with_line = !opt->ignore_lines;

	switch (opt->format) {
	case OUTPUT_TEXT:
		/* The columns of diff_print_text_row(). */
		printf("#%11s %9s %12s %9s %12s %9s %-4s %s\n", "<+bytes>",
		       "<+calls>", "<old bytes>", "<calls>", "<new bytes>",
		       "<calls>", "", "<tag info>");
		for (i = 0; i < shown; i++)
			diff_print_text_row(&rows[i], opt->human, with_line);
		diff_print_text_summary(sum, opt->human);
		break;
	case OUTPUT_JSON:
		printf("{\"rows\":[");
		for (i = 0; i < shown; i++) {
			printf(i ? ",\n" : "\n");
			diff_print_json_row(&rows[i], with_line);
		}
		printf("%s],\n", shown ? "\n" : "");
		diff_print_json_summary(sum, grew);
		break;
	case OUTPUT_CSV:
		puts("mark,delta_bytes,delta_calls,old_bytes,old_calls,"
		     "new_bytes,new_calls," OUTPUT_CSV_TAG_HEADER);
		for (i = 0; i < shown; i++)
			diff_print_csv_row(&rows[i], with_line);
		break;
	}
}

/* ------------------------------------------------------------ command */

/*
 * Works out each row's change and the totals; moves the rows that
 * changed to the front of the table and returns their number.
 */
static size_t diff_finish(struct diff_table *table, struct diff_summary *sum)
{
	size_t i, n = 0;

	for (i = 0; i < table->n; i++) {
		struct diff_row *row = &table->rows[i];

		if (row->in_old) {
			sum->old.bytes = tool_add_bytes(sum->old.bytes,
							row->old_bytes,
							&sum->approximate);
			sum->old.calls = tool_add_calls(sum->old.calls,
							row->old_calls);
			sum->old.tags++;
		}
		if (row->in_new) {
			sum->new.bytes = tool_add_bytes(sum->new.bytes,
							row->new_bytes,
							&sum->approximate);
			sum->new.calls = tool_add_calls(sum->new.calls,
							row->new_calls);
			sum->new.tags++;
		}
		row->delta_bytes = diff_sub(row->new_bytes, row->old_bytes,
					    &sum->approximate);
		row->delta_calls = tool_sub_calls(row->new_calls,
						  row->old_calls);
		if (!row->in_old) {
			row->mark = DIFF_NEW;
			sum->nnew++;
		} else if (!row->in_new) {
			row->mark = DIFF_GONE;
			sum->ngone++;
		} else if (row->delta_bytes || row->delta_calls) {
			row->mark = DIFF_CHANGED;
			sum->nchanged++;
		} else {
			sum->nunchanged++;
			continue;
		}
		table->rows[n++] = *row;
	}
	sum->delta_bytes = diff_sub(sum->new.bytes, sum->old.bytes,
				    &sum->approximate);
	sum->delta_calls = tool_sub_calls(sum->new.calls, sum->old.calls);
	sum->old.approximate = sum->new.approximate = sum->approximate;
	return n;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option options[] = {
		{ "lenient", no_argument, NULL, TOOL_OPT_LENIENT },
		{ "help", no_argument, NULL, TOOL_OPT_HELP },
		{ "human", no_argument, NULL, 'h' },
		{ "ignore-lines", no_argument, NULL, TOOL_OPT_IGNORE_LINES },
		{ "fail-on-growth", required_argument, NULL,
		  TOOL_OPT_FAIL_ON_GROWTH },
		{ "file", required_argument, NULL, TOOL_OPT_FILE },
		{ "func", required_argument, NULL, TOOL_OPT_FUNC },
		{ "module", required_argument, NULL, TOOL_OPT_MODULE },
		{ "json", no_argument, NULL, TOOL_OPT_JSON },
		{ "csv", no_argument, NULL, TOOL_OPT_CSV },
		{ NULL, 0, NULL, 0 },
	};
	struct diff_options opt = {
		.count = (unsigned long long)-1,
		.format = OUTPUT_TEXT,
	};
	struct allocinfo_report old, new;
	struct diff_summary sum;
	struct tool_filter filter;
	struct diff_table table = { NULL, 0, NULL, 0 };
	bool lenient = false, grew;
	size_t n;
	int c, rc = DIFF_EXIT_ERROR;

	if (tool_filter_init(&filter, argc))
		return DIFF_EXIT_ERROR;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:h", options, NULL)) != -1) {
		char *end;

		if (tool_filter_option(&filter, c, optarg))
			continue;
		switch (c) {
		case 'n':
			errno = 0;
			opt.count = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || errno) {
				tool_usage_error("diff: bad count '%s'",
						 optarg);
				goto out;
			}
			break;
		case 'h':
			opt.human = true;
			break;
		case TOOL_OPT_IGNORE_LINES:
			opt.ignore_lines = true;
			break;
		case TOOL_OPT_FAIL_ON_GROWTH:
			if (diff_parse_limit(optarg, &opt.limit)) {
				tool_usage_error("diff: bad --fail-on-growth"
						 " '%s', not a size (1M) or a"
						 " percentage (10%%)", optarg);
				goto out;
			}
			break;
		case TOOL_OPT_HELP:
			rc = tool_help() ? DIFF_EXIT_ERROR : 0;
			goto out;
		default:
			if (tool_common_option(c, &opt.format, &lenient))
				break;
			tool_bad_option("diff", argv, c);
			goto out;
		}
	}
	if (argc - optind != 2) {
		if (argc - optind < 2)
			tool_usage_error("diff: needs two files, OLD and NEW");
		else
			tool_usage_error("diff: too many files, from '%s'",
					 argv[optind + 2]);
		goto out;
	}
	if (!strcmp(argv[optind], "-") && !strcmp(argv[optind + 1], "-")) {
		tool_usage_error("diff: only one of OLD and NEW can be stdin");
		goto out;
	}

	/* Not aggregated: the table sums repeated keys itself. */
	if (tool_read_report(argv[optind], lenient, false, &old))
		goto out;
	if (tool_read_report(argv[optind + 1], lenient, false, &new))
		goto out_old;
	if (diff_table_init(&table, old.count + new.count)) {
		fprintf(stderr, "allocinfo: %s\n", strerror(ENOMEM));
		goto out_new;
	}
	memset(&sum, 0, sizeof(sum));
	diff_table_add(&table, &old, false, &filter, opt.ignore_lines, &sum);
	diff_table_add(&table, &new, true, &filter, opt.ignore_lines, &sum);
	n = diff_finish(&table, &sum);
	if (n > 1)
		qsort(table.rows, n, sizeof(*table.rows), diff_compare_rows);
	grew = diff_limit_passed(&opt.limit, sum.old.bytes, sum.delta_bytes);
	diff_print(table.rows, n, &opt, &sum, grew);
	if (tool_finish_output())
		goto out_new;
	rc = 0;
	if (grew) {
		char d[OUTPUT_SIZE_MAX];

		fprintf(stderr, "allocinfo: diff: live memory grew by %s bytes,"
			" more than --fail-on-growth %s\n",
			output_size(d, sum.delta_bytes, false), opt.limit.text);
		rc = DIFF_EXIT_GREW;
	}
out_new:
	free(table.rows);
	free(table.slots);
	allocinfo_report_free(&new);
out_old:
	allocinfo_report_free(&old);
out:
	tool_filter_free(&filter);
	return rc;
}

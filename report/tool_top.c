/*
 * `allocinfo top`: the biggest call sites of one report, ours or the
 * kernel's.  Records with the same tag are summed first (the kernel's
 * keys are a multiset), then selected (--file, --func, --module),
 * optionally summed again by group (--by), selected by --min-size,
 * sorted (-s) and cut to -n rows.  The totals cover every row that
 * the selection kept, -n aside.
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
#include <unistd.h>

#include "report/output.h"
#include "report/tool.h"

#define TOP_DEFAULT_COUNT 10
#define TOP_LIVE_FILE "/proc/allocinfo"

enum top_sort { TOP_SORT_SIZE, TOP_SORT_CALLS };
enum top_by { TOP_BY_TAG, TOP_BY_FILE, TOP_BY_FUNC, TOP_BY_MODULE, TOP_BY_DIR };

static const char *const top_by_names[] = {
	[TOP_BY_TAG] = "tag",
	[TOP_BY_FILE] = "file",
	[TOP_BY_FUNC] = "func",
	[TOP_BY_MODULE] = "module",
	[TOP_BY_DIR] = "dir",
};

/*
 * One output row: a tag, or with --by the sum of a group of tags.
 * key/key_len is the group's name: a file, function or module name or
 * a directory (the file up to its last "/"; "." when it has none).
 */
struct top_row {
	const struct allocinfo_record *rec;     /* the tag; a group's first */
	const char *key;
	size_t key_len;
	int64_t bytes;
	int64_t calls;
	size_t tags;
	bool approximate;
};

struct top_options {
	unsigned long long count;
	enum top_sort sort;
	enum top_by by;
	bool human;
	bool has_min_size;
	int64_t min_size;
	enum output_format format;
};

static void top_row_key(struct top_row *row, enum top_by by)
{
	const struct allocinfo_record *rec = row->rec;
	const char *slash;

	switch (by) {
	case TOP_BY_FILE:
		row->key = rec->file;
		break;
	case TOP_BY_FUNC:
		row->key = rec->function;
		break;
	case TOP_BY_MODULE:
		row->key = rec->module;
		break;
	case TOP_BY_DIR:
		slash = strrchr(rec->file, '/');
		if (!slash) {
			row->key = ".";
			row->key_len = 1;
			return;
		}
		row->key = rec->file;
		/* "/x.c" is in "/" */
		row->key_len = slash == rec->file ? 1 :
			       (size_t)(slash - rec->file);
		return;
	case TOP_BY_TAG:
		row->key = "";
		break;
	}
	row->key_len = strlen(row->key);
}

static int top_compare_keys(const struct top_row *a, const struct top_row *b)
{
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = memcmp(a->key, b->key, n);

	if (c)
		return c;
	return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

static int top_compare_groups(const void *pa, const void *pb)
{
	return top_compare_keys(pa, pb);
}

/*
 * The sort key of -s, set before sorting (qsort() passes no context);
 * ties go by the other number, then by the name.
 */
static enum top_sort top_sort_key;

static int top_compare(const struct top_row *a, const struct top_row *b)
{
	int64_t a1 = a->bytes, b1 = b->bytes, a2 = a->calls, b2 = b->calls;
	int c;

	if (top_sort_key == TOP_SORT_CALLS) {
		a1 = a->calls;
		b1 = b->calls;
		a2 = a->bytes;
		b2 = b->bytes;
	}
	if (a1 != b1)
		return a1 < b1 ? 1 : -1;
	if (a2 != b2)
		return a2 < b2 ? 1 : -1;
	c = top_compare_keys(a, b);
	if (c || !a->rec)
		return c;
	return tool_compare_tags(a->rec, b->rec);
}

static int top_compare_pointers(const void *pa, const void *pb)
{
	return top_compare(*(const struct top_row *const *)pa,
			   *(const struct top_row *const *)pb);
}

/* Sifts order[i] down the heap order[0, n), the last row in order on top. */
static void top_sift_down(const struct top_row **order, size_t n, size_t i)
{
	for (;;) {
		size_t child = 2 * i + 1, last = i;
		const struct top_row *tmp;

		if (child < n && top_compare(order[child], order[last]) > 0)
			last = child;
		if (child + 1 < n &&
		    top_compare(order[child + 1], order[last]) > 0)
			last = child + 1;
		if (last == i)
			return;
		tmp = order[i];
		order[i] = order[last];
		order[last] = tmp;
		i = last;
	}
}

/*
 * Puts the first @count of the @n rows of @order in sort order at its
 * front and returns how many that is.  Printing -n 10 of a million
 * tags keeps the 10 best in a heap (about n comparisons) instead of
 * sorting all of them.
 */
static size_t top_rank(const struct top_row **order, size_t n,
		       unsigned long long count)
{
	size_t k = count < n ? (size_t)count : n, i;

	if (k > n / 8) {
		if (n > 1)
			qsort(order, n, sizeof(*order), top_compare_pointers);
		return k;
	}
	if (!k)
		return 0;
	/* order[0, k): a heap of the best k so far, the worst on top. */
	for (i = k / 2; i-- > 0;)
		top_sift_down(order, k, i);
	for (i = k; i < n; i++) {
		if (top_compare(order[i], order[0]) < 0) {
			order[0] = order[i];
			top_sift_down(order, k, 0);
		}
	}
	qsort(order, k, sizeof(*order), top_compare_pointers);
	return k;
}

/*
 * Sums rows[0, n) with equal keys into one row each (rows sorted by
 * key first); returns the number of groups, at the front of @rows.
 */
static size_t top_group(struct top_row *rows, size_t n)
{
	size_t i, groups = 0;

	if (n > 1)
		qsort(rows, n, sizeof(*rows), top_compare_groups);
	for (i = 0; i < n; i++) {
		struct top_row *g;

		if (groups && !top_compare_keys(&rows[groups - 1], &rows[i])) {
			g = &rows[groups - 1];
			g->bytes = tool_add_bytes(g->bytes, rows[i].bytes,
						  &g->approximate);
			g->calls = tool_add_calls(g->calls, rows[i].calls);
			g->tags++;
			g->approximate |= rows[i].approximate;
			continue;
		}
		rows[groups++] = rows[i];
	}
	return groups;
}

/* The group's name for text output: a module is shown as [MODULE]. */
static void top_print_group_text(const struct top_row *row, enum top_by by,
				 bool human)
{
	char size[OUTPUT_SIZE_MAX];

	printf("%12s %8llu %8zu ", output_size(size, row->bytes, human),
	       (unsigned long long)row->calls, row->tags);
	if (by == TOP_BY_MODULE)
		printf(row->key_len ? "[%.*s]\n" : "(no module)\n",
		       (int)row->key_len, row->key);
	else
		printf("%.*s\n", (int)row->key_len, row->key);
}

/* A group's key as its own string, for the JSON and CSV escapers. */
static char *top_key_string(const struct top_row *row)
{
	char *s = malloc(row->key_len + 1);

	if (s) {
		memcpy(s, row->key, row->key_len);
		s[row->key_len] = '\0';
	}
	return s;
}

/* Prints order[0, shown) and the totals. */
static int top_print(const struct top_row *const *order, size_t shown,
		     const struct top_options *opt,
		     const struct output_totals *totals)
{
	size_t i;
	const char *by = top_by_names[opt->by];

	if (opt->format == OUTPUT_TEXT && opt->by != TOP_BY_TAG)
		printf("#     <size>  <calls>   <tags> <%s>\n", by);
	if (opt->format == OUTPUT_CSV)
		puts(opt->by == TOP_BY_TAG ? OUTPUT_CSV_RECORD_HEADER :
		     opt->by == TOP_BY_FUNC ? "bytes,calls,tags,function" :
		     opt->by == TOP_BY_MODULE ? "bytes,calls,tags,module" :
		     opt->by == TOP_BY_DIR ? "bytes,calls,tags,dir" :
		     "bytes,calls,tags,file");
	if (opt->format == OUTPUT_JSON)
		printf("{\"by\":\"%s\",\"rows\":[", by);

	for (i = 0; i < shown; i++) {
		const struct top_row *row = order[i];
		char *key = NULL;

		if (opt->by == TOP_BY_TAG) {
			switch (opt->format) {
			case OUTPUT_TEXT:
				if (output_text_record(stdout, row->rec,
						       opt->human))
					return -1;
				break;
			case OUTPUT_JSON:
				printf(i ? ",\n" : "\n");
				output_json_record(stdout, row->rec);
				break;
			case OUTPUT_CSV:
				output_csv_record(stdout, row->rec);
				break;
			}
			continue;
		}
		if (opt->format == OUTPUT_TEXT) {
			top_print_group_text(row, opt->by, opt->human);
			continue;
		}
		key = top_key_string(row);
		if (!key)
			return -1;
		if (opt->format == OUTPUT_JSON) {
			printf("%s{\"key\":", i ? ",\n" : "\n");
			output_json_string(stdout, key);
			printf(",\"bytes\":%lld,\"calls\":%llu,\"tags\":%zu}",
			       (long long)row->bytes,
			       (unsigned long long)row->calls, row->tags);
		} else {
			printf("%lld,%llu,%zu,", (long long)row->bytes,
			       (unsigned long long)row->calls, row->tags);
			output_csv_string(stdout, key);
			putchar('\n');
		}
		free(key);
	}

	if (opt->format == OUTPUT_TEXT)
		output_text_totals(stdout, totals, opt->human);
	if (opt->format == OUTPUT_JSON) {
		printf("%s],\"total\":", shown ? "\n" : "");
		output_json_totals(stdout, totals);
		printf("}\n");
	}
	return 0;
}

static int top_parse_by(const char *arg, enum top_by *by)
{
	size_t i;

	for (i = TOP_BY_FILE; i < sizeof(top_by_names) / sizeof(*top_by_names);
	     i++) {
		if (!strcmp(arg, top_by_names[i])) {
			*by = (enum top_by)i;
			return 0;
		}
	}
	return -1;
}

int cmd_top(int argc, char **argv)
{
	static const struct option options[] = {
		{ "lenient", no_argument, NULL, TOOL_OPT_LENIENT },
		{ "help", no_argument, NULL, TOOL_OPT_HELP },
		{ "human", no_argument, NULL, 'h' },
		{ "sort", required_argument, NULL, 's' },
		{ "by", required_argument, NULL, TOOL_OPT_BY },
		{ "min-size", required_argument, NULL, TOOL_OPT_MIN_SIZE },
		{ "file", required_argument, NULL, TOOL_OPT_FILE },
		{ "func", required_argument, NULL, TOOL_OPT_FUNC },
		{ "module", required_argument, NULL, TOOL_OPT_MODULE },
		{ "json", no_argument, NULL, TOOL_OPT_JSON },
		{ "csv", no_argument, NULL, TOOL_OPT_CSV },
		{ NULL, 0, NULL, 0 },
	};
	struct top_options opt = {
		.count = TOP_DEFAULT_COUNT,
		.sort = TOP_SORT_SIZE,
		.by = TOP_BY_TAG,
		.format = OUTPUT_TEXT,
	};
	struct output_totals totals = { 0, 0, 0, false };
	struct allocinfo_report report;
	struct tool_filter filter;
	struct top_row *rows = NULL;
	const struct top_row **order = NULL;
	const char *path;
	bool lenient = false;
	size_t i, n = 0, kept;
	int c, rc = 1;

	if (tool_filter_init(&filter, argc))
		return 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:s:h", options, NULL)) != -1) {
		char *end;
		int err;

		if (tool_filter_option(&filter, c, optarg))
			continue;
		switch (c) {
		case 'n':
			errno = 0;
			opt.count = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || errno) {
				rc = tool_usage_error("top: bad count '%s'",
						      optarg);
				goto out;
			}
			break;
		case 's':
			if (!strcmp(optarg, "size")) {
				opt.sort = TOP_SORT_SIZE;
			} else if (!strcmp(optarg, "calls")) {
				opt.sort = TOP_SORT_CALLS;
			} else {
				rc = tool_usage_error("top: bad sort key '%s',"
						      " not size or calls",
						      optarg);
				goto out;
			}
			break;
		case 'h':
			opt.human = true;
			break;
		case TOOL_OPT_BY:
			if (top_parse_by(optarg, &opt.by)) {
				rc = tool_usage_error("top: bad --by '%s', not"
						      " file, func, module or"
						      " dir", optarg);
				goto out;
			}
			break;
		case TOOL_OPT_MIN_SIZE:
			err = allocinfo_parse_size(optarg, &opt.min_size);
			if (err) {
				rc = tool_usage_error("top: bad size '%s'%s",
						      optarg, err == -2 ?
						      " (out of range)" : "");
				goto out;
			}
			opt.has_min_size = true;
			break;
		case TOOL_OPT_HELP:
			rc = tool_help();
			goto out;
		default:
			if (tool_common_option(c, &opt.format, &lenient))
				break;
			rc = tool_bad_option("top", argv, c);
			goto out;
		}
	}
	if (argc - optind > 1) {
		rc = tool_usage_error("top: too many files, from '%s'",
				      argv[optind + 1]);
		goto out;
	}
	/* At a terminal, with nothing piped in: the kernel's live file. */
	if (optind < argc)
		path = argv[optind];
	else
		path = isatty(STDIN_FILENO) ? TOP_LIVE_FILE : "-";

	if (tool_read_report(path, lenient, true, &report))
		goto out;
	rows = calloc(report.count ? report.count : 1, sizeof(*rows));
	if (!rows) {
		fprintf(stderr, "allocinfo: %s\n", strerror(ENOMEM));
		goto out_report;
	}
	for (i = 0; i < report.count; i++) {
		const struct allocinfo_record *rec = &report.records[i];

		if (!tool_filter_match(&filter, rec))
			continue;
		rows[n].rec = rec;
		rows[n].bytes = rec->bytes;
		rows[n].calls = rec->calls;
		rows[n].tags = 1;
		rows[n].approximate = rec->approximate;
		top_row_key(&rows[n], opt.by);
		n++;
	}
	if (opt.by != TOP_BY_TAG)
		n = top_group(rows, n);
	/* --min-size selects rows: tags, or groups with --by. */
	for (i = 0, kept = 0; i < n; i++) {
		if (opt.has_min_size && rows[i].bytes < opt.min_size)
			continue;
		totals.bytes = tool_add_bytes(totals.bytes, rows[i].bytes,
					      &totals.approximate);
		totals.calls = tool_add_calls(totals.calls, rows[i].calls);
		totals.tags += rows[i].tags;
		totals.approximate |= rows[i].approximate;
		rows[kept++] = rows[i];
	}
	order = malloc((kept ? kept : 1) * sizeof(*order));
	if (!order) {
		fprintf(stderr, "allocinfo: %s\n", strerror(ENOMEM));
		goto out_report;
	}
	for (i = 0; i < kept; i++)
		order[i] = &rows[i];
	top_sort_key = opt.sort;
	if (top_print(order, top_rank(order, kept, opt.count), &opt,
		      &totals)) {
		fprintf(stderr, "allocinfo: %s\n", strerror(ENOMEM));
		goto out_report;
	}
	rc = tool_finish_output();
out_report:
	free(order);
	free(rows);
	allocinfo_report_free(&report);
out:
	tool_filter_free(&filter);
	return rc;
}

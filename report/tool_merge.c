/*
 * `allocinfo merge FILE...`: the sum of several reports as one, for
 * the processes of one run or one service's reports from many hosts.
 * Records with the same key (file, line, module, function) add up:
 * bytes saturating at the int64_t range, calls modulo 2^64 like the
 * kernel's counters, accurate:no if any input had it.  The result is
 * an allocinfo 2.0 report, largest size first, that the reader (and
 * the kernel's tools) read back; its metadata names the inputs.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/format.h"
#include "report/output.h"
#include "report/tool.h"

/* Largest size first, then most calls, then tag: the writer's order. */
static int merge_compare(const void *pa, const void *pb)
{
	const struct allocinfo_record *a = pa, *b = pb;

	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	if (a->calls != b->calls)
		return a->calls < b->calls ? 1 : -1;
	return tool_compare_tags(a, b);
}

/*
 * The merged records, in a report that borrows the inputs' strings:
 * its arena is NULL, so allocinfo_report_free() frees only its arrays.
 */
static int merge_records(struct allocinfo_report *out,
			 const struct allocinfo_report *reports, size_t n)
{
	size_t total = 0, i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		if (reports[i].count > SIZE_MAX / sizeof(*out->records) - total)
			return -1;
		total += reports[i].count;
	}
	out->records = malloc((total ? total : 1) * sizeof(*out->records));
	if (!out->records)
		return -1;
	for (i = 0; i < n; i++) {
		if (reports[i].count)
			memcpy(out->records + out->count, reports[i].records,
			       reports[i].count * sizeof(*out->records));
		out->count += reports[i].count;
	}
	if (allocinfo_report_aggregate(out)) {
		allocinfo_report_free(out);
		return -1;
	}
	if (out->count > 1)
		qsort(out->records, out->count, sizeof(*out->records),
		      merge_compare);
	return 0;
}

/* A metadata line is one line of printable text, as the reader wants. */
static void merge_print_label(FILE *f, const char *label)
{
	fputs("# merged_from: ", f);
	for (; *label; label++)
		putc((unsigned char)*label < 0x20 || *label == 0x7f ? '?' :
		     *label, f);
	putc('\n', f);
}

static int merge_print(FILE *f, const struct allocinfo_report *merged,
		       const char *const *labels, size_t nlabels,
		       enum output_format format)
{
	struct output_totals totals = { 0, 0, 0, false };
	size_t i;

	for (i = 0; i < merged->count; i++)
		output_totals_add(&totals, &merged->records[i]);

	switch (format) {
	case OUTPUT_TEXT:
		fputs(ALLOCINFO_VERSION_LINE ALLOCINFO_COLUMNS_LINE, f);
		fprintf(f, "# merged_reports: %zu\n", nlabels);
		for (i = 0; i < nlabels; i++)
			merge_print_label(f, labels[i]);
		fprintf(f, "# total_bytes: %lld\n# total_calls: %llu\n",
			(long long)totals.bytes,
			(unsigned long long)totals.calls);
		if (totals.approximate)
			fputs("# approximate: yes\n", f);
		for (i = 0; i < merged->count; i++)
			if (output_text_record(f, &merged->records[i], false))
				return -1;
		break;
	case OUTPUT_JSON:
		fputs("{\"merged_from\":[", f);
		for (i = 0; i < nlabels; i++) {
			if (i)
				putc(',', f);
			output_json_string(f, labels[i]);
		}
		fputs("],\"records\":[", f);
		for (i = 0; i < merged->count; i++) {
			fputs(i ? ",\n" : "\n", f);
			output_json_record(f, &merged->records[i]);
		}
		fputs(merged->count ? "\n],\"total\":" : "],\"total\":", f);
		output_json_totals(f, &totals);
		fputs("}\n", f);
		break;
	case OUTPUT_CSV:
		fputs(OUTPUT_CSV_RECORD_HEADER "\n", f);
		for (i = 0; i < merged->count; i++)
			output_csv_record(f, &merged->records[i]);
		break;
	}
	return 0;
}

/*
 * A regular file (or none yet) is written as PATH.tmp.PID and renamed,
 * so no reader sees half of it; anything else (/dev/stdout, a FIFO) is
 * written in place.  Returns the stream and sets *@tmp (to free; NULL
 * when in place), or NULL after one error line.
 */
static FILE *merge_open(const char *path, char **tmp)
{
	struct stat st;
	size_t len;
	FILE *f;
	int fd;

	*tmp = NULL;
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		f = fopen(path, "w");
		if (!f)
			fprintf(stderr, "allocinfo: %s: %s\n", path,
				strerror(errno));
		return f;
	}
	len = strlen(path) + 32;
	*tmp = malloc(len);
	if (!*tmp) {
		fprintf(stderr, "allocinfo: %s\n", strerror(ENOMEM));
		return NULL;
	}
	snprintf(*tmp, len, "%s.tmp.%ld", path, (long)getpid());
	fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		fprintf(stderr, "allocinfo: %s: %s\n", *tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(*tmp);
		}
		free(*tmp);
		*tmp = NULL;
	}
	return f;
}

int tool_merge_write(const char *path, struct allocinfo_report *reports,
		     const char *const *labels, size_t nreports, int format)
{
	struct allocinfo_report merged;
	bool to_stdout = !strcmp(path, "-");
	char *tmp = NULL;
	FILE *f;
	int rc = -1;

	if (merge_records(&merged, reports, nreports)) {
		fprintf(stderr, "allocinfo: %s\n", strerror(ENOMEM));
		return -1;
	}
	f = to_stdout ? stdout : merge_open(path, &tmp);
	if (!f)
		goto out;
	if (merge_print(f, &merged, labels, nreports,
			(enum output_format)format)) {
		fprintf(stderr, "allocinfo: %s\n", strerror(ENOMEM));
		if (!to_stdout)
			fclose(f);
		goto out_tmp;
	}
	if (to_stdout) {
		rc = tool_finish_output() ? -1 : 0;
		goto out;
	}
	if (ferror(f) | fclose(f)) {
		fprintf(stderr, "allocinfo: %s: write error: %s\n",
			tmp ? tmp : path, strerror(errno ? errno : EIO));
		goto out_tmp;
	}
	if (tmp && rename(tmp, path)) {
		fprintf(stderr, "allocinfo: %s: %s\n", path, strerror(errno));
		goto out_tmp;
	}
	rc = 0;
out_tmp:
	if (tmp && rc)
		unlink(tmp);
	free(tmp);
out:
	allocinfo_report_free(&merged);
	return rc;
}

int cmd_merge(int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "lenient", no_argument, NULL, TOOL_OPT_LENIENT },
		{ "help", no_argument, NULL, TOOL_OPT_HELP },
		{ "json", no_argument, NULL, TOOL_OPT_JSON },
		{ "csv", no_argument, NULL, TOOL_OPT_CSV },
		{ NULL, 0, NULL, 0 },
	};
	enum output_format format = OUTPUT_TEXT;
	struct allocinfo_report *reports;
	const char *output = "-";
	bool lenient = false;
	size_t n, i, nread = 0, stdin_uses = 0;
	int c, rc = 1;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:", options, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!*optarg)
				return tool_usage_error("merge: empty output"
							" path");
			output = optarg;
			break;
		case TOOL_OPT_HELP:
			return tool_help();
		default:
			if (tool_common_option(c, &format, &lenient))
				break;
			return tool_bad_option("merge", argv, c);
		}
	}
	if (optind == argc)
		return tool_usage_error("merge: no files to merge");
	n = (size_t)(argc - optind);
	for (i = 0; i < n; i++)
		stdin_uses += !strcmp(argv[optind + i], "-");
	if (stdin_uses > 1)
		return tool_usage_error("merge: stdin ('-') given %zu times",
					stdin_uses);

	reports = calloc(n, sizeof(*reports));
	if (!reports) {
		fprintf(stderr, "allocinfo: %s\n", strerror(ENOMEM));
		return 1;
	}
	for (nread = 0; nread < n; nread++)
		if (tool_read_report(argv[optind + nread], lenient, false,
				     &reports[nread]))
			goto out;
	if (!tool_merge_write(output, reports,
			      (const char *const *)(argv + optind), n, format))
		rc = 0;
out:
	for (i = 0; i < nread; i++)
		allocinfo_report_free(&reports[i]);
	free(reports);
	return rc;
}

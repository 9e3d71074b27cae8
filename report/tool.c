/*
 * The allocinfo command: main() dispatches to the commands, one file
 * each (tool_run.c, tool_top.c, tool_diff.c, tool_merge.c), and this
 * file holds what they share (tool.h): the usage text, error lines,
 * reading a report, glob filters and the order of tags.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "report/tool.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

const char tool_usage_text[] =
	"Usage: allocinfo run [-o PATH] [--merge] -- CMD [ARG...]\n"
	"       allocinfo top [OPTIONS] [FILE]\n"
	"       allocinfo diff [OPTIONS] OLD NEW\n"
	"       allocinfo merge [-o PATH] [--lenient] [--json|--csv] FILE...\n"
	"       allocinfo --help | --version\n"
	"\n"
	"run    Run CMD with liballocinfo.so preloaded; exit as CMD did.\n"
	"       -o TEMPLATE  report path, %p the pid, %e the program's name\n"
	"                    (default $ALLOCINFO_OUTPUT, else\n"
	"                    allocinfo.%e.%p)\n"
	"       --merge      collect the report of every process CMD started\n"
	"                    and write their sum to -o (%p: CMD's pid)\n"
	"top    The biggest call sites of a report (FILE, \"-\" for stdin;\n"
	"       none: stdin, or /proc/allocinfo if stdin is a terminal),\n"
	"       then \"# total: BYTES bytes in CALLS calls, TAGS tags\".\n"
	"       -n N               print N rows (default 10; 0: totals only)\n"
	"       -s size|calls      sort key (default size)\n"
	"       -h, --human        sizes as numfmt --to=iec prints them\n"
	"       --by file|func|module|dir   sum the tags of each group\n"
	"       --min-size SIZE    rows of at least SIZE bytes (2.8M, 4Ki)\n"
	"diff   What changed from OLD to NEW, biggest |delta bytes| first.\n"
	"       -n N               print N rows (default all)\n"
	"       --ignore-lines     match tags by file, module and function\n"
	"       --fail-on-growth SIZE|PERCENT   exit 1 when the total bytes\n"
	"                          grew by more (e.g. 1M, 10%)\n"
	"merge  Sum reports into one allocinfo report (default stdout).\n"
	"\n"
	"top and diff: --file GLOB, --func GLOB, --module GLOB select tags\n"
	"(repeatable).  All readers: --lenient skips lines that are not\n"
	"allocinfo text.  Output: allocinfo text, or --json, or --csv.\n"
	"Exit status: 0 ok, 1 bad input or failed system call, 2 usage\n"
	"error; diff: 0 ok, 1 growth over the limit, 2 any error.\n"
	"See allocinfo(1) and allocinfo(5).\n";

int tool_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("allocinfo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try 'allocinfo --help')\n", stderr);
	return TOOL_EXIT_USAGE;
}

/* getopt's complaint, as one line: optopt names a short option. */
int tool_bad_option(const char *cmd, char **argv, int c)
{
	const char *what = c == ':' ? "option needs a value" :
				      "unknown option";

	if (optopt && optopt < 0x100)
		return tool_usage_error("%s: %s: '-%c'", cmd, what, optopt);
	return tool_usage_error("%s: %s: '%s'", cmd, what, argv[optind - 1]);
}

int tool_finish_output(void)
{
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "allocinfo: write error: %s\n",
			strerror(errno ? errno : EIO));
		return 1;
	}
	return 0;
}

int tool_help(void)
{
	fputs(tool_usage_text, stdout);
	return tool_finish_output();
}

int tool_read_report(const char *path, bool lenient, bool aggregate,
		     struct allocinfo_report *report)
{
	char err[ALLOCINFO_ERR_MAX];

	if (allocinfo_read_file(path, lenient, report, err, sizeof(err))) {
		fprintf(stderr, "allocinfo: %s\n", err);
		return -1;
	}
	if (report->skipped_lines)
		fprintf(stderr, "allocinfo: skipped %lu line%s that %s not"
			" allocinfo text; first: %s\n", report->skipped_lines,
			report->skipped_lines == 1 ? "" : "s",
			report->skipped_lines == 1 ? "is" : "are",
			report->first_skip_reason);
	if (aggregate && allocinfo_report_aggregate(report)) {
		fprintf(stderr, "allocinfo: %s\n", strerror(ENOMEM));
		allocinfo_report_free(report);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ filter */

int tool_filter_init(struct tool_filter *filter, int argc)
{
	size_t n = argc > 0 ? (size_t)argc : 1;

	memset(filter, 0, sizeof(*filter));
	filter->file = calloc(n, sizeof(*filter->file));
	filter->func = calloc(n, sizeof(*filter->func));
	filter->module = calloc(n, sizeof(*filter->module));
	if (filter->file && filter->func && filter->module)
		return 0;
	tool_filter_free(filter);
	fprintf(stderr, "allocinfo: %s\n", strerror(ENOMEM));
	return -1;
}

void tool_filter_free(struct tool_filter *filter)
{
	free(filter->file);
	free(filter->func);
	free(filter->module);
	memset(filter, 0, sizeof(*filter));
}

/* Each array has room for argc globs: an option takes two argv slots. */
bool tool_filter_option(struct tool_filter *filter, int c, const char *arg)
{
	switch (c) {
	case TOOL_OPT_FILE:
		filter->file[filter->nfile++] = arg;
		return true;
	case TOOL_OPT_FUNC:
		filter->func[filter->nfunc++] = arg;
		return true;
	case TOOL_OPT_MODULE:
		filter->module[filter->nmodule++] = arg;
		return true;
	default:
		return false;
	}
}

static bool any_glob_matches(const char *const *globs, size_t n,
			     const char *s)
{
	size_t i;

	if (!n)
		return true;
	for (i = 0; i < n; i++)
		if (!fnmatch(globs[i], s, 0))
			return true;
	return false;
}

bool tool_filter_match(const struct tool_filter *filter,
		       const struct allocinfo_record *rec)
{
	return any_glob_matches(filter->file, filter->nfile, rec->file) &&
	       any_glob_matches(filter->func, filter->nfunc, rec->function) &&
	       any_glob_matches(filter->module, filter->nmodule, rec->module);
}

/* ----------------------------------------------------------- records */

int tool_compare_tags(const struct allocinfo_record *a,
		      const struct allocinfo_record *b)
{
	int c = strcmp(a->file, b->file);

	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	c = strcmp(a->function, b->function);
	if (c)
		return c;
	return strcmp(a->module, b->module);
}

int64_t tool_add_bytes(int64_t a, int64_t b, bool *clamped)
{
	int64_t sum;

	if (!__builtin_add_overflow(a, b, &sum))
		return sum;
	*clamped = true;
	return b > 0 ? INT64_MAX : INT64_MIN;
}

/* Two's complement reading of a 64-bit pattern, without overflow. */
static int64_t u64_to_i64(uint64_t v)
{
	if (v <= INT64_MAX)
		return (int64_t)v;
	return -(int64_t)(UINT64_MAX - v) - 1;
}

int64_t tool_add_calls(int64_t a, int64_t b)
{
	return u64_to_i64((uint64_t)a + (uint64_t)b);
}

int64_t tool_sub_calls(int64_t a, int64_t b)
{
	return u64_to_i64((uint64_t)a - (uint64_t)b);
}

/* --------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		return tool_usage_error("missing command");
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		return tool_help();
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("allocinfo %s\n", PACKAGE_VERSION);
		return tool_finish_output();
	}
	/* getopt starts at argv[1] of what it is given: the command name. */
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "top"))
		return cmd_top(argc - 1, argv + 1);
	if (!strcmp(cmd, "diff"))
		return cmd_diff(argc - 1, argv + 1);
	if (!strcmp(cmd, "merge"))
		return cmd_merge(argc - 1, argv + 1);
	return tool_usage_error("unknown command '%s'", cmd);
}

bool tool_common_option(int c, enum output_format *format, bool *lenient)
{
	switch (c) {
	case TOOL_OPT_JSON:
		*format = OUTPUT_JSON;
		return true;
	case TOOL_OPT_CSV:
		*format = OUTPUT_CSV;
		return true;
	case TOOL_OPT_LENIENT:
		*lenient = true;
		return true;
	default:
		return false;
	}
}

/*
 * What the commands of the allocinfo tool share: one way to report a
 * usage error, to read a report, to select records by glob, and to
 * order tags.  Each command lives in its own file (tool_top.c,
 * tool_diff.c, tool_merge.c, tool_run.c); tool.c holds main() and
 * these helpers; output.c prints text, JSON and CSV.
 *
 * Exit status, for every command but `run` and `diff`: 0 on success,
 * 1 on a bad input or a failed system call, 2 on a usage error.
 * `diff` follows diff(1): 0, 1 when --fail-on-growth tripped, 2 on any
 * error.  `run` exits as its command did.  Every error is one line on
 * stderr starting with "allocinfo: ".
 */
#ifndef ALLOCINFO_REPORT_TOOL_H
#define ALLOCINFO_REPORT_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/output.h"
#include "report/reader.h"

#define TOOL_EXIT_USAGE 2

/* Option values of getopt_long() for long options without a letter. */
enum tool_long_option {
	TOOL_OPT_LENIENT = 0x100,
	TOOL_OPT_HELP,
	TOOL_OPT_FILE,
	TOOL_OPT_FUNC,
	TOOL_OPT_MODULE,
	TOOL_OPT_MIN_SIZE,
	TOOL_OPT_BY,
	TOOL_OPT_JSON,
	TOOL_OPT_CSV,
	TOOL_OPT_IGNORE_LINES,
	TOOL_OPT_FAIL_ON_GROWTH,
	TOOL_OPT_MERGE,
};

extern const char tool_usage_text[];

/* "allocinfo: MESSAGE (try 'allocinfo --help')"; returns TOOL_EXIT_USAGE. */
int tool_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* getopt_long()'s complaint about @c as one usage error line. */
int tool_bad_option(const char *cmd, char **argv, int c);

/*
 * The output and input options every reading command takes (--json,
 * --csv, --lenient): applies @c and returns true if it was one of them.
 */
bool tool_common_option(int c, enum output_format *format, bool *lenient);

/* Prints the usage text; returns 0, or 1 if stdout failed. */
int tool_help(void);

/* Flushes stdout; returns 0, or 1 after saying why it failed. */
int tool_finish_output(void);

/*
 * Reads @path ("-": stdin) for a command: one error line and -1 if it
 * cannot be read, a note on stderr of the lines --lenient skipped,
 * and with @aggregate the records with the same key summed
 * (allocinfo_report_aggregate()).
 */
int tool_read_report(const char *path, bool lenient, bool aggregate,
		     struct allocinfo_report *report);

/*
 * Record selection by --file, --func and --module.  A record passes
 * when, for each of the three options given at least once, one of its
 * globs (fnmatch(3), no flags: "*" matches "/") matches the record's
 * file, function or module ("" for a tag without one).
 */
struct tool_filter {
	const char **file, **func, **module;   /* each sized for argc */
	size_t nfile, nfunc, nmodule;
};

int tool_filter_init(struct tool_filter *filter, int argc);
void tool_filter_free(struct tool_filter *filter);
/* Takes option @c (TOOL_OPT_FILE, _FUNC, _MODULE); false if not one. */
bool tool_filter_option(struct tool_filter *filter, int c, const char *arg);
bool tool_filter_match(const struct tool_filter *filter,
		       const struct allocinfo_record *rec);

/* Total order of tags: file, line, function, module. */
int tool_compare_tags(const struct allocinfo_record *a,
		      const struct allocinfo_record *b);

/* Saturating int64_t addition; sets *@clamped when it saturates. */
int64_t tool_add_bytes(int64_t a, int64_t b, bool *clamped);

/* Calls add and subtract like the kernel's counters: modulo 2^64. */
int64_t tool_add_calls(int64_t a, int64_t b);
int64_t tool_sub_calls(int64_t a, int64_t b);

int cmd_top(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_run(int argc, char **argv);

/*
 * Writes the sum of @reports as one allocinfo 2.0 report to @path
 * ("-": stdout), atomically for a regular file: written beside it and
 * renamed.  @labels[i] names report i in a "# merged_from:" line.
 * Returns 0, or -1 after one error line.
 */
int tool_merge_write(const char *path, struct allocinfo_report *reports,
		     const char *const *labels, size_t nreports,
		     int format);

#endif

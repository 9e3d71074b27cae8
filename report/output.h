/*
 * How the tool prints: allocinfo text (the default, through format.h's
 * printer), JSON and CSV for other programs, and sizes the way
 * `numfmt --to=iec` writes them.  Every function writes to a stdio
 * stream and leaves error checking to the final fflush (see
 * tool_finish_output()).
 *
 * JSON strings are valid UTF-8 whatever the input held: a byte that
 * does not start a valid UTF-8 sequence is written as U+FFFD.  CSV is
 * RFC 4180: a field holding a comma, a quote or a line break is quoted
 * and its quotes doubled.
 */
#ifndef ALLOCINFO_REPORT_OUTPUT_H
#define ALLOCINFO_REPORT_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report/reader.h"

enum output_format { OUTPUT_TEXT, OUTPUT_JSON, OUTPUT_CSV };

/* Room for any int64_t in either form, NUL included. */
#define OUTPUT_SIZE_MAX 24

/*
 * @bytes as `numfmt --to=iec` prints it: below 1024 the number itself;
 * else scaled by powers of 1024 with a suffix K M G T P E, one decimal
 * when the scaled value is below 10, rounded away from zero.  Returns
 * @buf.
 */
char *output_human_size(char buf[OUTPUT_SIZE_MAX], int64_t bytes);

/* @bytes in decimal, or as output_human_size() when @human. */
char *output_size(char buf[OUTPUT_SIZE_MAX], int64_t bytes, bool human);

/*
 * One allocinfo record, as the kernel prints it; with @human the size
 * column holds an IEC size, right-aligned in the same 12 columns.
 * Returns 0, or -1 if out of memory.
 */
int output_text_record(FILE *out, const struct allocinfo_record *rec,
		       bool human);

/* The record's tag alone (allocinfo_format_tag()); -1 if out of memory. */
int output_text_tag(FILE *out, const struct allocinfo_record *rec,
		    bool with_line);

void output_json_string(FILE *out, const char *s);
void output_csv_string(FILE *out, const char *s);

/*
 * The tag as JSON members, without braces:
 *   "file":F,"line":L,"module":M,"function":FN,"accurate":B
 * "line" is null without @with_line.
 */
void output_json_tag(FILE *out, const struct allocinfo_record *rec,
		     bool with_line);

/* The tag as CSV fields file,line,module,function,accurate (true|false). */
#define OUTPUT_CSV_TAG_HEADER "file,line,module,function,accurate"
void output_csv_tag(FILE *out, const struct allocinfo_record *rec,
		    bool with_line);

/* Sums over records: bytes saturate (then approximate), calls wrap. */
struct output_totals {
	int64_t bytes;
	int64_t calls;
	size_t tags;
	bool approximate;       /* a size was rounded or a sum clamped */
};

void output_totals_add(struct output_totals *totals,
		       const struct allocinfo_record *rec);

/* "# total: B bytes in C calls, T tags[ (approximate)]\n" */
void output_text_totals(FILE *out, const struct output_totals *totals,
			bool human);

/* {"bytes":B,"calls":C,"tags":T,"approximate":false} */
void output_json_totals(FILE *out, const struct output_totals *totals);

/* {"bytes":B,"calls":C,<output_json_tag()>} */
void output_json_record(FILE *out, const struct allocinfo_record *rec);

/* B,C,<output_csv_tag()> under OUTPUT_CSV_RECORD_HEADER */
#define OUTPUT_CSV_RECORD_HEADER "bytes,calls," OUTPUT_CSV_TAG_HEADER
void output_csv_record(FILE *out, const struct allocinfo_record *rec);

#endif

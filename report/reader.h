/*
 * The one parser of allocinfo text: the kernel's /proc/allocinfo
 * (format 1.0 and 2.0) and the reports the library writes.  The tool
 * and the tests read through it; nothing else parses these files.
 *
 * Grammar, one line at a time (trailing spaces, tabs and a CR are
 * ignored on every line; the newline after the last line is optional):
 *
 *   version   "allocinfo - version: " MAJOR "." MINOR
 *             Major 1 and 2 are read (any minor).  Allowed only before
 *             any record or metadata line, at most once.
 *   columns   "#" "<size>" "<calls>" "<tag info>", separated by any
 *             blanks.  Allowed only before any record or metadata line,
 *             at most once.
 *   metadata  "# " KEY ":" [" " VALUE], KEY = [a-z][a-z0-9_]*.  The
 *             library writes these after the header; they are accepted
 *             anywhere and kept in order (duplicates too).
 *   blank     empty or only blanks: ignored.
 *   record    [blanks] SIZE blanks CALLS blanks TAG
 *
 *   SIZE      a signed decimal that fits int64_t (the kernel's %lli),
 *             or the output of `numfmt --to=iec[-i]`: DIGITS["."DIGITS]
 *             followed by one of K M G T P E Z Y (powers of 1024) and
 *             an optional "i".  Such a size is rounded to the nearest
 *             byte and the record is marked approximate.  A plain
 *             integer is exact, even in a numfmt'd file.
 *   CALLS     an unsigned decimal that fits 64 bits (the kernel's %llu).
 *             It is stored in an int64_t as the kernel's counter holds
 *             it: values above INT64_MAX (a counter that went below
 *             zero) read back as negative, and print back unchanged.
 *   TAG       FILE ":" LINE [" [" MODULE "]"] " func:" FUNCTION EXTRAS
 *
 *   The tag is split at the first " func:".  Before it, a trailing
 *   "]" means a module: MODULE runs from the last " [" to that "]".
 *   What remains is FILE ":" LINE, split at the last ":"; LINE is a
 *   decimal that fits unsigned long (0 means "no line", e.g.
 *   "python3.11+0x1a2b3c:0").  FILE is never empty and may hold spaces,
 *   "+0x" and further colons.
 *
 *   FUNCTION runs to the end of the line, so demangled C++ names keep
 *   their spaces and "::" ("std::vector<int, std::allocator<int> >::f").
 *   Then, from the right, every space-separated token of the form
 *   KEY ":" VALUE with KEY = [a-z_][a-z0-9_]* and VALUE a non-empty run
 *   without ":" or blanks is taken off as an extra, as long as at least
 *   one token stays in FUNCTION.  The single ":" is what tells an extra
 *   from C++ ("std::string>" has "::", so it stays in the name).  The
 *   extra "accurate:no" sets inaccurate and is not kept in extras; any
 *   other (the 2.0 format allows more) is kept, in line order.  The
 *   blanks (spaces or tabs) before the extras belong to neither.
 *
 * Every line must be one of the above.  Lines are at most
 * ALLOCINFO_LINE_MAX bytes and hold no NUL or other control character
 * (tab aside).  On the first line that breaks a rule the reader fails
 * with one line, "NAME:LINENO: what is wrong: 'text'" (text escaped
 * and shortened for display).  In lenient mode such a line is skipped
 * and counted instead; I/O errors and running out of memory still fail.
 */
#ifndef ALLOCINFO_REPORT_READER_H
#define ALLOCINFO_REPORT_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/format.h"

/* Longest line read, newline excluded; longer lines are errors. */
#define ALLOCINFO_LINE_MAX (1024 * 1024)

/* Room that an error message of the reader needs at most. */
#define ALLOCINFO_ERR_MAX 1024

struct allocinfo_pair {
	char *key;
	char *value;
};

struct allocinfo_record {
	int64_t bytes;
	int64_t calls;
	char *file;
	unsigned long line;
	char *module;           /* "" when the tag has none; never NULL */
	char *function;
	bool inaccurate;        /* " accurate:no" was present */
	bool approximate;       /* bytes came from an IEC size, or a sum clamped */
	size_t nextras;
	struct allocinfo_pair *extras;  /* key:value pairs after the name */
	unsigned long lineno;   /* input line the record came from */
};

struct allocinfo_arena;

/*
 * A parsed report.  All strings live in one arena owned by the report,
 * so records can be reordered, copied around and dropped freely until
 * allocinfo_report_free().
 */
struct allocinfo_report {
	struct allocinfo_record *records;
	size_t count;
	struct allocinfo_pair *metadata;
	size_t nmetadata;
	int version_major;      /* 0.0: no version line */
	int version_minor;
	bool has_columns;       /* the "#     <size>  <calls> <tag info>" line */
	unsigned long lines;    /* lines read */
	/* Lenient mode only: lines skipped, the first one and why. */
	unsigned long skipped_lines;
	unsigned long first_skipped;
	char first_skip_reason[ALLOCINFO_ERR_MAX];

	/* private */
	size_t records_cap;
	size_t metadata_cap;
	struct allocinfo_arena *arena;
};

/*
 * Read an allocinfo text file; @path "-" means stdin.  On success
 * returns 0 and fills @out, which the caller frees with
 * allocinfo_report_free().  On failure returns -1, writes one line
 * (no newline, at most @errlen bytes with the NUL) to @err, and leaves
 * @out empty (freeing it is allowed and does nothing).
 */
int allocinfo_read_file(const char *path, bool lenient,
			struct allocinfo_report *out, char *err, size_t errlen);

/* As allocinfo_read_file(), from an open stream; @name is for messages. */
int allocinfo_read_stream(FILE *stream, const char *name, bool lenient,
			  struct allocinfo_report *out, char *err, size_t errlen);

void allocinfo_report_free(struct allocinfo_report *report);

/*
 * Merge records with the same key (file, line, module, function) into
 * the first of them, keeping first-occurrence order.  The kernel prints
 * one line per tag, and a helper inlined into several places has one
 * tag per place, all with the same key.  Bytes add up (clamped to the
 * int64_t range, marking the record approximate), calls add up modulo
 * 2^64 like the kernel's counters, inaccurate and approximate are
 * or-ed, extras are those of the first record.  Returns 0, or -1 if
 * out of memory (then @report is unchanged).
 */
int allocinfo_report_aggregate(struct allocinfo_report *report);

/*
 * Parses all of @text as a SIZE of the grammar above: a decimal byte
 * count, or an IEC size such as "2.8M" or "64Ki" (powers of 1024,
 * rounded to the nearest byte).  The tool reads its size options with
 * it, so they take what the reader takes.  Returns 0, -1 if
 * malformed, -2 if outside the int64_t range.
 */
int allocinfo_parse_size(const char *text, int64_t *bytes);

/*
 * A record's key is (file, line, module, function): what names a tag.
 * These are the hash and the equality allocinfo_report_aggregate()
 * uses, for callers that match records across reports.
 */
uint64_t allocinfo_record_key_hash(const struct allocinfo_record *rec);
bool allocinfo_record_key_equal(const struct allocinfo_record *a,
				const struct allocinfo_record *b);

/* The value of the first metadata line with @key, or NULL. */
const char *allocinfo_report_meta(const struct allocinfo_report *report,
				  const char *key);

/* The record's tag in the form the printer (format.h) takes. */
static inline struct allocinfo_tag_text
allocinfo_record_tag(const struct allocinfo_record *record)
{
	struct allocinfo_tag_text tag = {
		.file = record->file,
		.line = record->line,
		.module = record->module,
		.function = record->function,
		.inaccurate = record->inaccurate,
	};
	return tag;
}

#endif

/*
 * The allocinfo text format, version 2.0, as the kernel prints it in
 * lib/alloc_tag.c: two header lines, then one record per tag,
 *
 *   "%12lli %8llu " FILE ":" LINE [" [" MODULE "]"] " func:" FUNCTION
 *   EXTRAS [" accurate:no"] " " "\n"
 *
 * EXTRAS are " key:value" tokens (the 2.0 format allows more than
 * accurate:no; the kernel's readers skip them): allocinfo writes
 * " stack:..." for ALLOCINFO_DEPTH (README, "Call sites").
 *
 * allocinfo adds "# key: value" metadata lines after the header, which
 * the kernel's readers skip as comments.  The writer (library) and the
 * tool print through these functions, so there is one printer.
 */
#ifndef ALLOCINFO_REPORT_FORMAT_H
#define ALLOCINFO_REPORT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALLOCINFO_VERSION_LINE "allocinfo - version: 2.0\n"
#define ALLOCINFO_COLUMNS_LINE "#     <size>  <calls> <tag info>\n"

struct allocinfo_tag_text {
	const char *file;
	unsigned long line;
	const char *module;     /* NULL or "" for none */
	const char *function;
	const char *extras;     /* NULL, or " key:value" tokens */
	bool inaccurate;
};

/*
 * Formats one record into @buf like snprintf: returns the length the
 * full record needs (excluding the NUL), which may exceed @size.
 * Never allocates.
 */
int allocinfo_format_record(char *buf, size_t size, int64_t bytes,
			    int64_t calls, const struct allocinfo_tag_text *tag);

/* @value in decimal at @p (no NUL), as printf's "%llu": its length,
 * at most 20. */
size_t allocinfo_put_unsigned(char *p, unsigned long long value);

/*
 * At least the length of the record of @tag, whatever its numbers: its
 * strings' lengths and the widest numbers.  Room for this and a NUL is
 * room for allocinfo_put_record, which then formats the record in one
 * pass, where measuring it first took a third of the time.
 */
size_t allocinfo_record_bound(const struct allocinfo_tag_text *tag);

/*
 * Writes the record at @buf, which has room for its length (measured
 * by allocinfo_format_record with @buf NULL, or allocinfo_record_bound)
 * and a NUL, and returns that length.
 */
size_t allocinfo_put_record(char *buf, int64_t bytes, int64_t calls,
			    const struct allocinfo_tag_text *tag);

/*
 * Formats the tag alone, as in a record: FILE ":" LINE [" [" MODULE
 * "]"] " func:" FUNCTION [" accurate:no"], without the numbers, the
 * trailing space or the newline.  Without @with_line, ":LINE" is
 * printed as ":*" (a tag that stands for every line of a function).
 * Returns like snprintf; never allocates.
 */
int allocinfo_format_tag(char *buf, size_t size,
			 const struct allocinfo_tag_text *tag, bool with_line);

/*
 * The report's times (# start, # end): @seconds since the epoch as
 * "YYYY-MM-DDThh:mm:ssZ", as strftime prints gmtime's; never allocates,
 * reads no file.
 */
void allocinfo_format_utc(long long seconds, char *buf, size_t size);

#endif

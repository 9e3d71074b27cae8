/* One printer of allocinfo records and tags (see format.h). */
#include "report/format.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* The record by snprintf: for a buffer too small for the whole. */
static int format_record_cut(char *buf, size_t size, int64_t bytes, int64_t calls,
			     const struct allocinfo_tag_text *tag, bool has_module)
{
	return snprintf(buf, size, "%12lli %8llu %s:%lu%s%s%s func:%s%s%s \n",
			(long long)bytes, (unsigned long long)calls,
			tag->file, tag->line,
			has_module ? " [" : "", has_module ? tag->module : "",
			has_module ? "]" : "",
			tag->function, tag->extras ? tag->extras : "",
			tag->inaccurate ? " accurate:no" : "");
}

static size_t decimal_digits(unsigned long long v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* What printf's "%*lli" / "%*llu" print for @magnitude (with a minus
 * sign if @negative): its length, and with @p the text, at @p. */
static size_t put_number(char *p, bool negative, unsigned long long magnitude,
			 size_t width)
{
	size_t digits = decimal_digits(magnitude);
	size_t len = digits + negative;
	size_t pad = len < width ? width - len : 0;

	if (p) {
		memset(p, ' ', pad);
		p += pad;
		if (negative)
			*p++ = '-';
		for (size_t i = digits; i-- > 0; magnitude /= 10)
			p[i] = (char)('0' + magnitude % 10);
	}
	return pad + len;
}

size_t allocinfo_put_unsigned(char *p, unsigned long long value)
{
	return put_number(p, false, value, 0);
}

static size_t put_text(char *p, const char *text, size_t len)
{
	if (p)
		memcpy(p, text, len);
	return len;
}

/*
 * The same text as format_record_cut, without printf: a report of
 * cc1's 1,100 sites took 0.6 to 1 ms to format with two snprintf
 * calls a record (one to measure).  One pass measures (@p NULL), the
 * next writes.
 */
static size_t put_record(char *p, int64_t bytes, int64_t calls,
			 const struct allocinfo_tag_text *tag, bool has_module)
{
	const char *extras = tag->extras ? tag->extras : "";
	unsigned long long magnitude = bytes < 0 ? 0 - (unsigned long long)bytes
						 : (unsigned long long)bytes;
	size_t n = 0;

#define PUT(text, len) (n += put_text(p ? p + n : NULL, (text), (len)))
	n += put_number(p, bytes < 0, magnitude, 12);
	PUT(" ", 1);
	n += put_number(p ? p + n : NULL, false, (unsigned long long)calls, 8);
	PUT(" ", 1);
	PUT(tag->file, strlen(tag->file));
	PUT(":", 1);
	n += put_number(p ? p + n : NULL, false, tag->line, 0);
	if (has_module) {
		PUT(" [", 2);
		PUT(tag->module, strlen(tag->module));
		PUT("]", 1);
	}
	PUT(" func:", 6);
	PUT(tag->function, strlen(tag->function));
	PUT(extras, strlen(extras));
	if (tag->inaccurate)
		PUT(" accurate:no", 12);
	PUT(" \n", 2);
#undef PUT
	return n;
}

int allocinfo_format_record(char *buf, size_t size, int64_t bytes,
			    int64_t calls, const struct allocinfo_tag_text *tag)
{
	bool has_module = tag->module && tag->module[0];
	size_t len = put_record(NULL, bytes, calls, tag, has_module);

	if (len > INT_MAX)
		return -1;
	if (!buf || !size)
		return (int)len;
	if (len >= size)
		return format_record_cut(buf, size, bytes, calls, tag, has_module);
	put_record(buf, bytes, calls, tag, has_module);
	buf[len] = '\0';
	return (int)len;
}

size_t allocinfo_record_bound(const struct allocinfo_tag_text *tag)
{
	/* Two signed 64-bit numbers and the line (20 characters each), and
	 * the fixed text: " ", " ", ":", " [", "]", " func:", " accurate:no",
	 * " \n". */
	size_t n = 20 + 20 + 20 + 1 + 1 + 1 + 2 + 1 + 6 + 12 + 2;

	n += strlen(tag->file) + strlen(tag->function);
	if (tag->module)
		n += strlen(tag->module);
	if (tag->extras)
		n += strlen(tag->extras);
	return n;
}

size_t allocinfo_put_record(char *buf, int64_t bytes, int64_t calls,
			    const struct allocinfo_tag_text *tag)
{
	size_t len = put_record(buf, bytes, calls, tag, tag->module && tag->module[0]);

	buf[len] = '\0';
	return len;
}

int allocinfo_format_tag(char *buf, size_t size,
			 const struct allocinfo_tag_text *tag, bool with_line)
{
	bool has_module = tag->module && tag->module[0];
	char line[24] = "*";

	if (with_line)
		snprintf(line, sizeof(line), "%lu", tag->line);
	/* The same tag as in allocinfo_format_record(), line aside. */
	return snprintf(buf, size, "%s:%s%s%s%s func:%s%s", tag->file, line,
			has_module ? " [" : "", has_module ? tag->module : "",
			has_module ? "]" : "",
			tag->function,
			tag->inaccurate ? " accurate:no" : "");
}

/*
 * @seconds (since the epoch) as "YYYY-MM-DDThh:mm:ssZ".  Not by gmtime_r: glibc's reads the
 * time zone file on its first call, UTC or not, seven system calls in
 * every process.  The date is the proleptic Gregorian calendar's, by
 * days counted in 400-year eras from 0000-03-01 (leap day last).
 */
void allocinfo_format_utc(long long seconds, char *buf, size_t size)
{
	long long days = seconds / 86400, secs = seconds % 86400;
	long long era, day_of_era, year_of_era, day_of_year, mp, year;
	unsigned int month, day;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	days += 719468;	/* from 1970-01-01 to 0000-03-01 */
	era = (days >= 0 ? days : days - 146096) / 146097;
	day_of_era = days - era * 146097;
	year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 -
		       day_of_era / 146096) / 365;
	day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	mp = (5 * day_of_year + 2) / 153;
	day = (unsigned int)(day_of_year - (153 * mp + 2) / 5 + 1);
	month = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	year = year_of_era + era * 400 + (month <= 2);
	snprintf(buf, size, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", year, month, day,
		 secs / 3600, secs / 60 % 60, secs % 60);
}

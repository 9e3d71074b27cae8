/* The tool's printers: allocinfo text, JSON, CSV, IEC sizes (output.h). */
#include "report/output.h"

#include <stdlib.h>
#include <string.h>

#include "report/format.h"
#include "report/tool.h"

/* |v| without libm. */
static long double abs_ld(long double v)
{
	return v < 0 ? -v : v;
}

/*
 * Mirrors coreutils' numfmt (double_to_human, --round=from-zero): the
 * value is scaled in long double, where dividing an int64_t by 1024 is
 * exact; rounding can carry it to 1024 of its unit, which is then one
 * of the next ("1023.9K" is "1.0M").
 */
char *output_human_size(char buf[OUTPUT_SIZE_MAX], int64_t bytes)
{
	static const char units[] = "KMGTPE";
	long double v = (long double)bytes, scaled;
	long long rounded;
	unsigned power = 0;
	bool decimal;

	while (abs_ld(v) >= 1024 && power < sizeof(units) - 1) {
		v /= 1024;
		power++;
	}
	if (!power) {
		snprintf(buf, OUTPUT_SIZE_MAX, "%lld", (long long)bytes);
		return buf;
	}
	/* Here |v| < 1024, so |scaled| < 10240 fits a long long. */
	decimal = abs_ld(v) < 10;
	scaled = decimal ? v * 10 : v;
	rounded = (long long)scaled;            /* toward zero */
	if ((long double)rounded != scaled)
		rounded += scaled > 0 ? 1 : -1;
	v = decimal ? (long double)rounded / 10 : (long double)rounded;
	if (abs_ld(v) >= 1024 && power < sizeof(units) - 1) {
		v /= 1024;
		power++;
	}
	decimal = v != 0 && abs_ld(v) < 10;
	snprintf(buf, OUTPUT_SIZE_MAX, decimal ? "%.1Lf%c" : "%.0Lf%c", v,
		 units[power - 1]);
	return buf;
}

char *output_size(char buf[OUTPUT_SIZE_MAX], int64_t bytes, bool human)
{
	if (human)
		return output_human_size(buf, bytes);
	snprintf(buf, OUTPUT_SIZE_MAX, "%lld", (long long)bytes);
	return buf;
}

/*
 * The tag's text in @small when it fits, else in a buffer to free();
 * NULL if out of memory.
 */
static char *tag_text(const struct allocinfo_record *rec, bool with_line,
		      char *small, size_t size)
{
	struct allocinfo_tag_text tag = allocinfo_record_tag(rec);
	int len = allocinfo_format_tag(small, size, &tag, with_line);
	char *buf;

	if (len < 0)
		return NULL;
	if ((size_t)len < size)
		return small;
	buf = malloc((size_t)len + 1);
	if (buf)
		allocinfo_format_tag(buf, (size_t)len + 1, &tag, with_line);
	return buf;
}

int output_text_tag(FILE *out, const struct allocinfo_record *rec,
		    bool with_line)
{
	char small[512];
	char *text = tag_text(rec, with_line, small, sizeof(small));

	if (!text)
		return -1;
	fputs(text, out);
	if (text != small)
		free(text);
	return 0;
}

int output_text_record(FILE *out, const struct allocinfo_record *rec,
		       bool human)
{
	struct allocinfo_tag_text tag = allocinfo_record_tag(rec);
	char small[512], size[OUTPUT_SIZE_MAX], *buf = small;
	int len;

	if (human) {
		/* The record's layout, "%12s %8llu TAG \n", size as numfmt. */
		fprintf(out, "%12s %8llu ", output_human_size(size, rec->bytes),
			(unsigned long long)rec->calls);
		if (output_text_tag(out, rec, true))
			return -1;
		fputs(" \n", out);
		return 0;
	}
	len = allocinfo_format_record(small, sizeof(small), rec->bytes,
				      rec->calls, &tag);
	if (len < 0)
		return -1;
	if ((size_t)len >= sizeof(small)) {
		buf = malloc((size_t)len + 1);
		if (!buf)
			return -1;
		allocinfo_format_record(buf, (size_t)len + 1, rec->bytes,
					rec->calls, &tag);
	}
	fwrite(buf, 1, (size_t)len, out);
	if (buf != small)
		free(buf);
	return 0;
}

/* ------------------------------------------------------------- JSON */

/* Length of the valid UTF-8 sequence at @s (NUL terminated), or 0. */
static size_t utf8_sequence(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)         /* a NUL stops this too */
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

void output_json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putc('"', out);
	while (*p) {
		size_t n = utf8_sequence(p);

		if (!n) {
			fputs("\\ufffd", out);
			p++;
		} else if (*p == '"' || *p == '\\') {
			putc('\\', out);
			putc(*p++, out);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\u%04x", *p++);
		} else {
			fwrite(p, 1, n, out);
			p += n;
		}
	}
	putc('"', out);
}

void output_json_tag(FILE *out, const struct allocinfo_record *rec,
		     bool with_line)
{
	fputs("\"file\":", out);
	output_json_string(out, rec->file);
	if (with_line)
		fprintf(out, ",\"line\":%lu,\"module\":", rec->line);
	else
		fputs(",\"line\":null,\"module\":", out);
	output_json_string(out, rec->module);
	fputs(",\"function\":", out);
	output_json_string(out, rec->function);
	fprintf(out, ",\"accurate\":%s", rec->inaccurate ? "false" : "true");
}

/* -------------------------------------------------------------- CSV */

void output_csv_string(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	putc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', out);
		putc(*s, out);
	}
	putc('"', out);
}

void output_csv_tag(FILE *out, const struct allocinfo_record *rec,
		    bool with_line)
{
	output_csv_string(out, rec->file);
	if (with_line)
		fprintf(out, ",%lu,", rec->line);
	else
		fputs(",,", out);
	output_csv_string(out, rec->module);
	putc(',', out);
	output_csv_string(out, rec->function);
	fputs(rec->inaccurate ? ",false" : ",true", out);
}

/* ----------------------------------------------------------- records */

void output_totals_add(struct output_totals *totals,
		       const struct allocinfo_record *rec)
{
	totals->bytes = tool_add_bytes(totals->bytes, rec->bytes,
				       &totals->approximate);
	totals->calls = tool_add_calls(totals->calls, rec->calls);
	totals->tags++;
	totals->approximate |= rec->approximate;
}

void output_text_totals(FILE *out, const struct output_totals *totals,
			bool human)
{
	char size[OUTPUT_SIZE_MAX];

	fprintf(out, "# total: %s bytes in %llu calls, %zu tags%s\n",
		output_size(size, totals->bytes, human),
		(unsigned long long)totals->calls, totals->tags,
		totals->approximate ? " (approximate)" : "");
}

void output_json_totals(FILE *out, const struct output_totals *totals)
{
	fprintf(out, "{\"bytes\":%lld,\"calls\":%llu,\"tags\":%zu,"
		"\"approximate\":%s}", (long long)totals->bytes,
		(unsigned long long)totals->calls, totals->tags,
		totals->approximate ? "true" : "false");
}

void output_json_record(FILE *out, const struct allocinfo_record *rec)
{
	fprintf(out, "{\"bytes\":%lld,\"calls\":%llu,", (long long)rec->bytes,
		(unsigned long long)rec->calls);
	output_json_tag(out, rec, true);
	putc('}', out);
}

void output_csv_record(FILE *out, const struct allocinfo_record *rec)
{
	fprintf(out, "%lld,%llu,", (long long)rec->bytes,
		(unsigned long long)rec->calls);
	output_csv_tag(out, rec, true);
	putc('\n', out);
}

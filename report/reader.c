/*
 * The allocinfo text reader (grammar in reader.h).
 *
 * Input is read in large blocks and cut into lines in place, so a line
 * costs one memchr and no allocation.  A record costs one copy of its
 * tag text into the report's arena; the copy is then cut into file,
 * module, function and extras by writing NULs, so a record's strings
 * are never allocated one by one.  Nothing here is quadratic in the
 * number of lines or in the length of a line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* memmem */
#endif
#include "report/reader.h"

#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- arena */

#define ARENA_CHUNK_SIZE (256 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;            /* bytes in data[] */
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct allocinfo_arena {
	struct arena_chunk *head;       /* the chunk being filled */
};

static struct arena_chunk *arena_chunk_new(size_t size)
{
	struct arena_chunk *chunk;

	if (size > SIZE_MAX - sizeof(*chunk))
		return NULL;
	chunk = malloc(sizeof(*chunk) + size);
	if (!chunk)
		return NULL;
	chunk->next = NULL;
	chunk->size = size;
	chunk->used = 0;
	return chunk;
}

/*
 * @align must be a power of two no larger than alignof(max_align_t).
 * A request bigger than a quarter chunk gets a chunk of its own, linked
 * behind the head, so the head's free space is not wasted.
 */
static void *arena_alloc(struct allocinfo_arena *arena, size_t size,
			 size_t align)
{
	struct arena_chunk *head = arena->head, *chunk;
	size_t start;

	if (head) {
		start = (head->used + align - 1) & ~(align - 1);
		if (start <= head->size && size <= head->size - start) {
			head->used = start + size;
			return head->data + start;
		}
	}
	if (size > ARENA_CHUNK_SIZE / 4) {
		chunk = arena_chunk_new(size);
		if (!chunk)
			return NULL;
		chunk->used = size;
		if (head) {
			chunk->next = head->next;
			head->next = chunk;
		} else {
			arena->head = chunk;
		}
		return chunk->data;
	}
	chunk = arena_chunk_new(ARENA_CHUNK_SIZE);
	if (!chunk)
		return NULL;
	chunk->next = head;
	chunk->used = size;
	arena->head = chunk;
	return chunk->data;
}

static char *arena_strndup(struct allocinfo_arena *arena, const char *s,
			   size_t len)
{
	char *copy;

	if (len == SIZE_MAX)
		return NULL;
	copy = arena_alloc(arena, len + 1, 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

static void arena_free(struct allocinfo_arena *arena)
{
	struct arena_chunk *chunk, *next;

	if (!arena)
		return;
	for (chunk = arena->head; chunk; chunk = next) {
		next = chunk->next;
		free(chunk);
	}
	free(arena);
}

/* ------------------------------------------------------- line reader */

#define READ_BLOCK (64 * 1024)
#define DISPLAY_MAX 60          /* bytes of a bad line shown in a message */
#define NAME_DISPLAY_MAX 128    /* bytes of the file name shown */

/*
 * Cuts a stream into lines.  buf is allocated before the first call.
 * Invariant: buf[start, end) holds bytes
 * read but not yet returned, and end - start never exceeds
 * ALLOCINFO_LINE_MAX + READ_BLOCK.  A longer line is not kept: its
 * first bytes are saved for the error message and the rest is
 * skipped up to its newline.
 */
struct line_reader {
	FILE *stream;
	char *buf;
	size_t cap, start, end;
	bool eof;
	bool discarding;        /* inside a line longer than the limit */
	char head[DISPLAY_MAX + 1];     /* first bytes of that line */
	size_t head_len;
};

enum line_status { LINE_OK, LINE_TOO_LONG, LINE_EOF, LINE_ERROR };

static enum line_status line_reader_next(struct line_reader *lr,
					 char **line, size_t *len)
{
	for (;;) {
		char *p = lr->buf + lr->start;
		size_t avail = lr->end - lr->start;
		char *nl = avail ? memchr(p, '\n', avail) : NULL;
		size_t n;

		if (nl || (lr->eof && avail)) {
			size_t line_len = nl ? (size_t)(nl - p) : avail;

			lr->start += line_len + (nl ? 1 : 0);
			if (lr->discarding) {
				lr->discarding = false;
				return LINE_TOO_LONG;
			}
			if (line_len > ALLOCINFO_LINE_MAX) {
				lr->head_len = DISPLAY_MAX;
				memcpy(lr->head, p, DISPLAY_MAX);
				return LINE_TOO_LONG;
			}
			*line = p;
			*len = line_len;
			return LINE_OK;
		}
		if (lr->eof) {
			if (lr->discarding) {
				lr->discarding = false;
				return LINE_TOO_LONG;
			}
			return LINE_EOF;
		}

		/* No newline in what is buffered: make room and read on. */
		if (avail > ALLOCINFO_LINE_MAX) {
			if (!lr->discarding) {
				lr->discarding = true;
				lr->head_len = DISPLAY_MAX;
				memcpy(lr->head, p, DISPLAY_MAX);
			}
			lr->start = lr->end = 0;
		} else if (lr->start) {
			memmove(lr->buf, p, avail);
			lr->start = 0;
			lr->end = avail;
		}
		if (lr->cap - lr->end < READ_BLOCK) {
			size_t cap = lr->cap * 2;
			char *buf;

			if (cap < lr->end + READ_BLOCK)
				cap = lr->end + READ_BLOCK;
			buf = realloc(lr->buf, cap);
			if (!buf) {
				errno = ENOMEM;
				return LINE_ERROR;
			}
			lr->buf = buf;
			lr->cap = cap;
		}
		errno = 0;
		n = fread(lr->buf + lr->end, 1, lr->cap - lr->end, lr->stream);
		lr->end += n;
		if (n == 0) {
			if (ferror(lr->stream)) {
				if (!errno)
					errno = EIO;
				return LINE_ERROR;
			}
			lr->eof = true;
		}
	}
}

/* ------------------------------------------------------------ parser */

struct reader {
	const char *name;
	bool lenient;
	struct allocinfo_report *report;
	unsigned long lineno;
	bool seen_body;         /* a record or metadata line was accepted */
	char msg[ALLOCINFO_ERR_MAX];    /* why the current line is bad */
};

/* Result of parsing one line. */
enum { PARSE_OK = 0, PARSE_BAD = -1, PARSE_NOMEM = -2 };

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Writes @text for a one-line message: printable ASCII as is, any other
 * byte as \xNN, at most @max source bytes, then "..." if cut.
 */
static void escape_text(char *dst, size_t size, const char *text,
			size_t len, size_t max)
{
	size_t i, o = 0;

	if (!size)
		return;
	for (i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= size)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= size)
				break;
			snprintf(dst + o, size - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (len > max && o + 3 < size) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

static void format_error(char *dst, size_t size, const char *name,
			 unsigned long lineno, const char *what,
			 const char *text, size_t len)
{
	char shown_name[4 * NAME_DISPLAY_MAX + 4];
	char shown_text[4 * DISPLAY_MAX + 4];

	if (!dst || !size)
		return;
	escape_text(shown_name, sizeof(shown_name), name, strlen(name),
		    NAME_DISPLAY_MAX);
	escape_text(shown_text, sizeof(shown_text), text, len, DISPLAY_MAX);
	snprintf(dst, size, "%s:%lu: %s: '%s'", shown_name, lineno, what,
		 shown_text);
}

static int bad_line(struct reader *rd, const char *what, const char *line,
		    size_t len)
{
	format_error(rd->msg, sizeof(rd->msg), rd->name, rd->lineno, what,
		     line, len);
	return PARSE_BAD;
}

/* Parses all of s[0, len) as decimal digits; 0, or -1 bad, -2 > 64 bits. */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (!is_digit(s[i]))
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -2;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Two's complement reading of a 64-bit pattern, without overflow. */
static int64_t u64_to_i64(uint64_t v)
{
	if (v <= INT64_MAX)
		return (int64_t)v;
	return -(int64_t)(UINT64_MAX - v) - 1;
}

/*
 * floor or nearest of frac / 10^digits * 2^shift, i.e. the part of an
 * IEC size after the point, by long division one bit at a time so no
 * intermediate exceeds 64 bits.  Returns -2 if the result does not fit.
 */
static int iec_fraction(uint64_t frac, uint64_t denom, unsigned shift,
			uint64_t *out)
{
	uint64_t q = 0, r = frac;     /* invariant: r < denom <= 10^18 */
	unsigned i;

	for (i = 0; i < shift; i++) {
		if (q > UINT64_MAX / 2)
			return -2;
		q *= 2;
		r *= 2;
		if (r >= denom) {
			q++;
			r -= denom;
		}
	}
	if (r >= denom - r) {         /* round half up */
		if (q == UINT64_MAX)
			return -2;
		q++;
	}
	*out = q;
	return 0;
}

/*
 * SIZE column: a signed decimal, or an IEC size from numfmt (see
 * reader.h).  Returns 0, -1 if malformed, -2 if outside int64_t.
 */
static int parse_size(const char *s, size_t len, int64_t *bytes,
		      bool *approximate)
{
	static const char units[] = "KMGTPEZY";
	const char *end = s + len, *p = s, *digits;
	uint64_t whole = 0, frac = 0, denom = 1, mag;
	unsigned shift = 0;
	bool neg = false, point = false;
	int rc;

	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	for (digits = p; p < end && is_digit(*p); p++)
		;
	rc = parse_u64(digits, (size_t)(p - digits), &whole);
	if (rc == -1)
		return -1;
	if (p < end && *p == '.') {
		const char *f = ++p;

		for (; p < end && is_digit(*p); p++)
			;
		if (p == f || p - f > 18)
			return -1;
		if (parse_u64(f, (size_t)(p - f), &frac))
			return -1;
		for (; f < p; f++)
			denom *= 10;
		point = true;
	}
	if (p < end && *p && strchr(units, *p)) {
		shift = 10 * (unsigned)(strchr(units, *p) - units + 1);
		p++;
		if (p < end && *p == 'i')
			p++;
	}
	if (p != end || (point && !shift))
		return -1;
	if (rc == -2)
		return -2;

	mag = whole;
	if (shift) {
		uint64_t part;

		if (whole && (shift >= 64 || whole > UINT64_MAX >> shift))
			return -2;
		mag = shift >= 64 ? 0 : whole << shift;
		if (iec_fraction(frac, denom, shift, &part))
			return -2;
		if (mag > UINT64_MAX - part)
			return -2;
		mag += part;
	}
	if (mag > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		return -2;
	if (neg)
		*bytes = mag ? -(int64_t)(mag - 1) - 1 : 0;
	else
		*bytes = (int64_t)mag;
	*approximate = shift != 0;
	return 0;
}

/*
 * Does @pattern match all of s[0, len)?  A space in @pattern matches
 * one or more blanks, everything else itself.
 */
static bool match_blanks(const char *s, size_t len, const char *pattern)
{
	size_t i = 0;

	for (; *pattern; pattern++) {
		if (*pattern == ' ') {
			if (i == len || !is_blank(s[i]))
				return false;
			while (i < len && is_blank(s[i]))
				i++;
		} else {
			if (i == len || s[i] != *pattern)
				return false;
			i++;
		}
	}
	return i == len;
}

static bool is_key_start(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_key_char(char c)
{
	return is_key_start(c) || is_digit(c) || c == '_';
}

/* The one extra with a meaning of its own: the kernel's 2.0 flag. */
static bool is_accurate_no(const char *s, size_t len)
{
	return len == 11 && !memcmp(s, "accurate:no", 11);
}

/* KEY ":" VALUE as an extra after the function name (see reader.h). */
static bool is_extra(const char *s, size_t len)
{
	size_t i = 0;

	if (!len || !(is_key_start(s[0]) || s[0] == '_'))
		return false;
	while (i < len && is_key_char(s[i]))
		i++;
	if (i == len || s[i] != ':' || i + 1 == len)
		return false;
	for (i++; i < len; i++)
		if (s[i] == ':' || is_blank(s[i]))
			return false;
	return true;
}

static int push_metadata(struct reader *rd, const char *key, size_t klen,
			 const char *value, size_t vlen)
{
	struct allocinfo_report *rep = rd->report;
	struct allocinfo_pair *pair;

	if (rep->nmetadata == rep->metadata_cap) {
		size_t cap = rep->metadata_cap ? rep->metadata_cap * 2 : 16;
		void *grown;

		if (cap > SIZE_MAX / sizeof(*pair))
			return PARSE_NOMEM;
		grown = realloc(rep->metadata, cap * sizeof(*pair));
		if (!grown)
			return PARSE_NOMEM;
		rep->metadata = grown;
		rep->metadata_cap = cap;
	}
	pair = &rep->metadata[rep->nmetadata];
	pair->key = arena_strndup(rep->arena, key, klen);
	pair->value = arena_strndup(rep->arena, value, vlen);
	if (!pair->key || !pair->value)
		return PARSE_NOMEM;
	rep->nmetadata++;
	return PARSE_OK;
}

/* A line that starts with "#" (after blanks): column header or metadata. */
static int parse_comment(struct reader *rd, const char *s, size_t len,
			 const char *line, size_t line_len)
{
	struct allocinfo_report *rep = rd->report;
	size_t i = 1, key, value;

	if (match_blanks(s, len, "# <size> <calls> <tag info>")) {
		if (rep->has_columns)
			return bad_line(rd, "duplicate column header", line,
					line_len);
		if (rd->seen_body)
			return bad_line(rd, "misplaced column header", line,
					line_len);
		rep->has_columns = true;
		return PARSE_OK;
	}

	while (i < len && is_blank(s[i]))
		i++;
	key = i;
	if (i < len && is_key_start(s[i]))
		while (i < len && is_key_char(s[i]))
			i++;
	if (i == key || i == len || s[i] != ':' ||
	    (i + 1 < len && !is_blank(s[i + 1])))
		return bad_line(rd, "comment is not '# key: value'", line,
				line_len);
	for (value = i + 1; value < len && is_blank(s[value]); value++)
		;
	rd->seen_body = true;
	return push_metadata(rd, s + key, i - key, s + value, len - value);
}

static int parse_version(struct reader *rd, const char *s, size_t len,
			 const char *line, size_t line_len)
{
	static const char prefix[] = "allocinfo - version: ";
	struct allocinfo_report *rep = rd->report;
	size_t i = sizeof(prefix) - 1, m;
	unsigned long major = 0, minor = 0;

	if (len < i || memcmp(s, prefix, i))
		return bad_line(rd, "malformed version line", line, line_len);
	for (m = i; i < len && is_digit(s[i]) && i - m < 6; i++)
		major = major * 10 + (unsigned long)(s[i] - '0');
	if (i == m || i == len || s[i] != '.')
		return bad_line(rd, "malformed version line", line, line_len);
	for (m = ++i; i < len && is_digit(s[i]) && i - m < 6; i++)
		minor = minor * 10 + (unsigned long)(s[i] - '0');
	if (i == m || i != len)
		return bad_line(rd, "malformed version line", line, line_len);
	if (major != 1 && major != 2)
		return bad_line(rd, "unsupported version", line, line_len);
	if (rep->version_major)
		return bad_line(rd, "duplicate version line", line, line_len);
	if (rd->seen_body || rep->has_columns)
		return bad_line(rd, "misplaced version line", line, line_len);
	rep->version_major = (int)major;
	rep->version_minor = (int)minor;
	return PARSE_OK;
}

static struct allocinfo_record *push_record(struct allocinfo_report *rep)
{
	if (rep->count == rep->records_cap) {
		size_t cap = rep->records_cap ? rep->records_cap * 2 : 256;
		void *grown;

		if (cap > SIZE_MAX / sizeof(*rep->records))
			return NULL;
		grown = realloc(rep->records, cap * sizeof(*rep->records));
		if (!grown)
			return NULL;
		rep->records = grown;
		rep->records_cap = cap;
	}
	return &rep->records[rep->count];
}

/*
 * Splits a record's function part, copied into the arena at @fn (NUL
 * terminated, no trailing blanks, first byte not blank), into the name
 * and the extras after it.
 */
static int split_function(struct allocinfo_report *rep,
			  struct allocinfo_record *rec, char *fn, size_t len)
{
	size_t name_end = len, n = 0, i;
	struct allocinfo_pair *pairs = NULL;

	/* From the right, take off KEY:VALUE tokens; keep the first token. */
	for (;;) {
		size_t sp = name_end, tok;

		while (sp > 0 && fn[sp - 1] != ' ')
			sp--;
		if (sp == 0 || !is_extra(fn + sp, name_end - sp))
			break;
		tok = sp;
		/* Blanks before an extra never end the name (trailing
		 * blanks would not survive a print and a read back). */
		while (sp > 0 && is_blank(fn[sp - 1]))
			sp--;
		if (sp == 0)
			break;
		if (!is_accurate_no(fn + tok, name_end - tok))
			n++;
		name_end = sp;
	}

	if (n) {
		pairs = arena_alloc(rep->arena, n * sizeof(*pairs),
				    alignof(struct allocinfo_pair));
		if (!pairs)
			return PARSE_NOMEM;
	}
	rec->nextras = 0;
	rec->extras = pairs;
	/* Walk the extras left to right, cutting them into key and value. */
	for (i = name_end; i < len;) {
		size_t tok, colon;

		while (i < len && is_blank(fn[i]))
			fn[i++] = '\0';
		for (tok = i; i < len && fn[i] != ' '; i++)
			;
		colon = tok;
		while (fn[colon] != ':')
			colon++;
		if (is_accurate_no(fn + tok, i - tok)) {
			rec->inaccurate = true;
			continue;
		}
		fn[colon] = '\0';
		pairs[rec->nextras].key = fn + tok;
		pairs[rec->nextras].value = fn + colon + 1;
		rec->nextras++;
	}
	fn[name_end] = '\0';
	rec->function = fn;
	return PARSE_OK;
}

static int parse_record(struct reader *rd, const char *s, size_t len,
			const char *line, size_t line_len)
{
	static const char func_sep[] = " func:";
	struct allocinfo_report *rep = rd->report;
	const char *end = s + len, *p = s, *tok, *tag, *func, *colon;
	struct allocinfo_record *rec;
	size_t loc_len, tag_len, module_at = 0;
	uint64_t calls, lineno;
	int64_t bytes;
	bool approximate;
	char *copy;
	int rc;

	for (tok = p; p < end && !is_blank(*p); p++)
		;
	rc = parse_size(tok, (size_t)(p - tok), &bytes, &approximate);
	if (rc == -1)
		return bad_line(rd, "bad size", line, line_len);
	if (rc == -2)
		return bad_line(rd, "size out of range", line, line_len);
	while (p < end && is_blank(*p))
		p++;
	if (p == end)
		return bad_line(rd, "missing call count", line, line_len);
	for (tok = p; p < end && !is_blank(*p); p++)
		;
	rc = parse_u64(tok, (size_t)(p - tok), &calls);
	if (rc == -1)
		return bad_line(rd, "bad call count", line, line_len);
	if (rc == -2)
		return bad_line(rd, "call count out of range", line, line_len);
	while (p < end && is_blank(*p))
		p++;
	if (p == end)
		return bad_line(rd, "missing tag", line, line_len);

	tag = p;
	tag_len = (size_t)(end - tag);
	if (tag_len >= 5 && !memcmp(tag, "func:", 5))
		return bad_line(rd, "missing FILE:LINE", line, line_len);
	func = memmem(tag, tag_len, func_sep, sizeof(func_sep) - 1);
	if (!func)
		return bad_line(rd, "missing ' func:'", line, line_len);
	loc_len = (size_t)(func - tag);
	func += sizeof(func_sep) - 1;
	if (func == end || is_blank(*func))
		return bad_line(rd, "missing function name", line, line_len);

	/* Optional " [MODULE]" at the end of the location. */
	if (tag[loc_len - 1] == ']') {
		size_t open = loc_len - 1;

		while (open > 0 && !(tag[open - 1] == ' ' && tag[open] == '['))
			open--;
		if (open == 0)
			return bad_line(rd, "']' without ' ['", line, line_len);
		if (open + 2 == loc_len)
			return bad_line(rd, "empty module name", line,
					line_len);
		module_at = open + 1;
		loc_len = open - 1;
	}

	colon = NULL;
	for (p = tag + loc_len; p > tag; p--) {
		if (p[-1] == ':') {
			colon = p - 1;
			break;
		}
	}
	if (!colon)
		return bad_line(rd, "missing ':LINE' after the file name",
				line, line_len);
	if (colon == tag)
		return bad_line(rd, "empty file name", line, line_len);
	rc = parse_u64(colon + 1, (size_t)(tag + loc_len - colon - 1), &lineno);
	if (rc == -1)
		return bad_line(rd, "bad line number", line, line_len);
	if (rc == -2 || lineno > ULONG_MAX)
		return bad_line(rd, "line number out of range", line,
				line_len);

	rec = push_record(rep);
	copy = rec ? arena_strndup(rep->arena, tag, tag_len) : NULL;
	if (!copy)
		return PARSE_NOMEM;
	memset(rec, 0, sizeof(*rec));
	copy[colon - tag] = '\0';
	rec->file = copy;
	rec->module = "";
	if (module_at) {
		rec->module = copy + module_at;
		/* the "]" sits right before " func:" */
		copy[(size_t)(func - tag) - (sizeof(func_sep) - 1) - 1] = '\0';
	}
	rec->line = (unsigned long)lineno;
	rec->bytes = bytes;
	rec->calls = u64_to_i64(calls);
	rec->approximate = approximate;
	rec->lineno = rd->lineno;
	rc = split_function(rep, rec, copy + (func - tag),
			    (size_t)(end - func));
	if (rc)
		return rc;
	rep->count++;
	rd->seen_body = true;
	return PARSE_OK;
}

static int parse_line(struct reader *rd, const char *line, size_t len)
{
	const char *s = line;
	size_t i, n;

	/* The kernel ends records with a space; mail and editors add CRs. */
	while (len && (is_blank(line[len - 1]) || line[len - 1] == '\r'))
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == 0)
			return bad_line(rd, "NUL byte in line", line, len);
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return bad_line(rd, "control character in line", line,
					len);
	}
	while (s < line + len && is_blank(*s))
		s++;
	n = (size_t)(line + len - s);
	if (!n)
		return PARSE_OK;
	if (*s == '#')
		return parse_comment(rd, s, n, line, len);
	if (n >= 9 && !memcmp(s, "allocinfo", 9))
		return parse_version(rd, s, n, line, len);
	return parse_record(rd, s, n, line, len);
}

/* ---------------------------------------------------------- public */

static void set_err(char *err, size_t errlen, const char *name,
		    const char *what)
{
	char shown_name[4 * NAME_DISPLAY_MAX + 4];

	if (!err || !errlen)
		return;
	escape_text(shown_name, sizeof(shown_name), name, strlen(name),
		    NAME_DISPLAY_MAX);
	snprintf(err, errlen, "%s: %s", shown_name, what);
}

int allocinfo_read_stream(FILE *stream, const char *name, bool lenient,
			  struct allocinfo_report *out, char *err,
			  size_t errlen)
{
	struct line_reader lr = { .stream = stream };
	struct reader rd = {
		.name = name ? name : "-",
		.lenient = lenient,
		.report = out,
	};
	enum line_status st;
	char *line = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	out->arena = calloc(1, sizeof(*out->arena));
	lr.buf = malloc(READ_BLOCK);
	lr.cap = READ_BLOCK;
	if (!out->arena || !lr.buf) {
		free(lr.buf);
		free(out->arena);
		out->arena = NULL;
		set_err(err, errlen, rd.name, strerror(ENOMEM));
		return -1;
	}

	while ((st = line_reader_next(&lr, &line, &len)) != LINE_EOF) {
		if (st == LINE_ERROR) {
			set_err(err, errlen, rd.name, strerror(errno));
			goto fail;
		}
		rd.lineno++;
		if (st == LINE_TOO_LONG)
			rc = bad_line(&rd, "line too long", lr.head,
				      lr.head_len + 1);
		else
			rc = parse_line(&rd, line, len);
		if (rc == PARSE_NOMEM) {
			set_err(err, errlen, rd.name, strerror(ENOMEM));
			goto fail;
		}
		if (rc == PARSE_BAD) {
			if (!lenient) {
				if (err && errlen)
					snprintf(err, errlen, "%s", rd.msg);
				goto fail;
			}
			if (!out->skipped_lines++) {
				out->first_skipped = rd.lineno;
				snprintf(out->first_skip_reason,
					 sizeof(out->first_skip_reason), "%s",
					 rd.msg);
			}
		}
	}
	out->lines = rd.lineno;
	free(lr.buf);
	return 0;

fail:
	free(lr.buf);
	allocinfo_report_free(out);
	return -1;
}

int allocinfo_read_file(const char *path, bool lenient,
			struct allocinfo_report *out, char *err, size_t errlen)
{
	FILE *stream;
	int rc;

	if (!strcmp(path, "-"))
		return allocinfo_read_stream(stdin, "<stdin>", lenient, out,
					     err, errlen);
	stream = fopen(path, "r");
	if (!stream) {
		memset(out, 0, sizeof(*out));
		set_err(err, errlen, path, strerror(errno));
		return -1;
	}
	rc = allocinfo_read_stream(stream, path, lenient, out, err, errlen);
	fclose(stream);
	return rc;
}

void allocinfo_report_free(struct allocinfo_report *report)
{
	free(report->records);
	free(report->metadata);
	arena_free(report->arena);
	memset(report, 0, sizeof(*report));
}

int allocinfo_parse_size(const char *text, int64_t *bytes)
{
	bool approximate;

	return parse_size(text, strlen(text), bytes, &approximate);
}

const char *allocinfo_report_meta(const struct allocinfo_report *report,
				  const char *key)
{
	size_t i;

	for (i = 0; i < report->nmetadata; i++)
		if (!strcmp(report->metadata[i].key, key))
			return report->metadata[i].value;
	return NULL;
}

/* ------------------------------------------------------- aggregate */

static uint64_t hash_str(uint64_t h, const char *s)
{
	/* FNV-1a, then a separator so ("ab","c") and ("a","bc") differ. */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= 0xff;
	return h * 0x100000001b3ULL;
}

uint64_t allocinfo_record_key_hash(const struct allocinfo_record *rec)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = hash_str(h, rec->file);
	h = hash_str(h, rec->module);
	h = hash_str(h, rec->function);
	h ^= rec->line;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

bool allocinfo_record_key_equal(const struct allocinfo_record *a,
				const struct allocinfo_record *b)
{
	return a->line == b->line && !strcmp(a->file, b->file) &&
	       !strcmp(a->module, b->module) &&
	       !strcmp(a->function, b->function);
}

static void record_merge(struct allocinfo_record *into,
			 const struct allocinfo_record *from)
{
	int64_t sum;

	if (__builtin_add_overflow(into->bytes, from->bytes, &sum)) {
		sum = from->bytes > 0 ? INT64_MAX : INT64_MIN;
		into->approximate = true;
	}
	into->bytes = sum;
	into->calls = u64_to_i64((uint64_t)into->calls +
				 (uint64_t)from->calls);
	into->inaccurate |= from->inaccurate;
	into->approximate |= from->approximate;
}

/*
 * A slot of the aggregation table: index + 1 of a kept record (0:
 * empty) and its key's hash, compared first so that probing past other
 * keys costs no string comparison.
 */
struct aggregate_slot {
	size_t index;
	uint64_t hash;
};

int allocinfo_report_aggregate(struct allocinfo_report *report)
{
	struct aggregate_slot *slots;
	size_t size = 16, mask, i, kept = 0;

	/* Open addressing, at most half full. */
	while (size / 2 < report->count) {
		if (size > SIZE_MAX / 2 / sizeof(*slots))
			return -1;
		size *= 2;
	}
	slots = calloc(size, sizeof(*slots));
	if (!slots)
		return -1;
	mask = size - 1;

	for (i = 0; i < report->count; i++) {
		struct allocinfo_record *rec = &report->records[i];
		uint64_t hash = allocinfo_record_key_hash(rec);
		size_t h = (size_t)hash & mask;

		while (slots[h].index &&
		       (slots[h].hash != hash ||
			!allocinfo_record_key_equal(
				&report->records[slots[h].index - 1], rec)))
			h = (h + 1) & mask;
		if (slots[h].index) {
			record_merge(&report->records[slots[h].index - 1], rec);
			continue;
		}
		/* kept <= i: the slot table only ever names kept records. */
		report->records[kept] = *rec;
		slots[h].index = ++kept;
		slots[h].hash = hash;
	}
	report->count = kept;
	free(slots);
	return 0;
}

/*
 * The caches' folder on disk (see cache_dir.h).
 */
#include "report/cache_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "config.h"
#include "core/alloc.h"
#include "report/file_write.h"
#include "report/format.h"

static uint64_t fnv1a(const char *text)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *text; text++)
		h = (h ^ (unsigned char)*text) * 0x100000001b3ull;
	return h;
}

void cache_dir_header(char *buf, size_t size, const char *magic, int format,
		      const char *config)
{
	snprintf(buf, size, "%s %d %s %016llx", magic, format, PACKAGE_VERSION,
		 (unsigned long long)fnv1a(config ? config : ""));
}

/*
 * Opens @path as a folder of ours that no one else may write, made
 * (with @create) only when the open finds it missing: a process opens
 * the folder up to three times, and the mkdir calls made before each
 * open (two for the default folder) were system calls in every process
 * but the first.
 */
static int open_private_dir(const char *path, bool create)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && create && errno == ENOENT) {
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/*
 * The default folder's parent as cache_dir_fix_default found it
 * (XDG_CACHE_HOME's value, or HOME's with "/.cache"), of
 * fixed_parent_len bytes; 0 when it found none, and the environment is
 * then asked at each open (a program may set HOME itself).  Written
 * once, at start, before any thread of the program's.
 */
static char fixed_parent[PATH_MAX];
static size_t fixed_parent_len;

/* The default folder's parent, from the environment now, into @buf of
 * PATH_MAX bytes: its length, or 0 for none. */
static size_t default_parent(char *buf)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	const char *base, *middle;
	size_t base_len, middle_len;

	/* XDG: a relative XDG_CACHE_HOME is invalid and to be ignored. */
	if (xdg && xdg[0] == '/') {
		base = xdg;
		middle = "";
	} else if (home && home[0] == '/') {
		base = home;
		middle = "/.cache";
	} else {
		return 0;
	}
	base_len = strlen(base);
	middle_len = strlen(middle);
	if (base_len + middle_len + sizeof("/allocinfo") > PATH_MAX)
		return 0;
	memcpy(buf, base, base_len);
	memcpy(buf + base_len, middle, middle_len);
	return base_len + middle_len;
}

void cache_dir_fix_default(void)
{
	fixed_parent_len = default_parent(fixed_parent);
}

/*
 * $XDG_CACHE_HOME/allocinfo, else $HOME/.cache/allocinfo, made on the
 * first run.  The path is built in a block of the profiler's, not on
 * the stack, and without snprintf: this runs at a module's first
 * allocation, on whichever thread makes it, and a PATH_MAX buffer and
 * snprintf's frames took 6 KiB there, which a thread on a 16 KiB stack
 * (PTHREAD_STACK_MIN) did not have: a program that recursed 37 frames
 * of 256 bytes deep natively overflowed at 4.
 */
static int open_default_dir(void)
{
	size_t end;
	int fd, saved_errno;
	char *path;

	path = core_internal_alloc(PATH_MAX);
	if (!path)
		return -1;
	if (fixed_parent_len) {
		end = fixed_parent_len;
		memcpy(path, fixed_parent, end);
	} else if (!(end = default_parent(path))) {
		core_internal_free(path);
		return -1;
	}
	memcpy(path + end, "/allocinfo", sizeof("/allocinfo"));
	fd = open_private_dir(path, false);
	if (fd < 0 && errno == ENOENT) {
		/* The first run: ~/.cache itself may be missing too. */
		path[end] = '\0';
		if (mkdir(path, 0700) == 0 || errno == EEXIST) {
			path[end] = '/';
			fd = open_private_dir(path, true);
		}
	}
	saved_errno = errno;
	core_internal_free(path);
	errno = saved_errno;
	return fd;
}

/* The newlines of @p up to @end, sixteen bytes at a time: each byte's
 * count in a lane of its own (the compare gives -1 for a newline),
 * summed every 255 blocks, before a lane can wrap.  (Without -mpopcnt
 * a popcount of each block's mask is a library call.) */
static size_t count_newlines(const char *p, const char *end)
{
	size_t n = 0;

#ifdef __SSE2__
	const __m128i newline = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();

	while (end - p >= 16) {
		__m128i lanes = zero, sums;

		for (int k = 0; k < 255 && end - p >= 16; k++, p += 16)
			lanes = _mm_sub_epi8(lanes, _mm_cmpeq_epi8(
				_mm_loadu_si128((const __m128i *)p), newline));
		sums = _mm_sad_epu8(lanes, zero);
		n += (size_t)_mm_cvtsi128_si32(sums) +
		     (size_t)_mm_cvtsi128_si32(_mm_srli_si128(sums, 8));
	}
#endif
	for (; p < end; p++)
		n += *p == '\n';
	return n;
}

/* The first newline at or after @p, which must come before the text's
 * NUL; the reads may go up to 15 bytes past it (cache_dir_read's pad). */
static const char *next_newline(const char *p)
{
#ifdef __SSE2__
	const __m128i newline = _mm_set1_epi8('\n');

	for (;; p += 16) {
		unsigned int mask = (unsigned int)_mm_movemask_epi8(
			_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), newline));

		if (mask)
			return p + __builtin_ctz(mask);
	}
#else
	return strchr(p, '\n');
#endif
}

/*
 * The first byte at or after @p that is below 0x20 (a tab, a newline,
 * the NUL that ends the text, any other control character) or 0x7f.
 * Sixteen bytes at a time: a line of a site cache is mostly a demangled
 * name, and a byte at a time (and again to check the names for control
 * characters) was three quarters of a report's load of its caches:
 * 1,190 instructions a line of clang's (callgrind).  The reads may go
 * up to 15 bytes past the NUL: cache_dir_read pads its text for that.
 */
static char *next_special(char *p)
{
#ifdef __SSE2__
	const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);

	for (;; p += 16) {
		__m128i bytes = _mm_loadu_si128((const __m128i *)p);
		/* Unsigned: max(b, 0x20) == b exactly when b >= 0x20. */
		__m128i printable = _mm_cmpeq_epi8(_mm_max_epu8(bytes, space), bytes);
		__m128i special = _mm_or_si128(_mm_andnot_si128(printable, _mm_set1_epi8(-1)),
					       _mm_cmpeq_epi8(bytes, del));
		unsigned int mask = (unsigned int)_mm_movemask_epi8(special);

		if (mask)
			return p + __builtin_ctz(mask);
	}
#else
	while ((unsigned char)*p >= 0x20 && *p != 0x7f)
		p++;
	return p;
#endif
}

bool cache_dir_take_line(char **cursor, char **field, int n)
{
	char *p = *cursor;
	int i = 0;

	field[0] = p;
	for (;; p++) {
		p = next_special(p);
		if (*p == '\t') {
			if (++i == n)
				return false;
			*p = '\0';
			field[i] = p + 1;
		} else if (*p == '\n') {
			*p = '\0';
			*cursor = p + 1;
			return i == n - 1;
		} else {
			return false;   /* the text's end, or a control character */
		}
	}
}

void cache_dir_hex(char *out, const unsigned char *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * len] = '\0';
}

int cache_dir_open(const char *setting)
{
	if (setting && !strcmp(setting, "off")) {
		errno = 0;
		return -1;
	}
	return setting ? open_private_dir(setting, true) : open_default_dir();
}

void *cache_dir_read_bytes(int dir_fd, const char *name, size_t max_bytes, size_t lead,
			   size_t tail, size_t *size)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *block = NULL;
	size_t done = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || st.st_size <= 0 ||
	    (unsigned long long)st.st_size > max_bytes)
		goto out;
	block = core_internal_alloc(lead + (size_t)st.st_size + tail);
	if (!block)
		goto out;
	memset(block + lead + st.st_size, 0, tail);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, block + lead + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (done != (size_t)st.st_size) {
		core_internal_free(block);
		block = NULL;
	}
	*size = done;
out:
	close(fd);
	return block;
}

char *cache_dir_read(int dir_fd, const char *name, size_t max_bytes)
{
	size_t size;
	char *text = cache_dir_read_bytes(dir_fd, name, max_bytes, 0, 1 + CACHE_DIR_READ_PAD,
					  &size);

	if (text && memchr(text, '\0', size)) {
		core_internal_free(text);
		text = NULL;
	}
	return text;
}

/* Each byte's value as a lower-case hex digit, plus one; 0: not one.
 * A table: two range tests a digit were most of an index's build. */
static const uint8_t hex_digit[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* The key at @p, up to its tab, into *@key: where the tab is, or NULL. */
static const char *parse_key(const char *p, uint64_t *key)
{
	const char *start = p;
	uint64_t v = 0;
	unsigned int d;

	while ((d = hex_digit[(unsigned char)*p])) {
		v = v << 4 | (d - 1);
		p++;
	}
	if (p == start || p - start > 16 || *p != '\t')
		return NULL;
	*key = v;
	return p;
}

bool cache_lines_index(struct cache_lines *lines, char *text,
		       const char *header, size_t max_lines)
{
	size_t header_len = strlen(header), count = 0;
	const char *p, *end;

	*lines = (struct cache_lines){ 0 };
	if (strncmp(text, header, header_len) || text[header_len] != '\n')
		goto reject;
	p = text + header_len + 1;
	end = p + strlen(p);
	/* A file cut short loses its last line; one with no line at all
	 * is of no use either. */
	if (p == end || end[-1] != '\n')
		goto reject;
	count = count_newlines(p, end);
	if (count > max_lines || (size_t)(end - text) > UINT32_MAX)
		goto reject;
	lines->keys = core_internal_alloc(count * (sizeof(*lines->keys) + sizeof(*lines->starts)));
	if (!lines->keys)
		goto reject;
	lines->starts = (uint32_t *)(lines->keys + count);
	for (size_t i = 0; i < count; i++) {
		const char *tab = parse_key(p, &lines->keys[i]);

		if (!tab || (i && lines->keys[i] <= lines->keys[i - 1]))
			goto reject;
		lines->starts[i] = (uint32_t)(p - text);
		p = next_newline(tab) + 1;
	}
	lines->text = text;
	lines->count = count;
	return true;
reject:
	core_internal_free(lines->keys);
	core_internal_free(text);
	*lines = (struct cache_lines){ 0 };
	return false;
}

bool cache_lines_read(struct cache_lines *lines, int dir_fd, const char *name,
		      size_t max_bytes, const char *header, size_t max_lines)
{
	char *text = cache_dir_read(dir_fd, name, max_bytes);

	if (!text) {
		*lines = (struct cache_lines){ 0 };
		return false;
	}
	return cache_lines_index(lines, text, header, max_lines);
}

size_t cache_lines_find(const struct cache_lines *lines, uint64_t key)
{
	const uint64_t *base = lines->keys;
	size_t n = lines->count;

	if (!n)
		return SIZE_MAX;
	/* Halves without a branch to mispredict: the last key below @key,
	 * or the first. */
	while (n > 1) {
		size_t half = n / 2;

		base = base[half] < key ? base + half : base;
		n -= half;
	}
	base += *base < key;
	return base < lines->keys + lines->count && *base == key ?
	       (size_t)(base - lines->keys) : SIZE_MAX;
}

void cache_lines_free(struct cache_lines *lines)
{
	core_internal_free(lines->keys);
	core_internal_free(lines->text);
	*lines = (struct cache_lines){ 0 };
}

struct cache_writer {
	int dir_fd, fd;
	bool failed;
	size_t used;
	char name[NAME_MAX + 1], tmp[NAME_MAX + 1];
	char data[16384];
};

struct cache_writer *cache_writer_start(int dir_fd, const char *name)
{
	struct cache_writer *w = core_internal_alloc(sizeof(*w));
	int n, m;

	if (!w)
		return NULL;
	w->dir_fd = dir_fd;
	w->fd = -1;
	w->used = 0;
	n = snprintf(w->name, sizeof(w->name), "%s", name);
	m = snprintf(w->tmp, sizeof(w->tmp), ".%s.%ld.tmp", name, (long)getpid());
	w->failed = n < 0 || (size_t)n >= sizeof(w->name) ||
		    m < 0 || (size_t)m >= sizeof(w->tmp);
	if (!w->failed) {
		/* One left by a process of this pid that died writing it. */
		unlinkat(dir_fd, w->tmp, 0);
		w->fd = openat(dir_fd, w->tmp, O_WRONLY | O_CREAT | O_EXCL |
			       O_NOFOLLOW | O_CLOEXEC, 0600);
		w->failed = w->fd < 0;
	}
	return w;
}

static void flush(struct cache_writer *w)
{
	if (!w->failed && w->used && file_write_all(w->fd, w->data, w->used) < 0)
		w->failed = true;
	w->used = 0;
}

void cache_writer_printf(struct cache_writer *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (int attempt = 0; attempt < 2 && !w->failed; attempt++) {
		va_start(ap, fmt);
		n = vsnprintf(w->data + w->used, sizeof(w->data) - w->used, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof(w->data) - w->used) {
			w->used += (size_t)n;
			return;
		}
		if (attempt || !w->used)
			break;      /* longer than the buffer: drop the file */
		flush(w);
	}
	w->failed = true;
}

/* Room for @len more bytes, the buffer written out first if need be;
 * false (and the file dropped) for a write that failed or a piece
 * longer than the buffer. */
static bool writer_room(struct cache_writer *w, size_t len)
{
	if (!w->failed && sizeof(w->data) - w->used < len)
		flush(w);
	if (!w->failed && sizeof(w->data) - w->used < len)
		w->failed = true;
	return !w->failed;
}

void cache_writer_abandon(struct cache_writer *w)
{
	w->failed = true;
}

void cache_writer_put(struct cache_writer *w, const char *text, size_t len)
{
	if (!writer_room(w, len))
		return;
	memcpy(w->data + w->used, text, len);
	w->used += len;
}

void cache_writer_put_hex(struct cache_writer *w, uint64_t value)
{
	char digits[16];
	size_t n = 0;

	do {
		digits[sizeof(digits) - ++n] = "0123456789abcdef"[value & 15];
		value >>= 4;
	} while (value);
	cache_writer_put(w, digits + sizeof(digits) - n, n);
}

void cache_writer_put_unsigned(struct cache_writer *w, uint64_t value)
{
	if (!writer_room(w, 20))
		return;
	w->used += allocinfo_put_unsigned(w->data + w->used, value);
}

bool cache_writer_finish(struct cache_writer *w)
{
	bool done;

	if (!w)
		return false;
	flush(w);
	if (w->fd >= 0) {
		if (close(w->fd) < 0)
			w->failed = true;
		if (w->failed || renameat(w->dir_fd, w->tmp, w->dir_fd, w->name) < 0) {
			unlinkat(w->dir_fd, w->tmp, 0);
			w->failed = true;
		}
	}
	done = !w->failed;
	core_internal_free(w);
	return done;
}

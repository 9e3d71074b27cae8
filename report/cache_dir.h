/*
 * The folder of allocinfo's caches on disk: the symbolizer's answers
 * (site_cache.h) and the router's (preload/route_memory.h), one file per
 * module and kind.
 *
 * Where: ALLOCINFO_CACHE, else $XDG_CACHE_HOME/allocinfo, else
 * $HOME/.cache/allocinfo; "off" turns the caches off.  The folder must
 * belong to the user and be writable by no one else; files in it are
 * opened with O_NOFOLLOW, must be regular files of the user, and are
 * replaced atomically (a temporary file, then rename), so a reader sees
 * a whole old file or a whole new one.  A cache can make the profiler
 * faster, never its answers wrong: a file that does not parse is
 * ignored and rewritten.
 *
 * Everything here runs in the profiled process, in the profiler's
 * internal scope: memory is core_internal_*.
 */
#ifndef ALLOCINFO_REPORT_CACHE_DIR_H
#define ALLOCINFO_REPORT_CACHE_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * The first line of a cache file: @magic, @format, allocinfo's version
 * and a hash of @config (what else the answers depend on).  A file
 * whose first line differs was made otherwise: not read, and replaced.
 */
void cache_dir_header(char *buf, size_t size, const char *magic, int format,
		      const char *config);

/*
 * Takes the line at *@cursor (in a text from cache_dir_read), cutting it
 * at its tabs into exactly @n fields, each NUL-terminated in place, and
 * moves *@cursor past its newline.  False if the line has fewer or more
 * fields, a control character (other than the tabs and the newline) or
 * DEL, or no newline (the file was cut short).
 */
bool cache_dir_take_line(char **cursor, char **field, int n);

/*
 * @len bytes (a build-id) as lower-case hex at @out, NUL-terminated:
 * 2 * @len + 1 bytes.  By hand, where snprintf("%02x") a byte took 700
 * instructions each, 60 calls at a compile's start (callgrind).
 */
void cache_dir_hex(char *out, const unsigned char *bytes, size_t len);

/*
 * A descriptor of the folder named by @setting (an ALLOCINFO_CACHE
 * value; NULL for the default), made (mode 0700) if it does not exist.
 * -1 when the caches are off ("off", errno 0) or the folder cannot be
 * used (errno set; EPERM: not the user's, or writable by others).
 */
int cache_dir_open(const char *setting);

/*
 * Fixes the default folder (NULL's) from the environment as it is now:
 * the profiled process calls it at start, from its constructor.  Looked
 * up later, in the middle of the program, the environment may not say:
 * bash defines getenv itself, and while it imports its variables its
 * getenv finds no HOME, so the first allocation sites it classified
 * left every module without its route memory for the whole run.
 * Without this call (the allocinfo tool), or when it found neither
 * variable, the environment is read at each open.
 */
void cache_dir_fix_default(void);

#define CACHE_DIR_READ_PAD 15

/* The whole of the file @name in @dir_fd as a NUL-terminated string
 * (core_internal_free it), or NULL: no such file, not a regular file of
 * the user's, empty, longer than @max_bytes, or holding a NUL.  The NUL
 * is followed by CACHE_DIR_READ_PAD more, for the reads of 16 bytes at
 * a time of cache_dir_take_line and of the index's newline search. */
char *cache_dir_read(int dir_fd, const char *name, size_t max_bytes);

/* The whole of the file @name in @dir_fd, by the same rules but any
 * bytes, in *@size, at @lead bytes into a block (core_internal_free it)
 * that has @tail zero bytes after them; NULL as cache_dir_read. */
void *cache_dir_read_bytes(int dir_fd, const char *name, size_t max_bytes, size_t lead,
			   size_t tail, size_t *size);

/*
 * A cache file's lines, found by key without being parsed.  Each line
 * after the header starts with its key, 1 to 16 lower-case hex digits,
 * and a tab, and the keys increase line by line.  A process looks up a
 * few of a file's lines (the sites it allocates from), while a folder
 * shared by many programs and runs keeps every site any of them saw:
 * cc1's site cache and route file at 4,400 lines each, parsed whole
 * (and hashed) by every compile, cost it 3.2 M instructions and 70
 * page faults more than files of its own 1,100 sites (callgrind,
 * perf).  So the index holds only each line's key and where it starts,
 * and its reader parses the lines it finds, each its own way.
 */
struct cache_lines {
	char *text;            /* from cache_dir_read; the index owns it */
	size_t count;
	uint64_t *keys;        /* increasing */
	uint32_t *starts;      /* each line's offset in text */
};

/*
 * Indexes the lines of @text (from cache_dir_read) after its first,
 * which must be @header.  True with @lines owning @text; false (and
 * @text freed) if the header differs (another version's file), or a
 * key is not hex, not followed by a tab or not above the one before, or
 * the last line has no newline (a file cut short), or there are more
 * than @max_lines.
 */
bool cache_lines_index(struct cache_lines *lines, char *text,
		       const char *header, size_t max_lines);

/* cache_lines_index of the file @name in @dir_fd, as cache_dir_read
 * reads it: false (and @lines empty) without a file to use. */
bool cache_lines_read(struct cache_lines *lines, int dir_fd, const char *name,
		      size_t max_bytes, const char *header, size_t max_lines);

/* The place of the line with @key, or SIZE_MAX. */
size_t cache_lines_find(const struct cache_lines *lines, uint64_t key);

/* Line @i: its first byte and its length, newline included. */
static inline const char *cache_lines_line(const struct cache_lines *lines,
					   size_t i, size_t *len)
{
	const char *start = lines->text + lines->starts[i];
	const char *end = i + 1 < lines->count ? lines->text + lines->starts[i + 1]
					       : start + strlen(start);

	*len = (size_t)(end - start);
	return start;
}

void cache_lines_free(struct cache_lines *lines);

/* Writes a file by the rules above: start, print, finish. */
struct cache_writer;

/* NULL if out of memory; a writer that could not make its temporary
 * file fails at finish. */
struct cache_writer *cache_writer_start(int dir_fd, const char *name);
void cache_writer_printf(struct cache_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same without printf, for files of thousands of lines: @len bytes
 * of @text; @value in lower-case hexadecimal, or in decimal, as %llx and
 * %llu print it.  printf took 2,200 instructions a line of cc1's route
 * file at ALLOCINFO_DEPTH=4 (4,400 lines). */
void cache_writer_put(struct cache_writer *w, const char *text, size_t len);
void cache_writer_put_hex(struct cache_writer *w, uint64_t value);
void cache_writer_put_unsigned(struct cache_writer *w, uint64_t value);
/* Marks @w failed, so that finish removes its temporary file: for a
 * writer whose content could not be made whole. */
void cache_writer_abandon(struct cache_writer *w);
/* Puts the file in place if every write succeeded, else removes the
 * temporary file; frees @w.  Concurrent writers of one name: the last
 * rename wins. */
bool cache_writer_finish(struct cache_writer *w);

#endif

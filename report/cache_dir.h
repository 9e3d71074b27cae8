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

/*
 * The first line of a cache file: @magic, @format, allocinfo's version
 * and a hash of @config (what else the answers depend on).  A file
 * whose first line differs was made otherwise: not read, and replaced.
 */
void cache_dir_header(char *buf, size_t size, const char *magic, int format,
		      const char *config);

/* The newlines in @text: a file's lines, to size its table once. */
size_t cache_dir_count_lines(const char *text);

/*
 * Takes the line at *@cursor (in a text from cache_dir_read), cutting it
 * at its tabs into exactly @n fields, each NUL-terminated in place, and
 * moves *@cursor past its newline.  False if the line has fewer or more
 * fields, a control character (other than the tabs and the newline) or
 * DEL, or no newline (the file was cut short).
 */
bool cache_dir_take_line(char **cursor, char **field, int n);

/* A whole field of lower-case hex, 1 to 16 digits, into *@out. */
bool cache_dir_parse_hex(const char *text, uint64_t *out);

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

#define CACHE_DIR_READ_PAD 15

/* The whole of the file @name in @dir_fd as a NUL-terminated string
 * (core_internal_free it), or NULL: no such file, not a regular file of
 * the user's, empty, longer than @max_bytes, or holding a NUL.  The NUL
 * is followed by CACHE_DIR_READ_PAD more, for cache_dir_take_line's
 * reads of 16 bytes at a time. */
char *cache_dir_read(int dir_fd, const char *name, size_t max_bytes);

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
/* Puts the file in place if every write succeeded, else removes the
 * temporary file; frees @w.  Concurrent writers of one name: the last
 * rename wins. */
bool cache_writer_finish(struct cache_writer *w);

#endif

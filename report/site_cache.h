/*
 * The symbolizer's cache on disk: what each call site of a module
 * resolved to (file, line, function), keyed by the module's build-id and
 * the site's offset in it.
 *
 * Why: reading DWARF is most of what a short process spends on its
 * report.  Debian's detached debug info is compressed, and libdw
 * inflates every debug section of a module before its first lookup:
 * libc's alone is about 20 MB and 50 ms, paid again by every process
 * that ever allocated from libc, which is every process.  The sites a
 * program allocates from are the same from run to run, so the second
 * run of a program, and every program after the first that shares its
 * libraries, finds its sites here and never opens their DWARF.
 *
 * What is kept: every answer, with line info (from DWARF) or without
 * (line 0: MODULE+0xOFFSET and the ELF symbol's name).  A build-id names
 * one build, so an answer with a line never goes stale, nor does one
 * made without a line while the module had DWARF (DWARF of some of its
 * code, as node's covers a few of its objects): libdwfl reads a
 * module's own DWARF before any separate file, and finds a separate
 * one by the build-id or a debug link, both fixed by the build.  An
 * answer made while the module had no DWARF would go stale the day its
 * debug info is installed: the symbolizer takes it only while the
 * module still has no DWARF, and a new answer replaces it.  Answers
 * without line info are cached too because they are not cheap: naming
 * a function from the ELF symbols builds a sorted table of all of
 * them, 2.5 ms for cc1's 31,000, in every compile a build runs; and
 * for an address outside its DWARF, libdw searches all of node's for
 * a line, 220,000 instructions a site.  The answer also depends on the wrapper
 * list (an inlined wrapper's line is replaced by its caller's), so a
 * file records the allocinfo version and the ALLOCINFO_WRAPPERS it was
 * made with, and one made otherwise is not read, and is replaced.
 *
 * Where: a file named by the build-id in hex in the caches' folder
 * (cache_dir.h, which says whose it must be and how it is replaced).
 *
 * File format, text: a header line
 *	allocinfo-site-cache FORMAT VERSION CONFIG
 * (CONFIG a 16-digit hex hash of the wrapper list), then one line per
 * site, by increasing offset: OFFSET (hex) TAB LINE TAB FILE TAB
 * FUNCTION.  LINE is decimal; 0 when the module had no DWARF, '-' when
 * its DWARF had no line for the site.  A process reads only the lines of
 * the sites it looks up (cache_dir.h, struct cache_lines): a file that
 * is out of order, or cut short, is not read at all, and a line with a
 * flaw is not used; either is written anew once the process has
 * resolved the sites itself.
 */
#ifndef ALLOCINFO_REPORT_SITE_CACHE_H
#define ALLOCINFO_REPORT_SITE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits on what one module's file may hold, read or written. */
#define SITE_CACHE_MAX_SITES (1u << 20)
#define SITE_CACHE_MAX_BYTES (64u << 20)

struct site_cache_dir;
struct site_cache;

/*
 * Opens the cache folder named by @setting (an ALLOCINFO_CACHE value;
 * NULL for the default), creating it (mode 0700) if it does not exist.
 * @config names what else the answers depend on (the wrapper list).
 * Returns NULL when the cache is off or unusable; with an explicit
 * @setting that is unusable, says why on stderr.
 */
struct site_cache_dir *site_cache_dir_open(const char *setting,
					   const char *config);
void site_cache_dir_close(struct site_cache_dir *dir);

/*
 * The cached sites of the module with @build_id, loaded on first use
 * (an empty cache when it has no file yet, or one that does not parse).
 * NULL if out of memory.
 */
struct site_cache *site_cache_load(struct site_cache_dir *dir,
				   const unsigned char *build_id,
				   size_t build_id_len);

struct cached_site {
	unsigned int line;             /* 0: none */
	/* Without a line: whether the module had DWARF, which then has
	 * none for the site for good (see above). */
	bool dwarf_searched;
	const char *file, *function;   /* valid until site_cache_free() */
};

/* The answer for the site at @offset: this process's, else the file's,
 * whose line is read (and checked) when first found. */
bool site_cache_find(struct site_cache *cache, uint64_t offset,
		     struct cached_site *out);

/*
 * Records a new @answer; its file and function must stay valid until
 * site_cache_store().  Answers that cannot be written (tabs, newlines,
 * empty fields) are not kept.  An answer replaces the file's only if
 * it knows more: a line where there was none, or that the module's
 * DWARF has none where the module had no DWARF.
 */
void site_cache_add(struct site_cache *cache, uint64_t offset,
		    const struct cached_site *answer);

/* Reads every line of the file's now, as site_cache_find reads a line
 * when first found: a copy of @cache made by fork then reads them and
 * writes none of its pages. */
void site_cache_read_all(struct site_cache *cache);

/* Whether @cache holds answers its file has not. */
bool site_cache_gained(const struct site_cache *cache);

/* Writes back a module's file if it gained sites. */
void site_cache_store(struct site_cache_dir *dir, struct site_cache *cache);
void site_cache_free(struct site_cache *cache);

#endif

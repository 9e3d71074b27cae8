/*
 * The symbolizer's cache on disk (see site_cache.h).
 *
 * Runs at report time in the profiled process, in the profiler's
 * internal scope: all memory is core_internal_*, and every failure
 * (a missing folder, a full disk, a file someone else planted) leaves
 * the cache unused, never the report.
 */
#include "report/site_cache.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "report/cache_dir.h"

#define SITE_CACHE_MAGIC "allocinfo-site-cache"
/* Bump when the symbolizer's answers change for the same input. */
#define SITE_CACHE_FORMAT 3

struct site_cache_dir {
	int fd;
	char header[128];
};

struct site_slot {
	uint64_t key;              /* offset + 1; 0 = empty slot */
	unsigned int line;
	bool fresh;                /* added in this process */
	const char *file, *function;
};

struct site_cache {
	char name[2 * 64 + 1];     /* the build-id in hex */
	char *text;                /* the file as read, cut into strings */
	struct site_slot *slots;
	size_t count, mask;        /* mask + 1 slots, a power of two */
	size_t fresh;
};

struct site_cache_dir *site_cache_dir_open(const char *setting,
					   const char *config)
{
	struct site_cache_dir *dir;
	int fd;

	fd = cache_dir_open(setting);
	if (fd < 0) {
		if (setting && errno)
			fprintf(stderr, "allocinfo: ALLOCINFO_CACHE='%s': %s; "
				"symbolizing without the cache\n", setting,
				errno == EPERM ? "not a folder of this user's "
				"that only this user may write" : strerror(errno));
		return NULL;
	}
	dir = core_internal_calloc(1, sizeof(*dir));
	if (!dir) {
		close(fd);
		return NULL;
	}
	dir->fd = fd;
	cache_dir_header(dir->header, sizeof(dir->header), SITE_CACHE_MAGIC,
			 SITE_CACHE_FORMAT, config);
	return dir;
}

void site_cache_dir_close(struct site_cache_dir *dir)
{
	if (!dir)
		return;
	close(dir->fd);
	core_internal_free(dir);
}

/* ------------------------------------------------------------ table */

static struct site_slot *slot_of(const struct site_cache *cache,
				 uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & cache->mask;

	while (cache->slots[i].key && cache->slots[i].key != key)
		i = (i + 1) & cache->mask;
	return &cache->slots[i];
}

/* At most three quarters of the slots used: a bigger table costs every
 * process that loads it its pages, a fuller one longer probes. */
static bool fits(size_t sites, size_t slots)
{
	return 4 * sites <= 3 * slots;
}

/* Room for @more sites beyond those held: one table, doubled as often
 * as it takes, its sites moved over. */
static bool reserve(struct site_cache *cache, size_t more)
{
	struct site_slot *old = cache->slots;
	size_t old_slots = old ? cache->mask + 1 : 0, sites = cache->count + more;
	size_t slots = old_slots ? old_slots : 64;

	if (old && fits(sites, old_slots))
		return true;
	if (sites > SITE_CACHE_MAX_SITES)
		return false;
	while (!fits(sites, slots))
		slots *= 2;
	cache->slots = core_internal_calloc_touched(slots, sizeof(*cache->slots));
	if (!cache->slots) {
		cache->slots = old;
		return false;
	}
	cache->mask = slots - 1;
	for (size_t i = 0; i < old_slots; i++)
		if (old[i].key)
			*slot_of(cache, old[i].key) = old[i];
	core_internal_free(old);
	return true;
}

static bool insert(struct site_cache *cache, uint64_t offset,
		   unsigned int line, const char *file, const char *function,
		   bool fresh)
{
	struct site_slot *slot;

	if (offset == UINT64_MAX || !reserve(cache, 1))
		return false;
	slot = slot_of(cache, offset + 1);
	if (slot->key) {
		/* A line found since the file was made (the module's debug
		 * info was installed) replaces the answer without. */
		if (fresh && !slot->line && line) {
			cache->fresh += !slot->fresh;
			slot->fresh = true;
			slot->line = line;
			slot->file = file;
			slot->function = function;
			return true;
		}
		return !fresh;   /* a file with a repeated offset is corrupt */
	}
	*slot = (struct site_slot){ .key = offset + 1, .line = line,
				    .fresh = fresh, .file = file,
				    .function = function };
	cache->count++;
	cache->fresh += fresh;
	return true;
}

/* ------------------------------------------------------------- read */

static bool writable_field(const char *text)
{
	if (!*text)
		return false;
	for (; *text; text++)
		if ((unsigned char)*text < 0x20 || *text == 0x7f)
			return false;
	return true;
}

static bool parse_line_number(const char *text, unsigned int *out)
{
	uint64_t v = 0;

	/* 0 alone: no line info; no other leading zero. */
	if (text[0] == '0' && !text[1]) {
		*out = 0;
		return true;
	}
	if (!(*text >= '1' && *text <= '9'))
		return false;
	for (; *text; text++) {
		if (!(*text >= '0' && *text <= '9'))
			return false;
		v = v * 10 + (uint64_t)(*text - '0');
		if (v > UINT_MAX)
			return false;
	}
	*out = (unsigned int)v;
	return true;
}

/* The line of the file at *@cursor: its four fields. */
static bool parse_site(struct site_cache *cache, char **cursor)
{
	char *field[4];
	uint64_t offset;
	unsigned int lineno;

	if (!cache_dir_take_line(cursor, field, 4))
		return false;
	return cache_dir_parse_hex(field[0], &offset) &&
	       parse_line_number(field[1], &lineno) &&
	       /* cache_dir_take_line let no control character through */
	       field[2][0] && field[3][0] &&
	       insert(cache, offset, lineno, field[2], field[3], false);
}

/* Fills @cache from its file; on any flaw, leaves it empty. */
static void load_file(struct site_cache_dir *dir, struct site_cache *cache)
{
	char *text = cache_dir_read(dir->fd, cache->name, SITE_CACHE_MAX_BYTES);
	char *cursor, *next;
	bool ok = true;

	if (!text)
		return;
	next = strchr(text, '\n');
	if (!next || (size_t)(next - text) != strlen(dir->header) ||
	    memcmp(text, dir->header, strlen(dir->header))) {
		core_internal_free(text);   /* another version's: replaced */
		return;
	}
	/* One table for all the file's sites instead of doubling (and
	 * rehashing) its way there. */
	ok = reserve(cache, cache_dir_count_lines(next + 1));
	for (cursor = next + 1; ok && *cursor;)
		ok = parse_site(cache, &cursor);
	if (!ok) {
		core_internal_free(cache->slots);
		cache->slots = NULL;
		cache->count = cache->mask = 0;
		core_internal_free(text);
		return;
	}
	cache->text = text;
}

struct site_cache *site_cache_load(struct site_cache_dir *dir,
				   const unsigned char *build_id,
				   size_t build_id_len)
{
	struct site_cache *cache;

	if (!dir || !build_id_len || build_id_len > 64)
		return NULL;
	cache = core_internal_calloc(1, sizeof(*cache));
	if (!cache)
		return NULL;
	cache_dir_hex(cache->name, build_id, build_id_len);
	load_file(dir, cache);
	return cache;
}

bool site_cache_find(const struct site_cache *cache, uint64_t offset,
		     struct cached_site *out)
{
	const struct site_slot *slot;

	if (!cache || !cache->slots || offset == UINT64_MAX)
		return false;
	slot = slot_of(cache, offset + 1);
	if (!slot->key)
		return false;
	*out = (struct cached_site){ .line = slot->line, .file = slot->file,
				     .function = slot->function };
	return true;
}

void site_cache_add(struct site_cache *cache, uint64_t offset,
		    unsigned int line, const char *file, const char *function)
{
	if (!cache || !file || !function ||
	    !writable_field(file) || !writable_field(function))
		return;
	insert(cache, offset, line, file, function, true);
}

/* ------------------------------------------------------------ write */

void site_cache_store(struct site_cache_dir *dir, struct site_cache *cache)
{
	struct cache_writer *w;

	if (!dir || !cache || !cache->fresh)
		goto free;
	w = cache_writer_start(dir->fd, cache->name);
	if (!w)
		goto free;
	cache_writer_printf(w, "%s\n", dir->header);
	for (size_t i = 0; cache->slots && i <= cache->mask; i++) {
		const struct site_slot *s = &cache->slots[i];

		if (!s->key)
			continue;
		/* OFFSET LINE FILE FUNCTION, without printf (cache_dir.h). */
		cache_writer_put_hex(w, s->key - 1);
		cache_writer_put(w, "\t", 1);
		cache_writer_put_unsigned(w, s->line);
		cache_writer_put(w, "\t", 1);
		cache_writer_put(w, s->file, strlen(s->file));
		cache_writer_put(w, "\t", 1);
		cache_writer_put(w, s->function, strlen(s->function));
		cache_writer_put(w, "\n", 1);
	}
	/* Concurrent writers: the last rename wins, and a site it lacks is
	 * resolved, and kept, again. */
	cache_writer_finish(w);
free:
	site_cache_free(cache);
}

void site_cache_free(struct site_cache *cache)
{
	if (!cache)
		return;
	core_internal_free(cache->slots);
	core_internal_free(cache->text);
	core_internal_free(cache);
}

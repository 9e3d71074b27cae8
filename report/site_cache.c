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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/address_sort.h"
#include "core/alloc.h"
#include "report/cache_dir.h"

#define SITE_CACHE_MAGIC "allocinfo-site-cache"
/* Bump when the symbolizer's answers change for the same input, or
 * their text.  5: LINE '-', no line in the module's DWARF.  6: Rust's
 * standard library is a wrapper, its names demangled; 7: but for
 * __rust_begin_short_backtrace; 8: nor is std::thread's _M_run; 9: an
 * inlined function of the C++ library's headers without a linkage name
 * is a wrapper; 10: std::function's _M_invoke is not. */
#define SITE_CACHE_FORMAT 10

struct site_cache_dir {
	int fd;
	char header[128];
};

/* An answer this process found (the file's are read from its text). */
struct site_slot {
	uint64_t key;              /* offset + 1; 0 = empty slot */
	struct cached_site answer;
};

/* What is known of each line of the file: its fields are cut (NUL for
 * each tab and the newline) when it is first found. */
enum line_state { LINE_UNREAD, LINE_READ, LINE_FLAWED };

struct site_cache {
	char name[2 * 64 + 1];     /* the build-id in hex */
	struct cache_lines lines;  /* the file's, as read, by offset */
	uint8_t *line_state;       /* enum line_state, per line */
	struct site_slot *slots;   /* the fresh answers */
	size_t count, mask;        /* mask + 1 slots, a power of two */
};

struct site_cache_dir *site_cache_dir_open(const char *setting,
					   const char *config)
{
	struct site_cache_dir *dir;
	int fd;

	fd = cache_dir_open(setting);
	if (fd < 0) {
		/* ENOSYS for an open is a seccomp sandbox's answer (man-db
		 * runs groff, tbl and col in one): nothing the user set is
		 * wrong, and the report is the same without the cache, so
		 * each sandboxed process of a pipeline says nothing. */
		if (setting && errno && errno != ENOSYS)
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

/* ------------------------------------------------------------ fresh */

static struct site_slot *slot_of(const struct site_cache *cache,
				 uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & cache->mask;

	while (cache->slots[i].key && cache->slots[i].key != key)
		i = (i + 1) & cache->mask;
	return &cache->slots[i];
}

/* Room for one more fresh answer: the table doubled, at most three
 * quarters full. */
static bool reserve(struct site_cache *cache)
{
	struct site_slot *old = cache->slots;
	size_t old_slots = old ? cache->mask + 1 : 0;
	size_t slots = old_slots ? 2 * old_slots : 64;

	if (old && 4 * (cache->count + 1) <= 3 * old_slots)
		return true;
	if (cache->count + 1 > SITE_CACHE_MAX_SITES)
		return false;
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

/* How much an answer knows: a line; no line, for good (the module's
 * DWARF has none); no line while the module has no DWARF. */
static int answer_rank(const struct cached_site *answer)
{
	return answer->line ? 2 : answer->dwarf_searched;
}

static void insert_fresh(struct site_cache *cache, uint64_t key,
			 const struct cached_site *answer)
{
	struct site_slot *slot;

	if (!reserve(cache))
		return;
	slot = slot_of(cache, key);
	if (slot->key) {
		/* Found again (two tags of one site): an answer that knows
		 * more, found since, replaces the first. */
		if (answer_rank(answer) > answer_rank(&slot->answer))
			slot->answer = *answer;
		return;
	}
	*slot = (struct site_slot){ key, *answer };
	cache->count++;
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

/* LINE into @out's line and dwarf_searched. */
static bool parse_line_number(const char *text, struct cached_site *out)
{
	uint64_t v = 0;

	/* 0 or '-' alone: no line info; no other leading zero. */
	out->line = 0;
	out->dwarf_searched = text[0] == '-';
	if ((text[0] == '0' || text[0] == '-') && !text[1])
		return true;
	if (!(*text >= '1' && *text <= '9'))
		return false;
	for (; *text; text++) {
		if (!(*text >= '0' && *text <= '9'))
			return false;
		v = v * 10 + (uint64_t)(*text - '0');
		if (v > UINT_MAX)
			return false;
	}
	out->line = (unsigned int)v;
	return true;
}

/*
 * The answer of the file's line @i: OFFSET LINE FILE FUNCTION, cut into
 * strings in place the first time.  A line with a flaw is never used
 * (false, as if the file did not have it): its site is resolved again,
 * and the file written anew without it.
 */
static bool file_answer(struct site_cache *cache, size_t i, struct cached_site *out)
{
	char *field[4], *cursor = cache->lines.text + cache->lines.starts[i];

	if (cache->line_state[i] == LINE_FLAWED)
		return false;
	if (cache->line_state[i] == LINE_UNREAD) {
		cache->line_state[i] = LINE_FLAWED;
		/* cache_dir_take_line let no control character through. */
		if (!cache_dir_take_line(&cursor, field, 4) ||
		    !parse_line_number(field[1], out) ||
		    !field[2][0] || !field[3][0])
			return false;
		cache->line_state[i] = LINE_READ;
	} else {
		field[1] = cursor + strlen(cursor) + 1;
		field[2] = field[1] + strlen(field[1]) + 1;
		field[3] = field[2] + strlen(field[2]) + 1;
		parse_line_number(field[1], out);
	}
	out->file = field[2];
	out->function = field[3];
	return true;
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
	/* On any flaw the index is left empty: the file is another
	 * version's, or broken, and is written anew. */
	if (cache_lines_read(&cache->lines, dir->fd, cache->name, SITE_CACHE_MAX_BYTES,
			     dir->header, SITE_CACHE_MAX_SITES)) {
		cache->line_state = core_internal_calloc(cache->lines.count, 1);
		if (!cache->line_state)
			cache_lines_free(&cache->lines);
	}
	return cache;
}

bool site_cache_find(struct site_cache *cache, uint64_t offset,
		     struct cached_site *out)
{
	size_t i;

	if (!cache || offset == UINT64_MAX)
		return false;
	if (cache->count) {
		const struct site_slot *slot = slot_of(cache, offset + 1);

		if (slot->key) {
			*out = slot->answer;
			return true;
		}
	}
	i = cache_lines_find(&cache->lines, offset);
	return i != SIZE_MAX && file_answer(cache, i, out);
}

void site_cache_add(struct site_cache *cache, uint64_t offset,
		    const struct cached_site *answer)
{
	struct cached_site known;
	size_t i;

	if (!cache || !answer->file || !answer->function || offset == UINT64_MAX ||
	    !writable_field(answer->file) || !writable_field(answer->function))
		return;
	/* The file's answer stands, unless this one knows more (the
	 * module's debug info was installed since). */
	i = cache_lines_find(&cache->lines, offset);
	if (i != SIZE_MAX && file_answer(cache, i, &known) &&
	    answer_rank(&known) >= answer_rank(answer))
		return;
	insert_fresh(cache, offset + 1, answer);
}

/* ------------------------------------------------------------ write */

/* OFFSET LINE FILE FUNCTION, without printf (cache_dir.h). */
static void put_answer(struct cache_writer *w, uint64_t key,
		       const struct cached_site *answer)
{
	cache_writer_put_hex(w, key - 1);
	cache_writer_put(w, "\t", 1);
	if (!answer->line && answer->dwarf_searched)
		cache_writer_put(w, "-", 1);
	else
		cache_writer_put_unsigned(w, answer->line);
	cache_writer_put(w, "\t", 1);
	cache_writer_put(w, answer->file, strlen(answer->file));
	cache_writer_put(w, "\t", 1);
	cache_writer_put(w, answer->function, strlen(answer->function));
	cache_writer_put(w, "\n", 1);
}

/* The file's line @i as it was: copied if it was never read, else from
 * its fields (cut in place); none if it has a flaw. */
static void put_file_line(struct cache_writer *w, struct site_cache *cache, size_t i)
{
	struct cached_site known;
	size_t len;
	const char *line;

	switch ((enum line_state)cache->line_state[i]) {
	case LINE_UNREAD:
		line = cache_lines_line(&cache->lines, i, &len);
		cache_writer_put(w, line, len);
		break;
	case LINE_READ:
		file_answer(cache, i, &known);
		put_answer(w, cache->lines.keys[i] + 1, &known);
		break;
	case LINE_FLAWED:
		break;
	}
}

static int compare_keys(const void *pa, const void *pb)
{
	const struct site_slot *a = pa, *b = pb;

	return a->key < b->key ? -1 : a->key > b->key;
}

void site_cache_read_all(struct site_cache *cache)
{
	struct cached_site answer;

	for (size_t i = 0; cache && i < cache->lines.count; i++)
		file_answer(cache, i, &answer);
}

bool site_cache_gained(const struct site_cache *cache)
{
	return cache && cache->count;
}

void site_cache_store(struct site_cache_dir *dir, struct site_cache *cache)
{
	struct site_slot *fresh = NULL;
	struct cache_writer *w;
	size_t n = 0, i = 0, j = 0;

	if (!dir || !cache || !cache->count)
		goto free;
	/* The fresh answers by offset, merged into the file's lines. */
	fresh = core_internal_alloc(cache->count * sizeof(*fresh));
	if (!fresh)
		goto free;
	for (size_t k = 0; k <= cache->mask; k++)
		if (cache->slots[k].key)
			fresh[n++] = cache->slots[k];
	address_sort(fresh, n, sizeof(*fresh), offsetof(struct site_slot, key), compare_keys);
	w = cache_writer_start(dir->fd, cache->name);
	if (!w)
		goto free;
	cache_writer_printf(w, "%s\n", dir->header);
	while (i < cache->lines.count || j < n) {
		if (j == n || (i < cache->lines.count && cache->lines.keys[i] < fresh[j].key - 1)) {
			put_file_line(w, cache, i++);
			continue;
		}
		/* A fresh answer replaces the file's for its site. */
		if (i < cache->lines.count && cache->lines.keys[i] == fresh[j].key - 1)
			i++;
		put_answer(w, fresh[j].key, &fresh[j].answer);
		j++;
	}
	/* Concurrent writers: the last rename wins, and a site it lacks is
	 * resolved, and kept, again. */
	cache_writer_finish(w);
free:
	core_internal_free(fresh);
}

void site_cache_free(struct site_cache *cache)
{
	if (!cache)
		return;
	core_internal_free(cache->slots);
	core_internal_free(cache->line_state);
	cache_lines_free(&cache->lines);
	core_internal_free(cache);
}

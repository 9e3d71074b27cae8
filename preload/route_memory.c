/*
 * The router's memory on disk (see route_memory.h).
 *
 * Every failure (no folder, a full disk, a file someone else planted, a
 * file that does not parse) leaves the memory empty: the process learns
 * its routes as if it were the first, never routes otherwise.
 */
#include "preload/route_memory.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/codetag.h"
#include "report/cache_dir.h"

#define ROUTE_MEMORY_MAGIC "allocinfo-routes"
/* Bump when what a run learns changes for the same code.  2: Rust's
 * standard library is a wrapper (report/rust_names.h); 3: but for
 * __rust_begin_short_backtrace; 4: nor is std::thread's _M_run; 5: nor
 * std::function's _M_invoke. */
#define ROUTE_MEMORY_FORMAT 5

struct remembered_site {
	uint64_t offset;
	int32_t caller_offset;
	uint8_t code;              /* enum callsite_code */
	uint8_t route;             /* enum codetag_route; 0: not known */
	bool caller_offset_confirmed;
};

/*
 * A module's remembered sites: the file's lines, each parsed when the
 * classifier first looks its site up (cache_dir.h, struct cache_lines),
 * and what it said kept beside it: the store at exit looks every
 * learned site up again.  Threads classify their sites at once: the
 * text is never written, and a line's answer is one word, which two
 * threads that parse it at once store alike.
 */
struct route_memory {
	struct cache_lines lines;
	_Atomic uint64_t *parsed;    /* per line: packed_site(), 0 unread */
};

static const struct route_memory no_memory;

static const char *cache_setting;
static char header[128];

void route_memory_configure(const char *setting, const char *config)
{
	cache_setting = setting;
	cache_dir_header(header, sizeof(header), ROUTE_MEMORY_MAGIC,
			 ROUTE_MEMORY_FORMAT, config);
}

static void file_name(char name[2 * 64 + sizeof(".routes")],
		      const unsigned char *build_id, size_t len)
{
	cache_dir_hex(name, build_id, len);
	memcpy(name + 2 * len, ".routes", sizeof(".routes"));
}

/* ------------------------------------------------------------- read */

static const char *const code_names[] = {
	[CALLSITE_CODE_OWN] = "own",
	[CALLSITE_CODE_WRAPPER] = "wrapper",
	[CALLSITE_CODE_ANONYMOUS] = "anonymous",
};

static const char *const route_names[] = {
	[CODETAG_ROUTE_UNDECIDED] = "-",
	[CODETAG_ROUTE_SELF] = "self",
	[CODETAG_ROUTE_UNWIND] = "unwind",
};

/* Past @name at @text, if the field there, which ends at a tab or the
 * line's newline, is @name; else NULL.  By hand, where the line is not
 * cut into strings. */
static const char *past_field(const char *text, const char *name)
{
	while (*name && *text == *name) {
		text++;
		name++;
	}
	return !*name && (*text == '\t' || *text == '\n') ? text : NULL;
}

/* The field at *@text as an index of @names (-1: none of them), with
 * *@text moved past it and its tab. */
static int take_name(const char **text, const char *const *names, int count)
{
	for (int i = 0; i < count; i++) {
		const char *end = past_field(*text, names[i]);

		if (end && *end == '\t') {
			*text = end + 1;
			return i;
		}
	}
	return -1;
}

/* CALLER: a decimal offset from 1 to INT32_MAX - 1 (no leading zero)
 * or outermost, either with ? when measured once; varies; or -. */
static bool parse_caller(const char *text, struct remembered_site *site)
{
	const char *end;
	int64_t v = 0;

	site->caller_offset_confirmed = false;
	/* The last field: it ends at the newline. */
	if ((end = past_field(text, "-")) && *end == '\n') {
		site->caller_offset = 0;
		return true;
	}
	if ((end = past_field(text, "varies")) && *end == '\n') {
		site->caller_offset = CALLSITE_CALLER_VARIES;
		return true;
	}
	if (*text == 'o' && !strncmp(text, "outermost", 9)) {
		v = CALLSITE_CALLER_OUTERMOST;
		text += 9;
	} else {
		if (!(*text >= '1' && *text <= '9'))
			return false;
		for (; *text >= '0' && *text <= '9'; text++) {
			v = v * 10 + (*text - '0');
			if (v >= CALLSITE_CALLER_OUTERMOST)
				return false;
		}
	}
	site->caller_offset_confirmed = *text != '?';
	if (*text == '?')
		text++;
	site->caller_offset = (int32_t)v;
	return *text == '\n';
}

/*
 * Line @i of @lines, parsed into *@site: false if it has a flaw.  Its
 * key is the index's; each field of the rest (CODE ROUTE CALLER) is
 * read in place up to the tab or the newline its parser wants.
 */
static bool parse_line(const struct cache_lines *lines, size_t i,
		       struct remembered_site *site)
{
	size_t len;
	const char *line = cache_lines_line(lines, i, &len);
	/* Past the key and its tab, as the index read them (lower-case
	 * hex, no leading zero: the writer's); a newline ends the line,
	 * and no read goes past it. */
	uint64_t key = lines->keys[i];
	const char *p = line + (key ? (67 - __builtin_clzll(key)) / 4 : 1) + 1;
	int code, route;

	if (p > line + len || p[-1] != '\t')
		return false;
	code = take_name(&p, code_names, 3);
	if (code < 0)
		return false;
	route = take_name(&p, route_names, 3);
	if (route < 0 || !parse_caller(p, site))
		return false;
	site->offset = key;
	site->code = (uint8_t)code;
	site->route = (uint8_t)route;
	return true;
}

/* Every site of @lines, in order, into @out (room for all); false if
 * any line has a flaw. */
static bool parse_all(const struct cache_lines *lines, struct remembered_site *out)
{
	for (size_t i = 0; i < lines->count; i++)
		if (!parse_line(lines, i, &out[i]))
			return false;
	return true;
}

const struct route_memory *route_memory_load(const unsigned char *build_id,
					     size_t build_id_len)
{
	char name[2 * 64 + sizeof(".routes")];
	struct route_memory *memory = NULL;
	int saved_errno = errno, dir;

	if (!header[0] || !build_id_len || build_id_len > 64)
		return &no_memory;
	/* Opened for the read and closed again: a descriptor kept open
	 * would be the program's to close, and to reuse. */
	dir = cache_dir_open(cache_setting);
	if (dir >= 0) {
		file_name(name, build_id, build_id_len);
		memory = core_internal_alloc(sizeof(*memory));
		if (memory && (!cache_lines_read(&memory->lines, dir, name,
						 ROUTE_MEMORY_MAX_BYTES, header,
						 ROUTE_MEMORY_MAX_SITES) ||
			       !(memory->parsed = core_internal_calloc(
					 memory->lines.count, sizeof(*memory->parsed))))) {
			cache_lines_free(&memory->lines);
			core_internal_free(memory);
			memory = NULL;
		}
		close(dir);
	}
	errno = saved_errno;
	return memory ? memory : &no_memory;
}

void route_memory_free(const struct route_memory *memory)
{
	if (memory != &no_memory) {
		cache_lines_free((struct cache_lines *)&memory->lines);
		core_internal_free((void *)memory->parsed);
		core_internal_free((void *)memory);
	}
}

/* A parsed line in one word: the caller offset in the low half, then
 * code, route, confirmed, and a bit that says the word is set. */
#define PACKED_SET    (UINT64_C(1) << 40)
#define PACKED_FLAWED UINT64_MAX

static uint64_t packed_site(const struct remembered_site *site)
{
	return (uint32_t)site->caller_offset | (uint64_t)site->code << 32 |
	       (uint64_t)site->route << 34 | (uint64_t)site->caller_offset_confirmed << 36 |
	       PACKED_SET;
}

static void unpack_site(uint64_t packed, struct remembered_site *site)
{
	site->caller_offset = (int32_t)(uint32_t)packed;
	site->code = (uint8_t)(packed >> 32 & 3);
	site->route = (uint8_t)(packed >> 34 & 3);
	site->caller_offset_confirmed = packed >> 36 & 1;
}

/* The remembered site at @offset, into *@site; a line with a flaw is
 * as good as none: the site is learned again. */
static bool find(const struct route_memory *memory, uint64_t offset,
		 struct remembered_site *site)
{
	size_t i = cache_lines_find(&memory->lines, offset);
	uint64_t packed;

	if (i == SIZE_MAX)
		return false;
	packed = atomic_load_explicit(&memory->parsed[i], memory_order_relaxed);
	if (!packed) {
		packed = parse_line(&memory->lines, i, site) ? packed_site(site) : PACKED_FLAWED;
		atomic_store_explicit(&memory->parsed[i], packed, memory_order_relaxed);
	}
	if (packed == PACKED_FLAWED)
		return false;
	unpack_site(packed, site);
	site->offset = offset;
	return true;
}

bool route_memory_find(const struct route_memory *memory, uint64_t offset,
		       struct callsite_facts *facts)
{
	struct remembered_site site;

	if (!find(memory, offset, &site))
		return false;
	facts->code = (enum callsite_code)site.code;
	facts->route = site.route;
	facts->caller_offset = site.caller_offset;
	facts->caller_offset_confirmed = site.caller_offset_confirmed;
	return true;
}

/* ------------------------------------------------------------ write */

/* How much a caller offset says: that it varies, a confirmed one, one
 * measured once, nothing. */
static int caller_rank(int32_t offset, bool confirmed)
{
	if (offset == CALLSITE_CALLER_VARIES)
		return 3;
	return offset ? 1 + confirmed : 0;
}

/* A site with two tags (codetag.h: a site seen first as the small slot
 * array closed): what either knows. */
static void merge_twin(struct remembered_site *into, const struct remembered_site *twin)
{
	if (!into->route)
		into->route = twin->route;
	if (caller_rank(twin->caller_offset, twin->caller_offset_confirmed) >
	    caller_rank(into->caller_offset, into->caller_offset_confirmed)) {
		into->caller_offset = twin->caller_offset;
		into->caller_offset_confirmed = twin->caller_offset_confirmed;
	}
}

/* A site this run learned, and the file's answer for it: the run's
 * wins, since its tag was told the file's (core/callsite.c), except for
 * what the run did not ask (with stacks on, no anonymous site's route),
 * and a caller offset the run measured once where the file has it
 * confirmed: the same offset, so confirmed.  A frame that a walk only
 * passes (with stacks on) is not told the file's offset: without
 * this, in one cache folder, a line of cc1's went from confirmed to not
 * and back from each run to the next at ALLOCINFO_DEPTH=4, each run
 * writing the whole file again (not seen again from a fresh folder). */
static void keep_from_file(struct remembered_site *site, const struct remembered_site *old)
{
	if (!site->route)
		site->route = old->route;
	if (!site->caller_offset) {
		site->caller_offset = old->caller_offset;
		site->caller_offset_confirmed = old->caller_offset_confirmed;
	} else if (site->caller_offset == old->caller_offset && old->caller_offset_confirmed) {
		site->caller_offset_confirmed = true;
	}
}

static struct remembered_site from_learned(const struct learned_site *l)
{
	return (struct remembered_site){
		.offset = l->offset,
		.code = (uint8_t)l->facts.code,
		.route = (uint8_t)l->facts.route,
		.caller_offset = l->facts.caller_offset,
		.caller_offset_confirmed = l->facts.caller_offset_confirmed,
	};
}

static bool same(const struct remembered_site *a, const struct remembered_site *b)
{
	return a->code == b->code && a->route == b->route &&
	       a->caller_offset == b->caller_offset &&
	       a->caller_offset_confirmed == b->caller_offset_confirmed;
}

/* A site's line, without printf (cache_dir.h): OFFSET CODE ROUTE CALLER. */
static void print_site(struct cache_writer *w, const struct remembered_site *s)
{
	const char *code = code_names[s->code], *route = route_names[s->route];

	cache_writer_put_hex(w, s->offset);
	cache_writer_put(w, "\t", 1);
	cache_writer_put(w, code, strlen(code));
	cache_writer_put(w, "\t", 1);
	cache_writer_put(w, route, strlen(route));
	cache_writer_put(w, "\t", 1);
	if (s->caller_offset == 0) {
		cache_writer_put(w, "-\n", 2);
		return;
	}
	if (s->caller_offset == CALLSITE_CALLER_VARIES) {
		cache_writer_put(w, "varies\n", 7);
		return;
	}
	if (s->caller_offset == CALLSITE_CALLER_OUTERMOST)
		cache_writer_put(w, "outermost", 9);
	else if (s->caller_offset > 0)
		cache_writer_put_unsigned(w, (uint64_t)s->caller_offset);
	else
		cache_writer_printf(w, "%d", s->caller_offset);   /* none is */
	if (!s->caller_offset_confirmed)
		cache_writer_put(w, "?", 1);
	cache_writer_put(w, "\n", 1);
}

/* The learned site at *@j, merged with the twins after it; *@j moves
 * past them. */
static struct remembered_site next_learned(const struct learned_site *learned, size_t n,
					   size_t *j)
{
	struct remembered_site site = from_learned(&learned[(*j)++]);

	while (*j < n && learned[*j].offset == site.offset) {
		struct remembered_site twin = from_learned(&learned[(*j)++]);

		merge_twin(&site, &twin);
	}
	return site;
}

bool route_memory_knows(const struct route_memory *memory, const struct learned_site *learned)
{
	struct remembered_site site = from_learned(learned), old;

	if (!find(memory, site.offset, &old))
		return false;
	keep_from_file(&site, &old);
	return same(&site, &old);
}

/*
 * The @old_count sites of @old and the @n @learned ones (both by
 * offset) merged into @out, which has room for both; returns how many,
 * and whether any differs from @old's in *@changed.
 */
static size_t merge_learned(const struct remembered_site *old, size_t old_count,
			    const struct learned_site *learned, size_t n,
			    struct remembered_site *out, bool *changed)
{
	size_t i = 0, j = 0, count = 0;

	*changed = false;
	while (i < old_count || j < n) {
		struct remembered_site site;
		const struct remembered_site *known = NULL;

		if (j == n || (i < old_count && old[i].offset < learned[j].offset)) {
			out[count++] = old[i++];
			continue;
		}
		site = next_learned(learned, n, &j);
		if (i < old_count && old[i].offset == site.offset)
			known = &old[i++];
		if (known)
			keep_from_file(&site, known);
		*changed |= !known || !same(&site, known);
		out[count++] = site;
	}
	return count;
}

/*
 * The sites of the file as it is now, read again, into a new array
 * (core_internal_free it) and *@count: another process of the same
 * program may have written it since this one read it (a compile's
 * driver outlives its cc1 and as, which use the same libc), and what it
 * learned is kept.  Written from the copy read at start, the last
 * writer dropped the others' sites, and at ALLOCINFO_DEPTH=4 the driver
 * and as missed libc's in the next compile, each miss a read of a
 * module's symbols (1.2 M instructions each after four warm runs,
 * bench/instructions).  Failing that, @memory's, as read at start, or
 * none: a file with any flaw is written anew from what was learned.
 */
static struct remembered_site *sites_now(int dir, const char *name,
					 const struct route_memory *memory, size_t *count)
{
	struct cache_lines now;
	const struct cache_lines *lines = &memory->lines;
	struct remembered_site *sites;
	size_t room;

	if (cache_lines_read(&now, dir, name, ROUTE_MEMORY_MAX_BYTES, header,
			     ROUTE_MEMORY_MAX_SITES))
		lines = &now;
	*count = lines->count;
	/* Room for either list: the one read at start is the fallback. */
	room = now.count > memory->lines.count ? now.count : memory->lines.count;
	sites = core_internal_alloc((room + 1) * sizeof(*sites));
	if (sites && !parse_all(lines, sites)) {
		*count = 0;
		if (lines == &now && parse_all(&memory->lines, sites))
			*count = memory->lines.count;
	}
	cache_lines_free(&now);
	return sites;
}

void route_memory_store(const unsigned char *build_id, size_t build_id_len,
			const struct route_memory *memory,
			const struct learned_site *learned, size_t n)
{
	char name[2 * 64 + sizeof(".routes")];
	struct remembered_site *old, *out;
	size_t old_count, count;
	bool changed;
	int dir;

	if (!header[0] || !build_id_len || build_id_len > 64 || !n ||
	    (dir = cache_dir_open(cache_setting)) < 0)
		return;
	file_name(name, build_id, build_id_len);
	old = sites_now(dir, name, memory, &old_count);
	out = old ? core_internal_alloc((old_count + n) * sizeof(*out)) : NULL;
	if (out) {
		count = merge_learned(old, old_count, learned, n, out, &changed);
		if (changed && count <= ROUTE_MEMORY_MAX_SITES) {
			struct cache_writer *w = cache_writer_start(dir, name);

			if (w) {
				cache_writer_printf(w, "%s\n", header);
				for (size_t k = 0; k < count; k++)
					print_site(w, &out[k]);
				/* Concurrent writers: the last rename wins, and
				 * what it lacks is learned, and kept, again. */
				cache_writer_finish(w);
			}
		}
	}
	close(dir);
	core_internal_free(old);
	core_internal_free(out);
}

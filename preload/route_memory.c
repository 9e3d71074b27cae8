/*
 * The router's memory on disk (see route_memory.h).
 *
 * Every failure (no folder, a full disk, a file someone else planted, a
 * file that does not parse) leaves the memory empty: the process learns
 * its routes as if it were the first, never routes otherwise.
 */
#include "preload/route_memory.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/codetag.h"
#include "report/cache_dir.h"

#define ROUTE_MEMORY_MAGIC "allocinfo-routes"
/* Bump when what a run learns changes for the same code. */
#define ROUTE_MEMORY_FORMAT 1

struct remembered_site {
	uint64_t offset;
	int32_t caller_offset;
	uint8_t code;              /* enum callsite_code */
	uint8_t route;             /* enum codetag_route; 0: not known */
	bool caller_offset_confirmed;
};

/*
 * A module's remembered sites, and a hash index of them by offset: the
 * classifier looks each new site up, and a binary search over clang's
 * 2,600 took 330 instructions a site.  Open addressing, at most half
 * full; a slot holds a site's place + 1, 0 when empty.
 */
struct route_memory {
	size_t count;
	uint32_t *index;                 /* index_mask + 1 slots */
	uint32_t index_mask;
	struct remembered_site sites[];   /* by increasing offset */
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

/* Whether @text is @name: the same as !strcmp, without a library call
 * for each of a few bytes, up to five times a line. */
static bool field_is(const char *text, const char *name)
{
	while (*name && *text == *name) {
		text++;
		name++;
	}
	return *text == *name;
}

static int name_index(const char *text, const char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (field_is(text, names[i]))
			return i;
	return -1;
}

/* CALLER: a decimal offset from 1 to INT32_MAX - 1 (no leading zero)
 * or outermost, either with ? when measured once; varies; or -. */
static bool parse_caller(const char *text, struct remembered_site *site)
{
	int64_t v = 0;

	site->caller_offset_confirmed = false;
	if (field_is(text, "-")) {
		site->caller_offset = 0;
		return true;
	}
	if (field_is(text, "varies")) {
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
	return *text == '\0';
}

/* The line of the file at *@cursor: its four fields. */
static bool parse_site(char **cursor, struct remembered_site *site)
{
	char *field[4];
	int code, route;

	if (!cache_dir_take_line(cursor, field, 4))
		return false;
	code = name_index(field[1], code_names, 3);
	route = name_index(field[2], route_names, 3);
	if (!cache_dir_parse_hex(field[0], &site->offset) || code < 0 || route < 0 ||
	    !parse_caller(field[3], site))
		return false;
	site->code = (uint8_t)code;
	site->route = (uint8_t)route;
	return true;
}

/* Where the probe for @offset starts in @memory's index. */
static uint32_t index_slot(const struct route_memory *memory, uint64_t offset)
{
	return (uint32_t)((offset * 0x9e3779b97f4a7c15ull) >> 32) & memory->index_mask;
}

/* The memory in @text (a whole file), or NULL if it has any flaw. */
static struct route_memory *parse_file(char *text)
{
	char *next = strchr(text, '\n'), *cursor;
	struct route_memory *memory;
	size_t lines, slots;

	if (!next || (size_t)(next - text) != strlen(header) ||
	    memcmp(text, header, strlen(header)))
		return NULL;         /* another version's or config's */
	lines = cache_dir_count_lines(next + 1);
	if (!lines || lines > ROUTE_MEMORY_MAX_SITES)
		return NULL;
	for (slots = 2; slots < 2 * lines; slots *= 2)
		;
	memory = core_internal_alloc(sizeof(*memory) + lines * sizeof(memory->sites[0]) +
				     slots * sizeof(memory->index[0]));
	if (!memory)
		return NULL;
	memory->count = 0;
	memory->index = (uint32_t *)&memory->sites[lines];
	memory->index_mask = (uint32_t)slots - 1;
	memset(memory->index, 0, slots * sizeof(memory->index[0]));
	for (cursor = next + 1; *cursor && memory->count < lines; memory->count++) {
		struct remembered_site *site = &memory->sites[memory->count];

		/* Only whole lines are counted: text after the last
		 * newline (a file cut short) is not read. */
		if (!parse_site(&cursor, site) ||
		    (memory->count && site->offset <= site[-1].offset))
			break;
	}
	if (memory->count != lines) {
		core_internal_free(memory);
		return NULL;
	}
	for (size_t i = 0; i < lines; i++) {
		uint32_t slot = index_slot(memory, memory->sites[i].offset);

		while (memory->index[slot])
			slot = (slot + 1) & memory->index_mask;
		memory->index[slot] = (uint32_t)i + 1;
	}
	return memory;
}

const struct route_memory *route_memory_load(const unsigned char *build_id,
					     size_t build_id_len)
{
	char name[2 * 64 + sizeof(".routes")];
	struct route_memory *memory = NULL;
	int saved_errno = errno, dir;
	char *text;

	if (!header[0] || !build_id_len || build_id_len > 64)
		return &no_memory;
	/* Opened for the read and closed again: a descriptor kept open
	 * would be the program's to close, and to reuse. */
	dir = cache_dir_open(cache_setting);
	if (dir >= 0) {
		file_name(name, build_id, build_id_len);
		text = cache_dir_read(dir, name, ROUTE_MEMORY_MAX_BYTES);
		close(dir);
		if (text) {
			memory = parse_file(text);
			core_internal_free(text);
		}
	}
	errno = saved_errno;
	return memory ? memory : &no_memory;
}

void route_memory_free(const struct route_memory *memory)
{
	if (memory != &no_memory)
		core_internal_free((void *)memory);
}

static const struct remembered_site *find(const struct route_memory *memory,
					  uint64_t offset)
{
	uint32_t slot, place;

	if (!memory->count)
		return NULL;
	for (slot = index_slot(memory, offset); (place = memory->index[slot]);
	     slot = (slot + 1) & memory->index_mask)
		if (memory->sites[place - 1].offset == offset)
			return &memory->sites[place - 1];
	return NULL;
}

bool route_memory_find(const struct route_memory *memory, uint64_t offset,
		       struct callsite_facts *facts)
{
	const struct remembered_site *site = find(memory, offset);

	if (!site)
		return false;
	facts->code = (enum callsite_code)site->code;
	facts->route = site->route;
	facts->caller_offset = site->caller_offset;
	facts->caller_offset_confirmed = site->caller_offset_confirmed;
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

/*
 * @memory's sites and the @n @learned ones (both by offset) merged into
 * @out, which has room for both; returns how many, and whether any
 * differs from @memory's in *@changed.
 */
static size_t merge_learned(const struct route_memory *memory,
			    const struct learned_site *learned, size_t n,
			    struct remembered_site *out, bool *changed)
{
	size_t i = 0, j = 0, count = 0;

	*changed = false;
	while (i < memory->count || j < n) {
		struct remembered_site site;
		const struct remembered_site *old = NULL;

		if (j == n || (i < memory->count &&
			       memory->sites[i].offset < learned[j].offset)) {
			out[count++] = memory->sites[i++];
			continue;
		}
		site = from_learned(&learned[j++]);
		while (j < n && learned[j].offset == site.offset) {
			struct remembered_site twin = from_learned(&learned[j++]);

			merge_twin(&site, &twin);
		}
		if (i < memory->count && memory->sites[i].offset == site.offset)
			old = &memory->sites[i++];
		if (old)
			keep_from_file(&site, old);
		*changed |= !old || !same(&site, old);
		out[count++] = site;
	}
	return count;
}

void route_memory_store(const unsigned char *build_id, size_t build_id_len,
			const struct route_memory *memory,
			const struct learned_site *learned, size_t n)
{
	char name[2 * 64 + sizeof(".routes")];
	struct route_memory *now = NULL;
	struct remembered_site *out;
	size_t count;
	bool changed;
	char *text;
	int dir;

	if (!header[0] || !build_id_len || build_id_len > 64 || !n)
		return;
	out = core_internal_alloc((memory->count + n) * sizeof(*out));
	if (!out)
		return;
	count = merge_learned(memory, learned, n, out, &changed);
	if (!changed || count > ROUTE_MEMORY_MAX_SITES ||
	    (dir = cache_dir_open(cache_setting)) < 0) {
		core_internal_free(out);
		return;
	}
	/*
	 * The file as it is now: another process of the same program may
	 * have written it since this one read it (a compile's driver
	 * outlives its cc1 and as, which use the same libc), and what it
	 * learned is kept.  Written from the copy read at start, the last
	 * writer dropped the others' sites, and at ALLOCINFO_DEPTH=4 the
	 * driver and as missed libc's in the next compile, each miss a read
	 * of a module's symbols (1.2 M instructions each after four warm
	 * runs, bench/instructions).
	 */
	file_name(name, build_id, build_id_len);
	text = cache_dir_read(dir, name, ROUTE_MEMORY_MAX_BYTES);
	if (text) {
		now = parse_file(text);
		core_internal_free(text);
	}
	if (now) {
		struct remembered_site *merged =
			core_internal_alloc((now->count + n) * sizeof(*merged));

		if (merged) {
			core_internal_free(out);
			out = merged;
			count = merge_learned(now, learned, n, out, &changed);
		}
		core_internal_free(now);
	}
	if (changed && count <= ROUTE_MEMORY_MAX_SITES) {
		struct cache_writer *w = cache_writer_start(dir, name);

		if (w) {
			cache_writer_printf(w, "%s\n", header);
			for (size_t k = 0; k < count; k++)
				print_site(w, &out[k]);
			/* Concurrent writers: the last rename wins, and what
			 * it lacks is learned, and kept, again. */
			cache_writer_finish(w);
		}
	}
	close(dir);
	core_internal_free(out);
}

/*
 * Wrapper address ranges (see wrappers.h).
 *
 * Data.  A set of loaded modules sorted by address, published through
 * one atomic pointer; each module, once listed, has one sorted array of
 * function ranges, each marked wrapper or not, read from its file (or
 * from the function cache, function_cache.h) the first time a
 * site in it is classified.  Readers (the classifier,
 * inside malloc) load the pointers and search; nothing is ever freed
 * once published, so a reader never sees memory go away.  A new module
 * (dlopen) makes a new set: the thread that meets it lists the modules
 * it does not know, shares the rest, and publishes with a
 * compare-and-swap; a module's array is published the same way.  A
 * thread that loses either race frees its own and reads the winner's.
 * No thread waits for another: a thread that holds the loader's lock
 * (inside a dl_iterate_phdr callback) may allocate, and we call
 * dl_iterate_phdr.
 *
 * Module identity is glibc's _dl_find_object: lock-free, and it tells
 * a module loaded where a closed one was from the old one (another link
 * map or another extent).
 *
 * Each module also has the router's memory (route_memory.h), loaded with
 * the module's first classification and published the same way; a site
 * it holds is answered from it, without the symbol table.
 *
 * Functions without a symbol (static functions of a stripped module)
 * are ANONYMOUS, not wrappers; callsite.c sees through them only on the
 * way to a wrapper of their module.
 *
 * The file on disk is the module's file as the loader found it.  A file
 * replaced since (a package upgrade under a running program) gives
 * wrong ranges; the program is unaffected, its report less exact.
 */
#include "preload/wrappers.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/callsite.h"
#include "core/codetag.h"
#include "core/internal_scope.h"
#include "preload/function_cache.h"
#include "preload/route_memory.h"
#include "core/address_sort.h"
#include "report/loaded_modules.h"
#include "report/mapped_file.h"
#include "report/wrapper_names.h"

/*
 * A loaded module.  Shared by every set that lists it and never freed:
 * its table is read from the file the first time a site in the module
 * is classified, and published once, with a compare-and-swap, for all.
 */
struct module_ranges {
	const void *link_map;         /* identity, with the extent */
	uintptr_t lo, hi;             /* extent of the module's mappings */
	uintptr_t base;               /* load bias of its symbols */
	char *path;                   /* NULL: no file to read */
	_Atomic(const struct func_table *) table; /* NULL: not read yet */
	_Atomic(const struct route_memory *) memory; /* NULL: not loaded yet */
	unsigned char build_id[LOADED_MODULE_BUILD_ID_MAX];
	size_t build_id_len;          /* 0: none, nothing remembered */
};

struct module_set {
	size_t count;
	struct module_ranges *modules[]; /* sorted by lo */
};

static _Atomic(struct module_set *) current_set;

/* The table of a module whose file has no function symbols, or could
 * not be read. */
static const struct func_table no_functions;

static int compare_funcs(const void *pa, const void *pb)
{
	const struct func_range *a = pa, *b = pb;

	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return a->size < b->size ? -1 : a->size > b->size;
}

/* The symbol table of a mapped ELF file: .symtab if there is one. */
static bool find_symbols(const unsigned char *map, size_t size,
			 const ElfW(Sym) **syms, size_t *nsyms,
			 const char **strtab, size_t *strsize)
{
	const ElfW(Ehdr) *eh = (const void *)map;
	const ElfW(Shdr) *sh, *best = NULL;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh->e_shentsize != sizeof(*sh) || eh->e_shoff > size ||
	    eh->e_shnum > (size - eh->e_shoff) / sizeof(*sh))
		return false;
	sh = (const void *)(map + eh->e_shoff);
	for (unsigned int i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB ||
		    (sh[i].sh_type == SHT_DYNSYM && !best))
			best = &sh[i];
	if (!best || best->sh_link >= eh->e_shnum ||
	    best->sh_offset > size || best->sh_size > size - best->sh_offset ||
	    best->sh_entsize != sizeof(ElfW(Sym)))
		return false;
	sh = &sh[best->sh_link];
	if (sh->sh_offset > size || sh->sh_size > size - sh->sh_offset || !sh->sh_size)
		return false;
	*syms = (const void *)(map + best->sh_offset);
	*nsyms = best->sh_size / sizeof(ElfW(Sym));
	*strtab = (const char *)map + sh->sh_offset;
	*strsize = sh->sh_size;
	return true;
}

#define NAME_PREFETCH_AHEAD 16

/* The function ranges of the symbols of @syms. */
static const struct func_table *read_functions(const ElfW(Sym) *syms, size_t nsyms,
					       const char *strtab, size_t strsize)
{
	struct func_table *t, *fit;
	struct func_range *funcs;
	size_t n = 0, count = 0;

	t = core_internal_alloc(sizeof(*t) + nsyms * sizeof(t->funcs[0]));
	if (!t)
		return &no_functions;
	funcs = (struct func_range *)(t + 1);
	for (size_t i = 0; i < nsyms; i++) {
		const ElfW(Sym) *s = &syms[i];

		/* Names lie in the string table in another order than
		 * their symbols: each read of one missed the cache, 2 ms
		 * of cc1's 31,000 (perf).  Asked for a few symbols ahead,
		 * they are there when matched. */
		if (i + NAME_PREFETCH_AHEAD < nsyms &&
		    syms[i + NAME_PREFETCH_AHEAD].st_name < strsize)
			__builtin_prefetch(strtab + syms[i + NAME_PREFETCH_AHEAD].st_name);
		/* The string table ends in a NUL (checked by the caller),
		 * so every name in it is terminated. */
		if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF ||
		    s->st_size == 0 || s->st_size > UINT32_MAX || s->st_name >= strsize)
			continue;
		funcs[n].offset = s->st_value;
		funcs[n].size = (uint32_t)s->st_size;
		funcs[n].wrapper = wrapper_names_match(strtab + s->st_name);
		n++;
	}
	address_sort(funcs, n, sizeof(funcs[0]), offsetof(struct func_range, offset),
		     compare_funcs);
	/* Aliases (strdup and __strdup) share a range: one entry, a
	 * wrapper if any of its names is. */
	for (size_t i = 0; i < n; i++) {
		struct func_range *last = count ? &funcs[count - 1] : NULL;

		if (last && last->offset == funcs[i].offset && last->size == funcs[i].size)
			last->wrapper |= funcs[i].wrapper;
		else
			funcs[count++] = funcs[i];
	}
	if (!count) {
		core_internal_free(t);
		return &no_functions;
	}
	fit = core_internal_realloc(t, sizeof(*t) + count * sizeof(funcs[0]));
	if (fit)
		t = fit;
	t->count = count;
	t->funcs = (const struct func_range *)(t + 1);
	return t;
}

/* Reads the function symbols of @m's file. */
static const struct func_table *scan_file(const struct module_ranges *m)
{
	const struct func_table *table = &no_functions;
	const ElfW(Sym) *syms;
	const char *strtab;
	size_t nsyms, strsize;
	struct mapped_file file;

	if (!m->path || !mapped_file_open(m->path, 0, &file))
		return table;
	if (find_symbols(file.bytes, file.size, &syms, &nsyms, &strtab, &strsize) &&
	    strtab[strsize - 1] == '\0')
		table = read_functions(syms, nsyms, strtab, strsize);
	mapped_file_close(&file);
	return table;
}

/*
 * @m's functions, read on first use: only the modules that hold an
 * allocation site are read, not every library a process maps (the
 * profiler's own among them), which cost each short-lived process
 * milliseconds at start.  From the function cache (function_cache.h)
 * if an earlier process kept the table, else from the file's symbols,
 * and then kept.
 */
static const struct func_table *module_functions(struct module_ranges *m)
{
	const struct func_table *table = atomic_load_explicit(&m->table,
							      memory_order_acquire);
	const struct func_table *expected = NULL;
	struct function_cache_key key;
	bool keyed;
	int saved_errno;

	if (__builtin_expect(table != NULL, 1))
		return table;
	saved_errno = errno;
	keyed = function_cache_key(m->path, m->build_id, m->build_id_len, &key);
	table = keyed ? function_cache_load(&key) : NULL;
	if (!table) {
		table = scan_file(m);
		if (keyed && table != &no_functions)
			function_cache_store(&key, table);
	}
	errno = saved_errno;
	if (atomic_compare_exchange_strong(&m->table, &expected, table))
		return table;
	/* Another thread read it first. */
	if (table != &no_functions)
		function_table_free(table);
	return expected;
}

/* @m's remembered sites, loaded on first use (see module_functions). */
static const struct route_memory *module_memory(struct module_ranges *m)
{
	const struct route_memory *memory = atomic_load_explicit(&m->memory,
								 memory_order_acquire);
	const struct route_memory *expected = NULL;

	if (__builtin_expect(memory != NULL, 1))
		return memory;
	memory = route_memory_load(m->build_id, m->build_id_len);
	if (atomic_compare_exchange_strong(&m->memory, &expected, memory))
		return memory;
	/* Another thread loaded it first. */
	route_memory_free(memory);
	return expected;
}

/* The module of @set whose extent holds @address, or NULL. */
static struct module_ranges *module_holding(const struct module_set *set,
					    uintptr_t address)
{
	size_t lo = 0, hi = set ? set->count : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->modules[mid]->lo <= address)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && address < set->modules[lo - 1]->hi ? set->modules[lo - 1] : NULL;
}

/* The module of @pc, by identity and extent; NULL if @set lacks it. */
static struct module_ranges *find_module(const struct module_set *set,
					 const struct dl_find_object *obj)
{
	struct module_ranges *m = module_holding(set, (uintptr_t)obj->dlfo_map_start);

	return m && m->lo == (uintptr_t)obj->dlfo_map_start &&
	       m->link_map == obj->dlfo_link_map &&
	       m->hi == (uintptr_t)obj->dlfo_map_end ? m : NULL;
}

/* Whether @m is one of @set's modules. */
static bool set_holds(const struct module_set *set, const struct module_ranges *m)
{
	for (size_t i = 0; set && i < set->count; i++)
		if (set->modules[i] == m)
			return true;
	return false;
}

struct rebuild {
	const struct module_set *old;
	struct module_set *set;
	size_t capacity;
	bool failed;
};

static int rebuild_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct rebuild *rb = arg;
	struct dl_find_object obj;
	struct module_ranges *m;
	uintptr_t first = 0;
	const char *path = info->dlpi_name;

	(void)size;
	/* Any loaded address of the module finds its extent and link map. */
	for (int i = 0; i < info->dlpi_phnum && !first; i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD)
			first = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
	if (!first || _dl_find_object((void *)first, &obj) != 0)
		return 0;
	if (rb->set->count == rb->capacity) {
		size_t cap = rb->capacity * 2;
		struct module_set *grown = core_internal_realloc(rb->set,
				sizeof(*grown) + cap * sizeof(grown->modules[0]));

		if (!grown) {
			rb->failed = true;
			return 1;
		}
		rb->set = grown;
		rb->capacity = cap;
	}
	m = find_module(rb->old, &obj);
	if (!m) {
		/* The main program's name is empty; the vDSO has no file. */
		if (!path || !*path)
			path = "/proc/self/exe";
		m = core_internal_calloc(1, sizeof(*m));
		if (!m || (path[0] == '/' && !(m->path = core_internal_strdup(path)))) {
			core_internal_free(m);
			rb->failed = true;
			return 1;
		}
		m->link_map = obj.dlfo_link_map;
		m->lo = (uintptr_t)obj.dlfo_map_start;
		m->hi = (uintptr_t)obj.dlfo_map_end;
		m->base = info->dlpi_addr;
		m->build_id_len = loaded_module_build_id(info, m->build_id,
							 sizeof(m->build_id));
	}
	rb->set->modules[rb->set->count++] = m;
	return 0;
}

static int compare_modules(const void *pa, const void *pb)
{
	const struct module_ranges *a = *(struct module_ranges *const *)pa;
	const struct module_ranges *b = *(struct module_ranges *const *)pb;

	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Lists the modules loaded now, new ones unread, and publishes the
 * set; returns the set in force afterwards. */
static const struct module_set *rebuild(struct module_set *old)
{
	struct rebuild rb = { .old = old, .capacity = 32 };
	struct module_set *expected = old;

	rb.set = core_internal_alloc(sizeof(*rb.set) +
				     rb.capacity * sizeof(rb.set->modules[0]));
	if (!rb.set)
		return old;
	rb.set->count = 0;
	dl_iterate_phdr(rebuild_one, &rb);
	qsort(rb.set->modules, rb.set->count, sizeof(rb.set->modules[0]),
	      compare_modules);
	if (!rb.failed &&
	    atomic_compare_exchange_strong(&current_set, &expected, rb.set))
		return rb.set;
	/* Only this rebuild's own modules are unshared (and unread). */
	for (size_t i = 0; i < rb.set->count; i++) {
		struct module_ranges *m = rb.set->modules[i];

		if (!set_holds(old, m)) {
			core_internal_free(m->path);
			core_internal_free(m);
		}
	}
	core_internal_free(rb.set);
	return atomic_load(&current_set);
}

/* The module that @pc lies in, listing the loaded modules anew if it is
 * one not seen yet; NULL for none. */
static struct module_ranges *module_of(uintptr_t pc)
{
	const struct module_set *set = atomic_load_explicit(&current_set,
							    memory_order_acquire);
	struct module_ranges *m;
	struct dl_find_object obj;
	int saved_errno;

	if (_dl_find_object((void *)pc, &obj) != 0)
		return NULL;
	m = find_module(set, &obj);
	if (!m) {
		saved_errno = errno;
		set = rebuild((struct module_set *)set);
		m = find_module(set, &obj);
		errno = saved_errno;
	}
	return m;
}

/*
 * Frames without a tag (callsite_options.classify_frame) classified
 * from a symbol table, so that wrappers_remember keeps their code too:
 * a tag's facts reach it through callsite_visit_learned, a frame's
 * never did.  At depth 1 the rule looks at frames it does not charge
 * without making them a tag (core/callsite.c: classify_frame), and every
 * run of gcc's driver read libc's symbols again for one of them
 * (__libc_start_call_main, above the driver's anonymous functions), 1.07
 * M of its 4.87 M instructions (callgrind, a warm cache).  Slots are
 * claimed with one atomic add and filled with one store, the site last
 * (0: not filled yet); a process that classifies more frames than there
 * are slots finds the rest again next run, as before.
 */
#define CLASSIFIED_FRAMES_MAX 512

struct classified_frame {
	_Atomic uintptr_t site;       /* a return address; 0: not filled */
	struct module_ranges *module; /* never freed, as its base */
	enum callsite_code code;
};

static struct classified_frame classified_frames[CLASSIFIED_FRAMES_MAX];
static _Atomic unsigned int classified_count;

/* How many of the latest notes a new one is compared with: a frame the
 * rule passes on every allocation of a site whose caller's offset
 * varies is classified each time, and would fill the array alone. */
#define CLASSIFIED_RECENT 32

static void note_classified(uintptr_t site, struct module_ranges *m,
			    enum callsite_code code)
{
	unsigned int i = atomic_load_explicit(&classified_count, memory_order_relaxed);

	if (i >= CLASSIFIED_FRAMES_MAX)
		return;
	for (unsigned int k = i > CLASSIFIED_RECENT ? i - CLASSIFIED_RECENT : 0; k < i; k++)
		if (atomic_load_explicit(&classified_frames[k].site, memory_order_relaxed) == site)
			return;
	i = atomic_fetch_add_explicit(&classified_count, 1, memory_order_relaxed);
	if (i >= CLASSIFIED_FRAMES_MAX)
		return;
	classified_frames[i].module = m;
	classified_frames[i].code = code;
	atomic_store_explicit(&classified_frames[i].site, site, memory_order_release);
}

/*
 * Sites are remembered by their return address, @pc + 1, less the
 * module's load bias.  A module without symbols tells us nothing of
 * its code, so no more than the memory.  @untagged: a frame without a
 * tag, noted when its symbols answered.
 */
static void classify(uintptr_t pc, struct callsite_facts *facts, bool untagged)
{
	struct module_ranges *m = module_of(pc);
	const struct func_table *table;
	uintptr_t offset;
	size_t lo;

	if (!m)
		return;
	facts->module = m->lo;
	if (route_memory_find(module_memory(m), pc + 1 - m->base, facts))
		return;
	table = module_functions(m);
	if (!table->count)
		return;
	offset = pc - m->base;
	lo = address_count_at_or_below(table->funcs, table->count, sizeof(table->funcs[0]),
				       offsetof(struct func_range, offset), offset);
	if (lo == 0 || offset - table->funcs[lo - 1].offset >= table->funcs[lo - 1].size)
		facts->code = CALLSITE_CODE_ANONYMOUS;
	else if (table->funcs[lo - 1].wrapper)
		facts->code = CALLSITE_CODE_WRAPPER;
	if (untagged && m->build_id_len)
		note_classified(pc + 1, m, facts->code);
}

static void classify_site(uintptr_t pc, struct callsite_facts *facts)
{
	classify(pc, facts, false);
}

static void classify_frame(uintptr_t pc, struct callsite_facts *facts)
{
	classify(pc, facts, true);
}

void wrappers_start(const struct allocinfo_options *options)
{
	struct callsite_options cs = {
		.depth = options->stack_depth,
		.classify = classify_site,
		.classify_frame = classify_frame,
	};

	if (options->wrappers[0])
		wrapper_names_add_user(options->wrappers);
	route_memory_configure(options->cache[0] ? options->cache : NULL,
			       options->wrappers);
	function_cache_configure(options->cache[0] ? options->cache : NULL,
				 options->wrappers);
	rebuild(NULL);
	callsite_init(&cs);
}

/* ------------------------------------------------------- remembering */

struct learned_entry {
	uintptr_t address;         /* the site's, the sort's key */
	struct module_ranges *module;
	struct learned_site site;
	bool adds;                 /* not in the module's memory as it is */
};

struct learned_list {
	struct learned_entry *entries;
	size_t count, capacity;
	bool failed;
};

/* Adds @site of @m, with @facts, to @list. */
static void add_learned(struct learned_list *list, uintptr_t site, struct module_ranges *m,
			const struct callsite_facts *facts)
{
	if (!m || !m->build_id_len || list->failed)
		return;
	if (list->count == list->capacity) {
		size_t cap = list->capacity ? 2 * list->capacity : 256;
		struct learned_entry *grown = core_internal_realloc(list->entries,
						cap * sizeof(*grown));

		if (!grown) {
			list->failed = true;
			return;
		}
		list->entries = grown;
		list->capacity = cap;
	}
	list->entries[list->count++] = (struct learned_entry){
		.address = site,
		.module = m,
		.site = { .offset = site - m->base, .facts = *facts },
	};
}

/* What visit_learned hands each site to: its module (NULL: none). */
typedef void learned_visitor(uintptr_t site, struct module_ranges *m,
			     const struct callsite_facts *facts, void *arg);

struct learned_visit {
	const struct module_set *set;
	learned_visitor *visit;
	void *arg;
};

static void visit_tag(uintptr_t site, const struct callsite_facts *facts, void *arg)
{
	const struct learned_visit *v = arg;

	v->visit(site, module_holding(v->set, site - 1), facts, v->arg);
}

/* Every site this run learned something of: the tags' first, then the
 * first @frames classified frames, which may have got a tag since they
 * were noted (route_memory_store merges the twins). */
static void visit_learned(const struct module_set *set, unsigned int frames,
			  learned_visitor *visit, void *arg)
{
	struct learned_visit v = { .set = set, .visit = visit, .arg = arg };

	callsite_visit_learned(visit_tag, &v);
	for (unsigned int i = 0; i < frames; i++) {
		const struct classified_frame *f = &classified_frames[i];
		uintptr_t site = atomic_load_explicit(&f->site, memory_order_acquire);
		struct callsite_facts facts = { .code = f->code };

		if (site)
			visit(site, f->module, &facts, arg);
	}
}

static void collect_learned(uintptr_t site, struct module_ranges *m,
			    const struct callsite_facts *facts, void *arg)
{
	add_learned(arg, site, m, facts);
}

/*
 * Whether the @n sites of @m learned in this run are worth its routes
 * file: not when @m's table is one the function cache does not keep
 * either (under FUNCTION_CACHE_MIN_FUNCS functions) and every site is
 * @m's own with nothing measured, as in a configure script's test
 * programs.  The next run classifies such sites again from the symbols
 * in less time than the file's creation took (about 150 us on the
 * bench's host, strace -T).
 */
static bool routes_worth_keeping(const struct module_ranges *m,
				 const struct learned_site *sites, size_t n)
{
	const struct func_table *table = atomic_load_explicit(&m->table,
							      memory_order_acquire);

	if (!table || table->count >= FUNCTION_CACHE_MIN_FUNCS)
		return true;
	for (size_t i = 0; i < n; i++)
		if (sites[i].facts.code != CALLSITE_CODE_OWN || sites[i].facts.route ||
		    sites[i].facts.caller_offset)
			return true;
	return false;
}

/* By module, then offset: by address, as modules do not overlap. */
static int compare_learned(const void *pa, const void *pb)
{
	const struct learned_entry *a = pa, *b = pb;

	if (a->module != b->module)
		return a->module->lo < b->module->lo ? -1 : 1;
	return a->site.offset < b->site.offset ? -1 : a->site.offset > b->site.offset;
}

/* Whether @site, in @m, with @facts, is more than @m's route memory
 * knows. */
static bool learned_adds(struct module_ranges *m, uintptr_t site,
			 const struct callsite_facts *facts)
{
	struct learned_site learned;

	if (!m || !m->build_id_len)
		return false;
	learned = (struct learned_site){ .offset = site - m->base, .facts = *facts };
	return !route_memory_knows(module_memory(m), &learned);
}

static void note_adds(uintptr_t site, struct module_ranges *m,
		      const struct callsite_facts *facts, void *arg)
{
	bool *any = arg;

	if (!*any)
		*any = learned_adds(m, site, facts);
}

void wrappers_remember(void)
{
	struct learned_list list = { 0 };
	struct learned_site *sites;
	const struct module_set *set;
	int saved_errno = errno;
	bool any_adds = false;
	unsigned int frames = atomic_load_explicit(&classified_count, memory_order_relaxed);

	if (frames > CLASSIFIED_FRAMES_MAX)
		frames = CLASSIFIED_FRAMES_MAX;
	core_internal_enter();
	set = atomic_load_explicit(&current_set, memory_order_acquire);
	/* Asked before a list is made: a warm run most often learned
	 * nothing new, and a list of every tag (56 bytes each) was fresh
	 * pages to fault in at every exit, a fork child's among them. */
	visit_learned(set, frames, note_adds, &any_adds);
	if (!any_adds) {
		core_internal_leave();
		errno = saved_errno;
		return;
	}
	/* Room for every tag at once (collect_learned doubles the list
	 * only without it): grown from 256 entries, cc1's 1,135 were
	 * copied three times into fresh pages. */
	list.capacity = codetag_count() + frames;
	list.entries = core_internal_alloc(list.capacity * sizeof(*list.entries));
	if (!list.entries)
		list.capacity = 0;
	visit_learned(set, frames, collect_learned, &list);
	/* Asked site by site, so that a module whose sites it all knows
	 * is not read again. */
	for (size_t i = 0; i < list.count; i++) {
		struct learned_entry *e = &list.entries[i];

		e->adds = learned_adds(e->module, e->address, &e->site.facts);
	}
	/* By address: qsort took clang's 2,600 sites 1 M instructions. */
	address_sort(list.entries, list.count, sizeof(list.entries[0]),
		     offsetof(struct learned_entry, address), compare_learned);
	/* One module's sites at a time, in a list of their own. */
	sites = core_internal_alloc(list.count * sizeof(*sites));
	for (size_t i = 0, n; sites && !list.failed && i < list.count; i += n) {
		struct module_ranges *m = list.entries[i].module;
		bool adds = false;

		for (n = 0; i + n < list.count && list.entries[i + n].module == m; n++) {
			sites[n] = list.entries[i + n].site;
			adds |= list.entries[i + n].adds;
		}
		if (adds && routes_worth_keeping(m, sites, n))
			route_memory_store(m->build_id, m->build_id_len, module_memory(m),
					   sites, n);
	}
	core_internal_free(sites);
	core_internal_free(list.entries);
	core_internal_leave();
	errno = saved_errno;
}

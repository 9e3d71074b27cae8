/*
 * Symbolization with elfutils' libdwfl (see symbolize.h).
 *
 * libdwfl reads the process's own mappings, finds each module's ELF file
 * and its separate debug info (build-id under /usr/lib/debug, or
 * .gnu_debuglink), and answers both questions we ask: the enclosing
 * function (from DWARF or .symtab/.dynsym) and the source line.  Lookups
 * use site - 1, an address inside the call instruction, since the return
 * address may already belong to the next line or even the next function.
 *
 * libdw is loaded with dlopen when a report meets a site that the cache
 * on disk (site_cache.h) cannot answer, not linked: a profiled process
 * that never writes a report, or whose sites are all in the cache,
 * never maps libdw, libelf and their compression libraries (a
 * millisecond of every short process's exit), and nothing is loaded
 * into the program at start-up that it did not ask for.  Until then the
 * modules come from the loader's list (loaded_modules.h), named as
 * libdwfl names them.  debuginfod is never
 * used: its client starts libcurl inside the program (a network client
 * in someone else's process, and in node, whose exported OpenSSL it then
 * calls, a crash).  Without libdw, sites fall back to dladdr(): module,
 * offset and the exported symbol.
 *
 * Inlined code.  The tag names the innermost source location, the line
 * that called the allocator, and the function that line is written in,
 * even when the compiler inlined that function into another: the tag is
 * the same at -O0 and -O2, and it names the line to change.  The one
 * exception is an inlined wrapper (report/wrapper_names.h: a header's
 * safe_malloc, std::vector::push_back): its line is replaced by the line
 * that called it, from DWARF's inlined-subroutine records, outward until
 * a function that is not a wrapper.  (Wrappers that were not inlined
 * were already seen through at run time, by core/callsite.c.)
 *
 * C++ names are demangled without parameters (report/demangle.h).
 */
#include "report/symbolize.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/alloc_tag.h"
#include "core/snapshot.h"
#include "core/address_sort.h"
#include "report/demangle.h"
#include "report/cache_dir.h"
#include "report/debug_inflate.h"
#include "report/format.h"
#include "report/loaded_modules.h"
#include "report/site_cache.h"
#include "report/wrapper_names.h"

/* The libdwfl functions we call, looked up from libdw.so.1. */
#define DWFL_FUNCTIONS(X)						\
	X(dwfl_begin) X(dwfl_end) X(dwfl_report_begin) X(dwfl_report_end) \
	X(dwfl_linux_proc_report) X(dwfl_linux_proc_find_elf)		\
	X(dwfl_build_id_find_debuginfo) X(dwfl_addrmodule)		\
	X(dwfl_module_info) X(dwfl_module_addrname) X(dwfl_module_getsrc) \
	X(dwfl_lineinfo) X(dwfl_line_comp_dir) X(dwfl_module_getelf)	\
	X(dwfl_module_addrdie) X(dwarf_tag)				\
	X(dwarf_attr) X(dwarf_attr_integrate) X(dwarf_formstring)	\
	X(dwarf_formudata) X(dwarf_diename) X(dwarf_getsrcfiles)	\
	X(dwarf_decl_file)						\
	X(dwarf_filesrc) X(dwfl_module_getsymtab)			\
	X(dwfl_module_getsym_info) X(dwarf_child) X(dwarf_siblingof)	\
	X(dwarf_ranges) X(dwarf_dieoffset) X(dwfl_module_build_id)	\
	X(dwfl_module_getdwarf) X(elf64_getehdr) X(elf64_getshdr)	\
	X(elf_nextscn) X(elf_getscn) X(elf_getdata)

static struct {
#define DECLARE(fn) __typeof__(fn) *fn;
	DWFL_FUNCTIONS(DECLARE)
#undef DECLARE
} dw;

/*
 * The modules that loading libdw brought in (libdw and the libraries it
 * needs), by address range.  Code the program unmapped before its report
 * (a JIT's buffer) leaves a hole that they may be mapped into: a site
 * there would be named after them (libdw-0.188.so+0x28006, even
 * func:dwarf_getpubnames), and the cache would keep that answer under
 * their build-id.  Such a site is named by its address, as a site in no
 * module is.  Report time only, in the internal scope.
 */
#define REPORT_MODULES_BEFORE_MAX 1024
#define REPORT_RANGES_MAX 64

static uintptr_t modules_before[REPORT_MODULES_BEFORE_MAX];
static unsigned int modules_before_count;
static bool modules_before_overflow;
static struct { uintptr_t lo, hi; } report_ranges[REPORT_RANGES_MAX];
static unsigned int report_range_count;
static uintptr_t report_ranges_lo = UINTPTR_MAX, report_ranges_hi;

static int note_module_before(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (modules_before_count == REPORT_MODULES_BEFORE_MAX)
		modules_before_overflow = true;
	else
		modules_before[modules_before_count++] = info->dlpi_addr;
	return 0;
}

static int note_module_loaded(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	for (unsigned int i = 0; i < modules_before_count; i++)
		if (modules_before[i] == info->dlpi_addr)
			return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || report_range_count == REPORT_RANGES_MAX)
			continue;
		report_ranges[report_range_count].lo = lo;
		report_ranges[report_range_count++].hi = lo + ph->p_memsz;
		report_ranges_lo = lo < report_ranges_lo ? lo : report_ranges_lo;
		report_ranges_hi = lo + ph->p_memsz > report_ranges_hi ?
				   lo + ph->p_memsz : report_ranges_hi;
	}
	return 0;
}

/* Whether @pc lies in a module that loading libdw mapped. */
static bool loaded_for_report(uintptr_t pc)
{
	if (pc < report_ranges_lo || pc >= report_ranges_hi)
		return false;
	for (unsigned int i = 0; i < report_range_count; i++)
		if (pc >= report_ranges[i].lo && pc < report_ranges[i].hi)
			return true;
	return false;
}

static bool load_libdw(void)
{
	static int loaded; /* 0 unknown, 1 yes, -1 no; report time only */
	void *h;

	if (loaded)
		return loaded > 0;
	loaded = -1;
	dl_iterate_phdr(note_module_before, NULL);
	h = dlopen("libdw.so.1", RTLD_LAZY | RTLD_LOCAL);
	/* With too many modules to tell the new ones apart, none is
	 * excluded (as before this check existed). */
	if (!modules_before_overflow)
		dl_iterate_phdr(note_module_loaded, NULL);
	if (!h)
		return false;
#define LOOKUP(fn) if (!(*(void **)&dw.fn = dlsym(h, #fn))) return false;
	DWFL_FUNCTIONS(LOOKUP)
#undef LOOKUP
	loaded = 1;
	return true;
}

/* Strings we format ourselves; freed together at close. */
struct string_block {
	struct string_block *next;
	char text[];
};

/*
 * A module's function symbols sorted by address.  libdwfl's own
 * address-to-symbol lookup scans the whole symbol table on every call:
 * for a module like cc1, with tens of thousands of symbols, and a few
 * hundred sites, that was most of the time a process spent writing its
 * report.  One pass builds this table; each site then costs a binary
 * search.
 *
 * The pass reads the module's own .symtab as it lies in the ELF file,
 * where libdwfl would take it from (it reads the main file's .symtab
 * before any other), not through dwfl_module_getsym_info: 270
 * instructions a symbol, which for node's 110,000 were 29 M.  And a
 * process whose cache (site_cache.h) answered all but a few sites does
 * not build it at all: its first SYMBOL_SCANS lookups scan those
 * symbols for the ones the table would have given (symbol_scan), a
 * million instructions each for node, where sorting them takes 15 M.
 */
struct symbol_entry {
	uintptr_t start, end;     /* end == start: size unknown */
	const char *name;         /* owned by libdwfl */
};

#define SYMBOL_SCANS 4

struct symbol_table {
	struct symbol_table *next;
	Dwfl_Module *module;
	struct symbol_entry *entries;
	size_t count;
	bool built;
	unsigned int scans;        /* symbol_scan's, before the table */
	/* The main file's .symtab, if libdwfl takes its symbols from it
	 * (raw_count 0 if not): its entries, its names and the module's
	 * bias. */
	const Elf64_Sym *raw;
	size_t raw_count;
	const char *raw_names;
	size_t raw_names_size;
	uintptr_t bias;
};

/*
 * A compile unit's function scopes (subprograms and inlined calls) as a
 * tree, with every address range of every scope sorted by start.
 * dwarf_getscopes walks the whole CU's DIE tree on every call: with a
 * few thousand sites in one CU that made writing the report quadratic.
 * One walk per CU builds this; each site then costs a binary search and
 * a short scan.
 */
struct scope_node {
	Dwarf_Die die;
	uint32_t parent;          /* SCOPE_NONE for a top-level function */
};

struct scope_range {
	uintptr_t lo, hi;         /* CU addresses (pc - bias) */
	uint32_t node;
	uint32_t depth;
};

#define SCOPE_NONE UINT32_MAX

struct cu_scopes {
	struct cu_scopes *next;
	Dwfl_Module *module;
	Dwarf_Off cu_offset;
	struct scope_node *nodes;
	size_t nnodes, nodes_cap;
	struct scope_range *ranges;
	size_t nranges, ranges_cap;
	bool failed;
};

/* A module's sites in the cache on disk (site_cache.h), by build-id;
 * NULL sites when the module has none. */
struct module_sites {
	struct module_sites *next;
	unsigned char build_id[LOADED_MODULE_BUILD_ID_MAX];
	size_t build_id_len;
	Dwfl_Module *module;       /* NULL until libdwfl met it */
	struct site_cache *sites;
	int has_dwarf;             /* 0: not asked yet, 1 yes, -1 no */
	/* Read before this report began (symbolizer_prepare): other
	 * processes may have written answers to the file since. */
	bool read_earlier;
};

/* A chain's frame as it is printed (FILE@LINE), by site. */
struct frame_text {
	uintptr_t site;            /* 0: empty */
	const char *text;
};

struct symbolizer {
	/* libdwfl's view of the process, made at the first site the cache
	 * cannot answer (dwfl_tried): before that, the loader's list. */
	Dwfl *dwfl;
	bool dwfl_tried;
	struct loaded_modules *loaded;
	unsigned long long loaded_generation;  /* loader_generation()'s */
	const char *exe_path;
	struct string_block *strings;
	struct symbol_table *symbol_tables;
	struct cu_scopes *cu_scopes;
	struct site_cache_dir *cache_dir;
	struct module_sites *module_sites;
	bool cache_tried;
	/* The module of the last site the cache answered, its sites and
	 * its name in a record (NULL: the program): a snapshot comes in
	 * the order its tags were made (by address where a site may have
	 * two, core/snapshot.c), and a site is most often in the module of
	 * the one before it: a binary search, a walk of the cache list
	 * and two string compares a site are saved. */
	struct loaded_module *last_loaded;
	struct module_sites *last_sites;
	const char *last_module;
	/* Chains share frames (cc1 at depth 4: 4,400 chains of four frames
	 * over about as many sites): each frame is resolved and printed
	 * once. */
	struct frame_text *frames;
	size_t frames_used, frames_mask;
	/* The last chain printed (symbolizer_format_stack): one buffer for
	 * all, not a kept copy each, which cc1's 4,400 chains at depth 4
	 * made 600 KiB of strings. */
	char stack_text[8192];
};

/* ALLOCINFO_CACHE (NULL: the default folder) and what the answers
 * depend on besides the module; set once at start-up. */
static const char *cache_setting;
static const char *cache_config;

void symbolizer_configure_cache(const char *setting, const char *config)
{
	cache_setting = setting;
	cache_config = config;
}

/* The caches' folder, opened on first need; NULL without a cache. */
static struct site_cache_dir *cache_dir_of(struct symbolizer *sym)
{
	if (!sym->cache_tried) {
		sym->cache_tried = true;
		sym->cache_dir = site_cache_dir_open(cache_setting, cache_config);
	}
	return sym->cache_dir;
}

/* A new cache entry for the module with @build_id, first in the list
 * (so the one found from now on), its sites read now. */
static struct module_sites *module_sites_read(struct symbolizer *sym,
					      const unsigned char *build_id,
					      size_t len)
{
	struct module_sites *m = core_internal_calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	memcpy(m->build_id, build_id, len);
	m->build_id_len = len;
	m->next = sym->module_sites;
	sym->module_sites = m;
	if (len > 0)
		m->sites = site_cache_load(cache_dir_of(sym), build_id, len);
	return m;
}

/* The cache entry of the module with @build_id (@len 0: none), with
 * its sites loaded on its first site; NULL without a cache. */
static struct module_sites *module_sites_by_id(struct symbolizer *sym,
					       const unsigned char *build_id,
					       size_t len)
{
	struct module_sites *m;

	if (len > sizeof(m->build_id))
		return NULL;
	for (m = sym->module_sites; m; m = m->next)
		if (m->build_id_len == len && !memcmp(m->build_id, build_id, len))
			return m;
	if (!cache_dir_of(sym))
		return NULL;
	return module_sites_read(sym, build_id, len);
}

/* The cache entry of libdwfl's @mod. */
static struct module_sites *module_sites_of(struct symbolizer *sym,
					    Dwfl_Module *mod)
{
	const unsigned char *build_id = NULL;
	struct module_sites *m;
	GElf_Addr vaddr;
	int len = dw.dwfl_module_build_id(mod, &build_id, &vaddr);

	/* No build-id: one entry for all such modules, with no sites. */
	if (len <= 0 || !build_id) {
		build_id = (const unsigned char *)"";
		len = 0;
	}
	m = module_sites_by_id(sym, build_id, (size_t)len);
	if (m && !m->module)
		m->module = mod;
	return m;
}

/* Whether libdwfl has DWARF for @m's module.  Asked once per module:
 * libdwfl looks for the debug info then, as it would for a line anyway. */
static bool module_has_dwarf(struct module_sites *m)
{
	Dwarf_Addr bias;

	if (!m->has_dwarf)
		m->has_dwarf = dw.dwfl_module_getdwarf(m->module, &bias) ? 1 : -1;
	return m->has_dwarf > 0;
}

/* Whether a cached answer may be used: one made without line info
 * while the module had no DWARF only while it still has none (its
 * debug info may have been installed since). */
static bool cached_answer_holds(struct module_sites *m, const struct cached_site *cached)
{
	return cached->line || cached->dwarf_searched || !module_has_dwarf(m);
}

static int compare_symbols(const void *pa, const void *pb)
{
	const struct symbol_entry *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	/* Of two at one address, the sized one first. */
	return (b->end - b->start > 0) - (a->end - a->start > 0);
}

/*
 * Finds the main ELF file's .symtab for @t, when libdwfl's symbols are
 * its: libdwfl reads it before a separate debug file's, and counts the
 * same symbols (else it took them from elsewhere, and @t keeps none).
 */
static void find_raw_symtab(struct symbol_table *t, int libdwfl_count)
{
	Dwarf_Addr bias;
	Elf *elf = dw.dwfl_module_getelf(t->module, &bias);
	Elf_Scn *scn = NULL;

	if (!elf || !dw.elf64_getehdr(elf))
		return;
	while ((scn = dw.elf_nextscn(elf, scn))) {
		const Elf64_Shdr *sh = dw.elf64_getshdr(scn);
		Elf_Data *syms, *names;
		size_t n;

		if (!sh || sh->sh_type != SHT_SYMTAB)
			continue;
		syms = dw.elf_getdata(scn, NULL);
		names = dw.elf_getdata(dw.elf_getscn(elf, sh->sh_link), NULL);
		/* Names within the table end within it. */
		if (!syms || !names || !syms->d_buf || !names->d_buf || !names->d_size ||
		    ((const char *)names->d_buf)[names->d_size - 1] ||
		    sh->sh_entsize != sizeof(Elf64_Sym))
			return;
		n = syms->d_size / sizeof(Elf64_Sym);
		if (n != (size_t)libdwfl_count)
			return;
		t->raw = syms->d_buf;
		t->raw_count = n;
		t->raw_names = names->d_buf;
		t->raw_names_size = names->d_size;
		t->bias = (uintptr_t)bias;
		return;
	}
}

/* Whether a symbol of @info and section @shndx names a function the
 * table keeps: defined, code or an ifunc. */
static inline bool function_symbol(unsigned char info, unsigned int shndx)
{
	int type = ELF64_ST_TYPE(info);

	return shndx != SHN_UNDEF && (type == STT_FUNC || type == STT_GNU_IFUNC);
}

/*
 * The raw symbol @i of @t as a table entry: false if the table leaves
 * it out (not a function, undefined, its name out of bounds), as it
 * does libdwfl's with no name.  Its address is libdwfl's: biased,
 * unless absolute.
 */
static inline __attribute__((always_inline)) bool
raw_symbol(const struct symbol_table *t, size_t i, struct symbol_entry *out)
{
	const Elf64_Sym *esym = &t->raw[i];
	uintptr_t start;

	if (!function_symbol(esym->st_info, esym->st_shndx) ||
	    esym->st_name >= t->raw_names_size)
		return false;
	start = (uintptr_t)esym->st_value + (esym->st_shndx == SHN_ABS ? 0 : t->bias);
	*out = (struct symbol_entry){
		.start = start, .end = start + esym->st_size,
		.name = t->raw_names + esym->st_name,
	};
	return true;
}

/* The table of @mod: found or made, but its entries only built on the
 * lookup that needs them (symbol_table_build). */
static struct symbol_table *symbol_table_of(struct symbolizer *sym,
					    Dwfl_Module *mod)
{
	struct symbol_table *t;
	int n;

	for (t = sym->symbol_tables; t; t = t->next)
		if (t->module == mod)
			return t;
	t = core_internal_calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->module = mod;
	t->next = sym->symbol_tables;
	sym->symbol_tables = t;
	n = dw.dwfl_module_getsymtab(mod);
	if (n > 0)
		find_raw_symtab(t, n);
	return t;
}

static void symbol_table_build(struct symbol_table *t)
{
	size_t n;
	int count;

	t->built = true;
	count = dw.dwfl_module_getsymtab(t->module);
	if (count <= 0)
		return;
	n = t->raw_count ? t->raw_count : (size_t)count;
	t->entries = core_internal_calloc(n, sizeof(*t->entries));
	if (!t->entries)
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym esym;
		GElf_Addr addr;
		const char *name;

		if (t->raw_count) {
			if (raw_symbol(t, i, &t->entries[t->count]))
				t->count++;
			continue;
		}
		name = dw.dwfl_module_getsym_info(t->module, (int)i, &esym, &addr,
						  NULL, NULL, NULL);
		/* The name is not read here: names lie in another order
		 * than their symbols, and reading each missed the cache
		 * (cc1's 31,000: 2 ms).  A lookup passes over an empty
		 * one. */
		if (!name || !function_symbol(esym.st_info, esym.st_shndx))
			continue;
		t->entries[t->count++] = (struct symbol_entry){
			.start = addr, .end = addr + esym.st_size, .name = name,
		};
	}
	address_sort(t->entries, t->count, sizeof(*t->entries),
		     offsetof(struct symbol_entry, start), compare_symbols);
}

/*
 * Of the candidates a lookup for @pc weighs (below), the name it
 * returns, or NULL: @near are the nearest of the entries starting at or
 * below @pc, nearest first, @n of them (at most SYMBOL_NEAR).  Of those
 * the nearest whose range holds @pc; a sizeless one only if it is the
 * nearest of all.
 */
#define SYMBOL_NEAR 8

static const char *symbol_choose(const struct symbol_entry *const *near, size_t n,
				 uintptr_t pc)
{
	for (size_t k = 0; k < n; k++) {
		const struct symbol_entry *e = near[k];

		if (!*e->name)
			continue;	/* kept unread when the table was made */
		if (pc < e->end || (e->end == e->start && k == 0))
			return e->name;
	}
	return NULL;
}

/* Whether @a comes after @b in the table's order: compare_symbols',
 * else the symbol table's (@ia, @ib: their indices there). */
static bool symbol_after(const struct symbol_entry *a, size_t ia,
			 const struct symbol_entry *b, size_t ib)
{
	int c = compare_symbols(a, b);

	return c ? c > 0 : ia > ib;
}

/* symbol_name's answer for @pc without the table: one pass over the
 * raw symbols keeps the SYMBOL_NEAR last, in the table's order, of
 * those starting at or below @pc.  *@any: whether the table would
 * have had any entry. */
static const char *symbol_scan(const struct symbol_table *t, uintptr_t pc, bool *any)
{
	struct symbol_entry kept[SYMBOL_NEAR];
	const struct symbol_entry *near[SYMBOL_NEAR];
	size_t index[SYMBOL_NEAR], n = 0;

	*any = false;
	for (size_t i = 0; i < t->raw_count; i++) {
		struct symbol_entry e;
		size_t k;

		if (!raw_symbol(t, i, &e))
			continue;
		*any = true;
		if (e.start > pc)
			continue;
		if (n == SYMBOL_NEAR && !symbol_after(&e, i, &kept[n - 1], index[n - 1]))
			continue;
		/* Into its place, nearest first; the farthest drops out. */
		k = n < SYMBOL_NEAR ? n++ : n - 1;
		for (; k > 0 && symbol_after(&e, i, &kept[k - 1], index[k - 1]); k--) {
			kept[k] = kept[k - 1];
			index[k] = index[k - 1];
		}
		kept[k] = e;
		index[k] = i;
	}
	for (size_t k = 0; k < n; k++)
		near[k] = &kept[k];
	return symbol_choose(near, n, pc);
}

/* The function symbol that holds @pc, like dwfl_module_addrname. */
static const char *symbol_name(struct symbolizer *sym, Dwfl_Module *mod,
			       uintptr_t pc)
{
	struct symbol_table *t = symbol_table_of(sym, mod);
	const struct symbol_entry *near[SYMBOL_NEAR];
	size_t lo, n = 0;

	if (!t)
		return dw.dwfl_module_addrname(mod, pc);
	if (!t->built && t->raw_count && t->scans < SYMBOL_SCANS) {
		const char *name;
		bool any;

		t->scans++;
		name = symbol_scan(t, pc, &any);
		return any ? name : dw.dwfl_module_addrname(mod, pc);
	}
	if (!t->built)
		symbol_table_build(t);
	if (!t->count)
		return dw.dwfl_module_addrname(mod, pc);
	/* The last symbol starting at or below pc, and the ones before. */
	lo = address_count_at_or_below(t->entries, t->count, sizeof(t->entries[0]),
				       offsetof(struct symbol_entry, start), pc);
	while (n < SYMBOL_NEAR && n < lo) {
		near[n] = &t->entries[lo - 1 - n];
		n++;
	}
	return symbol_choose(near, n, pc);
}

/* @fd, a debug file just opened, or its plain copy where its sections
 * are compressed (debug_inflate.h), found or made in the caches'
 * folder. */
static int plain_debuginfo(int fd, const unsigned char *build_id, int len)
{
	int dir;

	if (len <= 0 || len > LOADED_MODULE_BUILD_ID_MAX ||
	    (dir = cache_dir_open(cache_setting)) < 0)
		return fd;
	fd = debug_inflate_open(fd, dir, build_id, (size_t)len);
	close(dir);
	return fd;
}

/*
 * The plain copy of the module's debug file under
 * /usr/lib/debug/.build-id where that file's sections are compressed,
 * else -1.  Asked before libdwfl's own lookup by build-id, which opens
 * the file it finds as the module's debug ELF, after which a
 * descriptor returned is not read: the copy must be found first.  Only
 * for the module's own debug file (@file_name its main file), not for
 * an alternate (dwz) file, which libdwfl asks for with the debug
 * file's name.
 */
static int copy_by_build_id(Dwfl_Module *mod, const char *file_name, char **path)
{
	const unsigned char *bits;
	const char *mainfile = NULL;
	char debug_path[sizeof("/usr/lib/debug/.build-id/") + 2 * LOADED_MODULE_BUILD_ID_MAX + 8];
	char hex[2 * LOADED_MODULE_BUILD_ID_MAX + 1];
	GElf_Addr vaddr;
	int len, fd, plain;

	dw.dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
	if (!file_name || !mainfile || strcmp(file_name, mainfile) != 0 ||
	    (len = dw.dwfl_module_build_id(mod, &bits, &vaddr)) < 2 ||
	    len > LOADED_MODULE_BUILD_ID_MAX)
		return -1;
	cache_dir_hex(hex, bits, (size_t)len);
	snprintf(debug_path, sizeof(debug_path), "/usr/lib/debug/.build-id/%.2s/%s.debug", hex,
		 hex + 2);
	if ((fd = open(debug_path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	plain = plain_debuginfo(fd, bits, len);
	if (plain == fd || !(*path = strdup(debug_path))) {
		/* Not compressed, or no copy: libdwfl's lookup opens it. */
		close(plain);
		return -1;
	}
	return plain;
}

/*
 * Separate debug info: by build-id under /usr/lib/debug/.build-id, then
 * by .gnu_debuglink where debuglink_candidate says (loaded_modules.h);
 * a plain copy where its sections are compressed.
 * dwfl_standard_find_debuginfo would do the same and then ask
 * debuginfod, which we must not.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata,
			  const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	const unsigned char *bits;
	char path[PATH_MAX];
	GElf_Addr vaddr;
	int fd, got, len;

	if ((fd = copy_by_build_id(mod, file_name, debuginfo_file_name)) >= 0)
		return fd;
	fd = dw.dwfl_build_id_find_debuginfo(mod, userdata, modname, base,
					     file_name, debuglink_file,
					     debuglink_crc, debuginfo_file_name);
	if (fd >= 0 || !debuglink_file || !file_name)
		return fd;
	for (unsigned int which = 0; (got = debuglink_candidate(which, file_name,
				debuglink_file, path, sizeof(path))) >= 0; which++) {
		if (!got || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		if (!(*debuginfo_file_name = strdup(path))) {
			close(fd);
			return -1;
		}
		/* An alternate (dwz) file's build-id is not the module's:
		 * debug_inflate_open leaves it as it is. */
		len = dw.dwfl_module_build_id(mod, &bits, &vaddr);
		return plain_debuginfo(fd, bits, len);
	}
	return -1;
}

static Dwfl_Callbacks proc_callbacks = {
	.find_debuginfo = find_debuginfo,
};

static int read_generation(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned long long *generation = arg;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
		*generation = info->dlpi_adds + info->dlpi_subs;
	return 1;
}

/* Changes whenever the loader maps or unmaps a module (0: unknown). */
static unsigned long long loader_generation(void)
{
	unsigned long long generation = 0;

	dl_iterate_phdr(read_generation, &generation);
	return generation;
}

/*
 * The symbolizer symbolizer_prepare() made, which the next
 * symbolizer_open() takes: in this process, or in a fork child, which
 * inherits it.  Written under the report's lock, as every symbolizer is
 * used; symbolizer_is_prepared() reads it without.
 */
static struct symbolizer *prepared;

struct symbolizer *symbolizer_open(void)
{
	struct symbolizer *sym = prepared;

	if (sym) {
		unsigned long long generation = loader_generation();

		__atomic_store_n(&prepared, NULL, __ATOMIC_RELAXED);
		/* Its list of modules holds while the loader's has not
		 * changed; the answers read, which go by build-id, hold
		 * whatever the list. */
		if (!generation || sym->loaded_generation != generation) {
			loaded_modules_free(sym->loaded);
			sym->loaded_generation = generation;
			sym->loaded = loaded_modules_list();
		}
		sym->last_loaded = NULL;
		sym->last_sites = NULL;
		return sym;
	}
	sym = core_internal_calloc(1, sizeof(*sym));
	if (!sym)
		return NULL;
	sym->exe_path = loaded_modules_exe_path();
	sym->loaded_generation = loader_generation();
	sym->loaded = loaded_modules_list();
	return sym;
}

static bool resolve_from_cache(struct symbolizer *sym, struct site_name *where);

void symbolizer_prepare(void)
{
	uint32_t count = codetag_count();
	struct symbolizer *sym;

	if (prepared || !(sym = symbolizer_open()))
		return;
	/* Each site answered from the cache as the report would, and the
	 * answers dropped: what is kept is what answering read and asked
	 * (the modules' files, paths and DWARF). */
	for (uint32_t i = CODETAG_FIRST_SITE; i < count; i++) {
		struct site_name where = {
			.site = __atomic_load_n(&codetag_tag(i)->ct.site, __ATOMIC_RELAXED),
		};

		if (where.site && !(where.site & CODETAG_RETIRED_BIT))
			resolve_from_cache(sym, &where);
	}
	/* Every line of their files cut into its fields here, not in each
	 * child's copy, where the first line read in a page made the
	 * kernel copy it: sites the parent had not met yet at the fork,
	 * and the children's own. */
	for (struct module_sites *m = sym->module_sites; m; m = m->next) {
		m->read_earlier = true;
		site_cache_read_all(m->sites);
	}
	/* No descriptor is kept: the program may close it, or a child
	 * may, and open another file under its number. */
	site_cache_dir_close(sym->cache_dir);
	sym->cache_dir = NULL;
	sym->cache_tried = false;
	__atomic_store_n(&prepared, sym, __ATOMIC_RELAXED);
}

bool symbolizer_is_prepared(void)
{
	return __atomic_load_n(&prepared, __ATOMIC_RELAXED) != NULL;
}

/* libdw and libdwfl's view of the process, made once, on first need. */
static void open_dwfl(struct symbolizer *sym)
{
	if (sym->dwfl_tried)
		return;
	sym->dwfl_tried = true;
	if (!load_libdw())
		return;
	proc_callbacks.find_elf = dw.dwfl_linux_proc_find_elf;
	sym->dwfl = dw.dwfl_begin(&proc_callbacks);
	if (sym->dwfl) {
		dw.dwfl_report_begin(sym->dwfl);
		if (dw.dwfl_linux_proc_report(sym->dwfl, getpid()) != 0 ||
		    dw.dwfl_report_end(sym->dwfl, NULL, NULL) != 0) {
			dw.dwfl_end(sym->dwfl);
			sym->dwfl = NULL;
		}
	}
}

static const char *keep_string(struct symbolizer *sym, const char *fmt,
			       const char *a, unsigned long long b)
{
	int len = snprintf(NULL, 0, fmt, a, b);
	struct string_block *blk;

	if (len < 0)
		return "?";
	blk = core_internal_alloc(sizeof(*blk) + (size_t)len + 1);
	if (!blk)
		return "?";
	snprintf(blk->text, (size_t)len + 1, fmt, a, b);
	blk->next = sym->strings;
	sym->strings = blk;
	return blk->text;
}

/* A name we return: a copy of @text in the symbolizer's strings. */
static const char *keep_text(struct symbolizer *sym, const char *text)
{
	size_t len = strlen(text);
	struct string_block *blk = core_internal_alloc(sizeof(*blk) + len + 1);

	if (!blk)
		return "?";
	memcpy(blk->text, text, len + 1);
	blk->next = sym->strings;
	sym->strings = blk;
	return blk->text;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* DWARF names are often absolute; print them relative to the compile
 * directory, the way the kernel prints paths relative to its tree. */
static const char *relative_to(const char *file, const char *comp_dir)
{
	size_t n;

	if (!comp_dir || !*comp_dir)
		return file;
	n = strlen(comp_dir);
	if (!strncmp(file, comp_dir, n) && file[n] == '/')
		return file + n + 1;
	return file;
}

static const char *source_path(Dwfl_Line *line, const char *file)
{
	return relative_to(file, dw.dwfl_line_comp_dir(line));
}

/* A site in no module the report can name: its bare address. */
static void name_by_address(struct symbolizer *sym, struct site_name *where)
{
	where->file = keep_string(sym, "%s0x%llx", "", (unsigned long long)where->site);
}

/* Without libdw: the module and offset, and the symbol if exported. */
static void resolve_with_dladdr(struct symbolizer *sym, struct site_name *where)
{
	Dl_info info;

	if (!dladdr((void *)(where->site - 1), &info) || !info.dli_fname) {
		name_by_address(sym, where);
		return;
	}
	if (info.dli_sname)
		where->function = info.dli_sname;
	if (strcmp(info.dli_fname, sym->exe_path) != 0 && *info.dli_fname)
		where->module = base_name(info.dli_fname);
	where->file = keep_string(sym, "%s+0x%llx", base_name(*info.dli_fname ?
					info.dli_fname : sym->exe_path),
			       (unsigned long long)(where->site - (uintptr_t)info.dli_fbase));
}

/* A function's name for a tag: demangled without parameters if it is a
 * C++ name; *@wrapper says whether wrapper_names lists it. */
static const char *display_name(struct symbolizer *sym, const char *name,
				bool *wrapper)
{
	char buf[1024];

	if (wrapper)
		*wrapper = wrapper_names_match(name);
	if (demangle_short(name, buf, sizeof(buf)))
		return keep_text(sym, buf);
	return name;
}

/* The linkage (mangled) name of a function DIE, else NULL. */
static const char *die_linkage_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;

	if (dw.dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dw.dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
		return dw.dwarf_formstring(&attr);
	return NULL;
}

/*
 * Whether a function is declared in the C++ standard library's headers
 * (libstdc++'s under include/c++/VERSION, libc++'s under include/c++/v1),
 * where every function is std::'s or __gnu_cxx::'s, a wrapper's
 * (report/wrapper_names.c).  For the inlined functions to which GCC
 * gives no linkage name, some member templates: std::function's
 * _M_init_functor (its callable's block, reported at std_function.h:215
 * before), std::thread's constructor.
 */
static bool declared_in_cxx_library(Dwarf_Die *die)
{
	const char *file = dw.dwarf_decl_file(die);

	return file && strstr(file, "/include/c++/");
}

/* The file and line that an inlined subroutine was called from. */
static bool inline_call_site(Dwarf_Die *cudie, Dwarf_Die *inlined,
			     const char **file, unsigned int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word index, lineno;
	Dwarf_Files *files;
	const char *name, *comp_dir = NULL;
	size_t nfiles;

	if (!dw.dwarf_attr(inlined, DW_AT_call_file, &attr) ||
	    dw.dwarf_formudata(&attr, &index) != 0 ||
	    !dw.dwarf_attr(inlined, DW_AT_call_line, &attr) ||
	    dw.dwarf_formudata(&attr, &lineno) != 0 || lineno == 0 ||
	    dw.dwarf_getsrcfiles(cudie, &files, &nfiles) != 0 || index >= nfiles)
		return false;
	name = dw.dwarf_filesrc(files, index, NULL, NULL);
	if (!name)
		return false;
	if (dw.dwarf_attr(cudie, DW_AT_comp_dir, &attr))
		comp_dir = dw.dwarf_formstring(&attr);
	*file = relative_to(name, comp_dir);
	*line = (unsigned int)lineno;
	return true;
}

/*
 * The function at @pc from DWARF's scopes, innermost first, stepping out
 * of inlined wrappers (see the top of this file): moves @where's file and
 * line to each wrapper's call site.  Returns false without DWARF scopes.
 */
static bool grow(void **array, size_t *cap, size_t count, size_t size)
{
	size_t new_cap;
	void *grown;

	if (count < *cap)
		return true;
	new_cap = *cap ? *cap * 2 : 64;
	grown = core_internal_realloc(*array, new_cap * size);
	if (!grown)
		return false;
	*array = grown;
	*cap = new_cap;
	return true;
}

/* Adds @die's function scopes, and those below it, under @parent. */
static void index_scopes(struct cu_scopes *cs, Dwarf_Die *die, uint32_t parent,
			 uint32_t depth)
{
	Dwarf_Die child;

	if (depth > 64 || dw.dwarf_child(die, &child) != 0)
		return;
	do {
		int tag = dw.dwarf_tag(&child);
		uint32_t under = parent;

		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			Dwarf_Addr base, start, end;
			ptrdiff_t offset = 0;

			if (!grow((void **)&cs->nodes, &cs->nodes_cap, cs->nnodes,
				  sizeof(*cs->nodes))) {
				cs->failed = true;
				return;
			}
			under = (uint32_t)cs->nnodes++;
			cs->nodes[under] = (struct scope_node){ .die = child,
								.parent = parent };
			while ((offset = dw.dwarf_ranges(&child, offset, &base,
							 &start, &end)) > 0) {
				if (start >= end)
					continue;
				if (!grow((void **)&cs->ranges, &cs->ranges_cap,
					  cs->nranges, sizeof(*cs->ranges))) {
					cs->failed = true;
					return;
				}
				cs->ranges[cs->nranges++] = (struct scope_range){
					.lo = start, .hi = end, .node = under,
					.depth = depth,
				};
			}
		}
		index_scopes(cs, &child, under, depth + 1);
	} while (!cs->failed && dw.dwarf_siblingof(&child, &child) == 0);
}

static int compare_ranges(const void *pa, const void *pb)
{
	const struct scope_range *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->depth < b->depth ? -1 : a->depth > b->depth;
}

static struct cu_scopes *cu_scopes_of(struct symbolizer *sym, Dwfl_Module *mod,
				      Dwarf_Die *cudie)
{
	Dwarf_Off offset = dw.dwarf_dieoffset(cudie);
	struct cu_scopes *cs;

	for (cs = sym->cu_scopes; cs; cs = cs->next)
		if (cs->module == mod && cs->cu_offset == offset)
			return cs->failed ? NULL : cs;
	cs = core_internal_calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->module = mod;
	cs->cu_offset = offset;
	cs->next = sym->cu_scopes;
	sym->cu_scopes = cs;
	index_scopes(cs, cudie, SCOPE_NONE, 0);
	if (cs->failed)
		return NULL;
	qsort(cs->ranges, cs->nranges, sizeof(*cs->ranges), compare_ranges);
	return cs;
}

/* The innermost function scope that holds @pc: of the ranges holding
 * it, the one that starts last (a nested scope starts within its
 * parent), the deeper on a tie. */
static uint32_t innermost_scope(const struct cu_scopes *cs, uintptr_t pc)
{
	size_t lo = 0, hi = cs->nranges;
	uint32_t best = SCOPE_NONE, best_depth = 0;
	uintptr_t best_lo = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cs->ranges[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0;) {
		const struct scope_range *r = &cs->ranges[i];

		if (best != SCOPE_NONE && r->lo < best_lo)
			break;
		if (pc < r->hi && (best == SCOPE_NONE || r->depth > best_depth)) {
			best = r->node;
			best_depth = r->depth;
			best_lo = r->lo;
		}
	}
	return best;
}

static void free_cu_scopes(struct symbolizer *sym)
{
	while (sym->cu_scopes) {
		struct cu_scopes *next = sym->cu_scopes->next;

		core_internal_free(sym->cu_scopes->nodes);
		core_internal_free(sym->cu_scopes->ranges);
		core_internal_free(sym->cu_scopes);
		sym->cu_scopes = next;
	}
}

static bool resolve_scopes(struct symbolizer *sym, Dwfl_Module *mod,
			   Dwarf_Addr pc, struct site_name *where)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die *cudie = dw.dwfl_module_addrdie(mod, pc, &bias);
	const char *name = NULL;
	struct cu_scopes *cs;
	uint32_t node;

	if (!cudie || !(cs = cu_scopes_of(sym, mod, cudie)))
		return false;
	/* From the innermost concrete scope outward: an inlined function
	 * sits in the functions it was inlined into. */
	for (node = innermost_scope(cs, pc - bias); node != SCOPE_NONE;
	     node = cs->nodes[node].parent) {
		Dwarf_Die *scope = &cs->nodes[node].die;
		int tag = dw.dwarf_tag(scope);
		const char *file;
		unsigned int line;
		bool wrapper, mangled;

		name = die_linkage_name(scope);
		/* GCC gives a lambda's operator() no linkage name; out of
		 * line, its ELF symbol has it. */
		if (!name && tag == DW_TAG_subprogram) {
			const char *sym_name = symbol_name(sym, mod, pc);

			if (sym_name && !strncmp(sym_name, "_Z", 2))
				name = sym_name;
		}
		mangled = name != NULL;
		if (!name)
			name = dw.dwarf_diename(scope);
		if (!name)
			break;
		name = display_name(sym, name, &wrapper);
		if (!wrapper && !mangled && tag == DW_TAG_inlined_subroutine)
			wrapper = declared_in_cxx_library(scope);
		if (!wrapper || tag != DW_TAG_inlined_subroutine ||
		    !inline_call_site(cudie, scope, &file, &line))
			break;
		/* An inlined wrapper: its caller's line, its caller's name. */
		where->file = file;
		where->line = line;
		name = NULL;
	}
	if (!name)
		return false;
	where->function = name;
	return true;
}

/*
 * Text kept for the sites of unloaded libraries, keyed by their retired
 * site (codetag_retired_site): written by symbolizer_remember_sites()
 * before dlclose, read when the report is written, both under the
 * report lock.  It lives as long as the process.
 */
struct remembered_site {
	struct remembered_site *next;
	uintptr_t key;
	unsigned int line;
	char *file, *function, *module;
};

static struct remembered_site *remembered_sites;

static bool resolve_remembered(struct site_name *where)
{
	for (struct remembered_site *r = remembered_sites; r; r = r->next) {
		if (r->key != where->site)
			continue;
		where->file = r->file ? r->file : "?";
		where->line = r->line;
		where->function = r->function ? r->function : "?";
		where->module = r->module;
		return true;
	}
	return false;
}

void symbolizer_remember_sites(const struct snapshot *snap, uintptr_t lo,
			       uintptr_t hi, uint32_t generation)
{
	struct symbolizer *sym = NULL;

	for (size_t i = 0; i < snap->count; i++) {
		struct site_name where = { .site = snap->entries[i].ct.site };
		struct remembered_site *r;

		if (where.site < lo || where.site >= hi)
			continue;
		if (!sym && !(sym = symbolizer_open()))
			return;
		symbolizer_resolve(sym, &where);
		r = core_internal_calloc(1, sizeof(*r));
		if (!r)
			break;
		r->key = codetag_retired_site(where.site, generation);
		r->line = where.line;
		r->file = core_internal_strdup(where.file);
		r->function = core_internal_strdup(where.function);
		r->module = core_internal_strdup(where.module);
		r->next = remembered_sites;
		remembered_sites = r;
	}
	symbolizer_close(sym);
}

/*
 * @where's answer from the cache on disk, by the loader's list of modules,
 * without libdw: true if the cache had one that holds (one without line
 * info only while the module surely has no DWARF; else libdwfl decides,
 * as cached_answer_holds).
 */
static bool resolve_from_cache(struct symbolizer *sym, struct site_name *where)
{
	uintptr_t pc = where->site - 1;
	struct loaded_module *lm = sym->last_loaded;
	struct cached_site cached;
	bool found;

	if (!lm || pc < lm->lo || pc >= lm->hi) {
		struct module_sites *m;

		lm = loaded_modules_find(sym->loaded, pc);
		if (!lm || !lm->build_id_len)
			return false;
		m = module_sites_by_id(sym, lm->build_id, lm->build_id_len);
		if (!m || !loaded_module_path(lm))
			return false;
		sym->last_loaded = lm;
		sym->last_sites = m;
		sym->last_module = strcmp(lm->path, sym->exe_path) != 0 ?
				   base_name(lm->path) : NULL;
	}
	/* Not in the answers read before the report: they are read again
	 * once (a sibling fork child may have written the site since),
	 * before libdw is asked, if the folder can be opened now (a
	 * sandboxed child's cannot: an empty entry would hide the old
	 * one's answers).  The old entry stays, for the answers already
	 * taken from it. */
	found = site_cache_find(sym->last_sites->sites, where->site - lm->bias, &cached);
	if (!found && sym->last_sites->read_earlier && cache_dir_of(sym)) {
		struct module_sites *m = module_sites_read(sym, lm->build_id, lm->build_id_len);

		if (m) {
			sym->last_sites = m;
			found = site_cache_find(m->sites, where->site - lm->bias, &cached);
		}
	}
	if (!found || (!cached.line && !cached.dwarf_searched && loaded_module_may_have_dwarf(lm)))
		return false;
	where->module = sym->last_module;
	where->file = cached.file;
	where->line = cached.line;
	where->function = cached.function;
	return true;
}

void symbolizer_resolve(struct symbolizer *sym, struct site_name *where)
{
	Dwarf_Addr pc = where->site - 1, bias = 0;
	const char *modpath = NULL, *name;
	Dwfl_Module *mod = NULL;
	struct module_sites *cached_module;
	struct site_cache *cache;
	struct cached_site cached;
	Dwfl_Line *line;
	int lineno = 0;

	where->file = "?";
	where->line = 0;
	where->function = "?";
	where->module = NULL;
	if (where->site == 0) {
		/* The overflow tag: sites past the table's capacity. */
		where->file = "allocinfo";
		where->function = "table_full";
		return;
	}
	if (where->site & CODETAG_RETIRED_BIT) {
		/* In a library unloaded since: the text kept at dlclose,
		 * or the bare address if there was none. */
		if (!resolve_remembered(where) && sym)
			where->file = keep_string(sym, "%s0x%llx", "",
					       (unsigned long long)codetag_site_address(where->site));
		return;
	}
	if (!sym || resolve_from_cache(sym, where))
		return;
	/* In no module of the loader's (a JIT's code): its address.  Not
	 * libdwfl's answer, whose modules, read from /proc/self/maps, take
	 * in the anonymous mapping after a library's last segment as the
	 * library's .bss: code placed there was named ld.so+0x36006 or
	 * libjemalloc.so.2+0x2ee006, and kept in that library's cache. */
	if (sym->loaded && !loaded_modules_find(sym->loaded, pc)) {
		name_by_address(sym, where);
		return;
	}
	open_dwfl(sym);
	if (loaded_for_report(pc)) {
		name_by_address(sym, where);
		return;
	}
	if (sym->dwfl)
		mod = dw.dwfl_addrmodule(sym->dwfl, pc);
	if (!mod) {
		resolve_with_dladdr(sym, where);
		return;
	}

	dw.dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &modpath, NULL);
	if (!modpath)
		modpath = dw.dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (modpath && strcmp(modpath, sym->exe_path) != 0)
		where->module = base_name(modpath);
	/* The ELF file (not its DWARF) gives the bias and the build-id. */
	dw.dwfl_module_getelf(mod, &bias);
	cached_module = module_sites_of(sym, mod);
	cache = cached_module ? cached_module->sites : NULL;
	if (site_cache_find(cache, where->site - bias, &cached) &&
	    cached_answer_holds(cached_module, &cached)) {
		where->file = cached.file;
		where->line = cached.line;
		where->function = cached.function;
		return;
	}

	line = dw.dwfl_module_getsrc(mod, pc);
	if (line) {
		const char *file = dw.dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);

		if (file && lineno > 0) {
			where->file = source_path(line, file);
			where->line = (unsigned int)lineno;
			if (!resolve_scopes(sym, mod, pc, where)) {
				/* No DWARF function: the ELF symbol. */
				name = symbol_name(sym, mod, pc);
				if (name)
					where->function = display_name(sym, name, NULL);
			}
			site_cache_add(cache, where->site - bias, &(struct cached_site){
				.line = where->line, .file = where->file,
				.function = where->function });
			return;
		}
	}
	/* No line info: the ELF symbol (.symtab, else .dynsym), and the
	 * module and the offset in its ELF file. */
	name = symbol_name(sym, mod, pc);
	if (name)
		where->function = display_name(sym, name, NULL);
	where->file = keep_string(sym, "%s+0x%llx",
			       modpath ? base_name(modpath) : "?",
			       (unsigned long long)(where->site - bias));
	/* Asked only of a module with a cache: libdwfl has looked for
	 * its DWARF already, for the line. */
	if (cache)
		site_cache_add(cache, where->site - bias, &(struct cached_site){
			.dwarf_searched = module_has_dwarf(cached_module),
			.file = where->file, .function = where->function });
}

/* FILE for a stack frame: a single ':' is all an extra may hold, so
 * '%', ':', '@', '>' and blanks or control characters are %XX. */
static size_t escape_frame_file(const char *file, char *out, size_t size)
{
	size_t n = 0;

	for (; *file; file++) {
		unsigned char c = (unsigned char)*file;
		bool escape = c <= 0x20 || c >= 0x7f || c == '%' || c == ':' ||
			      c == '@' || c == '>';

		if (n + 4 >= size)
			break;
		if (escape)
			n += (size_t)snprintf(out + n, size - n, "%%%02X", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return n;
}

static size_t frame_slot(const struct symbolizer *sym, uintptr_t site)
{
	return (size_t)(((uint64_t)site * 0x9e3779b97f4a7c15ull) >> 32) & sym->frames_mask;
}

/* Room for one more frame text, at most three quarters of the slots
 * used; false if out of memory. */
static bool reserve_frame(struct symbolizer *sym)
{
	struct frame_text *old = sym->frames;
	size_t old_slots = old ? sym->frames_mask + 1 : 0;
	size_t slots = old_slots ? 2 * old_slots : 1024;

	if (old && 4 * (sym->frames_used + 1) <= 3 * old_slots)
		return true;
	sym->frames = core_internal_calloc_touched(slots, sizeof(*sym->frames));
	if (!sym->frames) {
		sym->frames = old;
		return false;
	}
	sym->frames_mask = slots - 1;
	for (size_t i = 0; i < old_slots; i++) {
		size_t k;

		if (!old[i].site)
			continue;
		for (k = frame_slot(sym, old[i].site); sym->frames[k].site;)
			k = (k + 1) & sym->frames_mask;
		sym->frames[k] = old[i];
	}
	core_internal_free(old);
	return true;
}

/* @site as a chain prints it, FILE@LINE with FILE escaped, made once. */
static const char *frame_text(struct symbolizer *sym, uintptr_t site)
{
	struct site_name frame = { .site = site };
	struct frame_text *slot = NULL;
	/* The escaped file in its first 1,024 bytes, then "@LINE". */
	char text[1024 + 16];
	const char *kept;
	size_t n;

	if (site && reserve_frame(sym)) {
		size_t k = frame_slot(sym, site);

		while (sym->frames[k].site && sym->frames[k].site != site)
			k = (k + 1) & sym->frames_mask;
		slot = &sym->frames[k];
		if (slot->site)
			return slot->text;
	}
	symbolizer_resolve(sym, &frame);
	/* Not by snprintf("%s@%u"): half of this function's instructions
	 * (callgrind, cc1's 4,500 frames at ALLOCINFO_DEPTH=4). */
	n = escape_frame_file(frame.file, text, 1024);
	text[n++] = '@';
	n += allocinfo_put_unsigned(text + n, frame.line);
	text[n] = '\0';
	kept = keep_text(sym, text);
	if (slot) {
		slot->site = site;
		slot->text = kept;
		sym->frames_used++;
	}
	return kept;
}

const char *symbolizer_format_stack(struct symbolizer *sym,
				    const uintptr_t *stack, unsigned int depth)
{
	char *text = sym->stack_text;
	size_t len = sizeof(" stack:") - 1;

	memcpy(text, " stack:", len);
	for (unsigned int i = 0; i < depth; i++) {
		const char *frame = frame_text(sym, stack[i]);
		size_t n = strlen(frame);

		if (len + 1 + n >= sizeof(sym->stack_text))
			return NULL;
		if (i)
			text[len++] = '>';
		memcpy(text + len, frame, n);
		len += n;
	}
	text[len] = '\0';
	return text;
}

/* The answers found by this report to the cache on disk. */
static void store_answers(struct symbolizer *sym)
{
	/* A prepared symbolizer keeps no folder open (symbolizer_prepare):
	 * it is opened again only for answers to write. */
	for (struct module_sites *m = sym->module_sites; m; m = m->next)
		if (site_cache_gained(m->sites))
			site_cache_store(cache_dir_of(sym), m->sites);
	site_cache_dir_close(sym->cache_dir);
	sym->cache_dir = NULL;
}

void symbolizer_close_at_exit(struct symbolizer *sym)
{
	if (sym)
		store_answers(sym);
}

void symbolizer_close(struct symbolizer *sym)
{
	if (!sym)
		return;
	/* First: the fresh answers point into our strings and libdwfl's. */
	store_answers(sym);
	while (sym->module_sites) {
		struct module_sites *next = sym->module_sites->next;

		site_cache_free(sym->module_sites->sites);
		core_internal_free(sym->module_sites);
		sym->module_sites = next;
	}
	while (sym->strings) {
		struct string_block *next = sym->strings->next;

		core_internal_free(sym->strings);
		sym->strings = next;
	}
	free_cu_scopes(sym);
	core_internal_free(sym->frames);
	while (sym->symbol_tables) {
		struct symbol_table *next = sym->symbol_tables->next;

		core_internal_free(sym->symbol_tables->entries);
		core_internal_free(sym->symbol_tables);
		sym->symbol_tables = next;
	}
	if (sym->dwfl)
		dw.dwfl_end(sym->dwfl);
	loaded_modules_free(sym->loaded);
	core_internal_free(sym);
}

/*
 * The modules mapped now, as the dynamic loader lists them
 * (dl_iterate_phdr), without libdw: what the symbolizer needs to answer
 * a site from its cache on disk (site_cache.h) before it loads libdw.
 *
 * Why: loading libdw, libelf and their compression libraries and
 * reading /proc/self/maps cost a process about a millisecond at exit,
 * more than the rest of its report, paid by every process of a build
 * even when every answer it needs is in the cache.
 *
 * Each module's name is the base name of its file as /proc/self/maps
 * shows it (its real path, symlinks resolved), which is how libdwfl
 * names it, so a report reads the same whichever way a site was
 * answered.  Where that cannot be told for sure (a path that does not
 * resolve; the main program when the dynamic loader was run as the
 * command), the module is listed as unusable and its sites go to libdw.
 */
#ifndef ALLOCINFO_REPORT_LOADED_MODULES_H
#define ALLOCINFO_REPORT_LOADED_MODULES_H

#include <link.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOADED_MODULE_BUILD_ID_MAX 64

struct loaded_module {
	uintptr_t lo, hi;          /* extent of its PT_LOAD segments */
	uintptr_t bias;            /* load bias: the address of ELF address 0 */
	char *name;                /* as the loader has it; NULL: unusable */
	char *path;                /* its real path, made on first use */
	bool path_tried;
	unsigned char build_id[LOADED_MODULE_BUILD_ID_MAX];
	size_t build_id_len;       /* 0: none */
	int may_have_dwarf;        /* 0: not asked yet, 1 yes, -1 no */
};

struct loaded_modules {
	size_t count;
	struct loaded_module *modules;   /* by lo */
};

/* The program's file, /proc/self/exe's target ("" if unknown): read
 * once a process (each readlink there makes the kernel build /proc's
 * entries of the process anew; the report's name and the symbolizer
 * both ask).  Report time, under the report's lock. */
const char *loaded_modules_exe_path(void);

/* The modules mapped now; NULL if out of memory.  Report time, in the
 * profiler's internal scope. */
struct loaded_modules *loaded_modules_list(void);
void loaded_modules_free(struct loaded_modules *list);

/* The module whose extent holds @pc, or NULL. */
struct loaded_module *loaded_modules_find(struct loaded_modules *list, uintptr_t pc);

/* @m's real path, resolved on first use (a readlink per component of a
 * path, so only for modules that hold a site); NULL: unusable (see
 * above). */
const char *loaded_module_path(struct loaded_module *m);

/*
 * Whether libdwfl could find DWARF for @m: debug sections in its own
 * file, or a separate debug file where report/symbolize.c's
 * find_debuginfo looks (by build-id under /usr/lib/debug/.build-id, by
 * .gnu_debuglink beside the file, in its .debug folder, under
 * /usr/lib/debug).  True when the file cannot be read.  Asked once per
 * module.
 */
bool loaded_module_may_have_dwarf(struct loaded_module *m);

/*
 * The places to look for @file's separate debug info by its
 * .gnu_debuglink name @link, in order: beside the file, in its .debug
 * folder, under /usr/lib/debug and the file's folder.  Candidate @which
 * into @out: 1 written, 0 to pass over (it is @file itself, or does not
 * fit), -1 past the last.  One list for report/symbolize.c, which opens
 * them for libdwfl, and for loaded_module_may_have_dwarf, which asks
 * whether any exists.
 */
int debuglink_candidate(unsigned int which, const char *file, const char *link,
			char *out, size_t size);

/* The GNU build-id in @info's notes, as the loader mapped them, into
 * @out; its length, 0 for none (or longer than @max). */
size_t loaded_module_build_id(const struct dl_phdr_info *info,
			      unsigned char *out, size_t max);

#endif

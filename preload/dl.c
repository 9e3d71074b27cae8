/*
 * dlopen and dlclose.
 *
 * dlclose: a library's call sites must keep their names in the report
 * after it is unloaded, and its addresses may be reused by the next
 * library.  Before the real dlclose, the text of every site inside the
 * library is kept; if the library is really gone afterwards (dlclose
 * only drops a reference), its tags are retired so that new code at the
 * same addresses gets tags of its own.
 *
 * dlopen with RTLD_DEEPBIND: the library would bind malloc and free to
 * glibc's own, and hand glibc's free the blocks our malloc made (glibc
 * aborts on them).  The flag is dropped, once said on stderr, so the
 * library shares the program's allocator.  dlopen itself is a few
 * instructions of assembly (dlopen_x86_64.S) that jump to glibc's: glibc
 * finds the library relative to its caller (RUNPATH, $ORIGIN, the
 * caller's namespace), so the caller's return address must be the one
 * glibc sees.
 */
#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/callsite.h"
#include "core/codetag.h"
#include "core/internal_scope.h"
#include "preload/export.h"
#include "preload/lifecycle.h"

/* ---- dlopen (see dlopen_x86_64.S) */

void *(*dl_real_dlopen)(const char *, int);

/* Called by the trampoline when dl_real_dlopen is still unset (a
 * dlopen from a constructor that ran before ours): returns glibc's. */
void *dl_resolve_real_dlopen(void)
{
	void *real;

	core_internal_enter();
	real = dlsym(RTLD_NEXT, "dlopen");
	core_internal_leave();
	__atomic_store_n((void **)&dl_real_dlopen, real, __ATOMIC_RELEASE);
	return real;
}

/* Called by the trampoline before every dlopen: the loader's
 * allocations in a dlopen of the program's are seen through
 * (core/callsite.c), but not for the profiler's own (jemalloc's entry
 * points, libdw at report time), which need no unwinder. */
void dl_before_dlopen(void)
{
	if (!core_in_internal_scope())
		callsite_load_unwinder();
}

/* Called by the trampoline, with RTLD_DEEPBIND in dlopen's @flags
 * (its registers are dlopen's arguments).  Not said for a probe with
 * RTLD_NOLOAD, which loads nothing and binds nothing. */
void dl_deepbind_dropped(const char *file, int flags)
{
	static atomic_bool said;

	if (!(flags & RTLD_NOLOAD) && !atomic_exchange(&said, true))
		fprintf(stderr, "allocinfo: dlopen(\"%s\", RTLD_DEEPBIND): loaded "
			"without RTLD_DEEPBIND, so that the library's malloc "
			"and free are the program's\n", file ? file : "(null)");
}

/* ---- dlclose */

struct module_range {
	uintptr_t base;
	const char *name;
	uintptr_t lo, hi;
	bool found;
};

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module_range *m = arg;

	(void)size;
	if (info->dlpi_addr != m->base || strcmp(info->dlpi_name, m->name) != 0)
		return 0;
	m->found = true;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		if (!m->lo || lo < m->lo)
			m->lo = lo;
		if (lo + ph->p_memsz > m->hi)
			m->hi = lo + ph->p_memsz;
	}
	return 1;
}

EXPORT int dlclose(void *handle)
{
	static int (*real_dlclose)(void *);
	static _Atomic uint32_t generation;
	struct module_range module = { 0 };
	struct link_map *map = NULL;
	uint32_t gen = 0;
	int ret;

	if (!real_dlclose) {
		core_internal_enter();
		*(void **)&real_dlclose = dlsym(RTLD_NEXT, "dlclose");
		core_internal_leave();
		if (!real_dlclose)
			return -1;
	}
	/* The profiler's own (a handle it looked jemalloc up with): no
	 * program site is in what it closes. */
	if (core_in_internal_scope())
		return real_dlclose(handle);
	if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map &&
	    map->l_name && map->l_name[0]) {
		module.base = map->l_addr;
		module.name = map->l_name;
		dl_iterate_phdr(find_module, &module);
	}
	if (module.found) {
		gen = atomic_fetch_add(&generation, 1) + 1;
		lifecycle_remember_sites(module.lo, module.hi, gen);
	}
	ret = real_dlclose(handle);
	if (ret == 0 && module.found) {
		struct module_range after = module;

		after.found = false;
		after.lo = after.hi = 0;
		dl_iterate_phdr(find_module, &after);
		if (!after.found)
			codetag_retire_sites(module.lo, module.hi, gen);
	}
	return ret;
}

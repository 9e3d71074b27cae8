/*
 * Libraries loaded only for the profiler.
 *
 * Debian's libjemalloc needs libstdc++, so every profiled process loads
 * it, and libstdc++'s initialiser allocates (its emergency exception
 * pool) before our constructor runs.  In a program that does not use
 * libstdc++ itself that memory is the profiler's, and must not appear as
 * the program's biggest call site.  At start-up, we look at who needs
 * libstdc++: if nothing but libjemalloc and this library does, the
 * sites inside libstdc++ are handed to the profiler's account.
 */
#include "preload/profiler_libs.h"

#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <string.h>

#include "core/codetag.h"

#define CXX_RUNTIME "libstdc++.so.6"

struct scan {
	uintptr_t self_base;           /* liballocinfo.so's load address */
	bool needed_by_program;
	uintptr_t runtime_lo, runtime_hi;
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool is_profiler_object(const struct dl_phdr_info *info,
			       const struct scan *scan)
{
	const char *name = base_name(info->dlpi_name);

	return info->dlpi_addr == scan->self_base ||
	       !strncmp(name, "libjemalloc.so", 14) ||
	       !strcmp(name, CXX_RUNTIME);
}

static bool needs_cxx_runtime(const struct dl_phdr_info *info)
{
	const ElfW(Dyn) *dyn = NULL;
	const char *strtab = NULL;

	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr +
						   info->dlpi_phdr[i].p_vaddr);
	if (!dyn)
		return false;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_STRTAB) {
			/* The loader relocates this entry in place for
			 * ordinary objects, not for the vDSO. */
			uintptr_t p = d->d_un.d_ptr;

			strtab = (const char *)(p < info->dlpi_addr ?
						p + info->dlpi_addr : p);
		}
	}
	if (!strtab)
		return false;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_NEEDED &&
		    !strcmp(strtab + d->d_un.d_val, CXX_RUNTIME))
			return true;
	return false;
}

static int scan_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct scan *scan = arg;

	(void)size;
	if (!strcmp(base_name(info->dlpi_name), CXX_RUNTIME)) {
		for (int i = 0; i < info->dlpi_phnum; i++) {
			const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
			uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

			if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
				continue;
			if (!scan->runtime_lo || lo < scan->runtime_lo)
				scan->runtime_lo = lo;
			if (lo + ph->p_memsz > scan->runtime_hi)
				scan->runtime_hi = lo + ph->p_memsz;
		}
	}
	if (!is_profiler_object(info, scan) && needs_cxx_runtime(info))
		scan->needed_by_program = true;
	return 0;
}

void profiler_libs_claim_sites(void)
{
	struct scan scan = { 0 };
	Dl_info self;

	if (!dladdr((void *)profiler_libs_claim_sites, &self))
		return;
	scan.self_base = (uintptr_t)self.dli_fbase;
	dl_iterate_phdr(scan_object, &scan);
	if (!scan.needed_by_program && scan.runtime_hi)
		codetag_claim_sites(scan.runtime_lo, scan.runtime_hi);
}

/*
 * jemalloc's own API, interposed: a program linked with libjemalloc
 * (dig and the rest of BIND 9 call mallocx and sdallocx) gets the
 * library's jemalloc for both APIs, one heap as before, and its mallocx
 * blocks are counted at their call sites (core/malloc_api.c).
 */
#include <stddef.h>

#include "core/alloc.h"
#include "core/malloc_api.h"
#include "preload/export.h"

EXPORT void *mallocx(size_t size, int flags)
{
	return malloc_api_mallocx(size, flags, CALLER);
}

EXPORT void *rallocx(void *ptr, size_t size, int flags)
{
	return malloc_api_rallocx(ptr, size, flags, CALLER);
}

EXPORT size_t xallocx(void *ptr, size_t size, size_t extra, int flags)
{
	return malloc_api_xallocx(ptr, size, extra, flags);
}

EXPORT size_t sallocx(const void *ptr, int flags)
{
	(void)flags;
	return core_usable_size((void *)ptr);
}

EXPORT void dallocx(void *ptr, int flags)
{
	core_free_jemalloc(ptr, flags);
}

EXPORT void sdallocx(void *ptr, size_t size, int flags)
{
	(void)size;
	core_free_jemalloc(ptr, flags);
}

EXPORT size_t nallocx(size_t size, int flags)
{
	return malloc_api_nallocx(size, flags);
}

EXPORT int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
		   size_t newlen)
{
	return malloc_api_mallctl(name, oldp, oldlenp, newp, newlen);
}

EXPORT int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp)
{
	return malloc_api_mallctlnametomib(name, mibp, miblenp);
}

EXPORT int mallctlbymib(const size_t *mib, size_t miblen, void *oldp,
			size_t *oldlenp, void *newp, size_t newlen)
{
	return malloc_api_mallctlbymib(mib, miblen, oldp, oldlenp, newp, newlen);
}

EXPORT void malloc_stats_print(void (*write_cb)(void *, const char *),
			       void *cbopaque, const char *opts)
{
	malloc_api_malloc_stats_print(write_cb, cbopaque, opts);
}

/*
 * The C allocation entry points of glibc, interposed.
 *
 * Pure forwarding: each symbol takes its caller's return address and
 * calls the core (glibc's exact semantics live in core/malloc_api.c).
 * Nothing here may be inlined into another exported function, or the
 * return address would name the wrong caller.
 */
#include <stddef.h>

#include "core/alloc.h"
#include "core/alloc_inline.h"
#include "core/malloc_api.h"
#include "preload/export.h"

EXPORT void *malloc(size_t size)
{
	return core_malloc(size, CALLER);
}

EXPORT void *calloc(size_t n, size_t size)
{
	return malloc_api_calloc(n, size, CALLER);
}

EXPORT void *realloc(void *ptr, size_t size)
{
	return core_realloc(ptr, size, ALLOC_DEFAULT, CALLER);
}

EXPORT void *reallocarray(void *ptr, size_t n, size_t size)
{
	return malloc_api_reallocarray(ptr, n, size, CALLER);
}

EXPORT void free(void *ptr)
{
	core_free_inline(ptr);
}

EXPORT void cfree(void *ptr)
{
	core_free(ptr);
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	return malloc_api_posix_memalign(out, align, size, CALLER);
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	return malloc_api_memalign(align, size, CALLER);
}

EXPORT void *memalign(size_t align, size_t size)
{
	return malloc_api_memalign(align, size, CALLER);
}

EXPORT void *valloc(size_t size)
{
	return malloc_api_valloc(size, CALLER);
}

EXPORT void *pvalloc(size_t size)
{
	return malloc_api_pvalloc(size, CALLER);
}

EXPORT size_t malloc_usable_size(void *ptr)
{
	return core_usable_size(ptr);
}

/*
 * jemalloc's options, as the library sets them: Debian's libjemalloc
 * reads this weak symbol of its own through the GOT, so ours takes its
 * place; MALLOC_CONF in the environment still overrides it.
 *
 * dirty_decay_ms: a request whose size class lacks room for the tag's
 * trailer takes the next class (core/alloc_inline.h), so a program uses
 * more classes than under plain jemalloc, and jemalloc keeps freed
 * pages of each class for ten seconds by default.  Returning them after
 * 200 ms keeps python3's object churn (PYTHONMALLOC=malloc) near the
 * peak RSS of plain jemalloc (bench/run's peak RSS table), at no
 * measurable cost in time there.
 */
EXPORT const char *malloc_conf = "dirty_decay_ms:200";

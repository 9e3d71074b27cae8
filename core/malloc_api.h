/*
 * glibc's malloc API, as observable behaviour, on top of the core.
 *
 * preload/ forwards each exported libc symbol to one of these, so the
 * quirks of glibc 2.36 (what memalign does with a non-power-of-two
 * alignment, what posix_memalign returns, which calls set errno) live in
 * one place next to the allocator, and preload/ stays pure forwarding.
 * (calloc's, ENOMEM when n * size overflows, is with its fast path in
 * alloc_inline.h.)
 */
#ifndef ALLOCINFO_CORE_MALLOC_API_H
#define ALLOCINFO_CORE_MALLOC_API_H

#include <stddef.h>
#include <stdint.h>

void *malloc_api_reallocarray(void *ptr, size_t n, size_t size, uintptr_t site);
void *malloc_api_memalign(size_t align, size_t size, uintptr_t site);
int malloc_api_posix_memalign(void **out, size_t align, size_t size,
			      uintptr_t site);
void *malloc_api_valloc(size_t size, uintptr_t site);
void *malloc_api_pvalloc(size_t size, uintptr_t site);

/*
 * C++ operator new: loops on the new_handler while allocation fails;
 * with no handler, throws std::bad_alloc, or returns NULL when @nothrow.
 * With @nothrow, a handler that throws also makes it return NULL.
 */
void *malloc_api_operator_new(size_t size, size_t align, int nothrow,
			      uintptr_t site);

/*
 * jemalloc's own API (mallocx and the rest), for a program linked with
 * libjemalloc: the library's exports take the place of libjemalloc's,
 * so that one heap serves both APIs, as one jemalloc did, and
 * mallocx's blocks are counted like malloc's.  Flags as jemalloc's
 * (MALLOCX_ALIGN, MALLOCX_ZERO; a thread cache named in them is not
 * used); a request that names an arena is served by jemalloc from that
 * arena, and not counted.  xallocx never resizes: it returns the size
 * the block has, which jemalloc's contract allows.
 */
void *malloc_api_mallocx(size_t size, int flags, uintptr_t site);
void *malloc_api_rallocx(void *ptr, size_t size, int flags, uintptr_t site);
size_t malloc_api_xallocx(void *ptr, size_t size, size_t extra, int flags);
size_t malloc_api_nallocx(size_t size, int flags);
int malloc_api_mallctl(const char *name, void *oldp, size_t *oldlenp,
		       void *newp, size_t newlen);
int malloc_api_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int malloc_api_mallctlbymib(const size_t *mib, size_t miblen, void *oldp,
			    size_t *oldlenp, void *newp, size_t newlen);
void malloc_api_malloc_stats_print(void (*write_cb)(void *, const char *),
				   void *cbopaque, const char *opts);

#endif

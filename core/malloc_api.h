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

#endif

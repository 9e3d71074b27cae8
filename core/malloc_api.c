/*
 * glibc 2.36 malloc semantics over core_alloc (see malloc_api.h).
 */
#include "core/malloc_api.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/internal_scope.h"
#include "core/new_handler.h"

void *malloc_api_reallocarray(void *ptr, size_t n, size_t size, uintptr_t site)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return core_realloc(ptr, total, ALLOC_DEFAULT, site);
}

/*
 * glibc's _mid_memalign: small alignments are plain malloc; an alignment
 * that is not a power of two is rounded up to one; one past SIZE_MAX/2+1
 * is EINVAL.  aligned_alloc is the same function in glibc 2.36.
 */
void *malloc_api_memalign(size_t align, size_t size, uintptr_t site)
{
	size_t pow2;

	if (align <= 16)
		return core_alloc(size, 0, ALLOC_DEFAULT, site);
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	for (pow2 = 32; pow2 < align; pow2 <<= 1)
		;
	return core_alloc(size, pow2, ALLOC_DEFAULT, site);
}

int malloc_api_posix_memalign(void **out, size_t align, size_t size,
			      uintptr_t site)
{
	void *p;

	if (align == 0 || align % sizeof(void *) != 0 ||
	    ((align / sizeof(void *)) & (align / sizeof(void *) - 1)))
		return EINVAL;
	p = malloc_api_memalign(align, size, site);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *malloc_api_valloc(size_t size, uintptr_t site)
{
	return malloc_api_memalign((size_t)sysconf(_SC_PAGESIZE), size, site);
}

void *malloc_api_pvalloc(size_t size, uintptr_t site)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), rounded;

	if (__builtin_add_overflow(size, page - 1, &rounded)) {
		errno = ENOMEM;
		return NULL;
	}
	rounded &= ~(page - 1);
	return malloc_api_memalign(page, rounded, site);
}

/*
 * libstdc++ is found at run time: a C program never loads it, and a C++
 * program that calls operator new always has.  The lookups run only when
 * an allocation has failed.
 */
typedef void (*new_handler_fn)(void);

static new_handler_fn current_new_handler(void)
{
	static new_handler_fn (*get_new_handler)(void);

	if (!get_new_handler) {
		core_internal_enter();
		*(void **)&get_new_handler = dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv");
		core_internal_leave();
	}
	return get_new_handler ? get_new_handler() : NULL;
}

static __attribute__((noreturn)) void throw_bad_alloc(void)
{
	void (*throw_fn)(void);

	core_internal_enter();
	*(void **)&throw_fn = dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv");
	core_internal_leave();
	if (throw_fn)
		throw_fn();
	abort();
}

void *malloc_api_operator_new(size_t size, size_t align, int nothrow,
			      uintptr_t site)
{
	for (;;) {
		void *p = core_alloc(size, align, ALLOC_DEFAULT, site);
		new_handler_fn handler;

		if (p)
			return p;
		handler = current_new_handler();
		if (!handler) {
			if (nothrow)
				return NULL;
			throw_bad_alloc();
		}
		if (!nothrow)
			handler();	/* its exception is the caller's */
		else if (!new_handler_call_nothrow(handler))
			return NULL;
	}
}

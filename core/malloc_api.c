/*
 * glibc 2.36 malloc semantics over core_alloc (see malloc_api.h).
 */
#include "core/malloc_api.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/internal_scope.h"
#include "core/jemalloc.h"
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
 * program that calls operator new always has, in the global scope or,
 * behind a dlopen of C++ code, in a scope of its own.  libstdc++ itself
 * is asked first (by name, RTLD_NOLOAD): a lookup in the global scope
 * would give operator new the library's own.  The lookups run only when
 * an allocation has failed.
 */
static void *libstdcxx_symbol(const char *name)
{
	void *sym = NULL, *lib;

	core_internal_enter();
	lib = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD);
	if (lib) {
		sym = dlsym(lib, name);
		dlclose(lib);
	}
	core_internal_leave();
	return sym;
}

typedef void (*new_handler_fn)(void);

static new_handler_fn current_new_handler(void)
{
	static new_handler_fn (*get_new_handler)(void);

	if (!get_new_handler)
		*(void **)&get_new_handler = libstdcxx_symbol("_ZSt15get_new_handlerv");
	return get_new_handler ? get_new_handler() : NULL;
}

static __attribute__((noreturn)) void throw_bad_alloc(void)
{
	void (*throw_fn)(void);

	*(void **)&throw_fn = libstdcxx_symbol("_ZSt17__throw_bad_allocv");
	if (throw_fn)
		throw_fn();
	abort();
}

/*
 * Nothrow new where new_handler.cc cannot catch (libstdc++ was loaded
 * after the library): libstdc++'s own nothrow new, which calls the
 * throwing operator new (the library's) in its try block.  Its retries
 * are charged to the site in libstdc++ that makes them.
 */
static void *nothrow_new_by_libstdcxx(size_t size, size_t align)
{
	static const char nothrow_tag;	/* std::nothrow_t is empty */
	void *(*plain)(size_t, const void *);
	void *(*aligned)(size_t, size_t, const void *);

	if (!align) {
		*(void **)&plain = libstdcxx_symbol("_ZnwmRKSt9nothrow_t");
		return plain ? plain(size, &nothrow_tag) : NULL;
	}
	*(void **)&aligned = libstdcxx_symbol("_ZnwmSt11align_val_tRKSt9nothrow_t");
	return aligned ? aligned(size, align, &nothrow_tag) : NULL;
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
		else if (!new_handler_can_catch())
			return nothrow_new_by_libstdcxx(size, align);
		else if (!new_handler_call_nothrow(handler))
			return NULL;
	}
}

/* The bits of jemalloc's flags that name an arena (MALLOCX_ARENA), and
 * those that give the alignment's logarithm (MALLOCX_LG_ALIGN). */
#define MALLOCX_ARENA_BITS (~0u << 20)
#define MALLOCX_LG_ALIGN_BITS 0x3fu

static size_t mallocx_alignment(int flags)
{
	unsigned int lg = (unsigned int)flags & MALLOCX_LG_ALIGN_BITS;

	return lg ? (size_t)1 << lg : 0;
}

void *malloc_api_mallocx(size_t size, int flags, uintptr_t site)
{
	if ((unsigned int)flags & MALLOCX_ARENA_BITS)
		return core_jemalloc_unusable() ? NULL : mallocx(size, flags);
	return core_alloc(size, mallocx_alignment(flags),
			  flags & MALLOCX_ZERO ? ALLOC_ZERO : ALLOC_DEFAULT, site);
}

void *malloc_api_rallocx(void *ptr, size_t size, int flags, uintptr_t site)
{
	size_t old_size;
	void *p;

	if (!((unsigned int)flags & (MALLOCX_ARENA_BITS | MALLOCX_LG_ALIGN_BITS | MALLOCX_ZERO)))
		return core_realloc(ptr, size, ALLOC_DEFAULT, site);
	/* A move, as jemalloc makes one: with MALLOCX_ZERO, the bytes past
	 * the old block's usable size are zero. */
	p = malloc_api_mallocx(size, flags, site);
	if (!p)
		return NULL;
	old_size = core_usable_size(ptr);
	memcpy(p, ptr, old_size < size ? old_size : size);
	/* The arena and thread cache the flags name, if any. */
	core_free_jemalloc(ptr, (int)((unsigned int)flags &
				      ~(MALLOCX_LG_ALIGN_BITS | MALLOCX_ZERO)));
	return p;
}

size_t malloc_api_xallocx(void *ptr, size_t size, size_t extra, int flags)
{
	(void)size;
	(void)extra;
	(void)flags;
	return core_usable_size(ptr);
}

/* jemalloc's introspection, where jemalloc runs: with no room to start
 * (core_jemalloc_unusable) it is never called, and these fail as
 * jemalloc's own do (0, EAGAIN, nothing printed). */
size_t malloc_api_nallocx(size_t size, int flags)
{
	return core_jemalloc_unusable() ? 0 : nallocx(size, flags);
}

int malloc_api_mallctl(const char *name, void *oldp, size_t *oldlenp,
		       void *newp, size_t newlen)
{
	return core_jemalloc_unusable() ? EAGAIN : mallctl(name, oldp, oldlenp, newp, newlen);
}

int malloc_api_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp)
{
	return core_jemalloc_unusable() ? EAGAIN : mallctlnametomib(name, mibp, miblenp);
}

int malloc_api_mallctlbymib(const size_t *mib, size_t miblen, void *oldp,
			    size_t *oldlenp, void *newp, size_t newlen)
{
	return core_jemalloc_unusable() ? EAGAIN :
	       mallctlbymib(mib, miblen, oldp, oldlenp, newp, newlen);
}

void malloc_api_malloc_stats_print(void (*write_cb)(void *, const char *),
				   void *cbopaque, const char *opts)
{
	if (!core_jemalloc_unusable())
		malloc_stats_print(write_cb, cbopaque, opts);
}

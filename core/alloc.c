/*
 * Allocation: jemalloc underneath, a 16-byte header below every block.
 * The header's layout, and the inline fast path of malloc and free that
 * preload/ compiles in, are in alloc_inline.h; this file has the general
 * functions (alignment, zeroing, realloc, the early window, the
 * profiler's own memory, blocks of other allocators).
 *
 * An over-aligned block is allocated @align-aligned and @align bytes
 * larger, so the header fits in the first @align bytes; the header keeps
 * the offset as a shift, so every power-of-two alignment glibc accepts
 * fits.  The header's size is what was added to the tag, so a free
 * subtracts exactly that, whatever the options are by then.
 *
 * No path takes a lock or makes a system call: a table lookup, a few
 * plain stores to this thread's counters, and jemalloc's thread cache.
 */
#include "core/alloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc_inline.h"
#include "core/alloc_tag.h"
#include "core/codetag.h"
#include "core/internal_scope.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

__thread struct core_thread core_thread;

struct core_jemalloc core_je;
bool core_count_usable_size;
static atomic_bool core_ready;

/*
 * A caller passed flags this function does not support.  Like the
 * kernel's WARN_ON_ONCE in __alloc_frozen_pages_noprof: say it once and
 * fail the call.  write(2) only: this may run inside malloc.
 */
static __attribute__((noinline, cold)) void
reject_flags(const char *func, unsigned int flags)
{
	static atomic_bool warned;
	char msg[128];
	int n;

	if (!atomic_exchange(&warned, true)) {
		n = snprintf(msg, sizeof(msg),
			     "allocinfo: %s: unsupported alloc flags 0x%x\n",
			     func, flags);
		if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
			(void)0;
	}
	errno = EINVAL;
}

/*
 * Blocks from glibc's malloc go back to glibc, untracked: a library
 * loaded with RTLD_DEEPBIND binds malloc to glibc's while its callers
 * may free with ours.
 */
extern void __libc_free(void *ptr);
extern void *__libc_realloc(void *ptr, size_t size);

static __attribute__((noinline, cold)) void foreign_free(void *ptr)
{
	__libc_free(ptr);
}

static __attribute__((noinline, cold)) void *foreign_realloc(void *ptr,
							      size_t size)
{
	return __libc_realloc(ptr, size);
}

static __attribute__((noinline, cold)) size_t foreign_usable_size(void *ptr)
{
	static size_t (*glibc_usable_size)(void *);

	if (!glibc_usable_size) {
		void *libc;

		core_internal_enter();
		libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
		if (libc) {
			*(void **)&glibc_usable_size = dlsym(libc, "malloc_usable_size");
			dlclose(libc);
		}
		core_internal_leave();
	}
	return glibc_usable_size ? glibc_usable_size(ptr) : 0;
}

/*
 * jemalloc's own malloc, calloc and free: their fast paths are ~4 ns
 * per pair quicker than mallocx/dallocx, which take the general path.
 * Our exported malloc shadows jemalloc's, so they are looked up in
 * libjemalloc's own scope once, by core_init; until then (the early
 * window) blocks come from mallocx, which the same jemalloc frees.
 */

static void resolve_jemalloc_entry_points(void)
{
	void *lib = dlopen("libjemalloc.so.2", RTLD_LAZY | RTLD_NOLOAD);
	void *m, *c, *f;

	if (!lib)
		return;
	m = dlsym(lib, "malloc");
	c = dlsym(lib, "calloc");
	f = dlsym(lib, "free");
	/* Never our own exports: that would recurse. */
	if (m && c && f && m != (void *)core_alloc && !core_count_usable_size) {
		*(void **)&core_je.calloc = c;
		*(void **)&core_je.free = f;
		__atomic_store_n((void **)&core_je.malloc, m, __ATOMIC_RELEASE);
	}
	dlclose(lib);
}

void core_init(const struct core_options *options)
{
	core_count_usable_size = options->count_usable_size;
	core_internal_enter();
	resolve_jemalloc_entry_points();
	alloc_tag_init_threads();
	core_internal_leave();
	codetag_mark_existing_inaccurate();
	atomic_store_explicit(&core_ready, true, memory_order_release);
}

bool core_is_ready(void)
{
	return atomic_load_explicit(&core_ready, memory_order_acquire);
}

static inline uint32_t tag_for(unsigned int alloc_flags, uintptr_t site)
{
	if (unlikely(alloc_flags & ALLOC_NO_CODETAG) || unlikely(core_in_internal_scope()))
		return CODETAG_INTERNAL;
	return codetag_index_for_site(site);
}

/* Records a fresh block under @tag; returns the user pointer. */
static inline void *account_block(void *base, size_t offset, size_t size,
				  uint32_t tag)
{
	void *user = (char *)base + offset;
	struct alloc_header *h = header_of(user);
	uint64_t counted = size;

	if (unlikely(core_count_usable_size))
		counted = sallocx(base, 0) - offset;
	h->tag = tag;
	h->shift_and_magic = (uint32_t)__builtin_ctzl(offset) |
			     header_magic(user) << 8;
	h->size = counted;
	alloc_tag_add(tag, (int64_t)counted);
	return user;
}

static inline void *alloc_block(size_t size, size_t align,
				 unsigned int alloc_flags, uintptr_t site)
{
	size_t offset = ALLOC_HEADER_SIZE, total;
	int mallocx_flags = 0;
	void *base;

	if (unlikely(alloc_flags & ~ALLOC_FLAGS_ALLOC_SUPPORTED)) {
		reject_flags(__func__, alloc_flags);
		return NULL;
	}
	if (unlikely(align > ALLOC_MIN_ALIGN)) {
		if (align & (align - 1)) {
			errno = EINVAL;
			return NULL;
		}
		offset = align;
		mallocx_flags = MALLOCX_LG_ALIGN(__builtin_ctzl(align));
	} else if (unlikely(align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	/* glibc refuses anything past PTRDIFF_MAX. */
	if (unlikely(__builtin_add_overflow(size, offset, &total) ||
		     total > PTRDIFF_MAX)) {
		errno = ENOMEM;
		return NULL;
	}
	if (alloc_flags & ALLOC_ZERO)
		mallocx_flags |= MALLOCX_ZERO;

	if (likely(mallocx_flags == 0 && core_je.malloc))
		base = core_je.malloc(total);
	else if (mallocx_flags == MALLOCX_ZERO && core_je.malloc)
		base = core_je.calloc(1, total);
	else
		base = mallocx(total, mallocx_flags);
	if (unlikely(!base)) {
		errno = ENOMEM;
		return NULL;
	}
	return account_block(base, offset, size, tag_for(alloc_flags, site));
}

static inline void free_block(void *ptr)
{
	struct alloc_header *h;

	if (!ptr)
		return;
	if (unlikely(!block_is_ours(ptr))) {
		foreign_free(ptr);
		return;
	}
	h = header_of(ptr);
	alloc_tag_sub(h->tag, (int64_t)h->size);
	if (likely(core_je.free != NULL))
		core_je.free(base_of(ptr));
	else
		dallocx(base_of(ptr), 0);
}

static void *realloc_block(void *ptr, size_t size, unsigned int alloc_flags,
			   uintptr_t site)
{
	struct alloc_header *h, old;
	size_t total;
	void *base, *fresh;

	if (unlikely(alloc_flags & ~ALLOC_FLAGS_REALLOC_SUPPORTED)) {
		reject_flags(__func__, alloc_flags);
		return NULL;
	}
	if (!ptr)
		return alloc_block(size, 0, alloc_flags, site);
	if (size == 0) {
		free_block(ptr);
		return NULL;
	}

	if (unlikely(!block_is_ours(ptr)))
		return foreign_realloc(ptr, size);
	h = header_of(ptr);
	old = *h;
	if (offset_of(ptr) != ALLOC_HEADER_SIZE) {
		/* Over-aligned block: glibc's realloc does not keep the
		 * alignment either; copy into a default-aligned block. */
		size_t usable = core_usable_size(ptr);

		fresh = alloc_block(size, 0, alloc_flags, site);
		if (!fresh)
			return NULL;
		memcpy(fresh, ptr, usable < size ? usable : size);
		free_block(ptr);
		return fresh;
	}

	if (unlikely(__builtin_add_overflow(size, (size_t)ALLOC_HEADER_SIZE, &total) ||
		     total > PTRDIFF_MAX)) {
		errno = ENOMEM;
		return NULL;
	}
	base = rallocx(base_of(ptr), total, 0);
	if (unlikely(!base)) {
		errno = ENOMEM;
		return NULL;
	}
	/* Only now is the old block gone: take it off its tag. */
	alloc_tag_sub(old.tag, (int64_t)old.size);
	return account_block(base, ALLOC_HEADER_SIZE, size,
			     tag_for(alloc_flags, site));
}

/* The entry points: the bodies above, marked as inside the allocator. */
void *core_alloc(size_t size, size_t align, unsigned int alloc_flags,
		 uintptr_t site)
{
	void *p;

	core_allocator_enter();
	p = alloc_block(size, align, alloc_flags, site);
	core_allocator_leave();
	return p;
}

void core_free(void *ptr)
{
	core_allocator_enter();
	free_block(ptr);
	core_allocator_leave();
}

void *core_realloc(void *ptr, size_t size, unsigned int alloc_flags,
		   uintptr_t site)
{
	void *p;

	core_allocator_enter();
	p = realloc_block(ptr, size, alloc_flags, site);
	core_allocator_leave();
	return p;
}

static __thread int deferred_signal;
static __thread void (*deferred_handler)(int);

void core_defer_signal(int sig, void (*handler)(int))
{
	deferred_signal = sig;
	deferred_handler = handler;
	core_thread.allocator_state |= CORE_DEFERRED_SIGNAL;
}

void core_run_deferred_signal(void)
{
	core_thread.allocator_state &= ~CORE_DEFERRED_SIGNAL;
	deferred_handler(deferred_signal);
}

size_t core_usable_size(void *ptr)
{
	if (!ptr)
		return 0;
	if (unlikely(!block_is_ours(ptr)))
		return foreign_usable_size(ptr);
	return sallocx(base_of(ptr), 0) - offset_of(ptr);
}

void *core_internal_alloc(size_t size)
{
	return core_alloc(size, 0, ALLOC_NO_CODETAG, 0);
}

void *core_internal_calloc(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return core_alloc(total, 0, ALLOC_NO_CODETAG | ALLOC_ZERO, 0);
}

void *core_internal_realloc(void *ptr, size_t size)
{
	return core_realloc(ptr, size, ALLOC_NO_CODETAG, 0);
}

void core_internal_free(void *ptr)
{
	core_free(ptr);
}

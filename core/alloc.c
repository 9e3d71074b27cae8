/*
 * Allocation: jemalloc underneath, each block's tag in a slot outside
 * it (allocator_pages.h).  The inline fast path of malloc and free that
 * preload/ compiles in is in alloc_inline.h; this file has the general
 * functions (alignment, zeroing, realloc, large sizes, the early window,
 * the profiler's own memory, blocks of other allocators).
 *
 * A block is always allocated as the whole of its size class (@usable,
 * from nallocx or the class table), so its page's entry names the
 * class jemalloc serves it from, whatever alignment was asked.  The
 * slot's count is what was added to the tag, so a free subtracts
 * exactly that, whatever the options are by then.
 *
 * No path takes a lock, and none makes a system call but to map a new
 * chunk of slot arrays or a leaf of the page table: a table lookup, a
 * few plain stores to this thread's counters, and jemalloc's thread
 * cache.
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
#include "core/allocator_pages.h"
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
 * Blocks from glibc's malloc (in no page jemalloc mapped) go back to
 * glibc, untracked: a library bound to glibc's malloc (RTLD_DEEPBIND,
 * -Bsymbolic, __libc_malloc) may hand its callers blocks they free with
 * ours.
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

uint16_t core_size_class[ALLOC_SMALL_USABLE_MAX / 8 + 1];

/* false if a class past the table's reach shows up (then the fast path
 * stays off). */
static bool fill_size_classes(void)
{
	for (size_t i = 0; i <= ALLOC_SMALL_USABLE_MAX / 8; i++) {
		size_t usable = nallocx(i * 8 < 16 ? 16 : i * 8, 0);

		if (usable > ALLOC_SMALL_USABLE_MAX)
			return false;
		core_size_class[i] = (uint16_t)usable;
	}
	return true;
}

/* The free fast path's fallback, should libjemalloc's free not be
 * found: the free path must have one once the counters run. */
static void free_with_dallocx(void *ptr)
{
	dallocx(ptr, 0);
}

static void resolve_jemalloc_entry_points(void)
{
	void *lib = dlopen("libjemalloc.so.2", RTLD_LAZY | RTLD_NOLOAD);
	void *m = NULL, *c = NULL, *f = NULL;

	if (lib) {
		m = dlsym(lib, "malloc");
		c = dlsym(lib, "calloc");
		f = dlsym(lib, "free");
		dlclose(lib);
	}
	/* Never our own exports: that would recurse. */
	if (f == (void *)free_with_dallocx || m == (void *)core_alloc)
		m = c = f = NULL;
	*(void **)&core_je.free = f ? f : (void *)free_with_dallocx;
	/* The malloc fast path counts requested sizes: not with
	 * ALLOCINFO_SIZE=usable. */
	if (m && c && !core_count_usable_size && fill_size_classes()) {
		*(void **)&core_je.calloc = c;
		__atomic_store_n((void **)&core_je.malloc, m, __ATOMIC_RELEASE);
	}
}

/*
 * Whether jemalloc's mappings reach the core (allocator_pages.h): they
 * do unless a library ahead of ours in the lookup order interposes
 * mmap and maps with the system call itself.  Checked the first time a
 * block looks foreign: if a fresh block of jemalloc's looks foreign too,
 * every block is taken for jemalloc's from then on (a block of glibc's
 * would then be freed by jemalloc, so say so), and free asks jemalloc
 * for sizes.  0 unknown, 1 trusted, -1 not.
 */
static _Atomic int allocator_pages_trusted;

static __attribute__((noinline, cold)) bool check_allocator_pages(void)
{
	static const char msg[] = "allocinfo: jemalloc's mappings do not reach "
				  "allocinfo's mmap (another library interposes "
				  "mmap?); blocks of glibc's malloc cannot be told "
				  "from ours\n";
	void *probe = mallocx(1, 0);
	int trusted = !probe || allocator_pages_contain(probe) ? 1 : -1;

	if (probe)
		dallocx(probe, 0);
	if (trusted < 0 && atomic_exchange(&allocator_pages_trusted, -1) != -1 &&
	    write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		(void)0;
	if (trusted > 0)
		atomic_store(&allocator_pages_trusted, 1);
	return trusted < 0;
}

static inline bool block_is_ours(const void *ptr)
{
	int trusted;

	if (likely(allocator_pages_contain(ptr)))
		return true;
	trusted = atomic_load_explicit(&allocator_pages_trusted, memory_order_relaxed);
	if (likely(trusted > 0))
		return false;
	return trusted < 0 || check_allocator_pages();
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

/*
 * The size class to ask for @size bytes with @mallocx_flags (alignment),
 * as jemalloc would serve it; 0 if past PTRDIFF_MAX.
 */
static size_t usable_for(size_t size, int mallocx_flags)
{
	size_t usable;

	if (unlikely(size > PTRDIFF_MAX))
		return 0;
	/* 16 at least: glibc's blocks are all 16-aligned. */
	usable = nallocx(size < 16 ? 16 : size, mallocx_flags);
	return usable > PTRDIFF_MAX ? 0 : usable;
}

/*
 * Records a fresh block of @usable bytes under @tag (for a large block,
 * @usable need only be past the small classes).  NULL, with the block
 * given back, if a small block's page has no slot array and none can be
 * mapped.  A large block whose page entry cannot be made (no leaf could
 * be mapped: the address space is exhausted) is left uncounted, and its
 * free then takes back nothing.
 */
static inline void *account_block(void *ptr, size_t usable, size_t size,
				  uint32_t tag)
{
	uint64_t counted = size;

	if (unlikely(core_count_usable_size))
		counted = usable;
	if (usable <= ALLOC_SMALL_USABLE_MAX) {
		uint32_t *slot = allocator_pages_small_slot(ptr, usable);

		if (unlikely(!slot)) {
			sdallocx(ptr, usable, 0);
			errno = ENOMEM;
			return NULL;
		}
		*slot = slot_word(tag, usable, counted);
	} else if (unlikely(!allocator_pages_set_large(ptr, tag, counted))) {
		return ptr;
	}
	alloc_tag_add(tag, (int64_t)counted);
	return ptr;
}

/* The usable size of a block of ours: from its page's entry when it
 * is a small block, else from jemalloc. */
static inline size_t usable_of(void *ptr)
{
	size_t usable = allocator_pages_entry_usable(allocator_pages_small_entry(ptr));

	return usable ? usable : sallocx(ptr, 0);
}

/* The usable size, tag and count of a block of ours: a small block's
 * from its page's entry and slot, a large one's from jemalloc and its
 * first page's entry. */
static inline size_t read_block(void *ptr, uint32_t *tag, uint64_t *counted)
{
	uint64_t entry = allocator_pages_small_entry(ptr);
	size_t usable = allocator_pages_entry_usable(entry);
	struct allocator_pages_large large;

	if (usable) {
		uint32_t word = *allocator_pages_slot(ptr, entry);

		*tag = slot_tag(word);
		*counted = slot_counted(word, usable);
		return usable;
	}
	large = allocator_pages_large_of(ptr);
	*tag = large.tag;
	*counted = large.counted;
	return sallocx(ptr, 0);
}

static inline void *alloc_block(size_t size, size_t align,
				 unsigned int alloc_flags, uintptr_t site)
{
	int mallocx_flags = 0;
	size_t usable;
	void *ptr;

	if (unlikely(alloc_flags & ~ALLOC_FLAGS_ALLOC_SUPPORTED)) {
		reject_flags(__func__, alloc_flags);
		return NULL;
	}
	if (unlikely(align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	if (unlikely(align > ALLOC_MIN_ALIGN))
		mallocx_flags = MALLOCX_LG_ALIGN(__builtin_ctzl(align));
	/* glibc refuses anything past PTRDIFF_MAX.  A request past the
	 * small classes is a large block whatever its class: ask for it
	 * as it is. */
	if (size > ALLOC_SMALL_USABLE_MAX && size <= PTRDIFF_MAX &&
	    !core_count_usable_size)
		usable = size;
	else
		usable = usable_for(size, mallocx_flags);
	if (unlikely(!usable)) {
		errno = ENOMEM;
		return NULL;
	}
	if (alloc_flags & ALLOC_ZERO)
		mallocx_flags |= MALLOCX_ZERO;

	if (likely(mallocx_flags == 0 && core_je.malloc))
		ptr = core_je.malloc(usable);
	else if (mallocx_flags == MALLOCX_ZERO && core_je.malloc)
		ptr = core_je.calloc(1, usable);
	else
		ptr = mallocx(usable, mallocx_flags);
	if (unlikely(!ptr)) {
		errno = ENOMEM;
		return NULL;
	}
	return account_block(ptr, usable, size, tag_for(alloc_flags, site));
}

static inline void free_block(void *ptr)
{
	size_t usable;
	uint64_t counted;
	uint32_t tag;

	if (!ptr)
		return;
	if (unlikely(!block_is_ours(ptr))) {
		foreign_free(ptr);
		return;
	}
	usable = read_block(ptr, &tag, &counted);
	sdallocx(ptr, usable, 0);
	alloc_tag_sub(tag, (int64_t)counted);
}

static void *realloc_block(void *ptr, size_t size, unsigned int alloc_flags,
			   uintptr_t site)
{
	size_t old_usable, usable;
	uint64_t old_counted;
	uint32_t old_tag;
	void *fresh;

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
	old_usable = read_block(ptr, &old_tag, &old_counted);
	if (old_usable <= ALLOC_SMALL_USABLE_MAX && size <= ALLOC_SMALL_USABLE_MAX &&
	    core_je.malloc) {
		usable = small_usable_for(size);
		/* The same class: rallocx would leave the block where it
		 * is, so only the slot and the counts change (a string
		 * growing by a few bytes at a time, as perl's do). */
		if (usable == old_usable) {
			alloc_tag_sub(old_tag, (int64_t)old_counted);
			return account_block(ptr, usable, size,
					     tag_for(alloc_flags, site));
		}
	}
	usable = usable_for(size, 0);
	if (unlikely(!usable)) {
		errno = ENOMEM;
		return NULL;
	}
	/* A small result is a new block (jemalloc moves a block to
	 * another small class too), made and tagged before the old one
	 * goes: should no slot be had for it, the old block stays as it
	 * was, as realloc's failure must leave it. */
	if (usable <= ALLOC_SMALL_USABLE_MAX) {
		fresh = alloc_block(size, 0, alloc_flags & ~ALLOC_ZERO, site);
		if (unlikely(!fresh))
			return NULL;
		memcpy(fresh, ptr, old_usable < usable ? old_usable : usable);
		free_block(ptr);
		return fresh;
	}
	/* An over-aligned block loses its alignment, as with glibc. */
	fresh = rallocx(ptr, usable, 0);
	if (unlikely(!fresh)) {
		errno = ENOMEM;
		return NULL;
	}
	/* Only now is the old block gone: take it off its tag. */
	alloc_tag_sub(old_tag, (int64_t)old_counted);
	return account_block(fresh, usable, size, tag_for(alloc_flags, site));
}

/* Out of core_malloc's line: only the slot's word and the class live
 * across its call into jemalloc. */
void *core_malloc_failed(void *ptr, uint32_t word, size_t usable)
{
	if (ptr)
		sdallocx(ptr, usable, 0);
	count_slot_freed(&core_thread, word, usable);
	core_allocator_leave();
	errno = ENOMEM;
	return NULL;
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
	core_state_or(&core_thread, CORE_DEFERRED_SIGNAL);
}

void core_run_deferred_signal(void)
{
	core_state_and(&core_thread, ~CORE_DEFERRED_SIGNAL);
	deferred_handler(deferred_signal);
}

size_t core_usable_size(void *ptr)
{
	if (!ptr)
		return 0;
	if (unlikely(!block_is_ours(ptr)))
		return foreign_usable_size(ptr);
	return usable_of(ptr);
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

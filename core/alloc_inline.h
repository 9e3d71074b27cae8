/*
 * The fast path of malloc and free, inline, so that preload/ compiles it
 * into its exported functions: one screen, no call but jemalloc's.
 *
 * A block's tag is kept outside the block (allocator_pages.h), so the
 * program has all of its jemalloc size class:
 *
 * - a small block (usable <= ALLOC_SMALL_USABLE_MAX) has a 4-byte slot
 *   in its page's slot array, the tag index in the low 18 bits and
 *   usable - counted in the high 14;
 * - a large block owns its pages, so its tag and count are kept in the
 *   entry of its first page.
 *
 * "counted" is what was added to the tag (the requested size, or the
 * usable one with ALLOCINFO_SIZE=usable), so a free subtracts exactly
 * that.  Requests get jemalloc's own class, as without the profiler.
 *
 * Which kind a block is follows from its page's small entry, which
 * gives free the class and the slot, else from jemalloc (sallocx) once
 * the page bitmap says the block is jemalloc's at all: a block of
 * glibc's goes back to glibc.
 *
 * Sizes up to 8 get the 16-byte class, so every block is 16-aligned as
 * glibc's are.
 *
 * Anything unusual (early window, profiler scope, usable-size counting,
 * alignment, large sizes, a foreign block, a failed allocation) leaves
 * for the general functions in alloc.c.
 */
#ifndef ALLOCINFO_CORE_ALLOC_INLINE_H
#define ALLOCINFO_CORE_ALLOC_INLINE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/alloc_tag.h"
#include "core/allocator_pages.h"
#include "core/internal_scope.h"

/* Alignments up to this are what jemalloc gives a 16-byte class. */
#define ALLOC_MIN_ALIGN        16
#define ALLOC_SMALL_USABLE_MAX ALLOCATOR_PAGES_SMALL_MAX
#define ALLOC_TAG_BITS         18
#define ALLOC_PAGE_MASK        ((1u << ALLOCATOR_PAGES_PAGE_SHIFT) - 1)

_Static_assert(CODETAG_MAX <= (1u << ALLOC_TAG_BITS),
	       "a tag index must fit a small block's slot");
_Static_assert(ALLOC_SMALL_USABLE_MAX < (1u << (32 - ALLOC_TAG_BITS)),
	       "usable - counted must fit a small block's slot");

/* jemalloc's own entry points, set by core_init (alloc.c). */
struct core_jemalloc {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void (*free)(void *);
};
extern struct core_jemalloc core_je;
/* ALLOCINFO_SIZE=usable; core_je.malloc then stays unset. */
extern bool core_count_usable_size;

/*
 * jemalloc's usable size for a request of n <= ALLOC_SMALL_USABLE_MAX
 * bytes, at [(n + 7) / 8] (n <= 8: as 16).  Filled by core_init before
 * core_je.malloc is published.
 */
extern uint16_t core_size_class[ALLOC_SMALL_USABLE_MAX / 8 + 1];

/* jemalloc's size and sized free, linked from libjemalloc. */
size_t sallocx(const void *ptr, int flags);
void sdallocx(void *ptr, size_t size, int flags);

/* jemalloc's class for @size <= ALLOC_SMALL_USABLE_MAX bytes (0 before
 * core_init fills the table). */
static inline size_t small_usable_for(size_t size)
{
	return core_size_class[(size + 7) >> 3];
}

/* A small block's slot word: its tag, and what its class of @usable
 * bytes has beyond the @counted ones added to the tag. */
static inline uint32_t slot_word(uint32_t tag, size_t usable, size_t counted)
{
	return tag | (uint32_t)(usable - counted) << ALLOC_TAG_BITS;
}

static inline uint32_t slot_tag(uint32_t word)
{
	return word & ((1u << ALLOC_TAG_BITS) - 1);
}

static inline size_t slot_counted(uint32_t word, size_t usable)
{
	return usable - (word >> ALLOC_TAG_BITS);
}

/* Takes a small block of class @usable off the tag of its slot @word. */
static inline void count_slot_freed(struct core_thread *t, uint32_t word,
				    size_t usable)
{
	alloc_tag_count_here(t, slot_tag(word), -(int64_t)slot_counted(word, usable), -1);
}

/* jemalloc had no block of class @usable for the slot @word (or, for a
 * block @ptr it had, no slot could be made): gives @ptr back, takes the
 * count back, leaves the allocator, ENOMEM. */
void *core_malloc_failed(void *ptr, uint32_t word, size_t usable);

/* malloc(@size) called from @site. */
static inline void *core_malloc(size_t size, uintptr_t site)
{
	struct core_thread *t = &core_thread;
	unsigned int state = t->allocator_state;
	size_t usable;
	uint32_t tag, word, *slot;
	char *ptr;

	/* One compare for all that sends it to the general path: inside
	 * the allocator or the profiler's scope, counters not ready, a
	 * signal waiting; then the early window (no core_je.malloc, which
	 * usable-size counting also leaves unset) and large sizes. */
	if (__builtin_expect(state != CORE_FAST_PATH_STATE || !core_je.malloc ||
			     size > ALLOC_SMALL_USABLE_MAX, 0))
		return core_alloc(size, 0, ALLOC_DEFAULT, site);
	usable = small_usable_for(size);
	core_thread_enter_fast(t, state);
	tag = codetag_index_for_site(site);
	/* Counted before the block exists, so that only the slot's word
	 * and the class live across jemalloc's call; a failure takes the
	 * count back. */
	alloc_tag_count_here(t, tag, (int64_t)size, 1);
	word = slot_word(tag, usable, size);
	/* Asking for the class itself: jemalloc serves exactly @usable. */
	ptr = core_je.malloc(usable);
	slot = ptr ? allocator_pages_small_slot(ptr, usable) : NULL;
	if (__builtin_expect(!slot, 0))
		return core_malloc_failed(ptr, word, usable);
	*slot = word;
	core_thread_leave(t);
	return ptr;
}

/*
 * realloc(@ptr, @size) from @site, where the block keeps its class: the
 * block stays where it is (jemalloc's rallocx would not move it either),
 * so only its slot and the counts change.  Strings that grow a few bytes
 * at a time, as perl's do, take this path.  Anything else goes to
 * core_realloc.
 */
static inline void *core_realloc_inline(void *ptr, size_t size, uintptr_t site)
{
	struct core_thread *t = &core_thread;
	unsigned int state = t->allocator_state;
	uint32_t tag, old, *slot;
	uint64_t entry;
	size_t usable;

	if (__builtin_expect(state != CORE_FAST_PATH_STATE || !ptr || !size ||
			     size > ALLOC_SMALL_USABLE_MAX || !core_je.malloc, 0))
		return core_realloc(ptr, size, ALLOC_DEFAULT, site);
	entry = allocator_pages_small_entry(ptr);
	usable = allocator_pages_entry_usable(entry);
	if (!usable || small_usable_for(size) != usable)
		return core_realloc(ptr, size, ALLOC_DEFAULT, site);
	core_thread_enter_fast(t, state);
	slot = allocator_pages_slot(ptr, entry);
	old = *slot;
	tag = codetag_index_for_site(site);
	count_slot_freed(t, old, usable);
	alloc_tag_count_here(t, tag, (int64_t)size, 1);
	*slot = slot_word(tag, usable, size);
	core_thread_leave(t);
	return ptr;
}

/* free(@ptr). */
static inline void core_free_inline(void *ptr)
{
	struct core_thread *t = &core_thread;
	unsigned int state = t->allocator_state;
	uint64_t entry;
	size_t usable;
	uint32_t word;

	if (!ptr)
		return;
	/* 0: a large block, a foreign one, or not known. */
	entry = allocator_pages_small_entry(ptr);
	usable = allocator_pages_entry_usable(entry);
	if (__builtin_expect(state != CORE_FAST_PATH_STATE || !usable, 0)) {
		core_free(ptr);
		return;
	}
	core_thread_enter_fast(t, state);
	/* Read before the block goes back, used after: a slot written by
	 * another thread is often in that thread's cache, and jemalloc's
	 * free does not wait for the line. */
	word = *allocator_pages_slot(ptr, entry);
	/* Sized, jemalloc takes the class from the size and skips its own
	 * lookup of the pointer; but it sends every page-aligned pointer
	 * of a sized free to its slow path (its profiler's samples are
	 * page-aligned), where plain free stays fast. */
	if (__builtin_expect((uintptr_t)ptr & ALLOC_PAGE_MASK, 1))
		sdallocx(ptr, usable, 0);
	else
		core_je.free(ptr);
	count_slot_freed(t, word, usable);
	core_thread_leave(t);
}

#endif

/*
 * The fast path of malloc and free, inline, so that preload/ compiles it
 * into its exported functions: one screen, no call but jemalloc's.
 *
 * Every block has a 16-byte header just below it:
 *
 *   base (from jemalloc)       user pointer (16-aligned or @align-aligned)
 *   |                          |
 *   v                          v
 *   [ ... padding ... ][header][ user bytes ... ]
 *                      ^ user - 16
 *
 * user - base is 1 << (shift_and_magic & 0xff): 16 for default
 * alignment, @align for larger ones.  The upper 24 bits are a check that
 * depends on the address (block_is_ours).  tag is the tag index
 * (CODETAG_INTERNAL for ALLOC_NO_CODETAG); size is what was added to
 * that tag, so a free subtracts exactly that.
 *
 * Anything unusual (early window, profiler scope, usable-size counting,
 * alignment, a foreign block, a failed allocation) leaves for the
 * general functions in alloc.c.
 */
#ifndef ALLOCINFO_CORE_ALLOC_INLINE_H
#define ALLOCINFO_CORE_ALLOC_INLINE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/alloc_tag.h"
#include "core/internal_scope.h"

#define ALLOC_HEADER_SIZE 16
#define ALLOC_MIN_ALIGN   16

struct alloc_header {
	uint32_t tag;
	uint32_t shift_and_magic;   /* offset_shift | magic << 8 */
	uint64_t size;
};
_Static_assert(sizeof(struct alloc_header) == ALLOC_HEADER_SIZE,
	       "the header must keep user pointers 16-aligned");

/* jemalloc's own entry points, set by core_init (alloc.c). */
struct core_jemalloc {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void (*free)(void *);
};
extern struct core_jemalloc core_je;
/* ALLOCINFO_SIZE=usable; core_je.malloc then stays unset. */
extern bool core_count_usable_size;

static inline struct alloc_header *header_of(const void *user)
{
	return (struct alloc_header *)((uintptr_t)user - ALLOC_HEADER_SIZE);
}

/*
 * 24 bits that depend on the block's address.  Every block of ours has
 * them; a block from another allocator (glibc's, from __libc_malloc)
 * almost never does: a false match takes a 1 in 2^24 coincidence.
 * Reading 16 bytes below such a block is safe: glibc keeps its chunk
 * header there.
 */
static inline uint32_t header_magic(const void *user)
{
	return (uint32_t)(((uint64_t)(uintptr_t)user * 0x9e3779b97f4a7c15ull) >> 40);
}

static inline bool block_is_ours(const void *user)
{
	return (header_of(user)->shift_and_magic >> 8) == header_magic(user);
}

static inline size_t offset_of(const void *user)
{
	return (size_t)1 << (header_of(user)->shift_and_magic & 0xff);
}

static inline void *base_of(const void *user)
{
	return (void *)((uintptr_t)user - offset_of(user));
}

/* malloc(@size) called from @site. */
static inline void *core_malloc(size_t size, uintptr_t site)
{
	struct core_thread *t = &core_thread;
	unsigned int state = t->allocator_state;
	struct alloc_header *h;
	uint32_t tag;
	char *base;

	/* One compare for all that sends it to the general path: inside
	 * the allocator or the profiler's scope, counters not ready, a
	 * signal waiting; then the early window (no core_je.malloc, which
	 * usable-size counting also leaves unset) and absurd sizes. */
	if (__builtin_expect(state != CORE_FAST_PATH_STATE || !core_je.malloc ||
			     size > PTRDIFF_MAX - ALLOC_HEADER_SIZE, 0))
		return core_alloc(size, 0, ALLOC_DEFAULT, site);
	t->allocator_state = state + 1;
	tag = codetag_index_for_site(site);
	base = core_je.malloc(size + ALLOC_HEADER_SIZE);
	if (__builtin_expect(!base, 0)) {
		core_allocator_leave();
		errno = ENOMEM;
		return NULL;
	}
	h = (struct alloc_header *)base;
	h->tag = tag;
	h->shift_and_magic = 4 | header_magic(base + ALLOC_HEADER_SIZE) << 8;
	h->size = size;
	alloc_tag_count(tag, (int64_t)size, 1);
	core_allocator_leave();
	return base + ALLOC_HEADER_SIZE;
}

/* free(@ptr). */
static inline void core_free_inline(void *ptr)
{
	struct core_thread *t = &core_thread;
	unsigned int state = t->allocator_state;
	struct alloc_header *h;

	if (!ptr)
		return;
	h = header_of(ptr);
	if (__builtin_expect(state != CORE_FAST_PATH_STATE || !core_je.free ||
			     !block_is_ours(ptr) || (h->shift_and_magic & 0xff) != 4, 0)) {
		core_free(ptr);
		return;
	}
	t->allocator_state = state + 1;
	alloc_tag_count_here(t, h->tag, -(int64_t)h->size, -1);
	core_je.free(h);
	core_allocator_leave();
}

#endif

/*
 * struct alloc_tag: a codetag with its live counters, as in the kernel's
 * include/linux/alloc_tag.h.
 *
 * Counters are sharded: each thread adds to one of ALLOC_TAG_SHARDS
 * slots, chosen once per thread, and a reader sums the shards.  The sum
 * is exact because every update is an atomic add; sharding only keeps
 * threads that share a call site from bouncing one cache line.  A free
 * subtracts from the freeing thread's shard, so a single shard may go
 * negative while the sum stays right.
 */
#ifndef ALLOCINFO_CORE_ALLOC_TAG_H
#define ALLOCINFO_CORE_ALLOC_TAG_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/codetag.h"

#define ALLOC_TAG_SHARDS 8

struct alloc_tag_counters {
	_Atomic int64_t bytes;
	_Atomic int64_t calls;
};

struct alloc_tag {
	struct codetag ct;
	struct alloc_tag_counters shard[ALLOC_TAG_SHARDS];
} __attribute__((aligned(64)));

/* This thread's shard; assigned on first use (see codetag.c). */
extern __thread unsigned int alloc_tag_thread_shard;
unsigned int alloc_tag_assign_shard(void);

static inline unsigned int alloc_tag_shard(void)
{
	unsigned int s = alloc_tag_thread_shard;

	if (__builtin_expect(s == 0, 0))
		s = alloc_tag_assign_shard();
	return (s - 1) & (ALLOC_TAG_SHARDS - 1);
}

static inline void alloc_tag_add(struct alloc_tag *tag, int64_t bytes)
{
	struct alloc_tag_counters *c = &tag->shard[alloc_tag_shard()];

	atomic_fetch_add_explicit(&c->bytes, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->calls, 1, memory_order_relaxed);
}

static inline void alloc_tag_sub(struct alloc_tag *tag, int64_t bytes)
{
	struct alloc_tag_counters *c = &tag->shard[alloc_tag_shard()];

	atomic_fetch_sub_explicit(&c->bytes, bytes, memory_order_relaxed);
	atomic_fetch_sub_explicit(&c->calls, 1, memory_order_relaxed);
}

/* Adds @bytes and @calls (either may be negative or zero): the mmap
 * path, where a partial munmap takes bytes but not the call. */
static inline void alloc_tag_adjust(struct alloc_tag *tag, int64_t bytes,
				    int64_t calls)
{
	struct alloc_tag_counters *c = &tag->shard[alloc_tag_shard()];

	if (bytes)
		atomic_fetch_add_explicit(&c->bytes, bytes, memory_order_relaxed);
	if (calls)
		atomic_fetch_add_explicit(&c->calls, calls, memory_order_relaxed);
}

/* Sums the shards: a consistent total once the threads are quiet. */
static inline void alloc_tag_read(const struct alloc_tag *tag,
				  int64_t *bytes, int64_t *calls)
{
	int64_t b = 0, n = 0;

	for (unsigned int i = 0; i < ALLOC_TAG_SHARDS; i++) {
		b += atomic_load_explicit(&tag->shard[i].bytes, memory_order_relaxed);
		n += atomic_load_explicit(&tag->shard[i].calls, memory_order_relaxed);
	}
	*bytes = b;
	*calls = n;
}

#endif

/*
 * A thread's last freed small blocks, by class, for its next mallocs:
 * the malloc and free fast paths (alloc_inline.h) pop and push them
 * here, without a call into jemalloc.
 *
 * Why: a block freed and soon taken again, in the same class and
 * thread, is a common pair (a compiler's temporaries, perl's strings,
 * a threaded server's requests).  Through jemalloc's own thread cache
 * each such pair cost two calls into jemalloc (malloc, sdallocx), about
 * half of the profiler's instructions for the pair: bench/micro's
 * 16-byte pair ran 190 instructions, jemalloc alone 96
 * (bench/instructions, --pairs).  A magazine is a small jemalloc tcache
 * bin of the profiler's own: a stack of blocks per class and thread, no
 * lock, no atomic, no call.  Programs that free in long bursts
 * (python3's object churn) gain nothing and lose a few instructions a
 * call: bursts longer than a magazine go through jemalloc as before.
 *
 * Invariants:
 * - A block in a magazine is allocated as far as jemalloc knows, and
 *   free as far as the profiler knows: its slot is 0 (free cleared it
 *   before the push), so no report counts it, and its page keeps its
 *   class and slot array (jemalloc cannot reuse the slab under it).
 *   So the slot free found stays the block's, and malloc sets it
 *   without the page lookup (the leaf, the entry, the slot's shift).
 * - A magazine holds at most CORE_MAGAZINE_BLOCKS blocks, and at most
 *   CORE_MAGAZINE_BYTES of them unless one block is larger: a thread
 *   holds at most 142 KiB this way (89 KiB of it in the classes past
 *   1 KiB, a block each from 2,560 bytes up), and 9 KiB of entries,
 *   the profiler's own; jemalloc's tcache may hold megabytes.
 * - A thread's magazines open (their limits set) on its first free
 *   that finds them shut, once the core is ready; that also arranges
 *   their flush at thread exit, after which they stay shut: a block
 *   freed by a later destructor goes straight to jemalloc.
 * - malloc, calloc (which zeroes the class), aligned allocations below
 *   a page (whose class's blocks all lie at multiples of the
 *   alignment) and realloc's moves take from the magazines.  The
 *   magazine index CORE_MAGAZINE_NONE is never open, so "count > 0"
 *   and "count < limit" need no range check.
 *
 * A magazine is thread-local state: like jemalloc's tcache, it is not
 * safe against a signal handler that allocates while the interrupted
 * code is in the middle of a push or a pop (malloc is not
 * async-signal-safe).  The profiler's own handlers allocate only through
 * core_alloc, which never touches a magazine.
 */
#ifndef ALLOCINFO_CORE_MAGAZINE_H
#define ALLOCINFO_CORE_MAGAZINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/thread.h"

#define CORE_MAGAZINE_BYTES      4096

/* The magazine index of a block of class @usable (<=
 * ALLOC_SMALL_USABLE_MAX), by usable / 16, filled by core_init with the
 * class table; CORE_MAGAZINE_NONE for classes without one. */
extern uint8_t core_magazine_of_usable[];

/* Opens this thread's magazines if they never were (and the core is
 * ready): out of line, on the first free that finds them shut. */
void core_magazine_open(struct core_thread *t);

/* Gives this thread's magazines' blocks back to jemalloc, the
 * magazines left open: for figures of the heap that count what the
 * thread holds for reuse as free (preload/malloc_stats.c). */
void core_magazine_empty(void);

/* Fills core_magazine_of_usable, and the magazines by request size
 * (core_size.magazine, alloc_inline.h), from the class table (@entries
 * classes by size / 8); should jemalloc's classes be more than the
 * magazines, none opens. */
void core_magazine_init_classes(const uint16_t *size_class, size_t entries);

/* The last block put in this thread's magazine @magazine, which holds
 * @held > 0 (malloc's fast path has read it), taken out. */
static inline __attribute__((always_inline)) const struct core_magazine_entry *
core_magazine_take(struct core_thread *t, unsigned int magazine, unsigned int held)
{
	t->magazine_count[magazine] = (uint8_t)(held - 1);
	return &t->magazine_block[magazine * CORE_MAGAZINE_BLOCKS + held - 1];
}

/* Keeps @ptr, with its @slot, in magazine @magazine, which holds @held
 * blocks, fewer than its limit (free's fast path reads both). */
static inline __attribute__((always_inline)) void
core_magazine_put(struct core_thread *t, unsigned int magazine, unsigned int held,
		  void *ptr, uint32_t *slot)
{
	t->magazine_block[magazine * CORE_MAGAZINE_BLOCKS + held] =
		(struct core_magazine_entry){ .block = ptr, .slot = slot };
	t->magazine_count[magazine] = (uint8_t)(held + 1);
}

#endif

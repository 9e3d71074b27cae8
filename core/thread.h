/*
 * The core's per-thread state, in one struct: the fast path finds all of
 * it from one thread-pointer offset (jemalloc's tsd does the same).
 */
#ifndef ALLOCINFO_CORE_THREAD_H
#define ALLOCINFO_CORE_THREAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/codetag.h"

/* A thread's delta for one tag. */
struct thread_counter {
	_Atomic int64_t bytes;
	_Atomic int64_t calls;
};

/* The deltas of this many tags share a page of a thread's array. */
#define THREAD_COUNTERS_PAGE_TAGS (4096u / sizeof(struct thread_counter))
#define THREAD_COUNTERS_WRITTEN_WORDS (CODETAG_MAX / THREAD_COUNTERS_PAGE_TAGS / 64)
_Static_assert(CODETAG_MAX % (THREAD_COUNTERS_PAGE_TAGS * 64) == 0,
	       "every page of a full array has its bit in written[]");

enum thread_counters_state {
	THREAD_COUNTERS_UNREGISTERED = 0,
	THREAD_COUNTERS_ACTIVE,
	THREAD_COUNTERS_OFF,        /* registering, exited, or unavailable */
};

/*
 * A thread's counter deltas (alloc_tag.h): one per tag index below
 * @capacity, in an array mapped when the thread registers and grown
 * (under the registry lock, so readers never see it move) when a tag
 * past it is counted.  The kernel backs only the pages the thread
 * touches, 256 tags to a page.
 *
 * @written has a bit for each page of the array the thread has counted
 * in, set before the page's first delta (alloc_tag_count_here) and
 * cleared when the thread retires: readers (the exit's fold, the
 * report's sum) skip the others, all zero.  They read every page up to
 * the last tag before: a read of a page never written maps the kernel's
 * zero page, a fault each, and a thread registers with an array as
 * large as the table.  Debian's rustc at ALLOCINFO_DEPTH=4 (20,000
 * tags, a few dozen short threads) took 3,460 such faults in its
 * threads' exits alone (perf record -e page-faults).
 */
struct thread_counters {
	struct thread_counter *delta;
	uint32_t capacity;
	struct thread_counters *next, *prev;   /* registry, under its lock */
	volatile int state;
	_Atomic uint64_t written[THREAD_COUNTERS_WRITTEN_WORDS];
};

/* allocator_state: the depth inside the allocator in the low bits, and
 * three flags above.  0 is the one state in which malloc takes its
 * inline fast path: outside the allocator, outside the profiler's
 * scope, no signal waiting, the core ready.  The fast path only tests
 * it against 0: it keeps no depth of its own while in jemalloc
 * (internal_scope.h). */
#define CORE_DEPTH_MASK       0xffffu
#define CORE_DEFERRED_SIGNAL  (1u << 16)  /* a fatal signal waits */
/* Every thread starts with it (core_thread's initial value), and its
 * first call to the general functions clears it once core_init has
 * given the fast path jemalloc's malloc (core_je.malloc, alloc.c): so
 * malloc's fast path tests one word, not that pointer too.  It stays
 * with ALLOCINFO_SIZE=usable, which leaves core_je.malloc unset.  free's
 * fast path ignores it: free is open in the early window. */
#define CORE_NOT_READY        (1u << 17)
#define CORE_INTERNAL_SCOPE   (1u << 18)  /* internal_depth > 0 */
/* In the core's mmap or munmap for jemalloc, whose frames (and locks)
 * are below: a fatal signal must wait until jemalloc has returned, not
 * run when the call leaves the allocator (core/mmap.c). */
#define CORE_UNDER_JEMALLOC   (1u << 19)

/* The thread's magazines (magazine.h): one per small class of
 * jemalloc's from 16 bytes to 14 KiB (35 with 4 KiB pages), and
 * CORE_MAGAZINE_NONE, never open. */
#define CORE_MAGAZINES       36
#define CORE_MAGAZINE_NONE   (CORE_MAGAZINES - 1)
#define CORE_MAGAZINE_BLOCKS 16

/* A block in a magazine, and its slot (allocator_pages.h), which free
 * has found: malloc sets it without looking the page up again. */
struct core_magazine_entry {
	void *block;
	uint32_t *slot;
};

struct core_thread {
	/* Depth inside core_alloc/core_free/mmap (internal_scope.h) and
	 * the flags above. */
	unsigned int allocator_state;
	/* Depth of the profiler's own scope (internal_scope.h). */
	unsigned int internal_depth;
	/* Blocks held, and the most held (0: shut), per magazine. */
	uint8_t magazine_count[CORE_MAGAZINES];
	uint8_t magazine_limit[CORE_MAGAZINES];
	/* The magazines were opened, or never will be (being opened, could
	 * not be, or flushed at thread exit): free stops trying. */
	bool magazines_settled;
	/* The blocks, CORE_MAGAZINE_BLOCKS a magazine, made when the
	 * magazines open: not in the thread's static TLS, which glibc
	 * takes from every thread's stack (a thread made with
	 * PTHREAD_STACK_MIN has little to spare). */
	struct core_magazine_entry *magazine_block;
	struct thread_counters counters;
};

extern __thread struct core_thread core_thread;

#endif

/*
 * The frame memo: what a walk by offsets needs to know about a site,
 * per thread (see below).  Here rather than in callsite.c so that the
 * allocation's common routed case can read it inline
 * (frame_memo_charge_caller).
 */
#ifndef ALLOCINFO_CORE_FRAME_MEMO_H
#define ALLOCINFO_CORE_FRAME_MEMO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/callsite.h"
#include "core/codetag.h"

/*
 * What a walk by offsets needs to know about a site, remembered per
 * thread.
 *
 * Each level of a walk looks the frame's tag up (for its route and its
 * caller offset) and, for stacks, asks the classifier about it: in the
 * global table every lookup lands on a cache line of its own, and the
 * classifier searches a module's symbols.  With ALLOCINFO_DEPTH=4 that
 * was most of what an allocation cost (perl: a third of its samples),
 * and at sqlite3's wrapper sites a third of allocinfo's share.  A
 * thread's stacks repeat, so a small direct-mapped table in the thread
 * keeps, per site, the answers that do not change once known: the tag,
 * its route once decided, its caller offset once confirmed, and the
 * classifier's answer.  An entry holds only while no library has been
 * unloaded since it was made (codetag_retirements): another may be
 * mapped at the same addresses.
 */
/* log2 of a table's sets, two slots each: 1,024 slots at depth 1 ... */
#define FRAME_MEMO_SET_BITS_ONE_FRAME 9
/*
 * With stacks on, a walk looks up every frame of the chain and the
 * frames it sees through, not only the wrappers' callers: cc1 at
 * ALLOCINFO_DEPTH=4 meets several thousand, which thrashed 1,024 slots.
 * Under callgrind (bench/instructions) a compile of small4.c ran
 * 380.5 M instructions with 1,024 slots, 362.4 M with 2,048 and 361.8 M
 * with 4,096; natively a frame that misses costs less (callgrind's own
 * frames send some to the symbol tables), but it misses fewer times
 * again with 4,096.  A larger table costs a process more to zero (at
 * depth 1, 2,048 slots cost a compile 0.04%): so only with stacks on.
 */
#define FRAME_MEMO_SET_BITS_STACKS 11	/* ... 4,096 with stacks on */

/* The bits this process uses, the hash's top bits: callsite_init sets
 * them by ALLOCINFO_DEPTH before a thread makes its table (depth 1's
 * until then), and they never change after. */
extern unsigned int frame_memo_set_bits;

/* The entries of every thread's table. */
static inline size_t frame_memo_slots(void)
{
	return (size_t)2 << frame_memo_set_bits;
}

/*
 * @site's set in a thread's table: two entries side by side (one cache
 * line), at the top bits of a multiplicative hash.  Two ways, not one:
 * cc1 calls its wrappers from over a thousand sites, and a direct-mapped
 * table lost a fifth of them to conflicts.  The first entry of a set is
 * the one used last.
 */
static inline size_t frame_memo_set(uintptr_t site)
{
	return (size_t)(((uint64_t)site * 0x9e3779b97f4a7c15ull) >>
			(64 - frame_memo_set_bits)) * 2;
}

struct frame_memo {
	uintptr_t site;
	uintptr_t module;
	uint32_t index;            /* the site's own tag */
	int32_t caller_offset;     /* confirmed, else 0 */
	uint16_t route;            /* enum codetag_route */
	uint16_t code;             /* enum callsite_code, or as below */
	uint32_t retirements;      /* codetag_retirements when made */
};

/* A frame_memo's code before it is known: with stacks off, until the
 * site's tag has been classified. */
#define FRAME_MEMO_CODE_UNKNOWN 0xffffu

/* @site's entry in @table, or NULL: no change to the table. */
static inline const struct frame_memo *frame_memo_find(const struct frame_memo *table,
						       uintptr_t site)
{
	const struct frame_memo *set = &table[frame_memo_set(site)];

	if (set[0].site == site)
		return &set[0];
	return set[1].site == site ? &set[1] : NULL;
}

/*
 * The table is 32 KiB, too much for every thread's static TLS: it is
 * the profiler's memory, made on a thread's first walk (or taken over
 * from a thread that exited, callsite.c's kept_memos) and freed or
 * kept for the next thread when the thread exits (memo_key).  A thread that cannot have
 * one walks without: each frame then costs a lookup in the global
 * table.  NULL until then.
 */
extern __thread struct frame_memo *frame_memo;

/* Whether a tag's @flags say its site lies in a wrapper (the code
 * classify_site told it; 0 before). */
static inline bool codetag_flags_wrapper(uint32_t flags)
{
	return (flags & CODETAG_FLAG_CODE_MASK) ==
	       ((uint32_t)(CALLSITE_CODE_WRAPPER + 1) << CODETAG_FLAG_CODE_SHIFT);
}

/*
 * The tag of @caller if this thread's memo knows it as a charged site
 * (a caller the small slot array does not give), else 0.  Run it inside the
 * allocator (core_thread_enter_fast): a signal handler's allocation may
 * reorder a set of the memo under it.
 */
static inline uint32_t caller_charged_by_memo(uintptr_t caller)
{
	const struct frame_memo *m, *table = frame_memo;

	if (!table)
		return 0;
	m = frame_memo_find(table, caller);
	if (!m || m->route != CODETAG_ROUTE_SELF ||
	    m->retirements != atomic_load_explicit(&codetag_retirements,
						   memory_order_acquire))
		return 0;
	return m->index;
}

#endif

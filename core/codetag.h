/*
 * Codetags: one per allocation call site.
 *
 * A call site is the return address into the code that called the
 * allocator (the kernel uses the file:line of the alloc_hooks() macro
 * expansion; user space only has the return address).  The table maps a
 * site to a small tag index and never forgets a site: tags are never
 * freed, so an index stored in a block's slot stays valid for the
 * life of the process, exactly as the kernel's static codetags do.
 *
 * The text fields (file, line, function, module) are left empty by the
 * core: it knows nothing of symbols or text.  The report's symbolizer
 * fills them in its own copy of a snapshot.
 */
#ifndef ALLOCINFO_CORE_CODETAG_H
#define ALLOCINFO_CORE_CODETAG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum codetag_flags {
	/* Some counts of this tag may be off: it allocated before the
	 * profiler had read its options, or stands in for sites that did
	 * not fit the table.  Printed as " accurate:no". */
	CODETAG_FLAG_INACCURATE = 1u << 0,
	/* caller_offset was measured twice and agreed: it may be used. */
	CODETAG_FLAG_CALLER_OFFSET_CONFIRMED = 1u << 2,
	/* Bits 4-5: the classifier's answer for the site (enum
	 * callsite_code + 1, core/callsite.h), 0 until it was asked.  Set
	 * once, by the first thread to ask; kept so that the router's
	 * memory can remember it (callsite_visit_learned). */
	CODETAG_FLAG_CODE_SHIFT = 4,
	CODETAG_FLAG_CODE_MASK = 3u << 4,
};

/*
 * How an allocation at a site finds its tag (see core/callsite.h).
 * Decided once per site; the fast path tests for CODETAG_ROUTE_SELF.
 */
enum codetag_route {
	CODETAG_ROUTE_UNDECIDED = 0, /* the next allocation decides */
	CODETAG_ROUTE_SELF,          /* the site is the tag */
	CODETAG_ROUTE_UNWIND,        /* a wrapper site, or stacks are on:
				      * each allocation unwinds to its tag */
};

/*
 * A site's tag as the core keeps it: 40 bytes, so that with its
 * counters (alloc_tag.h) a tag is one cache line.  It holds no text: a
 * report names the sites of its snapshot (struct site_name, in
 * core/snapshot.h), and every tag would pay for a file, line, function
 * and module in the table's pages.
 */
struct codetag {
	uintptr_t site;            /* return address; 0 = unused slot */
	/* A stack tag's chain of call sites, innermost first (stack[0] ==
	 * site); never freed, like the tag.  NULL for a site tag. */
	const uintptr_t *stack;
	/* For a wrapper site (callsite.c): where its caller's return
	 * address lies, in bytes above the wrapper's stack pointer at the
	 * call; 0 until measured, -1 when it varies (struct
	 * callsite_facts). */
	int32_t caller_offset;
	uint32_t flags;            /* enum codetag_flags */
	uint16_t route;            /* enum codetag_route */
	uint16_t stack_depth;      /* frames in stack; 0 for a site tag */
	/* caller_offset where an allocation at this wrapper site may be
	 * charged to the site it reads there, else 0: what callsite.c's
	 * refresh_charge_offset derives from the fields above, each time
	 * one of them changes, so that the allocation tests one field. */
	int32_t charge_offset;
	/* For an anonymous helper's site that a wrapper of its module
	 * calls (sqlite3's allocator behind sqlite3Malloc): the wrapper,
	 * and where its caller lies, once a walk went that way, packed by
	 * callsite.c's remember_helper_charge; 0 until then and wherever
	 * refresh_charge_offset finds the site's fields no longer allow
	 * it.  Set once: the first wrapper found keeps it. */
	uint64_t charge_via;
};

/* Tag indices with a fixed meaning. */
enum {
	CODETAG_INTERNAL = 0,      /* ALLOC_NO_CODETAG: profiler overhead */
	CODETAG_OVERFLOW = 1,      /* sites that found the table full */
	CODETAG_FIRST_SITE = 2,
};

/* Upper bound on distinct call sites; past it, CODETAG_OVERFLOW. */
#define CODETAG_MAX (1u << 18)

/*
 * Returns the tag index of @site, creating the tag on first sight.
 * Lock-free: safe from any thread and from signal handlers, never
 * allocates, never makes a system call.
 */
/* codetag_index_for_site(site), the fast path, is inline in alloc_tag.h. */

/*
 * The tag of @site itself, never routed: the caller of a wrapper, found
 * by unwinding, is charged here.  Lock-free like the above.
 */
uint32_t codetag_index_for_site_unrouted(uintptr_t site);

/* The tag of @site if it has one, else 0: a lookup that makes none. */
uint32_t codetag_site_find(uintptr_t site);

/*
 * The slot word of @site if the medium or the large slot array holds it
 * (alloc_tag.h), else 0: the lookup of a site the small array does not
 * hold, which makes no tag, writes nothing and needs no scope; 0 at
 * once for a site a full table's filter turns away.  Lock-free.
 */
uint32_t codetag_site_word_known(uintptr_t site);

/*
 * Stack tags: one per distinct chain of call sites (ALLOCINFO_DEPTH),
 * in a table of their own.  codetag_find_stack returns the chain's tag
 * index, or 0 if it has none yet; codetag_index_for_stack creates it,
 * keeping @frames itself (storage the caller never frees or changes)
 * and setting *@kept, or returns the tag another thread created first
 * (then *@kept is false and @frames is the caller's again).
 * Lock-free; never allocates.
 */
uint32_t codetag_find_stack(const uintptr_t *frames, unsigned int depth);
uint32_t codetag_index_for_stack(const uintptr_t *frames, unsigned int depth,
				 int *kept);

/* Marks every tag created so far inaccurate: they were created in the
 * early window before the profiler was ready.  Called once by core_init. */
void codetag_mark_existing_inaccurate(void);

/*
 * Sites in a library that was unloaded.  Another library may later be
 * mapped at the same addresses, so the old tags are retired: their site
 * gets the top bit and the unload's generation in bits 48-62, the report
 * names them from text kept at unload time, and new allocations at those
 * addresses get new tags.  Blocks still live keep counting on the old
 * tags until freed.
 */
#define CODETAG_RETIRED_BIT ((uintptr_t)1 << 63)

static inline uintptr_t codetag_retired_site(uintptr_t site, uint32_t generation)
{
	return site | CODETAG_RETIRED_BIT |
	       ((uintptr_t)(generation & 0x7fff) << 48);
}

static inline uintptr_t codetag_site_address(uintptr_t site)
{
	return site & (((uintptr_t)1 << 48) - 1);
}

void codetag_retire_sites(uintptr_t lo, uintptr_t hi, uint32_t generation);

/* Bumped by every codetag_retire_sites(), before it retires anything:
 * what a thread remembers about a site address (core/callsite.c) holds
 * only while this has not changed. */
extern _Atomic uint32_t codetag_retirements;

/* Number of tag indices handed out so far (an upper bound for walks). */
uint32_t codetag_count(void);

/* Tag @index's route was just decided: if it is SELF, the fast path
 * may take it from the slot from now on. */
void codetag_publish_route(uint32_t index);

/* Tag @index (of @site) has the charge_offset @offset now: the small
 * array's slot of the site, if it has one, takes a copy (struct
 * codetag_slot). */
void codetag_publish_charge_offset(uint32_t index, uintptr_t site, int32_t offset);

/* The table's slow path (alloc_tag.h): the lookup of @site reached the
 * empty @slot of the small slot array; returns the slot word of the
 * site's tag, from the large array once the small one is closed, and
 * inserting the site on first sight.  Lock-free; never allocates. */
uint32_t codetag_site_word_past_small(uintptr_t site, uint32_t slot);

/* Whether the table is full and its filter made (codetag.c): new sites
 * are then turned away without probing the slot arrays. */
bool codetag_full_table_filtered(void);

/* Bytes of the tag table and its slot arrays in memory now (profiler
 * memory; report time only: a system call per 1 MiB). */
size_t codetag_resident_bytes(void);

/* Whether a small slot array (of sites or of chains) has closed: a
 * site or a chain then may have two tags, if two threads saw it first
 * as an array closed (snapshot.c merges them). */
bool codetag_may_have_twins(void);

#endif

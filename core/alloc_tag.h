/*
 * struct alloc_tag: a codetag with its live counters, as in the kernel's
 * include/linux/alloc_tag.h.
 *
 * The counters hold large blocks, mappings and the profiler's own
 * memory; a small block is counted by its slot alone (alloc_inline.h),
 * and a report adds the slots to the counters (snapshot.c).
 *
 * Counting has two levels, like the kernel's per-CPU counters.
 * - Each thread keeps its own delta for every tag in an array indexed by
 *   tag (struct thread_counters), updated with plain loads and stores:
 *   no lock prefix, no shared cache line, no lookup on the fast path.
 *   The array is mapped when the thread registers, as large as the tags
 *   so far, and doubled when a tag past it is counted.  It is folded
 *   into the shared counters when the thread exits.
 * - The shared counters are one pair of atomics in the tag, written
 *   only off the fast path: counts that cannot go to a thread's array
 *   (early, exiting, or a signal handler interrupting an update), a
 *   thread's deltas as it exits, and mappings (page_map.c, under its
 *   lock).  Shards there bought nothing: they were 128 of a tag's 192
 *   bytes, two thirds of the table's pages.
 * A tag's value is its shared pair plus every live thread's delta for it
 * (alloc_tag_read).  A free subtracts on the freeing thread, so one
 * thread's delta may be negative while the sum stays right.  The sum is
 * exact whenever the threads are quiet; while they run, a reader may see
 * a delta in flight between a thread and the shared pair.
 */
#ifndef ALLOCINFO_CORE_ALLOC_TAG_H
#define ALLOCINFO_CORE_ALLOC_TAG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/callsite.h"
#include "core/codetag.h"
#include "core/thread.h"

struct alloc_tag_counters {
	_Atomic int64_t bytes;
	_Atomic int64_t calls;
};

/* One cache line a tag. */
struct alloc_tag {
	struct codetag ct;
	struct alloc_tag_counters shared;
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct alloc_tag) == 64, "a tag is one cache line");

/*
 * The codetag table (codetag.c): tags by index, and the open-addressing
 * slots that map a site to its index.  The lookup is here, inline, as
 * the fast path of every allocation; the insertion is out of line.
 *
 * A slot holds the site itself beside the index, and whether the tag's
 * route is SELF, so that the fast path reads one line of the slot array
 * and none of the tag's: with many sites (bench/scaling) each probe of
 * a tag was a cache miss of its own.  The tag stays the truth: a slot
 * whose site is not published yet (0) is checked against the tag, and a
 * slot without the SELF bit sends the allocation to the tag's route.
 *
 * Three slot arrays.  A hash spreads sites over the whole array, so each
 * new site touched a page of its own: the 8 MiB array for 2^18 tags
 * cost cc1 (1,289 sites) megabytes of RSS, and with ALLOCINFO_DEPTH=4
 * (4,400 sites, frames included) two page faults a site, a fifth of a
 * short compile's time.  The first CODETAG_SMALL_SITES sites go to a
 * 256 KiB array, at most half full; once it has taken its share it is
 * closed, and the next CODETAG_MEDIUM_SITES go to a 512 KiB one, the
 * rest to the large one.  A lookup probes the small array to an empty
 * slot, and the others only then (codetag_site_word_past_small): the
 * medium one while it takes sites, the large one first once it is
 * closed, since most sites are there then.
 *
 * Only the small array is probed inline, so a site past it costs every
 * allocation there calls and a second lookup (core_malloc_by_route).
 * Sites take the arrays in the order they first allocate, and a large
 * program's hot ones may come late: Debian's rustc (LLVM in libLLVM)
 * has 4,500, and with a 64 KiB small array (2,048 sites) 1.44 M of its
 * allocations compiling bench/workloads/churn.rs went the long way,
 * 4.7% of all its instructions (bench/instructions --warm 1 OLD NEW --
 * /usr/bin/rustc -O churn.rs: 3,995 M and 3,805 M, plain jemalloc
 * 3,732 M).  The cost of the larger array is its pages: a hash spreads
 * sites over all 64 of them, 192 KiB more of the profiler's memory than
 * before for a program of a thousand sites, and no measurable change in
 * python3 -c pass (1,179 to 1,377 page faults either way).
 *
 * The medium array's size is a trade: clang -O2 -c at depth 4 (over
 * 6,000 sites) put thousands in the large array, 3,100 page faults and
 * 6.6 MiB of the profiler's memory, with a 128 KiB one; with 512 KiB,
 * bench/scaling's 100,000 sites cost 47.8 ns a pair instead of 46.7,
 * its 10,000 37.7 instead of 38.4.
 */
#define CODETAG_SLOTS (2 * CODETAG_MAX) /* load factor <= 1/2 */
#define CODETAG_SMALL_SLOTS (1u << 14)
#define CODETAG_SMALL_SITES (CODETAG_SMALL_SLOTS / 2)
#define CODETAG_MEDIUM_SLOTS (1u << 15)
#define CODETAG_MEDIUM_SITES (CODETAG_MEDIUM_SLOTS / 2)
#define CODETAG_SLOT_SELF  (1u << 31)
#define CODETAG_SLOT_INDEX (CODETAG_SLOT_SELF - 1)

struct codetag_slot {
	_Atomic uintptr_t site;    /* the tag's site; 0 until published */
	_Atomic uint32_t word;     /* index | CODETAG_SLOT_SELF; 0: empty */
	/* In the small array, the tag's charge_offset (struct codetag) as
	 * refresh_charge_offset last stored it, so that malloc's fast path
	 * reads a routed site's way to its caller on the line it has just
	 * probed (codetag_caller_word_at_slot); 0 elsewhere. */
	_Atomic int32_t charge_offset;
};

extern struct alloc_tag codetag_tags[CODETAG_MAX];
extern struct codetag_slot codetag_small_slots[CODETAG_SMALL_SLOTS];

static inline struct alloc_tag *codetag_tag(uint32_t index)
{
	return &codetag_tags[index];
}

/* A multiplicative hash of @site; codetag_site_hash is its bits 32-63. */
static inline uint64_t codetag_site_product(uintptr_t site)
{
	return (uint64_t)site * 0x9e3779b97f4a7c15ull;
}

static inline uint32_t codetag_site_hash(uintptr_t site)
{
	return (uint32_t)(codetag_site_product(site) >> 32);
}

/*
 * Whether @s holds @site (with slot word @word): published, or claimed
 * by an insertion that has not published the site yet, whose tag
 * already holds it.
 */
static inline bool codetag_slot_holds(struct codetag_slot *s, uint32_t word,
				      uintptr_t site)
{
	uintptr_t published = atomic_load_explicit(&s->site, memory_order_relaxed);

	if (__builtin_expect(published == site, 1))
		return true;
	return __builtin_expect(published == 0, 0) &&
	       __atomic_load_n(&codetag_tags[word & CODETAG_SLOT_INDEX].ct.site,
			       __ATOMIC_RELAXED) == site;
}

/* The slot word of @site (index | CODETAG_SLOT_SELF), inserting the site
 * on first sight (then without the SELF bit). */
static inline uint32_t codetag_site_word(uintptr_t site)
{
	uint32_t slot = codetag_site_hash(site) & (CODETAG_SMALL_SLOTS - 1);

	for (;;) {
		struct codetag_slot *s = &codetag_small_slots[slot];
		uint32_t word = atomic_load_explicit(&s->word, memory_order_acquire);

		if (__builtin_expect(word == 0, 0))
			return codetag_site_word_past_small(site, slot);
		if (__builtin_expect(codetag_slot_holds(s, word, site), 1))
			return word;
		slot = (slot + 1) & (CODETAG_SMALL_SLOTS - 1);
	}
}

/*
 * The slot word of @site if the small array holds it, published; else
 * 0 (a site past the small array, new, or being inserted), and the
 * caller takes codetag_index_for_site out of line.  No call: the malloc
 * fast path keeps its registers for jemalloc's call.
 */
static inline uint32_t codetag_site_word_small_at(uintptr_t site,
						   const struct codetag_slot **slot)
{
	/* The slot's byte offset, codetag_site_hash's slot times the
	 * slot's 16 bytes, taken from the product by one shift and one
	 * mask: two instructions fewer on every malloc. */
	const size_t mask = (CODETAG_SMALL_SLOTS - 1) * sizeof(struct codetag_slot);
	size_t offset = (size_t)(codetag_site_product(site) >> (32 - 4)) & mask;

	_Static_assert(sizeof(struct codetag_slot) == 1u << 4, "a slot is 16 bytes");
	for (;;) {
		struct codetag_slot *s =
			(struct codetag_slot *)((char *)codetag_small_slots + offset);
		uint32_t word = atomic_load_explicit(&s->word, memory_order_acquire);

		/* The site first: it is the common answer, and an empty
		 * slot's site is 0, so the empty test comes off the hot
		 * path (the word is still read first, for its acquire). */
		if (__builtin_expect(atomic_load_explicit(&s->site, memory_order_relaxed) ==
				     site, 1) ||
		    __builtin_expect(word == 0, 0)) {
			*slot = s;
			return word;
		}
		offset = (offset + sizeof(*s)) & mask;
	}
}

/* The same, where the slot is not wanted. */
static inline uint32_t codetag_site_word_small(uintptr_t site)
{
	const struct codetag_slot *slot;

	return codetag_site_word_small_at(site, &slot);
}

/* The tag index of @site, inserting it on first sight. */
static inline uint32_t codetag_site_lookup(uintptr_t site)
{
	return codetag_site_word(site) & CODETAG_SLOT_INDEX;
}

/*
 * The tag an allocation at @site is charged to: its own, unless the
 * site is a wrapper's (then its caller's, found by callsite_route, with
 * @caller_sp if known, else 0).  By @site's slot word, when the caller
 * has it.
 */
static inline uint32_t codetag_index_for_word(uint32_t word, uintptr_t site,
					      uintptr_t caller_sp)
{
	uint32_t index = word & CODETAG_SLOT_INDEX;

	if (__builtin_expect(word & CODETAG_SLOT_SELF, 1))
		return index;
	if (__atomic_load_n(&codetag_tags[index].ct.route,
			    __ATOMIC_RELAXED) == CODETAG_ROUTE_SELF)
		return index;
	return callsite_route(index, site, caller_sp);
}

/*
 * A helper's charge_via (struct codetag): the wrapper's return address
 * in the helper's frame, as its distance from the helper's site (one
 * module: 32 bits), then, in 8-byte stack slots above the site's stack
 * pointer, where that return address lies (the site's caller offset)
 * and where the wrapper's caller's lies.
 */
static inline uint64_t codetag_via_pack(uintptr_t site, uintptr_t wrapper_return,
					uint32_t first_slots, uint32_t charged_slots)
{
	return (uint64_t)(uint32_t)(int32_t)(wrapper_return - site) |
	       (uint64_t)first_slots << 32 | (uint64_t)charged_slots << 48;
}

static inline uintptr_t codetag_via_wrapper_return(uint64_t via, uintptr_t site)
{
	return site + (uintptr_t)(intptr_t)(int32_t)(uint32_t)via;
}

static inline uintptr_t codetag_via_first_offset(uint64_t via)
{
	return (uintptr_t)((via >> 32) & 0xffff) * sizeof(uintptr_t);
}

static inline uintptr_t codetag_via_charged_offset(uint64_t via)
{
	return (uintptr_t)(via >> 48) * sizeof(uintptr_t);
}

/*
 * The small slot word of the caller an allocation at the routed site
 * @site (slot word @site_word, without SELF) is charged to, when the
 * site's tag gives where that caller lies, or 0; @caller_sp is the
 * site's stack pointer (trusted where the word below it is @site).
 * Two ways, both read in callsite.c's walks first:
 *
 * - a wrapper's site: its tag's charge_offset (refresh_charge_offset)
 *   is where its caller lies;
 * - an anonymous helper's site (a static function of a stripped
 *   library, as sqlite3Malloc calls one that calls malloc), whose
 *   tag's charge_via names the wrapper that calls it: if the return
 *   address at the site's caller offset is that wrapper's, the
 *   wrapper's caller lies at the offset charge_via gives.  Where it is
 *   not a charged site (sqlite3's), callsite.c's charge_helper goes on
 *   from there.
 *
 * If that caller is a charged site, its word has SELF.  Nothing is
 * written, called or allocated: no internal scope is needed.
 * codetag_caller_at finds, in *@at, where that caller's return address
 * lies, and returns false where neither way is open.
 */
static inline bool codetag_caller_at(uint32_t site_word, uintptr_t site, uintptr_t caller_sp,
				     uintptr_t *at)
{
	const struct codetag *ct = &codetag_tags[site_word & CODETAG_SLOT_INDEX].ct;
	int32_t offset = __atomic_load_n(&ct->charge_offset, __ATOMIC_RELAXED);
	uintptr_t charged_offset = (uintptr_t)offset;

	if (((const uintptr_t *)caller_sp)[-1] != site)
		return false;
	if (offset <= 0) {
		uint64_t via = __atomic_load_n(&ct->charge_via, __ATOMIC_RELAXED);

		if (!via || *(const uintptr_t *)(caller_sp + codetag_via_first_offset(via)) !=
				    codetag_via_wrapper_return(via, site))
			return false;
		charged_offset = codetag_via_charged_offset(via);
	}
	*at = caller_sp + charged_offset;
	return true;
}

static inline uint32_t codetag_caller_word(uint32_t site_word, uintptr_t site,
					   uintptr_t caller_sp)
{
	uintptr_t at;

	if (!codetag_caller_at(site_word, site, caller_sp, &at))
		return 0;
	return codetag_site_word_small(*(const uintptr_t *)at);
}

/*
 * codetag_caller_word for malloc's fast path, which found @site_word in
 * the small array's @slot (or reached the empty @slot, then 0), and
 * whose @caller_sp is its own caller's, where @site was read: so the
 * word below @caller_sp is @site, and a wrapper's way to its caller is
 * the slot's copy of charge_offset, on the line the probe has read.
 * Through the tag (codetag_caller_at) a routed malloc took 7
 * instructions more, and the tag's line.  A helper's way (charge_via)
 * is the tag's alone.  A new site's empty slot is not read: another
 * thread may have given it to another site since.  Where a wrapper's
 * caller lies goes to *@wrapper_caller_at (a helper's leaves it alone),
 * for the walk on past wrappers called by wrappers.
 */
static inline uint32_t codetag_caller_word_at_slot(const struct codetag_slot *slot,
						   uint32_t site_word, uintptr_t site,
						   uintptr_t caller_sp,
						   uintptr_t *wrapper_caller_at)
{
	int32_t offset;

	if (__builtin_expect(!site_word, 0))
		return 0;
	offset = atomic_load_explicit(&slot->charge_offset, memory_order_relaxed);
	if (__builtin_expect(offset > 0, 1)) {
		uintptr_t at = caller_sp + (uintptr_t)offset;

		*wrapper_caller_at = at;
		return codetag_site_word_small(*(const uintptr_t *)at);
	}
	return codetag_caller_word(site_word, site, caller_sp);
}

/*
 * Wrappers called by wrappers, as libstdc++'s std::string::_M_append
 * calls _M_mutate, which calls operator new: the tag charged for an
 * allocation whose wrapper's caller is @caller, resuming at @caller_sp,
 * where @caller is a charged site, or a wrapper's site whose tag's
 * charge_offset gives its own caller, and so on for up to
 * CODETAG_WRAPPER_CHAIN frames; else 0.  This is the answer callsite.c's
 * walk by offsets gives (charge_by_offset: right after a wrapper, a
 * charged frame is the answer), from what the tags hold, with no memo:
 * cppcheck makes 137,000 of its 5.5 million news so, each of which took
 * about 260 instructions through core_malloc_by_route and the memo, and
 * takes 160 now, the allocation included (callgrind).  Nothing is
 * written, called or allocated.
 *
 * As many frames as callsite.c's walk looks past (CALLSITE_WRAPPER_FRAMES):
 * Rust's format! grows its String six wrappers deep (write_str, reserve,
 * finish_grow, under core::fmt::write and an integer's fmt), and with 4
 * each such realloc took the memo, about 400 instructions
 * (bench/workloads/churn.rs: 1.13 of plain jemalloc's instructions with
 * 4, 1.06 with 12 or 16).
 */
#define CODETAG_WRAPPER_CHAIN 16

/*
 * The chain from a caller already looked up: @word, the small slot word
 * of the return address that lies at @at (0: not in the array), found
 * in @slot.  The way past each wrapper is its slot's copy of
 * charge_offset, on the line just probed, not the tag's.  The first
 * probe is made before the loop (codetag_charged_past_wrappers): as one
 * loop with the probe at its top, GCC's code took 18 instructions more
 * a new on bench/workloads/cxx_churn.cc's mode 7.
 */
static inline uint32_t codetag_charged_from(uint32_t word, const struct codetag_slot *slot,
					    uintptr_t at)
{
	for (unsigned int frame = 1;; frame++) {
		int32_t offset;

		if (word & CODETAG_SLOT_SELF)
			return word - CODETAG_SLOT_SELF;
		if (!word)
			return 0;
		offset = atomic_load_explicit(&slot->charge_offset, memory_order_relaxed);
		if (offset <= 0 || frame == CODETAG_WRAPPER_CHAIN)
			return 0;
		at += sizeof(uintptr_t) + (uintptr_t)offset;
		word = codetag_site_word_small_at(*(const uintptr_t *)at, &slot);
	}
}

static inline uint32_t codetag_charged_past_wrappers(uintptr_t caller, uintptr_t caller_sp)
{
	const struct codetag_slot *slot;
	uint32_t word = codetag_site_word_small_at(caller, &slot);

	return codetag_charged_from(word, slot, caller_sp - sizeof(uintptr_t));
}

/* The tag an allocation at the routed site @site is charged to, as
 * codetag_caller_word finds its caller and codetag_charged_past_wrappers
 * goes on from there, or 0: for realloc's and large blocks' paths, which
 * take no second call for wrappers called by wrappers. */
static inline uint32_t codetag_caller_charged(uint32_t site_word, uintptr_t site,
					       uintptr_t caller_sp)
{
	uintptr_t at;

	if (!codetag_caller_at(site_word, site, caller_sp, &at))
		return 0;
	return codetag_charged_past_wrappers(*(const uintptr_t *)at, at + sizeof(uintptr_t));
}

static inline uint32_t codetag_index_for_site(uintptr_t site)
{
	return codetag_index_for_word(codetag_site_word(site), site, 0);
}

/* Adds to @tag's shared counters: the slow path, and the mmap path. */
static inline void alloc_tag_adjust(struct alloc_tag *tag, int64_t bytes,
				    int64_t calls)
{
	struct alloc_tag_counters *c = &tag->shared;

	if (bytes)
		atomic_fetch_add_explicit(&c->bytes, bytes, memory_order_relaxed);
	if (calls)
		atomic_fetch_add_explicit(&c->calls, calls, memory_order_relaxed);
}

void alloc_tag_count_slow(uint32_t index, int64_t bytes, int64_t calls);
/* A tag past the thread's array: grows it, then counts. */
void alloc_tag_count_grow(uint32_t index, int64_t bytes, int64_t calls);

/* Marks the page of @tc's array that holds tag @index's delta as
 * written (struct thread_counters), once: the bit is stored only when
 * it was clear, so the line stays clean after. */
static inline void thread_counters_mark_written(struct thread_counters *tc, uint32_t index)
{
	uint32_t page = index / THREAD_COUNTERS_PAGE_TAGS;
	_Atomic uint64_t *word = &tc->written[page / 64];
	uint64_t bits = atomic_load_explicit(word, memory_order_relaxed);
	uint64_t bit = 1ull << (page % 64);

	if (__builtin_expect(!(bits & bit), 0))
		atomic_store_explicit(word, bits | bit, memory_order_relaxed);
}

/*
 * Adds to this thread's delta for tag @index: plain loads and stores.
 * Only at allocator depth 1 with the counters active (the caller knows):
 * a signal handler that allocates while this thread is in the middle of
 * it runs at depth 2 and takes the shared, atomic path, so it never
 * races the update it interrupted.
 */
static inline void alloc_tag_count_here(struct core_thread *t, uint32_t index,
					int64_t bytes, int64_t calls)
{
	struct thread_counter *d;

	if (__builtin_expect(index >= t->counters.capacity, 0)) {
		alloc_tag_count_grow(index, bytes, calls);
		return;
	}
	thread_counters_mark_written(&t->counters, index);
	d = &t->counters.delta[index];
	atomic_store_explicit(&d->bytes, atomic_load_explicit(&d->bytes,
			      memory_order_relaxed) + bytes, memory_order_relaxed);
	atomic_store_explicit(&d->calls, atomic_load_explicit(&d->calls,
			      memory_order_relaxed) + calls, memory_order_relaxed);
}

/* Counts @bytes and @calls for tag @index on this thread, from inside
 * the allocator: the thread's slot when it may, else the shared path. */
static inline void alloc_tag_count(uint32_t index, int64_t bytes,
				   int64_t calls)
{
	struct core_thread *t = &core_thread;

	if (__builtin_expect((t->allocator_state & ~(CORE_INTERNAL_SCOPE | CORE_NOT_READY)) != 1 ||
			     t->counters.state != THREAD_COUNTERS_ACTIVE, 0)) {
		alloc_tag_count_slow(index, bytes, calls);
		return;
	}
	alloc_tag_count_here(t, index, bytes, calls);
}

static inline void alloc_tag_add(uint32_t index, int64_t bytes)
{
	alloc_tag_count(index, bytes, 1);
}

static inline void alloc_tag_sub(uint32_t index, int64_t bytes)
{
	alloc_tag_count(index, -bytes, -1);
}

/* Sums tag @index's shared pair and every live thread's delta for it (small
 * blocks not included: core_read_tag). */
void alloc_tag_read(uint32_t index, int64_t *bytes, int64_t *calls);

/* Adds the counters of tags 0 to @n - 1 (as alloc_tag_read gives them)
 * to @live[0 .. @n - 1]: the registry locked once, each thread's deltas
 * read in order, where a read of each tag took the lock a tag (cc1's
 * report: 1,138 tags, 0.12 M instructions). */
struct core_live;
void alloc_tag_add_all(struct core_live *live, uint32_t n);

/* Bytes of the live threads' delta arrays in memory now (profiler
 * memory; report time only). */
size_t alloc_tag_resident_bytes(void);

/* Per-thread counting starts here (called once, by core_init). */
void alloc_tag_init_threads(void);

/* fork(): the registry lock is held across it; the child folds the
 * slots of the threads that did not survive into the shared counters. */
void alloc_tag_prefork(void);
void alloc_tag_postfork_parent(void);
void alloc_tag_postfork_child(void);

#endif

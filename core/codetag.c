/*
 * The codetag table: call site -> tag index, lock-free.
 *
 * Design.  Tags live in one static array indexed by tag index, so an
 * index found in a block's slot leads to its counters with one multiply
 * and no lock.  Sites are found through open-addressing hash tables of
 * tag indices (linear probing, 0 = empty slot): a small one for the
 * first sites and a large one after (alloc_tag.h).  The tables need no
 * initialisation, so they work for the very first malloc, before any
 * constructor has run.  All arrays are zero-filled .bss: the kernel
 * backs them with pages only as they are touched.
 *
 * Insertion.  A thread that misses claims a fresh index, writes the site
 * into that tag, then publishes the index with a CAS on the empty slot.
 * A thread that loses the CAS to the same site abandons its index (the
 * tag keeps site 0 and is skipped by snapshots); a loser to another site
 * probes on.  No thread ever waits for another, so a signal handler that
 * allocates in the middle of an insertion cannot deadlock.
 *
 * Invariants.  A published slot never changes.  tags[i].ct.site is
 * written before i is published (release) and read after the slot is
 * loaded (acquire).  A tag's route changes once, from UNDECIDED to SELF
 * or UNWIND (core/callsite.c); stack tags are born SELF.
 */
#include "core/codetag.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/alloc_tag.h"
#include "core/allocator_pages.h"
#include "core/callsite.h"

struct alloc_tag codetag_tags[CODETAG_MAX];
struct codetag_slot codetag_small_slots[CODETAG_SMALL_SLOTS];
static struct codetag_slot medium_slots[CODETAG_MEDIUM_SLOTS];
/* Sites given slots of the small and the medium array; each is closed
 * at its share (alloc_tag.h). */
static _Atomic uint32_t small_sites, medium_sites;

#define tags codetag_tags
static _Atomic uint32_t next_index = CODETAG_FIRST_SITE;

/*
 * The large arrays, of sites (CODETAG_SLOTS slots, 8 MiB) and of chains
 * (below, 4 MiB), mapped when the first site or chain past the smaller
 * arrays comes: in .bss they were 12 MiB of every process's address
 * space, where almost no process reaches them, and under `ulimit -v`
 * that space is the program's (grep's VmSize was 61 MB, 18 under plain
 * jemalloc).  NULL until then, and for good if the mapping failed: such
 * a site or chain is charged to the overflow tag, marked inaccurate,
 * as when the table is full.  Raw system calls: the program's mmap is
 * interposed, and this memory is the profiler's.
 */
static struct codetag_slot *_Atomic large_site_slots;
static _Atomic uint64_t *_Atomic large_stack_slots;
static atomic_bool large_array_failed;

static void *map_large_array(void *_Atomic *where, size_t bytes)
{
	void *mapped, *expected = NULL;
	int saved_errno;

	if ((mapped = atomic_load_explicit(where, memory_order_acquire)) ||
	    atomic_load_explicit(&large_array_failed, memory_order_relaxed))
		return mapped;
	saved_errno = errno;
	mapped = (void *)syscall(SYS_mmap, NULL, bytes, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	errno = saved_errno;
	if (mapped == MAP_FAILED) {
		atomic_store_explicit(&large_array_failed, true, memory_order_relaxed);
		__atomic_or_fetch(&tags[CODETAG_OVERFLOW].ct.flags, CODETAG_FLAG_INACCURATE,
				  __ATOMIC_RELAXED);
		return NULL;
	}
	/* Two threads at once: the first one's stays. */
	if (!atomic_compare_exchange_strong_explicit(where, &expected, mapped,
						     memory_order_acq_rel,
						     memory_order_acquire)) {
		syscall(SYS_munmap, mapped, bytes);
		return expected;
	}
	return mapped;
}

/* The large site array, mapped if @map; NULL if it is not. */
static struct codetag_slot *large_sites(bool map)
{
	void *_Atomic *where = (void *_Atomic *)&large_site_slots;

	return map ? map_large_array(where, CODETAG_SLOTS * sizeof(struct codetag_slot)) :
		     atomic_load_explicit(where, memory_order_acquire);
}

/*
 * The small slot arrays (of sites, and of chains below) are probed
 * before each new entry is written into them: a read maps the zero page
 * and the write faults again, two faults for each of their pages, and a
 * hash spreads even a hundred entries over all of them (as, the
 * assembler: 30 of its 560 page faults).  One madvise makes an array's
 * pages writable at once; a kernel without MADV_POPULATE_WRITE (before
 * 5.14) leaves them to fault as before.  In a threaded process the
 * second fault of each page also flushes its old mapping from the
 * other CPUs (do_wp_page, an IPI each): Debian's rustc at
 * ALLOCINFO_DEPTH=4 spent 3% of its CPU time so.
 *
 * Not at start, but once the array holds as many entries as it has
 * pages: made at start, they cost every process all of an array's
 * pages, where a process of a few sites touches a few of them
 * (/bin/true has one), and a process that never takes a chain none.
 * By then about two thirds of them are touched already, and a process
 * that goes on to more entries meets the rest.
 */
#define ARRAY_PAGE 4096u

static void populate_for_writing(const void *array, size_t bytes, atomic_bool *done)
{
#ifdef MADV_POPULATE_WRITE
	int saved_errno = errno;
	/* The pages that hold it, whatever .bss shares them: populating
	 * a page changes none of its bytes.  Not page-aligned itself: the
	 * fast path's probe would then share its address's low 12 bits
	 * with other tables' (4K aliasing, see allocator_pages.h). */
	uintptr_t lo = (uintptr_t)array & ~(uintptr_t)(ARRAY_PAGE - 1);
	uintptr_t hi = ((uintptr_t)array + bytes + ARRAY_PAGE - 1) & ~(uintptr_t)(ARRAY_PAGE - 1);

	if (!atomic_exchange_explicit(done, true, memory_order_relaxed))
		(void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
	errno = saved_errno;
#else
	(void)array;
	(void)bytes;
	(void)done;
#endif
}

/* Populates @array (@bytes) once @used entries fill as many pages. */
static void populate_when_used(const void *array, size_t bytes, _Atomic uint32_t *used,
			       atomic_bool *done)
{
	/* At least: two threads' entries may pass the count at once. */
	if (atomic_load_explicit(used, memory_order_relaxed) >= bytes / ARRAY_PAGE &&
	    !atomic_load_explicit(done, memory_order_relaxed))
		populate_for_writing(array, bytes, done);
}

static atomic_bool small_slots_populated;

uint32_t codetag_count(void)
{
	uint32_t n = atomic_load_explicit(&next_index, memory_order_acquire);

	return n < CODETAG_MAX ? n : CODETAG_MAX;
}

/*
 * The next free tag index, or CODETAG_MAX when the table is full (the
 * overflow tag is then marked inaccurate).  Once it is full, every
 * allocation at a new site comes here: it then only reads the shared
 * lines, so threads do not bounce them.
 */
static uint32_t claim_index(void)
{
	uint32_t mine = CODETAG_MAX;

	if (atomic_load_explicit(&next_index, memory_order_relaxed) < CODETAG_MAX)
		mine = atomic_fetch_add(&next_index, 1);   /* see inserts_in_flight */
	if (mine >= CODETAG_MAX) {
		mine = CODETAG_MAX;
		if (!(__atomic_load_n(&tags[CODETAG_OVERFLOW].ct.flags, __ATOMIC_RELAXED) &
		      CODETAG_FLAG_INACCURATE))
			__atomic_or_fetch(&tags[CODETAG_OVERFLOW].ct.flags,
					  CODETAG_FLAG_INACCURATE, __ATOMIC_RELAXED);
	}
	return mine;
}

/*
 * Publishes @site under a fresh index in @array (of @mask + 1 slots),
 * from its empty @slot on; returns the slot word of the site's tag
 * (another thread's, if it published the site first).
 */
static uint32_t publish_site(struct codetag_slot *array, uint32_t mask,
			     uintptr_t site, uint32_t slot, bool *inserted)
{
	uint32_t mine = claim_index();

	*inserted = false;
	if (mine >= CODETAG_MAX)
		return CODETAG_OVERFLOW;
	__atomic_store_n(&tags[mine].ct.site, site, __ATOMIC_RELAXED);

	for (uint32_t probes = 0; probes <= mask; probes++) {
		uint32_t expected = 0;

		if (atomic_compare_exchange_strong_explicit(&array[slot].word, &expected,
				mine, memory_order_release, memory_order_acquire)) {
			atomic_store_explicit(&array[slot].site, site, memory_order_release);
			*inserted = true;
			return mine;
		}
		if (codetag_slot_holds(&array[slot], expected, site)) {
			/* Another thread published this site first. */
			__atomic_store_n(&tags[mine].ct.site, 0, __ATOMIC_RELAXED);
			return expected;
		}
		slot = (slot + 1) & mask;
	}
	__atomic_store_n(&tags[mine].ct.site, 0, __ATOMIC_RELAXED);
	return CODETAG_OVERFLOW;
}

/*
 * Insertions (of sites, and of chains: codetag_index_for_stack) between
 * their claim of an index and the end of their publication: the full
 * table's filter (below) is made only when there are none, so that it
 * holds every site that has a tag.
 * Sequentially consistent with next_index: a maker that sees the table
 * full and none in flight sees every claimed index's site.
 */
static _Atomic uint32_t inserts_in_flight;

static uint32_t insert_site(struct codetag_slot *array, uint32_t mask,
			    uintptr_t site, uint32_t slot, bool *inserted)
{
	uint32_t word;

	atomic_fetch_add(&inserts_in_flight, 1);
	word = publish_site(array, mask, site, slot, inserted);
	atomic_fetch_sub(&inserts_in_flight, 1);
	return word;
}

/* A place in an array that takes @limit entries, @used taken so far,
 * while it has one (never more than half its slots, so that its probes
 * always end). */
static bool claim_place(_Atomic uint32_t *used, uint32_t limit)
{
	uint32_t n = atomic_load_explicit(used, memory_order_relaxed);

	while (n < limit)
		if (atomic_compare_exchange_weak_explicit(used, &n, n + 1,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return true;
	return false;
}

/* Whether the array whose places @used counts has taken its @limit. */
static bool array_closed(_Atomic uint32_t *used, uint32_t limit)
{
	return atomic_load_explicit(used, memory_order_relaxed) >= limit;
}

/* @site's slot word in @array (of @mask + 1 slots), or 0 and the empty
 * slot its probe reached in *@empty. */
static uint32_t probe_site(struct codetag_slot *array, uint32_t mask, uintptr_t site,
			   uint32_t *empty)
{
	uint32_t slot = codetag_site_hash(site) & mask;

	for (;;) {
		struct codetag_slot *s = &array[slot];
		uint32_t word = atomic_load_explicit(&s->word, memory_order_acquire);

		if (word == 0) {
			*empty = slot;
			return 0;
		}
		if (codetag_slot_holds(s, word, site))
			return word;
		slot = (slot + 1) & mask;
	}
}

/* Inserts @site into @array from its empty @slot if the array has a
 * place (@used of @limit; @used NULL: the large array, which always
 * has); the slot word, or 0 if the array is closed. */
static uint32_t insert_if_open(struct codetag_slot *array, uint32_t mask,
			       _Atomic uint32_t *used, uint32_t limit,
			       uintptr_t site, uint32_t slot)
{
	bool inserted;
	uint32_t word;

	if (used && !claim_place(used, limit))
		return 0;
	word = insert_site(array, mask, site, slot, &inserted);
	/* Published by another thread first: the place is not used. */
	if (used && !inserted)
		atomic_fetch_sub_explicit(used, 1, memory_order_relaxed);
	return word;
}

/*
 * Once every tag index is taken, a site the table does not hold is
 * charged to CODETAG_OVERFLOW at every allocation, after probes of the
 * small, the large and the medium array that all miss: three cache
 * misses (the large array is 8 MiB), and a TLB miss each.
 * bench/scaling's 1,000,000 sites in turn took 378 ns a pair where
 * plain jemalloc took 41, and 100,000 sites, all in the table, 80.
 * So when the table fills, a Bloom filter of its sites is made, one
 * 64-bit word of two bits a site (256 KiB, 8 bits a tag), and a site
 * it does not hold is turned away at once; one it holds, or a false
 * positive (about one in twenty), is probed as before.  The table
 * never changes after it is full (no index is left to publish), so the
 * filter, made once, stays true.  It is made by the first lookup that
 * finds the table full with no insertion in flight, one pass over the
 * tags; until then lookups probe.  .bss: a process whose table never
 * fills never touches it.
 */
#define FULL_FILTER_WORDS (1u << 15)
#define FULL_FILTER_WORD_BITS 15
static uint64_t full_filter[FULL_FILTER_WORDS];

enum { FULL_FILTER_NONE, FULL_FILTER_MAKING, FULL_FILTER_READY };
static _Atomic int full_filter_state;

/* @site's two bits, in the word *@word: a hash of its own, as the
 * arrays' slots come from codetag_site_hash's high bits. */
static inline uint64_t full_filter_bits(uintptr_t site, uint32_t *word)
{
	uint64_t h = (uint64_t)site * 0xff51afd7ed558ccdull;

	h ^= h >> 31;
	h *= 0xc4ceb9fe1a85ec53ull;
	*word = (uint32_t)(h >> (64 - FULL_FILTER_WORD_BITS));
	return (1ull << (h & 63)) | (1ull << ((h >> 6) & 63));
}

/* Called once the table is seen full (next_index, sequentially
 * consistent): an insertion that starts after that finds no index left
 * and publishes nothing, so none in flight now means every site is
 * published. */
static void make_full_filter(void)
{
	int expected = FULL_FILTER_NONE;
	uint32_t word;

	if (atomic_load(&inserts_in_flight) != 0 ||
	    !atomic_compare_exchange_strong(&full_filter_state, &expected, FULL_FILTER_MAKING))
		return;
	for (uint32_t i = CODETAG_FIRST_SITE; i < CODETAG_MAX; i++) {
		uintptr_t site = __atomic_load_n(&tags[i].ct.site, __ATOMIC_RELAXED);

		/* Abandoned tags have site 0; stack tags are not found
		 * by site. */
		if (site && !tags[i].ct.stack) {
			uint64_t bits = full_filter_bits(site, &word);

			full_filter[word] |= bits;
		}
	}
	atomic_store_explicit(&full_filter_state, FULL_FILTER_READY, memory_order_release);
}

bool codetag_full_table_filtered(void)
{
	return atomic_load_explicit(&full_filter_state, memory_order_acquire) == FULL_FILTER_READY;
}

/* Whether @site is certainly not in the full table. */
static inline bool full_table_turns_away(uintptr_t site)
{
	uint32_t word;
	uint64_t bits;

	if (!codetag_full_table_filtered())
		return false;
	bits = full_filter_bits(site, &word);
	return (full_filter[word] & bits) != bits;
}

static uint32_t site_word_past_small(uintptr_t site, uint32_t small_slot);

uint32_t codetag_site_word_past_small(uintptr_t site, uint32_t small_slot)
{
	uint32_t word;

	if (full_table_turns_away(site))
		return CODETAG_OVERFLOW;
	word = site_word_past_small(site, small_slot);
	if (word == CODETAG_OVERFLOW &&
	    atomic_load_explicit(&full_filter_state, memory_order_relaxed) == FULL_FILTER_NONE &&
	    atomic_load(&next_index) >= CODETAG_MAX)
		make_full_filter();
	return word;
}

static uint32_t site_word_past_small(uintptr_t site, uint32_t small_slot)
{
	uint32_t word, slot, large_slot = 0;
	struct codetag_slot *large;
	bool large_probed = false;

	if ((word = insert_if_open(codetag_small_slots, CODETAG_SMALL_SLOTS - 1,
				   &small_sites, CODETAG_SMALL_SITES, site, small_slot))) {
		populate_when_used(codetag_small_slots, sizeof(codetag_small_slots),
				   &small_sites, &small_slots_populated);
		return word;
	}
	/* Once the medium array is closed most sites past the small one
	 * are in the large one, which is probed first: they cost the two
	 * probes they cost before the medium array existed (bench/scaling
	 * at 100,000 sites: 49 ns a pair with two, 67 with three). */
	if (array_closed(&medium_sites, CODETAG_MEDIUM_SITES) && (large = large_sites(false))) {
		if ((word = probe_site(large, CODETAG_SLOTS - 1, site, &large_slot)))
			return word;
		large_probed = true;
	}
	if ((word = probe_site(medium_slots, CODETAG_MEDIUM_SLOTS - 1, site, &slot)) ||
	    (word = insert_if_open(medium_slots, CODETAG_MEDIUM_SLOTS - 1, &medium_sites,
				   CODETAG_MEDIUM_SITES, site, slot)))
		return word;
	/* The medium array is closed (or closed just now): the large one,
	 * probed once (a site the full table turns away comes here at
	 * every allocation: bench/scaling's 1,000,000 sites). */
	if (!(large = large_sites(true)))
		return CODETAG_OVERFLOW;
	if (!large_probed &&
	    (word = probe_site(large, CODETAG_SLOTS - 1, site, &large_slot)))
		return word;
	return insert_if_open(large, CODETAG_SLOTS - 1, NULL, 0, site, large_slot);
}

uint32_t codetag_site_word_known(uintptr_t site)
{
	struct codetag_slot *large = large_sites(false);
	uint32_t empty, word = 0;

	/* Past a full table's filter no probe is needed (bench/scaling's
	 * 1,000,000 sites come here at every allocation). */
	if (full_table_turns_away(site))
		return 0;
	if (large && array_closed(&medium_sites, CODETAG_MEDIUM_SITES) &&
	    (word = probe_site(large, CODETAG_SLOTS - 1, site, &empty)))
		return word;
	if ((word = probe_site(medium_slots, CODETAG_MEDIUM_SLOTS - 1, site, &empty)))
		return word;
	if (large && !array_closed(&medium_sites, CODETAG_MEDIUM_SITES))
		word = probe_site(large, CODETAG_SLOTS - 1, site, &empty);
	return word;
}

uint32_t codetag_index_for_site_unrouted(uintptr_t site)
{
	return codetag_site_lookup(site);
}

uint32_t codetag_site_find(uintptr_t site)
{
	uint32_t empty, word;

	if (!(word = probe_site(codetag_small_slots, CODETAG_SMALL_SLOTS - 1, site, &empty)))
		word = codetag_site_word_known(site);
	return word & CODETAG_SLOT_INDEX;
}

/*
 * Stack tags (ALLOCINFO_DEPTH): the same scheme as the site table, in
 * slot arrays of their own keyed by the whole chain, a small one (512
 * KiB, CODETAG_STACK_SMALL chains) and then the large one, for the
 * same reason (a short compile has 4,400 chains).  The small one took
 * 8,192 chains until Debian's rustc at depth 4 (16,000) put half of
 * them in the 4 MiB large one: all of its pages, two faults each.
 * A slot holds the tag's index in its low 32 bits and 32 more bits of
 * the chain's hash above (never 0): a probe compares those before it
 * reads the tag and its chain, two cache misses, and with thousands of
 * chains a probe often passes other chains first.  A stack tag's route
 * is SELF from birth; it is never found by a site lookup.
 */
#define CODETAG_STACK_SMALL_SLOTS (1u << 16)
#define CODETAG_STACK_SMALL (CODETAG_STACK_SMALL_SLOTS / 2)
static _Atomic uint64_t stack_small_slots[CODETAG_STACK_SMALL_SLOTS];
static _Atomic uint32_t small_stacks;
static atomic_bool stack_small_populated;

/* The large chain array (above), mapped if @map; NULL if it is not. */
static _Atomic uint64_t *large_stacks(bool map)
{
	void *_Atomic *where = (void *_Atomic *)&large_stack_slots;

	return map ? map_large_array(where, CODETAG_SLOTS * sizeof(uint64_t)) :
		     atomic_load_explicit(where, memory_order_acquire);
}

/* A chain's hash: the slot from its high 32 bits, the check kept in the
 * slot from its low 32 (made odd, so that a slot in use is never 0). */
static uint64_t stack_hash(const uintptr_t *frames, unsigned int depth)
{
	uint64_t h = depth;

	for (unsigned int i = 0; i < depth; i++)
		h = (h ^ frames[i]) * 0x9e3779b97f4a7c15ull;
	return h | 1;
}

static inline uint64_t stack_slot_word(uint64_t hash, uint32_t index)
{
	return (hash << 32) | index;
}

static bool stack_equal(uint32_t index, const uintptr_t *frames,
			unsigned int depth)
{
	const struct codetag *ct = &tags[index].ct;

	return ct->stack_depth == depth && ct->stack &&
	       !memcmp(ct->stack, frames, depth * sizeof(*frames));
}

/* The chain's tag in @array (of @mask + 1 slots), or 0 at an empty
 * slot. */
static uint32_t find_stack_in(_Atomic uint64_t *array, uint32_t mask, uint64_t hash,
			      const uintptr_t *frames, unsigned int depth)
{
	uint32_t slot = (uint32_t)(hash >> 32) & mask;

	for (uint32_t probes = 0; probes <= mask; probes++) {
		uint64_t word = atomic_load_explicit(&array[slot], memory_order_acquire);

		if (word == 0)
			return 0;
		if ((uint32_t)(word >> 32) == (uint32_t)hash &&
		    stack_equal((uint32_t)word, frames, depth))
			return (uint32_t)word;
		slot = (slot + 1) & mask;
	}
	return 0;
}

uint32_t codetag_find_stack(const uintptr_t *frames, unsigned int depth)
{
	uint64_t hash = stack_hash(frames, depth);
	uint32_t index = find_stack_in(stack_small_slots, CODETAG_STACK_SMALL_SLOTS - 1,
				       hash, frames, depth);

	_Atomic uint64_t *large;

	if (index || !array_closed(&small_stacks, CODETAG_STACK_SMALL) ||
	    !(large = large_stacks(false)))
		return index;
	return find_stack_in(large, CODETAG_SLOTS - 1, hash, frames, depth);
}

/* Publishes tag @mine, whose chain is @frames, in @array; returns it, or
 * the tag another thread published first for the chain (or the
 * overflow tag: no room). */
static uint32_t publish_stack(_Atomic uint64_t *array, uint32_t mask, uint64_t hash,
			      uint32_t mine, const uintptr_t *frames, unsigned int depth)
{
	uint32_t slot = (uint32_t)(hash >> 32) & mask;

	for (uint32_t probes = 0; probes <= mask; probes++) {
		uint64_t expected = 0;

		if (atomic_compare_exchange_strong_explicit(&array[slot], &expected,
							    stack_slot_word(hash, mine),
							    memory_order_release,
							    memory_order_acquire))
			return mine;
		if ((uint32_t)(expected >> 32) == (uint32_t)hash &&
		    stack_equal((uint32_t)expected, frames, depth))
			return (uint32_t)expected;
		slot = (slot + 1) & mask;
	}
	return CODETAG_OVERFLOW;
}

bool codetag_may_have_twins(void)
{
	return array_closed(&small_sites, CODETAG_SMALL_SITES) ||
	       array_closed(&small_stacks, CODETAG_STACK_SMALL);
}

static uint32_t publish_stack_tag(const uintptr_t *frames, unsigned int depth, int *kept)
{
	uint64_t hash = stack_hash(frames, depth);
	uint32_t mine = claim_index();
	_Atomic uint64_t *large;
	uint32_t found;
	struct codetag *ct;

	*kept = 0;
	if (mine >= CODETAG_MAX)
		return CODETAG_OVERFLOW;
	ct = &tags[mine].ct;
	ct->stack = frames;
	ct->stack_depth = (uint16_t)depth;
	__atomic_store_n(&ct->route, CODETAG_ROUTE_SELF, __ATOMIC_RELAXED);
	__atomic_store_n(&ct->site, frames[0], __ATOMIC_RELAXED);

	if (claim_place(&small_stacks, CODETAG_STACK_SMALL)) {
		found = publish_stack(stack_small_slots, CODETAG_STACK_SMALL_SLOTS - 1,
				      hash, mine, frames, depth);
		if (found != mine)
			atomic_fetch_sub_explicit(&small_stacks, 1, memory_order_relaxed);
		populate_when_used(stack_small_slots, sizeof(stack_small_slots), &small_stacks,
				   &stack_small_populated);
	} else if ((large = large_stacks(true))) {
		found = publish_stack(large, CODETAG_SLOTS - 1, hash, mine, frames, depth);
	} else {
		found = CODETAG_OVERFLOW;
	}
	if (found == mine) {
		*kept = 1;
		return mine;
	}
	/* Another thread published this chain first (or the table is
	 * full): abandon our index, as insert_site does. */
	__atomic_store_n(&ct->site, 0, __ATOMIC_RELAXED);
	ct->stack = NULL;
	ct->stack_depth = 0;
	return found;
}

uint32_t codetag_index_for_stack(const uintptr_t *frames, unsigned int depth,
				 int *kept)
{
	uint32_t index;

	/* In flight as a site's insertion is: the full table's filter
	 * reads the tag's stack. */
	atomic_fetch_add(&inserts_in_flight, 1);
	index = publish_stack_tag(frames, depth, kept);
	atomic_fetch_sub(&inserts_in_flight, 1);
	return index;
}

void codetag_mark_existing_inaccurate(void)
{
	uint32_t n = codetag_count();

	for (uint32_t i = CODETAG_FIRST_SITE; i < n; i++)
		if (__atomic_load_n(&tags[i].ct.site, __ATOMIC_RELAXED))
			__atomic_or_fetch(&tags[i].ct.flags,
					  CODETAG_FLAG_INACCURATE, __ATOMIC_RELAXED);
}

/* The slot of @array (of @mask + 1 slots) that holds tag @index of
 * @site, or NULL. */
static struct codetag_slot *slot_in(struct codetag_slot *array, uint32_t mask,
				    uintptr_t site, uint32_t index)
{
	uint32_t slot = codetag_site_hash(site) & mask;

	for (uint32_t probes = 0; probes <= mask; probes++) {
		uint32_t word = atomic_load_explicit(&array[slot].word,
						     memory_order_acquire);

		if (word == 0)
			return NULL;
		if ((word & CODETAG_SLOT_INDEX) == index)
			return &array[slot];
		slot = (slot + 1) & mask;
	}
	return NULL;
}

/* The slot that holds tag @index of @site, or NULL. */
static struct codetag_slot *slot_of_tag(uintptr_t site, uint32_t index)
{
	struct codetag_slot *s = slot_in(codetag_small_slots, CODETAG_SMALL_SLOTS - 1,
					 site, index);
	struct codetag_slot *large;

	if (!s)
		s = slot_in(medium_slots, CODETAG_MEDIUM_SLOTS - 1, site, index);
	if (!s && (large = large_sites(false)))
		s = slot_in(large, CODETAG_SLOTS - 1, site, index);
	return s;
}

void codetag_publish_route(uint32_t index)
{
	const struct codetag *ct = &tags[index].ct;
	struct codetag_slot *slot;

	if (__atomic_load_n(&ct->route, __ATOMIC_RELAXED) != CODETAG_ROUTE_SELF ||
	    ct->stack_depth)
		return;
	slot = slot_of_tag(__atomic_load_n(&ct->site, __ATOMIC_RELAXED), index);
	if (slot)
		atomic_fetch_or_explicit(&slot->word, CODETAG_SLOT_SELF,
					 memory_order_relaxed);
}

void codetag_publish_charge_offset(uint32_t index, uintptr_t site, int32_t offset)
{
	struct codetag_slot *slot = slot_in(codetag_small_slots, CODETAG_SMALL_SLOTS - 1,
					    site, index);

	if (slot)
		atomic_store_explicit(&slot->charge_offset, offset, memory_order_relaxed);
}

_Atomic uint32_t codetag_retirements;

void codetag_retire_sites(uintptr_t lo, uintptr_t hi, uint32_t generation)
{
	uint32_t n = codetag_count();

	atomic_fetch_add_explicit(&codetag_retirements, 1, memory_order_release);

	for (uint32_t i = CODETAG_FIRST_SITE; i < n; i++) {
		uintptr_t site = __atomic_load_n(&tags[i].ct.site, __ATOMIC_RELAXED);

		/* A retired site never matches a lookup again: the probe
		 * passes it by, and the next allocation at that address
		 * makes a tag of its own. */
		if (site >= lo && site < hi) {
			struct codetag_slot *slot = slot_of_tag(site, i);
			uintptr_t retired = codetag_retired_site(site, generation);

			__atomic_store_n(&tags[i].ct.site, retired, __ATOMIC_RELEASE);
			/* The slot keeps the index (the probe chain must not
			 * break), under a site no lookup asks for. */
			if (slot)
				atomic_store_explicit(&slot->site, retired,
						      memory_order_release);
		}
	}
}

size_t codetag_resident_bytes(void)
{
	size_t tag_bytes = (size_t)codetag_count() * sizeof(tags[0]);
	size_t bytes;

	/* The tags in use lie at the start of their array; the slot
	 * arrays are touched wherever the hash puts a site.  An array no
	 * lookup has reached yet (the one before it is still open) has no
	 * page in memory, and mincore over it (a system call per 1 MiB,
	 * 12 for the large arrays) was a tenth of a short process's
	 * report. */
	tag_bytes = (tag_bytes + 4095) & ~(size_t)4095;
	bytes = core_resident_bytes(tags, tag_bytes) +
		core_resident_bytes(codetag_small_slots, sizeof(codetag_small_slots));
	if (array_closed(&small_sites, CODETAG_SMALL_SITES))
		bytes += core_resident_bytes(medium_slots, sizeof(medium_slots));
	if (large_sites(false))
		bytes += core_resident_bytes(large_sites(false),
					     CODETAG_SLOTS * sizeof(struct codetag_slot));
	if (atomic_load_explicit(&full_filter_state, memory_order_relaxed) != FULL_FILTER_NONE)
		bytes += core_resident_bytes(full_filter, sizeof(full_filter));
	if (atomic_load_explicit(&small_stacks, memory_order_relaxed))	/* any chain */
		bytes += core_resident_bytes(stack_small_slots, sizeof(stack_small_slots));
	if (large_stacks(false))
		bytes += core_resident_bytes(large_stacks(false), CODETAG_SLOTS * sizeof(uint64_t));
	return bytes;
}

/*
 * The fast path of malloc and free, inline, so that preload/ compiles it
 * into its exported functions: one screen, no call but jemalloc's, and
 * none at all when the thread's magazine (magazine.h) has a block of
 * the class or room for one.
 *
 * A block's tag is kept outside the block (allocator_pages.h), so the
 * program has all of its jemalloc size class:
 *
 * - a small block (usable <= ALLOC_SMALL_USABLE_MAX) has a 4-byte slot
 *   in its page's slot array, the tag index in the low 18 bits and
 *   usable - counted + 1 in the high 14 (never 0: a slot of 0 has no
 *   block).  malloc sets it, free clears it, and nothing else counts a
 *   small block: its tag's live bytes and calls are the sum of the
 *   slots that name it, made at report time (core_add_small_live).  So
 *   the fast path stores one word per call and updates no counter: the
 *   per-thread counters' loads and stores cost ~40% of the profiler's
 *   time per malloc+free pair (bench/micro);
 * - a large block owns its pages, so its tag and count are kept in the
 *   entry of its first page, and added to the tag's counters
 *   (alloc_tag.h) as it is allocated and freed.
 *
 * "counted" is the block's bytes as its tag shows them (the requested
 * size, or the usable one with ALLOCINFO_SIZE=usable).  Requests get
 * jemalloc's own class, as without the profiler.
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
#include <string.h>

#include "core/alloc.h"
#include "core/alloc_tag.h"
#include "core/allocator_pages.h"
#include "core/internal_scope.h"
#include "core/jemalloc.h"
#include "core/magazine.h"

/* Alignments up to this are what jemalloc gives a 16-byte class. */
#define ALLOC_MIN_ALIGN        16
#define ALLOC_SMALL_USABLE_MAX ALLOCATOR_PAGES_SMALL_MAX
#define ALLOC_TAG_BITS         18
#define ALLOC_PAGE_MASK        ((1u << ALLOCATOR_PAGES_PAGE_SHIFT) - 1)

_Static_assert(CODETAG_MAX <= (1u << ALLOC_TAG_BITS),
	       "a tag index must fit a small block's slot");
_Static_assert(ALLOC_SMALL_USABLE_MAX + 1 < (1u << (32 - ALLOC_TAG_BITS)),
	       "counted + 1 must fit a small block's slot");

/* jemalloc's own entry points, set by core_init (alloc.c); free has a
 * stand-in from the start. */
struct core_jemalloc {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void (*free)(void *);
};
extern struct core_jemalloc core_je __attribute__((visibility("hidden")));
/* ALLOCINFO_SIZE=usable; core_je.malloc then stays unset. */
extern bool core_count_usable_size;

#define CORE_SIZE_ENTRIES (ALLOC_SMALL_USABLE_MAX / 8 + 1)

/*
 * For a request of n <= ALLOC_SMALL_USABLE_MAX bytes, at [(n + 7) / 8]
 * (n <= 8: as 16): jemalloc's usable size, and its class's magazine
 * (magazine.h).  Filled by core_init before core_je.malloc is
 * published.  One object, so that malloc reads both from one address
 * (as two, it took an instruction more to load the second's).
 */
struct core_size_tables {
	uint16_t usable[CORE_SIZE_ENTRIES];
	uint8_t magazine[CORE_SIZE_ENTRIES];
};
extern struct core_size_tables core_size;

/* jemalloc's class for @size <= ALLOC_SMALL_USABLE_MAX bytes (0 before
 * core_init fills the table). */
static inline size_t small_usable_for(size_t size)
{
	return core_size.usable[(size + 7) >> 3];
}

/* The magazine (magazine.h) of jemalloc's class for @size <=
 * ALLOC_SMALL_USABLE_MAX bytes. */
static inline unsigned int small_magazine_for(size_t size)
{
	return core_size.magazine[(size + 7) >> 3];
}

/* A small block's slot word: its tag, and the @counted bytes its tag
 * shows, plus one.  Not the class's slack (usable - counted), which
 * took the class into the sum: two instructions more on every malloc. */
static inline uint32_t slot_word(uint32_t tag, size_t counted)
{
	return tag + ((uint32_t)(counted + 1) << ALLOC_TAG_BITS);
}

static inline uint32_t slot_tag(uint32_t word)
{
	return word & ((1u << ALLOC_TAG_BITS) - 1);
}

static inline size_t slot_counted(uint32_t word)
{
	return (word >> ALLOC_TAG_BITS) - 1;
}

/* Slots are read by the report while the program runs: whole words. */
static inline void slot_set(uint32_t *slot, uint32_t word)
{
	__atomic_store_n(slot, word, __ATOMIC_RELAXED);
}

static inline uint32_t slot_get(const uint32_t *slot)
{
	return __atomic_load_n(slot, __ATOMIC_RELAXED);
}

/* jemalloc had no block of class @usable (or, for a block @ptr it had,
 * no slot could be made): gives @ptr back, ENOMEM. */
void *core_malloc_failed(void *ptr, size_t usable);

/* The fast path's ways out of line, each the rest of core_malloc
 * (alloc.c): the tag is not one the small site array gives at once (a
 * wrapper's, whose @site_word it passes on, or a new site or one past
 * the array, 0; @caller_sp as for callsite_route); the block's page has
 * no slot array of its class yet. */
void *core_malloc_by_route(size_t size, uintptr_t site, uint32_t site_word,
			   bool zero, uintptr_t caller_sp);
void *core_malloc_new_slots(void *ptr, size_t usable, uint32_t word);
/* A wrapper's site whose caller, whose return address lies at
 * @caller_at, is no charged site: a wrapper called by a wrapper, as
 * libstdc++'s std::string::_M_mutate calls operator new for
 * _M_append, gone past by the tags (codetag_charged_past_wrappers),
 * else by the memo.  Reached straight from the fast path: through
 * core_new_general and core_malloc_by_route, each such new of
 * bench/workloads/cxx_churn.cc's strings took 262 instructions, the
 * allocation included, and takes 230 (callgrind). */
void *core_malloc_past_wrapper(size_t size, uintptr_t site, uint32_t site_word, bool zero,
			       uintptr_t caller_sp, uintptr_t caller_at);
/* The rest of core_malloc for a large block (@size past the small
 * classes), with @caller_sp as for core_malloc_by_route. */
void *core_malloc_large(size_t size, uintptr_t site, bool zero, uintptr_t caller_sp);

/*
 * What a small allocation is for: the fast path is the same, its ways
 * out differ.  Where malloc's failure is NULL and ENOMEM, operator
 * new's goes on to the new_handler loop (malloc_api_operator_new), so
 * that its ways out are tail calls too: new's fast path then keeps no
 * register more than malloc's across jemalloc's call (with the loop
 * after a call, it kept the size and the site as well, 7 instructions
 * more on each new).
 */
enum core_malloc_kind {
	CORE_MALLOC,
	CORE_CALLOC,		/* zeroed: jemalloc's calloc, or a kept block zeroed */
	CORE_NEW,		/* operator new: the new_handler loop, then bad_alloc */
	CORE_NEW_NOTHROW,	/* nothrow new: the loop, then NULL */
};

static inline bool core_kind_is_new(enum core_malloc_kind kind)
{
	return kind == CORE_NEW || kind == CORE_NEW_NOTHROW;
}

/* operator new's ways out of core_malloc_small (alloc.c), each malloc's
 * own and then, on failure, the new_handler loop (@nothrow as the
 * operator's): the general ones (a state, a large size, a route, whose
 * @site_word and @caller_sp are core_malloc_by_route's); and after
 * jemalloc's call, where @ptr, its block of class @usable (or NULL),
 * has no slot array of its class yet, the size being in @word. */
void *core_new_general(size_t size, uintptr_t site, uint32_t site_word, bool nothrow,
		       uintptr_t caller_sp);
void *core_new_from_jemalloc(void *ptr, size_t usable, uint32_t word, bool nothrow,
			     uintptr_t site);
void *core_new_past_wrapper(size_t size, uintptr_t site, uint32_t site_word, bool nothrow,
			    uintptr_t caller_sp, uintptr_t caller_at);

/*
 * The stack pointer of an exported function's caller where it resumes,
 * in an always_inline function inlined into that exported function,
 * which keeps a frame pointer: above its saved frame pointer and its
 * return address.
 */
#define CORE_CALLER_SP() ((uintptr_t)__builtin_frame_address(0) + 2 * sizeof(uintptr_t))

/* The exported function's caller, read from its frame again (the word
 * below CORE_CALLER_SP), where a register would have to keep it across
 * a call. */
#define CORE_CALLER_AGAIN() (((const uintptr_t *)CORE_CALLER_SP())[-1])

/* The end of every small malloc: @ptr, a fresh block of class @usable
 * from jemalloc (or NULL), gets its slot @word. */
static inline __attribute__((always_inline)) void *
core_malloc_set_slot(void *ptr, size_t usable, uint32_t word, enum core_malloc_kind kind)
{
	bool nothrow = kind == CORE_NEW_NOTHROW;
	uint64_t entry;

	if (__builtin_expect(!ptr, 0)) {
		if (core_kind_is_new(kind))
			return core_new_from_jemalloc(NULL, usable, word, nothrow,
						      CORE_CALLER_AGAIN());
		return core_malloc_failed(NULL, usable);
	}
	entry = allocator_pages_fresh_entry(ptr);
	if (__builtin_expect(allocator_pages_entry_usable(entry) != usable, 0)) {
		if (core_kind_is_new(kind))
			return core_new_from_jemalloc(ptr, usable, word, nothrow,
						      CORE_CALLER_AGAIN());
		return core_malloc_new_slots(ptr, usable, word);
	}
	slot_set(allocator_pages_slot(ptr, entry), word);
	return ptr;
}

/*
 * The end of a small malloc of class @usable (whose magazine is
 * @magazine) whose slot @word is made: the thread's last block of the
 * class freed (magazine.h), whose slot free found, else jemalloc's;
 * zeroed for CORE_CALLOC.
 */
static inline __attribute__((always_inline)) void *
core_malloc_charged_block(struct core_thread *t, size_t usable, unsigned int magazine,
			  uint32_t word, enum core_malloc_kind kind)
{
	unsigned int held = t->magazine_count[magazine];
	bool zero = kind == CORE_CALLOC;
	void *ptr;

	if (held) {
		const struct core_magazine_entry *kept = core_magazine_take(t, magazine, held);

		/* calloc's: all of the class, as jemalloc zeroes it. */
		if (zero)
			memset(kept->block, 0, usable);
		slot_set(kept->slot, word);
		return kept->block;
	}
	/* Asking for the class itself: jemalloc serves exactly @usable. */
	ptr = zero ? core_je.calloc(1, usable) : core_je.malloc(usable);
	return core_malloc_set_slot(ptr, usable, word, kind);
}

/*
 * malloc(@size) called from @site, or calloc's zeroed block, or
 * operator new's, as @kind says.  jemalloc's is the one call that
 * returns here: everything else that needs a call leaves by a tail
 * call, so that few registers are kept across jemalloc's.
 */
static inline __attribute__((always_inline)) void *
core_malloc_small(size_t size, uintptr_t site, enum core_malloc_kind kind)
{
	struct core_thread *t = &core_thread;
	bool zero = kind == CORE_CALLOC;
	const struct codetag_slot *site_slot;
	uint32_t site_word, word;
	size_t usable;

	if (core_kind_is_new(kind) &&
	    __builtin_expect(t->allocator_state || size > ALLOC_SMALL_USABLE_MAX, 0))
		return core_new_general(size, site, 0, kind == CORE_NEW_NOTHROW,
					CORE_CALLER_SP());

	/* A state of 0 or the general path (thread.h): inside the
	 * allocator or the profiler's scope, a signal waiting, the core
	 * not ready (the early window, usable-size counting) as this
	 * thread last saw it; then large sizes. */
	if (__builtin_expect(t->allocator_state, 0))
		return core_alloc(size, 0, zero ? ALLOC_ZERO : ALLOC_DEFAULT, site);
	if (__builtin_expect(size > ALLOC_SMALL_USABLE_MAX, 0))
		return core_malloc_large(size, site, zero, CORE_CALLER_SP());
	site_word = codetag_site_word_small_at(site, &site_slot);
	if (__builtin_expect(!(site_word & CODETAG_SLOT_SELF), 0)) {
		uintptr_t caller_sp = CORE_CALLER_SP(), wrapper_caller_at = 0;
		/* A wrapper's site whose caller is charged, as the tag's
		 * charge_offset and the small array say, is charged to it
		 * here, outside the allocator (the array's readers need no
		 * protection from a signal handler's insertion, as from
		 * another thread's): perl's and cc1's routed allocations,
		 * which through core_malloc_by_route and its call cost 25
		 * instructions more. */
		uint32_t caller_word = codetag_caller_word_at_slot(site_slot, site_word, site,
								   caller_sp, &wrapper_caller_at);

		if (!(caller_word & CODETAG_SLOT_SELF)) {
			if (caller_word && wrapper_caller_at) {
				if (core_kind_is_new(kind))
					return core_new_past_wrapper(size, site, site_word,
								     kind == CORE_NEW_NOTHROW,
								     caller_sp, wrapper_caller_at);
				return core_malloc_past_wrapper(size, site, site_word, zero,
								caller_sp, wrapper_caller_at);
			}
			if (core_kind_is_new(kind))
				return core_new_general(size, site, site_word,
							kind == CORE_NEW_NOTHROW, caller_sp);
			return core_malloc_by_route(size, site, site_word, zero, caller_sp);
		}
		site_word = caller_word;
	}
	usable = small_usable_for(size);
	/* SELF is set: the subtraction clears it, in the same lea. */
	word = slot_word(site_word - CODETAG_SLOT_SELF, size);
	return core_malloc_charged_block(t, usable, small_magazine_for(size), word, kind);
}

/* Inline in every caller: GCC kept one out-of-line copy for C++'s
 * operator new, a call more on each of its allocations (clang, whose
 * LLVM allocates with new: 1% of its samples in that copy). */
static inline __attribute__((always_inline)) void *core_malloc(size_t size, uintptr_t site)
{
	return core_malloc_small(size, site, CORE_MALLOC);
}

/* operator new(@size) from @site, nothrow's with @nothrow: malloc's
 * fast path, whose failures go on to the new_handler loop. */
static inline __attribute__((always_inline)) void *core_operator_new(size_t size, uintptr_t site,
								     bool nothrow)
{
	return core_malloc_small(size, site, nothrow ? CORE_NEW_NOTHROW : CORE_NEW);
}

/*
 * Alignments the aligned fast path takes: powers of two up to a page.
 * jemalloc serves such a request from a small class where one is large
 * enough (sz_sa2u takes alignments up to PAGE): the class of the size
 * rounded up to the alignment, a class whose blocks all lie at
 * multiples of the alignment (at a page, the classes of 4, 8 and 12
 * KiB, whose slabs are page-aligned).  Past a page, and past 12 KiB at
 * a page, a large block's.  With pages left to core_alloc,
 * aligned_alloc(4096, 4096) and free took 445 and 96 instructions,
 * plain jemalloc's 154 and 55 (callgrind), and twice its time.
 */
#define ALLOC_ALIGNED_FAST_MAX 4096

static inline bool core_align_takes_fast_path(size_t align)
{
	return !(align & (align - 1)) && align <= ALLOC_ALIGNED_FAST_MAX;
}

/*
 * memalign(@align, @size) from @site, @align a power of two up to
 * ALLOC_ALIGNED_FAST_MAX (0 and those up to 16 are malloc's): the
 * malloc fast path, on jemalloc's class for @size rounded up to
 * @align.  Only a site the small array gives as its own tag takes it;
 * a new or a routed one, as every unusual case, leaves for core_alloc
 * with the alignment.  Through core_alloc, posix_memalign's and aligned
 * new's pairs took 2.5 to 3 times jemalloc's own (bench/micro's size,
 * one site).
 */
static inline __attribute__((always_inline)) void *
core_memalign_inline(size_t align, size_t size, uintptr_t site)
{
	struct core_thread *t = &core_thread;
	size_t class_size, usable;
	uint32_t site_word;

	if (align <= ALLOC_MIN_ALIGN)
		return core_malloc_small(size, site, CORE_MALLOC);
	/* A block of 0 bytes is still one of the alignment's class. */
	class_size = ((size ? size : 1) + align - 1) & ~(align - 1);
	if (__builtin_expect(t->allocator_state || size > ALLOC_SMALL_USABLE_MAX ||
			     class_size > ALLOC_SMALL_USABLE_MAX, 0))
		return core_alloc(size, align, ALLOC_DEFAULT, site);
	site_word = codetag_site_word_small(site);
	if (__builtin_expect(!(site_word & CODETAG_SLOT_SELF), 0))
		return core_alloc(size, align, ALLOC_DEFAULT, site);
	usable = small_usable_for(class_size);
	/* A block of the class from the magazine lies at a multiple of
	 * the alignment too: it came from a slab of the class. */
	return core_malloc_charged_block(t, usable, small_magazine_for(class_size),
					 slot_word(site_word - CODETAG_SLOT_SELF, size), CORE_MALLOC);
}

/* calloc(@n, @size) from @site: glibc's ENOMEM when the product
 * overflows. */
static inline void *core_calloc(size_t n, size_t size, uintptr_t site)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return core_malloc_small(total, site, CORE_CALLOC);
}

/* malloc(@size) from @site, for realloc(NULL, @size): core_malloc out
 * of line, reached by a tail call, so that its frame ends where the
 * caller's stack resumes as an exported function's does. */
void *core_malloc_for_realloc(size_t size, uintptr_t site);

/* realloc of a small block of class @usable to another small class
 * (alloc.c): a new block by the malloc fast path, the copy, and the old
 * one freed by the free fast path. */
void *core_realloc_small_move(void *ptr, size_t usable, size_t size,
			      uintptr_t site);

/* The rest of core_realloc_inline where @site's slot word @site_word
 * (0: not in the small array) has no SELF bit: a wrapper's site, whose
 * caller the tag and the small array may give (perl's
 * Perl_safesysrealloc: through callsite_route and a walk of our frames
 * it took 98 instructions), else the lookup, which may route, unwind
 * and allocate.  @caller_sp as for core_malloc_by_route.  Reached by a
 * tail call, so that realloc's own path keeps no register across one. */
void *core_realloc_routed(void *ptr, uint64_t entry, size_t size, uint32_t site_word,
			  uintptr_t site, uintptr_t caller_sp);

/*
 * realloc(@ptr, @size) from @site, where the block keeps its class: the
 * block stays where it is (jemalloc's rallocx would not move it either),
 * so only its slot changes.  Strings that grow a few bytes at a time, as
 * perl's do, take this path; one that leaves its small class for
 * another takes core_realloc_small_move.  Anything else goes to
 * core_realloc.
 */
static inline void *core_realloc_inline(void *ptr, size_t size, uintptr_t site)
{
	struct core_thread *t = &core_thread;
	unsigned int state = t->allocator_state;
	uint64_t entry;
	size_t usable;
	uint32_t word;

	/* realloc(NULL, n) is malloc(n): python3 makes most of its new
	 * buffers so, and the general path took 180 instructions each. */
	if (__builtin_expect(!ptr, 0))
		return core_malloc_for_realloc(size, site);
	if (__builtin_expect(state || !size || size > ALLOC_SMALL_USABLE_MAX, 0))
		return core_realloc(ptr, size, ALLOC_DEFAULT, site);
	entry = allocator_pages_small_entry(ptr);
	usable = allocator_pages_entry_usable(entry);
	if (!usable)
		return core_realloc(ptr, size, ALLOC_DEFAULT, site);
	if (small_usable_for(size) != usable)
		return core_realloc_small_move(ptr, usable, size, site);
	word = codetag_site_word_small(site);
	if (__builtin_expect(!(word & CODETAG_SLOT_SELF), 0))
		return core_realloc_routed(ptr, entry, size, word, site, CORE_CALLER_SP());
	/* SELF is set: the subtraction leaves the tag. */
	slot_set(allocator_pages_slot(ptr, entry), slot_word(word - CODETAG_SLOT_SELF, size));
	return ptr;
}

/* Gives jemalloc back @ptr, a small block of class @usable whose slot
 * is cleared.  Sized, jemalloc takes the class from the size and skips
 * its own lookup of the pointer; but it sends every page-aligned
 * pointer of a sized free to its slow path (its profiler's samples are
 * page-aligned), where plain free stays fast. */
static inline __attribute__((always_inline)) void core_free_to_jemalloc(void *ptr, size_t usable)
{
	if (__builtin_expect((uintptr_t)ptr & ALLOC_PAGE_MASK, 1))
		sdallocx(ptr, usable, 0);
	else
		core_je.free(ptr);
}

/* The rest of free for a small block of class @usable whose slot is
 * cleared, and whose magazine is shut (alloc.c): opens this thread's
 * magazines if they never were, and gives the block to jemalloc. */
void core_free_small_block(void *ptr, size_t usable);

/* free(@ptr). */
static inline void core_free_inline(void *ptr)
{
	struct core_thread *t = &core_thread;
	unsigned int state = t->allocator_state;
	unsigned int magazine, held, limit;
	uint32_t *slot;
	uint64_t entry;
	size_t usable;

	/* 0: a large block, a foreign one, not known, or NULL, whose page
	 * has no entry: its test is made there, off the path of every
	 * other free (two instructions; gcc's cc1 frees NULL in 12% of its
	 * frees, python3 and perl in about 0.1%). */
	entry = allocator_pages_small_entry(ptr);
	usable = allocator_pages_entry_usable(entry);
	if (__builtin_expect((state & ~CORE_NOT_READY) || !usable, 0)) {
		if (ptr)
			core_free(ptr);
		return;
	}
	/* Cleared before the block goes back: once it is jemalloc's,
	 * another thread may be given it and set the slot. */
	slot = allocator_pages_slot(ptr, entry);
	slot_set(slot, 0);
	magazine = core_magazine_of_usable[usable >> 4];
	held = t->magazine_count[magazine];
	limit = t->magazine_limit[magazine];
	if (held < limit) {
		core_magazine_put(t, magazine, held, ptr, slot);
		return;
	}
	/* Shut: not opened yet, or a class without a magazine. */
	if (__builtin_expect(!limit, 0)) {
		core_free_small_block(ptr, usable);
		return;
	}
	core_free_to_jemalloc(ptr, usable);
}

#endif

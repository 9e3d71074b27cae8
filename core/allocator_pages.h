/*
 * What the core knows of jemalloc's pages, by page: whether jemalloc
 * mapped it, the size class of the small blocks that start in it, and
 * where their tags are.
 *
 * A block's tag is kept outside the block, as the kernel keeps a slab
 * object's codetag in the slab's obj_exts vector: the program may use
 * all of its size class (malloc_usable_size says so, as jemalloc's
 * does), jemalloc's rounding is unchanged, and no page of the block is
 * touched that the program does not touch itself.
 *
 * - A small block (a class up to ALLOC_SMALL_USABLE_MAX) has a 4-byte
 *   slot in its page's slot array, its tag and count (alloc_inline.h),
 *   written when it is allocated and cleared (0) before it is freed, so
 *   the slots are the small blocks' only count: the report adds them
 *   up (allocator_pages_visit_small), as heaptrack and jemalloc's
 *   profiler leave per-site work to report time.  jemalloc
 *   serves small classes from slabs, page-aligned extents that hold
 *   blocks of one class at slab + k * usable, and an extent's pages are
 *   its alone while it lives.  So the blocks that start in one page are
 *   of one class and lie at least usable apart, and a block's slot is
 *   its offset in the page shifted right by log2 of the largest power
 *   of two <= usable: no two starts share one, and there is no division
 *   on the way to it.  The array has 4096 >> that shift slots after an
 *   8-byte link, in 16-byte units: 6.6% of a page of 64- to 112-byte
 *   blocks, 12.9% of one of 32- or 48-byte blocks, 25.4% of one of
 *   16-byte blocks, 0.8% of one of 1 KiB blocks.
 * - A large block owns its pages: its tag and count are kept in the
 *   entry of its first page (struct allocator_pages_large).
 *
 * A page's small entry is one word, the class in the low 16 bits and
 * the address of its slot array above, so a reader sees both of one
 * moment.  The allocation that first meets a page in a new class (its
 * slab was freed and the pages reused) installs a new array with a
 * compare-and-swap and recycles the old one: no block of the old class
 * lives in the page any more.  A recycled array is cleared before it is
 * installed, so that a slot its old page left set (a block freed past
 * the profiler, with jemalloc's dallocx) is not counted again.  0: no small
 * blocks ("ask jemalloc"), as for a large block's first page and every
 * page on a jemalloc munmap.
 *
 * Whether jemalloc mapped a page at all is the bit beside it: a block of
 * glibc's (a library bound to glibc's malloc frees through ours) must go
 * back to glibc, and jemalloc's size lookup would read metadata that
 * does not exist.  Every mapping jemalloc makes through the mmap
 * interposer (core/mmap.c) sets its pages' bits, and munmap clears them.
 *
 * Layout: a static table of 2^17 pointers, one per GiB of the 47-bit
 * user address space, to leaves mapped on first use with a raw system
 * call (this runs inside jemalloc's mmap, where nothing may allocate):
 * 32 KiB of bits, 2 MiB of small entries and 4 MiB of large blocks'
 * tags, which the kernel backs with pages only as they are touched.
 * Slot arrays come from 4 MiB chunks mapped the same way, and go back
 * to lock-free free lists by size (allocator_pages.c): nothing here
 * takes a lock, so fork and signal handlers cannot find one held.  No
 * system call on lookups.
 *
 * Invariant: a page's bit is set, and its leaf exists, before jemalloc
 * can hand out a block in it (both are done as its mmap returns), and
 * stay so while the mapping lives.
 */
#ifndef ALLOCINFO_CORE_ALLOCATOR_PAGES_H
#define ALLOCINFO_CORE_ALLOCATOR_PAGES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALLOCATOR_PAGES_ADDRESS_BITS 47
#define ALLOCATOR_PAGES_PAGE_SHIFT   12
#define ALLOCATOR_PAGES_LEAF_SHIFT   30    /* one leaf per GiB */
#define ALLOCATOR_PAGES_LEAVES \
	(1ul << (ALLOCATOR_PAGES_ADDRESS_BITS - ALLOCATOR_PAGES_LEAF_SHIFT))
#define ALLOCATOR_PAGES_LEAF_WORDS \
	((1ul << (ALLOCATOR_PAGES_LEAF_SHIFT - ALLOCATOR_PAGES_PAGE_SHIFT)) / 64)

#define ALLOCATOR_PAGES_PER_LEAF \
	(1ul << (ALLOCATOR_PAGES_LEAF_SHIFT - ALLOCATOR_PAGES_PAGE_SHIFT))

/* What a large block (one that starts in the page) was counted as,
 * and whether it is jemalloc's (mapped_pages 0) or a grown block in a
 * mapping of its own of mapped_pages pages (core/mmap.c). */
struct allocator_pages_large {
	uint64_t counted;
	uint32_t tag;
	uint32_t mapped_pages;
};

/* A leaf's small entries in groups of a page of entries each: the
 * report reads only the groups that ever had one (see
 * allocator_pages_visit_small). */
#define ALLOCATOR_PAGES_GROUP_ENTRIES 512
#define ALLOCATOR_PAGES_GROUPS (ALLOCATOR_PAGES_PER_LEAF / ALLOCATOR_PAGES_GROUP_ENTRIES)

/*
 * small[] is not first, though at offset 0 malloc and free would index
 * it one instruction cheaper: so placed, the 16-byte pair of bench/micro
 * took 14.3 ns instead of 10.2 (bench/alternate --rounds 9 --micro; 256
 * bytes unchanged), most likely the entry's load meeting a slot store
 * whose address has the same low 12 bits (4K aliasing).
 */
struct allocator_pages_leaf {
	_Atomic uint64_t small_used[ALLOCATOR_PAGES_GROUPS / 64];
	_Atomic uint64_t mapped[ALLOCATOR_PAGES_PER_LEAF / 64];
	_Atomic uint64_t small[ALLOCATOR_PAGES_PER_LEAF];
	struct allocator_pages_large large[ALLOCATOR_PAGES_PER_LEAF];
};

/*
 * The largest class with a slot array: jemalloc's largest small class
 * with 4 KiB pages (mallctl arenas.bin.35.size), so that every block of
 * a slab has a slot, and the classes of 10, 12 and 14 KiB take the fast
 * paths as the others do.  The entry keeps it in 16 bits.
 */
#define ALLOCATOR_PAGES_SMALL_MAX   14336
#define ALLOCATOR_PAGES_CLASS_BITS  16
#define ALLOCATOR_PAGES_CLASS_MASK  ((1u << ALLOCATOR_PAGES_CLASS_BITS) - 1)

/* A slot array: a free-list link, then one slot per block start. */
struct allocator_pages_slots {
	_Atomic uint64_t link;
	uint32_t slot[];
};

extern _Atomic(struct allocator_pages_leaf *) allocator_pages_leaves[ALLOCATOR_PAGES_LEAVES];

static inline struct allocator_pages_leaf *allocator_pages_leaf_of(const void *ptr)
{
	uintptr_t leaf = (uintptr_t)ptr >> ALLOCATOR_PAGES_LEAF_SHIFT;

	/* Past 2^47: the index is out of the table (one compare, where
	 * testing the address's top bits took another shift). */
	if (__builtin_expect(leaf >= ALLOCATOR_PAGES_LEAVES, 0))
		return NULL;
	return atomic_load_explicit(&allocator_pages_leaves[leaf], memory_order_acquire);
}

static inline uintptr_t allocator_pages_index(const void *ptr)
{
	return ((uintptr_t)ptr >> ALLOCATOR_PAGES_PAGE_SHIFT) &
	       (ALLOCATOR_PAGES_PER_LEAF - 1);
}

/* Whether @ptr lies in a page jemalloc has mapped. */
static inline bool allocator_pages_contain(const void *ptr)
{
	struct allocator_pages_leaf *leaf = allocator_pages_leaf_of(ptr);
	uintptr_t page = allocator_pages_index(ptr);

	if (__builtin_expect(!leaf, 0))
		return false;
	return (atomic_load_explicit(&leaf->mapped[page / 64], memory_order_relaxed) >>
		(page % 64)) & 1;
}

/*
 * Where @ptr's page's small entry lies in its @leaf.  Indexed from the
 * array's address by a 32-bit page number, the array's place in the
 * leaf folds into the load's displacement; as &leaf->small[index], GCC
 * 12 added it to the index first, an instruction more on every malloc
 * and free.
 */
static inline _Atomic uint64_t *allocator_pages_small_at(struct allocator_pages_leaf *leaf,
							 const void *ptr)
{
	_Atomic uint64_t *small = leaf->small;
	uint32_t page = (uint32_t)allocator_pages_index(ptr);

	return small + page;
}

/* @ptr's page's small entry (see above), or 0. */
static inline uint64_t allocator_pages_small_entry(const void *ptr)
{
	struct allocator_pages_leaf *leaf = allocator_pages_leaf_of(ptr);

	if (__builtin_expect(!leaf, 0))
		return 0;
	return atomic_load_explicit(allocator_pages_small_at(leaf, ptr), memory_order_acquire);
}

/* The small entry of a block jemalloc has just handed out: its page is
 * below 2^47 and has a leaf (the invariant above), so neither is
 * checked. */
static inline uint64_t allocator_pages_fresh_entry(const void *ptr)
{
	struct allocator_pages_leaf *leaf = atomic_load_explicit(
		&allocator_pages_leaves[(uintptr_t)ptr >> ALLOCATOR_PAGES_LEAF_SHIFT],
		memory_order_acquire);

	return atomic_load_explicit(allocator_pages_small_at(leaf, ptr), memory_order_acquire);
}

/* The class of the small blocks of an entry; 0: none. */
static inline size_t allocator_pages_entry_usable(uint64_t entry)
{
	return entry & ALLOCATOR_PAGES_CLASS_MASK;
}

/* log2 of the largest power of two <= @usable (not 0). */
static inline unsigned int allocator_pages_slot_shift(size_t usable)
{
	return 31u - (unsigned int)__builtin_clz((unsigned int)usable);
}

/*
 * A small entry: the address of its array's first slot, not of the
 * array, above the class in the low ALLOCATOR_PAGES_CLASS_BITS bits, so
 * that a block's slot is its index scaled and added (with the array's
 * own address, malloc and free each took an instruction more to step
 * past its link).
 */
static inline uint64_t allocator_pages_entry(struct allocator_pages_slots *slots, size_t usable)
{
	return (uint64_t)(uintptr_t)slots->slot << ALLOCATOR_PAGES_CLASS_BITS | usable;
}

/* The slot array of a small @entry (not 0). */
static inline struct allocator_pages_slots *allocator_pages_entry_slots(uint64_t entry)
{
	return (struct allocator_pages_slots *)((uintptr_t)(entry >> ALLOCATOR_PAGES_CLASS_BITS) -
						offsetof(struct allocator_pages_slots, slot));
}

/* The slot of the small block at @ptr, of its page's @entry (not 0). */
static inline uint32_t *allocator_pages_slot(const void *ptr, uint64_t entry)
{
	uint32_t offset = (uint32_t)((uintptr_t)ptr & ((1u << ALLOCATOR_PAGES_PAGE_SHIFT) - 1));
	uint32_t *first = (uint32_t *)(uintptr_t)(entry >> ALLOCATOR_PAGES_CLASS_BITS);

	return &first[offset >> allocator_pages_slot_shift(entry & ALLOCATOR_PAGES_CLASS_MASK)];
}

uint32_t *allocator_pages_install_slots(const void *ptr, size_t usable);

/*
 * The slot of a fresh small block of class @usable at @ptr, a block of
 * jemalloc's: its page's array, made first if the page was of another
 * class.  NULL if no array could be mapped (the allocation must then
 * fail).
 */
static inline uint32_t *allocator_pages_small_slot(const void *ptr, size_t usable)
{
	uint64_t entry = allocator_pages_small_entry(ptr);

	if (__builtin_expect(allocator_pages_entry_usable(entry) == usable, 1))
		return allocator_pages_slot(ptr, entry);
	return allocator_pages_install_slots(ptr, usable);
}

/*
 * The tag and count of the large block at @ptr, a block of jemalloc's
 * or a grown block (@mapped_pages, else 0): large blocks own their
 * pages, so the entry of the first one is the block's alone while it
 * lives.  set also clears the page's small entry (recycling its slot
 * array) and returns false if no leaf could be mapped for @ptr.
 */
bool allocator_pages_set_large(const void *ptr, uint32_t tag, uint64_t counted,
			       uint32_t mapped_pages);

static inline struct allocator_pages_large allocator_pages_large_of(const void *ptr)
{
	struct allocator_pages_leaf *leaf = allocator_pages_leaf_of(ptr);

	/* A large block's leaf was made when its entry was set; without
	 * one (see account_block), the block was never counted. */
	if (__builtin_expect(!leaf, 0))
		return (struct allocator_pages_large){ .counted = 0 };
	return leaf->large[allocator_pages_index(ptr)];
}

/*
 * Calls @visit(@usable, @slots, @n, @arg) for every page with a slot
 * array: a copy of its @n slots, taken between two equal reads of the
 * page's entry, so of one array and one class @usable (a copy that
 * keeps changing under a busy allocator is taken again, a few times).
 * Report time only: it reads every slot of every small-slab page.
 */
typedef void allocator_pages_visit_fn(size_t usable, const uint32_t *slots,
				      unsigned int n, void *arg);
void allocator_pages_visit_small(allocator_pages_visit_fn *visit, void *arg);

/*
 * jemalloc mapped, or unmapped, [@addr, @addr + @len).  The add fails
 * (false) only when a leaf cannot be mapped: the caller must then undo
 * jemalloc's mapping and fail it, for a block in pages not marked here
 * would be taken for glibc's.
 */
bool allocator_pages_add(uintptr_t addr, size_t len);
void allocator_pages_remove(uintptr_t addr, size_t len);

/* Bytes of the table and the slot arrays the kernel backs now:
 * profiler memory, for the report's # profiler_bytes (report time
 * only: a system call per leaf and chunk). */
size_t allocator_pages_resident_bytes(void);

/* Bytes of the pages that hold [@addr, @addr + @len) in memory now. */
size_t core_resident_bytes(const void *addr, size_t len);

#endif

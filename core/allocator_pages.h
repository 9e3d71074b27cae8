/*
 * What the core knows of jemalloc's pages, by page: whether jemalloc
 * mapped it, and the usable size of the small blocks that start in it.
 *
 * Blocks keep their tag in a trailer at the end of their size class
 * (alloc_inline.h), so free must learn a block's class from its pointer.
 * jemalloc's own answer (sallocx) costs a call and a radix-tree walk,
 * about 4 ns on the fast path; two bytes per page cost two loads.  They
 * are written by the allocation itself (it knows the class it asked
 * for), and only when they change, so the line stays shared.
 *
 * Why a byte per page is enough: jemalloc serves small sizes from slabs,
 * extents of whole pages that hold blocks of one class only, and an
 * extent's pages belong to it alone while it lives.  A live block's slab
 * lives, so every block that starts in the block's first page is of the
 * same class, and the entry holds its size.  A large block's first page
 * gets 0 ("ask jemalloc"), as does every page on a jemalloc munmap.
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
 * 32 KiB of bits, 512 KiB of sizes and 4 MiB of large blocks' tags,
 * which the kernel backs with pages only as they are touched (a 1 GiB
 * heap of small blocks touches 544 KiB).  No
 * lock, no system call on lookups.
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

/* What a large block (one that starts in the page) was counted as. */
struct allocator_pages_large {
	uint64_t counted;
	uint32_t tag;
	uint32_t unused;
};

struct allocator_pages_leaf {
	_Atomic uint64_t mapped[ALLOCATOR_PAGES_PER_LEAF / 64];
	_Atomic uint16_t small_usable[ALLOCATOR_PAGES_PER_LEAF];
	struct allocator_pages_large large[ALLOCATOR_PAGES_PER_LEAF];
};

extern _Atomic(struct allocator_pages_leaf *) allocator_pages_leaves[ALLOCATOR_PAGES_LEAVES];

static inline struct allocator_pages_leaf *allocator_pages_leaf_of(const void *ptr)
{
	uintptr_t a = (uintptr_t)ptr;

	if (__builtin_expect(a >> ALLOCATOR_PAGES_ADDRESS_BITS, 0))
		return NULL;
	return atomic_load_explicit(&allocator_pages_leaves[a >> ALLOCATOR_PAGES_LEAF_SHIFT],
				    memory_order_acquire);
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
 * The usable size of the small blocks that start in @ptr's page (see
 * alloc_inline.h), or 0: a large block, or not known.
 */
static inline size_t allocator_pages_small_usable(const void *ptr)
{
	struct allocator_pages_leaf *leaf = allocator_pages_leaf_of(ptr);

	if (__builtin_expect(!leaf, 0))
		return 0;
	return atomic_load_explicit(&leaf->small_usable[allocator_pages_index(ptr)],
				    memory_order_relaxed);
}

/* A block of @small_usable bytes (0: large) now starts at @ptr, a
 * jemalloc block: its leaf exists. */
static inline void allocator_pages_set_usable(const void *ptr,
					      size_t small_usable)
{
	struct allocator_pages_leaf *leaf = allocator_pages_leaf_of(ptr);
	_Atomic uint16_t *entry;

	if (__builtin_expect(!leaf, 0))
		return;
	entry = &leaf->small_usable[allocator_pages_index(ptr)];
	if (atomic_load_explicit(entry, memory_order_relaxed) != small_usable)
		atomic_store_explicit(entry, (uint16_t)small_usable, memory_order_relaxed);
}

/*
 * The tag and count of the large block at @ptr, a block of jemalloc's:
 * large blocks own their pages, so the entry of the first one is the
 * block's alone while it lives.  Keeping them here rather than in the
 * block saves the page a trailer at its end would touch, and the next
 * class an exact power of two would take.  set returns false if no leaf
 * could be mapped for @ptr (then the allocation must fail).
 */
bool allocator_pages_set_large(const void *ptr, uint32_t tag, uint64_t counted);

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
 * jemalloc mapped, or unmapped, [@addr, @addr + @len).  The add fails
 * (false) only when a leaf cannot be mapped: the caller must then undo
 * jemalloc's mapping and fail it, for a block in pages not marked here
 * would be taken for glibc's.
 */
bool allocator_pages_add(uintptr_t addr, size_t len);
void allocator_pages_remove(uintptr_t addr, size_t len);

/* Bytes of the table the kernel backs now: profiler memory, for the
 * report's # profiler_bytes (report time only: a system call per
 * leaf). */
size_t allocator_pages_resident_bytes(void);

/* Bytes of [@addr, @addr + @len) (page-aligned) in memory now. */
size_t core_resident_bytes(const void *addr, size_t len);

#endif

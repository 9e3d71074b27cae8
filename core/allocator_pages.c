/*
 * The bitmap of jemalloc's pages (see allocator_pages.h).
 */
#include "core/allocator_pages.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

_Atomic(struct allocator_pages_leaf *) allocator_pages_leaves[ALLOCATOR_PAGES_LEAVES];

/* The leaves made so far, for allocator_pages_resident_bytes(): a heap
 * spans few GiB, so the first ones suffice; past them, leaves still
 * work, they are just not counted. */
#define COUNTED_LEAVES 1024
static _Atomic(struct allocator_pages_leaf *) made_leaves[COUNTED_LEAVES];
static _Atomic unsigned int made_count;

#define PAGES_PER_LEAF ALLOCATOR_PAGES_PER_LEAF

/* The leaf of @index, mapped and installed if @create; NULL if none. */
static struct allocator_pages_leaf *leaf_of(uintptr_t index, bool create)
{
	struct allocator_pages_leaf *leaf, *expected = NULL;
	long mapped;

	leaf = atomic_load_explicit(&allocator_pages_leaves[index], memory_order_acquire);
	if (leaf || !create)
		return leaf;
	/* Raw: we are inside jemalloc's mmap, and the interposer would
	 * take this for one of the program's mappings. */
	mapped = syscall(SYS_mmap, NULL, sizeof(struct allocator_pages_leaf),
			 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mapped == -1)
		return NULL;
	leaf = (struct allocator_pages_leaf *)mapped;
	if (!atomic_compare_exchange_strong_explicit(&allocator_pages_leaves[index],
						     &expected, leaf,
						     memory_order_acq_rel,
						     memory_order_acquire)) {
		syscall(SYS_munmap, leaf, sizeof(struct allocator_pages_leaf));
		leaf = expected;
	} else {
		unsigned int n = atomic_fetch_add(&made_count, 1);

		if (n < COUNTED_LEAVES)
			atomic_store_explicit(&made_leaves[n], leaf, memory_order_release);
	}
	return leaf;
}

static bool update(uintptr_t addr, size_t len, bool set)
{
	uintptr_t first = addr >> ALLOCATOR_PAGES_PAGE_SHIFT;
	uintptr_t end = (addr + len + (1ul << ALLOCATOR_PAGES_PAGE_SHIFT) - 1) >>
			ALLOCATOR_PAGES_PAGE_SHIFT;

	if (!len || addr + len < addr ||
	    (addr + len - 1) >> ALLOCATOR_PAGES_ADDRESS_BITS)
		return !set;
	for (uintptr_t page = first; page < end;) {
		uintptr_t in_leaf = page % PAGES_PER_LEAF;
		uintptr_t word = in_leaf / 64, bit = in_leaf % 64;
		uintptr_t n = end - page < 64 - bit ? end - page : 64 - bit;
		uint64_t mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << bit;
		struct allocator_pages_leaf *leaf = leaf_of(page / PAGES_PER_LEAF, set);

		/* Without a leaf there is nothing to clear; a leaf that
		 * cannot be mapped fails the add (see the caller). */
		if (!leaf && set)
			return false;
		if (leaf) {
			if (set) {
				atomic_fetch_or_explicit(&leaf->mapped[word], mask,
							 memory_order_release);
			} else {
				atomic_fetch_and_explicit(&leaf->mapped[word], ~mask,
							  memory_order_release);
				/* No block starts in an unmapped page. */
				for (uintptr_t i = 0; i < n; i++)
					atomic_store_explicit(&leaf->small_usable[in_leaf + i],
							      0, memory_order_relaxed);
			}
		}
		page += n;
	}
	return true;
}

bool allocator_pages_set_large(const void *ptr, uint32_t tag, uint64_t counted)
{
	uintptr_t a = (uintptr_t)ptr;
	struct allocator_pages_leaf *leaf;

	if (a >> ALLOCATOR_PAGES_ADDRESS_BITS)
		return false;
	/* Made here too: the leaves exist for every mapping jemalloc makes
	 * through the interposer, but not if its mappings miss it. */
	leaf = leaf_of(a >> ALLOCATOR_PAGES_LEAF_SHIFT, true);
	if (!leaf)
		return false;
	leaf->large[allocator_pages_index(ptr)] =
		(struct allocator_pages_large){ .counted = counted, .tag = tag };
	return true;
}

bool allocator_pages_add(uintptr_t addr, size_t len)
{
	return update(addr, len, true);
}

void allocator_pages_remove(uintptr_t addr, size_t len)
{
	update(addr, len, false);
}

size_t core_resident_bytes(const void *addr, size_t len)
{
	unsigned char vec[256];
	size_t resident = 0;

	for (size_t done = 0; done < len;) {
		size_t chunk = len - done < sizeof(vec) * 4096 ? len - done :
				sizeof(vec) * 4096;
		size_t pages = (chunk + 4095) / 4096;

		if (syscall(SYS_mincore, (const char *)addr + done, chunk, vec) != 0)
			return resident;
		for (size_t i = 0; i < pages; i++)
			resident += (vec[i] & 1) * 4096;
		done += chunk;
	}
	return resident;
}

size_t allocator_pages_resident_bytes(void)
{
	unsigned int n = atomic_load(&made_count);
	size_t bytes = 0;

	if (n > COUNTED_LEAVES)
		n = COUNTED_LEAVES;
	for (unsigned int i = 0; i < n; i++) {
		struct allocator_pages_leaf *leaf =
			atomic_load_explicit(&made_leaves[i], memory_order_acquire);

		if (leaf)
			bytes += core_resident_bytes(leaf, sizeof(*leaf));
	}
	return bytes;
}

/*
 * The page table of jemalloc's pages, and the pool of slot arrays (see
 * allocator_pages.h).
 */
#include "core/allocator_pages.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

_Atomic(struct allocator_pages_leaf *) allocator_pages_leaves[ALLOCATOR_PAGES_LEAVES];

/* The leaves made so far, for the report (allocator_pages_visit_small,
 * allocator_pages_resident_bytes): a heap spans few GiB, so the first
 * ones suffice; past them, the visit reads the whole table, and the
 * resident bytes leave the later leaves out. */
#define COUNTED_LEAVES 1024
static _Atomic(struct allocator_pages_leaf *) made_leaves[COUNTED_LEAVES];
static _Atomic unsigned int made_count;

#define PAGES_PER_LEAF ALLOCATOR_PAGES_PER_LEAF

/*
 * The slot arrays.  An array for class @usable has its slots (see
 * allocator_pages_slot) after its 8-byte link, in 16-byte units; there
 * is a free list for each size.  Arrays are cut from
 * chunks mapped with raw system calls (this runs inside malloc, and
 * inside jemalloc's munmap) and never unmapped, so a stale reader of a
 * list only ever reads our own memory.
 *
 * A free list's head is one word: the address of its first array over
 * 16 in the low 43 bits (user addresses are below 2^47) and a count of
 * its changes above, so that a pop whose array was popped and pushed
 * back meanwhile fails its compare-and-swap (the ABA problem).
 */
#define SLOT_UNIT         16
#define SLOT_SIZES        ((8 + 4 * 256 + SLOT_UNIT - 1) / SLOT_UNIT + 1)
#define SLOT_CHUNK_BYTES  (4ul << 20)
#define SLOT_CHUNKS_MAX   4096
#define HEAD_ADDRESS_BITS 43
#define HEAD_ADDRESS_MASK ((1ull << HEAD_ADDRESS_BITS) - 1)

struct slot_chunk {
	_Atomic size_t used;	/* bytes of data handed out */
	uint64_t unused;
	_Alignas(16) char data[];
};

static _Atomic uint64_t free_slots[SLOT_SIZES];
static _Atomic(struct slot_chunk *) current_chunk;
/* Every chunk mapped, for allocator_pages_resident_bytes(). */
static _Atomic(struct slot_chunk *) chunks[SLOT_CHUNKS_MAX];
static _Atomic unsigned int chunk_count;

/* The slots in the array for class @usable: one per block start. */
static unsigned int slot_count(size_t usable)
{
	unsigned int slots = (1u << ALLOCATOR_PAGES_PAGE_SHIFT) >>
			     allocator_pages_slot_shift(usable);

	return slots ? slots : 1;
}

/* The size of the array for class @usable, in SLOT_UNIT units. */
static unsigned int slot_units(size_t usable)
{
	return (unsigned int)((8 + 4 * slot_count(usable) + SLOT_UNIT - 1) / SLOT_UNIT);
}

static struct allocator_pages_slots *pop_slots(unsigned int units)
{
	uint64_t head = atomic_load_explicit(&free_slots[units], memory_order_acquire);

	while (head & HEAD_ADDRESS_MASK) {
		struct allocator_pages_slots *s = (struct allocator_pages_slots *)
			(uintptr_t)((head & HEAD_ADDRESS_MASK) * SLOT_UNIT);
		uint64_t next = atomic_load_explicit(&s->link, memory_order_relaxed);
		uint64_t fresh = (head & ~HEAD_ADDRESS_MASK) + (1ull << HEAD_ADDRESS_BITS) + next;

		if (atomic_compare_exchange_weak_explicit(&free_slots[units], &head, fresh,
							  memory_order_acquire,
							  memory_order_acquire))
			return s;
	}
	return NULL;
}

static void push_slots(struct allocator_pages_slots *s, unsigned int units)
{
	uint64_t head = atomic_load_explicit(&free_slots[units], memory_order_relaxed);
	uint64_t fresh;

	do {
		atomic_store_explicit(&s->link, head & HEAD_ADDRESS_MASK, memory_order_relaxed);
		fresh = (head & ~HEAD_ADDRESS_MASK) + (1ull << HEAD_ADDRESS_BITS) +
			(uint64_t)(uintptr_t)s / SLOT_UNIT;
	} while (!atomic_compare_exchange_weak_explicit(&free_slots[units], &head, fresh,
							memory_order_release,
							memory_order_relaxed));
}

/* A new array of @units, cut from the current chunk (a fresh chunk when
 * it is full); NULL if no chunk can be mapped. */
static struct allocator_pages_slots *cut_slots(unsigned int units)
{
	size_t bytes = (size_t)units * SLOT_UNIT;

	for (;;) {
		struct slot_chunk *chunk = atomic_load_explicit(&current_chunk,
								memory_order_acquire);
		struct slot_chunk *expected = chunk;
		long mapped;

		if (chunk) {
			size_t at = atomic_fetch_add_explicit(&chunk->used, bytes,
							      memory_order_relaxed);

			if (at + bytes <= SLOT_CHUNK_BYTES - sizeof(*chunk))
				return (struct allocator_pages_slots *)(chunk->data + at);
		}
		mapped = syscall(SYS_mmap, NULL, SLOT_CHUNK_BYTES, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (mapped == -1)
			return NULL;
		if (atomic_compare_exchange_strong(&current_chunk, &expected,
						   (struct slot_chunk *)mapped)) {
			unsigned int n = atomic_fetch_add(&chunk_count, 1);

			if (n < SLOT_CHUNKS_MAX)
				atomic_store_explicit(&chunks[n], (struct slot_chunk *)mapped,
						      memory_order_release);
		} else {
			syscall(SYS_munmap, mapped, SLOT_CHUNK_BYTES);
		}
	}
}

/* Recycles the slot array of a small entry that was just replaced. */
static void retire_entry(uint64_t entry)
{
	size_t usable = allocator_pages_entry_usable(entry);

	if (usable)
		push_slots(allocator_pages_entry_slots(entry), slot_units(usable));
}

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
					retire_entry(atomic_exchange_explicit(
						&leaf->small[in_leaf + i], 0,
						memory_order_acq_rel));
			}
		}
		page += n;
	}
	return true;
}

bool allocator_pages_set_large(const void *ptr, uint32_t tag, uint64_t counted,
			       uint32_t mapped_pages)
{
	uintptr_t a = (uintptr_t)ptr;
	struct allocator_pages_leaf *leaf;

	if (a >> ALLOCATOR_PAGES_ADDRESS_BITS)
		return false;
	/* Made if missing, though every mapping jemalloc makes has its
	 * leaves already (core/mmap.c): where they exist this costs
	 * nothing. */
	leaf = leaf_of(a >> ALLOCATOR_PAGES_LEAF_SHIFT, true);
	if (!leaf)
		return false;
	/* The page was a small slab's once: no block of it lives. */
	if (atomic_load_explicit(&leaf->small[allocator_pages_index(ptr)],
				 memory_order_relaxed))
		retire_entry(atomic_exchange_explicit(&leaf->small[allocator_pages_index(ptr)],
						      0, memory_order_acq_rel));
	leaf->large[allocator_pages_index(ptr)] =
		(struct allocator_pages_large){ .counted = counted, .tag = tag,
						.mapped_pages = mapped_pages };
	return true;
}

uint32_t *allocator_pages_install_slots(const void *ptr, size_t usable)
{
	uintptr_t a = (uintptr_t)ptr;
	unsigned int units = slot_units(usable);
	struct allocator_pages_leaf *leaf;
	struct allocator_pages_slots *slots;
	_Atomic uint64_t *entry;
	uint64_t old, fresh;
	uintptr_t group;

	if (a >> ALLOCATOR_PAGES_ADDRESS_BITS || !usable || usable > ALLOCATOR_PAGES_SMALL_MAX ||
	    usable % 16)
		return NULL;
	/* Made here too, if jemalloc's mappings miss the interposer. */
	leaf = leaf_of(a >> ALLOCATOR_PAGES_LEAF_SHIFT, true);
	if (!leaf)
		return NULL;
	slots = pop_slots(units);
	if (slots)
		memset(slots->slot, 0, (size_t)slot_count(usable) * sizeof(slots->slot[0]));
	else
		slots = cut_slots(units);	/* fresh pages: zero */
	if (!slots)
		return NULL;
	entry = &leaf->small[allocator_pages_index(ptr)];
	group = allocator_pages_index(ptr) / ALLOCATOR_PAGES_GROUP_ENTRIES;
	if (!(atomic_load_explicit(&leaf->small_used[group / 64], memory_order_relaxed) &
	      (1ull << (group % 64))))
		atomic_fetch_or_explicit(&leaf->small_used[group / 64], 1ull << (group % 64),
					 memory_order_release);
	fresh = allocator_pages_entry(slots, usable);
	old = atomic_load_explicit(entry, memory_order_acquire);
	for (;;) {
		/* Another block of the class installed one first. */
		if (allocator_pages_entry_usable(old) == usable) {
			push_slots(slots, units);
			return allocator_pages_slot(ptr, old);
		}
		if (atomic_compare_exchange_weak_explicit(entry, &old, fresh,
							  memory_order_acq_rel,
							  memory_order_acquire))
			break;
	}
	retire_entry(old);
	return allocator_pages_slot(ptr, fresh);
}

/* Tries before a page whose entry keeps changing is left out. */
#define VISIT_TRIES 4

static void visit_page(_Atomic uint64_t *entry, allocator_pages_visit_fn *visit,
		       void *arg)
{
	uint32_t copy[(1u << ALLOCATOR_PAGES_PAGE_SHIFT) >> 4];

	for (int i = 0; i < VISIT_TRIES; i++) {
		uint64_t seen = atomic_load_explicit(entry, memory_order_acquire);
		size_t usable = allocator_pages_entry_usable(seen);
		const struct allocator_pages_slots *slots = allocator_pages_entry_slots(seen);
		unsigned int n;

		if (!usable)
			return;
		n = slot_count(usable);
		for (unsigned int k = 0; k < n; k++)
			copy[k] = __atomic_load_n(&slots->slot[k], __ATOMIC_RELAXED);
		/* The array is ours while the entry still names it: arrays
		 * change hands only through the entry. */
		if (atomic_load_explicit(entry, memory_order_acquire) == seen) {
			visit(usable, copy, n, arg);
			return;
		}
	}
}

static void visit_leaf(struct allocator_pages_leaf *leaf,
		       allocator_pages_visit_fn *visit, void *arg)
{
	for (unsigned int w = 0; w < ALLOCATOR_PAGES_GROUPS / 64; w++) {
		uint64_t groups = atomic_load_explicit(&leaf->small_used[w],
						       memory_order_acquire);

		while (groups) {
			size_t first = ((size_t)w * 64 + (size_t)__builtin_ctzll(groups)) *
				       ALLOCATOR_PAGES_GROUP_ENTRIES;

			groups &= groups - 1;
			for (size_t i = first; i < first + ALLOCATOR_PAGES_GROUP_ENTRIES; i++)
				visit_page(&leaf->small[i], visit, arg);
		}
	}
}

void allocator_pages_visit_small(allocator_pages_visit_fn *visit, void *arg)
{
	unsigned int n = atomic_load(&made_count);

	/* The leaves made, in the order made; past the list's length, the
	 * whole table. */
	if (n <= COUNTED_LEAVES) {
		for (unsigned int i = 0; i < n; i++) {
			struct allocator_pages_leaf *leaf =
				atomic_load_explicit(&made_leaves[i], memory_order_acquire);

			if (leaf)
				visit_leaf(leaf, visit, arg);
		}
		return;
	}
	for (size_t i = 0; i < ALLOCATOR_PAGES_LEAVES; i++) {
		struct allocator_pages_leaf *leaf =
			atomic_load_explicit(&allocator_pages_leaves[i], memory_order_acquire);

		if (leaf)
			visit_leaf(leaf, visit, arg);
	}
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
	/* 8 MiB a call: a page-table leaf (6 MiB) in one system call,
	 * where 1 MiB a call took seven, the most of a short process's
	 * mincore calls at its report. */
	unsigned char vec[2048];
	size_t resident = 0;
	size_t skew = (uintptr_t)addr & 4095;

	/* mincore takes whole pages: those that hold any of the range. */
	addr = (const char *)addr - skew;
	len += skew;

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
	n = atomic_load(&chunk_count);
	if (n > SLOT_CHUNKS_MAX)
		n = SLOT_CHUNKS_MAX;
	for (unsigned int i = 0; i < n; i++) {
		struct slot_chunk *chunk = atomic_load_explicit(&chunks[i],
								memory_order_acquire);

		/* Arrays are cut from the start of a chunk: past the
		 * bytes handed out, nothing has been touched, and mincore
		 * over all 4 MiB was most of a short process's count. */
		if (chunk) {
			size_t used = atomic_load_explicit(&chunk->used, memory_order_relaxed);

			if (used > SLOT_CHUNK_BYTES - offsetof(struct slot_chunk, data))
				used = SLOT_CHUNK_BYTES - offsetof(struct slot_chunk, data);
			bytes += core_resident_bytes(chunk, offsetof(struct slot_chunk, data) + used);
		}
	}
	return bytes;
}

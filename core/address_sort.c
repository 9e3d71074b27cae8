/*
 * A radix sort by address, or by any word-sized key (see
 * address_sort.h).
 */
#include "core/address_sort.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* Below this, qsort is as fast and needs no scratch memory. */
#define RADIX_MIN_ENTRIES 64
#define RADIX_BITS 8

struct keyed {
	uint64_t key;   /* address - lowest address */
	uint64_t index; /* where the entry was */
};

static uintptr_t address_of(const unsigned char *entry, size_t key_offset)
{
	uintptr_t address;

	memcpy(&address, entry + key_offset, sizeof(address));
	return address;
}

/* LSD passes over @a, with @b as scratch, one per byte of keys up to
 * @span; returns the sorted one. */
static struct keyed *radix_passes(struct keyed *a, struct keyed *b, size_t n,
				  uint64_t span)
{
	for (unsigned int shift = 0; shift < 64 && (span >> shift); shift += RADIX_BITS) {
		size_t start[(1u << RADIX_BITS) + 1] = { 0 };
		struct keyed *swap;
		bool one_bucket = false;

		for (size_t i = 0; i < n; i++)
			start[((a[i].key >> shift) & ((1u << RADIX_BITS) - 1)) + 1]++;
		/* A byte all keys share orders nothing. */
		for (unsigned int d = 1; d <= 1u << RADIX_BITS; d++)
			if (start[d] == n)
				one_bucket = true;
		if (one_bucket)
			continue;
		for (unsigned int d = 1; d <= 1u << RADIX_BITS; d++)
			start[d] += start[d - 1];
		for (size_t i = 0; i < n; i++)
			b[start[(a[i].key >> shift) & ((1u << RADIX_BITS) - 1)]++] = a[i];
		swap = a;
		a = b;
		b = swap;
	}
	return a;
}

bool key_sort_stable(void *base, size_t n, size_t size, size_t key_offset)
{
	unsigned char *entries = base, *sorted;
	uintptr_t lowest = UINTPTR_MAX, highest = 0;
	struct keyed *a, *b, *order;

	if (n < 2)
		return true;
	for (size_t i = 0; i < n; i++) {
		uintptr_t address = address_of(entries + i * size, key_offset);

		lowest = address < lowest ? address : lowest;
		highest = address > highest ? address : highest;
	}
	if (lowest == highest)
		return true;
	a = core_internal_alloc(n * sizeof(*a));
	b = core_internal_alloc(n * sizeof(*b));
	sorted = core_internal_alloc(n * size);
	if (!a || !b || !sorted) {
		core_internal_free(a);
		core_internal_free(b);
		core_internal_free(sorted);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		a[i] = (struct keyed){
			.key = address_of(entries + i * size, key_offset) - lowest,
			.index = i,
		};
	order = radix_passes(a, b, n, highest - lowest);
	for (size_t i = 0; i < n; i++)
		memcpy(sorted + i * size, entries + (size_t)order[i].index * size, size);
	memcpy(entries, sorted, n * size);
	core_internal_free(a);
	core_internal_free(b);
	core_internal_free(sorted);
	return true;
}

void address_sort(void *base, size_t n, size_t size, size_t key_offset,
		  int (*compare)(const void *, const void *))
{
	unsigned char *entries = base;
	size_t run;

	if (n < RADIX_MIN_ENTRIES || !key_sort_stable(base, n, size, key_offset)) {
		qsort(base, n, size, compare);
		return;
	}
	/* Runs of one address (aliases, mostly of two or three): the
	 * caller's order among them. */
	for (size_t i = 0; i < n; i += run) {
		uintptr_t address = address_of(entries + i * size, key_offset);

		for (run = 1; i + run < n &&
		     address_of(entries + (i + run) * size, key_offset) == address; run++)
			;
		if (run > 1)
			qsort(entries + i * size, run, size, compare);
	}
}

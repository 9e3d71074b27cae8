/*
 * Sorting by address (or any word-sized key), fast.
 *
 * A process that allocates from a large module sorts its function
 * symbols twice: preload/wrappers.c, to tell wrapper code from the rest
 * when the first site in the module is classified, and the symbolizer,
 * to name functions without line info at exit.  cc1plus has 31,000 of
 * them, and glibc's qsort (a merge sort that calls the compare function
 * for every step) took 3.5 ms for each: with the other per-module work,
 * most of what a short compile spent on the profiler.  At exit the
 * snapshot's tags (by site), the route memory's sites and the report's
 * records (by size and calls) are sorted so too: in the core, as the
 * snapshot is.
 *
 * Each entry's offset from the lowest key is its key, sorted in
 * byte-wide counting passes, as many as the span of the keys needs (a
 * module's addresses, four at most) less those where all keys share
 * the byte; entries with equal addresses (a function's aliases) are
 * then put in the caller's order by @compare.  Small arrays and a
 * failed allocation of the scratch arrays fall back to qsort, with the
 * same result.
 */
#ifndef ALLOCINFO_CORE_ADDRESS_SORT_H
#define ALLOCINFO_CORE_ADDRESS_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Sorts the @n entries of @size bytes at @base by the uintptr_t address
 * at @key_offset in each, and entries with equal addresses by
 * @compare, which must itself order by that address first.  Scratch
 * memory is the profiler's own (core_internal_alloc).
 */
void address_sort(void *base, size_t n, size_t size, size_t key_offset,
		  int (*compare)(const void *, const void *));

/*
 * Sorts the @n entries of @size bytes at @base by the uintptr_t key at
 * @key_offset in each, ascending, keeping the order of entries with
 * equal keys (a stable sort: keys sorted in turn from the least
 * significant make one order of several).  false, with nothing moved,
 * if its scratch memory could not be had.
 */
bool key_sort_stable(void *base, size_t n, size_t size, size_t key_offset);

/*
 * How many of the @n entries at @base, sorted by address_sort's key,
 * have an address at or below @address: entry count - 1 is the last one
 * starting at or below it, the one that may hold it.  Inline, so that
 * the classifier's and the symbolizer's lookups compile to a plain
 * binary search over their own type.
 */
static inline size_t address_count_at_or_below(const void *base, size_t n,
					       size_t size, size_t key_offset,
					       uintptr_t address)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uintptr_t key;

		memcpy(&key, (const char *)base + mid * size + key_offset, sizeof(key));
		if (key <= address)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#endif

/*
 * ALLOCINFO_SIZE=usable: a tag counts malloc_usable_size of its blocks.
 *
 * The usable sizes are the allocator's business, so the program prints
 * them ("NAME VALUE" lines on stdout) and its EXPECT markers name them
 * as @NAME (see tests/lib.sh).  Sizes are chosen across size classes,
 * plus an aligned block, a calloc, a realloc'd block and a freed site.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

static void show(const char *name, void *p, size_t requested)
{
	size_t usable = malloc_usable_size(p);

	CHECK(p != NULL, "%s: allocation failed", name);
	CHECK(usable >= requested, "%s: usable size %zu < requested %zu", name, usable, requested);
	printf("%s %zu\n", name, usable);
}

int main(void)
{
	void *small, *odd, *page, *large, *zeroed, *aligned, *moved, *gone;
	void *pair[2];
	size_t pair_total;

	small = malloc(1); /* EXPECT: @small 1 */
	show("small", small, 1);
	odd = malloc(100); /* EXPECT: @odd 1 */
	show("odd", odd, 100);
	page = malloc(5000); /* EXPECT: @page 1 */
	show("page", page, 5000);
	large = malloc(300000); /* EXPECT: @large 1 */
	show("large", large, 300000);
	zeroed = calloc(3, 33); /* EXPECT: @zeroed 1 */
	show("zeroed", zeroed, 99);
	aligned = memalign(256, 70); /* EXPECT: @aligned 1 */
	show("aligned", aligned, 70);

	moved = malloc(10); /* EXPECT: 0 0 */
	moved = realloc(moved, 1500); /* EXPECT: @moved 1 */
	show("moved", moved, 1500);

	gone = malloc(777); /* EXPECT: 0 0 */
	free(gone);

	/* Two blocks at one site: the tag holds the sum. */
	for (int i = 0; i < 2; i++)
		pair[i] = malloc(40 + 200 * (size_t)i); /* EXPECT: @pair 2 */
	pair_total = malloc_usable_size(pair[0]) + malloc_usable_size(pair[1]);
	printf("pair %zu\n", pair_total);
	return CHECK_STATUS();
}

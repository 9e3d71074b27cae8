/*
 * Allocations at a site in an anonymous function (tests/programs/
 * anonymous_lib.c), charged by the unwinder's rule: seen through on the
 * way to a wrapper, the site's own otherwise.  It prints whether the
 * profiler's unwinder is mapped at the end: a run whose route memory
 * knows the frames' offsets charges both ways without it.
 *
 * The wrapper's calls come first, so that the site's route (decided at
 * its first allocation) is to see through it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "unwinder_state.h"

void *anonymous_xmalloc(size_t n);
void *anonymous_plain(size_t n);
void *anonymous_direct(size_t n);

static void *blocks[9];

int main(void)
{
	for (int i = 0; i < 4; i++)
		blocks[i] = anonymous_xmalloc(50); /* EXPECT: 200 4 */
	for (int i = 4; i < 7; i++)
		blocks[i] = anonymous_plain(100);
	for (int i = 7; i < 9; i++)
		blocks[i] = anonymous_direct(40);
	for (int i = 0; i < 9; i++)
		CHECK(blocks[i] != NULL, "allocation %d failed", i);
	printf("end: unwinder: %s\n", unwinder_mapped());
	return CHECK_STATUS();
}

/*
 * Allocations through a stripped library's anonymous allocator behind
 * its wrappers (tests/programs/helper_lib.c), from six call sites in
 * turn, forty rounds: each is charged where the rule says, from its
 * first allocation to its last, whichever way the profiler finds the
 * answer (the tag's way through the wrapper and the thread's last
 * paths, which the first rounds make, or the walk).  The three calls
 * of helper_outer_xmalloc share every frame but the last, so their
 * paths are told apart only there.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

#define ROUNDS 40
#define SITES 6

void *helper_xmalloc(size_t n);
void *helper_outer_xmalloc(size_t n);
void *helper_own(size_t n);
void *helper_direct(size_t n);

static void *blocks[ROUNDS * SITES];

int main(void)
{
	void **b = blocks;

	for (int i = 0; i < ROUNDS; i++) {
		*b++ = helper_xmalloc(16);       /* EXPECT: 640 40 func:main */
		*b++ = helper_outer_xmalloc(24); /* EXPECT: 960 40 func:main */
		*b++ = helper_own(32);
		*b++ = helper_outer_xmalloc(40); /* EXPECT: 1600 40 func:main */
		*b++ = helper_direct(48);
		*b++ = helper_outer_xmalloc(56); /* EXPECT: 2240 40 func:main */
	}
	for (int i = 0; i < ROUNDS * SITES; i++)
		CHECK(blocks[i] != NULL, "allocation %d failed", i);
	printf("end\n");
	return CHECK_STATUS();
}

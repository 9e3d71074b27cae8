/*
 * Allocations through a stripped library's anonymous allocator behind
 * its wrappers (tests/programs/helper_lib.c), from six call sites in
 * turn, forty rounds in the main thread and forty more in a second one
 * started after: each is charged where the rule says, from its first
 * allocation to its last, whichever way the profiler finds the answer
 * (the tag's way through the wrapper, made by the main thread's first
 * rounds, and each thread's own last paths, or the walk).  The three
 * calls of helper_outer_xmalloc share every frame but the last, so
 * their paths are told apart only there.  It prints whether the
 * profiler's unwinder is mapped after the main thread's rounds: a run
 * whose route memory knows the frames' offsets charges every way
 * without it (the second thread's start loads it, as the profiler
 * loads it before any second thread, core/callsite.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "unwinder_state.h"

#define ROUNDS 40
#define SITES 6

void *helper_xmalloc(size_t n);
void *helper_outer_xmalloc(size_t n);
void *helper_own(size_t n);
void *helper_direct(size_t n);

static void *blocks[2][ROUNDS * SITES];

static void *rounds(void *arg)
{
	void **b = arg;

	for (int i = 0; i < ROUNDS; i++) {
		*b++ = helper_xmalloc(16);       /* EXPECT: 1280 80 func:rounds */
		*b++ = helper_outer_xmalloc(24); /* EXPECT: 1920 80 func:rounds */
		*b++ = helper_own(32);
		*b++ = helper_outer_xmalloc(40); /* EXPECT: 3200 80 func:rounds */
		*b++ = helper_direct(48);
		*b++ = helper_outer_xmalloc(56); /* EXPECT: 4480 80 func:rounds */
	}
	return NULL;
}

int main(void)
{
	pthread_t thread;

	rounds(blocks[0]);
	printf("rounds: unwinder: %s\n", unwinder_mapped());
	CHECK(pthread_create(&thread, NULL, rounds, blocks[1]) == 0, "pthread_create failed");
	CHECK(pthread_join(thread, NULL) == 0, "pthread_join failed");
	for (int t = 0; t < 2; t++)
		for (int i = 0; i < ROUNDS * SITES; i++)
			CHECK(blocks[t][i] != NULL, "allocation %d of thread %d failed", i, t);
	printf("end\n");
	return CHECK_STATUS();
}

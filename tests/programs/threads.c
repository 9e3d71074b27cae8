/*
 * 4 threads x 100,000 allocations, each block freed (or resized) by
 * another thread while the others keep allocating at the same sites
 * (see tests/lib.sh for the EXPECT markers).
 *
 * Thread t allocates in rounds of 10,000; at the end of each round a
 * barrier hands its blocks to thread t-1, which checks and frees them
 * while thread t goes on with its next round.  Block k of thread t:
 *   k even: malloc(16 * (t + 1)) bytes; k odd: calloc(t + 1, 8)
 *   k % 1000 == 0:   kept until exit            (100 per thread)
 *   k % 1000 == 500: realloc'd to 100 bytes by the other thread, kept
 *   otherwise:       freed by the other thread
 * so at exit:
 *   malloc site:  400 blocks, 100 * 16 * (1 + 2 + 3 + 4) = 16000 bytes
 *   calloc site:  all freed
 *   realloc site: 400 blocks of 100 bytes = 40000 bytes
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define THREADS    4
#define PER_THREAD 100000
#define ROUNDS     10
#define PER_ROUND  (PER_THREAD / ROUNDS)

static unsigned char *blocks[THREADS][PER_THREAD];
static pthread_barrier_t round_end;
static int failures[THREADS];

static void allocate_round(int t, int round)
{
	int k;

	for (k = round * PER_ROUND; k < (round + 1) * PER_ROUND; k++) {
		unsigned char *p;
		size_t size;

		if (k % 2 == 0) {
			size = 16 * (size_t)(t + 1);
			p = malloc(size); /* EXPECT: 16000 400 */
		} else {
			size = 8 * (size_t)(t + 1);
			p = calloc((size_t)t + 1, 8); /* EXPECT: 0 0 */
			if (p && (p[0] != 0 || p[size - 1] != 0))
				failures[t]++;
		}
		if (!p) {
			failures[t]++;
			continue;
		}
		p[0] = (unsigned char)t;
		p[size - 1] = (unsigned char)k;
		blocks[t][k] = p;
	}
}

/* Thread t takes over the blocks thread `owner` made in this round. */
static void release_round(int t, int owner, int round)
{
	int k;

	for (k = round * PER_ROUND; k < (round + 1) * PER_ROUND; k++) {
		unsigned char *p = blocks[owner][k];
		size_t size = (k % 2 == 0 ? 16 : 8) * (size_t)(owner + 1);

		if (!p)
			continue;
		if (p[0] != (unsigned char)owner || p[size - 1] != (unsigned char)k)
			failures[t]++;
		if (k % 1000 == 0)
			continue;
		if (k % 1000 == 500) {
			p = realloc(p, 100); /* EXPECT: 40000 400 */
			if (!p || p[0] != (unsigned char)owner)
				failures[t]++;
			blocks[owner][k] = p;
			continue;
		}
		free(p);
		blocks[owner][k] = NULL;
	}
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	int owner = (t + 1) % THREADS;
	int round;

	for (round = 0; round < ROUNDS; round++) {
		allocate_round(t, round);
		pthread_barrier_wait(&round_end);
		release_round(t, owner, round);
	}
	return NULL;
}

int main(void)
{
	pthread_t threads[THREADS];
	int t, k, kept = 0;

	pthread_barrier_init(&round_end, NULL, THREADS);
	for (t = 0; t < THREADS; t++)
		CHECK(pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t) == 0,
		      "pthread_create %d failed", t);
	for (t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);

	for (t = 0; t < THREADS; t++) {
		CHECK(failures[t] == 0, "thread %d saw %d failed or corrupted blocks",
		      t, failures[t]);
		for (k = 0; k < PER_THREAD; k++)
			kept += blocks[t][k] != NULL;
	}
	CHECK(kept == 800, "%d blocks kept, not 800", kept);
	return CHECK_STATUS();
}

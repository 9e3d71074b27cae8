/*
 * 200 threads, one after another, each made with the smallest stack
 * pthread_create accepts (PTHREAD_STACK_MIN).  glibc places every
 * thread's static TLS at the top of its stack, the preloaded library's
 * included: a profiler whose per-thread state grew by kilobytes there
 * would make pthread_create fail with EINVAL here, where the program
 * runs natively.  Each thread frees and makes blocks of two classes
 * over and over, so its magazines (core/magazine.h) open, fill and are
 * flushed at its exit, and keeps one block (see tests/lib.sh for the
 * EXPECT markers).
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define THREADS 200
#define BLOCKS  32

static void *kept[THREADS];
static int failures[THREADS];

static void *thread_main(void *arg)
{
	long t = (long)arg;
	unsigned char *blocks[BLOCKS];

	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < BLOCKS; i++) {
			blocks[i] = malloc(48); /* EXPECT: 0 0 */
			if (!blocks[i])
				failures[t]++;
			else
				memset(blocks[i], round + i, 48);
		}
		for (int i = 0; i < BLOCKS; i++) {
			if (blocks[i] && blocks[i][47] != (unsigned char)(round + i))
				failures[t]++;
			free(blocks[i]);
		}
		free(malloc(3000)); /* EXPECT: 0 0 */
	}
	kept[t] = malloc(24); /* EXPECT: 4800 200 */
	if (!kept[t])
		failures[t]++;
	return NULL;
}

int main(void)
{
	pthread_attr_t attr;
	int made = 0;

	CHECK(pthread_attr_init(&attr) == 0, "pthread_attr_init");
	CHECK(pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN) == 0,
	      "pthread_attr_setstacksize(%d)", (int)PTHREAD_STACK_MIN);
	for (long t = 0; t < THREADS; t++) {
		pthread_t thread;
		int err = pthread_create(&thread, &attr, thread_main, (void *)t);

		CHECK(err == 0, "pthread_create with a %d-byte stack: error %d",
		      (int)PTHREAD_STACK_MIN, err);
		if (err)
			break;
		CHECK(pthread_join(thread, NULL) == 0, "pthread_join");
		CHECK(failures[t] == 0, "thread %ld: %d blocks wrong", t, failures[t]);
		made++;
	}
	printf("%d threads with %d-byte stacks\n", made, (int)PTHREAD_STACK_MIN);
	return CHECK_STATUS();
}

/*
 * The program's first allocation, made by a thread on the smallest
 * stack pthread_create accepts (PTHREAD_STACK_MIN, 16 KiB), ten frames
 * of 256 bytes deep.  That allocation is where the profiler first meets
 * the program's module: it looks the module's routes up in its cache
 * folder (preload/route_memory.c), on this thread's stack.  With a
 * PATH_MAX buffer and snprintf there (report/cache_dir.c), that took
 * 6 KiB, and the thread overflowed its stack at 4 frames where natively
 * it runs 37 deep.  Prints "allocated at depth 10" (or at the depth
 * given as its argument: bench/stack_headroom.sh finds the deepest).
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

#define FRAMES 10

static int depth_asked = FRAMES;

static void *kept;

static __attribute__((noinline)) void *descend(int frames)
{
	volatile char room[256];
	void *block;

	room[0] = (char)frames;
	if (frames > 0) {
		block = descend(frames - 1);
		room[1] = room[0];
		return block;
	}
	return malloc(100); /* EXPECT: 100 1 */
}

static void *thread_main(void *arg)
{
	(void)arg;
	kept = descend(depth_asked);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	pthread_t thread;

	if (argc > 1)
		depth_asked = atoi(argv[1]);

	CHECK(pthread_attr_init(&attr) == 0, "pthread_attr_init");
	CHECK(pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN) == 0, "a stack of PTHREAD_STACK_MIN");
	CHECK(pthread_create(&thread, &attr, thread_main, NULL) == 0, "pthread_create");
	CHECK(pthread_join(thread, NULL) == 0, "pthread_join");
	CHECK(kept != NULL, "the block");
	printf("allocated at depth %d\n", depth_asked);
	return CHECK_STATUS();
}

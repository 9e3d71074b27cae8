/*
 * A thread on the smallest stack pthread_create accepts
 * (PTHREAD_STACK_MIN, 16 KiB) keeps a block and calls exit(0): the
 * report at exit is written on that thread.  The writer's own frame is
 * 12 KiB and libdw's below it more; on the thread's stack the program
 * died of SIGSEGV and left no report, so the profiler writes on its own
 * stack (core/profiler_stack.h).  Prints "exiting from the thread".
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

static void *kept;

static void *thread_main(void *arg)
{
	(void)arg;
	kept = malloc(100); /* EXPECT: 100 1 func:thread_main */
	CHECK(kept != NULL, "the block");
	printf("exiting from the thread\n");
	fflush(stdout);
	exit(CHECK_STATUS());
}

int main(void)
{
	pthread_attr_t attr;
	pthread_t thread;

	CHECK(pthread_attr_init(&attr) == 0, "pthread_attr_init");
	CHECK(pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN) == 0, "a stack of PTHREAD_STACK_MIN");
	CHECK(pthread_create(&thread, &attr, thread_main, NULL) == 0, "pthread_create");
	pthread_join(thread, NULL);
	/* Not reached: the thread exits the process. */
	return 1;
}

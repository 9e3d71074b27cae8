/*
 * Threads whose first call is pthread_getattr_np on themselves, as each
 * of the JVM's threads makes (os::current_stack_base).  glibc holds the
 * thread's own lock there while it reallocs a CPU set: an allocation
 * whose walk needed the same call, to learn where the thread's stack
 * ends, waited for that lock forever (java under ALLOCINFO_DEPTH=4).
 *
 * Half the threads run on a stack of the program's own
 * (pthread_attr_setstack), where glibc keeps the thread's descriptor
 * too; each then allocates through a chain of three functions, whose
 * record at depth 3 names them (thread_attr.sh finds the lines from the
 * CHAIN markers).  See tests/lib.sh for the EXPECT markers.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"

#define THREADS     8
#define OWN_STACK   (256 * 1024)

static void *kept[THREADS];
static int failures[THREADS];

static __attribute__((noinline)) void *chain_inner(void)
{
	return malloc(40); /* EXPECT: 320 8 */ /* CHAIN: 1 */
}

static __attribute__((noinline)) void *chain_middle(void)
{
	void *p = chain_inner(); /* CHAIN: 2 */

	__asm__ volatile("" ::: "memory");	/* not a tail call */
	return p;
}

static __attribute__((noinline)) void *chain_outer(void)
{
	void *p = chain_middle(); /* CHAIN: 3 */

	__asm__ volatile("" ::: "memory");
	return p;
}

static void *thread_main(void *arg)
{
	long t = (long)arg;
	pthread_attr_t attr;
	void *addr = NULL;
	size_t size = 0;
	char here;

	if (pthread_getattr_np(pthread_self(), &attr) != 0) {
		failures[t]++;
		return NULL;
	}
	if (pthread_attr_getstack(&attr, &addr, &size) != 0 ||
	    (char *)addr > &here || &here >= (char *)addr + size)
		failures[t]++;
	pthread_attr_destroy(&attr);
	kept[t] = chain_outer();
	if (!kept[t])
		failures[t]++;
	return NULL;
}

int main(void)
{
	pthread_t threads[THREADS];
	void *stacks[THREADS] = { 0 };

	for (long t = 0; t < THREADS; t++) {
		pthread_attr_t attr;
		int err;

		CHECK(pthread_attr_init(&attr) == 0, "pthread_attr_init");
		if (t % 2) {
			/* Unmapped at the end. */
			stacks[t] = mmap(NULL, OWN_STACK, PROT_READ | PROT_WRITE, /* EXPECT: 0 0 */
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
			CHECK(stacks[t] != MAP_FAILED, "mmap of a stack");
			CHECK(pthread_attr_setstack(&attr, stacks[t], OWN_STACK) == 0,
			      "pthread_attr_setstack");
		}
		err = pthread_create(&threads[t], &attr, thread_main, (void *)t);
		CHECK(err == 0, "pthread_create: %s", strerror(err));
		pthread_attr_destroy(&attr);
		if (err == 0)
			CHECK(pthread_join(threads[t], NULL) == 0, "pthread_join");
	}
	for (int t = 0; t < THREADS; t++) {
		CHECK(!failures[t], "thread %d: %d failures", t, failures[t]);
		if (stacks[t])
			munmap(stacks[t], OWN_STACK);
	}
	printf("%d threads asked for their attributes\n", THREADS);
	return CHECK_STATUS();
}

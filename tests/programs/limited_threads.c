/*
 * Threads that start allocating when the address space is nearly used
 * up, under a limit (ulimit -v): the allocator must make do or fail an
 * allocation, never crash.  main fills the address space with 1 MiB
 * blocks until malloc fails, frees two of them, then starts 8 threads on
 * 64 KiB stacks; each allocates and frees 2,000 blocks of 64 bytes,
 * taking a failed malloc as glibc's NULL.  Prints "threads done" once
 * one has run.  The threads' stacks have room of their own: 1 MiB
 * reserved before the filling and unmapped after it.  Freed blocks give
 * them none under jemalloc, which keeps their address space (glibc
 * unmaps them), and whether the filling left a hole that fits a stack
 * was the layout's luck: with 12 MiB less of the library's tables, no
 * thread started in 5 of 6 runs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define THREADS 8
#define BLOCKS 2000

static void *churn(void *arg)
{
	static void *blocks[THREADS][BLOCKS];
	void **mine = blocks[(size_t)arg];

	for (int i = 0; i < BLOCKS; i++)
		mine[i] = malloc(64);
	for (int i = 0; i < BLOCKS; i++)
		free(mine[i]);
	return NULL;
}

int main(void)
{
	static void *filler[1 << 16];
	size_t n = 0;
	pthread_t threads[THREADS];
	pthread_attr_t attr;
	int started = 0;

	void *stacks_room = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	while (n < sizeof(filler) / sizeof(filler[0]) && (filler[n] = malloc(1 << 20)))
		n++;
	for (int i = 0; i < 2 && n; i++)
		free(filler[--n]);
	if (stacks_room != MAP_FAILED)
		munmap(stacks_room, 1 << 20);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	for (size_t i = 0; i < THREADS; i++)
		if (pthread_create(&threads[i], &attr, churn, (void *)i) == 0)
			started++;
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	printf(started ? "threads done\n" : "no thread started\n");
	return 0;
}

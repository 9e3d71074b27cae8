/*
 * Threads that come and go: ROUNDS times, 4 threads are started, each
 * allocates and frees 8 blocks of 32 to 312 bytes, and they are joined.
 * The pattern of a program that starts a thread per task.  Not one of
 * bench/run's workloads: for bench/alternate, where it shows what a
 * thread's start and exit cost each allocator.  jemalloc makes each
 * thread a cache and purges pages as threads come and go (`strace -f
 * -e madvise` shows two MADV_DONTNEED calls a thread more than glibc
 * makes, of 32 and 108 KiB, each a TLB shootdown in a process with
 * threads): under plain jemalloc this program runs several times
 * longer than under glibc's malloc, and allocinfo inherits that.
 *
 *   gcc -O2 -pthread -o thread_churn thread_churn.c && ./thread_churn [ROUNDS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define BLOCKS  8

static void *work(void *arg)
{
	char *blocks[BLOCKS];

	for (int i = 0; i < BLOCKS; i++) {
		blocks[i] = malloc(32 + (size_t)i * 40);
		if (blocks[i])
			memset(blocks[i], i, 32);
	}
	for (int i = 0; i < BLOCKS; i++)
		free(blocks[i]);
	return arg;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 2000;

	for (int r = 0; r < rounds; r++) {
		pthread_t threads[THREADS];
		int started = 0;

		for (int k = 0; k < THREADS; k++)
			if (pthread_create(&threads[k], NULL, work, NULL) == 0)
				started++;
		for (int k = 0; k < started; k++)
			pthread_join(threads[k], NULL);
		if (started < THREADS) {
			fprintf(stderr, "thread_churn: pthread_create failed\n");
			return 1;
		}
	}
	puts("ok");
	return 0;
}

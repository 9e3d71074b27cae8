/*
 * 64 threads hammering malloc, free, realloc, mmap and munmap at shared
 * call sites and at sites of their own group, freeing and unmapping
 * each other's memory; then threads cancelled in the middle of
 * allocating (see tests/lib.sh for the EXPECT markers).
 *
 * Phase 1, thread t (all 64 start together):
 *   ITERS blocks at the shared malloc site, 16 + 8 * (t % 8) bytes:
 *     i % 1000 == 0 kept (4 per thread), i % 4 == 1 handed to thread
 *     t - 1, the rest freed at once;
 *   ITERS blocks at its group's site (group t % 4, 16 threads each,
 *     24 + 8 * group bytes): i % 2000 == 0 kept (2 per thread);
 *   MAPS mappings of 1 + j % 3 pages at the shared mmap site:
 *     j % 50 == 0 kept (1 + 3 pages per thread), j % 10 == 7 handed to
 *     thread t - 1, the rest unmapped at once;
 *   MAPS mappings at its half's site (t % 2, 32 threads each, 1 or 2
 *     pages): the first kept, the rest unmapped at once.
 * Phase 2, after a barrier: thread t checks and frees the blocks
 *   handed over by thread t + 1, except the first, which it reallocs to
 *   100 bytes and keeps; it unmaps the mappings handed over, those of
 *   several pages one page first and then the rest.
 * So at exit:
 *   shared malloc: 4 * 8 * (16 + 24 + ... + 72) = 11264 bytes, 256 calls
 *   group malloc:  16 * 2 * size = 32 calls each
 *   realloc:       64 * 100 = 6400 bytes, 64 calls
 *   shared mmap:   64 * 4 pages = 1048576 bytes, 128 calls
 *   half mmap:     32 * 1 or 2 pages, 32 calls each
 *
 * Then CANCELLED threads with deferred cancellation: half loop on
 * malloc, mmap, munmap and pthread_testcancel, with a cleanup handler
 * that frees the block in hand; half block in read() (a cancellation
 * point) holding a block the same way.  After they are cancelled and
 * joined, the main thread and a new thread still allocate, and every
 * total above is still exact.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

#define THREADS   64
#define ITERS     4000
#define MAPS      100
#define HANDED    (ITERS / 4)
#define HANDED_MAPS (MAPS / 10)
#define CANCELLED 8
#define PAGE      4096
#define RW        (PROT_READ | PROT_WRITE)
#define ANON      (MAP_PRIVATE | MAP_ANONYMOUS)

struct handed_map {
	char *addr;
	size_t pages;
};

static unsigned char *handed[THREADS][HANDED];
static struct handed_map handed_maps[THREADS][HANDED_MAPS];
static pthread_barrier_t start, phase2;
static _Atomic int failures;

static size_t shared_size(int t)
{
	return 16 + 8 * (size_t)(t % 8);
}

static void *group_alloc(int t)
{
	switch (t % 4) {
	case 0:
		return malloc(24); /* EXPECT: 768 32 */
	case 1:
		return malloc(32); /* EXPECT: 1024 32 */
	case 2:
		return malloc(40); /* EXPECT: 1280 32 */
	default:
		return malloc(48); /* EXPECT: 1536 32 */
	}
}

static char *half_map(int t)
{
	if (t % 2 == 0)
		return mmap(NULL, PAGE, RW, ANON, -1, 0); /* EXPECT: 131072 32 */
	return mmap(NULL, 2 * PAGE, RW, ANON, -1, 0); /* EXPECT: 262144 32 */
}

static void phase1(int t)
{
	for (int i = 0; i < ITERS; i++) {
		unsigned char *p = malloc(shared_size(t)); /* EXPECT: 11264 256 */
		unsigned char *q = group_alloc(t);

		if (!p || !q) {
			failures++;
			return;
		}
		memset(p, t, shared_size(t));
		if (i % 4 == 1)
			handed[t][i / 4] = p;
		else if (i % 1000 != 0)
			free(p);
		if (i % 2000 != 0)
			free(q);
	}
	for (int j = 0; j < MAPS; j++) {
		size_t pages = 1 + (size_t)j % 3;
		char *m = mmap(NULL, pages * PAGE, RW, ANON, -1, 0); /* EXPECT: 1048576 128 */
		char *h = half_map(t);

		if (m == MAP_FAILED || h == MAP_FAILED) {
			failures++;
			return;
		}
		m[0] = (char)t;
		m[pages * PAGE - 1] = (char)t;
		if (j % 10 == 7)
			handed_maps[t][j / 10] = (struct handed_map){ m, pages };
		else if (j % 50 != 0 && munmap(m, pages * PAGE) != 0) /* EXPECT: none */
			failures++;
		if (j != 0 && munmap(h, (size_t)(t % 2 + 1) * PAGE) != 0) /* EXPECT: none */
			failures++;
	}
}

/* Thread t frees and unmaps what thread `owner` handed over. */
static void phase2_release(int t, int owner)
{
	size_t size = shared_size(owner);

	(void)t;
	for (int k = 0; k < HANDED; k++) {
		unsigned char *p = handed[owner][k];

		if (!p || p[0] != owner || p[size - 1] != owner) {
			failures++;
			continue;
		}
		if (k == 0) {
			p = realloc(p, 100); /* EXPECT: 6400 64 */
			if (!p || p[0] != owner)
				failures++;
		} else {
			free(p);
		}
	}
	for (int k = 0; k < HANDED_MAPS; k++) {
		struct handed_map *hm = &handed_maps[owner][k];

		if (!hm->addr || hm->addr[0] != (char)owner ||
		    hm->addr[hm->pages * PAGE - 1] != (char)owner) {
			failures++;
			continue;
		}
		if (hm->pages > 1 && munmap(hm->addr, PAGE) != 0) /* EXPECT: none */
			failures++;
		if (hm->pages > 1 && munmap(hm->addr + PAGE, (hm->pages - 1) * PAGE) != 0) /* EXPECT: none */
			failures++;
		if (hm->pages == 1 && munmap(hm->addr, PAGE) != 0) /* EXPECT: none */
			failures++;
	}
}

static void *hammer(void *arg)
{
	int t = (int)(intptr_t)arg;

	pthread_barrier_wait(&start);
	phase1(t);
	pthread_barrier_wait(&phase2);
	phase2_release(t, (t + 1) % THREADS);
	return NULL;
}

/* ---- cancellation */

static _Atomic long victim_rounds;
static _Atomic int victims_blocking;
static int never_written[2];

static void *loop_victim(void *arg)
{
	(void)arg;
	for (;;) {
		char *p = malloc(200); /* EXPECT: 0 0 */
		char *m;

		pthread_cleanup_push(free, p);
		m = mmap(NULL, PAGE, RW, ANON, -1, 0); /* EXPECT: 0 0 */
		if (m == MAP_FAILED || munmap(m, PAGE) != 0) /* EXPECT: none */
			failures++;
		victim_rounds++;
		pthread_testcancel();
		pthread_cleanup_pop(1);
	}
	return NULL;
}

static void *blocked_victim(void *arg)
{
	char *p = malloc(300); /* EXPECT: 0 0 */
	char c;

	(void)arg;
	pthread_cleanup_push(free, p);
	victims_blocking++;
	if (read(never_written[0], &c, 1) >= 0)
		failures++;
	pthread_cleanup_pop(1);
	return NULL;
}

static void *after_cancel(void *arg)
{
	(void)arg;
	return malloc(123); /* EXPECT: 123 1 */
}

static void test_cancel(void)
{
	pthread_t victims[CANCELLED];
	void *ret;

	CHECK(pipe(never_written) == 0, "pipe failed");
	for (int i = 0; i < CANCELLED; i++)
		CHECK(pthread_create(&victims[i], NULL, i % 2 ? blocked_victim : loop_victim, NULL) == 0,
		      "pthread_create failed");
	/* Every victim is in its loop, or about to block, before the cancel. */
	while (victim_rounds < 10000 || victims_blocking < CANCELLED / 2)
		sched_yield();
	for (int i = 0; i < CANCELLED; i++)
		CHECK(pthread_cancel(victims[i]) == 0, "pthread_cancel failed");
	for (int i = 0; i < CANCELLED; i++) {
		CHECK(pthread_join(victims[i], &ret) == 0, "pthread_join failed");
		CHECK(ret == PTHREAD_CANCELED, "victim %d was not cancelled", i);
	}

	/* Nothing is left locked: this thread and a new one allocate. */
	CHECK(malloc(4096) != NULL, "malloc after the cancel failed"); /* EXPECT: 4096 1 */
	CHECK(mmap(NULL, PAGE, RW, ANON, -1, 0) != MAP_FAILED, "mmap after the cancel failed"); /* EXPECT: 4096 1 */
	CHECK(pthread_create(&victims[0], NULL, after_cancel, NULL) == 0, "pthread_create failed");
	CHECK(pthread_join(victims[0], &ret) == 0 && ret != NULL, "a new thread could not allocate");
}

int main(void)
{
	pthread_t threads[THREADS];

	CHECK(sysconf(_SC_PAGESIZE) == PAGE, "the page size is %ld; the EXPECT markers assume %d",
	      sysconf(_SC_PAGESIZE), PAGE);
	pthread_barrier_init(&start, NULL, THREADS);
	pthread_barrier_init(&phase2, NULL, THREADS);
	for (int t = 0; t < THREADS; t++)
		CHECK(pthread_create(&threads[t], NULL, hammer, (void *)(intptr_t)t) == 0,
		      "pthread_create %d failed", t);
	for (int t = 0; t < THREADS; t++)
		CHECK(pthread_join(threads[t], NULL) == 0, "pthread_join %d failed", t);
	CHECK(failures == 0, "%d blocks or mappings were lost, corrupted or failed", (int)failures);

	test_cancel();
	CHECK(failures == 0, "%d failures in the cancelled threads", (int)failures);
	return CHECK_STATUS();
}

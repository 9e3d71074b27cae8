/*
 * The multi-threaded workload of bench/run: 4 threads allocate, hand
 * blocks to each other, free each other's blocks, reallocate, and map
 * and unmap anonymous memory.
 *
 *   bench/stress_threads [--threads N] [--scale F]
 *
 * Each thread runs a fixed amount of work from its own seeded random
 * sequence, so every run does the same work and the wall time compares
 * allocators, not luck:
 * - sizes: 70% 16-128 B, 22% 129 B-1 KiB, 7.5% 1-16 KiB, 0.5% 16-256 KiB;
 * - half of the blocks go to the next thread, in batches of 64 through
 *   a lock-free inbox, and that thread frees them (cross-thread frees);
 *   a sender waits while 32 of its batches are unfreed (draining its own
 *   inbox meanwhile, so no cycle of waiting threads can block), so the
 *   memory in flight, and the peak RSS, do not depend on scheduling;
 * - the others replace a slot of a window of 4,096 live blocks per
 *   thread; one in eight of those is then reallocated to a new size;
 * - one in 4,096 iterations maps 64 KiB to 1 MiB, touches every page and
 *   keeps it in a ring of 8 mappings; the mapping it replaces is
 *   unmapped in two halves (a partial munmap, then the rest).
 * Prints the number of blocks freed by another thread than their own.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench/xorshift.h"

#define MAX_THREADS 64
#define BATCH 64
#define WINDOW 4096
#define MAPPINGS 8
#define MAX_PENDING 32
#define BASE_ITERATIONS 2000000

struct batch {
	struct batch *next;
	unsigned int count;
	void *block[BATCH];
};

struct mapping {
	char *addr;
	size_t len;
};

struct worker {
	pthread_t thread;
	unsigned int id;
	long iterations;
	uint64_t rng;
	struct batch *_Atomic inbox;	/* pushed by the previous thread */
	atomic_int pending;		/* batches pushed and not yet freed */
	struct batch *outgoing;
	void *window[WINDOW];
	struct mapping maps[MAPPINGS];
	unsigned long foreign_frees;
} __attribute__((aligned(64)));

static struct worker workers[MAX_THREADS];
static unsigned int nthreads = 4;
static atomic_uint finished;
static size_t page_size;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static size_t random_size(uint64_t *rng)
{
	uint64_t r = next_random(rng);
	unsigned int p = (unsigned int)(r % 1000);

	r >>= 10;
	if (p < 700)
		return 16 + r % 113;
	if (p < 920)
		return 129 + r % 896;
	if (p < 995)
		return 1024 + r % (15 * 1024);
	return 16384 + r % (240 * 1024);
}

static void *checked_malloc(size_t size)
{
	char *p = malloc(size);

	if (!p)
		die("stress_threads: malloc");
	p[0] = (char)size;
	p[size - 1] = 1;
	return p;
}

static void free_inbox(struct worker *w)
{
	struct batch *b = atomic_exchange_explicit(&w->inbox, NULL,
						   memory_order_acquire);
	int batches = 0;

	while (b) {
		struct batch *next = b->next;

		for (unsigned int i = 0; i < b->count; i++)
			free(b->block[i]);
		w->foreign_frees += b->count;
		free(b);
		b = next;
		batches++;
	}
	if (batches)
		atomic_fetch_sub_explicit(&w->pending, batches, memory_order_relaxed);
}

static void push(struct worker *w, struct batch *b)
{
	struct worker *to = &workers[(w->id + 1) % nthreads];

	while (atomic_load_explicit(&to->pending, memory_order_relaxed) >= MAX_PENDING) {
		free_inbox(w);
		sched_yield();
	}
	atomic_fetch_add_explicit(&to->pending, 1, memory_order_relaxed);
	b->next = atomic_load_explicit(&to->inbox, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&to->inbox, &b->next, b,
			memory_order_release, memory_order_relaxed))
		;
}

static void send(struct worker *w, void *block)
{
	struct batch *b = w->outgoing;

	if (!b) {
		b = malloc(sizeof(*b));
		if (!b)
			die("stress_threads: malloc");
		b->count = 0;
		w->outgoing = b;
	}
	b->block[b->count++] = block;
	if (b->count < BATCH)
		return;
	push(w, b);
	w->outgoing = NULL;
}

static void unmap_in_halves(struct mapping *m)
{
	size_t half = (m->len / 2) & ~(page_size - 1);

	if (munmap(m->addr + half, m->len - half) != 0 ||
	    (half && munmap(m->addr, half) != 0))
		die("stress_threads: munmap");
	m->addr = NULL;
}

static void map_one(struct worker *w, uint64_t r)
{
	struct mapping *m = &w->maps[r % MAPPINGS];
	size_t len = (16 + (r >> 8) % 241) * 4096;

	if (m->addr)
		unmap_in_halves(m);
	m->addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->addr == MAP_FAILED)
		die("stress_threads: mmap");
	m->len = len;
	for (size_t off = 0; off < len; off += page_size)
		m->addr[off] = 1;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (long i = 0; i < w->iterations; i++) {
		uint64_t r = next_random(&w->rng);
		void *p = checked_malloc(random_size(&w->rng));

		if (r & 1) {
			send(w, p);
		} else {
			unsigned int slot = (unsigned int)(r >> 1) % WINDOW;

			free(w->window[slot]);
			if ((r >> 20) % 8 == 0) {
				size_t size = random_size(&w->rng);

				p = realloc(p, size);
				if (!p)
					die("stress_threads: realloc");
				((char *)p)[size - 1] = 2;
			}
			w->window[slot] = p;
		}
		if ((r >> 32) % 4096 == 0)
			map_one(w, r >> 40);
		if ((i & 63) == 0)
			free_inbox(w);
	}
	/* Send the last batch, then keep draining until every thread has
	 * sent its last: a thread still working may wait on this inbox. */
	if (w->outgoing)
		push(w, w->outgoing);
	w->outgoing = NULL;
	atomic_fetch_add_explicit(&finished, 1, memory_order_release);
	while (atomic_load_explicit(&finished, memory_order_acquire) < nthreads) {
		free_inbox(w);
		sched_yield();
	}
	free_inbox(w);
	for (unsigned int i = 0; i < WINDOW; i++)
		free(w->window[i]);
	for (unsigned int i = 0; i < MAPPINGS; i++)
		if (w->maps[i].addr)
			unmap_in_halves(&w->maps[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	double scale = 1.0;
	unsigned long foreign = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--threads"))
			nthreads = (unsigned int)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--scale"))
			scale = atof(argv[i + 1]);
		else
			break;
	}
	if (argc % 2 == 0 || nthreads < 1 || nthreads > MAX_THREADS || scale <= 0) {
		fprintf(stderr, "usage: stress_threads [--threads 1-%d] [--scale F]\n",
			MAX_THREADS);
		return 2;
	}
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	for (unsigned int i = 0; i < nthreads; i++) {
		workers[i].id = i;
		workers[i].iterations = (long)(BASE_ITERATIONS * scale);
		workers[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
	}
	for (unsigned int i = 0; i < nthreads; i++)
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]))
			die("stress_threads: pthread_create");
	for (unsigned int i = 0; i < nthreads; i++) {
		pthread_join(workers[i].thread, NULL);
		foreign += workers[i].foreign_frees;
	}
	printf("%lu blocks freed by another thread\n", foreign);
	return 0;
}

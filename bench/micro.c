/*
 * Nanoseconds per malloc+free pair, for bench/run.
 *
 *   bench/micro [--ms MS | --pairs N] [--threads 1,2,4] [--sizes 16,256,65536,1048576]
 *               [--sites shared,per-thread] [--api malloc|new|aligned|page] [--burst N]
 *
 * For every (threads, call sites, size) cell, THREADS threads each
 * malloc a block, write its first byte and free it, over and over, for
 * MS milliseconds (or, with --pairs, N pairs each, rounded up to 64: a
 * fixed amount of work, for bench/instructions).  "shared": every
 * thread allocates at one call site;
 * "per-thread": thread i at a call site of its own (callsites.h).
 * --api new: C++'s operator new and sized delete (libstdc++'s, or the
 * profiler's) instead of malloc and free, at one call site ("shared"
 * cells only).  --api aligned: posix_memalign at 64 bytes' alignment
 * and free, at one call site ("shared" cells only); --api page, the
 * same at a page's alignment (4096), as I/O buffers are.
 * --burst N: each thread mallocs N blocks, then frees them in the
 * order it made them, and counts N pairs: longer bursts than a thread
 * cache keeps (a tree built and then freed, as xmllint's and python3's
 * objects are) take the allocator's and the profiler's slower paths,
 * where a pair freed at once never leaves them.
 * Each thread first runs a warm-up (thread caches, tags), then all
 * start together at a barrier.
 *
 * The figure is CPU time per pair: the threads' CPU time
 * (CLOCK_THREAD_CPUTIME_ID, user and system) summed, over the pairs
 * they made.  With more threads than cores the threads take turns, and
 * wall time per pair would measure the scheduler; CPU time still
 * charges every contended cache line and every spin to the pairs.
 *
 * One line per cell on stdout:
 *   threads=T sites=shared size=S ns=NS pairs=P
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/callsites.h"

#define MAX_THREADS 100
#define MAX_LIST 32
#define BATCH 64
#define WARMUP_PAIRS 2000

BENCH_D2(BENCH_SITE, )
static const bench_site_fn sites[MAX_THREADS] = { BENCH_D2(BENCH_SITE_PTR, ) };

struct worker {
	pthread_t thread;
	bench_site_fn site;
	size_t size;
	uint64_t pairs;
	uint64_t cpu_ns;
} __attribute__((aligned(64)));

static pthread_barrier_t start_line;
static volatile int stop_flag;
static uint64_t fixed_pairs;	/* --pairs: each thread's pairs, else 0 */
static enum { API_MALLOC, API_NEW, API_ALIGNED, API_PAGE } api;
static unsigned int burst = 1;	/* --burst: blocks live at once, <= MAX_BURST */
#define MAX_BURST 1000000

/* operator new(size_t) and operator delete(void *, size_t), by their
 * Itanium-ABI names (this file is C). */
void *_Znwm(size_t size);
void _ZdlPvm(void *ptr, size_t size);

static __attribute__((noinline)) void *new_site(size_t size)
{
	void *p = _Znwm(size);

	__asm__ volatile("# bench new site" : "+r"(p));
	return p;
}

static __attribute__((noinline)) void *aligned_site(size_t size)
{
	void *p = NULL;

	if (posix_memalign(&p, api == API_PAGE ? 4096 : 64, size) != 0)
		p = NULL;
	__asm__ volatile("# bench aligned site" : "+r"(p));
	return p;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void pair(bench_site_fn site, size_t size)
{
	char *p;

	if (api == API_NEW) {
		p = new_site(size);
		*(volatile char *)p = 1;
		_ZdlPvm(p, size);
		return;
	}
	p = api == API_ALIGNED || api == API_PAGE ? aligned_site(size) : site(size, malloc);
	if (!p) {
		perror("micro: allocation");
		exit(1);
	}
	*(volatile char *)p = 1;
	free(p);
}

/* --burst: @n blocks made from @site, then freed in the same order. */
static void burst_of(bench_site_fn site, size_t size, char **blocks, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		blocks[i] = site(size, malloc);
		if (!blocks[i]) {
			perror("micro: allocation");
			exit(1);
		}
		*(volatile char *)blocks[i] = 1;
	}
	for (unsigned int i = 0; i < n; i++)
		free(blocks[i]);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t pairs = 0, cpu0;
	char **blocks = NULL;

	if (burst > 1) {
		blocks = malloc(burst * sizeof(*blocks));
		if (!blocks) {
			perror("micro: burst array");
			exit(1);
		}
	}
	for (int i = 0; i < WARMUP_PAIRS; i++)
		pair(w->site, w->size);
	if (blocks)
		burst_of(w->site, w->size, blocks, burst);
	pthread_barrier_wait(&start_line);
	cpu0 = thread_cpu_ns();
	while (fixed_pairs ? pairs < fixed_pairs :
			     !__atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) {
		if (blocks) {
			burst_of(w->site, w->size, blocks, burst);
			pairs += burst;
			continue;
		}
		for (int i = 0; i < BATCH; i++)
			pair(w->site, w->size);
		pairs += BATCH;
	}
	w->cpu_ns = thread_cpu_ns() - cpu0;
	w->pairs = pairs;
	free(blocks);
	return NULL;
}

static void run_cell(int threads, int per_thread_sites, size_t size, int ms)
{
	static struct worker workers[MAX_THREADS];
	struct timespec nap = { ms / 1000, (long)(ms % 1000) * 1000000L };
	uint64_t pairs = 0, cpu_ns = 0;
	int err;

	stop_flag = 0;
	pthread_barrier_init(&start_line, NULL, (unsigned int)threads + 1);
	for (int i = 0; i < threads; i++) {
		workers[i] = (struct worker){
			.site = sites[per_thread_sites ? i : 0],
			.size = size,
		};
		err = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
		if (err) {
			fprintf(stderr, "micro: pthread_create: %s\n", strerror(err));
			exit(1);
		}
	}
	pthread_barrier_wait(&start_line);
	while (!fixed_pairs && nanosleep(&nap, &nap) != 0 && errno == EINTR)
		;
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < threads; i++) {
		pthread_join(workers[i].thread, NULL);
		pairs += workers[i].pairs;
		cpu_ns += workers[i].cpu_ns;
	}
	pthread_barrier_destroy(&start_line);
	printf("threads=%d sites=%s size=%zu ns=%.2f pairs=%llu\n", threads,
	       per_thread_sites ? "per-thread" : "shared", size,
	       pairs ? (double)cpu_ns / (double)pairs : 0.0,
	       (unsigned long long)pairs);
	fflush(stdout);
}

/* Parses "1,2,4" into @out; returns the count. */
static int parse_list(const char *s, long *out, long lo, long hi)
{
	int n = 0;
	char *end;

	while (*s && n < MAX_LIST) {
		long v = strtol(s, &end, 10);

		if (end == s || v < lo || v > hi || (*end && *end != ',')) {
			fprintf(stderr, "micro: bad list '%s' (each %ld to %ld)\n",
				s, lo, hi);
			exit(2);
		}
		out[n++] = v;
		s = *end ? end + 1 : end;
	}
	return n;
}

int main(int argc, char **argv)
{
	long threads[MAX_LIST] = { 1, 2, 4 }, sizes[MAX_LIST] = { 16, 256, 65536, 1048576 };
	int nthreads = 3, nsizes = 4, ms = 100, shared = 1, per_thread = 1;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			fprintf(stderr, "micro: %s needs a value\n", argv[i]);
			return 2;
		}
		if (!strcmp(argv[i], "--ms"))
			ms = atoi(v);
		else if (!strcmp(argv[i], "--pairs")) {
			char *end;

			errno = 0;
			fixed_pairs = (uint64_t)strtoull(v, &end, 10);
			if (errno || end == v || *end || !fixed_pairs || v[0] == '-') {
				fprintf(stderr, "micro: --pairs '%s' is not a positive count\n", v);
				return 2;
			}
		}
		else if (!strcmp(argv[i], "--threads"))
			nthreads = parse_list(v, threads, 1, MAX_THREADS);
		else if (!strcmp(argv[i], "--sizes"))
			nsizes = parse_list(v, sizes, 1, 1L << 30);
		else if (!strcmp(argv[i], "--sites")) {
			shared = strstr(v, "shared") != NULL;
			per_thread = strstr(v, "per-thread") != NULL;
		} else if (!strcmp(argv[i], "--api") &&
			   (!strcmp(v, "malloc") || !strcmp(v, "new") ||
			    !strcmp(v, "aligned") || !strcmp(v, "page"))) {
			api = !strcmp(v, "new") ? API_NEW :
			      !strcmp(v, "aligned") ? API_ALIGNED :
			      !strcmp(v, "page") ? API_PAGE : API_MALLOC;
		} else if (!strcmp(argv[i], "--burst")) {
			long n[MAX_LIST];

			if (parse_list(v, n, 1, MAX_BURST) != 1) {
				fprintf(stderr, "micro: --burst takes one count\n");
				return 2;
			}
			burst = (unsigned int)n[0];
		} else {
			fprintf(stderr, "usage: micro [--ms MS | --pairs N] [--threads LIST] "
				"[--sizes LIST] [--sites shared,per-thread] "
				"[--api malloc|new|aligned|page] [--burst N]\n");
			return 2;
		}
		i++;
	}
	if (api != API_MALLOC)
		per_thread = 0;
	if (burst > 1 && api != API_MALLOC) {
		fprintf(stderr, "micro: --burst is for --api malloc\n");
		return 2;
	}
	if (ms < 1)
		ms = 1;
	/* Untimed: a profiler's first calls set it up (heaptrack's take
	 * hundreds of ns each for a while); no cell should pay for that. */
	stop_flag = 0;
	for (int i = 0; i < 20 * WARMUP_PAIRS; i++)
		pair(sites[0], 16);
	for (int t = 0; t < nthreads; t++)
		for (int s = 0; s < 2; s++) {
			if (!(s ? per_thread : shared))
				continue;
			for (int z = 0; z < nsizes; z++)
				run_cell((int)threads[t], s, (size_t)sizes[z], ms);
		}
	return 0;
}

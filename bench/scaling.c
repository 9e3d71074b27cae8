/*
 * Cost per malloc+free pair against the number of distinct call sites
 * and the number of live allocations, for bench/run (the thread count
 * is micro's --threads).
 *
 *   bench/scaling sites N code|tramp [--ms MS]
 *   bench/scaling live N [--ms MS]
 *
 * sites: pairs of 32-byte blocks at N call sites in turn (site 0, 1,
 * ..., N-1, 0, ...), after one untimed pass that lets a profiler see
 * every site once.  Turn by turn is the worst order for any cache of
 * sites: each site comes back only after all the others.
 * - code: N of the 10,000 functions of scaling_sites.c, compiled code
 *   with line info, so a report at exit symbolizes real sites.
 * - tramp: N stubs written at run time into an anonymous executable
 *   mapping, 16 bytes apart.  Each is
 *       sub $8,%rsp; call *%rsi; add $8,%rsp; ret
 *   and is called as void *stub(size_t size, void *(*alloc)(size_t))
 *   with alloc = malloc: the call inside each stub is a distinct return
 *   address, so N stubs are N call sites for 16 N bytes of code, no
 *   compiler, no JIT library (the sub keeps the stack 16-byte aligned
 *   at malloc's entry, as the ABI requires).  This reaches 1,000,000
 *   sites; the addresses are in no ELF file, so a report names them by
 *   address only.
 * live: N 16-byte blocks stay allocated (one call site); then each
 * timed pair frees a block chosen at random and allocates its
 * replacement, so a free finds its block's metadata among N others.
 *
 * The figure is ns per pair (CPU time of the one thread).  The last
 * line has end_ns, CLOCK_REALTIME when main returns: bench/run takes
 * the time from there to the process's exit, which is where a
 * profiler writes its report.
 *
 *   sites=N method=M ns=NS pairs=P
 *   live=N ns=NS setup_ns=NS_PER_ALLOC pairs=P
 *   end_ns=T
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "bench/callsites.h"
#include "bench/xorshift.h"

extern const bench_site_fn scaling_code_sites[];
extern const size_t scaling_code_site_count;

#define STUB_BYTES 16
#define BATCH 256

static const unsigned char stub_code[STUB_BYTES] = {
	0x48, 0x83, 0xec, 0x08,		/* sub $8,%rsp */
	0xff, 0xd6,			/* call *%rsi */
	0x48, 0x83, 0xc4, 0x08,		/* add $8,%rsp */
	0xc3,				/* ret */
	0x0f, 0x1f, 0x44, 0x00, 0x00,	/* nopl 0(%rax,%rax,1) */
};

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static bench_site_fn *trampolines(size_t n)
{
	size_t bytes = n * STUB_BYTES;
	unsigned char *code = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bench_site_fn *fns;

	if (code == MAP_FAILED)
		die("scaling: mmap");
	for (size_t i = 0; i < n; i++)
		memcpy(code + i * STUB_BYTES, stub_code, STUB_BYTES);
	if (mprotect(code, bytes, PROT_READ | PROT_EXEC) != 0)
		die("scaling: mprotect");
	fns = malloc(n * sizeof(*fns));
	if (!fns)
		die("scaling: malloc");
	for (size_t i = 0; i < n; i++)
		fns[i] = (bench_site_fn)(void *)(code + i * STUB_BYTES);
	return fns;
}

static inline void pair(bench_site_fn site)
{
	char *p = site(32, malloc);

	if (!p)
		die("scaling: malloc");
	*(volatile char *)p = 1;
	free(p);
}

static void run_sites(size_t n, const char *method, uint64_t min_ns)
{
	const bench_site_fn *fns;
	uint64_t pairs = 0, cpu0, deadline;
	size_t next = 0;

	if (!strcmp(method, "code")) {
		if (n > scaling_code_site_count) {
			fprintf(stderr, "scaling: code has %zu sites, not %zu\n",
				scaling_code_site_count, n);
			exit(2);
		}
		fns = scaling_code_sites;
	} else if (!strcmp(method, "tramp")) {
		fns = trampolines(n);
	} else {
		fprintf(stderr, "scaling: method is code or tramp\n");
		exit(2);
	}
	for (size_t i = 0; i < n; i++)
		pair(fns[i]);

	cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	deadline = clock_ns(CLOCK_MONOTONIC) + min_ns;
	/* At least one whole pass, so every site is visited. */
	while (pairs < n || clock_ns(CLOCK_MONOTONIC) < deadline) {
		for (int i = 0; i < BATCH; i++) {
			pair(fns[next]);
			if (++next == n)
				next = 0;
		}
		pairs += BATCH;
	}
	printf("sites=%zu method=%s ns=%.2f pairs=%llu\n", n, method,
	       (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0) / (double)pairs,
	       (unsigned long long)pairs);
}

static void run_live(size_t n, uint64_t min_ns)
{
	void **blocks = mmap(NULL, n * sizeof(void *), PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t rng = 0x9e3779b97f4a7c15ull, pairs = 0, t0, setup_ns, deadline;

	if (blocks == MAP_FAILED)
		die("scaling: mmap");
	t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (size_t i = 0; i < n; i++) {
		blocks[i] = malloc(16);
		if (!blocks[i])
			die("scaling: malloc");
		*(volatile char *)blocks[i] = 1;
	}
	setup_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;

	t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	deadline = clock_ns(CLOCK_MONOTONIC) + min_ns;
	while (clock_ns(CLOCK_MONOTONIC) < deadline) {
		for (int i = 0; i < BATCH; i++) {
			size_t j = (size_t)(((unsigned __int128)next_random(&rng) * n) >> 64);

			free(blocks[j]);
			blocks[j] = malloc(16);
			if (!blocks[j])
				die("scaling: malloc");
			*(volatile char *)blocks[j] = 1;
		}
		pairs += BATCH;
	}
	printf("live=%zu ns=%.2f setup_ns=%.2f pairs=%llu\n", n,
	       (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / (double)pairs,
	       (double)setup_ns / (double)n, (unsigned long long)pairs);
	/* The blocks stay live to the end: a profiler's report at exit
	 * walks what the program holds, as it would in a real program. */
}

int main(int argc, char **argv)
{
	uint64_t min_ns = 200 * 1000000ull;
	size_t n;

	if (argc >= 3 && !strcmp(argv[argc - 2], "--ms")) {
		min_ns = strtoull(argv[argc - 1], NULL, 10) * 1000000ull;
		argc -= 2;
	}
	n = argc >= 3 ? strtoull(argv[2], NULL, 10) : 0;
	if (n > 0 && argc == 4 && !strcmp(argv[1], "sites")) {
		run_sites(n, argv[3], min_ns);
	} else if (n > 0 && argc == 3 && !strcmp(argv[1], "live")) {
		run_live(n, min_ns);
	} else {
		fprintf(stderr, "usage: scaling sites N code|tramp [--ms MS]\n"
				"       scaling live N [--ms MS]\n");
		return 2;
	}
	printf("end_ns=%llu\n", (unsigned long long)clock_ns(CLOCK_REALTIME));
	fflush(stdout);
	return 0;
}

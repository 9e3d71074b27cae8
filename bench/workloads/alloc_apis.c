/*
 * One allocation API, N calls, each block freed 256 calls later: not
 * one of bench/run's workloads, for bench/alternate, to find an API
 * whose path through the profiler is slow.
 *
 *   gcc -O2 -o alloc_apis alloc_apis.c && ./alloc_apis API N
 *
 * API: posix_memalign (at 64), aligned_alloc (4096 at 4096), memalign
 * (at 256), valloc, calloc (100 to 157 KiB), shrink (malloc, then
 * realloc to a third), grow (malloc, then realloc to three times),
 * large (malloc of 300 to 500 KiB), usable (malloc, then
 * malloc_usable_size), pvalloc, trim (malloc, and malloc_trim every
 * 1,000 calls).  Sizes below a page vary from 16 to 4,015 bytes.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

int main(int argc, char **argv)
{
	const char *api = argc > 2 ? argv[1] : "";
	long n = argc > 2 ? atol(argv[2]) : 0;
	void *kept[256] = { 0 };
	unsigned long sum = 0;

	for (long i = 0; i < n; i++) {
		size_t size = 16 + (size_t)(i * 7919) % 4000;
		void *p = NULL;

		if (!strcmp(api, "posix_memalign")) {
			if (posix_memalign(&p, 64, size) != 0)
				p = NULL;
		} else if (!strcmp(api, "aligned_alloc")) {
			p = aligned_alloc(4096, 4096);
		} else if (!strcmp(api, "memalign")) {
			p = memalign(256, size);
		} else if (!strcmp(api, "valloc")) {
			p = valloc(size);
		} else if (!strcmp(api, "calloc")) {
			p = calloc(1, 100000 + (size_t)(i % 8) * 8192);
		} else if (!strcmp(api, "shrink")) {
			p = realloc(malloc(size), size / 3 + 1);
		} else if (!strcmp(api, "grow")) {
			p = realloc(malloc(size), size * 3);
		} else if (!strcmp(api, "large")) {
			p = malloc(300000 + (size_t)(i % 5) * 50000);
		} else if (!strcmp(api, "usable")) {
			p = malloc(size);
			sum += malloc_usable_size(p);
		} else if (!strcmp(api, "pvalloc")) {
			p = pvalloc(size);
		} else if (!strcmp(api, "trim")) {
			p = malloc(size);
			if (i % 1000 == 0)
				malloc_trim(0);
		} else {
			fprintf(stderr, "usage: alloc_apis posix_memalign|aligned_alloc|memalign|valloc|"
					"calloc|shrink|grow|large|usable|pvalloc|trim N\n");
			return 2;
		}
		if (!p)
			return 1;
		sink = p;
		memset(p, 1, 8);
		free(kept[i & 255]);
		kept[i & 255] = p;
	}
	for (int k = 0; k < 256; k++)
		free(kept[k]);
	printf("%lu\n", sum);
	return 0;
}

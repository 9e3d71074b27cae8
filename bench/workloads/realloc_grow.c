/*
 * A buffer grown by doubling realloc, from 64 KiB to TOP bytes, then
 * freed, ROUNDS times over: the pattern of sqlite3's group_concat, of
 * string builders and of files read into a growing buffer.  With STEP,
 * it grows by STEP bytes a realloc instead, as perl's stack of
 * temporaries grows (512 pointers, 4 KiB, a realloc).  Not one of
 * bench/run's workloads: for bench/alternate, where it shows what large
 * reallocs cost each allocator.  glibc moves a block past its mmap
 * threshold with mremap, without copying or leaving the old pages
 * behind; jemalloc allocates, copies and frees (the old pages stay
 * dirty until decay purges them), and purges a block of its oversize
 * threshold (8 MiB) as soon as it is freed, so the next round faults
 * its pages in again.
 *
 *   gcc -O2 -o realloc_grow realloc_grow.c && ./realloc_grow [ROUNDS [TOP [STEP]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 100;
	size_t top = argc > 2 ? strtoul(argv[2], NULL, 0) : (size_t)8 << 20;
	size_t step = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;
	unsigned long sum = 0;

	for (int r = 0; r < rounds; r++) {
		size_t n = 65536;
		char *p = malloc(n), *grown;

		if (!p)
			return 1;
		memset(p, r, n);
		while (n < top) {
			size_t next = step ? n + step : 2 * n;

			grown = realloc(p, next);
			if (!grown) {
				free(p);
				return 1;
			}
			p = grown;
			/* Every byte is written: the pages are the program's. */
			memset(p + n, r, next - n);
			n = next;
		}
		sum += (unsigned char)p[n - 1];
		free(p);
	}
	printf("%lu\n", sum);
	return 0;
}

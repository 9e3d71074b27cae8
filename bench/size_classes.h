/*
 * What bench/size_slack.c and bench/live_peak.c share: glibc's chunk
 * for a request, and the ranking of the request sizes that jemalloc's
 * classes round up the most.  Both are preloaded before libjemalloc
 * and ask it for its classes (nallocx).
 */
#ifndef ALLOCINFO_BENCH_SIZE_CLASSES_H
#define ALLOCINFO_BENCH_SIZE_CLASSES_H

#include <stddef.h>
#include <stdio.h>

/* glibc's chunk for a request of @n bytes: the request and its 8-byte
 * size field, in 16-byte steps, 32 bytes at least. */
static size_t glibc_chunk(size_t n)
{
	size_t chunk = (n + 8 + 15) & ~(size_t)15;

	return chunk < 32 ? 32 : chunk;
}

/*
 * Prints the five request sizes below @limit whose @blocks (by size)
 * lose the most bytes to jemalloc's class (@class_of), each beside
 * what another sizing, @other named @other_name, would lose; @what
 * says what the counts are.  Clears the counts it prints.
 */
static void print_costliest_sizes(unsigned long long *blocks, size_t limit,
				  size_t (*class_of)(size_t, int), const char *what,
				  size_t (*other)(size_t), const char *other_name)
{
	for (int rank = 0; rank < 5; rank++) {
		double best_lost = 0;
		size_t best = 0;

		for (size_t n = 1; n < limit; n++) {
			double lost = (double)blocks[n] * (double)(class_of(n, 0) - n);

			if (lost > best_lost) {
				best_lost = lost;
				best = n;
			}
		}
		if (!best)
			break;
		fprintf(stderr, "  %zu B x %llu%s: jemalloc's class %zu, %.1f MiB over the "
			"requests; %s %zu, %.1f MiB\n",
			best, blocks[best], what, class_of(best, 0), best_lost / 1048576.0,
			other_name, other(best),
			(double)blocks[best] * (double)(other(best) - best) / 1048576.0);
		blocks[best] = 0;
	}
}

#endif

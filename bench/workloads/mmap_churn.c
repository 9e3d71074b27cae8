/*
 * N anonymous mappings of 1 to 8 pages, each mapped, touched and
 * unmapped: not one of bench/run's workloads, for bench/alternate.  The
 * profiler tags every mapping (core/mmap.c), under a lock held with the
 * thread's signals blocked (core/fork_safe_lock.h): two system calls
 * more on each mmap and each munmap.
 *
 *   gcc -O2 -o mmap_churn mmap_churn.c && ./mmap_churn [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	unsigned long sum = 0;

	for (long i = 0; i < n; i++) {
		size_t len = 4096 * (size_t)(1 + i % 8);
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 1;
		p[0] = 1;
		sum += (unsigned char)p[0];
		munmap(p, len);
	}
	printf("%lu\n", sum);
	return 0;
}

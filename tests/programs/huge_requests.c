/*
 * Requests larger than RAM and swap together, which glibc's malloc
 * passes to mmap and the kernel's heuristic overcommit
 * (vm.overcommit_memory 0, its default) refuses: each must fail as
 * glibc's does, NULL (or posix_memalign's ENOMEM) with errno ENOMEM,
 * where jemalloc's MAP_NORESERVE mappings would have succeeded.  The
 * bound is RAM + swap (sysinfo) plus a page; the aligned requests ask
 * for an alignment of the power of two at or above it.  Elsewhere
 * (overcommit 1 or 2) it says it did not check.  The test runs it
 * natively too, so every check holds for glibc on the machine.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "check.h"

/* Sizes the compiler cannot see, so that it neither warns nor folds. */
static volatile size_t past_memory, past_memory_align;

static void check_fails(void *ptr, const char *what)
{
	int saved = errno;

	CHECK(ptr == NULL, "%s of %zu bytes succeeded", what, past_memory);
	CHECK(saved == ENOMEM, "%s: errno %d, not ENOMEM", what, saved);
	free(ptr);
}

int main(void)
{
	FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
	struct sysinfo info;
	int mode = -1;
	char *small, *grown;
	void *ptr = NULL;

	if (f) {
		if (fscanf(f, "%d", &mode) != 1)
			mode = -1;
		fclose(f);
	}
	if (mode != 0 || sysinfo(&info) != 0) {
		printf("overcommit mode %d: huge requests not checked\n", mode);
		return 0;
	}
	past_memory = ((size_t)info.totalram + info.totalswap) * info.mem_unit + 4096;
	past_memory_align = 1;
	while (past_memory_align < past_memory)
		past_memory_align <<= 1;

	errno = 0;
	check_fails(malloc(past_memory), "malloc");
	errno = 0;
	check_fails(calloc(1, past_memory), "calloc");
	errno = 0;
	check_fails(calloc(past_memory / 4096, 4096 + 16), "calloc of pages");
	small = malloc(32);
	CHECK(small != NULL, "malloc(32)");
	strcpy(small, "kept");
	errno = 0;
	grown = realloc(small, past_memory);
	if (grown) {
		CHECK(grown == NULL, "realloc to %zu bytes succeeded", past_memory);
		free(grown);
	} else {
		CHECK(errno == ENOMEM, "realloc: errno %d, not ENOMEM", errno);
		CHECK(strcmp(small, "kept") == 0, "realloc's failure changed the block");
		free(small);
	}
	errno = 0;
	check_fails(reallocarray(NULL, past_memory / 8, 8 + 1), "reallocarray");
	errno = 0;
	check_fails(aligned_alloc(past_memory_align, 64), "aligned_alloc");
	errno = 0;
	check_fails(memalign(past_memory_align, 64), "memalign");
	/* Its result only: glibc's sets errno too, which POSIX leaves open. */
	CHECK(posix_memalign(&ptr, past_memory_align, 64) == ENOMEM,
	      "posix_memalign of alignment %zu did not fail with ENOMEM", past_memory_align);
	printf("requests past RAM and swap fail with ENOMEM\n");
	return CHECK_STATUS();
}

/*
 * glibc's own names for its allocator, __libc_malloc and kin, called
 * directly as a library that wants the system's malloc past an
 * interposer does, and mixed with malloc and free: a block from malloc
 * freed by __libc_free (which glibc aborted on under the preload, when
 * those names still meant glibc's allocator), and blocks from
 * __libc_malloc, __libc_calloc and __libc_realloc kept, each charged to
 * its line (see tests/lib.sh for the EXPECT markers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_memalign(size_t align, size_t size);

static void *kept[3];

int main(void)
{
	char *from_malloc = malloc(24); /* EXPECT: 0 0 */
	void *aligned;

	CHECK(from_malloc != NULL, "malloc");
	strcpy(from_malloc, "from malloc");
	__libc_free(from_malloc);
	kept[0] = __libc_malloc(40); /* EXPECT: 40 1 */
	kept[1] = __libc_calloc(2, 8); /* EXPECT: 16 1 */
	kept[2] = __libc_realloc(NULL, 32); /* EXPECT: 32 1 */
	for (int i = 0; i < 3; i++)
		CHECK(kept[i] != NULL, "block %d", i);
	aligned = __libc_memalign(64, 10); /* EXPECT: 0 0 */
	CHECK(aligned != NULL && ((size_t)aligned & 63) == 0, "__libc_memalign");
	free(aligned);
	printf("glibc's names and malloc's mixed\n");
	return CHECK_STATUS();
}

/*
 * glibc's heap statistics as a program that watches its heap uses them:
 * mallinfo2's and mallinfo's bytes in use grow by at least what it
 * allocates (1,000 blocks of 1,000 bytes, held) and come back down by
 * nine tenths of that once it frees them; the bytes the heap holds ("arena") are
 * at least those in use; malloc_trim answers 0 or 1; malloc_stats
 * writes glibc's layout to stderr.  Without the profiler's answers these
 * reached glibc's idle allocator, and every figure was 0.  Runs natively
 * too (the test), so each check holds for glibc.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define BLOCKS 1000
#define BYTES  1000

int main(void)
{
	static char *blocks[BLOCKS];
	struct mallinfo2 before, held, after;
	struct mallinfo held_int;
	int trimmed;

	before = mallinfo2();
	for (int i = 0; i < BLOCKS; i++) {
		blocks[i] = malloc(BYTES);
		CHECK(blocks[i] != NULL, "malloc %d", i);
		memset(blocks[i], i, BYTES);
	}
	held = mallinfo2();
	/* Deprecated by glibc, still called by programs. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	held_int = mallinfo();
#pragma GCC diagnostic pop
	CHECK(held.uordblks >= before.uordblks + (size_t)BLOCKS * BYTES,
	      "mallinfo2 in use: %zu before, %zu with the blocks", before.uordblks, held.uordblks);
	CHECK(held.arena >= held.uordblks, "mallinfo2: %zu held, %zu in use", held.arena,
	      held.uordblks);
	CHECK(held_int.uordblks >= BLOCKS * BYTES, "mallinfo in use: %d", held_int.uordblks);
	for (int i = 0; i < BLOCKS; i++)
		free(blocks[i]);
	after = mallinfo2();
	/* Nine tenths: an allocator may keep a few for reuse (glibc's
	 * tcache keeps 7 of a size, and counts them in use). */
	CHECK(after.uordblks + (size_t)BLOCKS * BYTES / 10 * 9 <= held.uordblks,
	      "mallinfo2 in use: %zu with the blocks, %zu after", held.uordblks, after.uordblks);
	trimmed = malloc_trim(0);
	CHECK(trimmed == 0 || trimmed == 1, "malloc_trim: %d", trimmed);
	malloc_stats();
	printf("the heap's statistics follow its blocks\n");
	return CHECK_STATUS();
}

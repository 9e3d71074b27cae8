/*
 * N blocks of 16 bytes from one site, all live at exit, so that the
 * report's # block_tag_bytes holds their slots (tests/integration/
 * profiler_memory.sh compares it with a run of 0 blocks).
 *
 *   live_blocks N
 *
 * Prints "NAME VALUE" lines for the EXPECT markers' @NAMEs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int main(int argc, char **argv)
{
	char *end;
	unsigned long n;
	void **blocks;

	CHECK(argc == 2, "usage: live_blocks N");
	if (argc != 2)
		return CHECK_STATUS();
	n = strtoul(argv[1], &end, 10);
	CHECK(*argv[1] && !*end && n <= 10000000, "bad N: %s", argv[1]);
	if (*end || n > 10000000)
		return CHECK_STATUS();
	blocks = malloc(n * sizeof(*blocks) + 1); /* EXPECT: @array_bytes 1 */
	CHECK(blocks != NULL, "no array of %lu pointers", n);
	if (!blocks)
		return CHECK_STATUS();
	for (unsigned long i = 0; i < n; i++) {
		blocks[i] = malloc(16); /* EXPECT: @bytes @blocks */
		CHECK(blocks[i] != NULL, "block %lu: malloc(16) failed", i);
		if (blocks[i])
			memset(blocks[i], (int)(i & 0xff), 16);
	}
	printf("array_bytes %lu\n", n * (unsigned long)sizeof(*blocks) + 1);
	printf("bytes %lu\n", n * 16);
	printf("blocks %lu\n", n);
	fflush(stdout);
	/* Left live on purpose: the report at exit counts them. */
	return CHECK_STATUS();
}

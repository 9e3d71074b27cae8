/*
 * A program linked with libjemalloc that calls jemalloc's own API
 * (mallocx and the rest), as BIND 9's dig does, and mixes it with
 * malloc and free, which jemalloc allows: one heap serves both.
 *
 * Under the preload, the library's exports take the place of
 * libjemalloc's, so mallocx's blocks are counted at their sites like
 * malloc's (EXPECT markers, tests/lib.sh), and a block freed by the
 * other API's call goes back to the heap it came from.  A request that
 * names an arena is served from that arena and not counted.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "check.h"

static int all_bytes_are(const unsigned char *p, size_t from, size_t to, int value)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != value)
			return 0;
	return 1;
}

static void test_mallocx(void)
{
	char *kept = mallocx(100, 0); /* EXPECT: 100 1 */
	unsigned char *zeroed = mallocx(200, MALLOCX_ZERO); /* EXPECT: 200 1 */
	void *aligned = mallocx(300, MALLOCX_ALIGN(256)); /* EXPECT: 300 1 */
	void *uncached = mallocx(48, MALLOCX_TCACHE_NONE); /* EXPECT: 48 1 */

	CHECK(kept && zeroed && aligned && uncached, "mallocx returned NULL");
	if (!kept || !zeroed || !aligned || !uncached)
		return;
	CHECK(all_bytes_are(zeroed, 0, 200, 0), "mallocx(MALLOCX_ZERO) is not zeroed");
	CHECK(((uintptr_t)aligned & 255) == 0, "mallocx(MALLOCX_ALIGN(256)) = %p", aligned);
	CHECK(sallocx(kept, 0) == malloc_usable_size(kept),
	      "sallocx %zu, malloc_usable_size %zu", sallocx(kept, 0), malloc_usable_size(kept));
	CHECK(nallocx(100, 0) == sallocx(kept, 0), "nallocx(100) %zu, sallocx %zu",
	      nallocx(100, 0), sallocx(kept, 0));
	/* Resizing in place may always fail; the block keeps its size. */
	CHECK(xallocx(kept, 100, 0, 0) >= 100, "xallocx(100) shrank the block");
	strcpy(kept, "kept");
}

static void test_rallocx(void)
{
	char *moved = mallocx(5000, 0); /* EXPECT: 0 0 */
	unsigned char *grown;
	size_t old_usable;

	if (!moved)
		return;
	strcpy(moved, "moved");
	moved = rallocx(moved, 7000, 0); /* EXPECT: 7000 1 */
	CHECK(moved && strcmp(moved, "moved") == 0, "rallocx lost the contents");

	/* With MALLOCX_ZERO, the bytes past the old block's usable size
	 * are zero (jemalloc's manual). */
	grown = mallocx(32, 0); /* EXPECT: 0 0 */
	if (!grown)
		return;
	old_usable = sallocx(grown, 0);
	memset(grown, 0xff, old_usable);
	grown = rallocx(grown, 4096, MALLOCX_ZERO); /* EXPECT: 4096 1 */
	CHECK(grown != NULL, "rallocx(4096, MALLOCX_ZERO) returned NULL");
	if (grown) {
		CHECK(all_bytes_are(grown, 0, old_usable, 0xff), "rallocx lost the contents");
		CHECK(all_bytes_are(grown, old_usable, 4096, 0),
		      "rallocx(MALLOCX_ZERO) left bytes past %zu unzeroed", old_usable);
	}
}

/* Each API frees the other's blocks. */
static void test_mixed_frees(void)
{
	void *by_malloc = malloc(64); /* EXPECT: 0 0 */
	void *by_mallocx = mallocx(64, 0); /* EXPECT: 0 0 */
	void *sized = mallocx(128, 0); /* EXPECT: 0 0 */
	void *large = malloc(300000); /* EXPECT: 0 0 */

	dallocx(by_malloc, 0);
	free(by_mallocx);
	sdallocx(sized, 128, 0);
	sdallocx(large, 300000, 0);
}

/*
 * An arena named in the flags is used, and its blocks are not counted;
 * freed with the same flags, as BIND frees them, they go back to it and
 * to no cache, so that the arena can be destroyed with none of its
 * blocks handed out again.  A block counted at its site and freed with
 * flags is no longer counted.
 */
static void test_arena(void)
{
	unsigned int arena;
	size_t len = sizeof(arena);
	char name[64];
	void *blocks[256], *moved, *counted;
	uint64_t nmalloc = 0, ndalloc = 0;
	int flags;

	CHECK(mallctl("arenas.create", &arena, &len, NULL, 0) == 0, "arenas.create failed");
	flags = MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE;
	for (int i = 0; i < 256; i++) {
		blocks[i] = mallocx(64, flags); /* EXPECT: none */
		CHECK(blocks[i] != NULL, "mallocx(MALLOCX_ARENA(%u)) returned NULL", arena);
	}
	moved = mallocx(100, flags); /* EXPECT: none */
	moved = rallocx(moved, 30000, flags); /* EXPECT: none */
	CHECK(moved != NULL, "rallocx(MALLOCX_ARENA(%u)) returned NULL", arena);
	for (int i = 0; i < 256; i++)
		sdallocx(blocks[i], 64, flags);
	dallocx(moved, flags);
	/* Every small block the arena gave out is back in it, none in a
	 * thread cache: its statistics count as many frees as mallocs. */
	CHECK(mallctl("epoch", NULL, NULL, &(uint64_t){ 1 }, sizeof(uint64_t)) == 0,
	      "mallctl(epoch) failed");
	snprintf(name, sizeof(name), "stats.arenas.%u.small.nmalloc", arena);
	len = sizeof(nmalloc);
	CHECK(mallctl(name, &nmalloc, &len, NULL, 0) == 0, "mallctl(%s) failed", name);
	snprintf(name, sizeof(name), "stats.arenas.%u.small.ndalloc", arena);
	len = sizeof(ndalloc);
	CHECK(mallctl(name, &ndalloc, &len, NULL, 0) == 0, "mallctl(%s) failed", name);
	CHECK(nmalloc >= 257 && ndalloc == nmalloc,
	      "the arena gave out %ju small blocks and took back %ju", (uintmax_t)nmalloc,
	      (uintmax_t)ndalloc);
	snprintf(name, sizeof(name), "arena.%u.destroy", arena);
	CHECK(mallctl(name, NULL, NULL, NULL, 0) == 0, "%s failed", name);
	/* Blocks of the size the arena served come from elsewhere now,
	 * and are the program's to write. */
	for (int i = 0; i < 256; i++) {
		blocks[i] = malloc(64); /* EXPECT: 0 0 */
		if (blocks[i])
			memset(blocks[i], 0x5a, 64);
	}
	for (int i = 0; i < 256; i++)
		free(blocks[i]);

	counted = mallocx(2000, 0); /* EXPECT: 0 0 */
	dallocx(counted, MALLOCX_TCACHE_NONE);
}

/* jemalloc's control interface reaches the jemalloc that serves them. */
static void test_mallctl(void)
{
	const char *version = NULL;
	size_t len = sizeof(version);
	size_t mib[2], miblen = 2;
	unsigned int narenas = 0;

	CHECK(mallctl("version", &version, &len, NULL, 0) == 0 && version &&
	      strncmp(version, "5.", 2) == 0, "mallctl(version) failed");
	CHECK(mallctlnametomib("arenas.narenas", mib, &miblen) == 0,
	      "mallctlnametomib(arenas.narenas) failed");
	len = sizeof(narenas);
	CHECK(mallctlbymib(mib, miblen, &narenas, &len, NULL, 0) == 0 && narenas > 0,
	      "mallctlbymib(arenas.narenas) failed");
}

int main(void)
{
	test_mallocx();
	test_rallocx();
	test_mixed_frees();
	test_arena();
	test_mallctl();
	return CHECK_STATUS();
}

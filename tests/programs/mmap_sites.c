/*
 * Mappings at known call sites: every way a mapping grows, shrinks,
 * splits, moves and is replaced (see tests/lib.sh for the EXPECT
 * markers).
 *
 * A mapping's tag is its mmap call's line: <size> is its live pages,
 * <calls> 1 while any of its pages is mapped and 0 after its last page
 * is gone.  munmap and mremap never make a tag of their own, so their
 * lines are EXPECT: none.  The default markers are those of the
 * default ALLOCINFO_MMAP=anon; a line whose expectation differs in
 * another mode says so with EXPECT(MODE): (tests/lib_reports.sh makes
 * each mode's markers from them).
 *
 * The program checks what the kernel does (addresses, contents, what is
 * mapped, errno) and exits 1 if any of that fails; the test runs it
 * without the preload too.  argv[1] is a file it creates for the file
 * mappings.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* mremap, MAP_FIXED_NOREPLACE, ... */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

#define PAGE  4096
#define P(n)  ((size_t)(n) * PAGE)
#define RW    (PROT_READ | PROT_WRITE)
#define ANON  (MAP_PRIVATE | MAP_ANONYMOUS)
#define FIXED (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
#define MOVE  (MREMAP_MAYMOVE | MREMAP_FIXED)

static unsigned char residency[64];

/* Whether each of the n pages at p is mapped (mincore fails with
 * ENOMEM on a range with an unmapped page). */
static int mapped(const void *p, int n)
{
	for (int i = 0; i < n; i++)
		if (mincore((char *)p + P(i), PAGE, residency) != 0)
			return 0;
	return 1;
}

static int unmapped(const void *p, int n)
{
	for (int i = 0; i < n; i++)
		if (mincore((char *)p + P(i), PAGE, residency) == 0 || errno != ENOMEM)
			return 0;
	return 1;
}

/* Writes a pattern over n pages, and checks it back. */
static void fill(char *p, int n, int seed)
{
	for (int i = 0; i < n; i++)
		memset(p + P(i), seed + i, PAGE);
}

static int filled(const char *p, int n, int seed)
{
	for (int i = 0; i < n; i++)
		if (p[P(i)] != (char)(seed + i) || p[P(i + 1) - 1] != (char)(seed + i))
			return 0;
	return 1;
}

static void test_whole_mappings(void)
{
	char *p;

	p = mmap(NULL, P(25600), RW, ANON, -1, 0); /* EXPECT: 104857600 1 */ /* EXPECT(none): none */
	CHECK(p != MAP_FAILED, "mmap(100 MiB) failed");
	p[0] = 1;
	p[P(25600) - 1] = 1;

	/* A length that is not whole pages maps whole pages. */
	p = mmap(NULL, 5000, RW, ANON, -1, 0); /* EXPECT: 8192 1 */ /* EXPECT(none): none */
	CHECK(p != MAP_FAILED && mapped(p, 2), "mmap(5000) did not map 2 pages");

	p = mmap64(NULL, P(3), RW, ANON, -1, 0); /* EXPECT: 12288 1 */ /* EXPECT(none): none */
	CHECK(p != MAP_FAILED && mapped(p, 3), "mmap64 did not map 3 pages");

	/* Shared anonymous memory is anonymous too. */
	p = mmap(NULL, P(1), RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0); /* EXPECT: 4096 1 */ /* EXPECT(none): none */
	CHECK(p != MAP_FAILED, "mmap(MAP_SHARED | MAP_ANONYMOUS) failed");

	/* Mapped and unmapped again. */
	p = mmap(NULL, P(2), RW, ANON, -1, 0); /* EXPECT: 0 0 */ /* EXPECT(none): none */
	CHECK(munmap(p, P(2)) == 0, "munmap of a whole mapping failed"); /* EXPECT: none */

	/* Failures map nothing. */
	errno = 0;
	p = mmap(NULL, 0, RW, ANON, -1, 0); /* EXPECT: none */
	CHECK(p == MAP_FAILED && errno == EINVAL, "mmap(0 bytes) = %p, errno %d", (void *)p, errno);
}

static void test_partial_munmap(void)
{
	char *p;

	/* The front. */
	p = mmap(NULL, P(8), RW, ANON, -1, 0); /* EXPECT: 24576 1 */ /* EXPECT(none): none */
	CHECK(munmap(p, P(2)) == 0, "munmap of the front failed"); /* EXPECT: none */
	CHECK(unmapped(p, 2) && mapped(p + P(2), 6), "front unmap: wrong pages mapped");

	/* The middle: the mapping is split in two and is still one call. */
	p = mmap(NULL, P(8), RW, ANON, -1, 0); /* EXPECT: 24576 1 */ /* EXPECT(none): none */
	CHECK(munmap(p + P(3), P(2)) == 0, "munmap of the middle failed"); /* EXPECT: none */
	CHECK(mapped(p, 3) && unmapped(p + P(3), 2) && mapped(p + P(5), 3),
	      "middle unmap: wrong pages mapped");

	/* The end. */
	p = mmap(NULL, P(8), RW, ANON, -1, 0); /* EXPECT: 20480 1 */ /* EXPECT(none): none */
	CHECK(munmap(p + P(5), P(3)) == 0, "munmap of the end failed"); /* EXPECT: none */

	/* A split mapping whose left half goes keeps its call ... */
	p = mmap(NULL, P(6), RW, ANON, -1, 0); /* EXPECT: 8192 1 */ /* EXPECT(none): none */
	CHECK(munmap(p + P(2), P(2)) == 0, "munmap of the middle failed"); /* EXPECT: none */
	CHECK(munmap(p, P(2)) == 0, "munmap of the left piece failed"); /* EXPECT: none */
	CHECK(mapped(p + P(4), 2), "the right piece is gone");

	/* ... and loses it with its right half. */
	p = mmap(NULL, P(6), RW, ANON, -1, 0); /* EXPECT: 0 0 */ /* EXPECT(none): none */
	CHECK(munmap(p + P(2), P(2)) == 0, "munmap of the middle failed"); /* EXPECT: none */
	CHECK(munmap(p, P(2)) == 0, "munmap of the left piece failed"); /* EXPECT: none */
	CHECK(munmap(p + P(4), P(2)) == 0, "munmap of the right piece failed"); /* EXPECT: none */

	/* The front, then the whole rest. */
	p = mmap(NULL, P(4), RW, ANON, -1, 0); /* EXPECT: 0 0 */ /* EXPECT(none): none */
	CHECK(munmap(p, P(1)) == 0, "munmap of the first page failed"); /* EXPECT: none */
	CHECK(munmap(p + P(1), P(3)) == 0, "munmap of the rest failed"); /* EXPECT: none */

	/* A length that is not whole pages unmaps whole pages. */
	p = mmap(NULL, P(4), RW, ANON, -1, 0); /* EXPECT: 8192 1 */ /* EXPECT(none): none */
	CHECK(munmap(p, P(1) + 1) == 0, "munmap(1 page + 1 byte) failed"); /* EXPECT: none */
	CHECK(unmapped(p, 2) && mapped(p + P(2), 2), "munmap(1 page + 1 byte): wrong pages");

	/* One munmap over two mappings from two sites. */
	p = mmap(NULL, P(4), RW, ANON, -1, 0); /* EXPECT: 4096 1 */ /* EXPECT(none): none */
	CHECK(mmap(p + P(2), P(2), RW, FIXED, -1, 0) == p + P(2), "MAP_FIXED failed"); /* EXPECT: 4096 1 */ /* EXPECT(none): none */
	CHECK(munmap(p + P(1), P(2)) == 0, "munmap across two mappings failed"); /* EXPECT: none */

	/* One munmap over a range with holes in it, around a mapping. */
	p = mmap(NULL, P(6), PROT_NONE, ANON, -1, 0); /* EXPECT: 0 0 */ /* EXPECT(none): none */
	CHECK(munmap(p, P(6)) == 0, "munmap of the reservation failed"); /* EXPECT: none */
	CHECK(mmap(p + P(2), P(2), RW, ANON | MAP_FIXED_NOREPLACE, -1, 0) == p + P(2), "MAP_FIXED_NOREPLACE failed"); /* EXPECT: 0 0 */ /* EXPECT(none): none */
	CHECK(munmap(p, P(6)) == 0, "munmap over holes failed"); /* EXPECT: none */

	/* A failed munmap changes nothing. */
	p = mmap(NULL, P(2), RW, ANON, -1, 0); /* EXPECT: 8192 1 */ /* EXPECT(none): none */
	errno = 0;
	CHECK(munmap(p + 1, P(1)) == -1 && errno == EINVAL, "munmap(unaligned) did not fail with EINVAL"); /* EXPECT: none */
	CHECK(mapped(p, 2), "a failed munmap unmapped pages");
}

static void test_mremap(void)
{
	char *p, *q, *target;

	/* Grow in place: the pages after it were the mapping's own. */
	p = mmap(NULL, P(8), RW, ANON, -1, 0); /* EXPECT: 32768 1 */ /* EXPECT(none): none */
	CHECK(munmap(p + P(4), P(4)) == 0, "munmap of the top half failed"); /* EXPECT: none */
	q = mremap(p, P(4), P(8), 0); /* EXPECT: none */
	CHECK(q == p && mapped(p, 8), "mremap did not grow in place: %p -> %p", (void *)p, (void *)q);

	/* Grow with a page of another site right after it: it moves. */
	p = mmap(NULL, P(5), RW, ANON, -1, 0); /* EXPECT: 65536 1 */ /* EXPECT(none): none */
	CHECK(mmap(p + P(4), P(1), PROT_NONE, FIXED, -1, 0) == p + P(4), "guard page failed"); /* EXPECT: 4096 1 */ /* EXPECT(none): none */
	fill(p, 4, 10);
	q = mremap(p, P(4), P(16), MREMAP_MAYMOVE); /* EXPECT: none */
	CHECK(q != MAP_FAILED && q != p, "mremap(MREMAP_MAYMOVE) did not move: %p -> %p", (void *)p, (void *)q);
	CHECK(q == MAP_FAILED || (filled(q, 4, 10) && mapped(q, 16)), "moved mapping lost its contents");
	CHECK(unmapped(p, 4), "the old pages of a moved mapping are still mapped");

	/* Grow without permission to move: fails and changes nothing. */
	p = mmap(NULL, P(3), RW, ANON, -1, 0); /* EXPECT: 8192 1 */ /* EXPECT(none): none */
	CHECK(mmap(p + P(2), P(1), PROT_NONE, FIXED, -1, 0) == p + P(2), "guard page failed"); /* EXPECT: 4096 1 */ /* EXPECT(none): none */
	errno = 0;
	q = mremap(p, P(2), P(4), 0); /* EXPECT: none */
	CHECK(q == MAP_FAILED && errno == ENOMEM, "blocked mremap = %p, errno %d", (void *)q, errno);

	/* Shrink, to a length that is not whole pages. */
	p = mmap(NULL, P(8), RW, ANON, -1, 0); /* EXPECT: 12288 1 */ /* EXPECT(none): none */
	q = mremap(p, P(8), P(3) - 100, 0); /* EXPECT: none */
	CHECK(q == p && mapped(p, 3) && unmapped(p + P(3), 5), "mremap shrink: %p -> %p", (void *)p, (void *)q);

	/* MREMAP_FIXED onto the middle of another site's mapping, which
	 * loses the pages it covered. */
	p = mmap(NULL, P(4), RW, ANON, -1, 0); /* EXPECT: 16384 1 */ /* EXPECT(none): none */
	target = mmap(NULL, P(8), RW, ANON, -1, 0); /* EXPECT: 16384 1 */ /* EXPECT(none): none */
	fill(p, 4, 40);
	q = mremap(p, P(4), P(4), MOVE, target + P(2)); /* EXPECT: none */
	CHECK(q == target + P(2) && filled(q, 4, 40), "mremap(MREMAP_FIXED) = %p, wanted %p",
	      (void *)q, (void *)(target + P(2)));
	CHECK(mapped(target, 8) && unmapped(p, 4), "mremap(MREMAP_FIXED): wrong pages mapped");

	/* MREMAP_FIXED to a free address, growing on the way. */
	p = mmap(NULL, P(2), RW, ANON, -1, 0); /* EXPECT: 12288 1 */ /* EXPECT(none): none */
	target = mmap(NULL, P(4), PROT_NONE, ANON, -1, 0); /* EXPECT: 0 0 */ /* EXPECT(none): none */
	CHECK(munmap(target, P(4)) == 0, "munmap of the reservation failed"); /* EXPECT: none */
	q = mremap(p, P(2), P(3), MOVE, target); /* EXPECT: none */
	CHECK(q == target && mapped(q, 3), "mremap(MREMAP_FIXED) to a hole = %p, wanted %p",
	      (void *)q, (void *)target);

	/* Only the middle of a mapping moves: one call, three pieces. */
	p = mmap(NULL, P(6), RW, ANON, -1, 0); /* EXPECT: 24576 1 */ /* EXPECT(none): none */
	target = mmap(NULL, P(2), PROT_NONE, ANON, -1, 0); /* EXPECT: 0 0 */ /* EXPECT(none): none */
	CHECK(munmap(target, P(2)) == 0, "munmap of the reservation failed"); /* EXPECT: none */
	q = mremap(p + P(2), P(2), P(2), MOVE, target); /* EXPECT: none */
	CHECK(q == target && unmapped(p + P(2), 2) && mapped(p, 2) && mapped(p + P(4), 2),
	      "moving the middle of a mapping: wrong pages mapped");
}

static void test_map_fixed(void)
{
	char *p;

	/* Over part of a mapping: the overlay is its own site's. */
	p = mmap(NULL, P(8), RW, ANON, -1, 0); /* EXPECT: 24576 1 */ /* EXPECT(none): none */
	CHECK(mmap(p + P(3), P(2), RW, FIXED, -1, 0) == p + P(3), "MAP_FIXED in the middle failed"); /* EXPECT: 8192 1 */ /* EXPECT(none): none */
	/* A failed MAP_FIXED replaces nothing. */
	errno = 0;
	CHECK(mmap(p + 1, P(1), RW, FIXED, -1, 0) == MAP_FAILED && errno == EINVAL, "MAP_FIXED(unaligned) did not fail with EINVAL"); /* EXPECT: none */

	/* Over a whole mapping, which loses its call. */
	p = mmap(NULL, P(2), RW, ANON, -1, 0); /* EXPECT: 0 0 */ /* EXPECT(none): none */
	CHECK(mmap(p, P(2), RW, FIXED, -1, 0) == p, "MAP_FIXED over a whole mapping failed"); /* EXPECT: 8192 1 */ /* EXPECT(none): none */
}

static void test_file_mappings(const char *path)
{
	char *p;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0, "cannot create %s", path);
	if (fd < 0)
		return;
	CHECK(ftruncate(fd, (off_t)P(3)) == 0, "ftruncate failed");

	p = mmap(NULL, P(3), RW, MAP_SHARED, fd, 0); /* EXPECT: none */ /* EXPECT(all): 12288 1 */
	CHECK(p != MAP_FAILED, "shared file mapping failed");
	if (p != MAP_FAILED)
		p[0] = 'x';

	p = mmap(NULL, P(3), PROT_READ, MAP_PRIVATE, fd, 0); /* EXPECT: none */ /* EXPECT(all): 8192 1 */
	CHECK(p != MAP_FAILED && p[0] == 'x', "private file mapping failed");
	CHECK(munmap(p + P(1), P(1)) == 0, "munmap of a file page failed"); /* EXPECT: none */

	/* A file mapped over anonymous pages untags them in every mode. */
	p = mmap(NULL, P(4), RW, ANON, -1, 0); /* EXPECT: 8192 1 */ /* EXPECT(none): none */
	CHECK(mmap(p + P(1), P(2), PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == p + P(1), "MAP_FIXED file mapping failed"); /* EXPECT: none */ /* EXPECT(all): 8192 1 */
	CHECK(p[P(1)] == 'x', "the file mapped over anonymous pages does not show the file");
	close(fd);
}

/* Large blocks of malloc are mapped by the allocator: never a mapping
 * site of the program's, only the malloc site. */
static void test_malloc(void)
{
	char *p;

	p = malloc(777); /* EXPECT: 777 1 */
	CHECK(p != NULL, "malloc(777) failed");
	p = malloc(64 << 20); /* EXPECT: 67108864 1 */
	CHECK(p != NULL, "malloc(64 MiB) failed");
	if (p)
		memset(p, 1, 64 << 20);
	p = malloc(8 << 20); /* EXPECT: 0 0 */
	free(p);
}

/* Mapping calls that succeed leave errno alone. */
static void test_errno(void)
{
	char *p, *q;

	errno = 4321;
	p = mmap(NULL, P(2), RW, ANON, -1, 0); /* EXPECT: 0 0 */ /* EXPECT(none): none */
	q = mremap(p, P(2), P(1), 0); /* EXPECT: none */
	CHECK(q == p && munmap(p, P(1)) == 0, "mmap, mremap or munmap failed"); /* EXPECT: none */
	CHECK(errno == 4321, "successful mapping calls changed errno to %d", errno);
}

int main(int argc, char **argv)
{
	if (argc != 2 || sysconf(_SC_PAGESIZE) != PAGE) {
		CHECK(argc == 2, "usage: mmap_sites FILE");
		CHECK(sysconf(_SC_PAGESIZE) == PAGE, "the page size is %ld; the EXPECT markers assume %d",
		      sysconf(_SC_PAGESIZE), PAGE);
		return CHECK_STATUS();
	}
	test_whole_mappings();
	test_partial_munmap();
	test_mremap();
	test_map_fixed();
	test_file_mappings(argv[1]);
	test_malloc();
	test_errno();
	return CHECK_STATUS();
}

/*
 * The C allocation API at known call sites.
 *
 * Every line that calls an allocation function carries the numbers its
 * tag must show at exit: EXPECT: BYTES CALLS, or EXPECT: none when the
 * line must have no record at all (a call that allocated nothing).  A
 * site in a loop shows the total of its live blocks.  tests/lib.sh
 * explains the marker syntax.
 *
 * The program also checks what glibc's malloc promises (alignment,
 * errno, return codes, zeroed memory) and exits 1 if any of that fails;
 * the test runs it without the preload too, so every check here is
 * known to hold for glibc itself.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* Blocks that stay allocated until exit, so the compiler and the reader
 * both see that they are deliberately leaked. */
static void *leaked[128];
static int nleaked;

/* Sizes the compiler cannot see, so it neither warns nor folds. */
static volatile size_t huge = SIZE_MAX;
static volatile size_t too_big = (size_t)PTRDIFF_MAX;

static void leak(void *p)
{
	CHECK(nleaked < (int)(sizeof(leaked) / sizeof(leaked[0])), "more than %d leaked blocks", nleaked);
	if (nleaked < (int)(sizeof(leaked) / sizeof(leaked[0])))
		leaked[nleaked++] = p;
}

static int is_aligned(const void *p, size_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

static void *alloc_in_helper(size_t n)
{
	return malloc(n); /* EXPECT: 300 3 */
}

static void test_malloc_free(void)
{
	void *p, *q;
	int i;

	p = malloc(100); /* EXPECT: 100 1 */
	CHECK(p != NULL, "malloc(100) returned NULL");
	CHECK(is_aligned(p, 16), "malloc(100) = %p is not 16-aligned", p);
	CHECK(malloc_usable_size(p) >= 100, "usable size %zu < 100",
	      malloc_usable_size(p));
	leak(p);

	q = malloc(200); /* EXPECT: 0 0 */
	free(q);

	for (i = 0; i < 5; i++) {
		p = malloc(7); /* EXPECT: 35 5 */
		leak(p);
	}
	/* Five blocks at one site, three of them freed again. */
	for (i = 0; i < 5; i++) {
		p = malloc(1000); /* EXPECT: 2000 2 */
		if (i < 3)
			free(p);
		else
			leak(p);
	}
	for (i = 1; i <= 3; i++)
		leak(alloc_in_helper(100));

	p = malloc(0); /* EXPECT: 0 1 */
	CHECK(p != NULL, "malloc(0) returned NULL");
	leak(p);

	free(NULL);

	errno = 0;
	p = malloc(huge); /* EXPECT: none */
	CHECK(p == NULL && errno == ENOMEM, "malloc(SIZE_MAX) = %p, errno %d", p, errno);
	errno = 0;
	p = malloc(too_big); /* EXPECT: none */
	CHECK(p == NULL && errno == ENOMEM, "malloc(PTRDIFF_MAX) = %p, errno %d", p, errno);

	/* free keeps errno (glibc 2.33 and later), small and large blocks. */
	p = malloc(64); /* EXPECT: 0 0 */
	q = malloc(64 << 20); /* EXPECT: 0 0 */
	errno = 1234;
	free(p);
	free(q);
	CHECK(errno == 1234, "free changed errno to %d", errno);
}

static void test_calloc(void)
{
	unsigned char *p;
	size_t i, nonzero = 0;

	/* Dirty a block and free it, so calloc's zeroing is observable. */
	p = malloc(4000); /* EXPECT: 0 0 */
	memset(p, 0xAA, 4000);
	free(p);
	p = calloc(1000, 4); /* EXPECT: 4000 1 */
	for (i = 0; i < 4000; i++)
		nonzero += p[i] != 0;
	CHECK(nonzero == 0, "calloc(1000, 4) has %zu nonzero bytes", nonzero);
	leak(p);

	p = calloc(3, 10); /* EXPECT: 0 0 */
	free(p);

	p = calloc(0, 10); /* EXPECT: 0 1 */
	CHECK(p != NULL, "calloc(0, 10) returned NULL");
	leak(p);

	errno = 0;
	p = calloc(huge / 2, 3); /* EXPECT: none */
	CHECK(p == NULL && errno == ENOMEM, "calloc overflow = %p, errno %d", (void *)p, errno);
}

static void test_realloc(void)
{
	char *p, *q;
	int i;

	/* A chain: the block moves to each realloc's site in turn. */
	p = malloc(10); /* EXPECT: 0 0 */
	strcpy(p, "chain");
	p = realloc(p, 20); /* EXPECT: 0 0 */
	p = realloc(p, 5000); /* EXPECT: 0 0 */
	p = realloc(p, 30); /* EXPECT: 30 1 */
	CHECK(strcmp(p, "chain") == 0, "realloc lost the contents: '%.5s'", p);
	leak(p);

	/* realloc(NULL, n) is malloc(n). */
	p = realloc(NULL, 40); /* EXPECT: 40 1 */
	CHECK(p != NULL, "realloc(NULL, 40) returned NULL");
	leak(p);

	/* realloc(p, 0) frees p and returns NULL; it allocates nothing. */
	p = malloc(50); /* EXPECT: 0 0 */
	q = realloc(p, 0); /* EXPECT: none */
	CHECK(q == NULL, "realloc(p, 0) = %p, not NULL", (void *)q);

	/* Growing in a loop at one site: one live block of the last size. */
	p = NULL;
	for (i = 1; i <= 100; i++) {
		p = realloc(p, (size_t)i * 10); /* EXPECT: 1000 1 */
		p[i * 10 - 1] = (char)i;
	}
	for (i = 1; i <= 100; i++)
		CHECK(p[i * 10 - 1] == (char)i, "realloc loop lost byte %d", i * 10 - 1);
	leak(p);

	/* A failed realloc leaves the block where it was. */
	p = malloc(60); /* EXPECT: 60 1 */
	leak(p);
	errno = 0;
	q = realloc(p, huge); /* EXPECT: none */
	CHECK(q == NULL && errno == ENOMEM, "realloc(p, SIZE_MAX) = %p, errno %d", (void *)q, errno);

	/* reallocarray: n * size, with overflow checked. */
	p = reallocarray(NULL, 10, 8); /* EXPECT: 0 0 */
	q = reallocarray(p, 20, 8); /* EXPECT: 160 1 */
	CHECK(q != NULL, "reallocarray(p, 20, 8) returned NULL");
	leak(q);
	errno = 0;
	p = reallocarray(q, huge, 2); /* EXPECT: none */
	CHECK(p == NULL && errno == ENOMEM, "reallocarray overflow = %p, errno %d", (void *)p, errno);
}

static void test_aligned(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p = NULL;
	int rc, i;

	rc = posix_memalign(&p, 64, 100); /* EXPECT: 100 1 */
	CHECK(rc == 0 && is_aligned(p, 64), "posix_memalign(64) = %d, %p", rc, p);
	leak(p);
	rc = posix_memalign(&p, 8, 10); /* EXPECT: 10 1 */
	CHECK(rc == 0 && is_aligned(p, 8), "posix_memalign(8) = %d, %p", rc, p);
	leak(p);
	rc = posix_memalign(&p, 65536, 1000); /* EXPECT: 0 0 */
	CHECK(rc == 0 && is_aligned(p, 65536), "posix_memalign(65536) = %d, %p", rc, p);
	CHECK(malloc_usable_size(p) >= 1000, "usable size %zu < 1000", malloc_usable_size(p));
	free(p);

	/* Bad alignments: EINVAL, and *out untouched. */
	p = (void *)&p;
	rc = posix_memalign(&p, 0, 10); /* EXPECT: none */
	CHECK(rc == EINVAL && p == (void *)&p, "posix_memalign(0) = %d", rc);
	rc = posix_memalign(&p, 3, 10); /* EXPECT: none */
	CHECK(rc == EINVAL && p == (void *)&p, "posix_memalign(3) = %d", rc);
	rc = posix_memalign(&p, 24, 10); /* EXPECT: none */
	CHECK(rc == EINVAL && p == (void *)&p, "posix_memalign(24) = %d", rc);
	rc = posix_memalign(&p, 4, 10); /* EXPECT: none */
	CHECK(rc == EINVAL && p == (void *)&p, "posix_memalign(4) = %d", rc);
	/* Too large: ENOMEM. */
	rc = posix_memalign(&p, 64, huge); /* EXPECT: none */
	CHECK(rc == ENOMEM && p == (void *)&p, "posix_memalign(64, SIZE_MAX) = %d", rc);
	rc = posix_memalign(&p, (size_t)1 << 62, 16); /* EXPECT: none */
	CHECK(rc == ENOMEM && p == (void *)&p, "posix_memalign(2^62, 16) = %d", rc);

	/* One site again and again: from its second call on, the fast
	 * path serves it, on jemalloc's class for the size rounded up to
	 * the alignment (5,000 bytes at 1024: the 5 KiB class). */
	for (i = 0; i < 4; i++) {
		rc = posix_memalign(&p, 64, 100 + i); /* EXPECT: 406 4 */
		CHECK(rc == 0 && is_aligned(p, 64), "posix_memalign(64) #%d = %d, %p", i, rc, p);
		leak(p);
		p = aligned_alloc(256, 300 + i); /* EXPECT: 1206 4 */
		CHECK(p != NULL && is_aligned(p, 256), "aligned_alloc(256) #%d = %p", i, p);
		leak(p);
		p = memalign(1024, 5000); /* EXPECT: 20000 4 */
		CHECK(p != NULL && is_aligned(p, 1024) && malloc_usable_size(p) >= 5000,
		      "memalign(1024, 5000) #%d = %p, usable %zu", i, p,
		      p ? malloc_usable_size(p) : 0);
		leak(p);
		p = memalign(2048, 0); /* EXPECT: 0 4 */
		CHECK(p != NULL && is_aligned(p, 2048), "memalign(2048, 0) #%d = %p", i, p);
		leak(p);
		p = aligned_alloc(32, 8); /* EXPECT: 0 0 */
		CHECK(p != NULL && is_aligned(p, 32), "aligned_alloc(32, 8) #%d = %p", i, p);
		free(p);
		/* A page: the 8 KiB class, whose blocks lie at pages; the
		 * block just freed of that class serves it again. */
		free(malloc(8000)); /* EXPECT: 0 0 */
		p = aligned_alloc(page, 6000 + i); /* EXPECT: 24006 4 */
		CHECK(p != NULL && is_aligned(p, page), "aligned_alloc(page, %d) #%d = %p", 6000 + i,
		      i, p);
		leak(p);
		p = valloc(100); /* EXPECT: 400 4 */
		CHECK(p != NULL && is_aligned(p, page), "valloc(100) #%d = %p", i, p);
		leak(p);
	}

	p = aligned_alloc(256, 512); /* EXPECT: 512 1 */
	CHECK(p != NULL && is_aligned(p, 256), "aligned_alloc(256, 512) = %p", p);
	leak(p);
	p = aligned_alloc(4096, 4096); /* EXPECT: 0 0 */
	CHECK(p != NULL && is_aligned(p, 4096), "aligned_alloc(4096, 4096) = %p", p);
	free(p);

	p = memalign(128, 77); /* EXPECT: 77 1 */
	CHECK(p != NULL && is_aligned(p, 128), "memalign(128, 77) = %p", p);
	leak(p);
	/* Alignments up to 16 are malloc's own. */
	p = memalign(8, 33); /* EXPECT: 33 1 */
	CHECK(p != NULL && is_aligned(p, 16), "memalign(8, 33) = %p", p);
	leak(p);
	/* glibc rounds an alignment that is not a power of two up to one. */
	p = memalign(48, 20); /* EXPECT: 20 1 */
	CHECK(p != NULL && is_aligned(p, 64), "memalign(48, 20) = %p", p);
	leak(p);
	errno = 0;
	p = memalign(((size_t)1 << 63) + 1, 16); /* EXPECT: none */
	CHECK(p == NULL && errno == EINVAL, "memalign(2^63+1) = %p, errno %d", p, errno);
	/* A valid alignment larger than the address space: ENOMEM. */
	errno = 0;
	p = memalign((size_t)1 << 62, 16); /* EXPECT: none */
	CHECK(p == NULL && errno == ENOMEM, "memalign(2^62) = %p, errno %d", p, errno);
	errno = 0;
	p = memalign(64, huge); /* EXPECT: none */
	CHECK(p == NULL && errno == ENOMEM, "memalign(64, SIZE_MAX) = %p, errno %d", p, errno);

	p = valloc(100); /* EXPECT: 100 1 */
	CHECK(p != NULL && is_aligned(p, page), "valloc(100) = %p", p);
	leak(p);
	/* pvalloc asks for whole pages. */
	p = pvalloc(100); /* EXPECT: 4096 1 */
	CHECK(page == 4096, "page size is %zu; the EXPECT above assumes 4096", page);
	CHECK(p != NULL && is_aligned(p, page), "pvalloc(100) = %p", p);
	CHECK(malloc_usable_size(p) >= page, "pvalloc(100) usable %zu < a page",
	      malloc_usable_size(p));
	leak(p);
	errno = 0;
	p = pvalloc(huge - 100); /* EXPECT: none */
	CHECK(p == NULL && errno == ENOMEM, "pvalloc(SIZE_MAX - 100) = %p, errno %d", p, errno);
}

/* Many sizes: the usable size is never below the request. */
static void test_usable_size(void)
{
	static const size_t sizes[] = { 1, 15, 16, 17, 100, 1000, 4095, 4097,
					100000, 1 << 20 };
	size_t i;
	void *p;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = malloc(sizes[i]); /* EXPECT: 0 0 */
		CHECK(malloc_usable_size(p) >= sizes[i], "malloc_usable_size(malloc(%zu)) = %zu",
		      sizes[i], malloc_usable_size(p));
		free(p);
	}
	CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) = %zu",
	      malloc_usable_size(NULL));
}

/*
 * jemalloc's largest small classes (8, 10, 12 and 14 KiB, whose slabs
 * hold one or two blocks over several pages) and the first large sizes
 * past them, at one site each, again and again: counted from slots,
 * from pages' entries, and across the two by realloc.
 */
static void test_largest_small_classes(void)
{
	static const size_t sizes[] = { 8192, 8193, 10240, 12000, 14336, 14337, 16384, 20000 };
	size_t i, n = sizeof(sizes) / sizeof(sizes[0]);
	unsigned char *p;

	for (i = 0; i < n; i++) {
		p = malloc(sizes[i]); /* EXPECT: 103682 8 */
		CHECK(p != NULL && malloc_usable_size(p) >= sizes[i], "malloc(%zu) = %p", sizes[i],
		      (void *)p);
		leak(p);
	}
	for (i = 0; i < n; i++) {
		p = malloc(sizes[i]); /* EXPECT: 0 0 */
		CHECK(p != NULL, "malloc(%zu) returned NULL", sizes[i]);
		memset(p, (int)i + 1, sizes[i]);
		p = realloc(p, sizes[i] + 3000); /* EXPECT: 127682 8 */
		CHECK(p != NULL && p[0] == i + 1 && p[sizes[i] - 1] == i + 1,
		      "realloc(%zu -> %zu) lost the contents", sizes[i], sizes[i] + 3000);
		leak(p);
	}
	for (i = 0; i < n; i++) {
		p = calloc(1, sizes[i]); /* EXPECT: 0 0 */
		CHECK(p != NULL && p[0] == 0 && p[sizes[i] - 1] == 0, "calloc(1, %zu) = %p, not zeroed",
		      sizes[i], (void *)p);
		free(p);
	}
}

int main(void)
{
	test_malloc_free();
	test_calloc();
	test_realloc();
	test_aligned();
	test_usable_size();
	test_largest_small_classes();
	return CHECK_STATUS();
}

/*
 * Blocks that realloc grows to 256 KiB or more, which the library moves
 * into mappings of their own (core/alloc.c, grown blocks), for
 * tests/integration/grown_blocks.sh.  Each live block is counted at
 * the line of its last realloc, with the bytes it asked for, through
 * growth, shrinking, a move back into jemalloc, frees, the reuse of a
 * kept mapping, threads and a fork; its bytes survive every move;
 * errno is untouched by every realloc that succeeds; a block grown a
 * page at a time moves now and then, not at every realloc;
 * malloc_usable_size covers each request; mallinfo2 counts them as
 * glibc counts its mmapped blocks; and a freed one's pages are given
 * back by malloc_trim at the latest.  Natively, the same checks
 * hold for glibc.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define THREADS 4
#define ROUNDS 50

/* A pattern of @seed in @n bytes: each byte differs from the next, so a
 * block moved by the wrong offset or cut short shows. */
static void fill(unsigned char *p, size_t from, size_t n, unsigned int seed)
{
	for (size_t i = from; i < n; i++)
		p[i] = (unsigned char)(i * 31 + i / 4096 + seed);
}

static int intact(const unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 31 + i / 4096 + seed))
			return 0;
	return 1;
}

/* The process's resident KiB (/proc/self/statm), read without an
 * allocation; -1 if it cannot be read. */
static long resident_kib(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	long size, pages;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%ld %ld", &size, &pages) != 2)
		return -1;
	return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

/* errno as realloc left it, after setting it to a value of its own. */
static int errno_before;

static void mark_errno(void)
{
	errno = errno_before = 4321;
}

static void check_errno(const char *what)
{
	CHECK(errno == errno_before, "%s: errno %d after a realloc that succeeded", what, errno);
}

static void *grow_and_free(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	unsigned char *p = NULL;

	for (int round = 0; round < ROUNDS; round++) {
		size_t n = KIB;

		free(p);
		p = malloc(n); /* EXPECT: 0 0 */
		fill(p, 0, n, seed + (unsigned int)round);
		while (n < MIB) {
			p = realloc(p, n * 2); /* EXPECT: 4194304 4 */
			CHECK(p, "a thread's realloc to %zu", n * 2);
			if (!p)
				return NULL;
			fill(p, n, n * 2, seed + (unsigned int)round);
			n *= 2;
		}
		CHECK(intact(p, n, seed + (unsigned int)round), "a thread's block, round %d", round);
	}
	return p;	/* live at exit: the last round's */
}

int main(void)
{
	void (*jemalloc_dallocx)(void *, int) =
		(void (*)(void *, int))dlsym(RTLD_DEFAULT, "dallocx");
	unsigned char *a, *b, *c, *d, *e, *f, *g, *p;
	pthread_t threads[THREADS];
	void *thread_block[THREADS];
	size_t live_usable;
	struct mallinfo2 mi;
	long resident;
	size_t n;
	int status, page_growth_moves = 0;
	pid_t child;

	/* Grown by doubling to 4 MiB: in place or moved, never copied. */
	a = malloc(1000); /* EXPECT: 0 0 */
	fill(a, 0, 1000, 1);
	for (n = 1000; n < 4 * MIB;) {
		size_t next = n * 2 < 4 * MIB ? n * 2 : 4 * MIB;

		mark_errno();
		a = realloc(a, next); /* EXPECT: 4194304 1 */
		check_errno("a");
		CHECK(a && intact(a, n, 1), "a's first %zu bytes after its realloc to %zu", n, next);
		fill(a, n, next, 1);
		n = next;
	}
	CHECK(malloc_usable_size(a) >= 4 * MIB, "a: usable %zu", malloc_usable_size(a));
	/* Counted as glibc counts its mmapped blocks. */
	mi = mallinfo2();
	CHECK(mi.hblks >= 1 && mi.hblkhd >= 4 * MIB, "mallinfo2 with a grown to 4 MiB: hblks %zu, hblkhd %zu",
	      mi.hblks, mi.hblkhd);

	/* Grown to 1 MiB, then shrunk to 300,000 bytes: still mapped. */
	b = malloc(2000); /* EXPECT: 0 0 */
	b = realloc(b, MIB); /* EXPECT: 0 0 */
	fill(b, 0, MIB, 2);
	mark_errno();
	b = realloc(b, 300000); /* EXPECT: 300000 1 */
	check_errno("b");
	CHECK(b && intact(b, 300000, 2), "b after its shrink");
	CHECK(malloc_usable_size(b) >= 300000, "b: usable %zu", malloc_usable_size(b));
	/* For the script: under the preload, b kept its 1 MiB mapping. */
	printf("b_usable %zu\n", malloc_usable_size(b));

	/* Grown to 2 MiB, then to 100,000 bytes, below a grown block's
	 * least: back into jemalloc. */
	c = realloc(NULL, 5000); /* EXPECT: 0 0 */
	c = realloc(c, 2 * MIB); /* EXPECT: 0 0 */
	fill(c, 0, 2 * MIB, 3);
	mark_errno();
	c = realloc(c, 100000); /* EXPECT: 100000 1 */
	check_errno("c");
	CHECK(c && intact(c, 100000, 3), "c after its move back");

	/* Grown, then freed: its mapping is kept, and the next block
	 * grown has it, then grows it. */
	d = malloc(300); /* EXPECT: 0 0 */
	d = realloc(d, 600000); /* EXPECT: 0 0 */
	free(d);
	e = malloc(10); /* EXPECT: 0 0 */
	fill(e, 0, 10, 5);
	mark_errno();
	e = realloc(e, 700000); /* EXPECT: 700000 1 */
	check_errno("e");
	CHECK(e && intact(e, 10, 5), "e after its move into a kept mapping");

	/* Grown, then shrunk to a small class. */
	f = malloc(100); /* EXPECT: 0 0 */
	f = realloc(f, MIB); /* EXPECT: 0 0 */
	fill(f, 0, MIB, 6);
	f = realloc(f, 5); /* EXPECT: 5 1 */
	CHECK(f && intact(f, 5, 6), "f after its move into a small class");

	/* Freed by jemalloc's own API, where the process has it. */
	g = malloc(10); /* EXPECT: 0 0 */
	g = realloc(g, MIB); /* EXPECT: 0 0 */
	if (jemalloc_dallocx)
		jemalloc_dallocx(g, 0);
	else
		free(g);

	/* A hundred buffers grown to 2 MiB and freed, as a string builder's. */
	for (int round = 0; round < 100; round++) {
		p = malloc(64 * KIB); /* EXPECT: 0 0 */
		fill(p, 0, 64 * KIB, 7);
		for (n = 64 * KIB; n < 2 * MIB; n *= 2) {
			p = realloc(p, n * 2); /* EXPECT: 0 0 */
			CHECK(p, "round %d: realloc to %zu", round, n * 2);
			if (!p)
				return 1;
			fill(p, n, n * 2, 7);
		}
		CHECK(intact(p, n, 7), "round %d: the grown buffer", round);
		free(p);
	}

	/* Grown a page at a time from 256 KiB to 2 MiB, as perl grows its
	 * stack of temporaries, with no kept mapping to grow into: for the
	 * script, how many times it moved. */
	(void)malloc_trim(0);
	p = malloc(256 * KIB); /* EXPECT: 0 0 */
	fill(p, 0, 256 * KIB, 8);
	for (n = 256 * KIB; n < 2 * MIB; n += 4 * KIB) {
		unsigned char *grown = realloc(p, n + 4 * KIB); /* EXPECT: 0 0 */

		CHECK(grown, "realloc to %zu", n + 4 * KIB);
		if (!grown)
			return 1;
		page_growth_moves += grown != p;
		p = grown;
		fill(p, n, n + 4 * KIB, 8);
	}
	CHECK(intact(p, n, 8), "the buffer grown a page at a time");
	free(p);
	printf("page_growth_moves %d\n", page_growth_moves);

	/* A growth that cannot be had leaves the block as it was. */
	errno = 0;
	p = realloc(b, (size_t)1 << 62);
	CHECK(!p && errno == ENOMEM, "realloc to 2^62: %p, errno %d", (void *)p, errno);
	CHECK(intact(b, 300000, 2), "b after a failed realloc");

	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&threads[i], NULL, grow_and_free, (void *)(uintptr_t)(10 + i)) == 0,
		      "pthread_create");
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], &thread_block[i]);

	/* A child grows and frees the parent's blocks, its own copies. */
	child = fork();
	if (child == 0) {
		unsigned char *grown = realloc(a, 8 * MIB);

		free(b);
		_exit(grown && intact(grown, 4 * MIB, 1) ? 0 : 1);
	}
	CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the child's growth of a");
	CHECK(intact(a, 4 * MIB, 1) && intact(b, 300000, 2), "a and b after the child's");

	/* For the script: the blocks grown to 256 KiB and more that live
	 * (a, b, e and the threads' last) and mallinfo2's figures of
	 * mmapped blocks, which under the preload are those. */
	live_usable = malloc_usable_size(a) + malloc_usable_size(b) + malloc_usable_size(e);
	for (int i = 0; i < THREADS; i++)
		live_usable += malloc_usable_size(thread_block[i]);
	mi = mallinfo2();
	printf("grown_live %d\ngrown_usable %zu\nhblks %zu\nhblkhd %zu\n", 3 + THREADS,
	       live_usable, mi.hblks, mi.hblkhd);

	/* Freed, then malloc_trim: its pages go back (glibc unmaps such a
	 * block at free; the library keeps the last one freed for the
	 * next, until malloc_trim). */
	p = malloc(1000); /* EXPECT: 0 0 */
	p = realloc(p, 4 * MIB); /* EXPECT: 0 0 */
	CHECK(p, "realloc to 4 MiB");
	if (!p)
		return 1;
	memset(p, 9, 4 * MIB);
	resident = resident_kib();
	free(p);
	(void)malloc_trim(0);
	CHECK(resident > 0 && resident_kib() + 3 * 1024 <= resident,
	      "resident after free and malloc_trim: %ld KiB, with the block %ld",
	      resident_kib(), resident);
	return CHECK_STATUS();
}

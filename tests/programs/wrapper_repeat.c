/*
 * Wrappers called many times (see tests/lib.sh for the EXPECT markers).
 *
 * After its first allocations at a wrapper site, allocinfo finds the
 * wrapper's caller by a measured stack offset instead of unwinding
 * (core/callsite.c).  Every call here goes through a wrapper named in
 * ALLOCINFO_WRAPPERS, a hundred times or so from each marked line, so
 * the counts check that the shortcut charges exactly what unwinding
 * would: one wrapper called from two lines, a wrapper called through
 * another, strdup in a loop, and a wrapper whose frame size changes from
 * call to call (a variable-length array), where the shortcut must give
 * up and every allocation must still land on its caller's line, also
 * when the size changes only after the offset was confirmed; one
 * wrapper called from two lines in turn; and a realloc wrapper that
 * keeps each block in its size class, whose slot then names the line
 * that called the wrapper (realloc's fast path asks the same shortcut),
 * also through a second wrapper, as the large blocks of the wrapper
 * called through another are.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void *volatile sink[1024];
static int kept;

static void keep(void *p)
{
	CHECK(p != NULL, "allocation failed");
	sink[kept++ % 1024] = p;
}

__attribute__((noinline)) void *repeat_alloc(size_t n)
{
	void *p = malloc(n); /* EXPECT: none */

	if (!p)
		abort();
	return p;
}

__attribute__((noinline)) void *repeat_alloc_twice_wrapped(size_t n)
{
	void *p = repeat_alloc(n); /* EXPECT: none */

	sink[1023] = p;
	return p;
}

__attribute__((noinline)) void *repeat_alloc_varying(size_t n, int pad)
{
	volatile char frame[pad];
	void *p;

	frame[0] = (char)n;
	p = malloc(n + (size_t)frame[0] * 0); /* EXPECT: none */
	if (!p)
		abort();
	return p;
}

/* The same frame size for its first ten calls, then larger: the offset
 * measured and confirmed on the first calls then points into the
 * array, whose bytes are no return address; the shortcut must see that
 * and unwind. */
__attribute__((noinline)) void *repeat_alloc_late_varying(size_t n, int pad)
{
	volatile char frame[pad];
	void *p;

	memset((char *)frame, 0x41, (size_t)pad);
	p = malloc(n + (size_t)(frame[0] - 0x41)); /* EXPECT: none */
	if (!p)
		abort();
	return p;
}

__attribute__((noinline)) void *repeat_realloc(void *p, size_t n)
{
	void *q = realloc(p, n); /* EXPECT: none */

	if (!q)
		abort();
	return q;
}

__attribute__((noinline)) void *repeat_realloc_twice_wrapped(void *p, size_t n)
{
	void *q = repeat_realloc(p, n); /* EXPECT: none */

	sink[1022] = q;
	return q;
}

int main(void)
{
	for (int i = 0; i < 100; i++)
		keep(repeat_alloc(8)); /* EXPECT: 800 100 func:main */
	for (int i = 0; i < 50; i++)
		keep(repeat_alloc(16)); /* EXPECT: 800 50 func:main */
	for (int i = 0; i < 100; i++)
		keep(repeat_alloc_twice_wrapped(4)); /* EXPECT: 400 100 func:main */
	/* Past the small classes, malloc's path for large blocks. */
	for (int i = 0; i < 10; i++)
		keep(repeat_alloc_twice_wrapped(20000)); /* EXPECT: 200000 10 func:main */
	for (int i = 0; i < 100; i++)
		keep(strdup("hello")); /* EXPECT: 600 100 func:main */
	for (int i = 0; i < 100; i++)
		keep(repeat_alloc_varying(2, 16 + (i % 7) * 256)); /* EXPECT: 200 100 func:main */
	/* One wrapper site reached from two lines in turn: with stacks,
	 * each allocation's chain differs from the one before. */
	for (int i = 0; i < 100; i++) {
		if (i % 2)
			keep(repeat_alloc(12)); /* EXPECT: 600 50 func:main */
		else
			keep(repeat_alloc(24)); /* EXPECT: 1200 50 func:main */
	}
	for (int i = 0; i < 100; i++)
		keep(repeat_alloc_late_varying(2, i < 10 ? 16 : 16 + 256 * (i % 7 + 1))); /* EXPECT: 200 100 func:main */
	/* 20, 22 and 23 bytes share jemalloc's class: each block stays
	 * where it is, and only its slot moves to the realloc's caller. */
	for (int i = 0; i < 100; i++) {
		void *r = malloc(20); /* EXPECT: 0 0 func:main */

		CHECK(r != NULL, "allocation failed");
		memset(r, i, 20);
		if (i % 2)
			r = repeat_realloc(r, 22); /* EXPECT: 1100 50 func:main */
		else
			r = repeat_realloc(r, 23); /* EXPECT: 1150 50 func:main */
		CHECK(((unsigned char *)r)[19] == (unsigned char)i, "realloc lost the contents");
		keep(r);
	}
	/* The same through a second wrapper. */
	for (int i = 0; i < 100; i++) {
		void *r = malloc(20); /* EXPECT: 0 0 func:main */

		CHECK(r != NULL, "allocation failed");
		memset(r, i, 20);
		r = repeat_realloc_twice_wrapped(r, 22); /* EXPECT: 2200 100 func:main */
		CHECK(((unsigned char *)r)[19] == (unsigned char)i, "realloc lost the contents");
		keep(r);
	}
	return CHECK_STATUS();
}

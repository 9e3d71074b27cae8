/*
 * A program that uses libunwind itself, as crash reporters and
 * profilers built into programs do.  Its first unw_backtrace sets up
 * libunwind's caches inside a pthread_once, and maps memory from there;
 * the preload must not unwind through that once again (it hung).  Then
 * it walks its stack from a few depths and keeps one block of its own.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

static __attribute__((noinline)) int frames_below(int depth)
{
	void *pcs[64];

	if (depth > 0)
		return frames_below(depth - 1);   /* -O0: a frame each */
	return unw_backtrace(pcs, 64);
}

int main(void)
{
	int shallow, deep;
	char *kept;

	shallow = frames_below(0);
	deep = frames_below(5);
	CHECK(shallow >= 2, "unw_backtrace found %d frames", shallow);
	CHECK(deep >= shallow + 5, "%d frames 5 calls deeper, %d at the top", deep, shallow);
	kept = malloc(4000); /* EXPECT: 4000 1 */
	CHECK(kept != NULL, "malloc failed");
	printf("frames %d %d\n", shallow, deep);
	return CHECK_STATUS();
}

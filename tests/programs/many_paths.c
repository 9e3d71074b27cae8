/*
 * Many stacks through one wrapper site and one caller of it, for
 * ALLOCINFO_DEPTH=3 (tests/integration/many_paths.sh).
 *
 * Twelve functions, one PATH: caller line each, allocate through
 * paths_helper, which calls the wrapper paths_alloc (named in
 * ALLOCINFO_WRAPPERS), which calls malloc.  main calls the twelve in
 * turn, ROUNDS times, from one PATH: main line.  So every allocation
 * has the same site (the wrapper's call of malloc) and the same caller
 * of the wrapper (PATH: helper), and only the frame after that tells
 * the twelve chains apart: more paths from one site and caller than
 * the thread's path cache keeps (core/callsite.c), taken in turn, so
 * that each allocation after the first rounds is charged by the walk of
 * the frame memo (stack_by_memo), not by a remembered path.
 *
 * Caller i allocates 16 + i bytes and keeps every block: its chain
 * helper > caller i > main must hold exactly ROUNDS calls and
 * ROUNDS * (16 + i) bytes.  Prints "rounds ROUNDS".
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

#define CALLERS 12
#define ROUNDS 50

static void *volatile kept[CALLERS * ROUNDS];
static int nkept;

__attribute__((noinline)) void *paths_alloc(size_t n)
{
	void *p = malloc(n);

	CHECK(p != NULL, "malloc(%zu) failed", n);
	return p;
}

/* Not a tail call, so that its frame stays on the stack at -O2. */
__attribute__((noinline)) void *paths_helper(size_t n)
{
	void *p = paths_alloc(n); /* PATH: helper */

	kept[nkept++] = p;
	return p;
}

/* Each caller stores what it got: a call whose result is unused would
 * be a tail call at -O2, and the caller's frame would not be on the
 * stack. */
static void *volatile last;

#define PATH_CALLER(i) \
	__attribute__((noinline)) void paths_caller_##i(void)

PATH_CALLER(0) { last = paths_helper(16 + 0); /* PATH: caller */ }
PATH_CALLER(1) { last = paths_helper(16 + 1); /* PATH: caller */ }
PATH_CALLER(2) { last = paths_helper(16 + 2); /* PATH: caller */ }
PATH_CALLER(3) { last = paths_helper(16 + 3); /* PATH: caller */ }
PATH_CALLER(4) { last = paths_helper(16 + 4); /* PATH: caller */ }
PATH_CALLER(5) { last = paths_helper(16 + 5); /* PATH: caller */ }
PATH_CALLER(6) { last = paths_helper(16 + 6); /* PATH: caller */ }
PATH_CALLER(7) { last = paths_helper(16 + 7); /* PATH: caller */ }
PATH_CALLER(8) { last = paths_helper(16 + 8); /* PATH: caller */ }
PATH_CALLER(9) { last = paths_helper(16 + 9); /* PATH: caller */ }
PATH_CALLER(10) { last = paths_helper(16 + 10); /* PATH: caller */ }
PATH_CALLER(11) { last = paths_helper(16 + 11); /* PATH: caller */ }

static void (*const callers[CALLERS])(void) = {
	paths_caller_0, paths_caller_1, paths_caller_2, paths_caller_3,
	paths_caller_4, paths_caller_5, paths_caller_6, paths_caller_7,
	paths_caller_8, paths_caller_9, paths_caller_10, paths_caller_11,
};

int main(void)
{
	for (int round = 0; round < ROUNDS; round++)
		for (int i = 0; i < CALLERS; i++)
			callers[i](); /* PATH: main */
	CHECK(nkept == CALLERS * ROUNDS, "%d blocks kept", nkept);
	printf("rounds %d\n", ROUNDS);
	return CHECK_STATUS();
}

/*
 * Links libearly, whose constructor allocates before allocinfo's
 * constructor has run: those sites must be counted and marked
 * accurate:no, and the program's own sites, after the window, not
 * (see tests/lib.sh for the EXPECT markers).
 */
#include <stdlib.h>

#include "check.h"
#include "libearly.h"

int main(void)
{
	unsigned char *mine;
	void *a, *b;

	CHECK(early_ctor_ran, "libearly's constructor did not run");
	CHECK(early_kept != NULL && ((unsigned char *)early_kept)[122] == 0x5A,
	      "libearly's constructor block is missing or damaged");
	a = early_alloc(10);
	b = early_alloc(20);
	CHECK(a != NULL && b != NULL, "early_alloc failed");
	mine = malloc(5); /* EXPECT: 5 1 func:main */
	CHECK(mine != NULL, "malloc(5) failed");
	/* Blocks from the early window are freed like any other. */
	free(early_freed_by_main);
	return CHECK_STATUS();
}

/*
 * A shared library that allocates in its constructor.  The dynamic
 * loader runs it before the preloaded allocinfo's constructor (the
 * program depends on this library; allocinfo depends on it only through
 * the program), so these allocations fall in the early window: counted,
 * and their tags marked accurate:no (see tests/lib.sh for the EXPECT
 * markers).  Its library module is libearly.so.
 */
#include <stdlib.h>
#include <string.h>

#include "libearly.h"

void *early_kept;
void *early_freed_by_main;
int early_ctor_ran;

__attribute__((constructor)) static void early_init(void)
{
	void *scratch;

	early_kept = malloc(123); /* EXPECT: 123 1 [libearly.so] func:early_init accurate:no */
	if (early_kept)
		memset(early_kept, 0x5A, 123);
	early_freed_by_main = malloc(45); /* EXPECT: 0 0 [libearly.so] func:early_init accurate:no */
	scratch = calloc(7, 11); /* EXPECT: 0 0 [libearly.so] func:early_init accurate:no */
	free(scratch);
	early_ctor_ran = 1;
}

/* Called from main, after the window: tagged normally. */
void *early_alloc(size_t n)
{
	return malloc(n); /* EXPECT: 30 2 [libearly.so] func:early_alloc */
}

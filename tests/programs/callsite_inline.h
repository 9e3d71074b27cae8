/*
 * A helper in a header, for callsite_c.c: not inlined at -O0, inlined at
 * -O2.  Either way its tag is the malloc line below and func:header_dup
 * (the innermost source location; see report/symbolize.c).
 */
#ifndef ALLOCINFO_TEST_CALLSITE_INLINE_H
#define ALLOCINFO_TEST_CALLSITE_INLINE_H

#include <stdlib.h>
#include <string.h>

static inline char *header_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n); /* EXPECT: 12 2 func:header_dup */

	if (p)
		memcpy(p, s, n);
	return p;
}

#endif

/*
 * A library that tests/programs/dl_main.c dlopens with RTLD_DEEPBIND,
 * which would put this library's own dependencies (libc) ahead of the
 * preloaded library in its symbol lookups, and make its malloc glibc's.
 * Its blocks cross to the program and back: the program frees what it
 * allocates, and it frees what the program allocates.  Nothing may
 * break.  allocinfo drops RTLD_DEEPBIND (saying so once on stderr), so
 * the library's allocations are tagged like any other (see tests/lib.sh
 * for the EXPECT markers).
 */
#include <stdlib.h>
#include <string.h>

char *dl_deep_strdup(const char *s)
{
	char *p = malloc(strlen(s) + 1); /* EXPECT: 0 0 [dl_deep.so] */

	if (p)
		strcpy(p, s);
	return p;
}

void dl_deep_free(void *p)
{
	free(p);
}

/* Allocates, grows and frees on its own; 0 if the contents survived. */
int dl_deep_roundtrip(void)
{
	char *p = malloc(100); /* EXPECT: 0 0 [dl_deep.so] */
	char *q;
	int bad;

	if (!p)
		return 1;
	memset(p, 'd', 100);
	q = realloc(p, 100000); /* EXPECT: 0 0 [dl_deep.so] */
	if (!q) {
		free(p);
		return 1;
	}
	bad = q[0] != 'd' || q[99] != 'd';
	free(q);
	return bad;
}

/* A block the program never frees. */
void *dl_deep_leak(void)
{
	return malloc(99); /* EXPECT: 99 1 [dl_deep.so] */
}

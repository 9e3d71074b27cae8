/*
 * A library that callsite_c dlopens by path: its sites show the module,
 * "[libcallsite.so]", as the kernel names a module.
 */
#include <stdlib.h>
#include <string.h>

void *callsite_lib_alloc(size_t n);
char *callsite_lib_dup(const char *s);

void *callsite_lib_alloc(size_t n)
{
	char *p = malloc(n); /* EXPECT: 96 1 [libcallsite.so] func:callsite_lib_alloc */

	if (p)
		p[0] = 0;
	return p;
}

/* strdup inside a library: charged to this line, in this library. */
char *callsite_lib_dup(const char *s)
{
	char *p = strdup(s); /* EXPECT: 7 1 [libcallsite.so] func:callsite_lib_dup */

	if (p)
		p[0] = 'L';
	return p;
}

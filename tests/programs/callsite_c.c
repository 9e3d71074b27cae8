/*
 * Call sites that a developer can act on, in C (see tests/lib.sh for
 * the EXPECT markers).  Built -g at -O0 and at -O2: every marker must
 * hold for both, so tags do not depend on the optimizer.
 *
 * Run with ALLOCINFO_WRAPPERS=my_wrapper,inline_wrapper.  Wrappers
 * (glibc's strdup family, the two above) are charged to the line that
 * called them; inlined functions that are not wrappers keep their own
 * line and name; the dlopen'd library shows its module.
 *
 * With an argument, the path of libcallsite.so, it also dlopens that.
 * With ALLOCINFO_DEPTH=3, depth_a -> depth_b -> depth_c is the chain the
 * test looks for (the DEPTH markers).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callsite_inline.h"
#include "check.h"

static void *kept[64];
static int nkept;
/* Touched after the calls below, so -O2 does not turn them into jumps
 * (a tail call leaves no frame to name). */
static volatile int depth_calls;

static void keep(void *p)
{
	kept[nkept++] = p;
}

/* A static function: its own line and name, inlined or not. */
static char *make_name(int n)
{
	char *p = malloc((size_t)n); /* EXPECT: 48 2 func:make_name */

	if (p)
		snprintf(p, (size_t)n, "name-%d", n);
	return p;
}

/* A wrapper of the program's own, named in ALLOCINFO_WRAPPERS. */
__attribute__((noinline)) void *my_wrapper(size_t n)
{
	void *p = malloc(n);

	if (!p)
		abort();
	return p;
}

/* An inlined wrapper, also named in ALLOCINFO_WRAPPERS: DWARF's inline
 * records put its allocation back on its caller's line. */
static inline __attribute__((always_inline)) void *inline_wrapper(size_t n)
{
	void *p = malloc(n);

	if (!p)
		abort();
	return p;
}

/* Inlined, and not a wrapper: keeps its own line and name. */
static inline __attribute__((always_inline)) int *user_inlined(int n)
{
	int *p = calloc((size_t)n, sizeof(int)); /* EXPECT: 40 1 func:user_inlined */

	if (p)
		p[0] = n;
	return p;
}

__attribute__((noinline)) void *depth_c(size_t n)
{
	char *p = malloc(n); /* EXPECT: 33 1 func:depth_c */ /* DEPTH: 1 */

	if (p)
		p[0] = 1;
	return p;
}

__attribute__((noinline)) void *depth_b(size_t n)
{
	void *p = depth_c(n); /* DEPTH: 2 */

	depth_calls++;
	return p;
}

__attribute__((noinline)) void *depth_a(size_t n)
{
	void *p = depth_b(n); /* DEPTH: 3 */

	depth_calls++;
	return p;
}

static void test_glibc_wrappers(void)
{
	char *s = NULL, *line = NULL;
	size_t cap = 0;
	FILE *f;

	keep(strdup("abc")); /* EXPECT: 4 1 func:test_glibc_wrappers */
	keep(strndup("abcdefgh", 5)); /* EXPECT: 6 1 func:test_glibc_wrappers */
	/* Sizes that glibc chooses: freed, so the record is 0 0. */
	CHECK(asprintf(&s, "%d-%s", 42, "answer") == 9, "asprintf"); /* EXPECT: 0 0 func:test_glibc_wrappers */
	free(s);
	s = realpath("/", NULL); /* EXPECT: 0 0 func:test_glibc_wrappers */
	CHECK(s && !strcmp(s, "/"), "realpath(\"/\") = %s", s ? s : "NULL");
	free(s);
	f = fmemopen((void *)"one\ntwo\n", 8, "r"); /* EXPECT: 0 0 func:test_glibc_wrappers */
	CHECK(f != NULL, "fmemopen failed");
	if (f) {
		CHECK(getline(&line, &cap, f) == 4, "getline"); /* EXPECT: 0 0 func:test_glibc_wrappers */
		fclose(f);
	}
	free(line);
}

static void test_own_code(void)
{
	keep(make_name(24));
	keep(make_name(24));
	keep(header_dup("hello"));
	keep(header_dup("world"));
	keep(user_inlined(10));
	keep(my_wrapper(50)); /* EXPECT: 50 1 func:test_own_code */
	keep(inline_wrapper(70)); /* EXPECT: 70 1 func:test_own_code */
	keep(depth_a(33));
}

static void test_library(const char *path)
{
	void *(*lib_alloc)(size_t);
	char *(*lib_dup)(const char *);
	void *h = dlopen(path, RTLD_NOW);

	CHECK(h != NULL, "dlopen %s: %s", path, dlerror());
	if (!h)
		return;
	*(void **)&lib_alloc = dlsym(h, "callsite_lib_alloc");
	*(void **)&lib_dup = dlsym(h, "callsite_lib_dup");
	CHECK(lib_alloc && lib_dup, "dlsym failed");
	if (lib_alloc && lib_dup) {
		keep(lib_alloc(96));
		keep(lib_dup("strdup"));
	}
}

int main(int argc, char **argv)
{
	test_glibc_wrappers();
	test_own_code();
	if (argc > 1)
		test_library(argv[1]);
	return CHECK_STATUS();
}

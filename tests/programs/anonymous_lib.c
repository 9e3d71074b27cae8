/*
 * A library whose two helpers are anonymous: the test build removes
 * their symbols (objcopy --strip-symbol), as a distribution's stripped
 * library has none for its static functions, and keeps the DWARF, so
 * that the report still names their lines.
 *
 * One allocation site, reached three ways:
 * - anonymous_xmalloc, a wrapper (ALLOCINFO_WRAPPERS), through both
 *   helpers: they are seen through on the way to it, and its caller is
 *   charged;
 * - anonymous_plain, a function of its own, through both helpers: no
 *   wrapper follows them, and the site in anonymous_leaf keeps its own
 *   tag;
 * - anonymous_direct, a function of its own, calling anonymous_leaf
 *   itself: the same.
 */
#include <stddef.h>
#include <stdlib.h>

void *anonymous_xmalloc(size_t n);
void *anonymous_plain(size_t n);
void *anonymous_direct(size_t n);

static __attribute__((noinline)) void *anonymous_leaf(size_t n)
{
	return malloc(n); /* EXPECT: 380 5 [libanonymous.so] func:anonymous_leaf */
}

static __attribute__((noinline)) void *anonymous_middle(size_t n)
{
	return anonymous_leaf(n);
}

void *anonymous_xmalloc(size_t n)
{
	return anonymous_middle(n);
}

void *anonymous_plain(size_t n)
{
	return anonymous_middle(n);
}

void *anonymous_direct(size_t n)
{
	return anonymous_leaf(n);
}

/*
 * A stripped library's allocator as sqlite3's is: an anonymous helper
 * that calls malloc, behind an exported wrapper (sqlite3Malloc and the
 * static function it calls), whose callers are charged sites of the
 * program, anonymous functions of the library, or the helper's own
 * direct callers.  The test build removes the static functions'
 * symbols (objcopy --strip-symbol) and keeps the DWARF, so that the
 * report still names their lines; it is built -O2 without sibling
 * calls, so that every function keeps a frame of its own as the
 * compiler lays it out.
 *
 * The rule (core/callsite.c) charges:
 * - helper_xmalloc's allocations (a wrapper, ALLOCINFO_WRAPPERS) to
 *   its caller: the helper is seen through on the way to it;
 * - helper_outer_xmalloc's (another wrapper) to its caller, past the
 *   anonymous helper_inner and helper_xmalloc;
 * - helper_own's (code of its own) to helper_inner's call, the first
 *   frame not seen through: the run of anonymous frames that starts
 *   there meets code of its own;
 * - helper_direct's (code of its own, calling the helper itself) to
 *   the helper's site.
 */
#include <stddef.h>
#include <stdlib.h>

void *helper_xmalloc(size_t n);
void *helper_outer_xmalloc(size_t n);
void *helper_own(size_t n);
void *helper_direct(size_t n);

static __attribute__((noinline)) void *helper_alloc(size_t n)
{
	return malloc(n); /* EXPECT: 3840 80 [libhelper.so] func:helper_alloc */
}

void *helper_xmalloc(size_t n)
{
	return helper_alloc(n);
}

static __attribute__((noinline)) void *helper_inner(size_t n)
{
	return helper_xmalloc(n); /* EXPECT: 2560 80 [libhelper.so] func:helper_inner */
}

void *helper_outer_xmalloc(size_t n)
{
	return helper_inner(n);
}

void *helper_own(size_t n)
{
	return helper_inner(n);
}

void *helper_direct(size_t n)
{
	return helper_alloc(n);
}

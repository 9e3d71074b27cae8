/*
 * jemalloc's fork handlers, registered by the library in jemalloc's
 * place, to do what glibc's malloc does.
 *
 * jemalloc registers handlers (pthread_atfork, which is glibc's
 * __register_atfork) that take every lock of its own before a fork and
 * release them after, in every process.  glibc's malloc takes its locks
 * only in a process with threads: a single-threaded process may fork in
 * a signal handler that interrupted malloc (fork is async-signal-safe),
 * and never waits.  Under jemalloc that fork waits for ever for a lock
 * the interrupted call holds.  Under the profiler it is far likelier,
 * since a site's first sight runs inside the program's malloc and
 * allocates: tests/programs/fork_unwind.c's "signal" hung in 1 run of
 * 150 on jemalloc's locks.
 *
 * So jemalloc's three handlers are kept here and wrapped: in a
 * single-threaded process (glibc's __libc_single_threaded, which stays
 * false once a thread was made) they do nothing.  No other thread can
 * hold a lock of jemalloc's there, and one that this thread holds is
 * released by the call the signal interrupted, in the parent and in the
 * child alike; the child's jemalloc is the parent's, as it is under
 * glibc's malloc.  With threads, jemalloc's handlers run as they would.
 *
 * Every other registration goes to glibc's __register_atfork unchanged,
 * with its DSO handle (glibc drops a library's handlers when it is
 * unloaded).  jemalloc registers from its initialisation, which may come
 * before the library's constructor: the real function is looked up on
 * first use.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/single_threaded.h>

#include "core/mmap.h"
#include "preload/export.h"

typedef void fork_handler(void);
typedef int register_atfork_fn(fork_handler *prepare, fork_handler *parent,
			       fork_handler *child, void *dso_handle);

static fork_handler *jemalloc_prepare, *jemalloc_parent, *jemalloc_child;
/* Set by the prepare handler for its parent and child handlers, in the
 * thread that forks. */
static __thread bool jemalloc_skipped;

static void prepare_as_glibc(void)
{
	jemalloc_skipped = __libc_single_threaded;
	if (!jemalloc_skipped)
		jemalloc_prepare();
}

static void parent_as_glibc(void)
{
	if (!jemalloc_skipped)
		jemalloc_parent();
}

static void child_as_glibc(void)
{
	if (!jemalloc_skipped)
		jemalloc_child();
}

static register_atfork_fn *glibc_register_atfork(void)
{
	static register_atfork_fn *real;

	if (!real) {
		int saved_errno = errno;

		*(void **)&real = dlvsym(RTLD_NEXT, "__register_atfork", "GLIBC_2.3.2");
		if (!real)
			*(void **)&real = dlsym(RTLD_NEXT, "__register_atfork");
		errno = saved_errno;
	}
	return real;
}

EXPORT int __register_atfork(fork_handler *prepare, fork_handler *parent,
			     fork_handler *child, void *dso_handle)
{
	register_atfork_fn *real = glibc_register_atfork();

	if (!real)
		return ENOMEM;
	/* jemalloc's, once, with all three (its own call always has). */
	if (!jemalloc_prepare && prepare && parent && child &&
	    core_allocator_code_contains((uintptr_t)__builtin_return_address(0))) {
		jemalloc_prepare = prepare;
		jemalloc_parent = parent;
		jemalloc_child = child;
		return real(prepare_as_glibc, parent_as_glibc, child_as_glibc, dso_handle);
	}
	return real(prepare, parent, child, dso_handle);
}

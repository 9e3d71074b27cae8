/*
 * The profiler's own scope on this thread.
 *
 * Code of the profiler that calls into other libraries (libdw, libc's
 * stdio, dl_iterate_phdr, ...) cannot pass alloc flags to the mallocs
 * those libraries make.  It brackets such calls with
 * core_internal_enter()/core_internal_leave(); every allocation the
 * thread makes in between is treated as ALLOC_NO_CODETAG.  This keeps the
 * one rule intact: the profiler's memory is never the program's and
 * never recurses into call-site capture.
 */
#ifndef ALLOCINFO_CORE_INTERNAL_SCOPE_H
#define ALLOCINFO_CORE_INTERNAL_SCOPE_H

#include "core/thread.h"

static inline void core_internal_enter(void)
{
	if (core_thread.internal_depth++ == 0)
		core_thread.allocator_state |= CORE_INTERNAL_SCOPE;
}

static inline void core_internal_leave(void)
{
	if (--core_thread.internal_depth == 0)
		core_thread.allocator_state &= ~CORE_INTERNAL_SCOPE;
}

static inline int core_in_internal_scope(void)
{
	return core_thread.internal_depth != 0;
}

/*
 * Inside the allocator on this thread.
 *
 * jemalloc's thread cache and our per-thread counters are not
 * reentrant: a signal handler that allocates while this thread is in the
 * middle of core_alloc or core_free would corrupt them.  The core counts
 * its depth here; a fatal-signal handler that finds it non-zero defers
 * its work with core_defer_signal(), and the core runs the deferred
 * handler as the thread leaves the allocator.  The fast path pays one
 * add and one subtract-and-test on a thread-local word.
 */
void core_run_deferred_signal(void);

static inline void core_allocator_enter(void)
{
	core_thread.allocator_state++;
}

static inline void core_allocator_leave(void)
{
	unsigned int state = --core_thread.allocator_state;

	if (__builtin_expect(state & CORE_DEFERRED_SIGNAL, 0) &&
	    !(state & CORE_DEPTH_MASK))
		core_run_deferred_signal();
}

static inline int core_in_allocator(void)
{
	return (core_thread.allocator_state & CORE_DEPTH_MASK) != 0;
}

/* From a signal handler that found core_in_allocator(): @sig's handler,
 * @deferred_handler, runs when this thread leaves the allocator. */
void core_defer_signal(int sig, void (*deferred_handler)(int));

#endif

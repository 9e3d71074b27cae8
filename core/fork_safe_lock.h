/*
 * Locks that fork's handlers take (preload/lifecycle.c: prefork), held
 * with the thread's signals blocked.
 *
 * fork is async-signal-safe: a handler of the program's may fork while
 * its thread takes or holds such a lock, and the fork handler's wait for
 * it never ends (tests/programs/fork_unwind.c, "mmap").  With the
 * thread's signals blocked from before the lock is taken until after it
 * is let go, no handler runs on that thread meanwhile, and another
 * thread's fork waits for the lock as it must.  Two system calls a
 * hold: for locks held around system calls, or rarely.
 */
#ifndef ALLOCINFO_CORE_FORK_SAFE_LOCK_H
#define ALLOCINFO_CORE_FORK_SAFE_LOCK_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

struct fork_safe_hold {
	sigset_t saved;		/* the thread's mask before the lock */
};

static inline void fork_safe_lock(pthread_mutex_t *lock, struct fork_safe_hold *hold)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &hold->saved);
	pthread_mutex_lock(lock);
}

/* fork_safe_lock where the lock is free; false, with the mask as it
 * was, where it is held. */
static inline bool fork_safe_trylock(pthread_mutex_t *lock, struct fork_safe_hold *hold)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &hold->saved);
	if (pthread_mutex_trylock(lock) == 0)
		return true;
	pthread_sigmask(SIG_SETMASK, &hold->saved, NULL);
	return false;
}

static inline void fork_safe_unlock(pthread_mutex_t *lock, const struct fork_safe_hold *hold)
{
	pthread_mutex_unlock(lock);
	pthread_sigmask(SIG_SETMASK, &hold->saved, NULL);
}

#endif

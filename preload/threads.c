/*
 * pthread_create: the profiler's unwinder is loaded before the process
 * has a second thread.
 *
 * core/callsite.c loads libunwind on first need, from inside an
 * allocation, and that is safe only while the process has one thread
 * (a dlopen there, with another thread holding the loader's lock and
 * waiting for a lock the allocating thread holds, would never return).
 * So the last moment it is still single-threaded, here, the unwinder
 * is loaded if it is not yet: a multi-threaded process always has it.
 * The profiler's own thread (ALLOCINFO_INTERVAL's) is made here too.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#include "core/callsite.h"
#include "core/internal_scope.h"
#include "preload/export.h"

typedef int pthread_create_fn(pthread_t *, const pthread_attr_t *,
			      void *(*)(void *), void *);

static pthread_create_fn *real_pthread_create;

EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			  void *(*start)(void *), void *arg)
{
	pthread_create_fn *real = __atomic_load_n(&real_pthread_create,
						  __ATOMIC_ACQUIRE);

	if (!real) {
		core_internal_enter();
		real = (pthread_create_fn *)dlsym(RTLD_NEXT, "pthread_create");
		core_internal_leave();
		__atomic_store_n(&real_pthread_create, real, __ATOMIC_RELEASE);
	}
	if (!real)
		return EAGAIN;
	callsite_load_unwinder();
	return real(thread, attr, start, arg);
}

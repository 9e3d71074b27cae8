/*
 * When the profiler's unwinder (libunwind) is loaded: it prints whether
 * libunwind is mapped ("unwinder: yes" or "no") before and after each
 * step, and the test says when it must be (core/callsite.c loads it on
 * first need, before a second thread, before a dlopen).
 *
 *   unwinder_lazy strdup   three strdup calls at one line: a wrapper
 *                          site, whose caller the first run measures
 *                          with the unwinder and a later one knows
 *   unwinder_lazy thread   the same, then a thread that calls strdup
 *   unwinder_lazy dlopen   the same, then a dlopen, and errno after it
 *
 * The state is read from /proc/self/maps (unwinder_state.h): the check
 * allocates nothing.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "unwinder_state.h"

static void say(const char *when)
{
	printf("%s: unwinder: %s\n", when, unwinder_mapped());
	fflush(stdout);
}

static char *names[4];

static void *thread_main(void *arg)
{
	(void)arg;
	say("in the thread");
	names[3] = strdup("a name from the thread"); /* EXPECT: none */ /* EXPECT(thread): 23 1 */
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "strdup";
	char *own;

	say("start");
	own = malloc(100); /* EXPECT: 100 1 */
	CHECK(own != NULL, "malloc failed");
	for (int i = 0; i < 3; i++)
		names[i] = strdup("a name of 20 bytes."); /* EXPECT: 60 3 */
	say("after strdup");
	if (!strcmp(mode, "thread")) {
		pthread_t thread;

		CHECK(pthread_create(&thread, NULL, thread_main, NULL) == 0,
		      "pthread_create failed");
		CHECK(pthread_join(thread, NULL) == 0, "pthread_join failed");
		CHECK(names[3] != NULL, "strdup in the thread failed");
	} else if (!strcmp(mode, "dlopen")) {
		void *lib;

		/* A dlopen that succeeds leaves errno as it was, the
		 * profiler's load of libunwind before it included. */
		errno = 1234;
		lib = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
		printf("errno after dlopen: %d\n", errno);
		CHECK(lib != NULL, "dlopen libz.so.1: %s", dlerror());
		say("after dlopen");
	}
	return CHECK_STATUS();
}

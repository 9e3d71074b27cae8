/*
 * Forks while threads unwind: three threads allocate through a wrapper
 * (xmalloc) from 400 callers, whose first allocations the profiler
 * charges by unwinding (ALLOCINFO_DEPTH=4 unwinds most), while the main
 * thread forks FORKS children that do the same and exit.  A child
 * copied while another thread was inside libunwind inherits its locks
 * held and hangs (core/callsite.c: callsite_prefork).  Run by
 * bench/fork_stress.sh; exits 0 when every child exited 0.
 *
 *   gcc -O1 -fno-omit-frame-pointer -pthread -o fork_unwind fork_unwind.c
 *   ./fork_unwind [FORKS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		abort();
	return p;
}

/* 400 callers, f100 to f499, each a call site of its own. */
#define CALLER(i) \
	__attribute__((noinline)) static void *f##i(void) { return xmalloc(i); }
#define CALLERS10(i) CALLER(i##0) CALLER(i##1) CALLER(i##2) CALLER(i##3) CALLER(i##4) \
	CALLER(i##5) CALLER(i##6) CALLER(i##7) CALLER(i##8) CALLER(i##9)
#define CALLERS100(i) CALLERS10(i##0) CALLERS10(i##1) CALLERS10(i##2) CALLERS10(i##3) \
	CALLERS10(i##4) CALLERS10(i##5) CALLERS10(i##6) CALLERS10(i##7) CALLERS10(i##8) \
	CALLERS10(i##9)
CALLERS100(1) CALLERS100(2) CALLERS100(3) CALLERS100(4)

#define NAME(i) f##i,
#define NAMES10(i) NAME(i##0) NAME(i##1) NAME(i##2) NAME(i##3) NAME(i##4) \
	NAME(i##5) NAME(i##6) NAME(i##7) NAME(i##8) NAME(i##9)
#define NAMES100(i) NAMES10(i##0) NAMES10(i##1) NAMES10(i##2) NAMES10(i##3) \
	NAMES10(i##4) NAMES10(i##5) NAMES10(i##6) NAMES10(i##7) NAMES10(i##8) \
	NAMES10(i##9)
static void *(*const callers[])(void) = { NAMES100(1) NAMES100(2) NAMES100(3) NAMES100(4) };
#define NCALLERS (sizeof(callers) / sizeof(callers[0]))

static volatile int stop;

static void *churn(void *arg)
{
	size_t first = (size_t)arg * 97;

	for (int round = 0; !stop && round < 50; round++)
		for (size_t i = 0; i < NCALLERS; i++)
			free(callers[(i + first) % NCALLERS]());
	return NULL;
}

int main(int argc, char **argv)
{
	int forks = argc > 1 ? atoi(argv[1]) : 300;
	pthread_t threads[3];

	for (long i = 0; i < 3; i++)
		pthread_create(&threads[i], NULL, churn, (void *)i);
	for (int k = 0; k < forks; k++) {
		pid_t child = fork();
		int status;

		if (child == 0) {
			for (size_t i = 0; i < NCALLERS; i++)
				free(callers[(i * 7 + (size_t)k) % NCALLERS]());
			_exit(0);
		}
		if (child < 0 || waitpid(child, &status, 0) != child ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			printf("fork %d: the child failed\n", k);
			return 1;
		}
	}
	stop = 1;
	for (int i = 0; i < 3; i++)
		pthread_join(threads[i], NULL);
	printf("%d children\n", forks);
	return 0;
}

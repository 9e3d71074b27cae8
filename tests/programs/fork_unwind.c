/*
 * fork while the profiler unwinds, two ways:
 *
 * - "threads [FORKS]": three threads allocate through a wrapper
 *   (xmalloc) from 400 callers, whose first allocations the profiler
 *   charges by unwinding (ALLOCINFO_DEPTH=4 unwinds most), while the
 *   main thread forks FORKS (300) children that do the same and exit.
 *   A child copied while another thread was inside libunwind inherits
 *   its locks held and hangs, unless fork waits for the unwinder
 *   (core/callsite.c: callsite_prefork).  A race: bench/fork_stress.sh
 *   runs it many times.
 * - "signal": one thread allocates so, and a profiling timer's handler
 *   forks a child that exits at once: a fork made inside an unwind that
 *   the signal interrupted, or inside malloc.  The fork must not wait
 *   for the thread that makes it (with 15bfd64's wait it hung in every
 *   run).  (Its children call _exit, so no fork here makes the
 *   symbolizer ready for them: tests/programs/forks.c's "handler"
 *   checks that a fork in a handler does not.)  The thread allocates
 *   until the handler has forked HANDLER_FORKS times: twenty rounds over
 *   the callers took less CPU time than the timer's first period in
 *   most runs, and no fork was made at all.
 * - "mmap": the same handler, while the thread maps, touches and unmaps
 *   4 MiB over and over: a fork made inside the program's own munmap,
 *   which the page map's lock guards (core/page_map.c).  Natively fork
 *   is async-signal-safe there; before page_map_prefork left a lock
 *   this thread holds alone, the fork waited for itself.
 *
 * Exits 0 when every child exited 0, printing "done".
 *
 *   gcc -O1 -fno-omit-frame-pointer -pthread -o fork_unwind fork_unwind.c
 *   ./fork_unwind threads [FORKS] | ./fork_unwind signal | ./fork_unwind mmap
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
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

static int fork_with_threads(int forks)
{
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
	return 0;
}

static volatile sig_atomic_t handler_failed, handler_forks;

/* Forks the "signal" and "mmap" modes wait for, and the rounds they
 * give up after (each a few hundred microseconds of CPU time, where
 * the timer fires every 200). */
#define HANDLER_FORKS 20
#define HANDLER_ROUNDS_MAX 100000

/* fork, waitpid and _exit are async-signal-safe. */
static void fork_in_handler(int sig)
{
	int saved_errno = errno, status;
	pid_t child;

	(void)sig;
	child = fork();
	if (child == 0)
		_exit(0);
	handler_forks++;
	if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		handler_failed = 1;
	errno = saved_errno;
}

/* Maps, touches and unmaps 4 MiB, @rounds times and until the
 * handler has forked HANDLER_FORKS times; 1 if a call failed. */
static int map_and_unmap(int rounds)
{
	const size_t len = 4u << 20;

	for (int round = 0; round < HANDLER_ROUNDS_MAX &&
	     (round < rounds || handler_forks < HANDLER_FORKS); round++) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 1;
		for (size_t off = 0; off < len; off += 4096)
			p[off] = 1;
		if (munmap(p, len) != 0)
			return 1;
	}
	return 0;
}

static int fork_from_signal_handler(int mmaps)
{
	struct sigaction act;
	struct itimerval every = { { 0, 200 }, { 0, 200 } }, off = { { 0, 0 }, { 0, 0 } };
	int failed = 0;

	memset(&act, 0, sizeof(act));
	act.sa_handler = fork_in_handler;
	act.sa_flags = SA_RESTART;
	sigemptyset(&act.sa_mask);
	sigaction(SIGPROF, &act, NULL);
	setitimer(ITIMER_PROF, &every, NULL);
	if (mmaps)
		failed = map_and_unmap(400);
	else
		for (int round = 0; round < HANDLER_ROUNDS_MAX &&
		     (round < 20 || handler_forks < HANDLER_FORKS); round++)
			for (size_t i = 0; i < NCALLERS; i++)
				free(callers[i]());
	setitimer(ITIMER_PROF, &off, NULL);
	if (failed)
		printf("mmap or munmap failed\n");
	if (handler_failed)
		printf("a child forked in the handler failed\n");
	if (handler_forks < HANDLER_FORKS)
		printf("the handler forked %d times, not %d\n", (int)handler_forks,
		       HANDLER_FORKS);
	return handler_failed || failed || handler_forks < HANDLER_FORKS;
}

int main(int argc, char **argv)
{
	int failed;

	if (argc > 1 && !strcmp(argv[1], "signal"))
		failed = fork_from_signal_handler(0);
	else if (argc > 1 && !strcmp(argv[1], "mmap"))
		failed = fork_from_signal_handler(1);
	else if (argc > 1 && !strcmp(argv[1], "threads"))
		failed = fork_with_threads(argc > 2 ? atoi(argv[2]) : 300);
	else {
		fprintf(stderr, "usage: fork_unwind threads [FORKS] | fork_unwind signal | "
			"fork_unwind mmap\n");
		return 2;
	}
	if (!failed)
		printf("done\n");
	return failed;
}

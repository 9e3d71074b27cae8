/*
 * Deaths by signal (see tests/lib.sh for the EXPECT markers).
 *
 * usage: crash MODE [FILE]
 * Every mode first checks what the program sees of signals, then
 * allocates at the sites marked below, then:
 *   segv      writes through a null pointer
 *   abort     calls abort()
 *   fpe       divides an integer by zero
 *   ill       executes an illegal instruction (__builtin_trap)
 *   bus       reads a page of FILE's mapping after truncating FILE
 *   term      raises SIGTERM
 *   overflow  recurses until the stack overflows
 *   handler   installs a SIGSEGV handler with sigaction (SA_SIGINFO) and
 *             writes through a null pointer; the handler prints what it
 *             sees (signal, si_code, si_addr, errno, mask) and _exits 7
 *   signal    the same with a handler installed by signal()
 *   busy      8 threads allocate and map without pause; the main thread
 *             blocks SIGTERM, says "ready PID" and waits on stdin, so a
 *             SIGTERM sent to the process lands on an allocating thread
 *   spin      the same with 2 threads that do nothing but replace one of
 *             their 64 live 16-byte blocks after another, so a SIGTERM
 *             lands in malloc's and free's fast paths or in jemalloc
 *             (the spin site has 64 blocks live, or 63 between a free
 *             and its malloc)
 *   forks     says "ready PID", then forks children that exit at once,
 *             one after the other, so a SIGTERM sent to the process
 *             often lands while fork holds its handlers' locks
 *
 * What every mode checks first: the fatal signals' dispositions are the
 * default (sigaction(sig, NULL, &old)), no signal is blocked, SIG_IGN
 * for SIGTERM really ignores it and setting the default back returns
 * SIG_IGN, a handler set with sigaction reads back as set, and the
 * allocation calls leave errno and the signal mask alone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define PAGE 4096

static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTERM };
#define NFATAL (sizeof(fatal) / sizeof(fatal[0]))

static volatile int zero, seven = 7;
static int *volatile null_pointer;

static void no_signal_blocked(const char *when)
{
	sigset_t mask;

	CHECK(sigprocmask(SIG_BLOCK, NULL, &mask) == 0, "sigprocmask failed");
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != 32 && sig != 33) /* glibc's own */
			CHECK(!sigismember(&mask, sig), "signal %d is blocked %s", sig, when);
}

static void unused_handler(int sig)
{
	(void)sig;
}

static void check_dispositions(void)
{
	struct sigaction old, act;

	for (size_t i = 0; i < NFATAL; i++) {
		CHECK(sigaction(fatal[i], NULL, &old) == 0, "sigaction(%d) failed", fatal[i]);
		CHECK(old.sa_handler == SIG_DFL && old.sa_flags == 0,
		      "signal %d: handler %p, flags 0x%x; expected the default",
		      fatal[i], (void *)old.sa_handler, (unsigned)old.sa_flags);
	}
	no_signal_blocked("at start");

	/* SIG_IGN ignores for real; the default comes back. */
	CHECK(signal(SIGTERM, SIG_IGN) == SIG_DFL, "signal(SIGTERM, SIG_IGN) did not return SIG_DFL");
	raise(SIGTERM);
	CHECK(signal(SIGTERM, SIG_DFL) == SIG_IGN, "signal(SIGTERM, SIG_DFL) did not return SIG_IGN");

	/* A handler reads back as set, and the default after it. */
	memset(&act, 0, sizeof(act));
	act.sa_handler = unused_handler;
	act.sa_flags = SA_RESTART;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, SIGUSR2);
	CHECK(sigaction(SIGFPE, &act, &old) == 0 && old.sa_handler == SIG_DFL,
	      "sigaction(SIGFPE, handler) did not return the default");
	CHECK(sigaction(SIGFPE, NULL, &old) == 0 && old.sa_handler == unused_handler &&
	      (old.sa_flags & SA_RESTART) && sigismember(&old.sa_mask, SIGUSR2),
	      "sigaction(SIGFPE) does not read back the handler set");
	act.sa_handler = SIG_DFL;
	act.sa_flags = 0;
	sigemptyset(&act.sa_mask);
	CHECK(sigaction(SIGFPE, &act, &old) == 0 && old.sa_handler == unused_handler,
	      "sigaction(SIGFPE, SIG_DFL) did not return the handler");
	CHECK(sigaction(SIGFPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL,
	      "sigaction(SIGFPE) does not read back the default");
}

static void allocate(void)
{
	char *p, *m;

	errno = 1234;
	p = malloc(4242); /* EXPECT: 4242 1 */
	m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* EXPECT: 4096 1 */
	free(malloc(100)); /* EXPECT: 0 0 */
	CHECK(p != NULL && m != MAP_FAILED, "allocation failed");
	CHECK(errno == 1234, "allocation calls changed errno to %d", errno);
	no_signal_blocked("after allocating");
	if (p)
		memset(p, 1, 4242);
}

/* ---- the program's own SIGSEGV handler */

static void report_from_handler(int sig, int code, void *addr)
{
	sigset_t mask;
	char line[256];
	int n;

	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	n = snprintf(line, sizeof(line),
		     "caught signal %d code %d addr %p errno %d; blocked: SIGSEGV %d SIGUSR2 %d SIGUSR1 %d\n",
		     sig, code, addr, errno, sigismember(&mask, SIGSEGV),
		     sigismember(&mask, SIGUSR2), sigismember(&mask, SIGUSR1));
	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		_exit(8);
	_exit(7);
}

static void siginfo_handler(int sig, siginfo_t *info, void *context)
{
	(void)context;
	report_from_handler(sig, info->si_code, info->si_addr);
}

static void plain_handler(int sig)
{
	report_from_handler(sig, -1, NULL);
}

static void install_handler(int use_signal)
{
	struct sigaction act, old;

	if (use_signal) {
		CHECK(signal(SIGSEGV, plain_handler) == SIG_DFL, "signal(SIGSEGV) did not return SIG_DFL");
		CHECK(sigaction(SIGSEGV, NULL, &old) == 0 && old.sa_handler == plain_handler,
		      "sigaction(SIGSEGV) does not read back the handler set by signal()");
		return;
	}
	memset(&act, 0, sizeof(act));
	act.sa_sigaction = siginfo_handler;
	act.sa_flags = SA_SIGINFO;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, SIGUSR2);
	CHECK(sigaction(SIGSEGV, &act, &old) == 0 && old.sa_handler == SIG_DFL,
	      "sigaction(SIGSEGV, handler) did not return the default");
	CHECK(sigaction(SIGSEGV, NULL, &old) == 0 && old.sa_sigaction == siginfo_handler &&
	      (old.sa_flags & SA_SIGINFO),
	      "sigaction(SIGSEGV) does not read back the handler set");
}

/* ---- deaths */

static int recurse(int depth)
{
	volatile char pad[4096];

	pad[0] = (char)depth;
	if (zero)
		return 0;
	return recurse(depth + 1) + pad[0];
}

static void bus_error(const char *path)
{
	volatile char *p;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0 && ftruncate(fd, PAGE) == 0, "cannot make %s a page long", path);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0); /* EXPECT: none */
	CHECK(p != MAP_FAILED && ftruncate(fd, 0) == 0, "cannot map and truncate %s", path);
	if (check_failures)
		exit(CHECK_STATUS());
	(void)p[0];
}

static _Atomic int busy_started;

static void *busy_thread(void *arg)
{
	(void)arg;
	busy_started++;
	for (;;) {
		char *p = malloc(64); /* EXPECT: none */
		char *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* EXPECT: none */

		free(p);
		if (m != MAP_FAILED)
			munmap(m, PAGE); /* EXPECT: none */
	}
	return NULL;
}

#define SPIN_LIVE 64

static void *spin_thread(void *arg)
{
	char *live[SPIN_LIVE] = { NULL };
	bool counted = false;

	(void)arg;
	for (unsigned int i = 0;; i = (i + 1) % SPIN_LIVE) {
		free(live[i]);
		live[i] = malloc(16); /* SPIN */
		if (!counted && i == SPIN_LIVE - 1) {
			counted = true;
			busy_started++;
		}
	}
	return NULL;
}

/* Starts @n threads of @run, which count themselves in busy_started once
 * they run, and waits for SIGTERM. */
static void wait_for_sigterm(void *(*run)(void *), int n_threads)
{
	pthread_t thread;
	sigset_t term;
	char c, line[32];
	int n;

	for (int i = 0; i < n_threads; i++)
		CHECK(pthread_create(&thread, NULL, run, NULL) == 0, "pthread_create failed");
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	while (busy_started < n_threads)
		sched_yield();
	if (check_failures)
		exit(CHECK_STATUS());
	n = snprintf(line, sizeof(line), "ready %d\n", (int)getpid());
	CHECK(write(STDOUT_FILENO, line, (size_t)n) == n, "write failed");
	CHECK(read(STDIN_FILENO, &c, 1) >= 0, "read failed");
	CHECK(0, "stdin was closed before SIGTERM came");
}

static void fork_until_sigterm(void)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "ready %d\n", (int)getpid());

	CHECK(write(STDOUT_FILENO, line, (size_t)n) == n, "write failed");
	for (;;) {
		pid_t child = fork();

		if (child == 0)
			_exit(0);
		CHECK(child > 0, "fork failed");
		if (child < 0 || waitpid(child, NULL, 0) != child)
			exit(CHECK_STATUS());
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	check_dispositions();
	allocate();
	if (check_failures)
		return CHECK_STATUS();

	if (!strcmp(mode, "segv")) {
		*null_pointer = 1;
	} else if (!strcmp(mode, "abort")) {
		abort();
	} else if (!strcmp(mode, "fpe")) {
		return seven / zero;
	} else if (!strcmp(mode, "ill")) {
		__builtin_trap();
	} else if (!strcmp(mode, "bus") && argc == 3) {
		bus_error(argv[2]);
	} else if (!strcmp(mode, "term")) {
		raise(SIGTERM);
	} else if (!strcmp(mode, "overflow")) {
		return recurse(0);
	} else if (!strcmp(mode, "handler") || !strcmp(mode, "signal")) {
		install_handler(!strcmp(mode, "signal"));
		errno = 4321;
		*null_pointer = 1;
	} else if (!strcmp(mode, "busy")) {
		wait_for_sigterm(busy_thread, 8);
	} else if (!strcmp(mode, "spin")) {
		wait_for_sigterm(spin_thread, 2);
	} else if (!strcmp(mode, "forks")) {
		fork_until_sigterm();
	} else {
		CHECK(0, "usage: crash segv|abort|fpe|ill|bus FILE|term|overflow|handler|signal|busy|spin|forks");
		return CHECK_STATUS();
	}
	CHECK(0, "mode %s did not end the program", mode);
	return CHECK_STATUS();
}

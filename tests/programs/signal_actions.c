/*
 * What sigaction() reports for the signals the profiler keeps a handler
 * of its own on (preload/signals.c: SIGSEGV, SIGBUS, SIGABRT, SIGFPE,
 * SIGILL, SIGTERM), which must be what glibc reports without it.  For
 * each: the action at start; after a one-shot handler (sysv_signal,
 * then SA_RESETHAND by sigaction) has run once, when the kernel has
 * reset it to SIG_DFL; after the program sets SIG_DFL itself; and the
 * action a program that saved the reset one and put it back has.
 * Printed as the handler's kind, the flags and whether a restorer is
 * set; the test compares the lines with the native run.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static const int watched[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTERM };
static volatile sig_atomic_t hits;

static void count(int sig)
{
	(void)sig;
	hits++;
}

static void show(int sig, const char *when)
{
	struct sigaction now;
	const char *kind;

	CHECK(sigaction(sig, NULL, &now) == 0, "sigaction(%d) query", sig);
	if (now.sa_handler == SIG_DFL)
		kind = "default";
	else if (now.sa_handler == SIG_IGN)
		kind = "ignored";
	else if (now.sa_handler == count)
		kind = "count";
	else
		kind = "another";
	printf("%s %s: %s flags=%#x restorer=%s\n", strsignal(sig), when, kind,
	       (unsigned int)now.sa_flags, now.sa_restorer ? "set" : "none");
}

int main(void)
{
	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++) {
		int sig = watched[i];
		struct sigaction once, saved, ignore;

		show(sig, "at start");
		CHECK(sysv_signal(sig, count) != SIG_ERR, "sysv_signal(%d)", sig);
		show(sig, "sysv_signal set");
		raise(sig);
		show(sig, "sysv_signal ran");

		memset(&once, 0, sizeof(once));
		once.sa_handler = count;
		once.sa_flags = SA_RESETHAND;
		CHECK(sigaction(sig, &once, NULL) == 0, "SA_RESETHAND on %d", sig);
		raise(sig);
		show(sig, "SA_RESETHAND ran");
		/* Saved reset, put back: the default again, not the handler. */
		CHECK(sigaction(sig, NULL, &saved) == 0, "save %d", sig);
		memset(&ignore, 0, sizeof(ignore));
		ignore.sa_handler = SIG_IGN;
		CHECK(sigaction(sig, &ignore, NULL) == 0, "ignore %d", sig);
		CHECK(sigaction(sig, &saved, NULL) == 0, "restore %d", sig);
		show(sig, "saved and restored");

		CHECK(signal(sig, SIG_DFL) != SIG_ERR, "signal(%d, SIG_DFL)", sig);
		show(sig, "SIG_DFL set");
	}
	printf("handlers ran %d times\n", (int)hits);
	return CHECK_STATUS();
}

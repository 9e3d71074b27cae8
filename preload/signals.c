/*
 * The report on a fatal signal, without changing what the program sees.
 *
 * For SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL and SIGTERM whose
 * disposition is the default, a handler of ours writes the report, puts
 * the default back and lets the signal take its course: a fault returns
 * to the faulting instruction, which faults again and dumps core as
 * before; a sent signal is raised again, so the process dies by the same
 * signal with the same exit status.
 *
 * The program never sees that handler.  sigaction() and signal() are
 * interposed for these signals: while ours stands in for the default,
 * they return the default as the kernel kept it when the program set it
 * (read back at once: its flags, glibc's restorer); a handler or SIG_IGN
 * of the program's replaces ours for real, so its handler runs exactly
 * as it would without us, and queries then ask the kernel, which knows
 * when a one-shot handler has run.  Setting the default back brings ours
 * back.  Everything else passes straight to glibc.
 */
#include "preload/signals.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/internal_scope.h"
#include "core/self_read.h"
#include "preload/export.h"
#include "preload/lifecycle.h"

/* glibc's own, under its exported internal name. */
extern int __sigaction(int sig, const struct sigaction *act,
		       struct sigaction *old);

static const int fatal_signals[] = {
	SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTERM,
};

struct watched {
	bool watched;                /* ours may be installed for it */
	bool ours_installed;
	struct sigaction program;    /* what the program believes */
};

static struct watched watched[NSIG];
static atomic_bool active;
/* Where every handler installed through glibc returns to (its
 * SA_RESTORER), read back once ours is installed; NULL: not known. */
static void (*glibc_restorer)(void);

static bool is_watched(int sig)
{
	return atomic_load_explicit(&active, memory_order_acquire) &&
	       sig > 0 && sig < NSIG && watched[sig].watched;
}

/*
 * The default action comes back only after the report: a second signal
 * while it is written must find our handler, which waits for the report
 * in progress, not the default, which would end the process mid-write.
 */
static void restore_default(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	__sigaction(sig, &dfl, NULL);
	watched[sig].ours_installed = false;
}

/* Runs outside any signal handler: the signal arrived while this thread
 * was inside the allocator, and the core ran this on the way out. */
static void deferred_report_and_die(int sig)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	lifecycle_write_report(REPORT_AT_SIGNAL);
	restore_default(sig);
	raise(sig);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * A sent signal that landed in jemalloc's code, called from a fast path
 * (internal_scope.h): nothing runs when jemalloc returns, so the signal
 * is sent again, REDELIVERY_NS later, by a one-shot timer of the
 * kernel's, and the handler tries again.  jemalloc returns in
 * microseconds, unless it waits for a lock another thread holds; then
 * the timer is armed again.  Sending it at once would not do: it would
 * be delivered again before the thread ran a single instruction.  It is
 * sent to the process, as kill(2) sends: any thread that does not block
 * it takes it, so it is not lost if this one exits meanwhile, and the
 * process dies of it all the same.  The thread keeps its timer (an id of
 * the kernel's, and the signal it sends) until the process dies, which
 * is soon.
 */
#define REDELIVERY_NS 1000000
/* Sent again this many times, a tenth of a second, and still inside:
 * the allocator is not coming back (a lock another thread holds for
 * good), or the stack only looks as if it were inside (a stale return
 * address into jemalloc, core_stack_returns_to_allocator).  The signal
 * then takes its course without a report, said once on stderr: a
 * process that was told to end must end. */
#define REDELIVERY_MAX 100

struct redelivery {
	int timer;   /* -1: none yet */
	int sig;
	int count;   /* sent again so far */
};

static __thread struct redelivery redelivery = { .timer = -1 };

static void die_without_report(int sig)
{
	static const char msg[] = "allocinfo: a fatal signal kept landing inside the "
				  "allocator; no report\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		(void)0;
	restore_default(sig);
	raise(sig);
}

static bool send_again_later(int sig)
{
	struct itimerspec once = { .it_value = { .tv_nsec = REDELIVERY_NS } };
	struct sigevent event;
	int timer;

	if (redelivery.timer >= 0 && redelivery.sig != sig) {
		syscall(SYS_timer_delete, redelivery.timer);
		redelivery.timer = -1;
	}
	if (redelivery.timer < 0) {
		memset(&event, 0, sizeof(event));
		event.sigev_notify = SIGEV_SIGNAL;
		event.sigev_signo = sig;
		if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &event, &timer) != 0)
			return false;
		redelivery.timer = timer;
		redelivery.sig = sig;
	}
	return syscall(SYS_timer_settime, redelivery.timer, 0, &once, NULL) == 0;
}

static void report_and_die(int sig, siginfo_t *info, void *context)
{
	int saved_errno = errno;
	bool fault = info->si_code > 0 && sig != SIGABRT && sig != SIGTERM;
	enum core_landing where = core_interrupted_where(context);

	/* Interrupted inside the allocator, whose per-thread state and
	 * locks the report would need: a sent signal waits until the thread
	 * leaves it (the general functions run it on their way out; from
	 * jemalloc, it is sent again until it lands outside); a fault there
	 * (a corrupt heap) dies without a report. */
	if (where != CORE_LANDED_OUTSIDE) {
		if (fault)
			restore_default(sig);
		else if (where == CORE_LANDED_IN_CORE)
			core_defer_signal(sig, deferred_report_and_die);
		else if (++redelivery.count > REDELIVERY_MAX || !send_again_later(sig))
			die_without_report(sig);
		errno = saved_errno;
		return;
	}
	/* False only when this thread is writing a report already (it
	 * crashed doing so): the report in progress is lost, the last
	 * interval snapshot stands. */
	lifecycle_write_report(REPORT_AT_SIGNAL);
	restore_default(sig);
	errno = saved_errno;
	/* A fault from the CPU happens again on return, now with the
	 * default action; a signal that was sent is sent again.  It is
	 * blocked until this handler returns. */
	if (!fault)
		raise(sig);
}

static int install_ours(int sig)
{
	struct sigaction ours;

	memset(&ours, 0, sizeof(ours));
	ours.sa_sigaction = report_and_die;
	ours.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigfillset(&ours.sa_mask);
	if (__sigaction(sig, &ours, NULL) != 0)
		return -1;
	watched[sig].ours_installed = true;
	if (!glibc_restorer && __sigaction(sig, NULL, &ours) == 0)
		glibc_restorer = ours.sa_restorer;
	return 0;
}

bool signals_frame_above(const void *from, size_t bytes)
{
	uintptr_t words[512];
	const char *at = from;
	bool found = !glibc_restorer;

	/* Up to the stack's end, where the read stops. */
	while (!found && bytes >= sizeof(words)) {
		size_t got = core_self_read(words, at, sizeof(words));

		for (size_t i = 0; i < got / sizeof(words[0]); i++)
			found |= words[i] == (uintptr_t)glibc_restorer;
		if (got != sizeof(words))
			break;
		at += sizeof(words);
		bytes -= sizeof(words);
	}
	return found;
}

void signals_init(void)
{
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(*fatal_signals); i++) {
		int sig = fatal_signals[i];
		struct sigaction current;

		if (__sigaction(sig, NULL, &current) != 0)
			continue;
		watched[sig].program = current;
		watched[sig].watched = true;
		/* SIG_IGN inherited (nohup), or a handler set by an earlier
		 * constructor: the program's choice stands. */
		if (current.sa_handler == SIG_DFL && !(current.sa_flags & SA_SIGINFO))
			install_ours(sig);
	}
	atomic_store_explicit(&active, true, memory_order_release);
}

EXPORT int sigaction(int sig, const struct sigaction *act,
		     struct sigaction *old)
{
	struct watched *w;

	if (!is_watched(sig))
		return __sigaction(sig, act, old);
	w = &watched[sig];
	/* While the program's own action is installed, the kernel's is the
	 * truth: a one-shot handler (SA_RESETHAND, sysv_signal) is SIG_DFL
	 * once it has run, which a copy kept here would not say, and a
	 * program that saved and restored the copy re-armed a handler the
	 * kernel had reset. */
	if (old && (w->ours_installed || __sigaction(sig, NULL, old) != 0))
		*old = w->program;
	if (!act)
		return 0;
	if (act->sa_handler == SIG_DFL && !(act->sa_flags & SA_SIGINFO)) {
		struct sigaction as_kept;

		/* Set for a moment, and read back as the kernel keeps it
		 * (the flags it knows, glibc's SA_RESTORER and restorer),
		 * which is what the program's queries will be told while
		 * ours stands in for it. */
		if (__sigaction(sig, act, NULL) != 0)
			return -1;
		w->ours_installed = false;
		w->program = __sigaction(sig, NULL, &as_kept) == 0 ? as_kept : *act;
		/* Without ours the program's default stands: no report on
		 * this signal, and the program's call still succeeded. */
		(void)install_ours(sig);
		return 0;
	}
	if (__sigaction(sig, act, NULL) != 0)
		return -1;
	w->ours_installed = false;
	w->program = *act;
	return 0;
}

/* signal() and bsd_signal(): BSD semantics, as glibc's signal() has. */
static sighandler_t set_handler(int sig, sighandler_t handler, int flags)
{
	struct sigaction act, old;

	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = flags;
	sigemptyset(&act.sa_mask);
	if (!(flags & SA_NODEFER))
		sigaddset(&act.sa_mask, sig);
	if (sigaction(sig, &act, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}

EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	if (!is_watched(sig)) {
		struct sigaction act, old;

		if (handler == SIG_ERR || sig <= 0 || sig >= NSIG) {
			errno = EINVAL;
			return SIG_ERR;
		}
		memset(&act, 0, sizeof(act));
		act.sa_handler = handler;
		act.sa_flags = SA_RESTART;
		sigemptyset(&act.sa_mask);
		sigaddset(&act.sa_mask, sig);
		if (__sigaction(sig, &act, &old) != 0)
			return SIG_ERR;
		return old.sa_handler;
	}
	return set_handler(sig, handler, SA_RESTART);
}

EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return signal(sig, handler);
}

EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	if (handler == SIG_ERR || sig <= 0 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	return set_handler(sig, handler, SA_ONESHOT | SA_NOMASK | SA_INTERRUPT);
}

EXPORT sighandler_t __sysv_signal(int sig, sighandler_t handler)
{
	return sysv_signal(sig, handler);
}

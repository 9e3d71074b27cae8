/*
 * Start and end of a profiled process, and the reports in between.
 *
 * The constructor reads the options and ends the core's early window;
 * allocations before it (from the dynamic loader and from constructors
 * of libraries initialised before ours) are served and counted, and
 * their tags are marked accurate:no.  At exit, after the program's own
 * atexit handlers and C++ static destructors (registered after ours, so
 * run before), the report is written.  With ALLOCINFO_INTERVAL a
 * background thread rewrites it as it goes; on a fatal signal
 * (signals.c) it is written before the signal takes its course.
 *
 * Lock order, also at fork: report_lock, then the thread counters'
 * registry, then the page map's lock, then jemalloc's own locks (its
 * fork handlers were registered before ours, so they run after ours;
 * core/alloc.c).  Ours are held with the thread's signals blocked
 * (core/fork_safe_lock.h), so that a handler's fork never waits for
 * its own thread.
 * Before any of them, fork waits until no other thread is inside the
 * unwinder (callsite_prefork), which takes none of ours.
 */
#include "preload/lifecycle.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/alloc_tag.h"
#include "core/callsite.h"
#include "core/exit_arena.h"
#include "core/fork_safe_lock.h"
#include "core/internal_scope.h"
#include "core/mmap.h"
#include "core/page_map.h"
#include "core/profiler_stack.h"
#include "core/snapshot.h"
#include "preload/options.h"
#include "preload/process.h"
#include "preload/wrappers.h"
#include "preload/signals.h"
#include "report/symbolize.h"
#include "report/writer.h"

static struct allocinfo_options options;

/*
 * What a process's fork children tell it: how many of them wrote a
 * report at exit, with no exec before (a shell's command substitutions),
 * in a page shared with them, made at the process's first fork.  Until
 * one has, its forks make no symbolizer ready (prepare_for_children):
 * children that exec (make's, a compiler driver's, rustc's linker) never
 * use it, and the parent would keep it to its exit, its cached answers
 * counted in the profiler's memory (1.4 MiB more in rustc's report).
 */
struct fork_family {
	atomic_uint children_reported;
};

/* This process's children's, made by the first fork (two threads may
 * fork at once); in a fork child, its parent's. */
static struct fork_family *_Atomic own_family;
static struct fork_family *parent_family;
/* This process is a fork child (no exec since). */
static bool forked_here;
static struct timespec start_time;
static bool reports_enabled;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

/* On a stack of its own (core/profiler_stack.h), as all of the
 * report's work: the writer's frame alone is 12 KiB, and libdw's below
 * it more, where a thread on a 16 KiB stack that called exit() died of
 * SIGSEGV and left no report.  A fresh one of a default thread's size,
 * mapped for the report alone: how deep libdw goes depends on the
 * program's DWARF, and the report had the main thread's 8 MiB before. */
static void write_report_locked(void *report_reason)
{
	enum report_reason reason = *(const enum report_reason *)report_reason;
	struct report_meta meta = {
		.pid = getpid(),
		.start = start_time,
		.descendant = process_is_descendant(),
		.series = reason == REPORT_AT_INTERVAL,
		.other_malloc = core_program_has_other_malloc(),
		.at_exit = reason == REPORT_AT_EXIT,
	};
	struct snapshot snap;

	clock_gettime(CLOCK_REALTIME, &meta.end);
	if (snapshot_take(&snap) == 0) {
		report_write(options.output_template, &meta, &snap);
		snapshot_release(&snap);
	}
	if (reason == REPORT_AT_EXIT && parent_family)
		atomic_fetch_add_explicit(&parent_family->children_reported, 1,
					  memory_order_relaxed);
	/* After the report at exit: what the next run of these modules
	 * need not learn again (route_memory.h).  On the report's stack,
	 * not one mapped for it alone: a fork child that exits without an
	 * exec (a shell's command substitution) pays for each mapping,
	 * and for the page faults of its first touches, anew. */
	if (reason == REPORT_AT_EXIT)
		wrappers_remember();
}

/* The thread writing a report, so that a fatal signal on that very
 * thread does not wait for itself: abort() in the report's code (in
 * libdw, say), which unblocks SIGABRT itself.  A fault's signal finds
 * the signals blocked (fork_safe_lock) and kills at once. */
static _Atomic pid_t report_writer;
static atomic_bool signal_report_written;

bool lifecycle_write_report(enum report_reason reason)
{
	int saved_errno = errno;
	struct fork_safe_hold hold;
	pid_t self = gettid();

	if (!reports_enabled)
		return false;
	/* A fatal signal on the thread that is writing: the interval
	 * snapshot stands.  On another thread: wait for that report, so
	 * the process does not die in the middle of it. */
	if (reason == REPORT_AT_SIGNAL && atomic_load(&report_writer) == self)
		return false;
	core_internal_enter();
	/* Fork-safe (core/fork_safe_lock.h): a signal that comes while the
	 * report is written (at exit, in the handler of another one) waits
	 * for its end. */
	fork_safe_lock(&report_lock, &hold);
	atomic_store(&report_writer, self);
	/* A fork child's last report takes its memory from an arena that
	 * is never given back (core/exit_arena.h); an interval's, and any
	 * other process's, from jemalloc. */
	if (reason != REPORT_AT_INTERVAL && forked_here)
		exit_arena_begin();
	/* Two threads killed by one signal each: one report is enough. */
	if (reason != REPORT_AT_SIGNAL || !atomic_exchange(&signal_report_written, true))
		profiler_stack_run_fresh(write_report_locked, &reason,
					 PROFILER_REPORT_STACK_BYTES);
	exit_arena_end();
	atomic_store(&report_writer, 0);
	fork_safe_unlock(&report_lock, &hold);
	core_internal_leave();
	errno = saved_errno;
	return true;
}

struct unloading_module {
	uintptr_t lo, hi;
	uint32_t generation;
};

/* On a stack of its own, as the report: symbolizes with libdw. */
static void remember_sites_locked(void *module)
{
	const struct unloading_module *m = module;
	struct snapshot snap;

	if (snapshot_take(&snap) == 0) {
		symbolizer_remember_sites(&snap, m->lo, m->hi, m->generation);
		snapshot_release(&snap);
	}
}

void lifecycle_remember_sites(uintptr_t lo, uintptr_t hi, uint32_t generation)
{
	struct unloading_module module = { .lo = lo, .hi = hi, .generation = generation };
	int saved_errno = errno;
	struct fork_safe_hold hold;

	if (!reports_enabled)
		return;
	core_internal_enter();
	fork_safe_lock(&report_lock, &hold);
	profiler_stack_run_fresh(remember_sites_locked, &module, PROFILER_REPORT_STACK_BYTES);
	fork_safe_unlock(&report_lock, &hold);
	core_internal_leave();
	errno = saved_errno;
}

static void at_exit(void)
{
	lifecycle_write_report(REPORT_AT_EXIT);
}

static void *interval_main(void *arg)
{
	long long period_ns = (long long)(options.interval_seconds * 1e9);
	struct timespec next;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		long long ns = next.tv_nsec + period_ns;

		next.tv_sec += (time_t)(ns / 1000000000LL);
		next.tv_nsec = (long)(ns % 1000000000LL);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		lifecycle_write_report(REPORT_AT_INTERVAL);
	}
	return NULL;
}

/* The snapshot thread takes no signal of the program's: all are blocked
 * in it, so the program's handlers run on the program's threads only. */
static void start_interval_thread(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t thread;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&thread, &attr, interval_main, NULL) != 0)
		options.interval_seconds = 0;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * How far above fork's handler a signal frame is looked for: fork's own
 * frames, and a program's handler's, lie within it.
 */
#define SIGNAL_FRAME_SCAN_BYTES (32u << 10)
/* Forks that found the preparation unsafe, after which no fork tries
 * it: a stale word that looks like a signal frame may stay. */
#define PREPARE_TRIES_MAX 8

static void prepare_locked(void *unused)
{
	(void)unused;
	symbolizer_prepare();
}

/*
 * Before a fork, once a child of this process has written a report
 * without an exec (struct fork_family): the symbolizer made ready for
 * the children's reports (report/symbolize.h: symbolizer_prepare),
 * which they inherit; the parent's own next report takes it too.
 *
 * It allocates, so it is never made where that would not be safe:
 * inside the allocator, inside a signal handler of the program's (which
 * may have interrupted jemalloc's fast path, whose thread cache is not
 * reentrant: a handler's fork is async-signal-safe), once jemalloc's
 * own prepare handler has taken its locks, or while a report holds the
 * lock.  Then the fork goes on without it.  Fork handlers run last
 * registered first: this one is registered once jemalloc has started,
 * to run before jemalloc's.
 */
static void prepare_for_children(void)
{
	static atomic_int failed_tries;
	struct fork_family *family = atomic_load_explicit(&own_family, memory_order_acquire);
	struct fork_safe_hold hold;

	if (!reports_enabled)
		return;
	/* The first fork: the page its children will count in.  A raw
	 * system call: the program's mmap is interposed, and a handler's
	 * fork may make it. */
	if (!family) {
		void *page = (void *)syscall(SYS_mmap, NULL, sizeof(*family),
					     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
					     -1, 0);

		if (page != MAP_FAILED &&
		    !atomic_compare_exchange_strong_explicit(&own_family, &family, page,
							     memory_order_acq_rel,
							     memory_order_acquire))
			syscall(SYS_munmap, page, sizeof(*family));
		return;
	}
	if (!atomic_load_explicit(&family->children_reported, memory_order_relaxed) ||
	    symbolizer_is_prepared() ||
	    atomic_load_explicit(&failed_tries, memory_order_relaxed) >= PREPARE_TRIES_MAX)
		return;
	if (core_in_allocator() || core_in_internal_scope() || core_fork_holds_jemalloc() ||
	    signals_frame_above(__builtin_frame_address(0), SIGNAL_FRAME_SCAN_BYTES)) {
		atomic_fetch_add_explicit(&failed_tries, 1, memory_order_relaxed);
		return;
	}
	if (fork_safe_trylock(&report_lock, &hold)) {
		core_internal_enter();
		profiler_stack_run(prepare_locked, NULL);
		core_internal_leave();
		fork_safe_unlock(&report_lock, &hold);
	}
}

/*
 * fork holds the report's lock, ours and (its handlers run after ours)
 * jemalloc's from prefork to postfork: the thread counts as inside the
 * allocator meanwhile, so a fatal signal's report waits until they are
 * released instead of waiting for a lock the thread holds itself.  A
 * signal deferred so is the parent's: the child, which inherits no
 * pending signal, drops it.
 */
static void prefork(void)
{
	core_allocator_enter();
	callsite_prefork();
	pthread_mutex_lock(&report_lock);
	alloc_tag_prefork();
	page_map_prefork();
}

static void postfork_parent(void)
{
	page_map_postfork();
	alloc_tag_postfork_parent();
	pthread_mutex_unlock(&report_lock);
	callsite_postfork_parent();
	core_allocator_leave();
}

static void postfork_child(void)
{
	/* Its parent's children's page, to count its report in; its own
	 * children get one of their own. */
	parent_family = atomic_load_explicit(&own_family, memory_order_relaxed);
	atomic_store_explicit(&own_family, NULL, memory_order_relaxed);
	forked_here = true;
	page_map_postfork();
	alloc_tag_postfork_child();
	pthread_mutex_unlock(&report_lock);
	callsite_postfork_child();
	core_drop_deferred_signal();
	core_allocator_leave();
}

/* A line on stderr, once, at start: one write, no stdio. */
static void say(const char *line)
{
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		(void)0;
}

/* The program's malloc is its own, so its blocks go unprofiled
 * (core/alloc.h).  The report is still written at exit, with its own
 * memory and a line that says why it has no more. */
static const char other_malloc_line[] =
	"allocinfo: the program has a malloc of its own; "
	"its allocations and mappings are not profiled, "
	"and a fatal signal writes no report\n";

/* jemalloc had no room to start under the process's address-space
 * limit (core/alloc.h), so the program runs on glibc's malloc,
 * unprofiled, and no report is written. */
static const char no_room_for_jemalloc_line[] =
	"allocinfo: the address-space limit (ulimit -v or -d) leaves "
	"jemalloc no room to start; the program runs on glibc's malloc, "
	"unprofiled, and writes no report\n";

__attribute__((constructor(101))) static void allocinfo_start(void)
{
	int saved_errno = errno;
	/* Asked here at the latest, while the program has no threads of
	 * its own (core/alloc.c: bound_elsewhere). */
	bool other_malloc = core_program_has_other_malloc();

	/* Secure execution (setuid, setgid, capabilities): keep serving
	 * memory, since we are the program's malloc, but read no
	 * environment and write no file. */
	if (getauxval(AT_SECURE)) {
		struct core_options defaults = { 0 };

		core_init(&defaults);
		return;
	}
	core_internal_enter();
	clock_gettime(CLOCK_REALTIME, &start_time);
	options_read(&options);
	process_init();
	core_mmap_set_mode(options.mmap_mode);
	pthread_atfork(prefork, postfork_parent, postfork_child);
	wrappers_start(&options);
	symbolizer_configure_cache(options.cache[0] ? options.cache : NULL,
				   options.wrappers);
	/* ALLOCINFO_FOLLOW=0: a program started by a profiled process
	 * keeps its malloc (it is ours now) but writes no report. */
	reports_enabled = options.follow || !process_was_execed_by_profiled_parent();
	if (reports_enabled && other_malloc)
		say(other_malloc_line);
	if (reports_enabled) {
		atexit(at_exit);
		/* A fatal signal may land inside the program's own
		 * allocator, holding its locks, and the report's symbolizer
		 * allocates with it: no report then, rather than a process
		 * that hangs instead of dying. */
		if (!other_malloc)
			signals_init();
		if (options.interval_seconds > 0)
			start_interval_thread();
	}
	core_internal_leave();
	core_init(&options.core);
	if (core_jemalloc_unusable()) {
		reports_enabled = false;
		say(no_room_for_jemalloc_line);
	}
	if (reports_enabled) {
		core_internal_enter();
		pthread_atfork(prepare_for_children, NULL, NULL);
		core_internal_leave();
	}
	errno = saved_errno;
}

/*
 * Start and end of a profiled process.
 *
 * The constructor reads the options and ends the core's early window;
 * allocations before it (from the dynamic loader and from constructors
 * of libraries initialised before ours) are served and counted, and
 * their tags are marked accurate:no.  At exit, after the program's own
 * atexit handlers and C++ static destructors (registered after ours, so
 * run before), the report is written.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/mmap.h"
#include "core/page_map.h"
#include "core/internal_scope.h"
#include "core/snapshot.h"
#include "preload/options.h"
#include "preload/profiler_libs.h"
#include "report/writer.h"

static struct allocinfo_options options;
static struct timespec start_time;

static void allocinfo_at_exit(void)
{
	int saved_errno = errno;
	struct report_meta meta = {
		.pid = getpid(),
		.start = start_time,
	};
	struct snapshot snap;

	core_internal_enter();
	clock_gettime(CLOCK_REALTIME, &meta.end);
	if (snapshot_take(&snap) == 0) {
		report_write(options.output_template, &meta, &snap);
		snapshot_release(&snap);
	}
	core_internal_leave();
	errno = saved_errno;
}

__attribute__((constructor(101))) static void allocinfo_start(void)
{
	int saved_errno = errno;

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
	core_mmap_set_mode(options.mmap_mode);
	pthread_atfork(page_map_prefork, page_map_postfork, page_map_postfork);
	profiler_libs_claim_sites();
	atexit(allocinfo_at_exit);
	core_internal_leave();
	core_init(&options.core);
	errno = saved_errno;
}

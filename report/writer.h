/*
 * The report writer: a snapshot -> allocinfo 2.0 text in a file,
 * written atomically.
 */
#ifndef ALLOCINFO_REPORT_WRITER_H
#define ALLOCINFO_REPORT_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "core/snapshot.h"

struct report_meta {
	pid_t pid;
	struct timespec start, end;
	/* A descendant of the profiled process (fork child, or a program it
	 * ran): with a template that has no %p, ".PID" is appended so that
	 * no process overwrites another's report. */
	bool descendant;
	/* Also append this snapshot to PATH.series (ALLOCINFO_INTERVAL). */
	bool series;
	/* The program has an allocator of its own, which served its
	 * blocks unseen (core_program_has_other_malloc): the report says
	 * so, as "# malloc: not profiled, ...". */
	bool other_malloc;
	/* The process ends after this report (at exit): what the report
	 * allocated is left to the exit. */
	bool at_exit;
};

/*
 * Expands @template into @out: %p is the pid, %e the executable's base
 * name, %% a percent sign; any other character is copied.  Returns 0, or
 * -1 when the result does not fit in @size.
 */
int report_expand_path(const char *template, pid_t pid, char *out, size_t size);

/*
 * Symbolizes @snap (filling its codetags' text), sorts it largest first
 * and writes it to the expanded @template: to a temporary file created
 * with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, in the same folder, then
 * renamed over the target.  An existing target that is not a regular
 * file (a device, a FIFO) is written in place instead; a regular file
 * owned by another user is never replaced.  On failure prints one line
 * on stderr and returns -1.  Must run in the profiler's internal scope,
 * and not concurrently with itself.
 */
int report_write(const char *template, const struct report_meta *meta,
		 struct snapshot *snap);

#endif

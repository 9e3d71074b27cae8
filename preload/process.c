/*
 * Where this process stands in a profiled process tree.
 *
 * Reports must never overwrite each other, so every process must know
 * whether it is the one the user started (the root) or a descendant.
 * The root names itself in ALLOCINFO_ROOT_PID, which every descendant
 * inherits: a program it execs, directly or through an orphaned
 * grandchild, sees a root pid that is not its own.  A fork child runs no
 * constructor; its pid differs from the one the constructor saw.
 *
 * This is the one change the profiler makes to the environment, and
 * only in the root: setting one ALLOCINFO_ variable, beside the
 * LD_PRELOAD that is there anyway.  `allocinfo run` sets it in the
 * child's environment itself, before the exec.  A program that gives its
 * children another environment is left alone: a child without the
 * variable is a root of its own.
 */
#include "preload/process.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define ROOT_PID_VARIABLE "ALLOCINFO_ROOT_PID"

static pid_t constructor_pid;
static bool execed_by_profiled_process;

void process_init(void)
{
	const char *root = getenv(ROOT_PID_VARIABLE);
	char pid_text[24];
	char *end;
	long root_pid;

	constructor_pid = getpid();
	if (root) {
		errno = 0;
		root_pid = strtol(root, &end, 10);
		if (!errno && end != root && !*end && root_pid > 0) {
			execed_by_profiled_process = root_pid != constructor_pid;
			return;
		}
		fprintf(stderr, "allocinfo: %s='%s' is not a pid; this process is a root\n",
			ROOT_PID_VARIABLE, root);
	}
	snprintf(pid_text, sizeof(pid_text), "%d", (int)constructor_pid);
	setenv(ROOT_PID_VARIABLE, pid_text, 1);
}

bool process_is_descendant(void)
{
	return execed_by_profiled_process || getpid() != constructor_pid;
}

bool process_was_execed_by_profiled_parent(void)
{
	return execed_by_profiled_process;
}

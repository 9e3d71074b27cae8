/*
 * Where this process stands in a profiled process tree.
 *
 * Reports must never overwrite each other, yet the profiler must not
 * change the environment the program and its children see.  So nothing
 * is passed down: a process tells for itself.
 * - A fork child runs no constructor; its pid differs from the one the
 *   constructor saw.
 * - A program exec'd by a profiled process finds, in its parent's
 *   initial environment (/proc/PPID/environ), an LD_PRELOAD that loads
 *   this library.  The process a user started (by `allocinfo run`, or a
 *   shell with LD_PRELOAD on its command line) has a parent that was not
 *   profiled.
 * A parent whose environment cannot be read (another user's) counts as
 * not profiled.
 */
#include "preload/process.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/alloc.h"

#define LIBRARY_NAME "liballocinfo"

static pid_t constructor_pid;
static bool execed_by_profiled_parent;

/* Searches the NUL-separated environment block for an LD_PRELOAD entry
 * naming this library. */
static bool environ_preloads_us(const char *env, size_t len)
{
	for (size_t i = 0; i < len; i += strlen(env + i) + 1)
		if (!strncmp(env + i, "LD_PRELOAD=", 11) &&
		    strstr(env + i, LIBRARY_NAME))
			return true;
	return false;
}

static bool parent_is_profiled(void)
{
	enum { ENVIRON_MAX = 1 << 20 };
	char path[64];
	char *env;
	size_t len = 0;
	bool found = false;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)getppid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	env = core_internal_alloc(ENVIRON_MAX + 1);
	if (env) {
		for (ssize_t n; len < ENVIRON_MAX &&
		     (n = read(fd, env + len, ENVIRON_MAX - len)) > 0;)
			len += (size_t)n;
		env[len] = '\0';
		found = environ_preloads_us(env, len);
		core_internal_free(env);
	}
	close(fd);
	return found;
}

void process_init(void)
{
	constructor_pid = getpid();
	execed_by_profiled_parent = parent_is_profiled();
}

bool process_is_descendant(void)
{
	return execed_by_profiled_parent || getpid() != constructor_pid;
}

bool process_was_execed_by_profiled_parent(void)
{
	return execed_by_profiled_parent;
}

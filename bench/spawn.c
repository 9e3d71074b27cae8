/*
 * Runs one command for bench/run and measures it.
 *
 *   spawn RESULT CMD [ARGS...]
 *
 * Forks, execs CMD, reaps it with wait4() and writes one line to the
 * file RESULT:
 *
 *   WALL_NS MAXRSS_KIB STATUS REAPED_REALTIME_NS
 *
 * WALL_NS runs from just before fork to the reaping; MAXRSS_KIB is the
 * ru_maxrss wait4 reports: the largest peak of the command and of every
 * descendant it waited for (for gcc, the driver, cc1 and as); STATUS is
 * the wait status.
 *
 * Why a launcher of its own: a process's ru_maxrss includes the memory
 * it had before execve (Linux keeps the larger of the old image's peak
 * and the new one's), and a child starts as a copy of its parent.
 * Spawned from python, every command would have a peak of at least the
 * interpreter's 10-odd MiB, more than a small program's own.  This
 * launcher is linked statically and is well under 1 MiB, so its copy
 * is below anything measured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct rusage usage;
	long long start, wall;
	int status;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: spawn RESULT CMD [ARGS...]\n");
		return 2;
	}
	start = clock_ns(CLOCK_MONOTONIC);
	pid = fork();
	if (pid < 0) {
		perror("spawn: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &usage) != pid) {
		perror("spawn: wait4");
		return 1;
	}
	wall = clock_ns(CLOCK_MONOTONIC) - start;
	out = fopen(argv[1], "w");
	if (!out || fprintf(out, "%lld %ld %d %lld\n", wall, usage.ru_maxrss, status,
			    clock_ns(CLOCK_REALTIME)) < 0 || fclose(out) != 0) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}

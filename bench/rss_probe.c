/*
 * Peak RSS of the processes heaptrack profiles, for bench/run.
 *
 * heaptrack runs the program as a child of its script, beside its own
 * heaptrack_interpret and zstd, so the wait status of the `heaptrack`
 * command tells the peak RSS of the largest of them, not the program's.
 * bench/run preloads this library too: at exit, in a process that has
 * the library named by BENCH_RSS_IF_LOADED loaded (heaptrack's preload
 * library: the processes it profiles), it appends "PID MAXRSS_KIB EXE"
 * to the file named by BENCH_RSS_FILE.  The script's shell, the
 * interpreter and the compressor do not have it loaded and write
 * nothing.
 *
 *   gcc -shared -fPIC -O2 -o rss_probe.so rss_probe.c -ldl
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static __attribute__((destructor)) void rss_probe_at_exit(void)
{
	const char *path = getenv("BENCH_RSS_FILE");
	const char *only_with = getenv("BENCH_RSS_IF_LOADED");
	struct rusage self;
	char exe[256], line[512];
	ssize_t n;
	int fd, len;

	if (!path)
		return;
	if (only_with && *only_with && !dlopen(only_with, RTLD_LAZY | RTLD_NOLOAD))
		return;
	if (getrusage(RUSAGE_SELF, &self) != 0)
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	len = snprintf(line, sizeof(line), "%d %ld %s\n", (int)getpid(),
		       self.ru_maxrss, exe);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)len) < 0)
		(void)0;
	close(fd);
}

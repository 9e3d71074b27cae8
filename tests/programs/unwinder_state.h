/*
 * Whether the profiler's unwinder (libunwind) is mapped in this
 * process: "yes" or "no", from /proc/self/maps read with read(2) into a
 * static buffer, so that the check allocates nothing.
 */
#ifndef ALLOCINFO_TEST_UNWINDER_STATE_H
#define ALLOCINFO_TEST_UNWINDER_STATE_H

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static inline const char *unwinder_mapped(void)
{
	static char maps[1 << 20];
	size_t len = 0;
	ssize_t got;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return "unknown";
	while (len < sizeof(maps) - 1 &&
	       (got = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	maps[len] = '\0';
	return strstr(maps, "/libunwind.so") ? "yes" : "no";
}

#endif

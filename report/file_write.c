#include "report/file_write.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static int write_loop(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

bool file_read_at(int fd, void *buf, size_t len, uint64_t offset)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

static bool xfsz_pending(void)
{
	sigset_t pending;

	return sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ) == 1;
}

int file_write_all(int fd, const void *buf, size_t len)
{
	static const struct timespec no_wait;
	sigset_t xfsz, saved;
	bool pending_before;
	int ret, saved_errno;

	sigemptyset(&xfsz);
	sigaddset(&xfsz, SIGXFSZ);
	if (pthread_sigmask(SIG_BLOCK, &xfsz, &saved) != 0)
		return write_loop(fd, buf, len);
	pending_before = xfsz_pending();
	ret = write_loop(fd, buf, len);
	saved_errno = errno;
	if (ret < 0 && !pending_before && xfsz_pending())
		(void)sigtimedwait(&xfsz, NULL, &no_wait);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	errno = saved_errno;
	return ret;
}

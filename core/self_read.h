/*
 * Reads of this process's own memory that stop where it cannot be read
 * instead of faulting: a stack near its end, an address a walk made up,
 * a page that was unmapped.  process_vm_readv on our own pid copies up
 * to the first unreadable byte and returns how much it copied.  Safe in
 * a signal handler and in a fork's handler: one system call, no lock,
 * no allocation.
 */
#ifndef ALLOCINFO_CORE_SELF_READ_H
#define ALLOCINFO_CORE_SELF_READ_H

#include <errno.h>
#include <stddef.h>
#include <sys/uio.h>
#include <unistd.h>

/* Copies up to @len bytes at @address into @out: the bytes copied, 0
 * if none could be.  errno is kept. */
static inline size_t core_self_read(void *out, const void *address, size_t len)
{
	struct iovec local = { .iov_base = out, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)address, .iov_len = len };
	int saved_errno = errno;
	ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

	errno = saved_errno;
	return got > 0 ? (size_t)got : 0;
}

#endif

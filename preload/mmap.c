/*
 * The mapping entry points, interposed: pure forwarding to core/mmap.c.
 */
#include <stdarg.h>
#include <sys/mman.h>

#include "core/mmap.h"
#include "preload/export.h"

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t offset)
{
	return core_mmap(addr, len, prot, flags, fd, offset, CALLER);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
		    off_t offset)
{
	return core_mmap(addr, len, prot, flags, fd, offset, CALLER);
}

EXPORT int munmap(void *addr, size_t len)
{
	return core_munmap(addr, len);
}

EXPORT void *mremap(void *old_addr, size_t old_len, size_t new_len,
		    int flags, ...)
{
	void *new_addr = NULL;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	return core_mremap(old_addr, old_len, new_len, flags, new_addr);
}

/*
 * libunwind's memory-check pipe, kept to itself.
 *
 * libunwind 1.6, built with its default conservative checks, checks each
 * address an unwind reads outside the last pages it checked: mincore,
 * then a read of one byte from a pipe of its own and a write of one byte
 * from the address into it (x86_64/Ginit.c, write_validate).  It makes
 * that pipe when it starts, at the lowest free descriptors, 3 and 4 in
 * most programs, which are the program's to use.  After a shell's
 * `exec 3<in 4>out`, or any program's dup2 there, each check read a byte
 * of the program's input and wrote a byte of the profiler's memory into
 * its output; and a read that failed made libunwind close both
 * descriptors, whatever they then were, and make a new pipe
 * (tests/integration/unwind_fds.sh).
 *
 * So libunwind's own calls of pipe2, read and close come here: its
 * import table is pointed at the guards below when it is loaded
 * (unwinder_pipe_guard), before it makes the pipe.
 * - A pipe it makes is moved up, just below the descriptor limit (or
 *   1,024), where programs rarely look, and remembered by its inode.
 * - Before each check's read, both ends must still be that pipe, else
 *   the read fails with EBADF and reads nothing: the program closed or
 *   replaced one.  libunwind then closes the pair and makes a new one;
 *   a close of a descriptor that is no longer its pipe's does nothing.
 *   The check's write (by syscall) thus always goes to the pipe just
 *   verified or just made.  Where no new pipe can be made (no
 *   descriptor free), libunwind is given -1 for both ends: its checks
 *   fail, each address counts as unreadable, and a walk ends there (its
 *   site is then charged as without the unwinder).
 * - Every other call passes to glibc: libunwind also reads and closes
 *   files of its own (/proc/self/maps, ELF images).
 *
 * Better still, no pipe at all: the check's write goes through its
 * import of syscall, as syscall(SYS_write, write end, address, 1), and
 * asks only whether the byte at the address can be read.  Where
 * process_vm_readv may read the process's own memory (unless a seccomp
 * filter forbids it, everywhere), libunwind's pipe2 gets two numbers
 * that no descriptor can have (past the kernel's nr_open), its read of
 * one fails with EAGAIN, as an empty pipe's does, its write to the
 * other is that read of one byte (1, or -1 and EFAULT where the
 * address cannot be read), and its close of either does nothing.  The
 * program keeps all of its descriptors: a pipe took two of them, which
 * at `ulimit -n 8` made a shell's next pipe fail.  Each check costs two
 * system calls (getpid, for a fork's child checks its own memory, and
 * process_vm_readv) where the pipe's cost four.
 */
#include "core/unwinder_pipe.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/self_read.h"

/* Descriptors this far below the limit (or 1,024) and up hold the pipe. */
#define PIPE_BELOW_LIMIT 24
#define PIPE_LIMIT_CAP   1024

/* The pipe libunwind holds: its ends (-1: none) and their inode. */
static _Atomic int pipe_read_end = -1, pipe_write_end = -1;
static _Atomic dev_t pipe_device;
static _Atomic ino_t pipe_inode;

static bool is_the_pipe(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
	       st.st_ino == atomic_load_explicit(&pipe_inode, memory_order_relaxed) &&
	       st.st_dev == atomic_load_explicit(&pipe_device, memory_order_relaxed);
}

/* @fd moved to the lowest free descriptor from the pipe's floor up,
 * keeping close-on-exec as @flags ask; @fd itself if none is free. */
static int moved_up(int fd, int flags)
{
	struct rlimit limit;
	rlim_t top = PIPE_LIMIT_CAP;
	int high;

	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < top)
		top = limit.rlim_cur;
	if (top <= PIPE_BELOW_LIMIT + 3)
		return fd;
	high = fcntl(fd, flags & O_CLOEXEC ? F_DUPFD_CLOEXEC : F_DUPFD,
		     (int)(top - PIPE_BELOW_LIMIT));
	if (high < 0)
		return fd;
	close(fd);
	return high;
}

/* The numbers libunwind is given for its pipe where it needs none: past
 * any descriptor (the kernel's nr_open is at most 2^30 - 8). */
#define NO_PIPE_READ_END  (INT32_MAX - 1)
#define NO_PIPE_WRITE_END (INT32_MAX - 2)

/* Whether checks read the memory itself (set by unwinder_pipe_guard,
 * before libunwind starts, where process_vm_readv works and libunwind's
 * syscall import is guarded). */
static bool checks_without_pipe;

/* Whether the byte at @address can be read. */
static bool readable(const void *address)
{
	char byte;

	return core_self_read(&byte, address, 1) == 1;
}

static long guarded_syscall(long number, long a1, long a2, long a3, long a4, long a5,
			    long a6)
{
	/* An int among the variadic arguments: its register's upper half is
	 * not part of it. */
	if (number == SYS_write && (int)a1 == NO_PIPE_WRITE_END) {
		if (readable((const void *)a2))
			return 1;
		errno = EFAULT;
		return -1;
	}
	return syscall(number, a1, a2, a3, a4, a5, a6);
}

static int guarded_pipe2(int ends[2], int flags)
{
	int made[2];
	struct stat st;

	if (checks_without_pipe) {
		ends[0] = NO_PIPE_READ_END;
		ends[1] = NO_PIPE_WRITE_END;
		return 0;
	}
	if (pipe2(made, flags) != 0) {
		/* libunwind does not look at the result: with -1 its
		 * checks fail rather than write to what the old numbers
		 * now are. */
		ends[0] = ends[1] = -1;
		return -1;
	}
	made[0] = moved_up(made[0], flags);
	made[1] = moved_up(made[1], flags);
	if (fstat(made[0], &st) == 0) {
		atomic_store_explicit(&pipe_device, st.st_dev, memory_order_relaxed);
		atomic_store_explicit(&pipe_inode, st.st_ino, memory_order_relaxed);
	}
	atomic_store_explicit(&pipe_read_end, made[0], memory_order_relaxed);
	atomic_store_explicit(&pipe_write_end, made[1], memory_order_relaxed);
	ends[0] = made[0];
	ends[1] = made[1];
	return 0;
}

static ssize_t guarded_read(int fd, void *buf, size_t count)
{
	if (fd == NO_PIPE_READ_END) {
		errno = EAGAIN;
		return -1;
	}
	if (fd >= 0 && fd == atomic_load_explicit(&pipe_read_end, memory_order_relaxed) &&
	    (!is_the_pipe(fd) ||
	     !is_the_pipe(atomic_load_explicit(&pipe_write_end, memory_order_relaxed)))) {
		errno = EBADF;
		return -1;
	}
	return read(fd, buf, count);
}

/* Forgets @end if it holds @fd: once closed or replaced, @fd is not
 * libunwind's pipe any more. */
static void forget_end(_Atomic int *end, int fd)
{
	atomic_compare_exchange_strong(end, &fd, -1);
}

static int guarded_close(int fd)
{
	bool ours;

	if (fd == NO_PIPE_READ_END || fd == NO_PIPE_WRITE_END)
		return 0;
	if (fd < 0 || (fd != atomic_load_explicit(&pipe_read_end, memory_order_relaxed) &&
		       fd != atomic_load_explicit(&pipe_write_end, memory_order_relaxed)))
		return close(fd);	/* a file of libunwind's own: no fstat */
	ours = is_the_pipe(fd);
	forget_end(&pipe_read_end, fd);
	forget_end(&pipe_write_end, fd);
	if (!ours) {
		errno = EBADF;	/* the program's now: left alone */
		return -1;
	}
	return close(fd);
}

#if defined(__x86_64__)
struct import_guard {
	const char *name;
	void *guard;
};

/* The guards by their bit in guard_relocs' masks. */
enum { GUARD_PIPE2, GUARD_READ, GUARD_CLOSE, GUARD_SYSCALL };

static const struct import_guard import_guards[] = {
	[GUARD_PIPE2] = { "pipe2", (void *)guarded_pipe2 },
	[GUARD_READ] = { "read", (void *)guarded_read },
	[GUARD_CLOSE] = { "close", (void *)guarded_close },
	/* A check without a pipe needs this one. */
	[GUARD_SYSCALL] = { "syscall", (void *)guarded_syscall },
};

/* The address a dynamic entry of @map gives: glibc has made most of
 * them absolute already, which an address past the base shows. */
static uintptr_t dynamic_address(const struct link_map *map, ElfW(Addr) value)
{
	return value < map->l_addr ? map->l_addr + value : value;
}

struct relro_search {
	uintptr_t base, lo, hi;
};

static int find_relro(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct relro_search *search = arg;

	(void)size;
	if (info->dlpi_addr != search->base)
		return 0;
	for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type == PT_GNU_RELRO) {
			search->lo = search->base + info->dlpi_phdr[i].p_vaddr;
			search->hi = search->lo + info->dlpi_phdr[i].p_memsz;
		}
	}
	return 1;
}

/* Stores @value in the import slot @slot, which a library linked with
 * -z now has in its read-only part after relocation. */
static bool set_slot(void **slot, void *value, const struct relro_search *relro)
{
	uintptr_t page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t page = (uintptr_t)slot & ~(page_size - 1);
	bool protected_slot = (uintptr_t)slot >= relro->lo && (uintptr_t)slot < relro->hi;

	if (protected_slot && mprotect((void *)page, page_size, PROT_READ | PROT_WRITE) != 0)
		return false;
	__atomic_store_n(slot, value, __ATOMIC_RELEASE);
	if (protected_slot)
		mprotect((void *)page, page_size, PROT_READ);
	return true;
}

/* Points the slots of @relocs (@bytes of them) that import a guarded
 * function at its guard; the guards met and set are added to
 * *@imported and *@done as bits. */
static void guard_relocs(const struct link_map *map, const ElfW(Rela) *relocs, size_t bytes,
			 const ElfW(Sym) *symbols, const char *names,
			 const struct relro_search *relro, unsigned int *imported,
			 unsigned int *done)
{
	for (size_t i = 0; i < bytes / sizeof(*relocs); i++) {
		unsigned long type = ELF64_R_TYPE(relocs[i].r_info);
		const char *name;

		if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
			continue;
		name = names + symbols[ELF64_R_SYM(relocs[i].r_info)].st_name;
		for (unsigned int g = 0; g < sizeof(import_guards) / sizeof(import_guards[0]); g++) {
			if (strcmp(name, import_guards[g].name) != 0)
				continue;
			*imported |= 1u << g;
			if (set_slot((void **)(map->l_addr + relocs[i].r_offset),
				     import_guards[g].guard, relro))
				*done |= 1u << g;
		}
	}
}

bool unwinder_pipe_guard(void *handle)
{
	const ElfW(Rela) *plt_relocs = NULL, *relocs = NULL;
	size_t plt_bytes = 0, reloc_bytes = 0;
	const ElfW(Sym) *symbols = NULL;
	const char *names = NULL;
	struct link_map *map;
	struct relro_search relro = { 0 };
	unsigned int imported = 0, done = 0;
	bool rela = true;

	if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map->l_ld)
		return false;
	for (const ElfW(Dyn) *d = map->l_ld; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_JMPREL:
			plt_relocs = (const void *)dynamic_address(map, d->d_un.d_ptr);
			break;
		case DT_PLTRELSZ:
			plt_bytes = d->d_un.d_val;
			break;
		case DT_PLTREL:
			rela = d->d_un.d_val == DT_RELA;
			break;
		case DT_RELA:
			relocs = (const void *)dynamic_address(map, d->d_un.d_ptr);
			break;
		case DT_RELASZ:
			reloc_bytes = d->d_un.d_val;
			break;
		case DT_SYMTAB:
			symbols = (const void *)dynamic_address(map, d->d_un.d_ptr);
			break;
		case DT_STRTAB:
			names = (const void *)dynamic_address(map, d->d_un.d_ptr);
			break;
		}
	}
	if (!rela || !symbols || !names)
		return false;
	relro.base = map->l_addr;
	dl_iterate_phdr(find_relro, &relro);
	if (plt_relocs)
		guard_relocs(map, plt_relocs, plt_bytes, symbols, names, &relro, &imported, &done);
	if (relocs)
		guard_relocs(map, relocs, reloc_bytes, symbols, names, &relro, &imported, &done);
	/* Checks read the memory themselves only where libunwind's write
	 * comes here, and the kernel lets a process read its own. */
	checks_without_pipe = (done & (1u << GUARD_SYSCALL)) && readable(&relro);
	/* A libunwind that makes no pipe needs no guard. */
	return done == imported;
}
#else
bool unwinder_pipe_guard(void *handle)
{
	(void)handle;
	return false;
}
#endif

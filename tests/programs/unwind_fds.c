/*
 * A program that puts files of its own on every descriptor above
 * stderr, as a shell's `exec 3<in 4>out` puts two, once a thread has
 * run (by then the profiler has loaded its unwinder, libunwind, which
 * keeps a pipe for its memory checks; core/unwinder_pipe.c).  Then it
 * allocates where the profiler unwinds at first sight: strdup, a
 * wrapper, called through stubs in an anonymous executable mapping
 * (see jit_stub.c) and from two functions of its own.  Last it reads
 * back its input through one descriptor and writes a line through
 * another.
 *
 *   unwind_fds IN OUT
 *
 * Odd descriptors hold IN (read-only), even ones OUT (write-only), up
 * to the descriptor limit, which it first lowers to 128, but for the
 * last SPARE (room for a new pipe of libunwind's, and the wrapper
 * sites charged to their callers as usual).  It prints what it read,
 * which must be IN whole, and the sites' totals; then how many
 * descriptors are open, which must be as many as natively: a profiler
 * whose unwinder keeps a pipe holds two more.  (Only where the process
 * may read its own memory with process_vm_readv, which the profiler
 * checks memory with instead; elsewhere it needs the pipe, and the
 * program says so.)
 * A profiler whose unwinder read from or wrote to those descriptors
 * took bytes of IN and put bytes of its memory into OUT.  It closes
 * them all before it returns.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check.h"

#define DESCRIPTORS 128
#define SPARE       8
#define STUBS       64
#define COPIES      8

static const char text[] = "some text";

/* sub $8,%rsp; call *%rsi; add $8,%rsp; ret, called as
 * stub(text, strdup). */
static const unsigned char stub[] = {
	0x48, 0x83, 0xec, 0x08, 0xff, 0xd6, 0x48, 0x83, 0xc4, 0x08, 0xc3,
};

static void *kept[STUBS + 2 * COPIES];

static void *thread_main(void *arg)
{
	return arg;
}

static __attribute__((noinline)) void *copy_one(void)
{
	return strdup(text); /* EXPECT: 80 8 */
}

static __attribute__((noinline)) void *copy_two(void)
{
	return strdup(text); /* EXPECT: 80 8 */
}

/* Whether process_vm_readv may read this process's memory. */
static int reads_own_memory(void)
{
	char from = 'x', to = 0;
	struct iovec local = { .iov_base = &to, .iov_len = 1 };
	struct iovec remote = { .iov_base = &from, .iov_len = 1 };

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1 && to == 'x';
}

int main(int argc, char **argv)
{
	struct rlimit limit;
	pthread_t thread;
	unsigned char *code;
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	int in, out;

	if (argc != 3) {
		fprintf(stderr, "usage: unwind_fds IN OUT\n");
		return 2;
	}
	CHECK(getrlimit(RLIMIT_NOFILE, &limit) == 0, "getrlimit");
	if (limit.rlim_cur > DESCRIPTORS) {
		limit.rlim_cur = DESCRIPTORS;
		CHECK(setrlimit(RLIMIT_NOFILE, &limit) == 0, "setrlimit");
	}
	CHECK(pthread_create(&thread, NULL, thread_main, NULL) == 0, "pthread_create");
	CHECK(pthread_join(thread, NULL) == 0, "pthread_join");

	in = open(argv[1], O_RDONLY | O_CLOEXEC);
	out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(in >= 0 && out >= 0, "open %s and %s", argv[1], argv[2]);
	for (int fd = 3; fd < (int)limit.rlim_cur - SPARE; fd++) {
		int from = fd % 2 ? in : out;

		if (fd != in && fd != out)
			CHECK(dup2(from, fd) == fd, "dup2 to %d", fd);
	}

	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, /* EXPECT: 4096 1 */
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(code != MAP_FAILED, "an executable mapping");
	if (code == MAP_FAILED)
		return CHECK_STATUS();
	for (int s = 0; s < STUBS; s++)
		memcpy(code + 16 * s, stub, sizeof(stub));
	for (int s = 0; s < STUBS; s++) {
		char *(*call_through)(const char *, char *(*)(const char *)) =
			(char *(*)(const char *, char *(*)(const char *)))(void *)(code + 16 * s);

		kept[s] = call_through(text, strdup);
	}
	for (int i = 0; i < COPIES; i++) {
		kept[STUBS + 2 * i] = copy_one();
		kept[STUBS + 2 * i + 1] = copy_two();
	}
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		CHECK(kept[i] && strcmp(kept[i], text) == 0, "copy %zu", i);

	/* IN whole, through descriptor 3 (its offset is every odd one's). */
	while (got < sizeof(buf) - 1 && (n = read(3, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = 0;
	printf("read: %s", buf);
	CHECK(write(4, "written through 4\n", 18) == 18, "write to 4");
	printf("%d copies of %zu bytes through stubs, %d from copy_one and copy_two\n",
	       STUBS, sizeof(text), 2 * COPIES);
	if (reads_own_memory()) {
		int open_now = 0;

		for (int fd = 0; fd < (int)limit.rlim_cur; fd++)
			open_now += fcntl(fd, F_GETFD) >= 0;
		printf("%d descriptors open\n", open_now);
	} else {
		printf("descriptors not counted: process_vm_readv refused\n");
	}
	/* Closed again, as a shell's exec 3<&- 4>&- would: the report at
	 * exit needs a descriptor. */
	for (int fd = 3; fd < (int)limit.rlim_cur; fd++)
		close(fd);
	return CHECK_STATUS();
}

/*
 * A process in a seccomp sandbox that forbids opening files, as man-db
 * puts groff, preconv and col in one: every open and openat fails with
 * ENOSYS once main has installed the filter (no new privileges first,
 * so that any user may).  It allocates, prints one line and exits 0.
 * Under the preload its report cannot be written: one line on stderr,
 * naming the sandbox; the cache folder it cannot open either is not
 * worth a line (tests/integration/report_targets.sh).
 *
 * With the argument "writes", only opens to write or create fail, as in
 * man-db's sandbox: files may still be read, so a report made for a
 * file that cannot be opened would look its names up, libdw and all
 * (the dynamic loader tells, with LD_DEBUG=files).
 *
 * With the argument "fork", the process allocates (parent_alloc), forks
 * a child that exits at once, its report written, then a second one
 * that enters the sandbox, allocates at child_alloc, then at late_alloc,
 * and exits; then the process allocates at late_alloc too.  The second
 * child's report, to a descriptor (ALLOCINFO_OUTPUT=/dev/stderr), is
 * made with the symbolizer its parent made ready before the second fork
 * (report/symbolize.h: symbolizer_prepare), whose cache folder it
 * cannot open again.  It prints the second child's pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* The flags' low word of open (argument 1) and openat (argument 2). */
#define FLAGS_OF(n) (offsetof(struct seccomp_data, args) + (n) * sizeof(__u64))

static int forbid_opens(int only_writes)
{
	/* Jumps to the ENOSYS at 11: from the calls' tests at 4 and 5
	 * straight, or, for only writes, through the flags' test at 10:
	 * an open that asks neither to write nor to create is allowed. */
	const unsigned char open_to = only_writes ? 2 : 6, openat_to = only_writes ? 3 : 5;
	struct sock_filter filter[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		/* 2 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, open_to, 0),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, openat_to, 0),
		/* 6 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, FLAGS_OF(1)),
		/* 8 */ BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),
		/* 9 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, FLAGS_OF(2)),
		/* 10 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_ACCMODE | O_CREAT, 0, 1),
		/* 11 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
		/* 12 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog program = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program);
}

static char *volatile child_block, *volatile parent_block, *volatile late_block;

/* Only the sandboxed child allocates here: no run's report has its
 * answer, and with every open forbidden libdw cannot be loaded for it
 * (unmarked). */
__attribute__((noinline)) static void child_alloc(void)
{
	child_block = malloc(200);
}

__attribute__((noinline)) static void parent_alloc(void)
{
	parent_block = malloc(100); /* EXPECT: 100 1 func:parent_alloc */
}

/* A site the parent's report keeps in the cache, and the sandboxed
 * child's tag after child_alloc's: a report looks sites up in the
 * order of their tags. */
__attribute__((noinline)) static void late_alloc(void)
{
	late_block = malloc(300); /* EXPECT: 300 1 func:late_alloc */
}

static int fork_then_sandbox(void)
{
	pid_t first, second;
	int status;

	parent_alloc();
	first = fork();
	if (first == 0)
		exit(0);
	CHECK(first > 0 && waitpid(first, &status, 0) == first && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the first child failed");
	second = fork();
	if (second == 0) {
		if (forbid_opens(0) != 0)
			_exit(2);
		child_alloc();
		late_alloc();
		exit(0);
	}
	CHECK(second > 0 && waitpid(second, &status, 0) == second && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the second child failed");
	late_alloc();
	printf("%d\n", (int)second);
	return CHECK_STATUS();
}

int main(int argc, char **argv)
{
	int only_writes = argc > 1 && !strcmp(argv[1], "writes");
	FILE *f;
	char *text;

	if (argc > 1 && !strcmp(argv[1], "fork"))
		return fork_then_sandbox();
	CHECK(forbid_opens(only_writes) == 0, "seccomp filter: %s", strerror(errno));
	CHECK(fopen("/tmp/sandboxed-write-test", "w") == NULL && errno == ENOSYS,
	      "an open to write inside the sandbox did not fail with ENOSYS");
	f = fopen("/etc/hostname", "r");
	CHECK(only_writes ? f != NULL : f == NULL && errno == ENOSYS,
	      "an open to read inside the sandbox: %s", f ? "allowed" : strerror(errno));
	if (f)
		fclose(f);
	text = strdup("allocated in a sandbox");
	CHECK(text != NULL, "strdup");
	printf("%s\n", text);
	free(text);
	return CHECK_STATUS();
}

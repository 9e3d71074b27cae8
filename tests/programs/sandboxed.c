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

int main(int argc, char **argv)
{
	int only_writes = argc > 1 && !strcmp(argv[1], "writes");
	FILE *f;
	char *text;

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

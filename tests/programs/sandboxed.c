/*
 * A process in a seccomp sandbox that forbids opening files, as man-db
 * puts groff, preconv and col in one: every open and openat fails with
 * ENOSYS once main has installed the filter (no new privileges first,
 * so that any user may).  It allocates, prints one line and exits 0.
 * Under the preload its report cannot be written: one line on stderr,
 * naming the sandbox; the cache folder it cannot open either is not
 * worth a line (tests/integration/report_targets.sh).
 */
#include <errno.h>
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

static int forbid_opens(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
	};
	struct sock_fprog program = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program);
}

int main(void)
{
	char *text;

	CHECK(forbid_opens() == 0, "seccomp filter: %s", strerror(errno));
	CHECK(fopen("/etc/hostname", "r") == NULL && errno == ENOSYS,
	      "an open inside the sandbox did not fail with ENOSYS");
	text = strdup("allocated in a sandbox");
	CHECK(text != NULL, "strdup");
	printf("%s\n", text);
	free(text);
	return CHECK_STATUS();
}

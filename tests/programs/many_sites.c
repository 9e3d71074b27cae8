/*
 * N distinct call sites, each with live 24-byte blocks: N copies of
 * unmapped_site.c's stub in an executable mapping, each called with
 * malloc.  Their records make a report of N lines named by address,
 * longer than the report writer's 64 KiB buffer for N in the
 * thousands.
 *
 *   many_sites N [ROUNDS]      prints "sites N"
 *
 * With ROUNDS (default 1), every stub is called in turn ROUNDS times,
 * and then the blocks of the first round are freed: each site keeps
 * ROUNDS - 1 blocks (one when ROUNDS is 1, the first round's being
 * kept then), so that sites seen before allocate and free again.
 *
 * With a third argument, it then forks a child that holds the same
 * blocks and ends without an exec, so that its own report is a fork
 * child's last one (core/exit_arena.h): "fork", returning from main;
 * "fork-term", by a SIGTERM sent to itself.  The child prints
 * "child PID"; the parent checks how it ended.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define STUB_BYTES 16

/* sub $8,%rsp; call *%rsi; add $8,%rsp; ret; padding */
static const unsigned char stub[STUB_BYTES] = {
	0x48, 0x83, 0xec, 0x08, 0xff, 0xd6, 0x48, 0x83, 0xc4, 0x08, 0xc3,
	0x0f, 0x1f, 0x44, 0x00, 0x00,
};

/* A fork child that writes its report as it ends: by returning (exit),
 * or by SIGTERM (@by_signal); the parent waits for that end. */
static void fork_child(bool by_signal)
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0, "fork failed");
	if (pid == 0) {
		printf("child %d\n", (int)getpid());
		fflush(stdout);
		if (by_signal)
			raise(SIGTERM);
		return;
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid failed");
	if (by_signal)
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
		      "the child did not end by SIGTERM (status %#x)", status);
	else
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the child did not exit 0 (status %#x)", status);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 1;
	const char *ending = argc > 3 ? argv[3] : NULL;
	unsigned char *code;
	void **first;

	bool valid = n > 0 && n <= 100000 && rounds > 0 && rounds <= 100 &&
		     (!ending || !strcmp(ending, "fork") || !strcmp(ending, "fork-term"));

	CHECK(valid, "usage: many_sites N [ROUNDS [fork|fork-term]] (1 to 100000, 1 to 100), "
	      "not '%s %s %s'", argc > 1 ? argv[1] : "", argc > 2 ? argv[2] : "",
	      ending ? ending : "");
	if (!valid)
		return CHECK_STATUS();
	code = mmap(NULL, (size_t)n * STUB_BYTES, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	first = calloc((size_t)n, sizeof(*first));
	CHECK(code != MAP_FAILED && first, "an executable mapping or the block list failed");
	if (code == MAP_FAILED || !first)
		return CHECK_STATUS();
	for (long i = 0; i < n; i++)
		memcpy(code + i * STUB_BYTES, stub, STUB_BYTES);
	for (long r = 0; r < rounds; r++) {
		for (long i = 0; i < n; i++) {
			void *(*call_through)(size_t, void *(*)(size_t)) =
				(void *(*)(size_t, void *(*)(size_t)))(void *)(code + i * STUB_BYTES);
			void *block = call_through(24, malloc);

			CHECK(block != NULL, "malloc through stub %ld failed", i);
			if (r == 0)
				first[i] = block;
		}
	}
	if (rounds > 1)
		for (long i = 0; i < n; i++)
			free(first[i]);
	free(first);
	printf("sites %ld\n", n);
	if (ending)
		fork_child(!strcmp(ending, "fork-term"));
	return CHECK_STATUS();
}

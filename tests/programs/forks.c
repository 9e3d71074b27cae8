/*
 * Process trees (see tests/lib.sh for the EXPECT markers, and
 * tests/lib_reports.sh for the variants: EXPECT(child) is the report of
 * a forked child, EXPECT(leaf) that of an exec'd program).
 *
 * usage: forks MODE
 *   fork   the root forks a child that frees one of the root's blocks,
 *          unmaps a page of its mapping, allocates, and returns from
 *          main; and a second child that allocates and calls _exit
 *   exec, vfork, spawn
 *          the root runs `forks leaf keep` through fork and execv,
 *          vfork and execv, or posix_spawn
 *   unset, empty
 *          the root runs `forks leaf unset` (or `empty`) through fork
 *          and execve, with LD_PRELOAD taken out of its environment (or
 *          set to nothing)
 *   orphan the root forks a child that forks a grandchild and exits at
 *          once; the grandchild, once it is an orphan, runs `forks leaf
 *          keep`; the root waits for the leaf's end through a pipe
 *   busy   8 threads allocate and map without pause while the main
 *          thread forks 10 children that allocate, map and return from
 *          main
 *   alone, execs, exits
 *          the root forks no child; three children in turn that run
 *          `forks leaf keep` through fork and execv; three children
 *          in turn that allocate and call exit
 *   handler
 *          the root forks a child that allocates and calls exit, then
 *          raises SIGUSR1 and SIGUSR2 (handled on an alternate stack),
 *          whose handler forks a child that calls _exit
 *   leaf WHAT
 *          allocates, and checks that LD_PRELOAD is as its parent left
 *          it: unset, empty, or whatever it was (keep)
 * Every mode but leaf first makes the root's blocks and mapping, and
 * ends by allocating and freeing at the after-site.
 *
 * Each process prints "ROLE PID" on stdout (root, child, quick, leaf,
 * busy or exiter), so the test knows which report is whose; the root
 * checks each child's exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define PAGE 4096
#define RW   (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

extern char **environ;

static const char *self;
static char *shared_block;
static char *shared_map;

/* Says who this process is, without stdio: a buffer left unflushed
 * before fork would be printed twice. */
static void say(const char *role)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%s %d\n", role, (int)getpid());

	CHECK(write(STDOUT_FILENO, line, (size_t)n) == n, "write failed");
}

static void wait_for(pid_t pid, const char *what)
{
	int status;

	CHECK(pid > 0, "%s: could not start (%s)", what, strerror(errno));
	if (pid <= 0)
		return;
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid(%s) failed", what);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "%s: exit status 0x%x, expected a normal exit 0", what, status);
}

static void root_start(void)
{
	say("root");
	CHECK(malloc(1000) != NULL, "malloc(1000) failed"); /* EXPECT: 1000 1 */ /* EXPECT(leaf): none */
	shared_block = malloc(2000); /* EXPECT: 2000 1 */ /* EXPECT(child): 0 0 */ /* EXPECT(leaf): none */
	shared_map = mmap(NULL, 2 * PAGE, RW, ANON, -1, 0); /* EXPECT: 8192 1 */ /* EXPECT(child): 4096 1 */ /* EXPECT(leaf): none */
	CHECK(shared_block != NULL && shared_map != MAP_FAILED, "the root's allocations failed");
	memset(shared_block, 'r', 2000);
	memset(shared_map, 'r', 2 * PAGE);
}

/* The root frees what it allocates here; the forked child keeps it. */
static void after_site(int keep)
{
	char *p = malloc(300); /* EXPECT: 0 0 */ /* EXPECT(child): 300 1 */ /* EXPECT(leaf): none */

	CHECK(p != NULL, "malloc(300) failed");
	if (!keep)
		free(p);
}

static int run_fork(void)
{
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		say("child");
		CHECK(shared_block[1999] == 'r' && shared_map[2 * PAGE - 1] == 'r',
		      "the child does not see the root's memory");
		free(shared_block);
		CHECK(munmap(shared_map, PAGE) == 0, "munmap failed"); /* EXPECT: none */
		after_site(1);
		exit(CHECK_STATUS());
	}
	wait_for(pid, "the forked child");

	pid = fork();
	if (pid == 0) {
		say("quick");
		CHECK(malloc(555) != NULL, "malloc(555) failed"); /* EXPECT: none */
		_exit(CHECK_STATUS());
	}
	wait_for(pid, "the child that calls _exit");
	return 0;
}

static char *leaf_argv[4];
static char *leaf_env[1024];

/* The environment for the leaf: ours, with LD_PRELOAD taken out
 * (unset) or set to nothing (empty).  Made before fork, and without
 * allocating. */
static char **environment_for(const char *what)
{
	static char empty_preload[] = "LD_PRELOAD=";
	size_t n = 0;

	for (char **e = environ; *e && n < 1022; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) != 0)
			leaf_env[n++] = *e;
	if (!strcmp(what, "empty"))
		leaf_env[n++] = empty_preload;
	leaf_env[n] = NULL;
	return leaf_env;
}

static int run_exec(const char *mode)
{
	char *const *env = environ;
	pid_t pid;

	leaf_argv[0] = (char *)self;
	leaf_argv[1] = "leaf";
	leaf_argv[2] = "keep";
	if (!strcmp(mode, "unset") || !strcmp(mode, "empty")) {
		leaf_argv[2] = (char *)mode;
		env = environment_for(mode);
	}

	if (!strcmp(mode, "spawn")) {
		int rc = posix_spawn(&pid, self, NULL, NULL, leaf_argv, environ);

		CHECK(rc == 0, "posix_spawn: %s", strerror(rc));
		if (rc != 0)
			pid = -1;
	} else if (!strcmp(mode, "vfork")) {
		pid = vfork();
		if (pid == 0) {
			execv(self, leaf_argv);
			_exit(127);
		}
	} else {
		pid = fork();
		if (pid == 0) {
			execve(self, leaf_argv, env);
			_exit(127);
		}
	}
	wait_for(pid, "the exec'd leaf");
	return 0;
}

/* A child that allocates and exits, writing a report at exit without
 * an exec, as a shell's command substitution does; waited for. */
static void run_exiter(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		say("exiter");
		CHECK(malloc(444) != NULL, "malloc(444) failed"); /* EXPECT: none */
		exit(CHECK_STATUS());
	}
	wait_for(pid, "the child that exits");
}

/* A family of FAMILY_CHILDREN children, one after the other: each runs
 * the leaf (@exec), or is an exiter. */
#define FAMILY_CHILDREN 3

static int run_family(bool exec)
{
	for (int i = 0; i < FAMILY_CHILDREN; i++) {
		if (exec)
			run_exec("exec");
		else
			run_exiter();
	}
	return 0;
}

static void fork_in_handler(int sig)
{
	int saved_errno = errno;
	pid_t pid = fork();

	(void)sig;
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	errno = saved_errno;
}

/*
 * A fork in a signal handler, once a child has reported at exit: a
 * handler may interrupt malloc, so the fork must make nothing ready
 * for its child there (preload/lifecycle.c: prepare_for_children).
 */
static int run_handler(void)
{
	static char alternate[64 << 10];
	struct sigaction action = { .sa_handler = fork_in_handler };
	stack_t stack = { .ss_sp = alternate, .ss_size = sizeof(alternate) };

	run_exiter();
	CHECK(sigaction(SIGUSR1, &action, NULL) == 0, "sigaction failed");
	CHECK(raise(SIGUSR1) == 0, "raise failed");
	action.sa_flags = SA_ONSTACK;
	CHECK(sigaltstack(&stack, NULL) == 0 && sigaction(SIGUSR2, &action, NULL) == 0,
	      "sigaltstack or sigaction failed");
	CHECK(raise(SIGUSR2) == 0, "raise failed");
	return 0;
}

/* The leaf's parent is gone before it starts: it descends from the root
 * all the same. */
static int run_orphan(void)
{
	int done[2];
	char c;
	pid_t pid;

	CHECK(pipe(done) == 0, "pipe failed");
	leaf_argv[0] = (char *)self;
	leaf_argv[1] = "leaf";
	leaf_argv[2] = "keep";
	pid = fork();
	if (pid == 0) {
		pid_t parent = getpid();

		close(done[0]);
		if (fork() == 0) {
			while (getppid() == parent)
				sched_yield();
			execv(self, leaf_argv);
			_exit(127);
		}
		_exit(0);
	}
	close(done[1]);
	wait_for(pid, "the orphan's parent");
	/* The leaf holds the pipe's write end until it has exited. */
	CHECK(read(done[0], &c, 1) == 0, "the orphaned leaf wrote on the pipe");
	close(done[0]);
	return 0;
}

static int run_leaf(const char *what)
{
	const char *preload = getenv("LD_PRELOAD");

	say("leaf");
	CHECK(malloc(777) != NULL, "malloc(777) failed"); /* EXPECT: none */ /* EXPECT(leaf): 777 1 */
	if (!strcmp(what, "unset"))
		CHECK(preload == NULL, "LD_PRELOAD is '%s', but the parent took it out", preload);
	else if (!strcmp(what, "empty"))
		CHECK(preload && !*preload, "LD_PRELOAD is '%s', but the parent set it empty",
		      preload ? preload : "(unset)");
	return CHECK_STATUS();
}

/* ---- fork while other threads hold the allocator's locks */

#define BUSY_THREADS  8
#define BUSY_CHILDREN 10

static _Atomic int busy_stop;

static void *busy_thread(void *arg)
{
	(void)arg;
	while (!busy_stop) {
		char *p = malloc(64); /* EXPECT: none */
		char *m = mmap(NULL, PAGE, RW, ANON, -1, 0); /* EXPECT: none */

		free(p);
		if (m != MAP_FAILED)
			munmap(m, PAGE); /* EXPECT: none */
	}
	return NULL;
}

static int run_busy(void)
{
	pthread_t threads[BUSY_THREADS];

	for (int i = 0; i < BUSY_THREADS; i++)
		CHECK(pthread_create(&threads[i], NULL, busy_thread, NULL) == 0, "pthread_create failed");
	for (int i = 0; i < BUSY_CHILDREN; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			char *p = malloc(100); /* EXPECT: none */
			char *m = mmap(NULL, PAGE, RW, ANON, -1, 0); /* EXPECT: none */

			say("busy");
			CHECK(p != NULL && m != MAP_FAILED, "the child could not allocate");
			exit(CHECK_STATUS());
		}
		wait_for(pid, "a child forked while threads allocate");
	}
	busy_stop = 1;
	for (int i = 0; i < BUSY_THREADS; i++)
		CHECK(pthread_join(threads[i], NULL) == 0, "pthread_join failed");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	self = argv[0];
	if (!strcmp(mode, "leaf") && argc == 3)
		return run_leaf(argv[2]);
	if (strcmp(mode, "fork") && strcmp(mode, "exec") && strcmp(mode, "vfork") &&
	    strcmp(mode, "spawn") && strcmp(mode, "unset") && strcmp(mode, "empty") &&
	    strcmp(mode, "orphan") && strcmp(mode, "busy") && strcmp(mode, "alone") &&
	    strcmp(mode, "execs") && strcmp(mode, "exits") && strcmp(mode, "handler")) {
		CHECK(0, "usage: forks fork|exec|vfork|spawn|unset|empty|orphan|busy|"
			 "alone|execs|exits|handler|leaf WHAT");
		return CHECK_STATUS();
	}
	root_start();
	if (!strcmp(mode, "fork"))
		run_fork();
	else if (!strcmp(mode, "busy"))
		run_busy();
	else if (!strcmp(mode, "orphan"))
		run_orphan();
	else if (!strcmp(mode, "execs") || !strcmp(mode, "exits"))
		run_family(!strcmp(mode, "execs"));
	else if (!strcmp(mode, "handler"))
		run_handler();
	else if (strcmp(mode, "alone"))
		run_exec(mode);
	after_site(0);
	return CHECK_STATUS();
}

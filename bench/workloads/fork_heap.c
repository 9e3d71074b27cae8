/*
 * A process that keeps BLOCKS small blocks live (16 to 64 bytes) and
 * then forks CHILDREN children one after another, each allocating and
 * freeing one block and leaving with exit(): the shape of a server that
 * forks a worker per task from a large heap.  Not one of bench/run's
 * workloads: for bench/alternate, where it shows what each child's exit
 * costs.  Under allocinfo every process writes its report at exit, and
 * a child's report counts the blocks it inherited, live in it too: its
 * snapshot reads every slot of the parent's heap.
 *
 *   gcc -O2 -o fork_heap fork_heap.c && ./fork_heap [BLOCKS [CHILDREN]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long blocks = argc > 1 ? atol(argv[1]) : 5000000;
	int children = argc > 2 ? atoi(argv[2]) : 50;
	void **keep = malloc((size_t)(blocks > 0 ? blocks : 1) * sizeof(*keep));

	if (!keep)
		return 1;
	for (long i = 0; i < blocks; i++) {
		keep[i] = malloc(16 + (size_t)(i % 4) * 16);
		if (!keep[i])
			return 1;
	}
	for (int i = 0; i < children; i++) {
		pid_t pid = fork();
		int status;

		if (pid < 0)
			return 1;
		if (pid == 0) {
			char *q = malloc(64);

			if (q)
				memset(q, 1, 64);
			free(q);
			exit(0);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			return 1;
	}
	puts("ok");
	return 0;
}

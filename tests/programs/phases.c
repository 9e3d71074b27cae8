/*
 * A program whose memory changes in two phases, each ended by the test
 * (see tests/lib.sh for the EXPECT markers, and tests/lib_reports.sh for
 * EXPECT(phase1), what a snapshot taken in phase 1 shows).
 *
 * usage: phases exit|_exit|wait
 * It says "phase1 PID" on stdout and waits for a line on stdin, then
 * allocates more and unmaps a page, says "phase2" and waits for another
 * line; then it returns from main (exit), calls _exit(0) (_exit), or
 * waits for a third line that never comes (wait, for SIGKILL).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

#define PAGE 4096

/* Waits for a line on stdin; 0 at end of file. */
static int wait_line(void)
{
	char c;
	ssize_t n;

	while ((n = read(STDIN_FILENO, &c, 1)) == 1)
		if (c == '\n')
			return 1;
	return 0;
}

static void say(const char *text)
{
	size_t n = strlen(text);

	CHECK(write(STDOUT_FILENO, text, n) == (ssize_t)n, "write failed");
}

int main(int argc, char **argv)
{
	const char *end = argc == 2 ? argv[1] : "";
	char line[32], *map;

	if (strcmp(end, "exit") && strcmp(end, "_exit") && strcmp(end, "wait")) {
		CHECK(0, "usage: phases exit|_exit|wait");
		return CHECK_STATUS();
	}
	CHECK(malloc(5000) != NULL, "malloc failed"); /* EXPECT: 5000 1 */
	map = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* EXPECT: 8192 1 */ /* EXPECT(phase1): 12288 1 */
	CHECK(map != MAP_FAILED, "mmap failed");
	snprintf(line, sizeof(line), "phase1 %d\n", (int)getpid());
	say(line);
	CHECK(wait_line(), "stdin closed in phase 1");

	CHECK(malloc(6000) != NULL, "malloc failed"); /* EXPECT: 6000 1 */ /* EXPECT(phase1): none */
	CHECK(munmap(map, PAGE) == 0, "munmap failed"); /* EXPECT: none */
	say("phase2\n");
	CHECK(wait_line(), "stdin closed in phase 2");

	if (!strcmp(end, "_exit"))
		_exit(CHECK_STATUS());
	if (!strcmp(end, "wait"))
		CHECK(!wait_line(), "a third line came");
	return CHECK_STATUS();
}

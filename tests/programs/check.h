/*
 * The test programs' own assertions: each failed check prints what was
 * expected and what happened on stderr and makes the program exit 1
 * (after the remaining checks, so one run shows every failure).
 *
 * Nothing here allocates: stderr is unbuffered, so a failing check adds
 * no record to the report that the test then reads.
 */
#ifndef ALLOCINFO_TEST_CHECK_H
#define ALLOCINFO_TEST_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: check failed: %s: ",        \
				__FILE__, __LINE__, #cond);                 \
			fprintf(stderr, __VA_ARGS__);                       \
			fputc('\n', stderr);                                \
			check_failures++;                                   \
		}                                                           \
	} while (0)

/* What main returns: 0 only if every check passed. */
#define CHECK_STATUS() (check_failures ? 1 : 0)

#endif

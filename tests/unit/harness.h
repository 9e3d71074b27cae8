/*
 * A tiny unit-test harness: checks print the file:line and the failing
 * expression (with both values for the _EQ_ forms) and carry on, so
 * one run lists every failure.  Each check evaluates its arguments once
 * and returns whether it passed, so a test can stop early:
 *
 *	if (!CHECK_EQ_INT(rc, 0))
 *		return;
 *
 * main() runs the tests with RUN_TEST(fn) and ends with
 * `return harness_summary();`, which is the exit status: 0 when all
 * checks passed, 1 otherwise.  Single-file tests only: the counters
 * are static.
 */
#ifndef ALLOCINFO_TESTS_HARNESS_H
#define ALLOCINFO_TESTS_HARNESS_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static unsigned long harness_checks __attribute__((unused));
static unsigned long harness_failed __attribute__((unused));
static const char *harness_test __attribute__((unused)) = "main";

static inline bool harness_fail_head(const char *file, int line)
{
	harness_failed++;
	fprintf(stderr, "%s:%d: FAIL in %s: ", file, line, harness_test);
	return false;
}

static inline bool harness_check(bool ok, const char *file, int line,
				 const char *expr)
{
	harness_checks++;
	if (ok)
		return true;
	harness_fail_head(file, line);
	fprintf(stderr, "%s\n", expr);
	return false;
}

static inline bool harness_check_int(intmax_t a, intmax_t b,
				     const char *file, int line,
				     const char *ea, const char *eb)
{
	harness_checks++;
	if (a == b)
		return true;
	harness_fail_head(file, line);
	fprintf(stderr, "%s == %s: %jd != %jd\n", ea, eb, a, b);
	return false;
}

static inline bool harness_check_uint(uintmax_t a, uintmax_t b,
				      const char *file, int line,
				      const char *ea, const char *eb)
{
	harness_checks++;
	if (a == b)
		return true;
	harness_fail_head(file, line);
	fprintf(stderr, "%s == %s: %ju != %ju\n", ea, eb, a, b);
	return false;
}

/* NULL equals only NULL. */
static inline bool harness_check_str(const char *a, const char *b,
				     const char *file, int line,
				     const char *ea, const char *eb)
{
	harness_checks++;
	if (a == b || (a && b && !strcmp(a, b)))
		return true;
	harness_fail_head(file, line);
	fprintf(stderr, "%s == %s: \"%s\" != \"%s\"\n", ea, eb,
		a ? a : "(null)", b ? b : "(null)");
	return false;
}

#define CHECK(expr) harness_check(!!(expr), __FILE__, __LINE__, #expr)
#define CHECK_EQ_INT(a, b) \
	harness_check_int((intmax_t)(a), (intmax_t)(b), __FILE__, __LINE__, \
			  #a, #b)
#define CHECK_EQ_UINT(a, b) \
	harness_check_uint((uintmax_t)(a), (uintmax_t)(b), __FILE__, \
			   __LINE__, #a, #b)
#define CHECK_EQ_STR(a, b) \
	harness_check_str((a), (b), __FILE__, __LINE__, #a, #b)

#define RUN_TEST(fn) \
	do { \
		harness_test = #fn; \
		fn(); \
		harness_test = "main"; \
	} while (0)

static inline int harness_summary(void)
{
	fprintf(stderr, "%lu checks, %lu failed\n", harness_checks,
		harness_failed);
	return harness_failed ? 1 : 0;
}

#endif

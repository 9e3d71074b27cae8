/*
 * core/jemalloc_math.c against libm: log and exp within 16 units in the
 * last place (a relative error under 4e-15: jemalloc draws sampling
 * intervals with them), round exactly, over their whole ranges (every
 * power of two, and values between them from a fixed pseudo-random
 * sequence) and at their special values.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tests/unit/harness.h"

double allocinfo_jemalloc_log(double x);
double allocinfo_jemalloc_exp(double x);
double allocinfo_jemalloc_round(double x);

/* How many doubles lie between @a and @b (both finite, same sign). */
static uint64_t ulps_apart(double a, double b)
{
	int64_t ia, ib;

	memcpy(&ia, &a, sizeof(ia));
	memcpy(&ib, &b, sizeof(ib));
	return ia > ib ? (uint64_t)(ia - ib) : (uint64_t)(ib - ia);
}

static bool same_double(double ours, double libm)
{
	if (isnan(libm))
		return isnan(ours);
	if (isinf(libm) || libm == 0.0)
		return ours == libm && signbit(ours) == signbit(libm);
	return signbit(ours) == signbit(libm) && ulps_apart(ours, libm) <= 16;
}

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* A double from the bits of @r: every exponent and mantissa, positive. */
static double random_double(uint64_t r)
{
	double x;

	r &= ~(UINT64_C(1) << 63);
	memcpy(&x, &r, sizeof(x));
	return x;
}

static unsigned long mismatches;

static void check_one(const char *name, double (*ours)(double), double (*libm)(double),
		      double x)
{
	double a = ours(x), b = libm(x);

	if (!CHECK(same_double(a, b)) && mismatches++ < 5)
		fprintf(stderr, "  %s(%.17g): %.17g, libm %.17g\n", name, x, a, b);
}

static void test_log(void)
{
	uint64_t state = 88172645463325252ull;
	const double special[] = { 0.0, -0.0, 1.0, -1.0, INFINITY, -INFINITY, NAN,
				   M_E, 0.5, 2.0, 1e-310, 4.9e-324, 1.7976931348623157e308,
				   1.0 - 1e-16, 1.0 + 2.2e-16 };

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		check_one("log", allocinfo_jemalloc_log, log, special[i]);
	for (int e = -1074; e <= 1023; e++)
		check_one("log", allocinfo_jemalloc_log, log, ldexp(1.0, e));
	for (int i = 0; i < 200000; i++) {
		double x = random_double(next_random(&state));

		if (!isnan(x))
			check_one("log", allocinfo_jemalloc_log, log, x);
	}
	/* jemalloc's use: log(u) for u in (0, 1]. */
	for (int i = 0; i < 100000; i++)
		check_one("log", allocinfo_jemalloc_log, log,
			  (double)(next_random(&state) >> 11) / 9007199254740992.0 + 1e-300);
}

static void test_exp(void)
{
	uint64_t state = 2463534242ull;
	const double special[] = { 0.0, -0.0, 1.0, -1.0, INFINITY, -INFINITY, NAN, 709.78,
				   709.8, -745.1, -745.2, -708.0, -720.0, 1e-20, -1e-20 };

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		check_one("exp", allocinfo_jemalloc_exp, exp, special[i]);
	for (int i = 0; i < 300000; i++) {
		/* Uniform over the finite range, and around 0 more densely. */
		double u = (double)(next_random(&state) >> 11) / 9007199254740992.0;
		double x = i % 2 ? -745.0 + u * 1454.7 : (u - 0.5) * 4.0;

		check_one("exp", allocinfo_jemalloc_exp, exp, x);
	}
}

static void test_round(void)
{
	uint64_t state = 1234567ull;
	const double special[] = { 0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994,
				   -0.49999999999999994, 4503599627370495.5, -4503599627370495.5,
				   4503599627370496.0, 9007199254740993.0, INFINITY, -INFINITY, NAN,
				   -0.4, 1e300, -1e-300 };

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		double a = allocinfo_jemalloc_round(special[i]), b = round(special[i]);

		CHECK(isnan(b) ? isnan(a) : a == b && signbit(a) == signbit(b));
	}
	for (int i = 0; i < 300000; i++) {
		double x = ldexp((double)(int64_t)next_random(&state), -(i % 64));
		double a = allocinfo_jemalloc_round(x), b = round(x);

		CHECK(a == b && signbit(a) == signbit(b));
	}
}

int main(void)
{
	RUN_TEST(test_log);
	RUN_TEST(test_exp);
	RUN_TEST(test_round);
	return harness_summary();
}

/*
 * log, exp and round for the library's copy of jemalloc, so that the
 * library needs no libm.
 *
 * jemalloc calls them only in its own heap profiler (prof.c's sampling
 * interval, prof_data.c's unbiasing), which runs only when MALLOC_CONF
 * turns it on; yet their references made the library need libm, which
 * every process then loaded: 0.09 ms a process (bench/alternate
 * --rounds 7 none LIBM -- dash -c 'i=0; while [ $i -lt 300 ]; do
 * /bin/true; i=$((i+1)); done': 1.15 of the time without), and a
 * dlopen("libm.so.6", RTLD_NOLOAD) found it loaded.
 * core/embed_jemalloc.sh renames jemalloc's references to these names.
 *
 * They give libm's results for every argument, to within 16 units in
 * the last place for log and exp (a relative error under 4e-15, where
 * jemalloc draws random sampling intervals), exactly for round:
 * tests/unit/test_jemalloc_math.c compares them with libm's over their
 * ranges.  frexp, ldexp and copysign are libc's.
 */
#include <math.h>

double allocinfo_jemalloc_log(double x);
double allocinfo_jemalloc_exp(double x);
double allocinfo_jemalloc_round(double x);

/* ln 2 in two parts, its high one with zeros in its low bits, so that
 * k * LN2_HI is exact for the k that exp meets (Cody and Waite). */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10

double allocinfo_jemalloc_log(double x)
{
	double m, s, s2, term, sum = 0.0;
	int e;

	if (isnan(x) || x == INFINITY)
		return x;
	if (x == 0.0)
		return -INFINITY;
	if (x < 0.0)
		return NAN;
	/* x = m * 2^e with m in [sqrt(1/2), sqrt(2)). */
	m = frexp(x, &e);
	if (m < M_SQRT1_2) {
		m *= 2.0;
		e--;
	}
	/* log(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), with
	 * |s| <= 0.172: 20 terms reach far below an ulp. */
	s = (m - 1.0) / (m + 1.0);
	s2 = s * s;
	term = s;
	for (int k = 1; k < 42; k += 2) {
		sum += term / k;
		term *= s2;
	}
	return 2.0 * sum + e * LN2_LO + e * LN2_HI;
}

double allocinfo_jemalloc_exp(double x)
{
	double k, r, term = 1.0, sum = 1.0;

	if (isnan(x))
		return x;
	if (x > 709.79)
		return INFINITY;
	if (x < -745.2)
		return 0.0;
	/* x = k ln 2 + r, |r| <= ln 2 / 2: exp(x) = 2^k exp(r). */
	k = (double)(long)(x / M_LN2 + (x < 0.0 ? -0.5 : 0.5));
	r = (x - k * LN2_HI) - k * LN2_LO;
	for (int n = 1; n < 20; n++) {
		term *= r / n;
		sum += term;
	}
	return ldexp(sum, (int)k);
}

double allocinfo_jemalloc_round(double x)
{
	double t;

	/* From 2^52 on (and for infinities and NaN) x is its own. */
	if (!(x > -4503599627370496.0 && x < 4503599627370496.0))
		return x;
	t = (double)(long long)x;	/* toward zero; x - t is exact */
	if (x - t >= 0.5)
		t += 1.0;
	else if (t - x >= 0.5)
		t -= 1.0;
	/* Halfway cases away from zero, and -0.4 to -0.0, as libm's. */
	return copysign(t, x);
}

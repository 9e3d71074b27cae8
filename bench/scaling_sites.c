/*
 * 10,000 distinct malloc call sites in compiled code, with line info,
 * for scaling.c's "code" method (see callsites.h).  A file of its own:
 * it takes gcc some seconds, so it is compiled once.
 */
#include "bench/callsites.h"

BENCH_D4(BENCH_SITE, )

const bench_site_fn scaling_code_sites[] = { BENCH_D4(BENCH_SITE_PTR, ) };
const size_t scaling_code_site_count =
	sizeof(scaling_code_sites) / sizeof(scaling_code_sites[0]);

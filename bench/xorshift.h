/*
 * The bench programs' random numbers: xorshift64*, a few instructions
 * per number, so that choosing what to allocate or free costs next to
 * nothing beside the allocator.  Seeded per thread; never 0.
 */
#ifndef ALLOCINFO_BENCH_XORSHIFT_H
#define ALLOCINFO_BENCH_XORSHIFT_H

#include <stdint.h>

static inline uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

#endif

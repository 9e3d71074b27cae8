/*
 * Distinct allocation call sites for the benchmarks.
 *
 * The profiler keys a tag on the return address of the malloc call, so
 * a benchmark that wants N call sites needs N call instructions.  Each
 * BENCH_SITE(n) below is a function of its own that calls malloc once;
 * the asm comment names n, so no two bodies are identical and neither
 * identical-code folding nor cross-jumping can merge them (the programs
 * are also built with -fno-ipa-icf), and the block escapes into the asm,
 * so the compiler cannot elide the malloc/free pair.
 *
 * All sites have the signature of the trampolines in scaling.c,
 * void *site(size_t size, void *(*alloc)(size_t)), and ignore @alloc:
 * code sites and trampoline sites are called the same way, through a
 * pointer, so their costs compare.
 */
#ifndef ALLOCINFO_BENCH_CALLSITES_H
#define ALLOCINFO_BENCH_CALLSITES_H

#include <stddef.h>
#include <stdlib.h>

typedef void *(*bench_site_fn)(size_t size, void *(*alloc)(size_t));

#define BENCH_SITE(n)							\
	static __attribute__((noinline)) void *				\
	bench_site_##n(size_t size, void *(*alloc)(size_t))		\
	{								\
		void *p = malloc(size);					\
		(void)alloc;						\
		__asm__ volatile("# bench site " #n : "+r"(p));	\
		return p;						\
	}
#define BENCH_SITE_PTR(n) bench_site_##n,

/* D1(M, p) expands M(p0) ... M(p9); D4 makes 10,000 names, 0000-9999. */
#define BENCH_D1(M, p) M(p##0) M(p##1) M(p##2) M(p##3) M(p##4) \
		       M(p##5) M(p##6) M(p##7) M(p##8) M(p##9)
#define BENCH_D2(M, p) BENCH_D1(M, p##0) BENCH_D1(M, p##1) BENCH_D1(M, p##2) \
		       BENCH_D1(M, p##3) BENCH_D1(M, p##4) BENCH_D1(M, p##5) \
		       BENCH_D1(M, p##6) BENCH_D1(M, p##7) BENCH_D1(M, p##8) \
		       BENCH_D1(M, p##9)
#define BENCH_D3(M, p) BENCH_D2(M, p##0) BENCH_D2(M, p##1) BENCH_D2(M, p##2) \
		       BENCH_D2(M, p##3) BENCH_D2(M, p##4) BENCH_D2(M, p##5) \
		       BENCH_D2(M, p##6) BENCH_D2(M, p##7) BENCH_D2(M, p##8) \
		       BENCH_D2(M, p##9)
#define BENCH_D4(M, p) BENCH_D3(M, p##0) BENCH_D3(M, p##1) BENCH_D3(M, p##2) \
		       BENCH_D3(M, p##3) BENCH_D3(M, p##4) BENCH_D3(M, p##5) \
		       BENCH_D3(M, p##6) BENCH_D3(M, p##7) BENCH_D3(M, p##8) \
		       BENCH_D3(M, p##9)

#endif

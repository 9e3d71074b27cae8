/* Libraries loaded only for the profiler (see profiler_libs.c). */
#ifndef ALLOCINFO_PRELOAD_PROFILER_LIBS_H
#define ALLOCINFO_PRELOAD_PROFILER_LIBS_H

/* Hands the early allocations of libraries that only the profiler
 * needs to the profiler's account.  Runs once, at start-up. */
void profiler_libs_claim_sites(void);

#endif

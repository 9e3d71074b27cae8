/*
 * Prints jemalloc's options as the process runs with them, for
 * tests/integration/options.sh: the ones the library sets in its
 * malloc_conf (preload/malloc.c).  jemalloc's mallctl is looked up at
 * run time, so that the program itself links no allocator.
 *
 *   tcache_max=N tcache_gc_delay_bytes=N dirty_decay_ms=N dss=NAME
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <sys/types.h>

typedef int mallctl_fn(const char *name, void *oldp, size_t *oldlenp, void *newp,
		       size_t newlen);

int main(void)
{
	mallctl_fn *mallctl = (mallctl_fn *)dlsym(RTLD_DEFAULT, "mallctl");
	size_t tcache_max, gc_delay, len;
	ssize_t decay;
	const char *dss;

	if (!mallctl) {
		fprintf(stderr, "jemalloc_options: no mallctl in the process\n");
		return 1;
	}
	len = sizeof(tcache_max);
	if (mallctl("opt.tcache_max", &tcache_max, &len, NULL, 0))
		return 1;
	len = sizeof(gc_delay);
	if (mallctl("opt.tcache_gc_delay_bytes", &gc_delay, &len, NULL, 0))
		return 1;
	len = sizeof(decay);
	if (mallctl("opt.dirty_decay_ms", &decay, &len, NULL, 0))
		return 1;
	len = sizeof(dss);
	if (mallctl("opt.dss", &dss, &len, NULL, 0))
		return 1;
	printf("tcache_max=%zu tcache_gc_delay_bytes=%zu dirty_decay_ms=%zd dss=%s\n",
	       tcache_max, gc_delay, decay, dss);
	return 0;
}

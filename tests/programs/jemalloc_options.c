/*
 * Prints jemalloc's options as the process runs with them, for
 * tests/integration/options.sh: the ones the library sets in its
 * malloc_conf (preload/malloc.c).  jemalloc's mallctl is looked up at
 * run time, so that the program itself links no allocator.  Two lines:
 *
 *   tcache_max=N tcache_nslots_large=N tcache_nslots_small_min=N \
 *     tcache_gc_delay_bytes=N dirty_decay_ms=N dss=NAME
 *   narenas=N percpu_arena=NAME
 *
 * The second line's arenas follow the process's limits (one under
 * ulimit -v or -d) and its CPUs: tests/integration/address_limit.sh.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <sys/types.h>

typedef int mallctl_fn(const char *name, void *oldp, size_t *oldlenp, void *newp,
		       size_t newlen);

static mallctl_fn *mallctl;

/* Reads option @name, of @size bytes, into @value; false if it cannot. */
static int read_option(const char *name, void *value, size_t size)
{
	return mallctl(name, value, &size, NULL, 0) == 0;
}

int main(void)
{
	size_t tcache_max, gc_delay;
	unsigned int nslots_large, nslots_small_min;
	ssize_t decay;
	const char *dss, *percpu;
	unsigned int narenas;

	mallctl = (mallctl_fn *)dlsym(RTLD_DEFAULT, "mallctl");
	if (!mallctl) {
		fprintf(stderr, "jemalloc_options: no mallctl in the process\n");
		return 1;
	}
	if (!read_option("opt.tcache_max", &tcache_max, sizeof(tcache_max)) ||
	    !read_option("opt.tcache_nslots_large", &nslots_large, sizeof(nslots_large)) ||
	    !read_option("opt.tcache_nslots_small_min", &nslots_small_min,
			 sizeof(nslots_small_min)) ||
	    !read_option("opt.tcache_gc_delay_bytes", &gc_delay, sizeof(gc_delay)) ||
	    !read_option("opt.dirty_decay_ms", &decay, sizeof(decay)) ||
	    !read_option("opt.dss", &dss, sizeof(dss)) ||
	    !read_option("opt.narenas", &narenas, sizeof(narenas)) ||
	    !read_option("opt.percpu_arena", &percpu, sizeof(percpu)))
		return 1;
	printf("tcache_max=%zu tcache_nslots_large=%u tcache_nslots_small_min=%u "
	       "tcache_gc_delay_bytes=%zu dirty_decay_ms=%zd dss=%s\n",
	       tcache_max, nslots_large, nslots_small_min, gc_delay, decay, dss);
	printf("narenas=%u percpu_arena=%s\n", narenas, percpu);
	return 0;
}

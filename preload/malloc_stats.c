/*
 * glibc's own statistics calls, mallinfo, mallinfo2, malloc_stats and
 * malloc_trim, answered from the jemalloc that serves the program.
 *
 * Not interposed, they reached glibc's allocator, which the preload
 * leaves idle: every figure 0, malloc_trim never releasing anything.  A
 * program that watches its heap with them (a cache that shrinks past a
 * size, a test that checks uordblks grew or came back) saw a heap of
 * nothing.  The figures are jemalloc's, after a refresh of its
 * statistics (the "epoch" control), for all its arenas:
 * - uordblks, "in use": stats.allocated, the bytes of the blocks
 *   allocated, as glibc counts its chunks in use (the profiler's own
 *   blocks among them, as a process's other libraries' are);
 * - arena, "system": stats.active, the bytes of the pages that hold
 *   blocks; fordblks, free: the difference;
 * - hblks and hblkhd: the blocks realloc grew into mappings of their
 *   own and those mappings' bytes (core/alloc.c, grown blocks), as
 *   glibc counts its mmapped blocks; jemalloc serves its large blocks
 *   from its extents, among the figures above;
 * - the blocks the calling thread keeps for reuse (its magazines and
 *   jemalloc's thread cache) are given back first, and so count as free.
 * Where a figure cannot be read it is 0, as glibc's would have been.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/magazine.h"
#include "core/mmap.h"
#include "core/malloc_api.h"
#include "preload/export.h"

struct heap_figures {
	size_t allocated, active, resident, mapped_blocks, mapped_bytes;
};

static size_t read_figure(const char *name)
{
	size_t value = 0, len = sizeof(value);

	if (malloc_api_mallctl(name, &value, &len, NULL, 0) != 0)
		return 0;
	return value;
}

static struct heap_figures heap_figures(void)
{
	uint64_t epoch = 1;
	size_t len = sizeof(epoch);
	struct heap_figures f;

	/* What this thread keeps for reuse is free, as glibc's figures
	 * count its bins: its magazines and jemalloc's thread cache are
	 * emptied first (other threads' still count as in use). */
	core_magazine_empty();
	(void)malloc_api_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	(void)malloc_api_mallctl("epoch", &epoch, &len, &epoch, sizeof(epoch));
	f.allocated = read_figure("stats.allocated");
	f.active = read_figure("stats.active");
	f.resident = read_figure("stats.resident");
	if (f.active < f.allocated)
		f.active = f.allocated;
	core_grown_totals(&f.mapped_blocks, &f.mapped_bytes);
	return f;
}

EXPORT struct mallinfo2 mallinfo2(void)
{
	struct heap_figures f = heap_figures();

	return (struct mallinfo2){
		.arena = f.active,
		.ordblks = 1,
		.uordblks = f.allocated,
		.fordblks = f.active - f.allocated,
		.hblks = f.mapped_blocks,
		.hblkhd = f.mapped_bytes,
	};
}

/* glibc's deprecated form: the same figures in ints, cut as glibc cuts
 * its own. */
EXPORT struct mallinfo mallinfo(void)
{
	struct mallinfo2 m = mallinfo2();

	return (struct mallinfo){
		.arena = (int)m.arena,
		.ordblks = (int)m.ordblks,
		.uordblks = (int)m.uordblks,
		.fordblks = (int)m.fordblks,
		.hblks = (int)m.hblks,
		.hblkhd = (int)m.hblkhd,
	};
}

/* glibc's layout, on stderr. */
EXPORT void malloc_stats(void)
{
	struct heap_figures f = heap_figures();

	fprintf(stderr, "Arena 0:\n");
	fprintf(stderr, "system bytes     = %10zu\n", f.active);
	fprintf(stderr, "in use bytes     = %10zu\n", f.allocated);
	fprintf(stderr, "Total (incl. mmap):\n");
	fprintf(stderr, "system bytes     = %10zu\n", f.active + f.mapped_bytes);
	fprintf(stderr, "in use bytes     = %10zu\n", f.allocated + f.mapped_bytes);
	fprintf(stderr, "max mmap regions = %10u\n", 0u);
	fprintf(stderr, "max mmap bytes   = %10lu\n", 0ul);
}

/* Gives jemalloc's unused dirty pages back at once (all arenas'), and
 * the mapping of a freed grown block that the core keeps for the next
 * (core/mmap.c); 1 if that released memory, as glibc's answers. */
EXPORT int malloc_trim(size_t pad)
{
	size_t before = heap_figures().resident;
	bool released = core_grown_release_kept();

	(void)pad;
	(void)malloc_api_mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
	return released || heap_figures().resident < before;
}

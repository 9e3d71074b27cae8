/*
 * A snapshot: a read-only copy of every tag and its summed counters.
 *
 * This is the only view of the core that report/ gets.  The copy is the
 * reader's own (allocated with ALLOC_NO_CODETAG), so the report writer
 * may name its sites and sort the entries without touching the live
 * table.
 */
#ifndef ALLOCINFO_CORE_SNAPSHOT_H
#define ALLOCINFO_CORE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/codetag.h"

/*
 * What a report names a site by.  The core leaves all but the site
 * empty; report/symbolize.c fills them in on the snapshot's copy.
 */
struct site_name {
	uintptr_t site;            /* the return address named */
	const char *file;
	const char *function;
	const char *module;        /* NULL for the main executable */
	unsigned int line;
};

struct snapshot_entry {
	struct codetag ct;
	struct site_name name;     /* of ct.site */
	int64_t bytes;
	int64_t calls;
};

struct snapshot {
	struct snapshot_entry *entries;   /* program call sites only */
	size_t count;
	int64_t total_bytes, total_calls;       /* sum of entries */
	int64_t profiler_bytes, profiler_calls; /* ALLOC_NO_CODETAG memory */
	/* Of profiler_bytes, the blocks' tags kept outside them: the page
	 * table and the slot arrays (allocator_pages.h), resident.  Memory
	 * per block and per page of the heap, where the rest of
	 * profiler_bytes is per call site or fixed. */
	int64_t block_tag_bytes;
	int64_t allocator_bytes, allocator_calls; /* jemalloc's own mappings */
};

/* Fills @snap; returns 0, or -1 with errno ENOMEM. */
int snapshot_take(struct snapshot *snap);
void snapshot_release(struct snapshot *snap);

#endif

/*
 * Snapshots of the tag table (see snapshot.h).
 *
 * A tag's live bytes and calls are its counters (large blocks, the
 * profiler's mappings and the program's: alloc_tag.h) plus its small
 * blocks' slots (alloc_inline.h).  Both are read while other threads
 * may still allocate: a counter's sum is exact for some instant, a
 * page's slots for some instant, and the whole exact once the
 * program's threads are quiet (at exit).
 */
#include "core/snapshot.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/address_sort.h"
#include "core/alloc.h"
#include "core/alloc_inline.h"
#include "core/alloc_tag.h"
#include "core/allocator_pages.h"
#include "core/exit_arena.h"
#include "core/mmap.h"
#include "core/page_map.h"

/* By site, a site's own tag first, then its chains (ALLOCINFO_DEPTH) by
 * depth and frames. */
static int compare_sites(const void *pa, const void *pb)
{
	const struct snapshot_entry *a = pa, *b = pb;

	if (a->ct.site != b->ct.site)
		return a->ct.site < b->ct.site ? -1 : 1;
	if (a->ct.stack_depth != b->ct.stack_depth)
		return a->ct.stack_depth < b->ct.stack_depth ? -1 : 1;
	if (!a->ct.stack_depth || !a->ct.stack || !b->ct.stack)
		return 0;
	return memcmp(a->ct.stack, b->ct.stack, a->ct.stack_depth * sizeof(*a->ct.stack));
}

/*
 * Two threads that meet a new site (or chain) first as its small slot
 * array closes may give it a tag each, one in either array (codetag.h);
 * every block is counted under the one it got, so its line is their
 * sum.
 */
static size_t merge_duplicate_sites(struct snapshot_entry *entries, size_t n)
{
	size_t kept = 0;

	/* By site: glibc's qsort took clang's 2,600 tags 0.9 M
	 * instructions. */
	address_sort(entries, n, sizeof(*entries), offsetof(struct snapshot_entry, ct.site),
		     compare_sites);
	for (size_t i = 0; i < n; i++) {
		struct snapshot_entry *last = kept ? &entries[kept - 1] : NULL;

		if (last && !compare_sites(last, &entries[i])) {
			last->bytes += entries[i].bytes;
			last->calls += entries[i].calls;
			last->ct.flags |= entries[i].ct.flags;
			continue;
		}
		entries[kept++] = entries[i];
	}
	return kept;
}

/*
 * Takes the snapshot's own array @block of @bytes out of the profiler's
 * memory, which counted it (the two arrays are the report's, gone when
 * it is written), unless it is the last report's (exit_arena.h), which
 * nothing counts.
 */
static void uncount_own_array(struct snapshot *snap, void *block, size_t bytes)
{
	if (exit_arena_holds(block))
		return;
	snap->profiler_bytes -= (int64_t)(core_count_usable_size ? core_usable_size(block) : bytes);
	snap->profiler_calls--;
}

int snapshot_take(struct snapshot *snap)
{
	uint32_t n = codetag_count();
	struct core_live *small;
	size_t used = 0;

	memset(snap, 0, sizeof(*snap));
	snap->entries = core_internal_calloc(n, sizeof(*snap->entries));
	small = core_internal_calloc_touched(n, sizeof(*small));
	if (!snap->entries || !small) {
		core_internal_free(snap->entries);
		core_internal_free(small);
		snap->entries = NULL;
		errno = ENOMEM;
		return -1;
	}
	/* Small blocks are counted by their slots (alloc_inline.h): one
	 * pass over the slot arrays, after the arrays above exist, so that
	 * they are in the profiler's count. */
	core_add_small_live(small, n);
	/* Then the counters (large blocks, mappings): @small holds each
	 * tag's whole count from here on. */
	alloc_tag_add_all(small, n);
	snap->profiler_bytes = small[CODETAG_INTERNAL].bytes;
	snap->profiler_calls = small[CODETAG_INTERNAL].calls;
	uncount_own_array(snap, small, n * sizeof(*small));
	uncount_own_array(snap, snap->entries, n * sizeof(*snap->entries));
	/* The profiler's tables outside the allocator, as much of them as
	 * is in memory: the page-range map's pool, the page table and slot
	 * arrays (allocator_pages.h), the threads' delta arrays and the
	 * codetag table. */
	snap->block_tag_bytes = (int64_t)allocator_pages_resident_bytes();
	snap->profiler_bytes += (int64_t)page_map_overhead();
	snap->profiler_bytes += snap->block_tag_bytes;
	snap->profiler_bytes += (int64_t)alloc_tag_resident_bytes();
	snap->profiler_bytes += (int64_t)codetag_resident_bytes();
	core_mmap_allocator_totals(&snap->allocator_bytes, &snap->allocator_calls);

	for (uint32_t i = CODETAG_OVERFLOW; i < n; i++) {
		const struct alloc_tag *tag = codetag_tag(i);
		struct snapshot_entry *e = &snap->entries[used];

		e->ct.site = __atomic_load_n(&tag->ct.site, __ATOMIC_RELAXED);
		e->ct.flags = __atomic_load_n(&tag->ct.flags, __ATOMIC_RELAXED);
		e->ct.route = __atomic_load_n(&tag->ct.route, __ATOMIC_RELAXED);
		e->ct.stack = tag->ct.stack;
		e->ct.stack_depth = tag->ct.stack_depth;
		e->name = (struct site_name){ .site = e->ct.site };
		e->bytes = small[i].bytes;
		e->calls = small[i].calls;
		/* Skip abandoned indices; keep the overflow tag once used. */
		if (i == CODETAG_OVERFLOW ? e->calls == 0 && e->bytes == 0 &&
					    !e->ct.flags
					  : e->ct.site == 0)
			continue;
		/* A wrapper site charges its callers (core/callsite.c): it is
		 * listed only if it holds memory itself, which happens only
		 * when the unwinder could not find its caller. */
		if (e->ct.route == CODETAG_ROUTE_UNWIND && e->calls == 0 &&
		    e->bytes == 0)
			continue;
		snap->total_bytes += e->bytes;
		snap->total_calls += e->calls;
		used++;
	}
	core_internal_free(small);
	snap->count = used;
	if (codetag_may_have_twins())
		snap->count = merge_duplicate_sites(snap->entries, used);
	return 0;
}

void snapshot_release(struct snapshot *snap)
{
	core_internal_free(snap->entries);
	memset(snap, 0, sizeof(*snap));
}

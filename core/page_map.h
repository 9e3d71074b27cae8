/*
 * The page-range map: every live tracked mapping, by address, with the
 * tag it is charged to.
 *
 * A mapping made at one call site may later be cut by partial munmaps,
 * moved by mremap or overlaid by MAP_FIXED.  The map keeps the pieces
 * that are still mapped; all pieces of one mapping share one record, so
 * <calls> drops only when a mapping loses its last page, and <size> is
 * always the live pages of the site's mappings.
 *
 * Lookups and updates are O(log n) (a treap keyed by start address)
 * under one mutex.  Mappings are system calls already, so the lock is
 * never on the malloc fast path.  The map's nodes come straight from the
 * kernel, never from jemalloc, so updating the map never calls back into
 * the allocator or the interposed mmap.
 */
#ifndef ALLOCINFO_CORE_PAGE_MAP_H
#define ALLOCINFO_CORE_PAGE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Takes the map's lock, with the thread's signals blocked until
 * page_map_unlock, or returns false when this thread holds it already
 * (the profiler mapping while it decides a mapping's tag): then the
 * caller must leave the map alone.  The functions below need it held.
 * A caller holds it across its system call too, so that no other
 * thread's mmap can reuse an address before the map has forgotten it.
 */
bool page_map_lock(void);
void page_map_unlock(void);

/*
 * Records the new mapping [@start, @start + @len) under @tag: +len bytes
 * and +1 call.  The range must be page-aligned and not overlap a tracked
 * range (remove first).  Returns false if the map had no memory for it;
 * the tag is then marked inaccurate.
 */
bool page_map_insert(uintptr_t start, size_t len, uint32_t tag);

/*
 * Forgets the pages [@start, @start + @len): each piece loses those
 * bytes, and a mapping left with no pages loses its call.
 */
void page_map_remove(uintptr_t start, size_t len);

/*
 * mremap: the mapping that holds @old_start keeps its tag and call and
 * now covers [@new_start, @new_start + @new_len) instead of
 * [@old_start, @old_start + @old_len).  With @keep_old (MREMAP_DONTUNMAP)
 * the old pages stay mapped, so the new range is a mapping of its own.
 * Returns false when @old_start was not tracked.
 */
bool page_map_move(uintptr_t old_start, size_t old_len, uintptr_t new_start,
		   size_t new_len, bool keep_old);

/* The tag charged for the page at @addr, or -1 if it is not tracked.
 * Takes the lock itself. */
int64_t page_map_lookup(uintptr_t addr);

/* Bytes the map's own nodes take (the profiler's overhead). */
size_t page_map_overhead(void);

/* fork(): hold the map's lock across the fork so the child gets it
 * unlocked and consistent. */
void page_map_prefork(void);
void page_map_postfork(void);

#endif

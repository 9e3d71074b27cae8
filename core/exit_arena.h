/*
 * The memory of a fork child's last report, at exit or at a fatal
 * signal: a mapping of its own, cut a block after another and never
 * given back, in place of jemalloc's.
 *
 * The report's own allocations (the snapshot's arrays, the text, the
 * symbolizer's strings, the route memory's lists) go through jemalloc
 * and the slot arrays, as the profiler's memory does.  In a fork child
 * that exits without an exec (a shell's command substitution) each
 * first write to a page of jemalloc's, or of a slot array, that the
 * child still shares with its parent makes the kernel copy that page,
 * and on a machine of several CPUs often ask the others to forget it.
 * From a mapping of its own, each block is a bumped pointer on pages
 * no one has touched: `bash -c 'for i in $(seq 100); do x=$(echo a);
 * done'` ran 0.94 of its time without the arena (bench/alternate
 * --rounds 41; 0.97 on one CPU, under taskset).  Elsewhere jemalloc's
 * pages are the process's own and warm, and fresh ones made the report
 * slower: the arena is not used there.
 *
 * Nothing of it is given back before the process ends, so it serves
 * only the last report: begun on the thread that writes it, which holds
 * the report's lock with its signals blocked, so that only the
 * profiler's code allocates on that thread meanwhile (the core asks the
 * arena only for the profiler's own memory: alloc.c).  Other threads go
 * on with jemalloc.  A block's size lies in the 16 bytes before it.
 * Its blocks stay valid after the report, for libc may keep one in a
 * cache of its own (the time zone) and hand it back later: free leaves
 * it, realloc copies it out (or grows the last block in place while the
 * arena is on).  Past EXIT_ARENA_BYTES, or if it cannot be mapped,
 * blocks come from jemalloc again.  A fork child inherits the arena
 * and its cursor, and goes on past what its parent used.
 */
#ifndef ALLOCINFO_CORE_EXIT_ARENA_H
#define ALLOCINFO_CORE_EXIT_ARENA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reserved with MAP_NORESERVE, backed as it is used: a report of
 * 100,000 sites passes it (tests/integration/fork_child_reports.sh). */
#define EXIT_ARENA_BYTES (8ul << 20)

/* Whether this thread's allocations of the profiler's come from the
 * arena now (exit_arena_begin). */
extern __thread bool exit_arena_on;

/* The arena's first byte, set once when it is mapped (0: none); it
 * spans EXIT_ARENA_BYTES. */
extern _Atomic uintptr_t exit_arena_lo;

/* From now on, this thread's allocations of the profiler's come from
 * the arena (mapped on the process's first call); until
 * exit_arena_end. */
void exit_arena_begin(void);
void exit_arena_end(void);

/* Whether @ptr is a block of the arena's. */
static inline bool exit_arena_holds(const void *ptr)
{
	uintptr_t lo = atomic_load_explicit(&exit_arena_lo, memory_order_relaxed);

	return lo && (uintptr_t)ptr - lo < EXIT_ARENA_BYTES;
}

/* A block of @size bytes at a multiple of @align (a power of two; 0
 * for 16), zero-filled; NULL if the arena is full or off. */
void *exit_arena_alloc(size_t size, size_t align);

/* The size asked for the arena's block @ptr. */
size_t exit_arena_size(const void *ptr);

/* The arena's block @ptr grown or shrunk to @size where it stands (it
 * is the last one cut, and the arena is on); else NULL, @ptr as it
 * was. */
void *exit_arena_resize(void *ptr, size_t size);

#endif

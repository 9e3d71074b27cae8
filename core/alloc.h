/*
 * The core allocation API.
 *
 * Every block the profiler hands out, to the program or to itself, comes
 * from here and is backed by jemalloc's non-standard API.  A slot beside
 * the block's page (a large block: its first page's entry) records the
 * block's tag index and the size that was added to the tag
 * (allocator_pages.h), so free, realloc and malloc_usable_size find the
 * tag in O(1) without a lock, and a free subtracts exactly what its
 * allocation added.
 *
 * @site is the return address of the program's call into the allocator;
 * it is ignored with ALLOC_NO_CODETAG.  Functions set errno like glibc's
 * malloc on failure and leave it alone on success.
 */
#ifndef ALLOCINFO_CORE_ALLOC_H
#define ALLOCINFO_CORE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alloc_flags.h"

struct core_options {
	/* Count the allocator's usable size instead of the requested size,
	 * as the kernel counts slab object sizes. */
	bool count_usable_size;
};

/*
 * Applies @options and ends the early window: tags created before this
 * call are marked inaccurate.  Allocations before it are served and
 * counted with the default options.
 */
void core_init(const struct core_options *options);
bool core_is_ready(void);

/*
 * Allocates @size bytes aligned to @align (0 or a power of two; 0 means
 * the default 16).  Accepts ALLOC_FLAGS_ALLOC_SUPPORTED.
 */
void *core_alloc(size_t size, size_t align, unsigned int alloc_flags,
		 uintptr_t site);

/* Frees a block from core_alloc or core_realloc; NULL is a no-op.  A
 * block from glibc's own malloc goes back to glibc. */
void core_free(void *ptr);

/*
 * free with jemalloc's own flags (dallocx's MALLOCX_TCACHE and
 * MALLOCX_ARENA), for jemalloc's API: the block is no longer counted,
 * and goes back to jemalloc as those flags say, never to a cache of
 * ours.  A program that names an arena may destroy it, and a block of
 * it kept in a cache would be handed out again after.  A block in no
 * page the core knows (an arena whose extent hooks map memory
 * themselves) goes straight to jemalloc.
 */
void core_free_jemalloc(void *ptr, int jemalloc_flags);

/*
 * Resizes @ptr to @size bytes and moves it to @site's tag, like a free
 * followed by an allocation.  ptr NULL allocates; size 0 frees and
 * returns NULL (glibc's behaviour).  On failure the old block is left
 * intact.  Accepts ALLOC_FLAGS_REALLOC_SUPPORTED.
 */
void *core_realloc(void *ptr, size_t size, unsigned int alloc_flags,
		   uintptr_t site);

/*
 * Whether the program's malloc is another allocator's, not ours.  The
 * process's symbol lookup binds malloc to the first definition: an
 * executable that defines its own (rustc links jemalloc statically;
 * tcmalloc and mimalloc can be linked so too), or a library preloaded
 * ahead of ours, takes it, and then the program's malloc, calloc,
 * realloc and free never reach us.  Our exports it lacks (operator new
 * and delete, reallocarray, pvalloc, ...) are still called.  The core
 * then hands every allocation for the program to that allocator,
 * untracked, frees a block that is not ours with that allocator's free,
 * and leaves the program's mappings alone (core/mmap.c): the profiler
 * only stays out of the way.  Found on the first call (by the
 * constructor at the latest) from the address the dynamic loader bound
 * and the symbol that starts there (dladdr1, core/alloc.c); one load
 * after that.
 */
bool core_program_has_other_malloc(void);

/* Whether this thread is in fork, past jemalloc's prepare handler:
 * it holds all of jemalloc's locks, and must not allocate. */
bool core_fork_holds_jemalloc(void);

/* Whether jemalloc had no room to start (a small RLIMIT_AS or
 * RLIMIT_DATA): the process then runs on glibc's allocator, unprofiled,
 * and jemalloc is never called.  Known from the first allocation. */
bool core_jemalloc_unusable(void);

/* Bytes usable at @ptr; 0 for NULL. */
size_t core_usable_size(void *ptr);

/* The blocks realloc grew into mappings of their own that live now,
 * and those mappings' bytes (alloc.c, grown blocks). */
void core_grown_totals(size_t *blocks, size_t *bytes);

/* Live bytes and calls of a tag. */
struct core_live {
	int64_t bytes;
	int64_t calls;
};

/*
 * Adds the small blocks alive now to @live[tag] for each tag below @n
 * (a small block is counted by its slot alone: alloc_inline.h).  Report
 * time: it reads every slot array.  Exact when the threads are quiet;
 * while they run, each page's slots are read as of one moment.
 */
void core_add_small_live(struct core_live *live, uint32_t n);

/* Tag @index's live bytes and calls: its counters (large blocks) and
 * its small blocks.  A whole scan of the slots: for tests and tools. */
void core_read_tag(uint32_t index, int64_t *bytes, int64_t *calls);

/* The profiler's own memory: shorthands for ALLOC_NO_CODETAG. */
void *core_internal_alloc(size_t size);
void *core_internal_calloc(size_t n, size_t size);
/*
 * core_internal_calloc for a table that is probed before it is filled:
 * zeroed by writing, so its pages are in memory at once.  Fresh pages
 * from jemalloc are left untouched by calloc, and a page first read
 * maps the zero page and faults again at its first write: a site
 * cache's table took two faults a page.
 */
void *core_internal_calloc_touched(size_t n, size_t size);
void *core_internal_realloc(void *ptr, size_t size);
void core_internal_free(void *ptr);
/* A copy of @text (NULL: NULL), the profiler's memory. */
char *core_internal_strdup(const char *text);

#endif

/*
 * The router's memory: what earlier runs learned about each call site of
 * a module, kept on disk under the module's build-id.
 *
 * Why: a process learns how to route its sites (core/callsite.c) by
 * reading its modules' symbol tables and by unwinding: a backtrace for
 * each site in a function without a symbol, two at each wrapper site to
 * measure where its caller's return address lies, and with stacks on, two
 * per frame.  In a short process every frame is new to libunwind, and
 * that was 10 ms of a 75 ms compile's cc1, paid again by every compile of
 * a build.  What it learns is a property of the code (a build-id names
 * one build), so the next process of the same program takes it from here
 * and starts routing by offsets at its first allocation.
 *
 * What is kept, per site: the classifier's code; with stacks off, an
 * anonymous site's route (seen through or not: decided from the first
 * stack the site was seen in, as within one run); the caller offset,
 * confirmed (two measurements agreed), measured once (a measurement in a
 * later run confirms or retires it), or found to vary.  The answers also
 * depend on the wrapper list, so a file records the allocinfo version and
 * ALLOCINFO_WRAPPERS, and one made otherwise is not read, and is
 * replaced.
 *
 * File: BUILD-ID.routes (the build-id in hex) in the caches' folder
 * (report/cache_dir.h says where, whose, and how it is replaced), text: a
 * header line
 *	allocinfo-routes FORMAT VERSION CONFIG
 * then one line per site, by increasing offset:
 *	OFFSET TAB CODE TAB ROUTE TAB CALLER
 * OFFSET: the site (a return address) less the module's load bias, in
 * hex; CODE: own, wrapper or anonymous; ROUTE: self, unwind or -; CALLER:
 * the offset in decimal or outermost (the frame has no caller), with a
 * trailing ? when measured once, or varies, or -.  A process reads only
 * the lines of the sites it looks up (report/cache_dir.h, struct
 * cache_lines): a file out of order, or cut short, is not used at all,
 * and a line with a flaw is not used; either is written anew once the
 * process has learned its sites.
 */
#ifndef ALLOCINFO_PRELOAD_ROUTE_MEMORY_H
#define ALLOCINFO_PRELOAD_ROUTE_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/callsite.h"

/* Limits on what one module's file may hold, read or written. */
#define ROUTE_MEMORY_MAX_SITES (1u << 20)
#define ROUTE_MEMORY_MAX_BYTES (64u << 20)

/* One module's remembered sites; immutable once loaded. */
struct route_memory;

/* The caches' folder (an ALLOCINFO_CACHE value, NULL for the default)
 * and what else the answers depend on (the wrapper list).  Once, at
 * start-up, before any load. */
void route_memory_configure(const char *setting, const char *config);

/*
 * The remembered sites of the module with @build_id: never NULL (an
 * empty memory when there is no file, no usable one, or no cache).
 * Runs inside malloc, in the profiler's internal scope; keeps errno.
 */
const struct route_memory *route_memory_load(const unsigned char *build_id,
					     size_t build_id_len);

/* Frees what route_memory_load returned. */
void route_memory_free(const struct route_memory *memory);

/* Fills in @facts (all but the module) if @memory holds the site at
 * @offset. */
bool route_memory_find(const struct route_memory *memory, uint64_t offset,
		       struct callsite_facts *facts);

struct learned_site {
	uint64_t offset;
	struct callsite_facts facts;
};

/*
 * Whether @memory has @learned's site and knows as much of it: a run
 * that learned nothing new writes nothing, and need not sort what it
 * learned.  A site with two tags is asked once for each: whatever
 * either knows that the memory does not is seen.
 */
bool route_memory_knows(const struct route_memory *memory, const struct learned_site *learned);

/*
 * Writes the module's file anew if @learned (@n sites in order of
 * offset; one may be listed twice, from two tags) adds a site to the
 * file as it is now (read again) or knows more of one; sites of the
 * file not learned again are kept.  At exit.
 */
void route_memory_store(const unsigned char *build_id, size_t build_id_len,
			const struct route_memory *memory,
			const struct learned_site *learned, size_t n);

#endif

/*
 * Alloc flags: what a caller of the core asks of one allocation.
 *
 * They mirror the kernel's internal alloc flags after "mm: remove
 * __GFP_NO_CODETAG": the request to leave an allocation untagged is a
 * property of the caller (the profiler itself), not a GFP-style hint
 * that the program could pass.  Every core entry point states which of
 * these it accepts and rejects the rest.
 */
#ifndef ALLOCINFO_CORE_ALLOC_FLAGS_H
#define ALLOCINFO_CORE_ALLOC_FLAGS_H

enum alloc_flags {
	ALLOC_DEFAULT    = 0,
	/*
	 * The profiler's own memory (tag table, symbolizer, report writer,
	 * libraries it calls).  Never tagged, never counted as the
	 * program's, and never recurses into call-site capture.  Counted
	 * only in the profiler-overhead total.
	 */
	ALLOC_NO_CODETAG = 1u << 0,
	/* Return zeroed memory (calloc). */
	ALLOC_ZERO       = 1u << 1,
};

#define ALLOC_FLAGS_ALLOC_SUPPORTED   (ALLOC_NO_CODETAG | ALLOC_ZERO)
#define ALLOC_FLAGS_REALLOC_SUPPORTED (ALLOC_NO_CODETAG)

#endif

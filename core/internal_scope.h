/*
 * The profiler's own scope on this thread.
 *
 * Code of the profiler that calls into other libraries (libdw, libc's
 * stdio, dl_iterate_phdr, ...) cannot pass alloc flags to the mallocs
 * those libraries make.  It brackets such calls with
 * core_internal_enter()/core_internal_leave(); every allocation the
 * thread makes in between is treated as ALLOC_NO_CODETAG.  This keeps the
 * one rule intact: the profiler's memory is never the program's and
 * never recurses into call-site capture.
 */
#ifndef ALLOCINFO_CORE_INTERNAL_SCOPE_H
#define ALLOCINFO_CORE_INTERNAL_SCOPE_H

extern __thread unsigned int core_internal_depth;

static inline void core_internal_enter(void)
{
	core_internal_depth++;
}

static inline void core_internal_leave(void)
{
	core_internal_depth--;
}

static inline int core_in_internal_scope(void)
{
	return core_internal_depth != 0;
}

#endif

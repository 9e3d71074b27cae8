/* Where this process stands in a profiled process tree (process.c). */
#ifndef ALLOCINFO_PRELOAD_PROCESS_H
#define ALLOCINFO_PRELOAD_PROCESS_H

#include <stdbool.h>

/* Called once by the constructor. */
void process_init(void);

/*
 * True for a descendant of the profiled process: a fork child, or a
 * program started (exec'd) by a profiled process.
 */
bool process_is_descendant(void);

/* True for a program exec'd in a profiled process tree (not a fork child). */
bool process_was_execed_by_profiled_parent(void);

#endif

/* Reports on fatal signals, invisibly to the program (signals.c). */
#ifndef ALLOCINFO_PRELOAD_SIGNALS_H
#define ALLOCINFO_PRELOAD_SIGNALS_H

#include <stdbool.h>
#include <stddef.h>

/* Installs the report handler where the program's disposition is the
 * default.  Called once by the constructor. */
void signals_init(void);

/*
 * Whether a signal frame may lie within @bytes above @from on this
 * thread's stack: a word there is glibc's restorer, the return address
 * of every handler it installs.  True also when the restorer is not
 * known.  A stale word that only looks like one answers true: for
 * callers to whom true means "do less".
 */
bool signals_frame_above(const void *from, size_t bytes);

#endif

/*
 * Wrapper address ranges: which code is a wrapper, for core/callsite.c.
 *
 * At start-up, and again when an allocation meets a module loaded since,
 * the ELF symbol table of each loaded module (.symtab when the file has
 * one, else .dynsym) is read from its file, and every function whose
 * name report/wrapper_names.h lists becomes a wrapper range.
 */
#ifndef ALLOCINFO_PRELOAD_WRAPPERS_H
#define ALLOCINFO_PRELOAD_WRAPPERS_H

#include "preload/options.h"

/*
 * Takes ALLOCINFO_WRAPPERS and ALLOCINFO_DEPTH from @options, scans the
 * modules loaded so far and starts core/callsite.c.  Called once by the
 * constructor, in the internal scope, before core_init().
 */
void wrappers_start(const struct allocinfo_options *options);

#endif

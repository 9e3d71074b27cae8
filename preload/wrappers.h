/*
 * Wrapper address ranges: which code is a wrapper, for core/callsite.c.
 *
 * The first time an allocation site in a module is classified, the
 * module's ELF symbol table (.symtab when the file has one, else
 * .dynsym) is read from its file, and every function whose name
 * report/wrapper_names.h lists becomes a wrapper range.  Modules that
 * hold no site are never read.  Before that, the router's memory of the
 * module (route_memory.h) is asked: a site an earlier run learned needs
 * no symbol table, and brings what was measured there.
 */
#ifndef ALLOCINFO_PRELOAD_WRAPPERS_H
#define ALLOCINFO_PRELOAD_WRAPPERS_H

#include "preload/options.h"

/*
 * Takes ALLOCINFO_WRAPPERS and ALLOCINFO_DEPTH from @options, lists the
 * modules loaded so far and starts core/callsite.c.  Called once by the
 * constructor, in the internal scope, before core_init().
 */
void wrappers_start(const struct allocinfo_options *options);

/* Keeps what this process learned of its sites in the router's memory,
 * one file per module that has a build-id.  At exit. */
void wrappers_remember(void);

#endif

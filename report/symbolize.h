/*
 * The symbolizer: a call site's address -> file:line [module] func:NAME.
 *
 * It runs in the profiled process at report time, never inside malloc,
 * always in the profiler's internal scope (so libdw's own allocations
 * are ALLOC_NO_CODETAG).  Strings it returns stay valid until
 * symbolizer_close().
 */
#ifndef ALLOCINFO_REPORT_SYMBOLIZE_H
#define ALLOCINFO_REPORT_SYMBOLIZE_H

#include "core/codetag.h"

struct symbolizer;

struct symbolizer *symbolizer_open(void);

/*
 * Fills @ct's file, line, function and module for @ct->site.  With DWARF
 * line info: the source file and line of the call.  Without: file is
 * "MODULE+0xOFFSET" (the return address's offset in the ELF file's
 * address space) and line 0.  Function comes from DWARF or the ELF
 * symbol tables, "?" when unknown.  Module is NULL for the main program.
 */
void symbolizer_resolve(struct symbolizer *sym, struct codetag *ct);

void symbolizer_close(struct symbolizer *sym);

#endif

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

#include <stdbool.h>
#include <stdint.h>

#include "core/snapshot.h"

struct symbolizer;

struct symbolizer *symbolizer_open(void);

/*
 * The cache of answers on disk (site_cache.h): @setting is
 * ALLOCINFO_CACHE's value (NULL: the default folder, "off": none), and
 * @config the wrapper list the answers depend on.  Both must stay valid;
 * called once at start-up, before any symbolizer_open().
 */
void symbolizer_configure_cache(const char *setting, const char *config);

/*
 * Fills @where's file, line, function and module for @where->site.  With DWARF
 * line info: the source file and line of the call, in the function it is
 * written in, inlined or not, unless that function is an inlined wrapper
 * (then its caller's line).  Without: file is "MODULE+0xOFFSET" (the
 * return address's offset in the ELF file's address space) and line 0.
 * Function comes from DWARF or the ELF symbol tables (.symtab, else
 * .dynsym), C++ names demangled without parameters, "?" when unknown.
 * Module is NULL for the main program.
 */
void symbolizer_resolve(struct symbolizer *sym, struct site_name *where);

/*
 * A stack tag's chain (ALLOCINFO_DEPTH) as the record's extra, with its
 * leading blank: " stack:FRAME>FRAME>...", innermost first, each FRAME
 * the site's FILE "@" LINE as symbolizer_resolve() gives them, FILE with
 * '%', ':', '@', '>', blanks and control characters written %XX.  A
 * single ':' after the key keeps it an extra to every reader.  NULL if it
 * does not fit in 8 KiB.  The text is the symbolizer's until its next
 * call.
 */
const char *symbolizer_format_stack(struct symbolizer *sym,
				    const uintptr_t *stack, unsigned int depth);

void symbolizer_close(struct symbolizer *sym);

/* symbolizer_close() in a process that ends: the answers are stored,
 * and the memory is left to the exit.  A fork child's frees made the
 * kernel copy each page of its parent's that they wrote. */
void symbolizer_close_at_exit(struct symbolizer *sym);

/*
 * Makes now what the next symbolizer_open() would read and ask the
 * system before it could answer a site from the cache on disk: the
 * loader's list of modules, and for each module that holds a call site
 * of the tag table, its real path, whether it may have DWARF and its
 * answers in the cache.  That symbolizer_open() takes it, in this
 * process or in a fork child, which inherits it: children that exit
 * without an exec (a shell's command substitutions) each paid for all
 * of it at their report.  Answers read here and missing at the report
 * are read again from the file then; no descriptor is kept.  Under the
 * report's lock, in the internal scope, never in a signal handler.
 */
void symbolizer_prepare(void);
bool symbolizer_is_prepared(void);

/*
 * Before a library at [@lo, @hi) is unloaded: resolves the sites of
 * @snap that lie in it, and keeps their text for the report, keyed by
 * the site each will have once retired with @generation.  Runs under the
 * report lock, in the internal scope.
 */
void symbolizer_remember_sites(const struct snapshot *snap, uintptr_t lo,
			       uintptr_t hi, uint32_t generation);

#endif

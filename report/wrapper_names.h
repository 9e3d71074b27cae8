/*
 * Which functions are wrappers: functions that only allocate for their
 * caller, whose allocations are charged to the caller's call site
 * (core/callsite.h).  A built-in list of glob patterns, plus the
 * program's own (ALLOCINFO_WRAPPERS, handed in by preload/).
 *
 * Patterns match symbol names as the linker sees them (ELF symbols, and
 * DWARF linkage names for inlined code): C names, and mangled C++ names.
 * Rust's are matched by the crate that defines the function
 * (rust_names.h): all of the standard library's crates are wrappers.
 * A user pattern that contains "::" matches the demangled name instead
 * (demangle.h: "Pool::alloc", "*::make_buffer").  '*' matches any run of
 * characters, '?' any one; nothing else is special.
 *
 * Used at run time by preload/wrappers.c, in the profiler's internal
 * scope (it may allocate), and at report time by the symbolizer.
 */
#ifndef ALLOCINFO_REPORT_WRAPPER_NAMES_H
#define ALLOCINFO_REPORT_WRAPPER_NAMES_H

#include <stdbool.h>

/* The longest ALLOCINFO_WRAPPERS value kept. */
#define WRAPPER_NAMES_USER_MAX 4096

/*
 * Adds the comma-separated globs of @list to the built-in ones.  Called
 * once at start-up, before any lookup.  Returns false, adding nothing,
 * if @list is too long or has an empty pattern.
 */
bool wrapper_names_add_user(const char *list);

/* Whether the function named @name (a symbol name) is a wrapper. */
bool wrapper_names_match(const char *name);

/* Whether every built-in pattern is in the trie the matching walks,
 * rather than matched by glob; for the unit tests. */
bool wrapper_names_builtin_in_trie(void);

/* '*' and '?' glob matching; exposed for the unit tests. */
bool wrapper_names_glob(const char *pattern, const char *name);

#endif

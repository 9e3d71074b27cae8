/*
 * C++ names as allocinfo prints them: demangled, without the parameter
 * list, the qualifiers after it or the return type before it, the way
 * `c++filt -p` prints them:
 *
 *   _ZN2ns5Klass6methodEi                       ns::Klass::method
 *   _ZZ4mainENKUlvE_clEv                        main::{lambda()#1}::operator()
 *   _ZNSt6vectorIiSaIiEE17_M_realloc_insert...  std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>
 *
 * The demangler is libstdc++'s __cxa_demangle, looked up with dlsym when
 * first needed: a program with C++ names has libstdc++ loaded, and the
 * preload library does not link it.  It allocates: callers run in the
 * profiler's internal scope.  Its stack is bounded: libstdc++ refuses a
 * name whose parse would take more than 2,048 components (GCC's PR
 * 87675), so its arrays on the stack stay under about 60 KiB, within
 * the profiler stack's room (core/profiler_stack.h).
 */
#ifndef ALLOCINFO_REPORT_DEMANGLE_H
#define ALLOCINFO_REPORT_DEMANGLE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Writes the short demangled form of @name into @buf: a C++ name's, or
 * a Rust name's (report/rust_names.h).  Returns false, leaving @buf
 * unspecified, if @name is neither, cannot be demangled, or does not
 * fit in @size.
 */
bool demangle_short(const char *name, char *buf, size_t size);

/*
 * Cuts a demangled name down to the short form in place: drops a
 * trailing " [clone .cold]", the parameter list and what follows it,
 * and a leading return type.  Exposed for the unit tests.
 */
void demangle_shorten(char *name);

#endif

/*
 * Rust's symbol names, read without a demangling library: the crate a
 * function is defined in, which decides whether it is a wrapper
 * (report/wrapper_names.h: the standard library allocates for its
 * caller), and a short form for reports, like demangle.h's for C++:
 *
 *   _ZN5alloc5alloc5alloc17h4bd1f1d3c2e0a9d1E             alloc::alloc::alloc
 *   _ZN71_$LT$core..hash..sip..Hasher$LT$S$GT$$u20$as$u20$core..hash..Hasher$GT$5write17h..E
 *                                                         <core::hash::sip::Hasher<S> as core::hash::Hasher>::write
 *   _RNvNtCslNYArtu3iFV_5alloc5alloc5alloc                alloc::alloc::alloc
 *   _RNvMs3_NtCs.._5alloc7raw_vecINtB5_6RawVecNtNtB7_6string6StringE8grow_oneCs.._3std
 *                                                         <alloc::raw_vec::RawVec>::grow_one
 *
 * Two manglings live in one program: the legacy one (Itanium's nested
 * names, the last component "h" and 16 hex digits of hash, an impl's
 * types printed with "$LT$"-style escapes), which rustc uses for the
 * program's own code by default, and v0 ("_R", RFC 2603: paths, types
 * and back-references), which a standard library may be built with.
 * The short form drops generic arguments and the hash.
 *
 * Both functions only read @name and write the caller's buffer: no
 * allocation, a bounded recursion, and a bounded number of steps, so a
 * hostile name costs at most a few thousand steps.
 */
#ifndef ALLOCINFO_REPORT_RUST_NAMES_H
#define ALLOCINFO_REPORT_RUST_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/*
 * If @name is a Rust symbol name, the crate whose code defines the
 * function: for an impl's method, the crate of the impl (v0), or of
 * the impl's type, else of its trait (legacy, which names no impl's
 * crate).  Writes it NUL-terminated into @crate (@size bytes) and
 * returns true; false if @name is not a Rust name, is malformed, or the
 * crate does not fit.
 */
bool rust_symbol_crate(const char *name, char *crate, size_t size);

/*
 * If @name is a Rust symbol name, writes its short demangled form into
 * @buf (@size bytes, NUL-terminated) and returns true; false, leaving
 * @buf unspecified, if it is not, is malformed, or does not fit.
 */
bool rust_demangle_short(const char *name, char *buf, size_t size);

#endif

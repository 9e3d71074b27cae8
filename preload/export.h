/*
 * Helpers for the interposition layer: every exported symbol is one line
 * that captures the caller and forwards to the core.
 */
#ifndef ALLOCINFO_PRELOAD_EXPORT_H
#define ALLOCINFO_PRELOAD_EXPORT_H

#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

/*
 * An entry point with an inline fast path starts a cache line, so that
 * its few hot instructions are fetched as one: with free laid across
 * two 64-byte lines, the same code took bench/micro's 16-byte pair from
 * 10.78 ns to 11.65 (bench/alternate, 15 rounds; README, Performance).
 */
#define HOT_EXPORT EXPORT __attribute__((aligned(64)))

/* The call site: the return address into the code that called us. */
#define CALLER ((uintptr_t)__builtin_return_address(0))

#endif

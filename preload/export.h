/*
 * Helpers for the interposition layer: every exported symbol is one line
 * that captures the caller and forwards to the core.
 */
#ifndef ALLOCINFO_PRELOAD_EXPORT_H
#define ALLOCINFO_PRELOAD_EXPORT_H

#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

/* The call site: the return address into the code that called us. */
#define CALLER ((uintptr_t)__builtin_return_address(0))

#endif

/* libearly: a library whose constructor allocates (see libearly.c). */
#ifndef ALLOCINFO_TEST_LIBEARLY_H
#define ALLOCINFO_TEST_LIBEARLY_H

#include <stddef.h>

extern void *early_kept;
extern void *early_freed_by_main;
extern int early_ctor_ran;

void *early_alloc(size_t n);

#endif

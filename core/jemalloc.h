/*
 * jemalloc as the core calls it: the copy linked into the library
 * (core/embed_jemalloc.sh), whose public names carry the prefix
 * allocinfo_je_.  The core includes this, never <jemalloc/jemalloc.h>
 * alone: the names below then reach the copy, not a libjemalloc.so.2
 * that the program may load for itself.
 *
 * malloc, calloc and free keep their names here (the program's), and
 * the copy's are declared under their own.
 */
#ifndef ALLOCINFO_CORE_JEMALLOC_H
#define ALLOCINFO_CORE_JEMALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define mallocx            allocinfo_je_mallocx
#define rallocx            allocinfo_je_rallocx
#define xallocx            allocinfo_je_xallocx
#define sallocx            allocinfo_je_sallocx
#define dallocx            allocinfo_je_dallocx
#define sdallocx           allocinfo_je_sdallocx
#define nallocx            allocinfo_je_nallocx
#define mallctl            allocinfo_je_mallctl
#define mallctlnametomib   allocinfo_je_mallctlnametomib
#define mallctlbymib       allocinfo_je_mallctlbymib
#define malloc_stats_print allocinfo_je_malloc_stats_print

#include <jemalloc/jemalloc.h>

void *allocinfo_je_malloc(size_t size);
void *allocinfo_je_calloc(size_t n, size_t size);
void allocinfo_je_free(void *ptr);

/* Read by the copy as it starts (preload/malloc.c sets them). */
extern const char *allocinfo_je_malloc_conf;
/* Points allocinfo_je_malloc_conf at the options for this process:
 * @address_space_limited, under a finite RLIMIT_AS or RLIMIT_DATA.
 * Called once, before the copy's first call (core/alloc.c). */
void allocinfo_jemalloc_choose_conf(bool address_space_limited);
extern void (*allocinfo_je_malloc_message)(void *opaque, const char *text);

/*
 * The copy's calls to mmap, munmap and pthread_atfork (core/mmap.c,
 * core/alloc.c): renamed in the copy, so that what jemalloc
 * maps is known by the call, not by the caller's address.
 */
void *allocinfo_jemalloc_mmap(void *addr, size_t len, int prot, int flags,
			      int fd, off_t offset);
int allocinfo_jemalloc_munmap(void *addr, size_t len);
int allocinfo_jemalloc_atfork(void (*prepare)(void), void (*parent)(void),
			      void (*child)(void));

#endif

/*
 * Mappings through the core: mmap, munmap and mremap, tagged by call
 * site like any allocation (see mmap.c for who is charged what).
 */
#ifndef ALLOCINFO_CORE_MMAP_H
#define ALLOCINFO_CORE_MMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum core_mmap_mode {
	CORE_MMAP_ANON,   /* anonymous mappings only (the default) */
	CORE_MMAP_ALL,    /* file mappings too */
	CORE_MMAP_NONE,   /* no mapping is tagged */
};

void core_mmap_set_mode(enum core_mmap_mode mode);

void *core_mmap(void *addr, size_t len, int prot, int flags, int fd,
		off_t offset, uintptr_t site);
int core_munmap(void *addr, size_t len);
void *core_mremap(void *old_addr, size_t old_len, size_t new_len, int flags,
		  void *new_addr);

/* Whether @pc lies in jemalloc's code (the library's copy of it). */
bool core_allocator_code_contains(uintptr_t pc);

/* Bytes and mappings the allocator holds from the kernel: jemalloc's,
 * and grown blocks'. */
void core_mmap_allocator_totals(int64_t *bytes, int64_t *mappings);

/*
 * The mappings of grown blocks (core/alloc.c), of whole pages: one of
 * *@len bytes at least (*@len its length), or NULL; one resized from
 * @old_len to @new_len bytes by mremap, in place or moved (its new
 * address), or NULL with the mapping as it was; one given back (the
 * last of them is kept for the next map).  Inside the allocator's
 * scope.
 */
void *core_grown_map(size_t *len);
void *core_grown_resize(void *addr, size_t old_len, size_t new_len);
void core_grown_unmap(void *addr, size_t len);

/* Unmaps the grown block's mapping kept for the next, if there is one
 * (malloc_trim); whether there was. */
bool core_grown_release_kept(void);

#endif

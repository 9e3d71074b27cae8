/*
 * The last report's memory (see exit_arena.h).
 */
#include "core/exit_arena.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Room for a block's size before it, and its least alignment. */
#define HEADER 16

__thread bool exit_arena_on;
_Atomic uintptr_t exit_arena_lo;
/* The next free byte: written only by the thread whose arena is on,
 * which holds the report's lock (one at a time). */
static uintptr_t cursor;

void exit_arena_begin(void)
{
	if (!atomic_load_explicit(&exit_arena_lo, memory_order_relaxed)) {
		/* Raw: the program's mmap is interposed, and would take
		 * this for one of the program's mappings. */
		long mapped = syscall(SYS_mmap, NULL, EXIT_ARENA_BYTES, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (mapped == -1)
			return;
		cursor = (uintptr_t)mapped;
		atomic_store_explicit(&exit_arena_lo, (uintptr_t)mapped, memory_order_release);
	}
	exit_arena_on = true;
}

void exit_arena_end(void)
{
	exit_arena_on = false;
}

static size_t *size_of_block(const void *ptr)
{
	return (size_t *)((uintptr_t)ptr - HEADER);
}

/* Whether a block of @size at @start ends within the arena at @lo. */
static bool fits(uintptr_t lo, uintptr_t start, size_t size)
{
	return size <= EXIT_ARENA_BYTES && start - lo <= EXIT_ARENA_BYTES - size;
}

/* The cursor past a block of @size at @start. */
static uintptr_t block_end(uintptr_t start, size_t size)
{
	return start + ((size + HEADER - 1) & ~(uintptr_t)(HEADER - 1));
}

void *exit_arena_alloc(size_t size, size_t align)
{
	uintptr_t lo = atomic_load_explicit(&exit_arena_lo, memory_order_relaxed);
	uintptr_t start;

	if (!exit_arena_on || !lo)
		return NULL;
	if (align < HEADER)
		align = HEADER;
	start = (cursor + HEADER + align - 1) & ~(uintptr_t)(align - 1);
	if (!fits(lo, start, size))
		return NULL;
	*size_of_block((void *)start) = size;
	cursor = block_end(start, size);
	/* Never written before: its pages are the kernel's zero pages. */
	return (void *)start;
}

size_t exit_arena_size(const void *ptr)
{
	return *size_of_block(ptr);
}

void *exit_arena_resize(void *ptr, size_t size)
{
	uintptr_t lo = atomic_load_explicit(&exit_arena_lo, memory_order_relaxed);
	uintptr_t start = (uintptr_t)ptr;
	size_t *old = size_of_block(ptr);

	if (!exit_arena_on || block_end(start, *old) != cursor || !fits(lo, start, size))
		return NULL;
	/* A shrunk block's tail is cleared: a later block, cut from it,
	 * must be zero-filled as calloc's are. */
	if (size < *old)
		memset((char *)ptr + size, 0, *old - size);
	*old = size;
	cursor = block_end(start, size);
	return ptr;
}

/*
 * Would a cache of freed blocks in front of jemalloc's own (per thread
 * and size class, as jemalloc's tcache is) take malloc and free off
 * jemalloc?  For bench/front_cache.sh: preloaded over glibc's malloc,
 * it replays a program's allocations through such a cache of each of
 * four capacities and prints, at exit, how many operations each would
 * serve itself (a hit: a block it holds, or room for one) and how many
 * blocks would still pass to or from jemalloc, in batches of half the
 * capacity (a miss empties or fills half of it, as jemalloc's tcache
 * refills and flushes).
 *
 * Blocks carry their class, and their distance from glibc's block, in a
 * 16-byte header of the shim's own; sizes
 * follow jemalloc's classes up to 8 KiB (16-byte steps to 128, then
 * four a doubling), larger ones are not counted.  One thread's view:
 * the counts are global, which is exact for single-threaded programs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

#define HEADER 16
#define CLASSES 40
#define UNCOUNTED CLASSES
#define CAPACITIES 4

static const long capacity[CAPACITIES] = { 16, 32, 64, 200 };
static long held[CAPACITIES][CLASSES];
static unsigned long long hits[CAPACITIES], through[CAPACITIES], operations;

static int class_of(size_t n)
{
	int lg;
	size_t step;

	if (n > 8192)
		return UNCOUNTED;
	if (n <= 128)
		return n <= 16 ? 0 : (int)((n + 15) / 16) - 1;
	lg = 63 - __builtin_clzl(n - 1);	/* 2^lg < n <= 2^(lg + 1) */
	step = ((size_t)1 << lg) / 4;
	return 8 + (lg - 7) * 4 + (int)((n - ((size_t)1 << lg) + step - 1) / step) - 1;
}

static void allocated(int c)
{
	if (c == UNCOUNTED)
		return;
	operations++;
	for (int k = 0; k < CAPACITIES; k++) {
		if (held[k][c] > 0) {
			held[k][c]--;
			hits[k]++;
		} else {
			/* Refill half, and hand out one of them. */
			held[k][c] = capacity[k] / 2 - 1;
			through[k] += (unsigned long long)(capacity[k] / 2);
		}
	}
}

static void freed(int c)
{
	if (c == UNCOUNTED)
		return;
	operations++;
	for (int k = 0; k < CAPACITIES; k++) {
		if (held[k][c] < capacity[k]) {
			held[k][c]++;
			hits[k]++;
		} else {
			/* Flush half, then keep this one. */
			held[k][c] = capacity[k] / 2 + 1;
			through[k] += (unsigned long long)(capacity[k] / 2);
		}
	}
}

struct header {
	int class;
	int offset;	/* from glibc's block to the program's */
};

/* The program's block at @offset into glibc's @block, of @n bytes. */
static void *tagged(char *block, size_t offset, size_t n)
{
	struct header h = { class_of(n), (int)offset };

	if (!block)
		return NULL;
	memcpy(block + offset - HEADER, &h, sizeof(h));
	allocated(h.class);
	return block + offset;
}

static struct header header_of(void *ptr)
{
	struct header h;

	memcpy(&h, (char *)ptr - HEADER, sizeof(h));
	return h;
}

void *malloc(size_t n)
{
	return tagged(__libc_malloc(n + HEADER), HEADER, n);
}

void *calloc(size_t count, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(count, size, &n))
		return NULL;
	return tagged(__libc_calloc(1, n + HEADER), HEADER, n);
}

void free(void *ptr)
{
	struct header h;

	if (!ptr)
		return;
	h = header_of(ptr);
	freed(h.class);
	__libc_free((char *)ptr - h.offset);
}

size_t malloc_usable_size(void *ptr)
{
	static size_t (*glibc_usable)(void *);
	struct header h;

	if (!ptr)
		return 0;
	if (!glibc_usable)
		*(void **)&glibc_usable = dlsym(RTLD_NEXT, "malloc_usable_size");
	h = header_of(ptr);
	return glibc_usable((char *)ptr - h.offset) - (size_t)h.offset;
}

void *realloc(void *ptr, size_t n)
{
	struct header h;
	char *block;
	void *moved;
	size_t old;

	if (!ptr)
		return malloc(n);
	h = header_of(ptr);
	if (h.offset != HEADER) {
		/* An aligned block: a plain one takes its place. */
		old = malloc_usable_size(ptr);
		moved = malloc(n);
		if (moved) {
			memcpy(moved, ptr, old < n ? old : n);
			free(ptr);
		}
		return moved;
	}
	block = __libc_realloc((char *)ptr - HEADER, n + HEADER);
	if (!block)
		return NULL;
	freed(h.class);
	return tagged(block, HEADER, n);
}

/* Aligned blocks: the header just before the aligned address. */
static void *aligned(size_t align, size_t n)
{
	if (align < HEADER)
		align = HEADER;
	return tagged(__libc_memalign(align, n + align), align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *ptr = aligned(align, n);

	if (!ptr)
		return ENOMEM;
	*out = ptr;
	return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
	return aligned(align, n);
}

void *memalign(size_t align, size_t n)
{
	return aligned(align, n);
}

__attribute__((destructor)) static void report(void)
{
	char line[512];
	int len;

	if (!operations)
		return;
	len = snprintf(line, sizeof(line), "%s: %llu mallocs and frees up to 8 KiB;",
		       program_invocation_short_name, operations);
	for (int k = 0; k < CAPACITIES; k++)
		len += snprintf(line + len, sizeof(line) - (size_t)len,
				" capacity %ld: %.1f%% hits, %.2f blocks through jemalloc an operation;",
				capacity[k], 100.0 * (double)hits[k] / (double)operations,
				(double)through[k] / (double)operations);
	line[len - 1] = '\n';
	if (write(STDERR_FILENO, line, (size_t)len) < 0)
		return;
}

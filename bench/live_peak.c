/*
 * What the size classes cost at a program's peak, for bench/live_peak.sh.
 *
 * bench/size_slack.c sums every allocation a program makes; a peak RSS
 * is made of the blocks live at one moment.  Preloaded before
 * libjemalloc, this follows the program's live requests (malloc,
 * calloc, realloc, the aligned forms, free) and keeps, at the moment
 * the live requested bytes are highest, how many blocks of each request
 * size were live.  At exit it prints, for the blocks under 16 KiB live
 * at that moment:
 *
 * - the bytes they asked for;
 * - the bytes they take in glibc's chunks (the request and its 8-byte
 *   size field, in 16-byte steps, 32 at least);
 * - the bytes they take in jemalloc's classes (nallocx);
 * - the bytes they would take in classes with eight steps per doubling
 *   from 1 KiB up, one more class halfway between each two of
 *   jemalloc's (1,152 between 1,024 and 1,280, 4,608 between 4,096 and
 *   5,120, ...), as an allocator that served those sizes from slabs of
 *   its own would: what allocinfo could gain over plain jemalloc there;
 * - the five request sizes that lose the most to jemalloc's classes.
 *
 * Each block gets a 16-byte header with its size, so the program's own
 * peak RSS under this tool means nothing: only the counts do.  One lock
 * around the counts, for the rare threaded program; a measurement, not
 * a test.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "size_classes.h"

#define SIZES_MAX 16384
#define HEADER 16

/* Before the block: its request size and the distance back to the
 * start of the underlying allocation. */
struct header {
	size_t size;
	size_t offset;
};

static void *(*next_malloc)(size_t);
static void (*next_free)(void *);
static size_t (*class_of)(size_t, int);
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long live[SIZES_MAX], at_peak[SIZES_MAX];
static unsigned long long live_bytes, peak_bytes;

static int resolve(void)
{
	if (!next_malloc) {
		*(void **)&next_free = dlsym(RTLD_NEXT, "free");
		*(void **)&class_of = dlsym(RTLD_NEXT, "nallocx");
		*(void **)&next_malloc = dlsym(RTLD_NEXT, "malloc");
	}
	return next_malloc && next_free && class_of ? 0 : -1;
}

/* Counts a block of @size bytes in (@sign 1) or out (-1). */
static void count(size_t size, int sign)
{
	pthread_mutex_lock(&lock);
	if (size < SIZES_MAX)
		live[size] += (unsigned long long)sign;
	live_bytes += (unsigned long long)sign * size;
	if (sign > 0 && live_bytes > peak_bytes) {
		peak_bytes = live_bytes;
		memcpy(at_peak, live, sizeof(live));
	}
	pthread_mutex_unlock(&lock);
}

/* @size bytes aligned to @align (a power of two, 16 at least). */
static void *tracked(size_t size, size_t align)
{
	char *base, *block;
	struct header *h;

	if (resolve() < 0 || size > SIZE_MAX - align - HEADER) {
		errno = ENOMEM;
		return NULL;
	}
	base = next_malloc(size + HEADER + (align > 16 ? align : 0));
	if (!base)
		return NULL;
	block = (char *)(((uintptr_t)base + HEADER + align - 1) & ~(uintptr_t)(align - 1));
	h = (struct header *)(void *)(block - HEADER);
	h->size = size;
	h->offset = (size_t)(block - base);
	count(size, 1);
	return block;
}

static struct header *header_of(void *ptr)
{
	return (struct header *)(void *)((char *)ptr - HEADER);
}

void *malloc(size_t size)
{
	return tracked(size, 16);
}

void free(void *ptr)
{
	struct header *h;

	if (!ptr)
		return;
	h = header_of(ptr);
	count(h->size, -1);
	next_free((char *)ptr - h->offset);
}

void *calloc(size_t n, size_t size)
{
	void *ptr;

	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	ptr = tracked(n * size, 16);
	if (ptr)
		memset(ptr, 0, n * size);
	return ptr;
}

void *realloc(void *old, size_t size)
{
	void *ptr;

	if (!old)
		return malloc(size);
	if (!size) {
		free(old);
		return NULL;
	}
	ptr = tracked(size, 16);
	if (ptr) {
		size_t had = header_of(old)->size;

		memcpy(ptr, old, had < size ? had : size);
		free(old);
	}
	return ptr;
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *ptr;

	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	ptr = tracked(size, align < 16 ? 16 : align);
	if (!ptr)
		return ENOMEM;
	*out = ptr;
	return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
	if (!align || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	return tracked(size, align < 16 ? 16 : align);
}

void *memalign(size_t align, size_t size)
{
	return aligned_alloc(align, size);
}

size_t malloc_usable_size(void *ptr)
{
	return ptr ? header_of(ptr)->size : 0;
}

/* With a class halfway between each two of jemalloc's from 1 KiB up to
 * its small classes' end: they are four to a doubling there, so the
 * class below @usable is @usable less a quarter of the power of two
 * under it. */
static size_t halfway_class(size_t n)
{
	size_t usable = class_of(n ? n : 1, 0), step, middle;

	if (usable <= 1024 || usable >= 16384)
		return usable;
	step = (size_t)1 << (63 - __builtin_clzl(usable - 1) - 2);
	middle = usable - step / 2;
	return n <= middle ? middle : usable;
}

__attribute__((destructor)) static void report(void)
{
	double requested = 0, glibc = 0, jemalloc = 0, halfway = 0;

	if (!peak_bytes || resolve() < 0)
		return;
	for (size_t n = 1; n < SIZES_MAX; n++) {
		double blocks = (double)at_peak[n];

		requested += blocks * (double)n;
		glibc += blocks * (double)glibc_chunk(n);
		jemalloc += blocks * (double)class_of(n, 0);
		halfway += blocks * (double)halfway_class(n);
	}
	fprintf(stderr, "peak of live requests %.1f MiB; those under 16 KiB %.1f MiB, "
		"in glibc's chunks %.1f, in jemalloc's classes %.1f, "
		"with halfway classes from 1 KiB %.1f\n",
		peak_bytes / 1048576.0, requested / 1048576.0, glibc / 1048576.0,
		jemalloc / 1048576.0, halfway / 1048576.0);
	print_costliest_sizes(at_peak, SIZES_MAX, class_of, " live", halfway_class,
			      "halfway");
}

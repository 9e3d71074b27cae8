/*
 * What per-block metadata costs in jemalloc's size classes, for
 * bench/size_slack.sh: preloaded after nothing and before libjemalloc,
 * it watches every malloc of a program and prints, at exit, the bytes
 * its small requests (under 4 KiB) take in jemalloc's classes as they
 * are, with a 16-byte header added to each, with a trailer of 8 or 4
 * bytes kept in the class's slack (the next class when the slack is too
 * small), and with a 4-byte slot in an array beside each page, as
 * core/allocator_pages.h keeps them (the array's share of the page,
 * 8 + 4 * (4096 >> floor(log2(class))) bytes, by block).
 *
 * The bytes are summed over all allocations, not live ones: the mix of
 * sizes, which is what the classes act on.
 *
 * It also prints the request sizes under 16 KiB whose rounding up to
 * jemalloc's class costs the most bytes, summed over their requests,
 * beside what glibc's chunks cost them (the request and its 8-byte size
 * field in 16-byte steps, 32 bytes at least): sizes just past a class,
 * as sqlite3's pages of 1,024 and 4,096 bytes plus its 8-byte prefix,
 * take a quarter more in jemalloc, with or without a profiler.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>

#include "size_classes.h"

static void *(*next_malloc)(size_t);
static size_t (*class_of)(size_t, int);
static unsigned long long requests, plain, header16, trailer8, trailer4;
static double page_slots;
static __thread int busy;

#define ROUNDED_MAX 16384
static unsigned long long rounded_calls[ROUNDED_MAX];

static size_t with_trailer(size_t n, size_t trailer)
{
	size_t usable = class_of(n < 16 ? 16 : n, 0);

	return usable - n >= trailer ? usable : class_of(n + trailer, 0);
}

static double with_page_slot(size_t n)
{
	size_t usable = class_of(n < 16 ? 16 : n, 0);
	size_t slots = 4096u >> (31 - __builtin_clz((unsigned int)usable));

	return (double)usable + (8.0 + 4.0 * (double)slots) * (double)usable / 4096.0;
}

void *malloc(size_t n)
{
	if (!next_malloc) {
		*(void **)&next_malloc = dlsym(RTLD_NEXT, "malloc");
		*(void **)&class_of = dlsym(RTLD_NEXT, "nallocx");
	}
	if (!busy && class_of && n && n < ROUNDED_MAX)
		rounded_calls[n]++;
	if (!busy && class_of && n && n < 4096) {
		busy = 1;
		requests++;
		plain += class_of(n, 0);
		header16 += class_of(n + 16, 0);
		trailer8 += with_trailer(n, 8);
		trailer4 += with_trailer(n, 4);
		page_slots += with_page_slot(n);
		busy = 0;
	}
	return next_malloc(n);
}

__attribute__((destructor)) static void report(void)
{
	if (!plain)
		return;
	fprintf(stderr, "%llu small requests: %.2f MiB in their classes; "
		"header 16: %.2fx, trailer 8: %.2fx, trailer 4: %.2fx, "
		"page slots: %.2fx\n",
		requests, plain / 1048576.0, (double)header16 / plain,
		(double)trailer8 / plain, (double)trailer4 / plain,
		page_slots / (double)plain);
	/* The five sizes that lose the most to jemalloc's rounding. */
	print_costliest_sizes(rounded_calls, ROUNDED_MAX, class_of, "",
			      glibc_chunk, "glibc's chunk");
}

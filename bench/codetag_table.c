/*
 * The codetag table against uthash: why the core has its own table.
 *
 * Every allocation looks up its call site, so the lookup is on the
 * malloc fast path.  This measures ns per lookup for the core's
 * lock-free table and for uthash behind the lock it would need to be
 * shared by threads (a pthread rwlock, read-locked for lookups), with
 * 1, 2 and 4 threads looking up a working set of call sites.
 *
 *   make bench/codetag_table && bench/codetag_table
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uthash.h>

#include "core/alloc_tag.h"

#define SITES 2048
#define LOOKUPS_PER_THREAD 20000000L

struct uthash_site {
	uintptr_t site;
	uint32_t index;
	UT_hash_handle hh;
};

static struct uthash_site *uthash_table;
static pthread_rwlock_t uthash_lock = PTHREAD_RWLOCK_INITIALIZER;
static uintptr_t sites[SITES];
static volatile uint32_t sink;

static uint32_t uthash_lookup(uintptr_t site)
{
	struct uthash_site *s;
	uint32_t index;

	pthread_rwlock_rdlock(&uthash_lock);
	HASH_FIND(hh, uthash_table, &site, sizeof(site), s);
	index = s ? s->index : 0;
	pthread_rwlock_unlock(&uthash_lock);
	return index;
}

static void *run_lockfree(void *arg)
{
	uint32_t acc = 0, x = (uint32_t)(uintptr_t)arg * 2654435761u + 1;

	for (long i = 0; i < LOOKUPS_PER_THREAD; i++) {
		x = x * 1103515245u + 12345u;
		acc += codetag_site_lookup(sites[(x >> 8) % SITES]);
	}
	sink = acc;
	return NULL;
}

static void *run_uthash(void *arg)
{
	uint32_t acc = 0, x = (uint32_t)(uintptr_t)arg * 2654435761u + 1;

	for (long i = 0; i < LOOKUPS_PER_THREAD; i++) {
		x = x * 1103515245u + 12345u;
		acc += uthash_lookup(sites[(x >> 8) % SITES]);
	}
	sink = acc;
	return NULL;
}

static double ns_per_lookup(void *(*fn)(void *), int threads)
{
	pthread_t t[8];
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)i);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) /
	       LOOKUPS_PER_THREAD;
}

int main(void)
{
	for (int i = 0; i < SITES; i++) {
		struct uthash_site *s = calloc(1, sizeof(*s));

		/* Return addresses: scattered over a few MiB of text. */
		sites[i] = 0x555555554000u + (uintptr_t)i * 1237u;
		s->site = sites[i];
		s->index = codetag_index_for_site(sites[i]);
		HASH_ADD(hh, uthash_table, site, sizeof(s->site), s);
	}
	printf("%-22s %8s %8s %8s\n", "ns per lookup", "1 thr", "2 thr", "4 thr");
	printf("%-22s", "lock-free (core)");
	for (int t = 1; t <= 4; t *= 2)
		printf(" %8.1f", ns_per_lookup(run_lockfree, t));
	printf("\n%-22s", "uthash + rwlock");
	for (int t = 1; t <= 4; t *= 2)
		printf(" %8.1f", ns_per_lookup(run_uthash, t));
	printf("\n");
	return 0;
}

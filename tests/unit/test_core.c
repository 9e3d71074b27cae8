/*
 * Unit tests of the core: alloc flags, accounting, the early window, the
 * internal scope, and the tag table and counters under threads.  Sites
 * are made-up addresses, so no symbolization is involved.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>

#include "core/alloc.h"
#include "core/alloc_inline.h"
#include "core/alloc_tag.h"
#include "core/allocator_pages.h"
#include "core/callsite.h"
#include "core/exit_arena.h"
#include "core/internal_scope.h"
#include "core/jemalloc.h"
#include "core/mmap.h"
#include "core/page_map.h"
#include "core/snapshot.h"
#include "tests/unit/harness.h"

#define SITE(n) ((uintptr_t)0x100000 + (uintptr_t)(n) * 16)

static const struct snapshot_entry *find(const struct snapshot *snap,
					 uintptr_t site)
{
	for (size_t i = 0; i < snap->count; i++)
		if (snap->entries[i].ct.site == site)
			return &snap->entries[i];
	return NULL;
}

/* Reads one site's counters; -1/-1 when the site has no tag. */
static void site_counts(uintptr_t site, int64_t *bytes, int64_t *calls,
			uint32_t *flags)
{
	struct snapshot snap;
	const struct snapshot_entry *e;

	*bytes = *calls = -1;
	*flags = 0;
	if (snapshot_take(&snap) != 0)
		return;
	e = find(&snap, site);
	if (e) {
		*bytes = e->bytes;
		*calls = e->calls;
		*flags = e->ct.flags;
	}
	snapshot_release(&snap);
}

/* A site's live bytes and calls, as a snapshot gives them. */
#define CHECK_SITE(site, want_bytes, want_calls)			\
	do {								\
		int64_t bytes_, calls_;					\
		uint32_t flags_;					\
									\
		site_counts((site), &bytes_, &calls_, &flags_);		\
		CHECK_EQ_INT(bytes_, (want_bytes));			\
		CHECK_EQ_INT(calls_, (want_calls));			\
	} while (0)

static void test_early_window(void)
{
	int64_t bytes, calls;
	uint32_t flags;
	void *early = core_alloc(40, 0, ALLOC_DEFAULT, SITE(1));
	struct core_options options = { .count_usable_size = false };

	CHECK(!core_is_ready());
	core_init(&options);
	CHECK(core_is_ready());
	void *late = core_alloc(8, 0, ALLOC_DEFAULT, SITE(2));

	site_counts(SITE(1), &bytes, &calls, &flags);
	CHECK_EQ_INT(bytes, 40);
	CHECK_EQ_INT(calls, 1);
	CHECK(flags & CODETAG_FLAG_INACCURATE);
	site_counts(SITE(2), &bytes, &calls, &flags);
	CHECK_EQ_INT(bytes, 8);
	CHECK(!(flags & CODETAG_FLAG_INACCURATE));
	core_free(early);
	core_free(late);
	CHECK_SITE(SITE(1), 0, 0);
}

/* The fast path's class table, filled by core_init a class at a time:
 * each entry is jemalloc's own class for its request. */
static void test_size_classes(void)
{
	for (size_t i = 0; i <= ALLOC_SMALL_USABLE_MAX / 8; i++)
		if (!CHECK_EQ_UINT(small_usable_for(i * 8), nallocx(i * 8 < 16 ? 16 : i * 8, 0)))
			break;
	for (size_t size = 1; size <= ALLOC_SMALL_USABLE_MAX; size += 7)
		if (!CHECK_EQ_UINT(small_usable_for(size), nallocx(size < 16 ? 16 : size, 0)))
			break;
}

static void test_flags_rejected(void)
{
	void *p;

	errno = 0;
	CHECK(core_alloc(8, 0, 1u << 7, SITE(3)) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	p = core_alloc(8, 0, ALLOC_DEFAULT, SITE(3));
	CHECK(p != NULL);
	errno = 0;
	/* realloc does not zero, as krealloc's callers may not rely on it. */
	CHECK(core_realloc(p, 64, ALLOC_ZERO, SITE(3)) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	core_free(p);
	errno = 0;
	CHECK(core_alloc(8, 24, ALLOC_DEFAULT, SITE(3)) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
}

static void test_zero_and_alignment(void)
{
	for (size_t align = 1; align <= 65536; align <<= 1) {
		unsigned char *p = core_alloc(1000, align, ALLOC_ZERO, SITE(4));
		int nonzero = 0;

		CHECK(p != NULL);
		CHECK_EQ_INT((uintptr_t)p % (align < 16 ? 16 : align), 0);
		CHECK(core_usable_size(p) >= 1000);
		for (int i = 0; i < 1000; i++)
			nonzero |= p[i];
		CHECK_EQ_INT(nonzero, 0);
		memset(p, 0xa5, core_usable_size(p));
		core_free(p);
	}
	errno = 0;
	CHECK(core_alloc(SIZE_MAX - 8, 0, ALLOC_DEFAULT, SITE(4)) == NULL);
	CHECK_EQ_INT(errno, ENOMEM);
}

static void test_accounting(void)
{
	void *a = core_alloc(100, 0, ALLOC_DEFAULT, SITE(5));
	void *b = core_alloc(100, 0, ALLOC_DEFAULT, SITE(5));
	void *c = core_alloc(0, 0, ALLOC_DEFAULT, SITE(5));

	CHECK_SITE(SITE(5), 200, 3);

	/* realloc moves the block to the realloc site: a free + an alloc. */
	memset(a, 7, 100);
	a = core_realloc(a, 5000, ALLOC_DEFAULT, SITE(6));
	CHECK(a != NULL && ((unsigned char *)a)[99] == 7);
	CHECK_SITE(SITE(5), 100, 2);
	CHECK_SITE(SITE(6), 5000, 1);

	/* realloc(NULL, n) allocates; realloc(p, 0) frees. */
	void *d = core_realloc(NULL, 33, ALLOC_DEFAULT, SITE(7));
	CHECK(core_realloc(d, 0, ALLOC_DEFAULT, SITE(7)) == NULL);
	CHECK_SITE(SITE(7), 0, 0);

	/* Over-aligned blocks keep their data through realloc. */
	unsigned char *e = core_alloc(64, 4096, ALLOC_DEFAULT, SITE(8));
	memset(e, 3, 64);
	e = core_realloc(e, 128, ALLOC_DEFAULT, SITE(8));
	CHECK(e != NULL && e[63] == 3);
	CHECK_SITE(SITE(8), 128, 1);

	/* A realloc jemalloc cannot serve leaves the block, and its count,
	 * as they were: a small block's slot is cleared while rallocx runs
	 * and must be put back, a large block's count is taken only once
	 * rallocx has moved it. */
	errno = 0;
	CHECK(core_realloc(b, (size_t)1 << 50, ALLOC_DEFAULT, SITE(6)) == NULL);
	CHECK_EQ_INT(errno, ENOMEM);
	CHECK(core_realloc(a, (size_t)1 << 50, ALLOC_DEFAULT, SITE(6)) == NULL);
	CHECK_SITE(SITE(5), 100, 2);
	CHECK_SITE(SITE(6), 5000, 1);

	core_free(a);
	core_free(b);
	core_free(c);
	core_free(e);
	core_free(NULL);
	CHECK_SITE(SITE(5), 0, 0);
}

/*
 * A routed malloc's way to its wrapper's caller, as the fast path reads
 * it (codetag_caller_word_at_slot): the small array's copy of the tag's
 * charge_offset, which codetag_publish_charge_offset stores.  Without
 * the copy the fast path falls back to the tag's own field, 0 here, and
 * finds no caller.  It runs before test_many_sites fills the small
 * array, so that its new sites go there.
 */
static void test_charge_offset_copy(void)
{
	uintptr_t wrapper = SITE(900001), caller = SITE(900002);
	uintptr_t stack[8] = { 0 };
	uintptr_t caller_sp = (uintptr_t)&stack[1];
	const struct codetag_slot *slot = NULL;
	uintptr_t at = 0;
	uint32_t wrapper_word = codetag_site_word(wrapper);
	uint32_t caller_word = codetag_site_word(caller);
	uint32_t index = wrapper_word & CODETAG_SLOT_INDEX;

	/* The wrapper's return address below the caller's stack pointer,
	 * the caller's 24 bytes above it. */
	stack[0] = wrapper;
	stack[1 + 24 / sizeof(uintptr_t)] = caller;
	CHECK(caller_word != 0);
	CHECK_EQ_INT((int64_t)codetag_site_word_small_at(wrapper, &slot), (int64_t)wrapper_word);
	if (!CHECK(slot != NULL))
		return;
	CHECK_EQ_INT(codetag_caller_word_at_slot(slot, wrapper_word, wrapper, caller_sp, &at), 0);
	CHECK_EQ_INT((int64_t)at, 0);
	codetag_publish_charge_offset(index, wrapper, 24);
	CHECK_EQ_INT(atomic_load(&slot->charge_offset), 24);
	CHECK_EQ_INT((int64_t)codetag_caller_word_at_slot(slot, wrapper_word, wrapper, caller_sp,
							   &at),
		     (int64_t)caller_word);
	/* Where the caller lies, for the walk past wrappers called by
	 * wrappers (core_malloc_past_wrapper). */
	CHECK_EQ_INT((int64_t)at, (int64_t)(caller_sp + 24));
	codetag_publish_charge_offset(index, wrapper, 0);
	CHECK_EQ_INT(codetag_caller_word_at_slot(slot, wrapper_word, wrapper, caller_sp, &at), 0);
}

/*
 * Wrappers called by wrappers (codetag_charged_past_wrappers): from a
 * wrapper's caller, by each wrapper's small slot copy of charge_offset,
 * up to a charged site, whose tag is the answer; 0 where the way ends
 * at a site that is neither.  As libstdc++'s _M_append calls
 * _M_mutate, which calls operator new.
 */
static void test_wrapper_chain(void)
{
	uintptr_t inner = SITE(900003), outer = SITE(900004), charged = SITE(900005);
	uint32_t inner_word = codetag_site_word(inner), outer_word = codetag_site_word(outer);
	uint32_t charged_word = codetag_site_word(charged);
	uint32_t charged_index = charged_word & CODETAG_SLOT_INDEX;
	uintptr_t stack[8] = { 0 };

	/* inner's return address at stack[0]; its frame's 16 bytes, then
	 * outer's at stack[3]; 8 bytes, then the charged site's at
	 * stack[5]. */
	stack[0] = inner;
	stack[3] = outer;
	stack[5] = charged;
	CHECK(inner_word != 0 && outer_word != 0 && charged_word != 0);
	CHECK_EQ_INT(codetag_charged_past_wrappers(inner, (uintptr_t)&stack[1]), 0);
	codetag_publish_charge_offset(inner_word & CODETAG_SLOT_INDEX, inner, 16);
	codetag_publish_charge_offset(outer_word & CODETAG_SLOT_INDEX, outer, 8);
	/* The charged site is no charged one yet: the way ends there. */
	CHECK_EQ_INT(codetag_charged_past_wrappers(inner, (uintptr_t)&stack[1]), 0);
	__atomic_store_n(&codetag_tag(charged_index)->ct.route, CODETAG_ROUTE_SELF,
			 __ATOMIC_RELAXED);
	codetag_publish_route(charged_index);
	CHECK_EQ_INT(codetag_charged_past_wrappers(inner, (uintptr_t)&stack[1]),
		     (int64_t)charged_index);
	/* From outer, one wrapper fewer. */
	CHECK_EQ_INT(codetag_charged_past_wrappers(outer, (uintptr_t)&stack[4]),
		     (int64_t)charged_index);
	/* Where a wrapper's way is gone, so is the answer. */
	codetag_publish_charge_offset(outer_word & CODETAG_SLOT_INDEX, outer, 0);
	CHECK_EQ_INT(codetag_charged_past_wrappers(inner, (uintptr_t)&stack[1]), 0);
}

/*
 * Tags at every size: sizes on both sides of each small class boundary,
 * of the small/large boundary and of large classes, with and without
 * alignment, through realloc chains.  Each block is written over all of
 * malloc_usable_size, as a program may, and the counts must still come
 * out exact: the tag lies outside the block (allocator_pages.h), and
 * free finds it.
 */
#define TRAILER_BLOCKS 4096

static void test_block_tag_sizes(void)
{
	static void *blocks[TRAILER_BLOCKS];
	static size_t sizes[TRAILER_BLOCKS];
	static const size_t aligns[] = { 0, 16, 32, 64, 256, 4096, 8192 };
	int64_t bytes, calls, want = 0;
	uint32_t flags;
	size_t n = 0, usable;
	bool overwrite_ok = true, usable_ok = true;

	for (size_t size = 0; size <= 9000 && n < TRAILER_BLOCKS; size += size < 600 ? 1 : 7) {
		size_t align = aligns[size % (sizeof(aligns) / sizeof(aligns[0]))];

		blocks[n] = core_alloc(size, align, ALLOC_DEFAULT, SITE(40));
		if (!blocks[n])
			break;
		usable = core_usable_size(blocks[n]);
		usable_ok &= usable >= size && (!align || (uintptr_t)blocks[n] % align == 0);
		memset(blocks[n], 0xa5, usable);
		sizes[n] = size;
		want += (int64_t)size;
		n++;
	}
	for (size_t big = 12000; big <= (4u << 20) && n < TRAILER_BLOCKS; big = big * 5 / 4) {
		for (size_t size = big - 20; size <= big + 20 && n < TRAILER_BLOCKS; size += 4) {
			blocks[n] = core_alloc(size, 0, ALLOC_DEFAULT, SITE(40));
			if (!blocks[n])
				break;
			usable = core_usable_size(blocks[n]);
			usable_ok &= usable >= size;
			memset(blocks[n], 0x5a, usable);
			sizes[n] = size;
			want += (int64_t)size;
			n++;
		}
	}
	CHECK(usable_ok);
	CHECK(n > 2000);
	CHECK_SITE(SITE(40), want, (int64_t)n);

	/* Every other block grows or shrinks across the boundaries, to a
	 * site of its own, keeping its first bytes. */
	want = 0;
	for (size_t i = 0; i < n; i += 2) {
		size_t to = sizes[i] % 3 ? sizes[i] * 2 + 5 : sizes[i] / 3 + 1;
		unsigned char *p = core_realloc(blocks[i], to, ALLOC_DEFAULT, SITE(41));

		if (!p) {
			overwrite_ok = false;
			continue;
		}
		if (sizes[i] && to && p[0] != 0xa5 && p[0] != 0x5a)
			overwrite_ok = false;
		memset(p, 0x3c, core_usable_size(p));
		blocks[i] = p;
		sizes[i] = to;
		want += (int64_t)to;
	}
	CHECK(overwrite_ok);
	CHECK_SITE(SITE(41), want, (int64_t)(n + 1) / 2);

	/* Within its class a block grows in place: the same pointer, the
	 * counts moved to the realloc's site, the bytes kept. */
	{
		unsigned char *p = core_alloc(100, 0, ALLOC_DEFAULT, SITE(42));
		unsigned char *q;

		memset(p, 0x77, 100);
		q = core_realloc(p, 104, ALLOC_DEFAULT, SITE(43));
		CHECK(q == p && q[99] == 0x77);
		CHECK_SITE(SITE(42), 0, 0);
		CHECK_SITE(SITE(43), 104, 1);
		CHECK(core_usable_size(q) >= 104);
		core_free(q);
		site_counts(SITE(43), &bytes, &calls, &flags);
		CHECK_EQ_INT(bytes, 0);
	}

	for (size_t i = 0; i < n; i++)
		core_free(blocks[i]);
	CHECK_SITE(SITE(40), 0, 0);
	CHECK_SITE(SITE(41), 0, 0);
}

/*
 * A thread's counters grow with the tags it counts (alloc_tag.c): one
 * thread allocates at 30,000 sites, past its first array, and another
 * frees every block; each site's counts stay exact throughout.  The
 * sites fill the small and the medium slot arrays and go on into the
 * large one (alloc_tag.h).
 */
#define MANY_SITES 30000

static void *many_blocks[MANY_SITES];

static void *allocate_at_many_sites(void *arg)
{
	(void)arg;
	for (int i = 0; i < MANY_SITES; i++)
		many_blocks[i] = core_alloc(24 + (size_t)i % 40, 0, ALLOC_DEFAULT,
					    SITE(20000 + i));
	return NULL;
}

static void *free_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < MANY_SITES; i++)
		core_free(many_blocks[i]);
	return NULL;
}

static void test_many_sites(void)
{
	struct snapshot snap;
	pthread_t thread;
	int64_t bytes = 0, calls = 0;
	bool exact = true;

	CHECK(pthread_create(&thread, NULL, allocate_at_many_sites, NULL) == 0);
	CHECK(pthread_join(thread, NULL) == 0);
	if (CHECK(snapshot_take(&snap) == 0)) {
		for (int i = 0; i < MANY_SITES; i++) {
			const struct snapshot_entry *e = find(&snap, SITE(20000 + i));

			exact &= e && e->bytes == 24 + i % 40 && e->calls == 1;
		}
		snapshot_release(&snap);
	}
	CHECK(exact);
	CHECK(pthread_create(&thread, NULL, free_many, NULL) == 0);
	CHECK(pthread_join(thread, NULL) == 0);
	if (CHECK(snapshot_take(&snap) == 0)) {
		for (int i = 0; i < MANY_SITES; i++) {
			const struct snapshot_entry *e = find(&snap, SITE(20000 + i));

			if (e) {
				bytes += e->bytes;
				calls += e->calls;
			}
		}
		snapshot_release(&snap);
	}
	CHECK_EQ_INT(bytes, 0);
	CHECK_EQ_INT(calls, 0);
}

/*
 * A thread's deltas are read only in the pages of its array it wrote
 * (struct thread_counters, written): large blocks, which are counted
 * there, at tags a page or more apart, read while the thread lives
 * (the report's sum) and after it exits (the fold into the shared
 * counters), then freed by another thread.  A delta written without
 * its page's bit would be lost to both.
 */
#define DELTA_PAGE_SITES 8
#define DELTA_PAGE_SPACING ((int)THREAD_COUNTERS_PAGE_TAGS + 40)
#define DELTA_LARGE (ALLOC_SMALL_USABLE_MAX + 4000)

static void *delta_blocks[DELTA_PAGE_SITES];
static pthread_barrier_t delta_barrier;

static uintptr_t delta_site(int k)
{
	return SITE(100000 + k * (DELTA_PAGE_SPACING + 1));
}

static void *count_in_spread_pages(void *arg)
{
	(void)arg;
	for (int k = 0; k < DELTA_PAGE_SITES; k++) {
		/* Tags for the sites between, so that the next large
		 * site's tag lies a page of deltas further on. */
		for (int f = 1; f <= DELTA_PAGE_SPACING; f++)
			core_free(core_alloc(16, 0, ALLOC_DEFAULT, delta_site(k) + 16 * f));
		delta_blocks[k] = core_alloc(DELTA_LARGE + k, 0, ALLOC_DEFAULT, delta_site(k));
	}
	pthread_barrier_wait(&delta_barrier);	/* counted: main reads */
	pthread_barrier_wait(&delta_barrier);	/* read: free half, exit */
	for (int k = 0; k < DELTA_PAGE_SITES; k += 2)
		core_free(delta_blocks[k]);
	return NULL;
}

static void test_delta_pages(void)
{
	pthread_t thread;

	pthread_barrier_init(&delta_barrier, NULL, 2);
	CHECK(pthread_create(&thread, NULL, count_in_spread_pages, NULL) == 0);
	pthread_barrier_wait(&delta_barrier);
	for (int k = 0; k < DELTA_PAGE_SITES; k++)
		CHECK_SITE(delta_site(k), DELTA_LARGE + k, 1);
	pthread_barrier_wait(&delta_barrier);
	CHECK(pthread_join(thread, NULL) == 0);
	for (int k = 0; k < DELTA_PAGE_SITES; k++)
		CHECK_SITE(delta_site(k), k % 2 ? DELTA_LARGE + k : 0, k % 2);
	for (int k = 1; k < DELTA_PAGE_SITES; k += 2)
		core_free(delta_blocks[k]);
	for (int k = 0; k < DELTA_PAGE_SITES; k++)
		CHECK_SITE(delta_site(k), 0, 0);
	pthread_barrier_destroy(&delta_barrier);
}

/*
 * The tables the profiler maps outside the allocator count as its
 * memory: this thread has counted, so its delta array has a page in
 * memory, and so does the page table that holds its blocks; the
 * snapshot's profiler_bytes includes both.
 */
static void test_profiler_tables(void)
{
	struct snapshot snap;
	size_t deltas = alloc_tag_resident_bytes();
	size_t pages = allocator_pages_resident_bytes();

	CHECK(deltas >= 4096);
	CHECK(pages >= 4096);
	if (CHECK(snapshot_take(&snap) == 0)) {
		CHECK(snap.profiler_bytes >= (int64_t)(deltas + pages));
		snapshot_release(&snap);
	}
}

static void test_no_codetag(void)
{
	int64_t before_bytes, before_calls, bytes, calls;
	uint32_t flags;
	void *p, *q;

	/* The profiler's own tag (profiler_bytes also has the tables'
	 * resident pages, which the snapshots themselves may grow). */
	core_read_tag(CODETAG_INTERNAL, &before_bytes, &before_calls);
	p = core_alloc(4096, 0, ALLOC_NO_CODETAG, SITE(9));
	core_internal_enter();
	q = core_alloc(1000, 0, ALLOC_DEFAULT, SITE(9)); /* scope wins */
	core_internal_leave();
	site_counts(SITE(9), &bytes, &calls, &flags);
	CHECK_EQ_INT(bytes, -1); /* never tagged: the site is unknown */
	core_read_tag(CODETAG_INTERNAL, &bytes, &calls);
	CHECK_EQ_INT(bytes - before_bytes, 5096);
	CHECK_EQ_INT(calls - before_calls, 2);
	core_free(p);
	core_free(q);
	core_read_tag(CODETAG_INTERNAL, &bytes, &calls);
	CHECK_EQ_INT(bytes, before_bytes);
	CHECK_EQ_INT(calls, before_calls);
}

/*
 * The page-range map on its own, with made-up page addresses (it never
 * touches the memory): a mapping's bytes follow its live pages, its call
 * goes with its last page, mremap keeps the tag, and lookups find the
 * piece that holds an address.
 */
#define PAGE 4096u
#define MAP_BASE ((uintptr_t)0x7000000000)

static void test_page_map(void)
{
	uint32_t a = codetag_index_for_site_unrouted(SITE(20));
	uint32_t b = codetag_index_for_site_unrouted(SITE(21));
	int64_t bytes, calls;
	uint32_t flags;

	CHECK(page_map_lock());
	CHECK(!page_map_lock());	/* this thread holds it: re-entry refused */
	CHECK(page_map_insert(MAP_BASE, 8 * PAGE, a));
	CHECK(page_map_insert(MAP_BASE + 16 * PAGE, 2 * PAGE, b));
	/* Cut a hole in the middle of A: two pieces, still one call. */
	page_map_remove(MAP_BASE + 3 * PAGE, 2 * PAGE);
	page_map_unlock();

	CHECK_SITE(SITE(20), 6 * PAGE, 1);
	CHECK_EQ_INT(page_map_lookup(MAP_BASE + 2 * PAGE + 100), a);
	CHECK_EQ_INT(page_map_lookup(MAP_BASE + 3 * PAGE), -1);
	CHECK_EQ_INT(page_map_lookup(MAP_BASE + 7 * PAGE + 4095), a);
	CHECK_EQ_INT(page_map_lookup(MAP_BASE + 8 * PAGE), -1);
	CHECK_EQ_INT(page_map_lookup(MAP_BASE + 17 * PAGE), b);

	CHECK(page_map_lock());
	/* Move A's tail piece away and grow it: the call stays with A. */
	CHECK(page_map_move(MAP_BASE + 5 * PAGE, 3 * PAGE, MAP_BASE + 32 * PAGE,
			    5 * PAGE, false));
	/* One removal across B and the hole after it. */
	page_map_remove(MAP_BASE + 15 * PAGE, 4 * PAGE);
	page_map_unlock();

	site_counts(SITE(20), &bytes, &calls, &flags);
	CHECK_EQ_INT(bytes, 8 * PAGE);	/* 3 head pages + 5 moved */
	CHECK_EQ_INT(calls, 1);
	CHECK_EQ_INT(page_map_lookup(MAP_BASE + 36 * PAGE), a);
	CHECK_EQ_INT(page_map_lookup(MAP_BASE + 6 * PAGE), -1);
	CHECK_SITE(SITE(21), 0, 0);

	/* A's last pages go: its call with them. */
	CHECK(page_map_lock());
	page_map_remove(MAP_BASE, 64 * PAGE);
	page_map_unlock();
	CHECK_SITE(SITE(20), 0, 0);
	CHECK_EQ_INT(page_map_lookup(MAP_BASE), -1);
}

/*
 * A block from glibc's malloc (a library loaded with RTLD_DEEPBIND gets
 * those) goes back to glibc: never read as one of ours.
 */
extern void *__libc_malloc(size_t size);

static void test_foreign_blocks(void)
{
	int64_t before_bytes, before_calls, bytes, calls;
	char *p = __libc_malloc(100);
	char *q = __libc_malloc(100);

	CHECK(p != NULL && q != NULL);
	core_read_tag(CODETAG_INTERNAL, &before_bytes, &before_calls);
	CHECK(core_usable_size(p) >= 100);
	memset(q, 5, 100);
	q = core_realloc(q, 4000, ALLOC_DEFAULT, SITE(10));
	CHECK(q != NULL && q[99] == 5);
	core_free(p);
	core_free(q);
	core_read_tag(CODETAG_INTERNAL, &bytes, &calls);
	CHECK_EQ_INT(bytes, before_bytes);
	CHECK_EQ_INT(calls, before_calls);
}

/*
 * Threads: every thread allocates at the same shared sites and at sites
 * of its own, racing to insert them, and frees blocks that another
 * thread allocated.  Totals must come out exact.
 */
#define THREADS 4
#define PER_THREAD 100000
#define SHARED_SITES 64

static void *blocks[THREADS][PER_THREAD];
static pthread_barrier_t barrier;

static void *thread_main(void *arg)
{
	uintptr_t id = (uintptr_t)arg;

	pthread_barrier_wait(&barrier);
	for (int i = 0; i < PER_THREAD; i++) {
		uintptr_t site = i % 2 ? SITE(1000 + (i / 2) % SHARED_SITES)
				       : SITE(2000 + id);

		blocks[id][i] = core_alloc(24, 0, ALLOC_DEFAULT, site);
	}
	pthread_barrier_wait(&barrier);
	/* Free the next thread's blocks, all but every tenth. */
	for (int i = 0; i < PER_THREAD; i++)
		if (i % 10)
			core_free(blocks[(id + 1) % THREADS][i]);
	return NULL;
}

static void test_threads(void)
{
	pthread_t threads[THREADS];
	struct snapshot snap;
	int64_t shared_bytes = 0, shared_calls = 0;

	pthread_barrier_init(&barrier, NULL, THREADS);
	for (uintptr_t t = 0; t < THREADS; t++)
		pthread_create(&threads[t], NULL, thread_main, (void *)t);
	for (int t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);

	CHECK_EQ_INT(snapshot_take(&snap), 0);
	for (int s = 0; s < SHARED_SITES; s++) {
		const struct snapshot_entry *e = find(&snap, SITE(1000 + s));

		CHECK(e != NULL);
		if (e) {
			shared_bytes += e->bytes;
			shared_calls += e->calls;
		}
	}
	for (int t = 0; t < THREADS; t++) {
		const struct snapshot_entry *e = find(&snap, SITE(2000 + t));

		/* Even i: i % 10 == 0 keeps 1 in 5 of the 50,000. */
		CHECK(e != NULL);
		if (e) {
			CHECK_EQ_INT(e->calls, PER_THREAD / 10);
			CHECK_EQ_INT(e->bytes, 24 * PER_THREAD / 10);
		}
	}
	/* Odd i never has i % 10 == 0: every shared block was freed. */
	CHECK_EQ_INT(shared_calls, 0);
	CHECK_EQ_INT(shared_bytes, 0);
	/* Each site appears once, however many threads raced to insert. */
	for (size_t i = 0; i < snap.count; i++)
		for (size_t j = i + 1; j < snap.count; j++)
			if (snap.entries[i].ct.site == snap.entries[j].ct.site)
				CHECK(!"duplicate site in snapshot");
	snapshot_release(&snap);

	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < PER_THREAD; i += 10)
			core_free(blocks[t][i]);
}

/*
 * A thread's magazines (magazine.h): its first free of a class opens
 * them (that block goes to jemalloc), the next ones stay in the thread
 * with their slots cleared, its mallocs take them back last in, first
 * out (calloc's zeroed), and every block goes back to jemalloc when the
 * thread exits.
 * Without that flush, each thread below would leave 15 blocks of 256
 * bytes allocated in jemalloc's eyes: 1.9 MB over MAGAZINE_THREADS.
 */
#define MAGAZINE_THREADS 500
#define MAGAZINE_BLOCKS  16
#define MAGAZINE_SITE    SITE(60000)

static size_t jemalloc_allocated(void)
{
	uint64_t epoch = 1;
	size_t allocated = 0, len = sizeof(epoch);

	CHECK_EQ_INT(mallctl("epoch", &epoch, &len, &epoch, len), 0);
	len = sizeof(allocated);
	CHECK_EQ_INT(mallctl("stats.allocated", &allocated, &len, NULL, 0), 0);
	return allocated;
}

/* 0 if the thread's magazine behaved, else the check that failed. */
static void *fill_magazine(void *arg)
{
	static const char zeros[256];
	unsigned int magazine = core_magazine_of_usable[256 / 16];
	void *blocks[MAGAZINE_BLOCKS], *again, *zeroed;
	int64_t bytes, calls;

	(void)arg;
	for (int i = 0; i < MAGAZINE_BLOCKS; i++)
		blocks[i] = core_malloc(256, MAGAZINE_SITE);
	for (int i = 0; i < MAGAZINE_BLOCKS; i++)
		core_free_inline(blocks[i]);
	if (magazine == CORE_MAGAZINE_NONE ||
	    core_thread.magazine_count[magazine] != MAGAZINE_BLOCKS - 1)
		return (void *)1;
	again = core_malloc(250, MAGAZINE_SITE);
	if (again != blocks[MAGAZINE_BLOCKS - 1] ||
	    core_thread.magazine_count[magazine] != MAGAZINE_BLOCKS - 2)
		return (void *)2;
	core_read_tag(codetag_site_find(MAGAZINE_SITE), &bytes, &calls);
	if (bytes != 250 || calls != 1)
		return (void *)3;
	/* calloc takes it again, zeroed whole, as jemalloc's are. */
	memset(again, 0xa5, 256);
	core_free_inline(again);
	zeroed = core_calloc(1, 250, MAGAZINE_SITE);
	if (zeroed != again || memcmp(zeroed, zeros, 256) != 0)
		return (void *)4;
	core_read_tag(codetag_site_find(MAGAZINE_SITE), &bytes, &calls);
	if (bytes != 250 || calls != 1)
		return (void *)5;
	core_free_inline(zeroed);
	core_read_tag(codetag_site_find(MAGAZINE_SITE), &bytes, &calls);
	return bytes == 0 && calls == 0 ? NULL : (void *)6;
}

static void test_magazines(void)
{
	size_t before, after;
	int failed = 0;

	/* One thread first: jemalloc's own per-thread and arena metadata
	 * are then made before the count starts. */
	for (int round = 0; round < 2; round++) {
		int threads = round == 0 ? 1 : MAGAZINE_THREADS;

		before = jemalloc_allocated();
		for (int i = 0; i < threads; i++) {
			pthread_t thread;
			void *result = (void *)-1;

			CHECK_EQ_INT(pthread_create(&thread, NULL, fill_magazine, NULL), 0);
			CHECK_EQ_INT(pthread_join(thread, &result), 0);
			failed += result != NULL;
			if (result != NULL && failed == 1)
				CHECK_EQ_INT((int)(uintptr_t)result, 0);
		}
		after = jemalloc_allocated();
	}
	CHECK_EQ_INT(failed, 0);
	/* A quarter of what the unflushed magazines would hold. */
	CHECK(after < before + MAGAZINE_THREADS * (MAGAZINE_BLOCKS - 1) * 256 / 4);
}

/*
 * The slot arrays of allocator_pages.h, on a page of our own (the table
 * does not touch the page itself): for every small class, the blocks
 * that can start in a page, wherever the slab put the first, get slots
 * of their own inside the array; a page that changes class gets a new
 * array, and arrays are recycled, not mapped anew each time.
 */
static _Alignas(4096) char slot_page[2 * 4096];

static void test_page_slots(void)
{
	char *page = slot_page + 4096;
	size_t last = 0, before;
	bool unique = true, inside = true, kept = true;

	for (size_t size = 16; size <= ALLOC_SMALL_USABLE_MAX; size += 16) {
		size_t usable = nallocx(size, 0);
		size_t slots = 4096u >> allocator_pages_slot_shift(usable);
		static uint32_t *seen[257];

		if (usable == last || usable > ALLOC_SMALL_USABLE_MAX)
			continue;
		last = usable;
		if (!slots)
			slots = 1;
		/* The first block of the page at several offsets. */
		for (size_t first = 0; first < usable; first += usable / 4 < 16 ? 16 : usable / 4 / 16 * 16) {
			size_t n = 0;
			uint32_t *base = NULL;

			for (size_t at = first; at < 4096; at += usable) {
				uint32_t *slot = allocator_pages_small_slot(page + at, usable);
				uint64_t entry = allocator_pages_small_entry(page + at);

				if (!slot || allocator_pages_entry_usable(entry) != usable ||
				    allocator_pages_slot(page + at, entry) != slot) {
					CHECK(!"no slot, or the entry does not lead to it");
					return;
				}
				if (!base)
					base = slot - (((uintptr_t)at) >> allocator_pages_slot_shift(usable));
				inside &= slot >= base && slot < base + slots;
				for (size_t i = 0; i < n; i++)
					unique &= seen[i] != slot;
				seen[n++] = slot;
				*slot = (uint32_t)at;
			}
			for (size_t i = 0; i < n; i++) {
				size_t at = first + i * usable;

				kept &= *allocator_pages_slot(page + at,
							      allocator_pages_small_entry(page + at)) ==
					(uint32_t)at;
			}
		}
	}
	CHECK(unique);
	CHECK(inside);
	CHECK(kept);

	/* Changing class, back and forth: the arrays come back to the
	 * free lists, so the table's memory does not grow with the count. */
	before = allocator_pages_resident_bytes();
	for (int i = 0; i < 100000; i++)
		kept &= allocator_pages_small_slot(page, i % 2 ? 48 : 16) != NULL;
	CHECK(kept);
	CHECK(allocator_pages_resident_bytes() < before + 64 * 1024);

	/* A recycled array comes back cleared: a slot its last page left
	 * set would count a block that is not there. */
	for (int round = 0; round < 4; round++) {
		bool cleared = true;

		for (size_t at = 0; at < 4096; at += 16)
			*allocator_pages_small_slot(page + at, 16) = 0x12345;
		CHECK(allocator_pages_small_slot(page, 48) != NULL);
		for (size_t at = 0; at < 4096; at += 16)
			cleared &= *allocator_pages_small_slot(page + at, 16) == 0;
		CHECK(cleared);
	}
	/* A large block's first page has no small entry. */
	CHECK(allocator_pages_set_large(page, 1, 4096, 0));
	CHECK_EQ_INT(allocator_pages_small_entry(page), 0);
	allocator_pages_remove((uintptr_t)slot_page, sizeof(slot_page));
	CHECK_EQ_INT(allocator_pages_small_entry(page), 0);
}

/*
 * Pages that change class under real jemalloc blocks: each round fills
 * slabs of one class, frees them all (their pages go back to jemalloc's
 * extent cache, to be cut into slabs of the next class), and the counts
 * of every round's site must come out exact, before and after its frees.
 */
#define REUSE_BLOCKS 20000

static void test_page_reuse(void)
{
	static const size_t sizes[] = { 16, 48, 64, 96, 256, 1024, 3072, 6000,
					16, 80, 160, 2048, 8192, 40, 112, 4096 };
	static void *blocks[REUSE_BLOCKS];
	bool exact = true;

	for (size_t round = 0; round < 3 * sizeof(sizes) / sizeof(sizes[0]); round++) {
		size_t size = sizes[round % (sizeof(sizes) / sizeof(sizes[0]))];
		uintptr_t site = SITE(30000 + round);
		int64_t bytes, calls;
		uint32_t flags;
		size_t n;

		for (n = 0; n < REUSE_BLOCKS; n++) {
			blocks[n] = core_alloc(size, 0, ALLOC_DEFAULT, site);
			if (!blocks[n])
				break;
			memset(blocks[n], (int)round, core_usable_size(blocks[n]));
		}
		site_counts(site, &bytes, &calls, &flags);
		exact &= bytes == (int64_t)(n * size) && calls == (int64_t)n && n == REUSE_BLOCKS;
		for (size_t i = 0; i < n; i++)
			core_free(blocks[i]);
		site_counts(site, &bytes, &calls, &flags);
		exact &= bytes == 0 && calls == 0;
	}
	CHECK(exact);
}

/*
 * Blocks of three sites interleaved in the same pages, with holes: the
 * report sums a page's slots in runs of one tag (add_small_page), so a
 * run that a hole splits, a tag that comes back after another, and the
 * last run of a page must each be counted once.  Site A takes blocks
 * 0, 3, 6, ..., B 1, 4, ..., C 2, 5, ..., each of its own size (1 to
 * 16 bytes, all one class); then every block k with k % 5 == 0 is
 * freed, and the counts must be the sums of what is left.
 */
#define RUN_BLOCKS 3000

static void test_interleaved_runs(void)
{
	static void *blocks[RUN_BLOCKS];
	int64_t want_bytes[3] = { 0 }, want_calls[3] = { 0 };

	for (size_t k = 0; k < RUN_BLOCKS; k++) {
		size_t size = 1 + k % 16;

		blocks[k] = core_alloc(size, 0, ALLOC_DEFAULT, SITE(50000 + k % 3));
		if (!CHECK(blocks[k] != NULL))
			return;
	}
	for (size_t k = 0; k < RUN_BLOCKS; k++) {
		if (k % 5 == 0) {
			core_free(blocks[k]);
			blocks[k] = NULL;
			continue;
		}
		want_bytes[k % 3] += (int64_t)(1 + k % 16);
		want_calls[k % 3]++;
	}
	for (int i = 0; i < 3; i++)
		CHECK_SITE(SITE(50000 + i), want_bytes[i], want_calls[i]);
	for (size_t k = 0; k < RUN_BLOCKS; k++)
		core_free(blocks[k]);
	for (int i = 0; i < 3; i++)
		CHECK_SITE(SITE(50000 + i), 0, 0);
}

/*
 * Snapshots while threads allocate: the report reads slot arrays that
 * other threads are writing, installing and recycling (pages change
 * class as each round frees its slabs and the next cuts them into
 * another class).  A snapshot is not one instant across pages, so a
 * block freed and made again may be seen twice, but never more than
 * that, and a slot of another class or a recycled array must never be
 * decoded as a count: every reading stays within twice the blocks alive
 * at once and their largest size.  Once the threads are done the counts
 * are exact.
 */
#define CHURN_THREADS 3
#define CHURN_BLOCKS 2000
#define CHURN_ROUNDS 60

static _Atomic int churn_running;

static void *churn_main(void *arg)
{
	static const size_t sizes[] = { 16, 48, 96, 160, 256, 640, 1024, 3072, 8000 };
	uintptr_t id = (uintptr_t)arg;
	void **blocks = malloc(CHURN_BLOCKS * sizeof(*blocks));

	for (int round = 0; blocks && round < CHURN_ROUNDS; round++) {
		size_t size = sizes[(round + id) % (sizeof(sizes) / sizeof(sizes[0]))];

		for (int i = 0; i < CHURN_BLOCKS; i++)
			blocks[i] = core_alloc(size, 0, ALLOC_DEFAULT, SITE(40000 + id));
		for (int i = 0; i < CHURN_BLOCKS; i++)
			core_free(blocks[i]);
	}
	free(blocks);
	atomic_fetch_sub(&churn_running, 1);
	return NULL;
}

static void test_snapshot_under_load(void)
{
	pthread_t threads[CHURN_THREADS];
	bool bounded = true;
	int snapshots = 0;

	atomic_store(&churn_running, CHURN_THREADS);
	for (uintptr_t t = 0; t < CHURN_THREADS; t++)
		pthread_create(&threads[t], NULL, churn_main, (void *)t);
	/* At least one snapshot, then as many as the threads leave time for. */
	do {
		struct snapshot snap;

		if (snapshot_take(&snap) != 0) {
			bounded = false;
			break;
		}
		for (uintptr_t t = 0; t < CHURN_THREADS; t++) {
			const struct snapshot_entry *e = find(&snap, SITE(40000 + t));

			if (e)
				bounded &= e->calls >= 0 && e->calls <= 2 * CHURN_BLOCKS &&
					   e->bytes >= 0 && e->bytes <= 2 * CHURN_BLOCKS * 8000;
		}
		snapshot_release(&snap);
		snapshots++;
	} while (atomic_load(&churn_running) > 0);
	for (int t = 0; t < CHURN_THREADS; t++)
		pthread_join(threads[t], NULL);
	CHECK(snapshots > 0);
	CHECK(bounded);
	for (uintptr_t t = 0; t < CHURN_THREADS; t++)
		CHECK_SITE(SITE(40000 + t), 0, 0);
}

/*
 * What a fatal signal's handler sees of the fast paths, which keep no
 * depth while they are in jemalloc (internal_scope.h): a profiling timer
 * interrupts a thread that replaces one of 64 live 16-byte blocks after
 * another, through core_malloc and core_free_inline, and its handler asks
 * core_interrupted_where.  Every sample whose interrupted instruction is
 * jemalloc's must say under jemalloc; some say inside (the thread
 * spends much of its time in jemalloc), and some outside (the loop's own
 * code).  The unwinder that finds jemalloc's frames below other code
 * must start at the interrupted instruction, reach at least three
 * frames, and get out of jemalloc's when it starts in them.
 */
#define SAMPLES_WANTED 200

static volatile sig_atomic_t samples, samples_inside, samples_missed,
	samples_unwound_badly, samples_through_jemalloc;

static void sample_interrupted(int sig, siginfo_t *info, void *context)
{
	uintptr_t pc = (uintptr_t)((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];
	enum core_landing where = core_interrupted_where(context);
	uintptr_t pcs[32];
	int n = callsite_signal_frames(context, pcs, 32);
	bool left_jemalloc = false;

	(void)sig;
	(void)info;
	samples++;
	samples_inside += where != CORE_LANDED_OUTSIDE;
	if (core_allocator_code_contains(pc) && where != CORE_LANDED_UNDER_JEMALLOC)
		samples_missed++;
	/* The unwinder the handler relies on for frames past the first:
	 * it starts at the interrupted instruction and walks out to this
	 * test's loop, through jemalloc's frames when it starts there. */
	if (n < 3 || pcs[0] != pc)
		samples_unwound_badly++;
	for (int i = 1; i < n; i++)
		left_jemalloc |= !core_allocator_code_contains(pcs[i] - 1);
	if (core_allocator_code_contains(pc) && left_jemalloc)
		samples_through_jemalloc++;
}

static void test_interrupted_in_allocator(void)
{
	struct callsite_options options = { .depth = 1 };
	struct sigaction act, old;
	struct itimerval every = { { 0, 1000 }, { 0, 1000 } }, off = { { 0, 0 }, { 0, 0 } };
	void *live[64] = { NULL };

	callsite_init(&options);
	memset(&act, 0, sizeof(act));
	act.sa_sigaction = sample_interrupted;
	act.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&act.sa_mask);
	CHECK(sigaction(SIGPROF, &act, &old) == 0);
	CHECK(setitimer(ITIMER_PROF, &every, NULL) == 0);
	/* Bounded: a timer that never fires fails the checks below.
	 * All 64 freed, then all 64 made again: the thread's magazine
	 * (magazine.h) holds 16 of them, the other 48 run jemalloc's code
	 * both ways, as one free and one malloc at a time would not. */
	for (long i = 0; samples < SAMPLES_WANTED && i < 400000000; i += 64) {
		for (int j = 0; j < 64; j++)
			core_free_inline(live[j]);
		for (int j = 0; j < 64; j++)
			live[j] = core_malloc(16, SITE(50000));
	}
	CHECK(setitimer(ITIMER_PROF, &off, NULL) == 0);
	CHECK(sigaction(SIGPROF, &old, NULL) == 0);
	CHECK_EQ_INT(samples >= SAMPLES_WANTED, 1);
	CHECK_EQ_INT(samples_missed, 0);
	CHECK_EQ_INT(samples_unwound_badly, 0);
	CHECK(samples_through_jemalloc > 0);
	CHECK(samples_inside > 0);
	CHECK(samples_inside < samples);
	for (int i = 0; i < 64; i++)
		core_free_inline(live[i]);
	CHECK_SITE(SITE(50000), 0, 0);
}

/*
 * fork's gate for the unwinder (core/callsite.c: callsite_prefork):
 * while a fork is pending no thread enters libunwind, whose own locks a
 * child would inherit held, and after it the unwinder is open again, in
 * the parent and in the child.  Seen through a signal handler's frames:
 * a SIGUSR1 raised here is unwound to at least this function's frame
 * when the gate is open, and not at all while it is shut.
 */
static volatile sig_atomic_t gate_frames;

static void count_gate_frames(int sig, siginfo_t *info, void *context)
{
	uintptr_t pcs[8];

	(void)sig;
	(void)info;
	gate_frames = callsite_signal_frames(context, pcs, 8);
}

static int frames_at_raise(void)
{
	gate_frames = -1;
	raise(SIGUSR1);
	return gate_frames;
}

static void test_unwinder_fork_gate(void)
{
	struct sigaction act, old;
	pid_t child;
	int status = -1;

	callsite_load_unwinder();
	memset(&act, 0, sizeof(act));
	act.sa_sigaction = count_gate_frames;
	act.sa_flags = SA_SIGINFO;
	sigemptyset(&act.sa_mask);
	CHECK(sigaction(SIGUSR1, &act, &old) == 0);
	CHECK(frames_at_raise() >= 2);
	/* Nothing is in flight: it returns at once, with the gate shut. */
	callsite_prefork();
	CHECK_EQ_INT(frames_at_raise(), 0);
	child = fork();
	if (child == 0) {
		callsite_postfork_child();
		_exit(frames_at_raise() >= 2 ? 0 : 1);
	}
	callsite_postfork_parent();
	CHECK(frames_at_raise() >= 2);
	CHECK(child > 0 && waitpid(child, &status, 0) == child);
	CHECK_EQ_INT(WIFEXITED(status) && WEXITSTATUS(status) == 0, 1);
	CHECK(sigaction(SIGUSR1, &old, NULL) == 0);
}

/* The handler's look at the interrupted stack, where the unwinder gives
 * no frames: a return address into jemalloc's code among the words at
 * its top is found, other words are not, and a stack that ends (an
 * unmapped page past it) is read up to its end, never past. */
static void test_stack_returns_to_allocator(void)
{
	uintptr_t into_jemalloc = (uintptr_t)mallocx + 16;
	long page = sysconf(_SC_PAGESIZE);
	ucontext_t context;
	uintptr_t *words;
	char *pages;

	memset(&context, 0, sizeof(context));
	CHECK(core_allocator_code_contains(into_jemalloc - 1));
	/* The "stack": a fresh page of zeros, an unmapped one past it, so
	 * that every word read is the test's. */
	pages = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!CHECK(pages != MAP_FAILED))
		return;
	CHECK(munmap(pages + page, (size_t)page) == 0);
	words = (uintptr_t *)pages;
	/* Small numbers, a stack address and a return into this test. */
	for (int i = 0; i < 64; i++)
		words[i] = (uintptr_t)i;
	words[3] = (uintptr_t)&words[10];
	words[5] = (uintptr_t)test_stack_returns_to_allocator + 8;
	context.uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)words;
	CHECK_EQ_INT(core_stack_returns_to_allocator(&context), 0);
	words[40] = into_jemalloc;
	CHECK_EQ_INT(core_stack_returns_to_allocator(&context), 1);
	/* Past the 64 words looked at: not found. */
	context.uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)&words[41];
	CHECK_EQ_INT(core_stack_returns_to_allocator(&context), 0);

	/* A stack whose last word is the return address, the unmapped page
	 * past it; and one wholly unmapped. */
	memcpy(pages + page - sizeof(uintptr_t), &into_jemalloc, sizeof(uintptr_t));
	context.uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)(pages + page - 2 * sizeof(uintptr_t));
	CHECK_EQ_INT(core_stack_returns_to_allocator(&context), 1);
	context.uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)(pages + page);
	CHECK_EQ_INT(core_stack_returns_to_allocator(&context), 0);
	munmap(pages, (size_t)page);
}

/* Where a fatal signal's handler finds it landed (core_interrupted_where),
 * from the thread's state: the mmap interposer's call for jemalloc is
 * under jemalloc whatever the instruction; inside our code, the
 * instruction alone decides; and a deferred signal does not run while
 * jemalloc is below. */
static int deferred_ran;

static void note_deferred(int sig)
{
	deferred_ran = sig;
}

static void test_signal_landing(void)
{
	ucontext_t context;

	memset(&context, 0, sizeof(context));
	context.uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)test_signal_landing;

	core_state_or(&core_thread, CORE_UNDER_JEMALLOC);
	CHECK_EQ_INT(core_interrupted_where(&context), CORE_LANDED_UNDER_JEMALLOC);
	core_state_and(&core_thread, ~CORE_UNDER_JEMALLOC);

	core_allocator_enter();
	CHECK_EQ_INT(core_interrupted_where(&context), CORE_LANDED_IN_CORE);
	context.uc_mcontext.gregs[REG_RIP] = (greg_t)((uintptr_t)mallocx + 16);
	CHECK_EQ_INT(core_interrupted_where(&context), CORE_LANDED_UNDER_JEMALLOC);
	core_allocator_leave();

	/* Deferred, then the way out with jemalloc below: it waits. */
	deferred_ran = 0;
	core_state_or(&core_thread, CORE_UNDER_JEMALLOC);
	core_allocator_enter();
	core_defer_signal(SIGUSR2, note_deferred);
	core_allocator_leave();
	CHECK_EQ_INT(deferred_ran, 0);
	core_state_and(&core_thread, ~CORE_UNDER_JEMALLOC);
	/* The next way out of the general functions runs it. */
	core_free(core_alloc(16, 0, ALLOC_DEFAULT, SITE(50001)));
	CHECK_EQ_INT(deferred_ran, SIGUSR2);
	CHECK_SITE(SITE(50001), 0, 0);
}

/*
 * The table fills (CODETAG_MAX tags): every site that has a tag keeps
 * it, a new one is charged to CODETAG_OVERFLOW, and the filter the full
 * table is given (codetag.c), which turns new sites away without
 * probing, is made.  Last: no tag is left for any test after it.
 */
/* Another thread's allocation of the profiler's while the arena is on
 * for the main thread. */
static void *internal_alloc_thread(void *arg)
{
	(void)arg;
	return core_internal_alloc(48);
}

/*
 * A fork child's last report takes its memory from the exit arena
 * (core/exit_arena.h): the profiler's allocations on the thread that
 * began it, zero-filled and aligned, never counted, never given back;
 * the last block grows in place, any other is copied out; the
 * program's allocations, another thread's and any past the arena's
 * room are jemalloc's; after the end its blocks still read, free and
 * copy out.
 */
static void test_exit_arena(void)
{
	int64_t before_bytes, before_calls, bytes, calls;
	unsigned char *a, *b, *c, *grown, *moved, *program, *big, *after;
	void *other = NULL;
	pthread_t thread;
	int nonzero = 0;

	core_read_tag(CODETAG_INTERNAL, &before_bytes, &before_calls);
	exit_arena_begin();
	a = core_internal_alloc(100);
	b = core_internal_calloc(10, 100);
	core_internal_enter();
	c = core_alloc(300, 4096, ALLOC_DEFAULT, SITE(60));	/* the scope's */
	core_internal_leave();
	program = core_alloc(40, 0, ALLOC_DEFAULT, SITE(61));
	CHECK(a && b && c && program);
	/* The last block grows where it stands. */
	memset(c, 0x5a, 300);
	grown = core_internal_realloc(c, 5000);
	CHECK(grown == c);
	CHECK_EQ_UINT(core_usable_size(grown), 5000);
	CHECK_EQ_INT(grown[299], 0x5a);
	CHECK_EQ_INT(grown[4999], 0);
	CHECK(exit_arena_holds(a) && exit_arena_holds(b) && exit_arena_holds(c));
	CHECK(!exit_arena_holds(program));
	CHECK_EQ_INT((uintptr_t)a % 16, 0);
	CHECK_EQ_INT((uintptr_t)c % 4096, 0);
	CHECK_EQ_UINT(core_usable_size(a), 100);
	for (int i = 0; i < 1000; i++)
		nonzero |= b[i];
	CHECK_EQ_INT(nonzero, 0);
	CHECK_SITE(SITE(61), 40, 1);
	core_read_tag(CODETAG_INTERNAL, &bytes, &calls);
	CHECK_EQ_INT(bytes, before_bytes);
	CHECK_EQ_INT(calls, before_calls);
	CHECK_EQ_INT(pthread_create(&thread, NULL, internal_alloc_thread, NULL), 0);
	CHECK_EQ_INT(pthread_join(thread, &other), 0);
	CHECK(other && !exit_arena_holds(other));
	core_internal_free(other);

	/* A block before the last moves. */
	memset(a, 0x33, 100);
	moved = core_internal_realloc(a, 200);
	CHECK(moved && moved != a && exit_arena_holds(moved));
	CHECK_EQ_INT(moved[99], 0x33);
	CHECK_EQ_INT(moved[199], 0);
	core_internal_free(b);	/* left as it is */
	CHECK(exit_arena_holds(b));
	CHECK_EQ_INT(b[999], 0);

	/* Past the arena's room: jemalloc's. */
	big = core_internal_alloc(EXIT_ARENA_BYTES);
	CHECK(big && !exit_arena_holds(big));
	core_internal_free(big);
	exit_arena_end();

	/* After the end: jemalloc's again, and the arena's blocks copy
	 * out. */
	after = core_internal_alloc(64);
	CHECK(after && !exit_arena_holds(after));
	core_internal_free(after);
	after = core_internal_realloc(moved, 1000);
	CHECK(after && !exit_arena_holds(after));
	CHECK_EQ_INT(after[0], 0x33);
	CHECK_EQ_INT(after[99], 0x33);
	core_internal_free(after);
	core_internal_free(grown);
	core_free(program);
	CHECK_SITE(SITE(61), 0, 0);
	core_read_tag(CODETAG_INTERNAL, &bytes, &calls);
	CHECK_EQ_INT(bytes, before_bytes);
	CHECK_EQ_INT(calls, before_calls);
}

static void test_full_table(void)
{
	uint32_t *index = calloc(CODETAG_MAX, sizeof(*index));
	uint32_t n = 0, lost = 0, admitted = 0;

	if (!CHECK(index != NULL))
		return;
	for (;;) {
		uint32_t got = codetag_index_for_site_unrouted(SITE(1000000 + n));

		if (got == CODETAG_OVERFLOW || n == CODETAG_MAX)
			break;
		index[n++] = got;
	}
	CHECK(n > CODETAG_MAX / 2 && n < CODETAG_MAX);
	/* Made by the lookup that found the table full. */
	CHECK(codetag_full_table_filtered());
	/* New sites, turned away by the filter or by the probes. */
	for (uint32_t i = 0; i < 100000; i++)
		admitted += codetag_index_for_site_unrouted(SITE(3000000 + i)) != CODETAG_OVERFLOW;
	CHECK_EQ_INT(admitted, 0);
	/* None that has a tag is turned away. */
	for (uint32_t i = 0; i < n; i++)
		lost += codetag_index_for_site_unrouted(SITE(1000000 + i)) != index[i];
	CHECK_EQ_INT(lost, 0);
	free(index);
}

int main(void)
{
	test_early_window();
	test_size_classes();
	test_flags_rejected();
	test_zero_and_alignment();
	test_accounting();
	test_charge_offset_copy();
	test_wrapper_chain();
	test_block_tag_sizes();
	test_page_slots();
	test_page_reuse();
	test_interleaved_runs();
	test_many_sites();
	test_delta_pages();
	test_profiler_tables();
	test_no_codetag();
	test_foreign_blocks();
	test_page_map();
	test_threads();
	test_magazines();
	test_snapshot_under_load();
	test_interrupted_in_allocator();
	test_unwinder_fork_gate();
	test_stack_returns_to_allocator();
	test_signal_landing();
	test_exit_arena();
	test_full_table();
	return harness_summary();
}

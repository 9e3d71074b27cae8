/*
 * Per-thread counters: the slow paths behind alloc_tag_count() (see
 * alloc_tag.h).
 *
 * A thread's counters join a registry at its first count after
 * core_init, and leave it when the thread exits (a pthread key
 * destructor), folding every delta into the shared counters first.
 * Readers walk the registry under its lock.  The lock is never held
 * while allocating or calling jemalloc, so it orders before jemalloc's
 * own locks at fork.  The arrays are mapped and unmapped with the system
 * calls themselves: this runs inside malloc, and they are the
 * profiler's own memory, which the mmap interposer must not count.
 */
#include "core/alloc_tag.h"
#include "core/alloc.h"
#include "core/allocator_pages.h"
#include "core/fork_safe_lock.h"
#include "core/internal_scope.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A new thread's array holds at least this many tags (16 KiB). */
#define DELTA_MIN_TAGS 1024u

static size_t delta_bytes(uint32_t capacity)
{
	return (size_t)capacity * sizeof(struct thread_counter);
}

/* The capacity that holds @index: a power of two, at most CODETAG_MAX. */
static uint32_t capacity_for(uint32_t index)
{
	uint32_t capacity = DELTA_MIN_TAGS;

	while (capacity <= index && capacity < CODETAG_MAX)
		capacity *= 2;
	return capacity;
}

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Delta arrays of exited threads, kept for the next threads to
 * register, under the registry's lock: a program that makes a thread
 * per task paid an mmap a thread, and a munmap whose TLB shootdown
 * reached every CPU the process ran on.  A retired array is all zeros
 * (flush_locked zeroed every delta it folded, and the thread wrote no
 * other), so the next thread takes it as it is.  At most KEPT_DELTAS,
 * with the pages their threads touched: profiler memory, counted in
 * alloc_tag_resident_bytes.
 */
#define KEPT_DELTAS 16
/* Larger arrays (a thread that counted at over 16,384 tags) are
 * unmapped, so that what is kept stays within 4 MiB of address space. */
#define KEPT_DELTA_MAX_TAGS (DELTA_MIN_TAGS * 16)
static struct thread_counter *kept_delta[KEPT_DELTAS];
static uint32_t kept_capacity[KEPT_DELTAS];
static unsigned int kept_count;

/* The registry's lock is held fork-safe (core/fork_safe_lock.h): it is
 * taken once a thread (its first count, around the mmap of its delta
 * array if none is kept, and its exit), once a delta array doubles (an
 * mremap), and at report time. */
static struct thread_counters *registry;
static pthread_key_t exit_key;
static atomic_bool threads_ready;

/*
 * The first tag at or after @i and below @end whose page of @tc's array
 * the thread wrote (its bit in tc->written), with the end of that page,
 * at most @end, in *@run_end; @end if there is none.  The pages it
 * passes over are all zero, and are not read: residency (mincore) could
 * not tell them, for a page that was swapped out is not resident.
 */
static uint32_t next_written(const struct thread_counters *tc, uint32_t i, uint32_t end,
			     uint32_t *run_end)
{
	while (i < end) {
		uint32_t page = i / THREAD_COUNTERS_PAGE_TAGS;
		uint32_t page_end = (page + 1) * THREAD_COUNTERS_PAGE_TAGS;

		if ((atomic_load_explicit(&tc->written[page / 64], memory_order_relaxed) >>
		     (page % 64)) & 1) {
			*run_end = page_end < end ? page_end : end;
			return i;
		}
		i = page_end;
	}
	*run_end = end;
	return end;
}

/* Folds @tc's deltas into the shared counters and zeroes them. */
static void flush_locked(struct thread_counters *tc)
{
	uint32_t n = codetag_count(), i = 0, run;

	if (!tc->delta)
		return;
	if (n > tc->capacity)
		n = tc->capacity;
	while ((i = next_written(tc, i, n, &run)) < n) {
		for (; i < run; i++) {
			struct thread_counter *d = &tc->delta[i];
			int64_t bytes, calls;

			bytes = atomic_load_explicit(&d->bytes, memory_order_relaxed);
			calls = atomic_load_explicit(&d->calls, memory_order_relaxed);
			if (!bytes && !calls)
				continue;
			alloc_tag_adjust(codetag_tag(i), bytes, calls);
			atomic_store_explicit(&d->bytes, 0, memory_order_relaxed);
			atomic_store_explicit(&d->calls, 0, memory_order_relaxed);
		}
	}
}

static void unlink_locked(struct thread_counters *tc)
{
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		registry = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	tc->next = tc->prev = NULL;
}

/* Folds all of @tc into the shared counters and drops it. */
static void retire_locked(struct thread_counters *tc)
{
	flush_locked(tc);
	unlink_locked(tc);
	/* The array is all zero now, kept or not. */
	for (unsigned int w = 0; w < THREAD_COUNTERS_WRITTEN_WORDS; w++)
		atomic_store_explicit(&tc->written[w], 0, memory_order_relaxed);
	if (tc->delta) {
		if (kept_count < KEPT_DELTAS && tc->capacity <= KEPT_DELTA_MAX_TAGS) {
			kept_delta[kept_count] = tc->delta;
			kept_capacity[kept_count] = tc->capacity;
			kept_count++;
		} else {
			syscall(SYS_munmap, tc->delta, delta_bytes(tc->capacity));
		}
		tc->delta = NULL;
		tc->capacity = 0;
	}
}

/* A kept delta array for @tc, if there is one (lock held). */
static bool take_kept_locked(struct thread_counters *tc)
{
	if (!kept_count)
		return false;
	kept_count--;
	tc->delta = kept_delta[kept_count];
	tc->capacity = kept_capacity[kept_count];
	return true;
}

/* Thread exit.  Anything the thread frees after this (other key
 * destructors, jemalloc's own cleanup) goes to the shared counters. */
static void thread_exit(void *arg)
{
	struct thread_counters *tc = arg;
	struct fork_safe_hold hold;

	core_allocator_enter();
	tc->state = THREAD_COUNTERS_OFF;
	fork_safe_lock(&registry_lock, &hold);
	retire_locked(tc);
	fork_safe_unlock(&registry_lock, &hold);
	core_allocator_leave();
}

static void register_thread(struct thread_counters *tc)
{
	uint32_t capacity;
	struct fork_safe_hold hold;
	long mapped;

	/* OFF while registering: pthread_setspecific may allocate, and
	 * those counts take the shared path. */
	tc->state = THREAD_COUNTERS_OFF;
	fork_safe_lock(&registry_lock, &hold);
	if (!take_kept_locked(tc)) {
		capacity = capacity_for(codetag_count());
		mapped = syscall(SYS_mmap, NULL, delta_bytes(capacity), PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (mapped == -1) {
			fork_safe_unlock(&registry_lock, &hold);
			return;	/* stays OFF: counts go to the shared counters */
		}
		tc->delta = (struct thread_counter *)mapped;
		tc->capacity = capacity;
	}
	tc->prev = NULL;
	tc->next = registry;
	if (registry)
		registry->prev = tc;
	registry = tc;
	fork_safe_unlock(&registry_lock, &hold);
	if (pthread_setspecific(exit_key, tc) != 0) {
		fork_safe_lock(&registry_lock, &hold);
		retire_locked(tc);
		fork_safe_unlock(&registry_lock, &hold);
		return;	/* stays OFF: counts go to the shared counters */
	}
	tc->state = THREAD_COUNTERS_ACTIVE;
}

void alloc_tag_count_slow(uint32_t index, int64_t bytes, int64_t calls)
{
	struct thread_counters *tc = &core_thread.counters;

	if (tc->state == THREAD_COUNTERS_UNREGISTERED &&
	    atomic_load_explicit(&threads_ready, memory_order_acquire)) {
		register_thread(tc);
		if (tc->state == THREAD_COUNTERS_ACTIVE) {
			alloc_tag_count(index, bytes, calls);
			return;
		}
	}
	/* Early, exited, or interrupted mid-update by a signal handler. */
	alloc_tag_adjust(codetag_tag(index), bytes, calls);
}

void alloc_tag_count_grow(uint32_t index, int64_t bytes, int64_t calls)
{
	struct thread_counters *tc = &core_thread.counters;
	uint32_t capacity = capacity_for(index);
	struct fork_safe_hold hold;
	long moved = -1;

	/* Under the registry lock: a reader walks this array under it. */
	fork_safe_lock(&registry_lock, &hold);
	if (index < CODETAG_MAX && tc->delta)
		moved = syscall(SYS_mremap, tc->delta, delta_bytes(tc->capacity),
				delta_bytes(capacity), MREMAP_MAYMOVE);
	if (moved != -1) {
		tc->delta = (struct thread_counter *)moved;
		tc->capacity = capacity;
	}
	fork_safe_unlock(&registry_lock, &hold);
	if (moved == -1) {
		/* No room to grow: this tag counts on the shared path. */
		alloc_tag_adjust(codetag_tag(index), bytes, calls);
		return;
	}
	alloc_tag_count_here(&core_thread, index, bytes, calls);
}

/*
 * Adds the counters of tags @first to @first + @n - 1 to @live[0] to
 * @live[@n - 1].  Under the lock, shared pairs and deltas alike, as a
 * retiring thread folds its deltas into the shared pairs under it: each
 * delta is seen once, here or there.
 */
static void add_counters(struct core_live *live, uint32_t first, uint32_t n)
{
	struct fork_safe_hold hold;

	fork_safe_lock(&registry_lock, &hold);
	for (uint32_t i = 0; i < n; i++) {
		const struct alloc_tag *tag = codetag_tag(first + i);

		live[i].bytes += atomic_load_explicit(&tag->shared.bytes, memory_order_relaxed);
		live[i].calls += atomic_load_explicit(&tag->shared.calls, memory_order_relaxed);
	}
	for (struct thread_counters *tc = registry; tc; tc = tc->next) {
		uint32_t end, i = first, run;

		if (!tc->delta || first >= tc->capacity)
			continue;
		end = tc->capacity - first < n ? tc->capacity : first + n;
		while ((i = next_written(tc, i, end, &run)) < end) {
			for (; i < run; i++) {
				const struct thread_counter *d = &tc->delta[i];

				live[i - first].bytes += atomic_load_explicit(&d->bytes,
									      memory_order_relaxed);
				live[i - first].calls += atomic_load_explicit(&d->calls,
									      memory_order_relaxed);
			}
		}
	}
	fork_safe_unlock(&registry_lock, &hold);
}

void alloc_tag_read(uint32_t index, int64_t *bytes, int64_t *calls)
{
	struct core_live one = { 0 };

	add_counters(&one, index, 1);
	*bytes = one.bytes;
	*calls = one.calls;
}

void alloc_tag_add_all(struct core_live *live, uint32_t n)
{
	add_counters(live, 0, n);
}

size_t alloc_tag_resident_bytes(void)
{
	size_t bytes = 0;
	struct fork_safe_hold hold;

	fork_safe_lock(&registry_lock, &hold);
	for (struct thread_counters *tc = registry; tc; tc = tc->next)
		if (tc->delta)
			bytes += core_resident_bytes(tc->delta, delta_bytes(tc->capacity));
	for (unsigned int i = 0; i < kept_count; i++)
		bytes += core_resident_bytes(kept_delta[i], delta_bytes(kept_capacity[i]));
	fork_safe_unlock(&registry_lock, &hold);
	return bytes;
}

void alloc_tag_init_threads(void)
{
	if (pthread_key_create(&exit_key, thread_exit) == 0)
		atomic_store_explicit(&threads_ready, true, memory_order_release);
}

void alloc_tag_prefork(void)
{
	pthread_mutex_lock(&registry_lock);
}

void alloc_tag_postfork_parent(void)
{
	pthread_mutex_unlock(&registry_lock);
}

/* Only the forking thread lives on in the child.  The others' slots are
 * still in its memory (as are the blocks they counted): fold them into
 * the shared counters before their storage can be reused. */
void alloc_tag_postfork_child(void)
{
	struct thread_counters *self = &core_thread.counters;
	struct thread_counters *tc = registry, *next;

	for (; tc; tc = next) {
		next = tc->next;
		if (tc != self)
			retire_locked(tc);
	}
	pthread_mutex_unlock(&registry_lock);
}

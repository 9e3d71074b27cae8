/*
 * Per-thread counters: the slow paths behind alloc_tag_count() (see
 * alloc_tag.h).
 *
 * A thread's counters join a registry at its first count after
 * core_init, and leave it when the thread exits (a pthread key
 * destructor), flushing every slot into the shared counters first.
 * Readers walk the registry under its lock.  The lock is never held
 * while allocating or calling jemalloc, so it orders before jemalloc's
 * own locks at fork.
 */
#include "core/alloc_tag.h"
#include "core/internal_scope.h"

#include <pthread.h>
#include <stdbool.h>

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct thread_counters *registry;
static pthread_key_t exit_key;
static atomic_bool threads_ready;

static void flush_slot(struct thread_counter_slot *s)
{
	uint32_t tag_plus_one = atomic_load_explicit(&s->tag_plus_one,
						     memory_order_relaxed);
	int64_t bytes = atomic_load_explicit(&s->bytes, memory_order_relaxed);
	int64_t calls = atomic_load_explicit(&s->calls, memory_order_relaxed);

	if (tag_plus_one && (bytes || calls))
		alloc_tag_adjust(codetag_tag(tag_plus_one - 1), bytes, calls);
	atomic_store_explicit(&s->bytes, 0, memory_order_relaxed);
	atomic_store_explicit(&s->calls, 0, memory_order_relaxed);
}

/* Runs on the owning thread, inside alloc_tag_count's update. */
void alloc_tag_claim_slot(struct thread_counter_slot *slot, uint32_t index)
{
	flush_slot(slot);
	atomic_store_explicit(&slot->tag_plus_one, index + 1,
			      memory_order_relaxed);
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

/* Flushes all of @tc into the shared counters and drops it. */
static void retire_locked(struct thread_counters *tc)
{
	for (unsigned int i = 0; i < THREAD_COUNTER_SLOTS; i++) {
		flush_slot(&tc->slot[i]);
		atomic_store_explicit(&tc->slot[i].tag_plus_one, 0,
				      memory_order_relaxed);
	}
	unlink_locked(tc);
}

/* Thread exit.  Anything the thread frees after this (other key
 * destructors, jemalloc's own cleanup) goes to the shared counters. */
static void thread_exit(void *arg)
{
	struct thread_counters *tc = arg;

	core_allocator_enter();
	core_thread.allocator_state &= ~CORE_COUNTERS_ACTIVE;
	tc->state = THREAD_COUNTERS_OFF;
	pthread_mutex_lock(&registry_lock);
	retire_locked(tc);
	pthread_mutex_unlock(&registry_lock);
	core_allocator_leave();
}

static void register_thread(struct thread_counters *tc)
{
	/* OFF while registering: pthread_setspecific may allocate, and
	 * those counts take the shared path. */
	tc->state = THREAD_COUNTERS_OFF;
	pthread_mutex_lock(&registry_lock);
	tc->prev = NULL;
	tc->next = registry;
	if (registry)
		registry->prev = tc;
	registry = tc;
	pthread_mutex_unlock(&registry_lock);
	if (pthread_setspecific(exit_key, tc) != 0) {
		pthread_mutex_lock(&registry_lock);
		retire_locked(tc);
		pthread_mutex_unlock(&registry_lock);
		return;	/* stays OFF: counts go to the shared counters */
	}
	tc->state = THREAD_COUNTERS_ACTIVE;
	core_thread.allocator_state |= CORE_COUNTERS_ACTIVE;
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

void alloc_tag_read(uint32_t index, int64_t *bytes, int64_t *calls)
{
	const struct alloc_tag *tag = codetag_tag(index);
	unsigned int slot = thread_counter_slot_of(index);
	int64_t b = 0, n = 0;

	for (unsigned int i = 0; i < ALLOC_TAG_SHARDS; i++) {
		b += atomic_load_explicit(&tag->shard[i].bytes, memory_order_relaxed);
		n += atomic_load_explicit(&tag->shard[i].calls, memory_order_relaxed);
	}
	pthread_mutex_lock(&registry_lock);
	for (struct thread_counters *tc = registry; tc; tc = tc->next) {
		struct thread_counter_slot *s = &tc->slot[slot];

		if (atomic_load_explicit(&s->tag_plus_one, memory_order_relaxed) ==
		    index + 1) {
			b += atomic_load_explicit(&s->bytes, memory_order_relaxed);
			n += atomic_load_explicit(&s->calls, memory_order_relaxed);
		}
	}
	pthread_mutex_unlock(&registry_lock);
	*bytes = b;
	*calls = n;
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

/*
 * The page-range map (see page_map.h): a treap of non-overlapping
 * [start, end) pieces keyed by start, under one mutex.
 *
 * Invariants, with the lock held:
 * - pieces never overlap, and every piece is page-aligned;
 * - a piece's mapping record counts the pieces that point to it
 *   (pieces >= 1), and its tag's <calls> includes the record once;
 * - a tag's <size> includes end - start of each of its pieces.
 *
 * Nodes and records come from a free list refilled with raw mmap system
 * calls, never from jemalloc or the interposed mmap.
 */
#include "core/page_map.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/alloc_tag.h"
#include "core/codetag.h"
#include "core/fork_safe_lock.h"

struct mapping {
	uint32_t tag;
	uint32_t pieces;
};

struct piece {
	uintptr_t start, end;
	struct mapping *mapping;
	struct piece *left, *right;
	uint32_t priority;
};

/* Both kinds of record come from one pool of equal-sized slots. */
union slot {
	union slot *next_free;
	struct piece piece;
	struct mapping mapping;
};

#define POOL_CHUNK (64 * 1024)

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread bool map_locked_here;
static struct piece *root;
static union slot *free_slots;
static size_t pool_bytes;
static uint32_t rng_state = 2463534242u;

/* ---- the slot pool (lock held) */

static void *slot_get(void)
{
	union slot *s;

	if (!free_slots) {
		long p = syscall(SYS_mmap, NULL, POOL_CHUNK, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		union slot *chunk = (union slot *)p;

		if (p == -1)
			return NULL;
		__atomic_add_fetch(&pool_bytes, POOL_CHUNK, __ATOMIC_RELAXED);
		for (size_t i = 0; i < POOL_CHUNK / sizeof(*chunk); i++) {
			chunk[i].next_free = free_slots;
			free_slots = &chunk[i];
		}
	}
	s = free_slots;
	free_slots = s->next_free;
	return s;
}

static void slot_put(void *p)
{
	union slot *s = p;

	s->next_free = free_slots;
	free_slots = s;
}

static uint32_t next_priority(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* ---- treap primitives (lock held) */

/* Splits @t into pieces starting below @key and the rest. */
static void split(struct piece *t, uintptr_t key, struct piece **lo,
		  struct piece **hi)
{
	if (!t) {
		*lo = *hi = NULL;
	} else if (t->start < key) {
		split(t->right, key, &t->right, hi);
		*lo = t;
	} else {
		split(t->left, key, lo, &t->left);
		*hi = t;
	}
}

/* Joins two treaps; every start in @a is below every start in @b. */
static struct piece *merge(struct piece *a, struct piece *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->priority > b->priority) {
		a->right = merge(a->right, b);
		return a;
	}
	b->left = merge(a, b->left);
	return b;
}

static struct piece *rightmost(struct piece *t)
{
	while (t && t->right)
		t = t->right;
	return t;
}

static struct piece *find(uintptr_t addr)
{
	struct piece *t = root;

	while (t) {
		if (addr < t->start)
			t = t->left;
		else if (addr >= t->end)
			t = t->right;
		else
			return t;
	}
	return NULL;
}

/* ---- accounting (lock held) */

static void mark_inaccurate(uint32_t tag)
{
	__atomic_or_fetch(&codetag_tag(tag)->ct.flags, CODETAG_FLAG_INACCURATE,
			  __ATOMIC_RELAXED);
}


static void charge(struct mapping *m, int64_t bytes, int64_t calls)
{
	alloc_tag_adjust(codetag_tag(m->tag), bytes, calls);
}

/* A piece is gone: its mapping loses a piece, and its call with the last. */
static void drop_piece(struct piece *p)
{
	struct mapping *m = p->mapping;

	charge(m, -(int64_t)(p->end - p->start), 0);
	if (--m->pieces == 0) {
		charge(m, 0, -1);
		slot_put(m);
	}
	slot_put(p);
}

static struct piece *new_piece(uintptr_t start, uintptr_t end,
			       struct mapping *m)
{
	struct piece *p = slot_get();

	if (!p)
		return NULL;
	*p = (struct piece){ .start = start, .end = end, .mapping = m,
			     .priority = next_priority() };
	m->pieces++;
	charge(m, (int64_t)(end - start), 0);
	return p;
}

static void insert_piece(struct piece *p)
{
	struct piece *lo, *hi;

	split(root, p->start, &lo, &hi);
	root = merge(merge(lo, p), hi);
}

/* Frees every piece of @t, which lies entirely inside the removed range. */
static void drop_all(struct piece *t)
{
	if (!t)
		return;
	drop_all(t->left);
	drop_all(t->right);
	drop_piece(t);
}

/* Removes [start, end) from the map. */
static void remove_locked(uintptr_t start, uintptr_t end)
{
	struct piece *lo, *mid, *hi, *last;

	split(root, start, &lo, &hi);

	/* The piece just below may reach into the range, or across it. */
	last = rightmost(lo);
	if (last && last->end > start) {
		if (last->end > end) {
			struct piece *tail = new_piece(end, last->end, last->mapping);

			/* Without a node for the tail, the piece stays
			 * whole: its tag keeps bytes that are gone, and
			 * says so. */
			if (!tail) {
				mark_inaccurate(last->mapping->tag);
			} else {
				charge(last->mapping, -(int64_t)(last->end - start), 0);
				last->end = start;
				hi = merge(tail, hi);
			}
		} else {
			charge(last->mapping, -(int64_t)(last->end - start), 0);
			last->end = start;
		}
	}

	/* Pieces starting inside the range; the last may reach past it. */
	split(hi, end, &mid, &hi);
	last = rightmost(mid);
	if (last && last->end > end) {
		struct piece *rest;

		split(mid, last->start, &mid, &rest);
		charge(last->mapping, -(int64_t)(end - last->start), 0);
		last->start = end;
		hi = merge(rest, hi);
	}
	drop_all(mid);
	root = merge(lo, hi);
}

/* The hold of this thread's lock (core/fork_safe_lock.h): the program's
 * mmap and munmap, and the profiler's (preload/wrappers.c maps a
 * module's file to read its symbols), hold it around their system call;
 * fork_unwind "mmap" hung in 3 runs of 3 before. */
static __thread struct fork_safe_hold map_hold;

bool page_map_lock(void)
{
	if (map_locked_here)
		return false;
	fork_safe_lock(&map_lock, &map_hold);
	map_locked_here = true;
	return true;
}

void page_map_unlock(void)
{
	map_locked_here = false;
	fork_safe_unlock(&map_lock, &map_hold);
}

bool page_map_insert(uintptr_t start, size_t len, uint32_t tag)
{
	struct mapping *m = slot_get();
	struct piece *p = NULL;

	if (m) {
		*m = (struct mapping){ .tag = tag };
		charge(m, 0, 1);
		p = new_piece(start, start + len, m);
		if (p) {
			insert_piece(p);
		} else {
			charge(m, 0, -1);
			slot_put(m);
		}
	}
	if (!p)
		mark_inaccurate(tag);
	return p != NULL;
}

void page_map_remove(uintptr_t start, size_t len)
{
	remove_locked(start, start + len);
}

bool page_map_move(uintptr_t old_start, size_t old_len, uintptr_t new_start,
		   size_t new_len, bool keep_old)
{
	struct mapping *m, *fresh = NULL;
	struct piece *found, *p;

	found = find(old_start);
	if (!found) {
		/* Not ours, but the destination pages are replaced. */
		if (!keep_old)
			remove_locked(old_start, old_start + old_len);
		remove_locked(new_start, new_start + new_len);
		return false;
	}
	m = found->mapping;
	if (keep_old) {
		fresh = slot_get();
		if (fresh) {
			*fresh = (struct mapping){ .tag = m->tag };
			charge(fresh, 0, 1);
		} else {
			mark_inaccurate(m->tag);
		}
		m = fresh;
	} else {
		/* Pin the record so the old pieces going away does not
		 * take the mapping's call with them. */
		m->pieces++;
		remove_locked(old_start, old_start + old_len);
	}
	if (m) {
		remove_locked(new_start, new_start + new_len);
		p = new_piece(new_start, new_start + new_len, m);
		if (p)
			insert_piece(p);
		else
			mark_inaccurate(m->tag);
		if (!keep_old && --m->pieces == 0) {
			charge(m, 0, -1);
			slot_put(m);
		}
	}
	return true;
}

int64_t page_map_lookup(uintptr_t addr)
{
	struct piece *p;
	int64_t tag = -1;

	if (!page_map_lock())
		return -1;
	p = find(addr);
	if (p)
		tag = p->mapping->tag;
	page_map_unlock();
	return tag;
}

size_t page_map_overhead(void)
{
	return __atomic_load_n(&pool_bytes, __ATOMIC_RELAXED);
}

/* A fork never comes from a thread that holds the lock: its signals
 * are blocked meanwhile (core/fork_safe_lock.h). */
void page_map_prefork(void)
{
	pthread_mutex_lock(&map_lock);
}

void page_map_postfork(void)
{
	pthread_mutex_unlock(&map_lock);
}

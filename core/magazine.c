/*
 * Opening and flushing a thread's magazines (see magazine.h).
 */
#include "core/magazine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "core/alloc.h"
#include "core/alloc_inline.h"
#include "core/internal_scope.h"

/* By usable / 16, up to the largest small class. */
uint8_t core_magazine_of_usable[ALLOC_SMALL_USABLE_MAX / 16 + 1];

/* How many blocks each magazine may hold. */
static uint8_t magazine_blocks[CORE_MAGAZINES];

static pthread_key_t flush_key;
static atomic_bool flush_key_made;

static void flush_at_exit(void *arg);

void core_magazine_init_classes(const uint16_t *size_class, size_t entries)
{
	unsigned int magazine = 0;
	size_t i = 0;

	memset(core_magazine_of_usable, CORE_MAGAZINE_NONE, sizeof(core_magazine_of_usable));
	memset(core_size.magazine, CORE_MAGAZINE_NONE, sizeof(core_size.magazine));
	if (entries > sizeof(core_size.magazine))
		entries = sizeof(core_size.magazine);
	/*
	 * One step a class: the table is runs of one class, each ending
	 * at the class's own entry (usable / 8), as fill_size_classes
	 * (alloc.c) makes it.  Entry by entry, the 1,793 entries took
	 * 60,000 instructions of every process's start.
	 */
	while (i < entries) {
		size_t usable = size_class[i], end = usable / 8 + 1, blocks;
		uint8_t index = CORE_MAGAZINE_NONE;

		/* Not such a run: this entry alone. */
		if (end <= i || end > entries)
			end = i + 1;
		if (usable && !(usable % 16)) {
			if (core_magazine_of_usable[usable / 16] == CORE_MAGAZINE_NONE) {
				/* More classes than magazines: none opens
				 * (the limits stay 0), rather than some
				 * classes on a wrong index. */
				if (magazine == CORE_MAGAZINE_NONE)
					return;
				blocks = CORE_MAGAZINE_BYTES / usable;
				blocks = blocks < 1 ? 1 :
					 blocks > CORE_MAGAZINE_BLOCKS ? CORE_MAGAZINE_BLOCKS : blocks;
				magazine_blocks[magazine] = (uint8_t)blocks;
				core_magazine_of_usable[usable / 16] = (uint8_t)magazine++;
			}
			index = core_magazine_of_usable[usable / 16];
		}
		memset(core_size.magazine + i, index, end - i);
		i = end;
	}
	if (pthread_key_create(&flush_key, flush_at_exit) == 0)
		atomic_store_explicit(&flush_key_made, true, memory_order_release);
}

/*
 * Thread exit (a key destructor): every block back to jemalloc, and the
 * magazines shut for good, so that what the thread's later destructors
 * free goes to jemalloc too.
 */
static void flush_at_exit(void *arg)
{
	struct core_thread *t = &core_thread;

	(void)arg;
	t->magazines_settled = true;
	for (unsigned int m = 0; m < CORE_MAGAZINES; m++)
		t->magazine_limit[m] = 0;
	core_magazine_empty();
	core_internal_free(t->magazine_block);
	t->magazine_block = NULL;
}

void core_magazine_empty(void)
{
	struct core_thread *t = &core_thread;

	for (unsigned int m = 0; m < CORE_MAGAZINES; m++) {
		while (t->magazine_count[m]) {
			unsigned int n = t->magazine_count[m] - 1u;

			t->magazine_count[m] = (uint8_t)n;
			core_je.free(t->magazine_block[m * CORE_MAGAZINE_BLOCKS + n].block);
		}
	}
}

void core_magazine_open(struct core_thread *t)
{
	if (t->magazines_settled || !core_is_ready() ||
	    !atomic_load_explicit(&flush_key_made, memory_order_acquire))
		return;
	/* Settled before the flush is arranged: pthread_setspecific may
	 * allocate, and free, through us, and must not open them again. */
	t->magazines_settled = true;
	t->magazine_block = core_internal_alloc(CORE_MAGAZINES * CORE_MAGAZINE_BLOCKS *
						sizeof(*t->magazine_block));
	if (!t->magazine_block)
		return;
	if (pthread_setspecific(flush_key, t) != 0) {
		core_internal_free(t->magazine_block);
		t->magazine_block = NULL;
		return;
	}
	for (unsigned int m = 0; m < CORE_MAGAZINE_NONE; m++)
		t->magazine_limit[m] = magazine_blocks[m];
}

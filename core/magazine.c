/*
 * Opening and flushing a thread's magazines (see magazine.h).
 */
#include "core/magazine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/alloc.h"
#include "core/alloc_inline.h"
#include "core/internal_scope.h"

/* By usable / 16, up to the largest small class. */
uint8_t core_magazine_of_usable[ALLOC_SMALL_USABLE_MAX / 16 + 1];
uint8_t core_size_magazine[ALLOC_SMALL_USABLE_MAX / 8 + 1];

/* How many blocks each magazine may hold. */
static uint8_t magazine_blocks[CORE_MAGAZINES];

static pthread_key_t flush_key;
static atomic_bool flush_key_made;

static void flush_at_exit(void *arg);

void core_magazine_init_classes(const uint16_t *size_class, size_t entries)
{
	unsigned int magazine = 0;

	for (size_t i = 0; i < sizeof(core_magazine_of_usable); i++)
		core_magazine_of_usable[i] = CORE_MAGAZINE_NONE;
	for (size_t i = 0; i < entries; i++) {
		size_t usable = size_class[i], blocks;

		if (!usable || usable % 16 ||
		    core_magazine_of_usable[usable / 16] != CORE_MAGAZINE_NONE)
			continue;
		/* More classes than magazines: none opens (the limits
		 * stay 0), rather than some classes on a wrong index. */
		if (magazine == CORE_MAGAZINE_NONE)
			return;
		blocks = CORE_MAGAZINE_BYTES / usable;
		blocks = blocks < 1 ? 1 : blocks > CORE_MAGAZINE_BLOCKS ? CORE_MAGAZINE_BLOCKS : blocks;
		magazine_blocks[magazine] = (uint8_t)blocks;
		core_magazine_of_usable[usable / 16] = (uint8_t)magazine++;
	}
	for (size_t i = 0; i < entries && i < sizeof(core_size_magazine); i++)
		core_size_magazine[i] = size_class[i] % 16 ? CORE_MAGAZINE_NONE :
					core_magazine_of_usable[size_class[i] / 16];
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
	for (unsigned int m = 0; m < CORE_MAGAZINES; m++) {
		t->magazine_limit[m] = 0;
		while (t->magazine_count[m]) {
			unsigned int n = --t->magazine_count[m];

			core_je.free(t->magazine_block[m * CORE_MAGAZINE_BLOCKS + n].block);
		}
	}
	core_internal_free(t->magazine_block);
	t->magazine_block = NULL;
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

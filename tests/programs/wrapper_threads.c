/*
 * Wrappers called from threads that come and go (tests/integration/
 * wrapper_threads.sh): each thread finds strdup's callers through its
 * own frame memo (core/callsite.c), made on its first walk or taken
 * over from a thread that exited (kept_memos: 4, so each round of 6
 * threads has both), and counts into its own delta array
 * (core/alloc_tag.c), folded into the shared counters at its exit.
 * With stacks on, every thread after the first that makes its memo
 * takes the frames' code from their tags, not from the classifier
 * (frame_memo_classify): read wrong, strdup's line is charged to
 * strdup.  The large blocks count into the thread's delta array, which
 * a later thread takes over once this one has exited (KEPT_DELTAS):
 * read with a delta left in it, a line counts twice.  Rounds of 6
 * threads, 50 rounds: every count must survive, every line keep its
 * exact total.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define ROUNDS 50
#define THREADS 6
#define PER_THREAD 100

static void *worker(void *arg)
{
	for (int i = 0; i < PER_THREAD; i++) {
		char *kept = strdup("eleven char");      /* EXPECT: 360000 30000 func:worker */
		char *dropped = strdup("dropped");       /* EXPECT: 0 0 func:worker */

		(void)kept;                 /* kept live: the report shows it */
		free(dropped);
	}
	/* Past the small classes: counted by the thread's deltas. */
	free(malloc(30000));                     /* EXPECT: 0 0 func:worker */
	(void)malloc(20000);                     /* EXPECT: 6000000 300 func:worker */
	return arg;
}

int main(void)
{
	for (int r = 0; r < ROUNDS; r++) {
		pthread_t threads[THREADS];

		for (int i = 0; i < THREADS; i++)
			CHECK(pthread_create(&threads[i], NULL, worker, NULL) == 0,
			      "pthread_create failed");
		for (int i = 0; i < THREADS; i++)
			CHECK(pthread_join(threads[i], NULL) == 0, "pthread_join failed");
	}
	return CHECK_STATUS();
}

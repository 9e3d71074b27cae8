/*
 * Allocations on coroutines' stacks (makecontext, swapcontext) of 16
 * KiB, mapped after the main thread's first allocation at a new site,
 * when the profiler has mapped its own stack for this thread
 * (core/profiler_stack.h): one at 4 GiB, below every mapping the
 * process has, the profiler stack included, and one 256 MiB below the
 * main thread's stack, above them.  A walk that runs on the profiler
 * stack steps onto the coroutine's frames, up or down.  Each coroutine
 * makes three blocks at one site, three calls deep, in five frames of
 * 1 KiB: natively they take 6 KiB of its stack.  Prints "coroutines
 * done 6 6".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "check.h"

#define COROUTINE_STACK (16u << 10)
#define BLOCKS 3

static ucontext_t main_context, coroutine_context;
static void *blocks[2 * BLOCKS];
static int made, outer_calls;

static __attribute__((noinline)) void *coroutine_leaf(size_t n)
{
	return malloc(n); /* EXPECT: 462 6 func:coroutine_leaf */ /* DEPTH: 1 */
}

static __attribute__((noinline)) void *coroutine_middle(size_t n)
{
	void *p = coroutine_leaf(n); /* DEPTH: 2 */

	made++;
	return p;
}

static __attribute__((noinline)) void *coroutine_outer(size_t n)
{
	void *p = coroutine_middle(n); /* DEPTH: 3 */

	outer_calls++;
	return p;
}

/* @frames frames of 1 KiB, then the block. */
static __attribute__((noinline)) void *descend(int frames)
{
	volatile char room[1024];
	void *p;

	room[0] = (char)frames;
	if (frames == 0)
		return coroutine_outer(77);
	p = descend(frames - 1);
	room[1] = room[0];
	return p;
}

static void coroutine_main(void)
{
	for (int i = 0; i < BLOCKS; i++)
		blocks[made] = descend(5);
}

/* Runs coroutine_main on @stack; false if it could not. */
static int run_coroutine(void *stack)
{
	if (stack == MAP_FAILED || getcontext(&coroutine_context) != 0)
		return 0;
	coroutine_context.uc_stack.ss_sp = stack;
	coroutine_context.uc_stack.ss_size = COROUTINE_STACK;
	coroutine_context.uc_link = &main_context;
	makecontext(&coroutine_context, coroutine_main, 0);
	return swapcontext(&main_context, &coroutine_context) == 0;
}

int main(void)
{
	/* The main thread's first allocation at a new site. */
	char *first = strdup("first"); /* EXPECT: 0 0 func:main */
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK;
	char *low_hint = (char *)(4ul << 30);
	char *high_hint = (char *)((uintptr_t)__builtin_frame_address(0) & ~0xfffful) - (256ul << 20);
	void *low, *high;

	CHECK(first != NULL, "strdup");
	/* Hints: each is where the kernel maps if the range is free. */
	low = mmap(low_hint, COROUTINE_STACK, PROT_READ | PROT_WRITE, flags, -1, 0); /* EXPECT: 16384 1 func:main */
	CHECK(run_coroutine(low), "the coroutine on the low stack");
	high = mmap(high_hint, COROUTINE_STACK, PROT_READ | PROT_WRITE, flags, -1, 0); /* EXPECT: 16384 1 func:main */
	CHECK(run_coroutine(high), "the coroutine on the high stack");
	for (int i = 0; i < 2 * BLOCKS; i++)
		CHECK(blocks[i] != NULL, "a block");
	printf("coroutines done %d %d\n", made, outer_calls);
	free(first);
	return CHECK_STATUS();
}

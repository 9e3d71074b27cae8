/*
 * A stack of the profiler's own for its slow work, per thread.
 *
 * The profiler's first sight of a site (its route decided, the module's
 * wrappers read, libunwind's walk and its first-use setup, jemalloc's
 * own slow paths under them) took 4 to 8 KiB below the allocation's
 * frame.  A program's thread with a small stack (PTHREAD_STACK_MIN,
 * 16 KiB; a coroutine's) has that headroom natively and not under the
 * profiler: such a thread 8 frames of 256 bytes deep died at
 * ALLOCINFO_DEPTH=4 where natively it runs 32 deep.  So that work runs
 * here, as the kernel runs interrupts on a stack of their own, and the
 * program's stack pays only the fast path's frames.
 *
 * The stack is mapped on a thread's first need (PROFILER_STACK_BYTES,
 * touched only as deep as used, with a guard page below), or taken
 * from an exited thread, and at the thread's exit kept for the next or
 * unmapped.  Where it cannot be mapped (an address-space limit), the
 * work runs where it is, as before.
 *
 * Invariants: the switch keeps a frame-pointer chain and CFI, so our
 * frame walks and libunwind's step from this stack back onto the
 * program's; a call made while already on it (a signal handler, a
 * nested allocation) runs in place.
 */
#ifndef ALLOCINFO_CORE_PROFILER_STACK_H
#define ALLOCINFO_CORE_PROFILER_STACK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILER_STACK_BYTES (256u << 10)
/* The report's: a default thread's stack (RLIMIT_STACK's 8 MiB), as
 * the report had on the main thread before it had a stack of its own. */
#define PROFILER_REPORT_STACK_BYTES (8u << 20)

/*
 * This thread's profiler stack.  in_use and program_sp are written
 * around a switch by plain stores: a signal handler on this thread that
 * arrives between them sees the switch made or not made, never half of
 * it, and one that arrives during it (on this stack, or on an
 * alternate signal stack) runs its own work in place.
 */
struct profiler_stack {
	char *mapping;          /* guard page first; NULL: none yet */
	char *top;              /* the stack's top, 16 bytes aligned */
	uintptr_t program_sp;   /* where the switch in use left */
	char *fresh;            /* profiler_stack_run_fresh's, in use */
	size_t fresh_bytes;
	bool in_use;            /* on this stack or a fresh one */
	bool released;          /* the thread is exiting: none again */
};

extern __thread struct profiler_stack profiler_stack_own;

/* Maps this thread's stack; false if it cannot (then never again on
 * this thread). */
bool profiler_stack_map(void);

#if defined(__x86_64__)
/* fn(arg) with the stack pointer at @top, then back (profiler_stack.c). */
void profiler_stack_switch(void *arg, void (*fn)(void *), char *top);

/*
 * Runs @fn(@arg) on this thread's profiler stack, else in place.
 * Inline, so that the walks from @fn meet one frame of the switch's
 * between it and its caller: each frame is a step of libunwind's on
 * every first sight (a compile at ALLOCINFO_DEPTH=4 ran 0.7% more
 * instructions with three).
 */
static inline __attribute__((always_inline)) void profiler_stack_run(void (*fn)(void *), void *arg)
{
	struct profiler_stack *own = &profiler_stack_own;
	uintptr_t outer_sp;

	if (__atomic_load_n(&own->in_use, __ATOMIC_RELAXED) ||
	    (!own->mapping && !profiler_stack_map())) {
		fn(arg);
		return;
	}
	outer_sp = own->program_sp;
	__atomic_store_n(&own->program_sp, (uintptr_t)__builtin_frame_address(0),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&own->in_use, true, __ATOMIC_RELAXED);
	atomic_signal_fence(memory_order_seq_cst);
	profiler_stack_switch(arg, fn, own->top);
	atomic_signal_fence(memory_order_seq_cst);
	__atomic_store_n(&own->in_use, false, __ATOMIC_RELAXED);
	__atomic_store_n(&own->program_sp, outer_sp, __ATOMIC_RELAXED);
}
#else
static inline void profiler_stack_run(void (*fn)(void *), void *arg)
{
	fn(arg);
}
#endif

/*
 * Runs @fn(@arg) on a stack of @bytes mapped for this call alone and
 * unmapped after, wherever it is called (on the program's stack or on
 * a profiler stack): work whose depth the profiler does not bound, the
 * report's (libdw's reading of the program's DWARF).  In place if it
 * cannot be mapped.
 */
void profiler_stack_run_fresh(void (*fn)(void *), void *arg, size_t bytes);

/* The program's stack pointer as its own code left it: where this
 * thread switched to the profiler stack, if it runs there now, else
 * (about) the caller's. */
uintptr_t profiler_stack_program_sp(void);

/* Thread exit: gives up this thread's profiler stack (kept for another
 * thread, or unmapped); later work runs in place. */
void profiler_stack_release(void);

#endif

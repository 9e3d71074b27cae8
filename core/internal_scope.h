/*
 * The profiler's own scope on this thread.
 *
 * Code of the profiler that calls into other libraries (libdw, libc's
 * stdio, dl_iterate_phdr, ...) cannot pass alloc flags to the mallocs
 * those libraries make.  It brackets such calls with
 * core_internal_enter()/core_internal_leave(); every allocation the
 * thread makes in between is treated as ALLOC_NO_CODETAG.  This keeps the
 * one rule intact: the profiler's memory is never the program's and
 * never recurses into call-site capture.
 */
#ifndef ALLOCINFO_CORE_INTERNAL_SCOPE_H
#define ALLOCINFO_CORE_INTERNAL_SCOPE_H

#include "core/thread.h"

static inline void core_state_or(struct core_thread *t, unsigned int v);
static inline void core_state_and(struct core_thread *t, unsigned int v);

static inline void core_internal_enter(void)
{
	if (core_thread.internal_depth++ == 0)
		core_state_or(&core_thread, CORE_INTERNAL_SCOPE);
}

static inline void core_internal_leave(void)
{
	if (--core_thread.internal_depth == 0)
		core_state_and(&core_thread, ~CORE_INTERNAL_SCOPE);
}

static inline int core_in_internal_scope(void)
{
	return core_thread.internal_depth != 0;
}

/*
 * Inside the allocator on this thread.
 *
 * jemalloc's thread cache and our per-thread counters are not
 * reentrant: a fatal-signal handler that writes the report (which
 * allocates) while this thread is in the middle of them would corrupt
 * them, or wait for a lock the thread holds.  Inside means either
 * - the general functions (core_alloc, core_free, core_mmap, ...): they
 *   count their depth in allocator_state, and a handler that finds it
 *   non-zero defers its work with core_defer_signal(), which the thread
 *   runs on its way out; or
 * - jemalloc's code, called from malloc's and free's fast paths.  Those
 *   keep no depth: the store and the read-modify-write of the state
 *   word, and the frame that a check after jemalloc's return needs
 *   (free could no longer leave by a tail call), were an eighth of a
 *   malloc+free pair (bench/micro).  The handler looks for a frame of
 *   jemalloc's among those it interrupted instead
 *   (core_interrupted_where), and has its signal sent again a
 *   moment later (preload/signals.c), when jemalloc has returned.
 */
void core_run_deferred_signal(void);

/*
 * Changes to allocator_state that a signal handler on this thread
 * cannot split.  The handler sets CORE_DEFERRED_SIGNAL when it lands
 * inside the allocator; a load, add and store around it would write
 * the old flags back and lose the signal.  One instruction (x86-64) or
 * an atomic one runs wholly before or after the handler, and the
 * compiler can neither drop nor merge it.
 */
#if defined(__x86_64__) || defined(__i386__)
#define CORE_STATE_OP(name, insn, atomic_op)				\
	static inline void name(struct core_thread *t, unsigned int v)	\
	{								\
		__asm__ volatile(insn " %1, %0"				\
				 : "+m"(t->allocator_state) : "ir"(v) : "cc"); \
	}
#else
#define CORE_STATE_OP(name, insn, atomic_op)				\
	static inline void name(struct core_thread *t, unsigned int v)	\
	{								\
		atomic_op(&t->allocator_state, v, __ATOMIC_RELAXED);	\
	}
#endif
CORE_STATE_OP(core_state_add, "addl", __atomic_fetch_add)
CORE_STATE_OP(core_state_or, "orl", __atomic_fetch_or)
CORE_STATE_OP(core_state_and, "andl", __atomic_fetch_and)

/* allocator_state as it is now (a handler may have changed it). */
static inline unsigned int core_state_now(const struct core_thread *t)
{
	return __atomic_load_n(&t->allocator_state, __ATOMIC_RELAXED);
}

/*
 * Entry to a stretch of a fast path that may run the profiler's own
 * code (a new site's route), from state 0: a handler that lands before
 * this store finds the thread outside the allocator and does its work
 * itself, leaving the state as it found it.  A store, not an add.  It
 * is made before anything else (the signal fence), and is never merged
 * with the leave.
 */
static inline void core_thread_enter_fast(struct core_thread *t)
{
	__atomic_store_n(&t->allocator_state, 1u, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void core_leave_slow(void);

/*
 * Its way out: back to 0, unless a handler deferred a signal meanwhile,
 * which the flags of the one subtract show.  The caller of the
 * _flagged form must call core_leave_slow() when it returns nonzero;
 * it may first leave by a tail call, and keep no register across it.
 */
static inline int core_thread_leave_flagged(struct core_thread *t)
{
	int flagged;

	__atomic_signal_fence(__ATOMIC_SEQ_CST);
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("subl $1, %0" : "+m"(t->allocator_state), "=@ccnz"(flagged));
#else
	flagged = __atomic_sub_fetch(&t->allocator_state, 1, __ATOMIC_RELAXED) != 0;
#endif
	return flagged;
}

static inline void core_thread_leave_fast(struct core_thread *t)
{
	if (__builtin_expect(core_thread_leave_flagged(t), 0))
		core_leave_slow();
}

/* Leaves the allocator: runs a fatal signal deferred while inside. */
static inline void core_thread_leave(struct core_thread *t)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	core_state_add(t, -1u);
	if (__builtin_expect(core_state_now(t) & CORE_DEFERRED_SIGNAL, 0))
		core_leave_slow();
}

static inline void core_allocator_enter(void)
{
	core_state_add(&core_thread, 1);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void core_allocator_leave(void)
{
	core_thread_leave(&core_thread);
}

static inline int core_in_allocator(void)
{
	return (core_thread.allocator_state & CORE_DEPTH_MASK) != 0;
}

/*
 * Where a fatal signal landed, from its SA_SIGINFO handler, given its
 * @ucontext (preload/signals.c).  Outside our code, jemalloc's frames are
 * found with libunwind, which may map memory: the profiler's scope is
 * entered meanwhile.
 * - OUTSIDE: the report may be written at once;
 * - IN_CORE: in the general functions, not in jemalloc: the signal waits
 *   for the thread's way out of them (core_defer_signal);
 * - UNDER_JEMALLOC: jemalloc's code or frames, or the core's mmap and
 *   munmap for jemalloc (CORE_UNDER_JEMALLOC): nothing runs when jemalloc
 *   returns, so the signal is sent again later.
 */
enum core_landing {
	CORE_LANDED_OUTSIDE,
	CORE_LANDED_IN_CORE,
	CORE_LANDED_UNDER_JEMALLOC,
};
enum core_landing core_interrupted_where(void *ucontext);

/* Its answer where the unwinder gives no frames: whether a word at the
 * top of the interrupted stack returns into jemalloc's code (alloc.c). */
int core_stack_returns_to_allocator(const void *ucontext);

/* From a signal handler that found it landed IN_CORE:
 * @sig's handler, @deferred_handler, runs when this thread leaves the
 * allocator. */
void core_defer_signal(int sig, void (*deferred_handler)(int));
/* Forgets a deferred signal (a fork's child: it was the parent's). */
void core_drop_deferred_signal(void);

#endif

/*
 * The profiler stack (profiler_stack.h): a mapping per thread, and a
 * switch onto it that keeps the frame-pointer chain and the CFI.
 */
#include "core/profiler_stack.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/internal_scope.h"

#define GUARD_BYTES 4096u
#define MAPPING_BYTES (GUARD_BYTES + PROFILER_STACK_BYTES)

__thread struct profiler_stack profiler_stack_own;

/*
 * Stacks of exited threads, kept for the next threads, as glibc keeps
 * thread stacks: a program that makes a thread per task paid an mmap,
 * an mprotect and a munmap a thread (tests/programs/wrapper_threads'
 * 200 threads: 165, 197 and 183 more of them under strace -c; none more
 * with the cache).  A slot each, taken and given by compare-and-
 * exchange, so no lock (and nothing a fork can leave held).  At most
 * CACHED_STACKS, with the pages their threads touched.
 */
#define CACHED_STACKS 16
static _Atomic(char *) cached_stacks[CACHED_STACKS];

static char *take_cached_stack(void)
{
	for (unsigned int i = 0; i < CACHED_STACKS; i++) {
		char *mapping = atomic_load_explicit(&cached_stacks[i], memory_order_relaxed);

		if (mapping && atomic_compare_exchange_strong_explicit(
				       &cached_stacks[i], &mapping, NULL,
				       memory_order_acquire, memory_order_relaxed))
			return mapping;
	}
	return NULL;
}

static bool keep_cached_stack(char *mapping)
{
	for (unsigned int i = 0; i < CACHED_STACKS; i++) {
		char *empty = NULL;

		if (atomic_compare_exchange_strong_explicit(&cached_stacks[i], &empty, mapping,
							    memory_order_release,
							    memory_order_relaxed))
			return true;
	}
	return false;
}

static pthread_key_t release_key;
static pthread_once_t release_key_once = PTHREAD_ONCE_INIT;
static bool release_key_made;

#if defined(__x86_64__)
/*
 * profiler_stack_switch(arg, fn, top): fn(arg) with %rsp at @top (16
 * bytes aligned), then back.  %rbp holds the program's stack pointer
 * across the call, so the CFA rule "%rbp + 16" and the saved %rbp above
 * it lead an unwinder (libunwind, gdb, a C++ exception, glibc's forced
 * unwind in pthread_exit) and a frame-pointer walk from fn's frames
 * back to the caller's.
 */
__asm__(
	"	.text\n"
	"	.p2align 4\n"
	"	.globl profiler_stack_switch\n"
	"	.hidden profiler_stack_switch\n"
	"	.type profiler_stack_switch, @function\n"
	"profiler_stack_switch:\n"
	"	.cfi_startproc\n"
	"	pushq	%rbp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	.cfi_rel_offset %rbp, 0\n"
	"	movq	%rsp, %rbp\n"
	"	.cfi_def_cfa_register %rbp\n"
	"	movq	%rdx, %rsp\n"
	"	call	*%rsi\n"
	"	movq	%rbp, %rsp\n"
	"	.cfi_def_cfa_register %rsp\n"
	"	popq	%rbp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	.cfi_restore %rbp\n"
	"	ret\n"
	"	.cfi_endproc\n"
	"	.size profiler_stack_switch, .-profiler_stack_switch\n");
#endif

static bool sp_on_thread_stack(const struct profiler_stack *own, uintptr_t sp)
{
	return own->mapping && sp - (uintptr_t)own->mapping < MAPPING_BYTES;
}

static bool sp_on_fresh_stack(const struct profiler_stack *own, uintptr_t sp)
{
	return own->fresh && sp - (uintptr_t)own->fresh < own->fresh_bytes;
}

static bool sp_on_profiler_stack(const struct profiler_stack *own, uintptr_t sp)
{
	return sp_on_thread_stack(own, sp) || sp_on_fresh_stack(own, sp);
}

/* Thread exit (a key destructor).  Not while this very stack runs it
 * (a program's handler that called pthread_exit on it): then kept. */
static void release_at_exit(void *arg)
{
	(void)arg;
	profiler_stack_release();
}

static void make_release_key(void)
{
	release_key_made = pthread_key_create(&release_key, release_at_exit) == 0;
}

void profiler_stack_release(void)
{
	struct profiler_stack *own = &profiler_stack_own;

	own->released = true;
	if (!own->mapping || sp_on_thread_stack(own, (uintptr_t)__builtin_frame_address(0)))
		return;
	if (!keep_cached_stack(own->mapping))
		syscall(SYS_munmap, own->mapping, MAPPING_BYTES);
	own->mapping = own->top = NULL;
}

/* A new stack of @mapping_bytes, a guard page first: its mapping, or
 * NULL (errno kept).  Raw system calls: the program's mmap is
 * interposed, and these pages are the profiler's, never the program's. */
static char *map_new_stack(size_t mapping_bytes)
{
	int saved_errno = errno;
	long mapped = syscall(SYS_mmap, NULL, mapping_bytes, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

	if (mapped != -1 && syscall(SYS_mprotect, mapped + GUARD_BYTES, mapping_bytes - GUARD_BYTES,
				    PROT_READ | PROT_WRITE) != 0) {
		syscall(SYS_munmap, mapped, mapping_bytes);
		mapped = -1;
	}
	errno = saved_errno;
	return mapped == -1 ? NULL : (char *)mapped;
}

bool profiler_stack_map(void)
{
	struct profiler_stack *own = &profiler_stack_own;
	int saved_errno = errno;
	char *mapping;
	int set;

	if (own->released)
		return false;
	pthread_once(&release_key_once, make_release_key);
	if (!release_key_made ||
	    (!(mapping = take_cached_stack()) && !(mapping = map_new_stack(MAPPING_BYTES))))
		goto fail;
	/* pthread_setspecific may allocate: the profiler's memory. */
	core_internal_enter();
	set = pthread_setspecific(release_key, (void *)1);
	core_internal_leave();
	if (set != 0) {
		if (!keep_cached_stack(mapping))
			syscall(SYS_munmap, mapping, MAPPING_BYTES);
		goto fail;
	}
	own->mapping = mapping;
	own->top = mapping + MAPPING_BYTES;
	errno = saved_errno;
	return true;
fail:
	/* Never tried again on this thread: the work runs in place. */
	own->released = true;
	errno = saved_errno;
	return false;
}

void profiler_stack_run_fresh(void (*fn)(void *), void *arg, size_t bytes)
{
#if defined(__x86_64__)
	struct profiler_stack *own = &profiler_stack_own;
	size_t mapping_bytes = GUARD_BYTES + ((bytes + GUARD_BYTES - 1) & ~(size_t)(GUARD_BYTES - 1));
	char *mapping = map_new_stack(mapping_bytes);
	char *outer_fresh = own->fresh;
	size_t outer_fresh_bytes = own->fresh_bytes;
	uintptr_t outer_sp = own->program_sp;
	bool outer_in_use = own->in_use;

	if (!mapping) {
		fn(arg);
		return;
	}
	/* From the program's stack, where it left; from a profiler stack,
	 * where that one's switch left. */
	if (!outer_in_use)
		__atomic_store_n(&own->program_sp, (uintptr_t)__builtin_frame_address(0),
				 __ATOMIC_RELAXED);
	__atomic_store_n(&own->fresh_bytes, mapping_bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&own->fresh, mapping, __ATOMIC_RELAXED);
	__atomic_store_n(&own->in_use, true, __ATOMIC_RELAXED);
	atomic_signal_fence(memory_order_seq_cst);
	profiler_stack_switch(arg, fn, mapping + mapping_bytes);
	atomic_signal_fence(memory_order_seq_cst);
	__atomic_store_n(&own->in_use, outer_in_use, __ATOMIC_RELAXED);
	__atomic_store_n(&own->fresh, outer_fresh, __ATOMIC_RELAXED);
	__atomic_store_n(&own->fresh_bytes, outer_fresh_bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&own->program_sp, outer_sp, __ATOMIC_RELAXED);
	syscall(SYS_munmap, mapping, mapping_bytes);
#else
	(void)bytes;
	fn(arg);
#endif
}

uintptr_t profiler_stack_program_sp(void)
{
	const struct profiler_stack *own = &profiler_stack_own;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	if (sp_on_profiler_stack(own, sp) && __atomic_load_n(&own->in_use, __ATOMIC_RELAXED))
		return __atomic_load_n(&own->program_sp, __ATOMIC_RELAXED);
	return sp;
}

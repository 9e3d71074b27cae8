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

static bool sp_on_profiler_stack(const struct profiler_stack *own, uintptr_t sp)
{
	return own->mapping && sp - (uintptr_t)own->mapping < MAPPING_BYTES;
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
	if (!own->mapping || sp_on_profiler_stack(own, (uintptr_t)__builtin_frame_address(0)))
		return;
	if (!keep_cached_stack(own->mapping))
		syscall(SYS_munmap, own->mapping, MAPPING_BYTES);
	own->mapping = own->top = NULL;
}

/* A new stack: its mapping, or NULL.  Raw system calls: the
 * program's mmap is interposed, and these pages are the profiler's,
 * never the program's. */
static char *map_new_stack(void)
{
	long mapped = syscall(SYS_mmap, NULL, MAPPING_BYTES, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

	if (mapped == -1)
		return NULL;
	if (syscall(SYS_mprotect, mapped + GUARD_BYTES, PROFILER_STACK_BYTES,
		    PROT_READ | PROT_WRITE) != 0) {
		syscall(SYS_munmap, mapped, MAPPING_BYTES);
		return NULL;
	}
	return (char *)mapped;
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
	    (!(mapping = take_cached_stack()) && !(mapping = map_new_stack())))
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

uintptr_t profiler_stack_program_sp(void)
{
	const struct profiler_stack *own = &profiler_stack_own;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	if (sp_on_profiler_stack(own, sp) && __atomic_load_n(&own->in_use, __ATOMIC_RELAXED))
		return __atomic_load_n(&own->program_sp, __ATOMIC_RELAXED);
	return sp;
}

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
	syscall(SYS_munmap, own->mapping, MAPPING_BYTES);
	own->mapping = own->top = NULL;
}

bool profiler_stack_map(void)
{
	struct profiler_stack *own = &profiler_stack_own;
	int saved_errno = errno;
	long mapped;

	if (own->released)
		return false;
	pthread_once(&release_key_once, make_release_key);
	if (!release_key_made)
		goto fail;
	/* Raw system calls: the program's mmap is interposed, and these
	 * pages are the profiler's, never the program's. */
	mapped = syscall(SYS_mmap, NULL, MAPPING_BYTES, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (mapped == -1)
		goto fail;
	if (syscall(SYS_mprotect, mapped + GUARD_BYTES, PROFILER_STACK_BYTES,
		    PROT_READ | PROT_WRITE) != 0) {
		syscall(SYS_munmap, mapped, MAPPING_BYTES);
		goto fail;
	}
	/* pthread_setspecific may allocate: the profiler's memory. */
	core_internal_enter();
	if (pthread_setspecific(release_key, (void *)1) != 0) {
		core_internal_leave();
		syscall(SYS_munmap, mapped, MAPPING_BYTES);
		goto fail;
	}
	core_internal_leave();
	own->mapping = (char *)mapped;
	own->top = own->mapping + MAPPING_BYTES;
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

/*
 * dlopen(file, flags): load the profiler's unwinder if it is not yet
 * (core/callsite.c: the loader's allocations in this dlopen are then
 * seen through), drop RTLD_DEEPBIND, then jump to glibc's dlopen, so
 * that glibc sees the program's own return address (see dl.c).
 */
#define RTLD_DEEPBIND 0x8

/* Calls \fn with the stack aligned; dlopen's %rdi and %rsi survive. */
	.macro CALL_KEEPING_ARGS fn
	pushq	%rdi
	.cfi_adjust_cfa_offset 8
	pushq	%rsi
	.cfi_adjust_cfa_offset 8
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	call	\fn
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%rsi
	.cfi_adjust_cfa_offset -8
	popq	%rdi
	.cfi_adjust_cfa_offset -8
	.endm

	.text
	.globl	dlopen
	.type	dlopen, @function
dlopen:
	.cfi_startproc
	CALL_KEEPING_ARGS dl_before_dlopen	/* the unwinder, see dl.c */
	testl	$RTLD_DEEPBIND, %esi
	jz	1f
	CALL_KEEPING_ARGS dl_deepbind_dropped	/* says so once */
	andl	$~RTLD_DEEPBIND, %esi
1:
	movq	dl_real_dlopen(%rip), %rax
	testq	%rax, %rax
	jz	2f
	jmp	*%rax
2:
	/* glibc's dlopen is not known yet: look it up, then jump. */
	CALL_KEEPING_ARGS dl_resolve_real_dlopen
	testq	%rax, %rax
	jz	3f
	jmp	*%rax
3:
	xorl	%eax, %eax
	ret
	.cfi_endproc
	.size	dlopen, .-dlopen

	.section .note.GNU-stack,"",@progbits

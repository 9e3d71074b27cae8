/*
 * dlopen(file, flags): drop RTLD_DEEPBIND, then jump to glibc's dlopen,
 * so that glibc sees the program's own return address (see dl.c).
 */
#define RTLD_DEEPBIND 0x8

	.text
	.globl	dlopen
	.type	dlopen, @function
dlopen:
	.cfi_startproc
	testl	$RTLD_DEEPBIND, %esi
	jz	1f
	/* Say so once; %rdi and %rsi survive the call. */
	pushq	%rdi
	.cfi_adjust_cfa_offset 8
	pushq	%rsi
	.cfi_adjust_cfa_offset 8
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	call	dl_deepbind_dropped
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%rsi
	.cfi_adjust_cfa_offset -8
	popq	%rdi
	.cfi_adjust_cfa_offset -8
	andl	$~RTLD_DEEPBIND, %esi
1:
	movq	dl_real_dlopen(%rip), %rax
	testq	%rax, %rax
	jz	2f
	jmp	*%rax
2:
	/* glibc's dlopen is not known yet: look it up, then jump. */
	pushq	%rdi
	.cfi_adjust_cfa_offset 8
	pushq	%rsi
	.cfi_adjust_cfa_offset 8
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	call	dl_resolve_real_dlopen
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%rsi
	.cfi_adjust_cfa_offset -8
	popq	%rdi
	.cfi_adjust_cfa_offset -8
	testq	%rax, %rax
	jz	3f
	jmp	*%rax
3:
	xorl	%eax, %eax
	ret
	.cfi_endproc
	.size	dlopen, .-dlopen

	.section .note.GNU-stack,"",@progbits

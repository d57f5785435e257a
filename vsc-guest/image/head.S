/* SPDX-License-Identifier: MIT */
/*
 * 64-bit entry, as the boot protocol enters a kernel: long mode, paging on
 * (identity map), interrupts off, %rsi = boot_params. Clear the bss, take a
 * stack, run image_main.
 */
	.section .head, "ax"
	.code64
	.org 0x200
	.globl image_entry
image_entry:
	cli
	cld
	movq	%rsi, %r12
	leaq	__bss_start(%rip), %rdi
	leaq	__bss_end(%rip), %rcx
	subq	%rdi, %rcx
	xorl	%eax, %eax
	rep stosb
	leaq	image_stack_top(%rip), %rsp
	movq	%r12, %rdi
	call	image_main
1:	hlt
	jmp	1b

/*
 * Exception stubs for vectors 0-31: without them any fault is a silent triple
 * fault. Each pushes a zero error code where the CPU pushes none, then the
 * vector, and hands the frame (vector, error, rip, cs, rflags, rsp, ss) to
 * image_exception(), which reports it and powers off.
 */
	.text
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
exc_\n:
	.if !(\n == 8 || (\n >= 10 && \n <= 14) || \n == 17 || \n == 21 || \n == 29 || \n == 30)
	pushq	$0
	.endif
	pushq	$\n
	jmp	exc_common
	.endr
exc_common:
	movq	%rsp, %rdi
	andq	$-16, %rsp
	call	image_exception
2:	cli
	hlt
	jmp	2b

	.section .rodata
	.globl image_exc_stubs
	.balign 8
image_exc_stubs:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	exc_\n
	.endr

	.section .note.GNU-stack, "", @progbits

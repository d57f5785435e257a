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

	.section .note.GNU-stack, "", @progbits

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VT-x world switch. VMLAUNCH/VMRESUME switch the state the VMCS holds
 * (RSP, RIP, RFLAGS, segments, control registers, ...); the other GPRs are
 * moved by hand. A VM exit resumes at linhv_vmx_vmexit with the stack
 * pointer written to HOST_RSP here. Called with interrupts off and the VP's
 * VMCS current on this CPU.
 *
 * int __linhv_vmx_vmenter(struct vmx_gprs *regs, bool launched)
 * returns 0 after a VM exit, 1 when the entry failed (VMfail).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

#define R_RAX 0x00
#define R_RCX 0x08
#define R_RDX 0x10
#define R_RBX 0x18
#define R_RBP 0x28
#define R_RSI 0x30
#define R_RDI 0x38
#define R_R8 0x40
#define R_R9 0x48
#define R_R10 0x50
#define R_R11 0x58
#define R_R12 0x60
#define R_R13 0x68
#define R_R14 0x70
#define R_R15 0x78

#define VMCS_HOST_RSP 0x6c14

	.text
SYM_FUNC_START(__linhv_vmx_vmenter)
	push %rbp
	mov %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	push %rdi		/* guest GPRs */

	/* The exit comes back with exactly this stack pointer. */
	mov $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax

	/* CF = launched: VMRESUME, else VMLAUNCH. MOVs keep the flags. */
	bt $0, %esi
	mov %rdi, %rax
	mov R_RCX(%rax), %rcx
	mov R_RDX(%rax), %rdx
	mov R_RBX(%rax), %rbx
	mov R_RBP(%rax), %rbp
	mov R_RSI(%rax), %rsi
	mov R_RDI(%rax), %rdi
	mov R_R8(%rax), %r8
	mov R_R9(%rax), %r9
	mov R_R10(%rax), %r10
	mov R_R11(%rax), %r11
	mov R_R12(%rax), %r12
	mov R_R13(%rax), %r13
	mov R_R14(%rax), %r14
	mov R_R15(%rax), %r15
	mov R_RAX(%rax), %rax

	/* Clear CPU buffers where the kernel asks for it (MDS class); keeps CF. */
	VM_CLEAR_CPU_BUFFERS
	UNWIND_HINT_SAVE
	jc .Lresume
	vmlaunch
	jmp .Lfail
.Lresume:
	vmresume
	jmp .Lfail

SYM_INNER_LABEL(linhv_vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	push %rax
	mov 8(%rsp), %rax	/* guest GPRs */
	pop R_RAX(%rax)
	mov %rcx, R_RCX(%rax)
	mov %rdx, R_RDX(%rax)
	mov %rbx, R_RBX(%rax)
	mov %rbp, R_RBP(%rax)
	mov %rsi, R_RSI(%rax)
	mov %rdi, R_RDI(%rax)
	mov %r8, R_R8(%rax)
	mov %r9, R_R9(%rax)
	mov %r10, R_R10(%rax)
	mov %r11, R_R11(%rax)
	mov %r12, R_R12(%rax)
	mov %r13, R_R13(%rax)
	mov %r14, R_R14(%rax)
	mov %r15, R_R15(%rax)
	xor %ebx, %ebx
.Ldone:
	pop %rax		/* discard the GPR pointer */
	/* Don't leave guest values in registers the host may speculate on. */
	xor %eax, %eax
	xor %ecx, %ecx
	xor %edx, %edx
	xor %ebp, %ebp
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	xor %r12d, %r12d
	xor %r13d, %r13d
	xor %r14d, %r14d
	xor %r15d, %r15d

	/*
	 * The guest may have trained the return stack and the branch
	 * history: fill the RSB and clear the history before the first RET,
	 * each where the kernel enabled it for its own VM exits.
	 */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, X86_FEATURE_RSB_VMEXIT_LITE
	CLEAR_BRANCH_HISTORY_VMEXIT

	mov %rbx, %rax
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET

.Lfail:
	mov $1, %ebx
	jmp .Ldone
SYM_FUNC_END(__linhv_vmx_vmenter)

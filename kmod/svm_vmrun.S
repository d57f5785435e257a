/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The world switch. VMRUN switches most state; the rest (FS/GS/TR/LDTR,
 * KernelGsBase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_*) is moved with
 * VMSAVE/VMLOAD, and the GPRs other than RAX/RSP by hand. Called with
 * GIF=0, so nothing (not even an NMI) can run on the host while the
 * guest's GS base is loaded.
 *
 * void __linhv_svm_vmrun(u64 vmcb_pa, u64 host_save_pa, struct svm_gprs *regs)
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#define R_RCX 0x00
#define R_RDX 0x08
#define R_RBX 0x10
#define R_RBP 0x18
#define R_RSI 0x20
#define R_RDI 0x28
#define R_R8 0x30
#define R_R9 0x38
#define R_R10 0x40
#define R_R11 0x48
#define R_R12 0x50
#define R_R13 0x58
#define R_R14 0x60
#define R_R15 0x68

	.text
SYM_FUNC_START(__linhv_svm_vmrun)
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rsi		/* host save area */
	push %rdx		/* guest GPRs */
	push %rdi		/* guest VMCB */

	/* Keep the host's VMSAVE state, then load the guest's GPRs. */
	mov %rsi, %rax
	vmsave %rax
	mov %rdx, %rax
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

	pop %rax		/* guest VMCB */
	vmload %rax
	/* Clear CPU buffers where the kernel asks for it (MDS/TSA class). */
	VM_CLEAR_CPU_BUFFERS
	vmrun %rax
	/* What VMRUN saves as the host's RIP: svm.c looks for it in the guest's. */
SYM_INNER_LABEL(__linhv_svm_vmrun_host_rip, SYM_L_GLOBAL)
	vmsave %rax

	/* RSP is back to the host value; the GPRs still hold the guest's. */
	mov (%rsp), %rax	/* guest GPRs */
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
	/* Don't leave guest values in registers the host may speculate on. */
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d

	pop %rax		/* discard the GPR pointer */
	pop %rax		/* host save area */
	vmload %rax

	/*
	 * The guest may have trained the return stack and the branch
	 * predictors: before the first RET, fill the RSB and run the host's
	 * retbleed/SRSO untraining, each where the kernel enabled it (the
	 * same feature flags as its own VM-exit path). Clobbers RAX, RCX, RDX.
	 */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, X86_FEATURE_RSB_VMEXIT_LITE
	UNTRAIN_RET
	ALTERNATIVE "", "call entry_ibpb", X86_FEATURE_IBPB_ON_VMEXIT

	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	RET
SYM_FUNC_END(__linhv_svm_vmrun)

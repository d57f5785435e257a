/*
 * Hardening guests (one 64-bit blob, several entry points): each tries
 * something a hostile guest would, and leaves what happened in RAM or on
 * ports for the root to check.
 *
 * The exception stubs record the vector at VEC (the error code at ERR,
 * a count at CNT) and resume at the address stored at REC. Results are
 * bytes at RES + i (the vector seen, 0xff for none, 0xee for a wrong
 * instruction length).
 */
#define REC 0x9f00
#define VEC 0x9f08
#define ERR 0x9f10
#define CNT 0x9f18
#define RES 0x9000

/* Run the instruction(s) after this macro with REC pointing at label. */
.macro EXPECT label
	movq $0xff, VEC
	lea \label(%rip), %r8
	mov %r8, REC
.endm

	.section .rodata
	.globl guest_hard_start, guest_hard_end
	.globl guest_hard_exc1, guest_hard_exc6, guest_hard_exc13, guest_hard_exc14
	.globl guest_hard_exc17, guest_hard_db_count
	.globl guest_hard_xcr, guest_hard_len, guest_hard_len_hcall, guest_hard_cr4, guest_hard_pkru
	.globl guest_hard_tscaux, guest_hard_dr, guest_hard_tf, guest_hard_exit_loop
	.globl guest_hard_timer, guest_hard_pio_loop
	.code64
guest_hard_start:

.macro STUB vec, err
guest_hard_exc\vec:
	.if \err
	popq ERR
	.endif
	movq $\vec, VEC
	push %rax
	incq CNT
	mov REC, %rax
	mov %rax, 8(%rsp)		/* the saved RIP */
	pop %rax
	iretq
.endm
	STUB 1, 0
	STUB 6, 0
	STUB 13, 1
	STUB 14, 1
	STUB 17, 1

/* #DB that returns where it was raised (single-step counting). */
guest_hard_db_count:
	incq CNT
	push %rax
	mov %dr6, %rax
	mov %rax, ERR			/* the last DR6 */
	pop %rax
	iretq

/* XSETBV with each value of xcr_values (0-terminated), then XGETBV to RES+0x100. */
guest_hard_xcr:
	lea xcr_values(%rip), %rsi
	xor %r12d, %r12d
1:	mov (%rsi,%r12,8), %rax
	test %rax, %rax
	jz 3f
	mov %rax, %rdx
	shr $32, %rdx
	xor %ecx, %ecx
	mov %rsp, %r13
	EXPECT 2f
	xsetbv
	push %rbx			/* one byte: lost if RIP resumes mid-instruction */
	lea -8(%r13), %r9
	cmp %rsp, %r9
	je 2f
	movq $0xee, VEC
2:	mov %r13, %rsp
	mov VEC, %al
	mov %al, RES(%r12)
	inc %r12
	jmp 1b
3:	xor %ecx, %ecx
	EXPECT 4f
	xgetbv
	mov %eax, RES + 0x100
	mov $0xd, %eax			/* XSAVE size for XCR0 = 3, then 7 */
	xor %ecx, %ecx
	cpuid
	mov %ebx, RES + 0x108
	mov $7, %eax
	xor %edx, %edx
	xor %ecx, %ecx
	xsetbv
	mov $0xd, %eax
	xor %ecx, %ecx
	cpuid
	mov %ebx, RES + 0x10c
4:	cli
	hlt
	.balign 8
xcr_values:
	.quad 0x3, 0x7, 0x2, 0x5, 0xb, 0x13, 0x1b, 0x27, 0xe7, 0x203, 0x4000000000000003, 0x3, 0

/*
 * Every instruction the kernel completes (skips) itself, each followed by
 * a one-byte PUSH: the number of pushes that happened goes to port 0x72
 * (11, and 12 with CR4.OSXSAVE).
 */
guest_hard_len:
	mov %rsp, %r13
	xor %eax, %eax
	xor %ecx, %ecx
	cpuid
	push %rbx
	.byte 0x66, 0x0f, 0xa2		/* cpuid with an operand-size prefix */
	push %rbx
	mov $0x277, %ecx		/* PAT: completed in the kernel */
	rdmsr
	push %rbx
	wrmsr
	push %rbx
	.byte 0x48, 0x0f, 0x32		/* rex.W rdmsr */
	push %rbx
	invd
	push %rbx
guest_hard_len_hcall:			/* the root makes it VMCALL on Intel */
	vmmcall				/* not a Hyper-V partition: an error in RAX */
	push %rbx
	mov %dr0, %rax
	push %rbx
	mov %rax, %dr1
	push %rbx
	mov %cr4, %rax
	mov %rax, %r9
	mov %r9, %cr4			/* 41 0f 22 e1 */
	push %rbx
	mov %rax, %cr4
	push %rbx
	bt $18, %rax			/* CR4.OSXSAVE: XSETBV too */
	jnc 1f
	xor %ecx, %ecx
	xgetbv
	xsetbv
	push %rbx
1:	mov %r13, %rax
	sub %rsp, %rax
	shr $3, %eax
	out %eax, $0x72
	mov %r13, %rsp
	cli
	hlt

/* MOV to CR4 with each bit of cr4_bits (alone, on top of CR4); RDPKRU to RES+0x40. */
guest_hard_cr4:
	lea cr4_bits(%rip), %rsi
	xor %r12d, %r12d
	mov %cr4, %r15
1:	mov (%rsi,%r12,8), %rax
	test %rax, %rax
	jz 3f
	or %r15, %rax
	EXPECT 2f
	mov %rax, %cr4
	mov %r15, %cr4
2:	mov VEC, %al
	mov %al, RES(%r12)
	inc %r12
	jmp 1b
3:	xor %ecx, %ecx
	EXPECT 4f
	rdpkru
4:	mov VEC, %al
	mov %al, RES + 0x40
	cli
	hlt
	.balign 8
cr4_bits:
	/* PKE, VMXE, LA57, SMXE, CET, PGE (allowed) */
	.quad 1 << 22, 1 << 13, 1 << 12, 1 << 14, 1 << 23, 1 << 7, 0

/* With PKU offered: CR4.PKE, WRPKRU, an exit, RDPKRU to port 0x74. */
guest_hard_pkru:
	mov %cr4, %rax
	bts $22, %rax
	EXPECT 1f
	mov %rax, %cr4
1:	mov VEC, %al
	mov %al, RES
	xor %ecx, %ecx
	xor %edx, %edx
	mov $0x12345670, %eax
	EXPECT 2f
	wrpkru
	xor %eax, %eax
	cpuid				/* an exit between WRPKRU and RDPKRU */
	xor %ecx, %ecx
	rdpkru
	out %eax, $0x74
2:	cli
	hlt

/* RDPID before and RDTSCP/RDPID after the guest writes TSC_AUX = 0x1234. */
guest_hard_tscaux:
	EXPECT 1f
	rdpid %rax
	out %eax, $0x75
1:	mov $0xc0000103, %ecx
	mov $0x1234, %eax
	xor %edx, %edx
	wrmsr
	EXPECT 2f
	rdtscp
	mov %ecx, %eax
	out %eax, $0x76
2:	EXPECT 3f
	rdpid %rax
	out %eax, $0x77
3:	cli
	hlt

/*
 * Debug registers: DR0-3 as first read (ORed, to RES+0x80), a value
 * written and read back (RES+0x88), then an instruction breakpoint of the
 * guest's own (vector to RES+0x90, DR6 to RES+0x98).
 */
guest_hard_dr:
	mov %dr0, %rax
	mov %dr1, %rbx
	or %rbx, %rax
	mov %dr2, %rbx
	or %rbx, %rax
	mov %dr3, %rbx
	or %rbx, %rax
	mov %rax, RES + 0x80
	mov $0x1111, %eax
	mov %rax, %dr2
	xor %ebx, %ebx
	mov %dr2, %rbx
	mov %rbx, RES + 0x88
	lea 2f(%rip), %rax
	mov %rax, %dr0
	mov $0x401, %eax		/* L0, execute */
	mov %rax, %dr7
	EXPECT 3f
2:	nop
	movq $0xee, VEC			/* the breakpoint did not fire */
3:	mov VEC, %al
	mov %al, RES + 0x90
	mov %dr6, %rax
	mov %rax, RES + 0x98
	xor %eax, %eax
	mov %rax, %dr7
	cli
	hlt

/* Exits the kernel completes itself, forever: the root must still be able to cancel. */
guest_hard_exit_loop:
	xor %eax, %eax
	cpuid
	mov $0x277, %ecx
	rdmsr
	jmp guest_hard_exit_loop

/*
 * Linux's early PCI scan as the module sees it (no device at 0xcf8/0xcfc:
 * the module answers both), RES+8 times; iterations done at RES, and any
 * exception lands in a stub (VEC, CNT), which resumes at the next round.
 * Two Linux guests triple-faulted in this loop (docs/netvsp.md).
 */
guest_hard_pio_loop:
	movq $0, RES
	movq $0, CNT
	lea 2f(%rip), %r8
	mov %r8, REC
	mov RES+8, %rcx
1:	mov $0x80000000, %eax
	mov $0xcf8, %dx
	out %eax, %dx
	mov $0xcfc, %dx
	in %dx, %eax
2:	incq RES
	dec %rcx
	jnz 1b
	cli
	hlt

/* Single-step over plain and emulated instructions: #DB count in CNT. */
guest_hard_tf:
	pushfq
	orq $0x100, (%rsp)
	popfq
	nop				/* 1 */
	xor %eax, %eax			/* 2 */
	cpuid				/* 3: completed by the hypervisor */
	nop				/* 4 */
	pushfq				/* 5 */
	andq $~0x100, (%rsp)		/* 6 */
	popfq				/* 7: TF was still set when it began */
	cli
	hlt

/*
 * x2APIC timer (Hyper-V partition, IF=0): extreme TSC deadlines, then
 * reprogramming a 50 us periodic timer and switching modes while it
 * fires. Port 0x7a says it finished.
 */
guest_hard_timer:
	mov $0x80f, %ecx		/* SVR: APIC on */
	mov $0x1ff, %eax
	xor %edx, %edx
	wrmsr
	mov $0x832, %ecx		/* LVT timer: TSC-deadline, vector 0x40 */
	mov $0x40040, %eax
	wrmsr
	mov $0x6e0, %ecx
	mov $-1, %eax
	mov $-1, %edx
	wrmsr				/* the farthest deadline */
	mov $0x80000000, %edx
	xor %eax, %eax
	wrmsr
	mov $0x7fffffff, %edx
	wrmsr
	rdtsc
	add $1000, %eax
	adc $0, %edx
	wrmsr				/* soon */
	mov $0x832, %ecx		/* periodic */
	mov $0x20040, %eax
	xor %edx, %edx
	wrmsr
	mov $0x83e, %ecx		/* divide by 1 */
	mov $0xb, %eax
	wrmsr
	mov $4000, %r12d
1:	mov $0x838, %ecx		/* initial count 1: the 50 us floor */
	mov $1, %eax
	xor %edx, %edx
	wrmsr
	dec %r12d
	jnz 1b
	mov $1000, %r12d
2:	mov $0x832, %ecx		/* TSC-deadline, due now */
	mov $0x40040, %eax
	xor %edx, %edx
	wrmsr
	mov $0x6e0, %ecx
	rdtsc
	wrmsr
	mov $0x832, %ecx		/* periodic again */
	mov $0x20040, %eax
	xor %edx, %edx
	wrmsr
	mov $0x838, %ecx
	mov $1, %eax
	wrmsr
	dec %r12d
	jnz 2b
	mov $0x832, %ecx		/* masked, stopped */
	mov $0x10000, %eax
	xor %edx, %edx
	wrmsr
	mov $0x838, %ecx
	xor %eax, %eax
	wrmsr
	mov $1, %eax
	out %eax, $0x7a
	cli
	hlt
guest_hard_end:

	.section .note.GNU-stack, "", @progbits

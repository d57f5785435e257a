/*
 * Freestanding guest programs for the hypervisor-core suite. Each one is
 * copied to guest physical 0x1000 by the root and ends with "cli; hlt".
 * Absolute addresses are computed as (label - start + 0x1000).
 * Ports: 0x10-0x1f real mode checks, 0x13 string output, 0x20-0x2f results,
 * 0x30-0x31 interrupt test, 0x40 SMP status.
 */
#define LOAD 0x1000
#define ABS(sym, start) ((sym) - (start) + LOAD)

	.section .rodata
	.globl guest_real_start, guest_real_end
	.code16
guest_real_start:
	mov $0x42, %al
	out %al, $0x10
	in $0x11, %al			/* the root answers 0x5a */
	out %al, $0x12
	mov $0x1234, %ax
	out %ax, $0x14
	mov $ABS(real_msg, guest_real_start), %si
	mov $(real_msg_end - real_msg), %cx
	mov $0x13, %dx
	cld
	rep outsb
	cli
	hlt
real_msg:
	.ascii "hello from real mode"
real_msg_end:
guest_real_end:

	.globl guest_pm32_start, guest_pm32_end
	.code32
guest_pm32_start:
	mov $0x40000100, %eax		/* a leaf set by policy */
	xor %ecx, %ecx
	cpuid
	out %eax, $0x20
	mov %ebx, %eax
	out %eax, $0x21
	mov %ecx, %eax
	out %eax, $0x22
	mov %edx, %eax
	out %eax, $0x23
	movl $0xdeadbeef, 0x3000	/* the root checks this */
	mov 0x5000, %eax		/* the root wrote this */
	out %eax, $0x24
	mov 0xd0000000, %eax		/* MMIO read: the root answers */
	out %eax, $0x25
	movl $0xcafef00d, 0xd0000010	/* MMIO write with an immediate */
	mov $0x40000101, %eax		/* a leaf the policy forwards to the root */
	cpuid
	out %eax, $0x26
	mov $ABS(pm_msg, guest_pm32_start), %esi
	mov $(pm_msg_end - pm_msg), %ecx
	mov $0x13, %dx
	cld
	rep outsb
	cli
	hlt
pm_msg:
	.ascii "hello from protected mode"
pm_msg_end:
guest_pm32_end:

	.globl guest_lm64_start, guest_lm64_end
	.code64
guest_lm64_start:
	mov $0x40000100, %eax
	xor %ecx, %ecx
	cpuid
	out %eax, $0x20
	mov %ebx, %eax
	out %eax, $0x21
	movabs $0x1122334455667788, %rax
	mov $0x3000, %ebx
	mov %rax, (%rbx)
	mov 0x2000(%rbx), %eax		/* GPA 0x5000, written by the root */
	out %eax, $0x24
	mov $0xd0000000, %ebx
	mov (%rbx), %rax		/* 64-bit MMIO read */
	out %eax, $0x25
	shr $32, %rax
	out %eax, $0x27
	movabs $0x0102030405060708, %r9
	mov %r9, 8(%rbx)		/* MMIO write from r9, disp8 */
	movzbl 0x10(%rbx), %r10d	/* movzx from MMIO */
	mov %r10d, %eax
	out %eax, $0x28
	lea lm_msg(%rip), %rsi
	mov $(lm_msg_end - lm_msg), %ecx
	mov $0x13, %dx
	cld
	rep outsb
	mov $0xc0000102, %ecx		/* KernelGsBase: read back after an exit to the root */
	mov $0x13572468, %eax
	mov $2, %edx
	wrmsr
	out %al, $0x2b
	mov $0xc0000102, %ecx
	xor %eax, %eax
	xor %edx, %edx
	rdmsr
	out %eax, $0x29
	mov %edx, %eax
	out %eax, $0x2a
	cli
	hlt
lm_msg:
	.ascii "hello from long mode"
lm_msg_end:
guest_lm64_end:

/*
 * An assigned device's BAR at GPA 0xd0000000 (QEMU's edu device): its ID
 * register to port 0x25, then its liveness register (reads back the
 * complement of what was written) to port 0x26 (32-bit accesses there).
 * Then the guest drives the device's DMA engine itself: its RAM at
 * 0x100000 to the device's buffer, the buffer to RAM at 0x200000, and the
 * buffer to 0x9000000, outside its memory (the IOMMU must stop that one);
 * 1 to port 0x27 when all three completed.
 */
	.globl guest_bar_start, guest_bar_end
	.code64
guest_bar_start:
	mov $0xd0000000, %ebx
	mov (%rbx), %eax
	out %eax, $0x25
	movl $0x12345678, 4(%rbx)
	mov 4(%rbx), %eax
	out %eax, $0x26
	movq $0x100000, 0x80(%rbx)	/* source: guest RAM */
	movq $0x40000, 0x88(%rbx)	/* destination: the device's buffer */
	movq $4096, 0x90(%rbx)
	movq $1, 0x98(%rbx)		/* start, RAM to device */
1:	testl $1, 0x98(%rbx)
	jnz 1b
	movq $0x40000, 0x80(%rbx)
	movq $0x200000, 0x88(%rbx)
	movq $3, 0x98(%rbx)		/* start, device to RAM */
2:	testl $1, 0x98(%rbx)
	jnz 2b
	movq $0x9000000, 0x88(%rbx)	/* outside the partition's 4 MiB */
	movq $3, 0x98(%rbx)
3:	testl $1, 0x98(%rbx)
	jnz 3b
	mov $1, %eax
	out %eax, $0x27
	cli
	hlt
guest_bar_end:

/* Port policy: IN/OUT on ports the root did not claim (0x80, 0x81), then one it did (0x22). */
	.globl guest_ioports_start, guest_ioports_end
	.code64
guest_ioports_start:
	mov $0x3000, %ebx
	movabs $0x1122334455667788, %rax
	in $0x80, %al			/* -> 0x11223344556677ff */
	mov %rax, (%rbx)
	movabs $0x1122334455667788, %rax
	in $0x80, %ax			/* -> 0x112233445566ffff */
	mov %rax, 8(%rbx)
	movabs $0x1122334455667788, %rax
	mov $0x80, %dx
	in %dx, %eax			/* -> 0x00000000ffffffff */
	mov %rax, 16(%rbx)
	out %al, $0x81
	out %eax, $0x81
	mov $0x42, %al
	out %al, $0x22
	cli
	hlt
guest_ioports_end:

/* Interrupts: wait in HLT for a vector the root asserts. */
	.globl guest_irq_start, guest_irq_end, guest_irq_handler
guest_irq_start:
	mov $0x11, %al
	out %al, $0x30			/* about to halt */
	sti
	hlt
	mov $0x77, %al
	out %al, $0x30			/* woke up after the handler ran */
	cli
	hlt
guest_irq_handler:
	mov $0x99, %al
	out %al, $0x31
	iretq
guest_irq_end:

/*
 * FPU state across an in-kernel HLT wait: enable SSE, put a pattern in
 * XMM0-XMM3, wait in HLT for a vector (the VP thread sleeps in the module
 * meanwhile), then check the registers still hold the pattern.
 * Port 0x30: 0x11 about to halt, 0x77 intact, 0xee changed.
 */
	.globl guest_fpu_start, guest_fpu_end, guest_fpu_handler
guest_fpu_start:
	mov %cr0, %rax
	and $~0xc, %rax			/* EM=0, TS=0 */
	or $0x2, %rax			/* MP=1 */
	mov %rax, %cr0
	mov %cr4, %rax
	or $0x600, %rax			/* OSFXSR, OSXMMEXCPT */
	mov %rax, %cr4
	mov $0x5a5a5a5a00000000, %rbx
	movq %rbx, %xmm0
	inc %rbx
	movq %rbx, %xmm1
	inc %rbx
	movq %rbx, %xmm2
	inc %rbx
	movq %rbx, %xmm3
	mov $0x11, %al
	out %al, $0x30
	sti
	hlt
	cli
	mov $0x5a5a5a5a00000000, %rbx
	movq %xmm0, %rcx
	cmp %rbx, %rcx
	jne 1f
	inc %rbx
	movq %xmm1, %rcx
	cmp %rbx, %rcx
	jne 1f
	inc %rbx
	movq %xmm2, %rcx
	cmp %rbx, %rcx
	jne 1f
	inc %rbx
	movq %xmm3, %rcx
	cmp %rbx, %rcx
	jne 1f
	mov $0x77, %al
	out %al, $0x30
	hlt
1:	mov $0xee, %al
	out %al, $0x30
	hlt
guest_fpu_handler:
	iretq
guest_fpu_end:

/* Triple fault: the root gives an IDT of limit 0, so #UD escalates. */
	.globl guest_tf_start, guest_tf_end
guest_tf_start:
	ud2
guest_tf_end:

/*
 * Two VPs: rdi = my index, rbx = 0x9000 (flags at +0/+8, counter at +0x20).
 * Each sets its flag and waits (bounded) for the other's: only possible if
 * both run at the same time. Then both increment a shared counter.
 */
	.globl guest_smp_start, guest_smp_end
guest_smp_start:
	movq $1, (%rbx,%rdi,8)
	mov %rdi, %rax
	xor $1, %rax
	mov $200000000, %rcx
1:	cmpq $0, (%rbx,%rax,8)
	jne 2f
	pause
	dec %rcx
	jnz 1b
	mov $0xbad, %eax
	out %eax, $0x40
	cli
	hlt
2:	mov $100000, %rcx
3:	lock incq 0x20(%rbx)
	dec %rcx
	jnz 3b
	mov $0x600d, %eax
	out %eax, $0x40
	cli
	hlt
guest_smp_end:

/* Memory isolation: report what GPA 0x3000 and 0x200000 hold. */
	.globl guest_iso_start, guest_iso_end
guest_iso_start:
	mov $0x3000, %ebx
	mov (%rbx), %eax
	out %eax, $0x20
	mov $0x200000, %ebx
	mov (%rbx), %eax		/* unmapped in one of the partitions */
	out %eax, $0x21
	cli
	hlt
guest_iso_end:

/* Spin forever (cancel and kill tests). */
	.globl guest_spin_start, guest_spin_end
guest_spin_start:
	pause
	jmp guest_spin_start
guest_spin_end:

/* Exit-cost benchmark loops: rcx iterations of one kind of exit. */
	.globl guest_bench_io_start, guest_bench_io_end
guest_bench_io_start:
1:	out %al, $0x50
	dec %rcx
	jnz 1b
	out %al, $0x51			/* done (KVM keeps HLT in the kernel) */
	cli
	hlt
guest_bench_io_end:
	.globl guest_bench_cpuid_start, guest_bench_cpuid_end
guest_bench_cpuid_start:
	mov %rcx, %rsi
1:	xor %eax, %eax
	cpuid
	dec %rsi
	jnz 1b
	out %al, $0x51			/* done (KVM keeps HLT in the kernel) */
	cli
	hlt
guest_bench_cpuid_end:
	/* rbx = first page, rcx = pages: touch each once (first-touch faults). */
	.globl guest_bench_touch_start, guest_bench_touch_end
guest_bench_touch_start:
1:	movq $1, (%rbx)
	add $4096, %rbx
	dec %rcx
	jnz 1b
	out %al, $0x51			/* done (KVM keeps HLT in the kernel) */
	cli
	hlt
guest_bench_touch_end:

/*
 * Demand paging: write each page's own address into rcx pages from rbx on,
 * out 0x52 (the root pushes the pages out of its memory), read them back and
 * report the number of pages that lost their contents on port 0x22.
 */
	.globl guest_pageout_start, guest_pageout_end
guest_pageout_start:
	mov %rbx, %rsi
	mov %rcx, %rdx
1:	mov %rbx, (%rbx)
	mov %rbx, %rax
	not %rax
	mov %rax, 2048(%rbx)
	add $4096, %rbx
	dec %rcx
	jnz 1b
	out %al, $0x52
	mov %rsi, %rbx
	mov %rdx, %rcx
	xor %edi, %edi
2:	mov %rbx, %rax
	cmp %rax, (%rbx)
	jne 3f
	not %rax
	cmp %rax, 2048(%rbx)
	je 4f
3:	inc %edi
4:	add $4096, %rbx
	dec %rcx
	jnz 2b
	mov %edi, %eax
	out %eax, $0x22
	cli
	hlt
guest_pageout_end:

/*
 * r8 rounds over rcx pages from rbx on: write each page's address xor the
 * round number, then read them all back; report the mismatches on port 0x22.
 * The root pushes the pages out meanwhile, from another CPU.
 */
	.globl guest_churn_start, guest_churn_end
guest_churn_start:
	mov %rbx, %rsi
	mov %rcx, %rdx
	xor %edi, %edi
	xor %r9, %r9
1:	mov %rsi, %rbx
	mov %rdx, %rcx
2:	mov %rbx, %rax
	xor %r9, %rax
	mov %rax, (%rbx)
	add $4096, %rbx
	dec %rcx
	jnz 2b
	mov %rsi, %rbx
	mov %rdx, %rcx
3:	mov %rbx, %rax
	xor %r9, %rax
	cmp %rax, (%rbx)
	je 4f
	inc %edi
	mov %rbx, 0x5000		/* the last mismatch: address, round, value */
	mov %r9, 0x5008
	mov (%rbx), %rax
	mov %rax, 0x5010
4:	add $4096, %rbx
	dec %rcx
	jnz 3b
	inc %r9
	cmp %r8, %r9
	jb 1b
	mov %edi, %eax
	out %eax, $0x22
	cli
	hlt
guest_churn_end:


/*
 * Hyper-V interface (full-guest partition): CPUID signature, hypercall page,
 * HvPostMessage and HvSignalEvent, a SynIC message delivered as an
 * interrupt, the APIC timer, and the reference counter.
 * Pages: 0x20000 SIMP, 0x21000 SIEFP, 0x22000 hypercall page, 0x23000 input.
 */
	.globl guest_hv_start, guest_hv_end, guest_hv_sint_handler, guest_hv_timer_handler
guest_hv_start:
	mov $0x40000000, %eax
	cpuid
	mov %ebx, %eax
	out %eax, $0x20			/* "Micr" */
	mov $0x40000003, %eax
	cpuid
	out %eax, $0x21			/* privileges */
	mov $6, %eax			/* thermal/power leaf: ARAT only */
	xor %ecx, %ecx
	cpuid
	out %eax, $0x27
	mov $0x40000000, %ecx		/* GUEST_OS_ID */
	mov $0x81000000, %edx
	xor %eax, %eax
	wrmsr
	mov $0x40000001, %ecx		/* HYPERCALL: enable at 0x22000 */
	xor %edx, %edx
	mov $0x22001, %eax
	wrmsr
	mov $0x5c, %ecx			/* HvPostMessage, input at 0x23000 */
	mov $0x23000, %edx
	xor %r8d, %r8d
	mov $0x22000, %eax
	call *%rax
	out %eax, $0x22
	mov $0x1005d, %ecx		/* HvSignalEvent, fast, connection 5 */
	mov $5, %edx
	mov $0x22000, %eax
	call *%rax
	out %eax, $0x23
	mov $0x1005d, %ecx		/* ... connection 6 is not registered */
	mov $6, %edx
	mov $0x22000, %eax
	call *%rax
	out %eax, $0x25
	/* SynIC: SIMP, SIEFP, SINT2 -> vector 0x40, enable; APIC software-enable. */
	mov $0x40000083, %ecx
	xor %edx, %edx
	mov $0x20001, %eax
	wrmsr
	mov $0x40000082, %ecx
	mov $0x21001, %eax
	wrmsr
	mov $0x40000092, %ecx
	mov $0x40, %eax
	wrmsr
	mov $0x40000080, %ecx
	mov $1, %eax
	wrmsr
	mov $0x80f, %ecx		/* x2APIC SVR */
	mov $0x1ff, %eax
	wrmsr
	mov $0x40000004, %eax
	cpuid
	out %eax, $0x34			/* recommendations */
	mov $0x40000073, %ecx		/* VP assist page at 0x24000 */
	xor %edx, %edx
	mov $0x24001, %eax
	wrmsr
	out %al, $0x24			/* the root now posts a message to SINT2 */
1:	cli				/* ... which arrives as vector 0x40 */
	cmpl $0, 0x25000
	jne 2f
	sti
	hlt				/* STI shadow: no wakeup is lost */
	jmp 1b
2:	mov $0x77, %al
	out %al, $0x30
	/* APIC timer: one-shot, vector 0x41, 1 ms. */
	mov $0x83e, %ecx		/* divide by 1 */
	mov $0xb, %eax
	xor %edx, %edx
	wrmsr
	mov $0x832, %ecx
	mov $0x41, %eax
	wrmsr
	mov $0x838, %ecx
	mov $1000000, %eax
	wrmsr
1:	cli
	cmpl $0, 0x25004
	jne 2f
	sti
	hlt
	jmp 1b
2:
	mov 0x24000, %eax		/* the offer the timer handler ignored: withdrawn */
	out %eax, $0x36
	mov $0x812, %ecx		/* ISR, vectors 0x40-0x5f: all EOIed */
	rdmsr
	out %eax, $0x37
	mov $0x40000020, %ecx		/* TIME_REF_COUNT advances */
	rdmsr
	mov %eax, %ebx
	pause
	pause
	rdmsr
	sub %ebx, %eax
	out %eax, $0x26
	cli
	hlt
guest_hv_sint_handler:
	mov 0x20200, %eax		/* SIMP slot 2: message type */
	out %eax, $0x31
	mov 0x20210, %eax		/* first payload dword */
	out %eax, $0x33
	movl $0, 0x20200		/* free the slot */
	movl $1, 0x25000
	xor %eax, %eax			/* lazy EOI, as Linux does it */
	xchg %eax, 0x24000
	out %eax, $0x35
	test $1, %al
	jnz 1f				/* "no EOI required": the hypervisor does it */
	mov $0x40000070, %ecx		/* synthetic EOI MSR */
	xor %eax, %eax
	xor %edx, %edx
	wrmsr
1:	iretq
guest_hv_timer_handler:
	mov $0x88, %al
	out %al, $0x32
	movl $1, 0x25004
	mov $0x40000070, %ecx		/* EOI through the MSR, offer or not */
	xor %eax, %eax
	xor %edx, %edx
	wrmsr
	iretq
guest_hv_end:


/* INIT/SIPI through the x2APIC ICR: VP0 (long mode) starts VP1 at 0x20000. */
	.globl guest_sipi_bsp_start, guest_sipi_bsp_end
	.code64
guest_sipi_bsp_start:
	mov $0x80f, %ecx		/* SVR: APIC on */
	xor %edx, %edx
	mov $0x1ff, %eax
	wrmsr
	mov $0x830, %ecx		/* ICR: INIT, level assert, to APIC id 1 */
	mov $1, %edx
	mov $0x4500, %eax
	wrmsr
	mov $0x8500, %eax		/* INIT de-assert (ignored) */
	wrmsr
	mov $0x0620, %eax		/* STARTUP, vector 0x20 -> 0x20000 */
	wrmsr
	wrmsr				/* the second SIPI is ignored */
	mov $100000000, %rcx
1:	cmpw $0, 0x9000
	jne 2f
	pause
	dec %rcx
	jnz 1b
2:	movzwl 0x9000, %eax
	out %eax, $0x50
	cli
	hlt
guest_sipi_bsp_end:

	.globl guest_sipi_ap_start, guest_sipi_ap_end
	.code16
guest_sipi_ap_start:
	mov %cs, %ax
	out %ax, $0x51			/* CS selector: 0x2000 */
	xor %ax, %ax
	mov %ax, %ds
	movw $0x4321, 0x9000
	cli
	hlt
guest_sipi_ap_end:
	.code64


/*
 * INT3 whose delivery takes a nested page fault (the stack page was never
 * touched): the handler must see the return RIP just after the int3.
 */
	.globl guest_bp_start, guest_bp_end, guest_bp_handler, guest_bp_after
	.code64
guest_bp_start:
	mov $0x30000, %rsp		/* a fresh page: first touch is in delivery */
	int3
guest_bp_after:
	mov $0x55, %al
	out %al, $0x60
	cli
	hlt
guest_bp_handler:
	mov (%rsp), %rax		/* the pushed RIP */
	out %eax, $0x61
	iretq
guest_bp_end:

/*
 * Device interrupts (assign-tests): a Hyper-V partition's guest with the
 * hypercall page at 0x22000 and its x2APIC enabled, halting with interrupts
 * on. Each handler reports its vector on port 0x31 and EOIs. When the root
 * leaves a control word at 0x26000, the guest issues that hypercall with
 * its input at 0x27000 and reports the status on port 0x32. While 0x26008
 * is non-zero it spins with interrupts on instead of halting.
 */
	.globl guest_devirq_start, guest_devirq_end
	.globl guest_devirq_h20, guest_devirq_h50, guest_devirq_h60, guest_devirq_h70
	.code64
guest_devirq_start:
	mov $0x40000000, %ecx		/* GUEST_OS_ID */
	mov $0x81000000, %edx
	xor %eax, %eax
	wrmsr
	mov $0x40000001, %ecx		/* HYPERCALL: enable at 0x22000 */
	xor %edx, %edx
	mov $0x22001, %eax
	wrmsr
	mov $0x80f, %ecx		/* x2APIC SVR: software-enable */
	mov $0x1ff, %eax
	wrmsr
	mov $0x11, %al
	out %al, $0x30			/* ready */
1:	cli
	cmpq $0, 0x26008
	jne 3f
	cmpq $0, 0x26000
	jne 2f
	sti
	hlt				/* STI shadow: no wakeup is lost */
	jmp 1b
3:	sti				/* spin in the guest until the root says stop */
	pause
	cmpq $0, 0x26008
	jne 3b
	jmp 1b
2:	mov 0x26000, %rcx		/* the root's control word */
	movq $0, 0x26000
	mov $0x27000, %edx
	xor %r8d, %r8d
	mov $0x22000, %eax
	call *%rax
	out %eax, $0x32
	jmp 1b

.macro devirq_handler vec
guest_devirq_h\vec:
	push %rax
	push %rcx
	push %rdx
	mov $0x\vec, %eax
	out %eax, $0x31
	mov $0x80b, %ecx		/* x2APIC EOI */
	xor %eax, %eax
	xor %edx, %edx
	wrmsr
	pop %rdx
	pop %rcx
	pop %rax
	iretq
.endm
	devirq_handler 20
	devirq_handler 50
	devirq_handler 60
	devirq_handler 70
guest_devirq_end:

	.section .note.GNU-stack, "", @progbits

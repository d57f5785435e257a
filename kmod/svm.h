/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AMD SVM definitions: the VMCB layout and exit codes, from the AMD64
 * Architecture Programmer's Manual vol. 2, appendix B and C.
 */
#ifndef LINHV_SVM_H
#define LINHV_SVM_H

#include <linux/types.h>
#include <linux/build_bug.h>

/* Intercept vector 3 (VMCB offset 0x0c). */
#define SVM_I3_INTR BIT(0)
#define SVM_I3_NMI BIT(1)
#define SVM_I3_VINTR BIT(4)
#define SVM_I3_RDPMC BIT(15)
#define SVM_I3_CPUID BIT(18)
#define SVM_I3_INVD BIT(22)
#define SVM_I3_HLT BIT(24)
#define SVM_I3_INVLPGA BIT(26)
#define SVM_I3_IOIO BIT(27)
#define SVM_I3_MSR BIT(28)
#define SVM_I3_SHUTDOWN BIT(31)
/* Intercept vector 4 (VMCB offset 0x10). */
#define SVM_I4_VMRUN BIT(0)
#define SVM_I4_VMMCALL BIT(1)
#define SVM_I4_VMLOAD BIT(2)
#define SVM_I4_VMSAVE BIT(3)
#define SVM_I4_STGI BIT(4)
#define SVM_I4_CLGI BIT(5)
#define SVM_I4_SKINIT BIT(6)
#define SVM_I4_MONITOR BIT(10)
#define SVM_I4_MWAIT BIT(11)
#define SVM_I4_MWAIT_COND BIT(12)
#define SVM_I4_XSETBV BIT(13)

#define SVM_INT_CTL_V_TPR_MASK 0xffULL
#define SVM_INT_CTL_V_IRQ BIT_ULL(8)
#define SVM_INT_CTL_V_INTR_PRIO_SHIFT 16
#define SVM_INT_CTL_V_IGN_TPR BIT_ULL(20)
#define SVM_INT_CTL_V_INTR_MASKING BIT_ULL(24)

#define SVM_INT_STATE_SHADOW BIT_ULL(0)

#define SVM_NESTED_CTL_NP_ENABLE BIT_ULL(0)

#define SVM_TLB_CONTROL_DO_NOTHING 0
#define SVM_TLB_CONTROL_FLUSH_ALL 1

/* EVENTINJ and EXITINTINFO format. */
#define SVM_EVTINJ_VEC_MASK 0xff
#define SVM_EVTINJ_TYPE_SHIFT 8
#define SVM_EVTINJ_TYPE_MASK (7 << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_INTR (0 << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_NMI (2 << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_EXEPT (3 << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_SOFT (4 << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_VALID_ERR BIT(11)
#define SVM_EVTINJ_VALID BIT(31)

/* EXITINFO1 of an IOIO intercept. */
#define SVM_IOIO_TYPE_IN BIT(0)
#define SVM_IOIO_STR BIT(2)
#define SVM_IOIO_REP BIT(3)
#define SVM_IOIO_SIZE_SHIFT 4
#define SVM_IOIO_SIZE_MASK (7 << SVM_IOIO_SIZE_SHIFT)
#define SVM_IOIO_SEG_SHIFT 10
#define SVM_IOIO_SEG_MASK (7 << SVM_IOIO_SEG_SHIFT)

/* EXITINFO1 of a nested page fault. */
#define SVM_NPF_PRESENT BIT_ULL(0)
#define SVM_NPF_WRITE BIT_ULL(1)
#define SVM_NPF_USER BIT_ULL(2)
#define SVM_NPF_RSVD BIT_ULL(3)
#define SVM_NPF_FETCH BIT_ULL(4)

/* Exit codes. */
#define SVM_EXIT_READ_CR0 0x000
#define SVM_EXIT_WRITE_CR0 0x010
#define SVM_EXIT_READ_DR0 0x020
#define SVM_EXIT_WRITE_DR0 0x030
#define SVM_EXIT_EXCP_BASE 0x040
#define SVM_EXIT_INTR 0x060
#define SVM_EXIT_NMI 0x061
#define SVM_EXIT_SMI 0x062
#define SVM_EXIT_INIT 0x063
#define SVM_EXIT_VINTR 0x064
#define SVM_EXIT_RDPMC 0x06f
#define SVM_EXIT_CPUID 0x072
#define SVM_EXIT_INVD 0x076
#define SVM_EXIT_HLT 0x078
#define SVM_EXIT_INVLPGA 0x07a
#define SVM_EXIT_IOIO 0x07b
#define SVM_EXIT_MSR 0x07c
#define SVM_EXIT_SHUTDOWN 0x07f
#define SVM_EXIT_VMRUN 0x080
#define SVM_EXIT_VMMCALL 0x081
#define SVM_EXIT_VMLOAD 0x082
#define SVM_EXIT_VMSAVE 0x083
#define SVM_EXIT_STGI 0x084
#define SVM_EXIT_CLGI 0x085
#define SVM_EXIT_SKINIT 0x086
#define SVM_EXIT_MONITOR 0x08a
#define SVM_EXIT_MWAIT 0x08b
#define SVM_EXIT_MWAIT_COND 0x08c
#define SVM_EXIT_XSETBV 0x08d
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_ERR (-1ULL)

struct vmcb_control {
	u32 intercept_cr; /* 0x000: reads 0-15, writes 16-31 */
	u32 intercept_dr; /* 0x004 */
	u32 intercept_exceptions; /* 0x008 */
	u32 intercept3; /* 0x00c */
	u32 intercept4; /* 0x010 */
	u32 intercept5; /* 0x014 */
	u8 reserved_018[0x03c - 0x018];
	u16 pause_filter_thresh; /* 0x03c */
	u16 pause_filter_count; /* 0x03e */
	u64 iopm_base_pa; /* 0x040 */
	u64 msrpm_base_pa; /* 0x048 */
	u64 tsc_offset; /* 0x050 */
	u32 asid; /* 0x058 */
	u8 tlb_control; /* 0x05c */
	u8 reserved_05d[3];
	u64 int_ctl; /* 0x060 */
	u64 int_state; /* 0x068 */
	u64 exit_code; /* 0x070 */
	u64 exit_info_1; /* 0x078 */
	u64 exit_info_2; /* 0x080 */
	u64 exit_int_info; /* 0x088 */
	u64 nested_ctl; /* 0x090 */
	u64 avic_vapic_bar; /* 0x098 */
	u64 ghcb_gpa; /* 0x0a0 */
	u64 event_inj; /* 0x0a8 */
	u64 nested_cr3; /* 0x0b0 */
	u64 virt_ext; /* 0x0b8 */
	u32 clean; /* 0x0c0 */
	u32 reserved_0c4;
	u64 next_rip; /* 0x0c8 */
	u8 insn_len; /* 0x0d0 */
	u8 insn_bytes[15];
	u8 reserved_0e0[0x400 - 0x0e0];
} __packed;

struct vmcb_seg {
	u16 selector;
	u16 attrib;
	u32 limit;
	u64 base;
} __packed;

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x000 */
	u8 reserved_0a0[0x0cb - 0x0a0];
	u8 cpl; /* 0x0cb */
	u32 reserved_0cc;
	u64 efer; /* 0x0d0 */
	u8 reserved_0d8[0x148 - 0x0d8];
	u64 cr4; /* 0x148 */
	u64 cr3;
	u64 cr0;
	u64 dr7;
	u64 dr6;
	u64 rflags;
	u64 rip; /* 0x178 */
	u8 reserved_180[0x1d8 - 0x180];
	u64 rsp; /* 0x1d8 */
	u64 s_cet, ssp, isst_addr;
	u64 rax; /* 0x1f8 */
	u64 star, lstar, cstar, sfmask, kernel_gs_base;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 cr2; /* 0x240 */
	u8 reserved_248[0x268 - 0x248];
	u64 g_pat; /* 0x268 */
	u64 dbgctl;
	u64 br_from, br_to, last_excp_from, last_excp_to;
	u8 reserved_298[0xc00 - 0x298];
} __packed;

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __packed;

static inline void svm_layout_checks(void)
{
	BUILD_BUG_ON(offsetof(struct vmcb_control, exit_code) != 0x70);
	BUILD_BUG_ON(offsetof(struct vmcb_control, nested_cr3) != 0xb0);
	BUILD_BUG_ON(offsetof(struct vmcb_control, next_rip) != 0xc8);
	BUILD_BUG_ON(sizeof(struct vmcb_control) != 0x400);
	BUILD_BUG_ON(offsetof(struct vmcb_save, efer) != 0xd0);
	BUILD_BUG_ON(offsetof(struct vmcb_save, cr4) != 0x148);
	BUILD_BUG_ON(offsetof(struct vmcb_save, rip) != 0x178);
	BUILD_BUG_ON(offsetof(struct vmcb_save, rsp) != 0x1d8);
	BUILD_BUG_ON(offsetof(struct vmcb_save, rax) != 0x1f8);
	BUILD_BUG_ON(offsetof(struct vmcb_save, cr2) != 0x240);
	BUILD_BUG_ON(offsetof(struct vmcb_save, g_pat) != 0x268);
	BUILD_BUG_ON(sizeof(struct vmcb) != 4096);
}

/* Guest GPRs that VMRUN does not switch (RAX and RSP live in the VMCB). */
struct svm_gprs {
	u64 rcx, rdx, rbx, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

void __linhv_svm_vmrun(u64 vmcb_pa, u64 host_save_pa, struct svm_gprs *regs);
/* The instruction after VMRUN: the RIP that VMRUN saves of the host. */
extern const char __linhv_svm_vmrun_host_rip[];

#endif /* LINHV_SVM_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vendor layer: what the common files of linhv.ko may ask of the
 * virtualization extension (AMD SVM, Intel VT-x) about a VP. The vendor
 * keeps its own per-VP state behind linhv_vp.vendor; nothing outside
 * svm*.c and vmx*.c looks into it, and no common file includes a vendor header.
 *
 * Calls go through one const table chosen at load time. They are indirect
 * calls, kept off the hot path: per world switch the run loop (run.c) makes
 * two (->event_pending, ->run), a few more only when it injects an event;
 * the exit handlers the hypervisor completes itself (CPUID, MSRs, I/O to
 * unclaimed ports, CR4, DRs) run inside the vendor file with direct access
 * to its state and call common code directly. An exit costs about a
 * thousand cycles on hardware and tens of microseconds in the emulated
 * host: two retpolined calls are not measurable there
 * (scripts/bench/exit-cost), so static calls are not worth their patching.
 */
#ifndef LINHV_VENDOR_H
#define LINHV_VENDOR_H

#include <linux/types.h>
#include <linhv/linhv.h>

struct linhv_vp;
struct linhv_npt_format;

/* Registers by number; the first 16 are the GPRs in ModRM/REX order. */
enum linhv_reg {
	LINHV_REG_RAX,
	LINHV_REG_RCX,
	LINHV_REG_RDX,
	LINHV_REG_RBX,
	LINHV_REG_RSP,
	LINHV_REG_RBP,
	LINHV_REG_RSI,
	LINHV_REG_RDI,
	LINHV_REG_R8,
	LINHV_REG_R9,
	LINHV_REG_R10,
	LINHV_REG_R11,
	LINHV_REG_R12,
	LINHV_REG_R13,
	LINHV_REG_R14,
	LINHV_REG_R15,
	LINHV_REG_RIP,
	LINHV_REG_RFLAGS,
	LINHV_REG_CR0,
	LINHV_REG_CR2,
	LINHV_REG_CR3,
	LINHV_REG_CR4,
	LINHV_REG_EFER, /* as the guest sees it (no SVME) */
	LINHV_REG_DR6,
	LINHV_REG_DR7,
	LINHV_REG_PAT,
	LINHV_REG_KERNEL_GS_BASE,
	LINHV_REG_SYSENTER_CS,
	LINHV_REG_SYSENTER_EIP,
	LINHV_REG_SYSENTER_ESP,
	LINHV_REG_STAR,
	LINHV_REG_LSTAR,
	LINHV_REG_CSTAR,
	LINHV_REG_SFMASK,
	LINHV_NR_REGS
};

/* Segment and descriptor-table registers (the tables use base and limit only). */
enum linhv_seg {
	LINHV_SEG_ES,
	LINHV_SEG_CS,
	LINHV_SEG_SS,
	LINHV_SEG_DS,
	LINHV_SEG_FS,
	LINHV_SEG_GS,
	LINHV_SEG_LDTR,
	LINHV_SEG_TR,
	LINHV_SEG_GDTR,
	LINHV_SEG_IDTR,
};

/* What ->run reports after one entry. */
enum linhv_run_result {
	LINHV_RUN_RESUME = 0, /* handled: enter the guest again */
	LINHV_RUN_MESSAGE = 1, /* vp->run->msg holds a message for the root */
	LINHV_RUN_BAD_STATE = 2, /* the CPU would refuse the state: not entered */
};

struct linhv_vendor_ops {
	const char *name;
	/* Hypercall page contents: the vendor's hypercall instruction. */
	u8 hypercall_insn[3];
	/* The entry format of its second-level page tables (npt.c). */
	const struct linhv_npt_format *npt_format;

	/* Vendor state of a VP: allocated, reset to power-on, freed. */
	int (*vp_init)(struct linhv_vp *vp);
	void (*vp_free)(struct linhv_vp *vp);
	/* Zero every register and cancel any event; run.c then sets the reset values. */
	void (*vp_clear)(struct linhv_vp *vp);

	u64 (*get_reg)(struct linhv_vp *vp, enum linhv_reg reg);
	void (*set_reg)(struct linhv_vp *vp, enum linhv_reg reg, u64 val);
	/* TLFS segment format; setting SS also sets the CPL from its DPL. */
	void (*get_seg)(struct linhv_vp *vp, enum linhv_seg seg, struct hv_x64_segment_register *s);
	void (*set_seg)(struct linhv_vp *vp, enum linhv_seg seg,
			const struct hv_x64_segment_register *s);
	u8 (*get_cpl)(struct linhv_vp *vp);
	/* CR8 (task priority, 0-15) as the guest last wrote it. */
	u8 (*get_tpr)(struct linhv_vp *vp);
	void (*set_tpr)(struct linhv_vp *vp, u8 cr8);
	u64 (*get_tsc_offset)(struct linhv_vp *vp);
	void (*set_tsc_offset)(struct linhv_vp *vp, u64 offset);
	bool (*get_interrupt_shadow)(struct linhv_vp *vp);
	void (*set_interrupt_shadow)(struct linhv_vp *vp, bool shadow);

	/* Events: at most one is injected per entry. */
	bool (*event_pending)(struct linhv_vp *vp); /* one is set up (re-injection) */
	void (*cancel_event)(struct linhv_vp *vp);
	void (*inject_exception)(struct linhv_vp *vp, u8 vector, bool has_error, u32 error);
	void (*inject_nmi)(struct linhv_vp *vp);
	void (*inject_irq)(struct linhv_vp *vp, u8 vector);
	bool (*irq_allowed)(struct linhv_vp *vp); /* RFLAGS.IF and no interrupt shadow */
	/* Exit as soon as the guest can take an interrupt. */
	void (*enable_irq_window)(struct linhv_vp *vp);

	/* The TLFS intercept header's CPU state: CPL, execution state, CS, RIP, RFLAGS. */
	void (*fill_intercept_header)(struct linhv_vp *vp, struct hv_x64_intercept_message_header *h);

	/*
	 * Check the state, enter the guest once and handle the exit
	 * (enum linhv_run_result). Interrupts are on; called with vp->mutex.
	 */
	int (*run)(struct linhv_vp *vp);
};

/* The vendor in use; set once by linhv_arch_init() (vendor.c). */
extern const struct linhv_vendor_ops *linhv_vendor;

static inline u64 linhv_get_reg(struct linhv_vp *vp, enum linhv_reg reg)
{
	return linhv_vendor->get_reg(vp, reg);
}

static inline void linhv_set_reg(struct linhv_vp *vp, enum linhv_reg reg, u64 val)
{
	linhv_vendor->set_reg(vp, reg, val);
}

/* svm.c: the AMD implementation and its per-host setup. */
extern const struct linhv_vendor_ops linhv_svm_ops;
int linhv_svm_hw_init(void);
void linhv_svm_hw_exit(void);

/* vmx.c: the Intel implementation (VT-x with EPT and unrestricted guest). */
extern const struct linhv_vendor_ops linhv_vmx_ops;
int linhv_vmx_hw_init(void);
void linhv_vmx_hw_exit(void);

#endif /* LINHV_VENDOR_H */

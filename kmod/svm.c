// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM, the vendor layer's implementation (vendor.h): turning SVM on per
 * CPU, the VMCB of each VP, one world switch and the intercepts. Intercepts
 * the hypervisor owns (CPUID, known MSRs, XSETBV, CR4 and DR accesses) are
 * completed here; HLT, nested page faults and the TLFS intercept messages
 * for the root go through the common code in run.c.
 */
#include <linux/cpuhotplug.h>
#include <linux/mm.h>
#include <asm/io.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/trapnr.h>

#include "linhv_internal.h"
#include "svm.h"

static DEFINE_PER_CPU(struct page *, hsave_page); /* VM_HSAVE_PA */
static DEFINE_PER_CPU(struct page *, host_vmsave_page); /* host VMSAVE state */
static enum cpuhp_state svm_hp_state;
static struct page *iopm_pages, *msrpm_pages;

#define IOPM_ORDER 2 /* 12 KiB used */
#define MSRPM_ORDER 1 /* 8 KiB */
#define GUEST_ASID 1

/* The SVM half of a VP (linhv_vp.vendor). */
struct svm_vp {
	struct vmcb *vmcb;
	u64 vmcb_pa;
	struct svm_gprs gprs;
};

static inline struct svm_vp *svm(struct linhv_vp *vp)
{
	return vp->vendor;
}

/* ---- per-CPU enable/disable ---- */

static int svm_cpu_online(unsigned int cpu)
{
	u64 efer;

	if (!per_cpu(hsave_page, cpu)) {
		per_cpu(hsave_page, cpu) = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		per_cpu(host_vmsave_page, cpu) = alloc_pages_node(cpu_to_node(cpu),
								   GFP_KERNEL | __GFP_ZERO, 0);
		if (!per_cpu(hsave_page, cpu) || !per_cpu(host_vmsave_page, cpu))
			return -ENOMEM;
	}
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		pr_err("linhv: CPU %u already has EFER.SVME set: another hypervisor is active\n", cpu);
		return -EBUSY;
	}
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(per_cpu(hsave_page, cpu)));
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	linhv_cpu_virt_on();
	return 0;
}

static int svm_cpu_offline(unsigned int cpu)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		wrmsrl(MSR_EFER, efer & ~EFER_SVME);
		wrmsrl(MSR_VM_HSAVE_PA, 0);
	}
	return 0;
}

static void msrpm_allow(u8 *pm, u32 msr)
{
	u32 base, off;

	if (msr < 0x2000) {
		base = 0;
		off = msr;
	} else if (msr >= 0xc0000000 && msr < 0xc0002000) {
		base = 0x800;
		off = msr - 0xc0000000;
	} else {
		base = 0x1000;
		off = msr - 0xc0010000;
	}
	/* Two bits per MSR: read intercept, write intercept. */
	pm[base + off / 4] &= ~(3 << ((off % 4) * 2));
}

static void free_percpu_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (per_cpu(hsave_page, cpu))
			__free_page(per_cpu(hsave_page, cpu));
		if (per_cpu(host_vmsave_page, cpu))
			__free_page(per_cpu(host_vmsave_page, cpu));
		per_cpu(hsave_page, cpu) = NULL;
		per_cpu(host_vmsave_page, cpu) = NULL;
	}
}

int linhv_svm_hw_init(void)
{
	static const u32 passthrough[] = {
		MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
		MSR_SYSCALL_MASK, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
		MSR_IA32_SYSENTER_EIP,
	};
	int i, ret;

	svm_layout_checks();

	/* Every port and every MSR is intercepted unless listed above. */
	iopm_pages = alloc_pages(GFP_KERNEL, IOPM_ORDER);
	msrpm_pages = alloc_pages(GFP_KERNEL, MSRPM_ORDER);
	if (!iopm_pages || !msrpm_pages)
		goto nomem;
	memset(page_address(iopm_pages), 0xff, PAGE_SIZE << IOPM_ORDER);
	memset(page_address(msrpm_pages), 0xff, PAGE_SIZE << MSRPM_ORDER);
	for (i = 0; i < ARRAY_SIZE(passthrough); i++)
		msrpm_allow(page_address(msrpm_pages), passthrough[i]);

	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "linhv/svm:online", svm_cpu_online,
				svm_cpu_offline);
	if (ret < 0) {
		pr_err("linhv: could not enable SVM on every CPU (%d)\n", ret);
		goto err;
	}
	svm_hp_state = ret;
	return 0;
nomem:
	ret = -ENOMEM;
err:
	if (iopm_pages)
		__free_pages(iopm_pages, IOPM_ORDER);
	if (msrpm_pages)
		__free_pages(msrpm_pages, MSRPM_ORDER);
	free_percpu_pages();
	return ret;
}

void linhv_svm_hw_exit(void)
{
	if (!svm_hp_state)
		return;
	cpuhp_remove_state(svm_hp_state);
	__free_pages(iopm_pages, IOPM_ORDER);
	__free_pages(msrpm_pages, MSRPM_ORDER);
	free_percpu_pages();
}

/* ---- VMCB ---- */

static int svm_vp_init(struct linhv_vp *vp)
{
	struct svm_vp *sv = kzalloc(sizeof(*sv), GFP_KERNEL_ACCOUNT);
	struct page *pg = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	struct vmcb_control *c;

	if (!sv || !pg) {
		kfree(sv);
		if (pg)
			__free_page(pg);
		return -ENOMEM;
	}
	vp->vendor = sv;
	sv->vmcb = page_address(pg);
	sv->vmcb_pa = page_to_phys(pg);
	c = &sv->vmcb->control;

	c->intercept3 = SVM_I3_INTR | SVM_I3_NMI | SVM_I3_RDPMC | SVM_I3_CPUID | SVM_I3_INVD |
			SVM_I3_HLT | SVM_I3_INVLPGA | SVM_I3_IOIO | SVM_I3_MSR | SVM_I3_SHUTDOWN;
	c->intercept4 = SVM_I4_VMRUN | SVM_I4_VMMCALL | SVM_I4_VMLOAD | SVM_I4_VMSAVE |
			SVM_I4_STGI | SVM_I4_CLGI | SVM_I4_SKINIT | SVM_I4_MONITOR |
			SVM_I4_MWAIT | SVM_I4_MWAIT_COND | SVM_I4_XSETBV;
	/*
	 * #DB and #AC always exit: a guest can make their delivery raise the
	 * same exception again, which loops inside the CPU with no interrupt
	 * window (CVE-2015-8104, CVE-2015-5307). Each round trip through
	 * the run loop can be interrupted, rescheduled and cancelled.
	 */
	c->intercept_exceptions = BIT(X86_TRAP_DB) | BIT(X86_TRAP_AC);
	/*
	 * DR0-3 are not in the VMCB. Guest accesses are emulated from vp->db,
	 * so a guest never reads what the host or another guest left there;
	 * DR7 writes (and DR5, its alias) exit too, so that DR0-3 are loaded
	 * before the breakpoints they arm can fire.
	 */
	c->intercept_dr = 0x000f | ((0x000f | BIT(5) | BIT(7)) << 16);
	/* CR4 writes are checked against what the partition offers (PKE, ...). */
	c->intercept_cr = BIT(16 + 4);
	c->iopm_base_pa = page_to_phys(iopm_pages);
	c->msrpm_base_pa = page_to_phys(msrpm_pages);
	c->tsc_offset = vp->part->tsc_offset;
	c->asid = GUEST_ASID;
	c->tlb_control = SVM_TLB_CONTROL_FLUSH_ALL;
	c->int_ctl = SVM_INT_CTL_V_INTR_MASKING;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = vp->part->npt.root_pa;
	return 0;
}

/* Every register zero and no event: run.c sets the reset values on top. */
static void svm_vp_clear(struct linhv_vp *vp)
{
	struct svm_vp *sv = svm(vp);

	memset(&sv->vmcb->save, 0, sizeof(sv->vmcb->save));
	memset(&sv->gprs, 0, sizeof(sv->gprs));
	sv->vmcb->save.efer = EFER_SVME;
	sv->vmcb->control.event_inj = 0;
	sv->vmcb->control.int_state = 0;
	sv->vmcb->control.int_ctl &= ~(SVM_INT_CTL_V_IRQ | SVM_INT_CTL_V_TPR_MASK);
}

static void svm_vp_free(struct linhv_vp *vp)
{
	struct svm_vp *sv = svm(vp);

	if (!sv)
		return;
	if (sv->vmcb)
		free_page((unsigned long)sv->vmcb);
	kfree(sv);
	vp->vendor = NULL;
}

/* ---- helpers ---- */

static bool long_mode_cs(struct linhv_vp *vp)
{
	return (svm(vp)->vmcb->save.efer & EFER_LMA) && (svm(vp)->vmcb->save.cs.attrib & (1 << 9));
}

/*
 * Length of the intercepted instruction whose opcode is op[0..op_len) (the
 * ModRM byte included for the 0F 01 group); op_len when the bytes cannot
 * be read.
 */
static int insn_len(struct linhv_vp *vp, const u8 *op, int op_len)
{
	u8 b[15];
	int n, len;

	if (linhv_host_caps.features & LINHV_FEAT_NRIP_SAVE) {
		u64 next = svm(vp)->vmcb->control.next_rip;

		if (next > svm(vp)->vmcb->save.rip && next - svm(vp)->vmcb->save.rip <= 15)
			return next - svm(vp)->vmcb->save.rip;
	}
	n = linhv_fetch_insn(vp, b, sizeof(b));
	len = linhv_insn_length(b, n, long_mode_cs(vp), op, op_len);
	return len > 0 ? len : op_len;
}

#define INSN_LEN(vp, ...) insn_len(vp, (const u8[]){__VA_ARGS__}, sizeof((const u8[]){__VA_ARGS__}))

static void skip(struct linhv_vp *vp, int len)
{
	struct vmcb *v = svm(vp)->vmcb;

	v->save.rip += len;
	if (!long_mode_cs(vp))
		v->save.rip = (u32)v->save.rip;
	v->control.int_state &= ~SVM_INT_STATE_SHADOW;
	/* The single-step trap the CPU would have raised after the instruction. */
	if (v->save.rflags & X86_EFLAGS_TF) {
		v->save.dr6 |= DR_STEP;
		linhv_queue_exception(vp, X86_TRAP_DB, false, 0);
	}
}

/* ---- events ---- */

static bool svm_event_pending(struct linhv_vp *vp)
{
	return svm(vp)->vmcb->control.event_inj & SVM_EVTINJ_VALID;
}

static void svm_cancel_event(struct linhv_vp *vp)
{
	svm(vp)->vmcb->control.event_inj = 0;
}

static void svm_inject_exception(struct linhv_vp *vp, u8 vector, bool has_err, u32 err)
{
	svm(vp)->vmcb->control.event_inj =
		vector | SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID |
		(has_err ? (SVM_EVTINJ_VALID_ERR | ((u64)err << 32)) : 0);
}

static void svm_inject_nmi(struct linhv_vp *vp)
{
	svm(vp)->vmcb->control.event_inj = 2 | SVM_EVTINJ_TYPE_NMI | SVM_EVTINJ_VALID;
}

static bool svm_irq_allowed(struct linhv_vp *vp)
{
	struct vmcb *v = svm(vp)->vmcb;

	return (v->save.rflags & X86_EFLAGS_IF) && !(v->control.int_state & SVM_INT_STATE_SHADOW);
}

static void svm_inject_irq(struct linhv_vp *vp, u8 vector)
{
	struct vmcb *v = svm(vp)->vmcb;

	v->control.event_inj = vector | SVM_EVTINJ_TYPE_INTR | SVM_EVTINJ_VALID;
	v->control.int_ctl &= ~SVM_INT_CTL_V_IRQ;
	v->control.intercept3 &= ~SVM_I3_VINTR;
}

/* A virtual interrupt that ignores the TPR: VINTR exits once the guest can take it. */
static void svm_enable_irq_window(struct linhv_vp *vp)
{
	struct vmcb *v = svm(vp)->vmcb;

	v->control.int_ctl |= SVM_INT_CTL_V_IRQ | SVM_INT_CTL_V_IGN_TPR |
			      (0xfULL << SVM_INT_CTL_V_INTR_PRIO_SHIFT);
	v->control.intercept3 |= SVM_I3_VINTR;
}

/* ---- one world switch ---- */

/*
 * Whether the save area holds a host's state instead of the guest's, in
 * one of two shapes: the RIP after VMRUN (what VMRUN saves of the host, of
 * this or another VP thread), or this thread's own stack and page table
 * (what an emulated CPU stores there when it refuses a VMRUN). Running it
 * would run that host's context as the guest. Seen only under an emulated
 * CPU (docs/netvsp.md, known problem). Checked before every VMRUN and after
 * every exit, with interrupts off; the common case is a compare and a
 * masked XOR. The caller ends the VP through handle_shutdown(), which logs
 * the CPU's host save area.
 */
static bool save_area_is_host(struct linhv_vp *vp, const char *when)
{
	const struct vmcb_save *s = &svm(vp)->vmcb->save;
	bool own_stack = !((s->rsp ^ current_stack_pointer) & ~(u64)(THREAD_SIZE - 1));

	if (likely(s->rip != (unsigned long)__linhv_svm_vmrun_host_rip) &&
	    (likely(!own_stack) || s->cr3 != (__read_cr3() & CR3_ADDR_MASK)))
		return false;
	pr_err("linhv: partition %llu VP %u: %s, the VMCB's save area holds a host's state (rip %llx, rsp %llx in %s stack, cr3 %llx) on CPU %d\n",
	       vp->part->id, vp->index, when, s->rip, s->rsp, own_stack ? "this thread's" : "another",
	       s->cr3, smp_processor_id());
	return true;
}

/*
 * One VMRUN. Returns 0 after an exit, -1 if the VP was not entered and 1 if
 * it ran a host's state (save_area_is_host): its own state is lost then.
 */
static int enter_guest(struct linhv_vp *vp)
{
	struct vmcb *v = svm(vp)->vmcb;
	struct linhv_guest_switch sw;
	bool ran_host;
	int cpu;

	local_irq_disable();
	if (save_area_is_host(vp, "before entry")) {
		local_irq_enable();
		return -1;
	}
	cpu = smp_processor_id();
	v->control.tlb_control = linhv_vp_enter_begin(vp, cpu) ? SVM_TLB_CONTROL_FLUSH_ALL :
								  SVM_TLB_CONTROL_DO_NOTHING;
	/*
	 * GIF=0 holds off every interrupt until VMRUN; host IF=1 makes a
	 * physical interrupt during the guest cause an INTR exit.
	 */
	asm volatile("clgi" ::: "memory");
	linhv_guest_switch_in(vp, v->save.cr4, v->save.dr7, &sw);
	local_irq_enable();
	__linhv_svm_vmrun(svm(vp)->vmcb_pa, page_to_phys(this_cpu_read(host_vmsave_page)),
			  &svm(vp)->gprs);
	local_irq_disable();
	linhv_guest_switch_out(vp, &sw);
	asm volatile("stgi" ::: "memory");
	linhv_vp_enter_end(vp, cpu);
	ran_host = save_area_is_host(vp, "after an exit");
	local_irq_enable();
	return ran_host;
}

/* ---- exit handlers: 0 resume the guest, 1 message for the root ---- */

static int handle_ioio(struct linhv_vp *vp)
{
	struct vmcb *v = svm(vp)->vmcb;
	u64 info = v->control.exit_info_1;
	u8 len = v->control.exit_info_2 - v->save.rip;
	int size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT;

	if (!(info & SVM_IOIO_STR) && linhv_io_port_unclaimed(vp->part, info >> 16)) {
		/* Nothing behind the port: reads float high, writes vanish. */
		if (info & SVM_IOIO_TYPE_IN) {
			if (size & 4)
				v->save.rax = 0xffffffffULL; /* a 32-bit write zero-extends */
			else
				v->save.rax |= size & 2 ? 0xffffULL : 0xffULL;
		}
		skip(vp, len);
		return 0;
	}
	/* EXITINFO1 size bits are one-hot: 1, 2 or 4 bytes. */
	return linhv_msg_io(vp, info >> 16, size & 4 ? 4 : size & 2 ? 2 : 1,
			    info & SVM_IOIO_TYPE_IN, info & SVM_IOIO_STR, info & SVM_IOIO_REP, len);
}

static int handle_cpuid(struct linhv_vp *vp)
{
	struct vmcb *v = svm(vp)->vmcb;
	struct svm_gprs *g = &svm(vp)->gprs;
	u32 r[4];
	bool forward;
	int len = INSN_LEN(vp, 0x0f, 0xa2);

	linhv_cpuid(vp, v->save.rax, g->rcx, r, &forward);
	if (forward)
		return linhv_msg_cpuid(vp, r, len);
	v->save.rax = r[0];
	g->rbx = r[1];
	g->rcx = r[2];
	g->rdx = r[3];
	skip(vp, len);
	return 0;
}

static int handle_msr(struct linhv_vp *vp)
{
	struct vmcb *v = svm(vp)->vmcb;
	struct svm_gprs *g = &svm(vp)->gprs;
	bool write = v->control.exit_info_1 & 1;
	u32 msr = g->rcx;
	u64 val = 0;
	int len = write ? INSN_LEN(vp, 0x0f, 0x30) : INSN_LEN(vp, 0x0f, 0x32);
	int ret;

	if (write)
		ret = linhv_msr_write(vp, msr, (g->rdx << 32) | (u32)v->save.rax);
	else
		ret = linhv_msr_read(vp, msr, &val);
	if (ret < 0) {
		linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
		return 0;
	}
	if (ret > 0)
		return linhv_msg_msr(vp, msr, write, len);
	if (!write) {
		v->save.rax = (u32)val;
		g->rdx = val >> 32;
	}
	skip(vp, len);
	return 0;
}

static int handle_hlt(struct linhv_vp *vp)
{
	skip(vp, INSN_LEN(vp, 0xf4));
	return linhv_vp_halt(vp, svm(vp)->vmcb->save.rflags & X86_EFLAGS_IF);
}

static int handle_npf(struct linhv_vp *vp)
{
	struct vmcb *v = svm(vp)->vmcb;
	u64 err = v->control.exit_info_1;

	return linhv_gpa_fault(vp, v->control.exit_info_2,
			       (err & SVM_NPF_FETCH) ? HV_INTERCEPT_ACCESS_EXECUTE :
			       (err & SVM_NPF_WRITE) ? HV_INTERCEPT_ACCESS_WRITE :
						       HV_INTERCEPT_ACCESS_READ,
			       SVM_EXIT_NPF);
}

static int handle_xsetbv(struct linhv_vp *vp)
{
	struct vmcb *v = svm(vp)->vmcb;
	u64 val = (svm(vp)->gprs.rdx << 32) | (u32)v->save.rax;

	if (!boot_cpu_has(X86_FEATURE_OSXSAVE) || !(v->save.cr4 & X86_CR4_OSXSAVE)) {
		linhv_queue_exception(vp, X86_TRAP_UD, false, 0);
		return 0;
	}
	/* Validated here: the host's xsetbv at entry has no fault handling. */
	if ((u32)svm(vp)->gprs.rcx != 0 || v->save.cpl != 0 ||
	    !linhv_xcr0_valid(val, linhv_guest_xcr0_mask(vp))) {
		linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
		return 0;
	}
	vp->xcr0 = val;
	skip(vp, INSN_LEN(vp, 0x0f, 0x01, 0xd1));
	return 0;
}

/* General register number n (0 RAX ... 15 R15, as in ModRM/REX). */
static u64 *gpr(struct linhv_vp *vp, int n)
{
	struct svm_gprs *g = &svm(vp)->gprs;
	u64 *regs[16] = {
		&svm(vp)->vmcb->save.rax, &g->rcx, &g->rdx, &g->rbx, &svm(vp)->vmcb->save.rsp, &g->rbp,
		&g->rsi, &g->rdi, &g->r8, &g->r9, &g->r10, &g->r11, &g->r12, &g->r13, &g->r14,
		&g->r15,
	};

	return regs[n & 15];
}

#define DR7_GD BIT(13)
#define DR6_BD BIT(13)

#define CR4_TLB_BITS                                                                               \
	(X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PCIDE | X86_CR4_SMEP | X86_CR4_SMAP | \
	 X86_CR4_PKE)

/* MOV to CR4: #GP for what the CPU would refuse or the partition does not offer. */
static int handle_cr4_write(struct linhv_vp *vp)
{
	struct vmcb *v = svm(vp)->vmcb;
	u64 old = v->save.cr4, val;
	bool lma = v->save.efer & EFER_LMA;
	struct linhv_mov_crdr m;
	u8 b[15];
	int n = linhv_fetch_insn(vp, b, sizeof(b));

	if (linhv_decode_mov_crdr(b, n, long_mode_cs(vp), 0x22, &m) || m.ctl != 4)
		return 0; /* changed under us: let the guest execute it again */
	val = *gpr(vp, m.gpr);
	if (!long_mode_cs(vp))
		val = (u32)val;
	if (v->save.cpl || (val & ~linhv_guest_cr4_mask(vp)) || (lma && !(val & X86_CR4_PAE)) ||
	    ((val & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) && (!lma || (v->save.cr3 & 0xfff)))) {
		linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
		return 0;
	}
	v->save.cr4 = val;
	/* The CPU would flush on these; an emulated write must ask for it. */
	if ((old ^ val) & CR4_TLB_BITS)
		WRITE_ONCE(vp->need_flush, true);
	skip(vp, m.len);
	return 0;
}

#define DR7_RESERVED_0 (BIT(11) | BIT(12) | BIT(14) | BIT(15))
#define DR7_RESERVED_1 BIT(10)

/* MOV to or from DR0-3, and to DR7 (or DR5, its alias while CR4.DE is clear). */
static int handle_dr(struct linhv_vp *vp, int dr, bool write)
{
	struct vmcb *v = svm(vp)->vmcb;
	struct linhv_mov_crdr m;
	u8 b[15];
	int n = linhv_fetch_insn(vp, b, sizeof(b));
	u64 *r, val;

	/* Bytes changed under us (another VP): let the guest execute it again. */
	if (linhv_decode_mov_crdr(b, n, long_mode_cs(vp), write ? 0x23 : 0x21, &m) || m.ctl != dr)
		return 0;
	if (dr == 5 && (v->save.cr4 & X86_CR4_DE)) {
		linhv_queue_exception(vp, X86_TRAP_UD, false, 0);
		return 0;
	}
	if (v->save.cpl) {
		linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
		return 0;
	}
	if (v->save.dr7 & DR7_GD) {
		v->save.dr7 &= ~DR7_GD;
		v->save.dr6 |= DR6_BD;
		linhv_queue_exception(vp, X86_TRAP_DB, false, 0);
		return 0;
	}
	r = gpr(vp, m.gpr);
	val = long_mode_cs(vp) ? *r : (u32)*r;
	if (dr >= 4) {
		if (val >> 32) {
			linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
			return 0;
		}
		v->save.dr7 = (val & ~DR7_RESERVED_0) | DR7_RESERVED_1;
	} else if (write) {
		vp->db[dr] = val;
	} else {
		*r = vp->db[dr];
	}
	skip(vp, m.len);
	return 0;
}

static int handle_vmmcall(struct linhv_vp *vp)
{
	struct vmcb *v = svm(vp)->vmcb;

	if (v->save.cpl != 0 || !(v->save.cr0 & X86_CR0_PE)) {
		linhv_queue_exception(vp, X86_TRAP_UD, false, 0);
		return 0;
	}
	if (vp->part->hyperv)
		linhv_hv_hypercall(vp);
	else
		v->save.rax = HV_STATUS_INVALID_HYPERCALL_CODE;
	skip(vp, INSN_LEN(vp, 0x0f, 0x01, 0xd9));
	return 0;
}

static enum linhv_exit_class exit_class(u64 code)
{
	switch (code) {
	case SVM_EXIT_NPF:
		return LINHV_EXIT_NPF;
	case SVM_EXIT_IOIO:
		return LINHV_EXIT_IO;
	case SVM_EXIT_MSR:
		return LINHV_EXIT_MSR;
	case SVM_EXIT_CPUID:
		return LINHV_EXIT_CPUID;
	case SVM_EXIT_HLT:
		return LINHV_EXIT_HLT;
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
		return LINHV_EXIT_HOST_INTR;
	case SVM_EXIT_VINTR:
		return LINHV_EXIT_VINTR;
	case SVM_EXIT_VMMCALL:
		return LINHV_EXIT_HYPERCALL;
	case SVM_EXIT_SHUTDOWN:
		return LINHV_EXIT_SHUTDOWN;
	}
	if (code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + 32)
		return LINHV_EXIT_EXCEPTION;
	if (code < SVM_EXIT_EXCP_BASE)
		return LINHV_EXIT_CR_DR;
	return LINHV_EXIT_OTHER;
}

static void record_exit(struct linhv_vp *vp, u64 injected)
{
	const struct vmcb_control *c = &svm(vp)->vmcb->control;
	struct linhv_exit_rec *e = &vp->hist[vp->hist_pos];

	e->code = c->exit_code;
	e->info1 = c->exit_info_1;
	e->info2 = c->exit_info_2;
	e->int_info = c->exit_int_info;
	e->inj = injected;
	e->rip = svm(vp)->vmcb->save.rip;
	e->cr3 = svm(vp)->vmcb->save.cr3;
	vp->hist_pos = (vp->hist_pos + 1) % LINHV_EXIT_HIST;
	linhv_count_exit(exit_class(c->exit_code));
}

static int handle_host_event(struct linhv_vp *vp)
{
	return 0; /* the host takes it once interrupts are on again */
}

static int handle_vintr(struct linhv_vp *vp)
{
	struct vmcb *v = svm(vp)->vmcb;

	v->control.int_ctl &= ~SVM_INT_CTL_V_IRQ;
	v->control.intercept3 &= ~SVM_I3_VINTR;
	return 0;
}

static int handle_invd(struct linhv_vp *vp)
{
	skip(vp, INSN_LEN(vp, 0x0f, 0x08));
	return 0;
}

static int inject_gp(struct linhv_vp *vp)
{
	linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
	return 0;
}

static int inject_ud(struct linhv_vp *vp)
{
	linhv_queue_exception(vp, X86_TRAP_UD, false, 0);
	return 0;
}

static int handle_dr_read(struct linhv_vp *vp)
{
	return handle_dr(vp, svm(vp)->vmcb->control.exit_code - SVM_EXIT_READ_DR0, false);
}

static int handle_dr_write(struct linhv_vp *vp)
{
	return handle_dr(vp, svm(vp)->vmcb->control.exit_code - SVM_EXIT_WRITE_DR0, true);
}

static int handle_db(struct linhv_vp *vp)
{
	/* The CPU has updated the guest's DR6 already: just deliver it. */
	linhv_queue_exception(vp, X86_TRAP_DB, false, 0);
	return 0;
}

static int handle_ac(struct linhv_vp *vp)
{
	linhv_queue_exception(vp, X86_TRAP_AC, true, 0);
	return 0;
}

static int handle_shutdown(struct linhv_vp *vp)
{
	int cpu = READ_ONCE(vp->last_cpu);
	u64 hsave = 0;

	/*
	 * Whether VMRUN saved the host into the VMCB itself and then ran that
	 * as the guest (docs/netvsp.md, known problem): the entry's CPU's
	 * host save area against the VMCB.
	 */
	if (cpu >= 0 && !rdmsrl_safe_on_cpu(cpu, MSR_VM_HSAVE_PA, &hsave))
		pr_err("linhv: partition %llu VP %u: last entered on CPU %d, whose host save area is %s (%llx, VMCB %llx)\n",
		       vp->part->id, vp->index, cpu,
		       hsave == svm(vp)->vmcb_pa ? "the VMCB itself" : "another page", hsave,
		       svm(vp)->vmcb_pa);
	linhv_dump_triple_fault(vp);
	return linhv_vp_die(vp, HvMessageTypeUnrecoverableException, SVM_EXIT_SHUTDOWN);
}

/* Exit handlers by exit code: 0 resume the guest, 1 message for the root. */
static int (*const svm_exit_handlers[])(struct linhv_vp *vp) = {
	[SVM_EXIT_INTR] = handle_host_event,
	[SVM_EXIT_NMI] = handle_host_event,
	[SVM_EXIT_SMI] = handle_host_event,
	[SVM_EXIT_VINTR] = handle_vintr,
	[SVM_EXIT_IOIO] = handle_ioio,
	[SVM_EXIT_CPUID] = handle_cpuid,
	[SVM_EXIT_MSR] = handle_msr,
	[SVM_EXIT_HLT] = handle_hlt,
	[SVM_EXIT_NPF] = handle_npf,
	[SVM_EXIT_XSETBV] = handle_xsetbv,
	[SVM_EXIT_VMMCALL] = handle_vmmcall,
	[SVM_EXIT_INVD] = handle_invd,
	[SVM_EXIT_RDPMC] = inject_gp,
	[SVM_EXIT_WRITE_CR0 + 4] = handle_cr4_write,
	[SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR0 + 3] = handle_dr_read,
	[SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR0 + 3] = handle_dr_write,
	[SVM_EXIT_WRITE_DR0 + 5] = handle_dr_write,
	[SVM_EXIT_WRITE_DR0 + 7] = handle_dr_write,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_DB] = handle_db,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_AC] = handle_ac,
	[SVM_EXIT_VMRUN] = inject_ud,
	[SVM_EXIT_VMLOAD] = inject_ud,
	[SVM_EXIT_VMSAVE] = inject_ud,
	[SVM_EXIT_STGI] = inject_ud,
	[SVM_EXIT_CLGI] = inject_ud,
	[SVM_EXIT_SKINIT] = inject_ud,
	[SVM_EXIT_INVLPGA] = inject_ud,
	[SVM_EXIT_MONITOR] = inject_ud,
	[SVM_EXIT_MWAIT] = inject_ud,
	[SVM_EXIT_MWAIT_COND] = inject_ud,
	[SVM_EXIT_SHUTDOWN] = handle_shutdown,
};

static int handle_exit(struct linhv_vp *vp)
{
	struct vmcb *v = svm(vp)->vmcb;
	u64 code = v->control.exit_code;
	u64 ii = v->control.exit_int_info;
	int (*fn)(struct linhv_vp *vp);

	/* Some CPUs (and emulators) report VMEXIT_INVALID as a 32-bit -1. */
	if (code == 0xffffffffULL)
		code = SVM_EXIT_ERR;

	/*
	 * An event whose delivery the exit interrupted must be delivered again,
	 * except INTn, INT3 and INTO: RIP still points at the instruction, so
	 * the guest simply executes it again (re-injecting would push the
	 * wrong return address; Linux's text_poke int3 handler depends on it).
	 */
	v->control.event_inj = 0;
	if (ii & SVM_EVTINJ_VALID) {
		u32 type = ii & SVM_EVTINJ_TYPE_MASK;
		u8 vec = ii & SVM_EVTINJ_VEC_MASK;

		if (type != SVM_EVTINJ_TYPE_SOFT &&
		    !(type == SVM_EVTINJ_TYPE_EXEPT && (vec == X86_TRAP_BP || vec == X86_TRAP_OF)))
			v->control.event_inj = ii;
	}

	/*
	 * The frequent exits get direct calls: with retpolines an indirect
	 * call through the table costs more than these compares.
	 */
	if (code == SVM_EXIT_NPF)
		return handle_npf(vp);
	if (code == SVM_EXIT_IOIO)
		return handle_ioio(vp);
	if (code == SVM_EXIT_MSR)
		return handle_msr(vp);
	if (code == SVM_EXIT_CPUID)
		return handle_cpuid(vp);
	if (code == SVM_EXIT_INTR)
		return 0;
	if (code == SVM_EXIT_ERR) {
		/* VMRUN refused the state the root gave us. */
		linhv_msg_simple(vp, HvMessageTypeInvalidVpRegisterValue, code);
		return 1;
	}
	fn = code < ARRAY_SIZE(svm_exit_handlers) ?
		     svm_exit_handlers[array_index_nospec(code, ARRAY_SIZE(svm_exit_handlers))] :
		     NULL;
	if (!fn)
		return linhv_vp_die(vp, HvMessageTypeUnsupportedFeature, code);
	return fn(vp);
}

/*
 * The consistency checks VMRUN makes (AMD APM vol. 2, 15.5.1), done first
 * so that a root-supplied state never reaches the CPU (or an emulator of
 * it) in a shape it may not handle.
 */
static bool svm_state_valid(struct linhv_vp *vp)
{
	struct vmcb_save *s = &svm(vp)->vmcb->save;
	u64 ev = svm(vp)->vmcb->control.event_inj;
	struct linhv_arch_state st = {
		.cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer,
		.dr6 = s->dr6, .dr7 = s->dr7, .rflags = s->rflags,
		.cs_l = s->cs.attrib & (1 << 9), .cs_d = s->cs.attrib & (1 << 10),
	};

	if (!linhv_arch_state_valid(&st))
		return false;
	if (!(s->efer & EFER_SVME))
		return false;
	if (ev & SVM_EVTINJ_VALID) {
		u32 type = ev & SVM_EVTINJ_TYPE_MASK;
		u8 vec = ev & SVM_EVTINJ_VEC_MASK;

		if (type != SVM_EVTINJ_TYPE_INTR && type != SVM_EVTINJ_TYPE_NMI &&
		    type != SVM_EVTINJ_TYPE_EXEPT && type != SVM_EVTINJ_TYPE_SOFT)
			return false;
		if (type == SVM_EVTINJ_TYPE_EXEPT && (vec == 2 || vec > 31))
			return false;
	}
	return true;
}

/* One entry: 0 resume, 1 message for the root, LINHV_RUN_BAD_STATE not entered. */
static int svm_run(struct linhv_vp *vp)
{
	u64 injected;
	int ret;

	if (!svm_state_valid(vp))
		return LINHV_RUN_BAD_STATE;
	injected = svm(vp)->vmcb->control.event_inj;
	ret = enter_guest(vp);
	if (ret >= 0)
		record_exit(vp, injected);
	if (ret)
		return handle_shutdown(vp); /* the guest's state is lost: the triple fault it would take */
	linhv_lapic_lazy_eoi_sync(vp);
	return handle_exit(vp);
}

/* ---- registers ---- */

/* Where a 64-bit register lives in the VMCB or the saved GPRs. */
static u64 *reg_slot(struct linhv_vp *vp, enum linhv_reg reg)
{
	struct vmcb_save *s = &svm(vp)->vmcb->save;
	struct svm_gprs *g = &svm(vp)->gprs;

	switch (reg) {
	case LINHV_REG_RAX: return &s->rax;
	case LINHV_REG_RCX: return &g->rcx;
	case LINHV_REG_RDX: return &g->rdx;
	case LINHV_REG_RBX: return &g->rbx;
	case LINHV_REG_RSP: return &s->rsp;
	case LINHV_REG_RBP: return &g->rbp;
	case LINHV_REG_RSI: return &g->rsi;
	case LINHV_REG_RDI: return &g->rdi;
	case LINHV_REG_R8: return &g->r8;
	case LINHV_REG_R9: return &g->r9;
	case LINHV_REG_R10: return &g->r10;
	case LINHV_REG_R11: return &g->r11;
	case LINHV_REG_R12: return &g->r12;
	case LINHV_REG_R13: return &g->r13;
	case LINHV_REG_R14: return &g->r14;
	case LINHV_REG_R15: return &g->r15;
	case LINHV_REG_RIP: return &s->rip;
	case LINHV_REG_RFLAGS: return &s->rflags;
	case LINHV_REG_CR0: return &s->cr0;
	case LINHV_REG_CR2: return &s->cr2;
	case LINHV_REG_CR3: return &s->cr3;
	case LINHV_REG_CR4: return &s->cr4;
	case LINHV_REG_EFER: return &s->efer;
	case LINHV_REG_DR6: return &s->dr6;
	case LINHV_REG_DR7: return &s->dr7;
	case LINHV_REG_PAT: return &s->g_pat;
	case LINHV_REG_KERNEL_GS_BASE: return &s->kernel_gs_base;
	case LINHV_REG_SYSENTER_CS: return &s->sysenter_cs;
	case LINHV_REG_SYSENTER_EIP: return &s->sysenter_eip;
	case LINHV_REG_SYSENTER_ESP: return &s->sysenter_esp;
	case LINHV_REG_STAR: return &s->star;
	case LINHV_REG_LSTAR: return &s->lstar;
	case LINHV_REG_CSTAR: return &s->cstar;
	case LINHV_REG_SFMASK: return &s->sfmask;
	case LINHV_NR_REGS: break;
	}
	WARN_ON_ONCE(1);
	return &s->rax;
}

static u64 svm_get_reg(struct linhv_vp *vp, enum linhv_reg reg)
{
	u64 val = *reg_slot(vp, reg);

	/* EFER.SVME is ours: the guest never sees it, and it stays set. */
	return reg == LINHV_REG_EFER ? val & ~EFER_SVME : val;
}

static void svm_set_reg(struct linhv_vp *vp, enum linhv_reg reg, u64 val)
{
	*reg_slot(vp, reg) = reg == LINHV_REG_EFER ? val | EFER_SVME : val;
}

static struct vmcb_seg *seg_slot(struct linhv_vp *vp, enum linhv_seg seg)
{
	struct vmcb_save *s = &svm(vp)->vmcb->save;

	switch (seg) {
	case LINHV_SEG_ES: return &s->es;
	case LINHV_SEG_CS: return &s->cs;
	case LINHV_SEG_SS: return &s->ss;
	case LINHV_SEG_DS: return &s->ds;
	case LINHV_SEG_FS: return &s->fs;
	case LINHV_SEG_GS: return &s->gs;
	case LINHV_SEG_LDTR: return &s->ldtr;
	case LINHV_SEG_TR: return &s->tr;
	case LINHV_SEG_GDTR: return &s->gdtr;
	case LINHV_SEG_IDTR: return &s->idtr;
	}
	WARN_ON_ONCE(1);
	return &s->ds;
}

/* VMCB attributes pack descriptor bits 40-47 and 52-55 into 12 bits. */
static void svm_get_seg(struct linhv_vp *vp, enum linhv_seg seg, struct hv_x64_segment_register *h)
{
	const struct vmcb_seg *s = seg_slot(vp, seg);

	h->base = s->base;
	h->limit = s->limit;
	h->selector = s->selector;
	h->attributes = (s->attrib & 0xff) | ((s->attrib & 0xf00) << 4);
}

static void svm_set_seg(struct linhv_vp *vp, enum linhv_seg seg,
			const struct hv_x64_segment_register *h)
{
	struct vmcb_seg *s = seg_slot(vp, seg);

	s->base = h->base;
	s->limit = h->limit;
	s->selector = h->selector;
	s->attrib = (h->attributes & 0xff) | ((h->attributes >> 4) & 0xf00);
	if (seg == LINHV_SEG_SS)
		svm(vp)->vmcb->save.cpl = (h->attributes >> 5) & 3;
}

static u8 svm_get_cpl(struct linhv_vp *vp)
{
	return svm(vp)->vmcb->save.cpl;
}

/* The guest writes CR8 straight into V_TPR. */
static u8 svm_get_tpr(struct linhv_vp *vp)
{
	return svm(vp)->vmcb->control.int_ctl & SVM_INT_CTL_V_TPR_MASK;
}

static void svm_set_tpr(struct linhv_vp *vp, u8 cr8)
{
	struct vmcb_control *c = &svm(vp)->vmcb->control;

	c->int_ctl = (c->int_ctl & ~SVM_INT_CTL_V_TPR_MASK) | (cr8 & 0xf);
}

static u64 svm_get_tsc_offset(struct linhv_vp *vp)
{
	return svm(vp)->vmcb->control.tsc_offset;
}

static void svm_set_tsc_offset(struct linhv_vp *vp, u64 offset)
{
	svm(vp)->vmcb->control.tsc_offset = offset;
}

static bool svm_get_interrupt_shadow(struct linhv_vp *vp)
{
	return svm(vp)->vmcb->control.int_state & SVM_INT_STATE_SHADOW;
}

static void svm_set_interrupt_shadow(struct linhv_vp *vp, bool shadow)
{
	svm(vp)->vmcb->control.int_state = shadow ? SVM_INT_STATE_SHADOW : 0;
}

static void svm_fill_intercept_header(struct linhv_vp *vp,
				      struct hv_x64_intercept_message_header *h)
{
	const struct vmcb *v = svm(vp)->vmcb;
	const struct vmcb_save *s = &v->save;

	h->execution_state = (s->cpl & 3) |
			     ((s->cr0 & X86_CR0_PE) ? HV_X64_EXEC_STATE_CR0_PE : 0) |
			     ((s->efer & EFER_LMA) ? HV_X64_EXEC_STATE_EFER_LMA : 0) |
			     ((v->control.event_inj & SVM_EVTINJ_VALID) ?
				      HV_X64_EXEC_STATE_INTERRUPTION_PENDING : 0);
	svm_get_seg(vp, LINHV_SEG_CS, &h->cs);
	h->rip = s->rip;
	h->rflags = s->rflags;
}

/*
 * AMD nested page tables hold ordinary x86-64 page-table entries. The CPU
 * walks them as user accesses, so every level carries U; A and D are set
 * up front so that it never has to write them.
 */
#define NPT_P BIT_ULL(0)
#define NPT_RW BIT_ULL(1)
#define NPT_US BIT_ULL(2)
#define NPT_A BIT_ULL(5)
#define NPT_D BIT_ULL(6)
#define NPT_PS BIT_ULL(7)
#define NPT_PWT BIT_ULL(3)
#define NPT_PCD BIT_ULL(4)
#define NPT_AVL_NOREF BIT_ULL(11) /* software: no page reference (device memory) */
#define NPT_NX BIT_ULL(63)

static const struct linhv_npt_format svm_npt_format = {
	.present = NPT_P,
	.table = NPT_P | NPT_RW | NPT_US | NPT_A,
	.leaf = NPT_P | NPT_US | NPT_A,
	.large = NPT_PS,
	.write = NPT_RW | NPT_D,
	.exec = 0,
	.noexec = NPT_NX,
	.leaf_mmio = NPT_P | NPT_US | NPT_A | NPT_PCD | NPT_PWT | NPT_AVL_NOREF,
	.noref = NPT_AVL_NOREF,
};

const struct linhv_vendor_ops linhv_svm_ops = {
	.name = "svm",
	.hypercall_insn = {0x0f, 0x01, 0xd9}, /* VMMCALL */
	.npt_format = &svm_npt_format,
	.vp_init = svm_vp_init,
	.vp_free = svm_vp_free,
	.vp_clear = svm_vp_clear,
	.get_reg = svm_get_reg,
	.set_reg = svm_set_reg,
	.get_seg = svm_get_seg,
	.set_seg = svm_set_seg,
	.get_cpl = svm_get_cpl,
	.get_tpr = svm_get_tpr,
	.set_tpr = svm_set_tpr,
	.get_tsc_offset = svm_get_tsc_offset,
	.set_tsc_offset = svm_set_tsc_offset,
	.get_interrupt_shadow = svm_get_interrupt_shadow,
	.set_interrupt_shadow = svm_set_interrupt_shadow,
	.event_pending = svm_event_pending,
	.cancel_event = svm_cancel_event,
	.inject_exception = svm_inject_exception,
	.inject_nmi = svm_inject_nmi,
	.inject_irq = svm_inject_irq,
	.irq_allowed = svm_irq_allowed,
	.enable_irq_window = svm_enable_irq_window,
	.fill_intercept_header = svm_fill_intercept_header,
	.run = svm_run,
};

// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM: turning SVM on per CPU, the VMCB of each VP, the run loop and the
 * intercepts. Intercepts the hypervisor owns (CPUID, known MSRs, HLT,
 * nested page faults on mapped memory, XSETBV) are completed here; the rest
 * become TLFS-style intercept messages for the root.
 */
#include <linux/cpuhotplug.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <asm/io.h>
#include <linux/percpu.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/trapnr.h>

#include "linhv_internal.h"
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>

u64 linhv_host_xcr0;

static DEFINE_PER_CPU(struct page *, hsave_page); /* VM_HSAVE_PA */
static DEFINE_PER_CPU(struct page *, host_vmsave_page); /* host VMSAVE state */
static DEFINE_PER_CPU(u64, last_vp_uid); /* whose ASID-1 entries the TLB holds */
static DEFINE_PER_CPU(u64, last_part_id); /* whose guest last trained the predictors */
static DEFINE_PER_CPU(u64, host_tsc_aux); /* what Linux put in TSC_AUX (RDTSCP, RDPID) */
static enum cpuhp_state svm_hp_state;
static struct page *iopm_pages, *msrpm_pages;

#define IOPM_ORDER 2 /* 12 KiB used */
#define MSRPM_ORDER 1 /* 8 KiB */
#define GUEST_ASID 1

/* ---- per-CPU enable/disable ---- */

static bool has_tsc_aux(void)
{
	return boot_cpu_has(X86_FEATURE_RDTSCP) || boot_cpu_has(X86_FEATURE_RDPID);
}

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
	if (has_tsc_aux())
		rdmsrl(MSR_TSC_AUX, *this_cpu_ptr(&host_tsc_aux));
	this_cpu_write(last_vp_uid, 0);
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

int linhv_arch_init(void)
{
	static const u32 passthrough[] = {
		MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
		MSR_SYSCALL_MASK, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
		MSR_IA32_SYSENTER_EIP,
	};
	int i, ret;

	svm_layout_checks();
	if (linhv_host_caps.vendor != LINHV_VENDOR_SVM)
		return 0; /* VMX: capabilities only, for now */
	if (boot_cpu_has(X86_FEATURE_OSXSAVE))
		linhv_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	else
		linhv_host_xcr0 = 1;

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
	linhv_host_caps.features |= LINHV_FEAT_CAN_RUN;
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

void linhv_arch_exit(void)
{
	if (linhv_host_caps.vendor != LINHV_VENDOR_SVM || !svm_hp_state)
		return;
	cpuhp_remove_state(svm_hp_state);
	__free_pages(iopm_pages, IOPM_ORDER);
	__free_pages(msrpm_pages, MSRPM_ORDER);
	free_percpu_pages();
}

/* ---- VMCB ---- */

static void set_seg(struct vmcb_seg *s, u16 sel, u64 base, u32 limit, u16 attrib)
{
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->attrib = attrib;
}

static void reset_state(struct linhv_vp *vp);

int linhv_svm_vp_init(struct linhv_vp *vp)
{
	struct page *pg = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	struct vmcb_control *c;
	struct vmcb_save *s;

	if (!pg)
		return -ENOMEM;
	vp->vmcb = page_address(pg);
	vp->vmcb_pa = page_to_phys(pg);
	c = &vp->vmcb->control;
	s = &vp->vmcb->save;

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

	reset_state(vp);
	vp->xcr0 = 1;
	vp->apic_base = 0xfee00000 | (1 << 11) | (vp->index == 0 ? (1 << 8) : 0);
	if (vp->part->hyperv) {
		/* x2APIC already on, as firmware may leave it: no xAPIC MMIO needed. */
		vp->apic_base |= 1 << 10;
		vp->mp_state = vp->index ? LINHV_MP_WAIT_SIPI : LINHV_MP_RUNNABLE;
	}
	vp->mtrr_def_type = 0;
	return 0;
}

/* The architectural reset state (what INIT gives a real CPU). */
static void reset_state(struct linhv_vp *vp)
{
	struct vmcb_save *s = &vp->vmcb->save;

	memset(s, 0, sizeof(*s));
	memset(&vp->gprs, 0, sizeof(vp->gprs));
	memset(vp->db, 0, sizeof(vp->db));
	vp->vmcb->control.event_inj = 0;
	vp->vmcb->control.int_state = 0;
	vp->vmcb->control.int_ctl &= ~(SVM_INT_CTL_V_IRQ | SVM_INT_CTL_V_TPR_MASK);
	set_seg(&s->cs, 0xf000, 0xffff0000, 0xffff, 0x9b);
	set_seg(&s->ds, 0, 0, 0xffff, 0x93);
	set_seg(&s->es, 0, 0, 0xffff, 0x93);
	set_seg(&s->fs, 0, 0, 0xffff, 0x93);
	set_seg(&s->gs, 0, 0, 0xffff, 0x93);
	set_seg(&s->ss, 0, 0, 0xffff, 0x93);
	set_seg(&s->gdtr, 0, 0, 0xffff, 0);
	set_seg(&s->idtr, 0, 0, 0xffff, 0);
	set_seg(&s->ldtr, 0, 0, 0xffff, 0x82);
	set_seg(&s->tr, 0, 0, 0xffff, 0x8b);
	s->cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
	s->efer = EFER_SVME;
	s->rflags = 2;
	s->rip = 0xfff0;
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->g_pat = 0x0007040600070406ULL;
	vp->gprs.rdx = 0x600; /* a family-6 signature, as after RESET */
}

/* INIT: back to the reset state, waiting for a start-up IPI. */
static void do_init(struct linhv_vp *vp)
{
	reset_state(vp);
	memset(vp->lapic.isr, 0, sizeof(vp->lapic.isr));
	vp->exc_pending = false;
	vp->halted = false;
	vp->mp_state = LINHV_MP_WAIT_SIPI;
}

/* SIPI: start in real mode at vector * 4096. */
void linhv_vp_reset_for_sipi(struct linhv_vp *vp, u8 vector)
{
	struct vmcb_save *s = &vp->vmcb->save;

	set_seg(&s->cs, vector << 8, (u64)vector << 12, 0xffff, 0x9b);
	s->rip = 0;
	vp->mp_state = LINHV_MP_RUNNABLE;
	vp->halted = false;
}

void linhv_svm_vp_free(struct linhv_vp *vp)
{
	if (vp->vmcb)
		free_page((unsigned long)vp->vmcb);
	vp->vmcb = NULL;
}

/* ---- intercept messages ---- */

static void *begin_msg(struct linhv_vp *vp, u32 type, size_t size, u8 insn_len, u8 access)
{
	struct hv_message *m = &vp->run->msg;
	struct hv_x64_intercept_message_header *h = (void *)m->payload;
	struct vmcb_save *s = &vp->vmcb->save;

	memset(m, 0, sizeof(*m));
	m->header.message_type = type;
	m->header.payload_size = size;
	h->vp_index = vp->index;
	h->instruction_length = insn_len & 0xf;
	h->intercept_access_type = access;
	h->execution_state = (s->cpl & 3) |
			     ((s->cr0 & X86_CR0_PE) ? HV_X64_EXEC_STATE_CR0_PE : 0) |
			     ((s->efer & EFER_LMA) ? HV_X64_EXEC_STATE_EFER_LMA : 0) |
			     ((vp->vmcb->control.event_inj & SVM_EVTINJ_VALID) ?
				      HV_X64_EXEC_STATE_INTERRUPTION_PENDING : 0);
	linhv_vp_fill_seg(&s->cs, &h->cs);
	h->rip = s->rip;
	h->rflags = s->rflags;
	return h;
}

static void msg_simple(struct linhv_vp *vp, u32 type, u32 exit_code)
{
	struct hv_x64_unrecoverable_exception_message *m =
		begin_msg(vp, type, sizeof(*m), 0, 0);

	m->exit_code = exit_code;
}

/* ---- helpers ---- */

static bool long_mode_cs(struct linhv_vp *vp)
{
	return (vp->vmcb->save.efer & EFER_LMA) && (vp->vmcb->save.cs.attrib & (1 << 9));
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
		u64 next = vp->vmcb->control.next_rip;

		if (next > vp->vmcb->save.rip && next - vp->vmcb->save.rip <= 15)
			return next - vp->vmcb->save.rip;
	}
	n = linhv_fetch_insn(vp, b, sizeof(b));
	len = linhv_insn_length(b, n, long_mode_cs(vp), op, op_len);
	return len > 0 ? len : op_len;
}

#define INSN_LEN(vp, ...) insn_len(vp, (const u8[]){__VA_ARGS__}, sizeof((const u8[]){__VA_ARGS__}))

static void queue_exception(struct linhv_vp *vp, u8 vector, bool has_err, u32 err)
{
	vp->exc_pending = true;
	vp->exc_vector = vector;
	vp->exc_has_error = has_err;
	vp->exc_error = err;
}

static void skip(struct linhv_vp *vp, int len)
{
	struct vmcb *v = vp->vmcb;

	v->save.rip += len;
	if (!long_mode_cs(vp))
		v->save.rip = (u32)v->save.rip;
	v->control.int_state &= ~SVM_INT_STATE_SHADOW;
	/* The single-step trap the CPU would have raised after the instruction. */
	if (v->save.rflags & X86_EFLAGS_TF) {
		v->save.dr6 |= DR_STEP;
		queue_exception(vp, X86_TRAP_DB, false, 0);
	}
}

static bool irr_pending(struct linhv_vp *vp)
{
	if (vp->part->hyperv)
		return linhv_lapic_pending(vp) >= 0;
	return find_first_bit(vp->irr, 256) < 256;
}

/* The vector to inject next, or -1. */
static int next_vector(struct linhv_vp *vp)
{
	int vec;

	if (vp->part->hyperv) {
		linhv_lapic_sync_tpr(vp);
		return linhv_lapic_pending(vp);
	}
	vec = find_last_bit(vp->irr, 256);
	return vec < 256 ? vec : -1;
}

static void ack_vector(struct linhv_vp *vp, int vec)
{
	if (vp->part->hyperv)
		linhv_lapic_ack(vp, vec);
	else
		clear_bit(vec, vp->irr);
}

/* Decide what to inject on this entry (called with interrupts on). */
static void inject_events(struct linhv_vp *vp)
{
	struct vmcb *v = vp->vmcb;
	int vec;

	if (v->control.event_inj & SVM_EVTINJ_VALID)
		return; /* re-injecting what an exit interrupted */
	if (vp->exc_pending) {
		v->control.event_inj = vp->exc_vector | SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID |
				       (vp->exc_has_error ?
						(SVM_EVTINJ_VALID_ERR | ((u64)vp->exc_error << 32)) : 0);
		vp->exc_pending = false;
		return;
	}
	if (READ_ONCE(vp->nmi_pending)) {
		WRITE_ONCE(vp->nmi_pending, false);
		v->control.event_inj = 2 | SVM_EVTINJ_TYPE_NMI | SVM_EVTINJ_VALID;
		return;
	}
	vec = next_vector(vp);
	if (vec < 0)
		return;
	if ((v->save.rflags & X86_EFLAGS_IF) && !(v->control.int_state & SVM_INT_STATE_SHADOW)) {
		ack_vector(vp, vec);
		v->control.event_inj = vec | SVM_EVTINJ_TYPE_INTR | SVM_EVTINJ_VALID;
		v->control.int_ctl &= ~SVM_INT_CTL_V_IRQ;
		v->control.intercept3 &= ~SVM_I3_VINTR;
	} else {
		/* Ask for an exit as soon as the guest can take an interrupt. */
		v->control.int_ctl |= SVM_INT_CTL_V_IRQ | SVM_INT_CTL_V_IGN_TPR |
				      (0xfULL << SVM_INT_CTL_V_INTR_PRIO_SHIFT);
		v->control.intercept3 |= SVM_I3_VINTR;
	}
}

/* ---- one world switch ---- */

static void enter_guest(struct linhv_vp *vp)
{
	struct vmcb *v = vp->vmcb;
	bool swap_xcr0, guest_dr, host_dr, swap_tsc_aux, guest_pkru;
	u32 host_pkru = 0;
	s64 tlb_gen;
	int cpu;

	local_irq_disable();
	/*
	 * The guest's FPU registers must be live at VMRUN. A reschedule (HLT
	 * wait, cond_resched) or a kernel_fpu_begin() in an interrupt since
	 * the last entry saved them into the guest fpstate and left other
	 * contents in the registers, with TIF_NEED_FPU_LOAD set: load them
	 * back, or the guest runs with another task's vector registers.
	 */
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	cpu = smp_processor_id();
	WRITE_ONCE(vp->mode, LINHV_IN_GUEST);
	cpumask_set_cpu(cpu, &vp->part->in_guest_cpus);
	/*
	 * Pairs with linhv_partition_kick_all() and linhv_memory_flush_tlb():
	 * see need_flush or a new tlb_gen, or get an IPI.
	 */
	smp_mb();
	tlb_gen = atomic64_read(&vp->part->tlb_gen);
	if (vp->last_cpu != cpu || this_cpu_read(last_vp_uid) != vp->uid ||
	    READ_ONCE(vp->need_flush) || vp->tlb_gen != tlb_gen) {
		v->control.tlb_control = SVM_TLB_CONTROL_FLUSH_ALL;
		WRITE_ONCE(vp->need_flush, false);
		vp->tlb_gen = tlb_gen;
	} else {
		v->control.tlb_control = SVM_TLB_CONTROL_DO_NOTHING;
	}
	vp->last_cpu = cpu;
	this_cpu_write(last_vp_uid, vp->uid);
	/* One partition's branch predictions must not steer another's. */
	if (this_cpu_read(last_part_id) != vp->part->id) {
		indirect_branch_prediction_barrier();
		this_cpu_write(last_part_id, vp->part->id);
	}
	swap_xcr0 = (v->save.cr4 & X86_CR4_OSXSAVE) && vp->xcr0 != linhv_host_xcr0;
	guest_dr = v->save.dr7 & 0xff; /* L0-3/G0-3: the guest's breakpoints are armed */
	/* RDTSCP and RDPID read TSC_AUX directly: the guest's value, not the host's CPU number. */
	swap_tsc_aux = has_tsc_aux() && vp->tsc_aux != this_cpu_read(host_tsc_aux);
	/* WRPKRU (CR4.PKE) and XRSTOR (XCR0.PKRU) let the guest change PKRU. */
	guest_pkru = cpu_feature_enabled(X86_FEATURE_OSPKE) &&
		     ((v->save.cr4 & X86_CR4_PKE) || (vp->xcr0 & XFEATURE_MASK_PKRU));

	/*
	 * GIF=0 holds off every interrupt until VMRUN; host IF=1 makes a
	 * physical interrupt during the guest cause an INTR exit.
	 */
	asm volatile("clgi" ::: "memory");
	/* Read with GIF=0: no IPI can install a host breakpoint until STGI. */
	host_dr = hw_breakpoint_active();
	if (guest_dr) {
		if (host_dr)
			set_debugreg(0, 7); /* no host breakpoint on guest addresses */
		set_debugreg(vp->db[0], 0);
		set_debugreg(vp->db[1], 1);
		set_debugreg(vp->db[2], 2);
		set_debugreg(vp->db[3], 3);
	}
	if (swap_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vp->xcr0);
	if (swap_tsc_aux)
		wrmsrl(MSR_TSC_AUX, vp->tsc_aux);
	if (guest_pkru) {
		host_pkru = rdpkru();
		if (vp->pkru != host_pkru)
			wrpkru(vp->pkru);
	}
	local_irq_enable();
	__linhv_svm_vmrun(vp->vmcb_pa, page_to_phys(this_cpu_read(host_vmsave_page)), &vp->gprs);
	local_irq_disable();
	/* The vmwp thread's PKRU back: a guest's WRPKRU must never stay in the host. */
	if (guest_pkru) {
		vp->pkru = rdpkru();
		if (vp->pkru != host_pkru)
			wrpkru(host_pkru);
	}
	if (swap_tsc_aux)
		wrmsrl(MSR_TSC_AUX, this_cpu_read(host_tsc_aux));
	if (swap_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, linhv_host_xcr0);
	/* The host's ptrace/perf breakpoints back, and none of the guest's left armed. */
	if (host_dr)
		hw_breakpoint_restore();
	else if (guest_dr)
		set_debugreg(0, 7);
	asm volatile("stgi" ::: "memory");
	WRITE_ONCE(vp->mode, LINHV_OUTSIDE_GUEST);
	cpumask_clear_cpu(cpu, &vp->part->in_guest_cpus);
	local_irq_enable();
}

/* ---- exit handlers: 0 resume the guest, 1 message for the root ---- */

static int handle_ioio(struct linhv_vp *vp)
{
	struct vmcb *v = vp->vmcb;
	u64 info = v->control.exit_info_1;
	u8 len = v->control.exit_info_2 - v->save.rip;
	struct hv_x64_io_port_intercept_message *m;
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
	m = begin_msg(vp, HvMessageTypeX64IoPortIntercept, sizeof(*m), len,
		      (info & SVM_IOIO_TYPE_IN) ? HV_INTERCEPT_ACCESS_READ :
						  HV_INTERCEPT_ACCESS_WRITE);
	m->port_number = info >> 16;
	/* EXITINFO1 size bits are one-hot: 1, 2 or 4 bytes. */
	m->access_info = (size & 4 ? 4 : size & 2 ? 2 : 1) |
			 ((info & SVM_IOIO_STR) ? HV_X64_IO_ACCESS_STRING : 0) |
			 ((info & SVM_IOIO_REP) ? HV_X64_IO_ACCESS_REP : 0);
	if (info & SVM_IOIO_STR)
		m->instruction_byte_count = linhv_fetch_insn(vp, m->instruction_bytes,
							     min_t(int, len, 15));
	linhv_vp_fill_seg(&v->save.ds, &m->ds);
	linhv_vp_fill_seg(&v->save.es, &m->es);
	m->rax = v->save.rax;
	m->rcx = vp->gprs.rcx;
	m->rsi = vp->gprs.rsi;
	m->rdi = vp->gprs.rdi;
	return 1;
}

static int handle_cpuid(struct linhv_vp *vp)
{
	struct vmcb *v = vp->vmcb;
	u32 r[4];
	bool forward;
	int len = INSN_LEN(vp, 0x0f, 0xa2);

	linhv_cpuid(vp, v->save.rax, vp->gprs.rcx, r, &forward);
	if (forward) {
		struct hv_x64_cpuid_intercept_message *m =
			begin_msg(vp, HvMessageTypeX64CpuidIntercept, sizeof(*m), len,
				  HV_INTERCEPT_ACCESS_EXECUTE);

		m->rax = v->save.rax;
		m->rcx = vp->gprs.rcx;
		m->rdx = vp->gprs.rdx;
		m->rbx = vp->gprs.rbx;
		m->default_result_rax = r[0];
		m->default_result_rbx = r[1];
		m->default_result_rcx = r[2];
		m->default_result_rdx = r[3];
		return 1;
	}
	v->save.rax = r[0];
	vp->gprs.rbx = r[1];
	vp->gprs.rcx = r[2];
	vp->gprs.rdx = r[3];
	skip(vp, len);
	return 0;
}

static int handle_msr(struct linhv_vp *vp)
{
	struct vmcb *v = vp->vmcb;
	bool write = v->control.exit_info_1 & 1;
	u32 msr = vp->gprs.rcx;
	u64 val = 0;
	int len = write ? INSN_LEN(vp, 0x0f, 0x30) : INSN_LEN(vp, 0x0f, 0x32);
	int ret;

	if (write)
		ret = linhv_msr_write(vp, msr, (vp->gprs.rdx << 32) | (u32)v->save.rax);
	else
		ret = linhv_msr_read(vp, msr, &val);
	if (ret < 0) {
		queue_exception(vp, X86_TRAP_GP, true, 0);
		return 0;
	}
	if (ret > 0) {
		struct hv_x64_msr_intercept_message *m =
			begin_msg(vp, HvMessageTypeX64MsrIntercept, sizeof(*m), len,
				  write ? HV_INTERCEPT_ACCESS_WRITE : HV_INTERCEPT_ACCESS_READ);

		m->msr_number = msr;
		m->rdx = vp->gprs.rdx;
		m->rax = v->save.rax;
		return 1;
	}
	if (!write) {
		v->save.rax = (u32)val;
		vp->gprs.rdx = val >> 32;
	}
	skip(vp, len);
	return 0;
}

static int handle_hlt(struct linhv_vp *vp)
{
	struct vmcb *v = vp->vmcb;

	skip(vp, INSN_LEN(vp, 0xf4));
	if (!(v->save.rflags & X86_EFLAGS_IF)) {
		/* Halted with interrupts off: only the root can help. */
		begin_msg(vp, HvMessageTypeX64Halt, sizeof(struct hv_x64_halt_message), 0,
			  HV_INTERCEPT_ACCESS_EXECUTE);
		return 1;
	}
	if (!irr_pending(vp) && !READ_ONCE(vp->nmi_pending))
		vp->halted = true;
	return 0;
}

static int handle_npf(struct linhv_vp *vp)
{
	struct vmcb *v = vp->vmcb;
	struct linhv_partition *part = vp->part;
	u64 gpa = v->control.exit_info_2;
	u64 err = v->control.exit_info_1;
	struct hv_x64_memory_intercept_message *m;
	u8 access;
	int ret;

	access = (err & SVM_NPF_FETCH) ? HV_INTERCEPT_ACCESS_EXECUTE :
		 (err & SVM_NPF_WRITE) ? HV_INTERCEPT_ACCESS_WRITE : HV_INTERCEPT_ACCESS_READ;

	/* Guest RAM is faulted in here; present faults are writes to read-only copies. */
	ret = linhv_memory_fault(part, gpa, access);
	if (ret == 0) {
		linhv_audit_fault(vp, gpa);
		return 0;
	}
	if (ret < 0) {
		pr_warn_ratelimited("linhv: partition %llu VP %u: nested fault at gpa %llx (access %u) failed: %d\n",
				    part->id, vp->index, gpa, access, ret);
		msg_simple(vp, HvMessageTypeUnrecoverableException, SVM_EXIT_NPF);
		return 1;
	}

	m = begin_msg(vp, linhv_gpa_is_mapped(part, gpa, NULL) ? HvMessageTypeGpaIntercept :
								  HvMessageTypeUnmappedGpa,
		      sizeof(*m), 0, access);
	m->guest_physical_address = gpa;
	m->instruction_byte_count = linhv_fetch_insn(vp, m->instruction_bytes, 16);
	return 1;
}

static int handle_xsetbv(struct linhv_vp *vp)
{
	struct vmcb *v = vp->vmcb;
	u64 val = (vp->gprs.rdx << 32) | (u32)v->save.rax;

	if (!boot_cpu_has(X86_FEATURE_OSXSAVE) || !(v->save.cr4 & X86_CR4_OSXSAVE)) {
		queue_exception(vp, X86_TRAP_UD, false, 0);
		return 0;
	}
	/* Validated here: the host's xsetbv at entry has no fault handling. */
	if ((u32)vp->gprs.rcx != 0 || v->save.cpl != 0 ||
	    !linhv_xcr0_valid(val, linhv_guest_xcr0_mask(vp))) {
		queue_exception(vp, X86_TRAP_GP, true, 0);
		return 0;
	}
	vp->xcr0 = val;
	skip(vp, INSN_LEN(vp, 0x0f, 0x01, 0xd1));
	return 0;
}

/* General register number n (0 RAX ... 15 R15, as in ModRM/REX). */
static u64 *gpr(struct linhv_vp *vp, int n)
{
	struct svm_gprs *g = &vp->gprs;
	u64 *regs[16] = {
		&vp->vmcb->save.rax, &g->rcx, &g->rdx, &g->rbx, &vp->vmcb->save.rsp, &g->rbp,
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
	struct vmcb *v = vp->vmcb;
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
		queue_exception(vp, X86_TRAP_GP, true, 0);
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
	struct vmcb *v = vp->vmcb;
	struct linhv_mov_crdr m;
	u8 b[15];
	int n = linhv_fetch_insn(vp, b, sizeof(b));
	u64 *r, val;

	/* Bytes changed under us (another VP): let the guest execute it again. */
	if (linhv_decode_mov_crdr(b, n, long_mode_cs(vp), write ? 0x23 : 0x21, &m) || m.ctl != dr)
		return 0;
	if (dr == 5 && (v->save.cr4 & X86_CR4_DE)) {
		queue_exception(vp, X86_TRAP_UD, false, 0);
		return 0;
	}
	if (v->save.cpl) {
		queue_exception(vp, X86_TRAP_GP, true, 0);
		return 0;
	}
	if (v->save.dr7 & DR7_GD) {
		v->save.dr7 &= ~DR7_GD;
		v->save.dr6 |= DR6_BD;
		queue_exception(vp, X86_TRAP_DB, false, 0);
		return 0;
	}
	r = gpr(vp, m.gpr);
	val = long_mode_cs(vp) ? *r : (u32)*r;
	if (dr >= 4) {
		if (val >> 32) {
			queue_exception(vp, X86_TRAP_GP, true, 0);
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
	struct vmcb *v = vp->vmcb;

	if (v->save.cpl != 0 || !(v->save.cr0 & X86_CR0_PE)) {
		queue_exception(vp, X86_TRAP_UD, false, 0);
		return 0;
	}
	if (vp->part->hyperv)
		linhv_hv_hypercall(vp);
	else
		v->save.rax = HV_STATUS_INVALID_HYPERCALL_CODE;
	skip(vp, INSN_LEN(vp, 0x0f, 0x01, 0xd9));
	return 0;
}

/*
 * The guest's top page table as the guest sees it (through the nested entry)
 * and as the root holds it now: a nested entry left on a page the root has
 * since replaced shows as two different frames or contents.
 */
static void dump_cr3_page(struct linhv_vp *vp)
{
	struct linhv_partition *part = vp->part;
	u64 gpa = vp->vmcb->save.cr3 & 0x000ffffffffff000ULL, leaf, hpa = 0, via_npt[3] = {};
	u64 via_root[3] = {};
	struct page *pg;
	u64 *va;

	spin_lock(&part->npt.lock);
	leaf = linhv_npt_lookup_locked(&part->npt, gpa);
	spin_unlock(&part->npt.lock);
	pg = linhv_guest_page_get(part, gpa, false);
	if (pg) {
		hpa = page_to_phys(pg);
		va = kmap_local_page(pg);
		via_root[0] = va[0]; /* low memory (identity maps, user space) */
		via_root[1] = va[508]; /* the cpu_entry_area (IDT, GDT, TSS) */
		via_root[2] = va[511]; /* the kernel image */
		kunmap_local(va);
		put_page(pg);
	}
	if ((leaf & 1) && !(leaf & BIT_ULL(7)) && pfn_valid((leaf & 0x000ffffffffff000ULL) >> PAGE_SHIFT)) {
		va = kmap_local_page(pfn_to_page((leaf & 0x000ffffffffff000ULL) >> PAGE_SHIFT));
		via_npt[0] = va[0];
		via_npt[1] = va[508];
		via_npt[2] = va[511];
		kunmap_local(va);
	}
	pr_warn("linhv:   cr3 gpa %llx: nested leaf %llx (entries 0/508/511: %llx %llx %llx), the root's page %llx (%llx %llx %llx)\n",
		gpa, leaf, via_npt[0], via_npt[1], via_npt[2], hpa, via_root[0], via_root[1],
		via_root[2]);
}

/*
 * The guest's long-mode walk of lin, level by level, as the root holds the
 * tables now, with each table page's nested leaf and the root's frame for
 * it: tells a lost table entry from a stale nested mapping.
 */
static void dump_walk(struct linhv_vp *vp, u64 lin)
{
	struct linhv_partition *part = vp->part;
	u64 table = vp->vmcb->save.cr3 & 0x000ffffffffff000ULL, e = 0, leaf;
	struct page *pg;
	int level;

	if (!(vp->vmcb->save.efer & EFER_LMA))
		return;
	for (level = 4; level >= 1; level--) {
		u64 gpa = table + ((lin >> (12 + 9 * (level - 1))) & 511) * 8;

		spin_lock(&part->npt.lock);
		leaf = linhv_npt_lookup_locked(&part->npt, gpa);
		spin_unlock(&part->npt.lock);
		pg = linhv_guest_page_get(part, gpa, false);
		if (linhv_read_guest(part, gpa, &e, sizeof(e)))
			e = ~0ULL;
		pr_warn("linhv:   walk %llx level %d: entry at gpa %llx = %llx, nested leaf %llx, root frame %llx\n",
			lin, level, gpa, e, leaf, pg ? (u64)page_to_phys(pg) : 0);
		if (pg)
			put_page(pg);
		if (!(e & 1) || e == ~0ULL || (level > 1 && level < 4 && (e & BIT_ULL(7))))
			return;
		table = e & 0x000ffffffffff000ULL;
	}
}

/*
 * A triple fault is the guest's own business, but one that the hypervisor
 * caused is hard to find afterwards: log the state and the last exits.
 */
static void dump_shutdown(struct linhv_vp *vp)
{
	static DEFINE_RATELIMIT_STATE(rs, 60 * HZ, 2);
	const struct vmcb_save *s = &vp->vmcb->save;
	u32 i;

	if (!__ratelimit(&rs))
		return;
	pr_warn("linhv: partition %llu VP %u triple fault: rip %llx rsp %llx rflags %llx cr0 %llx cr2 %llx cr3 %llx cr4 %llx efer %llx\n",
		vp->part->id, vp->index, s->rip, s->rsp, s->rflags, s->cr0, s->cr2, s->cr3, s->cr4,
		s->efer);
	pr_warn("linhv:   cs %x/%llx ss %x idtr %llx/%x gdtr %llx/%x tr %x/%llx dr7 %llx int_state %llx\n",
		s->cs.selector, s->cs.base, s->ss.selector, s->idtr.base, s->idtr.limit,
		s->gdtr.base, s->gdtr.limit, s->tr.selector, s->tr.base, s->dr7,
		vp->vmcb->control.int_state);
	dump_cr3_page(vp);
	dump_walk(vp, s->rip);
	/* Where delivery failed: the IDT (a #DF reading it), and the last fault address. */
	dump_walk(vp, s->idtr.base);
	if ((s->cr2 ^ s->idtr.base) & PAGE_MASK && (s->cr2 ^ s->rip) & PAGE_MASK)
		dump_walk(vp, s->cr2);
	for (i = 0; i < LINHV_EXIT_HIST; i++) {
		const struct linhv_exit_rec *e = &vp->hist[(vp->hist_pos + i) % LINHV_EXIT_HIST];

		if (e->code || e->rip)
			pr_warn("linhv:   exit %llx info %llx %llx int_info %llx injected %llx rip %llx\n",
				e->code, e->info1, e->info2, e->int_info, e->inj, e->rip);
	}
}

static void record_exit(struct linhv_vp *vp, u64 injected)
{
	const struct vmcb_control *c = &vp->vmcb->control;
	struct linhv_exit_rec *e = &vp->hist[vp->hist_pos];

	e->code = c->exit_code;
	e->info1 = c->exit_info_1;
	e->info2 = c->exit_info_2;
	e->int_info = c->exit_int_info;
	e->inj = injected;
	e->rip = vp->vmcb->save.rip;
	vp->hist_pos = (vp->hist_pos + 1) % LINHV_EXIT_HIST;
}

static int handle_exit(struct linhv_vp *vp)
{
	struct vmcb *v = vp->vmcb;
	u64 code = v->control.exit_code;
	u64 ii = v->control.exit_int_info;

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

	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
		return 0; /* the host takes it once interrupts are on again */
	case SVM_EXIT_VINTR:
		v->control.int_ctl &= ~SVM_INT_CTL_V_IRQ;
		v->control.intercept3 &= ~SVM_I3_VINTR;
		return 0;
	case SVM_EXIT_IOIO:
		return handle_ioio(vp);
	case SVM_EXIT_CPUID:
		return handle_cpuid(vp);
	case SVM_EXIT_MSR:
		return handle_msr(vp);
	case SVM_EXIT_HLT:
		return handle_hlt(vp);
	case SVM_EXIT_NPF:
		return handle_npf(vp);
	case SVM_EXIT_XSETBV:
		return handle_xsetbv(vp);
	case SVM_EXIT_VMMCALL:
		return handle_vmmcall(vp);
	case SVM_EXIT_INVD:
		skip(vp, INSN_LEN(vp, 0x0f, 0x08));
		return 0;
	case SVM_EXIT_RDPMC:
		queue_exception(vp, X86_TRAP_GP, true, 0);
		return 0;
	case SVM_EXIT_WRITE_CR0 + 4:
		return handle_cr4_write(vp);
	case SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR0 + 3:
		return handle_dr(vp, code - SVM_EXIT_READ_DR0, false);
	case SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR0 + 3:
	case SVM_EXIT_WRITE_DR0 + 5:
	case SVM_EXIT_WRITE_DR0 + 7:
		return handle_dr(vp, code - SVM_EXIT_WRITE_DR0, true);
	case SVM_EXIT_EXCP_BASE + X86_TRAP_DB:
		/* The CPU has updated the guest's DR6 already: just deliver it. */
		queue_exception(vp, X86_TRAP_DB, false, 0);
		return 0;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_AC:
		queue_exception(vp, X86_TRAP_AC, true, 0);
		return 0;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_MWAIT_COND:
		queue_exception(vp, X86_TRAP_UD, false, 0);
		return 0;
	case SVM_EXIT_SHUTDOWN:
		dump_shutdown(vp);
		vp->dead = true;
		vp->dead_exit_code = code;
		msg_simple(vp, HvMessageTypeUnrecoverableException, code);
		return 1;
	case SVM_EXIT_ERR:
		/* VMRUN refused the state the root gave us. */
		msg_simple(vp, HvMessageTypeInvalidVpRegisterValue, code);
		return 1;
	default:
		vp->dead = true;
		vp->dead_exit_code = code;
		msg_simple(vp, HvMessageTypeUnsupportedFeature, code);
		return 1;
	}
}

static int wait_halted(struct linhv_vp *vp)
{
	int ret = wait_event_interruptible(vp->wq, irr_pending(vp) || READ_ONCE(vp->nmi_pending) ||
						   READ_ONCE(vp->init_pending) ||
						   READ_ONCE(vp->run->immediate_exit));

	if (ret)
		return -EINTR;
	if (irr_pending(vp) || READ_ONCE(vp->nmi_pending))
		vp->halted = false;
	return 0;
}

/*
 * The consistency checks VMRUN makes (AMD APM vol. 2, 15.5.1), done first
 * so that a root-supplied state never reaches the CPU (or an emulator of
 * it) in a shape it may not handle.
 */
static bool svm_state_valid(struct linhv_vp *vp)
{
	struct vmcb_save *s = &vp->vmcb->save;
	u64 ev = vp->vmcb->control.event_inj;
	u64 cr4_ok = 0x7ff; /* VME..OSXMMEXCPT */
	bool lme_pg = (s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG);

	if (boot_cpu_has(X86_FEATURE_FSGSBASE))
		cr4_ok |= X86_CR4_FSGSBASE;
	if (boot_cpu_has(X86_FEATURE_PCID))
		cr4_ok |= X86_CR4_PCIDE;
	if (boot_cpu_has(X86_FEATURE_OSXSAVE))
		cr4_ok |= X86_CR4_OSXSAVE;
	if (boot_cpu_has(X86_FEATURE_SMEP))
		cr4_ok |= X86_CR4_SMEP;
	if (boot_cpu_has(X86_FEATURE_SMAP))
		cr4_ok |= X86_CR4_SMAP;
	if (boot_cpu_has(X86_FEATURE_UMIP))
		cr4_ok |= X86_CR4_UMIP;
	if (boot_cpu_has(X86_FEATURE_OSPKE))
		cr4_ok |= X86_CR4_PKE; /* PKRU is switched at entry and exit */

	if ((s->cr0 >> 32) || ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD)) ||
	    ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE)))
		return false;
	if (s->cr4 & ~cr4_ok)
		return false;
	if ((s->dr6 >> 32) || (s->dr7 >> 32) || (s->rflags >> 22))
		return false;
	if (!(s->efer & EFER_SVME))
		return false;
	if (lme_pg) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA) || (s->cr3 >> 52))
			return false;
		if ((s->cs.attrib & (1 << 9)) && (s->cs.attrib & (1 << 10)))
			return false; /* CS.L and CS.D together */
	} else {
		if (s->efer & EFER_LMA)
			return false;
		if (s->cr4 & X86_CR4_PCIDE)
			return false;
	}
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

int linhv_svm_run(struct linhv_vp *vp)
{
	u64 injected;
	int ret;

	for (;;) {
		if (READ_ONCE(vp->run->immediate_exit)) {
			WRITE_ONCE(vp->run->immediate_exit, 0);
			msg_simple(vp, HvMessageTypeLinhvCanceled, 0);
			return 0;
		}
		if (vp->dead) {
			msg_simple(vp, HvMessageTypeUnrecoverableException, vp->dead_exit_code);
			return 0;
		}
		if (signal_pending(current))
			return -EINTR;
		cond_resched();
		if (xchg(&vp->init_pending, false))
			do_init(vp);
		if (vp->mp_state == LINHV_MP_WAIT_SIPI) {
			int vec;

			ret = wait_event_interruptible(vp->wq, READ_ONCE(vp->sipi_vector) >= 0 ||
							       READ_ONCE(vp->init_pending) ||
							       READ_ONCE(vp->run->immediate_exit));
			if (ret)
				return -EINTR;
			/* INIT and SIPI may both be pending: INIT comes first. */
			if (xchg(&vp->init_pending, false))
				do_init(vp);
			vec = xchg(&vp->sipi_vector, -1);
			if (vec >= 0)
				linhv_vp_reset_for_sipi(vp, vec);
			continue;
		}
		/* A start-up IPI to a running VP is ignored. */
		if (READ_ONCE(vp->sipi_vector) >= 0)
			WRITE_ONCE(vp->sipi_vector, -1);
		if (vp->halted) {
			ret = wait_halted(vp);
			if (ret)
				return ret;
			if (vp->halted)
				continue;
		}
		inject_events(vp);
		if (!svm_state_valid(vp)) {
			vp->vmcb->control.event_inj = 0;
			msg_simple(vp, HvMessageTypeInvalidVpRegisterValue, 0);
			return 0;
		}
		injected = vp->vmcb->control.event_inj;
		enter_guest(vp);
		record_exit(vp, injected);
		vp->run->exits++;
		ret = handle_exit(vp);
		linhv_audit_exit(vp);
		if (ret) {
			vp->run->root_exits++;
			return 0;
		}
	}
}

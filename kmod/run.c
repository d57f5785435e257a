// SPDX-License-Identifier: GPL-2.0
/*
 * Running a VP, the same for every vendor: the run loop (cancel, INIT and
 * SIPI, HLT waits), which event to inject next, the architectural reset
 * state, and the TLFS intercept messages for the root. The vendor's ->run
 * enters the guest once and handles the exit, calling back in here for the
 * messages and for what the hypervisor completes the same way everywhere
 * (HLT, nested faults on guest memory).
 */
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/percpu.h>
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor-flags.h>
#include <asm/special_insns.h>

#include "linhv_internal.h"
#include <asm/fpu/xcr.h>

/* ---- reset, INIT and SIPI ---- */

static void set_seg(struct linhv_vp *vp, enum linhv_seg seg, u16 sel, u64 base, u32 limit,
		    u16 attrib)
{
	struct hv_x64_segment_register s = {
		.base = base,
		.limit = limit,
		.selector = sel,
		.attributes = attrib,
	};

	linhv_vendor->set_seg(vp, seg, &s);
}

/* The architectural reset state (what INIT gives a real CPU). */
void linhv_vp_reset_regs(struct linhv_vp *vp)
{
	linhv_vendor->vp_clear(vp);
	memset(vp->db, 0, sizeof(vp->db));
	set_seg(vp, LINHV_SEG_CS, 0xf000, 0xffff0000, 0xffff, 0x9b);
	set_seg(vp, LINHV_SEG_DS, 0, 0, 0xffff, 0x93);
	set_seg(vp, LINHV_SEG_ES, 0, 0, 0xffff, 0x93);
	set_seg(vp, LINHV_SEG_FS, 0, 0, 0xffff, 0x93);
	set_seg(vp, LINHV_SEG_GS, 0, 0, 0xffff, 0x93);
	set_seg(vp, LINHV_SEG_SS, 0, 0, 0xffff, 0x93);
	set_seg(vp, LINHV_SEG_GDTR, 0, 0, 0xffff, 0);
	set_seg(vp, LINHV_SEG_IDTR, 0, 0, 0xffff, 0);
	set_seg(vp, LINHV_SEG_LDTR, 0, 0, 0xffff, 0x82);
	set_seg(vp, LINHV_SEG_TR, 0, 0, 0xffff, 0x8b);
	linhv_set_reg(vp, LINHV_REG_CR0, X86_CR0_ET | X86_CR0_CD | X86_CR0_NW);
	linhv_set_reg(vp, LINHV_REG_EFER, 0);
	linhv_set_reg(vp, LINHV_REG_RFLAGS, 2);
	linhv_set_reg(vp, LINHV_REG_RIP, 0xfff0);
	linhv_set_reg(vp, LINHV_REG_DR6, 0xffff0ff0);
	linhv_set_reg(vp, LINHV_REG_DR7, 0x400);
	linhv_set_reg(vp, LINHV_REG_PAT, 0x0007040600070406ULL);
	linhv_set_reg(vp, LINHV_REG_RDX, 0x600); /* a family-6 signature, as after RESET */
}

/* INIT: back to the reset state, waiting for a start-up IPI. */
static void do_init(struct linhv_vp *vp)
{
	linhv_vp_reset_regs(vp);
	linhv_lapic_lazy_eoi_sync(vp);
	memset(vp->lapic.isr, 0, sizeof(vp->lapic.isr));
	vp->exc_pending = false;
	vp->halted = false;
	vp->mp_state = LINHV_MP_WAIT_SIPI;
}

/* SIPI: start in real mode at vector * 4096. */
static void reset_for_sipi(struct linhv_vp *vp, u8 vector)
{
	set_seg(vp, LINHV_SEG_CS, vector << 8, (u64)vector << 12, 0xffff, 0x9b);
	linhv_set_reg(vp, LINHV_REG_RIP, 0);
	vp->mp_state = LINHV_MP_RUNNABLE;
	vp->halted = false;
}

/* ---- intercept messages ---- */

void *linhv_msg_begin(struct linhv_vp *vp, u32 type, size_t size, u8 insn_len, u8 access)
{
	struct hv_message *m = &vp->run->msg;
	struct hv_x64_intercept_message_header *h = (void *)m->payload;

	linhv_count_exit(LINHV_EXIT_TO_ROOT);
	memset(m, 0, sizeof(*m));
	m->header.message_type = type;
	m->header.payload_size = size;
	h->vp_index = vp->index;
	h->instruction_length = insn_len & 0xf;
	h->intercept_access_type = access;
	linhv_vendor->fill_intercept_header(vp, h);
	return h;
}

void linhv_msg_simple(struct linhv_vp *vp, u32 type, u32 exit_code)
{
	struct hv_x64_unrecoverable_exception_message *m =
		linhv_msg_begin(vp, type, sizeof(*m), 0, 0);

	m->exit_code = exit_code;
}

int linhv_msg_io(struct linhv_vp *vp, u16 port, u8 size, bool in, bool string, bool rep,
		 u8 insn_len)
{
	struct hv_x64_io_port_intercept_message *m;

	m = linhv_msg_begin(vp, HvMessageTypeX64IoPortIntercept, sizeof(*m), insn_len,
			    in ? HV_INTERCEPT_ACCESS_READ : HV_INTERCEPT_ACCESS_WRITE);
	m->port_number = port;
	m->access_info = size | (string ? HV_X64_IO_ACCESS_STRING : 0) |
			 (rep ? HV_X64_IO_ACCESS_REP : 0);
	if (string)
		m->instruction_byte_count = linhv_fetch_insn(vp, m->instruction_bytes,
							     min_t(int, insn_len, 15));
	linhv_vendor->get_seg(vp, LINHV_SEG_DS, &m->ds);
	linhv_vendor->get_seg(vp, LINHV_SEG_ES, &m->es);
	m->rax = linhv_get_reg(vp, LINHV_REG_RAX);
	m->rcx = linhv_get_reg(vp, LINHV_REG_RCX);
	m->rsi = linhv_get_reg(vp, LINHV_REG_RSI);
	m->rdi = linhv_get_reg(vp, LINHV_REG_RDI);
	return LINHV_RUN_MESSAGE;
}

int linhv_msg_cpuid(struct linhv_vp *vp, const u32 def[4], u8 insn_len)
{
	struct hv_x64_cpuid_intercept_message *m =
		linhv_msg_begin(vp, HvMessageTypeX64CpuidIntercept, sizeof(*m), insn_len,
				HV_INTERCEPT_ACCESS_EXECUTE);

	m->rax = linhv_get_reg(vp, LINHV_REG_RAX);
	m->rcx = linhv_get_reg(vp, LINHV_REG_RCX);
	m->rdx = linhv_get_reg(vp, LINHV_REG_RDX);
	m->rbx = linhv_get_reg(vp, LINHV_REG_RBX);
	m->default_result_rax = def[0];
	m->default_result_rbx = def[1];
	m->default_result_rcx = def[2];
	m->default_result_rdx = def[3];
	return LINHV_RUN_MESSAGE;
}

int linhv_msg_msr(struct linhv_vp *vp, u32 msr, bool write, u8 insn_len)
{
	struct hv_x64_msr_intercept_message *m =
		linhv_msg_begin(vp, HvMessageTypeX64MsrIntercept, sizeof(*m), insn_len,
				write ? HV_INTERCEPT_ACCESS_WRITE : HV_INTERCEPT_ACCESS_READ);

	m->msr_number = msr;
	m->rdx = linhv_get_reg(vp, LINHV_REG_RDX);
	m->rax = linhv_get_reg(vp, LINHV_REG_RAX);
	return LINHV_RUN_MESSAGE;
}

/* The VP stays stopped: every later run reports exit_code again. */
int linhv_vp_die(struct linhv_vp *vp, u32 type, u64 exit_code)
{
	vp->dead = true;
	vp->dead_exit_code = exit_code;
	linhv_msg_simple(vp, type, exit_code);
	return LINHV_RUN_MESSAGE;
}

/*
 * A nested page fault at gpa (the vendor's exit_code for the log): guest RAM
 * is faulted in here; present faults are writes to read-only copies.
 */
int linhv_gpa_fault(struct linhv_vp *vp, u64 gpa, u8 access, u32 exit_code)
{
	struct linhv_partition *part = vp->part;
	struct hv_x64_memory_intercept_message *m;
	int ret;

	ret = linhv_memory_fault(part, gpa, access);
	if (ret == 0) {
		linhv_audit_fault(vp, gpa);
		return LINHV_RUN_RESUME;
	}
	if (ret < 0) {
		pr_warn_ratelimited("linhv: partition %llu VP %u: nested fault at gpa %llx (access %u) failed: %d\n",
				    part->id, vp->index, gpa, access, ret);
		linhv_msg_simple(vp, HvMessageTypeUnrecoverableException, exit_code);
		return LINHV_RUN_MESSAGE;
	}

	m = linhv_msg_begin(vp, linhv_gpa_is_mapped(part, gpa, NULL) ? HvMessageTypeGpaIntercept :
								       HvMessageTypeUnmappedGpa,
			    sizeof(*m), 0, access);
	m->guest_physical_address = gpa;
	m->instruction_byte_count = linhv_fetch_insn(vp, m->instruction_bytes, 16);
	return LINHV_RUN_MESSAGE;
}

/* ---- interrupts and exceptions ---- */

void linhv_queue_exception(struct linhv_vp *vp, u8 vector, bool has_err, u32 err)
{
	vp->exc_pending = true;
	vp->exc_vector = vector;
	vp->exc_has_error = has_err;
	vp->exc_error = err;
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

/* Decide what to inject on this entry: exception, then NMI, then an interrupt. */
static void inject_events(struct linhv_vp *vp)
{
	const struct linhv_vendor_ops *ops = linhv_vendor;
	int vec;

	if (ops->event_pending(vp))
		return; /* re-injecting what an exit interrupted */
	if (vp->exc_pending) {
		ops->inject_exception(vp, vp->exc_vector, vp->exc_has_error, vp->exc_error);
		vp->exc_pending = false;
		return;
	}
	if (READ_ONCE(vp->nmi_pending)) {
		WRITE_ONCE(vp->nmi_pending, false);
		ops->inject_nmi(vp);
		return;
	}
	vec = next_vector(vp);
	if (vec < 0)
		return;
	if (ops->irq_allowed(vp)) {
		ack_vector(vp, vec);
		ops->inject_irq(vp, vec);
	} else {
		ops->enable_irq_window(vp);
	}
}

/*
 * HLT, already skipped: with interrupts off only the root can help;
 * otherwise wait in the run loop for something to deliver.
 */
int linhv_vp_halt(struct linhv_vp *vp, bool irq_enabled)
{
	if (!irq_enabled) {
		linhv_msg_begin(vp, HvMessageTypeX64Halt, sizeof(struct hv_x64_halt_message), 0,
				HV_INTERCEPT_ACCESS_EXECUTE);
		return LINHV_RUN_MESSAGE;
	}
	if (!irr_pending(vp) && !READ_ONCE(vp->nmi_pending))
		vp->halted = true;
	return LINHV_RUN_RESUME;
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

/* ---- around the world switch ---- */

static DEFINE_PER_CPU(u64, last_vp_uid); /* whose guest TLB entries this CPU holds */
static DEFINE_PER_CPU(u64, last_part_id); /* whose guest last trained the predictors */
static DEFINE_PER_CPU(u64, host_tsc_aux); /* what Linux put in TSC_AUX (RDTSCP, RDPID) */

static bool has_tsc_aux(void)
{
	return boot_cpu_has(X86_FEATURE_RDTSCP) || boot_cpu_has(X86_FEATURE_RDPID);
}

/*
 * This CPU has just turned virtualization on (the vendor's CPU hotplug
 * callback): its TLB may hold anything, so flush at the next entry, and
 * note the host's TSC_AUX to put back after each guest.
 */
void linhv_cpu_virt_on(void)
{
	if (has_tsc_aux())
		rdmsrl(MSR_TSC_AUX, *this_cpu_ptr(&host_tsc_aux));
	this_cpu_write(last_vp_uid, 0);
}

/*
 * The vendor's world switch, interrupts off, before entering: the guest's
 * FPU state loaded, the VP marked as in the guest on cpu, and the return
 * value says whether its guest TLB entries on this CPU must be flushed
 * (one tag serves every VP: another VP ran here, the VP moved, or a zap or
 * a CR4 change asked for it).
 */
bool linhv_vp_enter_begin(struct linhv_vp *vp, int cpu)
{
	bool flush = false;
	s64 tlb_gen;

	/*
	 * The guest's FPU registers must be live at entry. A reschedule (HLT
	 * wait, cond_resched) or a kernel_fpu_begin() in an interrupt since
	 * the last entry saved them into the guest fpstate and left other
	 * contents in the registers, with TIF_NEED_FPU_LOAD set: load them
	 * back, or the guest runs with another task's vector registers.
	 */
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	WRITE_ONCE(vp->mode, LINHV_IN_GUEST);
	cpumask_set_cpu(cpu, &vp->part->in_guest_cpus);
	/*
	 * Pairs with linhv_partition_kick_all() and linhv_memory_flush_tlb():
	 * see need_flush or a new tlb_gen, or get an IPI.
	 */
	smp_mb();
	/*
	 * Kicked since the injection decision (linhv_vp_kick() saw the VP
	 * outside the guest): interrupts are off here, so an IPI to this CPU
	 * stays pending and ends the guest's run at its first instruction.
	 */
	if (READ_ONCE(vp->kick_req))
		smp_send_reschedule(cpu);
	tlb_gen = atomic64_read(&vp->part->tlb_gen);
	if (vp->last_cpu != cpu || this_cpu_read(last_vp_uid) != vp->uid ||
	    READ_ONCE(vp->need_flush) || vp->tlb_gen != tlb_gen) {
		flush = true;
		WRITE_ONCE(vp->need_flush, false);
		vp->tlb_gen = tlb_gen;
	}
	vp->last_cpu = cpu;
	this_cpu_write(last_vp_uid, vp->uid);
	/* One partition's branch predictions must not steer another's. */
	if (this_cpu_read(last_part_id) != vp->part->id) {
		indirect_branch_prediction_barrier();
		this_cpu_write(last_part_id, vp->part->id);
	}
	return flush;
}

/*
 * The host state a guest reads or changes without an exit: DR0-3 (only
 * while its DR7 arms them), XCR0, TSC_AUX (RDTSCP and RDPID read it
 * directly) and PKRU (WRPKRU with CR4.PKE, XRSTOR with XCR0.PKRU). Called
 * with every interrupt held off until the entry (SVM: GIF=0), so that no
 * IPI installs a host breakpoint in between; cr4 and dr7 are the guest's.
 */
void linhv_guest_switch_in(struct linhv_vp *vp, u64 cr4, u64 dr7, struct linhv_guest_switch *sw)
{
	sw->xcr0 = (cr4 & X86_CR4_OSXSAVE) && vp->xcr0 != linhv_host_xcr0;
	sw->guest_dr = dr7 & 0xff; /* L0-3/G0-3: the guest's breakpoints are armed */
	sw->tsc_aux = has_tsc_aux() && vp->tsc_aux != this_cpu_read(host_tsc_aux);
	sw->pkru = cpu_feature_enabled(X86_FEATURE_OSPKE) &&
		   ((cr4 & X86_CR4_PKE) || (vp->xcr0 & XFEATURE_MASK_PKRU));
	sw->host_pkru = 0;
	sw->host_dr = hw_breakpoint_active();
	if (sw->guest_dr) {
		if (sw->host_dr)
			set_debugreg(0, 7); /* no host breakpoint on guest addresses */
		set_debugreg(vp->db[0], 0);
		set_debugreg(vp->db[1], 1);
		set_debugreg(vp->db[2], 2);
		set_debugreg(vp->db[3], 3);
	}
	if (sw->xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vp->xcr0);
	if (sw->tsc_aux)
		wrmsrl(MSR_TSC_AUX, vp->tsc_aux);
	if (sw->pkru) {
		sw->host_pkru = rdpkru();
		if (vp->pkru != sw->host_pkru)
			wrpkru(vp->pkru);
	}
}

/* After the exit, interrupts still held off: the host's state back. */
void linhv_guest_switch_out(struct linhv_vp *vp, const struct linhv_guest_switch *sw)
{
	/* The vmwp thread's PKRU back: a guest's WRPKRU must never stay in the host. */
	if (sw->pkru) {
		vp->pkru = rdpkru();
		if (vp->pkru != sw->host_pkru)
			wrpkru(sw->host_pkru);
	}
	if (sw->tsc_aux)
		wrmsrl(MSR_TSC_AUX, this_cpu_read(host_tsc_aux));
	if (sw->xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, linhv_host_xcr0);
	/* The host's ptrace/perf breakpoints back, and none of the guest's left armed. */
	if (sw->host_dr)
		hw_breakpoint_restore();
	else if (sw->guest_dr)
		set_debugreg(0, 7);
}

/* Back from the guest, interrupts still off. */
void linhv_vp_enter_end(struct linhv_vp *vp, int cpu)
{
	WRITE_ONCE(vp->mode, LINHV_OUTSIDE_GUEST);
	cpumask_clear_cpu(cpu, &vp->part->in_guest_cpus);
}

/* ---- the run loop ---- */

int linhv_vp_run(struct linhv_vp *vp)
{
	int ret;

	for (;;) {
		if (READ_ONCE(vp->run->immediate_exit)) {
			WRITE_ONCE(vp->run->immediate_exit, 0);
			linhv_msg_simple(vp, HvMessageTypeLinhvCanceled, 0);
			return 0;
		}
		if (vp->dead) {
			linhv_msg_simple(vp, HvMessageTypeUnrecoverableException,
					 vp->dead_exit_code);
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
				reset_for_sipi(vp, vec);
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
		/* A full barrier: kicks from here on are seen at the entry. */
		xchg(&vp->kick_req, 0);
		inject_events(vp);
		linhv_lapic_lazy_eoi_arm(vp);
		ret = linhv_vendor->run(vp);
		if (ret == LINHV_RUN_BAD_STATE) {
			linhv_vendor->cancel_event(vp);
			linhv_msg_simple(vp, HvMessageTypeInvalidVpRegisterValue, 0);
			return 0;
		}
		vp->run->exits++;
		linhv_audit_exit(vp);
		if (ret) {
			vp->run->root_exits++;
			return 0;
		}
	}
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Virtual processors: the VP fd (run ioctl and the mmap-able run page),
 * register access by TLFS name, interrupt assertion and kicking a VP out of
 * guest mode.
 */
#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/processor.h>

#include "linhv_internal.h"

static atomic64_t next_vp_uid = ATOMIC64_INIT(1);

static int seg_by_name(u32 name)
{
	switch (name) {
	case HvX64RegisterEs: return LINHV_SEG_ES;
	case HvX64RegisterCs: return LINHV_SEG_CS;
	case HvX64RegisterSs: return LINHV_SEG_SS;
	case HvX64RegisterDs: return LINHV_SEG_DS;
	case HvX64RegisterFs: return LINHV_SEG_FS;
	case HvX64RegisterGs: return LINHV_SEG_GS;
	case HvX64RegisterLdtr: return LINHV_SEG_LDTR;
	case HvX64RegisterTr: return LINHV_SEG_TR;
	}
	return -1;
}

/* The vendor's number for a plain 64-bit register; -1 for the ones needing special care. */
static int reg64_by_name(u32 name)
{
	switch (name) {
	case HvX64RegisterRax: return LINHV_REG_RAX;
	case HvX64RegisterRcx: return LINHV_REG_RCX;
	case HvX64RegisterRdx: return LINHV_REG_RDX;
	case HvX64RegisterRbx: return LINHV_REG_RBX;
	case HvX64RegisterRsp: return LINHV_REG_RSP;
	case HvX64RegisterRbp: return LINHV_REG_RBP;
	case HvX64RegisterRsi: return LINHV_REG_RSI;
	case HvX64RegisterRdi: return LINHV_REG_RDI;
	case HvX64RegisterR8: return LINHV_REG_R8;
	case HvX64RegisterR9: return LINHV_REG_R9;
	case HvX64RegisterR10: return LINHV_REG_R10;
	case HvX64RegisterR11: return LINHV_REG_R11;
	case HvX64RegisterR12: return LINHV_REG_R12;
	case HvX64RegisterR13: return LINHV_REG_R13;
	case HvX64RegisterR14: return LINHV_REG_R14;
	case HvX64RegisterR15: return LINHV_REG_R15;
	case HvX64RegisterRip: return LINHV_REG_RIP;
	case HvX64RegisterCr0: return LINHV_REG_CR0;
	case HvX64RegisterCr2: return LINHV_REG_CR2;
	case HvX64RegisterCr3: return LINHV_REG_CR3;
	case HvX64RegisterCr4: return LINHV_REG_CR4;
	case HvX64RegisterDr7: return LINHV_REG_DR7;
	case HvX64RegisterKernelGsBase: return LINHV_REG_KERNEL_GS_BASE;
	case HvX64RegisterPat: return LINHV_REG_PAT;
	case HvX64RegisterSysenterCs: return LINHV_REG_SYSENTER_CS;
	case HvX64RegisterSysenterEip: return LINHV_REG_SYSENTER_EIP;
	case HvX64RegisterSysenterEsp: return LINHV_REG_SYSENTER_ESP;
	case HvX64RegisterStar: return LINHV_REG_STAR;
	case HvX64RegisterLstar: return LINHV_REG_LSTAR;
	case HvX64RegisterCstar: return LINHV_REG_CSTAR;
	case HvX64RegisterSfmask: return LINHV_REG_SFMASK;
	}
	return -1;
}

int linhv_vp_get_registers(struct linhv_vp *vp, const u32 *names, union hv_register_value *vals,
			   u32 count)
{
	const struct linhv_vendor_ops *ops = linhv_vendor;
	struct hv_x64_segment_register t;
	u32 i;

	for (i = 0; i < count; i++) {
		union hv_register_value *o = &vals[i];
		int r;

		memset(o, 0, sizeof(*o));
		if (names[i] == HvX64RegisterApicBase) {
			o->reg64 = vp->apic_base;
			continue;
		}
		r = reg64_by_name(names[i]);
		if (r >= 0) {
			o->reg64 = ops->get_reg(vp, r);
			continue;
		}
		r = seg_by_name(names[i]);
		if (r >= 0) {
			ops->get_seg(vp, r, &o->segment);
			continue;
		}
		switch (names[i]) {
		case HvX64RegisterRflags:
			o->reg64 = ops->get_reg(vp, LINHV_REG_RFLAGS);
			break;
		case HvX64RegisterEfer:
			o->reg64 = ops->get_reg(vp, LINHV_REG_EFER);
			break;
		case HvX64RegisterCr8:
			o->reg64 = ops->get_tpr(vp);
			break;
		case HvX64RegisterXfem:
			o->reg64 = vp->xcr0;
			break;
		case HvX64RegisterTsc:
			o->reg64 = rdtsc() + ops->get_tsc_offset(vp);
			break;
		case HvX64RegisterIdtr:
		case HvX64RegisterGdtr:
			ops->get_seg(vp, names[i] == HvX64RegisterIdtr ? LINHV_SEG_IDTR : LINHV_SEG_GDTR,
				     &t);
			o->table.limit = t.limit;
			o->table.base = t.base;
			break;
		case HvRegisterInterruptState:
			o->interrupt_state.interrupt_shadow = ops->get_interrupt_shadow(vp);
			break;
		case HvRegisterPendingInterruption:
			if (vp->exc_pending) {
				o->pending_interruption.interruption_pending = 1;
				o->pending_interruption.interruption_type = HV_X64_PENDING_EXCEPTION;
				o->pending_interruption.deliver_error_code = vp->exc_has_error;
				o->pending_interruption.interruption_vector = vp->exc_vector;
				o->pending_interruption.error_code = vp->exc_error;
			}
			break;
		default:
			return HV_STATUS_INVALID_PARAMETER;
		}
	}
	return HV_STATUS_SUCCESS;
}

int linhv_vp_set_registers(struct linhv_vp *vp, const struct hv_register_assoc *regs, u32 count)
{
	const struct linhv_vendor_ops *ops = linhv_vendor;
	struct hv_x64_segment_register t;
	u32 i;

	for (i = 0; i < count; i++) {
		const union hv_register_value *in = &regs[i].value;
		u32 name = regs[i].name;
		int r;

		if (regs[i].reserved1 || regs[i].reserved2)
			return HV_STATUS_INVALID_PARAMETER;
		switch (name) {
		case HvX64RegisterCr0:
			/* Reserved bits and CD=0/NW=1 would only make VMRUN fail. */
			if (in->reg64 >> 32 || ((in->reg64 & X86_CR0_NW) && !(in->reg64 & X86_CR0_CD)))
				return HV_STATUS_INVALID_PARAMETER;
			break;
		case HvX64RegisterApicBase:
			vp->apic_base = in->reg64;
			continue;
		case HvX64RegisterRflags:
			ops->set_reg(vp, LINHV_REG_RFLAGS, (in->reg64 & 0x3f7fd7) | 2);
			continue;
		case HvX64RegisterEfer:
			if (in->reg64 & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX | EFER_FFXSR))
				return HV_STATUS_INVALID_PARAMETER;
			ops->set_reg(vp, LINHV_REG_EFER, in->reg64);
			continue;
		case HvX64RegisterCr8:
			if (in->reg64 > 15)
				return HV_STATUS_INVALID_PARAMETER;
			ops->set_tpr(vp, in->reg64);
			continue;
		case HvX64RegisterXfem:
			/* Never a value the host's XSETBV would fault on. */
			if (!linhv_xcr0_valid(in->reg64, linhv_guest_xcr0_mask(vp)))
				return HV_STATUS_INVALID_PARAMETER;
			vp->xcr0 = in->reg64;
			continue;
		case HvX64RegisterTsc:
			ops->set_tsc_offset(vp, in->reg64 - rdtsc());
			continue;
		case HvX64RegisterIdtr:
		case HvX64RegisterGdtr:
			r = name == HvX64RegisterIdtr ? LINHV_SEG_IDTR : LINHV_SEG_GDTR;
			ops->get_seg(vp, r, &t);
			t.limit = in->table.limit;
			t.base = in->table.base;
			ops->set_seg(vp, r, &t);
			continue;
		case HvRegisterInterruptState:
			ops->set_interrupt_shadow(vp, in->interrupt_state.interrupt_shadow);
			continue;
		case HvRegisterPendingInterruption:
			if (!in->pending_interruption.interruption_pending) {
				vp->exc_pending = false;
				continue;
			}
			if (in->pending_interruption.interruption_type != HV_X64_PENDING_EXCEPTION ||
			    in->pending_interruption.interruption_vector > 31)
				return HV_STATUS_INVALID_PARAMETER;
			vp->exc_pending = true;
			vp->exc_vector = in->pending_interruption.interruption_vector;
			vp->exc_has_error = in->pending_interruption.deliver_error_code;
			vp->exc_error = in->pending_interruption.error_code;
			continue;
		}
		r = reg64_by_name(name);
		if (r >= 0) {
			ops->set_reg(vp, r, in->reg64);
			continue;
		}
		r = seg_by_name(name);
		if (r >= 0) {
			/* Setting SS sets the CPL from its DPL (the vendor's job). */
			ops->set_seg(vp, r, &in->segment);
			continue;
		}
		return HV_STATUS_INVALID_PARAMETER;
	}
	return HV_STATUS_SUCCESS;
}

/*
 * The register checks VMRUN (APM vol. 2, 15.5.1) and VM entry (SDM 27.3.1)
 * both make, for a state the root may have set: CR0, CR4 against what the
 * host supports, CR3 within the physical address width, DR6/DR7/RFLAGS,
 * and long mode against paging and CS.
 * Each vendor adds its own checks (EFER.SVME, the VMX fixed CR4 bits, events).
 */
bool linhv_arch_state_valid(const struct linhv_arch_state *st)
{
	if ((st->cr0 >> 32) || ((st->cr0 & X86_CR0_NW) && !(st->cr0 & X86_CR0_CD)) ||
	    ((st->cr0 & X86_CR0_PG) && !(st->cr0 & X86_CR0_PE)))
		return false;
	if (st->cr4 & ~linhv_host_cr4)
		return false;
	if ((st->dr6 >> 32) || (st->dr7 >> 32) || (st->rflags >> 22))
		return false;
	/*
	 * In every mode: an emulated CPU refuses such a CR3 before it loads
	 * the guest's state, and then writes the host's state into the save
	 * area as if it were the guest's (docs/netvsp.md, known problem).
	 */
	if (st->cr3 >> boot_cpu_data.x86_phys_bits)
		return false;
	if ((st->efer & EFER_LME) && (st->cr0 & X86_CR0_PG)) {
		if (!(st->cr4 & X86_CR4_PAE) || !(st->efer & EFER_LMA))
			return false;
		if (st->cs_l && st->cs_d)
			return false; /* CS.L and CS.D together */
	} else {
		if (st->efer & EFER_LMA)
			return false;
		if (st->cr4 & X86_CR4_PCIDE)
			return false;
	}
	return true;
}

static void kick_noop(void *info)
{
}

void linhv_vp_kick(struct linhv_vp *vp, bool wait)
{
	int cpu;

	/*
	 * Dekker with linhv_vp_enter_begin(): either the VP sees kick_req
	 * after it sets its mode, or this sees it in the guest and sends the
	 * IPI. Without the flag, what became pending between the run loop's
	 * injection decision and the entry would wait for the next exit.
	 */
	WRITE_ONCE(vp->kick_req, 1);
	smp_mb();
	wake_up_interruptible(&vp->wq);
	if (READ_ONCE(vp->mode) != LINHV_IN_GUEST)
		return;
	cpu = READ_ONCE(vp->last_cpu);
	if (cpu < 0)
		return;
	if (wait)
		smp_call_function_single(cpu, kick_noop, NULL, 1);
	else if (cpu != raw_smp_processor_id())
		smp_send_reschedule(cpu);
}

int linhv_vp_assert_interrupt(struct linhv_vp *vp, u32 type, u32 vector)
{
	switch (type) {
	case HV_X64_INTERRUPT_TYPE_FIXED:
		if (vector < 16 || vector > 255)
			return HV_STATUS_INVALID_PARAMETER;
		if (vp->part->hyperv) {
			linhv_lapic_accept(vp, vector);
			return HV_STATUS_SUCCESS;
		}
		set_bit(vector, vp->irr);
		break;
	case HV_X64_INTERRUPT_TYPE_INIT:
		if (!vp->part->hyperv)
			return HV_STATUS_INVALID_PARAMETER;
		WRITE_ONCE(vp->init_pending, true);
		break;
	case HV_X64_INTERRUPT_TYPE_SIPI:
		if (!vp->part->hyperv || vector > 255)
			return HV_STATUS_INVALID_PARAMETER;
		WRITE_ONCE(vp->sipi_vector, vector);
		break;
	case HV_X64_INTERRUPT_TYPE_NMI:
		WRITE_ONCE(vp->nmi_pending, true);
		break;
	default:
		return HV_STATUS_INVALID_PARAMETER;
	}
	smp_mb__after_atomic();
	linhv_vp_kick(vp, false);
	return HV_STATUS_SUCCESS;
}

static long vp_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct linhv_vp *vp = filp->private_data;
	long ret;

	if (cmd != LINHV_RUN_VP)
		return -ENOTTY;
	if (arg)
		return -EINVAL;
	if (!READ_ONCE(vp->part->started)) {
		/* From now on the CPUID policy and the MSR list cannot change. */
		mutex_lock(&vp->part->lock);
		vp->part->started = true;
		mutex_unlock(&vp->part->lock);
	}
	if (mutex_lock_interruptible(&vp->mutex))
		return -EINTR;
	/* The guest's FPU state lives in the registers while we run it. */
	fpu_swap_kvm_fpstate(&vp->guest_fpu, true);
	ret = linhv_vp_run(vp);
	fpu_swap_kvm_fpstate(&vp->guest_fpu, false);
	mutex_unlock(&vp->mutex);
	return ret;
}

static int vp_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct linhv_vp *vp = filp->private_data;

	if (vma->vm_pgoff || vma->vm_end - vma->vm_start != PAGE_SIZE)
		return -EINVAL;
	return remap_pfn_range(vma, vma->vm_start, virt_to_phys(vp->run) >> PAGE_SHIFT,
			       PAGE_SIZE, vma->vm_page_prot);
}

static void vp_free(struct linhv_vp *vp)
{
	linhv_lapic_destroy(vp);
	linhv_synic_destroy(vp);
	linhv_vendor->vp_free(vp);
	fpu_free_guest_fpstate(&vp->guest_fpu);
	free_page((unsigned long)vp->run);
	kfree(vp);
}

static int vp_release(struct inode *inode, struct file *filp)
{
	struct linhv_vp *vp = filp->private_data;
	struct linhv_partition *part = vp->part;

	mutex_lock(&part->lock);
	part->vps[vp->index] = NULL;
	mutex_unlock(&part->lock);
	linhv_devirq_vp_gone(part); /* no device interrupt handler still holds vp */
	vp_free(vp);
	fput(part->file);
	return 0;
}

static const struct file_operations vp_fops = {
	.owner = THIS_MODULE,
	.release = vp_release,
	.unlocked_ioctl = vp_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = vp_mmap,
	.llseek = noop_llseek,
};

long linhv_vp_create(struct linhv_partition *part, struct linhv_hvcall *hc, const void *in,
		     struct file **filep)
{
	const struct linhv_in_create_vp *cv = in;
	struct linhv_vp *vp;
	int fd, ret;

	if (cv->flags || cv->reserved || cv->vp_index >= part->max_vps)
		return -EINVAL;

	vp = kzalloc(sizeof(*vp), GFP_KERNEL_ACCOUNT);
	if (!vp)
		return -ENOMEM;
	vp->part = part;
	vp->index = cv->vp_index;
	vp->uid = atomic64_inc_return(&next_vp_uid);
	vp->last_cpu = -1;
	vp->sipi_vector = -1;
	mutex_init(&vp->mutex);
	linhv_lapic_init(vp);
	linhv_synic_init(vp);
	init_waitqueue_head(&vp->wq);
	vp->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vp->run) {
		kfree(vp);
		return -ENOMEM;
	}
	if (!fpu_alloc_guest_fpstate(&vp->guest_fpu)) {
		free_page((unsigned long)vp->run);
		kfree(vp);
		return -ENOMEM;
	}
	ret = linhv_vendor->vp_init(vp);
	if (ret) {
		fpu_free_guest_fpstate(&vp->guest_fpu);
		free_page((unsigned long)vp->run);
		kfree(vp);
		return ret;
	}
	linhv_vp_reset_regs(vp);
	vp->xcr0 = 1;
	vp->apic_base = 0xfee00000 | (1 << 11) | (vp->index == 0 ? (1 << 8) : 0);
	if (part->hyperv) {
		/* x2APIC already on, as firmware may leave it: no xAPIC MMIO needed. */
		vp->apic_base |= 1 << 10;
		vp->mp_state = vp->index ? LINHV_MP_WAIT_SIPI : LINHV_MP_RUNNABLE;
	}
	vp->mtrr_def_type = 0;

	mutex_lock(&part->lock);
	if (part->vps[vp->index]) {
		mutex_unlock(&part->lock);
		vp_free(vp);
		return -EEXIST;
	}
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		mutex_unlock(&part->lock);
		vp_free(vp);
		return fd;
	}
	get_file(part->file); /* dropped in vp_release */
	vp->file = anon_inode_getfile("linhv-vp", &vp_fops, vp, O_RDWR);
	if (IS_ERR(vp->file)) {
		ret = PTR_ERR(vp->file);
		mutex_unlock(&part->lock);
		put_unused_fd(fd);
		fput(part->file);
		vp_free(vp);
		return ret;
	}
	part->vps[vp->index] = vp;
	mutex_unlock(&part->lock);
	/* The caller installs fd once the root knows it (linhv_internal.h). */
	*filep = vp->file;
	return fd;
}

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

#include "linhv_internal.h"

static atomic64_t next_vp_uid = ATOMIC64_INIT(1);

/* VMCB attributes pack descriptor bits 40-47 and 52-55 into 12 bits. */
static u16 attr_to_hv(u16 a)
{
	return (a & 0xff) | ((a & 0xf00) << 4);
}

static u16 attr_from_hv(u16 a)
{
	return (a & 0xff) | ((a >> 4) & 0xf00);
}

static void seg_get(const struct vmcb_seg *s, struct hv_x64_segment_register *h)
{
	h->base = s->base;
	h->limit = s->limit;
	h->selector = s->selector;
	h->attributes = attr_to_hv(s->attrib);
}

static void seg_set(struct vmcb_seg *s, const struct hv_x64_segment_register *h)
{
	s->base = h->base;
	s->limit = h->limit;
	s->selector = h->selector;
	s->attrib = attr_from_hv(h->attributes);
}

void linhv_vp_fill_seg(const struct vmcb_seg *s, struct hv_x64_segment_register *h)
{
	seg_get(s, h);
}

static struct vmcb_seg *seg_by_name(struct vmcb *v, u32 name)
{
	switch (name) {
	case HvX64RegisterEs: return &v->save.es;
	case HvX64RegisterCs: return &v->save.cs;
	case HvX64RegisterSs: return &v->save.ss;
	case HvX64RegisterDs: return &v->save.ds;
	case HvX64RegisterFs: return &v->save.fs;
	case HvX64RegisterGs: return &v->save.gs;
	case HvX64RegisterLdtr: return &v->save.ldtr;
	case HvX64RegisterTr: return &v->save.tr;
	}
	return NULL;
}

/* Where a 64-bit register lives; NULL for the ones needing special care. */
static u64 *reg64_by_name(struct linhv_vp *vp, u32 name)
{
	struct vmcb_save *s = &vp->vmcb->save;
	struct svm_gprs *g = &vp->gprs;

	switch (name) {
	case HvX64RegisterRax: return &s->rax;
	case HvX64RegisterRcx: return &g->rcx;
	case HvX64RegisterRdx: return &g->rdx;
	case HvX64RegisterRbx: return &g->rbx;
	case HvX64RegisterRsp: return &s->rsp;
	case HvX64RegisterRbp: return &g->rbp;
	case HvX64RegisterRsi: return &g->rsi;
	case HvX64RegisterRdi: return &g->rdi;
	case HvX64RegisterR8: return &g->r8;
	case HvX64RegisterR9: return &g->r9;
	case HvX64RegisterR10: return &g->r10;
	case HvX64RegisterR11: return &g->r11;
	case HvX64RegisterR12: return &g->r12;
	case HvX64RegisterR13: return &g->r13;
	case HvX64RegisterR14: return &g->r14;
	case HvX64RegisterR15: return &g->r15;
	case HvX64RegisterRip: return &s->rip;
	case HvX64RegisterCr0: return &s->cr0;
	case HvX64RegisterCr2: return &s->cr2;
	case HvX64RegisterCr3: return &s->cr3;
	case HvX64RegisterCr4: return &s->cr4;
	case HvX64RegisterDr7: return &s->dr7;
	case HvX64RegisterKernelGsBase: return &s->kernel_gs_base;
	case HvX64RegisterApicBase: return &vp->apic_base;
	case HvX64RegisterPat: return &s->g_pat;
	case HvX64RegisterSysenterCs: return &s->sysenter_cs;
	case HvX64RegisterSysenterEip: return &s->sysenter_eip;
	case HvX64RegisterSysenterEsp: return &s->sysenter_esp;
	case HvX64RegisterStar: return &s->star;
	case HvX64RegisterLstar: return &s->lstar;
	case HvX64RegisterCstar: return &s->cstar;
	case HvX64RegisterSfmask: return &s->sfmask;
	}
	return NULL;
}

int linhv_vp_get_registers(struct linhv_vp *vp, const u32 *names, union hv_register_value *vals,
			   u32 count)
{
	struct vmcb *v = vp->vmcb;
	u32 i;

	for (i = 0; i < count; i++) {
		union hv_register_value *o = &vals[i];
		struct vmcb_seg *seg;
		u64 *r;

		memset(o, 0, sizeof(*o));
		r = reg64_by_name(vp, names[i]);
		if (r) {
			o->reg64 = *r;
			continue;
		}
		seg = seg_by_name(v, names[i]);
		if (seg) {
			seg_get(seg, &o->segment);
			continue;
		}
		switch (names[i]) {
		case HvX64RegisterRflags:
			o->reg64 = v->save.rflags;
			break;
		case HvX64RegisterEfer:
			o->reg64 = v->save.efer & ~EFER_SVME;
			break;
		case HvX64RegisterCr8:
			o->reg64 = v->control.int_ctl & 0xf;
			break;
		case HvX64RegisterXfem:
			o->reg64 = vp->xcr0;
			break;
		case HvX64RegisterTsc:
			o->reg64 = rdtsc() + v->control.tsc_offset;
			break;
		case HvX64RegisterIdtr:
			o->table.limit = v->save.idtr.limit;
			o->table.base = v->save.idtr.base;
			break;
		case HvX64RegisterGdtr:
			o->table.limit = v->save.gdtr.limit;
			o->table.base = v->save.gdtr.base;
			break;
		case HvRegisterInterruptState:
			o->interrupt_state.interrupt_shadow = !!(v->control.int_state & SVM_INT_STATE_SHADOW);
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
	struct vmcb *v = vp->vmcb;
	u32 i;

	for (i = 0; i < count; i++) {
		const union hv_register_value *in = &regs[i].value;
		u32 name = regs[i].name;
		struct vmcb_seg *seg;
		u64 *r;

		if (regs[i].reserved1 || regs[i].reserved2)
			return HV_STATUS_INVALID_PARAMETER;
		switch (name) {
		case HvX64RegisterCr0:
			/* Reserved bits and CD=0/NW=1 would only make VMRUN fail. */
			if (in->reg64 >> 32 || ((in->reg64 & X86_CR0_NW) && !(in->reg64 & X86_CR0_CD)))
				return HV_STATUS_INVALID_PARAMETER;
			break;
		case HvX64RegisterRflags:
			v->save.rflags = (in->reg64 & 0x3f7fd7) | 2;
			continue;
		case HvX64RegisterEfer:
			if (in->reg64 & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX | EFER_FFXSR))
				return HV_STATUS_INVALID_PARAMETER;
			v->save.efer = in->reg64 | EFER_SVME;
			continue;
		case HvX64RegisterCr8:
			if (in->reg64 > 15)
				return HV_STATUS_INVALID_PARAMETER;
			v->control.int_ctl = (v->control.int_ctl & ~SVM_INT_CTL_V_TPR_MASK) | in->reg64;
			continue;
		case HvX64RegisterXfem:
			/* Never a value the host's XSETBV would fault on. */
			if (!linhv_xcr0_valid(in->reg64, linhv_guest_xcr0_mask(vp)))
				return HV_STATUS_INVALID_PARAMETER;
			vp->xcr0 = in->reg64;
			continue;
		case HvX64RegisterTsc:
			v->control.tsc_offset = in->reg64 - rdtsc();
			continue;
		case HvX64RegisterIdtr:
			v->save.idtr.limit = in->table.limit;
			v->save.idtr.base = in->table.base;
			continue;
		case HvX64RegisterGdtr:
			v->save.gdtr.limit = in->table.limit;
			v->save.gdtr.base = in->table.base;
			continue;
		case HvRegisterInterruptState:
			v->control.int_state = in->interrupt_state.interrupt_shadow ?
						       SVM_INT_STATE_SHADOW : 0;
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
		r = reg64_by_name(vp, name);
		if (r) {
			*r = in->reg64;
			continue;
		}
		seg = seg_by_name(v, name);
		if (seg) {
			seg_set(seg, &in->segment);
			if (name == HvX64RegisterSs)
				v->save.cpl = (in->segment.attributes >> 5) & 3;
			continue;
		}
		return HV_STATUS_INVALID_PARAMETER;
	}
	return HV_STATUS_SUCCESS;
}

static void kick_noop(void *info)
{
}

void linhv_vp_kick(struct linhv_vp *vp, bool wait)
{
	int cpu;

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
	ret = linhv_svm_run(vp);
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
	linhv_svm_vp_free(vp);
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
	ret = linhv_svm_vp_init(vp);
	if (ret) {
		fpu_free_guest_fpstate(&vp->guest_fpu);
		free_page((unsigned long)vp->run);
		kfree(vp);
		return ret;
	}

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

// SPDX-License-Identifier: GPL-2.0
/*
 * The Hyper-V interface a full-guest partition presents (TLFS): the
 * hypervisor CPUID leaves, the synthetic MSRs, the hypercall page and the
 * guest hypercalls. Offered features are exactly the ones implemented here,
 * since a Linux guest turns on whatever it is told about.
 */
#include <asm/tsc.h>

#include "linhv_internal.h"

#define HV_MSR_GUEST_OS_ID 0x40000000
#define HV_MSR_HYPERCALL 0x40000001
#define HV_MSR_VP_INDEX 0x40000002
#define HV_MSR_RESET 0x40000003
#define HV_MSR_VP_RUNTIME 0x40000010
#define HV_MSR_TIME_REF_COUNT 0x40000020
#define HV_MSR_REFERENCE_TSC 0x40000021
#define HV_MSR_TSC_FREQUENCY 0x40000022
#define HV_MSR_APIC_FREQUENCY 0x40000023
#define HV_MSR_EOI 0x40000070
#define HV_MSR_ICR 0x40000071
#define HV_MSR_TPR 0x40000072
#define HV_MSR_VP_ASSIST_PAGE 0x40000073
#define HV_MSR_SCONTROL 0x40000080
#define HV_MSR_SVERSION 0x40000081
#define HV_MSR_SIEFP 0x40000082
#define HV_MSR_SIMP 0x40000083
#define HV_MSR_EOM 0x40000084
#define HV_MSR_SINT0 0x40000090
#define HV_MSR_SINT15 0x4000009f

#define HV_APIC_FREQUENCY 1000000000ULL

bool linhv_hv_cpuid(struct linhv_vp *vp, u32 fn, u32 r[4])
{
	if (!vp->part->hyperv || fn < 0x40000000 || fn > 0x400000ff)
		return false;
	r[0] = r[1] = r[2] = r[3] = 0;
	switch (fn) {
	case 0x40000000:
		r[0] = HV_CPUID_MAX_LEAF_LINHV;
		r[1] = 0x7263694d; /* "Micr" */
		r[2] = 0x666f736f; /* "osof" */
		r[3] = 0x76482074; /* "t Hv" */
		break;
	case 0x40000001:
		r[0] = 0x31237648; /* "Hv#1" */
		break;
	case 0x40000002:
		r[0] = 1; /* build number */
		r[1] = (10 << 16) | 0; /* version 10.0 */
		break;
	case 0x40000003:
		r[0] = HV_LINHV_PRIVILEGES_EAX;
		r[1] = HV_LINHV_PRIVILEGES_EBX;
		r[3] = HV_LINHV_FEATURES_EDX;
		break;
	case 0x40000004:
		r[0] = HV_LINHV_HINTS_EAX;
		r[1] = HV_LINHV_SPIN_RETRIES;
		break;
	case 0x40000005:
		r[0] = vp->part->max_vps;
		r[1] = num_online_cpus();
		break;
	}
	return true;
}

bool linhv_is_hv_msr(u32 msr)
{
	return msr >= 0x40000000 && msr <= 0x400000ff;
}

u64 linhv_hv_ref_time(struct linhv_partition *part)
{
	u64 guest_tsc = rdtsc() + part->tsc_offset;

	return mul_u64_u32_div(guest_tsc, 10000, tsc_khz);
}

/* Fill the hypercall page: the vendor's hypercall instruction (VMMCALL, VMCALL); RET. */
static int write_hypercall_page(struct linhv_partition *part, u64 gpa)
{
	const u8 *insn = linhv_vendor->hypercall_insn;
	const u8 code[] = {insn[0], insn[1], insn[2], 0xc3};

	return linhv_write_guest(part, gpa, code, sizeof(code));
}

/*
 * The reference TSC page: time = ((tsc * scale) >> 64) + offset in 100 ns
 * units, from the guest's own TSC (which starts near 0 with the partition).
 */
static int write_ref_tsc_page(struct linhv_partition *part, u64 gpa)
{
	/* scale = 10000 * 2^64 / tsc_khz, by long division in 32-bit steps. */
	u64 hi = (10000ULL << 32) / tsc_khz;
	u64 rem = (10000ULL << 32) % tsc_khz;
	struct {
		u32 sequence;
		u32 reserved;
		u64 scale;
		s64 offset;
	} page = {
		.sequence = 1,
		.scale = (hi << 32) | ((rem << 32) / tsc_khz),
		.offset = 0,
	};

	return linhv_write_guest(part, gpa, &page, sizeof(page));
}

int linhv_hv_msr_read(struct linhv_vp *vp, u32 msr, u64 *val)
{
	struct linhv_partition *part = vp->part;
	struct linhv_synic *sy = &vp->synic;

	switch (msr) {
	case HV_MSR_GUEST_OS_ID:
		*val = part->hv_guest_os_id;
		return 0;
	case HV_MSR_HYPERCALL:
		*val = part->hv_hypercall;
		return 0;
	case HV_MSR_VP_INDEX:
		*val = vp->index;
		return 0;
	case HV_MSR_VP_RUNTIME:
		*val = div_u64(current->se.sum_exec_runtime, 100);
		return 0;
	case HV_MSR_TIME_REF_COUNT:
		*val = linhv_hv_ref_time(part);
		return 0;
	case HV_MSR_REFERENCE_TSC:
		*val = part->hv_ref_tsc;
		return 0;
	case HV_MSR_TSC_FREQUENCY:
		*val = (u64)tsc_khz * 1000;
		return 0;
	case HV_MSR_APIC_FREQUENCY:
		*val = HV_APIC_FREQUENCY;
		return 0;
	case HV_MSR_EOI:
	case HV_MSR_ICR:
	case HV_MSR_TPR:
		return linhv_lapic_hv_msr_read(vp, msr - HV_MSR_EOI, val);
	case HV_MSR_VP_ASSIST_PAGE:
		*val = sy->vp_assist;
		return 0;
	case HV_MSR_SCONTROL:
		*val = sy->scontrol;
		return 0;
	case HV_MSR_SVERSION:
		*val = 1;
		return 0;
	case HV_MSR_SIEFP:
		*val = sy->siefp;
		return 0;
	case HV_MSR_SIMP:
		*val = sy->simp;
		return 0;
	case HV_MSR_EOM:
		*val = 0;
		return 0;
	}
	if (msr >= HV_MSR_SINT0 && msr <= HV_MSR_SINT15) {
		*val = sy->sint[msr - HV_MSR_SINT0];
		return 0;
	}
	return -1;
}

int linhv_hv_msr_write(struct linhv_vp *vp, u32 msr, u64 val)
{
	struct linhv_partition *part = vp->part;
	struct linhv_synic *sy = &vp->synic;

	switch (msr) {
	case HV_MSR_GUEST_OS_ID:
		mutex_lock(&part->lock);
		part->hv_guest_os_id = val;
		if (!val)
			part->hv_hypercall &= ~1ULL;
		mutex_unlock(&part->lock);
		return 0;
	case HV_MSR_HYPERCALL:
		mutex_lock(&part->lock);
		/* Enabling needs a guest OS id first (TLFS). */
		if ((val & 1) && part->hv_guest_os_id) {
			if (write_hypercall_page(part, val & PAGE_MASK)) {
				mutex_unlock(&part->lock);
				return -1;
			}
			part->hv_hypercall = val & (PAGE_MASK | 1);
		} else {
			part->hv_hypercall = val & PAGE_MASK;
		}
		mutex_unlock(&part->lock);
		return 0;
	case HV_MSR_REFERENCE_TSC:
		mutex_lock(&part->lock);
		if ((val & 1) && write_ref_tsc_page(part, val & PAGE_MASK)) {
			mutex_unlock(&part->lock);
			return -1;
		}
		part->hv_ref_tsc = val & (PAGE_MASK | 1);
		mutex_unlock(&part->lock);
		return 0;
	case HV_MSR_EOI:
	case HV_MSR_ICR:
	case HV_MSR_TPR:
		return linhv_lapic_hv_msr_write(vp, msr - HV_MSR_EOI, val);
	case HV_MSR_VP_ASSIST_PAGE:
		sy->vp_assist = val & (PAGE_MASK | 1);
		return 0;
	case HV_MSR_SCONTROL:
		mutex_lock(&sy->lock);
		sy->scontrol = val & 1;
		mutex_unlock(&sy->lock);
		linhv_synic_eom(vp); /* deliver anything that waited for enable */
		return 0;
	case HV_MSR_SIEFP:
		sy->siefp = val & (PAGE_MASK | 1);
		return 0;
	case HV_MSR_SIMP:
		mutex_lock(&sy->lock);
		sy->simp = val & (PAGE_MASK | 1);
		mutex_unlock(&sy->lock);
		linhv_synic_eom(vp);
		return 0;
	case HV_MSR_EOM:
		linhv_synic_eom(vp);
		return 0;
	case HV_MSR_RESET:
		return 0;
	}
	if (msr >= HV_MSR_SINT0 && msr <= HV_MSR_SINT15) {
		u32 vec = val & 0xff;

		/* Vectors 0-15 are reserved unless the SINT is masked. */
		if (!(val & BIT(16)) && vec < 16)
			return -1;
		mutex_lock(&sy->lock);
		sy->sint[msr - HV_MSR_SINT0] = val & (0xff | BIT(16) | BIT(17) | BIT(18));
		mutex_unlock(&sy->lock);
		linhv_synic_eom(vp);
		return 0;
	}
	return -1;
}

/*
 * A guest hypercall (the vendor's VMMCALL or VMCALL exit). 64-bit calling
 * convention: RCX control, RDX input (GPA or fast value), R8 output; the
 * result goes in RAX.
 */
void linhv_hv_hypercall(struct linhv_vp *vp)
{
	u64 control = linhv_get_reg(vp, LINHV_REG_RCX);
	u64 rdx = linhv_get_reg(vp, LINHV_REG_RDX);
	u16 code = control & 0xffff;
	bool fast = control & BIT(16);
	u16 status;

	if (!(linhv_get_reg(vp, LINHV_REG_EFER) & EFER_LMA)) {
		/* 32-bit convention is EDX:EAX, EBX:ECX, EDI:ESI; not offered. */
		status = HV_STATUS_INVALID_HYPERCALL_INPUT;
	} else if ((control >> 32) & 0xfff) {
		status = HV_STATUS_INVALID_HYPERCALL_INPUT; /* no call here is a rep call */
	} else {
		switch (code) {
		case HvCallPostMessage:
			status = fast ? HV_STATUS_INVALID_HYPERCALL_INPUT :
					linhv_synic_guest_post(vp, rdx);
			break;
		case HvCallSignalEvent:
			if (fast) {
				status = linhv_synic_guest_signal(vp, rdx & 0xffffffff);
			} else {
				u32 in[2];

				if ((rdx & 7) || linhv_read_guest(vp->part, rdx, in, sizeof(in)))
					status = HV_STATUS_INVALID_ALIGNMENT;
				else
					status = linhv_synic_guest_signal(vp, in[0]);
			}
			break;
		case HvCallRetargetDeviceInterrupt:
			/* Variable header size: 8-byte units, control bits 17-26. */
			status = fast ? HV_STATUS_INVALID_HYPERCALL_INPUT :
					linhv_devirq_guest_retarget(vp, rdx,
								    (control >> 17) & 0x3ff);
			break;
		default:
			status = HV_STATUS_INVALID_HYPERCALL_CODE;
			break;
		}
	}
	linhv_set_reg(vp, LINHV_REG_RAX, status);
}

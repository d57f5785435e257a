// SPDX-License-Identifier: GPL-2.0
/*
 * MSRs the kernel emulates for every guest. The SYSCALL, SYSENTER and
 * segment-base MSRs are not intercepted at all (VMLOAD/VMSAVE switch them).
 * Anything else, and anything the root asked for, goes to the root as an
 * MSR intercept message.
 */
#include <asm/msr-index.h>

#include "linhv_internal.h"

#define EFER_ALLOWED (EFER_SCE | EFER_LME | EFER_LMA | EFER_NX | EFER_FFXSR)

static bool forwarded(struct linhv_vp *vp, u32 msr)
{
	u32 i;

	for (i = 0; i < vp->part->nr_msr_forward; i++)
		if (vp->part->msr_forward[i] == msr)
			return true;
	return false;
}

static u64 *mtrr_slot(struct linhv_vp *vp, u32 msr)
{
	static const u32 fixed[11] = {
		MSR_MTRRfix64K_00000, MSR_MTRRfix16K_80000, MSR_MTRRfix16K_A0000,
		MSR_MTRRfix4K_C0000, MSR_MTRRfix4K_C8000, MSR_MTRRfix4K_D0000,
		MSR_MTRRfix4K_D8000, MSR_MTRRfix4K_E0000, MSR_MTRRfix4K_E8000,
		MSR_MTRRfix4K_F0000, MSR_MTRRfix4K_F8000,
	};
	int i;

	if (msr == MSR_MTRRdefType)
		return &vp->mtrr_def_type;
	if (msr >= 0x200 && msr < 0x210)
		return &vp->mtrr_var[msr - 0x200];
	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		if (fixed[i] == msr)
			return &vp->mtrr_fixed[i];
	return NULL;
}

#define NOT_ROUTED 2

/*
 * MSRs that are not this file's: the root's (1), or the x2APIC's and the
 * Hyper-V MSRs' handlers' result; NOT_ROUTED for the rest.
 */
static int route(struct linhv_vp *vp, u32 msr, bool write, u64 *val)
{
	if (forwarded(vp, msr))
		return 1;
	if (!vp->part->hyperv)
		return NOT_ROUTED;
	if (linhv_is_lapic_msr(msr))
		return write ? linhv_lapic_msr_write(vp, msr, *val) :
			       linhv_lapic_msr_read(vp, msr, val);
	if (linhv_is_hv_msr(msr))
		return write ? linhv_hv_msr_write(vp, msr, *val) : linhv_hv_msr_read(vp, msr, val);
	return NOT_ROUTED;
}

int linhv_msr_read(struct linhv_vp *vp, u32 msr, u64 *val)
{
	u64 *slot;
	int ret;

	ret = route(vp, msr, false, val);
	if (ret != NOT_ROUTED)
		return ret;
	switch (msr) {
	case MSR_TSC_AUX:
		*val = vp->tsc_aux;
		return 0;
	case MSR_EFER:
		*val = linhv_get_reg(vp, LINHV_REG_EFER);
		return 0;
	case MSR_IA32_APICBASE:
		*val = vp->apic_base;
		return 0;
	case MSR_IA32_CR_PAT:
		*val = linhv_get_reg(vp, LINHV_REG_PAT);
		return 0;
	case MSR_IA32_TSC:
		*val = rdtsc() + linhv_vendor->get_tsc_offset(vp);
		return 0;
	case MSR_MTRRcap:
		*val = 0x500 | 8; /* WC, fixed ranges, 8 variable ranges */
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*val = MSR_IA32_MISC_ENABLE_FAST_STRING;
		return 0;
	case MSR_IA32_UCODE_REV: /* no microcode revision (AMD: patch level) */
	case MSR_IA32_MCG_CAP:
	case MSR_IA32_MCG_STATUS:
	case MSR_IA32_DEBUGCTLMSR:
	case MSR_K7_HWCR:
	case MSR_AMD64_SYSCFG: /* read by MTRR setup on family 0xf-0x11; no SME/SNP bits here */
	case MSR_K8_INT_PENDING_MSG: /* C1E check on early AMD families: C1E off */
		*val = 0;
		return 0;
	}
	slot = mtrr_slot(vp, msr);
	if (slot) {
		*val = *slot;
		return 0;
	}
	/* A full guest gets #GP, like on hardware; bare partitions ask the root. */
	return vp->part->hyperv ? -1 : 1;
}

int linhv_msr_write(struct linhv_vp *vp, u32 msr, u64 val)
{
	u64 *slot;
	int ret;

	ret = route(vp, msr, true, &val);
	if (ret != NOT_ROUTED)
		return ret;
	switch (msr) {
	case MSR_TSC_AUX:
		if (val >> 32)
			return -1;
		vp->tsc_aux = val;
		return 0;
	case MSR_EFER:
		if (val & ~EFER_ALLOWED)
			return -1;
		/* LMA belongs to the CPU (the vendor keeps its own bits, such as SVME). */
		linhv_set_reg(vp, LINHV_REG_EFER,
			      (val & ~EFER_LMA) | (linhv_get_reg(vp, LINHV_REG_EFER) & EFER_LMA));
		return 0;
	case MSR_IA32_APICBASE:
		if (vp->part->hyperv) {
			/* Only x2APIC mode exists here: keep EN and EXTD set. */
			if ((val & ~(0xfffff000ULL | (1 << 8) | (1 << 10) | (1 << 11))) ||
			    !(val & (1 << 11)) || !(val & (1 << 10)))
				return -1;
			return 0;
		}
		vp->apic_base = val;
		return 0;
	case MSR_IA32_CR_PAT:
		/* Each byte must be a valid memory type (0, 1, 4, 5, 6, 7). */
		{
			int i;

			for (i = 0; i < 8; i++) {
				u8 t = val >> (8 * i);

				if (t > 7 || t == 2 || t == 3)
					return -1;
			}
		}
		linhv_set_reg(vp, LINHV_REG_PAT, val);
		return 0;
	case MSR_IA32_TSC:
		linhv_vendor->set_tsc_offset(vp, val - rdtsc());
		return 0;
	case MSR_IA32_MISC_ENABLE:
	case MSR_IA32_UCODE_REV: /* Intel: clearing it before CPUID loads the revision */
	case MSR_IA32_MCG_STATUS:
	case MSR_IA32_DEBUGCTLMSR:
	case MSR_K7_HWCR:
		return 0; /* accepted and ignored */
	}
	slot = mtrr_slot(vp, msr);
	if (slot) {
		*slot = val;
		return 0;
	}
	return vp->part->hyperv ? -1 : 1;
}

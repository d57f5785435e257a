// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID as the guest sees it: the host's values with what we do not
 * virtualize taken out, then the partition's policy on top. A policy entry
 * marked LINHV_CPUID_FORWARD sends the instruction to the root instead.
 */
#include <asm/processor.h>

#include "linhv_internal.h"
#include <asm/fpu/types.h>

/* CPUID.1 ECX */
#define C1_ECX_MONITOR BIT(3)
#define C1_ECX_VMX BIT(5)
#define C1_ECX_SMX BIT(6)
#define C1_ECX_EST BIT(7)
#define C1_ECX_TM2 BIT(8)
#define C1_ECX_PDCM BIT(15)
#define C1_ECX_X2APIC BIT(21)
#define C1_ECX_TSC_DEADLINE BIT(24)
#define C1_ECX_OSXSAVE BIT(27)
#define C1_ECX_HYPERVISOR BIT(31)
/* CPUID.1 EDX */
#define C1_EDX_ACPI BIT(22)
#define C1_EDX_TM BIT(29)
#define C1_EDX_PBE BIT(31)
#define C1_ECX_PCID BIT(17)
#define C1_ECX_XSAVE BIT(26)
/* CPUID.6 EAX */
#define C6_EAX_ARAT BIT(2)
/* CPUID.7.0 */
#define C7_EBX_FSGSBASE BIT(0)
#define C7_EBX_TSC_ADJUST BIT(1)
#define C7_EBX_SMEP BIT(7)
#define C7_EBX_SMAP BIT(20)
#define C7_ECX_UMIP BIT(2)
#define C7_ECX_WAITPKG BIT(5)
#define C7_ECX_PKU BIT(3)
#define C7_ECX_OSPKE BIT(4)
#define C7_ECX_LA57 BIT(16)
/* CPUID.80000001 */
#define C81_ECX_SVM BIT(2)
#define C81_ECX_PERFCTR_CORE BIT(23)
#define C81_EDX_RDTSCP BIT(27)

static const struct linhv_cpuid_entry *policy_lookup(struct linhv_partition *part, u32 fn,
						     u32 idx)
{
	const struct linhv_cpuid_policy *pol = part->cpuid;
	u32 i;

	if (!pol)
		return NULL;
	for (i = 0; i < pol->count; i++) {
		const struct linhv_cpuid_entry *e = &pol->entries[i];

		if (e->function == fn &&
		    ((e->flags & LINHV_CPUID_SUBLEAF_ANY) || e->index == idx))
			return e;
	}
	return NULL;
}

/*
 * Size of an XSAVE area holding xfeatures (bits 2 and up come from CPUID
 * leaf 0xD), in the standard or the compacted format. Computed rather than
 * read from CPUID with the guest's XCR0 loaded: that would need an XSETBV
 * on the host, with a window in which an interrupt that uses the FPU runs
 * with the guest's XCR0.
 */
static u32 xsave_size(u64 xfeatures, bool compacted)
{
	u32 size = 512 + 64, off = 512 + 64, eax, ebx, ecx, edx;
	int i;

	for (i = 2; i < 63; i++) {
		if (!(xfeatures & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		if (compacted) {
			if (ecx & 2) /* 64-byte aligned in the compacted format */
				off = ALIGN(off, 64);
			off += eax;
			size = off;
		} else {
			size = max(size, ebx + eax);
		}
	}
	return size;
}

/* The XCR0 bits leaf 0xD offers before the policy: the host's, without PKRU (PKU is hidden). */
static u64 base_xcr0_mask(void)
{
	return linhv_host_xcr0 & ~(u64)XFEATURE_MASK_PKRU;
}

static void xsave_leaf(struct linhv_vp *vp, u32 idx, u32 r[4])
{
	u64 mask = base_xcr0_mask();

	switch (idx) {
	case 0:
		r[0] &= (u32)mask;
		r[3] &= (u32)(mask >> 32);
		r[1] = xsave_size(vp->xcr0, false);
		r[2] = xsave_size(mask, false);
		break;
	case 1:
		r[1] = xsave_size(vp->xcr0, true); /* IA32_XSS is 0: not offered */
		break;
	default:
		if (idx >= 63 || !(mask & BIT_ULL(idx)))
			r[0] = r[1] = r[2] = r[3] = 0;
		break;
	}
}

void linhv_cpuid(struct linhv_vp *vp, u32 fn, u32 idx, u32 r[4], bool *forward)
{
	const struct linhv_cpuid_entry *e;

	*forward = false;
	if (linhv_hv_cpuid(vp, fn, r)) {
		/* Hyper-V leaves; the policy may still override below. */
	} else if (fn >= 0x40000000 && fn <= 0x4fffffff) {
		/* Hypervisor leaves come from the policy only. */
		r[0] = r[1] = r[2] = r[3] = 0;
	} else {
		cpuid_count(fn, idx, &r[0], &r[1], &r[2], &r[3]);
	}

	switch (fn) {
	case 1:
		r[1] = (r[1] & 0x0000ffff) | (vp->index << 24) | (vp->part->max_vps << 16);
		r[2] &= ~(C1_ECX_MONITOR | C1_ECX_VMX | C1_ECX_SMX | C1_ECX_EST | C1_ECX_TM2 |
			  C1_ECX_PDCM | C1_ECX_X2APIC | C1_ECX_TSC_DEADLINE | C1_ECX_OSXSAVE);
		r[2] |= C1_ECX_HYPERVISOR;
		/* Without XSAVE enabled in the host, linhv cannot switch XCR0 for a guest. */
		if (!boot_cpu_has(X86_FEATURE_OSXSAVE))
			r[2] &= ~C1_ECX_XSAVE;
		if (linhv_get_reg(vp, LINHV_REG_CR4) & X86_CR4_OSXSAVE)
			r[2] |= C1_ECX_OSXSAVE;
		if (vp->part->hyperv)
			r[2] |= C1_ECX_X2APIC | C1_ECX_TSC_DEADLINE;
		r[3] &= ~(C1_EDX_ACPI | C1_EDX_TM | C1_EDX_PBE);
		break;
	case 5: /* MONITOR/MWAIT are not offered */
		r[0] = r[1] = r[2] = r[3] = 0;
		break;
	case 6:
		/*
		 * No thermal or power management, but linhv's own APIC timer
		 * (an hrtimer) runs in every guest state: without ARAT a Linux
		 * guest thinks it stops in idle and, having no broadcast timer,
		 * stays on a periodic tick without high-resolution timers.
		 */
		r[0] = vp->part->hyperv ? C6_EAX_ARAT : 0;
		r[1] = r[2] = r[3] = 0;
		break;
	case 7:
		if (idx == 0) {
			r[1] &= ~C7_EBX_TSC_ADJUST;
			r[2] &= ~(C7_ECX_WAITPKG | C7_ECX_PKU | C7_ECX_OSPKE | C7_ECX_LA57);
		}
		break;
	case 0xd:
		if (boot_cpu_has(X86_FEATURE_OSXSAVE))
			xsave_leaf(vp, idx, r);
		break;
	case 0xa: /* no architectural PMU */
		r[0] = r[1] = r[2] = r[3] = 0;
		break;
	case 0xb:
	case 0x1f:
		r[3] = vp->index; /* x2APIC id */
		break;
	case 0x80000001:
		r[2] &= ~(C81_ECX_SVM | C81_ECX_PERFCTR_CORE);
		r[3] &= ~C81_EDX_RDTSCP;
		break;
	case 0x8000000a: /* no nested SVM */
		r[0] = r[1] = r[2] = r[3] = 0;
		break;
	}

	e = policy_lookup(vp->part, fn, idx);
	if (e) {
		if (e->flags & LINHV_CPUID_FORWARD) {
			*forward = true;
			return;
		}
		r[0] = e->eax;
		r[1] = e->ebx;
		r[2] = e->ecx;
		r[3] = e->edx;
	}
}

/*
 * The XCR0 bits a VP may enable: those its CPUID leaf 0xD offers (policy
 * included) that the host has enabled, and PKRU only with PKU offered.
 */
u64 linhv_guest_xcr0_mask(struct linhv_vp *vp)
{
	u32 r[4];
	bool forward;
	u64 mask;

	if (!boot_cpu_has(X86_FEATURE_OSXSAVE))
		return XFEATURE_MASK_FP;
	linhv_cpuid(vp, 0xd, 0, r, &forward);
	mask = (((u64)r[3] << 32) | r[0]) & linhv_host_xcr0;
	linhv_cpuid(vp, 7, 0, r, &forward);
	if (!(r[2] & C7_ECX_PKU))
		mask &= ~(u64)XFEATURE_MASK_PKRU;
	return mask | XFEATURE_MASK_FP;
}

/* What XSETBV itself would refuse (SDM vol. 1, 13.3), and anything outside allowed. */
bool linhv_xcr0_valid(u64 xcr0, u64 allowed)
{
	if (xcr0 & ~allowed)
		return false;
	if (!(xcr0 & XFEATURE_MASK_FP))
		return false;
	if ((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE))
		return false;
	if (!(xcr0 & XFEATURE_MASK_BNDREGS) != !(xcr0 & XFEATURE_MASK_BNDCSR))
		return false;
	if (xcr0 & XFEATURE_MASK_AVX512) {
		if ((xcr0 & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512)
			return false;
		if (!(xcr0 & XFEATURE_MASK_YMM))
			return false;
	}
	if ((xcr0 & XFEATURE_MASK_XTILE) && (xcr0 & XFEATURE_MASK_XTILE) != XFEATURE_MASK_XTILE)
		return false;
	return true;
}

/*
 * The CR4 bits a VP may set: the architectural base, and each feature bit
 * only when the host has it and the VP's CPUID (policy included) offers it,
 * as a CPU without the feature would refuse it.
 */
u64 linhv_guest_cr4_mask(struct linhv_vp *vp)
{
	u64 ok = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE |
		 X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR |
		 X86_CR4_OSXMMEXCPT;
	u32 r1[4], r7[4];
	bool forward;

	linhv_cpuid(vp, 1, 0, r1, &forward);
	linhv_cpuid(vp, 7, 0, r7, &forward);
	if (r1[2] & C1_ECX_PCID)
		ok |= X86_CR4_PCIDE;
	if (r1[2] & C1_ECX_XSAVE)
		ok |= X86_CR4_OSXSAVE;
	if (r7[1] & C7_EBX_FSGSBASE)
		ok |= X86_CR4_FSGSBASE;
	if (r7[1] & C7_EBX_SMEP)
		ok |= X86_CR4_SMEP;
	if (r7[1] & C7_EBX_SMAP)
		ok |= X86_CR4_SMAP;
	if (r7[2] & C7_ECX_UMIP)
		ok |= X86_CR4_UMIP;
	if (r7[2] & C7_ECX_PKU)
		ok |= X86_CR4_PKE;
	return ok & linhv_host_cr4;
}

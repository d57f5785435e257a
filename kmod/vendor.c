// SPDX-License-Identifier: GPL-2.0
/*
 * Choosing the vendor layer (vendor.h) at load time, from what caps.c found.
 */
#include "linhv_internal.h"
#include <asm/fpu/xcr.h>

const struct linhv_vendor_ops *linhv_vendor;
u64 linhv_host_xcr0;
u64 linhv_host_cr4;

/* The CR4 bits a guest may set: the base ones and what the host's kernel uses. */
static u64 host_cr4_bits(void)
{
	u64 ok = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE |
		 X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR |
		 X86_CR4_OSXMMEXCPT;

	if (boot_cpu_has(X86_FEATURE_FSGSBASE))
		ok |= X86_CR4_FSGSBASE;
	if (boot_cpu_has(X86_FEATURE_PCID))
		ok |= X86_CR4_PCIDE;
	if (boot_cpu_has(X86_FEATURE_OSXSAVE))
		ok |= X86_CR4_OSXSAVE;
	if (boot_cpu_has(X86_FEATURE_SMEP))
		ok |= X86_CR4_SMEP;
	if (boot_cpu_has(X86_FEATURE_SMAP))
		ok |= X86_CR4_SMAP;
	if (boot_cpu_has(X86_FEATURE_UMIP))
		ok |= X86_CR4_UMIP;
	if (boot_cpu_has(X86_FEATURE_OSPKE))
		ok |= X86_CR4_PKE; /* PKRU is switched at entry and exit */
	return ok;
}

/* Vendor setup: turn virtualization on for every CPU, and off again. */
int linhv_arch_init(void)
{
	int ret;

	if (boot_cpu_has(X86_FEATURE_OSXSAVE))
		linhv_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	else
		linhv_host_xcr0 = 1;
	linhv_host_cr4 = host_cr4_bits();
	if (linhv_host_caps.vendor == LINHV_VENDOR_SVM) {
		ret = linhv_svm_hw_init();
		if (ret)
			return ret;
		linhv_vendor = &linhv_svm_ops;
	} else {
		ret = linhv_vmx_hw_init();
		if (ret)
			return ret;
		linhv_vendor = &linhv_vmx_ops;
	}
	linhv_host_caps.features |= LINHV_FEAT_CAN_RUN;
	return 0;
}

void linhv_arch_exit(void)
{
	if (linhv_vendor == &linhv_svm_ops)
		linhv_svm_hw_exit();
	else if (linhv_vendor == &linhv_vmx_ops)
		linhv_vmx_hw_exit();
	linhv_vendor = NULL;
}

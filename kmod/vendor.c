// SPDX-License-Identifier: GPL-2.0
/*
 * Choosing the vendor layer (vendor.h) at load time, from what caps.c found.
 */
#include "linhv_internal.h"
#include <asm/fpu/xcr.h>

const struct linhv_vendor_ops *linhv_vendor;
u64 linhv_host_xcr0;

/* Vendor setup: turn virtualization on for every CPU, and off again. */
int linhv_arch_init(void)
{
	int ret;

	if (boot_cpu_has(X86_FEATURE_OSXSAVE))
		linhv_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	else
		linhv_host_xcr0 = 1;
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

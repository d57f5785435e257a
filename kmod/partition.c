// SPDX-License-Identifier: GPL-2.0
/*
 * Partitions. Placeholder until the SVM core lands: creation is refused with
 * a TLFS status so userspace sees a clean answer.
 */
#include "linhv_internal.h"

int linhv_arch_init(void)
{
	return 0;
}

void linhv_arch_exit(void)
{
}

long linhv_partition_create(struct linhv_hvcall *hc)
{
	hc->status = HV_STATUS_FEATURE_UNAVAILABLE;
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * linhv.ko internal interfaces shared between the module's files.
 */
#ifndef LINHV_INTERNAL_H
#define LINHV_INTERNAL_H

#include <linux/types.h>
#include <linhv/linhv.h>

#define LINHV_MAX_PARTITIONS 64
#define LINHV_MAX_VPS 16

/* caps.c: what the CPU offers, filled once at load time. */
extern struct linhv_caps linhv_host_caps;
int linhv_caps_probe(void);

/* Vendor setup: turn virtualization on for every CPU, and off again. */
int linhv_arch_init(void);
void linhv_arch_exit(void);

/* partition.c */
long linhv_partition_create(struct linhv_hvcall *hc);

#endif /* LINHV_INTERNAL_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * Exit counters since the module was loaded, by class, summed over every
 * partition: /sys/module/linhv/parameters/exit_counts, one line of
 * "class=count" pairs, for benchmarks that ask where a guest's time goes.
 * Per-CPU, so that counting costs no shared cache line on the exit path.
 */
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/sysfs.h>

#include "linhv_internal.h"

static DEFINE_PER_CPU(unsigned long[LINHV_EXIT_NR_CLASSES], exit_counts);

static const char *const class_names[LINHV_EXIT_NR_CLASSES] = {
	[LINHV_EXIT_NPF] = "npf",		[LINHV_EXIT_IO] = "io",
	[LINHV_EXIT_MSR] = "msr",		[LINHV_EXIT_CPUID] = "cpuid",
	[LINHV_EXIT_HLT] = "hlt",		[LINHV_EXIT_HOST_INTR] = "host_intr",
	[LINHV_EXIT_VINTR] = "vintr",		[LINHV_EXIT_HYPERCALL] = "hypercall",
	[LINHV_EXIT_EXCEPTION] = "exception",	[LINHV_EXIT_CR_DR] = "cr_dr",
	[LINHV_EXIT_SHUTDOWN] = "shutdown",	[LINHV_EXIT_OTHER] = "other",
	[LINHV_EXIT_TO_ROOT] = "to_root",
};

void linhv_count_exit(enum linhv_exit_class c)
{
	this_cpu_inc(exit_counts[c]);
}

static int get_counts(char *buf, const struct kernel_param *kp)
{
	int len = 0;
	int i, cpu;

	for (i = 0; i < LINHV_EXIT_NR_CLASSES; i++) {
		unsigned long sum = 0;

		for_each_possible_cpu(cpu)
			sum += per_cpu(exit_counts, cpu)[i];
		len += sysfs_emit_at(buf, len, "%s%s=%lu", i ? " " : "", class_names[i], sum);
	}
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}

static const struct kernel_param_ops counts_ops = {
	.get = get_counts,
};
module_param_cb(exit_counts, &counts_ops, NULL, 0444);
MODULE_PARM_DESC(exit_counts, "guest exits since load by class; to_root: messages to the root's worker");

/* SPDX-License-Identifier: MIT */
/*
 * A vsc_platform for a freestanding guest under a Hyper-V-style hypervisor:
 * identity-mapped RAM from the boot protocol's e820 table, the hypercall
 * page, SynIC MSRs, and waits timed with the partition reference counter.
 * Also the guest's few devices: COM1 output and ACPI poweroff.
 */
#ifndef VSC_IMAGE_HV_PLATFORM_H
#define VSC_IMAGE_HV_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include <vsc/platform.h>

struct hv_platform {
	struct vsc_platform plat;
	uint64_t ram_end;   /* end of the RAM region the image was loaded into */
	uint64_t pool_base; /* pages handed out by alloc_pages */
	uint32_t pool_pages;
	bool ref_counter; /* HV_X64_MSR_TIME_REF_COUNT available */
};

/* Find RAM, check for the hypervisor, enable hypercalls. NULL or what is missing. */
const char *hv_platform_init(struct hv_platform *hp, const uint8_t *boot_params);

void hv_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ACPI S5 through the sleep control register; reboot through the reset register. */
void hv_poweroff(void) __attribute__((noreturn));
void hv_reboot(void) __attribute__((noreturn));

#endif /* VSC_IMAGE_HV_PLATFORM_H */

/* SPDX-License-Identifier: MIT */
/*
 * What the freestanding guest-side library needs from its environment: its
 * own memory, the SynIC setup, the two hypercalls and a way to wait. A test
 * guest image implements it with MSR writes, vmcall and hlt; the loopback
 * platform (vsc_loopback.h) with the libwinhv loopback backend.
 */
#ifndef VSC_PLATFORM_H
#define VSC_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

struct vsc_platform {
	void *ctx;
	uint32_t vp_index; /* the VP this client runs on */
	/* Guest physical to usable pointer (NULL if not RAM). */
	void *(*map)(void *ctx, uint64_t gpa, uint64_t len);
	/* count zeroed, physically contiguous pages; 0 or -1. */
	int (*alloc_pages)(void *ctx, uint32_t count, uint64_t *gpa);
	void (*free_pages)(void *ctx, uint64_t gpa, uint32_t count);
	/* Program SIMP, SIEFP and an unmasked SINT, then SCONTROL.enable. */
	void (*setup_synic)(void *ctx, uint64_t simp_gpa, uint64_t siefp_gpa, uint32_t sint);
	/* HvPostMessage and HvSignalEvent: the HV_STATUS. */
	uint32_t (*post_message)(void *ctx, uint32_t connection_id, const void *payload,
				 uint32_t size);
	uint32_t (*signal_event)(void *ctx, uint32_t connection_id);
	/* HV_X64_MSR_EOM. */
	void (*eom)(void *ctx);
	/* Wait a little for an interrupt; false when the platform gives up. */
	bool (*wait)(void *ctx);
	/* Optional. */
	void (*log)(void *ctx, const char *msg);
	/* Optional (NULL: no MMIO): an access of 1, 2, 4 or 8 bytes at a guest
	 * physical address that is not RAM (a device's registers). */
	uint64_t (*mmio_read)(void *ctx, uint64_t gpa, uint32_t size);
	void (*mmio_write)(void *ctx, uint64_t gpa, uint32_t size, uint64_t val);
};

#endif /* VSC_PLATFORM_H */

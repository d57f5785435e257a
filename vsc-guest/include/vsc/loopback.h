/* SPDX-License-Identifier: MIT */
/*
 * A vsc_platform on the libwinhv loopback backend (hosted, not freestanding):
 * creates a loopback partition with some guest RAM and gives the guest-side
 * library its memory, SynIC and hypercalls. With a pump loop, every wait runs
 * one iteration of the host's event loop, so host and guest interleave on one
 * thread deterministically.
 */
#ifndef VSC_LOOPBACK_H
#define VSC_LOOPBACK_H

#include <stdint.h>

#include <linhv/winhv.h>

#include "platform.h"

struct evloop;

#define VSC_LOOPBACK_RAM_GPA 0x100000ull /* GPA 0..1 MiB stays unbacked */

struct vsc_loopback {
	struct vsc_platform plat;
	struct winhv_partition *partition;
	uint8_t *ram;
	uint64_t ram_size;
	uint8_t *page_used; /* one byte per RAM page */
	struct evloop *pump;
	int pump_timeout_ms; /* how long one wait may block in the host loop (default 1) */
	uint64_t waits;
};

/* vp_count VPs, ram_size bytes of RAM at VSC_LOOPBACK_RAM_GPA; the guest runs on vp. */
int vsc_loopback_create(struct vsc_loopback *lb, uint32_t vp_count, uint64_t ram_size, uint32_t vp,
			struct evloop *pump);
void vsc_loopback_destroy(struct vsc_loopback *lb);
/* Pages still allocated (leak checks). */
uint32_t vsc_loopback_pages_in_use(const struct vsc_loopback *lb);

#endif /* VSC_LOOPBACK_H */

/* SPDX-License-Identifier: MIT */
/*
 * The emulated platform behind port I/O and MMIO intercepts: COM1, the
 * IOAPIC, CMOS, the ACPI sleep/reset registers and the legacy reset ports.
 * Unknown ports read all-ones and ignore writes; unknown MMIO likewise.
 * rtc_offset: the CMOS RTC's offset from host UTC in seconds (cmos.h).
 * One lock serializes VP threads and the event loop.
 */
#ifndef VMWP_PLATFORM_H
#define VMWP_PLATFORM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linhv/winhv.h>

#include "cmos.h"
#include "ioapic.h"
#include "uart.h"

#define COM1_BASE 0x3f8
#define COM1_IRQ 4

enum platform_power { PLATFORM_POWEROFF = 1, PLATFORM_RESET = 2 };

struct platform {
	pthread_mutex_t lock;
	struct uart com1;
	struct ioapic ioapic;
	struct cmos cmos;
	struct winhv_partition *partition;
	void (*console_out)(void *ctx, uint8_t byte);
	void (*power)(void *ctx, enum platform_power what);
	void *ctx;
	/*
	 * The guest (CMOS shutdown byte) or the host (shutdown IC) asked for a
	 * reboot: a triple fault from now on is the reset, as on a PC.
	 */
	bool reboot_requested;
	bool trace_io; /* VMWP_DEBUG_IO set: log every non-UART port access */
};

void platform_init(struct platform *pl, struct winhv_partition *p, uint32_t nr_vps,
		   void (*console_out)(void *, uint8_t), void (*power)(void *, enum platform_power),
		   void *ctx, int64_t rtc_offset);
void platform_destroy(struct platform *pl);

/* winhv_io_fn / winhv_mmio_fn shaped: ctx is the platform. */
int platform_io(void *ctx, uint16_t port, bool write, uint8_t size, uint32_t *val);
/* The ports platform_io emulates, for the hypervisor's port policy (all
 * others read as all ones and drop writes there too). Returns the count. */
unsigned platform_io_ports(struct linhv_io_port_range *r, unsigned max);
int platform_mmio(void *ctx, uint64_t gpa, bool write, uint8_t size, uint64_t *val);

/* Console input for COM1; returns the bytes taken. */
unsigned platform_console_input(struct platform *pl, const uint8_t *buf, unsigned n);

#endif /* VMWP_PLATFORM_H */

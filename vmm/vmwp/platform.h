/* SPDX-License-Identifier: MIT */
/*
 * The emulated platform behind port I/O and MMIO intercepts: COM1, the
 * IOAPIC, CMOS, the ACPI sleep/reset registers and the legacy reset ports.
 * Unknown ports read all-ones and ignore writes; unknown MMIO likewise, after
 * the ranges claimed at run time in mmio (their own locking, not lock's).
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
#include "mmio.h"
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
	/* The host asked for a reboot (shutdown IC): a triple fault from now on is the reset. */
	bool reboot_requested;
	/* When the guest last wrote the CMOS shutdown status byte (0x0F): CLOCK_MONOTONIC ns, or 0.
	 */
	int64_t cmos_shutdown_ns;
	bool trace_io;	      /* VMWP_DEBUG_IO set: log every non-UART port access */
	struct mmio_bus mmio; /* run-time claims: the vPCI ranges of assigned devices */
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

/*
 * A triple fault now is the guest resetting the machine, not a crash: the
 * host asked for a reboot, or the guest wrote the CMOS shutdown status byte
 * within the last PLATFORM_RESET_WINDOW_NS (a BIOS-style reboot writes it,
 * then leaves for the reset vector). Linux also writes that byte while it
 * starts its APs and restores it after: a write that long before the fault
 * does not count, or every crash of an SMP guest would quietly restart it.
 */
#define PLATFORM_RESET_WINDOW_NS 2000000000LL
bool platform_reset_intended(struct platform *pl, int64_t now_ns);
/* CLOCK_MONOTONIC in ns: the clock of cmos_shutdown_ns and of now_ns above. */
int64_t platform_clock_ns(void);

/* Console input for COM1; returns the bytes taken. */
unsigned platform_console_input(struct platform *pl, const uint8_t *buf, unsigned n);

#endif /* VMWP_PLATFORM_H */

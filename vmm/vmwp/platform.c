// SPDX-License-Identifier: MIT
/* Port and MMIO dispatch to the platform devices; all guest values are masked by size first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acpi.h"
#include "platform.h"

static void com1_tx(void *ctx, uint8_t b)
{
	struct platform *pl = ctx;

	if (pl->console_out)
		pl->console_out(pl->ctx, b);
}

static void com1_irq(void *ctx, bool level)
{
	struct platform *pl = ctx;

	ioapic_set_irq(&pl->ioapic, COM1_IRQ, level);
}

static void deliver(void *ctx, const struct ioapic_delivery *d)
{
	struct platform *pl = ctx;
	uint32_t type = d->mode == 4 ? HV_X64_INTERRUPT_TYPE_NMI : HV_X64_INTERRUPT_TYPE_FIXED;

	if (pl->partition)
		WinHvAssertVirtualInterrupt(pl->partition, type, d->vector, d->dest_vp);
}

void platform_init(struct platform *pl, struct winhv_partition *p, uint32_t nr_vps,
		   void (*console_out)(void *, uint8_t), void (*power)(void *, enum platform_power),
		   void *ctx, int64_t rtc_offset)
{
	memset(pl, 0, sizeof(*pl));
	pthread_mutex_init(&pl->lock, NULL);
	pl->partition = p;
	pl->console_out = console_out;
	pl->power = power;
	pl->ctx = ctx;
	pl->trace_io = getenv("VMWP_DEBUG_IO") != NULL;
	uart_init(&pl->com1, com1_tx, com1_irq, pl);
	ioapic_init(&pl->ioapic, nr_vps, nr_vps, deliver, pl);
	cmos_init(&pl->cmos, rtc_offset);
	mmio_bus_init(&pl->mmio);
}

void platform_destroy(struct platform *pl)
{
	mmio_bus_destroy(&pl->mmio);
	pthread_mutex_destroy(&pl->lock);
}

static void power(struct platform *pl, enum platform_power what)
{
	if (pl->power)
		pl->power(pl->ctx, what);
}

int platform_io(void *ctx, uint16_t port, bool write, uint8_t size, uint32_t *val)
{
	struct platform *pl = ctx;
	uint32_t mask = size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	uint8_t b = (uint8_t)*val;

	if (!write)
		*val = mask; /* unknown ports float high */
	if (pl->trace_io && (port < COM1_BASE || port >= COM1_BASE + 8))
		fprintf(stderr, "io %s %#x size %u val %#x\n", write ? "out" : "in", port, size,
			*val);
	pthread_mutex_lock(&pl->lock);
	if (port >= COM1_BASE && port < COM1_BASE + 8) {
		if (write)
			uart_write(&pl->com1, port - COM1_BASE, b);
		else
			*val = uart_read(&pl->com1, port - COM1_BASE);
	} else if (port == 0x70 || port == 0x71) {
		/* The shutdown status byte (0x0F) is what a BIOS reads after a CPU reset. */
		if (write && port == 0x71 && pl->cmos.index == 0x0f)
			pl->cmos_shutdown_ns = platform_clock_ns();
		if (write)
			cmos_write(&pl->cmos, port, b);
		else
			*val = cmos_read(&pl->cmos, port);
	} else if (port == ACPI_SLEEP_CONTROL_PORT) {
		/* SLP_EN with the \_S5 type powers off; other sleep states are not offered. */
		if (write && (b & 0x20) && ((b >> 2) & 7) == ACPI_S5_TYPE)
			power(pl, PLATFORM_POWEROFF);
		else if (!write)
			*val = 0;
	} else if (port == ACPI_SLEEP_STATUS_PORT) {
		if (!write)
			*val = 0;
	} else if (port == ACPI_RESET_PORT) {
		/* 0xCF9: bit 2 starts the reset (the FADT reset value is 6). */
		if (write && (b & 0x04))
			power(pl, PLATFORM_RESET);
		else if (!write)
			*val = 0;
	} else if (port == 0x64) {
		/*
		 * No keyboard controller, but its pulse-reset command resets, as on a PC.
		 * Status 0 (input buffer empty) so a reboot does not wait for it.
		 */
		if (write && b == 0xfe)
			power(pl, PLATFORM_RESET);
		else if (!write)
			*val = 0;
	}
	pthread_mutex_unlock(&pl->lock);
	*val &= mask;
	return 0;
}

unsigned platform_io_ports(struct linhv_io_port_range *r, unsigned max)
{
	/* Keep in step with platform_io() above. */
	static const struct linhv_io_port_range ports[] = {
	    {.base = COM1_BASE, .count = 8},
	    {.base = 0x64, .count = 1},
	    {.base = 0x70, .count = 2},
	    {.base = ACPI_SLEEP_CONTROL_PORT, .count = 1},
	    {.base = ACPI_SLEEP_STATUS_PORT, .count = 1},
	    {.base = ACPI_RESET_PORT, .count = 1},
	};
	unsigned n = sizeof(ports) / sizeof(ports[0]);

	if (n > max)
		n = max;
	memcpy(r, ports, n * sizeof(*r));
	return n;
}

int platform_mmio(void *ctx, uint64_t gpa, bool write, uint8_t size, uint64_t *val)
{
	struct platform *pl = ctx;

	if (gpa >= ACPI_IOAPIC_BASE && gpa < ACPI_IOAPIC_BASE + 0x1000) {
		uint64_t off = gpa - ACPI_IOAPIC_BASE;

		pthread_mutex_lock(&pl->lock);
		if (write) {
			if (size == 4 && !(off & 3))
				ioapic_mmio_write(&pl->ioapic, off, (uint32_t)*val);
		} else {
			*val = (size == 4 && !(off & 3)) ? ioapic_mmio_read(&pl->ioapic, off) : 0;
		}
		pthread_mutex_unlock(&pl->lock);
		return 0;
	}
	int ret;

	if (mmio_bus_dispatch(&pl->mmio, gpa, write, size, val, &ret))
		return ret;
	if (!write)
		*val = ~0ULL;
	return 0;
}

unsigned platform_console_input(struct platform *pl, const uint8_t *buf, unsigned n)
{
	unsigned done;

	pthread_mutex_lock(&pl->lock);
	done = uart_receive(&pl->com1, buf, n);
	pthread_mutex_unlock(&pl->lock);
	return done;
}

int64_t platform_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

bool platform_reset_intended(struct platform *pl, int64_t now_ns)
{
	bool host, guest;

	pthread_mutex_lock(&pl->lock);
	host = __atomic_load_n(&pl->reboot_requested, __ATOMIC_SEQ_CST);
	guest = pl->cmos_shutdown_ns && now_ns - pl->cmos_shutdown_ns >= 0 &&
		now_ns - pl->cmos_shutdown_ns <= PLATFORM_RESET_WINDOW_NS;
	pthread_mutex_unlock(&pl->lock);
	return host || guest;
}

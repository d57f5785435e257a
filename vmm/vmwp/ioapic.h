/* SPDX-License-Identifier: MIT */
/*
 * An I/O APIC (82093AA-style, version 0x11, 24 pins) at 0xFEC00000: the
 * worker's only interrupt router; it turns pin changes into MSI-like
 * deliveries (vector, destination VP). Not thread-safe: the caller serializes.
 */
#ifndef VMWP_IOAPIC_H
#define VMWP_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_PINS 24

struct ioapic_delivery {
	uint8_t vector;
	uint8_t mode; /* 0 fixed, 1 lowest priority, 4 NMI, ... */
	uint32_t dest_vp;
};

struct ioapic {
	uint32_t id;
	uint32_t regsel;
	uint64_t redir[IOAPIC_PINS];
	uint32_t lines; /* current pin levels */
	void (*deliver)(void *ctx, const struct ioapic_delivery *d);
	void *ctx;
	uint32_t nr_vps;
};

void ioapic_init(struct ioapic *io, uint32_t id, uint32_t nr_vps,
		 void (*deliver)(void *, const struct ioapic_delivery *), void *ctx);
/* offset within the 4 KiB page; only 32-bit accesses at 0x00, 0x10 and 0x40 mean anything. */
uint32_t ioapic_mmio_read(struct ioapic *io, uint64_t offset);
void ioapic_mmio_write(struct ioapic *io, uint64_t offset, uint32_t val);
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);

#endif /* VMWP_IOAPIC_H */

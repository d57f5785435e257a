// SPDX-License-Identifier: MIT
/*
 * IOAPIC register model. Pins deliver on a rising edge (and when unmasked
 * while high): the local APIC's EOI is not forwarded to the worker on every
 * backend, so level-triggered pins do not keep Remote IRR; our only sources
 * are ISA-style edge devices.
 */
#include <string.h>

#include "ioapic.h"

#define REDIR_MASKED (1ULL << 16)
#define REDIR_LEVEL (1ULL << 15)
#define REDIR_LOGICAL (1ULL << 11)
/* Writable bits: vector, delivery mode, dest mode, polarity, trigger, mask, destination. */
#define REDIR_WRITABLE                                                                             \
	(0xff000000000000ffULL | 0x700 | (1ULL << 11) | (1ULL << 13) | REDIR_LEVEL | REDIR_MASKED)

void ioapic_init(struct ioapic *io, uint32_t id, uint32_t nr_vps,
		 void (*deliver)(void *, const struct ioapic_delivery *), void *ctx)
{
	memset(io, 0, sizeof(*io));
	io->id = id & 0xf;
	io->nr_vps = nr_vps ? nr_vps : 1;
	io->deliver = deliver;
	io->ctx = ctx;
	for (int i = 0; i < IOAPIC_PINS; i++)
		io->redir[i] = REDIR_MASKED;
}

static void fire(struct ioapic *io, unsigned pin)
{
	uint64_t r = io->redir[pin];
	struct ioapic_delivery d;
	uint32_t dest = (uint32_t)(r >> 56);

	if (r & REDIR_MASKED)
		return;
	d.vector = (uint8_t)r;
	d.mode = (uint8_t)((r >> 8) & 7);
	if (d.mode != 0 && d.mode != 1 && d.mode != 4)
		return; /* SMI, INIT, ExtINT: not routed */
	if (d.mode != 4 && d.vector < 16)
		return; /* illegal vector */
	if (r & REDIR_LOGICAL) {
		/* Flat logical mode: one bit per CPU; lowest set bit wins. */
		if (!dest)
			return;
		d.dest_vp = (uint32_t)__builtin_ctz(dest);
	} else {
		d.dest_vp = dest;
	}
	if (d.dest_vp >= io->nr_vps) {
		if (dest != 0xff)
			return;
		d.dest_vp = 0; /* broadcast: VP 0 takes it */
	}
	if (io->deliver)
		io->deliver(io->ctx, &d);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level)
{
	uint32_t bit;

	if (pin >= IOAPIC_PINS)
		return;
	bit = 1u << pin;
	if (level && !(io->lines & bit)) {
		io->lines |= bit;
		fire(io, pin);
	} else if (!level) {
		io->lines &= ~bit;
	}
}

uint32_t ioapic_mmio_read(struct ioapic *io, uint64_t off)
{
	uint32_t reg = io->regsel;

	if (off == 0x00)
		return io->regsel;
	if (off != 0x10)
		return 0;
	switch (reg) {
	case 0x00:
		return io->id << 24;
	case 0x01:
		return ((IOAPIC_PINS - 1) << 16) | 0x11;
	case 0x02:
		return io->id << 24;
	}
	if (reg >= 0x10 && reg < 0x10 + 2 * IOAPIC_PINS) {
		unsigned pin = (reg - 0x10) / 2;
		uint64_t r = io->redir[pin];

		return (reg & 1) ? (uint32_t)(r >> 32) : (uint32_t)r;
	}
	return 0;
}

void ioapic_mmio_write(struct ioapic *io, uint64_t off, uint32_t val)
{
	uint32_t reg = io->regsel;

	if (off == 0x00) {
		io->regsel = val & 0xff;
		return;
	}
	if (off == 0x40)
		return; /* EOI register: nothing keeps Remote IRR (see above) */
	if (off != 0x10)
		return;
	if (reg == 0x00) {
		io->id = (val >> 24) & 0xf;
		return;
	}
	if (reg >= 0x10 && reg < 0x10 + 2 * IOAPIC_PINS) {
		unsigned pin = (reg - 0x10) / 2;
		uint64_t r = io->redir[pin], was_masked = r & REDIR_MASKED;

		if (reg & 1)
			r = (r & 0xffffffffULL) | ((uint64_t)val << 32);
		else
			r = (r & ~0xffffffffULL) | val;
		io->redir[pin] = r & REDIR_WRITABLE;
		/* Unmasking a pin that is high delivers it (a level source waiting). */
		if (was_masked && !(io->redir[pin] & REDIR_MASKED) && (io->lines & (1u << pin)) &&
		    (io->redir[pin] & REDIR_LEVEL))
			fire(io, pin);
	}
}

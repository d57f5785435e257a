// SPDX-License-Identifier: MIT
/* IOAPIC redirection: programming, masking, delivery and hostile values. */
#include <check.h>
#include <stdlib.h>

#include "check_main.h"
#include "ioapic.h"

static struct ioapic_delivery last;
static int count;

static void deliver(void *ctx, const struct ioapic_delivery *d)
{
	(void)ctx;
	last = *d;
	count++;
}

static void redir(struct ioapic *io, unsigned pin, uint32_t lo, uint32_t hi)
{
	ioapic_mmio_write(io, 0, 0x10 + 2 * pin + 1);
	ioapic_mmio_write(io, 0x10, hi);
	ioapic_mmio_write(io, 0, 0x10 + 2 * pin);
	ioapic_mmio_write(io, 0x10, lo);
}

START_TEST(version_and_id)
{
	struct ioapic io;

	ioapic_init(&io, 2, 2, deliver, NULL);
	ioapic_mmio_write(&io, 0, 1);
	ck_assert_uint_eq(ioapic_mmio_read(&io, 0x10), 0x00170011);
	ioapic_mmio_write(&io, 0, 0);
	ck_assert_uint_eq(ioapic_mmio_read(&io, 0x10) >> 24, 2);
	ioapic_mmio_write(&io, 0, 0x10);
	ck_assert_uint_eq(ioapic_mmio_read(&io, 0x10) & 0x10000, 0x10000); /* masked at reset */
}
END_TEST

START_TEST(edge_delivery)
{
	struct ioapic io;

	count = 0;
	ioapic_init(&io, 0, 2, deliver, NULL);
	ioapic_set_irq(&io, 4, true); /* masked: nothing */
	ck_assert_int_eq(count, 0);
	ioapic_set_irq(&io, 4, false);
	redir(&io, 4, 0x31, 1u << 24); /* vector 0x31, fixed, physical, VP 1 */
	ioapic_set_irq(&io, 4, true);
	ck_assert_int_eq(count, 1);
	ck_assert_uint_eq(last.vector, 0x31);
	ck_assert_uint_eq(last.dest_vp, 1);
	ioapic_set_irq(&io, 4, true); /* still high: no new edge */
	ck_assert_int_eq(count, 1);
	ioapic_set_irq(&io, 4, false);
	ioapic_set_irq(&io, 4, true);
	ck_assert_int_eq(count, 2);
	/* Logical flat destination: lowest bit. */
	redir(&io, 5, 0x32 | (1u << 11), 0x02u << 24);
	ioapic_set_irq(&io, 5, true);
	ck_assert_uint_eq(last.dest_vp, 1);
	ck_assert_uint_eq(last.vector, 0x32);
}
END_TEST

START_TEST(hostile)
{
	struct ioapic io;

	count = 0;
	ioapic_init(&io, 0, 1, deliver, NULL);
	redir(&io, 3, 0x05, 0); /* vector < 16: illegal */
	ioapic_set_irq(&io, 3, true);
	ck_assert_int_eq(count, 0);
	redir(&io, 6, 0x40, 7u << 24); /* no VP 7 */
	ioapic_set_irq(&io, 6, true);
	ck_assert_int_eq(count, 0);
	redir(&io, 7, 0x40 | (7u << 8), 0); /* ExtINT: not routed */
	ioapic_set_irq(&io, 7, true);
	ck_assert_int_eq(count, 0);
	ioapic_set_irq(&io, 24, true); /* no such pin */
	ioapic_set_irq(&io, 1000, true);
	ck_assert_int_eq(count, 0);
	/* Read-only bits (delivery status, remote IRR) stay clear. */
	redir(&io, 8, 0xffffffff, 0xffffffff);
	ioapic_mmio_write(&io, 0, 0x10 + 16);
	ck_assert_uint_eq(ioapic_mmio_read(&io, 0x10) & ((1u << 12) | (1u << 14)), 0);
	/* Registers past the table and odd offsets read 0 and ignore writes. */
	ioapic_mmio_write(&io, 0, 0xff);
	ioapic_mmio_write(&io, 0x10, 0x1234);
	ck_assert_uint_eq(ioapic_mmio_read(&io, 0x10), 0);
	ck_assert_uint_eq(ioapic_mmio_read(&io, 0x20), 0);
	ioapic_mmio_write(&io, 0xff8, 1);
	ioapic_mmio_write(&io, 0x40, 0x30); /* EOI: harmless */
}
END_TEST

START_TEST(level_unmask)
{
	struct ioapic io;

	count = 0;
	ioapic_init(&io, 0, 1, deliver, NULL);
	ioapic_set_irq(&io, 9, true);
	redir(&io, 9, 0x41 | (1u << 15), 0); /* level, unmasked while high: delivered */
	ck_assert_int_eq(count, 1);
}
END_TEST

TEST_MAIN("vmwp-ioapic", version_and_id, edge_delivery, hostile, level_unmask)

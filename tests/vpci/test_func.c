// SPDX-License-Identifier: MIT
/*
 * vpci_func on a model device: a 4 KiB config blob with a power management,
 * an MSI (64-bit, per-vector masking, 8 vectors) and an MSI-X (16 entries,
 * table and PBA in BAR0) capability; BAR0 64-bit 64 KiB prefetchable, BAR2
 * 32-bit 8 KiB, BAR3 32-bit 256 bytes (smaller than a page: it all traps),
 * BAR4/5 empty. The ops record what the function does to the device and the
 * partition, and check the contract on every call (aligned in-range config
 * accesses, page-aligned maps inside the BAR, unmaps of exactly what was
 * mapped, no config write but the command register).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "wire_bytes.h"
#include "vpci_func.h"

#define MSI_CAP 0x50u
#define MSIX_CAP 0x70u
#define TABLE_OFF 0x2000u
#define PBA_OFF 0x5000u
#define MAX_EVENTS 4096
#define MAX_MAPS 32

enum ev_kind { EV_MAP, EV_UNMAP, EV_IRQ, EV_CMD };

struct event {
	enum ev_kind kind;
	unsigned bar;
	uint64_t off, gpa, len;
	bool msix, enabled;
	uint32_t index, data;
	uint64_t address;
};

struct model {
	uint8_t cfg[VPCI_CFG_SIZE];
	struct vpci_bar bars[VPCI_NUM_BARS];
	uint8_t *mem[VPCI_NUM_BARS];
	bool fail_cfg_read, fail_map, fail_bar;
	struct event ev[MAX_EVENTS];
	int nev;
	struct {
		unsigned bar;
		uint64_t gpa, len;
	} maps[MAX_MAPS];
	int nmaps;
	int cfg_writes, bar_reads, bar_writes;
};

static void log_ev(struct model *m, struct event e)
{
	ck_assert_int_lt(m->nev, MAX_EVENTS);
	m->ev[m->nev++] = e;
}

static int m_cfg_read(void *ctx, uint32_t off, uint32_t size, uint32_t *val)
{
	struct model *m = ctx;

	ck_assert(size == 1 || size == 2 || size == 4);
	ck_assert_uint_le(off + size, VPCI_CFG_SIZE);
	ck_assert_uint_eq(off % size, 0);
	if (m->fail_cfg_read)
		return -EIO;
	*val = size == 1 ? m->cfg[off] : size == 2 ? r16(m->cfg + off) : r32(m->cfg + off);
	return 0;
}

static int m_cfg_write(void *ctx, uint32_t off, uint32_t size, uint32_t val)
{
	struct model *m = ctx;

	/* Nothing but the command register may ever reach the device. */
	ck_assert_uint_eq(off, 4);
	ck_assert_uint_eq(size, 2);
	ck_assert_uint_le(val, 0xffff);
	w16(m->cfg + 4, (uint16_t)val);
	m->cfg_writes++;
	log_ev(m, (struct event){.kind = EV_CMD, .data = val});
	return 0;
}

static int m_bar_read(void *ctx, unsigned bar, uint64_t off, uint32_t size, uint64_t *val)
{
	struct model *m = ctx;

	ck_assert_uint_lt(bar, VPCI_NUM_BARS);
	ck_assert(size >= 1 && size <= 8);
	ck_assert_uint_le(off + size, m->bars[bar].size);
	m->bar_reads++;
	if (m->fail_bar || !m->mem[bar])
		return -EIO;
	*val = 0;
	memcpy(val, m->mem[bar] + off, size);
	return 0;
}

static int m_bar_write(void *ctx, unsigned bar, uint64_t off, uint32_t size, uint64_t val)
{
	struct model *m = ctx;

	ck_assert_uint_lt(bar, VPCI_NUM_BARS);
	ck_assert(size >= 1 && size <= 8);
	ck_assert_uint_le(off + size, m->bars[bar].size);
	m->bar_writes++;
	if (m->fail_bar || !m->mem[bar])
		return -EIO;
	memcpy(m->mem[bar] + off, &val, size);
	return 0;
}

static int m_map(void *ctx, unsigned bar, uint64_t off, uint64_t gpa, uint64_t len)
{
	struct model *m = ctx;

	ck_assert_uint_lt(bar, VPCI_NUM_BARS);
	ck_assert_uint_eq(off % 4096, 0);
	ck_assert_uint_eq(gpa % 4096, 0);
	ck_assert_uint_eq(len % 4096, 0);
	ck_assert_uint_gt(len, 0);
	ck_assert_uint_le(off + len, m->bars[bar].size);
	ck_assert_uint_ge(gpa + len - 1, gpa);
	log_ev(m, (struct event){.kind = EV_MAP, .bar = bar, .off = off, .gpa = gpa, .len = len});
	if (m->fail_map)
		return -EEXIST;
	/* The function never maps over what it has mapped. */
	for (int i = 0; i < m->nmaps; i++)
		ck_assert(m->maps[i].gpa + (m->maps[i].len - 1) < gpa ||
			  gpa + (len - 1) < m->maps[i].gpa);
	ck_assert_int_lt(m->nmaps, MAX_MAPS);
	m->maps[m->nmaps].bar = bar;
	m->maps[m->nmaps].gpa = gpa;
	m->maps[m->nmaps].len = len;
	m->nmaps++;
	return 0;
}

static void m_unmap(void *ctx, uint64_t gpa, uint64_t len)
{
	struct model *m = ctx;

	log_ev(m, (struct event){.kind = EV_UNMAP, .gpa = gpa, .len = len});
	for (int i = 0; i < m->nmaps; i++) {
		if (m->maps[i].gpa == gpa && m->maps[i].len == len) {
			m->maps[i] = m->maps[--m->nmaps];
			return;
		}
	}
	ck_abort_msg("unmap of %llx+%llx that is not mapped", (unsigned long long)gpa,
		     (unsigned long long)len);
}

static void m_irq(void *ctx, bool msix, uint32_t index, uint64_t address, uint32_t data,
		  bool enabled)
{
	struct model *m = ctx;

	log_ev(m, (struct event){.kind = EV_IRQ,
				 .msix = msix,
				 .index = index,
				 .address = address,
				 .data = data,
				 .enabled = enabled});
}

static const struct vpci_func_ops ops = {
    .cfg_read = m_cfg_read,
    .cfg_write = m_cfg_write,
    .bar_read = m_bar_read,
    .bar_write = m_bar_write,
    .map = m_map,
    .unmap = m_unmap,
    .irq_update = m_irq,
};

static struct model *model_new(void)
{
	struct model *m = calloc(1, sizeof(*m));
	uint8_t *c = m->cfg;

	w16(c + 0x00, 0x8086);
	w16(c + 0x02, 0x1572);
	w16(c + 0x04, 0x0506); /* the host left memory and bus master on, SERR, INTx off */
	w16(c + 0x06, 0x0810); /* capability list */
	w32(c + 0x08, 0x02000002);
	c[0x0e] = 0x80;		   /* multi-function, type 0 */
	w32(c + 0x10, 0xfe00000c); /* the host's own addresses: never seen */
	w32(c + 0x14, 0x00000001);
	w32(c + 0x18, 0xfd000000);
	w32(c + 0x1c, 0xfd100000);
	w16(c + 0x2c, 0x8086);
	w16(c + 0x2e, 0x0001);
	w32(c + 0x30, 0xfc000001);
	c[0x34] = 0x40;
	c[0x3c] = 0x0b;
	c[0x3d] = 0x01;
	c[0x3e] = 0x12;
	c[0x3f] = 0x34;
	/* Power management. */
	c[0x40] = 0x01;
	c[0x41] = MSI_CAP;
	w16(c + 0x42, 0x0003);
	/* MSI: the host's own programming (enabled, its address) is hidden. */
	c[MSI_CAP] = 0x05;
	c[MSI_CAP + 1] = MSIX_CAP;
	w16(c + MSI_CAP + 2, 0x0187); /* PVM, 64-bit, 8 capable, host's enable */
	w32(c + MSI_CAP + 4, 0xfee0100c);
	w32(c + MSI_CAP + 8, 0x1);
	w16(c + MSI_CAP + 12, 0x4321);
	w32(c + MSI_CAP + 16, 0xff);
	w32(c + MSI_CAP + 20, 0x5);
	/* MSI-X: 16 entries, table BAR0+0x2000, PBA BAR0+0x5000. */
	c[MSIX_CAP] = 0x11;
	c[MSIX_CAP + 1] = 0x80;
	w16(c + MSIX_CAP + 2, 0x800f); /* the host's enable hidden */
	w32(c + MSIX_CAP + 4, TABLE_OFF | 0);
	w32(c + MSIX_CAP + 8, PBA_OFF | 0);
	/* PCI Express, last. */
	c[0x80] = 0x10;
	c[0x81] = 0x00;
	w16(c + 0x82, 0x0002);
	w32(c + 0x100, 0x14010001); /* an extended capability */

	m->bars[0] =
	    (struct vpci_bar){.size = 0x10000, .flags = VPCI_BAR_MEM64 | VPCI_BAR_PREFETCH};
	m->bars[2] = (struct vpci_bar){.size = 0x2000, .flags = 0};
	m->bars[3] = (struct vpci_bar){.size = 0x100, .flags = 0};
	for (int i = 0; i < VPCI_NUM_BARS; i++) {
		if (!m->bars[i].size)
			continue;
		m->mem[i] = malloc(m->bars[i].size);
		for (uint64_t k = 0; k < m->bars[i].size; k++)
			m->mem[i][k] = (uint8_t)(k * 7 + i);
	}
	return m;
}

static void model_free(struct model *m)
{
	for (int i = 0; i < VPCI_NUM_BARS; i++)
		free(m->mem[i]);
	free(m);
}

static struct vpci_func *func_new(struct model *m)
{
	struct vpci_func *f = NULL;

	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), 0);
	ck_assert_ptr_nonnull(f);
	return f;
}

static int count(const struct model *m, enum ev_kind k)
{
	int n = 0;

	for (int i = 0; i < m->nev; i++)
		n += m->ev[i].kind == k;
	return n;
}

#define RD(f, off, size) vpci_func_cfg_read(f, off, size)
#define WR(f, off, size, v) vpci_func_cfg_write(f, off, size, v)

static uint64_t mmio_rd(struct vpci_func *f, uint64_t gpa, uint32_t size)
{
	uint64_t v = 0x5a5a;

	ck_assert(vpci_func_mmio(f, gpa, false, size, &v));
	return v;
}

static void mmio_wr(struct vpci_func *f, uint64_t gpa, uint32_t size, uint64_t v)
{
	ck_assert(vpci_func_mmio(f, gpa, true, size, &v));
}

#define BAR0_GPA 0x100000000ull
#define BAR2_GPA 0xc0000000u
#define BAR3_GPA 0xc0002000u

/* Assign the three BARs and turn memory space on. */
static void assign(struct vpci_func *f)
{
	WR(f, 0x10, 4, (uint32_t)BAR0_GPA);
	WR(f, 0x14, 4, (uint32_t)(BAR0_GPA >> 32));
	WR(f, 0x18, 4, BAR2_GPA);
	WR(f, 0x1c, 4, BAR3_GPA);
	WR(f, 0x04, 2, 0x0006);
}

START_TEST(ids_pass_through)
{
	struct model *m = model_new();
	struct vpci_func *f = func_new(m);

	ck_assert_uint_eq(RD(f, 0x00, 4), 0x15728086);
	ck_assert_uint_eq(RD(f, 0x00, 2), 0x8086);
	ck_assert_uint_eq(RD(f, 0x03, 1), 0x15);
	ck_assert_uint_eq(RD(f, 0x08, 4), 0x02000002);
	ck_assert_uint_eq(RD(f, 0x0e, 1), 0x80);
	ck_assert_uint_eq(RD(f, 0x2c, 4), 0x00018086);
	ck_assert_uint_eq(RD(f, 0x34, 1), 0x40);
	ck_assert_uint_eq(RD(f, 0x40, 4), 0x00035001);
	ck_assert_uint_eq(RD(f, 0x80, 4), 0x00020010);
	ck_assert_uint_eq(RD(f, 0x100, 4), 0x14010001);
	/* Status passes through; command is the guest's (0); straddled. */
	ck_assert_uint_eq(RD(f, 0x06, 2), 0x0810);
	ck_assert_uint_eq(RD(f, 0x04, 2), 0);
	ck_assert_uint_eq(RD(f, 0x04, 4), 0x08100000);
	ck_assert_uint_eq(RD(f, 0x05, 1), 0);
	ck_assert_uint_eq(RD(f, 0x07, 1), 0x08);
	/* No ROM, no INTx: min grant and max latency still the device's. */
	ck_assert_uint_eq(RD(f, 0x30, 4), 0);
	ck_assert_uint_eq(RD(f, 0x3c, 4), 0x34120000);
	ck_assert_uint_eq(RD(f, 0x3c, 2), 0);
	ck_assert_uint_eq(RD(f, 0x3d, 1), 0);
	ck_assert_uint_eq(RD(f, 0x3e, 2), 0x3412);
	/* BARs start unassigned, whatever the host put there. */
	for (uint32_t off = 0x10; off < 0x28; off += 4)
		ck_assert_uint_eq(RD(f, off, 4), off == 0x10 ? 0xc : 0);
	/* The capability headers pass through, the host's MSI state does not. */
	ck_assert_uint_eq(RD(f, MSI_CAP, 4), 0x01867005);
	ck_assert_uint_eq(RD(f, MSI_CAP + 4, 4), 0);
	ck_assert_uint_eq(RD(f, MSI_CAP + 8, 4), 0);
	ck_assert_uint_eq(RD(f, MSI_CAP + 12, 4), 0);
	ck_assert_uint_eq(RD(f, MSI_CAP + 16, 4), 0);
	ck_assert_uint_eq(RD(f, MSI_CAP + 20, 4), 0);
	ck_assert_uint_eq(RD(f, MSIX_CAP, 4), 0x000f8011);
	ck_assert_uint_eq(RD(f, MSIX_CAP + 4, 4), TABLE_OFF);
	ck_assert_uint_eq(RD(f, MSIX_CAP + 8, 4), PBA_OFF);
	ck_assert_int_eq(m->nev, 0);
	vpci_func_destroy(f);
	ck_assert_int_eq(m->nev, 0);
	model_free(m);
}
END_TEST

START_TEST(bar_sizing)
{
	struct model *m = model_new();
	struct vpci_func *f = func_new(m);

	/* 64-bit, prefetchable, 64 KiB. */
	WR(f, 0x10, 4, 0xffffffff);
	WR(f, 0x14, 4, 0xffffffff);
	ck_assert_uint_eq(RD(f, 0x10, 4), 0xffff000c);
	ck_assert_uint_eq(RD(f, 0x14, 4), 0xffffffff);
	ck_assert_uint_eq(RD(f, 0x10, 1), 0x0c);
	ck_assert_uint_eq(RD(f, 0x12, 2), 0xffff);
	/* 32-bit 8 KiB and 256 bytes; empty slots read 0 after all ones. */
	WR(f, 0x18, 4, 0xffffffff);
	WR(f, 0x1c, 4, 0xffffffff);
	WR(f, 0x20, 4, 0xffffffff);
	WR(f, 0x24, 4, 0xffffffff);
	ck_assert_uint_eq(RD(f, 0x18, 4), 0xffffe000);
	ck_assert_uint_eq(RD(f, 0x1c, 4), 0xffffff00);
	ck_assert_uint_eq(RD(f, 0x20, 4), 0);
	ck_assert_uint_eq(RD(f, 0x24, 4), 0);
	/* Addresses: low bits of the size dropped, flags kept. */
	WR(f, 0x10, 4, 0x12345678);
	WR(f, 0x14, 4, 0x9);
	ck_assert_uint_eq(RD(f, 0x10, 4), 0x1234000c);
	ck_assert_uint_eq(RD(f, 0x14, 4), 0x9);
	WR(f, 0x18, 4, 0xc0001fff);
	ck_assert_uint_eq(RD(f, 0x18, 4), 0xc0000000);
	/* Byte and word writes merge into the register. */
	WR(f, 0x1b, 1, 0xd0);
	ck_assert_uint_eq(RD(f, 0x18, 4), 0xd0000000);
	WR(f, 0x18, 2, 0xffff);
	ck_assert_uint_eq(RD(f, 0x18, 4), 0xd000e000);
	WR(f, 0x1c, 2, 0x1234);
	ck_assert_uint_eq(RD(f, 0x1c, 4), 0xffff1200);
	/* Nothing mapped: memory space is off. */
	ck_assert_int_eq(count(m, EV_MAP), 0);
	ck_assert_int_eq(m->cfg_writes, 0);
	vpci_func_destroy(f);

	/* A 64-bit BAR above 4 GiB: the upper half carries the size too. */
	memset(m->bars, 0, sizeof(m->bars));
	m->bars[0] =
	    (struct vpci_bar){.size = 0x10000, .flags = VPCI_BAR_MEM64 | VPCI_BAR_PREFETCH};
	m->bars[4] = (struct vpci_bar){.size = 1ull << 33, .flags = VPCI_BAR_MEM64};
	f = func_new(m);
	WR(f, 0x20, 4, 0xffffffff);
	ck_assert_uint_eq(RD(f, 0x20, 4), 0x4);
	ck_assert_uint_eq(RD(f, 0x24, 4), 0);
	WR(f, 0x24, 4, 0xffffffff);
	ck_assert_uint_eq(RD(f, 0x24, 4), 0xfffffffe);
	/* Sizing the upper half alone leaves the lower as it was. */
	WR(f, 0x10, 4, 0x00010000);
	WR(f, 0x14, 4, 0xffffffff);
	ck_assert_uint_eq(RD(f, 0x10, 4), 0x0001000c);
	ck_assert_uint_eq(RD(f, 0x14, 4), 0xffffffff);
	vpci_func_destroy(f);
	model_free(m);
}
END_TEST

START_TEST(command)
{
	struct model *m = model_new();
	struct vpci_func *f = func_new(m);

	/* I/O space reads 0; memory and bus master reach the device by RMW. */
	w16(m->cfg + 4, 0x0500);
	WR(f, 0x04, 2, 0x0007);
	ck_assert_uint_eq(RD(f, 0x04, 2), 0x0006);
	ck_assert_uint_eq(r16(m->cfg + 4), 0x0506);
	ck_assert_int_eq(m->cfg_writes, 1);
	/* The same value again: no device access. */
	WR(f, 0x04, 2, 0x0006);
	ck_assert_int_eq(m->cfg_writes, 1);
	/* INTx disable: the guest's own, not the device's. */
	WR(f, 0x05, 1, 0x04);
	ck_assert_uint_eq(RD(f, 0x04, 2), 0x0406);
	ck_assert_int_eq(m->cfg_writes, 1);
	/* A dword write at 0x04: status is dropped, command is taken. */
	WR(f, 0x04, 4, 0xffff0002);
	ck_assert_uint_eq(RD(f, 0x04, 4), 0x08100002);
	ck_assert_uint_eq(r16(m->cfg + 6), 0x0810);
	ck_assert_uint_eq(r16(m->cfg + 4), 0x0502);
	/* Bus master alone. */
	WR(f, 0x04, 1, 0x04);
	ck_assert_uint_eq(r16(m->cfg + 4), 0x0504);
	/* The device's other bits are kept whatever they are. */
	w16(m->cfg + 4, 0x0104);
	WR(f, 0x04, 2, 0);
	ck_assert_uint_eq(r16(m->cfg + 4), 0x0100);
	/* A failing read of the real command: the device is left alone. */
	m->fail_cfg_read = true;
	WR(f, 0x04, 2, 0x6);
	ck_assert_uint_eq(r16(m->cfg + 4), 0x0100);
	ck_assert_uint_eq(RD(f, 0x04, 4), 0xffff0006);
	ck_assert_uint_eq(RD(f, 0x00, 4), 0xffffffff);
	ck_assert_uint_eq(RD(f, 0x10, 4), 0xc);
	m->fail_cfg_read = false;
	vpci_func_destroy(f);
	model_free(m);
}
END_TEST

static bool mapped(const struct model *m, unsigned bar, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < m->nmaps; i++)
		if (m->maps[i].bar == bar && m->maps[i].gpa == gpa && m->maps[i].len == len)
			return true;
	return false;
}

START_TEST(map_unmap)
{
	struct model *m = model_new();
	struct vpci_func *f = func_new(m);
	int n;

	assign(f);
	/* BAR0 less the table page and the PBA page; BAR2 whole; BAR3 traps. */
	ck_assert_int_eq(m->nmaps, 4);
	ck_assert(mapped(m, 0, BAR0_GPA, 0x2000));
	ck_assert(mapped(m, 0, BAR0_GPA + 0x3000, 0x2000));
	ck_assert(mapped(m, 0, BAR0_GPA + 0x6000, 0xa000));
	ck_assert(mapped(m, 2, BAR2_GPA, 0x2000));
	/* The device decodes before the guest's accesses go straight to it. */
	ck_assert_int_eq(m->ev[0].kind, EV_CMD);
	ck_assert_uint_eq(m->ev[1].off, 0);
	ck_assert_uint_eq(m->ev[2].off, 0x3000);
	ck_assert_uint_eq(m->ev[3].off, 0x6000);

	/* Moving BAR2 while decoding: unmapped first, then mapped anew. */
	n = m->nev;
	WR(f, 0x18, 4, 0xc0100000);
	ck_assert_int_eq(m->nev, n + 2);
	ck_assert_int_eq(m->ev[n].kind, EV_UNMAP);
	ck_assert_uint_eq(m->ev[n].gpa, BAR2_GPA);
	ck_assert_int_eq(m->ev[n + 1].kind, EV_MAP);
	ck_assert_uint_eq(m->ev[n + 1].gpa, 0xc0100000);
	ck_assert(mapped(m, 2, 0xc0100000, 0x2000));
	/* Writing the same address again changes nothing. */
	WR(f, 0x18, 4, 0xc0100000);
	ck_assert_int_eq(m->nev, n + 2);

	/* Memory space off: everything unmapped, before the device stops. */
	n = m->nev;
	WR(f, 0x04, 2, 0x0004);
	ck_assert_int_eq(m->nmaps, 0);
	ck_assert_int_eq(m->ev[m->nev - 1].kind, EV_CMD);
	ck_assert_int_eq(count(m, EV_UNMAP), 5);
	/* BARs move while off: nothing happens until it is on again. */
	n = m->nev;
	WR(f, 0x18, 4, BAR2_GPA);
	ck_assert_int_eq(m->nev, n);
	WR(f, 0x04, 2, 0x0006);
	ck_assert(mapped(m, 2, BAR2_GPA, 0x2000));
	ck_assert_int_eq(m->nmaps, 4);
	ck_assert_int_eq(m->ev[n].kind, EV_CMD);

	/* A sizing write while decoding moves the mapping to the size mask. */
	WR(f, 0x18, 4, 0xffffffff);
	ck_assert(mapped(m, 2, 0xffffe000, 0x2000));
	/* A BAR at 0 is not assigned: not mapped. */
	WR(f, 0x18, 4, 0);
	ck_assert_int_eq(m->nmaps, 3);

	/* A map the owner refuses is not unmapped later. */
	m->fail_map = true;
	WR(f, 0x18, 4, BAR2_GPA);
	ck_assert_int_eq(m->nmaps, 3);
	m->fail_map = false;
	/* Its accesses come to the function and go to the device. */
	ck_assert_uint_eq(mmio_rd(f, BAR2_GPA + 0x1ffc, 4), r32(m->mem[2] + 0x1ffc));
	WR(f, 0x18, 4, 0xc0200000);
	ck_assert(mapped(m, 2, 0xc0200000, 0x2000));
	ck_assert_int_eq(m->nmaps, 4);

	/* Destroy unmaps what is mapped. */
	vpci_func_destroy(f);
	ck_assert_int_eq(m->nmaps, 0);
	model_free(m);
}
END_TEST

static const struct event *last_ev(const struct model *m)
{
	ck_assert_int_gt(m->nev, 0);
	return &m->ev[m->nev - 1];
}

static void expect_irq(const struct model *m, int at, bool msix, uint32_t index, uint64_t address,
		       uint32_t data, bool enabled)
{
	const struct event *e = &m->ev[at];

	ck_assert_int_lt(at, m->nev);
	ck_assert_int_eq(e->kind, EV_IRQ);
	ck_assert_int_eq(e->msix, msix);
	ck_assert_uint_eq(e->index, index);
	ck_assert_uint_eq(e->address, address);
	ck_assert_uint_eq(e->data, data);
	ck_assert_int_eq(e->enabled, enabled);
}

#define TABLE(i) (BAR0_GPA + TABLE_OFF + 16u * (i))

START_TEST(msix)
{
	struct model *m = model_new();
	struct vpci_func *f = func_new(m);
	int n;

	assign(f);
	n = m->nev;
	/* Entries start masked and zero; the PBA reads 0. */
	ck_assert_uint_eq(mmio_rd(f, TABLE(0) + 12, 4), 1);
	ck_assert_uint_eq(mmio_rd(f, TABLE(15), 8), 0);
	ck_assert_uint_eq(mmio_rd(f, TABLE(15) + 8, 8), 1ull << 32);
	ck_assert_uint_eq(mmio_rd(f, BAR0_GPA + PBA_OFF, 8), 0);
	/* Program entry 3 while masked and disabled: each step reported off
	 * (the owner knows the route before the guest unmasks it). */
	mmio_wr(f, TABLE(3), 4, 0xfee01000);
	mmio_wr(f, TABLE(3) + 4, 4, 0x1);
	mmio_wr(f, TABLE(3) + 8, 4, 0x41);
	ck_assert_int_eq(m->nev, n + 3);
	expect_irq(m, n + 2, true, 3, 0x1fee01000ull, 0x41, false);
	n = m->nev;
	ck_assert_uint_eq(mmio_rd(f, TABLE(3), 8), 0x1fee01000ull);
	ck_assert_uint_eq(mmio_rd(f, TABLE(3) + 8, 4), 0x41);
	ck_assert_uint_eq(mmio_rd(f, TABLE(3) + 9, 1), 0);
	ck_assert_uint_eq(mmio_rd(f, TABLE(3) + 12, 2), 1);
	/* Enable with the function masked; unmask the entry: still nothing. */
	WR(f, MSIX_CAP + 2, 2, 0xc000);
	ck_assert_uint_eq(RD(f, MSIX_CAP, 4), 0xc00f8011);
	mmio_wr(f, TABLE(3) + 12, 4, 0);
	ck_assert_int_eq(m->nev, n);
	/* Unmask the function: entry 3 goes live. */
	WR(f, MSIX_CAP + 3, 1, 0x80);
	ck_assert_int_eq(m->nev, n + 1);
	expect_irq(m, n, true, 3, 0x1fee01000ull, 0x41, true);
	/* Entry mask, unmask; a data change while live; function mask. */
	mmio_wr(f, TABLE(3) + 12, 4, 1);
	expect_irq(m, n + 1, true, 3, 0x1fee01000ull, 0x41, false);
	mmio_wr(f, TABLE(3) + 12, 4, 0xfffffffe); /* reserved bits dropped */
	ck_assert_uint_eq(mmio_rd(f, TABLE(3) + 12, 4), 0);
	expect_irq(m, n + 2, true, 3, 0x1fee01000ull, 0x41, true);
	mmio_wr(f, TABLE(3) + 8, 8, 0x42); /* data and vector control in one */
	expect_irq(m, n + 3, true, 3, 0x1fee01000ull, 0x42, true);
	mmio_wr(f, TABLE(3) + 8, 2, 0x42); /* the same: nothing */
	ck_assert_int_eq(m->nev, n + 4);
	mmio_wr(f, TABLE(3), 8, 0xfee02000ull);
	expect_irq(m, n + 4, true, 3, 0xfee02000ull, 0x42, true);
	WR(f, MSIX_CAP + 2, 2, 0xc000);
	expect_irq(m, n + 5, true, 3, 0xfee02000ull, 0x42, false);
	WR(f, MSIX_CAP + 2, 2, 0x8000);
	expect_irq(m, n + 6, true, 3, 0xfee02000ull, 0x42, true);
	/* A second entry, then the capability off: both reported off, in order. */
	mmio_wr(f, TABLE(7), 4, 0xfee03000);
	mmio_wr(f, TABLE(7) + 8, 4, 0x51);
	mmio_wr(f, TABLE(7) + 12, 4, 0);
	expect_irq(m, n + 8, true, 7, 0xfee03000ull, 0x51, false); /* programmed, masked */
	expect_irq(m, n + 9, true, 7, 0xfee03000ull, 0x51, true);
	WR(f, MSIX_CAP, 4, 0x00000000);
	ck_assert_int_eq(m->nev, n + 12);
	expect_irq(m, n + 10, true, 3, 0xfee02000ull, 0x42, false);
	expect_irq(m, n + 11, true, 7, 0xfee03000ull, 0x51, false);
	ck_assert_uint_eq(RD(f, MSIX_CAP + 2, 2), 0x000f);
	/* Table size, table and PBA registers are the device's, read-only. */
	WR(f, MSIX_CAP + 4, 4, 0x1234);
	WR(f, MSIX_CAP + 2, 2, 0x07f0);
	ck_assert_uint_eq(RD(f, MSIX_CAP + 4, 4), TABLE_OFF);
	ck_assert_uint_eq(RD(f, MSIX_CAP + 2, 2), 0x000f);
	/* PBA writes are dropped. */
	mmio_wr(f, BAR0_GPA + PBA_OFF, 8, ~0ull);
	ck_assert_uint_eq(mmio_rd(f, BAR0_GPA + PBA_OFF, 8), 0);
	/* The device's capability was never written. */
	ck_assert_uint_eq(r16(m->cfg + MSIX_CAP + 2), 0x800f);
	ck_assert_int_eq(m->bar_writes, 0);

	/* Destroy with entry 3 live reports it off. */
	WR(f, MSIX_CAP + 2, 2, 0x8000);
	ck_assert_int_eq(m->nev, n + 14);
	n = m->nev;
	vpci_func_destroy(f);
	/* The four unmaps, then the two live entries off. */
	ck_assert_int_eq(m->nev, n + 6);
	ck_assert_int_eq(m->nmaps, 0);
	expect_irq(m, n + 4, true, 3, 0xfee02000ull, 0x42, false);
	expect_irq(m, n + 5, true, 7, 0xfee03000ull, 0x51, false);
	ck_assert_int_eq(last_ev(m)->kind, EV_IRQ);
	model_free(m);
}
END_TEST

START_TEST(msi)
{
	struct model *m = model_new();
	struct vpci_func *f = func_new(m);
	int n = m->nev;

	ck_assert_uint_eq(RD(f, MSI_CAP + 2, 2), 0x0186);
	WR(f, MSI_CAP + 4, 4, 0xfee0100f); /* low two bits reserved */
	WR(f, MSI_CAP + 8, 4, 0x2);
	WR(f, MSI_CAP + 12, 2, 0x4047);
	ck_assert_uint_eq(RD(f, MSI_CAP + 4, 4), 0xfee0100c);
	ck_assert_uint_eq(RD(f, MSI_CAP + 8, 4), 0x2);
	ck_assert_uint_eq(RD(f, MSI_CAP + 12, 4), 0x4047);
	/* Disabled, vector 0 of the block: its address and data steps reported off. */
	ck_assert_int_eq(m->nev, n + 3);
	expect_irq(m, n + 2, false, 0, 0x2fee0100cull, 0x4047, false);
	n = m->nev;
	/* Enable four vectors: data's low two bits are the index. */
	WR(f, MSI_CAP + 2, 2, 0x0021);
	ck_assert_uint_eq(RD(f, MSI_CAP + 2, 2), 0x01a7);
	ck_assert_int_eq(m->nev, n + 4);
	for (uint32_t i = 0; i < 4; i++)
		expect_irq(m, n + (int)i, false, i, 0x2fee0100cull, 0x4044 | i, true);
	/* Per-vector mask. */
	WR(f, MSI_CAP + 16, 4, 0x2);
	ck_assert_int_eq(m->nev, n + 5);
	expect_irq(m, n + 4, false, 1, 0x2fee0100cull, 0x4045, false);
	/* Mask bits past the capable count are not kept. */
	WR(f, MSI_CAP + 16, 4, 0xffffff02);
	ck_assert_uint_eq(RD(f, MSI_CAP + 16, 4), 0x02);
	ck_assert_int_eq(m->nev, n + 5);
	WR(f, MSI_CAP + 16, 4, 0);
	expect_irq(m, n + 5, false, 1, 0x2fee0100cull, 0x4045, true);
	/* More than capable: clamped to 8. */
	WR(f, MSI_CAP + 2, 1, 0x71);
	ck_assert_uint_eq(RD(f, MSI_CAP + 2, 2), 0x01b7);
	ck_assert_int_eq(m->nev, n + 14);
	for (uint32_t i = 0; i < 4; i++)
		expect_irq(m, n + 6 + (int)i, false, i, 0x2fee0100cull, 0x4040 | i, true);
	for (uint32_t i = 4; i < 8; i++)
		expect_irq(m, n + 6 + (int)i, false, i, 0x2fee0100cull, 0x4040 | i, true);
	/* Pending bits read 0 and cannot be written. */
	WR(f, MSI_CAP + 20, 4, 0xff);
	ck_assert_uint_eq(RD(f, MSI_CAP + 20, 4), 0);
	/* Off: all eight reported off. */
	WR(f, MSI_CAP + 2, 2, 0x0070);
	ck_assert_int_eq(m->nev, n + 22);
	for (uint32_t i = 0; i < 8; i++)
		expect_irq(m, n + 14 + (int)i, false, i, 0x2fee0100cull, 0x4040 | i, false);
	/* The device's capability was never written. */
	ck_assert_uint_eq(r16(m->cfg + MSI_CAP + 2), 0x0187);
	ck_assert_uint_eq(r32(m->cfg + MSI_CAP + 4), 0xfee0100c);
	ck_assert_int_eq(m->cfg_writes, 0);
	vpci_func_destroy(f);
	ck_assert_int_eq(m->nev, n + 22);

	/* A 32-bit MSI without per-vector masking: data at +8, nothing after. */
	w16(m->cfg + MSI_CAP + 2, 0x0000);
	f = func_new(m);
	n = m->nev;
	WR(f, MSI_CAP + 4, 4, 0xfee00000);
	WR(f, MSI_CAP + 8, 4, 0xffff4051);
	ck_assert_uint_eq(RD(f, MSI_CAP + 8, 4), 0x4051);
	ck_assert_uint_eq(RD(f, MSI_CAP + 12, 4), r32(m->cfg + MSI_CAP + 12));
	WR(f, MSI_CAP + 2, 2, 0x0071);
	ck_assert_uint_eq(RD(f, MSI_CAP + 2, 2), 0x0001);
	ck_assert_int_eq(m->nev, n + 3); /* address and data while off, then on */
	expect_irq(m, n + 2, false, 0, 0xfee00000u, 0x4051, true);
	vpci_func_destroy(f);
	ck_assert_int_eq(m->nev, n + 4);
	expect_irq(m, n + 3, false, 0, 0xfee00000u, 0x4051, false);
	model_free(m);
}
END_TEST

/* What a report carries: every change, also while disabled (the owner must
 * know a masked entry's route before it is unmasked). */
START_TEST(irq_reports)
{
	struct model *m = model_new();
	struct vpci_func *f = func_new(m);
	int n;

	assign(f);
	mmio_wr(f, TABLE(1), 8, 0xfee05000ull);
	mmio_wr(f, TABLE(1) + 8, 8, 0x71);
	WR(f, MSIX_CAP + 2, 2, 0x8000);
	n = m->nev;
	expect_irq(m, n - 1, true, 1, 0xfee05000ull, 0x71, true);
	/* Masked, reprogrammed, unmasked: off, then on at the new route. */
	mmio_wr(f, TABLE(1) + 12, 4, 1);
	mmio_wr(f, TABLE(1), 4, 0xfee06000);
	mmio_wr(f, TABLE(1) + 8, 4, 0x72);
	ck_assert_int_eq(m->nev, n + 3);
	expect_irq(m, n, true, 1, 0xfee05000ull, 0x71, false);
	expect_irq(m, n + 2, true, 1, 0xfee06000ull, 0x72, false);
	mmio_wr(f, TABLE(1) + 12, 4, 0);
	ck_assert_int_eq(m->nev, n + 4);
	expect_irq(m, n + 3, true, 1, 0xfee06000ull, 0x72, true);
	/* Reprogrammed while on: the owner sees each step, all enabled. */
	mmio_wr(f, TABLE(1) + 4, 4, 0x3);
	expect_irq(m, n + 4, true, 1, 0x3fee06000ull, 0x72, true);
	/* Turned off by the capability: the last route, off. */
	WR(f, MSIX_CAP + 2, 2, 0x0000);
	expect_irq(m, n + 5, true, 1, 0x3fee06000ull, 0x72, false);
	ck_assert_int_eq(m->nev, n + 6);
	n = m->nev;

	/* MSI: eight vectors, then one; the seven dropped go off as they were.
	 * While off, vector 0's address and data steps are reported off. */
	WR(f, MSI_CAP + 4, 4, 0xfee07000);
	WR(f, MSI_CAP + 12, 2, 0x5008);
	WR(f, MSI_CAP + 2, 2, 0x0031);
	ck_assert_int_eq(m->nev, n + 10);
	WR(f, MSI_CAP + 12, 2, 0x5010);
	ck_assert_int_eq(m->nev, n + 18);
	n = m->nev;
	WR(f, MSI_CAP + 2, 2, 0x0001);
	ck_assert_int_eq(m->nev, n + 7);
	for (uint32_t i = 1; i < 8; i++)
		expect_irq(m, n + (int)i - 1, false, i, 0xfee07000u, 0x5010 | i, false);
	/* The data's low bits are the index: 0x5017 with one vector is 0x5017. */
	WR(f, MSI_CAP + 12, 2, 0x5017);
	expect_irq(m, n + 7, false, 0, 0xfee07000u, 0x5017, true);
	vpci_func_destroy(f);
	expect_irq(m, m->nev - 1, false, 0, 0xfee07000u, 0x5017, false);
	model_free(m);
}
END_TEST

START_TEST(trapped_pass_through)
{
	struct model *m = model_new();
	struct vpci_func *f = func_new(m);
	uint64_t v;

	/* Not decoding: nothing is the function's. */
	ck_assert(!vpci_func_mmio(f, TABLE(0), false, 4, &v));
	assign(f);
	/* The rest of the table's page and the PBA's page go to the device. */
	ck_assert_uint_eq(mmio_rd(f, BAR0_GPA + 0x2100, 4), r32(m->mem[0] + 0x2100));
	ck_assert_uint_eq(mmio_rd(f, BAR0_GPA + 0x2ff8, 8), r64(m->mem[0] + 0x2ff8));
	ck_assert_uint_eq(mmio_rd(f, BAR0_GPA + 0x5010, 2), r16(m->mem[0] + 0x5010));
	mmio_wr(f, BAR0_GPA + 0x2104, 4, 0xdeadbeef);
	ck_assert_uint_eq(r32(m->mem[0] + 0x2104), 0xdeadbeef);
	mmio_wr(f, BAR0_GPA + 0x2101, 1, 0x1ff); /* only the byte */
	ck_assert_uint_eq(m->mem[0][0x2101], 0xff);
	ck_assert_uint_eq(m->mem[0][0x2102], (uint8_t)(0x2102 * 7));
	/* The small BAR traps whole. */
	ck_assert_uint_eq(mmio_rd(f, BAR3_GPA + 0x10, 4), r32(m->mem[3] + 0x10));
	mmio_wr(f, BAR3_GPA + 0xfc, 4, 0x01020304);
	ck_assert_uint_eq(r32(m->mem[3] + 0xfc), 0x01020304);
	/* Past the small BAR, the mapped parts, other addresses: not ours. */
	ck_assert(!vpci_func_mmio(f, BAR3_GPA + 0x100, false, 4, &v));
	ck_assert(!vpci_func_mmio(f, BAR0_GPA + 0x1000, false, 4, &v));
	ck_assert(!vpci_func_mmio(f, BAR0_GPA + 0x3000, false, 4, &v));
	ck_assert(!vpci_func_mmio(f, BAR2_GPA, false, 4, &v));
	ck_assert(!vpci_func_mmio(f, 0, false, 4, &v));
	/* A failing device read gives all ones. */
	m->fail_bar = true;
	ck_assert_uint_eq(mmio_rd(f, BAR0_GPA + 0x2100, 4), 0xffffffffu);
	ck_assert_uint_eq(mmio_rd(f, BAR0_GPA + 0x2100, 8), ~0ull);
	m->fail_bar = false;
	vpci_func_destroy(f);
	model_free(m);
}
END_TEST

START_TEST(reset)
{
	struct model *m = model_new();
	struct vpci_func *f = func_new(m);
	int n;

	assign(f);
	mmio_wr(f, TABLE(2), 8, 0xfee04000ull);
	mmio_wr(f, TABLE(2) + 8, 8, 0x61);
	WR(f, MSIX_CAP + 2, 2, 0x8000);
	WR(f, MSI_CAP + 2, 2, 0x0001);
	n = m->nev;
	ck_assert_int_eq(m->nmaps, 4);
	ck_assert_uint_eq(r16(m->cfg + 4) & 6, 6);
	vpci_func_reset(f);
	ck_assert_int_eq(m->nmaps, 0);
	ck_assert_uint_eq(r16(m->cfg + 4), 0x0500);
	ck_assert_int_eq(m->nev, n + 4 + 2 + 2); /* + entry 2 cleared while off */
	expect_irq(m, n + 4, false, 0, 0, 0, false);
	expect_irq(m, n + 5, true, 2, 0xfee04000ull, 0x61, false);
	ck_assert_uint_eq(RD(f, 0x04, 2), 0);
	ck_assert_uint_eq(RD(f, 0x10, 4), 0xc);
	ck_assert_uint_eq(RD(f, 0x14, 4), 0);
	ck_assert_uint_eq(RD(f, 0x18, 4), 0);
	ck_assert_uint_eq(RD(f, MSIX_CAP + 2, 2), 0x000f);
	ck_assert_uint_eq(RD(f, MSI_CAP + 2, 2), 0x0186);
	/* After reset, the table is masked and zero again. */
	assign(f);
	ck_assert_uint_eq(mmio_rd(f, TABLE(2), 8), 0);
	ck_assert_uint_eq(mmio_rd(f, TABLE(2) + 8, 8), 1ull << 32);
	/* A reset with the device already quiet does not write it. */
	WR(f, 0x04, 2, 0);
	n = m->cfg_writes;
	vpci_func_reset(f);
	ck_assert_int_eq(m->cfg_writes, n);
	vpci_func_destroy(f);
	model_free(m);
}
END_TEST

START_TEST(create_checks)
{
	struct model *m = model_new();
	struct vpci_func *f = (struct vpci_func *)1;
	struct vpci_func_ops bad = ops;

	/* Not type 0. */
	m->cfg[0x0e] = 0x81;
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	ck_assert_ptr_null(f);
	m->cfg[0x0e] = 0x00;
	/* A capability list that loops, or points into the header. */
	m->cfg[0x81] = 0x50;
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	m->cfg[0x81] = 0x3c;
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	m->cfg[0x81] = 0;
	/* A capability inside MSI's bytes. */
	m->cfg[MSI_CAP + 1] = MSI_CAP + 8;
	m->cfg[MSI_CAP + 8] = 0x09;
	m->cfg[MSI_CAP + 9] = MSIX_CAP;
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	m->cfg[MSI_CAP + 1] = MSIX_CAP;
	/* MSI-X table past its BAR, in an empty BAR, in an upper half. */
	w32(m->cfg + MSIX_CAP + 4, 0xff08);
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	w32(m->cfg + MSIX_CAP + 4, TABLE_OFF | 4);
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	w32(m->cfg + MSIX_CAP + 4, TABLE_OFF | 1);
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	w32(m->cfg + MSIX_CAP + 4, TABLE_OFF | 7);
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	/* Table and PBA overlapping. */
	w32(m->cfg + MSIX_CAP + 4, TABLE_OFF);
	w32(m->cfg + MSIX_CAP + 8, TABLE_OFF + 0xf8);
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	w32(m->cfg + MSIX_CAP + 8, PBA_OFF);
	/* BARs: 64-bit in the last slot, bad sizes, unknown flags. */
	m->bars[5] = (struct vpci_bar){.size = 0x1000, .flags = VPCI_BAR_MEM64};
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	m->bars[5] = (struct vpci_bar){.size = 0x1800};
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	m->bars[5] = (struct vpci_bar){.size = 8};
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	m->bars[5] = (struct vpci_bar){.size = 0x1000, .flags = 1};
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	m->bars[5] = (struct vpci_bar){.size = 1ull << 32};
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	m->bars[5] = (struct vpci_bar){.size = 0, .flags = VPCI_BAR_PREFETCH};
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	m->bars[5] = (struct vpci_bar){0};
	m->bars[1] = (struct vpci_bar){.size = 0x1000};
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EINVAL);
	m->bars[1] = (struct vpci_bar){0};
	/* A device that cannot be read; missing ops. */
	m->fail_cfg_read = true;
	ck_assert_int_eq(vpci_func_create(m->bars, &ops, m, &f), -EIO);
	m->fail_cfg_read = false;
	bad.map = NULL;
	ck_assert_int_eq(vpci_func_create(m->bars, &bad, m, &f), -EINVAL);
	/* No capability list: fine, no MSI, no MSI-X, nothing traps in BAR0. */
	w16(m->cfg + 6, 0);
	f = func_new(m);
	assign(f);
	ck_assert_int_eq(m->nmaps, 2);
	ck_assert(mapped(m, 0, BAR0_GPA, 0x10000));
	WR(f, MSIX_CAP + 2, 2, 0x8000);
	ck_assert_uint_eq(RD(f, MSIX_CAP + 2, 2), 0x800f);
	ck_assert_int_eq(count(m, EV_IRQ), 0);
	vpci_func_destroy(f);
	vpci_func_destroy(NULL);
	model_free(m);
}
END_TEST

START_TEST(hostile)
{
	struct model *m = model_new();
	struct vpci_func *f = func_new(m);
	uint8_t before[VPCI_CFG_SIZE];
	uint64_t v;
	int n;

	/* Out of range, misaligned, odd sizes: all ones, writes dropped. */
	ck_assert_uint_eq(RD(f, 4096, 1), 0xffffffffu);
	ck_assert_uint_eq(RD(f, 4094, 4), 0xffffffffu);
	ck_assert_uint_eq(RD(f, 0xfffffffc, 4), 0xffffffffu);
	ck_assert_uint_eq(RD(f, 0x11, 2), 0xffffffffu);
	ck_assert_uint_eq(RD(f, 0x12, 4), 0xffffffffu);
	ck_assert_uint_eq(RD(f, 0x10, 3), 0xffffffffu);
	ck_assert_uint_eq(RD(f, 0x10, 0), 0xffffffffu);
	ck_assert_uint_eq(RD(f, 0x10, 8), 0xffffffffu);
	ck_assert_uint_eq(RD(f, 4095, 1), 0);
	WR(f, 0x11, 2, 0xffff);
	WR(f, 0x10, 8, 0xffffffff);
	WR(f, 0x03, 2, 0xffff);
	WR(f, 0xfffffffe, 2, 0xffff);
	ck_assert_uint_eq(RD(f, 0x10, 4), 0xc);
	ck_assert_uint_eq(RD(f, 0x04, 2), 0);

	/* Every offset and size, read and written with all ones and zeros:
	 * the model checks every call it gets. */
	memcpy(before, m->cfg, sizeof(before));
	for (uint32_t off = 0; off < VPCI_CFG_SIZE + 8; off++) {
		for (uint32_t size = 0; size <= 8; size++) {
			(void)RD(f, off, size);
			if (off == 4 || off == 5)
				continue;
			WR(f, off, size, 0xffffffff);
			(void)RD(f, off, size);
			WR(f, off, size, 0);
		}
	}
	ck_assert_int_eq(memcmp(before, m->cfg, sizeof(before)), 0);

	/* BAR0 on top of BAR2: its first piece waits while BAR2 is there,
	 * and is mapped once BAR2 moves away. */
	assign(f);
	WR(f, 0x10, 4, BAR2_GPA);
	WR(f, 0x14, 4, 0);
	ck_assert_int_eq(m->nmaps, 3);
	ck_assert(mapped(m, 2, BAR2_GPA, 0x2000));
	ck_assert(!mapped(m, 0, BAR2_GPA, 0x2000));
	ck_assert(mapped(m, 0, BAR2_GPA + 0x3000, 0x2000));
	WR(f, 0x18, 4, 0xc0100000);
	ck_assert(mapped(m, 0, BAR2_GPA, 0x2000));
	ck_assert(mapped(m, 2, 0xc0100000, 0x2000));
	ck_assert_int_eq(m->nmaps, 4);
	/* BAR2 into the middle of BAR0: waits again. */
	WR(f, 0x18, 4, BAR2_GPA + 0x8000);
	ck_assert_int_eq(m->nmaps, 3);
	WR(f, 0x04, 2, 0);
	ck_assert_int_eq(m->nmaps, 0);
	/* With memory back on, the lower BAR number wins the range. */
	WR(f, 0x04, 2, 6);
	ck_assert_int_eq(m->nmaps, 3);
	ck_assert(mapped(m, 0, BAR2_GPA + 0x6000, 0xa000));
	/* BAR2, waiting under BAR0's mapping: an exit there is BAR2's. */
	ck_assert_uint_eq(mmio_rd(f, BAR2_GPA + 0x8010, 4), r32(m->mem[2] + 0x10));
	ck_assert(!vpci_func_mmio(f, BAR2_GPA + 0x6000, false, 4, &v));

	/* BARs on top of each other, at absurd addresses, while decoding. */
	assign(f);
	WR(f, 0x10, 4, BAR2_GPA);
	WR(f, 0x14, 4, 0);
	WR(f, 0x1c, 4, BAR2_GPA + 0x80);
	ck_assert_uint_eq(RD(f, 0x1c, 4), BAR2_GPA);
	ck_assert_uint_eq(mmio_rd(f, BAR2_GPA + TABLE_OFF + 12, 4), 1);
	WR(f, 0x10, 4, 0xfffff000);
	WR(f, 0x14, 4, 0xffffffff);
	for (int i = 0; i < m->nmaps; i++)
		ck_assert_uint_eq(m->maps[i].gpa % 4096, 0);

	/* The trapped pages: odd sizes, misaligned, across the table's end. */
	assign(f);
	n = m->nev;
	v = 0x1234;
	mmio_wr(f, TABLE(0), 3, 0);
	mmio_wr(f, TABLE(0), 16, 0);
	mmio_wr(f, TABLE(0), 0, 0);
	mmio_wr(f, TABLE(0) + 2, 4, 0);
	mmio_wr(f, TABLE(0) + 12, 8, 0);
	mmio_wr(f, TABLE(16) - 4, 8, 0);
	ck_assert_uint_eq(mmio_rd(f, TABLE(0) + 12, 4), 1);
	ck_assert_uint_eq(mmio_rd(f, TABLE(0), 3), 0xffffff);
	ck_assert_uint_eq(mmio_rd(f, TABLE(0) + 2, 4), 0xffffffffu);
	ck_assert_uint_eq(mmio_rd(f, TABLE(0), 16), ~0ull);
	ck_assert_uint_eq(mmio_rd(f, TABLE(16) - 4, 8), ~0ull);
	/* Beyond the end of the table, still in its page: the device's. */
	ck_assert_uint_eq(mmio_rd(f, TABLE(16), 4), r32(m->mem[0] + TABLE_OFF + 256));
	/* The small BAR: across its end. */
	ck_assert_uint_eq(mmio_rd(f, BAR3_GPA + 0xfc, 8), ~0ull);
	mmio_wr(f, BAR3_GPA + 0xfe, 4, 0);
	ck_assert_int_eq(m->nev, n);
	(void)v;
	vpci_func_destroy(f);
	ck_assert_int_eq(m->nmaps, 0);
	model_free(m);
}
END_TEST

TEST_MAIN("vpci-func", ids_pass_through, bar_sizing, command, map_unmap, msix, msi, irq_reports,
	  trapped_pass_through, reset, create_checks, hostile)

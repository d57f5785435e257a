// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: vpci_func, the guest's view of an assigned function, on a
 * model device. The input first reshapes the device (its BARs and bytes of
 * its config header and capabilities), then drives a sequence of the guest's
 * config reads and writes, MMIO accesses (relative to the BARs as the guest
 * placed them, or anywhere), resets and failing ops.
 *
 * The model aborts on any breach of the ops contract: config accesses out of
 * range or misaligned, a config write other than the command register, BAR
 * accesses outside the BAR, maps not page-aligned or outside the BAR, an
 * unmap of something not mapped, an irq_update that changes nothing; and at
 * the end (after destroy) anything still mapped or enabled.
 *
 * Input: [bar byte x6][patch count][(offset, value) x count][ops...]
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vpci_func.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MAPS 24
#define MAX_IRQ 2048

struct model {
	uint8_t cfg[VPCI_CFG_SIZE];
	struct vpci_bar bars[VPCI_NUM_BARS];
	bool fail_cfg, fail_map, fail_bar;
	struct {
		unsigned bar;
		uint64_t gpa, len;
	} maps[MAX_MAPS];
	int nmaps;
	struct {
		uint64_t address;
		uint32_t data;
		bool enabled;
	} irq[2][MAX_IRQ];
	int enabled;
	bool cap_on[2]; /* what irq_enable said, per capability (MSI, MSI-X) */
};

#include <stdio.h>

/* Abort, naming the broken rule's line. */
#define check(ok) check_at(ok, __LINE__)

static void check_at(bool ok, int line)
{
	if (!ok) {
		fprintf(stderr, "fuzz_vpci_func.c:%d: model check failed\n", line);
		abort();
	}
}

static uint32_t rd_le(const uint8_t *p, uint32_t n)
{
	uint32_t v = 0;

	for (uint32_t j = 0; j < n; j++)
		v |= (uint32_t)p[j] << (8 * j);
	return v;
}

static int m_cfg_read(void *ctx, uint32_t off, uint32_t size, uint32_t *val)
{
	struct model *m = ctx;

	check(size == 1 || size == 2 || size == 4);
	check(off < VPCI_CFG_SIZE && off + size <= VPCI_CFG_SIZE && off % size == 0);
	if (m->fail_cfg)
		return -EIO;
	*val = rd_le(m->cfg + off, size);
	return 0;
}

static int m_cfg_write(void *ctx, uint32_t off, uint32_t size, uint32_t val)
{
	struct model *m = ctx;

	check(off == 4 && size == 2 && val <= 0xffff);
	m->cfg[4] = (uint8_t)val;
	m->cfg[5] = (uint8_t)(val >> 8);
	return 0;
}

static int m_bar_rw(void *ctx, unsigned bar, uint64_t off, uint32_t size)
{
	struct model *m = ctx;

	check(bar < VPCI_NUM_BARS && size >= 1 && size <= 8);
	check(off < m->bars[bar].size && size <= m->bars[bar].size - off);
	return m->fail_bar ? -EIO : 0;
}

static int m_bar_read(void *ctx, unsigned bar, uint64_t off, uint32_t size, uint64_t *val)
{
	int rc = m_bar_rw(ctx, bar, off, size);

	if (!rc)
		*val = off * 0x0101010101010101ull;
	return rc;
}

static int m_bar_write(void *ctx, unsigned bar, uint64_t off, uint32_t size, uint64_t val)
{
	check(size == 8 || val >> (8 * size) == 0);
	return m_bar_rw(ctx, bar, off, size);
}

static int m_map(void *ctx, unsigned bar, uint64_t off, uint64_t gpa, uint64_t len)
{
	struct model *m = ctx;

	if (getenv("FUZZ_VPCI_FUNC_TRACE"))
		fprintf(stderr, "map bar %u off %llx gpa %llx len %llx\n", bar,
			(unsigned long long)off, (unsigned long long)gpa, (unsigned long long)len);

	check(bar < VPCI_NUM_BARS);
	check(!(off % 4096) && !(gpa % 4096) && len && !(len % 4096));
	check(off < m->bars[bar].size && len <= m->bars[bar].size - off);
	check(gpa + len - 1 >= gpa);
	/* The guest's BAR is aligned to its size, so each piece is too. */
	check(((gpa - off) & (m->bars[bar].size - 1)) == 0);
	if (m->fail_map || m->nmaps == MAX_MAPS)
		return -ENOSPC;
	/* Never a map over what the function has mapped, even with the
	 * guest's BARs on top of each other (ends may be 2^64). */
	for (int i = 0; i < m->nmaps; i++)
		check(m->maps[i].gpa + (m->maps[i].len - 1) < gpa ||
		      gpa + (len - 1) < m->maps[i].gpa);
	m->maps[m->nmaps].bar = bar;
	m->maps[m->nmaps].gpa = gpa;
	m->maps[m->nmaps].len = len;
	m->nmaps++;
	return 0;
}

static void m_unmap(void *ctx, uint64_t gpa, uint64_t len)
{
	struct model *m = ctx;

	if (getenv("FUZZ_VPCI_FUNC_TRACE"))
		fprintf(stderr, "unmap gpa %llx len %llx\n", (unsigned long long)gpa,
			(unsigned long long)len);
	for (int i = 0; i < m->nmaps; i++) {
		if (m->maps[i].gpa == gpa && m->maps[i].len == len) {
			m->maps[i] = m->maps[--m->nmaps];
			return;
		}
	}
	abort();
}

static void m_irq(void *ctx, bool msix, uint32_t index, uint64_t address, uint32_t data,
		  bool enabled)
{
	struct model *m = ctx;
	uint32_t limit = msix ? MAX_IRQ : 32;

	check(index < limit);
	/* Each report changes something the owner acts on. */
	check(enabled != m->irq[msix][index].enabled || address != m->irq[msix][index].address ||
	      data != m->irq[msix][index].data);
	if (enabled != m->irq[msix][index].enabled)
		m->enabled += enabled ? 1 : -1;
	m->irq[msix][index].address = address;
	m->irq[msix][index].data = data;
	m->irq[msix][index].enabled = enabled;
}

/* A capability is only turned on when off and off when on. */
static void m_irq_enable(void *ctx, bool msix, bool on)
{
	struct model *m = ctx;

	check(m->cap_on[msix] != on);
	m->cap_on[msix] = on;
}

static const struct vpci_func_ops ops = {
    .cfg_read = m_cfg_read,
    .cfg_write = m_cfg_write,
    .bar_read = m_bar_read,
    .bar_write = m_bar_write,
    .map = m_map,
    .unmap = m_unmap,
    .irq_update = m_irq,
    .irq_enable = m_irq_enable,
};

/* The test's device: PM at 0x40, MSI at 0x50, MSI-X at 0x70 (table BAR0
 * 0x2000, PBA BAR0 0x5000), PCIe at 0x80; 64 KiB 64-bit BAR0, 8 KiB BAR2,
 * 256-byte BAR3. */
static void model_init(struct model *m)
{
	static const uint8_t hdr[] = {
	    [0x00] = 0x86, 0x80,	  0x72, 0x15,	       0x06,
	    0x05,	   0x10,	  0x08, [0x0b] = 0x02, [0x0e] = 0x80,
	    [0x34] = 0x40, [0x40] = 0x01, 0x50, 0x03,	       0x00,
	    [0x50] = 0x05, 0x70,	  0x87, 0x01,	       [0x70] = 0x11,
	    0x80,	   0x0f,	  0x80, 0x00,	       0x20,
	    0x00,	   0x00,	  0x00, 0x50,	       0x00,
	    0x00,	   [0x80] = 0x10, 0x00, 0x02,	       0x00,
	};

	memset(m, 0, sizeof(*m));
	memcpy(m->cfg, hdr, sizeof(hdr));
	m->bars[0] =
	    (struct vpci_bar){.size = 0x10000, .flags = VPCI_BAR_MEM64 | VPCI_BAR_PREFETCH};
	m->bars[2] = (struct vpci_bar){.size = 0x2000};
	m->bars[3] = (struct vpci_bar){.size = 0x100};
}

struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct input *in, unsigned n)
{
	uint64_t v = 0;

	for (unsigned j = 0; j < n && in->left; j++, in->p++, in->left--)
		v |= (uint64_t)*in->p << (8 * j);
	return v;
}

/* The guest's address of BAR i, as it reads it back. */
static uint64_t bar_addr(struct vpci_func *f, unsigned i)
{
	uint32_t lo = vpci_func_cfg_read(f, 0x10 + 4 * i, 4);
	uint64_t a = lo & ~0xfu;

	if ((lo & 0x6) == 0x4 && i + 1 < VPCI_NUM_BARS)
		a |= (uint64_t)vpci_func_cfg_read(f, 0x14 + 4 * i, 4) << 32;
	return a;
}

static void run_ops(struct model *m, struct vpci_func *f, struct input *in)
{
	static const uint32_t sizes[] = {1, 2, 4, 8, 0, 3, 16, 4};
	static const uint32_t hot[] = {0x04, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24,
				       0x52, 0x54, 0x58, 0x5c, 0x60, 0x72};

	while (in->left) {
		uint8_t op = (uint8_t)take(in, 1);
		uint32_t off, sz = sizes[(op >> 4) & 7];
		uint64_t gpa, val;
		unsigned bar;

		switch (op & 0xf) {
		case 0:
			off = (uint32_t)take(in, 2) & 0x1fff;
			(void)vpci_func_cfg_read(f, off, sz);
			break;
		case 1:
			off = (uint32_t)take(in, 2) & 0x1fff;
			vpci_func_cfg_write(f, off, sz, (uint32_t)take(in, 4));
			break;
		case 2: /* a config write where it matters */
			off = hot[take(in, 1) % (sizeof(hot) / sizeof(hot[0]))];
			vpci_func_cfg_write(f, off + (op >> 7) * 2, (op & 0x80) ? 2 : 4,
					    (uint32_t)take(in, 4));
			break;
		case 3:
		case 4:
			bar = (unsigned)take(in, 1) % VPCI_NUM_BARS;
			gpa = bar_addr(f, bar) + (take(in, 3) & 0xffff8);
			gpa += take(in, 1) & 7;
			val = take(in, 8);
			(void)vpci_func_mmio(f, gpa, (op & 0xf) == 4, sz, &val);
			break;
		case 5: /* an MSI-X table entry */
			gpa = bar_addr(f, 0) + 0x2000 + (take(in, 1) & 0xff) * 4;
			val = take(in, 4);
			(void)vpci_func_mmio(f, gpa, op & 0x80, op & 0x40 ? 8 : 4, &val);
			break;
		case 6:
			gpa = take(in, 8);
			val = 0;
			(void)vpci_func_mmio(f, gpa, op & 0x80, sz, &val);
			break;
		case 7:
			vpci_func_reset(f);
			check(m->nmaps == 0 && m->enabled == 0 && !m->cap_on[0] && !m->cap_on[1]);
			break;
		case 8:
			m->fail_cfg = op & 0x10;
			m->fail_map = op & 0x20;
			m->fail_bar = op & 0x40;
			break;
		case 9: /* memory space and bus master on */
			vpci_func_cfg_write(f, 4, 2, 6);
			break;
		default:
			(void)vpci_func_cfg_read(f, (uint32_t)take(in, 2), sz);
			break;
		}
		check(m->enabled >= 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct input in = {data, size};
	struct vpci_func *f;
	unsigned npatch;

	model_init(&m);
	/* BARs: 0 keeps the model's; otherwise log2 size 4-35 and flags. */
	for (unsigned i = 0; i < VPCI_NUM_BARS; i++) {
		uint8_t b = (uint8_t)take(&in, 1);

		if (b == 0xff)
			m.bars[i] = (struct vpci_bar){0};
		else if (b)
			m.bars[i] = (struct vpci_bar){.size = 1ull << (4 + (b & 0x1f)),
						      .flags = ((b >> 5) & 3u) << 2};
	}
	npatch = (unsigned)take(&in, 1) & 15;
	for (unsigned k = 0; k < npatch; k++) {
		uint8_t at = (uint8_t)take(&in, 1);

		m.cfg[at] = (uint8_t)take(&in, 1);
	}
	if (vpci_func_create(m.bars, &ops, &m, &f) != 0)
		return 0;
	run_ops(&m, f, &in);
	vpci_func_destroy(f);
	check(m.nmaps == 0 && m.enabled == 0 && !m.cap_on[0] && !m.cap_on[1]);
	return 0;
}

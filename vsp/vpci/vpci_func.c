// SPDX-License-Identifier: MIT
/*
 * The guest's view of one assigned PCI function (see vpci_func.h).
 *
 * Config space is handled a dword at a time: for the dword an access falls
 * in, virt_dword() gives the guest's value of the bytes that are virtual (and
 * which bytes those are); the rest come from the device. A write merges the
 * guest's bytes into the virtual dword and then decodes that dword back into
 * state, so byte, word and dword writes, and writes that straddle virtual and
 * pass-through bytes, all go one way. Pass-through bytes are never written.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vpci_func.h"

#define PAGE_SIZE_4K 4096u

/* Type 0 header offsets and bits. */
#define CFG_COMMAND 0x04u
#define CFG_STATUS 0x06u
#define CFG_BAR0 0x10u
#define CFG_BAR_END 0x28u
#define CFG_CAP_PTR 0x34u
#define CFG_ROM 0x30u
#define CFG_INT_LINE 0x3cu
#define CFG_HEADER_TYPE 0x0eu
#define CFG_HEADER_END 0x40u
#define CFG_STD_END 0x100u

#define CMD_IO 0x0001u
#define CMD_MEM 0x0002u
#define CMD_MASTER 0x0004u
#define CMD_PARITY 0x0040u
#define CMD_SERR 0x0100u
#define CMD_INTX_DISABLE 0x0400u
/* What the guest may set and reads back; only MEM and MASTER reach the device. */
#define CMD_GUEST (CMD_MEM | CMD_MASTER | CMD_PARITY | CMD_SERR | CMD_INTX_DISABLE)
#define CMD_DEVICE (CMD_MEM | CMD_MASTER)

#define STATUS_CAP_LIST 0x0010u

#define CAP_ID_MSI 0x05u
#define CAP_ID_MSIX 0x11u

#define MSI_CTRL_ENABLE 0x0001u
#define MSI_CTRL_MMC_SHIFT 1
#define MSI_CTRL_MME_SHIFT 4
#define MSI_CTRL_64 0x0080u
#define MSI_CTRL_PVM 0x0100u
/* The device's bits the guest sees: capable count, 64-bit, per-vector mask. */
#define MSI_CTRL_RO (0x000eu | MSI_CTRL_64 | MSI_CTRL_PVM)
#define MSI_MAX_VECTORS 32u

#define MSIX_CTRL_SIZE 0x07ffu
#define MSIX_CTRL_FMASK 0x4000u
#define MSIX_CTRL_ENABLE 0x8000u
#define MSIX_CAP_LEN 12u
#define MSIX_ENTRY_SIZE 16u
#define MSIX_ENTRY_MASKED 0x1u
#define MSIX_BIR_MASK 0x7u

/* A range of a BAR, as offsets into it. */
struct seg {
	uint64_t off, len;
};

struct fbar {
	uint64_t size; /* 0: no BAR, or the upper slot of a 64-bit BAR */
	uint32_t flags;
	bool upper;	/* the upper half of the BAR in the slot before */
	uint64_t addr;	/* the guest's address (aligned to size) */
	unsigned ntrap; /* ranges that trap (MSI-X table/PBA pages, a small BAR) */
	struct seg trap[2];
	unsigned nmap; /* ranges mapped straight into the guest */
	struct seg map[3];
	bool mapped[3]; /* map[k] is mapped now, at addr + map[k].off */
};

/* What the owner was last told about one interrupt. */
struct irq_state {
	uint64_t address;
	uint32_t data;
	bool enabled;
};

struct msi {
	uint32_t cap; /* 0: none */
	uint32_t len; /* bytes of the capability, from cap */
	uint16_t ro;  /* the device's read-only control bits */
	bool is64, pvm;
	unsigned mmc;  /* log2 of the vectors the device can do */
	uint16_t ctrl; /* the guest's enable and multiple message enable */
	uint32_t addr_lo, addr_hi, mask;
	uint16_t data;
	struct irq_state last[MSI_MAX_VECTORS];
};

struct msix_entry {
	uint32_t w[4]; /* address low, address high, data, vector control */
};

struct msix {
	uint32_t cap; /* 0: none */
	uint16_t ro;  /* table size */
	uint32_t table_reg, pba_reg;
	uint32_t n; /* entries */
	unsigned tbir, pbir;
	uint64_t toff, tlen, poff, plen;
	uint16_t ctrl; /* the guest's enable and function mask */
	struct msix_entry *table;
	struct irq_state *last;
};

struct vpci_func {
	pthread_mutex_t lock;
	struct vpci_func_ops ops;
	void *ctx;
	uint16_t cmd; /* the guest's command register */
	struct fbar bars[VPCI_NUM_BARS];
	struct msi msi;
	struct msix msix;
	bool msi_on, msix_on; /* the capability enable last told to irq_enable */
};

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static uint32_t ones(uint32_t size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* Byte mask (bit j: byte j) of the bytes of the dword at aoff in [start, end). */
static uint32_t byte_range(uint32_t aoff, uint32_t start, uint32_t end)
{
	uint32_t m = 0;

	for (uint32_t j = 0; j < 4; j++)
		if (aoff + j >= start && aoff + j < end)
			m |= 1u << j;
	return m;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int j = 0; j < 4; j++)
		p[j] = (uint8_t)(v >> (8 * j));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- BARs and their mappings ---- */

static bool mem_on(const struct vpci_func *f)
{
	return f->cmd & CMD_MEM;
}

/* Whether BAR i is decoded at its guest address now (0: not assigned). */
static bool bar_live(const struct vpci_func *f, unsigned i)
{
	const struct fbar *b = &f->bars[i];

	return b->size && mem_on(f) && b->addr;
}

static void bar_unmap(struct vpci_func *f, unsigned i)
{
	struct fbar *b = &f->bars[i];

	for (unsigned k = 0; k < b->nmap; k++) {
		if (b->mapped[k])
			f->ops.unmap(f->ctx, b->addr + b->map[k].off, b->map[k].len);
		b->mapped[k] = false;
	}
}

static void unmap_all(struct vpci_func *f)
{
	for (unsigned i = 0; i < VPCI_NUM_BARS; i++)
		bar_unmap(f, i);
}

/* Whether [a, a + alen) and [b, b + blen) meet; either may end at 2^64. */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a <= b + (blen - 1) && b <= a + (alen - 1);
}

/* Whether [gpa, gpa + len) meets a piece of the function that is mapped. */
static bool meets_mapped(const struct vpci_func *f, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < VPCI_NUM_BARS; i++) {
		const struct fbar *b = &f->bars[i];

		for (unsigned k = 0; k < b->nmap; k++)
			if (b->mapped[k] &&
			    overlaps(gpa, len, b->addr + b->map[k].off, b->map[k].len))
				return true;
	}
	return false;
}

/*
 * Map every piece of every decoded BAR that is not mapped yet. A piece the
 * guest placed on top of another BAR's mapped piece waits (unmap names a
 * range, so one range is mapped once) until that one moves away; a piece
 * the owner refused is tried again at the next change.
 */
static void map_all(struct vpci_func *f)
{
	for (unsigned i = 0; i < VPCI_NUM_BARS; i++) {
		struct fbar *b = &f->bars[i];

		if (!bar_live(f, i))
			continue;
		for (unsigned k = 0; k < b->nmap; k++) {
			uint64_t gpa = b->addr + b->map[k].off;

			if (b->mapped[k] || meets_mapped(f, gpa, b->map[k].len))
				continue;
			if (f->ops.map(f->ctx, i, b->map[k].off, gpa, b->map[k].len) == 0)
				b->mapped[k] = true;
		}
	}
}

static void set_bar_addr(struct vpci_func *f, unsigned i, uint64_t addr)
{
	struct fbar *b = &f->bars[i];

	addr &= ~(b->size - 1);
	if (!(b->flags & VPCI_BAR_MEM64))
		addr &= 0xffffffffu;
	if (addr == b->addr)
		return;
	bar_unmap(f, i);
	b->addr = addr;
	map_all(f);
}

/* The register value of BAR slot s as the guest reads it. */
static uint32_t bar_reg(const struct vpci_func *f, unsigned s)
{
	const struct fbar *b = &f->bars[s];

	if (b->upper)
		return (uint32_t)(f->bars[s - 1].addr >> 32);
	if (!b->size)
		return 0;
	return ((uint32_t)b->addr & 0xfffffff0u) |
	       (b->flags & (VPCI_BAR_MEM64 | VPCI_BAR_PREFETCH));
}

static void bar_reg_write(struct vpci_func *f, unsigned s, uint32_t v)
{
	const struct fbar *b = &f->bars[s];

	if (b->upper) {
		uint64_t a = f->bars[s - 1].addr;

		set_bar_addr(f, s - 1, (a & 0xffffffffu) | (uint64_t)v << 32);
	} else if (b->size) {
		set_bar_addr(f, s, (b->addr & ~0xffffffffull) | (v & 0xfffffff0u));
	}
}

/* Add [start, end) (clamped to the BAR) to the BAR's trapped ranges, merged. */
static void add_trap(struct fbar *b, uint64_t start, uint64_t end)
{
	start &= ~(uint64_t)(PAGE_SIZE_4K - 1);
	end = (end + PAGE_SIZE_4K - 1) & ~(uint64_t)(PAGE_SIZE_4K - 1);
	if (end > b->size)
		end = b->size;
	for (unsigned k = 0; k < b->ntrap; k++) {
		struct seg *t = &b->trap[k];

		if (start <= t->off + t->len && t->off <= end) {
			uint64_t lo = start < t->off ? start : t->off;
			uint64_t hi = end > t->off + t->len ? end : t->off + t->len;

			t->off = lo;
			t->len = hi - lo;
			return;
		}
	}
	/* Kept in order, so the mapped ranges between them come out in order. */
	if (b->ntrap == 1 && start < b->trap[0].off) {
		b->trap[1] = b->trap[0];
		b->trap[0].off = start;
		b->trap[0].len = end - start;
	} else {
		b->trap[b->ntrap].off = start;
		b->trap[b->ntrap].len = end - start;
	}
	b->ntrap++;
}

/* The mapped ranges: the BAR less its trapped ranges (all of it traps when it
 * is smaller than a page, as it cannot be mapped at a page-aligned GPA). */
static void plan_bar(struct fbar *b)
{
	uint64_t at = 0;

	if (b->size < PAGE_SIZE_4K) {
		b->ntrap = 1;
		b->trap[0].off = 0;
		b->trap[0].len = b->size;
		b->nmap = 0;
		return;
	}
	b->nmap = 0;
	for (unsigned k = 0; k < b->ntrap; k++) {
		if (b->trap[k].off > at) {
			b->map[b->nmap].off = at;
			b->map[b->nmap].len = b->trap[k].off - at;
			b->nmap++;
		}
		at = b->trap[k].off + b->trap[k].len;
	}
	if (at < b->size) {
		b->map[b->nmap].off = at;
		b->map[b->nmap].len = b->size - at;
		b->nmap++;
	}
}

/* ---- Interrupts ---- */

static void report(struct vpci_func *f, bool msix, uint32_t index, struct irq_state *last,
		   struct irq_state now)
{
	/*
	 * Every change, also of a masked interrupt's address or data: the
	 * guest programs an entry while it is masked and names the interrupt
	 * by those values (HvCallRetargetDeviceInterrupt) before it unmasks
	 * it, so the owner must know the route by then.
	 */
	if (now.enabled == last->enabled && now.address == last->address && now.data == last->data)
		return;
	*last = now;
	f->ops.irq_update(f->ctx, msix, index, now.address, now.data, now.enabled);
}

/* Tell the owner a capability's enable bit changed (see irq_enable). */
static void cap_enable(struct vpci_func *f, bool msix, bool on)
{
	bool *told = msix ? &f->msix_on : &f->msi_on;

	if (*told == on)
		return;
	*told = on;
	if (f->ops.irq_enable)
		f->ops.irq_enable(f->ctx, msix, on);
}

static void msi_sync(struct vpci_func *f)
{
	struct msi *m = &f->msi;
	unsigned mme = (m->ctrl >> MSI_CTRL_MME_SHIFT) & 7;
	uint32_t count = 1u << mme;
	uint64_t address = m->is64 ? (uint64_t)m->addr_hi << 32 | m->addr_lo : m->addr_lo;

	bool on = m->cap && (m->ctrl & MSI_CTRL_ENABLE);

	if (!m->cap)
		return;
	if (on)
		cap_enable(f, false, true);
	for (uint32_t i = 0; i < MSI_MAX_VECTORS; i++) {
		struct irq_state now = {
		    .address = address,
		    .data = (m->data & ~(count - 1)) | i,
		    .enabled =
			(m->ctrl & MSI_CTRL_ENABLE) && i < count && !(m->pvm && (m->mask >> i & 1)),
		};

		/* Beyond the enabled block a vector does not exist: only its end is news. */
		if (i >= count) {
			now.address = m->last[i].address;
			now.data = m->last[i].data;
		}
		report(f, false, i, &m->last[i], now);
	}
	if (!on)
		cap_enable(f, false, false);
}

static void msix_sync_one(struct vpci_func *f, uint32_t i)
{
	struct msix *x = &f->msix;
	const struct msix_entry *e = &x->table[i];
	struct irq_state now = {
	    .address = (uint64_t)e->w[1] << 32 | e->w[0],
	    .data = e->w[2],
	    .enabled = (x->ctrl & MSIX_CTRL_ENABLE) && !(x->ctrl & MSIX_CTRL_FMASK) &&
		       !(e->w[3] & MSIX_ENTRY_MASKED),
	};

	report(f, true, i, &x->last[i], now);
}

static void msix_sync(struct vpci_func *f)
{
	bool on = f->msix.n && (f->msix.ctrl & MSIX_CTRL_ENABLE);

	if (on)
		cap_enable(f, true, true);
	for (uint32_t i = 0; i < f->msix.n; i++)
		msix_sync_one(f, i);
	if (!on)
		cap_enable(f, true, false);
}

/* Power-on state of both capabilities (the caller syncs). */
static void irq_clear(struct vpci_func *f)
{
	struct msi *m = &f->msi;
	struct msix *x = &f->msix;

	m->ctrl = 0;
	m->addr_lo = m->addr_hi = m->mask = 0;
	m->data = 0;
	x->ctrl = 0;
	for (uint32_t i = 0; i < x->n; i++) {
		memset(&x->table[i], 0, sizeof(x->table[i]));
		x->table[i].w[3] = MSIX_ENTRY_MASKED;
	}
}

/* ---- Config space ---- */

/* The MSI capability's virtual bytes (from cap), len bytes. */
static void msi_image(const struct msi *m, uint8_t img[24])
{
	memset(img, 0, 24);
	put16(img + 2, m->ro | m->ctrl);
	put32(img + 4, m->addr_lo);
	if (m->is64) {
		put32(img + 8, m->addr_hi);
		put16(img + 12, m->data);
		if (m->pvm)
			put32(img + 16, m->mask);
	} else {
		put16(img + 8, m->data);
		if (m->pvm)
			put32(img + 12, m->mask);
	}
	/* Pending bits read 0: the host owns the device's real vectors. */
}

static void msi_from_image(struct vpci_func *f, const uint8_t img[24])
{
	struct msi *m = &f->msi;
	uint16_t ctrl = get16(img + 2);
	unsigned mme = (ctrl >> MSI_CTRL_MME_SHIFT) & 7;
	uint32_t vmask = m->mmc >= 5 ? 0xffffffffu : (1u << (1u << m->mmc)) - 1;

	if (mme > m->mmc)
		mme = m->mmc;
	m->ctrl = (uint16_t)((ctrl & MSI_CTRL_ENABLE) | mme << MSI_CTRL_MME_SHIFT);
	m->addr_lo = get32(img + 4) & ~3u;
	if (m->is64) {
		m->addr_hi = get32(img + 8);
		m->data = get16(img + 12);
		if (m->pvm)
			m->mask = get32(img + 16) & vmask;
	} else {
		m->data = get16(img + 8);
		if (m->pvm)
			m->mask = get32(img + 12) & vmask;
	}
	msi_sync(f);
}

static void msix_image(const struct msix *x, uint8_t img[MSIX_CAP_LEN])
{
	memset(img, 0, MSIX_CAP_LEN);
	put16(img + 2, x->ro | x->ctrl);
	put32(img + 4, x->table_reg);
	put32(img + 8, x->pba_reg);
}

static void msix_from_image(struct vpci_func *f, const uint8_t img[MSIX_CAP_LEN])
{
	f->msix.ctrl = get16(img + 2) & (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	msix_sync(f);
}

/*
 * The guest's value of the dword at aoff (4-aligned, in range), and in
 * *vbytes which of its bytes are virtual (bit j: byte j). Bytes not virtual
 * read 0 here.
 */
static uint32_t virt_dword(const struct vpci_func *f, uint32_t aoff, uint32_t *vbytes)
{
	uint8_t img[24];

	*vbytes = 0;
	if (aoff < CFG_HEADER_END) {
		switch (aoff) {
		case CFG_COMMAND:
			*vbytes = 0x3;
			return f->cmd;
		case CFG_ROM:
			*vbytes = 0xf;
			return 0;
		case CFG_INT_LINE:
			*vbytes = 0x3;
			return 0;
		default:
			if (aoff >= CFG_BAR0 && aoff < CFG_BAR_END) {
				*vbytes = 0xf;
				return bar_reg(f, (aoff - CFG_BAR0) / 4);
			}
			return 0;
		}
	}
	if (f->msi.cap && (*vbytes = byte_range(aoff, f->msi.cap + 2, f->msi.cap + f->msi.len))) {
		uint32_t v = 0;

		msi_image(&f->msi, img);
		for (uint32_t j = 0; j < 4; j++)
			if (*vbytes >> j & 1)
				v |= (uint32_t)img[aoff + j - f->msi.cap] << (8 * j);
		return v;
	}
	if (f->msix.cap &&
	    (*vbytes = byte_range(aoff, f->msix.cap + 2, f->msix.cap + MSIX_CAP_LEN))) {
		uint32_t v = 0;

		msix_image(&f->msix, img);
		for (uint32_t j = 0; j < 4; j++)
			if (*vbytes >> j & 1)
				v |= (uint32_t)img[aoff + j - f->msix.cap] << (8 * j);
		return v;
	}
	return 0;
}

/* The guest wrote the bytes in wbytes of the dword at aoff; v is the merged
 * dword (its other virtual bytes as they were). */
static void virt_write(struct vpci_func *f, uint32_t aoff, uint32_t wbytes, uint32_t v)
{
	uint8_t img[24];

	if (aoff < CFG_HEADER_END) {
		if (aoff == CFG_COMMAND && (wbytes & 0x3)) {
			uint16_t old = f->cmd, cmd = (uint16_t)v & CMD_GUEST;
			uint32_t real;

			if (old == cmd)
				return;
			/* Turning memory off: unmap before the device stops decoding. */
			if ((old & CMD_MEM) && !(cmd & CMD_MEM))
				unmap_all(f);
			f->cmd = cmd;
			if (((old ^ cmd) & CMD_DEVICE) &&
			    f->ops.cfg_read(f->ctx, CFG_COMMAND, 2, &real) == 0)
				f->ops.cfg_write(f->ctx, CFG_COMMAND, 2,
						 ((real & ~CMD_DEVICE) | (cmd & CMD_DEVICE)) &
						     0xffff);
			if (!(old & CMD_MEM) && (cmd & CMD_MEM))
				map_all(f);
		} else if (aoff >= CFG_BAR0 && aoff < CFG_BAR_END) {
			bar_reg_write(f, (aoff - CFG_BAR0) / 4, v);
		}
		return;
	}
	if (f->msi.cap && byte_range(aoff, f->msi.cap + 2, f->msi.cap + f->msi.len) & wbytes) {
		msi_image(&f->msi, img);
		for (uint32_t j = 0; j < 4; j++)
			if (aoff + j >= f->msi.cap + 2 && aoff + j < f->msi.cap + f->msi.len)
				img[aoff + j - f->msi.cap] = (uint8_t)(v >> (8 * j));
		msi_from_image(f, img);
		return;
	}
	if (f->msix.cap && byte_range(aoff, f->msix.cap + 2, f->msix.cap + MSIX_CAP_LEN) & wbytes) {
		msix_image(&f->msix, img);
		for (uint32_t j = 0; j < 4; j++)
			if (aoff + j >= f->msix.cap + 2 && aoff + j < f->msix.cap + MSIX_CAP_LEN)
				img[aoff + j - f->msix.cap] = (uint8_t)(v >> (8 * j));
		msix_from_image(f, img);
	}
}

static bool cfg_access_ok(uint32_t off, uint32_t size)
{
	return (size == 1 || size == 2 || size == 4) && off < VPCI_CFG_SIZE &&
	       size <= VPCI_CFG_SIZE - off && !(off & (size - 1));
}

uint32_t vpci_func_cfg_read(struct vpci_func *f, uint32_t off, uint32_t size)
{
	uint32_t aoff, shift, want, vbytes, virt, real = 0, v = 0;

	if (!cfg_access_ok(off, size))
		return 0xffffffffu;
	aoff = off & ~3u;
	shift = off & 3;
	want = ((1u << size) - 1) << shift;
	pthread_mutex_lock(&f->lock);
	virt = virt_dword(f, aoff, &vbytes);
	if ((want & ~vbytes) && f->ops.cfg_read(f->ctx, off, size, &real) != 0)
		real = 0xffffffffu;
	pthread_mutex_unlock(&f->lock);
	real &= ones(size);
	for (uint32_t j = 0; j < size; j++) {
		uint32_t byte =
		    vbytes >> (shift + j) & 1 ? virt >> (8 * (shift + j)) : real >> (8 * j);

		v |= (byte & 0xff) << (8 * j);
	}
	return v;
}

void vpci_func_cfg_write(struct vpci_func *f, uint32_t off, uint32_t size, uint32_t val)
{
	uint32_t aoff, shift, wbytes, vbytes, cur, bits = 0;

	if (!cfg_access_ok(off, size))
		return;
	aoff = off & ~3u;
	shift = off & 3;
	wbytes = ((1u << size) - 1) << shift;
	pthread_mutex_lock(&f->lock);
	cur = virt_dword(f, aoff, &vbytes);
	if (wbytes & vbytes) {
		for (uint32_t j = 0; j < 4; j++)
			if (wbytes >> j & 1)
				bits |= 0xffu << (8 * j);
		cur = (cur & ~bits) | (((uint32_t)((uint64_t)val << (8 * shift))) & bits);
		virt_write(f, aoff, wbytes & vbytes, cur);
	}
	pthread_mutex_unlock(&f->lock);
}

/* ---- Trapped BAR pages ---- */

/* An access of size at off into BAR i, within its trapped range. */
static void trapped_access(struct vpci_func *f, unsigned i, uint64_t off, bool write, uint32_t size,
			   uint64_t *val)
{
	struct msix *x = &f->msix;
	uint64_t all = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
	bool in_table = x->cap && x->tbir == i && overlaps(off, size, x->toff, x->tlen);
	bool in_pba = x->cap && x->pbir == i && overlaps(off, size, x->poff, x->plen);
	uint64_t v = 0;

	if (!write)
		*val = all;
	if (size < 1 || size > 8 || off >= f->bars[i].size || size > f->bars[i].size - off)
		return;
	if (in_table || in_pba) {
		/* Naturally aligned and all inside (table and PBA are 8-aligned). */
		if (!is_pow2(size) || (off & (size - 1)))
			return;
		if (in_table && (off < x->toff || off + size > x->toff + x->tlen))
			return;
		if (in_pba && (off < x->poff || off + size > x->poff + x->plen))
			return;
	}
	if (in_table) {
		uint64_t rel = off - x->toff;
		uint32_t e = (uint32_t)(rel / MSIX_ENTRY_SIZE),
			 at = (uint32_t)(rel % MSIX_ENTRY_SIZE);
		uint8_t b[MSIX_ENTRY_SIZE];

		for (int k = 0; k < 4; k++)
			put32(b + 4 * k, x->table[e].w[k]);
		if (!write) {
			for (uint32_t j = 0; j < size; j++)
				v |= (uint64_t)b[at + j] << (8 * j);
			*val = v;
			return;
		}
		for (uint32_t j = 0; j < size; j++)
			b[at + j] = (uint8_t)(*val >> (8 * j));
		for (int k = 0; k < 4; k++)
			x->table[e].w[k] = get32(b + 4 * k);
		/* Vector control: only the mask bit is defined. */
		x->table[e].w[3] &= MSIX_ENTRY_MASKED;
		msix_sync_one(f, e);
		return;
	}
	if (in_pba) {
		/* Pending bits read 0 (the host owns the real vectors); read-only. */
		if (!write)
			*val = 0;
		return;
	}
	if (write) {
		f->ops.bar_write(f->ctx, i, off, size, *val & all);
	} else if (f->ops.bar_read(f->ctx, i, off, size, &v) == 0) {
		*val = v & all;
	}
}

bool vpci_func_mmio(struct vpci_func *f, uint64_t gpa, bool write, uint32_t size, uint64_t *val)
{
	bool hit = false;

	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < VPCI_NUM_BARS && !hit; i++) {
		const struct fbar *b = &f->bars[i];

		uint64_t off = gpa - b->addr;

		if (!bar_live(f, i) || gpa < b->addr || off >= b->size)
			continue;
		for (unsigned k = 0; k < b->ntrap; k++)
			if (off >= b->trap[k].off && off - b->trap[k].off < b->trap[k].len)
				hit = true;
		/* A piece the owner would not map: the slow way, to the device. */
		for (unsigned k = 0; k < b->nmap; k++)
			if (!b->mapped[k] && off >= b->map[k].off &&
			    off - b->map[k].off < b->map[k].len)
				hit = true;
		if (hit)
			trapped_access(f, i, off, write, size, val);
	}
	pthread_mutex_unlock(&f->lock);
	return hit;
}

/* ---- Life cycle ---- */

static int cfg_read_dev(struct vpci_func *f, uint32_t off, uint32_t size, uint32_t *val)
{
	int rc = f->ops.cfg_read(f->ctx, off, size, val);

	if (rc)
		return rc < 0 ? rc : -EIO;
	*val &= ones(size);
	return 0;
}

static int setup_bars(struct vpci_func *f, const struct vpci_bar bars[VPCI_NUM_BARS])
{
	for (unsigned i = 0; i < VPCI_NUM_BARS; i++) {
		const struct vpci_bar *b = &bars[i];

		if (f->bars[i].upper)
			continue;
		if (!b->size) {
			if (b->flags)
				return -EINVAL;
			continue;
		}
		if ((b->flags & ~(VPCI_BAR_MEM64 | VPCI_BAR_PREFETCH)) || !is_pow2(b->size) ||
		    b->size < 16)
			return -EINVAL;
		if (b->flags & VPCI_BAR_MEM64) {
			if (i == VPCI_NUM_BARS - 1 || bars[i + 1].size || bars[i + 1].flags ||
			    b->size > (1ull << 63))
				return -EINVAL;
			f->bars[i + 1].upper = true;
		} else if (b->size > (1ull << 31)) {
			return -EINVAL;
		}
		f->bars[i].size = b->size;
		f->bars[i].flags = b->flags;
	}
	return 0;
}

static int setup_msi(struct vpci_func *f, uint32_t cap)
{
	struct msi *m = &f->msi;
	uint32_t ctrl;
	int rc = cfg_read_dev(f, cap + 2, 2, &ctrl);

	if (rc)
		return rc;
	m->cap = cap;
	m->ro = ctrl & MSI_CTRL_RO;
	m->is64 = ctrl & MSI_CTRL_64;
	m->pvm = ctrl & MSI_CTRL_PVM;
	m->mmc = (ctrl >> MSI_CTRL_MMC_SHIFT) & 7;
	if (m->mmc > 5) {
		/* Reserved encodings: no more than 32 vectors. */
		m->mmc = 5;
		m->ro = (uint16_t)((m->ro & ~0x000eu) | 5u << MSI_CTRL_MMC_SHIFT);
	}
	m->len = m->is64 ? (m->pvm ? 24 : 14) : (m->pvm ? 20 : 10);
	return cap + m->len <= CFG_STD_END ? 0 : -EINVAL;
}

static int setup_msix(struct vpci_func *f, uint32_t cap)
{
	struct msix *x = &f->msix;
	struct fbar *tb, *pb;
	uint32_t ctrl;
	int rc;

	if (cap + MSIX_CAP_LEN > CFG_STD_END)
		return -EINVAL;
	if ((rc = cfg_read_dev(f, cap + 2, 2, &ctrl)) ||
	    (rc = cfg_read_dev(f, cap + 4, 4, &x->table_reg)) ||
	    (rc = cfg_read_dev(f, cap + 8, 4, &x->pba_reg)))
		return rc;
	x->cap = cap;
	x->ro = ctrl & MSIX_CTRL_SIZE;
	x->n = x->ro + 1u;
	x->tbir = x->table_reg & MSIX_BIR_MASK;
	x->pbir = x->pba_reg & MSIX_BIR_MASK;
	x->toff = x->table_reg & ~MSIX_BIR_MASK;
	x->poff = x->pba_reg & ~MSIX_BIR_MASK;
	x->tlen = (uint64_t)x->n * MSIX_ENTRY_SIZE;
	x->plen = ((uint64_t)x->n + 63) / 64 * 8;
	if (x->tbir >= VPCI_NUM_BARS || x->pbir >= VPCI_NUM_BARS)
		return -EINVAL;
	tb = &f->bars[x->tbir];
	pb = &f->bars[x->pbir];
	if (!tb->size || !pb->size || x->toff + x->tlen > tb->size ||
	    x->poff + x->plen > pb->size ||
	    (x->tbir == x->pbir && overlaps(x->toff, x->tlen, x->poff, x->plen)))
		return -EINVAL;
	x->table = calloc(x->n, sizeof(*x->table));
	x->last = calloc(x->n, sizeof(*x->last));
	if (!x->table || !x->last)
		return -ENOMEM;
	add_trap(tb, x->toff, x->toff + x->tlen);
	add_trap(pb, x->poff, x->poff + x->plen);
	return 0;
}

/* Walk the capability list for MSI and MSI-X (the first of each). */
static int walk_caps(struct vpci_func *f)
{
	uint8_t seen[CFG_STD_END / 4] = {0};
	uint32_t caps[CFG_STD_END / 4];
	unsigned ncaps = 0;
	uint32_t status, ptr, hdr;
	int rc;

	if ((rc = cfg_read_dev(f, CFG_STATUS, 2, &status)))
		return rc;
	if (!(status & STATUS_CAP_LIST))
		return 0;
	if ((rc = cfg_read_dev(f, CFG_CAP_PTR, 1, &ptr)))
		return rc;
	ptr &= 0xfc;
	while (ptr) {
		if (ptr < CFG_HEADER_END || seen[ptr / 4])
			return -EINVAL;
		seen[ptr / 4] = 1;
		caps[ncaps++] = ptr;
		if ((rc = cfg_read_dev(f, ptr, 2, &hdr)))
			return rc;
		if ((hdr & 0xff) == CAP_ID_MSI && !f->msi.cap)
			rc = setup_msi(f, ptr);
		else if ((hdr & 0xff) == CAP_ID_MSIX && !f->msix.cap)
			rc = setup_msix(f, ptr);
		if (rc)
			return rc;
		ptr = (hdr >> 8) & 0xfc;
	}
	/* The virtual bytes must not cover another capability's header. */
	for (unsigned k = 0; k < ncaps; k++) {
		if (f->msi.cap && caps[k] != f->msi.cap && caps[k] + 2 > f->msi.cap &&
		    caps[k] < f->msi.cap + f->msi.len)
			return -EINVAL;
		if (f->msix.cap && caps[k] != f->msix.cap && caps[k] + 2 > f->msix.cap &&
		    caps[k] < f->msix.cap + MSIX_CAP_LEN)
			return -EINVAL;
	}
	return 0;
}

static void free_func(struct vpci_func *f)
{
	free(f->msix.table);
	free(f->msix.last);
	free(f);
}

int vpci_func_create(const struct vpci_bar bars[VPCI_NUM_BARS], const struct vpci_func_ops *ops,
		     void *ctx, struct vpci_func **out)
{
	struct vpci_func *f;
	uint32_t htype;
	int rc;

	*out = NULL;
	if (!ops->cfg_read || !ops->cfg_write || !ops->bar_read || !ops->bar_write || !ops->map ||
	    !ops->unmap || !ops->irq_update)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->ops = *ops;
	f->ctx = ctx;
	rc = cfg_read_dev(f, CFG_HEADER_TYPE, 1, &htype);
	if (!rc && (htype & 0x7f))
		rc = -EINVAL;
	if (!rc)
		rc = setup_bars(f, bars);
	if (!rc)
		rc = walk_caps(f);
	if (rc) {
		free_func(f);
		return rc;
	}
	for (unsigned i = 0; i < VPCI_NUM_BARS; i++)
		if (f->bars[i].size)
			plan_bar(&f->bars[i]);
	irq_clear(f);
	if (pthread_mutex_init(&f->lock, NULL)) {
		free_func(f);
		return -ENOMEM;
	}
	*out = f;
	return 0;
}

/* Every interrupt the owner was told is enabled, reported disabled. */
static void irq_all_off(struct vpci_func *f)
{
	for (uint32_t i = 0; f->msi.cap && i < MSI_MAX_VECTORS; i++) {
		struct irq_state now = f->msi.last[i];

		now.enabled = false;
		report(f, false, i, &f->msi.last[i], now);
	}
	for (uint32_t i = 0; i < f->msix.n; i++) {
		struct irq_state now = f->msix.last[i];

		now.enabled = false;
		report(f, true, i, &f->msix.last[i], now);
	}
	cap_enable(f, false, false);
	cap_enable(f, true, false);
}

void vpci_func_destroy(struct vpci_func *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	unmap_all(f);
	irq_all_off(f);
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_destroy(&f->lock);
	free_func(f);
}

void vpci_func_reset(struct vpci_func *f)
{
	uint32_t real;

	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < VPCI_NUM_BARS; i++) {
		bar_unmap(f, i);
		f->bars[i].addr = 0;
	}
	/* Reported off as the guest last had them, then cleared. */
	irq_all_off(f);
	irq_clear(f);
	msi_sync(f);
	msix_sync(f);
	f->cmd = 0;
	if (f->ops.cfg_read(f->ctx, CFG_COMMAND, 2, &real) == 0 && (real & CMD_DEVICE))
		f->ops.cfg_write(f->ctx, CFG_COMMAND, 2, real & 0xffff & ~CMD_DEVICE);
	pthread_mutex_unlock(&f->lock);
}

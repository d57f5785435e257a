// SPDX-License-Identifier: GPL-2.0
/*
 * Second-level page tables: a 4-level table that maps guest physical to
 * host physical addresses, in the entry format the vendor names
 * (struct linhv_npt_format; AMD NPT today, see svm.c). One walker serves
 * every format: entries differ only in which bits mean present, writable,
 * executable and large; the address bits are the same. Filled lazily, one
 * 4 KiB or 2 MiB leaf per nested page fault (memory.c); leaves are cleared
 * when the root's mapping changes or the range is unmapped; tables are
 * freed with the partition.
 * The lock is a spinlock: the root's mm notifier takes it, possibly from
 * reclaim, so nothing under it may allocate or sleep.
 *
 * Every leaf holds a reference on the page it maps (the whole folio for a
 * 2 MiB leaf), dropped only after the TLB flush that follows its removal. The
 * notifier keeps leaves coherent with the root; the reference makes sure that
 * even a leaf that outlived its notifier can never point at a page the host
 * has freed and reused: a guest could then only see stale data of its own.
 */
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <asm/page.h>
#include <asm/io.h>

#include "linhv_internal.h"

/* Leaves made since load, for benchmarks: /sys/module/linhv/parameters/npt_maps_{4k,2m}. */
static atomic_long_t npt_maps[2];

static int get_maps(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(kp->arg));
}

static const struct kernel_param_ops maps_ops = {
	.get = get_maps,
};
module_param_cb(npt_maps_4k, &maps_ops, &npt_maps[0], 0444);
module_param_cb(npt_maps_2m, &maps_ops, &npt_maps[1], 0444);

#define NPT_ADDR_MASK 0x000ffffffffff000ULL

/*
 * Tables are allocated before the lock is taken (linhv_npt_topup): an
 * allocation may reclaim guest memory, whose notifier takes the lock.
 */
static u64 *take_table(struct linhv_npt *npt, u64 *pa)
{
	struct page *pg;

	if (!npt->nr_cache)
		return NULL;
	pg = npt->cache[--npt->nr_cache];
	npt->nr_tables++;
	*pa = page_to_phys(pg);
	return page_address(pg);
}

int linhv_npt_topup(struct linhv_npt *npt)
{
	while (READ_ONCE(npt->nr_cache) < LINHV_NPT_LEVELS - 1) {
		struct page *pg = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

		if (!pg)
			return -ENOMEM;
		spin_lock(&npt->lock);
		if (npt->nr_cache < ARRAY_SIZE(npt->cache)) {
			npt->cache[npt->nr_cache++] = pg;
			pg = NULL;
		}
		spin_unlock(&npt->lock);
		if (pg)
			__free_page(pg);
	}
	return 0;
}

int linhv_npt_init(struct linhv_npt *npt)
{
	int ret;

	spin_lock_init(&npt->lock);
	npt->fmt = linhv_vendor->npt_format;
	npt->nr_tables = 0;
	npt->nr_cache = 0;
	npt->stale_2m = false;
	ret = linhv_npt_topup(npt);
	if (ret)
		return ret;
	spin_lock(&npt->lock);
	npt->root = take_table(npt, &npt->root_pa);
	spin_unlock(&npt->lock);
	return 0;
}

static struct page *leaf_page(u64 pte)
{
	return pfn_to_page((pte & NPT_ADDR_MASK) >> PAGE_SHIFT);
}

/* Leaves removed under the lock, released once no CPU can use them. */
struct npt_zap {
	struct linhv_npt *npt;
	u32 why; /* for the history */
	unsigned int n;
	struct page *pages[64];
};

static void zap_release(struct npt_zap *z)
{
	unsigned int i;

	if (!z->n)
		return;
	linhv_memory_flush_tlb(container_of(z->npt, struct linhv_partition, npt));
	for (i = 0; i < z->n; i++)
		put_page(z->pages[i]);
	z->n = 0;
}

/* Lock held: remember a removed leaf for the triple-fault log. */
static void zap_record(struct npt_zap *z, u64 gpa, u64 pte)
{
	struct linhv_zap_rec *h = &z->npt->hist[z->npt->hist_pos++ % LINHV_ZAP_HIST];

	h->gpa = gpa;
	h->pte = pte;
	h->ns = ktime_get_ns();
	h->size = pte & z->npt->fmt->large ? SZ_2M : PAGE_SIZE;
	h->why = z->why;
}

static void zap_add(struct npt_zap *z, u64 gpa, u64 pte)
{
	zap_record(z, gpa, pte);
	/* Device memory holds no reference, but its TLB entries go all the same. */
	if (pte & z->npt->fmt->noref) {
		z->npt->stale_2m = true;
		return;
	}
	z->pages[z->n++] = leaf_page(pte);
	if (z->n == ARRAY_SIZE(z->pages))
		zap_release(z);
}

static inline bool present(const struct linhv_npt_format *f, u64 e)
{
	return e & f->present;
}

/* A present entry that maps a page (not a table). */
static inline bool is_leaf(const struct linhv_npt_format *f, u64 e, int level)
{
	return level == 1 || (e & f->large);
}

/* With the partition's VPs gone: no flush, just the leaves' references. */
static void free_level(const struct linhv_npt_format *f, u64 *table, int level)
{
	int i;

	for (i = 0; i < 512; i++) {
		if (!present(f, table[i]))
			continue;
		if (is_leaf(f, table[i], level)) {
			if (!(table[i] & f->noref))
				put_page(leaf_page(table[i]));
		}
		else
			free_level(f, __va(table[i] & NPT_ADDR_MASK), level - 1);
	}
	free_page((unsigned long)table);
}

void linhv_npt_destroy(struct linhv_npt *npt)
{
	if (npt->root)
		free_level(npt->fmt, npt->root, LINHV_NPT_LEVELS);
	npt->root = NULL;
	while (npt->nr_cache)
		__free_page(npt->cache[--npt->nr_cache]);
}

static inline int npt_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/*
 * Map gpa to hpa with a 4 KiB (level 1) or 2 MiB (level 2, both addresses
 * aligned) leaf. Caller holds npt->lock. -EAGAIN: the table cache ran dry, top
 * up and retry. -EEXIST: a 2 MiB leaf was asked for where 4 KiB leaves are
 * (their table is not freed here: hardware may still walk it), map 4 KiB.
 * The leaf takes its own reference on hpa's page: the caller must hold one.
 */
int linhv_npt_map_locked(struct linhv_npt *npt, u64 gpa, u64 hpa, u32 flags, int leaf_level)
{
	const struct linhv_npt_format *f = npt->fmt;
	struct npt_zap z = {.npt = npt, .why = LINHV_ZAP_REPLACED};
	u64 *table = npt->root;
	u64 pte, old;
	int level;

	lockdep_assert_held(&npt->lock);
	for (level = LINHV_NPT_LEVELS; level > leaf_level; level--) {
		u64 *e = &table[npt_index(gpa, level)];

		/*
		 * A 2 MiB leaf that a 4 KiB mapping replaces is still coherent
		 * with the root (the notifier would have cleared it), so its
		 * TLB entries may stay until the next flush; but the next zap
		 * must flush even when it finds no leaf, or they outlive it.
		 */
		if (!present(f, *e) || (*e & f->large)) {
			u64 pa;
			u64 *next = take_table(npt, &pa);

			if (!next)
				return -EAGAIN;
			old = *e;
			WRITE_ONCE(*e, pa | f->table);
			if (present(f, old)) {
				npt->stale_2m = true;
				zap_add(&z, gpa & ~(u64)(SZ_2M - 1), old);
				zap_release(&z);
			}
		}
		table = __va(*e & NPT_ADDR_MASK);
	}
	if (leaf_level == 2) {
		old = table[npt_index(gpa, 2)];
		if (present(f, old) && !(old & f->large))
			return -EEXIST;
	}
	pte = (hpa & NPT_ADDR_MASK) | (flags & LINHV_NPT_MAP_MMIO ? f->leaf_mmio : f->leaf);
	if (leaf_level == 2)
		pte |= f->large;
	if (flags & HV_MAP_GPA_WRITABLE)
		pte |= f->write;
	pte |= (flags & HV_MAP_GPA_EXECUTABLE) ? f->exec : f->noexec;
	if (!(pte & f->noref))
		get_page(leaf_page(pte));
	old = xchg(&table[npt_index(gpa, leaf_level)], pte);
	/* A leaf replaced in place (e.g. read-only made writable): its page after a flush. */
	if (present(f, old)) {
		zap_add(&z, gpa, old);
		zap_release(&z);
	}
	atomic_long_inc(&npt_maps[leaf_level - 1]);
	return 0;
}

static void unmap_level(struct npt_zap *z, u64 *table, int level, u64 base, u64 start, u64 end)
{
	const struct linhv_npt_format *f = z->npt->fmt;
	u64 span = 1ULL << (PAGE_SHIFT + 9 * (level - 1));
	int i;

	for (i = npt_index(max(start, base), level); i < 512; i++) {
		u64 lo = base + i * span, hi = lo + span;

		if (lo >= end)
			break;
		if (hi <= start || !present(f, table[i]))
			continue;
		/* A 2 MiB leaf goes as a whole even when the range covers part of it. */
		if (is_leaf(f, table[i], level))
			zap_add(z, lo, xchg(&table[i], 0));
		else
			unmap_level(z, __va(table[i] & NPT_ADDR_MASK), level - 1, lo, start, end);
	}
}

/*
 * Caller holds npt->lock. Before this returns, every VP has flushed the
 * cleared leaves (and a replaced 2 MiB leaf's translations) from its TLB and
 * the leaves' pages are released.
 */
void linhv_npt_unmap_range_locked(struct linhv_npt *npt, u64 gpa, u64 size, u32 why)
{
	struct npt_zap z = {.npt = npt, .why = why};

	lockdep_assert_held(&npt->lock);
	unmap_level(&z, npt->root, LINHV_NPT_LEVELS, 0, gpa, gpa + size);
	if (npt->stale_2m && !z.n)
		linhv_memory_flush_tlb(container_of(npt, struct linhv_partition, npt));
	zap_release(&z);
	npt->stale_2m = false;
}

/* The leaf entry mapping gpa (4 KiB or 2 MiB) and its level, or 0; for diagnostics. */
u64 linhv_npt_lookup_level_locked(struct linhv_npt *npt, u64 gpa, int *leaf_level)
{
	const struct linhv_npt_format *f = npt->fmt;
	u64 *table = npt->root;
	int level;

	lockdep_assert_held(&npt->lock);
	for (level = LINHV_NPT_LEVELS; level >= 1; level--) {
		u64 e = READ_ONCE(table[npt_index(gpa, level)]);

		if (!present(f, e))
			return 0;
		if (is_leaf(f, e, level)) {
			*leaf_level = level;
			return e;
		}
		table = __va(e & NPT_ADDR_MASK);
	}
	return 0;
}

u64 linhv_npt_lookup_locked(struct linhv_npt *npt, u64 gpa)
{
	int level;

	return linhv_npt_lookup_level_locked(npt, gpa, &level);
}

unsigned long linhv_npt_leaf_pfn(u64 leaf)
{
	return (leaf & NPT_ADDR_MASK) >> PAGE_SHIFT;
}

bool linhv_npt_leaf_noref(u64 leaf)
{
	return leaf & linhv_vendor->npt_format->noref;
}

bool linhv_npt_leaf_writable(u64 leaf)
{
	return leaf & linhv_vendor->npt_format->write;
}

static int walk_level(const struct linhv_npt_format *f, u64 *table, int level, u64 base,
		      int (*fn)(void *ctx, u64 gpa, u64 leaf, int level), void *ctx)
{
	u64 span = 1ULL << (PAGE_SHIFT + 9 * (level - 1));
	int i, ret;

	for (i = 0; i < 512; i++) {
		u64 e = READ_ONCE(table[i]);

		if (!present(f, e))
			continue;
		if (is_leaf(f, e, level))
			ret = fn(ctx, base + i * span, e, level);
		else
			ret = walk_level(f, __va(e & NPT_ADDR_MASK), level - 1, base + i * span, fn,
					 ctx);
		if (ret)
			return ret;
	}
	return 0;
}

/* Call fn for every leaf, in GPA order; stops at fn's first nonzero return. */
int linhv_npt_walk_leaves_locked(struct linhv_npt *npt,
				 int (*fn)(void *ctx, u64 gpa, u64 leaf, int level), void *ctx)
{
	lockdep_assert_held(&npt->lock);
	return walk_level(npt->fmt, npt->root, LINHV_NPT_LEVELS, 0, fn, ctx);
}

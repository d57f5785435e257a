// SPDX-License-Identifier: GPL-2.0
/*
 * Debug-only audit of the nested page table against the root's page tables
 * (module parameter npt_audit, default 0: off). With npt_audit=N, every
 * nested page fault checks the leaf it mapped and every N exits of a VP the
 * whole table is walked. For each leaf: the root maps the region's hva right
 * now, to the same frame (the same huge page for a 2 MiB leaf), writable if
 * the leaf is, and the frame still has a reference. Under the NPT lock that
 * must always hold: an invalidation zaps the leaves before the root's entry
 * changes, and faults wait for it to end. The first mismatches are logged
 * with the VP's recent exits; counters are in
 * /sys/module/linhv/parameters/npt_audit_{runs,bad}.
 */
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/ratelimit.h>
#include <linux/sizes.h>

#include "linhv_internal.h"

static unsigned int npt_audit;
module_param(npt_audit, uint, 0644);
MODULE_PARM_DESC(npt_audit, "debug: audit nested leaves against the root's page tables every N exits (0: off)");

static atomic_long_t audit_runs, audit_bad;

static int get_count(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(kp->arg));
}

static const struct kernel_param_ops count_ops = {
	.get = get_count,
};
module_param_cb(npt_audit_runs, &count_ops, &audit_runs, 0444);
module_param_cb(npt_audit_bad, &count_ops, &audit_bad, 0444);

/* What the root maps at hva now. */
struct root_map {
	unsigned long pfn; /* of the 4 KiB page at hva */
	bool present, write, huge;
};

/* Lockless, like fast GUP: interrupts off keep the page tables from being freed. */
static void root_lookup(struct mm_struct *mm, unsigned long hva, struct root_map *m)
{
	unsigned long irqflags;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;
	pte_t pte;

	memset(m, 0, sizeof(*m));
	local_irq_save(irqflags);
	pgd = READ_ONCE(*pgd_offset(mm, hva));
	if (pgd_none(pgd) || !pgd_present(pgd))
		goto out;
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (p4d_none(p4d) || !p4d_present(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (pud_none(pud) || !pud_present(pud))
		goto out;
	if (pud_large(pud)) {
		m->pfn = pud_pfn(pud) + ((hva & ~PUD_MASK) >> PAGE_SHIFT);
		m->write = pud_write(pud);
		m->present = m->huge = true;
		goto out;
	}
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	if (pmd_none(pmd) || !pmd_present(pmd))
		goto out;
	if (pmd_large(pmd)) {
		m->pfn = pmd_pfn(pmd) + ((hva & ~PMD_MASK) >> PAGE_SHIFT);
		m->write = pmd_write(pmd);
		m->present = m->huge = true;
		goto out;
	}
	pte = READ_ONCE(*pte_offset_kernel(&pmd, hva));
	if (pte_present(pte)) {
		m->pfn = pte_pfn(pte);
		m->write = pte_write(pte);
		m->present = true;
	}
out:
	local_irq_restore(irqflags);
}

struct audit_ctx {
	struct linhv_partition *part;
	struct linhv_vp *vp;
	unsigned int bad;
};

static void report(struct audit_ctx *c, u64 gpa, u64 leaf, int level, unsigned long hva,
		   const struct root_map *m, const char *why)
{
	static DEFINE_RATELIMIT_STATE(rs, 60 * HZ, 8);
	unsigned long pfn = linhv_npt_leaf_pfn(leaf);
	u32 i;

	c->bad++;
	atomic_long_inc(&audit_bad);
	if (!__ratelimit(&rs))
		return;
	pr_err("linhv: npt audit: partition %llu gpa %llx: %s: leaf %llx (%s, page count %d), root at hva %lx: %s pfn %lx%s%s\n",
	       c->part->id, gpa, why, leaf, level == 2 ? "2M" : "4K",
	       pfn_valid(pfn) ? page_count(pfn_to_page(pfn)) : -1, hva,
	       m->present ? "present" : "none", m->pfn, m->write ? " writable" : "",
	       m->huge ? " huge" : "");
	if (!c->vp || c->bad > 1)
		return;
	for (i = 0; i < LINHV_EXIT_HIST; i++) {
		const struct linhv_exit_rec *e = &c->vp->hist[(c->vp->hist_pos + i) % LINHV_EXIT_HIST];

		if (e->code || e->rip)
			pr_err("linhv:   VP %u exit %llx info %llx %llx rip %llx\n", c->vp->index,
			       e->code, e->info1, e->info2, e->rip);
	}
}

/* What is wrong with leaf given the root's entry, or NULL. */
static const char *check_leaf(u64 leaf, int level, const struct root_map *m)
{
	unsigned long pfn = linhv_npt_leaf_pfn(leaf);

	if (!linhv_npt_leaf_noref(leaf) && (!pfn_valid(pfn) || page_count(pfn_to_page(pfn)) <= 0))
		return "freed frame";
	if (!m->present || m->pfn != pfn)
		return "frame differs from the root's";
	if (level == 2 && !m->huge)
		return "2M leaf over small pages";
	if (linhv_npt_leaf_writable(leaf) && !m->write)
		return "writable leaf, read-only in the root";
	return NULL;
}

/* Called with mem_lock (read) and the NPT lock held. */
static int audit_leaf(void *arg, u64 gpa, u64 leaf, int level)
{
	struct audit_ctx *c = arg;
	const struct linhv_region *r = linhv_find_region(c->part, gpa >> PAGE_SHIFT);
	struct root_map m = {};
	const char *why;
	unsigned long hva;
	int tries;

	if (!r) {
		report(c, gpa, leaf, level, 0, &m, "no region");
		return 0;
	}
	hva = r->uaddr + ((gpa >> PAGE_SHIFT) - r->gfn) * PAGE_SIZE;
	/*
	 * A few paths rewrite a root entry in place without the notifier
	 * (MADV_PAGEOUT ages one by clearing and setting it again under its
	 * page table lock): only a mismatch that lasts counts.
	 */
	for (tries = 0; tries < 100; tries++) {
		root_lookup(c->part->mm, hva, &m);
		why = check_leaf(leaf, level, &m);
		if (!why)
			return 0;
		udelay(10);
	}
	report(c, gpa, leaf, level, hva, &m, why);
	return 0;
}

static void audit(struct linhv_vp *vp, u64 gpa, bool all)
{
	struct linhv_partition *part = vp->part;
	struct audit_ctx c = {.part = part, .vp = vp};
	int level;
	u64 leaf;

	atomic_long_inc(&audit_runs);
	down_read(&part->mem_lock);
	if (!part->mm) {
		up_read(&part->mem_lock);
		return;
	}
	spin_lock(&part->npt.lock);
	if (all) {
		linhv_npt_walk_leaves_locked(&part->npt, audit_leaf, &c);
	} else {
		leaf = linhv_npt_lookup_level_locked(&part->npt, gpa, &level);
		if (leaf)
			audit_leaf(&c, gpa & ~((level == 2 ? SZ_2M : PAGE_SIZE) - 1ULL), leaf, level);
	}
	spin_unlock(&part->npt.lock);
	up_read(&part->mem_lock);
}

/* After a nested page fault was handled at gpa. */
void linhv_audit_fault(struct linhv_vp *vp, u64 gpa)
{
	if (likely(!READ_ONCE(npt_audit)))
		return;
	audit(vp, gpa, false);
}

/* After every exit: the whole table every npt_audit exits. */
void linhv_audit_exit(struct linhv_vp *vp)
{
	unsigned int n = READ_ONCE(npt_audit);

	if (likely(!n) || ++vp->audit_exits < n)
		return;
	vp->audit_exits = 0;
	audit(vp, 0, true);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * What the log shows when a guest triple-faults (the vendor reports the
 * shutdown): a triple fault is the guest's own business, but one that the
 * hypervisor caused is hard to find afterwards, so log the CPU state, the
 * guest's page walk of RIP as the nested table and the root see it, and
 * the VP's last exits.
 */
#include <linux/highmem.h>
#include <linux/ratelimit.h>
#include <linux/timekeeping.h>

#include "linhv_internal.h"

/*
 * Every removal of a nested leaf covering gpa that the history still holds:
 * when, why (the root's mmu_notifier_event, or unmap / replaced) and which
 * frame it mapped. A leaf that went with a migration and came back on a
 * frame full of zeros tells a different story from one that went with an
 * unmap.
 */
static void dump_zaps(struct linhv_partition *part, u64 gpa)
{
	struct linhv_npt *npt = &part->npt;
	u64 now = ktime_get_ns();
	unsigned int i, seen = 0;

	spin_lock(&npt->lock);
	for (i = 0; i < LINHV_ZAP_HIST; i++) {
		const struct linhv_zap_rec *h = &npt->hist[(npt->hist_pos + i) % LINHV_ZAP_HIST];

		if (!h->size || gpa < h->gpa || gpa - h->gpa >= h->size)
			continue;
		seen++;
		pr_warn("linhv:   gpa %llx: leaf %llx (%u KiB at %llx) removed %llu us ago, why %#x\n",
			gpa, h->pte, h->size >> 10, h->gpa, (now - h->ns) / 1000, h->why);
	}
	i = npt->hist_pos;
	spin_unlock(&npt->lock);
	pr_warn("linhv:   gpa %llx: %u of the last %u leaf removals covered it\n", gpa, seen,
		min_t(unsigned int, i, LINHV_ZAP_HIST));
}

/* The 64-bit entry i of a page the caller holds a reference on. */
static u64 page_entry(struct page *pg, unsigned int i)
{
	u64 *va = kmap_local_page(pg);
	u64 e = va[i];

	kunmap_local(va);
	return e;
}

/*
 * The guest's top page table as the guest sees it (through the nested entry)
 * and as the root holds it now: a nested entry left on a page the root has
 * since replaced shows as two different frames or contents.
 */
static void dump_cr3_page(struct linhv_vp *vp)
{
	struct linhv_partition *part = vp->part;
	u64 gpa = linhv_get_reg(vp, LINHV_REG_CR3) & 0x000ffffffffff000ULL, leaf, hpa = 0, via_npt[3] = {};
	/* Low memory (identity maps, user space), the cpu_entry_area (IDT, GDT, TSS), the kernel. */
	static const unsigned int slots[3] = {0, 508, 511};
	u64 via_root[3] = {}, pinned, dma;
	struct page *pg;
	unsigned int i;
	int level = 0;

	spin_lock(&part->npt.lock);
	leaf = linhv_npt_lookup_level_locked(&part->npt, gpa, &level);
	spin_unlock(&part->npt.lock);
	pg = linhv_guest_page_get(part, gpa, false);
	if (pg) {
		hpa = page_to_phys(pg);
		for (i = 0; i < ARRAY_SIZE(slots); i++)
			via_root[i] = page_entry(pg, slots[i]);
		pr_warn("linhv:   cr3 gpa %llx: the root's page %llx, %d references, index %lx, flags %pGp\n",
			gpa, hpa, page_ref_count(pg) - 1, pg->index, &pg->flags);
		put_page(pg);
	}
	if (leaf && level == 1 && !linhv_npt_leaf_noref(leaf) && pfn_valid(linhv_npt_leaf_pfn(leaf))) {
		for (i = 0; i < ARRAY_SIZE(slots); i++)
			via_npt[i] = page_entry(pfn_to_page(linhv_npt_leaf_pfn(leaf)), slots[i]);
	}
	pr_warn("linhv:   cr3 gpa %llx: nested leaf %llx (entries 0/508/511: %llx %llx %llx), the root's page %llx (%llx %llx %llx)\n",
		gpa, leaf, via_npt[0], via_npt[1], via_npt[2], hpa, via_root[0], via_root[1],
		via_root[2]);
	/*
	 * With a device attached the page is pinned: the same frame as the
	 * root's with zeros means it was overwritten in place (a stray write
	 * or DMA), another frame that the root replaced a pinned page.
	 */
	linhv_iommu_frames(part, gpa, &pinned, &dma);
	if (pinned || dma)
		pr_warn("linhv:   cr3 gpa %llx: pinned frame %llx, device DMA to it reaches %llx\n",
			gpa, pinned, dma);
	dump_zaps(part, gpa);
}

/*
 * The guest's long-mode walk of lin, level by level, as the root holds the
 * tables now, with each table page's nested leaf and the root's frame for
 * it: tells a lost table entry from a stale nested mapping.
 */
static void dump_walk(struct linhv_vp *vp, u64 lin)
{
	struct linhv_partition *part = vp->part;
	u64 table = linhv_get_reg(vp, LINHV_REG_CR3) & 0x000ffffffffff000ULL, e = 0, leaf;
	struct page *pg;
	int level;

	if (!(linhv_get_reg(vp, LINHV_REG_EFER) & EFER_LMA))
		return;
	for (level = 4; level >= 1; level--) {
		u64 gpa = table + ((lin >> (12 + 9 * (level - 1))) & 511) * 8;

		spin_lock(&part->npt.lock);
		leaf = linhv_npt_lookup_locked(&part->npt, gpa);
		spin_unlock(&part->npt.lock);
		/* The entry is read through the page already held (gpa is 8-aligned). */
		pg = linhv_guest_page_get(part, gpa, false);
		e = pg ? page_entry(pg, offset_in_page(gpa) / sizeof(u64)) : ~0ULL;
		pr_warn("linhv:   walk %llx level %d: entry at gpa %llx = %llx, nested leaf %llx, root frame %llx\n",
			lin, level, gpa, e, leaf, pg ? (u64)page_to_phys(pg) : 0);
		if (pg)
			put_page(pg);
		if (!(e & 1) || e == ~0ULL || (level > 1 && level < 4 && (e & BIT_ULL(7))))
			return;
		table = e & 0x000ffffffffff000ULL;
	}
}

/*
 * A triple fault is the guest's own business, but one that the hypervisor
 * caused is hard to find afterwards: log the state and the last exits.
 */
void linhv_dump_triple_fault(struct linhv_vp *vp)
{
	static DEFINE_RATELIMIT_STATE(rs, 60 * HZ, 2);
	const struct linhv_vendor_ops *ops = linhv_vendor;
	struct hv_x64_segment_register cs, ss, idtr, gdtr, tr;
	u64 rip = ops->get_reg(vp, LINHV_REG_RIP), cr2 = ops->get_reg(vp, LINHV_REG_CR2);
	u32 i;

	if (!__ratelimit(&rs))
		return;
	ops->get_seg(vp, LINHV_SEG_CS, &cs);
	ops->get_seg(vp, LINHV_SEG_SS, &ss);
	ops->get_seg(vp, LINHV_SEG_IDTR, &idtr);
	ops->get_seg(vp, LINHV_SEG_GDTR, &gdtr);
	ops->get_seg(vp, LINHV_SEG_TR, &tr);
	pr_warn("linhv: partition %llu VP %u triple fault: rip %llx rsp %llx rflags %llx cr0 %llx cr2 %llx cr3 %llx cr4 %llx efer %llx\n",
		vp->part->id, vp->index, rip, ops->get_reg(vp, LINHV_REG_RSP),
		ops->get_reg(vp, LINHV_REG_RFLAGS), ops->get_reg(vp, LINHV_REG_CR0),
		cr2, ops->get_reg(vp, LINHV_REG_CR3),
		ops->get_reg(vp, LINHV_REG_CR4), ops->get_reg(vp, LINHV_REG_EFER));
	pr_warn("linhv:   cs %x/%llx ss %x idtr %llx/%x gdtr %llx/%x tr %x/%llx dr7 %llx interrupt shadow %d\n",
		cs.selector, cs.base, ss.selector, idtr.base, idtr.limit, gdtr.base, gdtr.limit,
		tr.selector, tr.base, ops->get_reg(vp, LINHV_REG_DR7),
		ops->get_interrupt_shadow(vp));
	dump_cr3_page(vp);
	dump_walk(vp, rip);
	/* Where delivery failed: the IDT (a #DF reading it), and the last fault address. */
	dump_walk(vp, idtr.base);
	if ((cr2 ^ idtr.base) & PAGE_MASK && (cr2 ^ rip) & PAGE_MASK)
		dump_walk(vp, cr2);
	for (i = 0; i < LINHV_EXIT_HIST; i++) {
		const struct linhv_exit_rec *e = &vp->hist[(vp->hist_pos + i) % LINHV_EXIT_HIST];

		if (e->code || e->rip)
			pr_warn("linhv:   exit %llx info %llx %llx int_info %llx injected %llx rip %llx cr3 %llx\n",
				e->code, e->info1, e->info2, e->int_info, e->inj, e->rip, e->cr3);
	}
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Guest virtual to guest physical translation with the VP's current paging
 * mode, for fetching the bytes of an intercepted instruction (CPUs without
 * decode assists do not hand them to us). Every table entry is read from
 * guest memory through the region map, so a hostile guest can at worst make
 * the walk fail.
 */
#include "linhv_internal.h"

#define PTE_P BIT_ULL(0)
#define PTE_RW BIT_ULL(1)
#define PTE_PS BIT_ULL(7)
#define PTE_ADDR 0x000ffffffffff000ULL
/* CS.L in the TLFS segment attributes (descriptor bit 53). */
#define SEG_ATTR_L BIT(13)

static int read_pte(struct linhv_vp *vp, u64 gpa, u64 *pte, int size)
{
	u32 v32;

	if (size == 4) {
		if (linhv_read_guest(vp->part, gpa, &v32, 4))
			return -EFAULT;
		*pte = v32;
		return 0;
	}
	return linhv_read_guest(vp->part, gpa, pte, 8) ? -EFAULT : 0;
}

int linhv_gva_to_gpa(struct linhv_vp *vp, u64 gva, bool write, u64 *gpa)
{
	u64 cr0 = linhv_get_reg(vp, LINHV_REG_CR0), efer = linhv_get_reg(vp, LINHV_REG_EFER);
	u64 cr3, cr4, pte, table;
	int level, shift;

	if (!(cr0 & X86_CR0_PG)) {
		*gpa = (efer & EFER_LMA) ? gva : (u32)gva;
		return 0;
	}

	cr3 = linhv_get_reg(vp, LINHV_REG_CR3);
	cr4 = linhv_get_reg(vp, LINHV_REG_CR4);
	if (efer & EFER_LMA) {
		/* 4-level (5-level guests are not offered LA57). */
		table = cr3 & PTE_ADDR;
		for (level = 4; level >= 1; level--) {
			shift = 12 + 9 * (level - 1);
			if (read_pte(vp, table + ((gva >> shift) & 511) * 8, &pte, 8))
				return -EFAULT;
			if (!(pte & PTE_P) || (write && !(pte & PTE_RW)))
				return -EFAULT;
			if (level > 1 && level < 4 && (pte & PTE_PS)) {
				u64 mask = (1ULL << shift) - 1;

				*gpa = ((pte & PTE_ADDR) & ~mask) | (gva & mask);
				return 0;
			}
			table = pte & PTE_ADDR;
		}
		*gpa = table | (gva & 0xfff);
		return 0;
	}

	gva = (u32)gva;
	if (cr4 & X86_CR4_PAE) {
		/* PAE: 4 PDPTEs at CR3, then 2 levels of 8-byte entries. */
		if (read_pte(vp, (cr3 & 0xffffffe0) + ((gva >> 30) & 3) * 8, &pte, 8))
			return -EFAULT;
		if (!(pte & PTE_P))
			return -EFAULT;
		table = pte & PTE_ADDR;
		for (level = 2; level >= 1; level--) {
			shift = 12 + 9 * (level - 1);
			if (read_pte(vp, table + ((gva >> shift) & 511) * 8, &pte, 8))
				return -EFAULT;
			if (!(pte & PTE_P) || (write && !(pte & PTE_RW)))
				return -EFAULT;
			if (level == 2 && (pte & PTE_PS)) {
				*gpa = (pte & PTE_ADDR & ~0x1fffffULL) | (gva & 0x1fffff);
				return 0;
			}
			table = pte & PTE_ADDR;
		}
		*gpa = table | (gva & 0xfff);
		return 0;
	}

	/* Legacy 32-bit paging, with 4 MiB pages when CR4.PSE is set. */
	table = cr3 & 0xfffff000;
	if (read_pte(vp, table + ((gva >> 22) & 1023) * 4, &pte, 4))
		return -EFAULT;
	if (!(pte & PTE_P) || (write && !(pte & PTE_RW)))
		return -EFAULT;
	if ((pte & PTE_PS) && (cr4 & X86_CR4_PSE)) {
		*gpa = (pte & 0xffc00000) | (gva & 0x3fffff);
		return 0;
	}
	if (read_pte(vp, (pte & 0xfffff000) + ((gva >> 12) & 1023) * 4, &pte, 4))
		return -EFAULT;
	if (!(pte & PTE_P) || (write && !(pte & PTE_RW)))
		return -EFAULT;
	*gpa = (pte & 0xfffff000) | (gva & 0xfff);
	return 0;
}

/* Copy up to max bytes at CS:RIP; returns how many could be read. */
int linhv_fetch_insn(struct linhv_vp *vp, u8 *bytes, int max)
{
	struct hv_x64_segment_register cs;
	u64 rip = linhv_get_reg(vp, LINHV_REG_RIP);
	bool lm;
	u64 lin;
	int got = 0;

	linhv_vendor->get_seg(vp, LINHV_SEG_CS, &cs);
	lm = (linhv_get_reg(vp, LINHV_REG_EFER) & EFER_LMA) && (cs.attributes & SEG_ATTR_L);
	lin = lm ? rip : (u32)(cs.base + rip);

	while (got < max) {
		u64 gpa;
		int n = min_t(int, max - got, PAGE_SIZE - offset_in_page(lin + got));

		if (linhv_gva_to_gpa(vp, lin + got, false, &gpa))
			break;
		if (linhv_read_guest(vp->part, gpa, bytes + got, n))
			break;
		got += n;
	}
	return got;
}

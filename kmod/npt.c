// SPDX-License-Identifier: GPL-2.0
/*
 * Nested page tables (AMD NPT): an ordinary x86-64 4-level table that maps
 * guest physical to host physical addresses. Hardware walks it as a user
 * access, so every level carries the U bit. Filled lazily, one 4 KiB page per
 * nested page fault; emptied on unmap; freed with the partition.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <asm/page.h>
#include <asm/io.h>

#include "linhv_internal.h"

#define NPT_P BIT_ULL(0)
#define NPT_RW BIT_ULL(1)
#define NPT_US BIT_ULL(2)
#define NPT_A BIT_ULL(5)
#define NPT_D BIT_ULL(6)
#define NPT_NX BIT_ULL(63)
#define NPT_ADDR_MASK 0x000ffffffffff000ULL
#define NPT_TABLE_FLAGS (NPT_P | NPT_RW | NPT_US | NPT_A)

static u64 *alloc_table(struct linhv_npt *npt, u64 *pa)
{
	struct page *pg = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (!pg)
		return NULL;
	npt->nr_tables++;
	*pa = page_to_phys(pg);
	return page_address(pg);
}

int linhv_npt_init(struct linhv_npt *npt)
{
	mutex_init(&npt->lock);
	npt->nr_tables = 0;
	npt->root = alloc_table(npt, &npt->root_pa);
	return npt->root ? 0 : -ENOMEM;
}

static void free_level(u64 *table, int level)
{
	int i;

	if (level > 1) {
		for (i = 0; i < 512; i++) {
			if (table[i] & NPT_P)
				free_level(__va(table[i] & NPT_ADDR_MASK), level - 1);
		}
	}
	free_page((unsigned long)table);
}

void linhv_npt_destroy(struct linhv_npt *npt)
{
	if (npt->root)
		free_level(npt->root, 4);
	npt->root = NULL;
}

static inline int npt_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

int linhv_npt_map(struct linhv_npt *npt, u64 gpa, u64 hpa, u32 flags)
{
	u64 *table;
	u64 pte;
	int level;

	mutex_lock(&npt->lock);
	table = npt->root;
	for (level = 4; level > 1; level--) {
		u64 *e = &table[npt_index(gpa, level)];

		if (!(*e & NPT_P)) {
			u64 pa;
			u64 *next = alloc_table(npt, &pa);

			if (!next) {
				mutex_unlock(&npt->lock);
				return -ENOMEM;
			}
			WRITE_ONCE(*e, pa | NPT_TABLE_FLAGS);
		}
		table = __va(*e & NPT_ADDR_MASK);
	}
	pte = (hpa & NPT_ADDR_MASK) | NPT_P | NPT_US | NPT_A;
	if (flags & HV_MAP_GPA_WRITABLE)
		pte |= NPT_RW | NPT_D;
	if (!(flags & HV_MAP_GPA_EXECUTABLE))
		pte |= NPT_NX;
	WRITE_ONCE(table[npt_index(gpa, 1)], pte);
	mutex_unlock(&npt->lock);
	return 0;
}

static void unmap_level(u64 *table, int level, u64 base, u64 start, u64 end)
{
	u64 span = 1ULL << (PAGE_SHIFT + 9 * (level - 1));
	int i;

	for (i = 0; i < 512; i++) {
		u64 lo = base + i * span, hi = lo + span;

		if (hi <= start || lo >= end || !(table[i] & NPT_P))
			continue;
		if (level == 1)
			WRITE_ONCE(table[i], 0);
		else
			unmap_level(__va(table[i] & NPT_ADDR_MASK), level - 1, lo, start, end);
	}
}

void linhv_npt_unmap_range(struct linhv_npt *npt, u64 gpa, u64 size)
{
	mutex_lock(&npt->lock);
	unmap_level(npt->root, 4, 0, gpa, gpa + size);
	mutex_unlock(&npt->lock);
}

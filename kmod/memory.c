// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory: ranges of the root's address space pinned long-term and
 * mapped at guest physical addresses. The nested page table is filled on
 * demand from these regions (npt.c); an access outside every region becomes
 * an intercept to the root.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "linhv_internal.h"

static void region_release(struct linhv_region *r)
{
	unpin_user_pages_dirty_lock(r->pages, r->npages, r->flags & HV_MAP_GPA_WRITABLE);
	kvfree(r->pages);
	r->pages = NULL;
}

int linhv_map_gpa(struct linhv_partition *part, const struct linhv_in_map_gpa_pages *in)
{
	struct linhv_region r = {0};
	unsigned long addr = in->user_address;
	unsigned int gup_flags = FOLL_LONGTERM;
	u64 done = 0;
	u32 i;
	int ret;

	if (in->reserved || (in->map_flags & ~HV_MAP_GPA_PERMISSIONS_MASK) ||
	    !(in->map_flags & HV_MAP_GPA_READABLE))
		return HV_STATUS_INVALID_PARAMETER;
	if (!in->page_count || in->page_count > LINHV_MAX_MAP_PAGES ||
	    in->target_gpa_page >= LINHV_MAX_GFN ||
	    in->page_count > LINHV_MAX_GFN - in->target_gpa_page)
		return HV_STATUS_INVALID_PARAMETER;
	if (!PAGE_ALIGNED(addr))
		return HV_STATUS_INVALID_ALIGNMENT;
	if (!access_ok((void __user *)addr, in->page_count << PAGE_SHIFT))
		return HV_STATUS_INVALID_PARAMETER;

	r.gfn = in->target_gpa_page;
	r.npages = in->page_count;
	r.flags = in->map_flags;
	if (r.flags & HV_MAP_GPA_WRITABLE)
		gup_flags |= FOLL_WRITE;
	r.pages = kvcalloc(r.npages, sizeof(*r.pages), GFP_KERNEL_ACCOUNT);
	if (!r.pages)
		return HV_STATUS_INSUFFICIENT_MEMORY;

	while (done < r.npages) {
		int chunk = (int)min_t(u64, r.npages - done, 512);

		ret = pin_user_pages_fast(addr + (done << PAGE_SHIFT), chunk, gup_flags,
					  r.pages + done);
		if (ret <= 0) {
			unpin_user_pages(r.pages, done);
			kvfree(r.pages);
			return ret == -ENOMEM ? HV_STATUS_INSUFFICIENT_MEMORY :
						HV_STATUS_INVALID_PARAMETER;
		}
		done += ret;
	}

	down_write(&part->mem_lock);
	ret = HV_STATUS_SUCCESS;
	if (part->nr_regions == LINHV_MAX_REGIONS)
		ret = HV_STATUS_INSUFFICIENT_MEMORY;
	for (i = 0; ret == HV_STATUS_SUCCESS && i < part->nr_regions; i++) {
		const struct linhv_region *o = &part->regions[i];

		if (r.gfn < o->gfn + o->npages && o->gfn < r.gfn + r.npages)
			ret = HV_STATUS_INVALID_PARAMETER; /* overlap */
	}
	if (ret == HV_STATUS_SUCCESS)
		part->regions[part->nr_regions++] = r;
	up_write(&part->mem_lock);
	if (ret != HV_STATUS_SUCCESS)
		region_release(&r);
	return ret;
}

int linhv_unmap_gpa(struct linhv_partition *part, const struct linhv_in_unmap_gpa_pages *in)
{
	struct linhv_region *r;
	u32 i;

	if (in->flags || !in->page_count)
		return HV_STATUS_INVALID_PARAMETER;

	down_write(&part->mem_lock);
	for (i = 0; i < part->nr_regions; i++) {
		r = &part->regions[i];
		if (r->gfn == in->target_gpa_page && r->npages == in->page_count)
			break;
	}
	if (i == part->nr_regions) {
		up_write(&part->mem_lock);
		return HV_STATUS_INVALID_PARAMETER;
	}
	/*
	 * Remove the region and its translations, then (outside mem_lock, which
	 * must not nest part->lock) make sure no VP still runs with them cached
	 * before the pages go back to the root.
	 */
	{
		struct linhv_region gone = *r;

		part->regions[i] = part->regions[--part->nr_regions];
		linhv_npt_unmap_range(&part->npt, gone.gfn << PAGE_SHIFT,
				      gone.npages << PAGE_SHIFT);
		up_write(&part->mem_lock);
		linhv_partition_kick_all(part, true);
		region_release(&gone);
	}
	return HV_STATUS_SUCCESS;
}

void linhv_memory_destroy(struct linhv_partition *part)
{
	u32 i;

	for (i = 0; i < part->nr_regions; i++)
		region_release(&part->regions[i]);
	part->nr_regions = 0;
}

struct page *linhv_gfn_to_page(struct linhv_partition *part, u64 gfn, u32 *flags)
{
	u32 i;

	for (i = 0; i < part->nr_regions; i++) {
		const struct linhv_region *r = &part->regions[i];

		if (gfn >= r->gfn && gfn - r->gfn < r->npages) {
			if (flags)
				*flags = r->flags;
			return r->pages[array_index_nospec((unsigned long)(gfn - r->gfn), (unsigned long)r->npages)];
		}
	}
	return NULL;
}

static int access_guest(struct linhv_partition *part, u64 gpa, void *buf, size_t len, bool write)
{
	int ret = 0;

	down_read(&part->mem_lock);
	while (len) {
		size_t off = offset_in_page(gpa);
		size_t n = min_t(size_t, len, PAGE_SIZE - off);
		u32 flags;
		struct page *pg = linhv_gfn_to_page(part, gpa >> PAGE_SHIFT, &flags);
		void *va;

		if (!pg || (write && !(flags & HV_MAP_GPA_WRITABLE))) {
			ret = -EFAULT;
			break;
		}
		va = kmap_local_page(pg);
		if (write)
			memcpy(va + off, buf, n);
		else
			memcpy(buf, va + off, n);
		kunmap_local(va);
		if (write)
			set_page_dirty_lock(pg);
		gpa += n;
		buf += n;
		len -= n;
	}
	up_read(&part->mem_lock);
	return ret;
}

int linhv_read_guest(struct linhv_partition *part, u64 gpa, void *buf, size_t len)
{
	return access_guest(part, gpa, buf, len, false);
}

int linhv_write_guest(struct linhv_partition *part, u64 gpa, const void *buf, size_t len)
{
	return access_guest(part, gpa, (void *)buf, len, true);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory: ranges of the root's address space mapped at guest physical
 * addresses. Nothing is pinned. A region only records where the guest's
 * memory lives in the root's mm; a nested page fault faults the host page in
 * and maps it in the nested page table (2 MiB at once when the root maps a
 * huge page there); the nested leaf keeps a page reference until it is zapped
 * and flushed (npt.c), which does not stop reclaim or migration: both unmap
 * the page from the root first, and that zaps the leaf. An
 * mmu_interval_notifier per region keeps the two coherent: whenever the root's
 * page tables change under a region (munmap, reclaim, swap, migration, KSM,
 * THP split, COW) the nested entries of that range are zapped and every CPU
 * running one of the partition's VPs is made to flush its TLB before the
 * notifier returns. A fault that raced with such an invalidation is retried
 * (mmu_interval_read_begin/retry, checked under the NPT lock).
 *
 * Lock order: mem_lock, then the root's mmap_lock (inside GUP), then the NPT
 * spinlock. The notifier takes only the NPT spinlock, so GUP and the page
 * allocations done by the fault path may recurse into it through reclaim.
 */
#include <linux/highmem.h>
#include <linux/version.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/pgtable.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "linhv_internal.h"

static void flush_ipi(void *info)
{
}

/*
 * Make sure no VP of the partition uses a translation removed before this
 * call: a VP entering later sees the new generation and flushes; a VP in the
 * guest now is interrupted (and flushes on its next entry) before we return.
 * Pairs with the barrier in linhv_vp_enter_begin (run.c).
 */
void linhv_memory_flush_tlb(struct linhv_partition *part)
{
	atomic64_inc(&part->tlb_gen);
	smp_mb__after_atomic();
	on_each_cpu_mask(&part->in_guest_cpus, flush_ipi, NULL, true);
}

static bool region_invalidate(struct mmu_interval_notifier *mni,
			      const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct linhv_region *r = container_of(mni, struct linhv_region, notifier);
	struct linhv_partition *part = r->part;
	unsigned long start = max(range->start, r->uaddr);
	unsigned long end = min(range->end, r->uaddr + (r->npages << PAGE_SHIFT));

	spin_lock(&part->npt.lock);
	mmu_interval_set_seq(mni, cur_seq);
	if (start < end)
		linhv_npt_unmap_range_locked(&part->npt, (r->gfn << PAGE_SHIFT) + (start - r->uaddr),
					     end - start, range->event);
	spin_unlock(&part->npt.lock);
	return true;
}

static const struct mmu_interval_notifier_ops region_ops = {
	.invalidate = region_invalidate,
};

static void region_free(struct linhv_region *r)
{
	mmu_interval_notifier_remove(&r->notifier);
	kfree(r);
}

/* Device memory (VM_IO/VM_PFNMAP): no pages to fault in, only the root's PFNs. */
static bool is_device_vma(const struct vm_area_struct *vma)
{
	return vma && (vma->vm_flags & (VM_IO | VM_PFNMAP));
}

int linhv_map_gpa(struct linhv_partition *part, const struct linhv_in_map_gpa_pages *in)
{
	struct vm_area_struct *vma;
	struct linhv_region *r;
	unsigned long addr = in->user_address;
	bool mmio;
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
	if (!current->mm)
		return HV_STATUS_ACCESS_DENIED;

	/* All of a partition's memory lives in one mm: the first mapper's. */
	down_write(&part->mem_lock);
	if (!part->mm) {
		mmgrab(current->mm);
		part->mm = current->mm;
	}
	ret = part->mm == current->mm ? HV_STATUS_SUCCESS : HV_STATUS_ACCESS_DENIED;
	up_write(&part->mem_lock);
	if (ret != HV_STATUS_SUCCESS)
		return ret;

	/*
	 * Device memory (an assigned device's BAR, mapped VM_IO|VM_PFNMAP by the
	 * root) has no pages to fault in: it is mapped by PFN, uncached. One
	 * such region lies within one of the root's mappings.
	 */
	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, addr);
	mmio = is_device_vma(vma);
	if (mmio && (in->page_count << PAGE_SHIFT) > vma->vm_end - addr)
		ret = HV_STATUS_INVALID_PARAMETER;
	mmap_read_unlock(current->mm);
	if (ret != HV_STATUS_SUCCESS)
		return ret;

	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return HV_STATUS_INSUFFICIENT_MEMORY;
	r->mmio = mmio;
	r->part = part;
	r->uaddr = addr;
	r->gfn = in->target_gpa_page;
	r->npages = in->page_count;
	r->flags = in->map_flags;
	if (mmu_interval_notifier_insert(&r->notifier, current->mm, addr,
					 r->npages << PAGE_SHIFT, &region_ops)) {
		kfree(r);
		return HV_STATUS_INSUFFICIENT_MEMORY;
	}

	down_write(&part->mem_lock);
	ret = HV_STATUS_SUCCESS;
	if (part->nr_regions == LINHV_MAX_REGIONS)
		ret = HV_STATUS_INSUFFICIENT_MEMORY;
	for (i = 0; ret == HV_STATUS_SUCCESS && i < part->nr_regions; i++) {
		const struct linhv_region *o = part->regions[i];

		if (r->gfn < o->gfn + o->npages && o->gfn < r->gfn + r->npages)
			ret = HV_STATUS_INVALID_PARAMETER; /* overlap */
	}
	if (ret == HV_STATUS_SUCCESS && linhv_iommu_region_added(part, r))
		ret = HV_STATUS_INSUFFICIENT_MEMORY; /* an assigned device needs it pinned */
	if (ret == HV_STATUS_SUCCESS)
		part->regions[part->nr_regions++] = r;
	up_write(&part->mem_lock);
	if (ret != HV_STATUS_SUCCESS)
		region_free(r);
	return ret;
}

int linhv_unmap_gpa(struct linhv_partition *part, const struct linhv_in_unmap_gpa_pages *in)
{
	struct linhv_region *r = NULL;
	u32 i;

	if (in->flags || !in->page_count)
		return HV_STATUS_INVALID_PARAMETER;

	down_write(&part->mem_lock);
	for (i = 0; i < part->nr_regions; i++) {
		if (part->regions[i]->gfn == in->target_gpa_page &&
		    part->regions[i]->npages == in->page_count) {
			r = part->regions[i];
			part->regions[i] = part->regions[--part->nr_regions];
			break;
		}
	}
	if (!r) {
		up_write(&part->mem_lock);
		return HV_STATUS_INVALID_PARAMETER;
	}
	/*
	 * No fault can map into the range any more (the region is gone and
	 * faults hold mem_lock while they map): zap (which flushes), then
	 * stop listening to the root's mm.
	 */
	spin_lock(&part->npt.lock);
	linhv_npt_unmap_range_locked(&part->npt, r->gfn << PAGE_SHIFT, r->npages << PAGE_SHIFT,
				     LINHV_ZAP_UNMAP);
	spin_unlock(&part->npt.lock);
	linhv_iommu_region_removed(part, r);
	up_write(&part->mem_lock);
	region_free(r);
	return HV_STATUS_SUCCESS;
}

/* Every VP is gone: no flush needed, the NPT is freed right after. */
void linhv_memory_destroy(struct linhv_partition *part)
{
	u32 i;

	for (i = 0; i < part->nr_regions; i++)
		region_free(part->regions[i]);
	part->nr_regions = 0;
	if (part->mm)
		mmdrop(part->mm);
	part->mm = NULL;
}

struct linhv_region *linhv_find_region(struct linhv_partition *part, u64 gfn)
{
	u32 i;

	for (i = 0; i < part->nr_regions; i++) {
		struct linhv_region *r = part->regions[i];

		if (gfn >= r->gfn && gfn - r->gfn < r->npages)
			return r;
	}
	return NULL;
}

bool linhv_gpa_is_mapped(struct linhv_partition *part, u64 gpa, u32 *flags)
{
	struct linhv_region *r;

	if (gpa >= (LINHV_MAX_GFN << PAGE_SHIFT))
		return false;
	down_read(&part->mem_lock);
	r = linhv_find_region(part, gpa >> PAGE_SHIFT);
	if (r && flags)
		*flags = r->flags;
	up_read(&part->mem_lock);
	return r;
}

/*
 * Fault the root's page at hva in and take a reference on it (not a pin).
 * *writable: in, the caller may use a writable page; out, the page is
 * writable in the root (so it may be mapped writable in the guest).
 */
static int get_host_page(struct mm_struct *mm, unsigned long hva, bool write, bool *writable,
			 struct page **pg)
{
	unsigned int foll = write ? FOLL_WRITE : 0;
	long got;

	if (current->mm == mm) {
		/* Already present and writable: take it as such, like a write. */
		if (*writable && get_user_page_fast_only(hva, FOLL_WRITE, pg))
			return 0;
		got = get_user_pages_unlocked(hva, 1, pg, foll);
		if (got == 1 && !write && *writable) {
			struct page *wpg;

			/* A read fault-in left a writable PTE (shared memory). */
			if (get_user_page_fast_only(hva, FOLL_WRITE, &wpg)) {
				put_page(*pg);
				*pg = wpg;
				write = true;
			}
		}
	} else {
		/* The root's worker reached us from another process. */
		int locked = 1;

		if (!mmget_not_zero(mm))
			return -EFAULT;
		if (mmap_read_lock_killable(mm)) {
			mmput(mm);
			return -EINTR;
		}
		got = get_user_pages_remote(mm, hva, 1, foll, pg, NULL, &locked);
		if (locked)
			mmap_read_unlock(mm);
		mmput(mm);
	}
	if (got != 1)
		return got < 0 ? (int)got : -EFAULT;
	*writable = write;
	return 0;
}

/*
 * The physical address of the 2 MiB page the root maps at hva with one PMD
 * leaf (a transparent or hugetlbfs huge page), or 0. Lockless, like fast
 * GUP: interrupts off keep the root's page tables from being freed, and the
 * caller's notifier sequence check makes any later change of them retry.
 */
static u64 host_huge_page(struct mm_struct *mm, unsigned long hva, bool writable)
{
	unsigned long irqflags;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;
	u64 pa = 0;

	local_irq_save(irqflags);
	pgd = READ_ONCE(*pgd_offset(mm, hva));
	if (pgd_none(pgd) || !pgd_present(pgd))
		goto out;
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (p4d_none(p4d) || !p4d_present(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (pud_none(pud) || !pud_present(pud) || pud_large(pud))
		goto out;
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	if (!pmd_present(pmd) || !pmd_large(pmd) || (writable && !pmd_write(pmd)))
		goto out;
	pa = (u64)pmd_pfn(pmd) << PAGE_SHIFT;
out:
	local_irq_restore(irqflags);
	return pa;
}

/* The region covers gpa's whole 2 MiB frame, at the same offset as the root's. */
static bool region_allows_2m(const struct linhv_region *r, u64 gpa, unsigned long hva)
{
	u64 first = (gpa & ~(u64)(SZ_2M - 1)) >> PAGE_SHIFT;

	return ((gpa ^ hva) & (SZ_2M - 1)) == 0 && first >= r->gfn &&
	       first + PTRS_PER_PMD <= r->gfn + r->npages;
}

/*
 * Map the faulted page; with a 2 MiB leaf when the root backs the whole
 * frame with one huge page. Caller holds the NPT lock.
 */
static int map_fault(struct linhv_partition *part, const struct linhv_region *r, u64 gpa,
		     unsigned long hva, struct page *pg, bool writable)
{
	u32 flags = writable ? r->flags : r->flags & ~HV_MAP_GPA_WRITABLE;
	int ret;

	if (region_allows_2m(r, gpa, hva)) {
		u64 huge = host_huge_page(part->mm, hva, writable);

		if (huge && IS_ALIGNED(huge, SZ_2M)) {
			ret = linhv_npt_map_locked(&part->npt, gpa & ~(u64)(SZ_2M - 1), huge, flags,
						   2);
			if (ret != -EEXIST)
				return ret;
		}
	}
	return linhv_npt_map_locked(&part->npt, gpa, page_to_phys(pg), flags, 1);
}

/*
 * The PFN the root maps at hva in a VM_IO/VM_PFNMAP mapping, and whether it
 * is writable there. mmap_lock held.
 */
static int host_pfn(struct vm_area_struct *vma, unsigned long hva, unsigned long *pfn,
		    bool *writable)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	struct follow_pfnmap_args args = {.vma = vma, .address = hva};
	int ret = follow_pfnmap_start(&args);

	if (ret)
		return ret;
	*pfn = args.pfn;
	*writable = args.writable;
	follow_pfnmap_end(&args);
	return 0;
#else
	spinlock_t *ptl;
	pte_t *ptep;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
	int ret = follow_pte(vma, hva, &ptep, &ptl);
#else
	int ret = follow_pte(vma->vm_mm, hva, &ptep, &ptl);
#endif

	if (ret)
		return ret;
	*pfn = pte_pfn(*ptep);
	*writable = pte_write(*ptep);
	pte_unmap_unlock(ptep, ptl);
	return 0;
#endif
}

/*
 * A fault on device memory: the root's PTE gives the frame (faulted in
 * first where the mapping fills lazily, as vfio-pci's does); the leaf holds
 * no reference, and the notifier zaps it when the root's mapping goes.
 * mem_lock held for reading.
 */
static int mmio_fault(struct linhv_partition *part, struct linhv_region *r, u64 gpa,
		      unsigned long hva, bool write, unsigned long seq)
{
	struct mm_struct *mm = part->mm;
	struct vm_area_struct *vma;
	unsigned long pfn = 0;
	bool writable = false;
	int ret;

	if (!mmget_not_zero(mm))
		return -EFAULT;
	if (mmap_read_lock_killable(mm)) {
		mmput(mm);
		return -EINTR;
	}
	vma = vma_lookup(mm, hva);
	if (!is_device_vma(vma)) {
		ret = -EFAULT;
	} else {
		ret = host_pfn(vma, hva, &pfn, &writable);
		if (ret) {
			bool unlocked = false;

			/* Not filled in yet; the lock may be dropped meanwhile: look again. */
			ret = fixup_user_fault(mm, hva, write ? FAULT_FLAG_WRITE : 0, &unlocked);
			vma = ret ? NULL : vma_lookup(mm, hva);
			ret = is_device_vma(vma) ? host_pfn(vma, hva, &pfn, &writable) : -EFAULT;
		}
	}
	mmap_read_unlock(mm);
	mmput(mm);
	if (ret)
		return ret;
	if (write && !writable)
		return -EFAULT;
	spin_lock(&part->npt.lock);
	if (!mmu_interval_read_retry(&r->notifier, seq))
		ret = linhv_npt_map_locked(&part->npt, gpa & PAGE_MASK, (u64)pfn << PAGE_SHIFT,
					   (writable ? r->flags : r->flags & ~HV_MAP_GPA_WRITABLE) |
						   LINHV_NPT_MAP_MMIO,
					   1);
	spin_unlock(&part->npt.lock);
	return ret;
}

/*
 * A nested page fault at gpa that the guest's mapping permits: map the page.
 * Returns 0 when mapped (or when the fault must simply be retried), 1 when
 * gpa is not in a region that allows the access (the root handles it), or a
 * negative errno when the root's memory behind the region is gone.
 */
int linhv_memory_fault(struct linhv_partition *part, u64 gpa, u8 access)
{
	bool write = access == HV_INTERCEPT_ACCESS_WRITE;
	struct linhv_region *r;
	unsigned long seq, hva;
	struct page *pg;
	bool writable;
	u64 gfn = gpa >> PAGE_SHIFT;
	int ret;

	if (gpa >= (LINHV_MAX_GFN << PAGE_SHIFT))
		return 1;
	ret = linhv_npt_topup(&part->npt);
	if (ret)
		return ret;
	down_read(&part->mem_lock);
	r = linhv_find_region(part, gfn);
	if (!r || (write && !(r->flags & HV_MAP_GPA_WRITABLE)) ||
	    (access == HV_INTERCEPT_ACCESS_EXECUTE && !(r->flags & HV_MAP_GPA_EXECUTABLE))) {
		up_read(&part->mem_lock);
		return 1;
	}
	hva = r->uaddr + ((gfn - r->gfn) << PAGE_SHIFT);
	seq = mmu_interval_read_begin(&r->notifier);
	if (r->mmio) {
		ret = mmio_fault(part, r, gpa, hva, write, seq);
		up_read(&part->mem_lock);
		if (ret == -EINTR || ret == -ERESTARTSYS || ret == -EAGAIN)
			return 0;
		return ret;
	}
	writable = r->flags & HV_MAP_GPA_WRITABLE;
	ret = get_host_page(part->mm, hva, write, &writable, &pg);
	if (ret) {
		up_read(&part->mem_lock);
		/* Interrupted (the worker is being killed): the run loop sees it. */
		return ret == -EINTR || ret == -ERESTARTSYS || ret == -EAGAIN ? 0 : ret;
	}
	/*
	 * The guest writes behind the root's page tables, so the root's dirty
	 * bit never learns of it: mark the page dirty now, or reclaim could drop
	 * a clean copy. An invalidation that cleans the page also zaps us.
	 */
	if (writable)
		set_page_dirty_lock(pg);
	spin_lock(&part->npt.lock);
	if (!mmu_interval_read_retry(&r->notifier, seq))
		ret = map_fault(part, r, gpa, hva, pg, writable);
	spin_unlock(&part->npt.lock);
	put_page(pg);
	up_read(&part->mem_lock);
	/* -EAGAIN: a racing fault used the preallocated tables; try again. */
	return ret == -EAGAIN ? 0 : ret;
}

/*
 * The page backing gpa with a reference held for a short access by the
 * kernel, or NULL when gpa is not guest RAM allowing the access. The
 * reference keeps the page from being freed or migrated while it is used;
 * release with put_page() (after set_page_dirty_lock() for a write).
 */
struct page *linhv_guest_page_get(struct linhv_partition *part, u64 gpa, bool write)
{
	struct linhv_region *r;
	struct page *pg = NULL;
	bool writable = write;
	u64 gfn = gpa >> PAGE_SHIFT;

	if (gpa >= (LINHV_MAX_GFN << PAGE_SHIFT))
		return NULL;
	down_read(&part->mem_lock);
	r = linhv_find_region(part, gfn);
	if (r && (!write || (r->flags & HV_MAP_GPA_WRITABLE)) &&
	    get_host_page(part->mm, r->uaddr + ((gfn - r->gfn) << PAGE_SHIFT), write, &writable,
			  &pg))
		pg = NULL;
	up_read(&part->mem_lock);
	return pg;
}

static int access_guest(struct linhv_partition *part, u64 gpa, void *buf, size_t len, bool write)
{
	while (len) {
		size_t off = offset_in_page(gpa);
		size_t n = min_t(size_t, len, PAGE_SIZE - off);
		struct page *pg = linhv_guest_page_get(part, gpa, write);
		void *va;

		if (!pg)
			return -EFAULT;
		va = kmap_local_page(pg);
		if (write)
			memcpy(va + off, buf, n);
		else
			memcpy(buf, va + off, n);
		kunmap_local(va);
		if (write)
			set_page_dirty_lock(pg);
		put_page(pg);
		gpa += n;
		buf += n;
		len -= n;
	}
	return 0;
}

int linhv_read_guest(struct linhv_partition *part, u64 gpa, void *buf, size_t len)
{
	return access_guest(part, gpa, buf, len, false);
}

int linhv_write_guest(struct linhv_partition *part, u64 gpa, const void *buf, size_t len)
{
	return access_guest(part, gpa, (void *)buf, len, true);
}

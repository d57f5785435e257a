// SPDX-License-Identifier: GPL-2.0
/*
 * Device assignment, the IOMMU half: one IOMMU domain per partition (its
 * "device domain"), into which the partition's GPA space is mirrored, so
 * that an assigned device's DMA addresses are guest physical addresses and
 * reach the partition's memory and nothing else.
 *
 * Everything goes through the kernel's IOMMU API. Attaching a PCI device
 * takes DMA ownership of its whole IOMMU group (the kernel refuses while a
 * device of the group is bound to a driver that uses the DMA API: only
 * vfio-pci, pci-stub or no driver at all let it go). While a device is
 * attached, every page of every region is pinned (FOLL_LONGTERM: moved out
 * of movable memory first, then never migrated) and mapped at its GPA; a
 * region mapped or unmapped meanwhile is pinned and mapped, or unmapped and
 * unpinned, in the same call. The nested page tables stay demand-faulted as
 * before; a pinned page is what the root's mm maps, so both agree as long
 * as the root does not replace the page (MADV_DONTNEED on guest RAM while a
 * device is attached would leave the device on the old page, as with VFIO).
 *
 * Lock order: mem_lock (regions, the domain and its devices), then the
 * root's mmap_lock inside GUP.
 */
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/pm_runtime.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/version.h>

#include "linhv_internal.h"

struct linhv_assigned {
	struct list_head link;
	struct pci_dev *pdev;
	struct iommu_group *group;
	bool pm_ref; /* a runtime-PM reference keeps it powered while attached */
};

static int map_one(struct iommu_domain *d, u64 iova, phys_addr_t pa, size_t size, int prot)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return iommu_map(d, iova, pa, size, prot, GFP_KERNEL_ACCOUNT);
#else
	return iommu_map(d, iova, pa, size, prot);
#endif
}

static void region_unpin(struct linhv_partition *part, struct linhv_region *r)
{
	if (!r->pinned)
		return;
	iommu_unmap(part->iommu.domain, r->gfn << PAGE_SHIFT, r->npages << PAGE_SHIFT);
	/* The device may have written any of them. */
	unpin_user_pages_dirty_lock(r->pinned, r->npinned, true);
	kvfree(r->pinned);
	r->pinned = NULL;
	r->npinned = 0;
}

/* Pin the region's pages and map them at their GPAs, in physically contiguous runs. */
static int region_pin(struct linhv_partition *part, struct linhv_region *r)
{
	unsigned int gup = FOLL_LONGTERM | (r->flags & HV_MAP_GPA_WRITABLE ? FOLL_WRITE : 0);
	int prot = IOMMU_READ | (r->flags & HV_MAP_GPA_WRITABLE ? IOMMU_WRITE : 0);
	u64 done = 0, i, run;
	int ret = 0;

	if (r->pinned || r->mmio)
		return 0; /* device memory: no DMA from one device to another's BAR */
	r->pinned = kvcalloc(r->npages, sizeof(*r->pinned), GFP_KERNEL_ACCOUNT);
	if (!r->pinned)
		return -ENOMEM;
	while (done < r->npages) {
		int n = min_t(u64, r->npages - done, 512 * 64);
		long got = pin_user_pages_fast(r->uaddr + (done << PAGE_SHIFT), n, gup,
					       r->pinned + done);

		if (got <= 0) {
			ret = got ? got : -EFAULT;
			break;
		}
		done += got;
		r->npinned = done;
	}
	for (i = 0; !ret && i < done; i += run) {
		phys_addr_t pa = page_to_phys(r->pinned[i]);

		for (run = 1; i + run < done && page_to_phys(r->pinned[i + run]) ==
							pa + (run << PAGE_SHIFT);
		     run++)
			;
		ret = map_one(part->iommu.domain, (r->gfn + i) << PAGE_SHIFT, pa,
			      run << PAGE_SHIFT, prot);
	}
	if (ret) {
		region_unpin(part, r);
		return ret;
	}
	return 0;
}

/* A region was just added (mem_lock held for writing): mirror it if a device needs it. */
int linhv_iommu_region_added(struct linhv_partition *part, struct linhv_region *r)
{
	if (list_empty(&part->iommu.devs))
		return 0;
	return region_pin(part, r);
}

/* A region is going away (mem_lock held for writing). */
void linhv_iommu_region_removed(struct linhv_partition *part, struct linhv_region *r)
{
	if (part->iommu.domain)
		region_unpin(part, r);
}

/*
 * For the triple-fault log: the frame pinned for gpa and where the domain
 * sends a device's DMA to gpa, both 0 while no device is attached.
 */
void linhv_iommu_frames(struct linhv_partition *part, u64 gpa, u64 *pinned, u64 *dma)
{
	struct linhv_region *r;
	u64 gfn = gpa >> PAGE_SHIFT;

	*pinned = 0;
	*dma = 0;
	down_read(&part->mem_lock);
	r = linhv_find_region(part, gfn);
	if (r && r->pinned && gfn - r->gfn < r->npinned)
		*pinned = page_to_phys(r->pinned[gfn - r->gfn]);
	if (part->iommu.domain && !list_empty(&part->iommu.devs))
		*dma = iommu_iova_to_phys(part->iommu.domain, gpa & PAGE_MASK);
	up_read(&part->mem_lock);
}

static int fault_handler(struct iommu_domain *d, struct device *dev, unsigned long iova, int flags,
			 void *token)
{
	struct linhv_partition *part = token;

	pr_warn_ratelimited("linhv: partition %llu: DMA %s fault at GPA %#lx from %s\n", part->id,
			    flags & IOMMU_FAULT_WRITE ? "write" : "read", iova,
			    dev ? dev_name(dev) : "an unknown device");
	return -ENOSYS; /* not handled: the IOMMU driver logs and blocks it as usual */
}

static struct linhv_assigned *find_assigned(struct linhv_partition *part, struct pci_dev *pdev)
{
	struct linhv_assigned *a;

	list_for_each_entry(a, &part->iommu.devs, link)
		if (a->pdev == pdev)
			return a;
	return NULL;
}

/* The device is attached to the partition (mem_lock held). */
bool linhv_iommu_attached(struct linhv_partition *part, struct pci_dev *pdev)
{
	return find_assigned(part, pdev) != NULL;
}

static void detach_locked(struct linhv_partition *part, struct linhv_assigned *a)
{
	u32 i;

	/* Its host interrupt vectors first: they are the partition's until now. */
	linhv_devirq_detach(part, a->pdev);
	/*
	 * Then the device itself, while its DMA can still only reach the
	 * partition: a function reset where it has one (queues the guest left
	 * running stop here, not later in pages the host reuses), else at
	 * least no more bus mastering.
	 */
	if (pci_reset_function(a->pdev))
		pci_clear_master(a->pdev);
	iommu_detach_group(part->iommu.domain, a->group);
	if (a->pm_ref)
		pm_runtime_put(&a->pdev->dev);
	iommu_group_release_dma_owner(a->group);
	pci_info(a->pdev, "linhv: detached from partition %llu\n", part->id);
	iommu_group_put(a->group);
	pci_dev_put(a->pdev);
	list_del(&a->link);
	kfree(a);
	if (!list_empty(&part->iommu.devs))
		return;
	/* The last device is gone: nothing needs the pins any more. */
	for (i = 0; i < part->nr_regions; i++)
		region_unpin(part, part->regions[i]);
	iommu_domain_free(part->iommu.domain);
	part->iommu.domain = NULL;
}

static struct pci_dev *lookup(const struct linhv_in_device_domain *in, u16 *status)
{
	struct pci_dev *pdev;

	if (in->reserved || in->bus > 0xff || in->devfn > 0xff || in->segment > 0xffff) {
		*status = HV_STATUS_INVALID_PARAMETER;
		return NULL;
	}
	pdev = pci_get_domain_bus_and_slot(in->segment, in->bus, in->devfn);
	if (!pdev)
		*status = HV_STATUS_NOT_FOUND;
	return pdev;
}

u16 linhv_iommu_attach(struct linhv_partition *part, const void *in, u32 in_size)
{
	struct linhv_assigned *a = NULL;
	struct iommu_group *group;
	struct pci_dev *pdev;
	u16 status = HV_STATUS_SUCCESS;
	bool new_domain = false;
	u32 i;
	int ret;

	if (in_size != sizeof(struct linhv_in_device_domain))
		return HV_STATUS_INVALID_PARAMETER;
	pdev = lookup(in, &status);
	if (!pdev)
		return status;
	group = iommu_group_get(&pdev->dev);
	if (!group || !device_iommu_mapped(&pdev->dev)) {
		pci_dev_put(pdev);
		if (group)
			iommu_group_put(group);
		return HV_STATUS_FEATURE_UNAVAILABLE; /* no IOMMU translates this device */
	}
	down_write(&part->mem_lock);
	if (part->mm && part->mm != current->mm) {
		status = HV_STATUS_ACCESS_DENIED; /* the pins go through the caller's mm */
		goto out;
	}
	if (find_assigned(part, pdev)) {
		status = HV_STATUS_OBJECT_IN_USE;
		goto out;
	}
	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a) {
		status = HV_STATUS_INSUFFICIENT_MEMORY;
		goto out;
	}
	ret = iommu_group_claim_dma_owner(group, part);
	if (ret) {
		pci_warn(pdev, "linhv: IOMMU group %d is in use by a host driver (%d)\n",
			 iommu_group_id(group), ret);
		status = HV_STATUS_OPERATION_DENIED;
		goto out;
	}
	if (!part->iommu.domain) {
		part->iommu.domain = iommu_domain_alloc(&pci_bus_type);
		if (!part->iommu.domain) {
			iommu_group_release_dma_owner(group);
			status = HV_STATUS_INSUFFICIENT_MEMORY;
			goto out;
		}
		iommu_set_fault_handler(part->iommu.domain, fault_handler, part);
		new_domain = true;
	}
	ret = iommu_attach_group(part->iommu.domain, group);
	if (ret) {
		iommu_group_release_dma_owner(group);
		status = HV_STATUS_OPERATION_DENIED;
		goto undo_domain;
	}
	a->pdev = pdev;
	a->group = group;
	/*
	 * Powered while it is the partition's: vfio-pci runtime-suspends a
	 * device nobody opened (D3hot: its BARs no longer decode), and the
	 * guest's driver cannot wake it.
	 */
	a->pm_ref = pm_runtime_resume_and_get(&pdev->dev) == 0;
	if (pdev->current_state != PCI_D0)
		pci_set_power_state(pdev, PCI_D0);
	list_add(&a->link, &part->iommu.devs);
	for (i = 0; i < part->nr_regions; i++) {
		ret = region_pin(part, part->regions[i]);
		if (ret) {
			pci_warn(pdev, "linhv: pinning partition %llu's memory failed (%d)\n",
				 part->id, ret);
			detach_locked(part, a);
			up_write(&part->mem_lock);
			return ret == -ENOMEM ? HV_STATUS_INSUFFICIENT_MEMORY :
						HV_STATUS_INVALID_PARAMETER;
		}
	}
	pci_info(pdev, "linhv: attached to partition %llu (IOMMU group %d)\n", part->id,
		 iommu_group_id(group));
	up_write(&part->mem_lock);
	return HV_STATUS_SUCCESS;

undo_domain:
	if (new_domain) {
		iommu_domain_free(part->iommu.domain);
		part->iommu.domain = NULL;
	}
out:
	up_write(&part->mem_lock);
	kfree(a);
	iommu_group_put(group);
	pci_dev_put(pdev);
	return status;
}

u16 linhv_iommu_detach(struct linhv_partition *part, const void *in, u32 in_size)
{
	struct linhv_assigned *a;
	struct pci_dev *pdev;
	u16 status = HV_STATUS_SUCCESS;

	if (in_size != sizeof(struct linhv_in_device_domain))
		return HV_STATUS_INVALID_PARAMETER;
	pdev = lookup(in, &status);
	if (!pdev)
		return status;
	down_write(&part->mem_lock);
	a = find_assigned(part, pdev);
	if (a)
		detach_locked(part, a);
	else
		status = HV_STATUS_NOT_FOUND;
	up_write(&part->mem_lock);
	pci_dev_put(pdev);
	return status;
}

void linhv_iommu_init(struct linhv_partition *part)
{
	INIT_LIST_HEAD(&part->iommu.devs);
}

/* Partition teardown (its fd released: vmwp exited or was killed). */
void linhv_iommu_destroy(struct linhv_partition *part)
{
	down_write(&part->mem_lock);
	while (!list_empty(&part->iommu.devs))
		detach_locked(part, list_first_entry(&part->iommu.devs, struct linhv_assigned, link));
	up_write(&part->mem_lock);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Device assignment, the interrupt half: the MSI-X (or MSI) interrupts of a
 * device attached to a partition (iommu.c), delivered to its VPs.
 *
 * The module, not the guest, owns the device's interrupt table: the first
 * route the root maps for a device (HvCallMapDeviceInterrupt) enables the
 * device's MSI-X, or MSI, with as many host vectors as it has, and requests
 * each host IRQ. A host IRQ whose route is enabled becomes a fixed interrupt
 * on the route's VP; a masked route holds one delivery until it is unmasked;
 * an index without a route drops it. The last route removed gives the
 * vectors back, so that the other kind can be enabled next. The guest moves
 * an interrupt with HvCallRetargetDeviceInterrupt, naming it by the address
 * and data the root told it.
 *
 * Locking: part->devirq.lock (a spinlock, taken with interrupts off) covers
 * the device list and every route, so the host IRQ handler, the root's
 * calls and the guest's retarget see each route whole. Enabling and
 * disabling a device's vectors (which sleep) happen under mem_lock held for
 * writing, the lock that also covers attach and detach; the list changes
 * under both. A VP's pointer is read under devirq.lock, and a VP going away
 * passes through that lock after it left part->vps (linhv_devirq_vp_gone),
 * so a handler never uses a freed VP.
 */
#include <linux/interrupt.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/mm.h>

#include "linhv_internal.h"

struct linhv_devirq_dev;

struct linhv_devirq_route {
	struct linhv_devirq_dev *dev; /* the handler's way back */
	u32 index;
	bool mapped;
	bool masked;
	bool pending; /* fired while masked */
	bool requested; /* its host IRQ is requested */
	u8 vector;
	u32 vp_index;
	u64 address;
	u32 data;
};

struct linhv_devirq_dev {
	struct list_head link;
	struct linhv_partition *part;
	struct pci_dev *pdev; /* the attachment's reference keeps it alive */
	u32 kind; /* LINHV_DEVICE_INTERRUPT_MSIX or _MSI */
	u32 nvec; /* host vectors enabled */
	u32 nroutes; /* routes mapped */
	bool held; /* the root asked for the vectors (LINHV_DEVICE_INTERRUPT_VECTORS) */
	char name[32]; /* "linhv-dev:SSSS:BB:DD.F", as /proc/interrupts shows it */
	struct linhv_devirq_route routes[];
};

void linhv_devirq_init(struct linhv_partition *part)
{
	spin_lock_init(&part->devirq.lock);
	INIT_LIST_HEAD(&part->devirq.devs);
}

/* A VP left part->vps: wait out any handler that may still hold its pointer. */
void linhv_devirq_vp_gone(struct linhv_partition *part)
{
	spin_lock_irq(&part->devirq.lock);
	spin_unlock_irq(&part->devirq.lock);
}

/* Under devirq.lock. */
static void deliver(struct linhv_partition *part, const struct linhv_devirq_route *r)
{
	struct linhv_vp *vp = READ_ONCE(part->vps[array_index_nospec(r->vp_index, LINHV_MAX_VPS)]);

	if (vp)
		linhv_vp_assert_interrupt(vp, HV_X64_INTERRUPT_TYPE_FIXED, r->vector);
}

static irqreturn_t devirq_handler(int irq, void *arg)
{
	struct linhv_devirq_route *r = arg;
	struct linhv_partition *part = r->dev->part;
	unsigned long flags;

	spin_lock_irqsave(&part->devirq.lock, flags);
	if (r->mapped) {
		if (r->masked)
			r->pending = true;
		else
			deliver(part, r);
	}
	spin_unlock_irqrestore(&part->devirq.lock, flags);
	return IRQ_HANDLED;
}

static struct linhv_devirq_dev *find_dev(struct linhv_partition *part, struct pci_dev *pdev)
{
	struct linhv_devirq_dev *d;

	list_for_each_entry(d, &part->devirq.devs, link)
		if (d->pdev == pdev)
			return d;
	return NULL;
}

/*
 * Give the device's vectors back and forget it (mem_lock held for writing).
 * Off the list first, so that no retarget finds it; the handlers may run
 * until free_irq() returns, and only touch d.
 */
static void disable(struct linhv_partition *part, struct linhv_devirq_dev *d)
{
	u32 i;

	spin_lock_irq(&part->devirq.lock);
	list_del(&d->link);
	for (i = 0; i < d->nvec; i++)
		d->routes[i].mapped = false;
	spin_unlock_irq(&part->devirq.lock);
	for (i = 0; i < d->nvec; i++)
		if (d->routes[i].requested)
			free_irq(pci_irq_vector(d->pdev, i), &d->routes[i]);
	pci_free_irq_vectors(d->pdev);
	kvfree(d);
}

/*
 * Enable the device's MSI-X or MSI with all the vectors it has and request
 * each (mem_lock held for writing). Returns an HV_STATUS; *out on success.
 */
static u16 enable(struct linhv_partition *part, struct pci_dev *pdev, u32 kind,
		  struct linhv_devirq_dev **out)
{
	struct linhv_devirq_dev *d;
	int n, got, ret;
	u32 i;

	n = kind == LINHV_DEVICE_INTERRUPT_MSIX ? pci_msix_vec_count(pdev) :
						   pci_msi_vec_count(pdev);
	if (n <= 0)
		return HV_STATUS_NOT_FOUND; /* no such capability: no such index */
	d = kvzalloc(struct_size(d, routes, n), GFP_KERNEL_ACCOUNT); /* up to 2048 */
	if (!d)
		return HV_STATUS_INSUFFICIENT_MEMORY;
	/*
	 * MSI needs the device in D0, and a device bound to pci-stub (or to
	 * no driver) may never have been put there (a device without PM
	 * capability stays "unknown" until someone does). Only the power
	 * state: the command register stays the guest's, through the root.
	 */
	if (pdev->current_state != PCI_D0)
		pci_set_power_state(pdev, PCI_D0);
	got = pci_alloc_irq_vectors(pdev, n, n,
				    kind == LINHV_DEVICE_INTERRUPT_MSIX ? PCI_IRQ_MSIX : PCI_IRQ_MSI);
	if (got < 0 && kind == LINHV_DEVICE_INTERRUPT_MSI && n > 1)
		got = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI); /* no multi-MSI here */
	if (got < 0) {
		pci_warn(pdev, "linhv: cannot enable %s (%d)\n",
			 kind == LINHV_DEVICE_INTERRUPT_MSIX ? "MSI-X" : "MSI", got);
		kvfree(d);
		return got == -ENOMEM || got == -ENOSPC ? HV_STATUS_INSUFFICIENT_MEMORY :
							  HV_STATUS_OPERATION_DENIED;
	}
	d->part = part;
	d->pdev = pdev;
	d->kind = kind;
	d->nvec = got;
	snprintf(d->name, sizeof(d->name), "linhv-dev:%s", pci_name(pdev));
	for (i = 0; i < d->nvec; i++) {
		d->routes[i].dev = d;
		d->routes[i].index = i;
	}
	/* On the list before any IRQ is requested: disable() undoes both. */
	spin_lock_irq(&part->devirq.lock);
	list_add(&d->link, &part->devirq.devs);
	spin_unlock_irq(&part->devirq.lock);
	for (i = 0; i < d->nvec; i++) {
		ret = request_irq(pci_irq_vector(pdev, i), devirq_handler, 0, d->name,
				  &d->routes[i]);
		if (ret) {
			pci_warn(pdev, "linhv: cannot request host IRQ %d (%d)\n",
				 pci_irq_vector(pdev, i), ret);
			disable(part, d);
			return HV_STATUS_INSUFFICIENT_MEMORY;
		}
		d->routes[i].requested = true;
	}
	*out = d;
	return HV_STATUS_SUCCESS;
}

/* The input, checked once (it is the kernel's own copy of the root's). */
static u16 check_input(struct linhv_partition *part, const struct linhv_in_device_interrupt *in,
		       bool map)
{
	if (in->reserved || in->segment > 0xffff || in->bus > 0xff || in->devfn > 0xff)
		return HV_STATUS_INVALID_PARAMETER;
	if (in->kind != LINHV_DEVICE_INTERRUPT_MSIX && in->kind != LINHV_DEVICE_INTERRUPT_MSI)
		return HV_STATUS_INVALID_PARAMETER;
	if (in->flags & ~(LINHV_DEVICE_INTERRUPT_MASKED | LINHV_DEVICE_INTERRUPT_VECTORS))
		return HV_STATUS_INVALID_PARAMETER;
	if (in->flags & LINHV_DEVICE_INTERRUPT_VECTORS) {
		/* the vectors alone: nothing of a route */
		if (in->flags & LINHV_DEVICE_INTERRUPT_MASKED || in->index || in->vector ||
		    in->vp_index || in->address || in->data)
			return HV_STATUS_INVALID_PARAMETER;
		return HV_STATUS_SUCCESS;
	}
	if (!map)
		return in->flags ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
	if (in->vector < 16 || in->vector > 255)
		return HV_STATUS_INVALID_PARAMETER;
	if (in->vp_index >= part->max_vps || in->vp_index >= LINHV_MAX_VPS ||
	    !READ_ONCE(part->vps[array_index_nospec(in->vp_index, LINHV_MAX_VPS)]))
		return HV_STATUS_INVALID_PARAMETER;
	return HV_STATUS_SUCCESS;
}

static u16 map_locked(struct linhv_partition *part, struct pci_dev *pdev,
		      const struct linhv_in_device_interrupt *in)
{
	struct linhv_devirq_dev *d = find_dev(part, pdev);
	struct linhv_devirq_route *r;
	u16 status;

	if (d && d->kind != in->kind)
		return HV_STATUS_INVALID_PARAMETER; /* unmap every route of the other kind first */
	if (!d) {
		status = enable(part, pdev, in->kind, &d);
		if (status)
			return status;
	}
	if (in->flags & LINHV_DEVICE_INTERRUPT_VECTORS) {
		d->held = true;
		return HV_STATUS_SUCCESS;
	}
	if (in->index >= d->nvec) {
		if (!d->nroutes && !d->held)
			disable(part, d);
		return HV_STATUS_NOT_FOUND;
	}
	r = &d->routes[array_index_nospec(in->index, d->nvec)];
	spin_lock_irq(&part->devirq.lock);
	if (!r->mapped)
		d->nroutes++;
	r->mapped = true;
	r->vector = in->vector;
	r->vp_index = in->vp_index;
	r->address = in->address;
	r->data = in->data;
	r->masked = in->flags & LINHV_DEVICE_INTERRUPT_MASKED;
	if (!r->masked && r->pending) {
		r->pending = false;
		deliver(part, r); /* the one held while masked */
	}
	spin_unlock_irq(&part->devirq.lock);
	return HV_STATUS_SUCCESS;
}

static u16 unmap_locked(struct linhv_partition *part, struct pci_dev *pdev,
			const struct linhv_in_device_interrupt *in)
{
	struct linhv_devirq_dev *d = find_dev(part, pdev);
	struct linhv_devirq_route *r;
	bool last;

	if (!d || d->kind != in->kind || in->index >= d->nvec)
		return HV_STATUS_NOT_FOUND;
	if (in->flags & LINHV_DEVICE_INTERRUPT_VECTORS) {
		d->held = false;
		if (!d->nroutes)
			disable(part, d);
		return HV_STATUS_SUCCESS;
	}
	r = &d->routes[array_index_nospec(in->index, d->nvec)];
	spin_lock_irq(&part->devirq.lock);
	if (!r->mapped) {
		spin_unlock_irq(&part->devirq.lock);
		return HV_STATUS_NOT_FOUND;
	}
	r->mapped = false;
	r->pending = false;
	last = --d->nroutes == 0;
	spin_unlock_irq(&part->devirq.lock);
	if (last && !d->held)
		disable(part, d);
	return HV_STATUS_SUCCESS;
}

/* HvCallMapDeviceInterrupt (map) and HvCallUnmapDeviceInterrupt, from the root. */
u16 linhv_devirq_call(struct linhv_partition *part, bool map, const void *in_buf, u32 in_size)
{
	const struct linhv_in_device_interrupt *in = in_buf;
	struct pci_dev *pdev;
	u16 status;

	if (in_size != sizeof(*in))
		return HV_STATUS_INVALID_PARAMETER;
	status = check_input(part, in, map);
	if (status)
		return status;
	pdev = pci_get_domain_bus_and_slot(in->segment, in->bus, in->devfn);
	if (!pdev)
		return HV_STATUS_NOT_FOUND;
	down_write(&part->mem_lock);
	if (!linhv_iommu_attached(part, pdev))
		status = HV_STATUS_NOT_FOUND;
	else if (map)
		status = map_locked(part, pdev, in);
	else
		status = unmap_locked(part, pdev, in);
	up_write(&part->mem_lock);
	pci_dev_put(pdev);
	return status;
}

/*
 * The device is being detached (mem_lock held for writing): its host
 * vectors go before its DMA ownership does.
 */
void linhv_devirq_detach(struct linhv_partition *part, struct pci_dev *pdev)
{
	struct linhv_devirq_dev *d = find_dev(part, pdev);

	if (d)
		disable(part, d);
}

/*
 * The guest's HvCallRetargetDeviceInterrupt input (TLFS; what Linux's
 * pci-hyperv sends when it unmasks an interrupt). The variable part, counted
 * in 8-byte units by the control word, follows target_vp_mask: a sparse VP
 * set's valid-bank mask and banks.
 */
struct hv_in_retarget_device_interrupt {
	u64 partition_id; /* HV_PARTITION_ID_SELF; not looked at */
	u64 device_id; /* not looked at: the root made every data unique */
	u32 source; /* 1: MSI */
	u32 reserved1;
	u32 msi_address;
	u32 msi_data;
	u64 reserved2;
	u32 vector;
	u32 flags; /* TARGET_* */
	u64 vp_mask; /* or, with TARGET_PROCESSOR_SET, the VP set's format */
	u64 var[];
} __packed;

#define HV_INTERRUPT_SOURCE_MSI 1
#define HV_DEVICE_INTERRUPT_TARGET_MULTICAST 1
#define HV_DEVICE_INTERRUPT_TARGET_PROCESSOR_SET 2
#define HV_VP_SET_SPARSE_4K 0
#define HV_VP_SET_ALL 1
#define RETARGET_MAX_VAR (1 + 64) /* the valid-bank mask and 64 banks */

static bool vp_exists(struct linhv_partition *part, u64 index)
{
	return index < LINHV_MAX_VPS && index < part->max_vps &&
	       READ_ONCE(part->vps[array_index_nospec(index, LINHV_MAX_VPS)]);
}

/* The first existing VP of the target, or -1. */
static int first_target_vp(struct linhv_partition *part,
			   const struct hv_in_retarget_device_interrupt *in, u32 var_size)
{
	u64 bank_mask;
	u32 bank, k = 0, bit;

	if (!(in->flags & HV_DEVICE_INTERRUPT_TARGET_PROCESSOR_SET)) {
		if (var_size)
			return -1;
		for (bit = 0; bit < 64; bit++)
			if ((in->vp_mask & BIT_ULL(bit)) && vp_exists(part, bit))
				return bit;
		return -1;
	}
	if (in->vp_mask == HV_VP_SET_ALL) {
		if (var_size > 1)
			return -1;
		for (bit = 0; bit < LINHV_MAX_VPS; bit++)
			if (vp_exists(part, bit))
				return bit;
		return -1;
	}
	if (in->vp_mask != HV_VP_SET_SPARSE_4K || var_size < 1)
		return -1;
	bank_mask = in->var[0];
	if (hweight64(bank_mask) != var_size - 1)
		return -1;
	for (bank = 0; bank < 64; bank++) {
		u64 vps;

		if (!(bank_mask & BIT_ULL(bank)))
			continue;
		vps = in->var[1 + k++];
		for (bit = 0; bit < 64; bit++)
			if ((vps & BIT_ULL(bit)) && vp_exists(part, (u64)bank * 64 + bit))
				return bank * 64 + bit;
	}
	return -1;
}

/*
 * HvCallRetargetDeviceInterrupt from the guest: the input at in_gpa, of
 * var_size 8-byte units past the fixed header. Finds the route whose
 * address and data the guest names and gives it the new vector and VP.
 */
u16 linhv_devirq_guest_retarget(struct linhv_vp *vp, u64 in_gpa, u32 var_size)
{
	struct linhv_partition *part = vp->part;
	struct hv_in_retarget_device_interrupt *in;
	struct linhv_devirq_dev *d;
	size_t size;
	u16 status = HV_STATUS_INVALID_PARAMETER;
	u32 i;
	int target;

	if (in_gpa & 7)
		return HV_STATUS_INVALID_ALIGNMENT;
	if (var_size > RETARGET_MAX_VAR)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	size = sizeof(*in) + var_size * sizeof(u64);
	in = kmalloc(size, GFP_KERNEL_ACCOUNT);
	if (!in)
		return HV_STATUS_INSUFFICIENT_MEMORY;
	if (linhv_read_guest(part, in_gpa, in, size)) {
		kfree(in);
		return HV_STATUS_INVALID_ALIGNMENT; /* not the guest's memory */
	}
	/* From here on only the copy is read. */
	if (in->source != HV_INTERRUPT_SOURCE_MSI || in->reserved1 || in->reserved2 ||
	    in->vector < 16 || in->vector > 255 ||
	    in->flags & ~(HV_DEVICE_INTERRUPT_TARGET_MULTICAST |
			  HV_DEVICE_INTERRUPT_TARGET_PROCESSOR_SET))
		goto out;
	target = first_target_vp(part, in, var_size);
	if (target < 0)
		goto out;
	spin_lock_irq(&part->devirq.lock);
	list_for_each_entry(d, &part->devirq.devs, link) {
		for (i = 0; i < d->nvec; i++) {
			struct linhv_devirq_route *r = &d->routes[i];

			if (!r->mapped || (u32)r->address != in->msi_address ||
			    r->data != in->msi_data)
				continue;
			r->vector = in->vector;
			r->vp_index = target;
			status = HV_STATUS_SUCCESS;
			goto found;
		}
	}
found:
	spin_unlock_irq(&part->devirq.lock);
out:
	kfree(in);
	return status;
}

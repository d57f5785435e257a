// SPDX-License-Identifier: MIT
/*
 * Device assignment from the root's side: a PCI address is checked against
 * the host through libudev before the hypervisor is asked (its IOMMU group,
 * and the driver of every device in that group), so that the user gets one
 * line saying what is in the way. The hypervisor enforces the same rules
 * (the kernel refuses DMA ownership of a group a host driver uses); these
 * checks only give the reason.
 */
#include <errno.h>
#include <libudev.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "winhv_backend.h"

struct pci_address {
	unsigned seg, bus, dev, fn;
};

static int parse(const char *addr, struct pci_address *a)
{
	char tail;

	/* Hex digits and separators only: sscanf's %x would also take "0x" and signs. */
	if (!addr || addr[strspn(addr, "0123456789abcdefABCDEF:.")])
		return -1;
	if (sscanf(addr, "%x:%x:%x.%x%c", &a->seg, &a->bus, &a->dev, &a->fn, &tail) != 4) {
		a->seg = 0;
		if (sscanf(addr, "%x:%x.%x%c", &a->bus, &a->dev, &a->fn, &tail) != 3)
			return -1;
	}
	return a->seg > 0xffff || a->bus > 0xff || a->dev > 31 || a->fn > 7 ? -1 : 0;
}

/* A driver that keeps its hands off the device's DMA, or none. */
static int stub_driver(const char *drv)
{
	return !drv || !strcmp(drv, "vfio-pci") || !strcmp(drv, "pci-stub");
}

/*
 * 0 when name's IOMMU group may be given away, else a status with the reason
 * set. A host without sysfs or udev says nothing here: the hypervisor decides.
 */
static int precheck(const char *name)
{
	struct udev *udev = udev_new();
	struct udev_device *d;
	char path[PATH_MAX], link[PATH_MAX];
	const char *group;
	ssize_t n;
	int ret = 0;

	if (!udev)
		return 0;
	d = udev_device_new_from_subsystem_sysname(udev, "pci", name);
	if (!d) {
		ret = winhv_set_error(HV_STATUS_NOT_FOUND, "no PCI device %s on this host", name);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/iommu_group", udev_device_get_syspath(d));
	n = readlink(path, link, sizeof(link) - 1);
	udev_device_unref(d);
	if (n <= 0) {
		ret = winhv_set_error(HV_STATUS_FEATURE_UNAVAILABLE,
				      "%s has no IOMMU group: no IOMMU is enabled on this host "
				      "(intel_iommu=on or amd_iommu=on on its kernel command line)",
				      name);
		goto out;
	}
	link[n] = '\0';
	group = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;

	/* Every device of the group goes with it: none may be in a host driver's use. */
	struct udev_enumerate *e = udev_enumerate_new(udev);
	struct udev_list_entry *it;

	if (!e)
		goto out;
	udev_enumerate_add_match_subsystem(e, "pci");
	udev_enumerate_scan_devices(e);
	udev_list_entry_foreach(it, udev_enumerate_get_list_entry(e))
	{
		const char *syspath = udev_list_entry_get_name(it);
		struct udev_device *m = udev_device_new_from_syspath(udev, syspath);
		char mlink[PATH_MAX];

		if (!m)
			continue;
		snprintf(path, sizeof(path), "%s/iommu_group", syspath);
		n = readlink(path, mlink, sizeof(mlink) - 1);
		if (n > 0) {
			mlink[n] = '\0';
			const char *mg = strrchr(mlink, '/') ? strrchr(mlink, '/') + 1 : mlink;
			const char *drv = udev_device_get_driver(m);

			if (!strcmp(mg, group) && !stub_driver(drv)) {
				const char *who = udev_device_get_sysname(m);

				if (!strcmp(who, name))
					ret = winhv_set_error(HV_STATUS_OPERATION_DENIED,
							      "%s is in use by the host driver %s "
							      "(unbind it and bind "
							      "vfio-pci or pci-stub)",
							      name, drv);
				else
					ret =
					    winhv_set_error(HV_STATUS_OPERATION_DENIED,
							    "%s shares IOMMU group %s with %s, "
							    "which is in use by the "
							    "host driver %s (the whole group goes "
							    "to the guest: bind "
							    "its devices to vfio-pci or pci-stub)",
							    name, group, who, drv);
			}
		}
		udev_device_unref(m);
		if (ret)
			break;
	}
	udev_enumerate_unref(e);
out:
	udev_unref(udev);
	return ret;
}

/* Parse addr and write its canonical name (SSSS:BB:DD.F); 0, or the error set. */
static int parse_named(const char *addr, struct pci_address *a, char name[16])
{
	if (parse(addr, a))
		return winhv_set_error(HV_STATUS_INVALID_PARAMETER,
				       "'%s' is not a PCI address (SSSS:BB:DD.F)",
				       addr ? addr : "");
	snprintf(name, 16, "%04x:%02x:%02x.%x", a->seg, a->bus, a->dev, a->fn);
	return 0;
}

static int device_domain(struct winhv_partition *p, bool attach, const char *addr)
{
	struct pci_address a;
	char name[16];
	int ret;

	ret = parse_named(addr, &a, name);
	if (ret)
		return ret;
	if (!p->ops->device_domain)
		return winhv_set_error(HV_STATUS_FEATURE_UNAVAILABLE,
				       "the %s backend cannot assign devices (linhv can)",
				       WinHvBackendName(p->backend));
	if (attach) {
		ret = precheck(name);
		if (ret)
			return ret;
	}
	ret = p->ops->device_domain(p, attach, a.seg, a.bus, a.dev << 3 | a.fn);
	switch (ret) {
	case HV_STATUS_SUCCESS:
		return 0;
	case HV_STATUS_NOT_FOUND:
		return winhv_set_error(ret, attach ? "no PCI device %s" : "%s is not attached here",
				       name);
	case HV_STATUS_FEATURE_UNAVAILABLE:
		return winhv_set_error(ret, "no IOMMU translates %s's DMA", name);
	case HV_STATUS_OPERATION_DENIED:
		return winhv_set_error(
		    ret,
		    "%s or a device of its IOMMU group is in use by a host driver "
		    "(bind them to vfio-pci or pci-stub)",
		    name);
	case HV_STATUS_OBJECT_IN_USE:
		return winhv_set_error(ret, "%s is attached to this partition already", name);
	default:
		return ret;
	}
}

int WinHvAttachDevice(struct winhv_partition *p, const char *pci_address)
{
	return device_domain(p, true, pci_address);
}

int WinHvDetachDevice(struct winhv_partition *p, const char *pci_address)
{
	return device_domain(p, false, pci_address);
}

static int device_interrupt(struct winhv_partition *p, bool map, const char *addr,
			    const struct winhv_device_interrupt *irq)
{
	struct pci_address a;
	char name[16];
	int ret;

	ret = parse_named(addr, &a, name);
	if (ret)
		return ret;
	if (irq->kind != WINHV_DEVICE_INTERRUPT_MSIX && irq->kind != WINHV_DEVICE_INTERRUPT_MSI)
		return winhv_set_error(HV_STATUS_INVALID_PARAMETER,
				       "interrupt kind %u is neither MSI-X nor MSI", irq->kind);
	if (!p->ops->device_interrupt)
		return winhv_set_error(HV_STATUS_FEATURE_UNAVAILABLE,
				       "the %s backend cannot route device interrupts (linhv can)",
				       WinHvBackendName(p->backend));
	ret = p->ops->device_interrupt(p, map, a.seg, a.bus, a.dev << 3 | a.fn, irq);
	switch (ret) {
	case HV_STATUS_SUCCESS:
		return 0;
	case HV_STATUS_NOT_FOUND:
		return winhv_set_error(
		    ret, "%s is not attached here, or has no interrupt %s %u", name,
		    irq->kind == WINHV_DEVICE_INTERRUPT_MSIX ? "MSI-X" : "MSI", irq->index);
	case HV_STATUS_INVALID_PARAMETER:
		return winhv_set_error(ret, "bad interrupt route for %s (vector %u, VP %u)", name,
				       irq->vector, irq->vp_index);
	default:
		return ret;
	}
}

int WinHvMapDeviceInterrupt(struct winhv_partition *p, const char *pci_address,
			    const struct winhv_device_interrupt *irq)
{
	if (!irq)
		return winhv_set_error(HV_STATUS_INVALID_PARAMETER, "no interrupt route given");
	return device_interrupt(p, true, pci_address, irq);
}

int WinHvEnableDeviceInterrupts(struct winhv_partition *p, const char *pci_address, uint32_t kind,
				bool on)
{
	struct winhv_device_interrupt irq = {.kind = kind, .vectors = true};

	return device_interrupt(p, on, pci_address, &irq);
}

int WinHvUnmapDeviceInterrupt(struct winhv_partition *p, const char *pci_address, uint32_t kind,
			      uint32_t index)
{
	struct winhv_device_interrupt irq = {.kind = kind, .index = index};

	return device_interrupt(p, false, pci_address, &irq);
}

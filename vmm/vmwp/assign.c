// SPDX-License-Identifier: MIT
/*
 * --assign-pci: the glue between the host's sysfs view of a PCI function,
 * libwinhv's device assignment, the vPCI VSP (vpci.c: the bus protocol) and
 * vpci_func (the guest's view of the function's config space and MSI-X
 * pages). See assign.h for the lifetimes.
 *
 * Threads: the vPCI callbacks run on the event loop; MMIO exits on VP
 * threads. Lock order: a->lock (config windows and slot selectors), then
 * vpci_func's own lock, then a->irq_lock (the interrupt map).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "assign.h"
#include "irqmap.h"
#include "options.h"
#include "vmbus_host.h"
#include "vpci.h"
#include "vpci_func.h"

#define PAGE 4096ull
#define CFG_WINDOW 0x2000ull	/* pci-hyperv's config window: selector page, config page */
#define CFG_PAGE_OFFSET 0x1000u /* where the selected function's config space starts */

/* Flags of sysfs "resource" lines (the kernel's IORESOURCE_*). */
#define IORES_IO 0x100ull
#define IORES_MEM 0x200ull
#define IORES_PREFETCH 0x2000ull
#define IORES_MEM_64 0x100000ull

struct assign;

struct assign_dev {
	struct assign *a;
	unsigned slot; /* index in --assign-pci order: the GUID and serial derive from it */
	char addr[16];

	/* Host side, opened at the first attach, kept for vmwp's life. */
	bool opened;
	int cfg_fd;
	uint8_t *bar_map[VPCI_NUM_BARS]; /* sysfs resourceN, MAP_SHARED */
	uint64_t bar_map_len[VPCI_NUM_BARS];
	struct vpci_bar bars[VPCI_NUM_BARS]; /* as offered: memory BARs, at least a page */
	struct vpci_device model;

	/* Per boot. */
	bool attached;
	struct vpci_func *func;
	struct vpci *bus;
	bool window_valid;				 /* a->lock */
	uint64_t window;				 /* a->lock */
	uint32_t selected;				 /* a->lock: the slot written at offset 0 */
	bool warned_winhv, warned_unmatched, warned_map; /* one log line each per boot */
	bool ejecting; /* event loop: asked to give the function back */
};

struct assign {
	char sysfs[200]; /* the devices' directory: /sys/bus/pci/devices */
	unsigned n;
	struct assign_dev devs[VMWP_MAX_ASSIGNED];

	/* Per boot. */
	struct winhv_partition *part;
	struct assign_boot boot;
	bool started;
	bool low_claimed, high_claimed;
	pthread_mutex_t lock;
	pthread_mutex_t irq_lock;
	struct irqmap *irqs; /* irq_lock */
	bool stopping;	     /* irq_lock: routes are torn down by assign_stop, not irq_update */
	/* Event loop: functions still to be given back, and what runs then. */
	unsigned ejecting;
	void (*eject_done)(void *ctx);
	void *eject_ctx;
};

static void logf_dev(const struct assign_dev *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logf_dev(const struct assign_dev *d, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vmwp: %s: %s\n", d->addr, line);
}

static int err_set(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int err_set(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

struct vmbus_guid assign_instance(const uint8_t vm_id[16], unsigned slot)
{
	struct vmbus_guid g = vmbus_host_instance(vm_id, VMBUS_HOST_PCI, (uint16_t)slot);
	uint16_t dom = (uint16_t)(g.b[4] | g.b[5] << 8);

	/*
	 * pci-hyperv's PCI domain is bytes 4-5 (little endian). The kind
	 * folded in there is the same for every slot: fold the slot in too,
	 * and keep clear of 0, which the guest does not use.
	 */
	if ((dom & ~7u) == 0)
		dom ^= 0x0800;
	dom ^= (uint16_t)(slot & 7);
	g.b[4] = (uint8_t)dom;
	g.b[5] = (uint8_t)(dom >> 8);
	return g;
}

/* ---- The host's function: sysfs ---- */

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

struct host_res {
	uint64_t start, end, flags;
};

/* Up to max lines of a sysfs "resource" file; the count parsed. */
static unsigned parse_resource(const char *text, struct host_res *r, unsigned max)
{
	unsigned n = 0;

	while (n < max && *text) {
		unsigned long long s, e, f;

		if (sscanf(text, "%llx %llx %llx", &s, &e, &f) != 3)
			break;
		r[n++] = (struct host_res){s, e, f};
		text = strchr(text, '\n');
		if (!text)
			break;
		text++;
	}
	return n;
}

int assign_parse_bars(const char *text, const char *addr, struct assign_bar_info out[VPCI_NUM_BARS],
		      unsigned *io_bars, char *err, size_t errlen)
{
	struct host_res r[VPCI_NUM_BARS];
	unsigned n = parse_resource(text, r, VPCI_NUM_BARS);

	memset(out, 0, VPCI_NUM_BARS * sizeof(*out));
	*io_bars = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t size = r[i].end - r[i].start + 1;

		if (!r[i].flags || !r[i].end)
			continue;
		if (r[i].flags & IORES_IO) {
			*io_bars |= 1u << i;
			continue;
		}
		if (!(r[i].flags & IORES_MEM))
			continue;
		if (!r[i].start || r[i].end < r[i].start || (size & (size - 1)))
			return err_set(err, errlen,
				       "--assign-pci %s: BAR %u has no usable host address "
				       "(%#" PRIx64 "-%#" PRIx64 ")",
				       addr, i, r[i].start, r[i].end);
		if (r[i].flags & IORES_MEM_64 && i == VPCI_NUM_BARS - 1)
			return err_set(err, errlen, "--assign-pci %s: a 64-bit BAR in slot 5",
				       addr);
		if (r[i].start & (PAGE - 1))
			return err_set(err, errlen,
				       "--assign-pci %s: BAR %u (%#" PRIx64 ", %#" PRIx64 " bytes) "
				       "does not start on a page; the guest would see what shares "
				       "the page (try pci=resource_alignment=%s on the host)",
				       addr, i, r[i].start, size, addr);
		out[i].start = r[i].start;
		out[i].host_size = size;
		out[i].bar.size = size < PAGE ? PAGE : size;
		out[i].bar.flags = (r[i].flags & IORES_MEM_64 ? VPCI_BAR_MEM64 : 0) |
				   (r[i].flags & IORES_PREFETCH ? VPCI_BAR_PREFETCH : 0);
		if (r[i].flags & IORES_MEM_64)
			i++; /* its upper half: the next line is empty */
	}
	return 0;
}

/* Another host device with a BAR in the page at page: its name, else NULL. */
static const char *page_shared(const char *root, const char *self, uint64_t page, char *who,
			       size_t wlen)
{
	DIR *dir = opendir(root);
	const char *found = NULL;
	struct dirent *e;

	if (!dir)
		return NULL;
	while (!found && (e = readdir(dir))) {
		char path[400], text[4096];
		struct host_res r[13];
		unsigned n;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, self))
			continue;
		snprintf(path, sizeof(path), "%s/%.64s/resource", root, e->d_name);
		if (read_text(path, text, sizeof(text)))
			continue;
		/* BARs, ROM and SR-IOV BARs; not a bridge's windows (13 on). */
		n = parse_resource(text, r, 13);
		for (unsigned i = 0; i < n; i++) {
			if (!(r[i].flags & IORES_MEM) || r[i].end < r[i].start || !r[i].end)
				continue;
			if (r[i].start < page + PAGE && page <= r[i].end) {
				snprintf(who, wlen, "%.40s", e->d_name);
				found = who;
				break;
			}
		}
	}
	closedir(dir);
	return found;
}

static int cfg_pread(struct assign_dev *d, uint32_t off, void *buf, size_t len)
{
	ssize_t n = pread(d->cfg_fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Read the function's BARs and IDs from sysfs, map its memory BARs. */
static int dev_open(struct assign_dev *d, char *err, size_t errlen)
{
	const char *root = d->a->sysfs;
	char path[400], text[4096], who[64];
	struct assign_bar_info info[VPCI_NUM_BARS];
	unsigned io_bars;
	uint8_t hdr[64];
	int ret;

	memset(d->bars, 0, sizeof(d->bars));
	snprintf(path, sizeof(path), "%s/%s/resource", root, d->addr);
	ret = read_text(path, text, sizeof(text));
	if (ret)
		return err_set(err, errlen, "--assign-pci %s: cannot read %s: %s", d->addr, path,
			       strerror(-ret));
	snprintf(path, sizeof(path), "%s/%s/config", root, d->addr);
	d->cfg_fd = open(path, O_RDWR | O_CLOEXEC);
	if (d->cfg_fd < 0)
		return err_set(err, errlen, "--assign-pci %s: cannot open %s: %s", d->addr, path,
			       strerror(errno));
	ret = cfg_pread(d, 0, hdr, sizeof(hdr));
	if (ret)
		return err_set(err, errlen, "--assign-pci %s: cannot read its config space: %s",
			       d->addr, strerror(-ret));
	if ((hdr[0x0e] & 0x7f) != 0)
		return err_set(err, errlen,
			       "--assign-pci %s: header type %u: only endpoint functions (type 0) "
			       "can be assigned, not bridges",
			       d->addr, hdr[0x0e] & 0x7f);

	if (assign_parse_bars(text, d->addr, info, &io_bars, err, errlen))
		return -1;
	for (unsigned i = 0; i < VPCI_NUM_BARS; i++) {
		if (io_bars & (1u << i))
			logf_dev(
			    d, "I/O BAR %u is not offered to the guest (vPCI has no I/O space)", i);
		if (!info[i].bar.size)
			continue;
		/* The guest maps whole pages: a small BAR must have its page to itself. */
		if (info[i].host_size < PAGE &&
		    page_shared(root, d->addr, info[i].start, who, sizeof(who)))
			return err_set(err, errlen,
				       "--assign-pci %s: BAR %u shares its page with a BAR of %s "
				       "(try pci=resource_alignment=%s on the host)",
				       d->addr, i, who, d->addr);
		d->bars[i] = info[i].bar;
		snprintf(path, sizeof(path), "%s/%s/resource%u", root, d->addr, i);
		int fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
		void *m =
		    fd < 0 ? MAP_FAILED
			   : mmap(NULL, d->bars[i].size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		ret = errno;
		if (fd >= 0)
			close(fd);
		if (m == MAP_FAILED)
			return err_set(err, errlen, "--assign-pci %s: cannot map %s: %s", d->addr,
				       path, strerror(ret));
		d->bar_map[i] = m;
		d->bar_map_len[i] = d->bars[i].size;
	}

	d->model = (struct vpci_device){
	    .vendor_id = (uint16_t)(hdr[0x00] | hdr[0x01] << 8),
	    .device_id = (uint16_t)(hdr[0x02] | hdr[0x03] << 8),
	    .revision = hdr[0x08],
	    .prog_if = hdr[0x09],
	    .subclass = hdr[0x0a],
	    .base_class = hdr[0x0b],
	    .subsys_vendor_id = (uint16_t)(hdr[0x2c] | hdr[0x2d] << 8),
	    .subsys_id = (uint16_t)(hdr[0x2e] | hdr[0x2f] << 8),
	    .serial = d->slot + 1, /* the guest's slot name: unique per device */
	    .dev = 0,
	    .func = 0,
	};
	memcpy(d->model.bars, d->bars, sizeof(d->bars));
	const char *why;

	if (vpci_device_check(&d->model, &why))
		return err_set(err, errlen, "--assign-pci %s: cannot be offered over vPCI: %s",
			       d->addr, why);
	d->opened = true;
	return 0;
}

static void dev_close(struct assign_dev *d)
{
	for (unsigned i = 0; i < VPCI_NUM_BARS; i++) {
		if (d->bar_map[i])
			munmap(d->bar_map[i], d->bar_map_len[i]);
		d->bar_map[i] = NULL;
	}
	if (d->cfg_fd >= 0)
		close(d->cfg_fd);
	d->cfg_fd = -1;
	d->opened = false;
}

/* ---- vpci_func's ops: the device and the partition ---- */

static int op_cfg_read(void *ctx, uint32_t off, uint32_t size, uint32_t *val)
{
	struct assign_dev *d = ctx;
	uint8_t b[4] = {0};
	int ret;

	if (size != 1 && size != 2 && size != 4)
		return -EINVAL;
	ret = cfg_pread(d, off, b, size);
	if (ret)
		return ret;
	*val = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

static int op_cfg_write(void *ctx, uint32_t off, uint32_t size, uint32_t val)
{
	struct assign_dev *d = ctx;
	uint8_t b[4] = {(uint8_t)val, (uint8_t)(val >> 8), (uint8_t)(val >> 16),
			(uint8_t)(val >> 24)};
	ssize_t n;

	if (size != 1 && size != 2 && size != 4)
		return -EINVAL;
	n = pwrite(d->cfg_fd, b, size, off);
	if (n < 0)
		return -errno;
	return n == (ssize_t)size ? 0 : -EIO;
}

static volatile void *bar_ptr(struct assign_dev *d, unsigned bar, uint64_t off, uint32_t size)
{
	if (bar >= VPCI_NUM_BARS || !d->bar_map[bar] ||
	    (size != 1 && size != 2 && size != 4 && size != 8))
		return NULL;
	if (off & (size - 1) || off >= d->bar_map_len[bar] || size > d->bar_map_len[bar] - off)
		return NULL;
	return d->bar_map[bar] + off;
}

/* Device registers: one access of exactly the guest's size. */
static int op_bar_read(void *ctx, unsigned bar, uint64_t off, uint32_t size, uint64_t *val)
{
	volatile void *p = bar_ptr(ctx, bar, off, size);

	if (!p)
		return -EINVAL;
	switch (size) {
	case 1:
		*val = *(volatile uint8_t *)p;
		break;
	case 2:
		*val = *(volatile uint16_t *)p;
		break;
	case 4:
		*val = *(volatile uint32_t *)p;
		break;
	default:
		*val = *(volatile uint64_t *)p;
		break;
	}
	return 0;
}

static int op_bar_write(void *ctx, unsigned bar, uint64_t off, uint32_t size, uint64_t val)
{
	volatile void *p = bar_ptr(ctx, bar, off, size);

	if (!p)
		return -EINVAL;
	switch (size) {
	case 1:
		*(volatile uint8_t *)p = (uint8_t)val;
		break;
	case 2:
		*(volatile uint16_t *)p = (uint16_t)val;
		break;
	case 4:
		*(volatile uint32_t *)p = (uint32_t)val;
		break;
	default:
		*(volatile uint64_t *)p = val;
		break;
	}
	return 0;
}

static bool in_range(uint64_t gpa, uint64_t len, uint64_t base, uint64_t size)
{
	return size && gpa >= base && len <= size && gpa - base <= size - len;
}

/* A guest BAR address must lie in the ranges the guest was given for them. */
static bool in_published(const struct assign *a, uint64_t gpa, uint64_t len)
{
	const struct acpi_vmbus_mmio *r = &a->boot.ranges;

	return in_range(gpa, len, r->low_base, r->low_size) ||
	       in_range(gpa, len, r->high_base, r->high_size);
}

static int op_map(void *ctx, unsigned bar, uint64_t off, uint64_t gpa, uint64_t len)
{
	struct assign_dev *d = ctx;
	struct assign *a = d->a;

	if (bar >= VPCI_NUM_BARS || !d->bar_map[bar] || !len || (off | gpa | len) & (PAGE - 1) ||
	    off >= d->bar_map_len[bar] || len > d->bar_map_len[bar] - off)
		return -EINVAL;
	if (!in_published(a, gpa, len)) {
		if (!d->warned_map)
			logf_dev(d,
				 "the guest placed BAR %u at %#" PRIx64 ", outside the vPCI MMIO "
				 "ranges: not mapped",
				 bar, gpa);
		d->warned_map = true;
		return -EINVAL;
	}
	if (WinHvMapGpaPages(a->part, gpa, d->bar_map[bar] + off, len,
			     HV_MAP_GPA_READABLE | HV_MAP_GPA_WRITABLE)) {
		if (!d->warned_map)
			logf_dev(d, "mapping BAR %u at %#" PRIx64 " failed: %s", bar, gpa,
				 WinHvLastError());
		d->warned_map = true;
		return -EIO;
	}
	return 0;
}

static void op_unmap(void *ctx, uint64_t gpa, uint64_t len)
{
	struct assign_dev *d = ctx;

	if (WinHvUnmapGpaPages(d->a->part, gpa, len) && !d->warned_map) {
		logf_dev(d, "unmapping %#" PRIx64 " failed: %s", gpa, WinHvLastError());
		d->warned_map = true;
	}
}

/* ---- Interrupts ---- */

static void winhv_failed(struct assign_dev *d, const char *what)
{
	if (d->warned_winhv)
		return;
	d->warned_winhv = true;
	logf_dev(d, "%s: %s (logged once)", what, WinHvLastError());
}

/* irqmap's unmap callback; irq_lock held. */
static void unmap_route(void *ctx, unsigned dev, bool msix, uint32_t index)
{
	struct assign *a = ctx;
	struct assign_dev *d = &a->devs[dev];
	int ret = WinHvUnmapDeviceInterrupt(
	    a->part, d->addr, msix ? WINHV_DEVICE_INTERRUPT_MSIX : WINHV_DEVICE_INTERRUPT_MSI,
	    index);

	if (ret && ret != HV_STATUS_NOT_FOUND)
		winhv_failed(d, "removing an interrupt route failed");
}

/* vpci_func: the guest (re)programmed interrupt index. Its lock is held. */
static void op_irq_update(void *ctx, bool msix, uint32_t index, uint64_t address, uint32_t data,
			  bool enabled)
{
	struct assign_dev *d = ctx;
	struct assign *a = d->a;
	struct irqmap_action act;

	pthread_mutex_lock(&a->irq_lock);
	if (a->stopping || !a->irqs ||
	    irqmap_update(a->irqs, d->slot, msix, index, address, data, enabled, &act)) {
		pthread_mutex_unlock(&a->irq_lock);
		return;
	}
	if (act.unmatched && !d->warned_unmatched) {
		d->warned_unmatched = true;
		logf_dev(d,
			 "the guest enabled %s %u with address %#" PRIx64 " data %#x, which "
			 "no vPCI interrupt of this device was given: not routed (logged once)",
			 msix ? "MSI-X entry" : "MSI vector", index, address, data);
	}
	if (act.op == IRQMAP_MAP) {
		struct winhv_device_interrupt irq = {
		    .kind = msix ? WINHV_DEVICE_INTERRUPT_MSIX : WINHV_DEVICE_INTERRUPT_MSI,
		    .index = index,
		    .vector = act.vector,
		    .vp_index = act.vp,
		    .address = address,
		    .data = data,
		    .masked = act.masked,
		};

		if (WinHvMapDeviceInterrupt(a->part, d->addr, &irq))
			winhv_failed(d, "routing an interrupt failed");
	} else if (act.op == IRQMAP_UNMAP) {
		unmap_route(a, d->slot, msix, index);
	}
	pthread_mutex_unlock(&a->irq_lock);
}

/* The guest turned MSI or MSI-X on or off: the device's real vectors follow. */
static void op_irq_enable(void *ctx, bool msix, bool on)
{
	struct assign_dev *d = ctx;
	struct assign *a = d->a;

	pthread_mutex_lock(&a->irq_lock);
	if (!a->stopping && a->part &&
	    WinHvEnableDeviceInterrupts(
		a->part, d->addr, msix ? WINHV_DEVICE_INTERRUPT_MSIX : WINHV_DEVICE_INTERRUPT_MSI,
		on) &&
	    on)
		winhv_failed(d, "enabling the device's interrupts failed");
	pthread_mutex_unlock(&a->irq_lock);
}

/* ---- The vPCI bus's callbacks (event loop) ---- */

static int32_t on_d0_entry(void *ctx, uint64_t base)
{
	struct assign_dev *d = ctx;
	struct assign *a = d->a;
	int32_t st = VPCI_STATUS_SUCCESS;

	pthread_mutex_lock(&a->lock);
	if (base & (PAGE - 1) || !in_published(a, base, CFG_WINDOW)) {
		st = VPCI_STATUS_INVALID_PARAMETER;
	} else {
		for (unsigned i = 0; i < a->n; i++) {
			const struct assign_dev *o = &a->devs[i];

			if (o != d && o->window_valid && base < o->window + CFG_WINDOW &&
			    o->window < base + CFG_WINDOW)
				st = VPCI_STATUS_INVALID_PARAMETER;
		}
	}
	if (st == VPCI_STATUS_SUCCESS) {
		d->window = base;
		d->window_valid = true;
		d->selected = ~0u;
	}
	pthread_mutex_unlock(&a->lock);
	if (st != VPCI_STATUS_SUCCESS)
		logf_dev(d,
			 "the guest's config window at %#" PRIx64 " is refused (not page "
			 "aligned, outside the vPCI MMIO ranges or over another bus's window)",
			 base);
	return st;
}

static void on_d0_exit(void *ctx)
{
	struct assign_dev *d = ctx;
	struct assign *a = d->a;

	pthread_mutex_lock(&a->lock);
	d->window_valid = false;
	pthread_mutex_unlock(&a->lock);
	if (d->func)
		vpci_func_reset(d->func);
}

static int32_t on_resources_assigned(void *ctx, const struct vpci_device *dev, uint32_t msi_count)
{
	(void)ctx;
	(void)dev;
	(void)msi_count;
	/* The BARs arrive through config space (vpci_func); nothing to do here. */
	return VPCI_STATUS_SUCCESS;
}

static void on_resources_released(void *ctx, const struct vpci_device *dev)
{
	struct assign_dev *d = ctx;

	(void)dev;
	if (d->func)
		vpci_func_reset(d->func);
}

static int32_t on_create_interrupt(void *ctx, const struct vpci_device *dev,
				   const struct vpci_interrupt *in, uint64_t *address,
				   uint32_t *data)
{
	struct assign_dev *d = ctx;
	struct assign *a = d->a;
	uint32_t vp;
	int ret;

	(void)dev;
	if (in->vp_mask_valid) {
		if (!in->vp_mask)
			return VPCI_STATUS_INVALID_PARAMETER;
		vp = (uint32_t)__builtin_ctzll(in->vp_mask);
	} else {
		vp = in->vps[0];
	}
	if (vp >= a->boot.nr_vps)
		return VPCI_STATUS_INVALID_PARAMETER;
	/* x86 vectors: 0-15 are exceptions (and reserved), a fixed interrupt is 16-255. */
	if (in->vector < 16 || in->vector > 255)
		return VPCI_STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&a->irq_lock);
	ret = a->irqs
		  ? irqmap_alloc(a->irqs, d->slot, in->vector, in->vector_count, vp, address, data)
		  : -ENOMEM;
	pthread_mutex_unlock(&a->irq_lock);
	if (ret == -EINVAL)
		return VPCI_STATUS_INVALID_PARAMETER;
	if (ret)
		return VPCI_STATUS_INSUFFICIENT_RESOURCES;
	return VPCI_STATUS_SUCCESS;
}

static void on_delete_interrupt(void *ctx, const struct vpci_device *dev, uint64_t address,
				uint32_t data)
{
	struct assign_dev *d = ctx;
	struct assign *a = d->a;

	(void)dev;
	pthread_mutex_lock(&a->irq_lock);
	if (a->irqs)
		irqmap_free(a->irqs, d->slot, address, data, unmap_route, a);
	pthread_mutex_unlock(&a->irq_lock);
}

static void on_ejection_complete(void *ctx, const struct vpci_device *dev)
{
	struct assign_dev *d = ctx;
	struct assign *a = d->a;
	void (*done)(void *);

	(void)dev;
	logf_dev(d, "the guest gave the function back");
	if (!d->ejecting)
		return;
	d->ejecting = false;
	if (!a->ejecting || --a->ejecting)
		return;
	done = a->eject_done;
	a->eject_done = NULL;
	if (done)
		done(a->eject_ctx);
}

unsigned assign_eject_all(struct assign *a, void (*done)(void *ctx), void *ctx)
{
	unsigned n = 0;

	if (!a || !a->started)
		return 0;
	for (unsigned i = 0; i < a->n; i++) {
		struct assign_dev *d = &a->devs[i];

		if (d->bus && !d->ejecting &&
		    vpci_eject(d->bus, d->model.dev, d->model.func) == 0) {
			d->ejecting = true;
			n++;
		}
	}
	a->ejecting += n;
	if (a->ejecting) {
		a->eject_done = done;
		a->eject_ctx = ctx;
	}
	return n;
}

static const struct vpci_callbacks bus_cb = {
    .d0_entry = on_d0_entry,
    .d0_exit = on_d0_exit,
    .resources_assigned = on_resources_assigned,
    .resources_released = on_resources_released,
    .create_interrupt = on_create_interrupt,
    .delete_interrupt = on_delete_interrupt,
    .ejection_complete = on_ejection_complete,
};

static const struct vpci_func_ops func_ops = {
    .cfg_read = op_cfg_read,
    .cfg_write = op_cfg_write,
    .bar_read = op_bar_read,
    .bar_write = op_bar_write,
    .map = op_map,
    .unmap = op_unmap,
    .irq_update = op_irq_update,
    .irq_enable = op_irq_enable,
};

/* ---- MMIO exits in the vPCI ranges (VP threads) ---- */

static int on_mmio(void *ctx, uint64_t gpa, bool write, uint8_t size, uint64_t *val)
{
	struct assign *a = ctx;
	uint64_t ones = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;

	pthread_mutex_lock(&a->lock);
	for (unsigned i = 0; i < a->n; i++) {
		struct assign_dev *d = &a->devs[i];
		uint64_t off = gpa - d->window;

		if (!d->window_valid || off >= CFG_WINDOW)
			continue;
		if (off < CFG_PAGE_OFFSET) {
			/* The slot selector: a 32-bit write at 0 (pci-hyperv's writel). */
			if (write && off == 0 && size == 4)
				d->selected = (uint32_t)*val;
			else if (!write)
				*val = off == 0 && size == 4 ? d->selected : ones;
		} else if (d->selected == VPCI_SLOT(d->model.dev, d->model.func) && d->func) {
			uint32_t coff = (uint32_t)(off - CFG_PAGE_OFFSET);

			if (write)
				vpci_func_cfg_write(d->func, coff, size, (uint32_t)*val);
			else
				*val = vpci_func_cfg_read(d->func, coff, size);
		} else if (!write) {
			*val = ones; /* no function in that slot */
		}
		pthread_mutex_unlock(&a->lock);
		return 0;
	}
	for (unsigned i = 0; i < a->n; i++) {
		struct assign_dev *d = &a->devs[i];

		if (d->func && vpci_func_mmio(d->func, gpa, write, size, val)) {
			pthread_mutex_unlock(&a->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&a->lock);
	if (!write)
		*val = ones; /* unmapped vPCI space floats high */
	return 0;
}

/* ---- Lifetimes ---- */

int assign_create(const char (*addrs)[16], unsigned n, const char *sysfs, struct assign **out)
{
	struct assign *a;

	*out = NULL;
	if (n == 0 || n > VMWP_MAX_ASSIGNED)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	snprintf(a->sysfs, sizeof(a->sysfs), "%s", sysfs ? sysfs : "/sys/bus/pci/devices");
	a->n = n;
	for (unsigned i = 0; i < n; i++) {
		struct assign_dev *d = &a->devs[i];

		d->a = a;
		d->slot = i;
		d->cfg_fd = -1;
		snprintf(d->addr, sizeof(d->addr), "%s", addrs[i]);
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->irq_lock, NULL);
	*out = a;
	return 0;
}

void assign_destroy(struct assign *a)
{
	if (!a)
		return;
	assign_stop(a);
	for (unsigned i = 0; i < a->n; i++)
		dev_close(&a->devs[i]);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->irq_lock);
	free(a);
}

int assign_attach(struct assign *a, struct winhv_partition *p, char *err, size_t errlen)
{
	a->part = p;
	for (unsigned i = 0; i < a->n; i++) {
		struct assign_dev *d = &a->devs[i];

		/* First the hypervisor's word: backend, IOMMU, host drivers. */
		if (WinHvAttachDevice(p, d->addr)) {
			err_set(err, errlen, "--assign-pci %s: %s", d->addr, WinHvLastError());
			assign_stop(a);
			return -1;
		}
		d->attached = true;
		if (!d->opened && dev_open(d, err, errlen)) {
			dev_close(d);
			assign_stop(a);
			return -1;
		}
	}
	return 0;
}

int assign_start(struct assign *a, const struct assign_boot *b, char *err, size_t errlen)
{
	const struct acpi_vmbus_mmio *r = &b->ranges;
	int ret;

	a->boot = *b;
	a->stopping = false;
	if (irqmap_create(&a->irqs))
		return err_set(err, errlen, "--assign-pci: out of memory");
	a->started = true;
	for (unsigned i = 0; i < a->n; i++) {
		struct assign_dev *d = &a->devs[i];

		d->window_valid = false;
		d->warned_winhv = d->warned_unmatched = d->warned_map = false;
		ret = vpci_func_create(d->bars, &func_ops, d, &d->func);
		if (ret) {
			err_set(err, errlen,
				"--assign-pci %s: its config space cannot be "
				"virtualized (%s)",
				d->addr, strerror(-ret));
			goto fail;
		}
		struct vpci_params vp = {
		    .server = b->server,
		    .instance = assign_instance(b->vm_id, d->slot),
		    .devs = &d->model,
		    .ndevs = 1,
		    .cb = &bus_cb,
		    .cb_ctx = d,
		};

		ret = vpci_create(&vp, &d->bus);
		if (ret) {
			err_set(err, errlen, "--assign-pci %s: the vPCI bus cannot be offered (%s)",
				d->addr, strerror(-ret));
			goto fail;
		}
	}
	if (r->low_size) {
		ret = mmio_bus_add(b->mmio, r->low_base, r->low_size, on_mmio, a);
		if (ret)
			goto mmio_fail;
		a->low_claimed = true;
	}
	if (r->high_size) {
		ret = mmio_bus_add(b->mmio, r->high_base, r->high_size, on_mmio, a);
		if (ret)
			goto mmio_fail;
		a->high_claimed = true;
	}
	return 0;
mmio_fail:
	err_set(err, errlen, "--assign-pci: cannot claim the vPCI MMIO ranges (%s)",
		strerror(-ret));
fail:
	assign_stop(a);
	return -1;
}

void assign_stop(struct assign *a)
{
	if (!a)
		return;
	/* No vPCI callback after this, no MMIO handler running or to come. */
	for (unsigned i = 0; i < a->n; i++) {
		vpci_destroy(a->devs[i].bus);
		a->devs[i].bus = NULL;
		a->devs[i].ejecting = false;
	}
	a->ejecting = 0;
	a->eject_done = NULL;
	if (a->low_claimed)
		mmio_bus_remove(a->boot.mmio, a->boot.ranges.low_base);
	if (a->high_claimed)
		mmio_bus_remove(a->boot.mmio, a->boot.ranges.high_base);
	a->low_claimed = a->high_claimed = false;

	/* The functions unmap their BARs; their routes go below, by the map. */
	pthread_mutex_lock(&a->irq_lock);
	a->stopping = true;
	pthread_mutex_unlock(&a->irq_lock);
	for (unsigned i = 0; i < a->n; i++) {
		struct assign_dev *d = &a->devs[i];

		if (d->func)
			vpci_func_destroy(d->func);
		d->func = NULL;
		d->window_valid = false;
	}
	pthread_mutex_lock(&a->irq_lock);
	for (unsigned i = 0; a->irqs && i < a->n; i++)
		irqmap_forget(a->irqs, i, a->devs[i].attached ? unmap_route : NULL, a);
	irqmap_destroy(a->irqs);
	a->irqs = NULL;
	pthread_mutex_unlock(&a->irq_lock);
	a->started = false;

	for (unsigned i = 0; i < a->n; i++) {
		struct assign_dev *d = &a->devs[i];

		if (d->attached && WinHvDetachDevice(a->part, d->addr))
			logf_dev(d, "detaching failed: %s", WinHvLastError());
		d->attached = false;
	}
	a->part = NULL;
}

// SPDX-License-Identifier: MIT
/*
 * assign.c's glue with its neighbours replaced: a fake sysfs directory
 * (regular files for resource, config and resource0), and this file's own
 * vpci_create/vpci_func_* and WinHv*Device* (the linker takes them before
 * the libraries' members), which record what the glue asks for. The test
 * then plays the guest: D0 entry, config window accesses as MMIO exits,
 * interrupt creation, the guest programming an MSI-X entry, deletion, stop.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linhv/winhv.h>

#include "assign.h"
#include "boot.h"
#include "check_main.h"
#include "vpci.h"
#include "vpci_func.h"

/* ---- Fakes ---- */

static struct {
	const struct vpci_callbacks *cb;
	void *cb_ctx;
	struct vpci_device dev;
	struct vmbus_guid instance;
	int buses, destroyed;
} bus;

int vpci_create(const struct vpci_params *p, struct vpci **out)
{
	bus.cb = p->cb;
	bus.cb_ctx = p->cb_ctx;
	bus.dev = p->devs[0];
	bus.instance = p->instance;
	bus.buses++;
	*out = (struct vpci *)&bus;
	return 0;
}

void vpci_destroy(struct vpci *v)
{
	if (v)
		bus.destroyed++;
}

int vpci_eject(struct vpci *v, uint8_t dev, uint8_t func)
{
	(void)v;
	(void)dev;
	(void)func;
	return -ENOENT; /* the fake guest never sees the function listed */
}

static struct {
	const struct vpci_func_ops *ops;
	void *ctx;
	struct vpci_bar bars[VPCI_NUM_BARS];
	int created, destroyed, resets;
	uint32_t last_off, last_size, last_val;
	bool last_write;
	uint64_t trap_gpa;
} fn;

int vpci_func_create(const struct vpci_bar bars[VPCI_NUM_BARS], const struct vpci_func_ops *ops,
		     void *ctx, struct vpci_func **out)
{
	memcpy(fn.bars, bars, sizeof(fn.bars));
	fn.ops = ops;
	fn.ctx = ctx;
	fn.created++;
	*out = (struct vpci_func *)&fn;
	return 0;
}

void vpci_func_destroy(struct vpci_func *f)
{
	(void)f;
	fn.destroyed++;
}

uint32_t vpci_func_cfg_read(struct vpci_func *f, uint32_t off, uint32_t size)
{
	(void)f;
	fn.last_write = false;
	fn.last_off = off;
	fn.last_size = size;
	return 0x11e81234;
}

void vpci_func_cfg_write(struct vpci_func *f, uint32_t off, uint32_t size, uint32_t val)
{
	(void)f;
	fn.last_write = true;
	fn.last_off = off;
	fn.last_size = size;
	fn.last_val = val;
}

bool vpci_func_mmio(struct vpci_func *f, uint64_t gpa, bool write, uint32_t size, uint64_t *val)
{
	(void)f;
	(void)size;
	if (gpa - fn.trap_gpa >= 0x1000)
		return false;
	if (!write)
		*val = 0x7a;
	return true;
}

void vpci_func_reset(struct vpci_func *f)
{
	(void)f;
	fn.resets++;
}

static struct {
	int attached, detached, maps, unmaps;
	struct winhv_device_interrupt last;
	uint32_t unmap_kind, unmap_index;
	int map_status;
	int enables; /* capabilities the glue turned on, less those it turned off */
} hv;

int WinHvAttachDevice(struct winhv_partition *p, const char *addr)
{
	(void)p;
	ck_assert_str_eq(addr, "0000:01:00.0");
	hv.attached++;
	return 0;
}

int WinHvDetachDevice(struct winhv_partition *p, const char *addr)
{
	(void)p;
	ck_assert_str_eq(addr, "0000:01:00.0");
	hv.detached++;
	return 0;
}

int WinHvMapDeviceInterrupt(struct winhv_partition *p, const char *addr,
			    const struct winhv_device_interrupt *irq)
{
	(void)p;
	ck_assert_str_eq(addr, "0000:01:00.0");
	hv.maps++;
	hv.last = *irq;
	return hv.map_status;
}

int WinHvUnmapDeviceInterrupt(struct winhv_partition *p, const char *addr, uint32_t kind,
			      uint32_t index)
{
	(void)p;
	ck_assert_str_eq(addr, "0000:01:00.0");
	hv.unmaps++;
	hv.unmap_kind = kind;
	hv.unmap_index = index;
	return 0;
}

int WinHvEnableDeviceInterrupts(struct winhv_partition *p, const char *addr, uint32_t kind, bool on)
{
	(void)p;
	(void)kind;
	ck_assert_str_eq(addr, "0000:01:00.0");
	hv.enables += on ? 1 : -1;
	return 0;
}

/* ---- The fake sysfs ---- */

static char root[64];

static void put(const char *name, const void *data, size_t len)
{
	char path[200];
	int fd;

	snprintf(path, sizeof(path), "%s/0000:01:00.0/%s", root, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void make_sysfs(void)
{
	static const char resource[] = "0x00000000fe000000 0x00000000fe003fff 0x0000000000040200\n"
				       "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
				       "0x000000000000c000 0x000000000000c01f 0x0000000000040101\n"
				       "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
				       "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
				       "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
				       "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
	static uint8_t cfg[4096], bar0[0x4000];
	char dir[100];

	snprintf(root, sizeof(root), "/tmp/vmwp-assign-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/0000:01:00.0", root);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	memset(cfg, 0, sizeof(cfg));
	cfg[0] = 0x34; /* vendor 0x1234, device 0x11e8 */
	cfg[1] = 0x12;
	cfg[2] = 0xe8;
	cfg[3] = 0x11;
	cfg[8] = 0x10;	/* revision */
	cfg[9] = 0x01;	/* prog-if */
	cfg[10] = 0x80; /* subclass */
	cfg[11] = 0xff; /* class */
	cfg[0x2c] = 0xf4;
	cfg[0x2d] = 0x1a;
	cfg[0x2e] = 0x00;
	cfg[0x2f] = 0x11;
	put("resource", resource, strlen(resource));
	put("config", cfg, sizeof(cfg));
	put("resource0", bar0, sizeof(bar0));
}

static void remove_sysfs(void)
{
	static const char *const files[] = {"resource", "config", "resource0"};
	char path[200];

	for (unsigned i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/0000:01:00.0/%s", root, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/0000:01:00.0", root);
	rmdir(path);
	rmdir(root);
}

/* ---- The guest ---- */

static uint64_t mmio_read(struct mmio_bus *b, uint64_t gpa, uint8_t size)
{
	uint64_t v = 0;
	int ret = -1;

	ck_assert(mmio_bus_dispatch(b, gpa, false, size, &v, &ret));
	ck_assert_int_eq(ret, 0);
	return v;
}

static void mmio_write(struct mmio_bus *b, uint64_t gpa, uint8_t size, uint64_t v)
{
	int ret = -1;

	ck_assert(mmio_bus_dispatch(b, gpa, true, size, &v, &ret));
	ck_assert_int_eq(ret, 0);
}

START_TEST(guest)
{
	static const char addrs[1][16] = {"0000:01:00.0"};
	struct winhv_partition_params pp = {.backend = WINHV_BACKEND_LOOPBACK, .max_vps = 4};
	struct winhv_partition *p = NULL;
	struct mmio_bus mb;
	struct assign_boot ab = {.mmio = &mb, .nr_vps = 4, .vm_id = {1, 2, 3, 4, 5, 6, 7, 8}};
	struct assign *a;
	char err[400];

	make_sysfs();
	mmio_bus_init(&mb);
	boot_pci_mmio(512ULL << 20, 40, &ab.ranges);
	ck_assert_int_eq(WinHvCreatePartition(&pp, &p), 0);
	ck_assert_int_eq(assign_create(addrs, 1, root, &a), 0);
	ck_assert_msg(assign_attach(a, p, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(hv.attached, 1);
	ck_assert_msg(assign_start(a, &ab, err, sizeof(err)) == 0, "%s", err);

	/* The model: IDs from config space, BAR 0 as found, no I/O BAR. */
	ck_assert_int_eq(bus.buses, 1);
	ck_assert_uint_eq(bus.dev.vendor_id, 0x1234);
	ck_assert_uint_eq(bus.dev.device_id, 0x11e8);
	ck_assert_uint_eq(bus.dev.revision, 0x10);
	ck_assert_uint_eq(bus.dev.prog_if, 0x01);
	ck_assert_uint_eq(bus.dev.subclass, 0x80);
	ck_assert_uint_eq(bus.dev.base_class, 0xff);
	ck_assert_uint_eq(bus.dev.subsys_vendor_id, 0x1af4);
	ck_assert_uint_eq(bus.dev.subsys_id, 0x1100);
	ck_assert_uint_eq(bus.dev.serial, 1);
	ck_assert_uint_eq(bus.dev.dev, 0);
	ck_assert_uint_eq(bus.dev.func, 0);
	ck_assert_uint_eq(bus.dev.bars[0].size, 0x4000);
	ck_assert_uint_eq(bus.dev.bars[2].size, 0);
	ck_assert_mem_eq(fn.bars, bus.dev.bars, sizeof(fn.bars));
	struct vmbus_guid g = assign_instance(ab.vm_id, 0);

	ck_assert_mem_eq(bus.instance.b, g.b, 16);

	/* vpci_func's ops reach the device's files. */
	uint32_t v32 = 0;
	uint64_t v64 = 0;

	ck_assert_int_eq(fn.ops->cfg_read(fn.ctx, 0, 4, &v32), 0);
	ck_assert_uint_eq(v32, 0x11e81234);
	ck_assert_int_eq(fn.ops->cfg_read(fn.ctx, 0x2e, 2, &v32), 0);
	ck_assert_uint_eq(v32, 0x1100);
	ck_assert_int_eq(fn.ops->cfg_write(fn.ctx, 0x40, 4, 0xdeadbeef), 0);
	ck_assert_int_eq(fn.ops->cfg_read(fn.ctx, 0x41, 1, &v32), 0);
	ck_assert_uint_eq(v32, 0xbe);
	ck_assert_int_eq(fn.ops->bar_write(fn.ctx, 0, 0x3ff8, 8, 0x0102030405060708ull), 0);
	ck_assert_int_eq(fn.ops->bar_read(fn.ctx, 0, 0x3ffc, 4, &v64), 0);
	ck_assert_uint_eq(v64, 0x01020304);
	ck_assert_int_eq(fn.ops->bar_read(fn.ctx, 0, 0x4000, 4, &v64), -EINVAL);
	ck_assert_int_eq(fn.ops->bar_read(fn.ctx, 0, 0x2, 4, &v64), -EINVAL);
	ck_assert_int_eq(fn.ops->bar_read(fn.ctx, 2, 0, 4, &v64), -EINVAL);
	/* BARs map only inside the published ranges. */
	ck_assert_int_eq(fn.ops->map(fn.ctx, 0, 0, 0x100000, 0x4000), -EINVAL);
	ck_assert_int_eq(fn.ops->map(fn.ctx, 0, 0, ab.ranges.low_base, 0x5000), -EINVAL);

	/* D0 entry: the config window must be page aligned and in the ranges. */
	uint64_t w = ab.ranges.low_base + 0x10000;

	ck_assert_int_lt(bus.cb->d0_entry(bus.cb_ctx, w + 0x800), 0);
	ck_assert_int_lt(bus.cb->d0_entry(bus.cb_ctx, 0x80000000), 0);
	ck_assert_int_lt(
	    bus.cb->d0_entry(bus.cb_ctx, ab.ranges.low_base + ab.ranges.low_size - 0x1000), 0);
	ck_assert_int_eq(bus.cb->d0_entry(bus.cb_ctx, w), 0);

	/* Slot 0 selected: the config page is function 0's config space. */
	mmio_write(&mb, w, 4, 0);
	ck_assert_uint_eq(mmio_read(&mb, w + 0x1000, 4), 0x11e81234);
	ck_assert(!fn.last_write);
	ck_assert_uint_eq(fn.last_off, 0);
	ck_assert_uint_eq(fn.last_size, 4);
	mmio_write(&mb, w + 0x1004, 2, 0x0006);
	ck_assert(fn.last_write);
	ck_assert_uint_eq(fn.last_off, 4);
	ck_assert_uint_eq(fn.last_size, 2);
	ck_assert_uint_eq(fn.last_val, 6);
	mmio_read(&mb, w + 0x1ffc, 4);
	ck_assert_uint_eq(fn.last_off, 0xffc);
	/* Another slot: nobody there. */
	mmio_write(&mb, w, 4, 1 << 5);
	ck_assert_uint_eq(mmio_read(&mb, w + 0x1000, 2), 0xffff);
	ck_assert_uint_eq(mmio_read(&mb, w + 0x1000, 4), 0xffffffff);
	/* A trapped BAR page, and unclaimed vPCI space. */
	fn.trap_gpa = ab.ranges.low_base + 0x100000;
	ck_assert_uint_eq(mmio_read(&mb, fn.trap_gpa + 8, 4), 0x7a);
	ck_assert_uint_eq(mmio_read(&mb, ab.ranges.low_base + 0x200000, 4), 0xffffffff);
	ck_assert_uint_eq(mmio_read(&mb, ab.ranges.high_base + 0x1000, 8), ~0ull);

	/* Interrupts: CREATE_INTERRUPT, the guest programs MSI-X entry 3 with it. */
	struct vpci_interrupt in = {.vector = 0x41, .vector_count = 1, .vp_count = 1, .vps = {2}};
	uint64_t addr;
	uint32_t data;

	ck_assert_int_eq(bus.cb->create_interrupt(bus.cb_ctx, &bus.dev, &in, &addr, &data), 0);
	ck_assert_uint_eq(addr, 0xfee00000);
	fn.ops->irq_update(fn.ctx, true, 3, addr, data, false);
	ck_assert_int_eq(hv.maps, 1);
	ck_assert_uint_eq(hv.last.kind, WINHV_DEVICE_INTERRUPT_MSIX);
	ck_assert_uint_eq(hv.last.index, 3);
	ck_assert_uint_eq(hv.last.vector, 0x41);
	ck_assert_uint_eq(hv.last.vp_index, 2);
	ck_assert_uint_eq(hv.last.address, addr);
	ck_assert_uint_eq(hv.last.data, data);
	ck_assert(hv.last.masked);
	fn.ops->irq_update(fn.ctx, true, 3, addr, data, true);
	ck_assert_int_eq(hv.maps, 2);
	ck_assert(!hv.last.masked);
	/* The 1.1 form: the lowest VP of the mask; a VP the VM lacks is refused. */
	struct vpci_interrupt in11 = {
	    .vector = 0x42, .vector_count = 1, .vp_mask_valid = true, .vp_mask = 0xa};
	uint64_t addr2;
	uint32_t data2;

	ck_assert_int_eq(bus.cb->create_interrupt(bus.cb_ctx, &bus.dev, &in11, &addr2, &data2), 0);
	ck_assert_uint_ne(data2, data);
	fn.ops->irq_update(fn.ctx, true, 4, addr2, data2, true);
	ck_assert_uint_eq(hv.last.vp_index, 1);
	ck_assert_uint_eq(hv.last.vector, 0x42);
	in11.vp_mask = 1ull << 4;
	ck_assert_int_lt(bus.cb->create_interrupt(bus.cb_ctx, &bus.dev, &in11, &addr2, &data2), 0);
	in.vps[0] = 4;
	ck_assert_int_lt(bus.cb->create_interrupt(bus.cb_ctx, &bus.dev, &in, &addr2, &data2), 0);
	/* A failing hypervisor is logged, not fatal. */
	hv.map_status = HV_STATUS_FEATURE_UNAVAILABLE;
	fn.ops->irq_update(fn.ctx, true, 3, addr, data, false);
	ck_assert_int_eq(hv.maps, 4);
	hv.map_status = 0;
	/* Unknown values, enabled: the route goes. */
	fn.ops->irq_update(fn.ctx, true, 4, addr2, 0x9999, true);
	ck_assert_int_eq(hv.unmaps, 1);
	ck_assert_uint_eq(hv.unmap_index, 4);
	/* DELETE_INTERRUPT unmaps the entries using it. */
	bus.cb->delete_interrupt(bus.cb_ctx, &bus.dev, addr, data);
	ck_assert_int_eq(hv.unmaps, 2);
	ck_assert_uint_eq(hv.unmap_kind, WINHV_DEVICE_INTERRUPT_MSIX);
	ck_assert_uint_eq(hv.unmap_index, 3);

	/* Released resources and D0 exit reset the function; the window goes. */
	bus.cb->resources_released(bus.cb_ctx, &bus.dev);
	ck_assert_int_eq(fn.resets, 1);
	bus.cb->d0_exit(bus.cb_ctx);
	ck_assert_int_eq(fn.resets, 2);
	ck_assert_uint_eq(mmio_read(&mb, w + 0x1000, 4), 0xffffffff);

	/* A route left at stop is removed before the detach. */
	ck_assert_int_eq(bus.cb->create_interrupt(bus.cb_ctx, &bus.dev, &in11, &addr, &data) < 0,
			 1);
	in.vps[0] = 0;
	ck_assert_int_eq(bus.cb->create_interrupt(bus.cb_ctx, &bus.dev, &in, &addr, &data), 0);
	fn.ops->irq_update(fn.ctx, true, 9, addr, data, true);
	assign_stop(a);
	ck_assert_int_eq(hv.unmaps, 3);
	ck_assert_uint_eq(hv.unmap_index, 9);
	ck_assert_int_eq(hv.detached, 1);
	ck_assert_int_eq(bus.destroyed, 1);
	ck_assert_int_eq(fn.destroyed, 1);
	int ret;
	uint64_t v;

	ck_assert(!mmio_bus_dispatch(&mb, w, false, 4, &v, &ret));

	/* The next boot: attached again, the files kept open. */
	ck_assert_msg(assign_attach(a, p, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(hv.attached, 2);
	assign_destroy(a);
	ck_assert_int_eq(hv.detached, 2);
	mmio_bus_destroy(&mb);
	WinHvDeletePartition(p);
	remove_sysfs();
}
END_TEST

/* What the host refuses: an unaligned BAR, a bridge, a missing device. */
START_TEST(refusals)
{
	static const char addrs[1][16] = {"0000:01:00.0"};
	struct winhv_partition_params pp = {.backend = WINHV_BACKEND_LOOPBACK, .max_vps = 1};
	struct winhv_partition *p = NULL;
	struct assign *a;
	char err[400];
	uint8_t hdr[64] = {0x34, 0x12, 0xe8, 0x11};

	make_sysfs();
	ck_assert_int_eq(WinHvCreatePartition(&pp, &p), 0);
	hdr[0x0e] = 1; /* a bridge */
	put("config", hdr, sizeof(hdr));
	ck_assert_int_eq(assign_create(addrs, 1, root, &a), 0);
	ck_assert_int_eq(assign_attach(a, p, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "bridges"), "%s", err);
	ck_assert_int_eq(hv.detached, hv.attached); /* undone */
	assign_destroy(a);
	remove_sysfs();
	ck_assert_int_eq(assign_create(addrs, 1, root, &a), 0);
	ck_assert_int_eq(assign_attach(a, p, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "--assign-pci 0000:01:00.0: cannot read"), "%s", err);
	ck_assert_int_eq(hv.detached, hv.attached);
	assign_destroy(a);
	WinHvDeletePartition(p);
}
END_TEST

TEST_MAIN("vmwp-assign-glue", guest, refusals)

// SPDX-License-Identifier: MIT
/*
 * Device assignment through linhv.ko's device domain, checked with QEMU's
 * "edu" test device (a DMA engine between its 4 KiB buffer at device address
 * 0x40000 and memory), run in an emulated host with an IOMMU:
 *
 *   assign-tests SSSS:BB:DD.F [BUSY-DEVICE]
 *
 * The edu device must be bound to pci-stub or vfio-pci (or no driver);
 * BUSY-DEVICE, when given, is one bound to a host driver, which must be
 * refused. A DMA aimed outside the partition's memory must fault in the
 * IOMMU (the caller checks the kernel's fault line). With --no-iommu, on a
 * host without an IOMMU, any device must be refused with a reason. One
 * PASS/FAIL line per check; the calling tier declares how many (no EXPECT
 * line here: scripts/test would add it to the tier's). The exit status is
 * the number of failures.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linhv/linhv.h>
#include <linhv/winhv.h>
#include <linhv/winhv_emulate.h>

#include "guestlib.h"

#define RAM (64u << 20)
#define SRC_GPA 0x100000u
#define DST_GPA 0x200000u
#define OUTSIDE_GPA 0x8000000u /* 128 MiB: beyond RAM, inside edu's 28-bit DMA mask */
#define EDU_BUF 0x40000u

/* edu's registers (BAR0) */
#define EDU_ID 0x00
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_START 1u
#define EDU_CMD_TO_RAM 2u
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64

static int failures;

static void result(const char *name, int ok, const char *fmt, ...)
{
	char why[256] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	printf(ok ? "PASS: %s\n" : "FAIL: %s (%s)\n", name, why);
	if (!ok)
		failures++;
	fflush(stdout);
}

static volatile uint8_t *bar;

static uint32_t rd32(uint32_t off)
{
	return *(volatile uint32_t *)(bar + off);
}

static void wr32(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(bar + off) = v;
}

static void wr64(uint32_t off, uint64_t v)
{
	*(volatile uint64_t *)(bar + off) = v;
}

/* One edu DMA of len bytes; 0 once the engine says it is done. */
static int edu_dma(uint64_t src, uint64_t dst, uint32_t len, uint32_t cmd)
{
	struct timespec t = {0, 10 * 1000 * 1000};

	wr64(EDU_DMA_SRC, src);
	wr64(EDU_DMA_DST, dst);
	wr64(EDU_DMA_CNT, len);
	wr64(EDU_DMA_CMD, EDU_CMD_START | cmd);
	for (int i = 0; i < 1000; i++) {
		if (!(rd32(EDU_DMA_CMD) & EDU_CMD_START))
			return 0;
		nanosleep(&t, NULL);
	}
	return -1;
}

/* RAM at SRC_GPA -> edu's buffer -> RAM at DST_GPA; 1 when DST holds SRC's bytes. */
static int round_trip(struct guest *g, uint8_t seed)
{
	uint8_t *src = g->ram + SRC_GPA, *dst = g->ram + DST_GPA;

	for (int i = 0; i < 4096; i++)
		src[i] = (uint8_t)(seed + i * 7);
	memset(dst, 0, 4096);
	__sync_synchronize();
	if (edu_dma(SRC_GPA, EDU_BUF, 4096, 0) || edu_dma(EDU_BUF, DST_GPA, 4096, EDU_CMD_TO_RAM))
		return -1;
	__sync_synchronize();
	return memcmp(src, dst, 4096) == 0;
}

/* Memory decoding and bus mastering on, as a guest driver does after each attach
 * (a detach resets the device, or at least turns bus mastering off). */
static int device_on(const char *addr)
{
	char path[256];
	uint16_t cmd;
	int fd, ret = -1;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", addr);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (pread(fd, &cmd, 2, 4) == 2) {
		cmd |= 0x6;
		if (pwrite(fd, &cmd, 2, 4) == 2)
			ret = 0;
	}
	close(fd);
	return ret;
}

/* WinHvAttachDevice, then the device on. */
static int attach(struct winhv_partition *p, const char *addr)
{
	int ret = WinHvAttachDevice(p, addr);

	if (ret == 0 && device_on(addr))
		return -1;
	return ret;
}

static int open_device(const char *addr)
{
	char path[256];
	int fd;

	if (device_on(addr))
		return -1;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", addr);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return -1;
	bar = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return bar == MAP_FAILED ? -1 : 0;
}

static int bar_io(void *ctx, uint16_t port, bool write, uint8_t size, uint32_t *val)
{
	uint32_t *ports = ctx;

	(void)size;
	if (write && port < 0x100)
		ports[port] = *val;
	else if (!write)
		*val = 0xffffffff;
	return 0;
}

/*
 * The device's BAR mapped into the partition (the root's mmap of it, as
 * HvCallMapGpaPages memory): a long-mode guest reads and writes the
 * registers itself, with no exit to the root.
 */
static void test_bar(const char *addr)
{
	uint32_t ports[0x100] = {0};
	struct hv_message msg;
	int mmio_exits = 0, halted = 0;
	char path[256];
	struct guest g;
	void *bar0;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", addr);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	bar0 = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fd >= 0)
		close(fd);
	if (bar0 == MAP_FAILED || guest_create(&g, WINHV_BACKEND_LINHV, 4 << 20, 1)) {
		result("bar: set-up", 0, "%s",
		       bar0 == MAP_FAILED ? strerror(errno) : WinHvLastError());
		return;
	}
	result("bar: the BAR mapped at a GPA",
	       WinHvMapGpaPages(g.part, 0xd0000000, bar0, 4096,
				HV_MAP_GPA_READABLE | HV_MAP_GPA_WRITABLE) == 0,
	       "%s", WinHvLastError());
	result("bar: the device attached to the same partition", attach(g.part, addr) == 0, "%s",
	       WinHvLastError());
	for (int i = 0; i < 4096; i++)
		g.ram[0x100000 + i] = (uint8_t)(0x5a ^ i);
	guest_load(&g, guest_bar_start, guest_bar_end);
	guest_set_mode(&g, 0, MODE_LM64);
	for (int i = 0; i < 1000 && !halted; i++) {
		if (WinHvRunVp(g.vp[0], &msg))
			break;
		switch (msg.header.message_type) {
		case HvMessageTypeX64IoPortIntercept:
			if (WinHvEmulateIoPort(g.vp[0], &msg, bar_io, ports))
				i = 1000;
			break;
		case HvMessageTypeX64Halt:
			halted = 1;
			break;
		default: /* an MMIO intercept: the BAR did not reach the guest */
			mmio_exits++;
			i = 1000;
			break;
		}
	}
	result("bar: the guest reads the device's ID register itself",
	       halted && !mmio_exits && ports[0x25] == 0x010000ed,
	       "halted %d, mmio exits %d, id %#x", halted, mmio_exits, ports[0x25]);
	result("bar: the guest's write reaches the device", ports[0x26] == ~0x12345678u,
	       "liveness %#x", ports[0x26]);
	result("bar: the guest's own DMA through the device reaches its memory",
	       ports[0x27] == 1 && !memcmp(g.ram + 0x100000, g.ram + 0x200000, 4096),
	       "done %u, bytes %s", ports[0x27],
	       memcmp(g.ram + 0x100000, g.ram + 0x200000, 4096) ? "differ" : "match");
	result("bar: unmapped again", WinHvUnmapGpaPages(g.part, 0xd0000000, 4096) == 0, "%s",
	       WinHvLastError());
	guest_destroy(&g);
	munmap(bar0, 4096);
}

/* HvCallAttachDeviceDomain straight to linhv.ko, past libwinhv's own checks. */
static int raw_attach(const char *addr)
{
	struct linhv_in_create_partition cin = {.max_vps = 1};
	struct linhv_out_create_partition cout;
	struct linhv_in_device_domain din = {0};
	struct linhv_hvcall hc = {.code = HvCallCreatePartition,
				  .input = (uintptr_t)&cin,
				  .in_size = sizeof(cin),
				  .output = (uintptr_t)&cout,
				  .out_size = sizeof(cout)};
	unsigned seg, bus, dev, fn;
	int fd = open(LINHV_DEVICE, O_RDWR | O_CLOEXEC), ret;

	if (fd < 0 || sscanf(addr, "%x:%x:%x.%x", &seg, &bus, &dev, &fn) != 4 ||
	    ioctl(fd, LINHV_HVCALL, &hc) || hc.status)
		return -1;
	close(fd);
	din.segment = seg;
	din.bus = bus;
	din.devfn = dev << 3 | fn;
	hc = (struct linhv_hvcall){
	    .code = HvCallAttachDeviceDomain, .input = (uintptr_t)&din, .in_size = sizeof(din)};
	ret = ioctl(cout.partition_fd, LINHV_HVCALL, &hc) ? -1 : hc.status;
	close(cout.partition_fd);
	return ret;
}

/* A partition whose process dies with the device attached gives it back. */
static void test_kill(const char *addr)
{
	int pipefd[2], st;
	char c = 0;
	pid_t pid;

	if (pipe(pipefd))
		return result("kill: set-up", 0, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		struct guest g;

		close(pipefd[0]);
		c = guest_create(&g, WINHV_BACKEND_LINHV, RAM, 1) == 0 && attach(g.part, addr) == 0;
		if (write(pipefd[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1)
		c = 0;
	close(pipefd[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	result("kill: a child partition attached the device", c == 1, "attach failed in the child");
}

/* ---- device interrupts: edu's MSI routed to a VP ---- */

#define DV_CMD 0x26000	 /* the guest issues the hypercall whose control word is here */
#define DV_INPUT 0x27000 /* ... with its input here */
#define DV_SPIN 0x26008	 /* non-zero: the guest spins with interrupts on instead of halting */
#define DV_SENTINEL 0x20 /* asserted by the root: ends each run */
#define MSI_ADDR 0xfee00000u
#define MSI_DATA 0x4051u

struct dv_io {
	uint32_t seen[16]; /* vectors the guest's handlers reported (port 0x31) */
	int n;
	int ready, sentinel, status_done;
	uint32_t status; /* port 0x32: the guest's hypercall status */
};

static int dv_io_fn(void *ctx, uint16_t port, bool write, uint8_t size, uint32_t *val)
{
	struct dv_io *io = ctx;

	(void)size;
	if (!write) {
		*val = 0xffffffff;
		return 0;
	}
	if (port == 0x30 && *val == 0x11)
		io->ready = 1;
	else if (port == 0x31 && *val == DV_SENTINEL)
		io->sentinel = 1;
	else if (port == 0x31 && io->n < 16)
		io->seen[io->n++] = *val;
	else if (port == 0x32) {
		io->status = *val;
		io->status_done = 1;
	}
	return 0;
}

/* Run VP 0 until the guest writes the port 'until' waits for (0x30, 0x31 sentinel, 0x32). */
static int dv_run(struct guest *g, struct dv_io *io, int until)
{
	struct hv_message msg;

	for (int i = 0; i < 200; i++) {
		if (WinHvRunVp(g->vp[0], &msg) ||
		    msg.header.message_type != HvMessageTypeX64IoPortIntercept ||
		    WinHvEmulateIoPort(g->vp[0], &msg, dv_io_fn, io))
			return -1;
		if ((until == 0x30 && io->ready) || (until == 0x31 && io->sentinel) ||
		    (until == 0x32 && io->status_done))
			return 0;
	}
	return -1;
}

static void msleep(int ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

/* edu raises its interrupt (an MSI write, once MSI is enabled) and it is acknowledged. */
static void edu_fire(void)
{
	wr32(EDU_IRQ_RAISE, 1);
	msleep(20); /* the MSI reaches the host's handler */
	wr32(EDU_IRQ_ACK, 1);
}

/*
 * Fire edu's interrupt nfire times (0: none), then assert the sentinel and
 * run until it arrives: io lists the vectors delivered in between.
 */
static int dv_collect(struct guest *g, struct dv_io *io, int nfire)
{
	memset(io, 0, sizeof(*io));
	for (int i = 0; i < nfire; i++)
		edu_fire();
	WinHvAssertVirtualInterrupt(g->part, HV_X64_INTERRUPT_TYPE_FIXED, DV_SENTINEL, 0);
	return dv_run(g, io, 0x31);
}

static int dv_only(const struct dv_io *io, uint32_t vector)
{
	return io->n == 1 && io->seen[0] == vector;
}

/* Does /proc/interrupts list an IRQ named for the device ("linhv-dev:ADDR")? */
static int host_irq_listed(const char *addr)
{
	char line[1024], name[64];
	int found = 0;
	FILE *f = fopen("/proc/interrupts", "r");

	snprintf(name, sizeof(name), "linhv-dev:%s", addr);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, name))
			found = 1;
	fclose(f);
	return found;
}

static void *fire_later(void *arg)
{
	struct guest *g = arg;

	msleep(300); /* the VP is asleep in HLT by now */
	edu_fire();
	msleep(100);
	WinHvAssertVirtualInterrupt(g->part, HV_X64_INTERRUPT_TYPE_FIXED, DV_SENTINEL, 0);
	return NULL;
}

static volatile int storm_stop;

/* edu raises its interrupt as fast as the root can ask, until told to stop. */
static void *storm(void *arg)
{
	(void)arg;
	while (!storm_stop) {
		wr32(EDU_IRQ_RAISE, 1);
		wr32(EDU_IRQ_ACK, 1);
	}
	return NULL;
}

/* The guest's HvCallRetargetDeviceInterrupt, laid out as Linux's pci-hyperv does. */
struct retarget_in {
	uint64_t partition_id;
	uint64_t device_id;
	uint32_t source;
	uint32_t reserved1;
	uint32_t address;
	uint32_t data;
	uint64_t reserved2;
	uint32_t vector;
	uint32_t flags;
	uint64_t vp_mask; /* or the VP set's format */
	uint64_t var[2];  /* a sparse VP set's valid-bank mask and bank 0 */
};

/* Let the guest issue HvCallRetargetDeviceInterrupt with in; its status, or -1. */
static int guest_retarget(struct guest *g, const struct retarget_in *in, uint32_t var_size)
{
	struct dv_io io = {0};

	memcpy(g->ram + DV_INPUT, in, sizeof(*in));
	*(volatile uint64_t *)(g->ram + DV_CMD) = 0x7e | (uint64_t)var_size << 17;
	/* The guest is stopped in a handler; it sees the command on its way back to HLT. */
	if (dv_run(g, &io, 0x32))
		return -1;
	return (int)io.status;
}

/* Straight to linhv.ko on a fresh partition (no VP, nothing attached): the input checks. */
static int raw_devirq(const struct linhv_in_device_interrupt *in)
{
	struct linhv_in_create_partition cin = {.max_vps = 1};
	struct linhv_out_create_partition cout;
	struct linhv_hvcall hc = {.code = HvCallCreatePartition,
				  .input = (uintptr_t)&cin,
				  .in_size = sizeof(cin),
				  .output = (uintptr_t)&cout,
				  .out_size = sizeof(cout)};
	int fd = open(LINHV_DEVICE, O_RDWR | O_CLOEXEC), ret;

	if (fd < 0 || ioctl(fd, LINHV_HVCALL, &hc) || hc.status)
		return -1;
	close(fd);
	hc = (struct linhv_hvcall){
	    .code = HvCallMapDeviceInterrupt, .input = (uintptr_t)in, .in_size = sizeof(*in)};
	ret = ioctl(cout.partition_fd, LINHV_HVCALL, &hc) ? -1 : hc.status;
	close(cout.partition_fd);
	return ret;
}

static void test_devirq(const char *addr)
{
	struct winhv_device_interrupt irq = {.kind = WINHV_DEVICE_INTERRUPT_MSI,
					     .vector = 0x50,
					     .address = MSI_ADDR,
					     .data = MSI_DATA};
	struct retarget_in rt = {.partition_id = ~0ULL,
				 .device_id = 0x1234,
				 .source = 1,
				 .address = MSI_ADDR,
				 .data = MSI_DATA,
				 .vector = 0x60,
				 .vp_mask = 1};
	struct winhv_device_interrupt bad;
	struct linhv_in_device_interrupt raw;
	unsigned seg, bus, dev, fn;
	struct dv_io io;
	struct guest g;
	pthread_t tid;
	int ret;

	if (guest_create_flags(&g, WINHV_BACKEND_LINHV, RAM, 1, WINHV_PARTITION_HYPERV) ||
	    attach(g.part, addr)) {
		result("irq: set-up", 0, "%s", WinHvLastError());
		guest_destroy(&g);
		return;
	}
	guest_load(&g, guest_devirq_start, guest_devirq_end);
	guest_set_mode(&g, 0, MODE_LM64);
	guest_set_gate(&g, DV_SENTINEL, guest_devirq_start, guest_devirq_h20);
	guest_set_gate(&g, 0x50, guest_devirq_start, guest_devirq_h50);
	guest_set_gate(&g, 0x60, guest_devirq_start, guest_devirq_h60);
	guest_set_gate(&g, 0x70, guest_devirq_start, guest_devirq_h70);
	guest_load_idt(&g, 0);
	memset(&io, 0, sizeof(io));
	result("irq: the guest sets up its hypercall page and APIC", dv_run(&g, &io, 0x30) == 0,
	       "did not report ready");

	/* Refused by the root's checks. */
	bad = irq;
	bad.vector = 5;
	ret = WinHvMapDeviceInterrupt(g.part, addr, &bad);
	result("irq: vector 5 is refused", ret == HV_STATUS_INVALID_PARAMETER, "status %d", ret);
	bad = irq;
	bad.vp_index = 3;
	ret = WinHvMapDeviceInterrupt(g.part, addr, &bad);
	result("irq: a VP that does not exist is refused", ret == HV_STATUS_INVALID_PARAMETER,
	       "status %d", ret);
	bad = irq;
	bad.index = 1; /* edu has one MSI vector */
	ret = WinHvMapDeviceInterrupt(g.part, addr, &bad);
	result("irq: an index beyond the device's vectors is not found", ret == HV_STATUS_NOT_FOUND,
	       "status %d", ret);
	bad = irq;
	bad.kind = WINHV_DEVICE_INTERRUPT_MSIX; /* edu has no MSI-X */
	ret = WinHvMapDeviceInterrupt(g.part, addr, &bad);
	result("irq: MSI-X of a device without it is not found", ret == HV_STATUS_NOT_FOUND,
	       "status %d", ret);
	result("irq: nothing mapped, no host vector held", host_irq_listed(addr) == 0,
	       "listed in /proc/interrupts");
	ret = WinHvUnmapDeviceInterrupt(g.part, addr, WINHV_DEVICE_INTERRUPT_MSI, 0);
	result("irq: unmap of no route is not found", ret == HV_STATUS_NOT_FOUND, "status %d", ret);
	sscanf(addr, "%x:%x:%x.%x", &seg, &bus, &dev, &fn);
	raw = (struct linhv_in_device_interrupt){.segment = seg,
						 .bus = bus,
						 .devfn = dev << 3 | fn,
						 .kind = LINHV_DEVICE_INTERRUPT_MSI,
						 .vector = 0x50,
						 .reserved = 1};
	ret = raw_devirq(&raw);
	result("irq: linhv.ko refuses reserved bits", ret == HV_STATUS_INVALID_PARAMETER,
	       "status %d", ret);
	raw.reserved = 0;
	raw.flags = 2;
	ret = raw_devirq(&raw);
	result("irq: linhv.ko refuses unknown flags", ret == HV_STATUS_INVALID_PARAMETER,
	       "status %d", ret);
	raw.flags = 0;
	raw.kind = 3;
	ret = raw_devirq(&raw);
	result("irq: linhv.ko refuses an unknown kind", ret == HV_STATUS_INVALID_PARAMETER,
	       "status %d", ret);

	/* Routed: edu's MSI wakes the VP in HLT at the route's vector. */
	ret = WinHvMapDeviceInterrupt(g.part, addr, &irq);
	result("irq: MSI 0 mapped to vector 0x50 on VP 0", ret == 0, "%s", WinHvLastError());
	result("irq: the host vector is requested under the device's name",
	       host_irq_listed(addr) == 1, "no linhv-dev:%s in /proc/interrupts", addr);
	bad = irq;
	bad.kind = WINHV_DEVICE_INTERRUPT_MSIX;
	ret = WinHvMapDeviceInterrupt(g.part, addr, &bad);
	result("irq: the other kind while MSI has a route is refused",
	       ret == HV_STATUS_INVALID_PARAMETER, "status %d", ret);
	memset(&io, 0, sizeof(io));
	pthread_create(&tid, NULL, fire_later, &g);
	ret = dv_run(&g, &io, 0x31);
	pthread_join(tid, NULL);
	result("irq: edu's MSI wakes the halted VP at vector 0x50", ret == 0 && dv_only(&io, 0x50),
	       "run %d, %d delivered, first %#x", ret, io.n, io.seen[0]);
	ret = dv_collect(&g, &io, 1);
	result("irq: and again, while the VP is stopped in the root",
	       ret == 0 && dv_only(&io, 0x50), "run %d, %d delivered, first %#x", ret, io.n,
	       io.seen[0]);
	*(volatile uint64_t *)(g.ram + DV_SPIN) = 1;
	memset(&io, 0, sizeof(io));
	pthread_create(&tid, NULL, fire_later, &g);
	ret = dv_run(&g, &io, 0x31);
	pthread_join(tid, NULL);
	*(volatile uint64_t *)(g.ram + DV_SPIN) = 0;
	result("irq: and while the VP runs guest code (a kick)", ret == 0 && dv_only(&io, 0x50),
	       "run %d, %d delivered, first %#x", ret, io.n, io.seen[0]);

	/* Masked: held, then delivered once on unmask. */
	irq.masked = true;
	ret = WinHvMapDeviceInterrupt(g.part, addr, &irq);
	result("irq: masked", ret == 0, "%s", WinHvLastError());
	ret = dv_collect(&g, &io, 2);
	result("irq: masked, edu's interrupts are not delivered", ret == 0 && io.n == 0,
	       "run %d, %d delivered", ret, io.n);
	irq.masked = false;
	ret = WinHvMapDeviceInterrupt(g.part, addr, &irq);
	ret = ret ? ret : dv_collect(&g, &io, 0);
	result("irq: unmasked, the held one is delivered once", ret == 0 && dv_only(&io, 0x50),
	       "%d, %d delivered, first %#x", ret, io.n, io.seen[0]);

	/* The guest moves it. */
	ret = guest_retarget(&g, &rt, 0);
	result("irq: the guest's HvCallRetargetDeviceInterrupt (VP mask) succeeds", ret == 0,
	       "status %d", ret);
	ret = dv_collect(&g, &io, 1);
	result("irq: after the retarget it arrives at vector 0x60", ret == 0 && dv_only(&io, 0x60),
	       "run %d, %d delivered, first %#x", ret, io.n, io.seen[0]);
	rt.vector = 0x70;
	rt.flags = 2; /* PROCESSOR_SET: sparse, bank 0 holds VP 0 */
	rt.vp_mask = 0;
	rt.var[0] = 1;
	rt.var[1] = 1;
	ret = guest_retarget(&g, &rt, 2);
	result("irq: the retarget with a VP set (as Linux sends it) succeeds", ret == 0,
	       "status %d", ret);
	{
		struct retarget_in b = rt;
		int st[5];

		b.data = MSI_DATA + 1;
		st[0] = guest_retarget(&g, &b, 2);
		b = rt;
		b.vector = 5;
		st[1] = guest_retarget(&g, &b, 2);
		b = rt;
		b.var[1] = 1ULL << 5; /* VP 5 does not exist */
		st[2] = guest_retarget(&g, &b, 2);
		st[3] = guest_retarget(&g, &rt, 1); /* size disagrees with the bank mask */
		b = rt;
		b.source = 2;
		st[4] = guest_retarget(&g, &b, 2);
		result("irq: bad retargets from the guest get INVALID_PARAMETER",
		       st[0] == 5 && st[1] == 5 && st[2] == 5 && st[3] == 5 && st[4] == 5,
		       "statuses %d %d %d %d %d", st[0], st[1], st[2], st[3], st[4]);
	}
	ret = dv_collect(&g, &io, 1);
	result("irq: ... and change nothing: it arrives at vector 0x70",
	       ret == 0 && dv_only(&io, 0x70), "run %d, %d delivered, first %#x", ret, io.n,
	       io.seen[0]);

	/* Unmapped: dropped, and the host vector is given back. */
	ret = WinHvUnmapDeviceInterrupt(g.part, addr, WINHV_DEVICE_INTERRUPT_MSI, 0);
	result("irq: unmapped", ret == 0, "%s", WinHvLastError());
	result("irq: the last route gone, the host vector is freed", host_irq_listed(addr) == 0,
	       "still in /proc/interrupts");
	ret = dv_collect(&g, &io, 1);
	result("irq: without a route nothing is delivered", ret == 0 && io.n == 0,
	       "run %d, %d delivered", ret, io.n);

	/* Routes made, masked, unmasked and removed while the handler runs: no harm. */
	irq.vector = 0x50;
	storm_stop = 0;
	pthread_create(&tid, NULL, storm, NULL);
	ret = 0;
	for (int i = 0; i < 300 && !ret; i++) {
		irq.masked = true;
		ret = WinHvMapDeviceInterrupt(g.part, addr, &irq);
		irq.masked = false;
		ret = ret ? ret : WinHvMapDeviceInterrupt(g.part, addr, &irq);
		ret = ret ? ret
			  : WinHvUnmapDeviceInterrupt(g.part, addr, WINHV_DEVICE_INTERRUPT_MSI, 0);
	}
	storm_stop = 1;
	pthread_join(tid, NULL);
	result("irq: 300 map/mask/unmask/unmap cycles while edu fires nonstop",
	       ret == 0 && host_irq_listed(addr) == 0, "%d: %s", ret, WinHvLastError());
	dv_collect(&g, &io, 0); /* what the storm left pending */

	/* Detach and the partition's end free the vectors too. */
	ret = WinHvMapDeviceInterrupt(g.part, addr, &irq);
	ret = ret ? ret : WinHvDetachDevice(g.part, addr);
	result("irq: detach with a route mapped frees the host vector",
	       ret == 0 && host_irq_listed(addr) == 0, "%s",
	       ret ? WinHvLastError() : "still listed");
	ret = WinHvMapDeviceInterrupt(g.part, addr, &irq);
	result("irq: a device not attached is not found", ret == HV_STATUS_NOT_FOUND, "status %d",
	       ret);
	ret = attach(g.part, addr);
	ret = ret ? ret : WinHvMapDeviceInterrupt(g.part, addr, &irq);
	ret = ret ? ret : dv_collect(&g, &io, 1);
	result("irq: attached and mapped again, it is delivered again",
	       ret == 0 && dv_only(&io, 0x50), "%d: %s, %d delivered", ret, WinHvLastError(), io.n);
	guest_destroy(&g);
	result("irq: the partition's end frees the host vector", host_irq_listed(addr) == 0,
	       "still in /proc/interrupts");
}

/* A process killed with a route mapped: its host vector is freed with the partition. */
static void test_devirq_kill(const char *addr)
{
	int pipefd[2], st, listed;
	char c = 0;
	pid_t pid;

	if (pipe(pipefd))
		return result("irq kill: set-up", 0, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		struct winhv_device_interrupt irq = {
		    .kind = WINHV_DEVICE_INTERRUPT_MSI, .vector = 0x50, .address = MSI_ADDR};
		struct guest g;

		close(pipefd[0]);
		c = guest_create(&g, WINHV_BACKEND_LINHV, RAM, 1) == 0 &&
		    attach(g.part, addr) == 0 && WinHvMapDeviceInterrupt(g.part, addr, &irq) == 0;
		if (write(pipefd[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1)
		c = 0;
	close(pipefd[0]);
	listed = host_irq_listed(addr);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	result("irq kill: a child partition routed the device's MSI", c == 1 && listed == 1,
	       "mapped %d, listed %d", c, listed);
	result("irq kill: SIGKILL frees the host vector", host_irq_listed(addr) == 0,
	       "still in /proc/interrupts");
}

/* A host without an IOMMU: refused with a message that says so, by libwinhv and by linhv.ko. */
static int no_iommu(const char *addr)
{
	struct guest g;
	int ret;

	if (guest_create(&g, WINHV_BACKEND_LINHV, RAM, 1)) {
		result("no-iommu: partition created", 0, "%s", WinHvLastError());
		return 1;
	}
	ret = attach(g.part, addr);
	result("no IOMMU: assignment refused with a message naming the IOMMU",
	       ret == HV_STATUS_FEATURE_UNAVAILABLE && strstr(WinHvLastError(), "IOMMU"),
	       "status %d: %s", ret, WinHvLastError());
	guest_destroy(&g);
	ret = raw_attach(addr);
	result("no IOMMU: linhv.ko refuses it too, asked directly",
	       ret == HV_STATUS_FEATURE_UNAVAILABLE, "status %d", ret);
	return failures;
}

int main(int argc, char **argv)
{
	const char *addr = argc > 1 ? argv[1] : NULL;
	struct guest g;
	int ret;

	if (argc == 3 && !strcmp(argv[1], "--no-iommu"))
		return no_iommu(argv[2]);
	if (!addr || addr[0] == '-') {
		fprintf(stderr, "usage: assign-tests SSSS:BB:DD.F [BUSY-DEVICE]\n"
				"       assign-tests --no-iommu SSSS:BB:DD.F\n");
		return 2;
	}
	if (open_device(addr)) {
		result("edu: BAR0 mapped", 0, "%s: %s", addr, strerror(errno));
		return 1;
	}
	result("edu: BAR0 mapped and the device answers", rd32(EDU_ID) == 0x010000ed, "id %#x",
	       rd32(EDU_ID));
	ret = guest_create(&g, WINHV_BACKEND_LINHV, RAM, 1);
	if (ret) {
		result("partition created", 0, "%s", WinHvLastError());
		return 1;
	}
	ret = attach(g.part, addr);
	result("attach", ret == 0, "%s", WinHvLastError());
	result("attach twice is refused", attach(g.part, addr) == HV_STATUS_OBJECT_IN_USE, "%s",
	       WinHvLastError());
	result("DMA to and from the partition's memory at guest physical addresses",
	       round_trip(&g, 1) == 1, "the bytes did not arrive");

	/* Outside the partition: the IOMMU blocks it; the device still reports completion. */
	result("DMA outside the partition completes in the device",
	       edu_dma(EDU_BUF, OUTSIDE_GPA, 4096, EDU_CMD_TO_RAM) == 0, "edu stuck");
	/* A page added later is mirrored too. */
	{
		uint8_t *extra =
		    mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int ok = extra != MAP_FAILED &&
			 WinHvMapGpaPages(g.part, 0x6000000, extra, 1 << 20,
					  HV_MAP_GPA_READABLE | HV_MAP_GPA_WRITABLE) == 0;

		if (ok) {
			memset(extra, 0, 4096);
			ok = edu_dma(EDU_BUF, 0x6000000, 4096, EDU_CMD_TO_RAM) == 0 &&
			     memcmp(extra, g.ram + DST_GPA, 4096) == 0;
		}
		result("memory mapped while attached is reachable by DMA", ok, "%s",
		       WinHvLastError());
		result("and unmapped again", WinHvUnmapGpaPages(g.part, 0x6000000, 1 << 20) == 0,
		       "%s", WinHvLastError());
	}

	ret = WinHvDetachDevice(g.part, addr);
	result("detach", ret == 0, "%s", WinHvLastError());
	/* Back in the host's hands: the device no longer reaches the partition. */
	memset(g.ram + DST_GPA, 0xaa, 4096);
	__sync_synchronize();
	edu_dma(EDU_BUF, DST_GPA, 4096, EDU_CMD_TO_RAM);
	result("after detach, DMA no longer reaches the partition",
	       g.ram[DST_GPA] == 0xaa && g.ram[DST_GPA + 4095] == 0xaa, "memory changed");
	result("detach of a device not attached is refused",
	       WinHvDetachDevice(g.part, addr) == HV_STATUS_NOT_FOUND, "%s", WinHvLastError());
	result("a device that does not exist is refused",
	       WinHvAttachDevice(g.part, "0000:fe:1f.7") == HV_STATUS_NOT_FOUND, "%s",
	       WinHvLastError());
	if (argc > 2) {
		ret = WinHvAttachDevice(g.part, argv[2]);
		result("a device bound to a host driver is refused, with the driver's name",
		       ret == HV_STATUS_OPERATION_DENIED && strstr(WinHvLastError(), "host driver"),
		       "status %d: %s", ret, WinHvLastError());
		ret = raw_attach(argv[2]);
		result("and linhv.ko refuses it too, asked directly",
		       ret == HV_STATUS_OPERATION_DENIED, "status %d", ret);
	}
	ret = attach(g.part, addr);
	result("attach again after detach, and DMA works again", ret == 0 && round_trip(&g, 9) == 1,
	       "%s", ret ? WinHvLastError() : "no data");
	guest_destroy(&g); /* the partition's end detaches the device */

	test_bar(addr);
	test_kill(addr);
	test_devirq(addr);
	test_devirq_kill(addr);
	ret = guest_create(&g, WINHV_BACKEND_LINHV, RAM, 1);
	result("after the partition's end and a SIGKILL, the device can be assigned again",
	       ret == 0 && attach(g.part, addr) == 0 && round_trip(&g, 3) == 1, "%s",
	       WinHvLastError());
	guest_destroy(&g);
	return failures;
}

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

static int open_device(const char *addr)
{
	char path[256];
	uint16_t cmd;
	int fd;

	/* Memory decoding and bus mastering on: the guest driver's job later. */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", addr);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || pread(fd, &cmd, 2, 4) != 2)
		return -1;
	cmd |= 0x6;
	if (pwrite(fd, &cmd, 2, 4) != 2)
		return -1;
	close(fd);
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
	result("bar: the device attached to the same partition",
	       WinHvAttachDevice(g.part, addr) == 0, "%s", WinHvLastError());
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
		c = guest_create(&g, WINHV_BACKEND_LINHV, RAM, 1) == 0 &&
		    WinHvAttachDevice(g.part, addr) == 0;
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

/* A host without an IOMMU: refused with a message that says so, by libwinhv and by linhv.ko. */
static int no_iommu(const char *addr)
{
	struct guest g;
	int ret;

	if (guest_create(&g, WINHV_BACKEND_LINHV, RAM, 1)) {
		result("no-iommu: partition created", 0, "%s", WinHvLastError());
		return 1;
	}
	ret = WinHvAttachDevice(g.part, addr);
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
	ret = WinHvAttachDevice(g.part, addr);
	result("attach", ret == 0, "%s", WinHvLastError());
	result("attach twice is refused",
	       WinHvAttachDevice(g.part, addr) == HV_STATUS_OBJECT_IN_USE, "%s", WinHvLastError());
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
	ret = WinHvAttachDevice(g.part, addr);
	result("attach again after detach, and DMA works again", ret == 0 && round_trip(&g, 9) == 1,
	       "%s", ret ? WinHvLastError() : "no data");
	guest_destroy(&g); /* the partition's end detaches the device */

	test_bar(addr);
	test_kill(addr);
	ret = guest_create(&g, WINHV_BACKEND_LINHV, RAM, 1);
	result("after the partition's end and a SIGKILL, the device can be assigned again",
	       ret == 0 && WinHvAttachDevice(g.part, addr) == 0 && round_trip(&g, 3) == 1, "%s",
	       WinHvLastError());
	guest_destroy(&g);
	return failures;
}

// SPDX-License-Identifier: MIT
/* Building and tearing down one boot of the VM: partition, RAM, ACPI, devices, VPs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cpuid.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "acpi.h"
#include "assign.h"
#include "console.h"
#include "vm.h"
#include "vmbus_host.h"

void vm_raise(struct vm *vm, enum vm_event ev, const char *fmt, ...)
{
	int none = VM_EV_NONE;
	uint64_t one = 1;
	va_list ap;

	if (!__atomic_compare_exchange_n(&vm->event, &none, (int)ev, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return;
	va_start(ap, fmt);
	vsnprintf(vm->event_msg, sizeof(vm->event_msg), fmt, ap);
	va_end(ap);
	if (write(vm->event_fd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow: one event per boot */
	}
	/* Stop every VP now: nothing the guest does after this matters. */
	vcpu_kick_all(vm);
}

static void console_out(void *ctx, uint8_t b)
{
	struct vm *vm = ctx;

	console_output(vm->con, b);
}

static void power(void *ctx, enum platform_power what)
{
	struct vm *vm = ctx;

	if (what == PLATFORM_POWEROFF)
		vm_raise(vm, VM_EV_POWEROFF, "guest powered off");
	else
		vm_raise(vm, VM_EV_RESET, "reset port");
}

/* The guest's physical address width: the host's (linhv passes CPUID 0x80000008 through). */
static unsigned phys_bits(void)
{
	unsigned eax, ebx, ecx, edx;

	if (!__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx))
		return 36;
	return eax & 0xff;
}

static int fail(char *err, size_t len, const char *what)
{
	snprintf(err, len, "%s: %s", what, WinHvLastError());
	return -1;
}

int vm_start(struct vm *vm, char *err, size_t errlen)
{
	const struct vmwp_options *o = vm->o;
	struct winhv_partition_params pp = {
	    .backend = o->backend, .max_vps = o->cpus, .flags = WINHV_PARTITION_HYPERV};
	uint64_t low = boot_low_ram(o->memory), acpi_len;
	struct boot_entry entry;
	struct boot_image img = {vm->kernel.data, vm->kernel.len, vm->initrd.data, vm->initrd.len,
				 vm->cmdline};
	int ret;

	vm->event = VM_EV_NONE;
	vm->stopping = 0;
	vm->shutting_down = false;
	ret = WinHvCreatePartition(&pp, &vm->part);
	if (ret)
		return fail(err, errlen, "cannot create the partition");
	/* Ports nobody emulates complete in the hypervisor where it can (linhv). */
	struct linhv_io_port_range ports[LINHV_MAX_IO_PORT_RANGES];
	unsigned nports = platform_io_ports(ports, LINHV_MAX_IO_PORT_RANGES);

	ret = WinHvSetIoPortPolicy(vm->part, ports, nports);
	if (ret && ret != -ENOSYS)
		return fail(err, errlen, "cannot set the I/O port policy");
	/* Before anything else: a device that cannot be assigned stops the VM here. */
	if (vm->assign && assign_attach(vm->assign, vm->part, err, errlen))
		return -1;
	vm->ram_size = o->memory;
	/*
	 * Shared memory, not anonymous: linhv.ko's nested leaves hold page
	 * references, and reclaim refuses an anonymous huge page that has extra
	 * references before it unmaps it (its split check), while shmem is
	 * unmapped (dropping them) first. So anonymous THP would make the
	 * guest's RAM unreclaimable; shmem THP (shmem_enabled=advise) does not.
	 */
	vm->ram_fd = memfd_create("vmwp-ram", MFD_CLOEXEC);
	if (vm->ram_fd < 0 || ftruncate(vm->ram_fd, (off_t)vm->ram_size) < 0) {
		snprintf(err, errlen, "cannot allocate %llu MiB of guest RAM: %s",
			 (unsigned long long)(vm->ram_size >> 20), strerror(errno));
		return -1;
	}
	vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		       vm->ram_fd, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		snprintf(err, errlen, "cannot map guest RAM: %s", strerror(errno));
		return -1;
	}
	madvise(vm->ram, vm->ram_size, MADV_HUGEPAGE);
	const uint32_t rwx = HV_MAP_GPA_READABLE | HV_MAP_GPA_WRITABLE | HV_MAP_GPA_EXECUTABLE;

	if (WinHvMapGpaPages(vm->part, 0, vm->ram, low, rwx))
		return fail(err, errlen, "cannot map guest RAM");
	if (vm->ram_size > low &&
	    WinHvMapGpaPages(vm->part, BOOT_HIGH_RAM_BASE, vm->ram + low, vm->ram_size - low, rwx))
		return fail(err, errlen, "cannot map guest RAM above 4 GiB");

	/*
	 * The MMIO ranges are published with or without assigned devices: a
	 * Linux 5.10 guest's hv_vmbus oopses when it finds none (acpi.c).
	 */
	struct acpi_vmbus_mmio pci_mmio;

	boot_pci_mmio(o->memory, phys_bits(), &pci_mmio);
	acpi_len = acpi_build(vm->ram + BOOT_ACPI, BOOT_ACPI, BOOT_RESET_VECTOR - BOOT_ACPI,
			      o->cpus, &pci_mmio);
	if (!acpi_len) {
		snprintf(err, errlen, "ACPI tables do not fit");
		return -1;
	}
	if (image_check(&vm->kernel, "kernel", err, errlen) ||
	    image_check(&vm->initrd, "initrd", err, errlen) ||
	    boot_load_linux(vm->ram, vm->ram_size, &vm->bz, &img, BOOT_ACPI, &entry, err, errlen))
		return -1;
	/* The guest has its copy now; the next reboot reads the page cache again. */
	image_drop(&vm->kernel);
	image_drop(&vm->initrd);

	/* The RTC is battery backed: set from --rtc-base once, then kept across reboots. */
	if (vm->boots == 0)
		vm->rtc_offset = vmwp_rtc_offset(o, time(NULL));
	platform_init(&vm->plat, vm->part, o->cpus, console_out, power, vm, vm->rtc_offset);
	vm->plat_ready = true;
	for (uint32_t i = 0; i < o->cpus; i++) {
		if (WinHvCreateVp(vm->part, i, &vm->vps[i]))
			return fail(err, errlen, "cannot create a VP");
	}
	if (WinHvInitializePartition(vm->part))
		return fail(err, errlen, "cannot initialize the partition");
	if (boot_set_registers(vm->vps[0], &entry))
		return fail(err, errlen, "cannot set the boot registers");
	struct vmbus_host_params hp = {.loop = vm->loop,
				       .partition = vm->part,
				       .nr_vps = o->cpus,
				       .disks = vm->disks,
				       .ndisks = vm->ndisks};

	memcpy(hp.vm_id, vm->id, sizeof(hp.vm_id));
	ret = vmbus_host_create(&hp, &vm->vmbus);
	if (ret == -ENOSYS && vm->boots == 0)
		fprintf(stderr, "vmwp: the %s backend has no SynIC: running without VMBus%s\n",
			WinHvBackendName(WinHvPartitionBackend(vm->part)),
			vm->ndisks ? " (so without the --disk devices)" : "");
	else if (ret && ret != -ENOSYS)
		fprintf(stderr, "vmwp: VMBus server not started (%s): running without VMBus\n",
			strerror(-ret));
	for (unsigned i = 0; vm->vmbus && i < o->nnics; i++)
		if (vmbus_host_add_nic(vm->vmbus, vm->taps[i], vm->macs[i], i))
			fprintf(stderr, "vmwp: nic %u: the network VSP did not start\n", i);
	if (vm->assign) {
		struct assign_boot ab = {
		    .mmio = &vm->plat.mmio, .ranges = pci_mmio, .nr_vps = o->cpus};

		if (!vm->vmbus) {
			snprintf(err, errlen,
				 "--assign-pci: the guest sees devices over VMBus, "
				 "which is not running");
			return -1;
		}
		ab.server = vmbus_host_server(vm->vmbus);
		memcpy(ab.vm_id, vm->id, sizeof(ab.vm_id));
		if (assign_start(vm->assign, &ab, err, errlen))
			return -1;
	}
	vm->boots++;
	return vcpu_start_all(vm, err, errlen);
}

void vm_stop(struct vm *vm)
{
	vcpu_stop_all(vm);
	/* Buses, BAR mappings and interrupt routes go before VMBus; then the detach. */
	assign_stop(vm->assign);
	vmbus_host_destroy(vm->vmbus);
	vm->vmbus = NULL;
	if (vm->part) {
		WinHvDeletePartition(vm->part);
		vm->part = NULL;
	}
	memset(vm->vps, 0, sizeof(vm->vps));
	if (vm->plat_ready) {
		vm->rtc_offset = vm->plat.cmos.offset; /* the guest may have set the clock */
		platform_destroy(&vm->plat);
		vm->plat_ready = false;
	}
	if (vm->ram) {
		munmap(vm->ram, vm->ram_size);
		vm->ram = NULL;
	}
	if (vm->ram_fd >= 0) {
		close(vm->ram_fd);
		vm->ram_fd = -1;
	}
}

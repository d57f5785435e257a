/* SPDX-License-Identifier: MIT */
/*
 * libwinhv: the interface library between the worker (vmwp) and the
 * hypervisor, in the spirit of Hyper-V's WinHv/VID. Everything above this
 * header is the same whichever backend runs the partition:
 *
 *   linhv     linhv.ko through /dev/linhv
 *   kvm       a stock /dev/kvm (for hosts without the module)
 *   loopback  no VM at all: plain memory, the guest side runs in-process
 *             (tests and fuzzing; see winhv_loopback.h)
 *
 * The worker never issues an ioctl itself.
 *
 * Return convention of every int-returning WinHv* call: 0 on success, a
 * negative errno when the request could not be carried out, or a positive
 * HV_STATUS_* the hypervisor answered. WinHvStatusString() names either.
 * WinHvLastError() holds a sentence for the last failure on this thread.
 */
#ifndef LINHV_WINHV_H
#define LINHV_WINHV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvgdk.h"
#include "linhv.h"

#ifdef __cplusplus
extern "C" {
#endif

enum winhv_backend {
	WINHV_BACKEND_AUTO = 0, /* linhv if usable, else kvm */
	WINHV_BACKEND_LINHV,
	WINHV_BACKEND_KVM,
	WINHV_BACKEND_LOOPBACK,
};

struct winhv_caps {
	enum winhv_backend backend;
	struct linhv_caps hv; /* vendor and features as linhv reports them */
};

struct winhv_partition;
struct winhv_vp;

/*
 * WINHV_PARTITION_HYPERV: a partition for a full guest OS. The hypervisor
 * presents the Hyper-V interface (CPUID 0x40000000-0x40000005, synthetic
 * MSRs, hypercall page, SynIC, reference TSC) and a virtual local APIC per
 * VP (x2APIC mode), and VPs other than 0 start in wait-for-SIPI. Without it
 * the partition is bare (the hypervisor-core tests use that).
 */
#define WINHV_PARTITION_HYPERV 0x1

struct winhv_partition_params {
	enum winhv_backend backend;
	uint32_t max_vps;
	uint32_t flags; /* WINHV_PARTITION_* */
};

/* Parse "auto", "linhv", "kvm", "loopback"; returns -1 when unknown. */
int WinHvParseBackend(const char *name, enum winhv_backend *out);
const char *WinHvBackendName(enum winhv_backend backend);
const char *WinHvStatusString(int status);
const char *WinHvLastError(void);
const char *WinHvVendorName(uint32_t vendor);
/* Writes a space-separated list of LINHV_FEAT_* names into buf. */
void WinHvFeatureNames(uint64_t features, char *buf, size_t len);

/*
 * Capabilities of a backend. For WINHV_BACKEND_AUTO the first usable one.
 * Fails with a sentence in WinHvLastError() saying what is missing (the
 * module not loaded, /dev/kvm absent, ...) and how to fix it.
 */
int WinHvGetCapabilities(enum winhv_backend backend, struct winhv_caps *caps);

/* ---- Partitions ---- */
int WinHvCreatePartition(const struct winhv_partition_params *params, struct winhv_partition **out);
void WinHvDeletePartition(struct winhv_partition *partition);
enum winhv_backend WinHvPartitionBackend(const struct winhv_partition *partition);
int WinHvSetCpuidPolicy(struct winhv_partition *partition, const struct linhv_cpuid_entry *entries,
			uint32_t count);
int WinHvSetMsrForward(struct winhv_partition *partition, const uint32_t *msrs, uint32_t count);
/* The ports the root emulates; accesses to others never reach it (linhv only:
 * -ENOSYS elsewhere, where every access still arrives). */
int WinHvSetIoPortPolicy(struct winhv_partition *partition,
			 const struct linhv_io_port_range *ranges, uint32_t count);
int WinHvInitializePartition(struct winhv_partition *partition);

/* ---- Guest memory ---- */
int WinHvMapGpaPages(struct winhv_partition *partition, uint64_t gpa, void *hva, uint64_t bytes,
		     uint32_t flags);
int WinHvUnmapGpaPages(struct winhv_partition *partition, uint64_t gpa, uint64_t bytes);

/*
 * Device assignment: give a host PCI device ("SSSS:BB:DD.F" or "BB:DD.F")
 * to the partition's IOMMU domain, where its DMA addresses are the
 * partition's GPAs (every mapped page is pinned while one is attached), or
 * take it back. The partition's end (or the process's) detaches it too.
 */
int WinHvAttachDevice(struct winhv_partition *partition, const char *pci_address);
int WinHvDetachDevice(struct winhv_partition *partition, const char *pci_address);
/*
 * Route one interrupt of an attached device to the partition: MSI-X table
 * entry (or MSI vector) index is delivered as fixed interrupt vector to VP
 * vp_index. address/data are the values the guest was given for it (the
 * guest names the interrupt by them when it retargets it with
 * HvCallRetargetDeviceInterrupt). masked: keep the route, hold deliveries
 * until a later call unmasks it (one held while masked is delivered then).
 * Calling again for the same index updates the route.
 */
#define WINHV_DEVICE_INTERRUPT_MSIX 1u
#define WINHV_DEVICE_INTERRUPT_MSI 2u
struct winhv_device_interrupt {
	uint32_t kind; /* WINHV_DEVICE_INTERRUPT_* */
	uint32_t index;
	uint32_t vector; /* 16-255 */
	uint32_t vp_index;
	uint64_t address;
	uint32_t data;
	bool masked;
	bool vectors; /* no route: the kind's vectors (WinHvEnableDeviceInterrupts) */
};
int WinHvMapDeviceInterrupt(struct winhv_partition *partition, const char *pci_address,
			    const struct winhv_device_interrupt *irq);
int WinHvUnmapDeviceInterrupt(struct winhv_partition *partition, const char *pci_address,
			      uint32_t kind, uint32_t index);
/*
 * The guest turned its MSI or MSI-X capability on (or off): enable the
 * device's real vectors of that kind now, before any route, and keep them
 * while routes come and go (on), or let them go once no route is left (off).
 * A device model may only signal through vectors that were enabled when it
 * set up its queues.
 */
int WinHvEnableDeviceInterrupts(struct winhv_partition *partition, const char *pci_address,
				uint32_t kind, bool on);
/*
 * Host address of [gpa, gpa+len) when the whole range lies in one mapping,
 * else NULL. Guest-provided GPAs must go through this (or a caller's own
 * bounds checks) before any access.
 */
void *WinHvGpaToHva(struct winhv_partition *partition, uint64_t gpa, uint64_t len);

/* ---- Virtual processors ---- */
int WinHvCreateVp(struct winhv_partition *partition, uint32_t vp_index, struct winhv_vp **out);
uint32_t WinHvVpIndex(const struct winhv_vp *vp);
int WinHvGetVpRegisters(struct winhv_vp *vp, const uint32_t *names, union hv_register_value *values,
			uint32_t count);
int WinHvSetVpRegisters(struct winhv_vp *vp, const uint32_t *names,
			const union hv_register_value *values, uint32_t count);
/*
 * Run until the VP needs the root. On 0, *msg holds an intercept message
 * (HvMessageType*). A signal to the calling thread or WinHvCancelRunVp()
 * makes it return with HvMessageTypeLinhvCanceled.
 */
int WinHvRunVp(struct winhv_vp *vp, struct hv_message *msg);
int WinHvCancelRunVp(struct winhv_vp *vp);

/* ---- Interrupts ---- */
int WinHvAssertVirtualInterrupt(struct winhv_partition *partition, uint32_t type, uint32_t vector,
				uint32_t target_vp);

#ifdef __cplusplus
}
#endif

#endif /* LINHV_WINHV_H */

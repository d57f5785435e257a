/* SPDX-License-Identifier: MIT */
/*
 * linhv.ko ioctl ABI. The root partition (the Linux host) drives the
 * hypervisor through hypercall-shaped requests: a TLFS call code with an
 * input block and an output block, answered with a TLFS HV_STATUS.
 *
 *   /dev/linhv      LINHV_GET_API_VERSION, LINHV_GET_CAPABILITIES,
 *                   LINHV_HVCALL(HvCallCreatePartition) -> partition fd
 *   partition fd    LINHV_HVCALL(any partition-scoped call, see below)
 *   VP fd           LINHV_RUN_VP; mmap(offset 0, one page) -> struct linhv_vp_run
 *
 * Growth rule: LINHV_API_VERSION changes only on an incompatible change;
 * new features add capability bits and new call codes. docs/ABI.md has the
 * full description of every call.
 */
#ifndef LINHV_LINHV_H
#define LINHV_LINHV_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include "hvgdk.h"

#define LINHV_API_VERSION 1
#define LINHV_DEVICE "/dev/linhv"
#define LINHV_IOCTL_TYPE 0xB9

enum linhv_vendor {
	LINHV_VENDOR_NONE = 0,
	LINHV_VENDOR_SVM = 1, /* AMD-V */
	LINHV_VENDOR_VMX = 2, /* Intel VT-x */
};

/* linhv_caps.features */
#define LINHV_FEAT_NPT (1ULL << 0) /* SVM nested paging */
#define LINHV_FEAT_EPT (1ULL << 1) /* VMX extended page tables */
#define LINHV_FEAT_NRIP_SAVE (1ULL << 2)
#define LINHV_FEAT_DECODE_ASSISTS (1ULL << 3)
#define LINHV_FEAT_FLUSH_BY_ASID (1ULL << 4)
#define LINHV_FEAT_VMCB_CLEAN (1ULL << 5)
#define LINHV_FEAT_PAUSE_FILTER (1ULL << 6)
#define LINHV_FEAT_AVIC (1ULL << 7)
#define LINHV_FEAT_VGIF (1ULL << 8)
#define LINHV_FEAT_VPID (1ULL << 9)
#define LINHV_FEAT_UNRESTRICTED_GUEST (1ULL << 10)
#define LINHV_FEAT_APICV (1ULL << 11)
#define LINHV_FEAT_LBRV (1ULL << 12)
#define LINHV_FEAT_TSC_SCALING (1ULL << 13)
/* HvCallAttachDeviceDomain/HvCallDetachDeviceDomain: an IOMMU domain per partition */
#define LINHV_FEAT_DEVICE_DOMAIN (1ULL << 14)
/* HvCallMapDeviceInterrupt / HvCallUnmapDeviceInterrupt, and the guest's
 * HvCallRetargetDeviceInterrupt. */
#define LINHV_FEAT_DEVICE_INTERRUPT (1ULL << 15)
/* What this build of the module can run guests with (not just detect). */
#define LINHV_FEAT_CAN_RUN (1ULL << 63)

struct linhv_caps {
	__u32 api_version;
	__u32 vendor; /* enum linhv_vendor */
	__u64 features; /* LINHV_FEAT_* */
	__u32 nr_asids; /* SVM ASIDs or VMX VPIDs, 0 when absent */
	__u32 max_vps_per_partition;
	__u32 max_partitions;
	__u32 reserved0;
	char cpu_vendor[16]; /* CPUID.0 vendor string, NUL terminated */
	__u64 reserved[8];
};

/*
 * One hypercall from the root. The ioctl returns 0 when the call ran (its
 * outcome is in status) and -1/errno only when the request itself could not
 * be read (EFAULT, EINVAL for sizes over the limits, ENOTTY).
 */
struct linhv_hvcall {
	__u16 code; /* HvCall* */
	__u16 status; /* out: HV_STATUS_* */
	__u32 rep_count; /* for rep calls */
	__u32 reps_done; /* out */
	__u32 flags; /* must be 0 */
	__u64 input; /* user pointer to the input block */
	__u32 in_size;
	__u32 out_size;
	__u64 output; /* user pointer to the output block */
	__u64 reserved[2];
};

#define LINHV_HVCALL_MAX_INPUT (64 * 1024)
#define LINHV_HVCALL_MAX_OUTPUT (64 * 1024)

#define LINHV_GET_API_VERSION _IO(LINHV_IOCTL_TYPE, 0x00)
#define LINHV_GET_CAPABILITIES _IOR(LINHV_IOCTL_TYPE, 0x01, struct linhv_caps)
#define LINHV_HVCALL _IOWR(LINHV_IOCTL_TYPE, 0x02, struct linhv_hvcall)
#define LINHV_RUN_VP _IO(LINHV_IOCTL_TYPE, 0x03)

/* ---- Input and output blocks of the root-side calls ---- */

/* HvCallCreatePartition (on /dev/linhv). */
/*
 * A partition for a full guest OS: Hyper-V CPUID leaves, synthetic MSRs,
 * hypercall page, SynIC, reference TSC, an x2APIC per VP; VPs other than 0
 * start in wait-for-SIPI.
 */
#define LINHV_PARTITION_FLAG_HYPERV 0x1
struct linhv_in_create_partition {
	__u64 flags; /* LINHV_PARTITION_FLAG_* */
	__u32 max_vps; /* 1..max_vps_per_partition */
	__u32 reserved;
};
struct linhv_out_create_partition {
	__s32 partition_fd; /* a new fd; closing it deletes the partition */
	__u32 reserved;
	__u64 partition_id;
};

/* HvCallSetPartitionProperty / HvCallGetPartitionProperty. */
struct linhv_in_partition_property {
	__u64 partition_id; /* ignored: the fd names the partition */
	__u32 property_code;
	__u32 reserved;
	__u64 value; /* for Set */
};

/*
 * linhv call: install the CPUID policy (rep call, rep_count entries). Each
 * entry overrides the module's default result for one leaf/subleaf. With
 * LINHV_CPUID_FORWARD the VP instead exits to the root with a CPUID
 * intercept message that carries the default result.
 */
#define LinhvCallSetCpuidPolicy 0x8100
#define LINHV_CPUID_SUBLEAF_ANY 0x1 /* ignore index */
#define LINHV_CPUID_FORWARD 0x2
struct linhv_cpuid_entry {
	__u32 function;
	__u32 index;
	__u32 flags;
	__u32 eax, ebx, ecx, edx;
	__u32 reserved;
};
#define LINHV_MAX_CPUID_ENTRIES 256

/*
 * linhv call: forward accesses to these MSRs to the root as MSR intercepts
 * (rep call of __u32 MSR numbers). Unknown MSRs are always forwarded.
 */
#define LinhvCallSetMsrForward 0x8101
#define LINHV_MAX_MSR_FORWARD 64

/*
 * linhv call: the I/O ports the root emulates (rep call of ranges). Once set,
 * IN/OUT to any other port completes in the module as on a bus with nothing
 * behind it: reads give all ones, writes are dropped, and the root sees no
 * intercept (a stock kernel probes thousands of PCI configuration ports at
 * boot). String forms (INS/OUTS) are always forwarded. Without this call,
 * every port access goes to the root. Set before HvCallInitializePartition.
 */
#define LinhvCallSetIoPortPolicy 0x8108
struct linhv_io_port_range {
	__u16 base;
	__u16 count; /* >= 1; base + count <= 0x10000 */
	__u32 reserved;
};
#define LINHV_MAX_IO_PORT_RANGES 64

/*
 * HvCallMapGpaPages. Unlike the TLFS (a list of SPA pages) the root names a
 * range of its own address space; the module pins it long-term.
 */
/*
 * HvCallAttachDeviceDomain / HvCallDetachDeviceDomain: give a host PCI
 * device (its whole IOMMU group) to the partition's device domain, whose
 * DMA addresses are the partition's GPAs, or take it back. Statuses:
 * NOT_FOUND (no such device; not attached, for detach), FEATURE_UNAVAILABLE
 * (no IOMMU translates it), OPERATION_DENIED (a device of its group is bound
 * to a host driver other than vfio-pci or pci-stub), OBJECT_IN_USE (already
 * attached here), ACCESS_DENIED (not the process holding the partition's
 * memory).
 */
struct linhv_in_device_domain {
	__u64 partition_id; /* ignored: the partition fd names the partition */
	__u32 segment; /* PCI segment (domain) */
	__u32 bus;
	__u32 devfn; /* device << 3 | function */
	__u32 reserved;
};

/*
 * HvCallMapDeviceInterrupt / HvCallUnmapDeviceInterrupt: route one MSI-X
 * table entry or MSI vector (index) of a device attached to the partition to
 * a fixed interrupt (vector) on one VP, or remove the route. The first route
 * of a device makes the module enable the device's MSI-X (or MSI) with host
 * vectors it owns; the guest never programs the device's table. address and
 * data are what the guest was told; its HvCallRetargetDeviceInterrupt finds
 * the route by them. LINHV_DEVICE_INTERRUPT_MASKED holds deliveries (one
 * held is delivered when a later call clears it). Statuses: NOT_FOUND (device
 * not attached; no such index; unmap of no route), INVALID_PARAMETER (kind,
 * vector < 16, no such VP, reserved bits, a route of the other kind while
 * this kind has routes), INSUFFICIENT_MEMORY, OPERATION_DENIED (the host
 * would not enable the device's MSI-X/MSI).
 */
#define LINHV_DEVICE_INTERRUPT_MSIX 1u
#define LINHV_DEVICE_INTERRUPT_MSI 2u
#define LINHV_DEVICE_INTERRUPT_MASKED (1u << 0)
/*
 * No route (index, vector, vp_index, address and data 0): map enables the
 * kind's host vectors now and keeps them while routes come and go (the
 * guest turned the capability on: a device may only signal through vectors
 * enabled before it set up its queues); unmap with it lets them go once no
 * route is left.
 */
#define LINHV_DEVICE_INTERRUPT_VECTORS (1u << 1)
struct linhv_in_device_interrupt {
	__u64 partition_id; /* ignored: the partition fd names the partition */
	__u32 segment;
	__u32 bus;
	__u32 devfn;
	__u32 kind; /* LINHV_DEVICE_INTERRUPT_MSIX or _MSI */
	__u32 index;
	__u32 vector;  /* map only */
	__u32 vp_index; /* map only */
	__u32 flags;   /* LINHV_DEVICE_INTERRUPT_MASKED (map), _VECTORS */
	__u64 address; /* map only */
	__u32 data;    /* map only */
	__u32 reserved;
};

struct linhv_in_map_gpa_pages {
	__u64 partition_id;
	__u64 target_gpa_page; /* GPA >> 12 */
	__u32 map_flags; /* HV_MAP_GPA_* */
	__u32 reserved;
	__u64 user_address; /* page aligned */
	__u64 page_count;
};

/* HvCallUnmapGpaPages. */
struct linhv_in_unmap_gpa_pages {
	__u64 partition_id;
	__u64 target_gpa_page;
	__u64 page_count;
	__u64 flags; /* must be 0 */
};

/* HvCallCreateVp. */
struct linhv_in_create_vp {
	__u64 partition_id;
	__u32 vp_index;
	__u32 reserved;
	__u64 flags; /* must be 0 */
};
struct linhv_out_create_vp {
	__s32 vp_fd; /* LINHV_RUN_VP, mmap of struct linhv_vp_run */
	__u32 reserved;
};

/*
 * HvCallGetVpRegisters: input is the header followed by rep_count __u32
 * names; output is rep_count union hv_register_value.
 * HvCallSetVpRegisters: input is the header followed by rep_count
 * struct hv_register_assoc.
 */
struct linhv_in_vp_registers {
	__u64 partition_id;
	__u32 vp_index;
	__u8 input_vtl;
	__u8 reserved[3];
};
#define LINHV_MAX_REGISTERS 128

/* HvCallAssertVirtualInterrupt (TLFS HV_INTERRUPT_CONTROL subset). */
#define HV_X64_INTERRUPT_TYPE_FIXED 0
#define HV_X64_INTERRUPT_TYPE_NMI 4
#define HV_X64_INTERRUPT_TYPE_INIT 5
#define HV_X64_INTERRUPT_TYPE_SIPI 6
#define HV_X64_INTERRUPT_TYPE_EXTINT 7
struct linhv_in_assert_virtual_interrupt {
	__u64 partition_id;
	__u32 interrupt_type; /* HV_X64_INTERRUPT_TYPE_* */
	__u32 level_triggered; /* 0 edge, 1 level */
	__u64 dest_address; /* target VP index (physical destination) */
	__u32 vector;
	__u8 target_vtl;
	__u8 reserved[3];
};

/*
 * Root-side SynIC calls.
 * HvCallPostMessageDirect: put a message into a VP's SIMP slot for sint (or
 * queue it behind a busy slot, msg_pending/EOM handshake) and raise the SINT.
 * HV_STATUS_INSUFFICIENT_BUFFERS when that VP's queue is full;
 * HV_STATUS_INVALID_VP_STATE while the guest has not enabled SynIC/SIMP.
 */
struct linhv_in_post_message_direct {
	__u64 partition_id;
	__u32 vp_index;
	__u8 vtl;
	__u8 reserved[3];
	__u32 sint_index;
	__u32 reserved2;
	struct hv_message message;
};

/* HvCallSignalEventDirect: set a SIEF bit and raise the SINT if it was clear. */
struct linhv_in_signal_event_direct {
	__u64 partition_id;
	__u32 vp_index;
	__u8 vtl;
	__u8 sint_index;
	__u16 flag_number;
};
struct linhv_out_signal_event_direct {
	__u8 newly_signaled;
	__u8 reserved[7];
};

/* linhv: route the guest's HvSignalEvent(connection_id) to an eventfd. */
#define LinhvCallSetEventFd 0x8103
struct linhv_in_set_event_fd {
	__u32 connection_id;
	__s32 fd; /* -1 removes */
};

/* linhv: accept (or stop accepting) guest HvPostMessage on a connection id. */
#define LinhvCallSetMessageConnection 0x8104
struct linhv_in_set_message_connection {
	__u32 connection_id;
	__u32 enable;
};

/* linhv: an eventfd the module signals whenever a posted message is queued. */
#define LinhvCallSetPostedMessageFd 0x8106
struct linhv_in_set_posted_message_fd {
	__s32 fd;
	__u32 reserved;
};

/* linhv: take the oldest guest HvPostMessage; HV_STATUS_NO_DATA when none. */
#define LinhvCallReadPostedMessage 0x8102
struct linhv_out_posted_message {
	__u32 connection_id;
	__u32 message_type;
	__u32 payload_size;
	__u32 vp_index;
	__u8 payload[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
};
#define LINHV_POSTED_QUEUE_DEPTH 128

/* linhv: the partition reference time (TIME_REF_COUNT), 100 ns units. */
#define LinhvCallGetReferenceTime 0x8107

/*
 * The VP run page (mmap of a VP fd, offset 0). After LINHV_RUN_VP returns 0
 * the intercept message is in msg. The root completes an intercept by
 * setting registers (HvCallSetVpRegisters) and running again.
 */
struct linhv_vp_run {
	struct hv_message msg;
	__u8 immediate_exit; /* set by the root: leave run at once */
	__u8 reserved[7];
	__u64 exits; /* statistics: total exits */
	__u64 root_exits; /* exits that reached the root */
};

#endif /* LINHV_LINHV_H */

/* SPDX-License-Identifier: MIT */
/*
 * The PCI-over-VMBus wire format (class 44c4f61d-4444-4400-9d52-802e27ede19f)
 * as Linux's pci-hyperv guest driver speaks it: protocol 1.1 to 1.4. Every
 * message starts with a 32-bit type; all fields are little-endian and packed.
 * Payloads here start after the VMBus packet descriptor.
 */
#ifndef VPCI_PROTO_H
#define VPCI_PROTO_H

#include <stdint.h>

/* Versions: major in the high 16 bits, minor in the low 16. */
#define VPCI_VERSION(major, minor) ((uint32_t)(((uint32_t)(major) << 16) | (uint32_t)(minor)))
#define VPCI_VERSION_1_1 VPCI_VERSION(1, 1)
#define VPCI_VERSION_1_2 VPCI_VERSION(1, 2)
#define VPCI_VERSION_1_3 VPCI_VERSION(1, 3)
#define VPCI_VERSION_1_4 VPCI_VERSION(1, 4)

/* NTSTATUS values in completions; the guest treats negative as failure. */
#define VPCI_STATUS_SUCCESS 0
/* "Try an older version": the guest moves on to its next offer. */
#define VPCI_STATUS_REVISION_MISMATCH ((int32_t)0xC0000059u)
#define VPCI_STATUS_INVALID_PARAMETER ((int32_t)0xC000000Du)
#define VPCI_STATUS_NO_SUCH_DEVICE ((int32_t)0xC000000Eu)
#define VPCI_STATUS_INVALID_DEVICE_STATE ((int32_t)0xC0000184u)
#define VPCI_STATUS_INSUFFICIENT_RESOURCES ((int32_t)0xC000009Au)

/* Message types. */
enum vpci_msg_type {
	VPCI_MSG_BUS_RELATIONS = 0x42490000,	      /* host: the device list (v1 entries) */
	VPCI_MSG_QUERY_BUS_RELATIONS = 0x42490001,    /* guest: send the device list */
	VPCI_MSG_POWER_STATE_CHANGE = 0x42490004,     /* not sent by Linux */
	VPCI_MSG_QUERY_RESOURCE_REQS = 0x42490005,    /* guest: BAR probe values */
	VPCI_MSG_QUERY_RESOURCES = 0x42490006,	      /* not sent by Linux */
	VPCI_MSG_BUS_D0_ENTRY = 0x42490007,	      /* guest: bus on, config window */
	VPCI_MSG_BUS_D0_EXIT = 0x42490008,	      /* guest: bus off */
	VPCI_MSG_READ_BLOCK = 0x42490009,	      /* config blocks: not supported yet */
	VPCI_MSG_WRITE_BLOCK = 0x4249000A,	      /* config blocks: not supported yet */
	VPCI_MSG_EJECT = 0x4249000B,		      /* host: please give the device up */
	VPCI_MSG_QUERY_STOP = 0x4249000C,	      /* not sent by Linux */
	VPCI_MSG_REENABLE = 0x4249000D,		      /* not sent by Linux */
	VPCI_MSG_QUERY_STOP_FAILED = 0x4249000E,      /* not sent by Linux */
	VPCI_MSG_EJECTION_COMPLETE = 0x4249000F,      /* guest: device given up */
	VPCI_MSG_RESOURCES_ASSIGNED = 0x42490010,     /* guest, 1.1 */
	VPCI_MSG_RESOURCES_RELEASED = 0x42490011,     /* guest */
	VPCI_MSG_INVALIDATE_BLOCK = 0x42490012,	      /* host: config blocks changed */
	VPCI_MSG_QUERY_PROTOCOL_VERSION = 0x42490013, /* guest: offer a version */
	VPCI_MSG_CREATE_INTERRUPT = 0x42490014,	      /* guest, 1.1 */
	VPCI_MSG_DELETE_INTERRUPT = 0x42490015,	      /* guest */
	VPCI_MSG_RESOURCES_ASSIGNED2 = 0x42490016,    /* guest, 1.2+ */
	VPCI_MSG_CREATE_INTERRUPT2 = 0x42490017,      /* guest, 1.2 and 1.3 */
	VPCI_MSG_DELETE_INTERRUPT2 = 0x42490018,      /* defined, never sent by Linux */
	VPCI_MSG_BUS_RELATIONS2 = 0x42490019,	      /* host: the device list (v2 entries) */
	VPCI_MSG_RESOURCES_ASSIGNED3 = 0x4249001A,    /* defined, never sent by Linux 6.1 */
	VPCI_MSG_CREATE_INTERRUPT3 = 0x4249001B,      /* guest, 1.4 */
};

/*
 * A function's place on the bus, Windows style: device in bits 0-4,
 * function in bits 5-7, the other 24 bits zero.
 */
#define VPCI_SLOT_DEV_MASK 0x1fu
#define VPCI_SLOT_FUNC_SHIFT 5
#define VPCI_SLOT_FUNC_MASK 0x7u
#define VPCI_SLOT_RESERVED_MASK 0xffffff00u
#define VPCI_SLOT(dev, func)                                                                       \
	((uint32_t)(((dev)&VPCI_SLOT_DEV_MASK) | (((func)&VPCI_SLOT_FUNC_MASK) << 5)))

#define VPCI_NUM_BARS 6
/* Destinations a 1.2+ interrupt request may list. */
#define VPCI_MAX_TARGET_VPS 32
/* The guest's ring holds 16 KiB; the device list must fit in one packet. */
#define VPCI_MAX_DEVICES 32

/* One function in BUS_RELATIONS. */
struct vpci_wire_func {
	uint16_t vendor_id;
	uint16_t device_id;
	uint8_t revision;
	uint8_t prog_if;
	uint8_t subclass;
	uint8_t base_class;
	uint32_t subsystem_id; /* subsystem vendor in the low half */
	uint32_t slot;
	uint32_t serial; /* names the guest's PCI slot */
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_func) == 20, "v1 function description");

/* One function in BUS_RELATIONS2 (1.3+): adds a NUMA hint. */
#define VPCI_FUNC_FLAG_NUMA_AFFINITY 0x1u
struct vpci_wire_func2 {
	uint16_t vendor_id;
	uint16_t device_id;
	uint8_t revision;
	uint8_t prog_if;
	uint8_t subclass;
	uint8_t base_class;
	uint32_t subsystem_id;
	uint32_t slot;
	uint32_t serial;
	uint32_t flags;
	uint16_t numa_node;
	uint16_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_func2) == 28, "v2 function description");

/* Host to guest: BUS_RELATIONS / BUS_RELATIONS2, count entries follow. */
struct vpci_wire_bus_relations {
	uint32_t type;
	uint32_t count;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_bus_relations) == 8, "bus relations header");

/* Guest: QUERY_PROTOCOL_VERSION. */
struct vpci_wire_version_req {
	uint32_t type;
	uint32_t version;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_version_req) == 8, "version request");

/* Guest: BUS_D0_ENTRY, with the guest physical base of the 8 KiB config window. */
struct vpci_wire_d0_entry {
	uint32_t type;
	uint32_t reserved;
	uint64_t mmio_base;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_d0_entry) == 16, "D0 entry");

/* Guest: messages about one function (QUERY_RESOURCE_REQS, RESOURCES_RELEASED);
 * host: EJECT. */
struct vpci_wire_child {
	uint32_t type;
	uint32_t slot;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_child) == 8, "child message");

/* Guest: EJECTION_COMPLETE. */
struct vpci_wire_eject_done {
	uint32_t type;
	uint32_t slot;
	uint32_t status;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_eject_done) == 12, "ejection complete");

/* Guest: RESOURCES_ASSIGNED (1.1). Linux leaves the ranges zero. */
struct vpci_wire_res_assigned {
	uint32_t type;
	uint32_t slot;
	uint8_t ranges[6][0x14];
	uint32_t msi_count;
	uint32_t reserved[4];
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_res_assigned) == 148, "resources assigned");

/* Guest: RESOURCES_ASSIGNED2 (1.2+). */
struct vpci_wire_res_assigned2 {
	uint32_t type;
	uint32_t slot;
	uint8_t ranges[6][0x14];
	uint32_t msi_count;
	uint8_t reserved[70];
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_res_assigned2) == 202, "resources assigned 2");

/* The interrupt the guest wants, 1.1: an 8-bit vector and a 64-VP mask. */
struct vpci_wire_msi1 {
	uint8_t vector;
	uint8_t delivery_mode;
	uint16_t vector_count;
	uint32_t reserved;
	uint64_t cpu_mask;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_msi1) == 16, "MSI descriptor 1");

/* 1.2/1.3: an 8-bit vector and a list of VP numbers. */
struct vpci_wire_msi2 {
	uint8_t vector;
	uint8_t delivery_mode;
	uint16_t vector_count;
	uint16_t vp_count;
	uint16_t vps[VPCI_MAX_TARGET_VPS];
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_msi2) == 70, "MSI descriptor 2");

/* 1.4: a 32-bit vector (ARM LPIs) and a list of VP numbers. */
struct vpci_wire_msi3 {
	uint32_t vector;
	uint8_t delivery_mode;
	uint8_t reserved;
	uint16_t vector_count;
	uint16_t vp_count;
	uint16_t vps[VPCI_MAX_TARGET_VPS];
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_msi3) == 74, "MSI descriptor 3");

struct vpci_wire_create_int {
	uint32_t type;
	uint32_t slot;
	struct vpci_wire_msi1 msi;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_create_int) == 24, "create interrupt");

struct vpci_wire_create_int2 {
	uint32_t type;
	uint32_t slot;
	struct vpci_wire_msi2 msi;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_create_int2) == 78, "create interrupt 2");

struct vpci_wire_create_int3 {
	uint32_t type;
	uint32_t slot;
	struct vpci_wire_msi3 msi;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_create_int3) == 82, "create interrupt 3");

/* The interrupt the host set up: what the device writes where. */
struct vpci_wire_msi_result {
	uint16_t reserved;
	uint16_t vector_count;
	uint32_t data;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_msi_result) == 16, "translated interrupt");

/* Guest: DELETE_INTERRUPT, echoing what the host's answer gave it. */
struct vpci_wire_delete_int {
	uint32_t type;
	uint32_t slot;
	struct vpci_wire_msi_result msi;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_delete_int) == 24, "delete interrupt");

/*
 * Host completions (VMBus completion packets, payload after the descriptor).
 * The guest drops any packet not longer than descriptor + status, so a bare
 * status carries 4 more bytes rather than rely on the ring's padding.
 */
struct vpci_wire_status {
	int32_t status;
	uint32_t pad;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_status) == 8, "status completion");

/* Answer to QUERY_RESOURCE_REQS: each BAR as read back after writing ~0. */
struct vpci_wire_res_reqs {
	int32_t status;
	uint32_t probed_bar[VPCI_NUM_BARS];
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_res_reqs) == 28, "resource requirements");

/* Answer to CREATE_INTERRUPT*. */
struct vpci_wire_create_int_resp {
	int32_t status;
	uint32_t reserved;
	struct vpci_wire_msi_result msi;
} __attribute__((packed));
_Static_assert(sizeof(struct vpci_wire_create_int_resp) == 24, "create interrupt answer");

#endif /* VPCI_PROTO_H */

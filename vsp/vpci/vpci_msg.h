/* SPDX-License-Identifier: MIT */
/*
 * vPCI messages without I/O: checking and decoding what the guest sends
 * (vpci_parse) and building what the host answers. Used by the VSP, the unit
 * tests and the fuzzer.
 */
#ifndef VPCI_MSG_H
#define VPCI_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpci_proto.h"

/* ---- The device model the builders describe ---- */

/*
 * Memory BAR type bits, as the BAR's low bits read back. No I/O BARs: the
 * guest driver has no I/O window to place them in.
 */
#define VPCI_BAR_MEM64 0x4u
#define VPCI_BAR_PREFETCH 0x8u

struct vpci_bar {
	uint64_t size;	/* bytes, a power of two; 0: no BAR here */
	uint32_t flags; /* VPCI_BAR_*; a 64-bit BAR uses the next slot too */
};

struct vpci_device {
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsys_vendor_id;
	uint16_t subsys_id;
	uint8_t revision;
	uint8_t prog_if;
	uint8_t subclass;
	uint8_t base_class;
	uint32_t serial; /* the guest names its PCI slot after it */
	uint8_t dev;	 /* 0-31 */
	uint8_t func;	 /* 0-7 */
	bool numa_valid; /* 1.3+: tell the guest numa_node */
	uint16_t numa_node;
	struct vpci_bar bars[VPCI_NUM_BARS];
};

/*
 * Check a device model: slot in range, each BAR a power of two of a size
 * its type allows, a 64-bit BAR not in the last slot and its upper slot
 * empty. 0 or -EINVAL with *why.
 */
int vpci_device_check(const struct vpci_device *d, const char **why);

/* ---- Guest requests ---- */

enum vpci_req_kind {
	VPCI_REQ_VERSION,	     /* version */
	VPCI_REQ_D0_ENTRY,	     /* mmio_base */
	VPCI_REQ_D0_EXIT,	     /* (nothing) */
	VPCI_REQ_QUERY_RELATIONS,    /* (nothing) */
	VPCI_REQ_RESOURCE_REQS,	     /* slot */
	VPCI_REQ_RESOURCES_ASSIGNED, /* slot, msi_count */
	VPCI_REQ_RESOURCES_RELEASED, /* slot */
	VPCI_REQ_CREATE_INTERRUPT,   /* slot, interrupt */
	VPCI_REQ_DELETE_INTERRUPT,   /* slot, msi */
	VPCI_REQ_EJECTION_COMPLETE,  /* slot, status */
};

/* An interrupt request, whichever of the three forms it came in. */
struct vpci_interrupt {
	uint32_t vector;
	uint8_t delivery_mode; /* 0 fixed, 1 lowest priority */
	uint16_t vector_count; /* 1-32 */
	bool vp_mask_valid;    /* 1.1: vp_mask (64 VPs); else vps[] */
	uint64_t vp_mask;
	uint16_t vp_count; /* 1-32 */
	uint16_t vps[VPCI_MAX_TARGET_VPS];
};

struct vpci_request {
	enum vpci_req_kind kind;
	uint32_t type; /* the wire type */
	uint32_t slot; /* device 0-31 | function << 5 */
	union {
		uint32_t version;
		uint64_t mmio_base;
		uint32_t msi_count;
		struct vpci_interrupt interrupt;
		struct {
			uint16_t vector_count;
			uint32_t data;
			uint64_t address;
		} msi;
		uint32_t status;
	} u;
};

/*
 * Check and decode one guest packet (data, len bytes: the VMBus payload,
 * which may carry up to 7 bytes of padding). version is the negotiated
 * protocol, 0 before negotiation (then only QUERY_PROTOCOL_VERSION passes);
 * messages of another version than the negotiated one are refused. Reads
 * data once, never past len. 0, or -EINVAL with *why (the guest broke the
 * protocol; the VSP should close the channel), or -ENOTSUP with *why (a
 * known message this host does not implement: answer with a failure).
 */
int vpci_parse(const void *data, size_t len, uint32_t version, struct vpci_request *out,
	       const char **why);

/* Whether this host speaks version (1.1 to 1.4). */
bool vpci_version_supported(uint32_t version);

/* ---- Host messages: each returns the bytes written, or -ENOSPC/-EINVAL ---- */

/* A bare completion status (version, D0 entry/exit, resources assigned). */
int vpci_build_status(void *buf, size_t cap, int32_t status);

/*
 * BUS_RELATIONS (version below 1.3) or BUS_RELATIONS2 (1.3+) listing count
 * devices (count may be 0: the bus is empty). -EINVAL for a bad model or
 * two devices on one slot.
 */
int vpci_build_bus_relations(void *buf, size_t cap, uint32_t version,
			     const struct vpci_device *devs, size_t count);

/* The answer to QUERY_RESOURCE_REQS: the BAR probe values of d. */
int vpci_build_resource_reqs(void *buf, size_t cap, const struct vpci_device *d);
/* The BAR probe values alone: what reading each BAR after writing ~0 gives. */
void vpci_bar_probe_values(const struct vpci_device *d, uint32_t out[VPCI_NUM_BARS]);

/* The answer to CREATE_INTERRUPT*: the MSI address/data the host chose. */
int vpci_build_create_int_resp(void *buf, size_t cap, int32_t status, uint16_t vector_count,
			       uint64_t address, uint32_t data);

/* EJECT: ask the guest to give up the function at slot. */
int vpci_build_eject(void *buf, size_t cap, uint32_t slot);

#endif /* VPCI_MSG_H */

/* SPDX-License-Identifier: MIT */
/*
 * NVSP, the network VSP's own protocol on the VMBus channel (as hv_netvsc in
 * Linux 6.1 speaks it): version negotiation, the receive and send buffers,
 * and SEND_RNDIS_PKT carrying RNDIS messages both ways. Little-endian, packed.
 */
#ifndef NETVSP_NVSP_H
#define NETVSP_NVSP_H

#include <stdint.h>

#define NVSP_PACKED __attribute__((packed))

#define NVSP_VERSION_1 0x00000002u
#define NVSP_VERSION_2 0x00030002u
#define NVSP_VERSION_4 0x00040000u
#define NVSP_VERSION_5 0x00050000u
#define NVSP_VERSION_6 0x00060000u
#define NVSP_VERSION_61 0x00060001u

enum nvsp_msg_type {
	NVSP_MSG_INIT = 1,
	NVSP_MSG_INIT_COMPLETE = 2,
	NVSP_MSG1_SEND_NDIS_VERSION = 100,
	NVSP_MSG1_SEND_RECV_BUF = 101,
	NVSP_MSG1_SEND_RECV_BUF_COMPLETE = 102,
	NVSP_MSG1_REVOKE_RECV_BUF = 103,
	NVSP_MSG1_SEND_SEND_BUF = 104,
	NVSP_MSG1_SEND_SEND_BUF_COMPLETE = 105,
	NVSP_MSG1_REVOKE_SEND_BUF = 106,
	NVSP_MSG1_SEND_RNDIS_PKT = 107,
	NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE = 108,
	NVSP_MSG2_SEND_NDIS_CONFIG = 125,
	NVSP_MSG4_SEND_VF_ASSOCIATION = 128,
	NVSP_MSG4_SWITCH_DATA_PATH = 129,
	NVSP_MSG5_OID_QUERY_EX = 131,
	NVSP_MSG5_SUBCHANNEL = 133,
	NVSP_MSG5_SEND_INDIRECTION_TABLE = 134,
};

enum nvsp_status {
	NVSP_STATUS_NONE = 0,
	NVSP_STATUS_SUCCESS = 1,
	NVSP_STATUS_FAILURE = 2,
};

#define NVSP_RECV_BUF_ID 0xCAFE /* also the transfer page set id */
#define NVSP_SEND_BUF_ID 0
#define NVSP_NO_SECTION 0xFFFFFFFFu
#define NVSP_CHANNEL_DATA 0
#define NVSP_CHANNEL_CONTROL 1
#define NVSP_SUBCHANNEL_ALLOCATE 1

/* Every message the guest sends is this big (the union of all bodies). */
#define NVSP_MSG_SIZE 40

struct nvsp_init {
	uint32_t min_version, max_version;
} NVSP_PACKED;

struct nvsp_init_complete {
	uint32_t version, max_mdl_chain_len, status;
} NVSP_PACKED;

struct nvsp_ndis_version {
	uint32_t major, minor;
} NVSP_PACKED;

struct nvsp_ndis_config {
	uint32_t mtu, reserved;
	uint64_t capabilities;
} NVSP_PACKED;

struct nvsp_send_buffer { /* SEND_RECV_BUF and SEND_SEND_BUF */
	uint32_t gpadl;
	uint16_t id;
} NVSP_PACKED;

struct nvsp_recv_section {
	uint32_t offset, sub_alloc_size, num_sub_allocs, end_offset;
} NVSP_PACKED;

struct nvsp_recv_buf_complete {
	uint32_t status, num_sections;
	struct nvsp_recv_section section;
} NVSP_PACKED;

struct nvsp_send_buf_complete {
	uint32_t status, section_size;
} NVSP_PACKED;

struct nvsp_revoke {
	uint16_t id;
} NVSP_PACKED;

struct nvsp_rndis_pkt {
	uint32_t channel_type, section_index, section_size;
} NVSP_PACKED;

struct nvsp_rndis_pkt_complete {
	uint32_t status;
} NVSP_PACKED;

struct nvsp_subchannel {
	uint32_t op, count; /* request: op, count; complete: status, count */
} NVSP_PACKED;

struct nvsp_msg {
	uint32_t type;
	union {
		struct nvsp_init init;
		struct nvsp_init_complete init_complete;
		struct nvsp_ndis_version ndis_version;
		struct nvsp_ndis_config ndis_config;
		struct nvsp_send_buffer send_buffer;
		struct nvsp_recv_buf_complete recv_buf_complete;
		struct nvsp_send_buf_complete send_buf_complete;
		struct nvsp_revoke revoke;
		struct nvsp_rndis_pkt rndis_pkt;
		struct nvsp_rndis_pkt_complete rndis_pkt_complete;
		struct nvsp_subchannel subchannel;
		uint8_t pad[NVSP_MSG_SIZE - 4];
	};
} NVSP_PACKED;

_Static_assert(sizeof(struct nvsp_msg) == NVSP_MSG_SIZE, "nvsp message size");

/* The transfer-page header of a host-to-guest receive packet (one range). */
struct nvsp_xfer_hdr {
	uint16_t pageset_id;
	uint8_t sender_owns_set;
	uint8_t reserved;
	uint32_t range_count;
	uint32_t byte_count, byte_offset;
} NVSP_PACKED;

/*
 * Copy a guest's NVSP message (len bytes) into *out, zero-padded, and check
 * that it is long enough for its type. 0, or -EINVAL with *why.
 */
int nvsp_parse(const uint8_t *data, uint32_t len, struct nvsp_msg *out, const char **why);

#endif /* NETVSP_NVSP_H */

/* SPDX-License-Identifier: MIT */
/*
 * VMBus wire format: the channel-management messages carried in SynIC
 * messages, the ring buffer header and the packet descriptors, as a Linux 6.1
 * guest (hv_vmbus) lays them out. Shared by the VMBus server (vmm/vmbus) and
 * the guest-side library (vsc-guest), so it needs only <stdint.h>.
 * All fields are little-endian; every struct is packed like the guest's.
 */
#ifndef LINHV_VMBUS_PROTO_H
#define LINHV_VMBUS_PROTO_H

#include <stdint.h>

#define VMBUS_PACKED __attribute__((packed))

/* ---- SynIC conventions ---- */
#define VMBUS_MESSAGE_SINT 2
#define VMBUS_MESSAGE_CONNECTION_ID 1	/* INITIATE_CONTACT < 5.0 and later posts */
#define VMBUS_MESSAGE_CONNECTION_ID_4 4 /* INITIATE_CONTACT >= 5.0 */
#define VMBUS_MESSAGE_TYPE_CHANNEL 1	/* SynIC message_type of every VMBus message */
#define VMBUS_MAX_MESSAGE_SIZE 240
#define VMBUS_MAX_RELID 2047 /* relids index the 2048 SIEF bits of a SINT */

/* ---- Versions: (major << 16) | minor ---- */
#define VMBUS_VERSION(major, minor) (((uint32_t)(major) << 16) | (minor))
#define VMBUS_VERSION_WIN8 VMBUS_VERSION(2, 4)
#define VMBUS_VERSION_WIN8_1 VMBUS_VERSION(3, 0)
#define VMBUS_VERSION_WIN10 VMBUS_VERSION(4, 0)
#define VMBUS_VERSION_WIN10_V4_1 VMBUS_VERSION(4, 1)
#define VMBUS_VERSION_WIN10_V5 VMBUS_VERSION(5, 0)
#define VMBUS_VERSION_WIN10_V5_1 VMBUS_VERSION(5, 1)
#define VMBUS_VERSION_WIN10_V5_2 VMBUS_VERSION(5, 2)
#define VMBUS_VERSION_WIN10_V5_3 VMBUS_VERSION(5, 3)

/* ---- GUIDs: Microsoft mixed-endian byte order, as on the wire ---- */
struct vmbus_guid {
	uint8_t b[16];
};

#define VMBUS_GUID_INIT(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7)                                   \
	{                                                                                          \
		{                                                                                  \
			(a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, ((a) >> 24) & 0xff,     \
			    (b)&0xff, ((b) >> 8) & 0xff, (c)&0xff, ((c) >> 8) & 0xff, (d0), (d1),  \
			    (d2), (d3), (d4), (d5), (d6), (d7)                                     \
		}                                                                                  \
	}

/* ---- Channel message types ---- */
enum vmbus_msgtype {
	VMBUS_MSG_INVALID = 0,
	VMBUS_MSG_OFFERCHANNEL = 1,
	VMBUS_MSG_RESCIND_CHANNELOFFER = 2,
	VMBUS_MSG_REQUESTOFFERS = 3,
	VMBUS_MSG_ALLOFFERS_DELIVERED = 4,
	VMBUS_MSG_OPENCHANNEL = 5,
	VMBUS_MSG_OPENCHANNEL_RESULT = 6,
	VMBUS_MSG_CLOSECHANNEL = 7,
	VMBUS_MSG_GPADL_HEADER = 8,
	VMBUS_MSG_GPADL_BODY = 9,
	VMBUS_MSG_GPADL_CREATED = 10,
	VMBUS_MSG_GPADL_TEARDOWN = 11,
	VMBUS_MSG_GPADL_TORNDOWN = 12,
	VMBUS_MSG_RELID_RELEASED = 13,
	VMBUS_MSG_INITIATE_CONTACT = 14,
	VMBUS_MSG_VERSION_RESPONSE = 15,
	VMBUS_MSG_UNLOAD = 16,
	VMBUS_MSG_UNLOAD_RESPONSE = 17,
	VMBUS_MSG_TL_CONNECT_REQUEST = 21,
	VMBUS_MSG_MODIFYCHANNEL = 22,
	VMBUS_MSG_TL_CONNECT_RESULT = 23,
	VMBUS_MSG_MODIFYCHANNEL_RESPONSE = 24,
	VMBUS_MSG_COUNT
};

struct vmbus_msg_header {
	uint32_t msgtype;
	uint32_t padding;
} VMBUS_PACKED;

#define VMBUS_OFFER_USER_DEFINED_BYTES 120

/* Offer flags (chn_flags). */
#define VMBUS_CHANNEL_ENUMERATE_DEVICE_INTERFACE 0x0001
#define VMBUS_CHANNEL_NAMED_PIPE_MODE 0x0010
#define VMBUS_CHANNEL_REQUEST_MONITORED_NOTIFICATION 0x0400
#define VMBUS_CHANNEL_TLNPI_PROVIDER_OFFER 0x2000

struct vmbus_msg_offer_channel {
	struct vmbus_msg_header header;
	struct vmbus_guid if_type;
	struct vmbus_guid if_instance;
	uint64_t reserved1, reserved2;
	uint16_t chn_flags;
	uint16_t mmio_megabytes;
	uint8_t user_def[VMBUS_OFFER_USER_DEFINED_BYTES];
	uint16_t sub_channel_index;
	uint16_t reserved3;
	uint32_t child_relid;
	uint8_t monitorid;
	uint8_t monitor_allocated;	 /* bit 0 */
	uint16_t is_dedicated_interrupt; /* bit 0 */
	uint32_t connection_id;
} VMBUS_PACKED;

struct vmbus_msg_rescind_offer {
	struct vmbus_msg_header header;
	uint32_t child_relid;
} VMBUS_PACKED;

struct vmbus_msg_open_channel {
	struct vmbus_msg_header header;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t ringbuffer_gpadlhandle;
	uint32_t target_vp;
	uint32_t downstream_ringbuffer_pageoffset;
	uint8_t userdata[VMBUS_OFFER_USER_DEFINED_BYTES];
} VMBUS_PACKED;

struct vmbus_msg_open_result {
	struct vmbus_msg_header header;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t status;
} VMBUS_PACKED;

struct vmbus_msg_close_channel {
	struct vmbus_msg_header header;
	uint32_t child_relid;
} VMBUS_PACKED;

struct vmbus_gpa_range {
	uint32_t byte_count;
	uint32_t byte_offset;
	uint64_t pfn_array[];
} VMBUS_PACKED;

struct vmbus_msg_gpadl_header {
	struct vmbus_msg_header header;
	uint32_t child_relid;
	uint32_t gpadl;
	uint16_t range_buflen;
	uint16_t rangecount;
	/* struct vmbus_gpa_range range[] follows */
} VMBUS_PACKED;

struct vmbus_msg_gpadl_body {
	struct vmbus_msg_header header;
	uint32_t msgnumber;
	uint32_t gpadl;
	/* uint64_t pfn[] follows */
} VMBUS_PACKED;

/* PFNs that fit in the first and in each following message. */
#define VMBUS_GPADL_HEADER_PFNS                                                                    \
	((VMBUS_MAX_MESSAGE_SIZE - sizeof(struct vmbus_msg_gpadl_header) -                         \
	  sizeof(struct vmbus_gpa_range)) /                                                        \
	 8)
#define VMBUS_GPADL_BODY_PFNS ((VMBUS_MAX_MESSAGE_SIZE - sizeof(struct vmbus_msg_gpadl_body)) / 8)

struct vmbus_msg_gpadl_created {
	struct vmbus_msg_header header;
	uint32_t child_relid;
	uint32_t gpadl;
	uint32_t creation_status;
} VMBUS_PACKED;

struct vmbus_msg_gpadl_teardown {
	struct vmbus_msg_header header;
	uint32_t child_relid;
	uint32_t gpadl;
} VMBUS_PACKED;

struct vmbus_msg_gpadl_torndown {
	struct vmbus_msg_header header;
	uint32_t gpadl;
} VMBUS_PACKED;

struct vmbus_msg_relid_released {
	struct vmbus_msg_header header;
	uint32_t child_relid;
} VMBUS_PACKED;

struct vmbus_msg_initiate_contact {
	struct vmbus_msg_header header;
	uint32_t vmbus_version_requested;
	uint32_t target_vcpu;
	union {
		uint64_t interrupt_page; /* < 5.0 */
		struct {
			uint8_t msg_sint; /* >= 5.0 */
			uint8_t msg_vtl;
			uint8_t padding[6];
		} VMBUS_PACKED;
	};
	uint64_t monitor_page1;
	uint64_t monitor_page2;
} VMBUS_PACKED;

struct vmbus_msg_version_response {
	struct vmbus_msg_header header;
	uint8_t version_supported;
	uint8_t connection_state;
	uint16_t padding;
	uint32_t msg_conn_id;
} VMBUS_PACKED;

struct vmbus_msg_modifychannel {
	struct vmbus_msg_header header;
	uint32_t child_relid;
	uint32_t target_vp;
} VMBUS_PACKED;

struct vmbus_msg_modifychannel_response {
	struct vmbus_msg_header header;
	uint32_t child_relid;
	uint32_t status;
} VMBUS_PACKED;

/* ---- Ring buffers ---- */
#define VMBUS_RING_HEADER_SIZE 4096
#define VMBUS_RING_FEAT_PENDING_SEND_SZ 0x1

struct vmbus_ring_header {
	uint32_t write_index;
	uint32_t read_index;
	uint32_t interrupt_mask;
	uint32_t pending_send_sz;
	uint32_t reserved1[12];
	uint32_t feature_bits;
	uint8_t reserved2[VMBUS_RING_HEADER_SIZE - 68];
} VMBUS_PACKED;

enum vmbus_packet_type {
	VMBUS_PKT_INVALID = 0x0,
	VMBUS_PKT_SYNCH = 0x1,
	VMBUS_PKT_ADD_XFER_PAGESET = 0x2,
	VMBUS_PKT_RM_XFER_PAGESET = 0x3,
	VMBUS_PKT_ESTABLISH_GPADL = 0x4,
	VMBUS_PKT_TEARDOWN_GPADL = 0x5,
	VMBUS_PKT_DATA_INBAND = 0x6,
	VMBUS_PKT_DATA_USING_XFER_PAGES = 0x7,
	VMBUS_PKT_DATA_USING_GPADL = 0x8,
	VMBUS_PKT_DATA_USING_GPA_DIRECT = 0x9,
	VMBUS_PKT_CANCEL_REQUEST = 0xa,
	VMBUS_PKT_COMP = 0xb,
	VMBUS_PKT_DATA_USING_ADDITIONAL_PKT = 0xc,
	VMBUS_PKT_ADDITIONAL_DATA = 0xd,
};

#define VMBUS_PKT_FLAG_COMPLETION_REQUESTED 0x1

struct vmbus_packet_descriptor {
	uint16_t type;
	uint16_t offset8; /* data offset from the descriptor, in 8-byte units */
	uint16_t len8;	  /* packet length without the trailer, in 8-byte units */
	uint16_t flags;
	uint64_t trans_id;
} VMBUS_PACKED;

/* After each packet: u64 whose high half is the write index the packet began at. */
#define VMBUS_PKT_TRAILER 8

/* GPA-direct packets (type 9): descriptor, u32 reserved, u32 range_cnt, ranges. */
struct vmbus_gpa_direct_header {
	struct vmbus_packet_descriptor d;
	uint32_t reserved;
	uint32_t range_cnt;
} VMBUS_PACKED;

#endif /* LINHV_VMBUS_PROTO_H */

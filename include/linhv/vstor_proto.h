/* SPDX-License-Identifier: MIT */
/*
 * The VMBus storage protocol (vstor) between hv_storvsc and the storage VSP:
 * one 64-byte packet per request (52 bytes before protocol 5.1, whose SRB
 * lacks the win8 extension). Little-endian, packed, as on the wire.
 */
#ifndef LINHV_VSTOR_PROTO_H
#define LINHV_VSTOR_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <linhv/vmbus_proto.h>

/* Class GUID of the synthetic SCSI controller: ba6163d9-04a1-4d29-b605-72e2ffb1dc7f. */
#define VSTOR_SCSI_GUID                                                                            \
	VMBUS_GUID_INIT(0xba6163d9, 0x04a1, 0x4d29, 0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f)

#define VSTOR_VERSION(major, minor) ((uint16_t)((major) << 8 | (minor)))
#define VSTOR_VERSION_WIN6 VSTOR_VERSION(2, 0)
#define VSTOR_VERSION_WIN7 VSTOR_VERSION(4, 2)
#define VSTOR_VERSION_WIN8 VSTOR_VERSION(5, 1)
#define VSTOR_VERSION_WIN8_1 VSTOR_VERSION(6, 0)
#define VSTOR_VERSION_WIN10 VSTOR_VERSION(6, 2)

enum vstor_operation {
	VSTOR_OP_COMPLETE_IO = 1,
	VSTOR_OP_REMOVE_DEVICE = 2,
	VSTOR_OP_EXECUTE_SRB = 3,
	VSTOR_OP_RESET_LUN = 4,
	VSTOR_OP_RESET_ADAPTER = 5,
	VSTOR_OP_RESET_BUS = 6,
	VSTOR_OP_BEGIN_INITIALIZATION = 7,
	VSTOR_OP_END_INITIALIZATION = 8,
	VSTOR_OP_QUERY_PROTOCOL_VERSION = 9,
	VSTOR_OP_QUERY_PROPERTIES = 10,
	VSTOR_OP_ENUMERATE_BUS = 11,
	VSTOR_OP_FCHBA_DATA = 12,
	VSTOR_OP_CREATE_SUB_CHANNELS = 13,
};

#define VSTOR_FLAG_REQUEST_COMPLETION 0x1

/* NTSTATUS values in vstor_packet.status */
#define VSTOR_STATUS_SUCCESS 0x00000000u
#define VSTOR_STATUS_UNSUCCESSFUL 0xC0000001u
#define VSTOR_STATUS_REVISION_MISMATCH 0xC0000059u

#define VSTOR_CDB_MAX 16
#define VSTOR_SENSE_MAX 0x14

/* SRB status (vmscsi_request.srb_status) */
#define SRB_STATUS_SUCCESS 0x01
#define SRB_STATUS_ABORTED 0x02
#define SRB_STATUS_ERROR 0x04
#define SRB_STATUS_INVALID_REQUEST 0x06
#define SRB_STATUS_DATA_OVERRUN 0x12
#define SRB_STATUS_INVALID_LUN 0x20
#define SRB_STATUS_INTERNAL_ERROR 0x30
#define SRB_STATUS_QUEUE_FROZEN 0x40
#define SRB_STATUS_AUTOSENSE_VALID 0x80

/* vmscsi_request.data_in */
#define VSTOR_DATA_OUT 0 /* write */
#define VSTOR_DATA_IN 1	 /* read */
#define VSTOR_DATA_NONE 2

#define SRB_FLAGS_DATA_IN 0x40
#define SRB_FLAGS_DATA_OUT 0x80

struct vmscsi_request {
	uint16_t length; /* sizeof this struct for the protocol in use */
	uint8_t srb_status;
	uint8_t scsi_status;
	uint8_t port_number;
	uint8_t path_id;
	uint8_t target_id;
	uint8_t lun;
	uint8_t cdb_length;
	uint8_t sense_info_length;
	uint8_t data_in;
	uint8_t reserved;
	uint32_t data_transfer_length;
	union {
		uint8_t cdb[VSTOR_CDB_MAX];
		uint8_t sense_data[VSTOR_SENSE_MAX];
	};
	/* The win8 extension (protocol 5.1 and newer). */
	uint16_t reserve;
	uint8_t queue_tag;
	uint8_t queue_action;
	uint32_t srb_flags;
	uint32_t time_out_value;
	uint32_t queue_sort_key;
} VMBUS_PACKED;

#define VSTOR_SRB_SIZE 0x34
#define VSTOR_SRB_SIZE_PRE_WIN8 0x24 /* without the 16-byte win8 extension */

#define VSTOR_CHANNEL_SUPPORTS_MULTI_CHANNEL 0x1

struct vstor_channel_properties {
	uint32_t reserved;
	uint16_t max_channel_cnt;
	uint16_t reserved1;
	uint32_t flags;
	uint32_t max_transfer_bytes;
	uint64_t reserved2;
} VMBUS_PACKED;

struct vstor_protocol_version {
	uint16_t major_minor;
	uint16_t revision;
} VMBUS_PACKED;

struct vstor_packet {
	uint32_t operation; /* enum vstor_operation */
	uint32_t flags;
	uint32_t status;
	union {
		struct vmscsi_request srb;
		struct vstor_channel_properties properties;
		struct vstor_protocol_version version;
		uint16_t sub_channel_count;
		uint8_t buffer[VSTOR_SRB_SIZE];
	};
} VMBUS_PACKED;

#define VSTOR_PACKET_SIZE 64
#define VSTOR_PACKET_SIZE_PRE_WIN8 (VSTOR_PACKET_SIZE - (VSTOR_SRB_SIZE - VSTOR_SRB_SIZE_PRE_WIN8))

_Static_assert(sizeof(struct vmscsi_request) == VSTOR_SRB_SIZE, "vmscsi_request size");
_Static_assert(offsetof(struct vmscsi_request, reserve) == VSTOR_SRB_SIZE_PRE_WIN8,
	       "vmscsi_request size before the win8 extension");
_Static_assert(sizeof(struct vstor_packet) == VSTOR_PACKET_SIZE, "vstor_packet size");
_Static_assert(sizeof(struct vstor_channel_properties) == 24, "properties size");

#endif /* LINHV_VSTOR_PROTO_H */

/* SPDX-License-Identifier: MIT */
/*
 * RNDIS as the network VSP sees it: a pure parser and builder, with no
 * VMBus or TAP in it, so it can be unit-tested and fuzzed on its own.
 * Control messages (INITIALIZE, QUERY, SET, KEEPALIVE, RESET, HALT) are
 * answered from a small state; data messages (PACKET) are parsed into the
 * frame's place in the message plus the per-packet info that matters
 * (checksum and large-send offload, VLAN); receive headers, per-packet info
 * and status indications are built for the other direction.
 * Every length and offset is checked against the bytes actually given; a
 * malformed receive-scale parameter set (rss.h) closes the channel too.
 */
#ifndef NETVSP_RNDIS_H
#define NETVSP_RNDIS_H

#include <stdbool.h>
#include <stdint.h>

#include "rss.h"

#define RNDIS_MSG_PACKET 0x1u
#define RNDIS_MSG_INIT 0x2u
#define RNDIS_MSG_HALT 0x3u
#define RNDIS_MSG_QUERY 0x4u
#define RNDIS_MSG_SET 0x5u
#define RNDIS_MSG_RESET 0x6u
#define RNDIS_MSG_INDICATE 0x7u
#define RNDIS_MSG_KEEPALIVE 0x8u
#define RNDIS_MSG_COMPLETION 0x80000000u

#define RNDIS_STATUS_SUCCESS 0x00000000u
#define RNDIS_STATUS_MEDIA_CONNECT 0x4001000Bu
#define RNDIS_STATUS_MEDIA_DISCONNECT 0x4001000Cu
#define RNDIS_STATUS_FAILURE 0xC0000001u
#define RNDIS_STATUS_NOT_SUPPORTED 0xC00000BBu
#define RNDIS_STATUS_INVALID_LENGTH 0xC0010014u
#define RNDIS_STATUS_INVALID_DATA 0xC0010015u

#define RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE 0x00010106u
#define RNDIS_OID_GEN_LINK_SPEED 0x00010107u
#define RNDIS_OID_GEN_CURRENT_PACKET_FILTER 0x0001010Eu
#define RNDIS_OID_GEN_MEDIA_CONNECT_STATUS 0x00010114u
#define RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES 0x00010203u
#define RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS 0x00010204u
#define RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER 0x0001021Bu
#define RNDIS_OID_GEN_FRIENDLY_NAME 0x00020216u
#define RNDIS_OID_802_3_PERMANENT_ADDRESS 0x01010101u
#define RNDIS_OID_802_3_CURRENT_ADDRESS 0x01010102u
#define RNDIS_OID_802_3_MULTICAST_LIST 0x01010103u
#define RNDIS_OID_TCP_OFFLOAD_PARAMETERS 0xFC01020Cu
#define RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES 0xFC01020Du

/* Per-packet info types. */
#define RNDIS_PPI_CHECKSUM 0
#define RNDIS_PPI_LSO 2
#define RNDIS_PPI_VLAN 6
#define RNDIS_PPI_HASH 8 /* NBL_HASH_VALUE: the RSS hash of a received frame */

/* Transmit checksum info bits (guest to host). */
#define RNDIS_CSUM_TX_IPV4 (1u << 0)
#define RNDIS_CSUM_TX_IPV6 (1u << 1)
#define RNDIS_CSUM_TX_TCP (1u << 2)
#define RNDIS_CSUM_TX_UDP (1u << 3)
#define RNDIS_CSUM_TX_IP (1u << 4)
#define RNDIS_CSUM_TX_L4_OFFSET(v) (((v) >> 16) & 0x3ff)
/* Receive checksum info bits (host to guest). */
#define RNDIS_CSUM_RX_TCP_OK (1u << 3)
#define RNDIS_CSUM_RX_UDP_OK (1u << 4)
#define RNDIS_CSUM_RX_IP_OK (1u << 5)
#define RNDIS_CSUM_RX_IP_INVALID (1u << 8) /* recompute the IPv4 header checksum */
/* Receive segment coalescing: the pieces of one frame, one per sub-allocation. */
#define RNDIS_RSC_SUBALLOC (1u << 0)
#define RNDIS_RSC_FIRST (1u << 1)
#define RNDIS_RSC_LAST (1u << 2)
#define RNDIS_PPI_PKTINFO_ID 0x80000001u /* internal type 1 */
/* Large send (LSO v2) info. */
#define RNDIS_LSO_MSS(v) ((v)&0xfffff)
#define RNDIS_LSO_L4_OFFSET(v) (((v) >> 20) & 0x3ff)
#define RNDIS_LSO_V2 (1u << 30)
#define RNDIS_LSO_IPV6 (1u << 31)

#define RNDIS_HDR_LEN 8	    /* type, msg_len */
#define RNDIS_PACKET_LEN 36 /* the PACKET body before any PPI */
#define RNDIS_RX_HDR_LEN 92 /* what rndis_build_rx_hdr writes (the frame follows) */
/* Fields of that header that change after it is built (a piece joins a coalesced frame). */
#define RNDIS_RX_HDR_CSUM 56	  /* le32 checksum info (RNDIS_CSUM_RX_*) */
#define RNDIS_RX_HDR_RSC_FLAGS 73 /* u8 RNDIS_RSC_* of the packet id */
#define RNDIS_INDICATE_LEN 20	  /* what rndis_build_indicate writes */
#define RNDIS_CONTROL_MAX 4096	  /* largest control message accepted */
#define RNDIS_RESPONSE_MAX 256	  /* room rndis_control needs for an answer */
#define RNDIS_TX_HDR_MAX 256	  /* header bytes rndis_parse_packet may need */
#define RNDIS_MAX_PKT_PER_MSG 8

/* What the host reports to the guest. */
struct rndis_config {
	uint8_t mac[6];
	uint32_t mtu;	     /* bytes of L3 payload per frame */
	uint32_t link_speed; /* units of 100 bit/s */
	bool link_up;
	uint32_t rss_queues;   /* receive queues offered for vRSS; < 2: none */
	uint32_t rss_channels; /* channels open now: indirection entries must be below */
	uint32_t nvsp_version;
};

/* What the guest has told us. */
struct rndis_state {
	bool initialized;
	uint32_t packet_filter;
	/* from OID_TCP_OFFLOAD_PARAMETERS (for diagnostics; the TAP path
	 * follows the per-packet info) */
	bool tx_csum_v4, tx_csum_v6, lso_v4, lso_v6;
	/* from OID_GEN_RECEIVE_SCALE_PARAMETERS */
	struct rss_params rss;
	bool rss_changed; /* set on every accepted RSS parameter set */
};

void rndis_state_reset(struct rndis_state *st);

/* The type of a message: 0 when len < RNDIS_HDR_LEN. */
uint32_t rndis_msg_type(const uint8_t *msg, uint32_t len);

/*
 * Answer one control message (msg: len bytes, exactly the message). Writes
 * the answer to resp (at least RNDIS_RESPONSE_MAX bytes) and its length to
 * *resp_len (0: no answer, as for HALT). Returns 0, or -EINVAL when the
 * message is malformed (the caller closes the channel; *why says why).
 */
int rndis_control(struct rndis_state *st, const struct rndis_config *cfg, const uint8_t *msg,
		  uint32_t len, uint8_t *resp, uint32_t *resp_len, const char **why);

/* One guest-to-host data message, parsed. */
struct rndis_tx_info {
	uint32_t data_offset; /* of the frame, from the start of the message */
	uint32_t data_len;
	bool has_csum, has_lso, has_vlan;
	uint32_t csum; /* RNDIS_CSUM_TX_* */
	uint32_t lso;  /* RNDIS_LSO_* */
	uint32_t vlan;
};

/*
 * Parse a PACKET message whose length is msg_len; hdr holds its first
 * hdr_len bytes (min(msg_len, RNDIS_TX_HDR_MAX) is always enough when the
 * per-packet info fits there). 0 or -EINVAL with *why.
 */
int rndis_parse_packet(const uint8_t *hdr, uint32_t hdr_len, uint32_t msg_len,
		       struct rndis_tx_info *out, const char **why);

/*
 * The RNDIS_RX_HDR_LEN bytes before a received frame (or piece of one) of
 * frame_len bytes: the PACKET header, a checksum info (RNDIS_CSUM_RX_*, 0:
 * unknown), a packet id whose rsc flags (RNDIS_RSC_*, 0: a whole frame)
 * mark the pieces of a coalesced frame, and with has_hash the frame's RSS
 * hash (without it, the hash's 16 bytes are padding before the frame).
 */
void rndis_build_rx_hdr(uint8_t *hdr, uint32_t frame_len, uint32_t csum_info, uint32_t rsc,
			uint16_t pkt_id, bool has_hash, uint32_t hash);
/*
 * Make a header from rndis_build_rx_hdr() skip the first skip bytes of its
 * piece (skip < frame_len): a coalesced frame's later segment without its
 * own Ethernet, IP and TCP headers.
 */
void rndis_rx_hdr_skip(uint8_t *hdr, uint32_t skip);

/* A status indication (RNDIS_STATUS_MEDIA_*); RNDIS_INDICATE_LEN bytes. */
void rndis_build_indicate(uint8_t *out, uint32_t status);

#endif /* NETVSP_RNDIS_H */

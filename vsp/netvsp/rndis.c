// SPDX-License-Identifier: MIT
/* RNDIS control answers and data-message parsing for the network VSP (see rndis.h). */
#include <errno.h>
#include <string.h>

#include "rndis.h"

/* NDIS object headers and the offload structures, by byte offset. */
#define NDIS_OBJECT_TYPE_DEFAULT 0x80
#define NDIS_OBJECT_TYPE_RSS_CAPABILITIES 0x88
#define NDIS_OBJECT_TYPE_OFFLOAD 0xa7
#define NDIS_OFFLOAD_SIZE_6_0 112 /* up to the IPsec v2 block */
#define NDIS_OFFLOAD_SIZE_6_1 144 /* up to RSC */
#define NDIS_OFFLOAD_SIZE 156
#define NDIS_ENCAP_8023 0x2
#define NDIS_RSS_CAPS_TCP4 0x100
#define NDIS_RSS_CAPS_TCP6 0x200
#define NDIS_RSS_CAPS_LEN 18 /* packed: hv_netvsc refuses a longer answer */
/*
 * Bytes per large send, headers included. Linux caps its sends at 64 KiB
 * (GSO_LEGACY_MAX_SIZE) anyway; Hyper-V's 62780 would cost it two
 * 1448-byte segments per send (43 instead of 45).
 */
#define LSO_MAX_SIZE 65536

#define QUERY_BODY 20 /* req_id, oid, info_buflen, info_buf_offset, vc_handle */

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

void rndis_state_reset(struct rndis_state *st)
{
	memset(st, 0, sizeof(*st));
}

uint32_t rndis_msg_type(const uint8_t *msg, uint32_t len)
{
	return len < RNDIS_HDR_LEN ? 0 : get32(msg);
}

/* The offload capabilities we can map onto a TAP with a virtio-net header. */
static uint32_t build_offload_caps(const struct rndis_config *cfg, uint32_t want, uint8_t *o)
{
	uint32_t size;
	uint8_t rev;

	if (cfg->nvsp_version >= 0x50000) {
		size = NDIS_OFFLOAD_SIZE;
		rev = 3;
	} else if (cfg->nvsp_version >= 0x40000) {
		size = NDIS_OFFLOAD_SIZE_6_1;
		rev = 2;
	} else {
		size = NDIS_OFFLOAD_SIZE_6_0;
		rev = 1;
	}
	/* Never answer with more than the guest made room for. */
	if (want >= NDIS_OFFLOAD_SIZE_6_0 && want < size) {
		size =
		    want >= NDIS_OFFLOAD_SIZE_6_1 ? NDIS_OFFLOAD_SIZE_6_1 : NDIS_OFFLOAD_SIZE_6_0;
		rev = size == NDIS_OFFLOAD_SIZE_6_1 ? 2 : 1;
	}
	memset(o, 0, size);
	o[0] = NDIS_OBJECT_TYPE_OFFLOAD;
	o[1] = rev;
	put16(o + 2, (uint16_t)size);
	/* checksum: IPv4 transmit TCP (+options) and UDP; receive the same plus IP */
	put32(o + 4, NDIS_ENCAP_8023);
	put32(o + 8, 0x010 | 0x004 | 0x040);
	put32(o + 12, NDIS_ENCAP_8023);
	put32(o + 16, 0x010 | 0x004 | 0x040 | 0x100);
	/* IPv6: TCP (+options, extension headers) and UDP */
	put32(o + 20, NDIS_ENCAP_8023);
	put32(o + 24, 0x010 | 0x004 | 0x001 | 0x040);
	put32(o + 28, NDIS_ENCAP_8023);
	put32(o + 32, 0x010 | 0x004 | 0x001 | 0x040);
	/* LSO v2 for IPv4 and IPv6 */
	put32(o + 80, NDIS_ENCAP_8023);
	put32(o + 84, LSO_MAX_SIZE);
	put32(o + 88, 2);
	put32(o + 92, NDIS_ENCAP_8023);
	put32(o + 96, LSO_MAX_SIZE);
	put32(o + 100, 2);
	put32(o + 104, 0x001 | 0x004);
	return size;
}

/* info_buflen/offset of a QUERY or SET, checked against the message. */
static int info_range(const uint8_t *msg, uint32_t len, uint32_t *off, uint32_t *ilen)
{
	uint32_t body = len - RNDIS_HDR_LEN;

	*ilen = get32(msg + 16);
	*off = get32(msg + 20);
	if (*ilen == 0) {
		*off = 0;
		return 0;
	}
	if (*off < QUERY_BODY || *off > body || *ilen > body - *off)
		return -EINVAL;
	*off += RNDIS_HDR_LEN; /* from the start of the message */
	return 0;
}

static uint32_t query(const struct rndis_config *cfg, uint32_t oid, uint32_t want, uint8_t *info,
		      uint32_t *status)
{
	*status = RNDIS_STATUS_SUCCESS;
	switch (oid) {
	case RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE:
		put32(info, cfg->mtu);
		return 4;
	case RNDIS_OID_802_3_PERMANENT_ADDRESS:
	case RNDIS_OID_802_3_CURRENT_ADDRESS:
		memcpy(info, cfg->mac, 6);
		return 6;
	case RNDIS_OID_GEN_MEDIA_CONNECT_STATUS:
		put32(info, cfg->link_up ? 0 : 1); /* 0 connected, 1 disconnected */
		return 4;
	case RNDIS_OID_GEN_LINK_SPEED:
		put32(info, cfg->link_speed);
		return 4;
	case RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES:
		return build_offload_caps(cfg, want, info);
	case RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES:
		if (cfg->rss_queues < 2)
			break;
		memset(info, 0, NDIS_RSS_CAPS_LEN);
		info[0] = NDIS_OBJECT_TYPE_RSS_CAPABILITIES;
		info[1] = 2;
		put16(info + 2, NDIS_RSS_CAPS_LEN);
		put32(info + 4, NDIS_RSS_CAPS_TCP4 | NDIS_RSS_CAPS_TCP6);
		put32(info + 8, cfg->rss_queues);  /* interrupt messages */
		put32(info + 12, cfg->rss_queues); /* receive queues */
		put16(info + 16, RSS_ITAB_MAX);
		return NDIS_RSS_CAPS_LEN;
	}
	*status = RNDIS_STATUS_NOT_SUPPORTED;
	return 0;
}

static uint32_t set_offload(struct rndis_state *st, const uint8_t *p, uint32_t len)
{
	if (len < 13 || p[0] != NDIS_OBJECT_TYPE_DEFAULT)
		return RNDIS_STATUS_INVALID_DATA;
	/* 0 means "no change"; 1 disabled; 2..4 some direction enabled */
	if (p[5])
		st->tx_csum_v4 = p[5] == 2 || p[5] == 4;
	if (p[7])
		st->tx_csum_v6 = p[7] == 2 || p[7] == 4;
	if (p[11])
		st->lso_v4 = p[11] == 2;
	if (p[12])
		st->lso_v6 = p[12] == 2;
	return RNDIS_STATUS_SUCCESS;
}

/* A malformed parameter set sets *why: the caller closes the channel. */
static uint32_t set_rss(struct rndis_state *st, const struct rndis_config *cfg, const uint8_t *p,
			uint32_t len, const char **why)
{
	struct rss_params next;
	int ret;

	if (cfg->rss_queues < 2)
		return RNDIS_STATUS_NOT_SUPPORTED;
	ret = rss_parse_params(p, len, cfg->rss_channels ? cfg->rss_channels : 1, &st->rss, &next,
			       why);
	if (ret == -ENOTSUP) {
		*why = NULL;
		return RNDIS_STATUS_NOT_SUPPORTED;
	}
	if (ret)
		return RNDIS_STATUS_INVALID_DATA;
	st->rss = next;
	st->rss_changed = true;
	return RNDIS_STATUS_SUCCESS;
}

static uint32_t set(struct rndis_state *st, const struct rndis_config *cfg, uint32_t oid,
		    const uint8_t *info, uint32_t ilen, const char **why)
{
	switch (oid) {
	case RNDIS_OID_GEN_CURRENT_PACKET_FILTER:
		if (ilen < 4)
			return RNDIS_STATUS_INVALID_LENGTH;
		st->packet_filter = get32(info);
		return RNDIS_STATUS_SUCCESS;
	case RNDIS_OID_802_3_MULTICAST_LIST:
		return RNDIS_STATUS_SUCCESS; /* the TAP delivers every frame anyway */
	case RNDIS_OID_TCP_OFFLOAD_PARAMETERS:
		return set_offload(st, info, ilen);
	case RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS:
		return set_rss(st, cfg, info, ilen, why);
	}
	return RNDIS_STATUS_NOT_SUPPORTED;
}

int rndis_control(struct rndis_state *st, const struct rndis_config *cfg, const uint8_t *msg,
		  uint32_t len, uint8_t *resp, uint32_t *resp_len, const char **why)
{
	uint32_t type, msg_len, off, ilen, status, n;

	*resp_len = 0;
	if (len < RNDIS_HDR_LEN + 4) {
		*why = "RNDIS control message too short";
		return -EINVAL;
	}
	type = get32(msg);
	msg_len = get32(msg + 4);
	if (msg_len != len) {
		*why = "RNDIS message length does not match";
		return -EINVAL;
	}
	put32(resp + 8, get32(msg + 8)); /* req_id, first in every answer */
	switch (type) {
	case RNDIS_MSG_INIT:
		if (len < RNDIS_HDR_LEN + 16) {
			*why = "RNDIS INITIALIZE too short";
			return -EINVAL;
		}
		st->initialized = true;
		memset(resp + 12, 0, 40);
		put32(resp + 16, 1);   /* major */
		put32(resp + 24, 0x1); /* connectionless */
		put32(resp + 28, 0);   /* 802.3 */
		put32(resp + 32, RNDIS_MAX_PKT_PER_MSG);
		put32(resp + 36, 0x40000); /* max transfer size */
		put32(resp + 40, 3);	   /* packets aligned to 8 bytes */
		n = 52;
		break;
	case RNDIS_MSG_QUERY: {
		uint32_t want;

		if (len < RNDIS_HDR_LEN + QUERY_BODY || info_range(msg, len, &off, &ilen)) {
			*why = "RNDIS QUERY malformed";
			return -EINVAL;
		}
		want = ilen;
		ilen = query(cfg, get32(msg + 12), want, resp + 24, &status);
		put32(resp + 12, status);
		put32(resp + 16, ilen);
		put32(resp + 20, ilen ? 16 : 0); /* from req_id */
		n = 24 + ilen;
		break;
	}
	case RNDIS_MSG_SET: {
		const char *bad = NULL;

		if (len < RNDIS_HDR_LEN + QUERY_BODY || info_range(msg, len, &off, &ilen)) {
			*why = "RNDIS SET malformed";
			return -EINVAL;
		}
		put32(resp + 12, set(st, cfg, get32(msg + 12), msg + off, ilen, &bad));
		if (bad) {
			*why = bad;
			return -EINVAL;
		}
		n = 16;
		break;
	}
	case RNDIS_MSG_KEEPALIVE:
		put32(resp + 12, RNDIS_STATUS_SUCCESS);
		n = 16;
		break;
	case RNDIS_MSG_RESET:
		put32(resp + 8, RNDIS_STATUS_SUCCESS); /* no req_id in a reset */
		put32(resp + 12, 0);
		n = 16;
		break;
	case RNDIS_MSG_HALT:
		rndis_state_reset(st);
		return 0;
	default:
		*why = "unknown RNDIS control message";
		return -EINVAL;
	}
	put32(resp, type | RNDIS_MSG_COMPLETION);
	put32(resp + 4, n);
	*resp_len = n;
	return 0;
}

int rndis_parse_packet(const uint8_t *hdr, uint32_t hdr_len, uint32_t msg_len,
		       struct rndis_tx_info *out, const char **why)
{
	const uint8_t *pkt = hdr + RNDIS_HDR_LEN;
	uint32_t body, doff, dlen, poff, plen;

	memset(out, 0, sizeof(*out));
	if (msg_len < RNDIS_HDR_LEN + RNDIS_PACKET_LEN || hdr_len > msg_len ||
	    hdr_len < RNDIS_HDR_LEN + RNDIS_PACKET_LEN) {
		*why = "RNDIS packet too short";
		return -EINVAL;
	}
	body = msg_len - RNDIS_HDR_LEN;
	doff = get32(pkt);
	dlen = get32(pkt + 4);
	poff = get32(pkt + 20);
	plen = get32(pkt + 24);
	if (doff < RNDIS_PACKET_LEN || doff > body || dlen > body - doff || dlen == 0) {
		*why = "RNDIS packet data offset/length out of the message";
		return -EINVAL;
	}
	out->data_offset = RNDIS_HDR_LEN + doff;
	out->data_len = dlen;
	if (plen == 0)
		return 0;
	/* The PPIs lie between the PACKET body and the data, in the copied header. */
	if (poff < RNDIS_PACKET_LEN || poff > doff || plen > doff - poff ||
	    plen > hdr_len - RNDIS_HDR_LEN || poff > hdr_len - RNDIS_HDR_LEN - plen) {
		*why = "RNDIS per-packet info out of place";
		return -EINVAL;
	}
	for (const uint8_t *p = pkt + poff; plen;) {
		uint32_t size, type, voff, val;

		if (plen < 12) {
			*why = "RNDIS per-packet info truncated";
			return -EINVAL;
		}
		size = get32(p);
		type = get32(p + 4);
		voff = get32(p + 8);
		if (size < 12 || size > plen || voff < 12 || voff > size - 4) {
			*why = "RNDIS per-packet info size/offset invalid";
			return -EINVAL;
		}
		val = get32(p + voff);
		if (!(type & 0x80000000u)) { /* internal ones (RSC ids) are ignored */
			switch (type) {
			case RNDIS_PPI_CHECKSUM:
				out->has_csum = true;
				out->csum = val;
				break;
			case RNDIS_PPI_LSO:
				out->has_lso = true;
				out->lso = val;
				break;
			case RNDIS_PPI_VLAN:
				out->has_vlan = true;
				out->vlan = val;
				break;
			}
		}
		p += size;
		plen -= size;
	}
	return 0;
}

void rndis_build_rx_hdr(uint8_t *hdr, uint32_t frame_len, uint32_t csum_info, uint32_t rsc,
			uint16_t pkt_id, bool has_hash, uint32_t hash)
{
	memset(hdr, 0, RNDIS_RX_HDR_LEN);
	put32(hdr, RNDIS_MSG_PACKET);
	put32(hdr + 4, RNDIS_RX_HDR_LEN + frame_len);
	put32(hdr + 8, RNDIS_RX_HDR_LEN - RNDIS_HDR_LEN); /* data offset */
	put32(hdr + 12, frame_len);
	put32(hdr + 28, RNDIS_PACKET_LEN);   /* PPI offset */
	put32(hdr + 32, has_hash ? 48 : 32); /* PPI length */
	put32(hdr + 44, 16);		     /* PPI: size, type, offset, value */
	put32(hdr + 48, RNDIS_PPI_CHECKSUM);
	put32(hdr + 52, 12);
	put32(hdr + RNDIS_RX_HDR_CSUM, csum_info);
	put32(hdr + 60, 16);
	put32(hdr + 64, RNDIS_PPI_PKTINFO_ID);
	put32(hdr + 68, 12);
	hdr[72] = 1; /* version */
	hdr[RNDIS_RX_HDR_RSC_FLAGS] = (uint8_t)rsc;
	put16(hdr + 74, pkt_id);
	if (has_hash) {
		put32(hdr + 76, 16);
		put32(hdr + 80, RNDIS_PPI_HASH);
		put32(hdr + 84, 12);
		put32(hdr + 88, hash);
	}
}

void rndis_rx_hdr_skip(uint8_t *hdr, uint32_t skip)
{
	put32(hdr + 8, get32(hdr + 8) + skip);
	put32(hdr + 12, get32(hdr + 12) - skip);
}

void rndis_build_indicate(uint8_t *out, uint32_t status)
{
	put32(out, RNDIS_MSG_INDICATE);
	put32(out + 4, RNDIS_INDICATE_LEN);
	put32(out + 8, status);
	put32(out + 12, 0);
	put32(out + 16, 0);
}

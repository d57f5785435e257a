// SPDX-License-Identifier: MIT
/* Receive segment coalescing: which frames continue a TCP segment (rsc.h). */
#include <string.h>

#include "rsc.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

bool rsc_parse(const uint8_t *f, uint32_t have, uint32_t flen, struct rsc_seg *out)
{
	const uint8_t *ip = f + 14, *tcp = f + 34;
	uint32_t thl, tot;

	if (have > flen)
		have = flen;
	if (have < 54 || be16(f + 12) != 0x0800 || ip[0] != 0x45 || ip[9] != 6)
		return false;
	if (be16(ip + 6) & 0x3fff) /* MF or a fragment offset */
		return false;
	tot = be16(ip + 2);
	thl = (uint32_t)(tcp[12] >> 4) * 4;
	if (tot != flen - 14 || thl < 20 || 34 + thl > have || tot <= 20 + thl)
		return false;
	if ((tcp[13] & ~TCP_PSH) != TCP_ACK) /* not SYN, FIN, RST, URG, ECE, CWR */
		return false;
	memset(out, 0, sizeof(*out));
	out->saddr = be32(ip + 12);
	out->daddr = be32(ip + 16);
	out->tos = ip[1];
	out->ttl = ip[8];
	out->sport = be16(tcp);
	out->dport = be16(tcp + 2);
	out->seq = be32(tcp + 4);
	out->ack = be32(tcp + 8);
	out->window = be16(tcp + 14);
	out->tcp_flags = tcp[13];
	out->thl = (uint8_t)thl;
	memcpy(out->opts, tcp + 20, thl - 20);
	out->hdr_len = 34 + thl;
	out->payload = tot - 20 - thl;
	return true;
}

bool rsc_continues(const struct rsc_seg *head, uint32_t payload, const struct rsc_seg *b)
{
	if (head->tcp_flags & TCP_PSH)
		return false;
	if (b->saddr != head->saddr || b->daddr != head->daddr || b->sport != head->sport ||
	    b->dport != head->dport)
		return false;
	if (b->seq != head->seq + payload || b->ack != head->ack || b->window != head->window ||
	    b->tos != head->tos || b->ttl != head->ttl || b->thl != head->thl ||
	    memcmp(b->opts, head->opts, head->thl - 20u))
		return false;
	return (uint64_t)head->hdr_len + payload + b->payload <= RSC_FRAME_MAX;
}

uint32_t rsc_split_at(uint32_t hdr_len, uint32_t len, uint32_t mss, uint32_t cap)
{
	uint32_t at;

	if (len <= RSC_FRAME_MAX || !mss || hdr_len >= RSC_FRAME_MAX || hdr_len >= cap)
		return 0;
	for (at = hdr_len + (RSC_FRAME_MAX - hdr_len) / mss * mss; at > hdr_len; at -= mss) {
		uint32_t rest = cap - at % cap; /* of the piece the cut falls in */

		if (len - at < rest)
			rest = len - at;
		if (at % cap && hdr_len + rest <= cap)
			return at;
	}
	return 0;
}

void rsc_split_headers(uint8_t *h, uint8_t *h2, const struct rsc_seg *seg, uint32_t at,
		       uint32_t len, uint32_t mss)
{
	uint32_t data = at - seg->hdr_len, seq = seg->seq + data;

	memcpy(h2, h, seg->hdr_len);
	put_be16(h + 16, at - 14);
	h[47] &= (uint8_t)~TCP_PSH;
	put_be16(h2 + 16, seg->hdr_len - 14 + len - at);
	put_be16(h2 + 18, be16(h + 18) + data / mss); /* as if segmented */
	for (int i = 0; i < 4; i++)
		h2[38 + i] = (uint8_t)(seq >> (24 - 8 * i));
}

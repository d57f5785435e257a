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

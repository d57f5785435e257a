// SPDX-License-Identifier: MIT
/*
 * The hostile guest against the network VSP (vsc/hostile.h): after NVSP
 * INIT and the receive and send buffers, messages that lie: a send-section
 * index out of range, an RNDIS control message shorter than its type, an
 * RNDIS length beyond its section, a short NVSP message, a completion for
 * a receive packet that was never sent, and (when the NIC offers vRSS)
 * receive-scale parameters whose indirection table names a channel that
 * does not exist or does not fit the message. Each must get the channel
 * rescinded; the NIC is offered again and still answers afterwards.
 * The wire formats are written out here: this file is freestanding.
 */
#include <stddef.h>

#include <vsc/hostile.h>

#include "hostile_internal.h"
#include "util.h"

static const struct vmbus_guid net_guid =
    VMBUS_GUID_INIT(0xf8615163, 0xdf3e, 0x46c5, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e);

#define NVSP_INIT 1
#define NVSP_SEND_RECV_BUF 101
#define NVSP_SEND_SEND_BUF 104
#define NVSP_SEND_RNDIS_PKT 107
#define NVSP_V61 0x60001
#define NVSP_SUCCESS 1
#define NVSP_MSG_SIZE 40
#define RECV_PAGES 16
#define SEND_PAGES 2
#define RNDIS_QUERY 4
#define RNDIS_SET 5
#define OID_RSS_CAPS 0x00010203u
#define OID_RSS_PARAMS 0x00010204u

struct net {
	struct vsc_channel ch;
	uint64_t recv_gpa, send_gpa;
	uint32_t recv_handle, send_handle;
	uint8_t *recv, *send;
	uint64_t rx_tid; /* a receive packet the host sent (its completion is not sent) */
	uint32_t queues; /* num_recv_que from the RSS capabilities, 0: not offered */
};

/* An NVSP message of up to 4 words after the type. */
static int nvsp(struct vsc_channel *ch, uint64_t tid, uint32_t type, uint32_t a, uint32_t b,
		uint32_t c)
{
	uint8_t m[NVSP_MSG_SIZE];

	vsc_memset(m, 0, sizeof(m));
	vsc_store32(m, type);
	vsc_store32(m + 4, a);
	vsc_store32(m + 8, b);
	vsc_store32(m + 12, c);
	return vsc_channel_send(ch, VMBUS_PKT_DATA_INBAND, VMBUS_PKT_FLAG_COMPLETION_REQUESTED, tid,
				m, sizeof(m));
}

/*
 * Wait for the completion of tid (its first NVSP word after the type in
 * *word1), or with tid 0 for a transfer-page packet. A transfer-page
 * packet is an RNDIS answer: its first range is copied to rndis (up to 64
 * bytes) and its trans_id kept (it is not completed).
 */
static bool wait_comp(struct vsc_hostile *h, struct net *n, uint64_t tid, uint32_t *word1,
		      uint8_t *rndis)
{
	uint8_t buf[256];
	uint32_t len;

	for (uint32_t k = 0; k < h->bus->wait_limit; k++) {
		const struct vmbus_packet_descriptor *d = (const void *)buf;

		if (vsc_channel_recv(&n->ch, buf, sizeof(buf), &len) != VSC_RING_OK) {
			vsc_hostile_pump(h, 1);
			continue;
		}
		if (d->type == VMBUS_PKT_DATA_USING_XFER_PAGES && len >= 32) {
			uint32_t rlen = vsc_load32(buf + 24), off = vsc_load32(buf + 28);

			n->rx_tid = d->trans_id;
			if (rndis && off < RECV_PAGES * 4096 && rlen <= RECV_PAGES * 4096 - off)
				vsc_memcpy(rndis, n->recv + off, rlen < 64 ? rlen : 64);
			if (tid == 0)
				return true;
			continue;
		}
		if (d->type == VMBUS_PKT_COMP && d->trans_id == tid) {
			uint32_t at = d->offset8 * 8u;

			if (word1)
				*word1 = len >= at + 8 ? vsc_load32(buf + at + 4) : 0;
			return true;
		}
	}
	return false;
}

/* RNDIS message in send section 0 (the control path). */
static int rndis_send(struct net *n, uint64_t tid, uint32_t len)
{
	return nvsp(&n->ch, tid, NVSP_SEND_RNDIS_PKT, 1, 0, len);
}

static uint32_t mk_oid_msg(uint8_t *m, uint32_t type, uint32_t oid, uint32_t ilen)
{
	vsc_memset(m, 0, 28);
	vsc_store32(m, type);
	vsc_store32(m + 4, 28 + ilen);
	vsc_store32(m + 8, 1); /* request id */
	vsc_store32(m + 12, oid);
	vsc_store32(m + 16, ilen);
	vsc_store32(m + 20, 20);
	return 28 + ilen;
}

/* Open the NIC, NVSP 6.1, buffers; ask for the RSS capabilities (an RNDIS answer). */
static const char *open_net(struct vsc_hostile *h, struct net *n)
{
	const struct vsc_offer *o = NULL;
	uint32_t st;
	uint8_t answer[64];

	for (uint32_t k = 0; !o && k < h->bus->wait_limit; k++) {
		o = vsc_vmbus_find_offer(h->bus, &net_guid, 0);
		if (!o)
			vsc_hostile_pump(h, 1);
	}
	if (!o)
		return "no network offer";
	if (vsc_channel_open(h->bus, &n->ch, o, 8, 8, 0))
		return "open";
	if (nvsp(&n->ch, 1, NVSP_INIT, NVSP_V61, NVSP_V61, 0) || !wait_comp(h, n, 1, &st, NULL))
		return "NVSP INIT";
	if (vsc_gpadl_create(h->bus, n->ch.relid, n->recv_gpa, RECV_PAGES, &n->recv_handle) ||
	    nvsp(&n->ch, 2, NVSP_SEND_RECV_BUF, n->recv_handle, 0xCAFE, 0) ||
	    !wait_comp(h, n, 2, &st, NULL) || st != NVSP_SUCCESS)
		return "receive buffer";
	if (vsc_gpadl_create(h->bus, n->ch.relid, n->send_gpa, SEND_PAGES, &n->send_handle) ||
	    nvsp(&n->ch, 3, NVSP_SEND_SEND_BUF, n->send_handle, 0, 0) ||
	    !wait_comp(h, n, 3, &st, NULL) || st != NVSP_SUCCESS)
		return "send buffer";
	vsc_memset(answer, 0, sizeof(answer));
	n->rx_tid = 0;
	if (rndis_send(n, 4, mk_oid_msg(n->send, RNDIS_QUERY, OID_RSS_CAPS, 0)) ||
	    !wait_comp(h, n, 4, NULL, answer))
		return "RNDIS QUERY";
	if (!n->rx_tid)
		wait_comp(h, n, 0, NULL, answer);
	if (!n->rx_tid)
		return "no RNDIS answer in the receive buffer";
	n->queues = vsc_load32(answer + 12) == 0 ? vsc_load32(answer + 24 + 12) : 0;
	return NULL;
}

enum attack {
	SECTION_INDEX,
	SHORT_RNDIS,
	LYING_LENGTH,
	SHORT_NVSP,
	BAD_COMPLETION,
	RSS_ENTRY,
	RSS_TABLE_SIZE,
	NR_ATTACKS
};

static const char *const attack_names[NR_ATTACKS] = {
    "net: a send-section index out of range closes the channel",
    "net: an RNDIS control message shorter than its type closes the channel",
    "net: an RNDIS length beyond its section closes the channel",
    "net: an NVSP message shorter than its type closes the channel",
    "net: a completion for a receive packet never sent closes the channel",
    "net: an RSS indirection entry naming no channel closes the channel",
    "net: an RSS indirection table larger than its message closes the channel",
};

/* NDIS_RECEIVE_SCALE_PARAMETERS with 16 entries of value entry, then a 40-byte key. */
static uint32_t mk_rss(uint8_t *o, uint32_t entry, uint32_t table_bytes)
{
	vsc_memset(o, 0, 40 + 64 + 40);
	o[0] = 0x89;
	o[1] = 2;
	o[2] = 40;
	vsc_store32(o + 8, 0x301); /* Toeplitz, IPv4, TCP/IPv4 */
	o[12] = (uint8_t)table_bytes;
	o[13] = (uint8_t)(table_bytes >> 8);
	vsc_store32(o + 16, 40);
	o[20] = 40;
	vsc_store32(o + 24, 40 + 64);
	for (uint32_t i = 0; i < 16; i++)
		vsc_store32(o + 40 + 4 * i, entry);
	for (uint32_t i = 0; i < 40; i++)
		o[104 + i] = (uint8_t)(i * 37 + 1);
	return 144;
}

static int send_attack(struct net *n, enum attack a)
{
	uint32_t short_msg = NVSP_SEND_RNDIS_PKT;
	uint32_t len;

	switch (a) {
	case SECTION_INDEX:
		return nvsp(&n->ch, 7, NVSP_SEND_RNDIS_PKT, 0, 1000, 100);
	case SHORT_RNDIS:
		vsc_store32(n->send, RNDIS_QUERY);
		vsc_store32(n->send + 4, 12);
		vsc_store32(n->send + 8, 1);
		return rndis_send(n, 7, 12);
	case LYING_LENGTH:
		vsc_memset(n->send, 0, 100);
		vsc_store32(n->send, 1); /* PACKET */
		vsc_store32(n->send + 4, 5000);
		return nvsp(&n->ch, 7, NVSP_SEND_RNDIS_PKT, 0, 0, 100);
	case SHORT_NVSP:
		return vsc_channel_send(&n->ch, VMBUS_PKT_DATA_INBAND, 0, 7, &short_msg, 4);
	case BAD_COMPLETION: {
		/* the generation of a real receive packet, a sub-allocation far out of range */
		uint8_t c[8];

		vsc_store32(c, 108);
		vsc_store32(c + 4, NVSP_SUCCESS);
		return vsc_channel_send(&n->ch, VMBUS_PKT_COMP, 0,
					(n->rx_tid & ~0xffffffffull) | 0xfffff0u, c, sizeof(c));
	}
	case RSS_ENTRY:
	case RSS_TABLE_SIZE:
		len = mk_oid_msg(n->send, RNDIS_SET, OID_RSS_PARAMS, 0);
		len =
		    28 + mk_rss(n->send + 28, a == RSS_ENTRY ? 5 : 0, a == RSS_ENTRY ? 64 : 0xfff0);
		vsc_store32(n->send + 4, len);
		vsc_store32(n->send + 16, len - 28);
		return rndis_send(n, 7, len);
	default:
		return VSC_RING_OK;
	}
}

/* A clean close, as hv_netvsc does it: revoke the buffers, their GPADLs, the channel. */
static void close_net(struct vsc_hostile *h, struct net *n)
{
	nvsp(&n->ch, 20, 103, 0xCAFE, 0, 0); /* REVOKE_RECV_BUF */
	nvsp(&n->ch, 21, 106, 0, 0, 0);	     /* REVOKE_SEND_BUF */
	vsc_gpadl_teardown(h->bus, n->ch.relid, n->recv_handle);
	vsc_gpadl_teardown(h->bus, n->ch.relid, n->send_handle);
	vsc_channel_close(&n->ch);
}

void vsc_hostile_net(struct vsc_hostile *h)
{
	const struct vsc_platform *p = h->bus->plat;
	struct net n;
	const char *bad = NULL;
	uint32_t st = 0;

	if (!vsc_vmbus_find_offer(h->bus, &net_guid, 0))
		return; /* no NIC on this VM: nothing to attack */
	vsc_memset(&n, 0, sizeof(n));
	if (p->alloc_pages(p->ctx, RECV_PAGES, &n.recv_gpa)) {
		report(h, "net: pages for the buffers", false, "out of pages");
		return;
	}
	if (p->alloc_pages(p->ctx, SEND_PAGES, &n.send_gpa)) {
		p->free_pages(p->ctx, n.recv_gpa, RECV_PAGES);
		report(h, "net: pages for the buffers", false, "out of pages");
		return;
	}
	n.recv = p->map(p->ctx, n.recv_gpa, RECV_PAGES * 4096);
	n.send = p->map(p->ctx, n.send_gpa, SEND_PAGES * 4096);
	for (int a = 0; a < NR_ATTACKS; a++) {
		vsc_memset(&n.ch, 0, sizeof(n.ch));
		bad = open_net(h, &n);
		if (!bad && (a == RSS_ENTRY || a == RSS_TABLE_SIZE) && n.queues < 2) {
			/* no vRSS offered (one vCPU): nothing to attack */
			close_net(h, &n);
			continue;
		}
		if (!bad && send_attack(&n, (enum attack)a) != VSC_RING_OK)
			bad = "sending the attack";
		if (!bad)
			bad = vsc_hostile_expect_reoffer(h, &n.ch, &net_guid);
		report(h, attack_names[a], !bad, bad ? "failed: %s" : NULL, bad);
		if (bad)
			break;
		h->bus->nr_pending = 0;
	}
	/* The NIC, offered again, still answers. */
	if (!bad) {
		vsc_memset(&n.ch, 0, sizeof(n.ch));
		bad = open_net(h, &n);
		if (!bad && (nvsp(&n.ch, 9, NVSP_INIT, NVSP_V61, NVSP_V61, 0) ||
			     !wait_comp(h, &n, 9, &st, NULL)))
			bad = "no answer to NVSP INIT";
	}
	report(h, "net: the NIC is offered again and answers after the attacks", !bad,
	       bad ? "failed: %s" : NULL, bad);
	if (n.ch.open)
		close_net(h, &n);
	p->free_pages(p->ctx, n.recv_gpa, RECV_PAGES);
	p->free_pages(p->ctx, n.send_gpa, SEND_PAGES);
}

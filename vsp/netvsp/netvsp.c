// SPDX-License-Identifier: MIT
/*
 * The network VSP (see netvsp.h). Everything after the open runs on the
 * channel's data thread: guest packets (NVSP messages, guest-to-host frames,
 * completions of our receive packets) and the poll callback, which watches
 * an epoll set holding the backend fd and an eventfd for carrier changes.
 * While no receive sub-allocation or ring space is free the backend fd is
 * taken out of that set, so nothing spins; completions and "writable" put
 * it back.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "netvsp.h"
#include "nvsp.h"
#include "rndis.h"

#define NET_CLASS                                                                                  \
	VMBUS_GUID_INIT(0xf8615163, 0xdf3e, 0x46c5, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e)

#define SEND_SECTION_SIZE 6144
#define NETVSP_MAX_MTU 9000
#define RSC_MAX_FRAME (65535 + 14 + 4) /* a GSO frame from the backend */
#define RSC_MAX_PIECES 48	       /* sub-allocations per coalesced frame */
#define NDIS_CONFIG_CAP_RSC (1ull << 7)
#define RX_BUDGET 64
#define MAX_PENDING_COMPLETIONS 65536
#define MAX_PENDING_CONTROL 64
#define SECTION_IOV 8
#define STREAM_IOV (SECTION_IOV + VMBUS_GPA_DIRECT_MAX_PAGES)
#define FRAME_HDR_COPY 192
#define VNET_HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr))

/* A completion or control answer that could not be sent yet. */
struct pending_comp {
	uint64_t tid;
	struct nvsp_msg msg;
};

struct pending_ctl {
	uint32_t len;
	uint8_t data[RNDIS_RESPONSE_MAX];
};

/* The guest's bytes of one SEND_RNDIS_PKT: a section, then GPA-direct pages. */
struct stream {
	uint32_t n;
	uint64_t len;
	struct iovec iov[STREAM_IOV];
};

/* Per-open state of the (single) channel. */
struct netvsp_queue {
	struct vmbus_channel *chan;
	int epfd;
	bool rx_armed; /* backend fd in the epoll set */

	uint32_t nvsp_version, ndis_mtu;
	struct rndis_state rndis;
	bool link_reported, link_reported_valid;

	struct vmbus_gpadl_view recv, send;
	bool have_recv, have_send;
	uint32_t sub_size, sub_count, send_size, send_count;
	uint32_t *free_slots, nfree;
	uint8_t *inflight;
	uint32_t *chain; /* the next piece of the same transfer, or UINT32_MAX */
	bool rsc;	 /* coalesced frames: NVSP 6.1 and the guest asked for RSC */
	uint32_t rx_seq;
	struct iovec *rx_iov; /* vnet header, the pieces of up to RSC_MAX_PIECES slots, spill */
	uint32_t slot_iov;    /* most iovecs one sub-allocation can need */
	uint32_t
	    recv_gen; /* in every receive trans_id: completions for an old buffer are dropped */

	struct pending_comp *comps;
	uint32_t ncomps, comps_cap;
	struct pending_ctl ctl[MAX_PENDING_CONTROL];
	uint32_t ctl_head, nctl;

	struct vmbus_gpa_direct gd;
	struct stream st;
	uint8_t ctlbuf[RNDIS_CONTROL_MAX];
	uint8_t discard[65536 + 64];
};

struct netvsp {
	struct vmbus_channel *chan;
	unsigned drops_logged;
	struct rndis_config cfg;
	int fd;
	int evfd;
	atomic_bool link_up;
	struct netvsp_queue *q;
	struct netvsp_stats stats;
};

/* ---- small helpers ---- */

static void fail(struct netvsp_queue *q, const char *why)
{
	vmbus_channel_fail(q->chan, why);
}

static void arm_rx(struct netvsp *n, struct netvsp_queue *q, bool on)
{
	struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.fd = n->fd};

	if (q->rx_armed == on)
		return;
	if (epoll_ctl(q->epfd, EPOLL_CTL_MOD, n->fd, &ev) == 0)
		q->rx_armed = on;
}

static int stream_copy(const struct stream *s, uint64_t off, void *buf, uint32_t len)
{
	uint8_t *out = buf;

	if (off > s->len || len > s->len - off)
		return -ERANGE;
	for (uint32_t i = 0; i < s->n && len; i++) {
		if (off >= s->iov[i].iov_len) {
			off -= s->iov[i].iov_len;
			continue;
		}
		uint64_t chunk = s->iov[i].iov_len - off;

		if (chunk > len)
			chunk = len;
		memcpy(out, (uint8_t *)s->iov[i].iov_base + off, chunk);
		out += chunk;
		len -= (uint32_t)chunk;
		off = 0;
	}
	return 0;
}

/* [off, off+len) of the stream as iovecs; the count, or -1. */
static int stream_slice(const struct stream *s, uint64_t off, uint64_t len, struct iovec *out,
			int max)
{
	int n = 0;

	if (off > s->len || len > s->len - off)
		return -1;
	for (uint32_t i = 0; i < s->n && len; i++) {
		if (off >= s->iov[i].iov_len) {
			off -= s->iov[i].iov_len;
			continue;
		}
		uint64_t chunk = s->iov[i].iov_len - off;

		if (chunk > len)
			chunk = len;
		if (n == max)
			return -1;
		out[n].iov_base = (uint8_t *)s->iov[i].iov_base + off;
		out[n].iov_len = chunk;
		n++;
		len -= chunk;
		off = 0;
	}
	return n;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Count a dropped frame; the first few are logged with the reason. */
static void drop(struct netvsp *n, struct netvsp_queue *q, uint64_t *counter, const char *why)
{
	(*counter)++;
	if (n->drops_logged < 10) {
		n->drops_logged++;
		vmbus_channel_log(q->chan, "netvsp: frame dropped: %s", why);
	}
}

/* ---- sending to the guest ---- */

static int send_comp(struct netvsp_queue *q, uint64_t tid, const struct nvsp_msg *msg)
{
	if (q->ncomps == 0) {
		int ret = vmbus_channel_send_completion(q->chan, tid, msg, sizeof(*msg));

		if (ret != -EAGAIN)
			return ret;
	}
	if (q->ncomps == q->comps_cap) {
		uint32_t cap = q->comps_cap ? q->comps_cap * 2 : 64;
		struct pending_comp *c;

		if (cap > MAX_PENDING_COMPLETIONS) {
			fail(q, "guest does not drain its ring (too many completions pending)");
			return -ENOSPC;
		}
		c = realloc(q->comps, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		q->comps = c;
		q->comps_cap = cap;
	}
	q->comps[q->ncomps].tid = tid;
	q->comps[q->ncomps].msg = *msg;
	q->ncomps++;
	return 0;
}

static void flush_comps(struct netvsp_queue *q)
{
	uint32_t i = 0;

	while (i < q->ncomps) {
		if (vmbus_channel_send_completion(q->chan, q->comps[i].tid, &q->comps[i].msg,
						  sizeof(q->comps[i].msg)) == -EAGAIN)
			break;
		i++;
	}
	memmove(q->comps, q->comps + i, (q->ncomps - i) * sizeof(*q->comps));
	q->ncomps -= i;
}

static uint32_t slot_offset(const struct netvsp_queue *q, uint32_t slot)
{
	return slot * q->sub_size;
}

/*
 * Offer m filled sub-allocations (one frame, or the pieces of one coalesced
 * frame) in one transfer-page packet; the completion frees them all.
 * 0 or -EAGAIN (ring full).
 */
static int send_xfer(struct netvsp_queue *q, const uint32_t *slots, const uint32_t *lens,
		     uint32_t m)
{
	uint32_t x[2 + 2 * RSC_MAX_PIECES];
	struct {
		uint32_t type;
		struct nvsp_rndis_pkt p;
	} __attribute__((packed))
	msg = {NVSP_MSG1_SEND_RNDIS_PKT, {NVSP_CHANNEL_DATA, NVSP_NO_SECTION, 0}};
	int ret;

	x[0] = NVSP_RECV_BUF_ID; /* pageset id; sender_owns_set and reserved 0 */
	x[1] = m;
	for (uint32_t j = 0; j < m; j++) {
		x[2 + 2 * j] = lens[j];
		x[3 + 2 * j] = slot_offset(q, slots[j]);
	}
	ret = vmbus_channel_send_raw(
	    q->chan, VMBUS_PKT_DATA_USING_XFER_PAGES, VMBUS_PKT_FLAG_COMPLETION_REQUESTED,
	    (uint64_t)q->recv_gen << 32 | (slots[0] + 1ull), x, 8 + 8 * m, &msg, sizeof(msg));
	if (ret == 0) {
		q->inflight[slots[0]] = 1;
		for (uint32_t j = 0; j < m; j++)
			q->chain[slots[j]] = j + 1 < m ? slots[j + 1] : UINT32_MAX;
	}
	return ret;
}

/* Control answers and indications go first, whenever a slot is free. */
static void flush_ctl(struct netvsp_queue *q)
{
	while (q->nctl && q->have_recv && q->nfree) {
		struct pending_ctl *c = &q->ctl[q->ctl_head];
		uint32_t slot = q->free_slots[q->nfree - 1];

		if (c->len > q->sub_size ||
		    vmbus_gpadl_view_copy(&q->recv, slot_offset(q, slot), c->data, c->len, true))
			return;
		if (send_xfer(q, &slot, &c->len, 1))
			return;
		q->nfree--;
		q->ctl_head = (q->ctl_head + 1) % MAX_PENDING_CONTROL;
		q->nctl--;
	}
}

static int queue_ctl(struct netvsp_queue *q, const uint8_t *msg, uint32_t len)
{
	struct pending_ctl *c;

	if (q->nctl == MAX_PENDING_CONTROL) {
		fail(q, "too many RNDIS control messages without receive completions");
		return -ENOSPC;
	}
	c = &q->ctl[(q->ctl_head + q->nctl) % MAX_PENDING_CONTROL];
	memcpy(c->data, msg, len);
	c->len = len;
	q->nctl++;
	flush_ctl(q);
	return 0;
}

static void report_link(struct netvsp *n, struct netvsp_queue *q)
{
	bool up = atomic_load(&n->link_up);
	uint8_t ind[RNDIS_INDICATE_LEN];

	n->cfg.link_up = up;
	if (!q->rndis.initialized || (q->link_reported_valid && q->link_reported == up))
		return;
	rndis_build_indicate(ind, up ? RNDIS_STATUS_MEDIA_CONNECT : RNDIS_STATUS_MEDIA_DISCONNECT);
	if (queue_ctl(q, ind, sizeof(ind)) == 0) {
		q->link_reported = up;
		q->link_reported_valid = true;
		n->stats.indications++;
	}
}

/* ---- host to guest frames ---- */

/*
 * Read one backend frame straight into free sub-allocations, behind room for
 * the RNDIS header. With RSC on, the backend may hand over a large (GSO)
 * frame; its pieces fill several sub-allocations and go out as one
 * coalesced frame (one transfer-page packet, one range per piece).
 */
static void rx_frames(struct netvsp *n, struct netvsp_queue *q)
{
	for (int budget = RX_BUDGET; budget; budget--) {
		struct virtio_net_hdr vh;
		uint8_t hdr[RNDIS_RX_HDR_LEN], spill;
		struct iovec *iov = q->rx_iov;
		uint32_t slots[RSC_MAX_PIECES], lens[RSC_MAX_PIECES];
		uint32_t cap, need, k, m, len, csum = 0;
		int niov = 1;
		ssize_t got;

		flush_ctl(q);
		if (q->have_recv && !q->rndis.packet_filter) {
			/* the interface is down in the guest: drain the backend */
			if (read(n->fd, q->discard, sizeof(q->discard)) < 0)
				return;
			n->stats.rx_dropped++;
			continue;
		}
		if (!q->have_recv) {
			arm_rx(n, q, false);
			return;
		}
		cap = q->sub_size - RNDIS_RX_HDR_LEN;
		need = q->rsc ? (RSC_MAX_FRAME + cap - 1) / cap : 1;
		if (need > RSC_MAX_PIECES)
			need = RSC_MAX_PIECES;
		if (need > q->sub_count)
			need = q->sub_count;
		if (q->nctl || q->nfree < need ||
		    vmbus_channel_send_space(q->chan) < 128 + 8 * need) {
			arm_rx(n, q, false);
			return;
		}
		iov[0].iov_base = &vh;
		iov[0].iov_len = VNET_HDR_LEN;
		for (k = 0; k < need; k++) {
			int r;

			slots[k] = q->free_slots[q->nfree - 1 - k];
			r = vmbus_gpadl_view_iov(&q->recv,
						 slot_offset(q, slots[k]) + RNDIS_RX_HDR_LEN, cap,
						 iov + niov, q->slot_iov);
			if (r < 0) {
				vmbus_channel_log(q->chan, "netvsp: receive sub-allocation %u: %d",
						  slots[k], r);
				fail(q, "receive buffer view");
				return;
			}
			niov += r;
		}
		iov[niov].iov_base = &spill; /* a longer frame lands here: dropped */
		iov[niov].iov_len = 1;
		got = readv(n->fd, iov, niov + 1);
		if (got < 0)
			return; /* EAGAIN: drained */
		if (got <= (ssize_t)VNET_HDR_LEN ||
		    (uint64_t)got > VNET_HDR_LEN + (uint64_t)cap * need) {
			drop(n, q, &n->stats.rx_dropped,
			     "backend frame larger than the receive space");
			continue;
		}
		len = (uint32_t)got - VNET_HDR_LEN;
		m = (len + cap - 1) / cap;
		if (vh.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
			csum = RNDIS_CSUM_RX_TCP_OK | RNDIS_CSUM_RX_UDP_OK;
		if (m > 1) /* one IPv4 header for all pieces: the guest recomputes its sum */
			csum |= RNDIS_CSUM_RX_IP_OK | RNDIS_CSUM_RX_IP_INVALID;
		for (uint32_t j = 0; j < m; j++) {
			uint32_t piece = j + 1 < m ? cap : len - j * cap;
			uint32_t rsc = m > 1 ? RNDIS_RSC_SUBALLOC | (j == 0 ? RNDIS_RSC_FIRST : 0) |
						   (j + 1 == m ? RNDIS_RSC_LAST : 0)
					     : 0;

			rndis_build_rx_hdr(hdr, piece, csum, rsc, (uint16_t)q->rx_seq);
			vmbus_gpadl_view_copy(&q->recv, slot_offset(q, slots[j]), hdr, sizeof(hdr),
					      true);
			lens[j] = RNDIS_RX_HDR_LEN + piece;
		}
		q->rx_seq++;
		if (send_xfer(q, slots, lens, m)) {
			drop(n, q, &n->stats.rx_dropped, "guest ring full");
			arm_rx(n, q, false);
			return;
		}
		q->nfree -= m;
		n->stats.rx_frames++;
		n->stats.rx_bytes += len;
	}
}

/* ---- guest to host frames ---- */

/*
 * One frame to the backend. The first bytes are copied when the headers
 * must change: a VLAN tag from the per-packet info goes into the frame, and
 * a large send gets the IPv4 total length and header checksum (IPv6 payload
 * length) hv_netvsc leaves at zero plus a TCP pseudo-header sum that covers
 * the length, as the host's segmentation expects.
 */
static void tx_frame(struct netvsp *n, struct netvsp_queue *q, const struct stream *s, uint64_t off,
		     const struct rndis_tx_info *ti)
{
	const char *why = "bad large-send headers";
	struct virtio_net_hdr vh = {0};
	uint8_t fh[FRAME_HDR_COPY + 4];
	struct iovec iov[2 + STREAM_IOV];
	uint32_t take = 0, fhlen = 0, ins = 0, l3, l4 = 0, flen = ti->data_len;
	bool v6;
	int niov;

	if (ti->has_lso || ti->has_vlan || (ti->has_csum && (ti->csum & RNDIS_CSUM_TX_IP))) {
		take = flen < FRAME_HDR_COPY ? flen : FRAME_HDR_COPY;
		if (take < 14)
			goto drop;
		if (ti->has_vlan) {
			uint32_t v = ti->vlan;
			uint16_t tci =
			    (uint16_t)((v & 7) << 13 | ((v >> 3) & 1) << 12 | ((v >> 4) & 0xfff));

			stream_copy(s, off, fh, 12);
			put_be16(fh + 12, 0x8100);
			put_be16(fh + 14, tci);
			stream_copy(s, off + 12, fh + 16, take - 12);
			ins = 4;
		} else {
			stream_copy(s, off, fh, take);
		}
		fhlen = take + ins;
		flen += ins;
	}
	l3 = 14 + ins;
	if (fhlen >= l3 && be16(fh + l3 - 2) == 0x8100)
		l3 += 4;
	if (ti->has_lso) {
		uint32_t mss = RNDIS_LSO_MSS(ti->lso), thl, sum;

		l4 = RNDIS_LSO_L4_OFFSET(ti->lso) + ins;
		v6 = ti->lso & RNDIS_LSO_IPV6;
		if (!mss || l4 + 20 > fhlen)
			goto drop;
		thl = (uint32_t)(fh[l4 + 12] >> 4) * 4;
		if (thl < 20 || l4 + thl > fhlen)
			goto drop;
		if (v6) {
			if (l3 + 40 > l4)
				goto drop;
			put_be16(fh + l3 + 4, (uint16_t)(flen - l3 - 40));
			sum = sum16(fh + l3 + 8, 32, 0) + 6 + (flen - l4);
		} else {
			uint32_t ihl = (uint32_t)(fh[l3] & 0xf) * 4;

			if (ihl < 20 || l3 + ihl > l4 || flen - l3 > 0xffff)
				goto drop;
			put_be16(fh + l3 + 2, (uint16_t)(flen - l3));
			put_be16(fh + l3 + 10, 0);
			put_be16(fh + l3 + 10, (uint16_t)~fold(sum16(fh + l3, ihl, 0)));
			sum = sum16(fh + l3 + 12, 8, 0) + 6 + (flen - l4);
		}
		put_be16(fh + l4 + 16, fold(sum));
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		vh.gso_size = (uint16_t)mss;
		vh.hdr_len = (uint16_t)(l4 + thl);
		vh.csum_start = (uint16_t)l4;
		vh.csum_offset = 16;
	} else if (ti->has_csum) {
		if (ti->csum & RNDIS_CSUM_TX_IP && fhlen >= l3 + 20 &&
		    !(ti->csum & RNDIS_CSUM_TX_IPV6)) {
			uint32_t ihl = (uint32_t)(fh[l3] & 0xf) * 4;

			if (ihl >= 20 && l3 + ihl <= fhlen) {
				put_be16(fh + l3 + 10, 0);
				put_be16(fh + l3 + 10, (uint16_t)~fold(sum16(fh + l3, ihl, 0)));
			}
		}
		if (ti->csum & (RNDIS_CSUM_TX_TCP | RNDIS_CSUM_TX_UDP)) {
			vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			vh.csum_start = (uint16_t)(RNDIS_CSUM_TX_L4_OFFSET(ti->csum) + ins);
			vh.csum_offset = ti->csum & RNDIS_CSUM_TX_TCP ? 16 : 6;
		}
	}
	iov[0].iov_base = &vh;
	iov[0].iov_len = VNET_HDR_LEN;
	niov = 1;
	if (fhlen) {
		iov[1].iov_base = fh;
		iov[1].iov_len = fhlen;
		niov = 2;
	}
	int rest = stream_slice(s, off + take, ti->data_len - take, iov + niov, STREAM_IOV);

	if (rest < 0) {
		why = "frame outside the packet";
		goto drop;
	}
	if (writev(n->fd, iov, niov + rest) < 0) {
		why = strerror(errno);
		goto drop;
	}
	n->stats.tx_frames++;
	n->stats.tx_bytes += flen;
	return;
drop:
	drop(n, q, &n->stats.tx_dropped, why);
}

/* The RNDIS messages of one SEND_RNDIS_PKT; -EINVAL when malformed (why). */
static int tx_messages(struct netvsp *n, struct netvsp_queue *q, const char **why)
{
	const struct stream *s = &q->st;
	uint64_t off = 0;

	while (s->len - off >= RNDIS_HDR_LEN) {
		uint32_t h[2], len;

		stream_copy(s, off, h, sizeof(h));
		len = h[1];
		if (len < RNDIS_HDR_LEN || len > s->len - off) {
			*why = "RNDIS message length out of the packet";
			return -EINVAL;
		}
		if (h[0] == RNDIS_MSG_PACKET) {
			uint8_t hdr[RNDIS_TX_HDR_MAX];
			uint32_t hl = len < RNDIS_TX_HDR_MAX ? len : RNDIS_TX_HDR_MAX;
			struct rndis_tx_info ti;

			stream_copy(s, off, hdr, hl);
			if (rndis_parse_packet(hdr, hl, len, &ti, why))
				return -EINVAL;
			tx_frame(n, q, s, off + ti.data_offset, &ti);
		} else {
			uint8_t resp[RNDIS_RESPONSE_MAX];
			uint32_t rlen;

			if (len > RNDIS_CONTROL_MAX) {
				*why = "RNDIS control message too long";
				return -EINVAL;
			}
			stream_copy(s, off, q->ctlbuf, len);
			n->cfg.nvsp_version = q->nvsp_version;
			if (rndis_control(&q->rndis, &n->cfg, q->ctlbuf, len, resp, &rlen, why))
				return -EINVAL;
			n->stats.control_msgs++;
			if (rlen && queue_ctl(q, resp, rlen))
				return 0; /* failed already */
			if (h[0] == RNDIS_MSG_INIT) {
				q->link_reported = n->cfg.link_up;
				q->link_reported_valid = true;
			}
		}
		off += len;
	}
	return 0;
}

static void on_rndis_pkt(struct netvsp *n, struct netvsp_queue *q, const struct vmbus_packet *pkt,
			 const struct nvsp_msg *m)
{
	const struct nvsp_rndis_pkt *r = &m->rndis_pkt;
	struct nvsp_msg c = {.type = NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE};
	const char *why = NULL;
	struct stream *s = &q->st;
	int k;

	s->n = 0;
	s->len = 0;
	if (r->section_index != NVSP_NO_SECTION) {
		if (!q->have_send || r->section_index >= q->send_count ||
		    r->section_size > q->send_size) {
			fail(q, "SEND_RNDIS_PKT: send-buffer section index or size out of range");
			return;
		}
		k = vmbus_gpadl_view_iov(&q->send, (uint64_t)r->section_index * q->send_size,
					 r->section_size, s->iov, SECTION_IOV);
		if (k < 0) {
			fail(q, "SEND_RNDIS_PKT: section outside the send buffer");
			return;
		}
		s->n = (uint32_t)k;
		s->len = r->section_size;
	}
	if (pkt->type == VMBUS_PKT_DATA_USING_GPA_DIRECT) {
		k = vmbus_packet_gpa_direct(q->chan, pkt, &q->gd, &why);
		if (k) {
			fail(q, why ? why : "SEND_RNDIS_PKT: GPA-direct ranges");
			return;
		}
		memcpy(s->iov + s->n, q->gd.iov, q->gd.niov * sizeof(struct iovec));
		s->n += q->gd.niov;
		s->len += q->gd.bytes;
	}
	if (tx_messages(n, q, &why)) {
		fail(q, why);
		return;
	}
	c.rndis_pkt_complete.status = NVSP_STATUS_SUCCESS;
	if (vmbus_channel_is_open(q->chan))
		send_comp(q, pkt->trans_id, &c);
}

/* ---- NVSP control ---- */

/* Large frames from the TAP only when the guest takes coalesced frames. */
static void set_backend_offload(struct netvsp *n, bool tso)
{
	unsigned long f = TUN_F_CSUM | (tso ? TUN_F_TSO4 | TUN_F_TSO6 : 0);

	if (ioctl(n->fd, TUNSETOFFLOAD, f)) {
		/* not a TAP (tests): it sends what it sends */
	}
}

static void drop_recv(struct netvsp_queue *q)
{
	if (q->have_recv)
		vmbus_gpadl_view_put(q->chan, &q->recv);
	q->have_recv = false;
	free(q->free_slots);
	free(q->inflight);
	free(q->chain);
	free(q->rx_iov);
	q->rx_iov = NULL;
	q->free_slots = NULL;
	q->inflight = NULL;
	q->chain = NULL;
	q->nfree = q->sub_count = 0;
}

static void drop_send(struct netvsp_queue *q)
{
	if (q->have_send)
		vmbus_gpadl_view_put(q->chan, &q->send);
	q->have_send = false;
	q->send_count = 0;
}

static uint32_t setup_recv(struct netvsp *n, struct netvsp_queue *q, uint32_t gpadl)
{
	/*
	 * One frame (with a VLAN tag) and its RNDIS header per sub-allocation,
	 * sized for the guest's MTU (SEND_NDIS_CONFIG; a change of MTU brings a
	 * new receive buffer), or for the largest MTU offered without it.
	 */
	uint32_t frame = q->ndis_mtu ? q->ndis_mtu : n->cfg.mtu + 14;

	if (frame < 1514)
		frame = 1514;
	if (q->have_recv || vmbus_gpadl_view_get(q->chan, gpadl, &q->recv))
		return NVSP_STATUS_FAILURE;
	q->have_recv = true;
	q->recv_gen++;
	q->sub_size = (RNDIS_RX_HDR_LEN + frame + 4 + 63) & ~63u;
	q->sub_count = q->recv.bytes / q->sub_size;
	if (q->sub_count < 2) {
		drop_recv(q);
		return NVSP_STATUS_FAILURE;
	}
	q->free_slots = malloc(q->sub_count * sizeof(uint32_t));
	q->inflight = calloc(q->sub_count, 1);
	q->chain = malloc(q->sub_count * sizeof(uint32_t));
	q->slot_iov = q->sub_size / 4096 + 2;
	q->rx_iov = malloc((2 + (size_t)RSC_MAX_PIECES * q->slot_iov) * sizeof(struct iovec));
	if (!q->free_slots || !q->inflight || !q->chain || !q->rx_iov) {
		drop_recv(q);
		return NVSP_STATUS_FAILURE;
	}
	for (uint32_t i = 0; i < q->sub_count; i++) {
		q->free_slots[i] = q->sub_count - 1 - i;
		q->chain[i] = UINT32_MAX;
	}
	q->nfree = q->sub_count;
	n->stats.recv_sub_alloc_size = q->sub_size;
	n->stats.recv_sub_allocs = q->sub_count;
	return NVSP_STATUS_SUCCESS;
}

static uint32_t setup_send(struct netvsp *n, struct netvsp_queue *q, uint32_t gpadl)
{
	if (q->have_send || vmbus_gpadl_view_get(q->chan, gpadl, &q->send))
		return NVSP_STATUS_FAILURE;
	q->have_send = true;
	q->send_size = SEND_SECTION_SIZE;
	q->send_count = q->send.bytes / SEND_SECTION_SIZE;
	if (!q->send_count) {
		drop_send(q);
		return NVSP_STATUS_FAILURE;
	}
	n->stats.send_section_size = q->send_size;
	n->stats.send_sections = q->send_count;
	return NVSP_STATUS_SUCCESS;
}

static void on_nvsp(struct netvsp *n, struct netvsp_queue *q, const struct vmbus_packet *pkt)
{
	struct nvsp_msg m, c = {0};
	bool want_comp = pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED;

	const char *why = NULL;

	if (nvsp_parse(pkt->data, pkt->len, &m, &why)) {
		fail(q, why);
		return;
	}
	switch (m.type) {
	case NVSP_MSG_INIT: {
		static const uint32_t known[] = {NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5,
						 NVSP_VERSION_4,  NVSP_VERSION_2, NVSP_VERSION_1};

		c.type = NVSP_MSG_INIT_COMPLETE;
		c.init_complete.status = NVSP_STATUS_FAILURE;
		for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (known[i] < m.init.min_version || known[i] > m.init.max_version)
				continue;
			q->nvsp_version = known[i];
			n->stats.nvsp_version = known[i];
			c.init_complete.version = known[i];
			c.init_complete.max_mdl_chain_len = 34;
			c.init_complete.status = NVSP_STATUS_SUCCESS;
			break;
		}
		send_comp(q, pkt->trans_id, &c);
		return;
	}
	case NVSP_MSG1_SEND_NDIS_VERSION:
		break;
	case NVSP_MSG2_SEND_NDIS_CONFIG:
		q->ndis_mtu = m.ndis_config.mtu;
		q->rsc = q->nvsp_version >= NVSP_VERSION_61 &&
			 (m.ndis_config.capabilities & NDIS_CONFIG_CAP_RSC);
		if (q->ndis_mtu > 65535 + 14)
			q->ndis_mtu = 65535 + 14;
		break;
	case NVSP_MSG1_SEND_RECV_BUF:
		c.type = NVSP_MSG1_SEND_RECV_BUF_COMPLETE;
		c.recv_buf_complete.status = m.send_buffer.id == NVSP_RECV_BUF_ID
						 ? setup_recv(n, q, m.send_buffer.gpadl)
						 : NVSP_STATUS_FAILURE;
		if (c.recv_buf_complete.status == NVSP_STATUS_SUCCESS) {
			c.recv_buf_complete.num_sections = 1;
			c.recv_buf_complete.section.offset = 0;
			c.recv_buf_complete.section.sub_alloc_size = q->sub_size;
			c.recv_buf_complete.section.num_sub_allocs = q->sub_count;
			c.recv_buf_complete.section.end_offset = q->sub_size * q->sub_count;
			set_backend_offload(n, q->rsc);
			arm_rx(n, q, true);
		}
		send_comp(q, pkt->trans_id, &c);
		return;
	case NVSP_MSG1_SEND_SEND_BUF:
		c.type = NVSP_MSG1_SEND_SEND_BUF_COMPLETE;
		c.send_buf_complete.status = setup_send(n, q, m.send_buffer.gpadl);
		c.send_buf_complete.section_size =
		    c.send_buf_complete.status == NVSP_STATUS_SUCCESS ? q->send_size : 0;
		vmbus_channel_log(q->chan,
				  "netvsp: NVSP %#x, NDIS MTU %u, receive buffer %u x %u B, send "
				  "buffer %u x %u B",
				  q->nvsp_version, q->ndis_mtu, q->sub_count, q->sub_size,
				  q->send_count, q->send_size);
		send_comp(q, pkt->trans_id, &c);
		return;
	case NVSP_MSG1_REVOKE_RECV_BUF:
		arm_rx(n, q, false);
		drop_recv(q);
		q->nctl = q->ctl_head = 0;
		break;
	case NVSP_MSG1_REVOKE_SEND_BUF:
		drop_send(q);
		break;
	case NVSP_MSG1_SEND_RNDIS_PKT:
		on_rndis_pkt(n, q, pkt, &m);
		return;
	case NVSP_MSG5_SUBCHANNEL:
		c.type = NVSP_MSG5_SUBCHANNEL;
		c.subchannel.op = NVSP_STATUS_FAILURE; /* no vRSS yet */
		c.subchannel.count = 0;
		send_comp(q, pkt->trans_id, &c);
		return;
	default:
		break; /* ignored: VF association, data path switch, ... */
	}
	if (want_comp)
		vmbus_channel_send_completion(q->chan, pkt->trans_id, NULL, 0);
}

static void on_completion(struct netvsp *n, struct netvsp_queue *q, const struct vmbus_packet *pkt)
{
	uint64_t slot = (uint32_t)pkt->trans_id - 1ull;

	/* A late completion for a revoked receive buffer is harmless. */
	if (!q->have_recv || pkt->trans_id >> 32 != q->recv_gen)
		return;
	if ((uint32_t)pkt->trans_id == 0 || slot >= q->sub_count || !q->inflight[slot]) {
		fail(q, "completion for a receive packet that is not outstanding");
		return;
	}
	q->inflight[slot] = 0;
	for (uint32_t sl = (uint32_t)slot, k = 0; sl != UINT32_MAX && k < RSC_MAX_PIECES; k++) {
		uint32_t next = q->chain[sl];

		q->chain[sl] = UINT32_MAX;
		q->free_slots[q->nfree++] = sl;
		sl = next;
	}
	flush_ctl(q);
	arm_rx(n, q, true);
}

/* ---- channel callbacks ---- */

static void on_packet(struct vmbus_channel *chan, const struct vmbus_packet *pkt, void *ctx)
{
	struct netvsp *n = ctx;
	struct netvsp_queue *q = n->q;

	(void)chan;
	switch (pkt->type) {
	case VMBUS_PKT_DATA_INBAND:
	case VMBUS_PKT_DATA_USING_GPA_DIRECT:
		on_nvsp(n, q, pkt);
		break;
	case VMBUS_PKT_COMP:
		on_completion(n, q, pkt);
		break;
	default:
		fail(q, "unexpected VMBus packet type on the network channel");
		break;
	}
}

static void on_writable(struct vmbus_channel *chan, void *ctx)
{
	struct netvsp *n = ctx;

	(void)chan;
	flush_comps(n->q);
	flush_ctl(n->q);
	arm_rx(n, n->q, true);
}

static void on_poll(struct vmbus_channel *chan, void *ctx)
{
	struct netvsp *n = ctx;
	struct netvsp_queue *q = n->q;
	struct epoll_event ev[2];
	int k = epoll_wait(q->epfd, ev, 2, 0);

	(void)chan;
	for (int i = 0; i < k; i++) {
		if (ev[i].data.fd == n->evfd) {
			uint64_t v;

			if (read(n->evfd, &v, sizeof(v)) < 0) {
				/* nothing pending */
			}
			report_link(n, q);
		}
	}
	if (q->rx_armed)
		rx_frames(n, q);
}

static void on_drain(struct vmbus_channel *chan, void *ctx)
{
	(void)chan;
	(void)ctx; /* every I/O is synchronous */
}

static int on_open(struct vmbus_channel *chan, void *ctx)
{
	struct netvsp *n = ctx;
	struct netvsp_queue *q = calloc(1, sizeof(*q));
	struct epoll_event ev = {.events = EPOLLIN};

	if (!q)
		return -ENOMEM;
	q->chan = chan;
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (q->epfd < 0)
		goto fail;
	ev.data.fd = n->evfd;
	if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, n->evfd, &ev))
		goto fail;
	ev.events = 0;
	ev.data.fd = n->fd;
	if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, n->fd, &ev))
		goto fail;
	if (vmbus_channel_set_poll_fd(chan, q->epfd))
		goto fail;
	rndis_state_reset(&q->rndis);
	n->q = q;
	return 0;
fail:
	if (q->epfd >= 0)
		close(q->epfd);
	free(q);
	return -EIO;
}

static void on_close(struct vmbus_channel *chan, void *ctx)
{
	struct netvsp *n = ctx;
	struct netvsp_queue *q = n->q;

	if (!q)
		return;
	vmbus_channel_log(
	    chan,
	    "netvsp: closed: NVSP %#x, to host %llu frames %llu bytes %llu dropped, "
	    "to guest %llu frames %llu bytes %llu dropped, %llu control messages",
	    q->nvsp_version, (unsigned long long)n->stats.tx_frames,
	    (unsigned long long)n->stats.tx_bytes, (unsigned long long)n->stats.tx_dropped,
	    (unsigned long long)n->stats.rx_frames, (unsigned long long)n->stats.rx_bytes,
	    (unsigned long long)n->stats.rx_dropped, (unsigned long long)n->stats.control_msgs);
	drop_recv(q);
	drop_send(q);
	set_backend_offload(n, false);
	close(q->epfd);
	free(q->comps);
	free(q);
	n->q = NULL;
}

static void on_released(struct vmbus_channel *chan, void *ctx)
{
	struct netvsp *n = ctx;

	(void)chan;
	n->chan = NULL;
}

static const struct vmbus_vsp_ops ops = {
    .open = on_open,
    .packet = on_packet,
    .writable = on_writable,
    .close = on_close,
    .released = on_released,
    .poll = on_poll,
    .drain = on_drain,
};

int netvsp_create(const struct netvsp_params *p, struct netvsp **out)
{
	struct netvsp *n = calloc(1, sizeof(*n));
	struct vmbus_offer_params op = {
	    .if_type = NET_CLASS,
	    .if_instance = p->instance,
	    .max_packet_size = 64 * 1024,
	    .data_thread = true,
	    .ops = &ops,
	};
	int ret;

	*out = NULL;
	if (!n)
		return -ENOMEM;
	n->fd = p->fd;
	memcpy(n->cfg.mac, p->mac, 6);
	/* Offer jumbo frames: the guest starts at 1500 and may go up to this. */
	n->cfg.mtu = p->mtu > NETVSP_MAX_MTU ? p->mtu : NETVSP_MAX_MTU;
	n->cfg.link_speed = p->link_speed ? p->link_speed : 100000000; /* 10 Gbit/s */
	n->cfg.link_up = p->link_up;
	atomic_store(&n->link_up, p->link_up);
	n->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (n->evfd < 0) {
		free(n);
		return -errno;
	}
	op.ctx = n;
	ret = vmbus_offer(p->server, &op, &n->chan);
	if (ret) {
		close(n->evfd);
		free(n);
		return ret;
	}
	*out = n;
	return 0;
}

void netvsp_destroy(struct netvsp *n)
{
	if (!n)
		return;
	if (n->chan)
		vmbus_channel_remove(n->chan);
	close(n->evfd);
	free(n);
}

void netvsp_set_link(struct netvsp *n, bool up)
{
	uint64_t one = 1;

	atomic_store(&n->link_up, up);
	if (write(n->evfd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: a wakeup is pending anyway */
	}
}

void netvsp_get_stats(struct netvsp *n, struct netvsp_stats *out)
{
	*out = n->stats;
}

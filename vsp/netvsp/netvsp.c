// SPDX-License-Identifier: MIT
/*
 * The network VSP (see netvsp.h). Everything after an open runs on that
 * channel's data thread: guest packets (NVSP messages, guest-to-host frames,
 * completions of our receive packets) and the poll callback, which watches
 * an epoll set holding the channel's backend queue, a wake-up eventfd and
 * (primary) an eventfd for carrier changes. While no receive sub-allocation
 * or ring space is free the backend fd is taken out of that set, so nothing
 * spins; completions, "writable" and wake-ups put it back.
 *
 * Several channels share one device: the receive and send buffers (GPADLs
 * of the primary, set up and revoked on its thread) under buf_lock, taken
 * for reading by every data thread around its use of them and for writing
 * to change them; the receive sub-allocations in one pool under pool_lock
 * (a frame read on any channel may be sent on any other); the guest's RSS
 * parameters, published by the primary under rss_lock. A frame whose RSS
 * hash names another channel is handed to that channel's thread through
 * its handoff ring (only a channel's own thread sends on it).
 * Lock order: buf_lock, then a channel's lock, then pool_lock.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <pthread.h>
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
#include "rsc.h"
#include "rss.h"

#define NET_CLASS                                                                                  \
	VMBUS_GUID_INIT(0xf8615163, 0xdf3e, 0x46c5, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e)

#define SEND_SECTION_SIZE 6144
#define NETVSP_MAX_MTU 9000
#define RSC_MAX_FRAME (65535 + 14 + 4) /* a GSO frame from the backend */
_Static_assert(NETVSP_BACKEND_FRAME_MAX == RSC_FRAME_MAX, "one limit for both");
#define RSC_MAX_PIECES 48	       /* sub-allocations per coalesced frame */
#define NDIS_CONFIG_CAP_RSC (1ull << 7)
#define RX_BUDGET 64
#define RECV_SUB_TARGET 16384	/* receive sub-allocation size when the buffer is large enough */
#define RECV_SUB_MIN_COUNT 1024 /* sub-allocations at least, else smaller ones (one frame each) */
#define XFER_MAX_RANGES 128	/* ranges in one transfer-page packet: several frames */
#define RX_HOLD_PACKETS 2	/* receive packets the guest has not completed while frames wait */
#define RX_IOV_MAX 1024		/* vnet header, the pieces of up to RSC_MAX_PIECES slots, spill */
#define MAX_PENDING_COMPLETIONS 65536
#define MAX_PENDING_CONTROL 64
#define HANDOFF_CAP 1024
#define HASH_PEEK 128 /* frame bytes the RSS hash and the coalescing look at */
_Static_assert(HASH_PEEK >= RSC_HDR_PEEK, "the coalescing needs its headers");
#define SECTION_IOV 8
#define STREAM_IOV (SECTION_IOV + VMBUS_GPA_DIRECT_MAX_PAGES)
#define FRAME_HDR_COPY 192
#define TX_COPY_MIN (16 * 1024)	 /* a large GPA-direct send is copied so it completes early, */
#define TX_COPY_MAX (160 * 1024) /* up to this much */
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

/* A received frame for another channel: its sub-allocations, chained. */
struct handoff {
	uint32_t gen, first, m, last_len;
};

/*
 * One transfer-page packet being built: the ranges of one or more frames
 * (a coalesced frame takes one range per piece), their sub-allocations
 * chained from first to last, so that the guest's one completion frees them.
 */
struct xfer {
	uint32_t x[2 + 2 * XFER_MAX_RANGES]; /* pageset id, range count, ranges */
	uint32_t ranges, first, last, frames, gen;
	uint64_t bytes;
};

/* Per-open state of one channel (its data thread only). */
struct netvsp_queue {
	struct vmbus_channel *chan;
	int epfd;
	bool rx_armed;				 /* backend fd in the epoll set */
	bool link_reported, link_reported_valid; /* primary */
	uint32_t rx_seq;
	struct rss_params rss; /* this thread's copy of the guest's parameters */
	unsigned rss_gen;

	struct pending_comp *comps;
	uint32_t ncomps, comps_cap;
	struct pending_ctl ctl[MAX_PENDING_CONTROL]; /* primary */
	uint32_t ctl_head, nctl;

	struct iovec rx_iov[RX_IOV_MAX];
	struct xfer batch; /* frames rx_frames read and has not sent yet */
	/* The batch's last frame, while later segments may still join it (rsc.h). */
	bool rsc_open;
	uint32_t out_pkts, out_gen; /* receive packets sent and not completed yet */
	struct rsc_seg rsc_head;
	uint32_t rsc_payload, rsc_first, rsc_last, rsc_pieces, rsc_csum;
	uint16_t rsc_id;
	struct vmbus_gpa_direct gd;
	struct stream st;
	uint8_t ctlbuf[RNDIS_CONTROL_MAX];
	uint8_t discard[65536 + 64];
	uint8_t txcopy[TX_COPY_MAX];
};

struct netvsp;

/* One channel index (0: the primary), for the life of the netvsp. */
struct netvsp_chan {
	struct netvsp *n;
	uint16_t index;
	int fd;	  /* backend queue */
	int wake; /* eventfd: a handoff was queued, or sub-allocations were freed */
	struct vmbus_channel *chan; /* offered; event loop only */
	struct netvsp_queue *q;	    /* while open */
	struct netvsp_stats stats;  /* its thread's counters */

	pthread_mutex_t lock;  /* the handoff ring; accepting changes under it */
	atomic_bool accepting; /* open: handoffs may be queued */
	struct handoff ring[HANDOFF_CAP];
	uint32_t head, count;
};

struct netvsp {
	struct rndis_config cfg;  /* primary thread */
	struct rndis_state rndis; /* primary thread */
	int evfd;
	atomic_bool link_up;
	atomic_uint drops_logged;
	unsigned nqueues;
	atomic_uint nchan;	   /* 1 + sub-channels granted */
	atomic_uint sub_requested; /* for the deferred offer */
	atomic_uint packet_filter;
	struct netvsp_chan ch[NETVSP_MAX_QUEUES];

	/* The buffers: changed on the primary's thread under the write lock. */
	pthread_rwlock_t buf_lock;
	uint32_t nvsp_version, ndis_mtu;
	bool rsc; /* coalesced frames: NVSP 6.1 and the guest asked for RSC */
	struct vmbus_gpadl_view recv, send;
	struct vmbus_channel *views_on; /* the channel the views were taken on */
	bool have_recv, have_send;
	uint32_t sub_size, sub_count, send_size, send_count, slot_iov;
	uint32_t
	    recv_gen; /* in every receive trans_id: completions for an old buffer are dropped */

	/* Receive sub-allocations: free list, who owns an offered packet, chains. */
	pthread_mutex_t pool_lock;
	uint32_t *free_slots, nfree;
	uint8_t *owner;	  /* channel index + 1 at the first slot of an offered packet */
	uint32_t *chain;  /* the next piece of the same transfer, or UINT32_MAX */
	unsigned starved; /* channels waiting for free sub-allocations (bits) */

	pthread_mutex_t rss_lock;
	struct rss_params rss;
	atomic_uint rss_gen;
};

/* ---- small helpers ---- */

static void fail(struct netvsp_queue *q, const char *why)
{
	vmbus_channel_fail(q->chan, why);
}

static void arm_rx(struct netvsp_chan *c, struct netvsp_queue *q, bool on)
{
	struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.fd = c->fd};

	if (q->rx_armed == on)
		return;
	if (epoll_ctl(q->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		q->rx_armed = on;
}

static void wake(struct netvsp_chan *c)
{
	uint64_t one = 1;

	if (write(c->wake, &one, sizeof(one)) < 0) {
		/* saturated: a wake-up is pending anyway */
	}
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
static void drop(struct netvsp_chan *c, uint64_t *counter, const char *why)
{
	(*counter)++;
	if (atomic_fetch_add(&c->n->drops_logged, 1) < 10 && c->q)
		vmbus_channel_log(c->q->chan, "netvsp: frame dropped: %s", why);
}

/* ---- the receive sub-allocation pool (buf_lock held) ---- */

static uint32_t slot_offset(const struct netvsp *n, uint32_t slot)
{
	return slot * n->sub_size;
}

/* Take k free sub-allocations, or none (then the channel waits for a wake-up). */
static bool pool_take(struct netvsp *n, unsigned index, uint32_t k, uint32_t *slots)
{
	bool ok;

	pthread_mutex_lock(&n->pool_lock);
	ok = n->nfree >= k;
	if (ok) {
		for (uint32_t j = 0; j < k; j++)
			slots[j] = n->free_slots[--n->nfree];
	} else {
		n->starved |= 1u << index;
	}
	pthread_mutex_unlock(&n->pool_lock);
	return ok;
}

/* Wake the channels that waited for sub-allocations (pool_lock not held). */
static void wake_starved(struct netvsp *n, unsigned starved, unsigned self)
{
	for (unsigned i = 0; i < n->nqueues; i++)
		if (starved & (1u << i) && i != self)
			wake(&n->ch[i]);
}

static unsigned pool_give_locked(struct netvsp *n, const uint32_t *slots, uint32_t k)
{
	unsigned s;

	for (uint32_t j = 0; j < k; j++) {
		n->chain[slots[j]] = UINT32_MAX;
		n->free_slots[n->nfree++] = slots[j];
	}
	s = n->starved;
	n->starved = 0;
	return s;
}

static void pool_give(struct netvsp *n, unsigned self, const uint32_t *slots, uint32_t k)
{
	unsigned s;

	if (!k)
		return;
	pthread_mutex_lock(&n->pool_lock);
	s = pool_give_locked(n, slots, k);
	pthread_mutex_unlock(&n->pool_lock);
	wake_starved(n, s, self);
}

/* Free a packet's chain of sub-allocations (pool_lock held); the starved mask. */
static unsigned free_chain_locked(struct netvsp *n, uint32_t first)
{
	unsigned s = 0;

	n->owner[first] = 0;
	for (uint32_t sl = first, k = 0; sl != UINT32_MAX && k < XFER_MAX_RANGES; k++) {
		uint32_t next = n->chain[sl];

		s |= pool_give_locked(n, &sl, 1);
		sl = next;
	}
	return s;
}

static void free_chain(struct netvsp *n, unsigned self, uint32_t first)
{
	unsigned s;

	pthread_mutex_lock(&n->pool_lock);
	s = free_chain_locked(n, first);
	pthread_mutex_unlock(&n->pool_lock);
	wake_starved(n, s, self);
}

/* ---- sending to the guest ---- */

/*
 * A completion goes out now, or behind the ones already waiting (in order);
 * those go with "writable", which the ring reports once the guest has read.
 */
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

/*
 * Append a frame of m filled sub-allocations chained from first (ranges of
 * first_len bytes for the first, sub_size for the others, last_len for the
 * last) to x. The caller leaves room: x->ranges + m <= XFER_MAX_RANGES.
 */
static void xfer_add(struct netvsp *n, struct xfer *x, uint32_t first, uint32_t m,
		     uint32_t first_len, uint32_t last_len, uint64_t bytes)
{
	uint32_t sl = first, last = first;

	for (uint32_t j = 0; j < m; j++, x->ranges++) {
		x->x[2 + 2 * x->ranges] = j + 1 == m ? last_len : j ? n->sub_size : first_len;
		x->x[3 + 2 * x->ranges] = slot_offset(n, sl);
		last = sl;
		sl = n->chain[sl];
	}
	if (x->frames) {
		n->chain[x->last] = first;
	} else {
		x->first = first;
		x->gen = n->recv_gen;
	}
	x->last = last;
	x->frames++;
	x->bytes += bytes;
}

/*
 * Offer x's frames in one transfer-page packet on c; the completion frees
 * every sub-allocation of the chain. 0 or -EAGAIN (ring full): then the
 * chain is still the caller's. buf_lock held.
 */
static int send_xfer(struct netvsp *n, struct netvsp_chan *c, struct xfer *x)
{
	struct {
		uint32_t type;
		struct nvsp_rndis_pkt p;
	} __attribute__((packed))
	msg = {NVSP_MSG1_SEND_RNDIS_PKT, {NVSP_CHANNEL_DATA, NVSP_NO_SECTION, 0}};
	int ret;

	x->x[0] = NVSP_RECV_BUF_ID; /* pageset id; sender_owns_set and reserved 0 */
	x->x[1] = x->ranges;
	ret = vmbus_channel_send_raw(c->q->chan, VMBUS_PKT_DATA_USING_XFER_PAGES,
				     VMBUS_PKT_FLAG_COMPLETION_REQUESTED,
				     (uint64_t)n->recv_gen << 32 | (x->first + 1ull), x->x,
				     8 + 8 * x->ranges, &msg, sizeof(msg));
	if (ret == 0) {
		pthread_mutex_lock(&n->pool_lock);
		n->owner[x->first] = (uint8_t)(c->index + 1);
		pthread_mutex_unlock(&n->pool_lock);
		if (c->q->out_gen != n->recv_gen) {
			c->q->out_gen = n->recv_gen;
			c->q->out_pkts = 0;
		}
		c->q->out_pkts++;
		c->stats.rx_packets++;
	}
	return ret;
}

/* A batch gathered for a receive buffer that is gone (its slots went with it). */
static bool batch_stale(const struct netvsp *n, const struct xfer *x)
{
	return x->gen != n->recv_gen || !n->have_recv;
}

/* Send the frames rx_frames gathered; a full ring drops them. buf_lock held. */
static int flush_batch(struct netvsp *n, struct netvsp_chan *c, struct netvsp_queue *q)
{
	struct xfer *x = &q->batch;
	int ret = 0;

	if (!x->frames)
		return 0;
	if (batch_stale(n, x))
		goto out; /* held across a change of receive buffer */
	ret = send_xfer(n, c, x);
	if (ret == 0) {
		c->stats.rx_frames += x->frames;
		c->stats.rx_bytes += x->bytes;
	} else {
		free_chain(n, c->index, x->first);
		c->stats.rx_dropped += x->frames - 1;
		drop(c, &c->stats.rx_dropped, "guest ring full");
	}
out:
	x->ranges = x->frames = 0;
	x->bytes = 0;
	q->rsc_open = false; /* a coalesced frame never spans two packets */
	return ret;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * The RNDIS headers of a frame of len bytes read into slots (m pieces: the
 * first of first bytes, the others of cap bytes, the last shorter), chained.
 * A frame of its own is marked as an RSC frame when it has several pieces; a
 * segment that joins the frame before it (skip: its header bytes) is all
 * continuation pieces, its first one skipping its headers. buf_lock held.
 */
static void write_pieces(struct netvsp *n, const uint32_t *slots, uint32_t m, uint32_t len,
			 uint32_t first, uint32_t cap, uint32_t csum, uint32_t skip, uint16_t id,
			 bool hashed, uint32_t hash)
{
	uint8_t hdr[RNDIS_RX_HDR_LEN];
	uint32_t at = 0;

	for (uint32_t j = 0; j < m; j++) {
		uint32_t piece = j + 1 == m ? len - at : j ? cap : first;
		uint32_t rsc = RNDIS_RSC_SUBALLOC | (j == 0 && !skip ? RNDIS_RSC_FIRST : 0) |
			       (j + 1 == m ? RNDIS_RSC_LAST : 0);

		rndis_build_rx_hdr(hdr, piece, csum, m > 1 || skip ? rsc : 0, id, hashed, hash);
		if (j == 0 && skip)
			rndis_rx_hdr_skip(hdr, skip);
		vmbus_gpadl_view_copy(&n->recv, slot_offset(n, slots[j]), hdr, sizeof(hdr), true);
		n->chain[slots[j]] = j + 1 < m ? slots[j + 1] : UINT32_MAX;
		at += piece;
	}
}

/*
 * Append the segment just read into slots (m pieces, len bytes) to the
 * batch's last frame, which becomes or stays a coalesced frame: the head's
 * first piece gets the RSC flags and "recompute the IPv4 checksum", its last
 * piece loses the last flag, the segment's pieces follow without its headers,
 * and the head's IPv4 total length (and PSH) covers them. buf_lock held.
 */
static void rsc_append(struct netvsp *n, struct netvsp_queue *q, const uint32_t *slots, uint32_t m,
		       uint32_t len, uint32_t cap, const struct rsc_seg *seg, bool hashed,
		       uint32_t hash)
{
	uint8_t b[4];
	uint32_t csum = q->rsc_csum | RNDIS_CSUM_RX_IP_OK | RNDIS_CSUM_RX_IP_INVALID;
	uint64_t head = slot_offset(n, q->rsc_first);

	if (q->rsc_pieces == 1) {
		b[0] = RNDIS_RSC_SUBALLOC | RNDIS_RSC_FIRST;
		vmbus_gpadl_view_copy(&n->recv, head + RNDIS_RX_HDR_RSC_FLAGS, b, 1, true);
		put_le32(b, csum);
		vmbus_gpadl_view_copy(&n->recv, head + RNDIS_RX_HDR_CSUM, b, 4, true);
	} else {
		b[0] = RNDIS_RSC_SUBALLOC;
		vmbus_gpadl_view_copy(
		    &n->recv, slot_offset(n, q->rsc_last) + RNDIS_RX_HDR_RSC_FLAGS, b, 1, true);
	}
	write_pieces(n, slots, m, len, cap, cap, csum, seg->hdr_len, q->rsc_id, hashed, hash);
	q->rsc_payload += seg->payload;
	q->rsc_pieces += m;
	q->rsc_last = slots[m - 1];
	put_be16(b, (uint16_t)(20 + q->rsc_head.thl + q->rsc_payload));
	vmbus_gpadl_view_copy(&n->recv, head + RNDIS_RX_HDR_LEN + 16, b, 2, true);
	if (seg->tcp_flags & 0x08) { /* PSH: the coalesced frame ends here */
		q->rsc_head.tcp_flags |= 0x08;
		b[0] = q->rsc_head.tcp_flags;
		vmbus_gpadl_view_copy(&n->recv, head + RNDIS_RX_HDR_LEN + 34 + 13, b, 1, true);
	}
}

/* Control answers and indications go first, whenever a slot is free (primary). */
static void flush_ctl(struct netvsp *n, struct netvsp_chan *c, struct netvsp_queue *q)
{
	while (q->nctl && n->have_recv) {
		struct pending_ctl *p = &q->ctl[q->ctl_head];
		struct xfer x = {.ranges = 0, .frames = 0, .bytes = 0};
		uint32_t slot;

		if (p->len > n->sub_size || !pool_take(n, c->index, 1, &slot))
			return;
		n->chain[slot] = UINT32_MAX;
		xfer_add(n, &x, slot, 1, p->len, p->len, 0);
		if (vmbus_gpadl_view_copy(&n->recv, slot_offset(n, slot), p->data, p->len, true) ||
		    send_xfer(n, c, &x)) {
			pool_give(n, c->index, &slot, 1);
			return;
		}
		q->ctl_head = (q->ctl_head + 1) % MAX_PENDING_CONTROL;
		q->nctl--;
	}
}

static int queue_ctl(struct netvsp *n, struct netvsp_chan *c, struct netvsp_queue *q,
		     const uint8_t *msg, uint32_t len)
{
	struct pending_ctl *p;

	if (q->nctl == MAX_PENDING_CONTROL) {
		fail(q, "too many RNDIS control messages without receive completions");
		return -ENOSPC;
	}
	p = &q->ctl[(q->ctl_head + q->nctl) % MAX_PENDING_CONTROL];
	memcpy(p->data, msg, len);
	p->len = len;
	q->nctl++;
	flush_ctl(n, c, q);
	return 0;
}

static void report_link(struct netvsp *n, struct netvsp_chan *c, struct netvsp_queue *q)
{
	bool up = atomic_load(&n->link_up);
	uint8_t ind[RNDIS_INDICATE_LEN];

	n->cfg.link_up = up;
	if (!n->rndis.initialized || (q->link_reported_valid && q->link_reported == up))
		return;
	rndis_build_indicate(ind, up ? RNDIS_STATUS_MEDIA_CONNECT : RNDIS_STATUS_MEDIA_DISCONNECT);
	if (queue_ctl(n, c, q, ind, sizeof(ind)) == 0) {
		q->link_reported = up;
		q->link_reported_valid = true;
		c->stats.indications++;
	}
}

/* ---- vRSS ---- */

/* Publish the guest's parameters to every channel (primary thread). */
static void publish_rss(struct netvsp *n, const struct rss_params *r)
{
	pthread_mutex_lock(&n->rss_lock);
	n->rss = *r;
	pthread_mutex_unlock(&n->rss_lock);
	atomic_fetch_add(&n->rss_gen, 1);
}

static void refresh_rss(struct netvsp *n, struct netvsp_queue *q)
{
	unsigned gen = atomic_load(&n->rss_gen);

	if (gen == q->rss_gen)
		return;
	pthread_mutex_lock(&n->rss_lock);
	q->rss = n->rss;
	pthread_mutex_unlock(&n->rss_lock);
	q->rss_gen = gen;
}

/* Queue a frame for channel t's thread: 0, -ENOTCONN (t not open), -EAGAIN (full). */
static int handoff(struct netvsp_chan *t, const struct handoff *h)
{
	int ret = 0;

	pthread_mutex_lock(&t->lock);
	if (!t->accepting)
		ret = -ENOTCONN;
	else if (t->count == HANDOFF_CAP)
		ret = -EAGAIN;
	else
		t->ring[(t->head + t->count++) % HANDOFF_CAP] = *h;
	pthread_mutex_unlock(&t->lock);
	if (ret == 0)
		wake(t);
	return ret;
}

/* Send the frames other channels queued for this one (buf_lock held). */
static void deliver_handoffs(struct netvsp *n, struct netvsp_chan *c)
{
	pthread_mutex_lock(&c->lock);
	while (c->count) {
		struct handoff *h = &c->ring[c->head];

		if (h->gen == n->recv_gen && n->have_recv) {
			struct xfer x = {.ranges = 0, .frames = 0, .bytes = 0};
			int ret;

			xfer_add(n, &x, h->first, h->m, n->sub_size, h->last_len, 0);
			ret = send_xfer(n, c, &x);

			if (ret == -EAGAIN)
				break; /* "writable" comes back here */
			if (ret) {
				free_chain(n, c->index, h->first);
				c->stats.rx_dropped++;
			} else {
				c->stats.rx_frames++;
				c->stats.rx_bytes +=
				    (uint64_t)(h->m - 1) * (n->sub_size - RNDIS_RX_HDR_LEN) +
				    h->last_len - RNDIS_RX_HDR_LEN;
			}
		}
		c->head = (c->head + 1) % HANDOFF_CAP;
		c->count--;
	}
	pthread_mutex_unlock(&c->lock);
}

/* ---- host to guest frames ---- */

/* The batch's last frame (head, m pieces in slots) may take later segments (rsc.h). */
static void rsc_open_frame(struct netvsp_queue *q, const struct rsc_seg *head,
			   const uint32_t *slots, uint32_t m, uint32_t csum, uint16_t id)
{
	q->rsc_open = true;
	q->rsc_head = *head;
	q->rsc_payload = head->payload;
	q->rsc_first = slots[0];
	q->rsc_last = slots[m - 1];
	q->rsc_pieces = m;
	q->rsc_csum = csum;
	q->rsc_id = id;
}

/*
 * Cut the frame just read (m pieces of cap bytes in slots, len bytes, its
 * headers in h) at `at` (rsc_split_at) into two frames of the batch: the
 * first keeps slots[0..j], j the piece the cut falls in; the second starts
 * in another sub-allocation with a copy of the headers and the rest of
 * piece j, then slots[j+1..]. The second stays open for later segments.
 * False, with nothing changed, without a free sub-allocation. buf_lock held.
 */
static bool split_frame(struct netvsp *n, struct netvsp_chan *c, struct netvsp_queue *q,
			const uint32_t *slots, uint32_t m, uint32_t len, uint32_t cap, uint8_t *h,
			const struct rsc_seg *seg, uint32_t at, uint32_t mss, uint32_t csum,
			bool hashed, uint32_t hash)
{
	uint32_t j = at / cap, hl = seg->hdr_len, rest = cap - at % cap, m2 = m - j, x;
	uint32_t s2[RSC_MAX_PIECES];
	struct rsc_seg seg2;
	uint8_t h2[RSC_HDR_PEEK], chunk[2048];
	uint64_t from = slot_offset(n, slots[j]) + RNDIS_RX_HDR_LEN + at % cap, to;

	if (len - at < rest)
		rest = len - at;
	if (!pool_take(n, c->index, 1, &x))
		return false;
	to = slot_offset(n, x) + RNDIS_RX_HDR_LEN;
	for (uint32_t done = 0, k; done < rest; done += k) {
		k = rest - done < sizeof(chunk) ? rest - done : (uint32_t)sizeof(chunk);
		vmbus_gpadl_view_copy(&n->recv, from + done, chunk, k, false);
		vmbus_gpadl_view_copy(&n->recv, to + hl + done, chunk, k, true);
	}
	rsc_split_headers(h, h2, seg, at, len, mss);
	vmbus_gpadl_view_copy(&n->recv, slot_offset(n, slots[0]) + RNDIS_RX_HDR_LEN, h, hl, true);
	vmbus_gpadl_view_copy(&n->recv, to, h2, hl, true);
	csum |= RNDIS_CSUM_RX_IP_OK | RNDIS_CSUM_RX_IP_INVALID; /* new IPv4 lengths */
	write_pieces(n, slots, j + 1, at, cap, cap, csum, 0, (uint16_t)q->rx_seq++, hashed, hash);
	xfer_add(n, &q->batch, slots[0], j + 1, n->sub_size, RNDIS_RX_HDR_LEN + at - j * cap, at);
	s2[0] = x;
	memcpy(s2 + 1, slots + j + 1, (m2 - 1) * sizeof(*s2));
	write_pieces(n, s2, m2, hl + len - at, hl + rest, cap, csum, 0, (uint16_t)q->rx_seq, hashed,
		     hash);
	xfer_add(n, &q->batch, x, m2, RNDIS_RX_HDR_LEN + hl + rest,
		 m2 > 1 ? RNDIS_RX_HDR_LEN + len - (m - 1) * cap : RNDIS_RX_HDR_LEN + hl + rest,
		 hl + len - at);
	seg2 = *seg;
	seg2.seq += at - hl;
	seg2.payload = len - at;
	rsc_open_frame(q, &seg2, s2, m2, csum, (uint16_t)q->rx_seq++);
	return true;
}

/*
 * Read backend frames straight into free sub-allocations, behind room for
 * the RNDIS header. With RSC on, the backend may hand over a large (GSO)
 * frame; its pieces fill several sub-allocations and go out as one
 * coalesced frame (one transfer-page packet, one range per piece). With
 * vRSS on, the frame goes to the channel its hash names. buf_lock held.
 */
static void rx_frames_batched(struct netvsp *n, struct netvsp_chan *c, struct netvsp_queue *q)
{
	for (int budget = RX_BUDGET; budget; budget--) {
		struct virtio_net_hdr vh;
		uint8_t peek[HASH_PEEK], spill;
		struct iovec *iov = q->rx_iov;
		uint32_t slots[RSC_MAX_PIECES];
		uint32_t cap, need, k, m, len, last_len, hash = 0, target = c->index, csum = 0,
							 have, split_at = 0;
		struct rsc_seg seg;
		bool hashed, peeked, mergeable;
		int niov = 1;
		ssize_t got;

		if (c->index == 0 && q->nctl) {
			flush_batch(n, c, q); /* the ring space goes to the answers first */
			flush_ctl(n, c, q);
		}
		if (n->have_recv && !atomic_load(&n->packet_filter)) {
			/* the interface is down in the guest: drain the backend */
			if (read(c->fd, q->discard, sizeof(q->discard)) < 0)
				return;
			c->stats.rx_dropped++;
			continue;
		}
		if (!n->have_recv) {
			arm_rx(c, q, false);
			return;
		}
		cap = n->sub_size - RNDIS_RX_HDR_LEN;
		need = n->rsc ? (RSC_MAX_FRAME + cap - 1) / cap : 1;
		if (need > RSC_MAX_PIECES)
			need = RSC_MAX_PIECES;
		if (need > n->sub_count)
			need = n->sub_count;
		/* + 1: a frame cut in two (split_frame) takes one more range */
		if (q->batch.ranges + need + 1 > XFER_MAX_RANGES ||
		    vmbus_channel_send_space(q->chan) < 128 + 8 * (q->batch.ranges + need + 1))
			flush_batch(n, c, q);
		/* Nothing to send, or no room: "writable" or a completion comes back here. */
		if (q->nctl || !vmbus_channel_want_space(q->chan, 128 + 8 * need) ||
		    !pool_take(n, c->index, need, slots)) {
			arm_rx(c, q, false);
			return;
		}
		iov[0].iov_base = &vh;
		iov[0].iov_len = VNET_HDR_LEN;
		for (k = 0; k < need; k++) {
			int r = vmbus_gpadl_view_iov(&n->recv,
						     slot_offset(n, slots[k]) + RNDIS_RX_HDR_LEN,
						     cap, iov + niov, n->slot_iov);

			if (r < 0 || niov + r >= RX_IOV_MAX) {
				vmbus_channel_log(q->chan, "netvsp: receive sub-allocation %u: %d",
						  slots[k], r);
				pool_give(n, c->index, slots, need);
				fail(q, "receive buffer view");
				return;
			}
			niov += r;
		}
		iov[niov].iov_base = &spill; /* a longer frame lands here: dropped */
		iov[niov].iov_len = 1;
		got = readv(c->fd, iov, niov + 1);
		if (got < 0) {
			pool_give(n, c->index, slots, need);
			return; /* EAGAIN: drained */
		}
		if (got <= (ssize_t)VNET_HDR_LEN ||
		    (uint64_t)got > VNET_HDR_LEN + (uint64_t)cap * need) {
			pool_give(n, c->index, slots, need);
			drop(c, &c->stats.rx_dropped,
			     "backend frame larger than the receive space");
			continue;
		}
		len = (uint32_t)got - VNET_HDR_LEN;
		m = (len + cap - 1) / cap;
		last_len = RNDIS_RX_HDR_LEN + len - (m - 1) * cap; /* the last piece's range */
		pool_give(n, c->index, slots + m, need - m);
		if (vh.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
			csum = RNDIS_CSUM_RX_TCP_OK | RNDIS_CSUM_RX_UDP_OK;
		if (m > 1) /* one IPv4 header for all pieces: the guest recomputes its sum */
			csum |= RNDIS_CSUM_RX_IP_OK | RNDIS_CSUM_RX_IP_INVALID;
		/* The hash and the coalescing read the frame's headers back from the
		 * buffer: the guest may change them meanwhile, which only moves its own
		 * frame to another channel or garbles its own data. */
		have = len < HASH_PEEK ? len : HASH_PEEK;
		peeked =
		    (q->rss.enabled || n->rsc) &&
		    vmbus_gpadl_view_copy(&n->recv, slot_offset(n, slots[0]) + RNDIS_RX_HDR_LEN,
					  peek, have, false) == 0;
		hashed = q->rss.enabled && peeked && rss_hash_frame(&q->rss, peek, have, &hash);
		if (hashed)
			target = rss_channel(&q->rss, hash);
		mergeable = n->rsc && peeked && (csum & RNDIS_CSUM_RX_TCP_OK) &&
			    rsc_parse(peek, have, len, &seg);
		/* Too long for one 64 KiB buffer in the guest (rsc.h): cut, if ours to send. */
		if (mergeable && (target == c->index || target >= n->nqueues) &&
		    (vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE)
			split_at = rsc_split_at(seg.hdr_len, len, vh.gso_size, cap);
		if (mergeable && q->rsc_open && (target == c->index || target >= n->nqueues) &&
		    rsc_continues(&q->rsc_head, q->rsc_payload, &seg)) {
			rsc_append(n, q, slots, m, len, cap, &seg, hashed, hash);
			xfer_add(n, &q->batch, slots[0], m, n->sub_size, last_len, len);
			c->stats.rx_coalesced++;
			continue;
		}
		if (split_at && split_frame(n, c, q, slots, m, len, cap, peek, &seg, split_at,
					    vh.gso_size, csum, hashed, hash)) {
			c->stats.rx_split++;
			continue;
		}
		write_pieces(n, slots, m, len, cap, cap, csum, 0, (uint16_t)q->rx_seq, hashed,
			     hash);
		q->rx_seq++;
		if (target != c->index && target < n->nqueues) {
			struct handoff h = {n->recv_gen, slots[0], m, last_len};
			int ret = handoff(&n->ch[target], &h);

			if (ret == 0) {
				c->stats.rx_handed_off++;
				continue;
			}
			if (ret == -EAGAIN) {
				free_chain(n, c->index, slots[0]);
				drop(c, &c->stats.rx_dropped, "the RSS channel's queue is full");
				continue;
			}
			/* that channel is not open: deliver here */
		}
		xfer_add(n, &q->batch, slots[0], m, n->sub_size, last_len, len);
		/* Later segments of the same flow may join this frame. */
		q->rsc_open = false;
		if (mergeable)
			rsc_open_frame(q, &seg, slots, m, csum, (uint16_t)(q->rx_seq - 1));
	}
}

/*
 * While the guest has not completed RX_HOLD_PACKETS of our receive packets,
 * it is busy with earlier frames: the batch waits (up to half a packet's
 * ranges), frames that arrive meanwhile join it and coalesce, and the
 * guest's next completion sends it. An idle guest gets each frame at once.
 */
static bool hold_batch(const struct netvsp *n, const struct netvsp_queue *q)
{
	return q->batch.frames && q->batch.ranges < XFER_MAX_RANGES / 2 &&
	       q->out_gen == n->recv_gen && q->out_pkts >= RX_HOLD_PACKETS;
}

/*
 * The frames one wake-up reads go to the guest together: several frames
 * per transfer-page packet, so the guest handles one packet and sends one
 * completion for all of them, and its NAPI poll sees them at once (GRO).
 */
static void rx_frames(struct netvsp *n, struct netvsp_chan *c, struct netvsp_queue *q)
{
	refresh_rss(n, q);
	if (q->batch.frames && batch_stale(n, &q->batch))
		flush_batch(n, c, q); /* held for a receive buffer that is gone: dropped */
	rx_frames_batched(n, c, q);
	if (!hold_batch(n, q) && flush_batch(n, c, q))
		arm_rx(c, q, false);
}

/* ---- guest to host frames ---- */

/*
 * The backend queue for a frame the guest sends: the queue of the channel
 * the guest's RSS table names for the replies, so that the TAP, whose flow
 * table sends a flow's frames to the queue it last came from, delivers the
 * replies on the queue whose channel the guest wants them on (no handoff).
 */
static int tx_queue_fd(struct netvsp_chan *c, const struct stream *s, uint64_t off, uint32_t len)
{
	struct netvsp *n = c->n;
	uint8_t peek[HASH_PEEK];
	uint32_t hash, t;

	if (!c->q->rss.enabled || n->nqueues < 2)
		return c->fd;
	if (len > HASH_PEEK)
		len = HASH_PEEK;
	if (stream_copy(s, off, peek, len) || !rss_hash_reply(&c->q->rss, peek, len, &hash))
		return c->fd;
	t = rss_channel(&c->q->rss, hash);
	if (t >= n->nqueues || !atomic_load(&n->ch[t].accepting))
		return c->fd;
	return n->ch[t].fd;
}

/*
 * One frame to the backend. The first bytes are copied when the headers
 * must change: a VLAN tag from the per-packet info goes into the frame, and
 * a large send gets the IPv4 total length and header checksum (IPv6 payload
 * length) hv_netvsc leaves at zero plus a TCP pseudo-header sum that covers
 * the length, as the host's segmentation expects.
 */
static void tx_frame(struct netvsp_chan *c, const struct stream *s, uint64_t off,
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
	if (writev(tx_queue_fd(c, s, off, ti->data_len), iov, niov + rest) < 0 &&
	    writev(c->fd, iov, niov + rest) < 0) {
		why = strerror(errno);
		goto drop;
	}
	c->stats.tx_frames++;
	c->stats.tx_bytes += flen;
	return;
drop:
	drop(c, &c->stats.tx_dropped, why);
}

/* The RNDIS messages of one SEND_RNDIS_PKT; -EINVAL when malformed (why). */
static int tx_messages(struct netvsp *n, struct netvsp_chan *c, struct netvsp_queue *q,
		       const char **why)
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
			tx_frame(c, s, off + ti.data_offset, &ti);
		} else {
			uint8_t resp[RNDIS_RESPONSE_MAX];
			uint32_t rlen;

			if (c->index != 0) {
				*why = "RNDIS control message on a sub-channel";
				return -EINVAL;
			}
			if (len > RNDIS_CONTROL_MAX) {
				*why = "RNDIS control message too long";
				return -EINVAL;
			}
			stream_copy(s, off, q->ctlbuf, len);
			n->cfg.nvsp_version = n->nvsp_version;
			n->cfg.rss_channels = atomic_load(&n->nchan);
			if (rndis_control(&n->rndis, &n->cfg, q->ctlbuf, len, resp, &rlen, why))
				return -EINVAL;
			if (h[0] == RNDIS_MSG_QUERY && len >= 16 &&
			    memcmp(q->ctlbuf + 12,
				   &(uint32_t){RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES}, 4) == 0)
				vmbus_channel_log(q->chan,
						  "netvsp: receive-scale capabilities asked: %u "
						  "queues offered",
						  n->cfg.rss_queues < 2 ? 0 : n->cfg.rss_queues);
			atomic_store(&n->packet_filter, n->rndis.packet_filter);
			if (n->rndis.rss_changed) {
				const struct rss_params *r = &n->rndis.rss;
				uint32_t used = 0;

				for (uint32_t i = 0; r->enabled && i < r->itab_size; i++)
					used |= 1u << (r->itab[i] & 31);
				n->rndis.rss_changed = false;
				publish_rss(n, r);
				vmbus_channel_log(q->chan,
						  "netvsp: receive scaling %s: hash types %#x, "
						  "%u-entry table naming %d of %u channels",
						  r->enabled ? "on" : "off", r->hashinfo,
						  r->enabled ? r->itab_size : 0,
						  __builtin_popcount(used), atomic_load(&n->nchan));
			}
			c->stats.control_msgs++;
			if (rlen && queue_ctl(n, c, q, resp, rlen))
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

/* buf_lock held for reading. */
static void on_rndis_pkt(struct netvsp *n, struct netvsp_chan *c, struct netvsp_queue *q,
			 const struct vmbus_packet *pkt, const struct nvsp_msg *m)
{
	const struct nvsp_rndis_pkt *r = &m->rndis_pkt;
	struct nvsp_msg cm = {.type = NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE};
	const char *why = NULL;
	struct stream *s = &q->st;
	bool early;
	int k;

	s->n = 0;
	s->len = 0;
	refresh_rss(n, q);
	if (r->section_index != NVSP_NO_SECTION) {
		if (!n->have_send || r->section_index >= n->send_count ||
		    r->section_size > n->send_size) {
			fail(q, "SEND_RNDIS_PKT: send-buffer section index or size out of range");
			return;
		}
		k = vmbus_gpadl_view_iov(&n->send, (uint64_t)r->section_index * n->send_size,
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
	/*
	 * A large send: the guest's TCP holds back more data until it
	 * completes, and the backend's write runs the host's whole receive
	 * path. So copy the bytes, complete and signal first, and let the
	 * guest go on while the host works.
	 */
	early = pkt->type == VMBUS_PKT_DATA_USING_GPA_DIRECT &&
		r->channel_type == NVSP_CHANNEL_DATA && s->len >= TX_COPY_MIN &&
		s->len <= TX_COPY_MAX;
	cm.rndis_pkt_complete.status = NVSP_STATUS_SUCCESS;
	if (early) {
		stream_copy(s, 0, q->txcopy, (uint32_t)s->len); /* all of it: cannot fail */
		s->iov[0].iov_base = q->txcopy;
		s->iov[0].iov_len = s->len;
		s->n = 1;
		if (send_comp(q, pkt->trans_id, &cm))
			return;
		vmbus_channel_signal_now(q->chan);
	}
	if (tx_messages(n, c, q, &why)) {
		fail(q, why);
		return;
	}
	if (!early && vmbus_channel_is_open(q->chan))
		send_comp(q, pkt->trans_id, &cm);
}

/* ---- NVSP control (primary) ---- */

/* Large frames from the TAP only when the guest takes coalesced frames. */
static void set_backend_offload(struct netvsp *n, bool tso)
{
	unsigned long f = TUN_F_CSUM | (tso ? TUN_F_TSO4 | TUN_F_TSO6 : 0);

	if (ioctl(n->ch[0].fd, TUNSETOFFLOAD, f)) {
		/* not a TAP (tests): it sends what it sends */
	}
}

/* buf_lock held for writing. */
static void drop_recv(struct netvsp *n)
{
	if (n->have_recv)
		vmbus_gpadl_view_put(n->views_on, &n->recv);
	n->have_recv = false;
	free(n->free_slots);
	free(n->owner);
	free(n->chain);
	n->free_slots = NULL;
	n->owner = NULL;
	n->chain = NULL;
	n->nfree = n->sub_count = 0;
}

static void drop_send(struct netvsp *n)
{
	if (n->have_send)
		vmbus_gpadl_view_put(n->views_on, &n->send);
	n->have_send = false;
	n->send_count = 0;
}

static uint32_t setup_recv(struct netvsp *n, struct netvsp_chan *c, uint32_t gpadl)
{
	/*
	 * At least one frame (with a VLAN tag) and its RNDIS header per
	 * sub-allocation, sized for the guest's MTU (SEND_NDIS_CONFIG; a change
	 * of MTU brings a new receive buffer), or for the largest MTU offered
	 * without it. Larger ones while the buffer still has RECV_SUB_MIN_COUNT:
	 * a large frame from the backend then takes a few pieces instead of
	 * dozens, and hv_netvsc's cost per piece is what limits a guest's
	 * receive rate (RNDIS parsing per range; its copy is per frame).
	 */
	uint32_t frame = n->ndis_mtu ? n->ndis_mtu : n->cfg.mtu + 14, big;

	if (frame < 1514)
		frame = 1514;
	if (n->have_recv || vmbus_gpadl_view_get(c->q->chan, gpadl, &n->recv))
		return NVSP_STATUS_FAILURE;
	n->have_recv = true;
	n->views_on = c->q->chan;
	n->recv_gen++;
	n->sub_size = (RNDIS_RX_HDR_LEN + frame + 4 + 63) & ~63u;
	big = n->recv.bytes / RECV_SUB_MIN_COUNT & ~63u;
	if (big > RECV_SUB_TARGET)
		big = RECV_SUB_TARGET;
	if (big > n->sub_size)
		n->sub_size = big;
	n->sub_count = n->recv.bytes / n->sub_size;
	if (n->sub_count < 2) {
		drop_recv(n);
		return NVSP_STATUS_FAILURE;
	}
	n->free_slots = malloc(n->sub_count * sizeof(uint32_t));
	n->owner = calloc(n->sub_count, 1);
	n->chain = malloc(n->sub_count * sizeof(uint32_t));
	n->slot_iov = n->sub_size / 4096 + 2;
	if (!n->free_slots || !n->owner || !n->chain) {
		drop_recv(n);
		return NVSP_STATUS_FAILURE;
	}
	for (uint32_t i = 0; i < n->sub_count; i++) {
		n->free_slots[i] = n->sub_count - 1 - i;
		n->chain[i] = UINT32_MAX;
	}
	n->nfree = n->sub_count;
	n->starved = 0;
	c->stats.recv_sub_alloc_size = n->sub_size;
	c->stats.recv_sub_allocs = n->sub_count;
	return NVSP_STATUS_SUCCESS;
}

static uint32_t setup_send(struct netvsp *n, struct netvsp_chan *c, uint32_t gpadl)
{
	if (n->have_send || vmbus_gpadl_view_get(c->q->chan, gpadl, &n->send))
		return NVSP_STATUS_FAILURE;
	n->have_send = true;
	n->views_on = c->q->chan;
	n->send_size = SEND_SECTION_SIZE;
	n->send_count = n->send.bytes / SEND_SECTION_SIZE;
	if (!n->send_count) {
		drop_send(n);
		return NVSP_STATUS_FAILURE;
	}
	c->stats.send_section_size = n->send_size;
	c->stats.send_sections = n->send_count;
	return NVSP_STATUS_SUCCESS;
}

static const struct vmbus_vsp_ops ops;

/* On the event loop: offer the sub-channels the guest was granted. */
static void offer_subchannels(struct vmbus_channel *primary, void *arg)
{
	struct netvsp *n = arg;
	unsigned want = atomic_load(&n->sub_requested);

	for (unsigned i = 1; i <= want && i < n->nqueues; i++) {
		struct netvsp_chan *c = &n->ch[i];

		if (c->chan)
			continue;
		if (vmbus_offer_subchannel(primary, (uint16_t)i, &ops, c, &c->chan)) {
			vmbus_channel_log(primary, "netvsp: cannot offer sub-channel %u", i);
			c->chan = NULL;
			return;
		}
	}
}

/* NVSP 5 SUBCHANNEL: grant up to one per extra backend queue. */
static void on_subchannel(struct netvsp *n, struct netvsp_chan *c, struct netvsp_queue *q,
			  const struct vmbus_packet *pkt, const struct nvsp_msg *m)
{
	struct nvsp_msg cm = {.type = NVSP_MSG5_SUBCHANNEL};
	uint32_t want = m->subchannel.count, grant = n->nqueues - 1;

	if (m->subchannel.op != NVSP_SUBCHANNEL_ALLOCATE || n->nvsp_version < NVSP_VERSION_5 ||
	    !n->have_recv || grant == 0) {
		vmbus_channel_log(q->chan, "netvsp: sub-channel request (op %u, %u) refused",
				  m->subchannel.op, want);
		cm.subchannel.op = NVSP_STATUS_FAILURE;
		send_comp(q, pkt->trans_id, &cm);
		return;
	}
	if (grant > want)
		grant = want;
	cm.subchannel.op = NVSP_STATUS_SUCCESS;
	cm.subchannel.count = grant;
	atomic_store(&n->nchan, 1 + grant);
	atomic_store(&n->sub_requested, grant);
	vmbus_channel_log(q->chan, "netvsp: %u sub-channels asked, %u granted", want, grant);
	send_comp(q, pkt->trans_id, &cm);
	if (grant && vmbus_channel_defer(c->q->chan, offer_subchannels, n))
		vmbus_channel_log(q->chan, "netvsp: cannot offer %u sub-channels", grant);
}

static bool changes_buffers(uint32_t type)
{
	return type == NVSP_MSG1_SEND_RECV_BUF || type == NVSP_MSG1_SEND_SEND_BUF ||
	       type == NVSP_MSG1_REVOKE_RECV_BUF || type == NVSP_MSG1_REVOKE_SEND_BUF;
}

static void on_nvsp(struct netvsp *n, struct netvsp_chan *c, struct netvsp_queue *q,
		    const struct vmbus_packet *pkt)
{
	struct nvsp_msg m, cm = {0};
	bool want_comp = pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED;
	const char *why = NULL;
	bool excl;

	if (nvsp_parse(pkt->data, pkt->len, &m, &why)) {
		fail(q, why);
		return;
	}
	if (c->index != 0 && m.type != NVSP_MSG1_SEND_RNDIS_PKT) {
		fail(q, "NVSP control message on a sub-channel");
		return;
	}
	excl = changes_buffers(m.type);
	if (excl)
		pthread_rwlock_wrlock(&n->buf_lock);
	else
		pthread_rwlock_rdlock(&n->buf_lock);
	switch (m.type) {
	case NVSP_MSG_INIT: {
		static const uint32_t known[] = {NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5,
						 NVSP_VERSION_4,  NVSP_VERSION_2, NVSP_VERSION_1};

		cm.type = NVSP_MSG_INIT_COMPLETE;
		cm.init_complete.status = NVSP_STATUS_FAILURE;
		for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (known[i] < m.init.min_version || known[i] > m.init.max_version)
				continue;
			n->nvsp_version = known[i];
			c->stats.nvsp_version = known[i];
			cm.init_complete.version = known[i];
			cm.init_complete.max_mdl_chain_len = 34;
			cm.init_complete.status = NVSP_STATUS_SUCCESS;
			break;
		}
		send_comp(q, pkt->trans_id, &cm);
		goto out;
	}
	case NVSP_MSG1_SEND_NDIS_VERSION:
		break;
	case NVSP_MSG2_SEND_NDIS_CONFIG:
		/* read by other channels only under buf_lock: changed before any buffer */
		if (!n->have_recv) {
			n->ndis_mtu = m.ndis_config.mtu;
			n->rsc = n->nvsp_version >= NVSP_VERSION_61 &&
				 (m.ndis_config.capabilities & NDIS_CONFIG_CAP_RSC);
			if (n->ndis_mtu > 65535 + 14)
				n->ndis_mtu = 65535 + 14;
		}
		break;
	case NVSP_MSG1_SEND_RECV_BUF:
		cm.type = NVSP_MSG1_SEND_RECV_BUF_COMPLETE;
		cm.recv_buf_complete.status = m.send_buffer.id == NVSP_RECV_BUF_ID
						  ? setup_recv(n, c, m.send_buffer.gpadl)
						  : NVSP_STATUS_FAILURE;
		if (cm.recv_buf_complete.status == NVSP_STATUS_SUCCESS) {
			cm.recv_buf_complete.num_sections = 1;
			cm.recv_buf_complete.section.offset = 0;
			cm.recv_buf_complete.section.sub_alloc_size = n->sub_size;
			cm.recv_buf_complete.section.num_sub_allocs = n->sub_count;
			cm.recv_buf_complete.section.end_offset = n->sub_size * n->sub_count;
			set_backend_offload(n, n->rsc);
			arm_rx(c, q, true);
			for (unsigned i = 1; i < n->nqueues; i++)
				wake(&n->ch[i]);
		}
		send_comp(q, pkt->trans_id, &cm);
		goto out;
	case NVSP_MSG1_SEND_SEND_BUF:
		cm.type = NVSP_MSG1_SEND_SEND_BUF_COMPLETE;
		cm.send_buf_complete.status = setup_send(n, c, m.send_buffer.gpadl);
		cm.send_buf_complete.section_size =
		    cm.send_buf_complete.status == NVSP_STATUS_SUCCESS ? n->send_size : 0;
		vmbus_channel_log(q->chan,
				  "netvsp: NVSP %#x, NDIS MTU %u, receive buffer %u x %u B, send "
				  "buffer %u x %u B, %u backend queues",
				  n->nvsp_version, n->ndis_mtu, n->sub_count, n->sub_size,
				  n->send_count, n->send_size, n->nqueues);
		send_comp(q, pkt->trans_id, &cm);
		goto out;
	case NVSP_MSG1_REVOKE_RECV_BUF:
		arm_rx(c, q, false);
		drop_recv(n);
		q->nctl = q->ctl_head = 0;
		break;
	case NVSP_MSG1_REVOKE_SEND_BUF:
		drop_send(n);
		break;
	case NVSP_MSG1_SEND_RNDIS_PKT:
		on_rndis_pkt(n, c, q, pkt, &m);
		goto out;
	case NVSP_MSG5_SUBCHANNEL:
		on_subchannel(n, c, q, pkt, &m);
		goto out;
	default:
		break; /* ignored: VF association, data path switch, ... */
	}
	if (want_comp)
		vmbus_channel_send_completion(q->chan, pkt->trans_id, NULL, 0);
out:
	pthread_rwlock_unlock(&n->buf_lock);
}

/* buf_lock held for reading. */
static void on_completion(struct netvsp *n, struct netvsp_chan *c, struct netvsp_queue *q,
			  const struct vmbus_packet *pkt)
{
	uint64_t slot = (uint32_t)pkt->trans_id - 1ull;
	struct nvsp_msg m;
	const char *why;
	unsigned s;

	/* A late completion for a revoked receive buffer is harmless. */
	if (!n->have_recv || pkt->trans_id >> 32 != n->recv_gen)
		return;
	pthread_mutex_lock(&n->pool_lock);
	if ((uint32_t)pkt->trans_id == 0 || slot >= n->sub_count ||
	    n->owner[slot] != c->index + 1) {
		pthread_mutex_unlock(&n->pool_lock);
		fail(q, "completion for a receive packet that is not outstanding");
		return;
	}
	s = free_chain_locked(n, (uint32_t)slot);
	pthread_mutex_unlock(&n->pool_lock);
	/* hv_netvsc fails a packet it could not take (no memory for the frame). */
	if (pkt->len >= 4 + sizeof(m.rndis_pkt_complete) &&
	    !nvsp_parse(pkt->data, pkt->len, &m, &why) &&
	    m.rndis_pkt_complete.status != NVSP_STATUS_SUCCESS)
		c->stats.rx_refused++;
	wake_starved(n, s, c->index);
	if (q->out_gen == n->recv_gen && q->out_pkts)
		q->out_pkts--;
	if (flush_batch(n, c, q)) /* frames held while the guest was busy */
		arm_rx(c, q, false);
	if (c->index == 0)
		flush_ctl(n, c, q);
	deliver_handoffs(n, c);
	arm_rx(c, q, true);
}

/* ---- channel callbacks ---- */

static void on_packet(struct vmbus_channel *chan, const struct vmbus_packet *pkt, void *ctx)
{
	struct netvsp_chan *c = ctx;
	struct netvsp *n = c->n;
	struct netvsp_queue *q = c->q;

	(void)chan;
	switch (pkt->type) {
	case VMBUS_PKT_DATA_INBAND:
	case VMBUS_PKT_DATA_USING_GPA_DIRECT:
		on_nvsp(n, c, q, pkt);
		break;
	case VMBUS_PKT_COMP:
		pthread_rwlock_rdlock(&n->buf_lock);
		on_completion(n, c, q, pkt);
		pthread_rwlock_unlock(&n->buf_lock);
		break;
	default:
		fail(q, "unexpected VMBus packet type on the network channel");
		break;
	}
}

static void on_writable(struct vmbus_channel *chan, void *ctx)
{
	struct netvsp_chan *c = ctx;
	struct netvsp *n = c->n;

	(void)chan;
	flush_comps(c->q);
	pthread_rwlock_rdlock(&n->buf_lock);
	if (c->index == 0)
		flush_ctl(n, c, c->q);
	deliver_handoffs(n, c);
	pthread_rwlock_unlock(&n->buf_lock);
	arm_rx(c, c->q, true);
}

static void on_poll(struct vmbus_channel *chan, void *ctx)
{
	struct netvsp_chan *c = ctx;
	struct netvsp *n = c->n;
	struct netvsp_queue *q = c->q;
	struct epoll_event ev[3];
	int k = epoll_wait(q->epfd, ev, 3, 0);
	uint64_t v;

	(void)chan;
	pthread_rwlock_rdlock(&n->buf_lock);
	for (int i = 0; i < k; i++) {
		if (ev[i].data.fd == n->evfd && c->index == 0) {
			if (read(n->evfd, &v, sizeof(v)) < 0) {
				/* nothing pending */
			}
			report_link(n, c, q);
		} else if (ev[i].data.fd == c->wake) {
			if (read(c->wake, &v, sizeof(v)) < 0) {
				/* nothing pending */
			}
			deliver_handoffs(n, c);
			arm_rx(c, q, true);
		}
	}
	if (q->rx_armed)
		rx_frames(n, c, q);
	pthread_rwlock_unlock(&n->buf_lock);
}

static void on_drain(struct vmbus_channel *chan, void *ctx)
{
	(void)chan;
	(void)ctx; /* every I/O is synchronous */
}

/* A TAP queue takes frames only while attached (no-op for other backends). */
static void attach_queue(struct netvsp_chan *c, bool on)
{
	struct ifreq ifr = {.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE};

	if (c->index == 0)
		return;
	if (ioctl(c->fd, TUNSETQUEUE, &ifr)) {
		/* not a multi-queue TAP */
	}
}

static int on_open(struct vmbus_channel *chan, void *ctx)
{
	struct netvsp_chan *c = ctx;
	struct netvsp *n = c->n;
	struct netvsp_queue *q = calloc(1, sizeof(*q));
	struct epoll_event ev = {.events = EPOLLIN};

	if (!q)
		return -ENOMEM;
	q->chan = chan;
	c->chan = chan;
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (q->epfd < 0)
		goto fail;
	if (c->index == 0) {
		ev.data.fd = n->evfd;
		if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, n->evfd, &ev))
			goto fail;
	}
	ev.data.fd = c->wake;
	if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, c->wake, &ev))
		goto fail;
	ev.events = 0;
	ev.data.fd = c->fd;
	if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, c->fd, &ev))
		goto fail;
	if (vmbus_channel_set_poll_fd(chan, q->epfd))
		goto fail;
	if (c->index == 0) {
		struct rss_params off = {0};

		rndis_state_reset(&n->rndis);
		atomic_store(&n->packet_filter, 0);
		atomic_store(&n->nchan, 1);
		atomic_store(&n->sub_requested, 0);
		publish_rss(n, &off);
	} else {
		/* a sub-channel receives once the buffers are there */
		q->rx_armed = false;
		wake(c);
	}
	memset(&c->stats, 0, sizeof(c->stats));
	c->q = q;
	pthread_mutex_lock(&c->lock);
	c->accepting = true;
	pthread_mutex_unlock(&c->lock);
	attach_queue(c, true);
	return 0;
fail:
	if (q->epfd >= 0)
		close(q->epfd);
	free(q);
	return -EIO;
}

/* A closed channel's packets in flight and queued frames go back to the pool. */
static void reclaim(struct netvsp *n, struct netvsp_chan *c)
{
	unsigned s = 0;

	pthread_rwlock_rdlock(&n->buf_lock);
	pthread_mutex_lock(&c->lock);
	c->accepting = false;
	pthread_mutex_lock(&n->pool_lock);
	for (; c->count; c->head = (c->head + 1) % HANDOFF_CAP, c->count--)
		if (n->have_recv && c->ring[c->head].gen == n->recv_gen)
			s |= free_chain_locked(n, c->ring[c->head].first);
	for (uint32_t i = 0; n->have_recv && i < n->sub_count; i++)
		if (n->owner[i] == c->index + 1)
			s |= free_chain_locked(n, i);
	if (c->q) {
		if (c->q->batch.frames && !batch_stale(n, &c->q->batch))
			s |= free_chain_locked(n, c->q->batch.first); /* frames held, never sent */
		c->q->batch.frames = c->q->batch.ranges = 0;
		c->q->rsc_open = false;
		c->q->out_pkts = 0;
	}
	pthread_mutex_unlock(&n->pool_lock);
	pthread_mutex_unlock(&c->lock);
	pthread_rwlock_unlock(&n->buf_lock);
	wake_starved(n, s, c->index);
}

static void on_close(struct vmbus_channel *chan, void *ctx)
{
	struct netvsp_chan *c = ctx;
	struct netvsp *n = c->n;
	struct netvsp_queue *q = c->q;

	if (!q)
		return;
	vmbus_channel_log(
	    chan,
	    "netvsp: closed: NVSP %#x, to host %llu frames %llu bytes %llu dropped, "
	    "to guest %llu frames %llu bytes %llu dropped in %llu packets "
	    "(%llu handed to other channels, %llu coalesced, %llu cut, %llu refused by the guest), "
	    "%llu control messages",
	    n->nvsp_version, (unsigned long long)c->stats.tx_frames,
	    (unsigned long long)c->stats.tx_bytes, (unsigned long long)c->stats.tx_dropped,
	    (unsigned long long)c->stats.rx_frames, (unsigned long long)c->stats.rx_bytes,
	    (unsigned long long)c->stats.rx_dropped, (unsigned long long)c->stats.rx_packets,
	    (unsigned long long)c->stats.rx_handed_off, (unsigned long long)c->stats.rx_coalesced,
	    (unsigned long long)c->stats.rx_split, (unsigned long long)c->stats.rx_refused,
	    (unsigned long long)c->stats.control_msgs);
	attach_queue(c, false);
	reclaim(n, c);
	if (c->index == 0) {
		/*
		 * As Hyper-V does: the sub-channels go with the primary's open
		 * (rescinded); the guest asks for new ones after its next open.
		 */
		for (unsigned i = 1; i < n->nqueues; i++) {
			if (n->ch[i].chan) {
				vmbus_channel_remove(n->ch[i].chan);
				n->ch[i].chan = NULL;
			}
		}
		pthread_rwlock_wrlock(&n->buf_lock);
		drop_recv(n);
		drop_send(n);
		pthread_rwlock_unlock(&n->buf_lock);
		set_backend_offload(n, false);
	}
	close(q->epfd);
	free(q->comps);
	free(q);
	c->q = NULL;
}

static void on_released(struct vmbus_channel *chan, void *ctx)
{
	struct netvsp_chan *c = ctx;

	(void)chan;
	c->chan = NULL;
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

static void free_netvsp(struct netvsp *n)
{
	for (unsigned i = 0; i < NETVSP_MAX_QUEUES; i++) {
		if (n->ch[i].wake >= 0)
			close(n->ch[i].wake);
		pthread_mutex_destroy(&n->ch[i].lock);
	}
	if (n->evfd >= 0)
		close(n->evfd);
	pthread_rwlock_destroy(&n->buf_lock);
	pthread_mutex_destroy(&n->pool_lock);
	pthread_mutex_destroy(&n->rss_lock);
	free(n);
}

int netvsp_create(const struct netvsp_params *p, struct netvsp **out)
{
	struct netvsp *n = calloc(1, sizeof(*n));
	struct vmbus_offer_params op = {
	    .if_type = NET_CLASS,
	    .if_instance = p->instance,
	    .max_packet_size = 64 * 1024,
	    .data_thread = true,
	    .batch_thread = true,
	    .ops = &ops,
	};
	pthread_rwlockattr_t ra;
	int ret;

	*out = NULL;
	if (!n)
		return -ENOMEM;
	n->nqueues = p->nqueues > 1 ? p->nqueues : 1;
	if (n->nqueues > NETVSP_MAX_QUEUES)
		n->nqueues = NETVSP_MAX_QUEUES;
	/* The primary's buffer changes must not wait behind a stream of readers. */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&n->buf_lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&n->pool_lock, NULL);
	pthread_mutex_init(&n->rss_lock, NULL);
	for (unsigned i = 0; i < NETVSP_MAX_QUEUES; i++) {
		struct netvsp_chan *c = &n->ch[i];

		c->n = n;
		c->index = (uint16_t)i;
		c->fd = i == 0 ? p->fd : i < n->nqueues ? p->queue_fds[i - 1] : -1;
		pthread_mutex_init(&c->lock, NULL);
		c->wake = i < n->nqueues ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
		if (i < n->nqueues && c->wake < 0) {
			ret = -errno;
			free_netvsp(n);
			return ret;
		}
		if (i > 0)
			attach_queue(c, false);
	}
	memcpy(n->cfg.mac, p->mac, 6);
	/* Offer jumbo frames: the guest starts at 1500 and may go up to this. */
	n->cfg.mtu = p->mtu > NETVSP_MAX_MTU ? p->mtu : NETVSP_MAX_MTU;
	n->cfg.link_speed = p->link_speed ? p->link_speed : 100000000; /* 10 Gbit/s */
	n->cfg.link_up = p->link_up;
	n->cfg.rss_queues = n->nqueues;
	atomic_store(&n->link_up, p->link_up);
	atomic_store(&n->nchan, 1);
	n->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (n->evfd < 0) {
		ret = -errno;
		free_netvsp(n);
		return ret;
	}
	op.ctx = &n->ch[0];
	ret = vmbus_offer(p->server, &op, &n->ch[0].chan);
	if (ret) {
		free_netvsp(n);
		return ret;
	}
	*out = n;
	return 0;
}

void netvsp_destroy(struct netvsp *n)
{
	if (!n)
		return;
	/* Sub-channels first; each removal closes its channel (no callback afterwards). */
	for (unsigned i = n->nqueues; i-- > 1;) {
		if (n->ch[i].chan) {
			vmbus_channel_remove(n->ch[i].chan);
			n->ch[i].chan = NULL;
		}
	}
	if (n->ch[0].chan)
		vmbus_channel_remove(n->ch[0].chan);
	free_netvsp(n);
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
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < n->nqueues; i++) {
		const struct netvsp_stats *s = &n->ch[i].stats;

		out->tx_frames += s->tx_frames;
		out->tx_bytes += s->tx_bytes;
		out->tx_dropped += s->tx_dropped;
		out->rx_frames += s->rx_frames;
		out->rx_bytes += s->rx_bytes;
		out->rx_dropped += s->rx_dropped;
		out->rx_packets += s->rx_packets;
		out->control_msgs += s->control_msgs;
		out->indications += s->indications;
		out->rx_handed_off += s->rx_handed_off;
		out->rx_coalesced += s->rx_coalesced;
		out->rx_split += s->rx_split;
		out->rx_refused += s->rx_refused;
		out->rx_frames_per_channel[i] = s->rx_frames;
	}
	out->nvsp_version = n->ch[0].stats.nvsp_version;
	out->recv_sub_alloc_size = n->ch[0].stats.recv_sub_alloc_size;
	out->recv_sub_allocs = n->ch[0].stats.recv_sub_allocs;
	out->send_section_size = n->ch[0].stats.send_section_size;
	out->send_sections = n->ch[0].stats.send_sections;
	out->channels = atomic_load(&n->nchan);
}

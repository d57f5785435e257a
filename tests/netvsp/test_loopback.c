// SPDX-License-Identifier: MIT
/*
 * The network VSP end to end on the loopback partition: the test plays
 * hv_netvsc (NVSP negotiation, receive and send buffer GPADLs, RNDIS over
 * send-buffer sections and GPA-direct pages, completions of receive packets)
 * against netvsp served on its data thread, with a SOCK_SEQPACKET socket as
 * the backend (one vnet-header frame per message, like a TAP). Then a hostile
 * guest: each bad input closes the channel, with the reason logged.
 */
#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../vmbus/test_common.h"
#include "netvsp.h"
#include "nvsp.h"
#include "rndis.h"

#define RECV_PAGES 64
#define SEND_PAGES 16

static const struct vmbus_guid net_class =
    VMBUS_GUID_INIT(0xf8615163, 0xdf3e, 0x46c5, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e);

struct env {
	struct harness h;
	struct netvsp *n;
	int sock[2];  /* [0] netvsp's backend, [1] the test's end */
	int sock1[2]; /* backend queue 1 (multi-queue tests), else -1 */
	struct vsc_channel ch;
	uint8_t *recv, *send;
	uint64_t recv_gpa, send_gpa;
	uint32_t sub_size, sub_count;
	uint64_t tid;
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Send an NVSP message; with completion requested. */
static void nvsp_send(struct env *e, const struct nvsp_msg *m)
{
	ck_assert_int_eq(vsc_channel_send(&e->ch, VMBUS_PKT_DATA_INBAND,
					  VMBUS_PKT_FLAG_COMPLETION_REQUESTED, ++e->tid, m,
					  sizeof(*m)),
			 VSC_RING_OK);
}

static void recv_one(struct env *e, uint8_t *buf, uint32_t max, uint32_t *len)
{
	ck_assert(recv_pkt(&e->h, &e->ch, buf, max, len));
}

/* A frame from the backend socket fd, waiting up to a second: its length, or -1. */
static ssize_t backend_recv(int fd, uint8_t *buf, size_t max)
{
	ssize_t n = -1;

	for (int i = 0; i < 200; i++) {
		n = recv(fd, buf, max, 0);
		if (n >= 0)
			break;
		usleep(5000);
	}
	return n;
}

/* The next completion, as an NVSP message. */
static void nvsp_comp(struct env *e, struct nvsp_msg *out)
{
	uint8_t buf[256];
	uint32_t len;
	const struct vmbus_packet_descriptor *d = (const void *)buf;

	recv_one(e, buf, sizeof(buf), &len);
	ck_assert_uint_eq(d->type, VMBUS_PKT_COMP);
	ck_assert_uint_eq(d->trans_id, e->tid);
	memset(out, 0, sizeof(*out));
	memcpy(out, buf + d->offset8 * 8u, len - d->offset8 * 8u < 40 ? len - d->offset8 * 8u : 40);
}

/* A transfer-page packet: returns the RNDIS message's offset and length in the receive buffer. */
static uint64_t xfer(const uint8_t *buf, uint32_t *off, uint32_t *len)
{
	const struct vmbus_packet_descriptor *d = (const void *)buf;

	ck_assert_uint_eq(d->type, VMBUS_PKT_DATA_USING_XFER_PAGES);
	ck_assert_uint_eq(buf[16] | buf[17] << 8, NVSP_RECV_BUF_ID);
	ck_assert_uint_eq(get32(buf + 20), 1);
	*len = get32(buf + 24);
	*off = get32(buf + 28);
	ck_assert_uint_eq(get32(buf + d->offset8 * 8u), NVSP_MSG1_SEND_RNDIS_PKT);
	return d->trans_id;
}

static void complete_rx(struct env *e, uint64_t tid)
{
	struct {
		uint32_t type, status;
	} c = {NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, NVSP_STATUS_SUCCESS};

	ck_assert_int_eq(vsc_channel_send(&e->ch, VMBUS_PKT_COMP, 0, tid, &c, sizeof(c)),
			 VSC_RING_OK);
}

static void setup_queues(struct env *e, uint64_t ndis_caps, uint32_t ndis_mtu, unsigned nqueues,
			 uint32_t recv_pages)
{
	struct netvsp_params p = {.mac = {2, 0x4c, 0, 0, 0, 7}, .mtu = 1500, .link_up = true};
	const struct vsc_offer *o;
	struct nvsp_msg m = {0}, c;
	uint32_t handle;

	memset(e, 0, sizeof(*e));
	h_setup(&e->h, 0, 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, e->sock), 0);
	p.server = e->h.server;
	p.instance = echo_guid(0x77);
	p.fd = e->sock[0];
	e->sock1[0] = e->sock1[1] = -1;
	if (nqueues > 1) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, e->sock1),
				 0);
		p.queue_fds = &e->sock1[0];
		p.nqueues = 2;
	}
	ck_assert_int_eq(netvsp_create(&p, &e->n), 0);
	h_connect(&e->h);
	o = vsc_vmbus_find_offer(&e->h.bus, &net_class, 0);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(vsc_channel_open(&e->h.bus, &e->ch, o, 16, 16, 0), VSC_OK);

	/* NVSP 6.1, NDIS config and version */
	m.type = NVSP_MSG_INIT;
	m.init.min_version = m.init.max_version = NVSP_VERSION_61;
	nvsp_send(e, &m);
	nvsp_comp(e, &c);
	ck_assert_uint_eq(c.type, NVSP_MSG_INIT_COMPLETE);
	ck_assert_uint_eq(c.init_complete.status, NVSP_STATUS_SUCCESS);
	ck_assert_uint_eq(c.init_complete.version, NVSP_VERSION_61);
	memset(&m, 0, sizeof(m));
	m.type = NVSP_MSG2_SEND_NDIS_CONFIG;
	m.ndis_config.mtu = ndis_mtu;
	m.ndis_config.capabilities = ndis_caps;
	ck_assert_int_eq(vsc_channel_send(&e->ch, VMBUS_PKT_DATA_INBAND, 0, 0, &m, sizeof(m)),
			 VSC_RING_OK);
	m.type = NVSP_MSG1_SEND_NDIS_VERSION;
	m.ndis_version.major = 6;
	m.ndis_version.minor = 30;
	ck_assert_int_eq(vsc_channel_send(&e->ch, VMBUS_PKT_DATA_INBAND, 0, 0, &m, sizeof(m)),
			 VSC_RING_OK);

	/* receive buffer: one section at offset 0 */
	ck_assert_int_eq(e->h.lb.plat.alloc_pages(&e->h.lb, recv_pages, &e->recv_gpa), 0);
	e->recv = e->h.lb.plat.map(e->h.lb.plat.ctx, e->recv_gpa, recv_pages * 4096ull);
	ck_assert_int_eq(vsc_gpadl_create(&e->h.bus, e->ch.relid, e->recv_gpa, recv_pages, &handle),
			 VSC_OK);
	memset(&m, 0, sizeof(m));
	m.type = NVSP_MSG1_SEND_RECV_BUF;
	m.send_buffer.gpadl = handle;
	m.send_buffer.id = NVSP_RECV_BUF_ID;
	nvsp_send(e, &m);
	nvsp_comp(e, &c);
	ck_assert_uint_eq(c.type, NVSP_MSG1_SEND_RECV_BUF_COMPLETE);
	ck_assert_uint_eq(c.recv_buf_complete.status, NVSP_STATUS_SUCCESS);
	ck_assert_uint_eq(c.recv_buf_complete.num_sections, 1);
	ck_assert_uint_eq(c.recv_buf_complete.section.offset, 0);
	e->sub_size = c.recv_buf_complete.section.sub_alloc_size;
	e->sub_count = c.recv_buf_complete.section.num_sub_allocs;
	ck_assert_uint_ge(e->sub_size, RNDIS_RX_HDR_LEN + 1514);
	ck_assert_uint_le((uint64_t)e->sub_size * e->sub_count, recv_pages * 4096ull);

	/* send buffer */
	ck_assert_int_eq(e->h.lb.plat.alloc_pages(&e->h.lb, SEND_PAGES, &e->send_gpa), 0);
	e->send = e->h.lb.plat.map(e->h.lb.plat.ctx, e->send_gpa, SEND_PAGES * 4096);
	ck_assert_int_eq(vsc_gpadl_create(&e->h.bus, e->ch.relid, e->send_gpa, SEND_PAGES, &handle),
			 VSC_OK);
	memset(&m, 0, sizeof(m));
	m.type = NVSP_MSG1_SEND_SEND_BUF;
	m.send_buffer.gpadl = handle;
	nvsp_send(e, &m);
	nvsp_comp(e, &c);
	ck_assert_uint_eq(c.type, NVSP_MSG1_SEND_SEND_BUF_COMPLETE);
	ck_assert_uint_eq(c.send_buf_complete.status, NVSP_STATUS_SUCCESS);
	ck_assert_uint_eq(c.send_buf_complete.section_size, 6144);
}

static void setup_caps(struct env *e, uint64_t ndis_caps, uint32_t ndis_mtu)
{
	setup_queues(e, ndis_caps, ndis_mtu, 1, RECV_PAGES);
}

static void setup(struct env *e)
{
	setup_caps(e, 0, 1514);
}

static void teardown(struct env *e)
{
	netvsp_destroy(e->n);
	h_teardown(&e->h);
	close(e->sock[0]);
	close(e->sock[1]);
	if (e->sock1[0] >= 0) {
		close(e->sock1[0]);
		close(e->sock1[1]);
	}
}

/* SEND_RNDIS_PKT from send-buffer section sec (size bytes written there already). */
static void send_section(struct env *e, uint32_t chan_type, uint32_t sec, uint32_t size)
{
	struct nvsp_msg m = {0};

	m.type = NVSP_MSG1_SEND_RNDIS_PKT;
	m.rndis_pkt.channel_type = chan_type;
	m.rndis_pkt.section_index = sec;
	m.rndis_pkt.section_size = size;
	nvsp_send(e, &m);
}

/* The 44-byte header of an RNDIS PACKET whose flen-byte frame follows it (no per-packet info). */
static void put_packet_hdr(uint8_t *p, uint32_t flen)
{
	memset(p, 0, 44);
	put32(p, RNDIS_MSG_PACKET);
	put32(p + 4, 44 + flen);
	put32(p + 8, 36);
	put32(p + 12, flen);
}

/* An RNDIS control message through section 0; the answer from the receive buffer. */
static uint32_t control(struct env *e, const uint8_t *msg, uint32_t len, uint8_t *resp)
{
	uint8_t buf[512];
	uint32_t blen, off = 0, rlen = 0;
	bool got_comp = false, got_resp = false;

	memcpy(e->send, msg, len);
	send_section(e, NVSP_CHANNEL_CONTROL, 0, len);
	while (!got_comp || !got_resp) {
		const struct vmbus_packet_descriptor *d = (const void *)buf;

		recv_one(e, buf, sizeof(buf), &blen);
		if (d->type == VMBUS_PKT_COMP) {
			ck_assert_uint_eq(d->trans_id, e->tid);
			ck_assert_uint_eq(get32(buf + 16), NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
			ck_assert_uint_eq(get32(buf + 20), NVSP_STATUS_SUCCESS);
			got_comp = true;
		} else {
			uint64_t tid = xfer(buf, &off, &rlen);

			ck_assert_uint_lt(off / e->sub_size, e->sub_count);
			ck_assert_uint_eq(off % e->sub_size, 0);
			memcpy(resp, e->recv + off, rlen);
			complete_rx(e, tid);
			got_resp = true;
		}
	}
	return rlen;
}

static uint32_t mk_set(uint8_t *m, uint32_t oid, const void *info, uint32_t ilen)
{
	put32(m, RNDIS_MSG_SET);
	put32(m + 4, 28 + ilen);
	put32(m + 8, 42);
	put32(m + 12, oid);
	put32(m + 16, ilen);
	put32(m + 20, 20);
	put32(m + 24, 0);
	memcpy(m + 28, info, ilen);
	return 28 + ilen;
}

static void rndis_up(struct env *e)
{
	uint8_t m[64] = {0}, r[256];
	uint32_t filter = 0xb;

	put32(m, RNDIS_MSG_INIT);
	put32(m + 4, 24);
	put32(m + 8, 1);
	put32(m + 12, 1);
	put32(m + 20, 0x4000);
	ck_assert_uint_eq(control(e, m, 24, r), 52);
	ck_assert_uint_eq(get32(r), RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION);
	ck_assert_uint_eq(get32(r + 12), RNDIS_STATUS_SUCCESS);
	ck_assert_uint_eq(
	    control(e, m, mk_set(m, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &filter, 4), r), 16);
	ck_assert_uint_eq(get32(r + 12), RNDIS_STATUS_SUCCESS);
}

START_TEST(negotiate_and_control)
{
	struct env e;

	setup(&e);
	rndis_up(&e);
	teardown(&e);
}
END_TEST

START_TEST(frames_both_ways)
{
	struct env e;
	uint8_t frame[600], buf[2048], got[2048];
	struct virtio_net_hdr vh = {0};
	struct iovec iov[2] = {{&vh, sizeof(vh)}, {frame, sizeof(frame)}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	uint32_t off, len;
	uint64_t tid;
	ssize_t n;

	setup(&e);
	rndis_up(&e);
	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 13 + 1);

	/* host to guest: one RNDIS PACKET in one sub-allocation */
	vh.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	ck_assert_int_eq(sendmsg(e.sock[1], &mh, 0), (ssize_t)(sizeof(vh) + sizeof(frame)));
	recv_one(&e, buf, sizeof(buf), &len);
	tid = xfer(buf, &off, &len);
	ck_assert_uint_eq(len, RNDIS_RX_HDR_LEN + sizeof(frame));
	{
		struct rndis_tx_info ti;
		const char *why;

		ck_assert_int_eq(rndis_parse_packet(e.recv + off, RNDIS_RX_HDR_LEN, len, &ti, &why),
				 0);
		ck_assert_uint_eq(ti.data_len, sizeof(frame));
		ck_assert_mem_eq(e.recv + off + ti.data_offset, frame, sizeof(frame));
		ck_assert(ti.has_csum && (ti.csum & RNDIS_CSUM_RX_TCP_OK));
	}
	complete_rx(&e, tid);

	/* guest to host: a PACKET in section 2, then one by GPA-direct pages */
	put_packet_hdr(e.send + 2 * 6144, sizeof(frame));
	memcpy(e.send + 2 * 6144 + 44, frame, sizeof(frame));
	send_section(&e, NVSP_CHANNEL_DATA, 2, 44 + sizeof(frame));
	recv_one(&e, buf, sizeof(buf), &len);
	ck_assert_uint_eq(((struct vmbus_packet_descriptor *)buf)->type, VMBUS_PKT_COMP);
	n = backend_recv(e.sock[1], got, sizeof(got));
	ck_assert_int_eq(n, (ssize_t)(sizeof(vh) + sizeof(frame)));
	ck_assert_mem_eq(got + sizeof(vh), frame, sizeof(frame));
	teardown(&e);
}
END_TEST

/*
 * SEND_RNDIS_PKT in GPA-direct pages: its 44-byte RNDIS header in send-buffer
 * section sec, the flen-byte frame at offset of the pages from gpa; the two
 * make one message. The completion is not read.
 */
static void post_gpa_frame(struct env *e, uint32_t sec, uint64_t gpa, uint32_t pages,
			   uint32_t offset, uint32_t flen)
{
	struct gpa_range {
		uint32_t reserved, range_cnt, len, offset;
		uint64_t pfn[8];
	} r = {0};
	struct nvsp_msg m = {0};

	ck_assert_uint_le(pages, 8);
	put_packet_hdr(e->send + sec * 6144, flen);
	r.range_cnt = 1;
	r.len = flen;
	r.offset = offset;
	for (uint32_t i = 0; i < pages; i++)
		r.pfn[i] = gpa / 4096 + i;
	m.type = NVSP_MSG1_SEND_RNDIS_PKT;
	m.rndis_pkt.section_index = sec;
	m.rndis_pkt.section_size = 44;
	ck_assert_int_eq(
	    vsc_channel_send_raw(&e->ch, VMBUS_PKT_DATA_USING_GPA_DIRECT,
				 VMBUS_PKT_FLAG_COMPLETION_REQUESTED, ++e->tid, &r,
				 offsetof(struct gpa_range, pfn) + pages * sizeof(r.pfn[0]), &m,
				 sizeof(m)),
	    VSC_RING_OK);
}

/* post_gpa_frame(), and its completion read. */
static void send_gpa_frame(struct env *e, uint32_t sec, uint64_t gpa, uint32_t pages,
			   uint32_t offset, uint32_t flen)
{
	uint8_t buf[256];
	uint32_t len;

	post_gpa_frame(e, sec, gpa, pages, offset, flen);
	recv_one(e, buf, sizeof(buf), &len);
	ck_assert_uint_eq(((struct vmbus_packet_descriptor *)buf)->type, VMBUS_PKT_COMP);
}

/* One frame in GPA-direct pages reaches the backend whole. */
static void partial_copy_send(uint32_t pages, uint32_t offset, uint32_t flen)
{
	struct env e;
	static uint8_t got[64 * 1024];
	uint8_t *mem;
	uint64_t gpa;
	ssize_t n;

	ck_assert_uint_le(offset + flen, pages * 4096);
	ck_assert_uint_le(sizeof(struct virtio_net_hdr) + flen, sizeof(got));
	setup(&e);
	rndis_up(&e);
	ck_assert_int_eq(e.h.lb.plat.alloc_pages(&e.h.lb, pages, &gpa), 0);
	mem = e.h.lb.plat.map(e.h.lb.plat.ctx, gpa, pages * 4096);
	for (uint32_t i = 0; i < flen; i++)
		mem[offset + i] = (uint8_t)(i * 7 + 1);
	send_gpa_frame(&e, 3, gpa, pages, offset, flen);
	n = backend_recv(e.sock[1], got, sizeof(got));
	ck_assert_int_eq(n, (ssize_t)(sizeof(struct virtio_net_hdr) + flen));
	ck_assert_mem_eq(got + sizeof(struct virtio_net_hdr), mem + offset, flen);
	teardown(&e);
}

/* A small frame that crosses into the second page. */
START_TEST(section_plus_gpa_direct)
{
	partial_copy_send(2, 4000, 1000);
}
END_TEST

/*
 * A large send (the path that copies the guest's bytes and completes before
 * the backend write), across six pages.
 */
START_TEST(large_gpa_direct_send)
{
	partial_copy_send(6, 100, 20000);
}
END_TEST

/* A 100-byte frame of 0xee from send-buffer section 4 (its completion is not read). */
#define SMALL_FRAME 100u
static void post_small_frame(struct env *e)
{
	uint8_t *sec = e->send + 4 * 6144;

	put_packet_hdr(sec, SMALL_FRAME);
	memset(sec + 44, 0xee, SMALL_FRAME);
	send_section(e, NVSP_CHANNEL_DATA, 4, 44 + SMALL_FRAME);
}

/*
 * The backend got count flen-byte frames, frame k filled with fill0 + k, and
 * then post_small_frame()'s frame: all whole and in that order.
 */
static void expect_large_then_small(struct env *e, uint32_t count, uint32_t flen, uint8_t fill0)
{
	static uint8_t got[64 * 1024];
	const size_t h = sizeof(struct virtio_net_hdr);
	ssize_t n;

	for (uint32_t k = 0; k < count; k++) {
		n = backend_recv(e->sock[1], got, sizeof(got));
		ck_assert_int_eq(n, (ssize_t)(h + flen));
		ck_assert_uint_eq(got[h], fill0 + k);
		ck_assert_uint_eq(got[h + flen - 1], fill0 + k);
	}
	n = backend_recv(e->sock[1], got, sizeof(got));
	ck_assert_int_eq(n, (ssize_t)(h + SMALL_FRAME));
	ck_assert_uint_eq(got[h], 0xee);
}

/*
 * Large sends (each completed before its backend write) and then a small one
 * from a section: the backend gets them whole and in the guest's order,
 * although the guest rewrote its pages as soon as each send completed (the
 * copy was taken before the completion).
 */
START_TEST(large_sends_then_small_in_order)
{
	struct env e;
	const uint32_t flen = 5 * 4096;
	uint8_t *mem;
	uint64_t gpa;

	setup(&e);
	rndis_up(&e);
	ck_assert_int_eq(e.h.lb.plat.alloc_pages(&e.h.lb, 5, &gpa), 0);
	mem = e.h.lb.plat.map(e.h.lb.plat.ctx, gpa, 5 * 4096);
	for (uint32_t k = 0; k < 8; k++) { /* the socket queues 10 at most */
		memset(mem, 0x10 + (int)k, flen);
		send_gpa_frame(&e, 3, gpa, 5, 0, flen);
	}
	memset(mem, 0xff, flen); /* after the completions: must not reach the backend */
	post_small_frame(&e);
	expect_large_then_small(&e, 8, flen, 0x10);
	teardown(&e);
}
END_TEST

/*
 * Large sends queued together (more than the VSP holds before it writes to
 * the backend), then a small one, without waiting for completions: every
 * send completes, and the backend gets all of them whole and in order.
 */
START_TEST(queued_large_sends_in_order)
{
	struct env e;
	const uint32_t flen = 5 * 4096, nlarge = 7;
	uint8_t *mem, buf[256];
	uint64_t gpa;
	uint32_t len;

	setup(&e);
	rndis_up(&e);
	ck_assert_int_eq(e.h.lb.plat.alloc_pages(&e.h.lb, 5 * nlarge, &gpa), 0);
	mem = e.h.lb.plat.map(e.h.lb.plat.ctx, gpa, 5 * 4096 * nlarge);
	for (uint32_t k = 0; k < nlarge; k++) {
		memset(mem + k * flen, 0x20 + (int)k, flen);
		post_gpa_frame(&e, 3, gpa + k * flen, 5, 0, flen);
	}
	post_small_frame(&e);
	for (uint32_t k = 0; k < nlarge + 1; k++) {
		recv_one(&e, buf, sizeof(buf), &len);
		ck_assert_uint_eq(((struct vmbus_packet_descriptor *)buf)->type, VMBUS_PKT_COMP);
	}
	expect_large_then_small(&e, nlarge, flen, 0x20);
	teardown(&e);
}
END_TEST

/* An LSO send: IPv4 total length and header checksum filled, GSO fields set. */
START_TEST(large_send_fixup)
{
	struct env e;
	uint8_t pkt[2048] = {0}, got[4096];
	uint32_t flen, plen, sum = 0;
	struct virtio_net_hdr vh;
	ssize_t n;

	setup(&e);
	rndis_up(&e);
	/* frame: Ethernet, IPv4 (tot_len 0, check 0), TCP (doff 5), payload */
	flen = 14 + 20 + 20 + 1400;
	plen = 44 + 16 + flen;
	put32(pkt, RNDIS_MSG_PACKET);
	put32(pkt + 4, plen);
	put32(pkt + 8, 36 + 16);
	put32(pkt + 12, flen);
	put32(pkt + 28, 36);
	put32(pkt + 32, 16);
	put32(pkt + 44, 16);
	put32(pkt + 48, RNDIS_PPI_LSO);
	put32(pkt + 52, 12);
	put32(pkt + 56, 700 | 34u << 20 | RNDIS_LSO_V2);
	uint8_t *f = pkt + 60;
	f[12] = 0x08;
	f[14] = 0x45;
	f[14 + 8] = 64;
	f[14 + 9] = 6;
	memcpy(f + 14 + 12, "\x0a\x00\x00\x02\x0a\x00\x00\x01", 8);
	f[34 + 12] = 0x50;
	memcpy(e.send + 6144, pkt, plen);
	send_section(&e, NVSP_CHANNEL_DATA, 1, plen);
	n = backend_recv(e.sock[1], got, sizeof(got));
	ck_assert_int_eq(n, (ssize_t)(sizeof(vh) + flen));
	memcpy(&vh, got, sizeof(vh));
	ck_assert_uint_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	ck_assert_uint_eq(vh.gso_size, 700);
	ck_assert_uint_eq(vh.csum_start, 34);
	ck_assert_uint_eq(vh.csum_offset, 16);
	ck_assert_uint_eq(vh.hdr_len, 54);
	f = got + sizeof(vh);
	ck_assert_uint_eq(f[16] << 8 | f[17], flen - 14);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(f[14 + i] << 8 | f[15 + i]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ck_assert_uint_eq(sum, 0xffff); /* the IPv4 header checksum verifies */
	teardown(&e);
}
END_TEST

/*
 * With RSC, a 20000-byte frame arrives in pieces of one coalesced frame (MTU
 * 1500 and 9000): one frame per sub-allocation in a small receive buffer,
 * sub-allocations of 16 KiB in a buffer of 16 MiB (as hv_netvsc gives).
 */
static void coalesced(uint32_t ndis_mtu, uint32_t recv_pages)
{
	struct env e;
	static uint8_t frame[20000], buf[2048], whole[20000];
	struct virtio_net_hdr vh = {0};
	struct iovec iov[2] = {{&vh, sizeof(vh)}, {frame, sizeof(frame)}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	const struct vmbus_packet_descriptor *d = (const void *)buf;
	uint32_t len, ranges, at = 0;

	setup_queues(&e, 1ull << 7, ndis_mtu, 1, recv_pages);
	if (recv_pages == RECV_PAGES) {
		ck_assert_uint_lt(e.sub_size, 2 * ndis_mtu);
	} else {
		ck_assert_uint_eq(e.sub_size, 16384);
		ck_assert_uint_eq(e.sub_count, recv_pages * 4096ull / 16384);
	}
	rndis_up(&e);
	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + 3);
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	ck_assert_int_eq(sendmsg(e.sock[1], &mh, 0), (ssize_t)(sizeof(vh) + sizeof(frame)));
	recv_one(&e, buf, sizeof(buf), &len);
	ck_assert_uint_eq(d->type, VMBUS_PKT_DATA_USING_XFER_PAGES);
	ranges = get32(buf + 20);
	ck_assert_uint_eq(ranges, (sizeof(frame) + e.sub_size - RNDIS_RX_HDR_LEN - 1) /
				      (e.sub_size - RNDIS_RX_HDR_LEN));
	ck_assert_uint_ge(d->offset8 * 8u, 24 + 8 * ranges);
	for (uint32_t j = 0; j < ranges; j++) {
		uint32_t rlen = get32(buf + 24 + 8 * j), off = get32(buf + 28 + 8 * j);
		const uint8_t *r = e.recv + off;
		uint8_t want = 1 | (j == 0 ? 2 : 0) | (j + 1 == ranges ? 4 : 0);
		struct rndis_tx_info ti;
		const char *why;

		ck_assert_int_eq(rndis_parse_packet(r, RNDIS_RX_HDR_LEN, rlen, &ti, &why), 0);
		ck_assert_uint_eq(get32(r + 64), RNDIS_PPI_PKTINFO_ID);
		ck_assert_uint_eq(r[RNDIS_RX_HDR_RSC_FLAGS], want);
		ck_assert(ti.csum & RNDIS_CSUM_RX_IP_INVALID);
		memcpy(whole + at, r + ti.data_offset, ti.data_len);
		at += ti.data_len;
	}
	ck_assert_uint_eq(at, sizeof(frame));
	ck_assert_mem_eq(whole, frame, sizeof(frame));
	complete_rx(&e, d->trans_id);
	teardown(&e);
}

START_TEST(coalesced_frame)
{
	coalesced(1514, RECV_PAGES);
	coalesced(9014, RECV_PAGES);
	coalesced(1514, 4096);
	coalesced(9014, 4096);
}
END_TEST

/*
 * Frames that wait in the backend together may share one transfer-page
 * packet: each range is a whole frame (no RSC piece), in order, and the one
 * completion gives back every sub-allocation of the packet.
 */
START_TEST(frames_batched)
{
	enum { FRAMES = 40, ROUNDS = 3 };
	struct env e;
	static uint8_t frame[300], buf[4096];
	struct virtio_net_hdr vh = {0};
	struct iovec iov[2] = {{&vh, sizeof(vh)}, {frame, sizeof(frame)}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	const struct vmbus_packet_descriptor *d = (const void *)buf;
	uint32_t len, packets = 0;

	setup(&e);
	rndis_up(&e);
	vh.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	for (uint32_t round = 0; round < ROUNDS; round++) {
		uint32_t seen = 0;

		for (uint32_t k = 0; k < FRAMES; k++) {
			memset(frame, (int)(k + 1), sizeof(frame));
			ck_assert_int_eq(sendmsg(e.sock[1], &mh, 0),
					 (ssize_t)(sizeof(vh) + sizeof(frame)));
		}
		while (seen < FRAMES) {
			uint32_t ranges;

			recv_one(&e, buf, sizeof(buf), &len);
			ck_assert_uint_eq(d->type, VMBUS_PKT_DATA_USING_XFER_PAGES);
			ranges = get32(buf + 20);
			ck_assert_uint_ge(ranges, 1);
			ck_assert_uint_le(seen + ranges, FRAMES);
			ck_assert_uint_ge(d->offset8 * 8u, 24 + 8 * ranges);
			for (uint32_t j = 0; j < ranges; j++, seen++) {
				uint32_t rlen = get32(buf + 24 + 8 * j),
					 off = get32(buf + 28 + 8 * j);
				const uint8_t *r = e.recv + off;
				struct rndis_tx_info ti;
				const char *why;

				ck_assert_uint_eq(rlen, RNDIS_RX_HDR_LEN + sizeof(frame));
				ck_assert_int_eq(
				    rndis_parse_packet(r, RNDIS_RX_HDR_LEN, rlen, &ti, &why), 0);
				ck_assert_uint_eq(ti.data_len, sizeof(frame));
				ck_assert_uint_eq(r[RNDIS_RX_HDR_RSC_FLAGS] & 1,
						  0); /* no RSC piece */
				for (uint32_t b = 0; b < sizeof(frame); b++)
					ck_assert_uint_eq(r[ti.data_offset + b], seen + 1);
			}
			complete_rx(&e, d->trans_id);
			packets++;
		}
	}
	/* Fewer packets than frames is the point; at most one each is allowed. */
	ck_assert_uint_le(packets, ROUNDS * FRAMES);
	teardown(&e);
}
END_TEST

/*
 * Range j of the transfer-page packet in buf, put together as hv_netvsc
 * does: a range that is not a continuation piece starts a frame in whole
 * (max bytes), *at long so far. True when it ends the frame; *csum (if
 * asked) then has the last piece's checksum flags.
 */
static bool take_piece(const struct env *e, const uint8_t *buf, uint32_t j, uint8_t *whole,
		       uint32_t max, uint32_t *at, bool *open, uint32_t *csum)
{
	uint32_t rlen = get32(buf + 24 + 8 * j), off = get32(buf + 28 + 8 * j);
	const uint8_t *r = e->recv + off;
	uint8_t flags = r[RNDIS_RX_HDR_RSC_FLAGS];
	struct rndis_tx_info ti;
	const char *why;

	ck_assert_int_eq(rndis_parse_packet(r, RNDIS_RX_HDR_LEN, rlen, &ti, &why), 0);
	ck_assert_uint_ge(ti.data_len, 1);
	ck_assert_uint_le(ti.data_offset + ti.data_len, rlen);
	if (!(flags & RNDIS_RSC_SUBALLOC) || (flags & RNDIS_RSC_FIRST)) {
		ck_assert(!*open);
		*at = 0;
		*open = true;
	}
	ck_assert(*open);
	ck_assert_uint_le(*at + ti.data_len, max);
	memcpy(whole + *at, r + ti.data_offset, ti.data_len);
	*at += ti.data_len;
	if (csum)
		*csum = ti.csum;
	if ((flags & RNDIS_RSC_SUBALLOC) && !(flags & RNDIS_RSC_LAST))
		return false;
	*open = false;
	return true;
}

/*
 * With RSC, in-order TCP segments of one flow that wait together may reach
 * the guest as one coalesced frame: put back together as hv_netvsc does
 * (the first piece's frame, then each later piece's data), every frame has
 * an IPv4 total length that matches it and the TCP data arrives whole and
 * in order, coalesced or not.
 */
START_TEST(tcp_segments_coalesced)
{
	enum { SEGS = 12, DATA = 1000, ROUNDS = 4 };
	struct env e;
	static uint8_t frame[14 + 20 + 20 + DATA], buf[4096], whole[70000], stream[SEGS * DATA];
	struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM};
	struct iovec iov[2] = {{&vh, sizeof(vh)}, {frame, sizeof(frame)}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	const struct vmbus_packet_descriptor *d = (const void *)buf;
	uint32_t len, seq0 = 5000, frames = 0;

	setup_caps(&e, 1ull << 7, 1514);
	rndis_up(&e);
	for (uint32_t round = 0; round < ROUNDS; round++) {
		uint32_t at = 0, got = 0;
		bool open = false;

		for (uint32_t k = 0; k < SEGS; k++) {
			uint32_t seq = seq0 + k * DATA;

			memset(frame, 0, 54);
			frame[12] = 0x08;
			frame[14] = 0x45;
			frame[16] = (20 + 20 + DATA) >> 8;
			frame[17] = (20 + 20 + DATA) & 0xff;
			frame[22] = 64;
			frame[23] = 6;
			memcpy(frame + 26, "\x0a\x4d\x01\x01\x0a\x4d\x01\x02", 8);
			frame[34] = 0x13, frame[35] = 0x89, frame[36] = 0xc0, frame[37] = 0x01;
			for (int i = 0; i < 4; i++)
				frame[38 + i] = (uint8_t)(seq >> (24 - 8 * i));
			frame[45] = 1;
			frame[46] = 5 << 4;
			frame[47] = k + 1 == SEGS ? 0x18 : 0x10;
			frame[48] = 0x10;
			for (uint32_t b = 0; b < DATA; b++)
				frame[54 + b] = (uint8_t)(k * 31 + b + round);
			memcpy(stream + k * DATA, frame + 54, DATA);
			ck_assert_int_eq(sendmsg(e.sock[1], &mh, 0),
					 (ssize_t)(sizeof(vh) + sizeof(frame)));
		}
		while (got < SEGS * DATA) {
			uint32_t ranges;

			recv_one(&e, buf, sizeof(buf), &len);
			ck_assert_uint_eq(d->type, VMBUS_PKT_DATA_USING_XFER_PAGES);
			ranges = get32(buf + 20);
			for (uint32_t j = 0; j < ranges; j++) {
				if (!take_piece(&e, buf, j, whole, sizeof(whole), &at, &open, NULL))
					continue;
				/* a whole frame: its IPv4 length, its place in the stream */
				frames++;
				ck_assert_uint_ge(at, 54);
				ck_assert_uint_eq((uint32_t)(whole[16] << 8 | whole[17]), at - 14);
				uint32_t seq = (uint32_t)whole[38] << 24 |
					       (uint32_t)whole[39] << 16 |
					       (uint32_t)whole[40] << 8 | whole[41];
				ck_assert_uint_eq(seq - seq0, got);
				ck_assert_mem_eq(whole + 54, stream + got, at - 54);
				got += at - 54;
				if (got == SEGS * DATA)
					ck_assert_uint_eq(whole[47], 0x18); /* the push is kept */
			}
			ck_assert(!open); /* a coalesced frame never spans two packets */
			complete_rx(&e, d->trans_id);
		}
		seq0 += SEGS * DATA;
	}
	ck_assert_uint_le(frames, ROUNDS * SEGS);
	teardown(&e);
}
END_TEST

/*
 * A GSO frame longer than NETVSP_BACKEND_FRAME_MAX (45 segments of 1448
 * bytes, as a bridge hands over) reaches the guest as two frames within the
 * limit: put back together as hv_netvsc does, the first ends on a segment
 * boundary without PSH, the second has the next sequence number, the next
 * IPv4 ID and the PSH, both IPv4 lengths match, and the data is whole (small
 * and 16 KiB sub-allocations).
 */
static void cut(uint32_t recv_pages)
{
	enum { MSS = 1448, SEGS = 45, HL = 66, DATA = SEGS * MSS };
	struct env e;
	static uint8_t frame[HL + DATA], buf[4096], whole[70000];
	struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				    .hdr_len = HL,
				    .gso_size = MSS,
				    .csum_start = 34,
				    .csum_offset = 16};
	struct iovec iov[2] = {{&vh, sizeof(vh)}, {frame, sizeof(frame)}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	const struct vmbus_packet_descriptor *d = (const void *)buf;
	struct netvsp_stats st;
	uint32_t len, seq0 = 0xfffff000u, at = 0, got = 0, frames = 0;
	bool open = false;

	setup_queues(&e, 1ull << 7, 1514, 1, recv_pages);
	rndis_up(&e);
	memset(frame, 0, HL);
	frame[12] = 0x08;
	frame[14] = 0x45;
	frame[16] = (20 + 32 + DATA) >> 8;
	frame[17] = (20 + 32 + DATA) & 0xff;
	frame[18] = 0x12, frame[19] = 0x34; /* IPv4 ID */
	frame[22] = 64;
	frame[23] = 6;
	memcpy(frame + 26, "\x0a\x4d\x01\x01\x0a\x4d\x01\x02", 8);
	frame[34] = 0x13, frame[35] = 0x89, frame[36] = 0xc0, frame[37] = 0x01;
	for (int i = 0; i < 4; i++)
		frame[38 + i] = (uint8_t)(seq0 >> (24 - 8 * i));
	frame[45] = 1;
	frame[46] = 8 << 4;
	frame[47] = 0x18; /* ACK, PSH */
	frame[48] = 0x10;
	memcpy(frame + 54, "\x01\x01\x08\x0a\x00\x00\x00\x05\x00\x00\x00\x09", 12);
	for (uint32_t b = 0; b < DATA; b++)
		frame[HL + b] = (uint8_t)(b * 13 + b / 251);
	ck_assert_int_eq(sendmsg(e.sock[1], &mh, 0), (ssize_t)(sizeof(vh) + sizeof(frame)));
	while (got < DATA) {
		uint32_t ranges;

		recv_one(&e, buf, sizeof(buf), &len);
		ck_assert_uint_eq(d->type, VMBUS_PKT_DATA_USING_XFER_PAGES);
		ranges = get32(buf + 20);
		for (uint32_t j = 0; j < ranges; j++) {
			uint32_t seq, csum;

			if (!take_piece(&e, buf, j, whole, sizeof(whole), &at, &open, &csum))
				continue;
			frames++;
			ck_assert(csum & RNDIS_CSUM_RX_IP_INVALID); /* recompute the IPv4 sum */
			ck_assert_uint_le(at, NETVSP_BACKEND_FRAME_MAX);
			ck_assert_uint_gt(at, HL);
			ck_assert_uint_eq((uint32_t)(whole[16] << 8 | whole[17]), at - 14);
			ck_assert_uint_eq((uint32_t)(whole[18] << 8 | whole[19]),
					  0x1234 + got / MSS);
			seq = (uint32_t)whole[38] << 24 | (uint32_t)whole[39] << 16 |
			      (uint32_t)whole[40] << 8 | whole[41];
			ck_assert_uint_eq(seq - seq0, got);
			ck_assert_mem_eq(whole + 34 + 8, frame + 34 + 8, 5); /* ACK, offset */
			ck_assert_mem_eq(whole + 48, frame + 48, HL - 48);
			ck_assert_mem_eq(whole + HL, frame + HL + got, at - HL);
			got += at - HL;
			ck_assert_uint_eq(whole[47], got == DATA ? 0x18 : 0x10);
			if (got < DATA)
				ck_assert_uint_eq((at - HL) % MSS, 0); /* on a segment boundary */
		}
		ck_assert(!open);
		complete_rx(&e, d->trans_id);
	}
	ck_assert_uint_eq(got, DATA);
	ck_assert_uint_eq(frames, 2);
	netvsp_get_stats(e.n, &st);
	ck_assert_uint_eq(st.rx_split, 1);
	ck_assert_uint_eq(st.rx_frames, 2);
	teardown(&e);
}

START_TEST(gso_frame_cut)
{
	cut(RECV_PAGES);
	cut(4096);
}
END_TEST

/* After a bad input: the channel is closed and the reason logged. */
static void expect_closed(struct env *e, const char *why)
{
	for (int i = 0; i < 400 && !h_log_contains(&e->h, why); i++)
		h_run(&e->h, 5);
	ck_assert_msg(h_log_contains(&e->h, why), "no log line with '%s'", why);
}

START_TEST(hostile_section_index)
{
	struct env e;

	setup(&e);
	send_section(&e, NVSP_CHANNEL_DATA, 1000, 100);
	expect_closed(&e, "section index or size out of range");
	teardown(&e);
}
END_TEST

START_TEST(hostile_section_size)
{
	struct env e;

	setup(&e);
	send_section(&e, NVSP_CHANNEL_DATA, 1, 6145);
	expect_closed(&e, "section index or size out of range");
	teardown(&e);
}
END_TEST

START_TEST(hostile_rndis_lengths)
{
	struct env e;

	setup(&e);
	/* msg_len claims more than the section carries */
	put32(e.send, RNDIS_MSG_PACKET);
	put32(e.send + 4, 5000);
	send_section(&e, NVSP_CHANNEL_DATA, 0, 100);
	expect_closed(&e, "RNDIS message length out of the packet");
	teardown(&e);
}
END_TEST

START_TEST(hostile_rndis_data_offset)
{
	struct env e;

	setup(&e);
	memset(e.send, 0, 100);
	put32(e.send, RNDIS_MSG_PACKET);
	put32(e.send + 4, 100);
	put32(e.send + 8, 0xfffffff0u); /* data offset */
	put32(e.send + 12, 32);
	send_section(&e, NVSP_CHANNEL_DATA, 0, 100);
	expect_closed(&e, "RNDIS packet data offset/length out of the message");
	teardown(&e);
}
END_TEST

START_TEST(hostile_short_control)
{
	struct env e;

	setup(&e);
	put32(e.send, RNDIS_MSG_QUERY);
	put32(e.send + 4, 12);
	send_section(&e, NVSP_CHANNEL_CONTROL, 0, 12);
	expect_closed(&e, "RNDIS QUERY malformed");
	teardown(&e);
}
END_TEST

START_TEST(hostile_unknown_completion)
{
	struct env e;

	setup(&e);
	/* the receive buffer's first generation, a slot never sent */
	complete_rx(&e, 1ull << 32 | 12345);
	expect_closed(&e, "completion for a receive packet that is not outstanding");
	teardown(&e);
}
END_TEST

START_TEST(hostile_short_nvsp)
{
	struct env e;
	uint32_t t = NVSP_MSG1_SEND_RNDIS_PKT;

	setup(&e);
	ck_assert_int_eq(vsc_channel_send(&e.ch, VMBUS_PKT_DATA_INBAND, 0, 1, &t, 4), VSC_RING_OK);
	expect_closed(&e, "NVSP message shorter than its type needs");
	teardown(&e);
}
END_TEST

/* ---- sub-channels and vRSS ---- */

static const uint8_t ms_key[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
				   0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
				   0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
				   0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

/* NVSP 5 SUBCHANNEL: the completion's status and count. */
static void subchannel_req(struct env *e, uint32_t count, uint32_t *status, uint32_t *granted)
{
	struct nvsp_msg m = {0}, c;

	m.type = NVSP_MSG5_SUBCHANNEL;
	m.subchannel.op = NVSP_SUBCHANNEL_ALLOCATE;
	m.subchannel.count = count;
	nvsp_send(e, &m);
	nvsp_comp(e, &c);
	ck_assert_uint_eq(c.type, NVSP_MSG5_SUBCHANNEL);
	*status = c.subchannel.op;
	*granted = c.subchannel.count;
}

static void open_sub(struct env *e, struct vsc_channel *ch, uint16_t index)
{
	const struct vsc_offer *o = NULL;

	for (int i = 0; i < 400 && !o; i++) {
		o = vsc_vmbus_find_offer(&e->h.bus, &net_class, index);
		if (!o) {
			h_run(&e->h, 5);
			vsc_vmbus_poll(&e->h.bus);
		}
	}
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(vsc_channel_open(&e->h.bus, ch, o, 16, 16, 0), VSC_OK);
}

/* NDIS_RECEIVE_SCALE_PARAMETERS: 40-byte header, table of n entries, 40-byte key. */
static uint32_t mk_rss(uint8_t *o, uint32_t hashinfo, const uint32_t *itab, uint32_t n)
{
	memset(o, 0, 40);
	o[0] = 0x89;
	o[1] = 2;
	o[2] = 40;
	put32(o + 8, hashinfo);
	o[12] = (uint8_t)(4 * n);
	o[13] = (uint8_t)((4 * n) >> 8);
	put32(o + 16, 40);
	o[20] = 40;
	put32(o + 24, 40 + 4 * n);
	for (uint32_t i = 0; i < n; i++)
		put32(o + 40 + 4 * i, itab[i]);
	memcpy(o + 40 + 4 * n, ms_key, 40);
	return 80 + 4 * n;
}

/* A TCP/IPv4 frame from 66.9.149.187:2794 to 161.142.100.80:1766 (first MS vector). */
static void mk_tcp4(uint8_t *f, uint32_t len)
{
	memset(f, 0, len);
	memset(f, 0xff, 6);
	f[6] = 2;
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, "\x42\x09\x95\xbb\xa1\x8e\x64\x50", 8);
	memcpy(f + 34, "\x0a\xea\x06\xe6", 4);
	f[46] = 0x50;
}

/* Write frame into backend socket fd; the next packet on ch is it: returns the hash PPI. */
static uint32_t frame_arrives_on(struct env *e, int fd, struct vsc_channel *ch, const uint8_t *f,
				 uint32_t flen)
{
	struct virtio_net_hdr vh = {0};
	struct iovec iov[2] = {{&vh, sizeof(vh)}, {(void *)f, flen}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	uint8_t buf[2048];
	uint32_t len, off, hash = 0;
	const struct vmbus_packet_descriptor *d = (const void *)buf;
	struct {
		uint32_t type, status;
	} c = {NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, NVSP_STATUS_SUCCESS};

	ck_assert_int_eq(sendmsg(fd, &mh, 0), (ssize_t)(sizeof(vh) + flen));
	ck_assert(recv_pkt(&e->h, ch, buf, sizeof(buf), &len));
	ck_assert_uint_eq(d->type, VMBUS_PKT_DATA_USING_XFER_PAGES);
	len = get32(buf + 24);
	off = get32(buf + 28);
	ck_assert_uint_eq(len, RNDIS_RX_HDR_LEN + flen);
	ck_assert_mem_eq(e->recv + off + RNDIS_RX_HDR_LEN, f, flen);
	if (get32(e->recv + off + 32) == 48) { /* PPI length: the hash is there */
		ck_assert_uint_eq(get32(e->recv + off + 80), RNDIS_PPI_HASH);
		hash = get32(e->recv + off + 88);
	}
	ck_assert_int_eq(vsc_channel_send(ch, VMBUS_PKT_COMP, 0, d->trans_id, &c, sizeof(c)),
			 VSC_RING_OK);
	return hash;
}

START_TEST(subchannels_and_rss)
{
	struct env e;
	struct vsc_channel sub;
	uint8_t m[1024], r[256], o[600], f[200];
	uint32_t itab[128], status, granted, n;

	setup_queues(&e, 0, 1514, 2, RECV_PAGES);
	rndis_up(&e);
	/* two receive queues offered */
	memset(m, 0, 28);
	put32(m, RNDIS_MSG_QUERY);
	put32(m + 4, 28);
	put32(m + 8, 7);
	put32(m + 12, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES);
	put32(m + 16, 0);
	put32(m + 20, 20);
	n = control(&e, m, 28, r);
	ck_assert_uint_eq(get32(r + 12), RNDIS_STATUS_SUCCESS);
	ck_assert_uint_eq(n, 24 + 18);		  /* hv_netvsc's packed struct: no more */
	ck_assert_uint_eq(get32(r + 24 + 12), 2); /* num_recv_que */
	ck_assert_uint_eq(r[24 + 16] | r[24 + 17] << 8, 128);

	/* three asked, one granted (two queues), and offered as index 1 */
	subchannel_req(&e, 3, &status, &granted);
	ck_assert_uint_eq(status, NVSP_STATUS_SUCCESS);
	ck_assert_uint_eq(granted, 1);
	open_sub(&e, &sub, 1);

	/* every entry names channel 1: a frame read on queue 0 goes out on the sub-channel */
	for (int i = 0; i < 128; i++)
		itab[i] = 1;
	n = mk_rss(o, 0x1 | 0x100 | 0x200, itab, 128);
	ck_assert_uint_eq(
	    control(&e, m, mk_set(m, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, o, n), r), 16);
	ck_assert_uint_eq(get32(r + 12), RNDIS_STATUS_SUCCESS);
	mk_tcp4(f, sizeof(f));
	ck_assert_uint_eq(frame_arrives_on(&e, e.sock[1], &sub, f, sizeof(f)), 0x51ccc178);
	/* a frame the guest sends on the primary goes to the TAP queue of the channel its
	 * replies are steered to (1), so the TAP's flow table sends them there */
	{
		uint8_t pkt[44 + sizeof(f)], got[512], buf[256];
		uint32_t blen;
		ssize_t k = -1;

		put_packet_hdr(pkt, sizeof(f));
		memcpy(pkt + 44, f, sizeof(f));
		memcpy(e.send + 6144, pkt, sizeof(pkt));
		send_section(&e, NVSP_CHANNEL_DATA, 1, sizeof(pkt));
		recv_one(&e, buf, sizeof(buf), &blen);
		k = backend_recv(e.sock1[1], got, sizeof(got));
		ck_assert_int_eq(k, (ssize_t)(sizeof(struct virtio_net_hdr) + sizeof(f)));
		ck_assert_int_lt(recv(e.sock[1], got, sizeof(got), 0), 0);
	}
	/* the hash of addresses only when TCP is not hashed */
	n = mk_rss(o, 0x1 | 0x100, itab, 128);
	control(&e, m, mk_set(m, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, o, n), r);
	ck_assert_uint_eq(get32(r + 12), RNDIS_STATUS_SUCCESS);
	ck_assert_uint_eq(frame_arrives_on(&e, e.sock[1], &sub, f, sizeof(f)), 0x323e8fc2);
	/* every entry names channel 0: a frame read on queue 1 goes out on the primary */
	for (int i = 0; i < 128; i++)
		itab[i] = 0;
	n = mk_rss(o, 0x1 | 0x100 | 0x200, itab, 128);
	control(&e, m, mk_set(m, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, o, n), r);
	ck_assert_uint_eq(get32(r + 12), RNDIS_STATUS_SUCCESS);
	ck_assert_uint_eq(frame_arrives_on(&e, e.sock1[1], &e.ch, f, sizeof(f)), 0x51ccc178);
	/* the table by hash: 0x51ccc178 % 128 = 120 */
	itab[0x51ccc178u % 128] = 1;
	n = mk_rss(o, 0x1 | 0x100 | 0x200, itab, 128);
	control(&e, m, mk_set(m, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, o, n), r);
	ck_assert_uint_eq(frame_arrives_on(&e, e.sock1[1], &sub, f, sizeof(f)), 0x51ccc178);
	/* RSS off: a frame stays on the channel of its queue, without a hash */
	o[4] = 0x10;
	control(&e, m, mk_set(m, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, o, n), r);
	ck_assert_uint_eq(get32(r + 12), RNDIS_STATUS_SUCCESS);
	ck_assert_uint_eq(frame_arrives_on(&e, e.sock1[1], &sub, f, sizeof(f)), 0);
	ck_assert_uint_eq(frame_arrives_on(&e, e.sock[1], &e.ch, f, sizeof(f)), 0);

	ck_assert_int_eq(vsc_channel_close(&sub), VSC_OK);
	ck_assert_int_eq(vsc_channel_close(&e.ch), VSC_OK);
	h_run(&e.h, 20);
	ck_assert(h_log_contains(&e.h, "netvsp: 3 sub-channels asked, 1 granted"));
	ck_assert(h_log_contains(&e.h, "(sub-channel 1): netvsp: closed"));
	teardown(&e);
}
END_TEST

/* With one queue no sub-channel is granted. */
START_TEST(subchannel_refused_single_queue)
{
	struct env e;
	uint32_t status, granted;

	setup(&e);
	subchannel_req(&e, 1, &status, &granted);
	ck_assert_uint_eq(status, NVSP_STATUS_FAILURE);
	teardown(&e);
}
END_TEST

/* Bad RSS parameters close the channel. */
static void hostile_rss(void (*mutate)(uint8_t *o, uint32_t *n), const char *why)
{
	struct env e;
	struct vsc_channel sub;
	uint8_t m[2048], o[1200];
	uint32_t itab[128] = {0}, status, granted, n;

	setup_queues(&e, 0, 1514, 2, RECV_PAGES);
	rndis_up(&e);
	subchannel_req(&e, 1, &status, &granted);
	ck_assert_uint_eq(granted, 1);
	open_sub(&e, &sub, 1);
	n = mk_rss(o, 0x301, itab, 128);
	mutate(o, &n);
	memcpy(e.send, m, mk_set(m, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, o, n));
	send_section(&e, NVSP_CHANNEL_CONTROL, 0, 28 + n);
	expect_closed(&e, why);
	teardown(&e);
}

static void rss_entry_too_big(uint8_t *o, uint32_t *n)
{
	(void)n;
	put32(o + 40 + 4 * 5, 2); /* two channels: 0 and 1 */
}

static void rss_table_huge(uint8_t *o, uint32_t *n)
{
	(void)n;
	o[12] = 0xfc; /* 0xfffc bytes */
	o[13] = 0xff;
}

static void rss_table_outside(uint8_t *o, uint32_t *n)
{
	put32(o + 16, *n - 8);
}

static void rss_key_too_long(uint8_t *o, uint32_t *n)
{
	(void)n;
	o[20] = 44;
}

START_TEST(hostile_rss_params)
{
	hostile_rss(rss_entry_too_big, "indirection entry names no channel");
	hostile_rss(rss_table_huge, "indirection table size");
	hostile_rss(rss_table_outside, "indirection table outside the object");
	hostile_rss(rss_key_too_long, "hash key size");
}
END_TEST

/* A completion on another channel than the packet's closes that channel. */
START_TEST(hostile_completion_wrong_channel)
{
	struct env e;
	struct vsc_channel sub;
	uint8_t f[200], buf[512];
	uint32_t status, granted, len;
	struct virtio_net_hdr vh = {0};
	struct iovec iov[2] = {{&vh, sizeof(vh)}, {f, sizeof(f)}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	const struct vmbus_packet_descriptor *d = (const void *)buf;

	setup_queues(&e, 0, 1514, 2, RECV_PAGES);
	rndis_up(&e);
	subchannel_req(&e, 1, &status, &granted);
	open_sub(&e, &sub, 1);
	mk_tcp4(f, sizeof(f));
	ck_assert_int_eq(sendmsg(e.sock[1], &mh, 0), (ssize_t)(sizeof(vh) + sizeof(f)));
	recv_one(&e, buf, sizeof(buf), &len);
	ck_assert_uint_eq(d->type, VMBUS_PKT_DATA_USING_XFER_PAGES);
	{
		struct {
			uint32_t type, status;
		} c = {NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, NVSP_STATUS_SUCCESS};

		ck_assert_int_eq(
		    vsc_channel_send(&sub, VMBUS_PKT_COMP, 0, d->trans_id, &c, sizeof(c)),
		    VSC_RING_OK);
	}
	expect_closed(&e, "(sub-channel 1): closing the channel: completion for a receive packet");
	teardown(&e);
}
END_TEST

TEST_MAIN("netvsp-loopback", negotiate_and_control, frames_both_ways, section_plus_gpa_direct,
	  large_gpa_direct_send, large_sends_then_small_in_order, queued_large_sends_in_order,
	  large_send_fixup, coalesced_frame, frames_batched, tcp_segments_coalesced, gso_frame_cut,
	  hostile_section_index, hostile_section_size, hostile_rndis_lengths,
	  hostile_rndis_data_offset, hostile_short_control, hostile_unknown_completion,
	  hostile_short_nvsp, subchannels_and_rss, subchannel_refused_single_queue,
	  hostile_rss_params, hostile_completion_wrong_channel)

// SPDX-License-Identifier: MIT
/*
 * The VSP data plane on loopback: channels served by their own thread,
 * batching, the VSP's poll fd, drain before close, failing from the thread,
 * deferred calls, GPA-direct packets and GPADL views.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linhv/winhv_loopback.h>

#include "test_common.h"

/* A data-thread device: echoes inband packets, sums GPA-direct bytes. */
struct dp_dev {
	struct vmbus_channel *chan;
	pthread_t main_thread;
	int packets, drains, closes, polls, deferred, off_thread, on_loop_defer;
	int poll_fd;
	uint64_t gpa_bytes;
	uint32_t gpa_sum, gpa_niov;
	int gpa_err;
	bool drained_before_close;
};

static void dp_defer_fn(struct vmbus_channel *c, void *arg)
{
	struct dp_dev *d = arg;

	(void)c;
	d->deferred++;
	d->on_loop_defer += pthread_equal(pthread_self(), d->main_thread) != 0;
}

static int dp_open(struct vmbus_channel *c, void *ctx)
{
	struct dp_dev *d = ctx;

	d->poll_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_int_ge(d->poll_fd, 0);
	ck_assert_int_eq(vmbus_channel_set_poll_fd(c, d->poll_fd), 0);
	return 0;
}

static void dp_packet(struct vmbus_channel *c, const struct vmbus_packet *pkt, void *ctx)
{
	struct dp_dev *d = ctx;
	struct vmbus_gpa_direct *g;
	const char *why;

	d->packets++;
	d->off_thread += !pthread_equal(pthread_self(), d->main_thread);
	if (pkt->type == VMBUS_PKT_DATA_USING_GPA_DIRECT) {
		g = malloc(sizeof(*g));
		d->gpa_err = vmbus_packet_gpa_direct(c, pkt, g, &why);
		if (d->gpa_err) {
			vmbus_channel_fail(c, why ? why : "too large");
			free(g);
			return;
		}
		d->gpa_bytes = g->bytes;
		d->gpa_niov = g->niov;
		d->gpa_sum = 0;
		for (uint32_t i = 0; i < g->niov; i++)
			for (size_t k = 0; k < g->iov[i].iov_len; k++)
				d->gpa_sum += ((uint8_t *)g->iov[i].iov_base)[k];
		free(g);
		vmbus_channel_send_completion(c, pkt->trans_id, &d->gpa_sum, 8);
		return;
	}
	if (pkt->len >= 4 && !memcmp(pkt->data, "FAIL", 4)) {
		vmbus_channel_fail(c, "test device asked to fail");
		return;
	}
	if (pkt->len >= 5 && !memcmp(pkt->data, "DEFER", 5))
		ck_assert_int_eq(vmbus_channel_defer(c, dp_defer_fn, d), 0);
	vmbus_channel_send(c, pkt->trans_id, pkt->data, pkt->len, false);
}

static void dp_poll(struct vmbus_channel *c, void *ctx)
{
	struct dp_dev *d = ctx;
	uint64_t v;

	ck_assert_int_eq(read(d->poll_fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	d->polls++;
	d->off_thread += !pthread_equal(pthread_self(), d->main_thread);
	/* Two sends in one batch: the guest is signalled once. */
	vmbus_channel_send(c, 900, "poll-1", 6, false);
	vmbus_channel_send(c, 901, "poll-2", 6, false);
}

static void dp_drain(struct vmbus_channel *c, void *ctx)
{
	struct dp_dev *d = ctx;

	(void)c;
	d->drains++;
	d->off_thread += !pthread_equal(pthread_self(), d->main_thread);
}

static void dp_close(struct vmbus_channel *c, void *ctx)
{
	struct dp_dev *d = ctx;

	(void)c;
	d->drained_before_close = d->drains == d->closes + 1;
	d->closes++;
	close(d->poll_fd);
	d->poll_fd = -1;
}

static void dp_released(struct vmbus_channel *c, void *ctx)
{
	struct dp_dev *d = ctx;

	(void)c;
	d->chan = NULL;
}

static const struct vmbus_vsp_ops dp_ops = {
    .open = dp_open,
    .packet = dp_packet,
    .poll = dp_poll,
    .drain = dp_drain,
    .close = dp_close,
    .released = dp_released,
};

static void dp_offer(struct harness *h, struct dp_dev *d)
{
	struct vmbus_offer_params p = {0};

	memset(d, 0, sizeof(*d));
	d->main_thread = pthread_self();
	d->poll_fd = -1;
	p.if_type = echo_guid(0x30);
	p.if_instance = echo_guid(0x31);
	p.data_thread = true;
	p.ops = &dp_ops;
	p.ctx = d;
	ck_assert_int_eq(vmbus_offer(h->server, &p, &d->chan), 0);
}

START_TEST(data_thread_serves_polls_drains_then_closes)
{
	struct harness h;
	struct dp_dev d;
	struct vsc_channel ch;
	uint8_t in[256];
	uint32_t len, before, after;
	uint64_t one = 1;

	h_setup(&h, 0, 0);
	dp_offer(&h, &d);
	h_connect(&h);
	open_echo(&h, &ch, 0x30);
	for (int i = 0; i < 50; i++)
		roundtrip(&h, &ch, 1 + i * 13, i + 1);
	ck_assert_int_eq(d.packets, 50);
	/* The VSP's own fd: poll runs on the thread; its two sends raise one interrupt. */
	ck_assert_int_eq(WinHvLoopbackGuestWaitInterrupt(h.lb.partition, 0, 0, &before) >= 0, 1);
	ck_assert_int_eq(write(d.poll_fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	ck_assert(recv_pkt(&h, &ch, in, sizeof(in), &len));
	ck_assert_uint_eq(((struct vmbus_packet_descriptor *)in)->trans_id, 900);
	ck_assert(recv_pkt(&h, &ch, in, sizeof(in), &len));
	ck_assert_uint_eq(((struct vmbus_packet_descriptor *)in)->trans_id, 901);
	ck_assert_int_eq(d.polls, 1);
	(void)after;
	ck_assert_int_eq(vsc_channel_close(&ch), VSC_OK);
	h_run(&h, 10);
	ck_assert_int_eq(d.drains, 1);
	ck_assert_int_eq(d.closes, 1);
	ck_assert(d.drained_before_close);
	ck_assert_int_eq(d.off_thread, 50 + 1 + 1);
	/* Reopen: a new thread, same device. */
	open_echo(&h, &ch, 0x30);
	roundtrip(&h, &ch, 64, 77);
	h_teardown(&h);
	ck_assert_int_eq(d.drains, 2);
	ck_assert_int_eq(d.closes, 2);
}
END_TEST

START_TEST(failing_on_the_thread_closes_and_rescinds)
{
	struct harness h;
	struct dp_dev d;
	struct vsc_channel ch;

	h_setup(&h, 0, 0);
	dp_offer(&h, &d);
	h_connect(&h);
	open_echo(&h, &ch, 0x30);
	roundtrip(&h, &ch, 8, 1);
	ck_assert_int_eq(vsc_channel_send(&ch, VMBUS_PKT_DATA_INBAND, 0, 2, "FAIL", 4),
			 VSC_RING_OK);
	for (int i = 0; i < 200 && d.closes == 0; i++)
		h_run(&h, 5);
	ck_assert_int_eq(d.closes, 1);
	ck_assert_int_eq(d.drains, 1);
	ck_assert(h_log_contains(&h, "closing the channel: test device asked to fail"));
	ck_assert(!vmbus_channel_is_open(d.chan));
	h_teardown(&h);
}
END_TEST

START_TEST(defer_runs_on_the_event_loop)
{
	struct harness h;
	struct dp_dev d;
	struct vsc_channel ch;

	h_setup(&h, 0, 0);
	dp_offer(&h, &d);
	h_connect(&h);
	open_echo(&h, &ch, 0x30);
	ck_assert_int_eq(vsc_channel_send(&ch, VMBUS_PKT_DATA_INBAND, 0, 2, "DEFER", 5),
			 VSC_RING_OK);
	for (int i = 0; i < 200 && d.deferred == 0; i++)
		h_run(&h, 5);
	ck_assert_int_eq(d.deferred, 1);
	ck_assert_int_eq(d.on_loop_defer, 1);
	h_teardown(&h);
}
END_TEST

/* A GPA-direct header: one multi-page range, as storvsc sends. */
struct one_range {
	uint32_t reserved, range_cnt;
	uint32_t len, offset;
	uint64_t pfn[4];
};

START_TEST(gpa_direct_packet_gives_host_iovecs)
{
	struct harness h;
	struct dp_dev d;
	struct vsc_channel ch;
	struct one_range r = {0};
	uint8_t in[256], *mem;
	uint32_t len, sum = 0;
	uint64_t gpa;

	h_setup(&h, 0, 0);
	dp_offer(&h, &d);
	h_connect(&h);
	open_echo(&h, &ch, 0x30);
	ck_assert_int_eq(h.lb.plat.alloc_pages(&h.lb, 3, &gpa), 0);
	mem = h.lb.plat.map(h.lb.plat.ctx, gpa, 3 * 4096);
	for (int i = 0; i < 3 * 4096; i++)
		mem[i] = (uint8_t)(i * 31 + 7);
	/* 10000 bytes from offset 100 of the first page: three contiguous pages, one iovec. */
	r.range_cnt = 1;
	r.len = 10000;
	r.offset = 100;
	for (int i = 0; i < 3; i++)
		r.pfn[i] = gpa / 4096 + i;
	for (int i = 100; i < 10100; i++)
		sum += mem[i];
	ck_assert_int_eq(vsc_channel_send_raw(&ch, VMBUS_PKT_DATA_USING_GPA_DIRECT,
					      VMBUS_PKT_FLAG_COMPLETION_REQUESTED, 5, &r,
					      8 + 8 + 3 * 8, "req", 3),
			 VSC_RING_OK);
	ck_assert(recv_pkt(&h, &ch, in, sizeof(in), &len));
	ck_assert_int_eq(d.gpa_err, 0);
	ck_assert_uint_eq(d.gpa_bytes, 10000);
	ck_assert_uint_eq(d.gpa_niov, 1);
	ck_assert_uint_eq(d.gpa_sum, sum);
	ck_assert_uint_eq(*(uint32_t *)(in + 16), sum);
	/* A page outside guest RAM fails the channel. */
	r.pfn[1] = (1ull << 40);
	ck_assert_int_eq(vsc_channel_send_raw(&ch, VMBUS_PKT_DATA_USING_GPA_DIRECT, 0, 6, &r,
					      8 + 8 + 3 * 8, "req", 3),
			 VSC_RING_OK);
	for (int i = 0; i < 200 && d.closes == 0; i++)
		h_run(&h, 5);
	ck_assert_int_eq(d.closes, 1);
	ck_assert(h_log_contains(&h, "GPA-direct page outside guest RAM"));
	h_teardown(&h);
}
END_TEST

/* The parser alone: every malformed range list is refused. */
START_TEST(gpa_direct_parser_refuses_bad_lists)
{
	struct harness h;
	struct vmbus_gpa_direct *out = malloc(sizeof(*out));
	uint8_t raw[256];
	struct vmbus_gpa_direct_header hd = {0};
	const char *why;
	uint64_t gpa;

	h_setup(&h, 0, 0);
	ck_assert_int_eq(h.lb.plat.alloc_pages(&h.lb, 2, &gpa), 0);
#define BUILD(cnt, len_, off_, npfn, dataoff)                                                      \
	do {                                                                                       \
		uint32_t l = (len_), o = (off_);                                                   \
		memset(raw, 0, sizeof(raw));                                                       \
		hd.d.type = VMBUS_PKT_DATA_USING_GPA_DIRECT;                                       \
		hd.d.offset8 = (dataoff) / 8;                                                      \
		hd.d.len8 = sizeof(raw) / 8;                                                       \
		hd.range_cnt = (cnt);                                                              \
		memcpy(raw, &hd, sizeof(hd));                                                      \
		memcpy(raw + 24, &l, 4);                                                           \
		memcpy(raw + 28, &o, 4);                                                           \
		for (int i = 0; i < (npfn); i++) {                                                 \
			uint64_t pfn = gpa / 4096 + (uint64_t)i;                                   \
			memcpy(raw + 32 + i * 8, &pfn, 8);                                         \
		}                                                                                  \
	} while (0)
	BUILD(1, 8192, 0, 2, 48);
	ck_assert_int_eq(vmbus_gpa_direct_parse(h.lb.partition, raw, sizeof(raw), out, &why), 0);
	ck_assert_uint_eq(out->bytes, 8192);
	BUILD(0, 8192, 0, 2, 48);
	ck_assert_int_eq(vmbus_gpa_direct_parse(h.lb.partition, raw, sizeof(raw), out, &why),
			 -EINVAL);
	BUILD(1, 0, 0, 2, 48); /* zero length */
	ck_assert_int_eq(vmbus_gpa_direct_parse(h.lb.partition, raw, sizeof(raw), out, &why),
			 -EINVAL);
	BUILD(1, 100, 4096, 2, 48); /* offset beyond the first page */
	ck_assert_int_eq(vmbus_gpa_direct_parse(h.lb.partition, raw, sizeof(raw), out, &why),
			 -EINVAL);
	BUILD(1, 8192, 1, 2, 48); /* needs 3 PFNs, the data offset leaves room for 2 */
	ck_assert_int_eq(vmbus_gpa_direct_parse(h.lb.partition, raw, sizeof(raw), out, &why),
			 -EINVAL);
	BUILD(1, 8192, 0, 2, 512); /* data offset past the packet */
	ck_assert_int_eq(vmbus_gpa_direct_parse(h.lb.partition, raw, sizeof(raw), out, &why),
			 -EINVAL);
	BUILD(2, 8192, 0, 2, 48); /* the second range overruns */
	ck_assert_int_eq(vmbus_gpa_direct_parse(h.lb.partition, raw, sizeof(raw), out, &why),
			 -EINVAL);
	BUILD(1, 0xFFFFFFFFu, 0, 2, 48); /* more pages than allowed */
	ck_assert_int_eq(vmbus_gpa_direct_parse(h.lb.partition, raw, sizeof(raw), out, &why),
			 -E2BIG);
	BUILD(1, 4096, 0, 1, 48); /* a PFN below guest RAM (loopback RAM starts at 1 MiB) */
	memset(raw + 32, 0, 8);
	ck_assert_int_eq(vmbus_gpa_direct_parse(h.lb.partition, raw, sizeof(raw), out, &why),
			 -EINVAL);
	BUILD(1, 4096, 0, 1, 48); /* PFN that overflows a GPA */
	memset(raw + 32, 0xff, 8);
	ck_assert_int_eq(vmbus_gpa_direct_parse(h.lb.partition, raw, sizeof(raw), out, &why),
			 -EINVAL);
	ck_assert_int_eq(vmbus_gpa_direct_parse(h.lb.partition, raw, 20, out, &why), -EINVAL);
#undef BUILD
	free(out);
	h_teardown(&h);
}
END_TEST

START_TEST(gpadl_view_holds_off_teardown)
{
	struct harness h;
	struct dp_dev d;
	struct vsc_channel ch;
	struct vmbus_gpadl_view v;
	struct vmbus_server_stats st;
	struct iovec iov[4];
	uint8_t buf[16], *mem;
	uint32_t handle, gpadls;
	uint64_t gpa;

	h_setup(&h, 0, 0);
	dp_offer(&h, &d);
	h_connect(&h);
	open_echo(&h, &ch, 0x30);
	ck_assert_int_eq(h.lb.plat.alloc_pages(&h.lb, 4, &gpa), 0);
	mem = h.lb.plat.map(h.lb.plat.ctx, gpa, 4 * 4096);
	memcpy(mem + 4096 + 10, "viewdata", 8);
	ck_assert_int_eq(vsc_gpadl_create(&h.bus, ch.relid, gpa, 4, &handle), VSC_OK);
	ck_assert_int_eq(vmbus_gpadl_view_get(d.chan, handle + 1000, &v), -ENOENT);
	ck_assert_int_eq(vmbus_gpadl_view_get(d.chan, handle, &v), 0);
	ck_assert_uint_eq(v.npages, 4);
	ck_assert_int_eq(vmbus_gpadl_view_copy(&v, 4096 + 10, buf, 8, false), 0);
	ck_assert_mem_eq(buf, "viewdata", 8);
	ck_assert_int_eq(vmbus_gpadl_view_copy(&v, 4 * 4096 - 4, buf, 8, false), -ERANGE);
	ck_assert_int_eq(vmbus_gpadl_view_iov(&v, 100, 3 * 4096, iov, 4), 1); /* contiguous */
	ck_assert_int_eq(vmbus_gpadl_view_iov(&v, 100, 4 * 4096, iov, 4), -ERANGE);
	vmbus_server_get_stats(h.server, &st);
	gpadls = st.gpadls;
	/* The guest tears it down: no TORNDOWN while the view is held. */
	h.bus.wait_limit = 50;
	ck_assert_int_ne(vsc_gpadl_teardown(&h.bus, ch.relid, handle), VSC_OK);
	vmbus_server_get_stats(h.server, &st);
	ck_assert_uint_eq(st.gpadls, gpadls);
	{
		struct vmbus_gpadl_view v2;

		ck_assert_int_eq(vmbus_gpadl_view_get(d.chan, handle, &v2), -EBUSY);
	}
	vmbus_gpadl_view_put(d.chan, &v);
	h.bus.wait_limit = 2000;
	/* Putting the last view finishes the teardown: GPADL_TORNDOWN now. */
	ck_assert_int_eq(vsc_vmbus_wait(&h.bus, VMBUS_MSG_GPADL_TORNDOWN, 8, handle, NULL, 0),
			 VSC_OK);
	vmbus_server_get_stats(h.server, &st);
	ck_assert_uint_eq(st.gpadls, gpadls - 1);
	h_teardown(&h);
}
END_TEST

TEST_MAIN("vmbus-dataplane", data_thread_serves_polls_drains_then_closes,
	  failing_on_the_thread_closes_and_rescinds, defer_runs_on_the_event_loop,
	  gpa_direct_packet_gives_host_iovecs, gpa_direct_parser_refuses_bad_lists,
	  gpadl_view_holds_off_teardown)

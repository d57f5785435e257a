// SPDX-License-Identifier: MIT
/* Test harness (harness.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static void capture(void *ctx, const char *line)
{
	struct harness *h = ctx;

	if (getenv("VMBUS_TEST_VERBOSE"))
		fprintf(stderr, "%s\n", line);
	if (h->nlog < H_LOG_LINES)
		snprintf(h->log[h->nlog++], sizeof(h->log[0]), "%s", line);
}

void h_setup(struct harness *h, uint32_t max_version, uint32_t min_version)
{
	struct vmbus_server_params sp = {0};

	memset(h, 0, sizeof(*h));
	ck_assert_int_eq(evloop_create(&h->loop), 0);
	ck_assert_int_eq(vsc_loopback_create(&h->lb, 2, 32 << 20, 0, h->loop), 0);
	sp.partition = h->lb.partition;
	sp.loop = h->loop;
	sp.vp_count = 2;
	sp.max_version = max_version;
	sp.min_version = min_version;
	sp.log = capture;
	sp.log_ctx = h;
	ck_assert_int_eq(vmbus_server_create(&sp, &h->server), 0);
	ck_assert_int_eq(vsc_vmbus_init(&h->bus, &h->lb.plat), VSC_OK);
	h->bus.wait_limit = 2000;
}

void h_teardown(struct harness *h)
{
	vmbus_server_destroy(h->server);
	vsc_loopback_destroy(&h->lb);
	evloop_destroy(h->loop);
}

void h_connect(struct harness *h)
{
	ck_assert_int_eq(vsc_vmbus_connect(&h->bus, VMBUS_VERSION_WIN10_V5_3), VSC_OK);
	ck_assert_int_eq(vsc_vmbus_request_offers(&h->bus), VSC_OK);
}

bool h_log_contains(const struct harness *h, const char *needle)
{
	for (int i = 0; i < h->nlog; i++)
		if (strstr(h->log[i], needle))
			return true;
	return false;
}

void h_run(struct harness *h, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		h->lb.plat.wait(h->lb.plat.ctx);
		vsc_vmbus_poll(&h->bus);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

uint32_t h_post_raw(struct harness *h, const void *msg, uint32_t size)
{
	return h->lb.plat.post_message(h->lb.plat.ctx, h->bus.msg_conn_id, msg, size);
}

/* ---- echo device ---- */

static int echo_open(struct vmbus_channel *c, void *ctx)
{
	struct echo_dev *d = ctx;

	(void)c;
	d->opens++;
	return d->refuse_open ? -1 : 0;
}

static void echo_packet(struct vmbus_channel *c, const struct vmbus_packet *pkt, void *ctx)
{
	struct echo_dev *d = ctx;

	d->packets++;
	d->last_len = pkt->len;
	d->last_trans_id = pkt->trans_id;
	if (pkt->type != VMBUS_PKT_DATA_INBAND)
		return;
	if (pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED)
		vmbus_channel_send_completion(c, pkt->trans_id, pkt->data, pkt->len);
	else
		vmbus_channel_send(c, pkt->trans_id, pkt->data, pkt->len, false);
}

static void echo_writable(struct vmbus_channel *c, void *ctx)
{
	struct echo_dev *d = ctx;

	(void)c;
	d->writable++;
}

static void echo_close(struct vmbus_channel *c, void *ctx)
{
	struct echo_dev *d = ctx;

	(void)c;
	d->closes++;
}

static void echo_released(struct vmbus_channel *c, void *ctx)
{
	struct echo_dev *d = ctx;

	(void)c;
	d->released++;
	d->chan = NULL;
}

const struct vmbus_vsp_ops echo_ops = {
    .open = echo_open,
    .packet = echo_packet,
    .writable = echo_writable,
    .close = echo_close,
    .released = echo_released,
};

struct vmbus_guid echo_guid(uint8_t type_byte)
{
	struct vmbus_guid g = VMBUS_GUID_INIT(0x11110000, 0x2222, 0x3333, 0x44, 0x55, 0x66, 0x77,
					      0x88, 0x99, 0xaa, 0xbb);

	g.b[0] = type_byte;
	return g;
}

void echo_offer(struct harness *h, struct echo_dev *d, uint8_t type_byte, uint8_t inst,
		uint32_t max_packet)
{
	struct vmbus_offer_params p = {0};

	p.if_type = echo_guid(type_byte);
	p.if_instance = echo_guid(inst);
	p.max_packet_size = max_packet;
	p.ops = &echo_ops;
	p.ctx = d;
	ck_assert_int_eq(vmbus_offer(h->server, &p, &d->chan), 0);
}

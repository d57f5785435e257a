/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the loopback end-to-end tests. */
#ifndef VMBUS_TEST_COMMON_H
#define VMBUS_TEST_COMMON_H

#include <check.h>
#include <errno.h>
#include <string.h>

#include "check_main.h"
#include "harness.h"

/* Receive one packet on ch, pumping the host; false on timeout. */
static inline bool recv_pkt(struct harness *h, struct vsc_channel *ch, uint8_t *buf, uint32_t max,
			    uint32_t *len)
{
	for (int i = 0; i < 2000; i++) {
		int rc = vsc_channel_recv(ch, buf, max, len);

		if (rc == VSC_RING_OK)
			return true;
		ck_assert_int_eq(rc, VSC_RING_EMPTY);
		h->lb.plat.wait(h->lb.plat.ctx);
		vsc_vmbus_poll(&h->bus);
	}
	return false;
}

static inline const struct vsc_offer *offer_of(struct harness *h, uint8_t type_byte, uint16_t sub)
{
	struct vmbus_guid g = echo_guid(type_byte);

	return vsc_vmbus_find_offer(&h->bus, &g, sub);
}

static inline void open_echo(struct harness *h, struct vsc_channel *ch, uint8_t type_byte)
{
	const struct vsc_offer *o = offer_of(h, type_byte, 0);

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(vsc_channel_open(&h->bus, ch, o, 4, 4, 0), VSC_OK);
}

/* One round trip through an echo device. */
static inline void roundtrip(struct harness *h, struct vsc_channel *ch, uint32_t n, uint64_t id)
{
	uint8_t out[4096], in[8192];
	uint32_t len;

	for (uint32_t k = 0; k < n; k++)
		out[k] = (uint8_t)(k * 7 + id);
	ck_assert_int_eq(vsc_channel_send(ch, VMBUS_PKT_DATA_INBAND, 0, id, out, n), VSC_RING_OK);
	ck_assert(recv_pkt(h, ch, in, sizeof(in), &len));
	ck_assert_uint_eq(((struct vmbus_packet_descriptor *)in)->trans_id, id);
	ck_assert_uint_eq(len, (16 + n + 7) & ~7u);
	ck_assert_mem_eq(in + 16, out, n);
}

#endif /* VMBUS_TEST_COMMON_H */

// SPDX-License-Identifier: MIT
/* RNDIS control answers, data-message parsing and the receive-side builders. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "rndis.h"

static uint32_t rd(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void wr(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static const struct rndis_config cfg = {
    .mac = {0x02, 0x4c, 1, 2, 3, 4},
    .mtu = 1500,
    .link_speed = 100000000,
    .link_up = true,
    .nvsp_version = 0x60001,
};

/* A QUERY for oid with info_len bytes of input buffer. */
static uint32_t mk_query(uint8_t *m, uint32_t type, uint32_t oid, uint32_t info_len)
{
	uint32_t len = 28 + info_len;

	memset(m, 0, len);
	wr(m, type);
	wr(m + 4, len);
	wr(m + 8, 77); /* req_id */
	wr(m + 12, oid);
	wr(m + 16, info_len);
	wr(m + 20, info_len ? 20 : 0);
	return len;
}

static uint32_t ask(struct rndis_state *st, uint8_t *m, uint32_t len, uint8_t *resp)
{
	uint32_t rlen = 0;
	const char *why = NULL;

	ck_assert_int_eq(rndis_control(st, &cfg, m, len, resp, &rlen, &why), 0);
	return rlen;
}

START_TEST(init_and_queries)
{
	struct rndis_state st;
	uint8_t m[256], r[RNDIS_RESPONSE_MAX];
	uint32_t n;

	rndis_state_reset(&st);
	memset(m, 0, sizeof(m));
	wr(m, RNDIS_MSG_INIT);
	wr(m + 4, 24);
	wr(m + 8, 5);
	wr(m + 12, 1);
	wr(m + 20, 0x4000);
	n = ask(&st, m, 24, r);
	ck_assert_uint_eq(n, 52);
	ck_assert_uint_eq(rd(r), RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION);
	ck_assert_uint_eq(rd(r + 4), 52);
	ck_assert_uint_eq(rd(r + 8), 5);
	ck_assert_uint_eq(rd(r + 12), RNDIS_STATUS_SUCCESS);
	ck_assert_uint_eq(rd(r + 32), RNDIS_MAX_PKT_PER_MSG);
	ck_assert(st.initialized);

	n = ask(&st, m, mk_query(m, RNDIS_MSG_QUERY, RNDIS_OID_802_3_PERMANENT_ADDRESS, 0), r);
	ck_assert_uint_eq(n, 30);
	ck_assert_uint_eq(rd(r + 12), 0);
	ck_assert_uint_eq(rd(r + 16), 6);
	ck_assert_uint_eq(rd(r + 20), 16);
	ck_assert_mem_eq(r + 24, cfg.mac, 6);

	n = ask(&st, m, mk_query(m, RNDIS_MSG_QUERY, RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, 0), r);
	ck_assert_uint_eq(rd(r + 24), 1500);
	n = ask(&st, m, mk_query(m, RNDIS_MSG_QUERY, RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, 0), r);
	ck_assert_uint_eq(rd(r + 24), 0); /* connected */
	n = ask(&st, m, mk_query(m, RNDIS_MSG_QUERY, RNDIS_OID_GEN_LINK_SPEED, 0), r);
	ck_assert_uint_eq(rd(r + 24), 100000000);

	/* unknown and may-fail OIDs */
	n = ask(&st, m, mk_query(m, RNDIS_MSG_QUERY, 0x12345678, 0), r);
	ck_assert_uint_eq(n, 24);
	ck_assert_uint_eq(rd(r + 12), RNDIS_STATUS_NOT_SUPPORTED);
	ck_assert_uint_eq(rd(r + 16), 0);
	ask(&st, m, mk_query(m, RNDIS_MSG_QUERY, RNDIS_OID_GEN_FRIENDLY_NAME, 0), r);
	ck_assert_uint_eq(rd(r + 12), RNDIS_STATUS_NOT_SUPPORTED);
	/* no vRSS offered with one queue */
	ask(&st, m, mk_query(m, RNDIS_MSG_QUERY, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, 18), r);
	ck_assert_uint_eq(rd(r + 12), RNDIS_STATUS_NOT_SUPPORTED);
	/* with four: exactly hv_netvsc's packed 18-byte NDIS_RECEIVE_SCALE_CAPABILITIES
	 * (a longer answer makes it give up vRSS) */
	{
		struct rndis_config c4 = cfg;
		uint32_t rlen = 0;
		const char *why = NULL;

		c4.rss_queues = 4;
		ck_assert_int_eq(
		    rndis_control(
			&st, &c4, m,
			mk_query(m, RNDIS_MSG_QUERY, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, 18),
			r, &rlen, &why),
		    0);
		ck_assert_uint_eq(rd(r + 12), RNDIS_STATUS_SUCCESS);
		ck_assert_uint_eq(rd(r + 16), 18);
		ck_assert_uint_eq(rlen, 24 + 18);
		ck_assert_uint_eq(r[24], 0x88);
		ck_assert_uint_eq(rd(r + 24 + 12), 4);		      /* receive queues */
		ck_assert_uint_eq(r[24 + 16] | r[24 + 17] << 8, 128); /* table entries */
	}
}
END_TEST

/* What hv_netvsc checks: type OFFLOAD, revision >= 1, 6.0 size <= size <= what it asked. */
START_TEST(offload_caps)
{
	static const uint32_t asked[] = {156, 144, 112};
	struct rndis_state st;
	uint8_t m[512], r[RNDIS_RESPONSE_MAX];

	rndis_state_reset(&st);
	for (unsigned i = 0; i < 3; i++) {
		uint32_t len = mk_query(m, RNDIS_MSG_QUERY,
					RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, asked[i]);
		uint32_t n = ask(&st, m, len, r), size;

		ck_assert_uint_eq(rd(r + 12), RNDIS_STATUS_SUCCESS);
		ck_assert_uint_eq(r[24], 0xa7);
		ck_assert_uint_ge(r[25], 1);
		size = (uint32_t)r[26] | (uint32_t)r[27] << 8;
		ck_assert_uint_ge(size, 112);
		ck_assert_uint_le(size, asked[i]);
		ck_assert_uint_eq(rd(r + 16), size);
		ck_assert_uint_eq(n, 24 + size);
		/* TCP4 + TCP4 options transmit checksum, LSO v2 IPv4 over 802.3 */
		ck_assert_uint_eq(rd(r + 24 + 8) & 0x14, 0x14);
		ck_assert_uint_eq(rd(r + 24 + 80) & 2, 2);
		/* 64 KiB sends, Linux's own cap, both for IPv4 and IPv6 */
		ck_assert_uint_eq(rd(r + 24 + 84), 65536);
		ck_assert_uint_eq(rd(r + 24 + 96), 65536);
	}
}
END_TEST

START_TEST(sets)
{
	struct rndis_state st;
	uint8_t m[512], r[RNDIS_RESPONSE_MAX];
	uint32_t len;

	rndis_state_reset(&st);
	len = mk_query(m, RNDIS_MSG_SET, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, 4);
	wr(m + 28, 0xb);
	ck_assert_uint_eq(ask(&st, m, len, r), 16);
	ck_assert_uint_eq(rd(r), RNDIS_MSG_SET | RNDIS_MSG_COMPLETION);
	ck_assert_uint_eq(rd(r + 12), RNDIS_STATUS_SUCCESS);
	ck_assert_uint_eq(st.packet_filter, 0xb);

	/* offload parameters as netvsc sets them: type DEFAULT, revision 3 */
	len = mk_query(m, RNDIS_MSG_SET, RNDIS_OID_TCP_OFFLOAD_PARAMETERS, 28);
	m[28] = 0x80;
	m[29] = 3;
	m[28 + 5] = 4;	/* TCP IPv4 checksum tx+rx */
	m[28 + 11] = 2; /* LSO v2 IPv4 on */
	ask(&st, m, len, r);
	ck_assert_uint_eq(rd(r + 12), RNDIS_STATUS_SUCCESS);
	ck_assert(st.tx_csum_v4 && st.lso_v4);

	len = mk_query(m, RNDIS_MSG_SET, 0xdeadbeef, 4);
	ask(&st, m, len, r);
	ck_assert_uint_eq(rd(r + 12), RNDIS_STATUS_NOT_SUPPORTED);

	/* keepalive answered; halt answered with nothing */
	memset(m, 0, 16);
	wr(m, RNDIS_MSG_KEEPALIVE);
	wr(m + 4, 12);
	wr(m + 8, 9);
	ck_assert_uint_eq(ask(&st, m, 12, r), 16);
	ck_assert_uint_eq(rd(r + 8), 9);
	wr(m, RNDIS_MSG_HALT);
	ck_assert_uint_eq(ask(&st, m, 12, r), 0);
	ck_assert(!st.initialized);
}
END_TEST

START_TEST(control_malformed)
{
	struct rndis_state st;
	uint8_t m[512], r[RNDIS_RESPONSE_MAX];
	uint32_t rlen, len;
	const char *why;

	rndis_state_reset(&st);
	/* info buffer reaching past the message */
	len = mk_query(m, RNDIS_MSG_SET, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, 4);
	wr(m + 16, 5);
	ck_assert_int_eq(rndis_control(&st, &cfg, m, len, r, &rlen, &why), -22);
	/* info offset inside the fixed fields */
	len = mk_query(m, RNDIS_MSG_SET, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, 4);
	wr(m + 20, 8);
	ck_assert_int_eq(rndis_control(&st, &cfg, m, len, r, &rlen, &why), -22);
	/* huge offset (wrap) */
	len = mk_query(m, RNDIS_MSG_QUERY, RNDIS_OID_GEN_LINK_SPEED, 4);
	wr(m + 20, 0xfffffff0u);
	ck_assert_int_eq(rndis_control(&st, &cfg, m, len, r, &rlen, &why), -22);
	/* msg_len lying */
	len = mk_query(m, RNDIS_MSG_QUERY, RNDIS_OID_GEN_LINK_SPEED, 0);
	wr(m + 4, len + 8);
	ck_assert_int_eq(rndis_control(&st, &cfg, m, len, r, &rlen, &why), -22);
	/* short messages and unknown types */
	ck_assert_int_eq(rndis_control(&st, &cfg, m, 8, r, &rlen, &why), -22);
	wr(m, 0x55);
	wr(m + 4, 12);
	ck_assert_int_eq(rndis_control(&st, &cfg, m, 12, r, &rlen, &why), -22);
	wr(m, RNDIS_MSG_INIT);
	ck_assert_int_eq(rndis_control(&st, &cfg, m, 12, r, &rlen, &why), -22);
}
END_TEST

/* A PACKET message like hv_netvsc's: header, PPIs, frame. */
static uint32_t mk_packet(uint8_t *m, uint32_t frame_len, uint32_t nppi, const uint32_t *types,
			  const uint32_t *vals)
{
	uint32_t ppi_len = 16 * nppi, doff = 36 + ppi_len, len = 8 + doff + frame_len;

	memset(m, 0, len);
	wr(m, RNDIS_MSG_PACKET);
	wr(m + 4, len);
	wr(m + 8, doff);
	wr(m + 12, frame_len);
	wr(m + 28, nppi ? 36 : 0);
	wr(m + 32, ppi_len);
	for (uint32_t i = 0; i < nppi; i++) {
		uint8_t *p = m + 8 + 36 + 16 * i;

		wr(p, 16);
		wr(p + 4, types[i]);
		wr(p + 8, 12);
		wr(p + 12, vals[i]);
	}
	return len;
}

START_TEST(packets)
{
	uint8_t m[2048];
	struct rndis_tx_info ti;
	const char *why;
	uint32_t types[2] = {RNDIS_PPI_LSO, RNDIS_PPI_VLAN},
		 vals[2] = {1448 | 34u << 20 | 1u << 30, 5};
	uint32_t len = mk_packet(m, 1000, 2, types, vals);

	ck_assert_int_eq(rndis_parse_packet(m, len < 256 ? len : 256, len, &ti, &why), 0);
	ck_assert_uint_eq(ti.data_offset, 8 + 36 + 32);
	ck_assert_uint_eq(ti.data_len, 1000);
	ck_assert(ti.has_lso && ti.has_vlan && !ti.has_csum);
	ck_assert_uint_eq(RNDIS_LSO_MSS(ti.lso), 1448);
	ck_assert_uint_eq(RNDIS_LSO_L4_OFFSET(ti.lso), 34);
	ck_assert_uint_eq(ti.vlan, 5);

	/* no PPIs */
	len = mk_packet(m, 60, 0, NULL, NULL);
	ck_assert_int_eq(rndis_parse_packet(m, len, len, &ti, &why), 0);
	ck_assert_uint_eq(ti.data_offset, 44);
}
END_TEST

START_TEST(packets_malformed)
{
	uint8_t m[2048];
	struct rndis_tx_info ti;
	const char *why;
	uint32_t types[1] = {RNDIS_PPI_CHECKSUM}, vals[1] = {0};
	uint32_t len = mk_packet(m, 100, 1, types, vals);

	/* data length beyond the message */
	wr(m + 12, 101);
	ck_assert_int_eq(rndis_parse_packet(m, len, len, &ti, &why), -22);
	wr(m + 12, 100);
	/* data offset wraps */
	wr(m + 8, 0xffffffffu);
	ck_assert_int_eq(rndis_parse_packet(m, len, len, &ti, &why), -22);
	wr(m + 8, 52);
	/* PPI size 0 (would loop forever) */
	wr(m + 44, 0);
	ck_assert_int_eq(rndis_parse_packet(m, len, len, &ti, &why), -22);
	wr(m + 44, 16);
	/* PPI value offset past its size */
	wr(m + 52, 14);
	ck_assert_int_eq(rndis_parse_packet(m, len, len, &ti, &why), -22);
	wr(m + 52, 12);
	/* PPI list overlapping the data */
	wr(m + 32, 40);
	ck_assert_int_eq(rndis_parse_packet(m, len, len, &ti, &why), -22);
	wr(m + 32, 16);
	/* PPI list beyond the copied header */
	ck_assert_int_eq(rndis_parse_packet(m, 50, len, &ti, &why), -22);
	/* too short */
	ck_assert_int_eq(rndis_parse_packet(m, 40, 40, &ti, &why), -22);
	/* sane again */
	ck_assert_int_eq(rndis_parse_packet(m, len, len, &ti, &why), 0);
	ck_assert(ti.has_csum);
}
END_TEST

START_TEST(builders)
{
	uint8_t h[RNDIS_RX_HDR_LEN], ind[RNDIS_INDICATE_LEN];
	struct rndis_tx_info ti;
	const char *why;

	rndis_build_rx_hdr(h, 1514, RNDIS_CSUM_RX_TCP_OK, 0, 0, false, 0);
	ck_assert_uint_eq(rd(h), RNDIS_MSG_PACKET);
	ck_assert_uint_eq(rd(h + 4), RNDIS_RX_HDR_LEN + 1514);
	/* our own header parses back, as the guest would read it */
	{
		uint8_t m[RNDIS_RX_HDR_LEN + 1514] = {0};

		memcpy(m, h, sizeof(h));
		ck_assert_int_eq(rndis_parse_packet(m, RNDIS_RX_HDR_LEN, sizeof(m), &ti, &why), 0);
		ck_assert_uint_eq(ti.data_offset, RNDIS_RX_HDR_LEN);
		ck_assert_uint_eq(ti.data_len, 1514);
		ck_assert(ti.has_csum);
		ck_assert_uint_eq(ti.csum, RNDIS_CSUM_RX_TCP_OK);
	}
	rndis_build_indicate(ind, RNDIS_STATUS_MEDIA_DISCONNECT);
	ck_assert_uint_eq(rd(ind), RNDIS_MSG_INDICATE);
	ck_assert_uint_eq(rd(ind + 4), RNDIS_INDICATE_LEN);
	ck_assert_uint_eq(rd(ind + 8), RNDIS_STATUS_MEDIA_DISCONNECT);
}
END_TEST

TEST_MAIN("netvsp-rndis", init_and_queries, offload_caps, sets, control_malformed, packets,
	  packets_malformed, builders)

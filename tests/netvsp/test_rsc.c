// SPDX-License-Identifier: MIT
/*
 * Receive segment coalescing: which frames rsc_parse() takes as TCP data
 * segments, and when rsc_continues() lets one join the frame before it.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "rsc.h"

/* Ethernet + IPv4 + TCP (12 bytes of options) + payload bytes; returns the frame length. */
static uint32_t mk(uint8_t *f, uint32_t seq, uint32_t payload, uint8_t flags)
{
	uint32_t tot = 20 + 32 + payload;

	memset(f, 0, 14 + tot);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)(tot >> 8);
	f[17] = (uint8_t)tot;
	f[14 + 6] = 0x40; /* DF */
	f[14 + 8] = 64;
	f[14 + 9] = 6;
	memcpy(f + 26, "\x0a\x4d\x01\x01\x0a\x4d\x01\x02", 8);
	f[34] = 0x13, f[35] = 0x89; /* 5001 */
	f[36] = 0xc0, f[37] = 0x01;
	for (int i = 0; i < 4; i++)
		f[38 + i] = (uint8_t)(seq >> (24 - 8 * i));
	f[42 + 3] = 7; /* ack 7 */
	f[46] = 8 << 4;
	f[47] = flags;
	f[48] = 0x01, f[49] = 0xf5; /* window */
	memcpy(f + 54, "\x01\x01\x08\x0a\x00\x00\x00\x05\x00\x00\x00\x09", 12);
	return 14 + tot;
}

START_TEST(parse_data_segments)
{
	uint8_t f[2000];
	struct rsc_seg s;
	uint32_t len = mk(f, 1000, 1400, 0x10);

	ck_assert(rsc_parse(f, RSC_HDR_PEEK, len, &s));
	ck_assert_uint_eq(s.hdr_len, 66);
	ck_assert_uint_eq(s.payload, 1400);
	ck_assert_uint_eq(s.seq, 1000);
	ck_assert_uint_eq(s.ack, 7);
	ck_assert_uint_eq(s.sport, 5001);
	len = mk(f, 1000, 1, 0x18); /* PSH is a data segment too */
	ck_assert(rsc_parse(f, len, len, &s));
}
END_TEST

START_TEST(parse_refuses)
{
	uint8_t f[2000];
	struct rsc_seg s;
	uint32_t len;

	len = mk(f, 1, 0, 0x10);
	ck_assert(!rsc_parse(f, len, len, &s)); /* no data: a pure ACK */
	static const uint8_t flags[] = {0x02, 0x12, 0x11, 0x14, 0x30, 0x50, 0x90, 0x00};
	for (unsigned i = 0; i < sizeof(flags); i++) {
		len = mk(f, 1, 100, flags[i]);
		ck_assert_msg(!rsc_parse(f, len, len, &s), "flags %#x", flags[i]);
	}
	len = mk(f, 1, 100, 0x10);
	ck_assert(!rsc_parse(f, 60, len, &s));	    /* headers not all there */
	ck_assert(!rsc_parse(f, len, len + 4, &s)); /* Ethernet padding: length disagrees */
	f[20] |= 0x20;				    /* MF */
	ck_assert(!rsc_parse(f, len, len, &s));
	len = mk(f, 1, 100, 0x10);
	f[21] = 1; /* a fragment offset */
	ck_assert(!rsc_parse(f, len, len, &s));
	len = mk(f, 1, 100, 0x10);
	f[14] = 0x46; /* IP options */
	ck_assert(!rsc_parse(f, len, len, &s));
	len = mk(f, 1, 100, 0x10);
	f[23] = 17; /* UDP */
	ck_assert(!rsc_parse(f, len, len, &s));
	len = mk(f, 1, 100, 0x10);
	f[12] = 0x86, f[13] = 0xdd; /* IPv6 */
	ck_assert(!rsc_parse(f, len, len, &s));
	len = mk(f, 1, 100, 0x10);
	f[46] = 4 << 4; /* TCP header shorter than 20 */
	ck_assert(!rsc_parse(f, len, len, &s));
	len = mk(f, 1, 10, 0x10);
	f[46] = 15 << 4; /* TCP header longer than the packet */
	ck_assert(!rsc_parse(f, len, len, &s));
}
END_TEST

START_TEST(continues_only_in_order)
{
	uint8_t f[2000];
	struct rsc_seg a, b;
	uint32_t len;

	len = mk(f, 1000, 1400, 0x10);
	ck_assert(rsc_parse(f, len, len, &a));
	len = mk(f, 2400, 1400, 0x10);
	ck_assert(rsc_parse(f, len, len, &b));
	ck_assert(rsc_continues(&a, 1400, &b));
	ck_assert(!rsc_continues(&a, 1399, &b)); /* a gap or an overlap */
	b.ack++;
	ck_assert(!rsc_continues(&a, 1400, &b));
	b.ack--, b.window++;
	ck_assert(!rsc_continues(&a, 1400, &b));
	b.window--, b.opts[11]++; /* another timestamp */
	ck_assert(!rsc_continues(&a, 1400, &b));
	b.opts[11]--, b.dport++;
	ck_assert(!rsc_continues(&a, 1400, &b));
	b.dport--, b.saddr++;
	ck_assert(!rsc_continues(&a, 1400, &b));
	b.saddr--, b.ttl++;
	ck_assert(!rsc_continues(&a, 1400, &b));
	b.ttl--;
	ck_assert(rsc_continues(&a, 1400, &b));
	a.tcp_flags |= 0x08; /* a pushed head takes nothing more */
	ck_assert(!rsc_continues(&a, 1400, &b));
	a.tcp_flags &= (uint8_t)~0x08;
	/* The frame stays within RSC_FRAME_MAX (and so the IPv4 length in 16 bits). */
	ck_assert_uint_eq(a.hdr_len, 14 + 20 + 32);
	b.seq = a.seq + 64000;
	ck_assert(!rsc_continues(&a, 64000, &b));
	b.seq = a.seq + (RSC_FRAME_MAX - a.hdr_len - 1400);
	ck_assert(rsc_continues(&a, RSC_FRAME_MAX - a.hdr_len - 1400, &b));
	b.seq++;
	ck_assert(!rsc_continues(&a, RSC_FRAME_MAX - a.hdr_len - 1399, &b));
	b.seq = a.seq + 60000;
	ck_assert(rsc_continues(&a, 60000, &b));
	/* Sequence numbers wrap. */
	len = mk(f, 0xfffffa00u, 1400, 0x10);
	ck_assert(rsc_parse(f, len, len, &a));
	len = mk(f, 0xfffffa00u + 1400u, 1400, 0x10);
	ck_assert(rsc_parse(f, len, len, &b));
	ck_assert(rsc_continues(&a, 1400, &b));
}
END_TEST

/* Where a frame too long for one guest buffer is cut, and the two parts' headers. */
START_TEST(cut_long_frames)
{
	static uint8_t f[14 + 65535];
	uint8_t h[RSC_HDR_PEEK], h2[RSC_HDR_PEEK];
	struct rsc_seg s;
	uint32_t len, at;

	/* Short enough, not GSO, or headers that fill a piece: no cut. */
	ck_assert_uint_eq(rsc_split_at(66, RSC_FRAME_MAX, 1448, 16292), 0);
	ck_assert_uint_eq(rsc_split_at(66, 65226, 0, 16292), 0);
	ck_assert_uint_eq(rsc_split_at(66, 65226, 1448, 66), 0);
	/* 45 segments of 1448: after 44, whatever the pieces. */
	ck_assert_uint_eq(rsc_split_at(66, 65226, 1448, 16292), 66 + 44 * 1448);
	ck_assert_uint_eq(rsc_split_at(66, 65226, 1448, 1572), 66 + 44 * 1448);
	/* Pieces of 1483: after 44 and 43 segments the headers and the rest of
	 * the piece would not fit one (9 and 44 bytes into a piece); after 42. */
	ck_assert_uint_eq(rsc_split_at(66, 65226, 1448, 1483), 66 + 42 * 1448);
	/* Cut 10 bytes into a piece, but the rest of the frame is short: fine. */
	ck_assert_uint_eq(rsc_split_at(66, 65226, 1448, 63778 - 10), 66 + 44 * 1448);
	/* Whatever it returns: within the limit, on a segment, the rest fits a piece. */
	for (uint32_t cap = 100; cap < 70000; cap += 997)
		for (uint32_t mss = 1; mss < 9000; mss += 331) {
			at = rsc_split_at(54, 65000, mss, cap);
			if (!at)
				continue;
			ck_assert_uint_le(at, RSC_FRAME_MAX);
			ck_assert_uint_gt(at, 54);
			ck_assert_uint_eq((at - 54) % mss, 0);
			ck_assert_uint_ne(at % cap, 0);
			ck_assert_uint_le(
			    54 + (65000 - at < cap - at % cap ? 65000 - at : cap - at % cap), cap);
		}

	len = mk(f, 0xfffffff0u, 45 * 1448, 0x18);
	ck_assert(rsc_parse(f, RSC_HDR_PEEK, len, &s));
	at = rsc_split_at(s.hdr_len, len, 1448, 16292);
	ck_assert_uint_eq(at, s.hdr_len + 44 * 1448);
	memcpy(h, f, s.hdr_len);
	f[18] = 0xff, f[19] = 0xf0, h[18] = 0xff, h[19] = 0xf0; /* the ID wraps too */
	rsc_split_headers(h, h2, &s, at, len, 1448);
	ck_assert_uint_eq(h[16] << 8 | h[17], at - 14);
	ck_assert_uint_eq(h[47], 0x10);
	ck_assert_uint_eq(h2[16] << 8 | h2[17], s.hdr_len - 14 + 1448);
	ck_assert_uint_eq(h2[18] << 8 | h2[19], (0xfff0 + 44) & 0xffff);
	ck_assert_uint_eq((uint32_t)h2[38] << 24 | (uint32_t)h2[39] << 16 | (uint32_t)h2[40] << 8 |
			      h2[41],
			  0xfffffff0u + 44 * 1448);
	ck_assert_uint_eq(h2[47], 0x18);
	ck_assert_mem_eq(h2 + 20, f + 20, 18);		   /* addresses, ports */
	ck_assert_mem_eq(h2 + 42, f + 42, s.hdr_len - 42); /* ACK, window, options */
}
END_TEST

TEST_MAIN("netvsp-rsc", parse_data_segments, parse_refuses, continues_only_in_order,
	  cut_long_frames)

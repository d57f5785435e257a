// SPDX-License-Identifier: MIT
/*
 * vRSS: the Toeplitz hash against Microsoft's published RSS verification
 * vectors ("Verifying the RSS Hash Calculation": IPv4 and IPv6, addresses
 * alone and with TCP ports), frame hashing, and the parameter parser.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "check_main.h"
#include "rss.h"

static const uint8_t key[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
				0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
				0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
				0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

struct v4 {
	uint8_t dst[4], src[4];
	uint16_t dport, sport;
	uint32_t ip, tcp;
};

static const struct v4 v4[] = {
    {{161, 142, 100, 80}, {66, 9, 149, 187}, 1766, 2794, 0x323e8fc2, 0x51ccc178},
    {{65, 69, 140, 83}, {199, 92, 111, 2}, 4739, 14230, 0xd718262a, 0xc626b0ea},
    {{12, 22, 207, 184}, {24, 19, 198, 95}, 38024, 12898, 0xd2d0a5de, 0x5c2b394a},
    {{209, 142, 163, 6}, {38, 27, 205, 30}, 2217, 48228, 0x82989176, 0xafc7327f},
    {{202, 188, 127, 2}, {153, 39, 163, 191}, 1303, 44251, 0x5d1809c5, 0x10e828a2},
};

struct v6 {
	uint8_t dst[16], src[16];
	uint16_t dport, sport;
	uint32_t ip, tcp;
};

static const struct v6 v6[] = {
    /* 3ffe:2501:200:3::1 <- 3ffe:2501:200:1fff::7 */
    {{0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 1},
     {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 7},
     1766,
     2794,
     0x2cc18cd5,
     0x40207d3d},
    /* ff02::1 <- 3ffe:501:8::260:97ff:fe40:efab */
    {{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
     {0x3f, 0xfe, 0x05, 0x01, 0x00, 0x08, 0, 0, 0x02, 0x60, 0x97, 0xff, 0xfe, 0x40, 0xef, 0xab},
     4739,
     14230,
     0x0f0c461c,
     0xdde51bbf},
    /* fe80::200:f8ff:fe21:67cf <- 3ffe:1900:4545:3:200:f8ff:fe21:67cf */
    {{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf},
     {0x3f, 0xfe, 0x19, 0x00, 0x45, 0x45, 0x00, 0x03, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67,
      0xcf},
     38024,
     44251,
     0x4b61e985,
     0x02d1feef},
};

START_TEST(toeplitz_ipv4_vectors)
{
	for (unsigned i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		uint8_t in[12];

		memcpy(in, v4[i].src, 4);
		memcpy(in + 4, v4[i].dst, 4);
		in[8] = (uint8_t)(v4[i].sport >> 8);
		in[9] = (uint8_t)v4[i].sport;
		in[10] = (uint8_t)(v4[i].dport >> 8);
		in[11] = (uint8_t)v4[i].dport;
		ck_assert_uint_eq(rss_toeplitz(key, in, 8), v4[i].ip);
		ck_assert_uint_eq(rss_toeplitz(key, in, 12), v4[i].tcp);
	}
}
END_TEST

START_TEST(toeplitz_ipv6_vectors)
{
	for (unsigned i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		uint8_t in[36];

		memcpy(in, v6[i].src, 16);
		memcpy(in + 16, v6[i].dst, 16);
		in[32] = (uint8_t)(v6[i].sport >> 8);
		in[33] = (uint8_t)v6[i].sport;
		in[34] = (uint8_t)(v6[i].dport >> 8);
		in[35] = (uint8_t)v6[i].dport;
		ck_assert_uint_eq(rss_toeplitz(key, in, 32), v6[i].ip);
		ck_assert_uint_eq(rss_toeplitz(key, in, 36), v6[i].tcp);
	}
}
END_TEST

static struct rss_params params(uint32_t hashinfo)
{
	struct rss_params r = {.enabled = true, .hashinfo = hashinfo, .itab_size = 128};

	memcpy(r.key, key, 40);
	return r;
}

static uint32_t frame4(uint8_t *f, unsigned i, uint8_t proto, bool vlan)
{
	uint32_t l3 = vlan ? 18 : 14;

	memset(f, 0, 100);
	if (vlan) {
		f[12] = 0x81;
		f[14] = 0;
		f[15] = 5;
		f[16] = 0x08;
	} else {
		f[12] = 0x08;
	}
	f[l3] = 0x45;
	f[l3 + 9] = proto;
	memcpy(f + l3 + 12, v4[i].src, 4);
	memcpy(f + l3 + 16, v4[i].dst, 4);
	f[l3 + 20] = (uint8_t)(v4[i].sport >> 8);
	f[l3 + 21] = (uint8_t)v4[i].sport;
	f[l3 + 22] = (uint8_t)(v4[i].dport >> 8);
	f[l3 + 23] = (uint8_t)v4[i].dport;
	return l3 + 40;
}

static uint32_t frame6(uint8_t *f, unsigned i, uint8_t proto)
{
	memset(f, 0, 100);
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[20] = proto;
	memcpy(f + 22, v6[i].src, 16);
	memcpy(f + 38, v6[i].dst, 16);
	f[54] = (uint8_t)(v6[i].sport >> 8);
	f[55] = (uint8_t)v6[i].sport;
	f[56] = (uint8_t)(v6[i].dport >> 8);
	f[57] = (uint8_t)v6[i].dport;
	return 74;
}

START_TEST(frames)
{
	struct rss_params all = params(0x1 | 0x100 | 0x200 | 0x400 | 0x1000);
	struct rss_params ip_only = params(0x1 | 0x100 | 0x400);
	struct rss_params tcp_only = params(0x1 | 0x200 | 0x1000);
	struct rss_params udp = params(0x1 | 0x4000 | 0x8000);
	uint8_t f[100];
	uint32_t h, len;

	for (unsigned i = 0; i < 5; i++) {
		len = frame4(f, i, 6, i & 1);
		ck_assert(rss_hash_frame(&all, f, len, &h));
		ck_assert_uint_eq(h, v4[i].tcp);
		ck_assert(rss_hash_frame(&ip_only, f, len, &h));
		ck_assert_uint_eq(h, v4[i].ip);
		/* UDP: the 4-tuple only when UDP hashing is on */
		len = frame4(f, i, 17, false);
		ck_assert(rss_hash_frame(&all, f, len, &h));
		ck_assert_uint_eq(h, v4[i].ip);
		ck_assert(rss_hash_frame(&udp, f, len, &h));
		ck_assert_uint_eq(h, v4[i].tcp);
		ck_assert(!rss_hash_frame(&tcp_only, f, len, &h));
		/* a fragment is hashed by its addresses */
		len = frame4(f, i, 6, false);
		f[14 + 6] = 0x20;
		ck_assert(rss_hash_frame(&all, f, len, &h));
		ck_assert_uint_eq(h, v4[i].ip);
		ck_assert(!rss_hash_frame(&tcp_only, f, len, &h));
	}
	for (unsigned i = 0; i < 3; i++) {
		len = frame6(f, i, 6);
		ck_assert(rss_hash_frame(&all, f, len, &h));
		ck_assert_uint_eq(h, v6[i].tcp);
		ck_assert(rss_hash_frame(&ip_only, f, len, &h));
		ck_assert_uint_eq(h, v6[i].ip);
		/* cut short before the ports: addresses only */
		ck_assert(rss_hash_frame(&all, f, 56, &h));
		ck_assert_uint_eq(h, v6[i].ip);
		ck_assert(!rss_hash_frame(&tcp_only, f, 56, &h));
	}
	/* a reply's hash: the same tuple seen from the other side */
	for (unsigned i = 0; i < 5; i++) {
		len = frame4(f, i, 6, false);
		for (int k = 0; k < 4; k++) { /* swap addresses and ports */
			uint8_t t = f[26 + k];

			f[26 + k] = f[30 + k];
			f[30 + k] = t;
		}
		for (int k = 0; k < 2; k++) {
			uint8_t t = f[34 + k];

			f[34 + k] = f[36 + k];
			f[36 + k] = t;
		}
		ck_assert(rss_hash_reply(&all, f, len, &h));
		ck_assert_uint_eq(h, v4[i].tcp);
	}
	for (unsigned i = 0; i < 3; i++) {
		uint8_t g[100];

		len = frame6(f, i, 6);
		memcpy(g, f, len);
		memcpy(g + 22, f + 38, 16);
		memcpy(g + 38, f + 22, 16);
		memcpy(g + 54, f + 56, 2);
		memcpy(g + 56, f + 54, 2);
		ck_assert(rss_hash_reply(&all, g, len, &h));
		ck_assert_uint_eq(h, v6[i].tcp);
	}
	/* not IP, truncated, or RSS off */
	memset(f, 0, sizeof(f));
	f[12] = 0x08;
	f[13] = 0x06;
	ck_assert(!rss_hash_frame(&all, f, 60, &h));
	len = frame4(f, 0, 6, false);
	ck_assert(!rss_hash_frame(&all, f, 30, &h));
	all.enabled = false;
	ck_assert(!rss_hash_frame(&all, f, len, &h));
	ck_assert_uint_eq(rss_channel(&ip_only, 0x51ccc178), 0);
}
END_TEST

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Header, a table of n entries (entry i = i % nchan), a 40-byte key. */
static uint32_t mk(uint8_t *o, uint16_t flags, uint32_t n, uint32_t nchan)
{
	memset(o, 0, 40);
	o[0] = 0x89;
	o[1] = 2;
	o[2] = 40;
	o[4] = (uint8_t)flags;
	put32(o + 8, 0x1 | 0x100 | 0x200 | 0x400 | 0x1000);
	o[12] = (uint8_t)(4 * n);
	o[13] = (uint8_t)((4 * n) >> 8);
	put32(o + 16, 40);
	o[20] = 40;
	put32(o + 24, 40 + 4 * n);
	for (uint32_t i = 0; i < n; i++)
		put32(o + 40 + 4 * i, i % nchan);
	memcpy(o + 40 + 4 * n, key, 40);
	return 80 + 4 * n;
}

START_TEST(params_parse)
{
	uint8_t o[1024];
	struct rss_params r, next;
	const char *why = NULL;
	uint32_t n;

	/* what hv_netvsc sends: 128 entries over its channels, its key */
	n = mk(o, 0, 128, 4);
	ck_assert_int_eq(rss_parse_params(o, n, 4, NULL, &r, &why), 0);
	ck_assert(r.enabled);
	ck_assert_uint_eq(r.itab_size, 128);
	ck_assert_uint_eq(r.itab[5], 1);
	ck_assert_mem_eq(r.key, key, 40);
	/* unchanged table and key keep the old ones; DISABLE turns it off */
	memset(o + 40, 0xee, 4 * 128 + 40);
	o[4] = 0x4 | 0x8;
	ck_assert_int_eq(rss_parse_params(o, n, 4, &r, &next, &why), 0);
	ck_assert_uint_eq(next.itab[5], 1);
	ck_assert_mem_eq(next.key, key, 40);
	/* ... but an old table naming channels that are gone is refused */
	ck_assert_int_eq(rss_parse_params(o, n, 1, &r, &next, &why), -EINVAL);
	o[4] = 0x10;
	ck_assert_int_eq(rss_parse_params(o, n, 4, &r, &next, &why), 0);
	ck_assert(!next.enabled);
	/* a short key is zero-padded */
	n = mk(o, 0, 8, 2);
	o[20] = 16;
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), 0);
	ck_assert_uint_eq(r.key[15], key[15]);
	ck_assert_uint_eq(r.key[16], 0);
	/* not Toeplitz, or unknown hash types: a status, not a protocol error */
	n = mk(o, 0, 8, 2);
	put32(o + 8, 0x2 | 0x100);
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), -ENOTSUP);
	put32(o + 8, 0x1 | 0x100000);
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), -ENOTSUP);
}
END_TEST

START_TEST(params_malformed)
{
	uint8_t o[1024];
	struct rss_params r;
	const char *why = NULL;
	uint32_t n = mk(o, 0, 16, 2);

	ck_assert_int_eq(rss_parse_params(o, 39, 2, NULL, &r, &why), -EINVAL); /* short */
	o[0] = 0x88;
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), -EINVAL); /* type */
	n = mk(o, 0, 16, 3);
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), -EINVAL); /* entry 2 of 2 */
	ck_assert_str_eq(why, "RSS parameters: indirection entry names no channel");
	n = mk(o, 0, 16, 2);
	o[12] = 0xfc, o[13] = 0xff; /* huge table */
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), -EINVAL);
	n = mk(o, 0, 16, 2);
	o[12] = 4 * 129 & 0xff, o[13] = 4 * 129 >> 8; /* more entries than offered */
	ck_assert_int_eq(rss_parse_params(o, 1024, 2, NULL, &r, &why), -EINVAL);
	n = mk(o, 0, 16, 2);
	o[12] = 6; /* not whole entries */
	o[13] = 0;
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), -EINVAL);
	n = mk(o, 0, 16, 2);
	o[12] = 0; /* no table */
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), -EINVAL);
	n = mk(o, 0, 16, 2);
	put32(o + 16, 0xfffffff0u); /* table offset */
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), -EINVAL);
	n = mk(o, 0, 16, 2);
	put32(o + 16, 8); /* inside the header */
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), -EINVAL);
	n = mk(o, 0, 16, 2);
	ck_assert_int_eq(rss_parse_params(o, n - 1, 2, NULL, &r, &why), -EINVAL); /* key cut */
	n = mk(o, 0, 16, 2);
	o[20] = 41; /* key too long */
	ck_assert_int_eq(rss_parse_params(o, n + 1, 2, NULL, &r, &why), -EINVAL);
	n = mk(o, 0, 16, 2);
	o[20] = 0; /* no key */
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), -EINVAL);
	n = mk(o, 0, 16, 2);
	put32(o + 24, 0xfffffff0u); /* key offset */
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), -EINVAL);
	n = mk(o, 0x4, 16, 2); /* table "unchanged" but never set */
	ck_assert_int_eq(rss_parse_params(o, n, 2, NULL, &r, &why), -EINVAL);
}
END_TEST

TEST_MAIN("netvsp-rss", toeplitz_ipv4_vectors, toeplitz_ipv6_vectors, frames, params_parse,
	  params_malformed)

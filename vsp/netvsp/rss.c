// SPDX-License-Identifier: MIT
/* vRSS parameters, the Toeplitz hash and frame hashing (see rss.h). */
#include <errno.h>
#include <string.h>

#include "rss.h"

#define NDIS_OBJECT_TYPE_RSS_PARAMETERS 0x89

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static int bad(const char **why, const char *what)
{
	*why = what;
	return -EINVAL;
}

int rss_parse_params(const uint8_t *p, uint32_t len, uint32_t nchan, const struct rss_params *old,
		     struct rss_params *out, const char **why)
{
	uint32_t flags, hashinfo;

	if (old)
		*out = *old;
	else
		memset(out, 0, sizeof(*out));
	if (len < RSS_PARAMS_LEN || p[0] != NDIS_OBJECT_TYPE_RSS_PARAMETERS)
		return bad(why, "RSS parameters: not an NDIS_RECEIVE_SCALE_PARAMETERS object");
	flags = get16(p + 4);
	if (flags & RSS_FLAG_DISABLE) {
		out->enabled = false;
		return 0;
	}
	hashinfo = flags & RSS_FLAG_HASH_INFO_UNCHANGED ? out->hashinfo : get32(p + 8);
	if (!(flags & RSS_FLAG_ITABLE_UNCHANGED)) {
		uint32_t tab_len = get16(p + 12), tab_off = get32(p + 16);

		if (tab_len == 0 || tab_len % 4 || tab_len / 4 > RSS_ITAB_MAX)
			return bad(why, "RSS parameters: indirection table size");
		if (tab_off < RSS_PARAMS_LEN || tab_off > len || tab_len > len - tab_off)
			return bad(why, "RSS parameters: indirection table outside the object");
		for (uint32_t i = 0; i < tab_len / 4; i++) {
			uint32_t v = get32(p + tab_off + 4 * i);

			if (v >= nchan)
				return bad(why,
					   "RSS parameters: indirection entry names no channel");
			out->itab[i] = (uint8_t)v;
		}
		out->itab_size = tab_len / 4;
	} else if (!out->itab_size) {
		return bad(why, "RSS parameters: indirection table kept but never set");
	} else {
		for (uint32_t i = 0; i < out->itab_size; i++)
			if (out->itab[i] >= nchan)
				return bad(why,
					   "RSS parameters: indirection entry names no channel");
	}
	if (!(flags & RSS_FLAG_HASH_KEY_UNCHANGED)) {
		uint32_t key_len = get16(p + 20), key_off = get32(p + 24);

		if (key_len == 0 || key_len > RSS_KEY_MAX)
			return bad(why, "RSS parameters: hash key size");
		if (key_off < RSS_PARAMS_LEN || key_off > len || key_len > len - key_off)
			return bad(why, "RSS parameters: hash key outside the object");
		memset(out->key, 0, sizeof(out->key));
		memcpy(out->key, p + key_off, key_len);
	}
	if ((hashinfo & RSS_HASH_FUNC_MASK) != RSS_HASH_FUNC_TOEPLITZ ||
	    (hashinfo & ~(RSS_HASH_FUNC_MASK | RSS_HASH_TYPES))) {
		*why = "RSS parameters: hash function or type not offered";
		return -ENOTSUP;
	}
	out->hashinfo = hashinfo;
	out->enabled = true;
	return 0;
}

uint32_t rss_toeplitz(const uint8_t *key, const uint8_t *in, uint32_t len)
{
	uint32_t hash = 0;
	uint32_t window =
	    (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3];

	/* The key slides left one bit per input bit; each set bit XORs its 32-bit window in. */
	for (uint32_t i = 0; i < len && i + 4 < RSS_KEY_MAX; i++) {
		for (int b = 7; b >= 0; b--) {
			if (in[i] & (1u << b))
				hash ^= window;
			window = window << 1 | ((key[i + 4] >> b) & 1);
		}
	}
	return hash;
}

static bool hash_frame(const struct rss_params *r, const uint8_t *f, uint32_t len, bool reverse,
		       uint32_t *hash)
{
	uint8_t in[36];
	uint32_t l3 = 14, l4, alen, type, proto;
	bool frag = false;

	if (!r->enabled || len < 14)
		return false;
	type = (uint32_t)f[12] << 8 | f[13];
	if (type == 0x8100 && len >= 18) {
		type = (uint32_t)f[16] << 8 | f[17];
		l3 = 18;
	}
	if (type == 0x0800) {
		uint32_t ihl;

		if (len < l3 + 20 || (f[l3] >> 4) != 4)
			return false;
		ihl = (uint32_t)(f[l3] & 0xf) * 4;
		if (ihl < 20 || len < l3 + ihl)
			return false;
		proto = f[l3 + 9];
		frag = ((f[l3 + 6] << 8 | f[l3 + 7]) & 0x3fff) != 0;
		alen = 8;
		memcpy(in, f + l3 + (reverse ? 16 : 12), 4);
		memcpy(in + 4, f + l3 + (reverse ? 12 : 16), 4);
		l4 = l3 + ihl;
		if (!frag && len >= l4 + 4 &&
		    ((proto == 6 && (r->hashinfo & RSS_HASH_TCP_IPV4)) ||
		     (proto == 17 && (r->hashinfo & RSS_HASH_UDP_IPV4)))) {
			memcpy(in + 8, f + l4 + (reverse ? 2 : 0), 2);
			memcpy(in + 10, f + l4 + (reverse ? 0 : 2), 2);
			alen = 12;
		} else if (!(r->hashinfo & RSS_HASH_IPV4)) {
			return false;
		}
	} else if (type == 0x86dd) {
		if (len < l3 + 40 || (f[l3] >> 4) != 6)
			return false;
		proto = f[l3 + 6]; /* extension headers: hashed by address only */
		alen = 32;
		memcpy(in, f + l3 + (reverse ? 24 : 8), 16);
		memcpy(in + 16, f + l3 + (reverse ? 8 : 24), 16);
		l4 = l3 + 40;
		if (len >= l4 + 4 && ((proto == 6 && (r->hashinfo & RSS_HASH_TCP_IPV6)) ||
				      (proto == 17 && (r->hashinfo & RSS_HASH_UDP_IPV6)))) {
			memcpy(in + 32, f + l4 + (reverse ? 2 : 0), 2);
			memcpy(in + 34, f + l4 + (reverse ? 0 : 2), 2);
			alen = 36;
		} else if (!(r->hashinfo & RSS_HASH_IPV6)) {
			return false;
		}
	} else {
		return false;
	}
	*hash = rss_toeplitz(r->key, in, alen);
	return true;
}

bool rss_hash_frame(const struct rss_params *r, const uint8_t *f, uint32_t len, uint32_t *hash)
{
	return hash_frame(r, f, len, false, hash);
}

bool rss_hash_reply(const struct rss_params *r, const uint8_t *f, uint32_t len, uint32_t *hash)
{
	return hash_frame(r, f, len, true, hash);
}

// SPDX-License-Identifier: MIT
/*
 * Fuzz the network VSP's guest-facing parsers: the input is a sequence of
 * records, each one NVSP message or one RNDIS stream (several messages back
 * to back, as a send-buffer section carries them). NVSP goes through
 * nvsp_parse; RNDIS control messages through rndis_control with a state
 * that persists across records; data messages through rndis_parse_packet,
 * whose answer must stay inside the message; receive-scale parameter
 * objects through rss_parse_params (whose table must then name only
 * existing channels), and frames through rss_hash_frame and rss_hash_reply
 * with them, and through the receive coalescing's rsc_parse/rsc_continues
 * (their bytes are read back from the guest's receive buffer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nvsp.h"
#include "rndis.h"
#include "rsc.h"
#include "rss.h"

/* A received frame's headers for the coalescing: a segment must lie inside its frame. */
static void rsc_record(const uint8_t *p, uint32_t len)
{
	static struct rsc_seg head;
	static uint32_t head_payload;
	static bool have_head;
	struct rsc_seg s;
	uint32_t have = len < RSC_HDR_PEEK ? len : RSC_HDR_PEEK;

	if (!rsc_parse(p, have, len, &s))
		return;
	if (s.hdr_len > have || s.hdr_len + s.payload != len || s.thl < 20 || s.thl > 60)
		abort();
	if (len >=
	    4) { /* a cut as if this were a longer GSO frame (host data: a check, not a parser) */
		uint32_t mss = 1 + (uint32_t)(p[len - 1] | p[len - 2] << 8) % 9000,
			 cap = 64 + (uint32_t)(p[len - 3] | p[len - 4] << 8),
			 flen = RSC_FRAME_MAX + 1 + (uint32_t)p[len - 1] * 3;
		uint32_t at = rsc_split_at(s.hdr_len, flen, mss, cap), rest;
		uint8_t h[RSC_HDR_PEEK], h2[RSC_HDR_PEEK];

		if (at) {
			rest = cap - at % cap < flen - at ? cap - at % cap : flen - at;
			if (at > RSC_FRAME_MAX || at <= s.hdr_len || (at - s.hdr_len) % mss ||
			    !(at % cap) || s.hdr_len + rest > cap)
				abort();
			memcpy(h, p, s.hdr_len);
			rsc_split_headers(h, h2, &s, at, flen, mss);
			if ((uint32_t)(h[16] << 8 | h[17]) != at - 14 ||
			    (uint32_t)(h2[16] << 8 | h2[17]) != s.hdr_len - 14 + flen - at)
				abort();
		}
	}
	if (have_head && rsc_continues(&head, head_payload, &s)) {
		if ((uint64_t)head.hdr_len + head_payload + s.payload > RSC_FRAME_MAX)
			abort();
		head_payload += s.payload;
		return;
	}
	head = s;
	head_payload = s.payload;
	have_head = true;
}

/* cur was accepted for *cur_nchan channels (the VSP checks its table against the channels open). */
static void rss_record(struct rss_params *cur, uint32_t *cur_nchan, uint32_t nchan,
		       const uint8_t *p, uint32_t len)
{
	struct rss_params next;
	const char *why;
	uint32_t hash;

	if (rss_parse_params(p, len, nchan, cur, &next, &why) == 0) {
		if (next.enabled && (next.itab_size == 0 || next.itab_size > RSS_ITAB_MAX))
			abort();
		for (uint32_t i = 0; next.enabled && i < next.itab_size; i++)
			if (next.itab[i] >= nchan)
				abort();
		*cur = next;
		*cur_nchan = nchan;
	}
	/* the same bytes as a received frame */
	if (cur->enabled && rss_hash_frame(cur, p, len, &hash) &&
	    rss_channel(cur, hash) >= *cur_nchan)
		abort();
	if (cur->enabled && rss_hash_reply(cur, p, len, &hash) &&
	    rss_channel(cur, hash) >= *cur_nchan)
		abort();
	rsc_record(p, len);
}

static void rndis_stream(struct rndis_state *st, const struct rndis_config *cfg, const uint8_t *p,
			 uint32_t len)
{
	uint32_t off = 0;

	while (len - off >= RNDIS_HDR_LEN) {
		uint32_t type, mlen;
		const char *why;

		memcpy(&type, p + off, 4);
		memcpy(&mlen, p + off + 4, 4);
		if (mlen < RNDIS_HDR_LEN || mlen > len - off)
			return;
		if (type == RNDIS_MSG_PACKET) {
			struct rndis_tx_info ti;
			uint32_t hl = mlen < RNDIS_TX_HDR_MAX ? mlen : RNDIS_TX_HDR_MAX;

			if (rndis_parse_packet(p + off, hl, mlen, &ti, &why) == 0 &&
			    (ti.data_offset > mlen || ti.data_len > mlen - ti.data_offset))
				abort();
		} else if (mlen <= RNDIS_CONTROL_MAX) {
			/* the VSP copies control messages out of guest memory first */
			uint8_t *copy = malloc(mlen), resp[RNDIS_RESPONSE_MAX];
			uint32_t rlen;

			memcpy(copy, p + off, mlen);
			if (rndis_control(st, cfg, copy, mlen, resp, &rlen, &why) == 0 &&
			    rlen > RNDIS_RESPONSE_MAX)
				abort();
			free(copy);
		}
		off += mlen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rndis_config cfg = {.mac = {2, 0, 0, 0, 0, 1}, .mtu = 1500, .link_up = true};
	struct rndis_state st;
	struct rss_params rss = {0};
	uint32_t rss_nchan = 1;
	size_t i = 0;

	rndis_state_reset(&st);
	/* record: u8 kind, u16 length, bytes */
	while (size - i >= 3) {
		uint8_t kind = data[i];
		uint32_t len = (uint32_t)data[i + 1] | (uint32_t)data[i + 2] << 8;
		const char *why;

		i += 3;
		if (len > size - i)
			len = (uint32_t)(size - i);
		cfg.nvsp_version = kind & 1 ? 0x60001 : 0x40000;
		cfg.rss_queues = kind & 2 ? 4 : 1;
		cfg.rss_channels = 1 + (kind >> 5);
		if (kind & 8) {
			uint8_t *copy = malloc(len ? len : 1);

			memcpy(copy, data + i, len);
			rss_record(&rss, &rss_nchan, 1 + (kind >> 5), copy, len);
			free(copy);
		} else if (kind & 4) {
			struct nvsp_msg m;
			uint8_t *copy = malloc(len ? len : 1);

			memcpy(copy, data + i, len);
			nvsp_parse(copy, len, &m, &why);
			free(copy);
		} else {
			uint8_t *copy = malloc(len ? len : 1);

			memcpy(copy, data + i, len);
			rndis_stream(&st, &cfg, copy, len);
			free(copy);
		}
		i += len;
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Receive segment coalescing in software: which frames from the backend
 * continue the TCP segment before them, so that netvsp hands the guest one
 * coalesced frame (RSC pieces) for a run of them, as a Hyper-V host does,
 * and the guest's driver and stack handle one packet instead of several.
 * Only plain IPv4/TCP data segments of one flow, in order, with the same
 * ACK, window and options qualify. Pure functions over a frame's first
 * bytes, so they can be unit-tested on their own.
 */
#ifndef NETVSP_RSC_H
#define NETVSP_RSC_H

#include <stdbool.h>
#include <stdint.h>

#define RSC_HDR_PEEK 128 /* frame bytes rsc_parse() needs at most */
/*
 * The longest coalesced frame worth building. hv_netvsc copies a coalesced
 * frame into one linear skb; with the skb's overhead (padding and
 * skb_shared_info, about 400 bytes) a frame above about 65,150 bytes needs
 * a 128 KiB allocation instead of 64 KiB, which doubles what the guest's
 * socket is charged for it: its TCP receive window closes at half the data,
 * and it copies later segments into the spare room to win the memory back.
 * 64 KiB less 1 KiB leaves room for a larger skb_shared_info.
 */
#define RSC_FRAME_MAX 64512

/* A TCP data segment's identity, from its first bytes. */
struct rsc_seg {
	uint32_t saddr, daddr, seq, ack;
	uint16_t sport, dport, window;
	uint8_t tcp_flags, tos, ttl, thl;
	uint32_t hdr_len; /* Ethernet + IPv4 + TCP headers */
	uint32_t payload; /* TCP data bytes */
	uint8_t opts[40];
};

/*
 * The frame (flen bytes, of which f holds the first `have`) as a segment that may
 * be coalesced: Ethernet II, IPv4 without options or fragmentation whose
 * total length is the frame's, TCP with ACK (PSH allowed), no other flags,
 * and data. False for anything else.
 */
bool rsc_parse(const uint8_t *f, uint32_t have, uint32_t flen, struct rsc_seg *out);

/*
 * Whether b continues the coalesced frame that so far is head with
 * `payload` data bytes (head's own and the ones appended): same flow, the
 * next sequence number, same ACK, window, TOS, TTL and options, head not
 * pushed, and the result no longer than RSC_FRAME_MAX bytes.
 */
bool rsc_continues(const struct rsc_seg *head, uint32_t payload, const struct rsc_seg *b);

/*
 * Where to cut a GSO frame of len bytes (headers hdr_len, segments of mss
 * data bytes) that is longer than RSC_FRAME_MAX, read into pieces of cap
 * bytes: after the most whole segments that keep the first part within
 * RSC_FRAME_MAX, not at a piece boundary, and such that the second part's
 * copied headers and the rest of the piece the cut falls in fit one piece.
 * 0: the frame needs no cut, or has no such place.
 */
uint32_t rsc_split_at(uint32_t hdr_len, uint32_t len, uint32_t mss, uint32_t cap);

/*
 * The headers of the two parts of a frame (seg, len bytes) cut at `at`:
 * h holds the frame's seg->hdr_len header bytes on entry and the first
 * part's on return (IPv4 length shortened, no PSH); h2 gets the second
 * part's (IPv4 length and ID, TCP sequence number, the frame's flags).
 * The IPv4 header checksums are left for the guest to recompute.
 */
void rsc_split_headers(uint8_t *h, uint8_t *h2, const struct rsc_seg *seg, uint32_t at,
		       uint32_t len, uint32_t mss);

#endif /* NETVSP_RSC_H */

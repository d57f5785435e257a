/* SPDX-License-Identifier: MIT */
/*
 * vRSS as the guest configures it: the NDIS_RECEIVE_SCALE_PARAMETERS object
 * of OID_GEN_RECEIVE_SCALE_PARAMETERS (hash types, Toeplitz key,
 * indirection table of channel numbers), the Toeplitz hash, and the hash of
 * a received Ethernet frame over its IPv4/IPv6 addresses and TCP/UDP ports.
 * Pure functions, no VMBus or TAP, so they can be unit-tested and fuzzed.
 */
#ifndef NETVSP_RSS_H
#define NETVSP_RSS_H

#include <stdbool.h>
#include <stdint.h>

#define RSS_KEY_MAX 40	 /* bytes: enough for the IPv6 4-tuple */
#define RSS_ITAB_MAX 128 /* indirection entries offered */
#define RSS_PARAMS_LEN 40

/* NDIS hash information: function (low byte) and types. */
#define RSS_HASH_FUNC_MASK 0xffu
#define RSS_HASH_FUNC_TOEPLITZ 0x1u
#define RSS_HASH_IPV4 0x100u
#define RSS_HASH_TCP_IPV4 0x200u
#define RSS_HASH_IPV6 0x400u
#define RSS_HASH_IPV6_EX 0x800u
#define RSS_HASH_TCP_IPV6 0x1000u
#define RSS_HASH_TCP_IPV6_EX 0x2000u
#define RSS_HASH_UDP_IPV4 0x4000u
#define RSS_HASH_UDP_IPV6 0x8000u
#define RSS_HASH_UDP_IPV6_EX 0x10000u
#define RSS_HASH_TYPES 0x1ff00u

/* NDIS_RSS_PARAM_FLAG_* */
#define RSS_FLAG_BASE_CPU_UNCHANGED 0x1u
#define RSS_FLAG_HASH_INFO_UNCHANGED 0x2u
#define RSS_FLAG_ITABLE_UNCHANGED 0x4u
#define RSS_FLAG_HASH_KEY_UNCHANGED 0x8u
#define RSS_FLAG_DISABLE 0x10u

struct rss_params {
	bool enabled;
	uint32_t hashinfo;	    /* RSS_HASH_FUNC_TOEPLITZ | types */
	uint8_t key[RSS_KEY_MAX];   /* zero-padded past the guest's key */
	uint32_t itab_size;	    /* entries, 1..RSS_ITAB_MAX */
	uint8_t itab[RSS_ITAB_MAX]; /* channel per entry, < the channel count */
};

/*
 * Parse an NDIS_RECEIVE_SCALE_PARAMETERS object of len bytes (already
 * copied out of guest memory) for a device with nchan channels; old gives
 * what the *_UNCHANGED flags keep. Returns 0 with *out; -EINVAL when it is
 * malformed (a size or offset outside the object, a table too large or
 * naming a channel >= nchan, a key longer than RSS_KEY_MAX: the caller
 * closes the channel; *why says what); -ENOTSUP when it is well-formed but
 * asks for a hash function or type not offered (an RNDIS failure status).
 */
int rss_parse_params(const uint8_t *p, uint32_t len, uint32_t nchan, const struct rss_params *old,
		     struct rss_params *out, const char **why);

/* Toeplitz hash of in (len <= RSS_KEY_MAX - 4 bytes) with a RSS_KEY_MAX-byte key. */
uint32_t rss_toeplitz(const uint8_t *key, const uint8_t *in, uint32_t len);

/*
 * The hash of an Ethernet frame (its first len bytes; one 802.1Q tag is
 * skipped) as r asks: source and destination address, then source and
 * destination port for TCP/UDP when that type is on, else the addresses
 * alone when IPv4/IPv6 is on. False when r hashes no type the frame has.
 */
bool rss_hash_frame(const struct rss_params *r, const uint8_t *frame, uint32_t len, uint32_t *hash);

/*
 * The hash the replies to a frame (addresses and ports swapped) will get:
 * for a frame the guest sends, the channel its flow's received frames go to.
 */
bool rss_hash_reply(const struct rss_params *r, const uint8_t *frame, uint32_t len, uint32_t *hash);

/* The channel the indirection table names for hash. */
static inline uint32_t rss_channel(const struct rss_params *r, uint32_t hash)
{
	return r->itab[hash % r->itab_size];
}

#endif /* NETVSP_RSS_H */

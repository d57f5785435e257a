/* SPDX-License-Identifier: MIT */
/*
 * KVP GET_IP_INFO: the request that asks the guest's hv_kvp_daemon for one
 * adapter's addresses, and the check of its answer. The answer comes from
 * the guest: every address and prefix is validated, anything else dropped.
 */
#ifndef IC_KVP_IPINFO_H
#define IC_KVP_IPINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linhv/ic_proto.h>

#define IC_KVP_MAX_ADAPTER_ADDRS 16

struct ic_kvp_addr {
	bool v6;
	uint8_t prefix; /* 0..32 or 0..128 */
	char text[46];	/* canonical (inet_ntop) */
};

/* Fill msg (zeroed first) with a GET_IP_INFO request for the NIC with mac. */
void ic_kvp_ipinfo_request(struct ic_kvp_ip_msg *msg, const uint8_t mac[6]);

/*
 * Parse the guest's answer (len bytes of it; short answers are refused).
 * Returns the number of addresses stored in out (at most max), or -1 when
 * the answer is not a GET_IP_INFO answer.
 */
int ic_kvp_ipinfo_parse(const uint8_t *answer, size_t len, struct ic_kvp_addr *out, unsigned max);

#endif /* IC_KVP_IPINFO_H */

/* SPDX-License-Identifier: MIT */
/*
 * Guest-side integration services, answering the host the way Linux 6.1's
 * hv_utils (and hv_kvp_daemon behind hv_kvp) do: version negotiation with
 * Linux's version lists, heartbeat seq+1, shutdown/timesync bookkeeping, and
 * KVP pools. Freestanding.
 */
#ifndef VSC_IC_CLIENT_H
#define VSC_IC_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <linhv/ic_proto.h>

#include "vmbus_client.h"

#define VSC_KVP_MAX_PAIRS 16
#define VSC_KVP_MAX_STR 128

struct vsc_kvp_pair {
	char key[VSC_KVP_MAX_STR];
	char value[VSC_KVP_MAX_STR];
};

/* An adapter as hv_kvp_daemon answers GET_IP_INFO for it (';'-separated lists). */
struct vsc_kvp_adapter {
	const char *mac; /* upper case, colons: what the host sends */
	const char *ip_addr;
	const char *sub_net;
};

struct vsc_ic {
	struct vsc_channel ch;
	uint16_t service; /* IC_MSGTYPE_* */
	bool negotiated;
	uint32_t fw_version, srv_version;
	uint32_t packets, bad_packets;
	/* heartbeat */
	uint64_t last_seq;
	/* shutdown */
	bool shutdown_requested;
	uint32_t shutdown_flags;
	bool hibernation_supported;
	/* timesync */
	uint64_t host_time, ref_time;
	uint8_t ts_flags;
	uint32_t syncs;
	/* kvp: the auto pool the "daemon" reports, and the pools the host writes */
	bool kvp_daemon; /* false: answer every KVP operation with E_FAIL, like Linux */
	const struct vsc_kvp_pair *auto_pool;
	uint32_t auto_count;
	const struct vsc_kvp_adapter *adapters; /* GET_IP_INFO; none: E_FAIL */
	uint32_t adapter_count;
	uint32_t ip_queries;
	struct vsc_kvp_pair pool[IC_KVP_POOL_COUNT][VSC_KVP_MAX_PAIRS];
	uint32_t pool_count[IC_KVP_POOL_COUNT];
	uint8_t buf[IC_KVP_PACKET_SIZE + 64];
};

/* Find the service's offer, open it with hv_utils' ring sizes (16 KiB each way). */
int vsc_ic_open(struct vsc_vmbus *bus, struct vsc_ic *ic, uint16_t service);
/* Answer every queued host request. */
void vsc_ic_poll(struct vsc_ic *ic);

/*
 * vmbus_prep_negotiate_resp(): pick the highest common framework and service
 * version and rewrite the packet in place. false when nothing matches or the
 * packet is malformed.
 */
bool vsc_ic_negotiate(uint8_t *buf, uint32_t len, const uint32_t *fw, uint32_t nfw,
		      const uint32_t *srv, uint32_t nsrv, uint32_t *fw_out, uint32_t *srv_out);

#endif /* VSC_IC_CLIENT_H */

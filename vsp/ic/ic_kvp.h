/* SPDX-License-Identifier: MIT */
/*
 * KVP IC: key/value pools shared with the guest's hv_kvp_daemon. The host
 * enumerates the guest's auto pool (FullyQualifiedDomainName,
 * NetworkAddressIPv4/IPv6, OS names...) after negotiation and then every
 * refresh period, and can set or delete keys in a pool (e.g. the external
 * pool the guest reads). One transaction at a time; requests queue.
 */
#ifndef IC_KVP_H
#define IC_KVP_H

#include "ic_kvp_ipinfo.h"
#include "ic_service.h"

#define IC_KVP_MAX_GUEST_PAIRS 64
#define IC_KVP_MAX_QUEUED 32
#define IC_KVP_MAX_ADAPTERS 8

struct ic_kvp;

struct ic_kvp_params {
	struct vmbus_server *server;
	struct evloop *loop;
	struct vmbus_guid instance;
	uint32_t refresh_ms; /* re-read the auto pool; 0: 30000 */
	/* A full enumeration of the auto pool finished. */
	void (*on_updated)(void *ctx);
	void *ctx;
};

struct ic_kvp_status {
	bool negotiated;
	uint32_t version;
	uint64_t enumerations; /* complete passes over the auto pool */
	uint32_t pairs;	       /* pairs from the last complete pass */
	uint64_t ops_ok, ops_failed;
};

int ic_kvp_create(const struct ic_kvp_params *params, struct ic_kvp **out);
void ic_kvp_destroy(struct ic_kvp *kvp);
void ic_kvp_get_status(const struct ic_kvp *kvp, struct ic_kvp_status *st);

/* A value the guest reported in its auto pool: 0 or -ENOENT. */
int ic_kvp_get_guest_value(const struct ic_kvp *kvp, const char *key, char *value, size_t size);
/* The index-th pair of the last pass: 0 or -ENOENT. */
int ic_kvp_get_guest_pair(const struct ic_kvp *kvp, uint32_t index, const char **key,
			  const char **value);
/* Queue a SET or DELETE in pool (IC_KVP_POOL_*). 0, -EINVAL, -ENOSPC. */
int ic_kvp_set(struct ic_kvp *kvp, uint8_t pool, const char *key, const char *value);
int ic_kvp_delete(struct ic_kvp *kvp, uint8_t pool, const char *key);
/*
 * Ask the guest for the addresses of the NIC with mac (GET_IP_INFO) after
 * every pass over the auto pool. 0 or -EINVAL (slot >= IC_KVP_MAX_ADAPTERS).
 */
int ic_kvp_watch_adapter(struct ic_kvp *kvp, unsigned slot, const uint8_t mac[6]);
/*
 * The addresses the guest last reported for slot's NIC (at most max), or
 * -ENOENT when it has not answered since the IC (re)connected.
 */
int ic_kvp_get_adapter_addrs(const struct ic_kvp *kvp, unsigned slot, struct ic_kvp_addr *out,
			     unsigned max);
/* Start a new pass over the auto pool now. */
int ic_kvp_refresh(struct ic_kvp *kvp);

#endif /* IC_KVP_H */

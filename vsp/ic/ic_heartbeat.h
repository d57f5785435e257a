/* SPDX-License-Identifier: MIT */
/* Heartbeat IC: the host sends a sequence number; a live guest returns seq+1. */
#ifndef IC_HEARTBEAT_H
#define IC_HEARTBEAT_H

#include "ic_service.h"

struct ic_heartbeat;

struct ic_heartbeat_params {
	struct vmbus_server *server;
	struct evloop *loop;
	struct vmbus_guid instance;
	uint32_t interval_ms; /* 0: 2000, as Hyper-V */
	/* Called when the guest answers (alive) or misses an answer (!alive). */
	void (*on_status)(void *ctx, bool alive, uint64_t seq);
	void *ctx;
};

struct ic_heartbeat_status {
	bool negotiated;
	uint32_t version;
	uint64_t acks;	   /* correct answers */
	uint64_t bad_acks; /* answers with the wrong sequence number */
	uint64_t misses;
	uint64_t last_seq; /* the guest's last seq_num */
};

int ic_heartbeat_create(const struct ic_heartbeat_params *params, struct ic_heartbeat **out);
void ic_heartbeat_destroy(struct ic_heartbeat *hb);
void ic_heartbeat_get_status(const struct ic_heartbeat *hb, struct ic_heartbeat_status *st);

#endif /* IC_HEARTBEAT_H */

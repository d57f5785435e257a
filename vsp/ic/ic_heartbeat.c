// SPDX-License-Identifier: MIT
/* Heartbeat IC (ic_heartbeat.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ic_heartbeat.h"

static const uint32_t hb_versions[] = {IC_VERSION(3, 0), IC_VERSION(1, 0)};

struct ic_heartbeat {
	struct ic_heartbeat_params p;
	struct ic_service *svc;
	struct evloop_timer *timer;
	uint64_t seq;
	struct ic_heartbeat_status st;
};

static void tick(struct evloop *loop, struct evloop_timer *t, void *ctx)
{
	struct ic_heartbeat *hb = ctx;
	struct ic_heartbeat_msg body = {0}; /* wire struct, see ic_proto.h */

	(void)loop, (void)t;
	if (!ic_service_ready(hb->svc))
		return;
	if (ic_service_busy(hb->svc)) {
		hb->st.misses++;
		if (hb->p.on_status)
			hb->p.on_status(hb->p.ctx, false, hb->seq);
		return;
	}
	body.seq_num = ++hb->seq;
	ic_service_request(hb->svc, &body, sizeof(body));
}

static void on_ready(struct ic_service *svc, void *ctx)
{
	struct ic_heartbeat *hb = ctx;

	hb->st.negotiated = true;
	hb->st.version = ic_service_version(svc);
	if (!hb->timer)
		hb->timer = evloop_add_timer(hb->p.loop, 1, hb->p.interval_ms, tick, hb);
}

static void on_response(struct ic_service *svc, uint32_t status, const uint8_t *body, uint32_t len,
			void *ctx)
{
	struct ic_heartbeat *hb = ctx;
	uint64_t seq;

	(void)svc;
	if (status || len < sizeof(seq)) {
		hb->st.misses++;
		if (hb->p.on_status)
			hb->p.on_status(hb->p.ctx, false, hb->seq);
		return;
	}
	memcpy(&seq, body, sizeof(seq));
	hb->st.last_seq = seq;
	if (seq != hb->seq + 1) {
		hb->st.bad_acks++;
		return;
	}
	hb->st.acks++;
	if (hb->p.on_status)
		hb->p.on_status(hb->p.ctx, true, seq);
}

static void on_reset(struct ic_service *svc, void *ctx)
{
	struct ic_heartbeat *hb = ctx;

	(void)svc;
	hb->st.negotiated = false;
	if (hb->timer) {
		evloop_del_timer(hb->timer);
		hb->timer = NULL;
	}
}

int ic_heartbeat_create(const struct ic_heartbeat_params *p, struct ic_heartbeat **out)
{
	struct ic_heartbeat *hb = calloc(1, sizeof(*hb));
	struct ic_service_params sp = {
	    .server = p->server,
	    .loop = p->loop,
	    .if_type = IC_GUID_HEARTBEAT,
	    .if_instance = p->instance,
	    .msgtype = IC_MSGTYPE_HEARTBEAT,
	    .versions = hb_versions,
	    .nversions = 2,
	    .on_ready = on_ready,
	    .on_response = on_response,
	    .on_reset = on_reset,
	    .ctx = hb,
	};
	int ret;

	*out = NULL;
	if (!hb)
		return -ENOMEM;
	hb->p = *p;
	if (!hb->p.interval_ms)
		hb->p.interval_ms = 2000;
	sp.timeout_ms = hb->p.interval_ms * 3;
	ret = ic_service_create(&sp, &hb->svc);
	if (ret) {
		free(hb);
		return ret;
	}
	*out = hb;
	return 0;
}

void ic_heartbeat_destroy(struct ic_heartbeat *hb)
{
	if (!hb)
		return;
	if (hb->timer)
		evloop_del_timer(hb->timer);
	ic_service_destroy(hb->svc);
	free(hb);
}

void ic_heartbeat_get_status(const struct ic_heartbeat *hb, struct ic_heartbeat_status *st)
{
	*st = hb->st;
}

// SPDX-License-Identifier: MIT
/* Time sync IC (ic_timesync.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linhv/winhv_synic.h>

#include "ic_timesync.h"

static const uint32_t ts_versions[] = {IC_VERSION(4, 0), IC_VERSION(3, 0), IC_VERSION(1, 0)};

struct ic_timesync {
	struct ic_timesync_params p;
	struct ic_service *svc;
	struct evloop_timer *timer;
	bool sync_pending; /* the next sample carries SYNC */
	struct ic_timesync_status st;
};

static uint64_t host_now(struct ic_timesync *ts)
{
	struct timespec now;

	if (ts->p.host_time)
		return ts->p.host_time(ts->p.ctx);
	clock_gettime(CLOCK_REALTIME, &now);
	return IC_TIMESYNC_EPOCH_DELTA + (uint64_t)now.tv_sec * 10000000ull +
	       (uint64_t)now.tv_nsec / 100;
}

static int send_sample(struct ic_timesync *ts, uint8_t flags)
{
	uint64_t ref = 0;
	int ret;

	ts->st.last_host_time = host_now(ts);
	if (ic_service_version(ts->svc) >= IC_VERSION(4, 0)) {
		struct ic_timesync_ref_msg m = {0};
		struct vmbus_channel *c = ic_service_channel(ts->svc);

		if (WinHvGetReferenceTime(vmbus_channel_partition(c), &ref))
			ref = 0;
		m.parenttime = ts->st.last_host_time;
		m.vmreferencetime = ref;
		m.flags = flags;
		m.stratum = 2;
		ret = ic_service_request(ts->svc, &m, sizeof(m));
	} else {
		struct ic_timesync_msg m = {0};

		m.parenttime = ts->st.last_host_time;
		m.flags = flags;
		ret = ic_service_request(ts->svc, &m, sizeof(m));
	}
	if (!ret) {
		ts->st.samples_sent++;
		ts->st.last_ref_time = ref;
	}
	return ret;
}

static void tick(struct evloop *loop, struct evloop_timer *t, void *ctx)
{
	struct ic_timesync *ts = ctx;

	(void)loop, (void)t;
	if (!ic_service_ready(ts->svc) || ic_service_busy(ts->svc))
		return;
	if (!send_sample(ts, ts->sync_pending ? IC_TIMESYNC_FLAG_SYNC : IC_TIMESYNC_FLAG_SAMPLE))
		ts->sync_pending = false;
}

static void on_ready(struct ic_service *svc, void *ctx)
{
	struct ic_timesync *ts = ctx;

	ts->st.negotiated = true;
	ts->st.version = ic_service_version(svc);
	ts->sync_pending = true;
	tick(ts->p.loop, NULL, ts); /* SYNC right away, as after a boot */
	if (!ts->timer)
		ts->timer =
		    evloop_add_timer(ts->p.loop, ts->p.interval_ms, ts->p.interval_ms, tick, ts);
}

static void on_response(struct ic_service *svc, uint32_t status, const uint8_t *body, uint32_t len,
			void *ctx)
{
	struct ic_timesync *ts = ctx;

	(void)svc, (void)body, (void)len;
	if (status == IC_S_OK)
		ts->st.samples_acked++;
}

static void on_reset(struct ic_service *svc, void *ctx)
{
	struct ic_timesync *ts = ctx;

	(void)svc;
	ts->st.negotiated = false;
	if (ts->timer) {
		evloop_del_timer(ts->timer);
		ts->timer = NULL;
	}
}

int ic_timesync_create(const struct ic_timesync_params *p, struct ic_timesync **out)
{
	struct ic_timesync *ts = calloc(1, sizeof(*ts));
	struct ic_service_params sp = {
	    .server = p->server,
	    .loop = p->loop,
	    .if_type = IC_GUID_TIMESYNC,
	    .if_instance = p->instance,
	    .msgtype = IC_MSGTYPE_TIMESYNC,
	    .versions = ts_versions,
	    .nversions = 3,
	    .on_ready = on_ready,
	    .on_response = on_response,
	    .on_reset = on_reset,
	    .ctx = ts,
	};
	int ret;

	*out = NULL;
	if (!ts)
		return -ENOMEM;
	ts->p = *p;
	if (!ts->p.interval_ms)
		ts->p.interval_ms = 5000;
	ret = ic_service_create(&sp, &ts->svc);
	if (ret) {
		free(ts);
		return ret;
	}
	*out = ts;
	return 0;
}

void ic_timesync_destroy(struct ic_timesync *ts)
{
	if (!ts)
		return;
	if (ts->timer)
		evloop_del_timer(ts->timer);
	ic_service_destroy(ts->svc);
	free(ts);
}

int ic_timesync_sync_now(struct ic_timesync *ts)
{
	return send_sample(ts, IC_TIMESYNC_FLAG_SYNC);
}

void ic_timesync_get_status(const struct ic_timesync *ts, struct ic_timesync_status *st)
{
	*st = ts->st;
}

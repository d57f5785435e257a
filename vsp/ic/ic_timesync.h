/* SPDX-License-Identifier: MIT */
/*
 * Time sync IC: send the host's wall-clock time (100 ns since 1601). The
 * first sample after the guest opens the channel carries SYNC (step the
 * clock); later ones SAMPLE. Version 4 samples also carry the partition
 * reference time at sampling (WinHvGetReferenceTime).
 */
#ifndef IC_TIMESYNC_H
#define IC_TIMESYNC_H

#include "ic_service.h"

struct ic_timesync;

struct ic_timesync_params {
	struct vmbus_server *server;
	struct evloop *loop;
	struct vmbus_guid instance;
	uint32_t interval_ms; /* SAMPLE period; 0: 5000 */
	/* Test hook: the host time to send (100 ns since 1601); NULL: CLOCK_REALTIME. */
	uint64_t (*host_time)(void *ctx);
	void *ctx;
};

struct ic_timesync_status {
	bool negotiated;
	uint32_t version;
	uint64_t samples_sent, samples_acked;
	uint64_t last_host_time, last_ref_time;
};

int ic_timesync_create(const struct ic_timesync_params *params, struct ic_timesync **out);
void ic_timesync_destroy(struct ic_timesync *ts);
/* Send a SYNC sample now (after a resume, say). -ENOTCONN, -EBUSY. */
int ic_timesync_sync_now(struct ic_timesync *ts);
void ic_timesync_get_status(const struct ic_timesync *ts, struct ic_timesync_status *st);

#endif /* IC_TIMESYNC_H */

/* SPDX-License-Identifier: MIT */
/* Private to the VMBus server: the objects server.c and channel.c share. */
#ifndef VMBUS_INTERNAL_H
#define VMBUS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linhv/winhv_synic.h>

#include "gpadl.h"
#include "ring.h"
#include "vmbus_server.h"
#include "vmbus_vsp.h"

#define VMBUS_DEFAULT_MAX_PACKET (16 * 1024)
#define VMBUS_MAX_MAX_PACKET (1024 * 1024)
/* Packets handled per wake-up before other channels get a turn. */
#define VMBUS_DRAIN_BUDGET 128
/* Guest messages handled per wake-up. */
#define VMBUS_MESSAGE_BUDGET 64
/* Our own messages waiting for SynIC slots; beyond this the guest is not reading. */
#define VMBUS_BACKLOG_MAX 1024

enum vmbus_channel_state {
	VMBUS_CH_IDLE,	    /* not offered to the guest (no connection yet) */
	VMBUS_CH_OFFERED,   /* offer sent, closed */
	VMBUS_CH_OPEN,	    /* guest opened it: rings mapped, served */
	VMBUS_CH_RESCINDED, /* rescind sent, waiting for RELID_RELEASED */
};

/* What the data plane costs, for the close line (data thread only). */
struct vmbus_thread_stats {
	uint64_t wakeups;	/* poll() returned */
	uint64_t guest_signals; /* HvSignalEvent calls counted by the eventfd */
	uint64_t host_signals;	/* WinHvSignalEvent calls */
	uint64_t packets;
};

struct vmbus_channel {
	struct vmbus_server *server;
	enum vmbus_channel_state state;
	uint32_t relid; /* 0 while not offered */
	uint16_t subchannel_index;
	struct vmbus_channel *primary; /* NULL for primaries */
	struct vmbus_offer_params offer;
	bool removing;	       /* the VSP withdrew it */
	unsigned fails_logged; /* failures logged past the rate limit (channel.c) */
	bool dispatching;
	bool free_after_dispatch;

	/* Open state. */
	uint32_t target_vp;
	uint32_t ring_gpadl;
	struct vmbus_gpadl *gpadl;
	struct vmbus_hring in;	/* guest to host */
	struct vmbus_hring out; /* host to guest */
	int event_fd;		/* the guest's HvSignalEvent for our connection id */
	uint8_t *pkt_buf;	/* one packet copied out of the ring */

	/* Data thread (offer.data_thread), dataplane.c. */
	pthread_t thread;
	bool thread_running;
	int stop_fd;	    /* eventfd: the loop asks the thread to drain and exit */
	int poll_fd;	    /* the VSP's own fd, or -1 */
	int failing;	    /* atomic: the thread hit a protocol error */
	char fail_why[160]; /* set once, before failing */
	bool in_batch;	    /* on the thread, inside a batch: signals wait */
	bool signal_pending;
	struct vmbus_thread_stats tstats; /* the data thread's own */

	struct vmbus_channel *next;
};

/* A call queued for the event loop (vmbus_channel_defer). */
struct vmbus_deferred {
	struct vmbus_channel *chan;
	void (*fn)(struct vmbus_channel *chan, void *arg);
	void *arg;
	struct vmbus_deferred *next;
};

struct vmbus_backlog_msg {
	struct hv_message msg;
	struct vmbus_backlog_msg *next;
};

enum vmbus_conn_state {
	VMBUS_DISCONNECTED,
	VMBUS_CONNECTED,   /* version agreed */
	VMBUS_OFFERS_SENT, /* REQUESTOFFERS answered */
};

struct vmbus_server {
	struct winhv_partition *partition;
	struct evloop *loop;
	uint32_t max_version, min_version;
	uint32_t vp_count;
	void (*log_fn)(void *ctx, const char *line);
	void *log_ctx;
	pthread_mutex_t log_lock;
	int msg_fd;

	/* Work for the loop from data threads: deferred calls, failed channels, reaps. */
	int work_fd;
	pthread_mutex_t work_lock;
	struct vmbus_deferred *deferred, **deferred_tail;

	enum vmbus_conn_state conn;
	uint32_t version;
	uint32_t target_vp; /* VP for control messages (INITIATE_CONTACT.target_vcpu) */
	uint32_t sint;

	struct vmbus_channel *channels; /* sorted by nothing; few */
	struct vmbus_gpadls gpadls;

	struct vmbus_backlog_msg *backlog, **backlog_tail;
	uint32_t backlog_len;
	struct evloop_timer *backlog_timer;

	/* Rate limit of log lines, so a hostile guest cannot flood the log. */
	uint64_t log_window_start_ms;
	uint32_t log_in_window;
	uint64_t log_suppressed;

	struct vmbus_server_stats stats;
};

void vmbus_log(struct vmbus_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Past the rate limit: for lines whose number the caller bounds itself. */
void vmbus_log_always(struct vmbus_server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* server.c: send a channel message to the guest (queues behind a full slot). */
void vmbus_send_msg(struct vmbus_server *s, const void *payload, uint32_t size);

/* channel.c */
struct vmbus_channel *vmbus_find_channel(struct vmbus_server *s, uint32_t relid);
void vmbus_send_offer(struct vmbus_channel *c);
void vmbus_channel_do_open(struct vmbus_channel *c, const struct vmbus_msg_open_channel *m);
void vmbus_channel_do_close(struct vmbus_channel *c);
void vmbus_channel_do_modify(struct vmbus_channel *c, uint32_t target_vp);
void vmbus_channel_destroy(struct vmbus_channel *c);
void vmbus_channel_relid_released(struct vmbus_channel *c);
void vmbus_channels_reset(struct vmbus_server *s);
void vmbus_gpadl_release(struct vmbus_server *s, struct vmbus_gpadl *g);
void vmbus_gpadl_reap(struct vmbus_server *s);
void vmbus_signal_guest(struct vmbus_channel *c);
/* Serve the inbound ring once (up to the budget); true when more is waiting. */
bool vmbus_channel_serve(struct vmbus_channel *c);
/* True while c is open and not failing. */
bool vmbus_channel_serving(const struct vmbus_channel *c);

/* dataplane.c */
int vmbus_work_init(struct vmbus_server *s);
void vmbus_work_fini(struct vmbus_server *s);
/* Wake the loop to run deferred calls, fail channels and reap GPADLs. */
void vmbus_work_wake(struct vmbus_server *s);
int vmbus_thread_start(struct vmbus_channel *c);
/* Drain and join the data thread (event loop only). */
void vmbus_thread_stop(struct vmbus_channel *c);
bool vmbus_on_thread(const struct vmbus_channel *c);
/* Forget c's deferred calls (it is being freed). */
void vmbus_deferred_forget(struct vmbus_channel *c);

#endif /* VMBUS_INTERNAL_H */

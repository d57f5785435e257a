/* SPDX-License-Identifier: MIT */
/*
 * How a device (VSP) plugs into the VMBus server: offer a channel with a
 * class and an instance GUID, then get called back when the guest opens it,
 * for each packet the guest writes, and when it closes.
 *
 * Two ways to be served:
 *  - on the event loop (the default, for the integration services): every
 *    callback runs on the server's event-loop thread;
 *  - on a data thread (offer.data_thread): each open channel and sub-channel
 *    gets a thread of its own, woken directly by the eventfd the guest's
 *    HvSignalEvent hits. packet, writable, poll and drain run on that thread;
 *    open, close and released stay on the event loop, and close runs only
 *    after the thread has drained and exited. While the data thread runs, only
 *    it may send on the channel. Guest signals are sent once per batch.
 */
#ifndef LINHV_VMBUS_VSP_H
#define LINHV_VMBUS_VSP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linhv/vmbus_proto.h>

#include "vmbus_server.h"

struct vmbus_channel;
struct winhv_partition;

/* One packet from the guest, copied out of the ring and checked. */
struct vmbus_packet {
	uint16_t type;	     /* VMBUS_PKT_* */
	uint16_t flags;	     /* VMBUS_PKT_FLAG_* */
	uint64_t trans_id;   /* echo it in the completion */
	const uint8_t *data; /* payload at offset8 */
	uint32_t len;
	const uint8_t *raw; /* the whole packet, descriptor first (len8 * 8 bytes) */
	uint32_t raw_len;
};

struct vmbus_vsp_ops {
	/* The guest opened the channel; nonzero refuses the open. */
	int (*open)(struct vmbus_channel *chan, void *ctx);
	/* A packet arrived. pkt is valid only during the call. */
	void (*packet)(struct vmbus_channel *chan, const struct vmbus_packet *pkt, void *ctx);
	/* Space freed in the host-to-guest ring after a send returned -EAGAIN. */
	void (*writable)(struct vmbus_channel *chan, void *ctx);
	/* The channel closed (guest close, protocol error, unload, removal). */
	void (*close)(struct vmbus_channel *chan, void *ctx);
	/* The channel object is freed now (after a protocol failure and the
	 * guest's RELID_RELEASED, or at server destruction); drop every pointer. */
	void (*released)(struct vmbus_channel *chan, void *ctx);

	/* Data-thread channels only. */
	/* The fd given to vmbus_channel_set_poll_fd() is readable (e.g. an
	 * io_uring completion eventfd); runs on the data thread. */
	void (*poll)(struct vmbus_channel *chan, void *ctx);
	/* Optional: the thread handled a batch of packets and signals the guest
	 * next, once. The VSP starts the work they queued in one go (one
	 * io_uring_submit) and sends what is finished already, so that the
	 * same signal covers it. */
	void (*batch_end)(struct vmbus_channel *chan, void *ctx);
	/* The thread is stopping (guest close, protocol error, rescind, unload,
	 * shutdown, reboot): complete or cancel every I/O in flight before
	 * returning, because guest memory may be unmapped afterwards. Runs on the
	 * data thread, once per open; no packet or poll callback follows. */
	void (*drain)(struct vmbus_channel *chan, void *ctx);
};

struct vmbus_offer_params {
	struct vmbus_guid if_type;     /* device class */
	struct vmbus_guid if_instance; /* this device */
	uint16_t chn_flags;
	uint16_t mmio_megabytes;
	uint8_t user_def[VMBUS_OFFER_USER_DEFINED_BYTES];
	/* Largest guest packet accepted (descriptor included); 0: 16 KiB. */
	uint32_t max_packet_size;
	/* Serve the channel (and its sub-channels) on data threads. */
	bool data_thread;
	/*
	 * Run those threads SCHED_BATCH: a guest's signal then does not preempt
	 * its VP on the same CPU, and the thread serves what the guest queued
	 * once the VP halts (dataplane.c). For a device whose guest queues
	 * bursts (netvsp); a latency-bound one (storvsp at queue depth 1) loses.
	 */
	bool batch_thread;
	const struct vmbus_vsp_ops *ops;
	void *ctx;
};

/*
 * Offer a primary channel. It reaches the guest with the next REQUESTOFFERS,
 * or at once when the guest has already asked (hot add).
 */
int vmbus_offer(struct vmbus_server *server, const struct vmbus_offer_params *params,
		struct vmbus_channel **out);

/*
 * Offer sub-channel number index (>= 1) of primary, usually when the device's
 * own protocol asked for it; same GUIDs and flags as the primary.
 */
int vmbus_offer_subchannel(struct vmbus_channel *primary, uint16_t index,
			   const struct vmbus_vsp_ops *ops, void *ctx, struct vmbus_channel **out);

/*
 * Withdraw the offer (RESCIND_CHANNELOFFER); closes the channel first (the
 * close callback runs). No callback runs after this returns and chan must
 * not be used again; the server frees it once the guest releases the relid.
 */
void vmbus_channel_remove(struct vmbus_channel *chan);

/*
 * Send one packet to the guest: descriptor, then hdr (hdr_len bytes, a
 * multiple of 8, e.g. a transfer-page header; may be 0), then data, padded.
 * Returns 0, -EAGAIN when the ring is full (writable fires later),
 * -ENOTCONN when the channel is not open, -EMSGSIZE when it can never fit.
 */
int vmbus_channel_send_raw(struct vmbus_channel *chan, uint16_t type, uint16_t flags,
			   uint64_t trans_id, const void *hdr, uint32_t hdr_len, const void *data,
			   uint32_t len);
/* An inband packet (VMBUS_PKT_DATA_INBAND). */
int vmbus_channel_send(struct vmbus_channel *chan, uint64_t trans_id, const void *data,
		       uint32_t len, bool completion_requested);
/* A completion (VMBUS_PKT_COMP) for the guest request trans_id. */
int vmbus_channel_send_completion(struct vmbus_channel *chan, uint64_t trans_id, const void *data,
				  uint32_t len);

/*
 * Send the guest the signal this batch has pending now rather than at the
 * end of the batch: for a completion the guest waits on before it can send
 * more, when the host has slow work left in the batch. Data thread only;
 * nothing when no signal is pending.
 */
void vmbus_channel_signal_now(struct vmbus_channel *chan);

/* Close the channel because the guest broke the device protocol (logged). */
void vmbus_channel_fail(struct vmbus_channel *chan, const char *why);

uint32_t vmbus_channel_relid(const struct vmbus_channel *chan);
uint16_t vmbus_channel_subchannel_index(const struct vmbus_channel *chan);
uint32_t vmbus_channel_target_vp(const struct vmbus_channel *chan);
bool vmbus_channel_is_open(const struct vmbus_channel *chan);
struct vmbus_server *vmbus_channel_server(const struct vmbus_channel *chan);
struct winhv_partition *vmbus_channel_partition(const struct vmbus_channel *chan);
/* Bytes the host-to-guest ring can take now (for flow control). */
uint32_t vmbus_channel_send_space(const struct vmbus_channel *chan);
/*
 * true when bytes fit in the host-to-guest ring now; otherwise the VSP's
 * writable callback runs once the guest has made room. Data thread only.
 */
bool vmbus_channel_want_space(struct vmbus_channel *chan, uint32_t bytes);

/*
 * Copy between a GPADL the guest created on this channel (e.g. a receive
 * buffer) and host memory. 0, or -ENOENT (no such GPADL), -ERANGE.
 */
int vmbus_channel_gpadl_read(struct vmbus_channel *chan, uint32_t gpadl, uint64_t offset, void *buf,
			     uint32_t len);
int vmbus_channel_gpadl_write(struct vmbus_channel *chan, uint32_t gpadl, uint64_t offset,
			      const void *buf, uint32_t len);

/* ---- Data plane ---- */

/*
 * From the open callback of a data-thread channel: also watch fd on the data
 * thread and call ops->poll when it is readable (level-triggered). The VSP
 * owns fd and closes it after drain. 0 or -EINVAL.
 */
int vmbus_channel_set_poll_fd(struct vmbus_channel *chan, int fd);

/*
 * Run fn(chan, arg) on the event loop thread soon (from any thread), e.g. to
 * offer sub-channels from a packet handler on the data thread. fn is not
 * called if chan is released first (the released callback runs instead, on
 * the loop). 0 or -ENOMEM.
 */
int vmbus_channel_defer(struct vmbus_channel *chan,
			void (*fn)(struct vmbus_channel *chan, void *arg), void *arg);

/*
 * The guest memory a GPA-direct packet (VMBUS_PKT_DATA_USING_GPA_DIRECT)
 * describes, as host iovecs: every PFN checked against guest RAM, every
 * length and offset checked, physically adjacent pages merged. The iovecs
 * point into guest RAM (no copy) and stay valid until the channel's drain
 * callback returns.
 */
#define VMBUS_GPA_DIRECT_MAX_PAGES 1024 /* 4 MiB per packet */
struct vmbus_gpa_direct {
	uint32_t nranges; /* ranges in the packet */
	uint64_t bytes;	  /* their total length */
	uint32_t niov;
	struct iovec iov[VMBUS_GPA_DIRECT_MAX_PAGES];
};
/*
 * Parse pkt (type 9) into out. 0; -EINVAL when the range list is malformed or
 * a page is outside guest RAM (*why says which; the VSP should fail the
 * channel); -E2BIG past VMBUS_GPA_DIRECT_MAX_PAGES pages.
 */
int vmbus_packet_gpa_direct(struct vmbus_channel *chan, const struct vmbus_packet *pkt,
			    struct vmbus_gpa_direct *out, const char **why);
/* The same parser without a channel, for tests and fuzzing. */
int vmbus_gpa_direct_parse(struct winhv_partition *p, const uint8_t *raw, uint32_t raw_len,
			   struct vmbus_gpa_direct *out, const char **why);

/*
 * A VSP's hold on a GPADL the guest created for this channel or its primary
 * (netvsp's receive and send buffers): the pages as host pointers. While a
 * view is held, the guest's GPADL_TEARDOWN waits (GPADL_TORNDOWN is sent
 * only after the last view is put), so no host pointer can dangle. Get and
 * put from any thread; every view must be put before the close callback
 * returns.
 */
struct vmbus_gpadl_view {
	uint32_t handle;
	uint32_t bytes; /* byte_count of the GPADL */
	uint32_t npages;
	uint8_t *const *pages; /* npages host pointers, 4 KiB each */
	void *priv;
};
/* 0, -ENOENT (no such complete GPADL on this channel), -EBUSY (being torn down). */
int vmbus_gpadl_view_get(struct vmbus_channel *chan, uint32_t handle,
			 struct vmbus_gpadl_view *view);
void vmbus_gpadl_view_put(struct vmbus_channel *chan, struct vmbus_gpadl_view *view);
/*
 * [offset, offset+len) of the view as iovecs (adjacent pages merged).
 * Returns the iovec count, or -ERANGE (out of the view) / -E2BIG (more than max).
 */
int vmbus_gpadl_view_iov(const struct vmbus_gpadl_view *view, uint64_t offset, uint32_t len,
			 struct iovec *iov, uint32_t max);
/* Copy between a view and host memory: 0 or -ERANGE. */
int vmbus_gpadl_view_copy(const struct vmbus_gpadl_view *view, uint64_t offset, void *buf,
			  uint32_t len, bool to_guest);

/* Log a line through the server's sink, prefixed with the channel. */
void vmbus_channel_log(struct vmbus_channel *chan, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* LINHV_VMBUS_VSP_H */

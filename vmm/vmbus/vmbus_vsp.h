/* SPDX-License-Identifier: MIT */
/*
 * How a device (VSP) plugs into the VMBus server: offer a channel with a
 * class and an instance GUID, then get called back when the guest opens it,
 * for each packet the guest writes, and when it closes. All callbacks run on
 * the server's event loop thread.
 */
#ifndef LINHV_VMBUS_VSP_H
#define LINHV_VMBUS_VSP_H

#include <stdbool.h>
#include <stdint.h>

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
};

struct vmbus_offer_params {
	struct vmbus_guid if_type;     /* device class */
	struct vmbus_guid if_instance; /* this device */
	uint16_t chn_flags;
	uint16_t mmio_megabytes;
	uint8_t user_def[VMBUS_OFFER_USER_DEFINED_BYTES];
	/* Largest guest packet accepted (descriptor included); 0: 16 KiB. */
	uint32_t max_packet_size;
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
 * Copy between a GPADL the guest created on this channel (e.g. a receive
 * buffer) and host memory. 0, or -ENOENT (no such GPADL), -ERANGE.
 */
int vmbus_channel_gpadl_read(struct vmbus_channel *chan, uint32_t gpadl, uint64_t offset, void *buf,
			     uint32_t len);
int vmbus_channel_gpadl_write(struct vmbus_channel *chan, uint32_t gpadl, uint64_t offset,
			      const void *buf, uint32_t len);

/* Log a line through the server's sink, prefixed with the channel. */
void vmbus_channel_log(struct vmbus_channel *chan, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* LINHV_VMBUS_VSP_H */

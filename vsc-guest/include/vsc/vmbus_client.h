/* SPDX-License-Identifier: MIT */
/*
 * The guest side of VMBus, as Linux's hv_vmbus does it: negotiate a version
 * (newest first, connection id 4 for 5.x), request offers, create and tear
 * down GPADLs, open and close channels, and take messages and channel events
 * from the SynIC pages. Freestanding; blocking calls wait through the
 * platform and give up after bus->wait_limit waits.
 */
#ifndef VSC_VMBUS_CLIENT_H
#define VSC_VMBUS_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <linhv/vmbus_proto.h>

#include "platform.h"
#include "ring.h"

#define VSC_MAX_OFFERS 64
#define VSC_MAX_PENDING 32 /* answers waiting to be picked up */

enum {
	VSC_OK = 0,
	VSC_ERR_TIMEOUT = -1, /* no answer within the wait limit */
	VSC_ERR_REFUSED = -2, /* the host said no (version, GPADL, open status) */
	VSC_ERR_NOMEM = -3,
	VSC_ERR_INVALID = -4,
	VSC_ERR_HYPERCALL = -5, /* HvPostMessage failed for good */
	VSC_ERR_RING = -6,
};

struct vsc_offer {
	struct vmbus_msg_offer_channel msg;
	bool rescinded;
};

struct vsc_channel;
typedef void (*vsc_channel_cb)(struct vsc_channel *ch, void *ctx);

struct vsc_channel {
	struct vsc_vmbus *bus;
	uint32_t relid;
	uint32_t connection_id;
	uint32_t gpadl;
	uint64_t ring_gpa;
	uint32_t ring_pages, send_pages;
	struct vsc_ring out; /* guest to host */
	struct vsc_ring in;  /* host to guest */
	bool open;
	bool rescinded;
	uint32_t events; /* SIEF bits seen for this relid */
	vsc_channel_cb on_event;
	void *ctx;
};

struct vsc_pending {
	uint32_t size;
	uint8_t payload[VMBUS_MAX_MESSAGE_SIZE];
};

struct vsc_vmbus {
	const struct vsc_platform *plat;
	uint32_t wait_limit;
	uint32_t version;
	uint32_t msg_conn_id;
	uint64_t simp_gpa, siefp_gpa, monitor_gpa;
	uint8_t *simp, *siefp;
	uint32_t next_gpadl;
	uint32_t next_openid;
	struct vsc_offer offers[VSC_MAX_OFFERS];
	uint32_t nr_offers;
	bool all_offers;
	bool unloaded;
	struct vsc_pending pending[VSC_MAX_PENDING];
	uint32_t nr_pending;
	struct vsc_channel *channels[VSC_MAX_OFFERS];
	uint32_t messages_seen;
	uint32_t last_post_status;
};

/* Allocate and program the SynIC pages. */
int vsc_vmbus_init(struct vsc_vmbus *bus, const struct vsc_platform *plat);
void vsc_vmbus_fini(struct vsc_vmbus *bus);

/* Negotiate: try each version <= max_version, newest first (Linux's list). */
int vsc_vmbus_connect(struct vsc_vmbus *bus, uint32_t max_version);
/* INITIATE_CONTACT for one version: VSC_OK, VSC_ERR_REFUSED, or errors. */
int vsc_vmbus_try_version(struct vsc_vmbus *bus, uint32_t version);
int vsc_vmbus_request_offers(struct vsc_vmbus *bus);
int vsc_vmbus_unload(struct vsc_vmbus *bus);

/* The offer of a device class (sub_channel_index), NULL if none. */
const struct vsc_offer *vsc_vmbus_find_offer(const struct vsc_vmbus *bus,
					     const struct vmbus_guid *if_type, uint16_t sub_index);

/* Describe [gpa, gpa + pages * 4096) to the host under a new handle. */
int vsc_gpadl_create(struct vsc_vmbus *bus, uint32_t relid, uint64_t gpa, uint32_t pages,
		     uint32_t *handle);
int vsc_gpadl_teardown(struct vsc_vmbus *bus, uint32_t relid, uint32_t handle);

/* Allocate the rings (send_pages/recv_pages include each header page), GPADL, open. */
int vsc_channel_open(struct vsc_vmbus *bus, struct vsc_channel *ch, const struct vsc_offer *offer,
		     uint32_t send_pages, uint32_t recv_pages, uint32_t target_vp);
/* CLOSECHANNEL, GPADL teardown, free the rings. */
int vsc_channel_close(struct vsc_channel *ch);
/*
 * Drop a channel the host already closed (ring GPADL torn down, UNLOAD):
 * no messages, just untrack it and free its rings.
 */
void vsc_channel_forget(struct vsc_channel *ch);
/* After a rescind: RELID_RELEASED. */
int vsc_channel_release(struct vsc_vmbus *bus, uint32_t relid);

/* Write a packet and signal the host when the ring rules say so. */
int vsc_channel_send(struct vsc_channel *ch, uint16_t type, uint16_t flags, uint64_t trans_id,
		     const void *data, uint32_t len);
/* The same with a header between descriptor and data (GPA-direct ranges, ...). */
int vsc_channel_send_raw(struct vsc_channel *ch, uint16_t type, uint16_t flags, uint64_t trans_id,
			 const void *hdr, uint32_t hdr_len, const void *data, uint32_t len);
/* Read one packet (descriptor first); VSC_RING_EMPTY when none. Signals on flow control. */
int vsc_channel_recv(struct vsc_channel *ch, void *buf, uint32_t max, uint32_t *len);

/* Post a raw channel message (retries while the host's buffers are full). */
int vsc_vmbus_post(struct vsc_vmbus *bus, uint32_t connection_id, const void *msg, uint32_t size);
/* Take SynIC messages and events now; runs channel callbacks. */
void vsc_vmbus_poll(struct vsc_vmbus *bus);
/* Wait for an answer of msgtype whose u32 at match_off equals match (match_off 0: any). */
int vsc_vmbus_wait(struct vsc_vmbus *bus, uint32_t msgtype, uint32_t match_off, uint32_t match,
		   void *out, uint32_t out_size);

#endif /* VSC_VMBUS_CLIENT_H */

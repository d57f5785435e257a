/* SPDX-License-Identifier: MIT */
/*
 * The network VSP: one synthetic NIC on the VMBus, speaking NVSP and RNDIS
 * to the guest's hv_netvsc and moving frames to and from a backend fd.
 *
 * Each backend fd carries one frame per read/write, each prefixed with a
 * struct virtio_net_hdr (10 bytes): a TAP queue opened with IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR (tap.h), or a SOCK_SEQPACKET socket in tests. It
 * must be non-blocking. Frames go guest to host from send-buffer sections or
 * GPA-direct pages, host to guest through receive-buffer sub-allocations.
 *
 * With more than one backend queue the guest may ask for sub-channels (one
 * per extra queue): channel i serves queue i, and vRSS sends each received
 * frame on the channel the guest's indirection table names for its hash.
 */
#ifndef NETVSP_NETVSP_H
#define NETVSP_NETVSP_H

#include <stdbool.h>
#include <stdint.h>

#include "vmbus_vsp.h"

struct netvsp;

#define NETVSP_MAX_QUEUES 8 /* channels per NIC: the primary and 7 sub-channels */
/*
 * The largest frame the backend should hand over (a TAP's GSO limit, see
 * tap.h): hv_netvsc receives a larger one into a 128 KiB buffer, which
 * halves its TCP receive window (rsc.h).
 */
#define NETVSP_BACKEND_FRAME_MAX 64512

struct netvsp_params {
	struct vmbus_server *server;
	struct vmbus_guid instance;
	uint8_t mac[6];
	uint32_t mtu;	     /* the backend's; the guest may use up to max(mtu, 9000) */
	uint32_t link_speed; /* units of 100 bit/s; 0: 10 Gbit/s */
	int fd;		     /* the backend (queue 0); netvsp does not close it */
	/* More backend queues (TAP IFF_MULTI_QUEUE fds), for sub-channels 1..nqueues-1;
	 * a TAP queue is attached while its channel is open, detached otherwise. */
	const int *queue_fds; /* nqueues - 1 of them */
	unsigned nqueues;     /* 0 or 1: one channel */
	bool link_up;
};

int netvsp_create(const struct netvsp_params *params, struct netvsp **out);
/* Rescinds the channel, then frees; the backend fd stays open. */
void netvsp_destroy(struct netvsp *n);

/* The backend's carrier changed (any thread): the guest gets an indication. */
void netvsp_set_link(struct netvsp *n, bool up);

struct netvsp_stats {
	uint64_t tx_frames, tx_bytes, tx_dropped; /* guest to host */
	uint64_t rx_frames, rx_bytes, rx_dropped; /* host to guest */
	uint64_t rx_packets;			  /* transfer-page packets that carried them */
	uint64_t control_msgs, indications;
	uint64_t rx_handed_off; /* read on one channel's queue, sent on another's (vRSS) */
	uint64_t rx_coalesced;	/* TCP segments that joined the frame before them (RSC) */
	uint64_t rx_split;	/* GSO frames longer than NETVSP_BACKEND_FRAME_MAX, cut in two */
	uint64_t rx_refused;	/* receive packets the guest completed with a failure (dropped) */
	uint64_t rx_frames_per_channel[NETVSP_MAX_QUEUES];
	uint32_t nvsp_version, channels; /* channels: 1 + the sub-channels granted */
	uint32_t recv_sub_alloc_size, recv_sub_allocs, send_section_size, send_sections;
};
/* A snapshot (racy but tear-free per field). */
void netvsp_get_stats(struct netvsp *n, struct netvsp_stats *out);

#endif /* NETVSP_NETVSP_H */

/* SPDX-License-Identifier: MIT */
/*
 * The host side of a synthetic NIC: a TAP opened with IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR (frames carry a struct virtio_net_hdr, checksum offload on),
 * brought up and, for a bridge, enslaved to it through libnl-3 route
 * netlink; a netlink route socket on the event loop watches its carrier.
 * A TAP that did not exist before is not persistent: the kernel removes it
 * when its last fd closes, which covers a vmwp killed by SIGKILL too.
 * With queues > 1 the TAP is opened with IFF_MULTI_QUEUE, one fd per queue
 * (one per VMBus channel of the NIC); an existing single-queue TAP keeps one.
 * gso_max_size lowers the TAP's GSO limit (never raises it), so that the
 * host's TCP sends no larger frames into it when its route is the TAP (a
 * bridge does not take the limit over from its ports); an existing TAP gets
 * its own limit back when vmwp exits normally.
 */
#ifndef NETVSP_TAP_H
#define NETVSP_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"

struct tap;

struct tap_params {
	const char *name;   /* the TAP to use or create; "" or NULL: the kernel picks */
	const char *bridge; /* if set: enslave the TAP to this bridge */
	unsigned queues;    /* 0 or 1: one queue */
	uint32_t gso_max_size; /* 0: leave the TAP's */
	struct evloop *loop;
};

/* 0, or -1 with err. */
int tap_create(const struct tap_params *p, struct tap **out, char *err, size_t errlen);
void tap_destroy(struct tap *t);

int tap_fd(const struct tap *t); /* queue 0: non-blocking, vnet header framing */
unsigned tap_queues(const struct tap *t);
int tap_queue_fd(const struct tap *t, unsigned i); /* i < tap_queues() */
const char *tap_name(const struct tap *t);
uint32_t tap_mtu(const struct tap *t);
/* Administratively up with carrier. */
bool tap_link_up(const struct tap *t);
/* Call cb(ctx, up) on the loop whenever that changes; cb NULL to stop. */
void tap_on_link(struct tap *t, void (*cb)(void *ctx, bool up), void *ctx);

#endif /* NETVSP_TAP_H */

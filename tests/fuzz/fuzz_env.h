/* SPDX-License-Identifier: MIT */
/*
 * Shared set-up of the VMBus fuzz targets: a loopback partition with a small
 * guest RAM, an event loop and the VMBus server, and a guest that takes (and
 * throws away) whatever the server posts so the SynIC queue keeps moving.
 */
#ifndef FUZZ_ENV_H
#define FUZZ_ENV_H

#include <stdint.h>

#include <vsc/loopback.h>
#include <vsc/vmbus_client.h>

#include "evloop.h"
#include "vmbus_server.h"
#include "vmbus_vsp.h"

#define FUZZ_RAM_PAGES 64

struct fuzz_env {
	struct evloop *loop;
	struct vsc_loopback lb;
	struct vmbus_server *server;
	struct vsc_vmbus bus; /* the guest's SynIC pages, for draining */
};

int fuzz_env_create(struct fuzz_env *e);
void fuzz_env_destroy(struct fuzz_env *e);
/* Run the host loop and drain the guest's message slot a few times. */
void fuzz_env_pump(struct fuzz_env *e, int rounds);

/* An echo VSP's packet callback, for the device behind each fuzzed channel. */
void fuzz_echo_packet(struct vmbus_channel *c, const struct vmbus_packet *pkt, void *ctx);

#endif /* FUZZ_ENV_H */

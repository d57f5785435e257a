/* SPDX-License-Identifier: MIT */
/*
 * The VMBus server of a vmwp worker: the root end of the guest's hv_vmbus.
 * It reads the guest's channel-management messages (HvPostMessage on
 * connection 1 or 4), answers through the SynIC (WinHvPostMessage to the
 * VMBus SINT of the VP the guest named in INITIATE_CONTACT), keeps the
 * offers, GPADLs and open channels, and serves each open channel's ring from
 * the worker's event loop when the guest signals the channel's connection id.
 *
 * Devices (VSPs) plug in through vmbus_vsp.h; nothing here knows about any
 * particular device.
 */
#ifndef LINHV_VMBUS_SERVER_H
#define LINHV_VMBUS_SERVER_H

#include <stdarg.h>
#include <stdint.h>

#include <linhv/vmbus_proto.h>
#include <linhv/winhv.h>

#include "evloop.h"

struct vmbus_server;

/* The connection id the guest signals for channel relid (HvSignalEvent). */
#define VMBUS_CHANNEL_CONNECTION_ID(relid) (0x2000u | (relid))

struct vmbus_server_params {
	struct winhv_partition *partition; /* must implement winhv_synic.h */
	struct evloop *loop;
	uint32_t vp_count; /* VPs of the partition (target_vp checks); 0: 1 */
	/* Highest and lowest protocol versions offered (0: 5.3 and 4.0). */
	uint32_t max_version;
	uint32_t min_version;
	/* Log sink (NULL: stderr). Lines have no trailing newline. */
	void (*log)(void *ctx, const char *line);
	void *log_ctx;
};

int vmbus_server_create(const struct vmbus_server_params *params, struct vmbus_server **out);
/* Closes every channel (VSP close and released callbacks run) and frees all. */
void vmbus_server_destroy(struct vmbus_server *server);

/* Protocol version negotiated with the guest, 0 while not connected. */
uint32_t vmbus_server_version(const struct vmbus_server *server);

struct vmbus_server_stats {
	uint64_t messages_in;	   /* guest messages read */
	uint64_t messages_bad;	   /* dropped as malformed or out of place */
	uint64_t messages_out;	   /* posted to the guest */
	uint64_t messages_backlog; /* waiting for a free SynIC slot */
	uint64_t channels_failed;  /* closed because the guest broke the protocol */
	uint32_t gpadls;	   /* live GPADLs */
	uint32_t channels_open;
};
void vmbus_server_get_stats(const struct vmbus_server *server, struct vmbus_server_stats *stats);

#endif /* LINHV_VMBUS_SERVER_H */

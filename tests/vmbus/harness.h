/* SPDX-License-Identifier: MIT */
/*
 * Test harness: one loopback partition whose guest side (vsc-guest) and
 * host side (the VMBus server on an evloop) run interleaved on the test's
 * thread: every guest wait pumps the host loop once.
 */
#ifndef VMBUS_TEST_HARNESS_H
#define VMBUS_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <vsc/ic_client.h>
#include <vsc/loopback.h>
#include <vsc/vmbus_client.h>

#include "evloop.h"
#include "vmbus_server.h"
#include "vmbus_vsp.h"

#define H_LOG_LINES 256

struct harness {
	struct evloop *loop;
	struct vsc_loopback lb;
	struct vmbus_server *server;
	struct vsc_vmbus bus;
	char log[H_LOG_LINES][256];
	int nlog;
};

/* max_version 0: the server default (5.3). Fails the test on error. */
void h_setup(struct harness *h, uint32_t max_version, uint32_t min_version);
void h_teardown(struct harness *h);
/* Connect (newest version first) and collect the offers. */
void h_connect(struct harness *h);
bool h_log_contains(const struct harness *h, const char *needle);
/* Pump host and guest for about ms milliseconds. */
void h_run(struct harness *h, int ms);
/* Post a raw message as the guest on the negotiated connection; the HV status. */
uint32_t h_post_raw(struct harness *h, const void *msg, uint32_t size);

/* A VSP that echoes every inband packet back (as a completion if requested). */
struct echo_dev {
	struct vmbus_channel *chan;
	int opens, closes, packets, released, writable;
	bool refuse_open;
	uint32_t last_len;
	uint64_t last_trans_id;
};

extern const struct vmbus_vsp_ops echo_ops;
/* Offer an echo device with class type_byte (first GUID byte) and instance inst. */
void echo_offer(struct harness *h, struct echo_dev *d, uint8_t type_byte, uint8_t inst,
		uint32_t max_packet);
struct vmbus_guid echo_guid(uint8_t type_byte);

#endif /* VMBUS_TEST_HARNESS_H */

/* SPDX-License-Identifier: MIT */
/*
 * The common part of the host integration services: offer the channel, run
 * the framework/service version negotiation when the guest opens it, and
 * carry one request/response transaction at a time (the host initiates every
 * exchange; the guest answers in place with the same transaction id).
 * Answers are checked before the service sees them.
 */
#ifndef IC_SERVICE_H
#define IC_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linhv/ic_proto.h>

#include "evloop.h"
#include "vmbus_vsp.h"

/* Status passed to on_response when the guest did not answer in time. */
#define IC_STATUS_TIMEOUT 0xFFFFFFFFu

struct ic_service;

struct ic_service_params {
	struct vmbus_server *server;
	struct evloop *loop;
	struct vmbus_guid if_type;
	struct vmbus_guid if_instance;
	uint16_t msgtype;	  /* IC_MSGTYPE_* of the service's own messages */
	const uint32_t *versions; /* service versions offered, newest first */
	uint32_t nversions;
	uint32_t timeout_ms; /* per transaction; 0: 35 s */
	/* Negotiation done; requests may be sent. */
	void (*on_ready)(struct ic_service *svc, void *ctx);
	/* The answer to the request in flight (body after the IC headers). */
	void (*on_response)(struct ic_service *svc, uint32_t status, const uint8_t *body,
			    uint32_t len, void *ctx);
	/* The channel closed; negotiation starts over on the next open. */
	void (*on_reset)(struct ic_service *svc, void *ctx);
	void *ctx;
};

int ic_service_create(const struct ic_service_params *params, struct ic_service **out);
void ic_service_destroy(struct ic_service *svc);

bool ic_service_ready(const struct ic_service *svc);
bool ic_service_busy(const struct ic_service *svc);
uint32_t ic_service_framework_version(const struct ic_service *svc);
uint32_t ic_service_version(const struct ic_service *svc);
struct vmbus_channel *ic_service_channel(const struct ic_service *svc);

/* Send a request with body (len bytes). -ENOTCONN, -EBUSY, -EAGAIN, -EMSGSIZE. */
int ic_service_request(struct ic_service *svc, const void *body, uint32_t len);

/* Counters for tests and diagnostics. */
struct ic_service_stats {
	uint64_t requests, responses, bad_responses, timeouts;
};
void ic_service_get_stats(const struct ic_service *svc, struct ic_service_stats *st);

/* UTF-16LE <-> UTF-8 for the strings ICs carry; both always NUL-terminate. */
size_t ic_utf16_to_utf8(const uint8_t *src, size_t src_bytes, char *dst, size_t dst_size);
/* Returns the bytes written including the UTF-16 NUL. */
size_t ic_utf8_to_utf16(const char *src, uint8_t *dst, size_t dst_bytes);

#endif /* IC_SERVICE_H */

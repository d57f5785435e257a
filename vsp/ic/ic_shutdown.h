/* SPDX-License-Identifier: MIT */
/* Shutdown IC: ask the guest to power off, reboot or hibernate. */
#ifndef IC_SHUTDOWN_H
#define IC_SHUTDOWN_H

#include "ic_service.h"

struct ic_shutdown;

struct ic_shutdown_params {
	struct vmbus_server *server;
	struct evloop *loop;
	struct vmbus_guid instance;
	/* The guest's answer to a request (IC_S_OK, IC_E_FAIL, IC_STATUS_TIMEOUT). */
	void (*on_result)(void *ctx, uint32_t status);
	void *ctx;
};

int ic_shutdown_create(const struct ic_shutdown_params *params, struct ic_shutdown **out);
void ic_shutdown_destroy(struct ic_shutdown *sd);
bool ic_shutdown_ready(const struct ic_shutdown *sd);
/*
 * flags: 0 power off, IC_SHUTDOWN_FLAG_REBOOT, IC_SHUTDOWN_FLAG_HIBERNATE, each
 * optionally | IC_SHUTDOWN_FLAG_FORCE. -ENOTCONN before negotiation, -EBUSY.
 */
int ic_shutdown_request(struct ic_shutdown *sd, uint32_t flags, uint32_t reason,
			const char *message);

#endif /* IC_SHUTDOWN_H */

/* SPDX-License-Identifier: MIT */
/* The VMBus server and the four integration services, hosted on the worker's event loop. */
#ifndef VMWP_VMBUS_HOST_H
#define VMWP_VMBUS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linhv/winhv.h>

#include "evloop.h"

struct vmbus_host;

/* -ENOSYS when the backend has no SynIC (then the VM runs without VMBus). */
int vmbus_host_create(struct evloop *loop, struct winhv_partition *p, uint32_t nr_vps,
		      struct vmbus_host **out);
void vmbus_host_destroy(struct vmbus_host *h);
/* Ask the guest to power off (or reboot) through the shutdown IC; 0 or -1 with err. */
int vmbus_host_shutdown(struct vmbus_host *h, bool reboot, char *err, size_t len);
/* "ok", "unresponsive" or "unknown". */
const char *vmbus_host_heartbeat(struct vmbus_host *h);
/* The guest's FullyQualifiedDomainName from KVP, or "". */
void vmbus_host_hostname(struct vmbus_host *h, char *buf, size_t len);

#endif /* VMWP_VMBUS_HOST_H */

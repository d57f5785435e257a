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
struct tap;
/* A synthetic NIC (netvsp) on tap, in slot (0..VMWP_MAX_NICS-1). 0 or -errno. */
int vmbus_host_add_nic(struct vmbus_host *h, struct tap *tap, const uint8_t mac[6], unsigned slot);
/* Ask the guest to power off (or reboot) through the shutdown IC; 0 or -1 with err. */
int vmbus_host_shutdown(struct vmbus_host *h, bool reboot, char *err, size_t len);
/* "ok", "unresponsive" or "unknown". */
const char *vmbus_host_heartbeat(struct vmbus_host *h);
/*
 * A value from the guest's KVP auto pool (as hv_kvp_daemon reports it:
 * FullyQualifiedDomainName, NetworkAddressIPv4, ...), or "". The guest wrote
 * it, so it comes back as one token: spaces and control bytes become '_'.
 */
void vmbus_host_kvp_value(struct vmbus_host *h, const char *key, char *buf, size_t len);
/*
 * The whole auto pool as "key=value" tokens separated by spaces, with '%',
 * '=', spaces and control bytes percent-encoded; what does not fit in len is
 * left out and the list ends with " ...". Returns the number of pairs.
 */
unsigned vmbus_host_kvp_dump(struct vmbus_host *h, char *buf, size_t len);

#endif /* VMWP_VMBUS_HOST_H */

/* SPDX-License-Identifier: MIT */
/* The VMBus server and the four integration services, hosted on the worker's event loop. */
#ifndef VMWP_VMBUS_HOST_H
#define VMWP_VMBUS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linhv/vmbus_proto.h>
#include <linhv/winhv.h>

#include "evloop.h"

struct vmbus_host;
struct disk;

/* What the worker hosts on VMBus, built from its options. */
struct vmbus_host_params {
	struct evloop *loop;
	struct winhv_partition *partition;
	uint32_t nr_vps;
	/* The VM's identity: every device's instance GUID derives from it and the
	 * device's slot, so the guest sees the same devices after a restart. */
	uint8_t vm_id[16];
	/* Disks opened by the caller (they outlive the host): LUNs of one SCSI controller. */
	struct disk *const *disks;
	unsigned ndisks;
};

/* Device kinds for instance GUIDs (never renumber: guests remember them). */
enum vmbus_host_kind {
	VMBUS_HOST_IC_HEARTBEAT = 1,
	VMBUS_HOST_IC_SHUTDOWN = 2,
	VMBUS_HOST_IC_TIMESYNC = 3,
	VMBUS_HOST_IC_KVP = 4,
	VMBUS_HOST_SCSI = 0x10,
	VMBUS_HOST_NIC = 0x20,
	VMBUS_HOST_PCI = 0x30, /* --assign-pci: one vPCI bus per device */
};
/* The instance GUID of device (kind, slot) of the VM vm_id. */
struct vmbus_guid vmbus_host_instance(const uint8_t vm_id[16], enum vmbus_host_kind kind,
				      uint16_t slot);

/* -ENOSYS when the backend has no SynIC (then the VM runs without VMBus). */
int vmbus_host_create(const struct vmbus_host_params *params, struct vmbus_host **out);
void vmbus_host_destroy(struct vmbus_host *h);
struct vmbus_server;
/* The server, for VSPs its owner creates (the vPCI buses); destroy those first. */
struct vmbus_server *vmbus_host_server(struct vmbus_host *h);
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
 * The guest's addresses per NIC, from KVP GET_IP_INFO (hv_kvp_daemon), for
 * the "ifaddrs" control request: "MAC=ADDR/PREFIX,ADDR/PREFIX" per NIC that
 * has answered (no addresses: "MAC="), separated by spaces; "" until then.
 * The addresses were checked and rewritten in canonical form.
 */
void vmbus_host_ifaddrs(struct vmbus_host *h, char *buf, size_t len);
/*
 * The whole auto pool as "key=value" tokens separated by spaces, with '%',
 * '=', spaces and control bytes percent-encoded; what does not fit in len is
 * left out and the list ends with " ...". Returns the number of pairs.
 */
unsigned vmbus_host_kvp_dump(struct vmbus_host *h, char *buf, size_t len);

/*
 * Device counters for the "stats" control request: "blkI=rd_req:rd_bytes:
 * wr_req:wr_bytes:errs" for LUNs 0..ndisks-1 (zeros if there is no SCSI
 * controller), then "netS=rx_bytes:rx_pkts:rx_errs:rx_drop:tx_bytes:tx_pkts:
 * tx_errs:tx_drop" per NIC slot in use, separated by spaces; rx is what the
 * guest received.
 */
void vmbus_host_io_stats(struct vmbus_host *h, unsigned ndisks, char *buf, size_t len);

#endif /* VMWP_VMBUS_HOST_H */

/* SPDX-License-Identifier: MIT */
/*
 * The storage VSP: one synthetic SCSI controller (the guest's hv_storvsc)
 * whose LUNs 0..n-1 are the given disks, served on VMBus data threads with
 * asynchronous I/O (a primary channel plus one sub-channel per extra vCPU).
 */
#ifndef STORVSP_H
#define STORVSP_H

#include <stdint.h>

#include "disk.h"
#include "vmbus_server.h"

struct storvsp;

#define STORVSP_MAX_LUNS 64
#define STORVSP_MAX_TRANSFER (1u << 20) /* bytes per request (QUERY_PROPERTIES) */

struct storvsp_params {
	struct vmbus_server *server;
	struct vmbus_guid instance; /* stable per VM and slot: /dev/disk/by-id depends on it */
	struct disk *const *disks;  /* LUN i is disks[i]; not owned, must outlive the VSP */
	unsigned ndisks;	    /* 1..STORVSP_MAX_LUNS */
	uint32_t nr_vps;	    /* sub-channels: up to nr_vps - 1 */
};

int storvsp_create(const struct storvsp_params *p, struct storvsp **out);
/* Withdraws the controller; every I/O has completed when it returns. */
void storvsp_destroy(struct storvsp *s);

/* Reads and writes the guest issued to LUN lun (requests, bytes) and I/O errors. */
struct storvsp_lun_stats {
	uint64_t rd_req, rd_bytes, wr_req, wr_bytes, errs;
};
/* A snapshot (tear-free per field); -ENOENT for a LUN it does not have. */
int storvsp_get_stats(struct storvsp *s, unsigned lun, struct storvsp_lun_stats *out);

#endif /* STORVSP_H */

/* SPDX-License-Identifier: MIT */
/*
 * A hostile guest, freestanding: drives a VMBus host that offers the four
 * integration services (heartbeat, shutdown, timesync, KVP) with malformed
 * and out-of-place channel messages, GPADLs naming pages outside guest RAM,
 * ring indices out of bounds, oversized packets and floods, and (when it
 * offers a SCSI controller or a NIC) storage and network packets that lie. After each
 * attack it checks, from the guest's side only, that the host answered as
 * the protocol says (an error status, a rescind of the offending channel)
 * and that the other channels still work.
 *
 * The same code runs in-process on the loopback backend (unit tests) and in
 * the vsc-guest test image under a real VM.
 */
#ifndef VSC_HOSTILE_H
#define VSC_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>

#include "ic_client.h"
#include "vmbus_client.h"

enum { VSC_HOSTILE_HB, VSC_HOSTILE_SD, VSC_HOSTILE_TS, VSC_HOSTILE_KVP, VSC_HOSTILE_NR_IC };

struct vsc_hostile {
	/* Set by the caller. */
	struct vsc_vmbus *bus;
	uint64_t ram_end; /* first GPA past the RAM the platform allocates from */
	void (*result)(void *ctx, const char *name, bool ok, const char *detail);
	void *ctx;
	/* Optional: the KVP auto pool the guest reports, as hv_kvp_daemon would. */
	const struct vsc_kvp_pair *kvp_pool;
	uint32_t kvp_count;
	/* Optional: where the vPCI attacks place the config window (in the
	 * host's VMBus MMIO range; 0: no vPCI attacks), the VM's VP count, and
	 * true to run, after connecting, the vPCI attacks alone. */
	uint64_t vpci_window;
	uint32_t nr_vps;
	bool vpci_only;
	/* Kept by the suite; after vsc_hostile_run the four ICs are open again. */
	struct vsc_ic ic[VSC_HOSTILE_NR_IC];
	bool skip_poll[VSC_HOSTILE_NR_IC];
	uint32_t passed, failed;
	uint32_t next_handle;
	uint32_t seed;
};

/* Run every check; the number that failed. */
uint32_t vsc_hostile_run(struct vsc_hostile *h);
/*
 * The storage attacks alone (part of vsc_hostile_run): nothing when the host
 * offers no SCSI controller, else one check per attack on the controller's
 * channel, each expecting a rescind, then a READ(10) on the re-offered one.
 */
void vsc_hostile_storage(struct vsc_hostile *h);
/*
 * The network attacks alone (part of vsc_hostile_run): nothing when the host
 * offers no NIC, else one check per attack on the NIC's primary channel,
 * each expecting a rescind (the RSS ones only when vRSS is offered), then
 * NVSP INIT on the re-offered one.
 */
void vsc_hostile_net(struct vsc_hostile *h);
/*
 * The vPCI attacks alone (part of vsc_hostile_run when vpci_window is set):
 * nothing when the host offers no vPCI bus, else requests it must refuse
 * with a status, the config window probed (with an MMIO-capable platform),
 * and one check per lying message, each expecting a rescind.
 */
void vsc_hostile_vpci(struct vsc_hostile *h);
/* Take messages and answer the ICs for about n platform waits. */
void vsc_hostile_pump(struct vsc_hostile *h, uint32_t n);
/*
 * After an attack on a device channel: wait for its rescind, let it go
 * (close, RELID_RELEASED) and wait until the host offers a device of type
 * again. NULL, or what failed.
 */
const char *vsc_hostile_expect_reoffer(struct vsc_hostile *h, struct vsc_channel *ch,
				       const struct vmbus_guid *type);

#endif /* VSC_HOSTILE_H */

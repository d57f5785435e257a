/* SPDX-License-Identifier: MIT */
/*
 * --assign-pci: host PCI functions given to the guest. Each one is attached
 * to the partition's device domain (libwinhv's WinHvAttachDevice: its DMA
 * goes to guest physical addresses) and offered on a vPCI bus of its own, a
 * VMBus channel Linux's pci-hyperv drives. The guest reaches the function's
 * config space through the 8 KiB window it names at D0 entry (MMIO exits
 * here), its BARs directly (the host's sysfs mappings of them, mapped where
 * the guest places them), and its MSI/MSI-X through interrupt routes
 * (WinHvMapDeviceInterrupt) built from what CREATE_INTERRUPT handed out.
 *
 * Lifetimes: assign_create once per vmwp (nothing is opened); per boot of
 * the guest, assign_attach right after the partition exists (and, the first
 * time, opening the sysfs files), assign_start once VMBus and the platform
 * are up, assign_stop when the VPs have stopped (before VMBus and the
 * partition go).
 */
#ifndef VMWP_ASSIGN_H
#define VMWP_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

#include <linhv/vmbus_proto.h>
#include <linhv/winhv.h>

#include "acpi.h"
#include "mmio.h"
#include "vpci_msg.h"

struct assign;
struct vmbus_server;

/* What one boot gives the devices. */
struct assign_boot {
	struct vmbus_server *server;
	struct mmio_bus *mmio;	       /* the platform's run-time MMIO ranges */
	struct acpi_vmbus_mmio ranges; /* published in the VMBus device's _CRS */
	uint32_t nr_vps;
	uint8_t vm_id[16]; /* the buses' instance GUIDs derive from it */
};

/*
 * addrs: canonical "ssss:bb:dd.f" (options.c), n 1..VMWP_MAX_ASSIGNED.
 * sysfs: where the devices' directories are; NULL: /sys/bus/pci/devices
 * (another for tests). 0, -EINVAL or -ENOMEM.
 */
int assign_create(const char (*addrs)[16], unsigned n, const char *sysfs, struct assign **out);
void assign_destroy(struct assign *a);

/*
 * Attach every device to partition p; the first time, also read each one's
 * sysfs files (BARs, config space) and map its BARs. On failure err holds one
 * line naming the device (libwinhv's reason when the attach failed) and
 * whatever was attached is detached again. 0 or -1.
 */
int assign_attach(struct assign *a, struct winhv_partition *p, char *err, size_t errlen);

/* Offer the vPCI buses and claim the MMIO ranges. 0 or -1 with err. */
int assign_start(struct assign *a, const struct assign_boot *b, char *err, size_t errlen);

/*
 * Ask the guest to give every assigned function back (vPCI EJECT), as before
 * a shutdown: its driver lets go of the device first. The number asked (0:
 * none the guest holds; done is not called then); done(ctx) runs on the
 * event loop once all have been given back.
 */
unsigned assign_eject_all(struct assign *a, void (*done)(void *ctx), void *ctx);

/* Undo assign_start and assign_attach (any part of them); the VPs must be stopped. */
void assign_stop(struct assign *a);

/*
 * The instance GUID of the vPCI bus in slot (0..7) of VM vm_id. The guest
 * takes its PCI domain from bytes 4-5: distinct per slot, never 0, stable.
 */
struct vmbus_guid assign_instance(const uint8_t vm_id[16], unsigned slot);

/*
 * A device's BARs from the text of its sysfs "resource" file (lines of
 * "start end flags"; the first six are the BARs): the memory BARs as the
 * guest is offered them (at least a page; a 64-bit BAR's upper slot empty),
 * with their host address and size. *io_bars gets a bit per I/O BAR left
 * out. A memory BAR without a host address, not a power of two, not starting
 * on a page, or 64-bit in the last slot: -1 with err.
 */
struct assign_bar_info {
	uint64_t start, host_size;
	struct vpci_bar bar;
};
int assign_parse_bars(const char *text, const char *addr, struct assign_bar_info out[VPCI_NUM_BARS],
		      unsigned *io_bars, char *err, size_t errlen);

#endif /* VMWP_ASSIGN_H */

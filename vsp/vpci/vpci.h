/* SPDX-License-Identifier: MIT */
/*
 * The vPCI VSP: one virtual PCI bus (the guest's pci-hyperv) on a VMBus
 * channel. It negotiates the protocol, lists its functions when the guest
 * asks, answers D0 entry and the BAR probes, and hands the guest's resource
 * and interrupt requests to its owner through callbacks. Served on the
 * event loop; the callbacks run there.
 */
#ifndef VPCI_H
#define VPCI_H

#include <stddef.h>
#include <stdint.h>

#include "vmbus_server.h"
#include "vpci_msg.h"

struct vpci;

/* What the owner decides. Every callback may be NULL (then: success). */
struct vpci_callbacks {
	/* The bus went to D0; the guest placed its 8 KiB config window at
	 * mmio_base. An NTSTATUS for the guest. */
	int32_t (*d0_entry)(void *ctx, uint64_t mmio_base);
	void (*d0_exit)(void *ctx);
	/* The guest gave function dev its BARs and wants up to msi_count
	 * interrupts. An NTSTATUS. */
	int32_t (*resources_assigned)(void *ctx, const struct vpci_device *dev, uint32_t msi_count);
	void (*resources_released)(void *ctx, const struct vpci_device *dev);
	/* Route an interrupt: fill in what the device writes where. An
	 * NTSTATUS; NULL refuses every interrupt. */
	int32_t (*create_interrupt)(void *ctx, const struct vpci_device *dev,
				    const struct vpci_interrupt *in, uint64_t *address,
				    uint32_t *data);
	void (*delete_interrupt)(void *ctx, const struct vpci_device *dev, uint64_t address,
				 uint32_t data);
	void (*ejection_complete)(void *ctx, const struct vpci_device *dev);
};

#define VPCI_CLASS_GUID                                                                            \
	VMBUS_GUID_INIT(0x44c4f61d, 0x4444, 0x4400, 0x9d, 0x52, 0x80, 0x2e, 0x27, 0xed, 0xe1, 0x9f)

struct vpci_params {
	struct vmbus_server *server;
	struct vmbus_guid instance;	/* the guest derives its PCI domain from it */
	const struct vpci_device *devs; /* copied */
	size_t ndevs;			/* 0..VPCI_MAX_DEVICES */
	const struct vpci_callbacks *cb;
	void *cb_ctx;
};

/* Offer the bus. -EINVAL for a bad device model or two functions on one slot. */
int vpci_create(const struct vpci_params *p, struct vpci **out);
/* Withdraw the bus; no callback runs after it returns. */
void vpci_destroy(struct vpci *v);

/*
 * Ask the guest to give up the function at dev/func (EJECT). Its
 * ejection_complete callback runs when the guest has, and the function is
 * off the bus from then on. 0; -ENOENT for a function the guest has not been
 * shown; -ENOTCONN when the channel is not open; -EAGAIN when the guest's
 * ring is full (try again later).
 */
int vpci_eject(struct vpci *v, uint8_t dev, uint8_t func);

/* The negotiated protocol version, 0 before negotiation or when closed. */
uint32_t vpci_version(const struct vpci *v);

#endif /* VPCI_H */

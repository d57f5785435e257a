/* SPDX-License-Identifier: MIT */
/*
 * The interrupts of assigned devices, without I/O: what the guest was given
 * for each vPCI CREATE_INTERRUPT (an allocation: MSI address 0xFEE00000 and
 * vector_count consecutive data values unique within the map, with the
 * guest's vector and target VP), and which of a device's MSI-X entries or
 * MSI vectors are routed with one of them. The owner turns the guest's
 * interrupt programming (vpci_func's irq_update) into irqmap_update and does
 * what the answer says with WinHvMapDeviceInterrupt/WinHvUnmapDeviceInterrupt.
 * Not thread-safe: the owner serialises.
 */
#ifndef VMWP_IRQMAP_H
#define VMWP_IRQMAP_H

#include <stdbool.h>
#include <stdint.h>

#define IRQMAP_ADDRESS 0xFEE00000ull
/* Data values fit MSI's 16-bit message data; 0 is never handed out. */
#define IRQMAP_DATA_LIMIT 0x10000u

struct irqmap;

enum irqmap_op { IRQMAP_NONE, IRQMAP_MAP, IRQMAP_UNMAP };

struct irqmap_action {
	enum irqmap_op op;
	uint32_t vector; /* IRQMAP_MAP: the guest's vector (+ the MSI vector's offset) */
	uint32_t vp;
	bool masked;
	/* The guest enabled an interrupt with an address/data that none of the
	 * device's allocations holds (worth a log line). */
	bool unmatched;
};

int irqmap_create(struct irqmap **out);
void irqmap_destroy(struct irqmap *m);

/*
 * CREATE_INTERRUPT for device dev: count (1-32) data values, aligned to count
 * rounded up to a power of two (a multi-message MSI device puts the vector's
 * number in the low bits). 0 (address and data filled in); -EINVAL for a bad count,
 * -ENOSPC when no block is free, -ENOMEM.
 */
int irqmap_alloc(struct irqmap *m, unsigned dev, uint32_t vector, uint32_t count, uint32_t vp,
		 uint64_t *address, uint32_t *data);

/*
 * DELETE_INTERRUPT for dev's allocation at (address, data): unmap() is
 * called for every route using it (and the route is forgotten), then the
 * allocation is. 0 or -ENOENT.
 */
typedef void (*irqmap_unmap_fn)(void *ctx, unsigned dev, bool msix, uint32_t index);
int irqmap_free(struct irqmap *m, unsigned dev, uint64_t address, uint32_t data,
		irqmap_unmap_fn unmap, void *ctx);

/*
 * The guest's interrupt index of dev (MSI-X entry, or MSI vector) now
 * carries address/data and is enabled or not. An allocation of dev holding
 * them: map (masked when not enabled) to its VP, with its vector plus the
 * offset (MSI-X: data minus the allocation's first value; MSI: the vector's
 * index, the data being the block's first value or that plus the index).
 * No allocation: unmap the route if there is one. The route table follows.
 * -ENOMEM leaves *act at IRQMAP_NONE.
 */
int irqmap_update(struct irqmap *m, unsigned dev, bool msix, uint32_t index, uint64_t address,
		  uint32_t data, bool enabled, struct irqmap_action *act);

/* dev is gone: unmap() for each of its routes; its allocations and routes are forgotten. */
void irqmap_forget(struct irqmap *m, unsigned dev, irqmap_unmap_fn unmap, void *ctx);

/* Live allocations and routes (for tests and logs). */
unsigned irqmap_allocations(const struct irqmap *m);
unsigned irqmap_routes(const struct irqmap *m);

#endif /* VMWP_IRQMAP_H */

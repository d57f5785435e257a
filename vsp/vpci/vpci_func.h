/* SPDX-License-Identifier: MIT */
/*
 * The guest's view of one assigned PCI function: its configuration space as
 * the guest reads and writes it through the vPCI config window, and the pages
 * of its BARs that cannot be mapped straight into the partition (those of the
 * MSI-X table and PBA). Pure: the real device and the partition are reached
 * through the owner's ops, so the unit tests run it on a model device.
 *
 * What the guest sees:
 * - IDs, class, status, capabilities and the rest: the device's own bytes.
 * - BARs: virtual. The guest's addresses, sized and typed as the device's
 *   (a write of all ones reads back the size mask, as on real hardware).
 *   No I/O BARs, no expansion ROM (reads 0), interrupt line and pin read 0.
 * - Command: memory space and bus master go to the device (read-modify-write
 *   of its register); I/O space, INTx disable and the rest stay as the host
 *   left them. The guest reads back its own memory space, bus master, parity,
 *   SERR and INTx disable bits; I/O space and the rest read 0. Status is the
 *   device's (writes dropped). While memory space is on, each memory BAR the
 *   guest placed (address not 0) is mapped at the guest's address
 *   (ops->map), except the 4 KiB pages holding the MSI-X table and PBA, which
 *   trap (vpci_func_mmio); a BAR smaller than a page traps whole (it cannot
 *   be mapped at a page-aligned GPA). A BAR moved or memory space turned off
 *   is unmapped first.
 * - MSI and MSI-X capabilities: virtual. The guest's enable bits, masks,
 *   addresses and data never reach the device (the host kernel programs the
 *   device's own table); changes of an interrupt's effective state are
 *   reported through ops->irq_update. Their read-only fields (vector counts,
 *   64-bit, per-vector masking, table and PBA location) are the device's;
 *   pending bits (MSI and the PBA) read 0.
 * - Every other write is dropped.
 *
 * Thread safety: every entry point may be called from any thread (config
 * accesses come from the event loop's vPCI messages and from vCPU threads'
 * MMIO exits); the function serialises them internally and calls the ops
 * with its lock held (the ops must not call back into it).
 */
#ifndef VPCI_FUNC_H
#define VPCI_FUNC_H

#include <stdbool.h>
#include <stdint.h>

#include "vpci_msg.h"

#define VPCI_CFG_SIZE 4096u

struct vpci_func;

/* How the owner reaches the device and the partition. All are required. */
struct vpci_func_ops {
	/* The device's own config space (sysfs "config"). size 1, 2 or 4,
	 * off + size <= VPCI_CFG_SIZE, naturally aligned. 0 or -errno. */
	int (*cfg_read)(void *ctx, uint32_t off, uint32_t size, uint32_t *val);
	int (*cfg_write)(void *ctx, uint32_t off, uint32_t size, uint32_t val);
	/* The device's memory BAR bar at off (its mmap of resourceN), for the
	 * parts of trapped pages that are neither table nor PBA. size 1-8. */
	int (*bar_read)(void *ctx, unsigned bar, uint64_t off, uint32_t size, uint64_t *val);
	int (*bar_write)(void *ctx, unsigned bar, uint64_t off, uint32_t size, uint64_t val);
	/* Map [off, off + len) of memory BAR bar at gpa, direct (no exit per
	 * access); page-aligned. 0 or -errno. unmap undoes one such map
	 * (only maps that succeeded are ever unmapped). The function never
	 * maps over a range it has mapped (a BAR the guest placed on top of
	 * another waits until that one moves); a range that meets RAM or
	 * another function's mapping is the owner's to refuse. */
	int (*map)(void *ctx, unsigned bar, uint64_t off, uint64_t gpa, uint64_t len);
	void (*unmap)(void *ctx, uint64_t gpa, uint64_t len);
	/*
	 * The guest's interrupt index (an MSI-X table entry; for MSI the
	 * vector index within the capability's block, data's low bits then
	 * being the index) now carries address and data and is enabled
	 * (capability enabled, function not masked, entry not masked) or not.
	 * Called on every change of any of the three, also of a disabled
	 * interrupt's address or data (the guest programs an entry while it
	 * is masked, and names it by those values before it unmasks it), and
	 * with enabled false when it stops being enabled (masked, capability
	 * off, fewer MSI vectors, reset, destroy).
	 */
	void (*irq_update)(void *ctx, bool msix, uint32_t index, uint64_t address, uint32_t data,
			   bool enabled);
	/*
	 * Optional (NULL: not told). The guest turned the MSI (msix false) or
	 * MSI-X capability's enable bit on or off (or reset, destroy turned
	 * it off). Called before any irq_update that enables one of its
	 * interrupts, and after the reports that disable them: a device model
	 * may only deliver through vectors that existed when its queues were
	 * set up, so the owner enables the device's real vectors here, before
	 * any entry is unmasked.
	 */
	void (*irq_enable)(void *ctx, bool msix, bool on);
};

/*
 * Read the device's BARs (bars[i], as the owner found them in sysfs
 * "resource": size 0 for none; VPCI_BAR_* flags; a 64-bit BAR's upper slot
 * size 0) and walk its capability list (through ops->cfg_read) for MSI and
 * MSI-X. -EINVAL when the device's config space or BARs are inconsistent (a
 * capability list that loops or leaves the header, an MSI-X table outside
 * its BAR, an I/O BAR the table lives in), -ENOMEM.
 */
int vpci_func_create(const struct vpci_bar bars[VPCI_NUM_BARS], const struct vpci_func_ops *ops,
		     void *ctx, struct vpci_func **out);
/* Unmap what is mapped, report enabled interrupts as disabled, free. */
void vpci_func_destroy(struct vpci_func *f);

/* The guest's config accesses. Any off/size: out of range or misaligned
 * reads return all ones, such writes are dropped. */
uint32_t vpci_func_cfg_read(struct vpci_func *f, uint32_t off, uint32_t size);
void vpci_func_cfg_write(struct vpci_func *f, uint32_t off, uint32_t size, uint32_t val);

/* An MMIO exit at gpa: true when it is inside one of the function's trapped
 * pages, or in a part of a decoded BAR that is not mapped (the owner's map
 * failed, or the guest put another BAR there): then a read fills *val, a
 * write takes its low size bytes from *val,
 * false when it is not the function's. In the MSI-X table and PBA only
 * naturally aligned accesses of 1, 2, 4 or 8 bytes inside them count (others
 * read all ones, writes dropped); elsewhere in a trapped page accesses of
 * 1-8 bytes inside the BAR go to the device. */
bool vpci_func_mmio(struct vpci_func *f, uint64_t gpa, bool write, uint32_t size, uint64_t *val);

/* Back to power-on state (the guest released the function or left D0):
 * BARs 0, command 0 (memory space and bus master also off on the device),
 * everything unmapped, interrupts off. */
void vpci_func_reset(struct vpci_func *f);

#endif /* VPCI_FUNC_H */

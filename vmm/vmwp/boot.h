/* SPDX-License-Identifier: MIT */
/*
 * Linux/x86 64-bit direct boot: kernel, initrd, command line, boot_params
 * with the e820 map, identity page tables and a GDT, and the VP 0 registers
 * for the 64-bit entry point.
 */
#ifndef VMWP_BOOT_H
#define VMWP_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include <linhv/winhv.h>

#include "bzimage.h"

/* Guest physical layout. RAM above BOOT_LOW_RAM_MAX continues at 4 GiB. */
#define BOOT_LOW_RAM_MAX 0xC0000000ULL
#define BOOT_HIGH_RAM_BASE 0x100000000ULL
#define BOOT_GDT 0x500
#define BOOT_PARAMS 0x7000
#define BOOT_PML4 0x9000 /* PML4, PDPT, then 4 page directories: 4 GiB of 2 MiB pages */
#define BOOT_CMDLINE 0x20000
#define BOOT_ACPI 0xE0000 /* ACPI tables, up to BOOT_RESET_VECTOR */
/* F000:FFF0, where Linux's BIOS reboot jumps: a stub there writes the reset register. */
#define BOOT_RESET_VECTOR 0xFFFF0

struct boot_image {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd;
	size_t initrd_len;
	const char *cmdline;
};

struct boot_entry {
	uint64_t rip, rsi;
};

/* Low RAM size for a guest of mem bytes. */
uint64_t boot_low_ram(uint64_t mem);

/*
 * The MMIO ranges for assigned devices' vPCI buses (published in the _CRS of
 * the VMBus device's parent, never in the e820 map): below 4 GiB, from the
 * end of low RAM's window to just below the IOAPIC; above 4 GiB,
 * BOOT_PCI_HIGH_SIZE (or less, down to 1 GiB, to fit) aligned to its size
 * past the end of RAM and below 2^phys_bits (the guest's physical address
 * width; at most 48, what linhv.ko maps). high_size 0 when nothing fits.
 */
#define BOOT_PCI_LOW_BASE 0xC0000000ULL
#define BOOT_PCI_LOW_END 0xFE000000ULL /* exclusive; the IOAPIC is at 0xFEC00000 */
#define BOOT_PCI_HIGH_SIZE (64ULL << 30)
struct acpi_vmbus_mmio;
void boot_pci_mmio(uint64_t mem, unsigned phys_bits, struct acpi_vmbus_mmio *out);

/* The size checks of boot_load_linux alone, before any RAM exists. */
int boot_check(uint64_t mem, const struct bzimage_info *bz, size_t initrd_len, size_t cmdline_len,
	       char *err, size_t errlen);

/* Writes everything into ram (the guest's RAM as one buffer, see boot_low_ram). */
int boot_load_linux(uint8_t *ram, uint64_t mem, const struct bzimage_info *bz,
		    const struct boot_image *img, uint64_t rsdp, struct boot_entry *out, char *err,
		    size_t errlen);

/* Long mode, paging on, flat segments: the state the 64-bit entry expects. */
int boot_set_registers(struct winhv_vp *vp, const struct boot_entry *e);

#endif /* VMWP_BOOT_H */

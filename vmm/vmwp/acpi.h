/* SPDX-License-Identifier: MIT */
/*
 * The guest's ACPI tables: RSDP, XSDT, a hardware-reduced FADT (sleep control
 * register for S5, reset register), MADT (one local APIC per VP, one IOAPIC)
 * and a DSDT with the VMBus device and COM1, built as AML bytes here.
 */
#ifndef VMWP_ACPI_H
#define VMWP_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_SLEEP_CONTROL_PORT 0x600 /* write SLP_TYP<<2 | SLP_EN(0x20) */
#define ACPI_SLEEP_STATUS_PORT 0x601
#define ACPI_RESET_PORT 0xcf9
#define ACPI_RESET_VALUE 0x06
#define ACPI_S5_TYPE 5
#define ACPI_IOAPIC_BASE 0xfec00000u
#define ACPI_LAPIC_BASE 0xfee00000u

/*
 * MMIO ranges the VMBus device's parent (\_SB.VMOD) offers in its _CRS:
 * Linux's hv_vmbus collects them, and pci-hyperv allocates each vPCI bus's
 * config window and BAR windows there (32-bit BARs in a range below 4 GiB,
 * 64-bit BARs above).
 * A size of 0 leaves a range out; both 0 (or no struct): an empty _CRS.
 */
struct acpi_vmbus_mmio {
	uint64_t low_base, low_size;   /* below 4 GiB: a DWord descriptor */
	uint64_t high_base, high_size; /* a QWord descriptor */
};

/*
 * Builds the tables into buf (guest physical address gpa, room bytes). The
 * RSDP is at gpa. mmio: NULL for none. Returns the bytes used, or 0 when
 * room is too small.
 */
size_t acpi_build(uint8_t *buf, uint64_t gpa, size_t room, uint32_t ncpus,
		  const struct acpi_vmbus_mmio *mmio);

/*
 * The module device's _CRS resource template for mmio (NULL: empty), end tag
 * included, into buf (at least ACPI_VMBUS_CRS_MAX bytes). Returns its length.
 */
#define ACPI_VMBUS_CRS_MAX 80
size_t acpi_vmbus_crs(uint8_t *buf, const struct acpi_vmbus_mmio *mmio);

/* The byte that makes the sum of p[0..n) zero when stored at the checksum field. */
uint8_t acpi_checksum(const uint8_t *p, size_t n);

#endif /* VMWP_ACPI_H */

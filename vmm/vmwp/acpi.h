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
 * Builds the tables into buf (guest physical address gpa, room bytes). The
 * RSDP is at gpa. Returns the bytes used, or 0 when room is too small.
 */
size_t acpi_build(uint8_t *buf, uint64_t gpa, size_t room, uint32_t ncpus);

/* The byte that makes the sum of p[0..n) zero when stored at the checksum field. */
uint8_t acpi_checksum(const uint8_t *p, size_t n);

#endif /* VMWP_ACPI_H */

// SPDX-License-Identifier: MIT
/* ACPI tables: checksums, lengths and the pointers between them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "acpi.h"
#include "boot.h"

static uint8_t buf[0x20000];

static uint32_t len_of(const uint8_t *t)
{
	uint32_t l;

	memcpy(&l, t + 4, 4);
	return l;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static const uint8_t *table(uint64_t gpa)
{
	ck_assert_uint_ge(gpa, 0xe0000);
	ck_assert_uint_lt(gpa, 0xe0000 + sizeof(buf));
	return buf + (gpa - 0xe0000);
}

START_TEST(checksums)
{
	for (uint32_t n = 1; n <= 64; n *= 2) {
		size_t used = acpi_build(buf, 0xe0000, sizeof(buf), n, NULL);
		uint64_t xsdt, fadt, madt;
		uint32_t dsdt;

		ck_assert_uint_gt(used, 0);
		ck_assert_mem_eq(buf, "RSD PTR ", 8);
		ck_assert_uint_eq(sum(buf, 20), 0);
		ck_assert_uint_eq(sum(buf, 36), 0);
		memcpy(&xsdt, buf + 24, 8);
		const uint8_t *x = table(xsdt);

		ck_assert_mem_eq(x, "XSDT", 4);
		ck_assert_uint_eq(sum(x, len_of(x)), 0);
		ck_assert_uint_eq(len_of(x), 36 + 16);
		memcpy(&fadt, x + 36, 8);
		memcpy(&madt, x + 44, 8);
		const uint8_t *f = table(fadt), *m = table(madt);

		ck_assert_mem_eq(f, "FACP", 4);
		ck_assert_uint_eq(len_of(f), 276);
		ck_assert_uint_eq(sum(f, 276), 0);
		ck_assert_uint_eq(f[112 + 2] & 0x10, 0x10); /* HW_REDUCED_ACPI (bit 20) */
		ck_assert_mem_eq(m, "APIC", 4);
		ck_assert_uint_eq(sum(m, len_of(m)), 0);
		ck_assert_uint_eq(len_of(m), 36 + 8 + 8 * n + 12);
		memcpy(&dsdt, f + 40, 4);
		const uint8_t *d = table(dsdt);

		ck_assert_mem_eq(d, "DSDT", 4);
		ck_assert_uint_eq(sum(d, len_of(d)), 0);
		ck_assert_ptr_nonnull(memmem(d, len_of(d), "VMBus", 6));
		ck_assert_ptr_nonnull(memmem(d, len_of(d), "_S5_", 4));
		/* The RTC: EisaId("PNP0B00") and its ports 0x70-0x71 */
		ck_assert_ptr_nonnull(memmem(d, len_of(d), "RTC0", 4));
		ck_assert_ptr_nonnull(memmem(d, len_of(d), "\x0c\x41\xd0\x0b\x00", 5));
		ck_assert_ptr_nonnull(memmem(d, len_of(d), "\x47\x01\x70\x00\x70\x00\x01\x02", 8));
		ck_assert_uint_le((size_t)(d - buf) + len_of(d), used);
	}
}
END_TEST

START_TEST(too_small)
{
	ck_assert_uint_eq(acpi_build(buf, 0xe0000, 64, 1, NULL), 0);
	ck_assert_uint_eq(acpi_build(buf, 0xe0000, 400, 1, NULL), 0);
	ck_assert_uint_eq(acpi_build(buf, 0xe0000, sizeof(buf), 0, NULL), 0);
	ck_assert_uint_eq(acpi_build(buf, 0xe0000, sizeof(buf), 256, NULL), 0);
}
END_TEST

START_TEST(checksum_fn)
{
	uint8_t t[8] = {1, 2, 3, 4, 5, 6, 7, 0};

	t[7] = acpi_checksum(t, 7);
	ck_assert_uint_eq(sum(t, 8), 0);
}
END_TEST

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	memcpy(&v, p, n);
	return v;
}

static const uint8_t *build_dsdt(const struct acpi_vmbus_mmio *mmio)
{
	size_t used = acpi_build(buf, 0xe0000, sizeof(buf), 2, mmio);
	uint64_t xsdt, fadt;
	uint32_t dsdt;

	ck_assert_uint_gt(used, 0);
	memcpy(&xsdt, buf + 24, 8);
	memcpy(&fadt, table(xsdt) + 36, 8);
	memcpy(&dsdt, table(fadt) + 40, 4);
	const uint8_t *d = table(dsdt);

	ck_assert_uint_eq(sum(d, len_of(d)), 0);
	return d;
}

/* A PkgLength (1 or 2 bytes here) at p: the value, and its size in nb. */
static unsigned pkg_length(const uint8_t *p, unsigned *nb)
{
	*nb = 1 + (p[0] >> 6);
	ck_assert_uint_le(*nb, 2);
	return *nb == 2 ? (p[0] & 0x0fu) | (unsigned)p[1] << 4 : p[0] & 0x3fu;
}

/* The first Name(_CRS, Buffer(...)) after the device name in the DSDT d. */
static const uint8_t *device_crs(const uint8_t *d, const char *dev, uint8_t *len)
{
	const uint8_t *at = memmem(d, len_of(d), dev, 4);

	ck_assert_ptr_nonnull(at);
	const uint8_t *crs = memmem(at, len_of(d) - (size_t)(at - d), "_CRS", 4);
	unsigned nb, pkg;

	ck_assert_ptr_nonnull(crs);
	ck_assert_uint_eq(crs[-1], 0x08); /* NameOp */
	ck_assert_uint_eq(crs[4], 0x11);  /* BufferOp */
	/* PkgLength, BytePrefix, the size, the bytes. */
	pkg = pkg_length(crs + 5, &nb);
	ck_assert_uint_eq(crs[5 + nb], 0x0a);
	*len = crs[6 + nb];
	ck_assert_uint_eq(pkg, nb + 2 + *len);
	return crs + 7 + nb;
}

/* The ranges' resource template, in the module device's _CRS. */
static const uint8_t *vmbus_crs(const struct acpi_vmbus_mmio *mmio, uint8_t *len)
{
	return device_crs(build_dsdt(mmio), "VMOD", len);
}

START_TEST(vmbus_crs_empty)
{
	struct acpi_vmbus_mmio none = {0};
	uint8_t len, dsdt_none[4096], dsdt_zero[4096];
	size_t n1, n2;

	/* No ranges: an empty template, the same DSDT for NULL and for zeros. */
	const uint8_t *c = vmbus_crs(NULL, &len);

	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(c[0], 0x79);
	ck_assert_uint_eq(c[1], 0x00);
	n1 = acpi_build(buf, 0xe0000, sizeof(buf), 2, NULL);
	memcpy(dsdt_none, buf, n1 < sizeof(dsdt_none) ? n1 : sizeof(dsdt_none));
	n2 = acpi_build(buf, 0xe0000, sizeof(buf), 2, &none);
	memcpy(dsdt_zero, buf, n2 < sizeof(dsdt_zero) ? n2 : sizeof(dsdt_zero));
	ck_assert_uint_eq(n1, n2);
	ck_assert_mem_eq(dsdt_none, dsdt_zero, n1 < sizeof(dsdt_none) ? n1 : sizeof(dsdt_none));
}
END_TEST

/*
 * The VMBus device lies inside \_SB.VMOD (ACPI0004), whose _CRS carries the
 * ranges, and has an empty _CRS of its own: Linux 5.10's hv_vmbus walks up
 * from it until an ancestor's _CRS gives it ranges and oopses when it
 * reaches the namespace root.
 */
START_TEST(vmbus_in_module_device)
{
	struct acpi_vmbus_mmio m;
	uint8_t len;

	boot_pci_mmio(512ULL << 20, 40, &m);
	const uint8_t *d = build_dsdt(&m);
	const uint8_t *vmod = memmem(d, len_of(d), "VMOD", 4);
	const uint8_t *vmbs = memmem(d, len_of(d), "VMBS", 4);
	unsigned nb, pkg;

	ck_assert_ptr_nonnull(vmod);
	ck_assert_ptr_nonnull(vmbs);
	/* DeviceOp, PkgLength, then the name; the package holds VMBS. */
	ck_assert_uint_eq(vmod[-4], 0x5b);
	ck_assert_uint_eq(vmod[-3], 0x82);
	pkg = pkg_length(vmod - 2, &nb);
	ck_assert_uint_eq(nb, 2);
	ck_assert(vmbs > vmod && vmbs + 4 <= vmod - 2 + pkg);
	ck_assert_ptr_nonnull(memmem(vmod, pkg, "ACPI0004", 9));
	/* Its _CRS comes before VMBS: the ranges (a DWord descriptor first). */
	const uint8_t *c = device_crs(d, "VMOD", &len);

	ck_assert(c < vmbs);
	ck_assert_uint_eq(c[0], 0x87);
	c = device_crs(d, "VMBS", &len);
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(c[0], 0x79);
}
END_TEST

START_TEST(vmbus_crs_ranges)
{
	static const uint64_t mems[] = {32ULL << 20, 512ULL << 20, 3ULL << 30,
					4ULL << 30,  100ULL << 30, 1ULL << 40};
	static const unsigned bits[] = {36, 39, 40, 46, 48, 52};

	for (unsigned i = 0; i < sizeof(mems) / sizeof(mems[0]); i++) {
		for (unsigned j = 0; j < sizeof(bits) / sizeof(bits[0]); j++) {
			struct acpi_vmbus_mmio m;
			uint64_t mem = mems[i], low = boot_low_ram(mem);
			uint64_t ram_top = BOOT_HIGH_RAM_BASE + (mem - low);
			unsigned pb = bits[j] > 48 ? 48 : bits[j];
			uint8_t len;

			boot_pci_mmio(mem, bits[j], &m);
			/* Low: clear of low RAM, the IOAPIC and the local APIC, below 4 GiB. */
			ck_assert_uint_ge(m.low_base, low);
			ck_assert_uint_le(m.low_base + m.low_size, 0xfec00000);
			ck_assert_uint_gt(m.low_size, 512ULL << 20);
			/* High: past the end of RAM, aligned to its size, inside the width. */
			if (ram_top + (1ULL << 30) <= (1ULL << pb)) {
				ck_assert_uint_ge(m.high_size, 1ULL << 30);
			}
			if (m.high_size) {
				ck_assert_uint_ge(m.high_base, ram_top);
				ck_assert_uint_ge(m.high_base, BOOT_HIGH_RAM_BASE);
				ck_assert_uint_eq(m.high_base & (m.high_size - 1), 0);
				ck_assert_uint_le(m.high_base + m.high_size, 1ULL << pb);
			}

			const uint8_t *c = vmbus_crs(&m, &len);

			ck_assert_uint_eq(len, 26 + (m.high_size ? 46 : 0) + 2);
			/* DWord memory range: producer, fixed min and max. */
			ck_assert_uint_eq(c[0], 0x87);
			ck_assert_uint_eq(rd(c + 1, 2), 23);
			ck_assert_uint_eq(c[3], 0);
			ck_assert_uint_eq(c[4], 0x0c);
			ck_assert_uint_eq(rd(c + 10, 4), m.low_base);
			ck_assert_uint_eq(rd(c + 14, 4), m.low_base + m.low_size - 1);
			ck_assert_uint_eq(rd(c + 18, 4), 0);
			ck_assert_uint_eq(rd(c + 22, 4), m.low_size);
			c += 26;
			if (m.high_size) {
				ck_assert_uint_eq(c[0], 0x8a);
				ck_assert_uint_eq(rd(c + 1, 2), 43);
				ck_assert_uint_eq(c[3], 0);
				ck_assert_uint_eq(c[4], 0x0c);
				ck_assert_uint_eq(rd(c + 14, 8), m.high_base);
				ck_assert_uint_eq(rd(c + 22, 8), m.high_base + m.high_size - 1);
				ck_assert_uint_eq(rd(c + 30, 8), 0);
				ck_assert_uint_eq(rd(c + 38, 8), m.high_size);
				c += 46;
			}
			ck_assert_uint_eq(c[0], 0x79);
		}
	}
}
END_TEST

TEST_MAIN("vmwp-acpi", checksums, too_small, checksum_fn, vmbus_crs_empty, vmbus_in_module_device,
	  vmbus_crs_ranges)

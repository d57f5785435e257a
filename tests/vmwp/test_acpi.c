// SPDX-License-Identifier: MIT
/* ACPI tables: checksums, lengths and the pointers between them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "acpi.h"

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
		size_t used = acpi_build(buf, 0xe0000, sizeof(buf), n);
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
		ck_assert_uint_le((size_t)(d - buf) + len_of(d), used);
	}
}
END_TEST

START_TEST(too_small)
{
	ck_assert_uint_eq(acpi_build(buf, 0xe0000, 64, 1), 0);
	ck_assert_uint_eq(acpi_build(buf, 0xe0000, 400, 1), 0);
	ck_assert_uint_eq(acpi_build(buf, 0xe0000, sizeof(buf), 0), 0);
	ck_assert_uint_eq(acpi_build(buf, 0xe0000, sizeof(buf), 256), 0);
}
END_TEST

START_TEST(checksum_fn)
{
	uint8_t t[8] = {1, 2, 3, 4, 5, 6, 7, 0};

	t[7] = acpi_checksum(t, 7);
	ck_assert_uint_eq(sum(t, 8), 0);
}
END_TEST

TEST_MAIN("vmwp-acpi", checksums, too_small, checksum_fn)

// SPDX-License-Identifier: MIT
/* bzImage header parsing and boot layout checks on crafted headers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check_main.h"
#include "acpi.h"
#include "boot.h"
#include "bzimage.h"

#define IMG 8192

static uint8_t img[IMG];

static void good(void)
{
	memset(img, 0, sizeof(img));
	img[0x1f1] = 1;
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	img[0x201] = 0x66;
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f;
	img[0x207] = 0x02;
	img[0x211] = 1;
	img[0x236] = 1;
	img[0x238] = 0xff; /* cmdline_size 2047 */
	img[0x239] = 0x07;
	img[0x262] = 0x10; /* init_size 1 MiB */
}

START_TEST(accepts_good)
{
	struct bzimage_info bz;
	char err[200];

	good();
	ck_assert_int_eq(bzimage_parse(img, IMG, &bz, err, sizeof(err)), 0);
	ck_assert_uint_eq(bz.setup_size, 1024);
	ck_assert_uint_eq(bz.kernel_size, IMG - 1024);
	ck_assert_uint_eq(bz.version, 0x020f);
	ck_assert_uint_eq(bz.init_size, 0x100000);
	ck_assert_uint_eq(bz.cmdline_size, 2047);
}
END_TEST

START_TEST(rejects_bad)
{
	struct bzimage_info bz;
	char err[200];

	good();
	ck_assert_int_eq(bzimage_parse(img, 100, &bz, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too small"));
	good();
	img[0x202] = 'X';
	ck_assert_int_eq(bzimage_parse(img, IMG, &bz, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a bzImage"));
	good();
	img[0x1fe] = 0;
	ck_assert_int_eq(bzimage_parse(img, IMG, &bz, err, sizeof(err)), -1);
	good();
	img[0x206] = 0x0b; /* 2.11 */
	ck_assert_int_eq(bzimage_parse(img, IMG, &bz, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too old"));
	good();
	img[0x236] = 0;
	ck_assert_int_eq(bzimage_parse(img, IMG, &bz, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "64-bit"));
	good();
	img[0x211] = 0;
	ck_assert_int_eq(bzimage_parse(img, IMG, &bz, err, sizeof(err)), -1);
	good();
	img[0x1f1] = 200; /* setup larger than the file */
	ck_assert_int_eq(bzimage_parse(img, IMG, &bz, err, sizeof(err)), -1);
	good();
	img[0x201] = 0x10; /* header ends before the fields we read */
	ck_assert_int_eq(bzimage_parse(img, IMG, &bz, err, sizeof(err)), -1);
	good();
	img[0x230] = 3; /* alignment not a power of two */
	ck_assert_int_eq(bzimage_parse(img, IMG, &bz, err, sizeof(err)), -1);
}
END_TEST

START_TEST(layout_checks)
{
	struct bzimage_info bz;
	char err[200];

	good();
	ck_assert_int_eq(bzimage_parse(img, IMG, &bz, err, sizeof(err)), 0);
	ck_assert_int_eq(boot_check(64ULL << 20, &bz, 0, 10, err, sizeof(err)), 0);
	bz.init_size = 100u << 20;
	ck_assert_int_eq(boot_check(64ULL << 20, &bz, 0, 10, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "memory too small"));
	bz.init_size = 1u << 20;
	ck_assert_int_eq(boot_check(64ULL << 20, &bz, 70u << 20, 10, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "initrd"));
	ck_assert_int_eq(boot_check(64ULL << 20, &bz, 0, 5000, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "command line"));
	ck_assert_uint_eq(boot_low_ram(8ULL << 30), BOOT_LOW_RAM_MAX);
}
END_TEST

START_TEST(loads)
{
	struct bzimage_info bz;
	struct boot_entry e;
	char err[200];
	uint64_t mem = 32ULL << 20;
	uint8_t *ram = calloc(1, mem);
	static const uint8_t initrd[5000] = {1, 2, 3};
	struct boot_image bi = {img, IMG, initrd, sizeof(initrd), "console=ttyS0"};

	good();
	img[1024] = 0xab;
	ck_assert_int_eq(bzimage_parse(img, IMG, &bz, err, sizeof(err)), 0);
	ck_assert_int_eq(boot_load_linux(ram, mem, &bz, &bi, 0xe0000, &e, err, sizeof(err)), 0);
	ck_assert_uint_eq(e.rip, 0x100200);
	ck_assert_uint_eq(ram[0x100000], 0xab);
	ck_assert_str_eq((char *)ram + BOOT_CMDLINE, "console=ttyS0");
	uint32_t rd;
	memcpy(&rd, ram + BOOT_PARAMS + 0x218, 4);
	ck_assert_uint_gt(rd, 0x200000);
	ck_assert_uint_eq(rd & 0xfff, 0);
	ck_assert_uint_eq(ram[rd + 2], 3);
	ck_assert_uint_ge(ram[BOOT_PARAMS + 0x1e8], 3); /* e820 entries */
	free(ram);
}
END_TEST

/* The e820 map never claims the vPCI MMIO ranges (--assign-pci's _CRS). */
START_TEST(e820_clear_of_pci_mmio)
{
	static const uint64_t mems[] = {32ULL << 20, 3ULL << 30, 5ULL << 30};
	struct bzimage_info bz;
	struct boot_entry e;
	char err[200];

	good();
	ck_assert_int_eq(bzimage_parse(img, IMG, &bz, err, sizeof(err)), 0);
	for (unsigned i = 0; i < sizeof(mems) / sizeof(mems[0]); i++) {
		uint64_t mem = mems[i];
		uint8_t *ram = mmap(NULL, mem, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		struct boot_image bi = {img, IMG, NULL, 0, "console=ttyS0"};
		struct acpi_vmbus_mmio m;

		ck_assert_ptr_ne(ram, MAP_FAILED);
		ck_assert_int_eq(boot_load_linux(ram, mem, &bz, &bi, 0xe0000, &e, err, sizeof(err)),
				 0);
		boot_pci_mmio(mem, 40, &m);
		ck_assert_uint_gt(m.high_size, 0);
		for (unsigned k = 0; k < ram[BOOT_PARAMS + 0x1e8]; k++) {
			const uint8_t *ent = ram + BOOT_PARAMS + 0x2d0 + k * 20;
			uint64_t a, n;

			memcpy(&a, ent, 8);
			memcpy(&n, ent + 8, 8);
			ck_assert(a + n <= m.low_base || a >= m.low_base + m.low_size);
			ck_assert(a + n <= m.high_base || a >= m.high_base + m.high_size);
		}
		munmap(ram, mem);
	}
}
END_TEST

TEST_MAIN("vmwp-bzimage", accepts_good, rejects_bad, layout_checks, loads, e820_clear_of_pci_mmio)

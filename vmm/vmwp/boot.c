// SPDX-License-Identifier: MIT
/* Linux/x86 64-bit boot protocol: see Documentation/x86/boot.rst for the fields. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "acpi.h"
#include "boot.h"

#define E820_RAM 1
#define E820_RESERVED 2

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static void wr16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

uint64_t boot_low_ram(uint64_t mem)
{
	return mem < BOOT_LOW_RAM_MAX ? mem : BOOT_LOW_RAM_MAX;
}

void boot_pci_mmio(uint64_t mem, unsigned phys_bits, struct acpi_vmbus_mmio *out)
{
	uint64_t low = boot_low_ram(mem), top = BOOT_HIGH_RAM_BASE + (mem - low), limit;

	out->low_base = BOOT_PCI_LOW_BASE;
	out->low_size = BOOT_PCI_LOW_END - BOOT_PCI_LOW_BASE;
	if (phys_bits > 48 || phys_bits < 32)
		phys_bits = 48;
	limit = 1ULL << phys_bits;
	out->high_base = out->high_size = 0;
	for (uint64_t size = BOOT_PCI_HIGH_SIZE; size >= (1ULL << 30); size >>= 1) {
		uint64_t base = (top + size - 1) & ~(size - 1);

		if (base < limit && size <= limit - base) {
			out->high_base = base;
			out->high_size = size;
			break;
		}
	}
}

static void e820_add(uint8_t *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t n = bp[0x1e8];
	uint8_t *e = bp + 0x2d0 + n * 20;

	wr64(e, addr);
	wr64(e + 8, size);
	wr32(e + 16, type);
	bp[0x1e8] = n + 1;
}

static void page_tables(uint8_t *ram)
{
	uint8_t *pml4 = ram + BOOT_PML4, *pdpt = pml4 + 0x1000;

	memset(pml4, 0, 6 * 0x1000);
	wr64(pml4, (BOOT_PML4 + 0x1000) | 3);
	for (int i = 0; i < 4; i++) {
		uint8_t *pd = pdpt + 0x1000 * (1 + i);

		wr64(pdpt + i * 8, (BOOT_PML4 + 0x2000 + 0x1000 * (uint64_t)i) | 3);
		for (int j = 0; j < 512; j++)
			wr64(pd + j * 8, (((uint64_t)i << 30) + ((uint64_t)j << 21)) | 0x83);
	}
}

static void gdt(uint8_t *ram)
{
	uint8_t *g = ram + BOOT_GDT;

	memset(g, 0, 32);
	wr64(g + 0x10, 0x00af9b000000ffffULL); /* 0x10: 64-bit code */
	wr64(g + 0x18, 0x00cf93000000ffffULL); /* 0x18: data */
}

static uint64_t load_address(uint64_t mem, const struct bzimage_info *bz)
{
	if (bz->relocatable && bz->pref_address >= 0x100000 && bz->pref_address < boot_low_ram(mem))
		return bz->pref_address;
	return 0x100000;
}

/* Where the initrd goes: as high as the kernel allows, above the kernel's memory; 0 if none fits.
 */
static uint64_t initrd_address(uint64_t mem, const struct bzimage_info *bz, size_t len)
{
	uint64_t top = boot_low_ram(mem), kend = load_address(mem, bz) + bz->init_size;

	if (bz->initrd_addr_max && (uint64_t)bz->initrd_addr_max + 1 < top)
		top = (uint64_t)bz->initrd_addr_max + 1;
	if (len > top || ((top - len) & ~0xfffULL) < kend)
		return 0;
	return (top - len) & ~0xfffULL;
}

int boot_check(uint64_t mem, const struct bzimage_info *bz, size_t initrd_len, size_t clen,
	       char *err, size_t errlen)
{
	uint64_t low = boot_low_ram(mem), load = load_address(mem, bz);
	uint64_t kend = load + bz->init_size;

	if (kend > low || kend < load)
		return fail(err, errlen,
			    "memory too small for the kernel: it needs %llu MiB at %llu MiB, the "
			    "guest has %llu MiB",
			    (unsigned long long)((bz->init_size + (1 << 20) - 1) >> 20),
			    (unsigned long long)(load >> 20), (unsigned long long)(mem >> 20));
	if (clen > bz->cmdline_size || clen >= 0x10000)
		return fail(err, errlen, "command line too long (%zu bytes, the kernel takes %u)",
			    clen, bz->cmdline_size);
	if (initrd_len && !initrd_address(mem, bz, initrd_len))
		return fail(err, errlen, "memory too small for the kernel and a %zu MiB initrd",
			    (initrd_len + (1 << 20) - 1) >> 20);
	return 0;
}

/*
 * A hardware-reduced FADT makes Linux prefer EFI reboot; without EFI it falls
 * back to a real-mode jump to the reset vector, which on a PC is the BIOS.
 * There is no BIOS here, so the vector writes the reset register instead.
 */
static void reset_vector(uint8_t *ram)
{
	/* mov dx, port; mov al, value; out dx, al; cli; hlt; jmp hlt */
	uint8_t stub[] = {0xba, 0, 0, 0xb0, 0, 0xee, 0xfa, 0xf4, 0xeb, 0xfd};

	wr16(stub + 1, ACPI_RESET_PORT);
	stub[4] = ACPI_RESET_VALUE;
	memset(ram + BOOT_RESET_VECTOR, 0, 16);
	memcpy(ram + BOOT_RESET_VECTOR, stub, sizeof(stub));
}

int boot_load_linux(uint8_t *ram, uint64_t mem, const struct bzimage_info *bz,
		    const struct boot_image *img, uint64_t rsdp, struct boot_entry *out, char *err,
		    size_t errlen)
{
	uint64_t low = boot_low_ram(mem), load = load_address(mem, bz), initrd = 0;
	uint8_t *bp = ram + BOOT_PARAMS;
	size_t clen = img->cmdline ? strlen(img->cmdline) : 0;

	if (boot_check(mem, bz, img->initrd_len, clen, err, errlen))
		return -1;
	if (img->initrd_len) {
		initrd = initrd_address(mem, bz, img->initrd_len);
		memcpy(ram + initrd, img->initrd, img->initrd_len);
	}
	memcpy(ram + load, img->kernel + bz->setup_size, bz->kernel_size);

	memset(bp, 0, 0x1000);
	memcpy(bp + 0x1f1, img->kernel + 0x1f1, bz->hdr_end - 0x1f1);
	bp[0x210] = 0xff;		    /* type_of_loader: undefined */
	bp[0x211] |= 0x80;		    /* loadflags: CAN_USE_HEAP */
	wr16(bp + 0x224, 0xfe00);	    /* heap_end_ptr */
	wr32(bp + 0x214, (uint32_t)load);   /* code32_start */
	wr32(bp + 0x228, BOOT_CMDLINE);	    /* cmd_line_ptr */
	wr32(bp + 0x218, (uint32_t)initrd); /* ramdisk_image */
	wr32(bp + 0x21c, (uint32_t)img->initrd_len);
	wr64(bp + 0x070, rsdp); /* acpi_rsdp_addr (2.14+) */
	memset(ram + BOOT_CMDLINE, 0, clen + 1);
	if (clen)
		memcpy(ram + BOOT_CMDLINE, img->cmdline, clen);

	e820_add(bp, 0, 0x9fc00, E820_RAM);
	e820_add(bp, 0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED);
	e820_add(bp, 0x100000, low - 0x100000, E820_RAM);
	if (mem > low)
		e820_add(bp, BOOT_HIGH_RAM_BASE, mem - low, E820_RAM);
	/* The IOAPIC and local APIC pages. */
	e820_add(bp, 0xfec00000, 0x1000, E820_RESERVED);
	e820_add(bp, 0xfee00000, 0x1000, E820_RESERVED);

	page_tables(ram);
	gdt(ram);
	reset_vector(ram);
	out->rip = load + 0x200;
	out->rsi = BOOT_PARAMS;
	return 0;
}

int boot_set_registers(struct winhv_vp *vp, const struct boot_entry *e)
{
	static const uint32_t names[] = {
	    HvX64RegisterCs,  HvX64RegisterDs,	   HvX64RegisterEs,   HvX64RegisterFs,
	    HvX64RegisterGs,  HvX64RegisterSs,	   HvX64RegisterGdtr, HvX64RegisterCr3,
	    HvX64RegisterCr4, HvX64RegisterEfer,   HvX64RegisterCr0,  HvX64RegisterRip,
	    HvX64RegisterRsi, HvX64RegisterRflags, HvX64RegisterRsp,  HvX64RegisterRbp,
	    HvX64RegisterRdi, HvX64RegisterRbx,
	};
	union hv_register_value v[sizeof(names) / sizeof(names[0])];
	struct hv_x64_segment_register code = {
	    .base = 0, .limit = 0xffffffff, .selector = 0x10, .attributes = 0xa09b};
	struct hv_x64_segment_register data = {
	    .base = 0, .limit = 0xffffffff, .selector = 0x18, .attributes = 0xc093};

	memset(v, 0, sizeof(v));
	v[0].segment = code;
	for (int i = 1; i <= 5; i++)
		v[i].segment = data;
	v[6].table.base = BOOT_GDT;
	v[6].table.limit = 0x1f;
	v[7].reg64 = BOOT_PML4;
	v[8].reg64 = 1u << 5;		     /* PAE */
	v[9].reg64 = (1u << 8) | (1u << 10); /* LME, LMA */
	v[10].reg64 = 0x80000011ULL | 0x20;  /* PG, ET, NE, PE */
	v[11].reg64 = e->rip;
	v[12].reg64 = e->rsi;
	v[13].reg64 = 2;
	return WinHvSetVpRegisters(vp, names, v, sizeof(names) / sizeof(names[0]));
}

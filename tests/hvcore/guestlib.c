// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guestlib.h"

int guest_create(struct guest *g, enum winhv_backend backend, size_t ram_size, int nvps)
{
	return guest_create_flags(g, backend, ram_size, nvps, 0);
}

int guest_create_flags(struct guest *g, enum winhv_backend backend, size_t ram_size, int nvps,
		       uint32_t flags)
{
	struct winhv_partition_params pp = {.backend = backend, .max_vps = nvps, .flags = flags};
	int ret;

	memset(g, 0, sizeof(*g));
	g->ram_size = ram_size;
	g->memfd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (g->memfd < 0 || ftruncate(g->memfd, ram_size))
		return -errno;
	g->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
	if (g->ram == MAP_FAILED)
		return -errno;
	ret = WinHvCreatePartition(&pp, &g->part);
	if (ret)
		return ret;
	ret = WinHvMapGpaPages(g->part, 0, g->ram, ram_size,
			       HV_MAP_GPA_READABLE | HV_MAP_GPA_WRITABLE | HV_MAP_GPA_EXECUTABLE);
	if (ret)
		return ret;
	for (int i = 0; i < nvps; i++) {
		ret = WinHvCreateVp(g->part, i, &g->vp[i]);
		if (ret)
			return ret;
	}
	return 0;
}

void guest_destroy(struct guest *g)
{
	if (g->part)
		WinHvDeletePartition(g->part);
	if (g->ram && g->ram != MAP_FAILED)
		munmap(g->ram, g->ram_size);
	if (g->memfd >= 0)
		close(g->memfd);
	memset(g, 0, sizeof(*g));
	g->memfd = -1;
}

void guest_load(struct guest *g, const uint8_t *start, const uint8_t *end)
{
	memcpy(g->ram + GUEST_LOAD, start, end - start);
}

int guest_set_reg(struct guest *g, int vp, uint32_t name, uint64_t value)
{
	union hv_register_value v = {.reg64 = value};

	return WinHvSetVpRegisters(g->vp[vp], &name, &v, 1);
}

uint64_t guest_get_reg(struct guest *g, int vp, uint32_t name)
{
	union hv_register_value v = {0};

	WinHvGetVpRegisters(g->vp[vp], &name, &v, 1);
	return v.reg64;
}

void guest_set_gate(struct guest *g, int vec, const uint8_t *start, const uint8_t *handler)
{
	uint64_t *idt = (uint64_t *)(g->ram + GUEST_IDT);
	uint64_t h = GUEST_LOAD + (handler - start);

	idt[vec * 2] =
	    (h & 0xffff) | (0x08ULL << 16) | (0x8eULL << 40) | ((h >> 16 & 0xffff) << 48);
	idt[vec * 2 + 1] = h >> 32;
}

void guest_load_idt(struct guest *g, int vp)
{
	union hv_register_value v = {0};
	uint32_t name = HvX64RegisterIdtr;

	v.table.base = GUEST_IDT;
	v.table.limit = 256 * 16 - 1;
	WinHvSetVpRegisters(g->vp[vp], &name, &v, 1);
}

static union hv_register_value seg(uint16_t sel, uint64_t base, uint32_t limit, uint16_t attr)
{
	union hv_register_value v;

	memset(&v, 0, sizeof(v));
	v.segment.selector = sel;
	v.segment.base = base;
	v.segment.limit = limit;
	v.segment.attributes = attr;
	return v;
}

int guest_set_mode(struct guest *g, int vp, enum guest_mode mode)
{
	uint32_t names[16];
	union hv_register_value vals[16];
	int n = 0;
	uint64_t *gdt = (uint64_t *)(g->ram + GUEST_GDT);

	memset(vals, 0, sizeof(vals));
	/* GDT: null, 64-bit code (0x08), data (0x10), 32-bit code (0x18). */
	gdt[0] = 0;
	gdt[1] = 0x00209a0000000000ULL;
	gdt[2] = 0x00cf92000000ffffULL;
	gdt[3] = 0x00cf9a000000ffffULL;

	names[n] = HvX64RegisterRip;
	vals[n++].reg64 = GUEST_LOAD;
	names[n] = HvX64RegisterRflags;
	vals[n++].reg64 = 2;
	names[n] = HvX64RegisterRsp;
	vals[n++].reg64 = 0x6ff0;
	names[n] = HvX64RegisterGdtr;
	vals[n].table.base = GUEST_GDT;
	vals[n++].table.limit = 4 * 8 - 1;

	switch (mode) {
	case MODE_REAL:
		names[n] = HvX64RegisterCs;
		vals[n++] = seg(0, 0, 0xffff, 0x9b);
		break;
	case MODE_PM32:
		names[n] = HvX64RegisterCr0;
		vals[n++].reg64 = 0x11; /* PE | ET */
		names[n] = HvX64RegisterCs;
		vals[n++] = seg(0x18, 0, 0xffffffff, 0xc09b);
		for (uint32_t s = HvX64RegisterEs; s <= HvX64RegisterGs; s++) {
			if (s == HvX64RegisterCs)
				continue;
			names[n] = s;
			vals[n++] = seg(0x10, 0, 0xffffffff, 0xc093);
		}
		break;
	case MODE_LM64: {
		uint64_t *pml4 = (uint64_t *)(g->ram + GUEST_PML4);
		uint64_t *pdpt = (uint64_t *)(g->ram + GUEST_PML4 + 0x1000);
		uint64_t *pd = (uint64_t *)(g->ram + GUEST_PML4 + 0x2000);
		uint64_t *pd3 = (uint64_t *)(g->ram + GUEST_PML4 + 0x3000);

		/* Identity map 0-1 GiB and 3-4 GiB (for MMIO at 0xd0000000), 2 MiB pages. */
		pml4[0] = (GUEST_PML4 + 0x1000) | 3;
		pdpt[0] = (GUEST_PML4 + 0x2000) | 3;
		pdpt[3] = (GUEST_PML4 + 0x3000) | 3;
		for (int i = 0; i < 512; i++) {
			pd[i] = ((uint64_t)i << 21) | 0x83;
			pd3[i] = (0xc0000000ULL + ((uint64_t)i << 21)) | 0x83;
		}
		names[n] = HvX64RegisterCr3;
		vals[n++].reg64 = GUEST_PML4;
		names[n] = HvX64RegisterCr4;
		vals[n++].reg64 = 0x20; /* PAE */
		names[n] = HvX64RegisterEfer;
		vals[n++].reg64 = 0x500; /* LME | LMA */
		names[n] = HvX64RegisterCr0;
		vals[n++].reg64 = 0x80000011; /* PG | PE | ET */
		names[n] = HvX64RegisterCs;
		vals[n++] = seg(0x08, 0, 0xffffffff, 0xa09b);
		names[n] = HvX64RegisterSs;
		vals[n++] = seg(0x10, 0, 0xffffffff, 0xc093);
		names[n] = HvX64RegisterDs;
		vals[n++] = seg(0x10, 0, 0xffffffff, 0xc093);
		names[n] = HvX64RegisterEs;
		vals[n++] = seg(0x10, 0, 0xffffffff, 0xc093);
		break;
	}
	}
	return WinHvSetVpRegisters(g->vp[vp], names, vals, n);
}

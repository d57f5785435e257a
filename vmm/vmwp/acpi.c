// SPDX-License-Identifier: MIT
/* ACPI tables and the small DSDT, as bytes. Offsets follow ACPI 6.x. */
#include <string.h>

#include "acpi.h"

#define HDR 36

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

uint8_t acpi_checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0 - sum);
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	wr32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "LINHV ", 6);
	memcpy(t + 16, "LINHVVM ", 8);
	wr32(t + 24, 1);
	memcpy(t + 28, "LNHV", 4);
	wr32(t + 32, 1);
}

static void finish(uint8_t *t)
{
	uint32_t len;

	memcpy(&len, t + 4, 4);
	t[9] = 0;
	t[9] = acpi_checksum(t, len);
}

/* Generic address structure for a byte-wide I/O port. */
static void gas_io8(uint8_t *g, uint16_t port)
{
	g[0] = 1; /* system I/O */
	g[1] = 8;
	g[2] = 0;
	g[3] = 1; /* byte access */
	wr64(g + 4, port);
}

/* ---- AML ---- */

struct aml {
	uint8_t *b;
	size_t n, room;
	int overflow;
};

static void emit(struct aml *a, const void *p, size_t n)
{
	if (a->n + n > a->room) {
		a->overflow = 1;
		return;
	}
	memcpy(a->b + a->n, p, n);
	a->n += n;
}

static void emit1(struct aml *a, uint8_t v)
{
	emit(a, &v, 1);
}

/* PkgLength followed by the body already emitted at [start, a->n): shift it right. */
static void pkg_close(struct aml *a, size_t start)
{
	size_t body = a->n - start, total, nb;
	uint8_t enc[4];

	if (a->overflow)
		return;
	total = body + 1;
	if (total < 0x40) {
		nb = 1;
		enc[0] = (uint8_t)total;
	} else {
		nb = total + 1 < 0x1000 ? 2 : total + 2 < 0x100000 ? 3 : 4;
		total = body + nb;
		enc[0] = (uint8_t)(((nb - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < nb; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (a->n + nb > a->room) {
		a->overflow = 1;
		return;
	}
	memmove(a->b + start + nb, a->b + start, body);
	memcpy(a->b + start, enc, nb);
	a->n += nb;
}

static void name_seg(struct aml *a, const char *s)
{
	emit(a, s, 4);
}

static void name_string(struct aml *a, const char *name, const char *s)
{
	emit1(a, 0x08); /* NameOp */
	name_seg(a, name);
	emit1(a, 0x0d); /* StringPrefix */
	emit(a, s, strlen(s) + 1);
}

static void name_int(struct aml *a, const char *name, uint32_t v)
{
	emit1(a, 0x08);
	name_seg(a, name);
	if (v <= 1) {
		emit1(a, (uint8_t)v); /* ZeroOp / OneOp */
	} else if (v <= 0xff) {
		emit1(a, 0x0a);
		emit1(a, (uint8_t)v);
	} else {
		uint8_t d[4];

		wr32(d, v);
		emit1(a, 0x0c);
		emit(a, d, 4);
	}
}

static void name_buffer(struct aml *a, const char *name, const uint8_t *bytes, uint8_t n)
{
	size_t start;

	emit1(a, 0x08);
	name_seg(a, name);
	emit1(a, 0x11); /* BufferOp */
	start = a->n;
	emit1(a, 0x0a);
	emit1(a, n);
	emit(a, bytes, n);
	pkg_close(a, start);
}

static void device_begin(struct aml *a, const char *name, size_t *start)
{
	emit1(a, 0x5b);
	emit1(a, 0x82); /* DeviceOp */
	*start = a->n;
	name_seg(a, name);
}

/*
 * Address space descriptors for memory (ACPI 6.x 6.4.3.5): resource type 0,
 * a fixed minimum and maximum (flags MIF | MAF, the device produces the
 * range, positive decode), read-write and non-cacheable, no translation.
 */
size_t acpi_vmbus_crs(uint8_t *buf, const struct acpi_vmbus_mmio *mmio)
{
	size_t n = 0;

	if (mmio && mmio->low_size) {
		uint8_t *d = buf + n;

		memset(d, 0, 26);
		d[0] = 0x87; /* DWord Address Space Descriptor */
		wr16(d + 1, 23);
		d[3] = 0;    /* memory range */
		d[4] = 0x0c; /* MIF | MAF */
		d[5] = 0x01; /* read-write, non-cacheable */
		wr32(d + 10, (uint32_t)mmio->low_base);
		wr32(d + 14, (uint32_t)(mmio->low_base + mmio->low_size - 1));
		wr32(d + 22, (uint32_t)mmio->low_size);
		n += 26;
	}
	if (mmio && mmio->high_size) {
		uint8_t *d = buf + n;

		memset(d, 0, 46);
		d[0] = 0x8a; /* QWord Address Space Descriptor */
		wr16(d + 1, 43);
		d[3] = 0;
		d[4] = 0x0c;
		d[5] = 0x01;
		wr64(d + 14, mmio->high_base);
		wr64(d + 22, mmio->high_base + mmio->high_size - 1);
		wr64(d + 38, mmio->high_size);
		n += 46;
	}
	buf[n++] = 0x79; /* end tag, checksum 0 (not checked) */
	buf[n++] = 0x00;
	return n;
}

static void build_dsdt_body(struct aml *a, const struct acpi_vmbus_mmio *mmio)
{
	uint8_t vmod_crs[ACPI_VMBUS_CRS_MAX];
	size_t vmod_crs_len = acpi_vmbus_crs(vmod_crs, mmio);
	static const uint8_t empty_crs[] = {0x79, 0x00};
	/* ResourceTemplate: COM1 I/O 0x3F8-0x3FF and IRQ 4 (edge, high). */
	static const uint8_t com1_crs[] = {0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01,
					   0x08, 0x22, 0x10, 0x00, 0x79, 0x00};
	/* The CMOS clock: I/O 0x70-0x71 and no IRQ (cmos.c raises none). */
	static const uint8_t rtc_crs[] = {0x47, 0x01, 0x70, 0x00, 0x70,
					  0x00, 0x01, 0x02, 0x79, 0x00};
	size_t scope, vmod, dev, pkg;

	emit1(a, 0x10); /* ScopeOp \_SB_ */
	scope = a->n;
	emit(a, "\\_SB_", 5);

	/*
	 * As on Hyper-V, the VMBus device sits in a module device whose _CRS
	 * holds the MMIO ranges. hv_vmbus reads its own _CRS, then its
	 * ancestors' until one has a _CRS and the ranges are known; Linux 5.10
	 * walks on into the namespace root, which it cannot evaluate (an oops
	 * in acpi_ns_lookup), so an ancestor below the root must end the walk.
	 */
	device_begin(a, "VMOD", &vmod);
	name_string(a, "_HID", "ACPI0004"); /* module device */
	name_int(a, "_UID", 0);
	name_buffer(a, "_CRS", vmod_crs, (uint8_t)vmod_crs_len);

	/* Linux's hv_vmbus binds to _HID "VMBus" and needs a _CRS. */
	device_begin(a, "VMBS", &dev);
	name_string(a, "_HID", "VMBus");
	name_int(a, "_UID", 0);
	name_string(a, "_DDN", "VMBUS");
	name_int(a, "_STA", 0x0f);
	name_buffer(a, "_CRS", empty_crs, sizeof(empty_crs));
	pkg_close(a, dev);
	pkg_close(a, vmod);

	device_begin(a, "COM1", &dev);
	name_int(a, "_HID", 0x0105d041); /* EisaId("PNP0501"): 16550 UART */
	name_int(a, "_UID", 1);
	name_int(a, "_STA", 0x0f);
	name_buffer(a, "_CRS", com1_crs, sizeof(com1_crs));
	pkg_close(a, dev);

	/*
	 * Without it a hardware-reduced guest has no legacy IRQs, so Linux's
	 * fallback platform RTC (IRQ 8) fails to probe and there is no rtc0.
	 */
	device_begin(a, "RTC0", &dev);
	name_int(a, "_HID", 0x000bd041); /* EisaId("PNP0B00"): AT real-time clock */
	name_int(a, "_STA", 0x0f);
	name_buffer(a, "_CRS", rtc_crs, sizeof(rtc_crs));
	pkg_close(a, dev);
	pkg_close(a, scope);

	/* \_S5: the SLP_TYP Linux writes to the sleep control register to power off. */
	emit1(a, 0x08);
	name_seg(a, "_S5_");
	emit1(a, 0x12); /* PackageOp */
	pkg = a->n;
	emit1(a, 4);
	emit1(a, 0x0a);
	emit1(a, ACPI_S5_TYPE);
	emit1(a, 0x0a);
	emit1(a, ACPI_S5_TYPE);
	emit1(a, 0);
	emit1(a, 0);
	pkg_close(a, pkg);
}

size_t acpi_build(uint8_t *buf, uint64_t gpa, size_t room, uint32_t ncpus,
		  const struct acpi_vmbus_mmio *mmio)
{
	size_t off = 0, xsdt, fadt, madt, dsdt, madt_len, rsdp = 0;
	struct aml a;

	/* RSDP (36 bytes), then 16-byte aligned tables. */
	xsdt = 48;
	fadt = xsdt + HDR + 2 * 8;
	fadt = (fadt + 15) & ~(size_t)15;
	madt = fadt + 276;
	madt = (madt + 15) & ~(size_t)15;
	madt_len = HDR + 8 + ncpus * 8 + 12;
	dsdt = (madt + madt_len + 15) & ~(size_t)15;
	if (dsdt + HDR > room || ncpus == 0 || ncpus > 255)
		return 0;
	memset(buf, 0, dsdt + HDR);

	/* DSDT */
	a = (struct aml){.b = buf + dsdt + HDR, .room = room - dsdt - HDR};
	build_dsdt_body(&a, mmio);
	if (a.overflow)
		return 0;
	header(buf + dsdt, "DSDT", (uint32_t)(HDR + a.n), 2);
	finish(buf + dsdt);

	/* RSDP, ACPI 2.0+ */
	memcpy(buf + rsdp, "RSD PTR ", 8);
	memcpy(buf + rsdp + 9, "LINHV ", 6);
	buf[rsdp + 15] = 2;
	wr32(buf + rsdp + 20, 36);
	wr64(buf + rsdp + 24, gpa + xsdt);
	buf[rsdp + 8] = acpi_checksum(buf + rsdp, 20);
	buf[rsdp + 32] = acpi_checksum(buf + rsdp, 36);

	/* XSDT */
	header(buf + xsdt, "XSDT", HDR + 16, 1);
	wr64(buf + xsdt + HDR, gpa + fadt);
	wr64(buf + xsdt + HDR + 8, gpa + madt);
	finish(buf + xsdt);

	/* FADT, revision 6, hardware-reduced. */
	{
		uint8_t *f = buf + fadt;

		header(f, "FACP", 276, 6);
		wr32(f + 40, (uint32_t)(gpa + dsdt));
		wr16(f + 109, 1u << 2); /* IAPC_BOOT_ARCH: no VGA */
		/* Flags: WBINVD, RESET_REG_SUP, HW_REDUCED_ACPI. */
		wr32(f + 112, (1u << 0) | (1u << 10) | (1u << 20));
		gas_io8(f + 116, ACPI_RESET_PORT);
		f[128] = ACPI_RESET_VALUE;
		f[131] = 3; /* FADT minor version: 6.3 */
		wr64(f + 140, gpa + dsdt);
		gas_io8(f + 244, ACPI_SLEEP_CONTROL_PORT);
		gas_io8(f + 256, ACPI_SLEEP_STATUS_PORT);
		memcpy(f + 268, "LinuxHV\0", 8); /* hypervisor vendor identity */
		f[108] = 0x32;			 /* CMOS century register */
		finish(f);
	}

	/* MADT */
	{
		uint8_t *m = buf + madt, *e = m + HDR + 8;

		header(m, "APIC", (uint32_t)madt_len, 5);
		wr32(m + HDR, ACPI_LAPIC_BASE);
		wr32(m + HDR + 4, 0); /* no 8259 PIC */
		for (uint32_t i = 0; i < ncpus; i++, e += 8) {
			e[0] = 0; /* processor local APIC */
			e[1] = 8;
			e[2] = (uint8_t)i; /* ACPI processor UID */
			e[3] = (uint8_t)i; /* APIC ID = VP index */
			wr32(e + 4, 1);	   /* enabled */
		}
		e[0] = 1; /* I/O APIC */
		e[1] = 12;
		e[2] = (uint8_t)ncpus; /* IOAPIC ID after the CPUs */
		wr32(e + 4, ACPI_IOAPIC_BASE);
		wr32(e + 8, 0); /* GSI base */
		finish(m);
	}
	off = dsdt + HDR + a.n;
	return off;
}

// SPDX-License-Identifier: MIT
/* bzImage header checks: every field is bounds-checked before the loader trusts it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bzimage.h"

#define XLF_KERNEL_64 0x1
#define LOADED_HIGH 0x1

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

int bzimage_parse(const uint8_t *b, size_t len, struct bzimage_info *o, char *err, size_t errlen)
{
	uint32_t sects;

	memset(o, 0, sizeof(*o));
	if (len < 0x270)
		return fail(err, errlen, "not a bzImage: the file is too small (%zu bytes)", len);
	if (rd16(b + 0x1fe) != 0xaa55 || memcmp(b + 0x202, "HdrS", 4))
		return fail(err, errlen,
			    "not a bzImage: no Linux boot sector / \"HdrS\" signature");
	o->version = rd16(b + 0x206);
	if (o->version < 0x020c)
		return fail(err, errlen,
			    "boot protocol %u.%02u is too old: need 2.12+ (a 64-bit bzImage)",
			    o->version >> 8, o->version & 0xff);
	if (!(b[0x211] & LOADED_HIGH))
		return fail(err, errlen, "not a bzImage: a zImage loads low, which is unsupported");
	o->xloadflags = rd16(b + 0x236);
	if (!(o->xloadflags & XLF_KERNEL_64))
		return fail(err, errlen, "the kernel has no 64-bit entry point (XLF_KERNEL_64)");
	sects = b[0x1f1] ? b[0x1f1] : 4;
	o->setup_size = (sects + 1) * 512;
	o->hdr_end = 0x202 + b[0x201];
	if (o->hdr_end > o->setup_size || o->hdr_end > len || o->hdr_end < 0x268)
		return fail(err, errlen, "not a bzImage: setup header length is inconsistent");
	if (o->setup_size >= len)
		return fail(err, errlen, "not a bzImage: no kernel after the %u setup bytes",
			    o->setup_size);
	if (len - o->setup_size > 0x7fffffff)
		return fail(err, errlen, "bzImage too large");
	o->kernel_size = (uint32_t)(len - o->setup_size);
	o->initrd_addr_max = rd32(b + 0x22c);
	o->kernel_alignment = rd32(b + 0x230);
	o->relocatable = b[0x234];
	o->cmdline_size = rd32(b + 0x238);
	o->pref_address = (uint64_t)rd32(b + 0x258) | (uint64_t)rd32(b + 0x25c) << 32;
	o->init_size = rd32(b + 0x260);
	if (o->kernel_alignment & (o->kernel_alignment - 1))
		return fail(err, errlen, "bad kernel_alignment %#x", o->kernel_alignment);
	if (o->init_size < o->kernel_size)
		o->init_size = o->kernel_size;
	if (o->cmdline_size == 0 || o->cmdline_size > 0xffff)
		o->cmdline_size = 0xfff; /* protocol 2.06+ always sets it; clamp anyway */
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* The Linux/x86 bzImage setup header (Documentation/x86/boot.rst), read from an untrusted file. */
#ifndef VMWP_BZIMAGE_H
#define VMWP_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

struct bzimage_info {
	uint16_t version;      /* boot protocol, e.g. 0x020f */
	uint32_t setup_size;   /* bytes of real-mode setup, including the boot sector */
	uint32_t kernel_size;  /* protected-mode payload bytes after the setup */
	uint32_t hdr_end;      /* end offset of the setup header (to copy into boot_params) */
	uint32_t init_size;    /* memory the kernel needs from its load address */
	uint64_t pref_address; /* preferred load address */
	uint32_t kernel_alignment;
	uint8_t relocatable;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size; /* longest command line, without the NUL */
	uint16_t xloadflags;
};

/* 0, or -1 with one sentence in err saying why the file is not a usable bzImage. */
int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage_info *out, char *err,
		  size_t errlen);

#endif /* VMWP_BZIMAGE_H */

/* SPDX-License-Identifier: MIT */
/*
 * The Linux x86 boot protocol header (Documentation/x86/boot.rst) that makes
 * the test image a bzImage vmwp can load: two setup sectors, then the 64-bit
 * kernel loaded at 1 MiB with its entry at offset 0x200.
 */
	.section .setup, "a"
	.org 0x1f1
	.byte 1			/* setup_sects: 1 + the boot sector = 1 KiB */
	.org 0x1fe
	.word 0xaa55		/* boot_flag */
	.byte 0xeb, 0x66	/* jmp over the header; its length byte says where it ends */
	.ascii "HdrS"
	.word 0x020f		/* boot protocol 2.15 */
	.org 0x211
	.byte 0x01		/* loadflags: LOADED_HIGH */
	.org 0x22c
	.long 0x7fffffff	/* initrd_addr_max */
	.long 0x200000		/* kernel_alignment */
	.byte 0			/* relocatable_kernel: no, load at pref_address */
	.byte 0			/* min_alignment */
	.word 0x0001		/* xloadflags: XLF_KERNEL_64 */
	.long 255		/* cmdline_size */
	.org 0x258
	.quad 0x100000		/* pref_address */
	.long image_init_size	/* init_size: image plus bss */
	.org 0x400

// SPDX-License-Identifier: MIT
/*
 * --assign-pci's glue, the parts that need no device and no hypervisor: the
 * BARs read from sysfs's resource text, the vPCI buses' instance GUIDs (the
 * guest's PCI domains), and a refused attach (the loopback backend cannot
 * assign) leaving nothing attached.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <linhv/winhv.h>

#include "assign.h"
#include "check_main.h"
#include "options.h"
#include "vmbus_host.h"

/* start end flags, as the kernel prints them. */
#define LINE(s, e, f) "0x" s " 0x" e " 0x" f "\n"

START_TEST(bars)
{
	static const char text[] =
	    LINE("00000000fe000000", "00000000fe003fff", "0000000000040200")  /* 32-bit 16K */
	    LINE("0000000000000000", "0000000000000000", "0000000000000000")  /* none */
	    LINE("0000000800000000", "000000080fffffff", "000000000014220c")  /* 64-bit pref */
	    LINE("0000000000000000", "0000000000000000", "0000000000000000")  /* its upper half */
	    LINE("000000000000c000", "000000000000c01f", "0000000000040101")  /* I/O */
	    LINE("00000000febf1000", "00000000febf10ff", "0000000000040200")  /* 256 bytes */
	    LINE("00000000fe040000", "00000000fe07ffff", "0000000000046200"); /* ROM: not a BAR */
	struct assign_bar_info b[VPCI_NUM_BARS];
	unsigned io;
	char err[300];

	ck_assert_int_eq(assign_parse_bars(text, "0000:01:00.0", b, &io, err, sizeof(err)), 0);
	ck_assert_uint_eq(io, 1u << 4);
	ck_assert_uint_eq(b[0].start, 0xfe000000);
	ck_assert_uint_eq(b[0].host_size, 0x4000);
	ck_assert_uint_eq(b[0].bar.size, 0x4000);
	ck_assert_uint_eq(b[0].bar.flags, 0);
	ck_assert_uint_eq(b[1].bar.size, 0);
	ck_assert_uint_eq(b[2].start, 0x800000000ull);
	ck_assert_uint_eq(b[2].bar.size, 0x10000000);
	ck_assert_uint_eq(b[2].bar.flags, VPCI_BAR_MEM64 | VPCI_BAR_PREFETCH);
	ck_assert_uint_eq(b[3].bar.size, 0);
	ck_assert_uint_eq(b[4].bar.size, 0); /* the I/O BAR is not offered */
	ck_assert_uint_eq(b[5].host_size, 0x100);
	ck_assert_uint_eq(b[5].bar.size, 0x1000); /* a page at least */

	/* A device model built from them passes the VSP's checks. */
	struct vpci_device d = {.vendor_id = 0x1234, .device_id = 0x11e8, .serial = 1};
	const char *why;

	for (int i = 0; i < VPCI_NUM_BARS; i++)
		d.bars[i] = b[i].bar;
	ck_assert_int_eq(vpci_device_check(&d, &why), 0);

	/* Refused: no host address, not on a page, 64-bit in the last slot, odd size. */
	static const char *const bad[] = {
	    LINE("0000000000000000", "0000000000000fff", "0000000000040200"),
	    LINE("00000000fe000800", "00000000fe000fff", "0000000000040200"),
	    LINE("0", "0", "0") LINE("0", "0", "0") LINE("0", "0", "0") LINE("0", "0", "0")
		LINE("0", "0", "0")
		    LINE("0000000800000000", "0000000800003fff", "0000000000140204"),
	    LINE("00000000fe000000", "00000000fe002fff", "0000000000040200"),
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		ck_assert_msg(assign_parse_bars(bad[i], "0000:01:00.0", b, &io, err, sizeof(err)) ==
				  -1,
			      "case %u accepted", i);
		ck_assert_ptr_nonnull(strstr(err, "--assign-pci 0000:01:00.0: "));
		ck_assert_ptr_null(strchr(err, '\n'));
	}
	/* Nothing at all: a function without BARs. */
	ck_assert_int_eq(assign_parse_bars("", "0000:01:00.0", b, &io, err, sizeof(err)), 0);
	for (int i = 0; i < VPCI_NUM_BARS; i++)
		ck_assert_uint_eq(b[i].bar.size, 0);
}
END_TEST

START_TEST(instances)
{
	uint8_t ids[3][16] = {
	    {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef, 0x81, 0x23, 0x45, 0x67, 0x89, 0xab},
	    /* bytes 4-5 that the kind and the 0x4c fold would bring to 0 */
	    {0, 0, 0, 0, VMBUS_HOST_PCI, 0x4c, 0x40, 0, 0x80},
	    {0},
	};

	for (unsigned v = 0; v < 3; v++) {
		uint16_t doms[8];

		for (unsigned s = 0; s < 8; s++) {
			struct vmbus_guid g = assign_instance(ids[v], s),
					  h = assign_instance(ids[v], s);

			ck_assert_mem_eq(g.b, h.b, 16); /* stable */
			doms[s] = (uint16_t)(g.b[4] | g.b[5] << 8);
			ck_assert_uint_ne(doms[s], 0);
			for (unsigned t = 0; t < s; t++)
				ck_assert_uint_ne(doms[s], doms[t]);
			/* Never another device's GUID, nor the VM's own id. */
			ck_assert(memcmp(g.b, ids[v], 16) != 0);
			static const enum vmbus_host_kind kinds[] = {
			    VMBUS_HOST_IC_HEARTBEAT, VMBUS_HOST_IC_SHUTDOWN, VMBUS_HOST_IC_TIMESYNC,
			    VMBUS_HOST_IC_KVP,	     VMBUS_HOST_SCSI,	     VMBUS_HOST_NIC};
			for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
				for (unsigned t = 0; t < 8; t++) {
					struct vmbus_guid o =
					    vmbus_host_instance(ids[v], kinds[k], t);

					ck_assert(memcmp(g.b, o.b, 16) != 0);
				}
		}
	}
}
END_TEST

START_TEST(refused)
{
	struct winhv_partition_params pp = {.backend = WINHV_BACKEND_LOOPBACK, .max_vps = 1};
	static const char addrs[2][16] = {"0000:00:02.0", "0000:00:03.0"};
	struct winhv_partition *p = NULL;
	struct assign *a;
	char err[400];

	ck_assert_int_eq(WinHvCreatePartition(&pp, &p), 0);
	ck_assert_int_eq(assign_create(addrs, 2, NULL, &a), 0);
	ck_assert_int_eq(assign_attach(a, p, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "--assign-pci 0000:00:02.0: ") == err, "%s", err);
	ck_assert_msg(strstr(err, "loopback backend cannot assign devices"), "%s", err);
	ck_assert_ptr_null(strchr(err, '\n'));
	assign_stop(a); /* again: nothing to undo */
	assign_destroy(a);
	WinHvDeletePartition(p);
	ck_assert_int_eq(assign_create(addrs, 0, NULL, &a), -EINVAL);
	ck_assert_int_eq(assign_create(addrs, VMWP_MAX_ASSIGNED + 1, NULL, &a), -EINVAL);
}
END_TEST

TEST_MAIN("vmwp-assign", bars, instances, refused)

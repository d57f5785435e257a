// SPDX-License-Identifier: MIT
/*
 * The hostile guest's storage attacks (vsc-guest/hostile_storage.c)
 * in-process against storvsp on loopback: every attack closes the channel,
 * the controller is offered again and still reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <vsc/hostile.h>

#include "disk.h"
#include "storvsp.h"
#include "test_common.h"

static void on_result(void *ctx, const char *name, bool ok, const char *detail)
{
	(void)ctx;
	fprintf(stderr, "%s: %s%s%s%s\n", ok ? "ok" : "FAILED", name, *detail ? " (" : "", detail,
		*detail ? ")" : "");
}

START_TEST(storage_attacks_close_the_channel_and_the_vsp_survives)
{
	static struct vsc_hostile hs;
	char path[] = "/tmp/storvsp-hostile-XXXXXX", err[256];
	struct disk_params dp = {.path = path};
	struct vmbus_server_stats st;
	struct harness h;
	struct disk *d;
	struct storvsp *vsp;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	ck_assert_int_eq(disk_open(&dp, &d, err, sizeof(err)), 0);
	h_setup(&h, 0, 0);
	struct storvsp_params sp = {
	    .server = h.server, .instance = echo_guid(0x66), .disks = &d, .ndisks = 1, .nr_vps = 2};
	ck_assert_int_eq(storvsp_create(&sp, &vsp), 0);
	h_connect(&h);
	memset(&hs, 0, sizeof(hs));
	hs.bus = &h.bus;
	hs.ram_end = VSC_LOOPBACK_RAM_GPA + h.lb.ram_size;
	hs.result = on_result;
	vsc_hostile_storage(&hs);
	ck_assert_uint_eq(hs.failed, 0);
	ck_assert_uint_eq(hs.passed, 6);
	vmbus_server_get_stats(h.server, &st);
	ck_assert_uint_eq(st.channels_failed, 5);
	ck_assert(h_log_contains(&h, "CDB length outside 1-16"));
	ck_assert(h_log_contains(&h, "SRB length does not match"));
	ck_assert(h_log_contains(&h, "transfer length beyond its GPA ranges"));
	ck_assert(h_log_contains(&h, "outside guest RAM"));
	ck_assert(h_log_contains(&h, "unknown vstor operation"));
	storvsp_destroy(vsp);
	h_teardown(&h);
	disk_close(d);
	unlink(path);
}
END_TEST

TEST_MAIN("storvsp-hostile", storage_attacks_close_the_channel_and_the_vsp_survives)

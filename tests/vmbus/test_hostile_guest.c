// SPDX-License-Identifier: MIT
/*
 * The hostile guest suite (vsc-guest/hostile.c) in-process: the same checks
 * the vsc-guest test image runs under a real VM, here against the VMBus
 * server and the four integration services on loopback. The host side is
 * checked too: every attack closed only its channel, nothing leaked.
 */
#include <stdio.h>

#include <vsc/hostile.h>

#include "ic_heartbeat.h"
#include "ic_kvp.h"
#include "ic_shutdown.h"
#include "ic_timesync.h"
#include "test_common.h"

static void on_result(void *ctx, const char *name, bool ok, const char *detail)
{
	(void)ctx;
	fprintf(stderr, "%s: %s%s%s%s\n", ok ? "ok" : "FAILED", name, *detail ? " (" : "", detail,
		*detail ? ")" : "");
}

static const struct vmbus_guid inst = VMBUS_GUID_INIT(0x0badf00d, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);

START_TEST(hostile_suite_passes_and_the_host_survives)
{
	static struct vsc_hostile hs; /* large: four IC clients with their KVP pools */
	static const struct vsc_kvp_pair pool[] = {{"FullyQualifiedDomainName", "loopback-guest"}};
	char name[64] = "";
	struct harness h;
	struct ic_heartbeat *hb;
	struct ic_shutdown *sd;
	struct ic_timesync *ts;
	struct ic_kvp *kvp;
	struct ic_heartbeat_status hst;
	struct vmbus_server_stats st;
	uint32_t pages_before;

	h_setup(&h, 0, 0);
	struct ic_heartbeat_params hp = {
	    .server = h.server, .loop = h.loop, .instance = inst, .interval_ms = 100};
	struct ic_shutdown_params dp = {.server = h.server, .loop = h.loop, .instance = inst};
	struct ic_timesync_params tp = {
	    .server = h.server, .loop = h.loop, .instance = inst, .interval_ms = 200};
	struct ic_kvp_params kp = {
	    .server = h.server, .loop = h.loop, .instance = inst, .refresh_ms = 300};
	dp.instance.b[0] ^= 1;
	tp.instance.b[0] ^= 2;
	kp.instance.b[0] ^= 3;
	ck_assert_int_eq(ic_heartbeat_create(&hp, &hb), 0);
	ck_assert_int_eq(ic_shutdown_create(&dp, &sd), 0);
	ck_assert_int_eq(ic_timesync_create(&tp, &ts), 0);
	ck_assert_int_eq(ic_kvp_create(&kp, &kvp), 0);
	pages_before = vsc_loopback_pages_in_use(&h.lb);

	memset(&hs, 0, sizeof(hs));
	hs.bus = &h.bus;
	hs.ram_end = VSC_LOOPBACK_RAM_GPA + h.lb.ram_size;
	hs.result = on_result;
	hs.kvp_pool = pool;
	hs.kvp_count = 1;
	ck_assert_uint_eq(vsc_hostile_run(&hs), 0);
	ck_assert_uint_ge(hs.passed, 14);

	/* Host side: four ring attacks and one ring GPADL teardown failed channels. */
	vmbus_server_get_stats(h.server, &st);
	ck_assert_uint_eq(st.channels_failed, 5);
	ck_assert_uint_eq(st.channels_open, 4);
	ck_assert_uint_eq(st.gpadls, 4); /* the four rings: the unload freed the flood */
	ck_assert_uint_gt(st.messages_bad, 1000);
	ic_heartbeat_get_status(hb, &hst);
	ck_assert(hst.negotiated);
	/* KVP still answers: the host reads the guest's name on its next pass. */
	for (int i = 0; i < 3000 && strcmp(name, "loopback-guest"); i++) {
		vsc_hostile_pump(&hs, 1);
		ic_kvp_get_guest_value(kvp, "FullyQualifiedDomainName", name, sizeof(name));
	}
	ck_assert_str_eq(name, "loopback-guest");
	/* The guest answers a shutdown request after all that. */
	ck_assert(ic_shutdown_ready(sd));
	ck_assert_int_eq(ic_shutdown_request(sd, 0, 0, "hostile test"), 0);
	for (int i = 0; i < 2000 && !hs.ic[VSC_HOSTILE_SD].shutdown_requested; i++)
		vsc_hostile_pump(&hs, 1);
	ck_assert(hs.ic[VSC_HOSTILE_SD].shutdown_requested);

	/* The guest's rings: the four open channels' pages, nothing else left behind. */
	ck_assert_uint_eq(vsc_loopback_pages_in_use(&h.lb), pages_before + 4 * 8);
	for (int k = 0; k < VSC_HOSTILE_NR_IC; k++)
		vsc_channel_close(&hs.ic[k].ch);
	ic_kvp_destroy(kvp);
	ic_timesync_destroy(ts);
	ic_shutdown_destroy(sd);
	ic_heartbeat_destroy(hb);
	h_teardown(&h);
}
END_TEST

TEST_MAIN("vmbus-hostile-guest", hostile_suite_passes_and_the_host_survives)

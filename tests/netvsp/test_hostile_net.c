// SPDX-License-Identifier: MIT
/*
 * The hostile guest's network attacks (vsc-guest/hostile_net.c) in-process
 * against netvsp on loopback, with one backend queue (no vRSS: the RSS
 * attacks are skipped) and with two (all of them): every attack closes the
 * channel, the NIC is offered again and still answers.
 */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vsc/hostile.h>

#include "../vmbus/test_common.h"
#include "netvsp.h"

static void on_result(void *ctx, const char *name, bool ok, const char *detail)
{
	(void)ctx;
	fprintf(stderr, "%s: %s%s%s%s\n", ok ? "ok" : "FAILED", name, *detail ? " (" : "", detail,
		*detail ? ")" : "");
}

static void run(unsigned nqueues, uint32_t attacks)
{
	static struct vsc_hostile hs;
	struct netvsp_params p = {.mac = {2, 0x4c, 0, 0, 0, 9}, .mtu = 1500, .link_up = true};
	struct vmbus_server_stats st;
	struct harness h;
	struct netvsp *n;
	int s0[2], s1[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, s0), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, s1), 0);
	h_setup(&h, 0, 0);
	p.server = h.server;
	p.instance = echo_guid(0x55);
	p.fd = s0[0];
	p.queue_fds = &s1[0];
	p.nqueues = nqueues;
	ck_assert_int_eq(netvsp_create(&p, &n), 0);
	h_connect(&h);
	memset(&hs, 0, sizeof(hs));
	hs.bus = &h.bus;
	hs.ram_end = VSC_LOOPBACK_RAM_GPA + h.lb.ram_size;
	hs.result = on_result;
	vsc_hostile_net(&hs);
	ck_assert_uint_eq(hs.failed, 0);
	ck_assert_uint_eq(hs.passed, attacks + 1);
	vmbus_server_get_stats(h.server, &st);
	ck_assert_uint_eq(st.channels_failed, attacks);
	/* The first reasons (the server limits its log to a few lines a second). */
	ck_assert(h_log_contains(&h, "section index or size out of range"));
	ck_assert(h_log_contains(&h, "RNDIS QUERY malformed"));
	netvsp_destroy(n);
	h_teardown(&h);
	close(s0[0]);
	close(s0[1]);
	close(s1[0]);
	close(s1[1]);
}

START_TEST(net_attacks_close_the_channel_and_the_vsp_survives)
{
	run(1, 5);
	run(2, 7);
}
END_TEST

TEST_MAIN("netvsp-hostile", net_attacks_close_the_channel_and_the_vsp_survives)

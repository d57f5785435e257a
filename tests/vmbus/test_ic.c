// SPDX-License-Identifier: MIT
/*
 * Integration services end to end on loopback: the host ICs (vsp/ic)
 * against the guest IC clients that answer like Linux 6.1's hv_utils.
 */
#include "ic_heartbeat.h"
#include "ic_kvp.h"
#include "ic_shutdown.h"
#include "ic_timesync.h"
#include "test_common.h"

#include <stdlib.h>
#include <time.h>

struct ic_env {
	struct harness h;
	struct vsc_ic gic[4];
	int n;
};

static void pump(struct ic_env *e, int rounds)
{
	for (int r = 0; r < rounds; r++) {
		e->h.lb.plat.wait(e->h.lb.plat.ctx);
		vsc_vmbus_poll(&e->h.bus);
		for (int i = 0; i < e->n; i++)
			vsc_ic_poll(&e->gic[i]);
	}
}

#define PUMP_UNTIL(e, cond)                                                                        \
	do {                                                                                       \
		int _n = 0;                                                                        \
		while (!(cond) && _n++ < 3000)                                                     \
			pump((e), 1);                                                              \
		ck_assert_msg((cond), "timed out waiting for " #cond);                             \
	} while (0)

static struct vsc_ic *open_ic(struct ic_env *e, uint16_t service)
{
	struct vsc_ic *ic = &e->gic[e->n++];

	memset(ic, 0, sizeof(*ic));
	ck_assert_int_eq(vsc_ic_open(&e->h.bus, ic, service), VSC_OK);
	return ic;
}

static const struct vmbus_guid inst = VMBUS_GUID_INIT(0x12345678, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);

/* A heartbeat service beating every 10 ms (30 ms per transaction) and its guest client. */
static struct vsc_ic *start_heartbeat(struct ic_env *e, struct ic_heartbeat **hb)
{
	struct ic_heartbeat_params p = {.instance = inst, .interval_ms = 10};

	h_setup(&e->h, 0, 0);
	p.server = e->h.server;
	p.loop = e->h.loop;
	ck_assert_int_eq(ic_heartbeat_create(&p, hb), 0);
	h_connect(&e->h);
	return open_ic(e, IC_MSGTYPE_HEARTBEAT);
}

START_TEST(heartbeat_negotiates_3_0_and_counts_acks)
{
	struct ic_env e = {0};
	struct ic_heartbeat *hb;
	struct ic_heartbeat_status st;
	struct vsc_ic *g = start_heartbeat(&e, &hb);

	ic_heartbeat_get_status(hb, &st);
	PUMP_UNTIL(&e, (ic_heartbeat_get_status(hb, &st), st.acks >= 5));
	ck_assert(g->negotiated);
	ck_assert_uint_eq(g->fw_version, IC_FRAMEWORK_VERSION_3_0);
	ck_assert_uint_eq(g->srv_version, IC_VERSION(3, 0));
	ck_assert_uint_eq(st.version, IC_VERSION(3, 0));
	ck_assert_uint_eq(st.bad_acks, 0);
	ck_assert_uint_eq(st.last_seq, g->last_seq);
	/* A guest that stops answering is noticed. */
	vsc_channel_close(&g->ch);
	e.n = 0;
	h_run(&e.h, 50);
	ic_heartbeat_get_status(hb, &st);
	ck_assert(!st.negotiated);
	ic_heartbeat_destroy(hb);
	h_teardown(&e.h);
}
END_TEST

/*
 * A guest that answers the version negotiation only after the host's
 * timeout (Linux's KVP waits for hv_kvp_daemon, up to 55 s) still gets the
 * service: the answer was dropped as unexpected before.
 */
START_TEST(ic_late_negotiation_answer_still_brings_the_service_up)
{
	struct ic_env e = {0};
	struct ic_heartbeat *hb;
	struct ic_heartbeat_status st;
	struct vsc_ic *g = start_heartbeat(&e, &hb);

	h_run(&e.h, 150); /* the guest reads nothing: the negotiation times out */
	ck_assert(h_log_contains(&e.h, "heartbeat IC: no answer to the version negotiation yet"));
	ic_heartbeat_get_status(hb, &st);
	ck_assert(!st.negotiated);
	PUMP_UNTIL(&e, (ic_heartbeat_get_status(hb, &st), st.acks >= 3));
	ck_assert(g->negotiated);
	ck_assert_uint_eq(st.version, IC_VERSION(3, 0));
	ic_heartbeat_destroy(hb);
	h_teardown(&e.h);
}
END_TEST

static uint32_t sd_status = 0x12345678;
static void sd_result(void *ctx, uint32_t status)
{
	(void)ctx;
	sd_status = status;
}

START_TEST(shutdown_poweroff_reboot_and_refused_hibernate)
{
	struct ic_env e = {0};
	struct ic_shutdown *sd;
	struct ic_shutdown_params p = {.instance = inst, .on_result = sd_result};
	struct vsc_ic *g;

	h_setup(&e.h, 0, 0);
	p.server = e.h.server;
	p.loop = e.h.loop;
	ck_assert_int_eq(ic_shutdown_create(&p, &sd), 0);
	ck_assert_int_eq(ic_shutdown_request(sd, 0, 0, "x"), -ENOTCONN);
	h_connect(&e.h);
	g = open_ic(&e, IC_MSGTYPE_SHUTDOWN);
	PUMP_UNTIL(&e, ic_shutdown_ready(sd));
	ck_assert_uint_eq(g->srv_version, IC_VERSION(3, 2));
	ck_assert_int_eq(ic_shutdown_request(sd, IC_SHUTDOWN_FLAG_REBOOT, 5, "reboot now"), 0);
	ck_assert_int_eq(ic_shutdown_request(sd, 0, 0, NULL), -EBUSY);
	PUMP_UNTIL(&e, sd_status != 0x12345678);
	ck_assert_uint_eq(sd_status, IC_S_OK);
	ck_assert(g->shutdown_requested);
	ck_assert_uint_eq(g->shutdown_flags, IC_SHUTDOWN_FLAG_REBOOT);
	sd_status = 0x12345678;
	ck_assert_int_eq(ic_shutdown_request(sd, IC_SHUTDOWN_FLAG_HIBERNATE, 0, NULL), 0);
	PUMP_UNTIL(&e, sd_status != 0x12345678);
	ck_assert_uint_eq(sd_status, IC_E_FAIL); /* Linux without hibernation support */
	sd_status = 0x12345678;
	ck_assert_int_eq(ic_shutdown_request(sd, IC_SHUTDOWN_FLAG_FORCE, 0, NULL), 0);
	PUMP_UNTIL(&e, sd_status != 0x12345678);
	ck_assert_uint_eq(sd_status, IC_S_OK);
	ck_assert_uint_eq(g->shutdown_flags, IC_SHUTDOWN_FLAG_FORCE);
	ic_shutdown_destroy(sd);
	h_teardown(&e.h);
}
END_TEST

static uint64_t fake_host_time(void *ctx)
{
	(void)ctx;
	return IC_TIMESYNC_EPOCH_DELTA + 1700000000ull * 10000000ull;
}

START_TEST(timesync_v4_sends_sync_then_samples_with_reference_time)
{
	struct ic_env e = {0};
	struct ic_timesync *ts;
	struct ic_timesync_status st;
	struct ic_timesync_params p = {.instance = inst, .interval_ms = 10};
	struct vsc_ic *g;

	h_setup(&e.h, 0, 0);
	p.server = e.h.server;
	p.loop = e.h.loop;
	p.host_time = fake_host_time;
	ck_assert_int_eq(ic_timesync_create(&p, &ts), 0);
	h_connect(&e.h);
	g = open_ic(&e, IC_MSGTYPE_TIMESYNC);
	PUMP_UNTIL(&e, g->syncs >= 1);
	ck_assert_uint_eq(g->srv_version, IC_VERSION(4, 0));
	ck_assert_uint_eq(g->ts_flags, IC_TIMESYNC_FLAG_SYNC);
	ck_assert_uint_eq(g->host_time, fake_host_time(NULL));
	ck_assert_uint_gt(g->ref_time, 0); /* the loopback partition's reference counter */
	PUMP_UNTIL(&e, g->syncs >= 3);
	ck_assert_uint_eq(g->ts_flags, IC_TIMESYNC_FLAG_SAMPLE);
	ic_timesync_get_status(ts, &st);
	ck_assert_uint_ge(st.samples_acked, 2);
	ic_timesync_destroy(ts);
	h_teardown(&e.h);
}
END_TEST

START_TEST(timesync_real_clock_is_close_to_now)
{
	struct ic_env e = {0};
	struct ic_timesync *ts;
	struct ic_timesync_params p = {.instance = inst, .interval_ms = 1000};
	struct vsc_ic *g;
	struct timespec now;
	uint64_t host_unix_s;

	h_setup(&e.h, 0, 0);
	p.server = e.h.server;
	p.loop = e.h.loop;
	ck_assert_int_eq(ic_timesync_create(&p, &ts), 0);
	h_connect(&e.h);
	g = open_ic(&e, IC_MSGTYPE_TIMESYNC);
	PUMP_UNTIL(&e, g->syncs >= 1);
	clock_gettime(CLOCK_REALTIME, &now);
	host_unix_s = (g->host_time - IC_TIMESYNC_EPOCH_DELTA) / 10000000ull;
	ck_assert_int_le(llabs((long long)host_unix_s - (long long)now.tv_sec), 2);
	ic_timesync_destroy(ts);
	h_teardown(&e.h);
}
END_TEST

static const struct vsc_kvp_pair auto_pool[] = {
    {"FullyQualifiedDomainName", "guest1.example.org"},
    {"IntegrationServicesVersion", "6.1.0"},
    {"NetworkAddressIPv4", "192.0.2.10;192.0.2.11"},
    {"NetworkAddressIPv6", "2001:db8::10"},
    {"OSName", "Debian GNU/Linux"},
};

START_TEST(kvp_reads_hostname_and_addresses_and_sets_external_keys)
{
	struct ic_env e = {0};
	struct ic_kvp *kvp;
	struct ic_kvp_status st;
	struct ic_kvp_params p = {.instance = inst, .refresh_ms = 30};
	struct vsc_ic *g;
	char v[256];

	h_setup(&e.h, 0, 0);
	p.server = e.h.server;
	p.loop = e.h.loop;
	ck_assert_int_eq(ic_kvp_create(&p, &kvp), 0);
	h_connect(&e.h);
	g = open_ic(&e, IC_MSGTYPE_KVPEXCHANGE);
	g->kvp_daemon = true;
	g->auto_pool = auto_pool;
	g->auto_count = 5;
	PUMP_UNTIL(&e, (ic_kvp_get_status(kvp, &st), st.enumerations >= 1));
	ck_assert_uint_eq(g->srv_version, IC_VERSION(4, 0));
	ck_assert_uint_eq(st.pairs, 5);
	ck_assert_int_eq(ic_kvp_get_guest_value(kvp, "FullyQualifiedDomainName", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "guest1.example.org");
	ck_assert_int_eq(ic_kvp_get_guest_value(kvp, "NetworkAddressIPv4", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "192.0.2.10;192.0.2.11");
	ck_assert_int_eq(ic_kvp_get_guest_value(kvp, "NetworkAddressIPv6", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "2001:db8::10");
	ck_assert_int_eq(ic_kvp_get_guest_value(kvp, "NoSuchKey", v, sizeof(v)), -ENOENT);
	/* Host writes into the external pool; the guest stores it. */
	ck_assert_int_eq(ic_kvp_set(kvp, IC_KVP_POOL_EXTERNAL, "VirtualMachineName", "vm-01"), 0);
	ck_assert_int_eq(ic_kvp_set(kvp, IC_KVP_POOL_EXTERNAL, "HostName", "host-ä"), 0);
	PUMP_UNTIL(&e, (ic_kvp_get_status(kvp, &st), st.ops_ok >= 2));
	ck_assert_uint_eq(g->pool_count[IC_KVP_POOL_EXTERNAL], 2);
	ck_assert_str_eq(g->pool[IC_KVP_POOL_EXTERNAL][0].key, "VirtualMachineName");
	ck_assert_str_eq(g->pool[IC_KVP_POOL_EXTERNAL][0].value, "vm-01");
	ck_assert_str_eq(g->pool[IC_KVP_POOL_EXTERNAL][1].value, "host-?"); /* ASCII-only guest */
	ck_assert_int_eq(ic_kvp_delete(kvp, IC_KVP_POOL_EXTERNAL, "VirtualMachineName"), 0);
	PUMP_UNTIL(&e, (ic_kvp_get_status(kvp, &st), st.ops_ok >= 3));
	ck_assert_uint_eq(g->pool_count[IC_KVP_POOL_EXTERNAL], 1);
	/* The guest's hostname changes: the next refresh picks it up. */
	g->auto_pool = &auto_pool[1];
	g->auto_count = 2;
	{
		uint64_t before = st.enumerations;

		PUMP_UNTIL(&e, (ic_kvp_get_status(kvp, &st), st.enumerations >= before + 2));
	}
	ck_assert_int_eq(ic_kvp_get_guest_value(kvp, "FullyQualifiedDomainName", v, sizeof(v)),
			 -ENOENT);
	ck_assert_uint_eq(st.pairs, 2);
	ic_kvp_destroy(kvp);
	h_teardown(&e.h);
}
END_TEST

START_TEST(kvp_without_daemon_fails_operations)
{
	struct ic_env e = {0};
	struct ic_kvp *kvp;
	struct ic_kvp_status st;
	struct ic_kvp_params p = {.instance = inst, .refresh_ms = 1000};

	h_setup(&e.h, 0, 0);
	p.server = e.h.server;
	p.loop = e.h.loop;
	ck_assert_int_eq(ic_kvp_create(&p, &kvp), 0);
	h_connect(&e.h);
	open_ic(&e, IC_MSGTYPE_KVPEXCHANGE); /* kvp_daemon false */
	PUMP_UNTIL(&e, (ic_kvp_get_status(kvp, &st), st.enumerations >= 1));
	ck_assert_uint_eq(st.pairs, 0);
	ck_assert_int_eq(ic_kvp_set(kvp, IC_KVP_POOL_EXTERNAL, "k", "v"), 0);
	PUMP_UNTIL(&e, (ic_kvp_get_status(kvp, &st), st.ops_failed >= 1));
	ic_kvp_destroy(kvp);
	h_teardown(&e.h);
}
END_TEST

/* hv_kvp_daemon's answers: addresses in order, IPv4 netmasks and IPv6 "/prefix". */
static const struct vsc_kvp_adapter adapters[] = {
    {"00:15:5D:00:00:01", "10.77.0.2;192.0.2.9;fe80::215:5dff:fe00:1",
     "255.255.255.0;255.255.0.0;/64"},
};

START_TEST(kvp_asks_each_nic_for_its_addresses_and_prefixes)
{
	static const uint8_t mac0[6] = {0x00, 0x15, 0x5d, 0x00, 0x00, 0x01};
	static const uint8_t mac1[6] = {0x00, 0x15, 0x5d, 0x00, 0x00, 0x02};
	struct ic_env e = {0};
	struct ic_kvp *kvp;
	struct ic_kvp_status st;
	struct ic_kvp_params p = {.instance = inst, .refresh_ms = 30};
	struct ic_kvp_addr a[IC_KVP_MAX_ADAPTER_ADDRS];
	struct vsc_ic *g;

	h_setup(&e.h, 0, 0);
	p.server = e.h.server;
	p.loop = e.h.loop;
	ck_assert_int_eq(ic_kvp_create(&p, &kvp), 0);
	ck_assert_int_eq(ic_kvp_watch_adapter(kvp, 0, mac0), 0);
	ck_assert_int_eq(ic_kvp_watch_adapter(kvp, 1, mac1), 0);
	ck_assert_int_eq(ic_kvp_watch_adapter(kvp, IC_KVP_MAX_ADAPTERS, mac1), -EINVAL);
	ck_assert_int_eq(ic_kvp_get_adapter_addrs(kvp, 0, a, 16), -ENOENT);
	h_connect(&e.h);
	g = open_ic(&e, IC_MSGTYPE_KVPEXCHANGE);
	g->kvp_daemon = true;
	g->auto_pool = auto_pool;
	g->auto_count = 5;
	g->adapters = adapters;
	g->adapter_count = 1;
	PUMP_UNTIL(&e, g->ip_queries >= 2 && ic_kvp_get_adapter_addrs(kvp, 0, a, 16) >= 0);
	ck_assert_int_eq(ic_kvp_get_adapter_addrs(kvp, 0, a, 16), 3);
	ck_assert(!a[0].v6);
	ck_assert_str_eq(a[0].text, "10.77.0.2");
	ck_assert_uint_eq(a[0].prefix, 24);
	ck_assert_str_eq(a[1].text, "192.0.2.9");
	ck_assert_uint_eq(a[1].prefix, 16);
	ck_assert(a[2].v6);
	ck_assert_str_eq(a[2].text, "fe80::215:5dff:fe00:1");
	ck_assert_uint_eq(a[2].prefix, 64);
	ck_assert_int_eq(ic_kvp_get_adapter_addrs(kvp, 0, a, 1), 1); /* max respected */
	/* The guest has no interface with the second MAC: still unknown. */
	ck_assert_int_eq(ic_kvp_get_adapter_addrs(kvp, 1, a, 16), -ENOENT);
	/*
	 * A NIC without an answer is asked again after every pass; one that
	 * answered only when the pool's address lists change.
	 */
	{
		static const struct vsc_kvp_pair moved_pool[] = {
		    {"NetworkAddressIPv4", "10.77.0.3"}};
		static const struct vsc_kvp_pair none_pool[] = {{"NetworkAddressIPv4", ""}};
		static const struct vsc_kvp_adapter moved[] = {
		    {"00:15:5D:00:00:01", "10.77.0.3", "255.255.255.128"}};
		static const struct vsc_kvp_adapter none[] = {{"00:15:5D:00:00:02", "", ""}};
		uint32_t before = g->ip_queries;
		uint64_t passes;

		g->adapters = moved;
		ic_kvp_get_status(kvp, &st);
		passes = st.enumerations;
		PUMP_UNTIL(&e, (ic_kvp_get_status(kvp, &st), st.enumerations >= passes + 3));
		/* Only the unanswered second NIC was asked: the first keeps its old view. */
		ck_assert_uint_ge(g->ip_queries, before + 2);
		ck_assert_int_eq(ic_kvp_get_adapter_addrs(kvp, 0, a, 16), 3);
		before = g->ip_queries;
		g->auto_pool = moved_pool;
		g->auto_count = 1;
		PUMP_UNTIL(&e, g->ip_queries >= before + 4);
		ck_assert_int_eq(ic_kvp_get_adapter_addrs(kvp, 0, a, 16), 1);
		ck_assert_str_eq(a[0].text, "10.77.0.3");
		ck_assert_uint_eq(a[0].prefix, 25);
		/* An interface without addresses: known, empty. */
		before = g->ip_queries;
		g->adapters = none;
		g->auto_pool = none_pool;
		PUMP_UNTIL(&e, g->ip_queries >= before + 4);
		ck_assert_int_eq(ic_kvp_get_adapter_addrs(kvp, 1, a, 16), 0);
	}
	ic_kvp_get_status(kvp, &st);
	ck_assert_uint_ge(st.enumerations, 2);
	ic_kvp_destroy(kvp);
	h_teardown(&e.h);
}
END_TEST

/* Build the guest's answer the way hv_kvp (UTF-16) hands it to the host. */
static void ip_answer(struct ic_kvp_ip_msg *m, const char *addrs, const char *nets)
{
	memset(m, 0, sizeof(*m));
	m->operation = IC_KVP_OP_GET_IP_INFO;
	ic_utf8_to_utf16(addrs, m->ip_addr, sizeof(m->ip_addr));
	ic_utf8_to_utf16(nets, m->sub_net, sizeof(m->sub_net));
}

START_TEST(kvp_ip_info_answers_are_checked)
{
	static const uint8_t mac[6] = {0x00, 0x15, 0x5d, 0xab, 0xcd, 0xef};
	struct ic_kvp_ip_msg m;
	struct ic_kvp_addr a[4];
	char id[32];

	ic_kvp_ipinfo_request(&m, mac);
	ck_assert_uint_eq(m.operation, IC_KVP_OP_GET_IP_INFO);
	ic_utf16_to_utf8(m.adapter_id, sizeof(m.adapter_id), id, sizeof(id));
	ck_assert_str_eq(id, "00:15:5D:AB:CD:EF"); /* hv_kvp_daemon compares upper case */
	/* Not addresses, a non-contiguous mask, a prefix out of range, missing nets. */
	ip_answer(&m, "junk;10.0.0.1;10.0.0.2;2001:DB8::1;10.0.0.3;10.0.0.4",
		  "x;255.0.255.0;/40;/129;24");
	ck_assert_int_eq(ic_kvp_ipinfo_parse((uint8_t *)&m, sizeof(m), a, 4), 4);
	ck_assert_str_eq(a[0].text, "10.0.0.1");
	ck_assert_uint_eq(a[0].prefix, 32);	    /* 255.0.255.0: no usable prefix */
	ck_assert_uint_eq(a[1].prefix, 32);	    /* /40 on IPv4 */
	ck_assert_str_eq(a[2].text, "2001:db8::1"); /* canonical */
	ck_assert_uint_eq(a[2].prefix, 128);	    /* /129 */
	ck_assert_uint_eq(a[3].prefix, 24);	    /* a bare number is taken */
	ip_answer(&m, ";;;", "");
	ck_assert_int_eq(ic_kvp_ipinfo_parse((uint8_t *)&m, sizeof(m), a, 4), 0);
	ck_assert_int_eq(ic_kvp_ipinfo_parse((uint8_t *)&m, sizeof(m) - 1, a, 4), -1);
	m.operation = IC_KVP_OP_ENUMERATE;
	ck_assert_int_eq(ic_kvp_ipinfo_parse((uint8_t *)&m, sizeof(m), a, 4), -1);
	/* No NUL anywhere: the strings end at the field's end. */
	memset(&m, '1', sizeof(m));
	m.operation = IC_KVP_OP_GET_IP_INFO;
	ck_assert_int_eq(ic_kvp_ipinfo_parse((uint8_t *)&m, sizeof(m), a, 4), 0);
}
END_TEST

START_TEST(ic_negotiation_picks_highest_common_and_rejects_none)
{
	uint8_t buf[128];
	struct ic_msg_header *h = (struct ic_msg_header *)(buf + 8);
	struct ic_negotiate *n = (struct ic_negotiate *)(buf + IC_HEADER_SIZE);
	const uint32_t fw[] = {IC_FRAMEWORK_VERSION_3_0, IC_FRAMEWORK_VERSION_1_0};
	const uint32_t srv[] = {IC_VERSION(4, 0), IC_VERSION(3, 0)};
	uint32_t f, s;

	memset(buf, 0, sizeof(buf));
	n->icframe_vercnt = 2;
	n->icmsg_vercnt = 3;
	n->icversion_data[0] = (struct ic_version){1, 0};
	n->icversion_data[1] = (struct ic_version){3, 0};
	n->icversion_data[2] = (struct ic_version){1, 0};
	n->icversion_data[3] = (struct ic_version){3, 0};
	n->icversion_data[4] = (struct ic_version){5, 0};
	ck_assert(vsc_ic_negotiate(buf, IC_HEADER_SIZE + 8 + 20, fw, 2, srv, 2, &f, &s));
	ck_assert_uint_eq(f, IC_FRAMEWORK_VERSION_3_0);
	ck_assert_uint_eq(s, IC_VERSION(3, 0));
	ck_assert_uint_eq(n->icframe_vercnt, 1);
	ck_assert_uint_eq(h->icmsgsize, 0x10);
	/* Counts over 100 or past the packet end are refused. */
	n->icframe_vercnt = 101;
	n->icmsg_vercnt = 1;
	ck_assert(!vsc_ic_negotiate(buf, sizeof(buf), fw, 2, srv, 2, &f, &s));
	n->icframe_vercnt = 2;
	n->icmsg_vercnt = 30;
	ck_assert(!vsc_ic_negotiate(buf, sizeof(buf), fw, 2, srv, 2, &f, &s));
	ck_assert_uint_eq(n->icframe_vercnt, 0);
}
END_TEST

START_TEST(utf16_conversions_round_trip)
{
	uint8_t w[64];
	char u[64];
	size_t n = ic_utf8_to_utf16("h\xc3\xa4\xf0\x9f\x98\x80!", w, sizeof(w));

	ck_assert_uint_eq(n, 2 * (1 + 1 + 2 + 1 + 1));
	ic_utf16_to_utf8(w, n, u, sizeof(u));
	ck_assert_str_eq(u, "h\xc3\xa4\xf0\x9f\x98\x80!");
	/* Truncation keeps the NUL and never writes past the end. */
	ck_assert_uint_eq(ic_utf8_to_utf16("abcdef", w, 6), 6);
	ck_assert_uint_eq(w[4] | w[5], 0);
	ic_utf16_to_utf8(w, 64, u, 2);
	ck_assert_str_eq(u, "a");
	/* An unpaired surrogate becomes U+FFFD. */
	w[0] = 0x00, w[1] = 0xD8, w[2] = 'x', w[3] = 0;
	ic_utf16_to_utf8(w, 4, u, sizeof(u));
	ck_assert_str_eq(u, "\xef\xbf\xbdx");
}
END_TEST

TEST_MAIN("vmbus-ic", heartbeat_negotiates_3_0_and_counts_acks,
	  ic_late_negotiation_answer_still_brings_the_service_up,
	  shutdown_poweroff_reboot_and_refused_hibernate,
	  timesync_v4_sends_sync_then_samples_with_reference_time,
	  timesync_real_clock_is_close_to_now,
	  kvp_reads_hostname_and_addresses_and_sets_external_keys,
	  kvp_without_daemon_fails_operations, kvp_asks_each_nic_for_its_addresses_and_prefixes,
	  kvp_ip_info_answers_are_checked, ic_negotiation_picks_highest_common_and_rejects_none,
	  utf16_conversions_round_trip)

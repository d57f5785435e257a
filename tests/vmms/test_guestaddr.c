/* Unit tests for the guest address list vmms reads from the worker's status
 * line (guest-written KVP values: anything that is not an address is dropped). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "guestaddr.h"

START_TEST(status_line)
{
	struct guest_addrs g;
	ck_assert_uint_eq(guest_addrs_parse("ok state=running heartbeat=ok hostname=h "
					    "ipv4=10.77.0.2;192.0.2.1 ipv6=fe80::215:5dff:fe00:1",
					    &g),
			  3);
	ck_assert(!g.a[0].v6);
	ck_assert_str_eq(g.a[0].text, "10.77.0.2");
	ck_assert_str_eq(g.a[1].text, "192.0.2.1");
	ck_assert(g.a[2].v6);
	ck_assert_str_eq(g.a[2].text, "fe80::215:5dff:fe00:1");
	/* Nothing reported yet. */
	ck_assert_uint_eq(guest_addrs_parse("ok state=running heartbeat=unknown hostname= ipv4= "
					    "ipv6=",
					    &g),
			  0);
	ck_assert_uint_eq(guest_addrs_parse("ok", &g), 0);
}
END_TEST

START_TEST(hostile_values)
{
	struct guest_addrs g;
	/* A hostname that imitates the address fields does not shadow them. */
	ck_assert_uint_eq(guest_addrs_parse("ok state=running hostname=x ipv4=6.6.6.6 ipv6=::6 "
					    "ipv4=10.0.0.1 ipv6=",
					    &g),
			  1);
	ck_assert_str_eq(g.a[0].text, "10.0.0.1");
	/* Junk, out-of-range and over-long entries are skipped; spellings are
	 * canonicalised. */
	ck_assert_uint_eq(guest_addrs_parse("ok ipv4=;;999.1.1.1;1.2.3;abc;10.0.0.1;"
					    "1111111111111111111111111111111111111111111111111 "
					    "ipv6=2001:DB8:0:0::1;::ffff:zz",
					    &g),
			  2);
	ck_assert_str_eq(g.a[0].text, "10.0.0.1");
	ck_assert_str_eq(g.a[1].text, "2001:db8::1");
	/* No more than GUEST_ADDRS_MAX. */
	char line[2048] = "ok ipv4=";
	for (int i = 0; i < 100; i++)
		strcat(line, "10.0.0.1;");
	ck_assert_uint_eq(guest_addrs_parse(line, &g), GUEST_ADDRS_MAX);
}
END_TEST

START_TEST(ifaddrs_reply)
{
	struct guest_nics n;
	ck_assert_uint_eq(guest_nics_parse("ok 00:15:5D:00:00:01=10.77.0.2/24,FE80::1/64 "
					   "00:15:5d:00:00:02=",
					   &n),
			  2);
	ck_assert_str_eq(n.nic[0].mac, "00:15:5d:00:00:01"); /* lower case */
	ck_assert_uint_eq(n.nic[0].addrs.n, 2);
	ck_assert_str_eq(n.nic[0].addrs.a[0].text, "10.77.0.2");
	ck_assert_uint_eq(n.nic[0].addrs.a[0].prefix, 24);
	ck_assert(n.nic[0].addrs.a[1].v6);
	ck_assert_str_eq(n.nic[0].addrs.a[1].text, "fe80::1");
	ck_assert_uint_eq(n.nic[0].addrs.a[1].prefix, 64);
	ck_assert_uint_eq(n.nic[1].addrs.n, 0);
	/* An older worker, or one whose guest has not answered yet. */
	ck_assert_uint_eq(guest_nics_parse("error: unknown request 'ifaddrs'", &n), 0);
	ck_assert_uint_eq(guest_nics_parse("ok ", &n), 0);
	/* Bad MACs, prefixes out of range or missing, non-addresses: skipped. */
	ck_assert_uint_eq(
	    guest_nics_parse("ok 00:15:5d:00:00=1.1.1.1/8 zz:15:5d:00:00:01=1.1.1.1/8 "
			     "00:15:5d:00:00:03=1.1.1.1/33,1.1.1.2,x/8,::1/129,"
			     "1.1.1.3/-1,1.1.1.4/0008,1.1.1.5/0",
			     &n),
	    1);
	ck_assert_str_eq(n.nic[0].mac, "00:15:5d:00:00:03");
	ck_assert_uint_eq(n.nic[0].addrs.n, 1);
	ck_assert_str_eq(n.nic[0].addrs.a[0].text, "1.1.1.5");
	ck_assert_uint_eq(n.nic[0].addrs.a[0].prefix, 0);
	/* No more than GUEST_NICS_MAX NICs, GUEST_ADDRS_MAX addresses each. */
	char line[4096] = "ok";
	for (int i = 0; i < 12; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
			 " 00:15:5d:00:00:%02x=", i);
	ck_assert_uint_eq(guest_nics_parse(line, &n), GUEST_NICS_MAX);
	strcpy(line, "ok 00:15:5d:00:00:01=");
	for (int i = 0; i < 100; i++)
		strcat(line, "10.0.0.1/8,");
	ck_assert_uint_eq(guest_nics_parse(line, &n), 1);
	ck_assert_uint_eq(n.nic[0].addrs.n, GUEST_ADDRS_MAX);
}
END_TEST

TEST_MAIN("vmms_guestaddr", status_line, hostile_values, ifaddrs_reply)

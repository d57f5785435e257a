/* Unit tests for the guest address list vmms reads from the worker's status
 * line (guest-written KVP values: anything that is not an address is dropped). */
#include <check.h>
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

TEST_MAIN("vmms_guestaddr", status_line, hostile_values)

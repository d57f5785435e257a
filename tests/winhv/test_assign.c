// SPDX-License-Identifier: MIT
/*
 * WinHvAttachDevice/WinHvDetachDevice before the hypervisor: PCI addresses
 * that are not one, and a backend that cannot assign devices, each get a
 * status and a message, and nothing is sent on.
 */
#include <check.h>
#include <string.h>

#include <linhv/winhv.h>

#include "check_main.h"

static struct winhv_partition *loopback(void)
{
	struct winhv_partition_params pp = {.backend = WINHV_BACKEND_LOOPBACK, .max_vps = 1};
	struct winhv_partition *p = NULL;

	ck_assert_int_eq(WinHvCreatePartition(&pp, &p), 0);
	return p;
}

START_TEST(bad_addresses)
{
	static const char *const bad[] = {"",	     "00:02",	     "0000:00:02",    "00:20.0",
					  "00:02.8", "100:02.0",     "10000:00:02.0", "00:02.0x",
					  "g0:02.0", "0000:00:02.0 "};
	struct winhv_partition *p = loopback();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(WinHvAttachDevice(p, bad[i]) == HV_STATUS_INVALID_PARAMETER, "'%s'",
			      bad[i]);
		ck_assert_ptr_nonnull(strstr(WinHvLastError(), "not a PCI address"));
	}
	ck_assert_int_eq(WinHvAttachDevice(p, NULL), HV_STATUS_INVALID_PARAMETER);
	ck_assert_int_eq(WinHvDetachDevice(p, "zz"), HV_STATUS_INVALID_PARAMETER);
	WinHvDeletePartition(p);
}
END_TEST

START_TEST(backend_without_assignment)
{
	struct winhv_partition *p = loopback();

	ck_assert_int_eq(WinHvAttachDevice(p, "0000:00:02.0"), HV_STATUS_FEATURE_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(WinHvLastError(), "cannot assign devices"));
	ck_assert_int_eq(WinHvDetachDevice(p, "00:1f.7"), HV_STATUS_FEATURE_UNAVAILABLE);
	WinHvDeletePartition(p);
}
END_TEST

TEST_MAIN("winhv-assign", bad_addresses, backend_without_assignment)

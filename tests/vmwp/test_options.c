// SPDX-License-Identifier: MIT
/* Command-line and size parsing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "options.h"

static int parse(struct vmwp_options *o, const char *a, const char *b, const char *c)
{
	char err[256];
	char *argv[5] = {"vmwp", (char *)"--kernel", (char *)"k", NULL, NULL};
	char *full[8] = {"vmwp", "--kernel", "k"};
	int n = 3;

	(void)argv;
	if (a)
		full[n++] = (char *)a;
	if (b)
		full[n++] = (char *)b;
	if (c)
		full[n++] = (char *)c;
	return vmwp_parse_options(n, full, o, err, sizeof(err));
}

START_TEST(sizes)
{
	uint64_t v;

	ck_assert_int_eq(vmwp_parse_size("512", &v), 0);
	ck_assert_uint_eq(v, 512ULL << 20);
	ck_assert_int_eq(vmwp_parse_size("2G", &v), 0);
	ck_assert_uint_eq(v, 2ULL << 30);
	ck_assert_int_eq(vmwp_parse_size("64MiB", &v), 0);
	ck_assert_uint_eq(v, 64ULL << 20);
	ck_assert_int_eq(vmwp_parse_size("4096K", &v), 0);
	ck_assert_uint_eq(v, 4ULL << 20);
	ck_assert_int_eq(vmwp_parse_size("1t", &v), 0);
	ck_assert_uint_eq(v, 1ULL << 40);
	ck_assert_int_eq(vmwp_parse_size("", &v), -1);
	ck_assert_int_eq(vmwp_parse_size("G", &v), -1);
	ck_assert_int_eq(vmwp_parse_size("-1G", &v), -1);
	ck_assert_int_eq(vmwp_parse_size("1.5G", &v), -1);
	ck_assert_int_eq(vmwp_parse_size("12Q", &v), -1);
	ck_assert_int_eq(vmwp_parse_size("1GX", &v), -1);
	ck_assert_int_eq(vmwp_parse_size("99999999999999999999", &v), -1);
	ck_assert_int_eq(vmwp_parse_size("99999999999T", &v), -1);
}
END_TEST

START_TEST(options_ok)
{
	struct vmwp_options o;

	ck_assert_int_eq(parse(&o, NULL, NULL, NULL), 0);
	ck_assert_uint_eq(o.memory, 512ULL << 20);
	ck_assert_uint_eq(o.cpus, 1);
	ck_assert_int_eq(parse(&o, "--memory=1G", "--cpus", "4"), 0);
	ck_assert_uint_eq(o.memory, 1ULL << 30);
	ck_assert_uint_eq(o.cpus, 4);
	ck_assert_int_eq(parse(&o, "--console", "unix:/run/x.sock", "--no-reboot"), 0);
	ck_assert_int_eq(o.console, VMWP_CONSOLE_UNIX);
	ck_assert_str_eq(o.console_path, "/run/x.sock");
	ck_assert(o.no_reboot);
	ck_assert_int_eq(parse(&o, "--backend", "kvm", NULL), 0);
	ck_assert_int_eq(o.backend, WINHV_BACKEND_KVM);
	ck_assert_int_eq(parse(&o, "--uuid", "0123abcd-0000-4000-8000-00000000abcd", NULL), 0);
	{
		uint8_t id[16];
		static const uint8_t want[16] = {0x01, 0x23, 0xab, 0xcd, 0, 0, 0x40, 0,
						 0x80, 0,    0,	   0,	 0, 0, 0xab, 0xcd};

		ck_assert_int_eq(vmwp_uuid_bytes(o.uuid, id), 0);
		ck_assert_mem_eq(id, want, 16);
		ck_assert_int_eq(vmwp_uuid_bytes("0123ABCD-0000-4000-8000-00000000abc", id), -1);
	}
	ck_assert_int_eq(parse(&o, "--nic", "bridge=br0,mac=52:54:00:12:34:56", NULL), 0);
	ck_assert_str_eq(o.nics[0].bridge, "br0");
	ck_assert(o.nics[0].has_mac);
	ck_assert_uint_eq(o.nics[0].mac[5], 0x56);
	ck_assert_uint_eq(o.nics[0].queues, 0);
	ck_assert_int_eq(parse(&o, "--nic", "tap=t1,queues=2", NULL), 0);
	ck_assert_uint_eq(o.nics[o.nnics - 1].queues, 2);
	/* A named TAP on a bridge (libvirt's <interface type='bridge'> with <target dev>). */
	ck_assert_int_eq(parse(&o, "--nic", "tap=vnet3,bridge=br0", NULL), 0);
	ck_assert_str_eq(o.nics[0].tap, "vnet3");
	ck_assert_str_eq(o.nics[0].bridge, "br0");
	ck_assert_int_eq(parse(&o, "--help", NULL, NULL), 1);
}
END_TEST

START_TEST(disk_specs)
{
	struct vmwp_disk d;
	char err[256], s1[] = "a.img", s2[] = "/dev/ram0,readonly,serial=DISK-1,cache=none",
		       s3[] = "x.img,cache=writeback,ro", s4[] = ",readonly", s5[] = "x.img,bogus",
		       s6[] = "x.img,serial=", s7[] = "x.img,serial=has space",
		       s8[] = "x.img,serial=123456789012345678901";

	ck_assert_int_eq(vmwp_parse_disk(s1, &d, err, sizeof(err)), 0);
	ck_assert_str_eq(d.path, "a.img");
	ck_assert(!d.readonly && !d.cache_none && !d.serial);
	ck_assert_int_eq(vmwp_parse_disk(s2, &d, err, sizeof(err)), 0);
	ck_assert_str_eq(d.path, "/dev/ram0");
	ck_assert(d.readonly && d.cache_none);
	ck_assert_str_eq(d.serial, "DISK-1");
	ck_assert_int_eq(vmwp_parse_disk(s3, &d, err, sizeof(err)), 0);
	ck_assert(d.readonly && !d.cache_none);
	ck_assert_int_eq(vmwp_parse_disk(s4, &d, err, sizeof(err)), -1);
	ck_assert_int_eq(vmwp_parse_disk(s5, &d, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown option 'bogus'"));
	ck_assert_int_eq(vmwp_parse_disk(s6, &d, err, sizeof(err)), -1);
	ck_assert_int_eq(vmwp_parse_disk(s7, &d, err, sizeof(err)), -1);
	ck_assert_int_eq(vmwp_parse_disk(s8, &d, err, sizeof(err)), -1);
}
END_TEST

START_TEST(options_bad)
{
	struct vmwp_options o;
	char disk[] = "d.img,readonly";

	ck_assert_int_eq(parse(&o, "--cpus", "0", NULL), -1);
	ck_assert_int_eq(parse(&o, "--cpus", "65", NULL), -1);
	ck_assert_int_eq(parse(&o, "--cpus", "1x", NULL), -1);
	ck_assert_int_eq(parse(&o, "--cpus", "-1", NULL), -1);
	ck_assert_int_eq(parse(&o, "--memory", "16M", NULL), -1);
	ck_assert_int_eq(parse(&o, "--memory", "2T", NULL), -1);
	ck_assert_int_eq(parse(&o, "--memory", NULL, NULL), -1);
	ck_assert_int_eq(parse(&o, "--console", "unix:", NULL), -1);
	ck_assert_int_eq(parse(&o, "--backend", "loopback", NULL), -1);
	ck_assert_int_eq(parse(&o, "--uuid", "0123abcd-0000-4000-8000-00000000abc", NULL), -1);
	ck_assert_int_eq(parse(&o, "--nic", "tap=a,queues=9", NULL), -1);
	ck_assert_int_eq(parse(&o, "--nic", "tap=a,queues=0", NULL), -1);
	ck_assert_int_eq(parse(&o, "--nic", "mac=52:54:00:00:00:01", NULL), -1);
	ck_assert_int_eq(parse(&o, "--nic", "tap=0123456789abcdef", NULL), -1);
	ck_assert_int_eq(parse(&o, "--nic", "tap=t0,mac=01:00:00:00:00:00", NULL), -1);
	ck_assert_int_eq(parse(&o, "--name", "a/b", NULL), -1);
	ck_assert_int_eq(parse(&o, "--frob", NULL, NULL), -1);
	ck_assert_int_eq(parse(&o, "stray", NULL, NULL), -1);
	ck_assert_int_eq(parse(&o, "--no-reboot=1", NULL, NULL), -1);
	{
		char err[128];
		char *argv[] = {"vmwp", "--memory", "1G"};

		ck_assert_int_eq(vmwp_parse_options(3, argv, &o, err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "--kernel"));
	}
	{
		struct vmwp_disk d;
		char err[128];

		ck_assert_int_eq(vmwp_parse_disk(disk, &d, err, sizeof(err)), 0);
		ck_assert(d.readonly);
		ck_assert_str_eq(d.path, "d.img");
	}
}
END_TEST

START_TEST(rtc_base)
{
	struct vmwp_options o;
	enum vmwp_rtc_base b;
	int64_t d;
	char err[256];
	char *argv[] = {"vmwp", "--kernel", "k", "--rtc-base", "2001-13-01"};

	ck_assert_int_eq(parse(&o, NULL, NULL, NULL), 0);
	ck_assert_int_eq(o.rtc_base, VMWP_RTC_UTC);
	ck_assert_int_eq(vmwp_rtc_offset(&o, 1700000000), 0);
	ck_assert_int_eq(parse(&o, "--rtc-base", "utc", NULL), 0);
	ck_assert_int_eq(o.rtc_base, VMWP_RTC_UTC);
	ck_assert_int_eq(parse(&o, "--rtc-base=localtime", NULL, NULL), 0);
	ck_assert_int_eq(o.rtc_base, VMWP_RTC_LOCALTIME);
	ck_assert_int_eq(parse(&o, "--rtc-base", "2001-01-01", NULL), 0);
	ck_assert_int_eq(o.rtc_base, VMWP_RTC_DATE);
	ck_assert_int_eq(o.rtc_date, 978307200);
	ck_assert_int_eq(vmwp_rtc_offset(&o, 1700000000), 978307200 - 1700000000LL);
	ck_assert_int_eq(parse(&o, "--rtc-base=2024-02-29T23:59:58", NULL, NULL), 0);
	ck_assert_int_eq(o.rtc_date, 1709251198);
	ck_assert_int_eq(vmwp_parse_rtc_base("1970-01-01T00:00:00", &b, &d), 0);
	ck_assert_int_eq(d, 0);
	ck_assert_int_eq(vmwp_parse_rtc_base("9999-12-31T23:59:59", &b, &d), 0);
	ck_assert_int_eq(d, 253402300799LL);
	ck_assert_int_eq(vmwp_parse_rtc_base("2000-02-29", &b, &d), 0);

	ck_assert_int_eq(vmwp_parse_rtc_base("UTC", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("1969-12-31", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("2001-1-01", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("2001-00-10", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("2001-02-29", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("1900-02-29", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("2001-04-31", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("2001-01-01T24:00:00", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("2001-01-01T12:60:00", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("2001-01-01T12:00:60", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("2001-01-01T12:00", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("2001-01-01 12:00:00", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("2001-01-01T12:00:00Z", &b, &d), -1);
	ck_assert_int_eq(vmwp_parse_rtc_base("+001-01-01", &b, &d), -1);
	ck_assert_int_eq(parse(&o, "--rtc-base", NULL, NULL), -1);
	ck_assert_int_eq(vmwp_parse_options(5, argv, &o, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "--rtc-base 2001-13-01"));
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

START_TEST(assign_pci)
{
	struct vmwp_options o;
	char a[16], err[256];

	ck_assert_int_eq(vmwp_parse_pci_address("0000:01:00.0", a), 0);
	ck_assert_str_eq(a, "0000:01:00.0");
	ck_assert_int_eq(vmwp_parse_pci_address("01:1F.7", a), 0);
	ck_assert_str_eq(a, "0000:01:1f.7");
	ck_assert_int_eq(vmwp_parse_pci_address("ABCD:ff:1f.7", a), 0);
	ck_assert_str_eq(a, "abcd:ff:1f.7");
	ck_assert_int_eq(vmwp_parse_pci_address("1:2:3.4", a), 0);
	ck_assert_str_eq(a, "0001:02:03.4");
	const char *bad[] = {"",
			     "0000:01:00",
			     "0000:01:20.0",
			     "0000:01:00.8",
			     "10000:01:00.0",
			     "0000:100:00.0",
			     "0000:01:00.0x",
			     "0x00:01:00.0",
			     "0000:01.00.0",
			     "0000:01:00:0",
			     "+000:01:00.0",
			     "0000:01:00.0.0",
			     "0000::00.0",
			     "00001:00.0",
			     ":01:00.0",
			     "0000:01:00."};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vmwp_parse_pci_address(bad[i], a) == -1, "'%s' accepted", bad[i]);

	ck_assert_int_eq(parse(&o, "--assign-pci", "0000:01:00.0", "--assign-pci=02:00.1"), 0);
	ck_assert_uint_eq(o.nassigned, 2);
	ck_assert_str_eq(o.assigned[0], "0000:01:00.0");
	ck_assert_str_eq(o.assigned[1], "0000:02:00.1");
	ck_assert_int_eq(parse(&o, "--assign-pci", "01:00.0", "--assign-pci=0000:01:00.0"), -1);

	char *argv[32] = {"vmwp", "--kernel", "k"};
	char addrs[9][16];
	int n = 3;

	for (int i = 0; i < 9; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "0000:%02x:00.0", i + 1);
		argv[n++] = "--assign-pci";
		argv[n++] = addrs[i];
	}
	ck_assert_int_eq(vmwp_parse_options(n - 2, argv, &o, err, sizeof(err)), 0);
	ck_assert_uint_eq(o.nassigned, 8);
	ck_assert_int_eq(vmwp_parse_options(n, argv, &o, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "at most 8"));
	argv[4] = "0000:01:00";
	ck_assert_int_eq(vmwp_parse_options(5, argv, &o, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a PCI address"));
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

TEST_MAIN("vmwp-options", sizes, options_ok, disk_specs, options_bad, rtc_base, assign_pci)

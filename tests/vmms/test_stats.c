/* Unit tests for stats.h: parsing vmwp's "stats" reply (a worker's line is
 * trusted no more than needed: unknown tokens, short or huge indexes and
 * missing fields are tolerated, never out of bounds) and the device lookup
 * by name. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "stats.h"

START_TEST(parse_full)
{
	struct stats_dev d;
	ck_assert_int_eq(stats_parse("ok blk0=1:512:2:1024:0 blk1=0:0:0:0:3 "
				     "net0=100:2:0:1:200:4:0:5",
				     &d),
			 0);
	ck_assert(d.valid);
	ck_assert_uint_eq(d.nblk, 2);
	ck_assert_uint_eq(d.nnet, 1);
	ck_assert_uint_eq(d.blk[0].v[1], 512);
	ck_assert_uint_eq(d.blk[0].v[3], 1024);
	ck_assert_uint_eq(d.blk[1].v[4], 3);
	ck_assert_uint_eq(d.net[0].v[0], 100);
	ck_assert_uint_eq(d.net[0].v[7], 5);
}
END_TEST

START_TEST(parse_odd)
{
	struct stats_dev d;
	ck_assert_int_eq(stats_parse("ok", &d), 0);
	ck_assert_uint_eq(d.nblk + d.nnet, 0);
	ck_assert_int_eq(stats_parse("ok future=1 blk99999=1:2 net8=1 blk2=7", &d), 0);
	ck_assert_uint_eq(d.nblk, 3); /* blk2 counts, the out-of-range ones do not */
	ck_assert_uint_eq(d.nnet, 0);
	ck_assert_uint_eq(d.blk[2].v[0], 7);
	ck_assert_uint_eq(d.blk[2].v[1], 0);
	ck_assert_int_eq(stats_parse("error: no", &d), -1);
	ck_assert(!d.valid);
	ck_assert_int_eq(stats_parse("okay", &d), -1);
}
END_TEST

START_TEST(lookup)
{
	static struct dom_def def;
	def.disks[0] = (struct dom_disk){.file = "/a.img", .target = "sda"};
	def.disks[1] = (struct dom_disk){.file = "/b.img", .target = "sdb"};
	def.ndisks = 2;
	def.nics[0] = (struct dom_nic){.tap = "tap0", .mac = "00:15:5d:00:00:01"};
	def.nics[1] = (struct dom_nic){.mac = "00:15:5d:00:00:02"};
	def.nnics = 2;
	ck_assert_int_eq(stats_disk_index(&def, "sdb"), 1);
	ck_assert_int_eq(stats_disk_index(&def, "/a.img"), 0);
	ck_assert_int_eq(stats_disk_index(&def, "sdc"), -1);
	ck_assert_int_eq(stats_nic_index(&def, "tap0"), 0);
	ck_assert_int_eq(stats_nic_index(&def, "00:15:5D:00:00:02"), 1);
	ck_assert_int_eq(stats_nic_index(&def, "vnet0"), -1);
	ck_assert_str_eq(stats_nic_name(&def.nics[1]), "00:15:5d:00:00:02");
}
END_TEST

TEST_MAIN("vmms_stats", parse_full, parse_odd, lookup)

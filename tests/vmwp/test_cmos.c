// SPDX-License-Identifier: MIT
/* CMOS RTC: host time plus an offset, guest writes to the time registers, hostile values. */
#include <check.h>
#include <stdlib.h>

#include "check_main.h"
#include "cmos.h"

static time_t fake_now;

static time_t now(void)
{
	return fake_now;
}

static uint8_t rd(struct cmos *c, uint8_t reg)
{
	cmos_write(c, 0x70, reg);
	return cmos_read(c, 0x71);
}

static void wr(struct cmos *c, uint8_t reg, uint8_t v)
{
	cmos_write(c, 0x70, reg);
	cmos_write(c, 0x71, v);
}

/* sec min hour wday mday mon year century, BCD as read */
static void expect(struct cmos *c, int sec, int min, int hour, int mday, int mon, int year,
		   int century)
{
	ck_assert_uint_eq(rd(c, 0x00), sec);
	ck_assert_uint_eq(rd(c, 0x02), min);
	ck_assert_uint_eq(rd(c, 0x04), hour);
	ck_assert_uint_eq(rd(c, 0x07), mday);
	ck_assert_uint_eq(rd(c, 0x08), mon);
	ck_assert_uint_eq(rd(c, 0x09), year);
	ck_assert_uint_eq(rd(c, 0x32), century);
}

static void init(struct cmos *c, int64_t offset)
{
	cmos_init(c, offset);
	c->now = now;
}

START_TEST(host_utc)
{
	struct cmos c;

	fake_now = 1700000000; /* 2023-11-14T22:13:20Z, a Tuesday */
	init(&c, 0);
	expect(&c, 0x20, 0x13, 0x22, 0x14, 0x11, 0x23, 0x20);
	ck_assert_uint_eq(rd(&c, 0x06), 3);
	ck_assert_uint_eq(rd(&c, 0x0b), 0x02);
	ck_assert_uint_eq(rd(&c, 0x0d), 0x80);
}
END_TEST

START_TEST(offset_runs_in_real_time)
{
	struct cmos c;

	fake_now = 1700000000;
	init(&c, 978307200 - 1700000000LL); /* --rtc-base 2001-01-01 */
	expect(&c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01, 0x20);
	ck_assert_uint_eq(rd(&c, 0x06), 2); /* Monday */
	fake_now += 3661;
	expect(&c, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x20);
	fake_now += 366 * 86400;
	expect(&c, 0x01, 0x01, 0x01, 0x02, 0x01, 0x02, 0x20);
}
END_TEST

START_TEST(writes_move_the_offset)
{
	struct cmos c;

	fake_now = 1700000000;
	init(&c, 0);
	/* One register at a time, without SET: each write takes effect at once. */
	wr(&c, 0x09, 0x05);
	expect(&c, 0x20, 0x13, 0x22, 0x14, 0x11, 0x05, 0x20);
	wr(&c, 0x04, 0x01);
	expect(&c, 0x20, 0x13, 0x01, 0x14, 0x11, 0x05, 0x20);
	fake_now += 10;
	expect(&c, 0x30, 0x13, 0x01, 0x14, 0x11, 0x05, 0x20);
	/* 2005-11-14T01:13:30Z */
	ck_assert_int_eq(c.offset, 1131930810LL - fake_now);
}
END_TEST

START_TEST(set_freezes_then_commits)
{
	struct cmos c;

	fake_now = 1700000000;
	init(&c, 978307200 - 1700000000LL);
	/* What Linux's mc146818_set_time does: SET, the fields, century, SET cleared. */
	uint8_t b = rd(&c, 0x0b);

	wr(&c, 0x0b, b | 0x80);
	ck_assert_uint_eq(rd(&c, 0x0b) & 0x80, 0x80);
	fake_now += 5; /* frozen: still reads 2001-01-01T00:00:00 */
	expect(&c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01, 0x20);
	wr(&c, 0x09, 0x24);
	wr(&c, 0x08, 0x02);
	wr(&c, 0x07, 0x29);
	wr(&c, 0x04, 0x23);
	wr(&c, 0x02, 0x59);
	wr(&c, 0x00, 0x58);
	wr(&c, 0x32, 0x20);
	expect(&c, 0x58, 0x59, 0x23, 0x29, 0x02, 0x24, 0x20);
	fake_now += 100; /* still frozen */
	expect(&c, 0x58, 0x59, 0x23, 0x29, 0x02, 0x24, 0x20);
	wr(&c, 0x0b, b);
	ck_assert_uint_eq(rd(&c, 0x0b), b);
	ck_assert_int_eq(c.offset, 1709251198LL - fake_now);
	fake_now += 3;
	expect(&c, 0x01, 0x00, 0x00, 0x01, 0x03, 0x24, 0x20);
}
END_TEST

START_TEST(hostile)
{
	struct cmos c;
	int64_t off;

	fake_now = 1700000000;
	init(&c, 0);
	/* Before 1970 and past 9999 are ignored; the RTC keeps its time. */
	wr(&c, 0x32, 0x00);
	ck_assert_int_eq(c.offset, 0);
	wr(&c, 0x32, 0xff);
	ck_assert_int_eq(c.offset, 0);
	wr(&c, 0x0b, 0x82);
	wr(&c, 0x32, 0x19);
	wr(&c, 0x09, 0x69);
	ck_assert_uint_eq(rd(&c, 0x09), 0x69);
	wr(&c, 0x0b, 0x02);
	ck_assert_int_eq(c.offset, 0);
	/* Non-BCD values fold into a valid time; every read stays BCD. */
	for (unsigned reg = 0; reg < 10; reg++) {
		wr(&c, (uint8_t)reg, 0xff);
		off = c.offset;
		for (unsigned r = 0; r < 10; r++) {
			uint8_t v = rd(&c, (uint8_t)r);

			ck_assert_uint_le(v & 0x0f, 9);
			ck_assert_uint_le(v >> 4, 9);
		}
		ck_assert_int_eq(c.offset, off);
	}
	/* Frozen garbage reads back as BCD too, and the index wraps at 7 bits. */
	wr(&c, 0x0b, 0xff);
	for (unsigned reg = 0; reg < 10; reg++)
		wr(&c, (uint8_t)reg, 0xff);
	wr(&c, 0x32, 0x99);
	for (unsigned r = 0; r < 10; r++) {
		uint8_t v = rd(&c, (uint8_t)r);

		ck_assert_uint_le(v & 0x0f, 9);
		ck_assert_uint_le(v >> 4, 9);
	}
	ck_assert_uint_eq(rd(&c, 0x0b), 0x8b);
	wr(&c, 0x0b, 0x00);
	ck_assert_uint_eq(rd(&c, 0x0b), 0x02);
	ck_assert_uint_eq(rd(&c, 0x80 | 0x0d), 0x80);
}
END_TEST

TEST_MAIN("vmwp-cmos", host_utc, offset_runs_in_real_time, writes_move_the_offset,
	  set_freezes_then_commits, hostile)

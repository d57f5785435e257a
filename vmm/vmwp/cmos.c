// SPDX-License-Identifier: MIT
/* CMOS/RTC registers. The index is masked to 7 bits (bit 7 is the NMI mask). */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* timegm */
#endif
#include <string.h>

#include "cmos.h"

#define REG_B_SET 0x80
/* The RTC holds 1970-01-01T00:00:00 to 9999-12-31T23:59:59 UTC; other writes are ignored. */
#define RTC_MAX 253402300799LL

static uint8_t bcd(int v)
{
	if (v < 0)
		v = 0;
	return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

/* Guest values are not checked for BCD: a bad digit just makes a large field that timegm folds. */
static int from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0x0f);
}

static bool time_reg(uint8_t i)
{
	return i <= 9 || i == 0x32;
}

static time_t host_now(const struct cmos *c)
{
	return c->now ? c->now() : time(NULL);
}

/* The RTC's current time; false if it cannot be represented (never for offsets set here). */
static bool rtc_tm(const struct cmos *c, struct tm *tm)
{
	time_t t = (time_t)(host_now(c) + c->offset);

	return gmtime_r(&t, tm) != NULL;
}

/* Make the RTC read tm from now on. */
static void rtc_set(struct cmos *c, struct tm *tm)
{
	time_t t;

	tm->tm_isdst = 0;
	t = timegm(tm);
	if (t < 0 || (int64_t)t > RTC_MAX)
		return;
	c->offset = (int64_t)t - (int64_t)host_now(c);
}

static void set_field(struct tm *tm, uint8_t i, uint8_t val)
{
	int v = from_bcd(val);

	switch (i) {
	case 0:
		tm->tm_sec = v;
		break;
	case 2:
		tm->tm_min = v;
		break;
	case 4:
		tm->tm_hour = v;
		break;
	case 7:
		tm->tm_mday = v;
		break;
	case 8:
		tm->tm_mon = v - 1;
		break;
	case 9:
		tm->tm_year = (tm->tm_year + 1900) / 100 * 100 + v - 1900;
		break;
	case 0x32:
		tm->tm_year = v * 100 + (tm->tm_year + 1900) % 100 - 1900;
		break;
	default:
		break; /* alarms and the day of the week (derived from the date) */
	}
}

void cmos_init(struct cmos *c, int64_t offset)
{
	memset(c, 0, sizeof(*c));
	c->offset = offset;
	c->ram[0x0a] = 0x26; /* 32.768 kHz, 1024 Hz; UIP clear */
	c->ram[0x0b] = 0x02; /* 24-hour, BCD */
	c->ram[0x0d] = 0x80; /* battery good */
}

uint8_t cmos_read(struct cmos *c, unsigned port)
{
	struct tm tm;
	uint8_t i = c->index;

	if (port == 0x70)
		return 0xff;
	if (time_reg(i)) {
		if (c->set)
			tm = c->set_tm;
		else if (!rtc_tm(c, &tm))
			return 0;
		switch (i) {
		case 0:
			return bcd(tm.tm_sec);
		case 2:
			return bcd(tm.tm_min);
		case 4:
			return bcd(tm.tm_hour);
		case 6:
			return bcd(tm.tm_wday + 1);
		case 7:
			return bcd(tm.tm_mday);
		case 8:
			return bcd(tm.tm_mon + 1);
		case 9:
			return bcd((tm.tm_year + 1900) % 100);
		case 0x32:
			return bcd((tm.tm_year + 1900) / 100);
		default:
			return 0; /* alarm registers */
		}
	}
	if (i == 0x0c) {
		uint8_t v = c->ram[0x0c];

		c->ram[0x0c] = 0; /* reading status C clears it */
		return v;
	}
	return c->ram[i];
}

void cmos_write(struct cmos *c, unsigned port, uint8_t val)
{
	struct tm tm;

	if (port == 0x70) {
		c->index = val & 0x7f;
		return;
	}
	switch (c->index) {
	case 0x0a:
		c->ram[0x0a] = val & 0x7f; /* UIP is read-only */
		return;
	case 0x0b:
		/* Keep 24-hour BCD; no interrupts. SET freezes the time registers. */
		if ((val & REG_B_SET) && !c->set) {
			if (!rtc_tm(c, &c->set_tm))
				return;
			c->set = true;
		} else if (!(val & REG_B_SET) && c->set) {
			c->set = false;
			rtc_set(c, &c->set_tm);
		}
		c->ram[0x0b] = (uint8_t)((val & 0x8b) | 0x02);
		return;
	case 0x0c:
	case 0x0d:
		return; /* read-only */
	}
	if (!time_reg(c->index)) {
		c->ram[c->index] = val;
	} else if (c->set) {
		set_field(&c->set_tm, c->index, val);
	} else if (rtc_tm(c, &tm)) {
		set_field(&tm, c->index, val);
		rtc_set(c, &tm);
	}
}

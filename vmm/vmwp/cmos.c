// SPDX-License-Identifier: MIT
/* CMOS/RTC registers. The index is masked to 7 bits (bit 7 is the NMI mask). */
#include <string.h>

#include "cmos.h"

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

void cmos_init(struct cmos *c)
{
	memset(c, 0, sizeof(*c));
	c->ram[0x0a] = 0x26; /* 32.768 kHz, 1024 Hz; UIP clear */
	c->ram[0x0b] = 0x02; /* 24-hour, BCD */
	c->ram[0x0d] = 0x80; /* battery good */
}

uint8_t cmos_read(struct cmos *c, unsigned port)
{
	time_t t;
	struct tm tm;
	uint8_t i = c->index;

	if (port == 0x70)
		return 0xff;
	if (i <= 9 || i == 0x32) {
		t = c->now ? c->now() : time(NULL);
		gmtime_r(&t, &tm);
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
			return bcd(tm.tm_year % 100);
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
	if (port == 0x70) {
		c->index = val & 0x7f;
		return;
	}
	switch (c->index) {
	case 0x0a:
		c->ram[0x0a] = val & 0x7f; /* UIP is read-only */
		return;
	case 0x0b:
		c->ram[0x0b] = (val & 0x7b) | 0x02; /* keep 24-hour; no SET freeze, no interrupts */
		c->ram[0x0b] &= ~0x70;
		return;
	case 0x0c:
	case 0x0d:
		return; /* read-only */
	}
	if (c->index > 9 && c->index != 0x32)
		c->ram[c->index] = val;
}

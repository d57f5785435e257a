/* SPDX-License-Identifier: MIT */
/*
 * CMOS RTC (ports 0x70/0x71): BCD, 24-hour mode, century register 0x32, no
 * update interrupts. The RTC reads host UTC time plus a whole-second offset
 * (the VM's --rtc-base). Guest writes to the time registers move the offset;
 * with SET (register B bit 7) the time registers are frozen and the written
 * time is taken when SET is cleared, as on an MC146818.
 */
#ifndef VMWP_CMOS_H
#define VMWP_CMOS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct cmos {
	uint8_t index;
	uint8_t ram[128];
	time_t (*now)(void); /* NULL: time() */
	int64_t offset;	     /* RTC time minus host UTC, seconds */
	bool set;	     /* register B SET: reads and writes go to set_tm */
	struct tm set_tm;
};

/* Clears the registers; the RTC reads now() + offset. */
void cmos_init(struct cmos *c, int64_t offset);
uint8_t cmos_read(struct cmos *c, unsigned port);
void cmos_write(struct cmos *c, unsigned port, uint8_t val);

#endif /* VMWP_CMOS_H */

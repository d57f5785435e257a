/* SPDX-License-Identifier: MIT */
/* CMOS RTC (ports 0x70/0x71): the host's UTC time in BCD, 24-hour mode, never updating. */
#ifndef VMWP_CMOS_H
#define VMWP_CMOS_H

#include <stdint.h>
#include <time.h>

struct cmos {
	uint8_t index;
	uint8_t ram[128];
	time_t (*now)(void); /* NULL: time() */
};

void cmos_init(struct cmos *c);
uint8_t cmos_read(struct cmos *c, unsigned port);
void cmos_write(struct cmos *c, unsigned port, uint8_t val);

#endif /* VMWP_CMOS_H */

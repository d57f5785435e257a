// SPDX-License-Identifier: MIT
/* The platform's reset decision: a triple fault is a reset only right after the guest asked for
 * one. */
#include <check.h>

#include "check_main.h"
#include "platform.h"

static void out(struct platform *pl, uint16_t port, uint32_t v)
{
	ck_assert_int_eq(platform_io(pl, port, true, 1, &v), 0);
}

START_TEST(cmos_shutdown_byte_counts_only_just_before_the_fault)
{
	struct platform pl;

	platform_init(&pl, NULL, 1, NULL, NULL, NULL, 0);
	ck_assert(!platform_reset_intended(&pl, platform_clock_ns())); /* a crash */
	/* Linux's BIOS reboot: shutdown byte 0, then off to the reset vector. */
	out(&pl, 0x70, 0x8f);
	out(&pl, 0x71, 0x00);
	ck_assert(platform_reset_intended(&pl, platform_clock_ns()));
	/* Linux writes it while it starts its APs (0x0A, then 0): a crash much later is a crash. */
	ck_assert(!platform_reset_intended(&pl, platform_clock_ns() + PLATFORM_RESET_WINDOW_NS +
						    1000000));
	/* Other CMOS registers do not count. */
	platform_destroy(&pl);
	platform_init(&pl, NULL, 1, NULL, NULL, NULL, 0);
	out(&pl, 0x70, 0x0b);
	out(&pl, 0x71, 0x02);
	ck_assert(!platform_reset_intended(&pl, platform_clock_ns()));
	/* The host's reboot request holds until the reset. */
	pl.reboot_requested = true;
	ck_assert(
	    platform_reset_intended(&pl, platform_clock_ns() + 100 * PLATFORM_RESET_WINDOW_NS));
	platform_destroy(&pl);
}
END_TEST

TEST_MAIN("vmwp-platform", cmos_shutdown_byte_counts_only_just_before_the_fault)

// SPDX-License-Identifier: MIT
/* The run-time MMIO ranges: claims, overlaps, dispatch, and removal under traffic. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "check_main.h"
#include "mmio.h"

struct dev {
	uint64_t last_gpa;
	unsigned calls;
};

static int handler(void *ctx, uint64_t gpa, bool write, uint8_t size, uint64_t *val)
{
	struct dev *d = ctx;

	d->last_gpa = gpa;
	d->calls++;
	if (!write)
		*val = size;
	return write && *val == 0xbad ? -EINVAL : 0;
}

START_TEST(claims)
{
	struct mmio_bus b;
	struct dev d1 = {0}, d2 = {0};
	uint64_t v = 0;
	int ret = 1;

	mmio_bus_init(&b);
	ck_assert_int_eq(mmio_bus_add(&b, 0x1000, 0, handler, &d1), -EINVAL);
	ck_assert_int_eq(mmio_bus_add(&b, ~0ULL - 10, 0x100, handler, &d1), -EINVAL);
	ck_assert_int_eq(mmio_bus_add(&b, 0x1000, 0x2000, handler, &d1), 0);
	ck_assert_int_eq(mmio_bus_add(&b, 0x2fff, 1, handler, &d2), -EBUSY);
	ck_assert_int_eq(mmio_bus_add(&b, 0x0, 0x1001, handler, &d2), -EBUSY);
	ck_assert_int_eq(mmio_bus_add(&b, 0x0, 0x1000, handler, &d2), 0);
	ck_assert_int_eq(mmio_bus_add(&b, 0x3000, 0x1000, handler, &d2), 0);

	ck_assert(mmio_bus_dispatch(&b, 0x2fff, false, 4, &v, &ret));
	ck_assert_uint_eq(d1.last_gpa, 0x2fff);
	ck_assert_uint_eq(v, 4);
	ck_assert_int_eq(ret, 0);
	v = 0xbad;
	ck_assert(mmio_bus_dispatch(&b, 0x3000, true, 4, &v, &ret));
	ck_assert_int_eq(ret, -EINVAL);
	ck_assert_uint_eq(d2.last_gpa, 0x3000);
	ck_assert(!mmio_bus_dispatch(&b, 0x4000, false, 4, &v, &ret));

	ck_assert_int_eq(mmio_bus_remove(&b, 0x1001), -ENOENT);
	ck_assert_int_eq(mmio_bus_remove(&b, 0x1000), 0);
	ck_assert(!mmio_bus_dispatch(&b, 0x1000, false, 4, &v, &ret));
	ck_assert_int_eq(mmio_bus_add(&b, 0x1800, 0x100, handler, &d1), 0);
	for (int i = 0;
	     mmio_bus_add(&b, 0x100000 + (uint64_t)i * 0x1000, 0x1000, handler, &d1) == 0; i++)
		ck_assert_int_lt(i, MMIO_MAX_RANGES);
	ck_assert_int_eq(mmio_bus_add(&b, 0x10000000, 0x1000, handler, &d1), -ENOSPC);
	mmio_bus_destroy(&b);
}
END_TEST

/* VP threads dispatching while the event loop adds and removes a range. */
static struct mmio_bus tb;
static atomic_int stop;

static int counting(void *ctx, uint64_t gpa, bool write, uint8_t size, uint64_t *val)
{
	atomic_int *alive = ctx;

	(void)gpa;
	(void)write;
	(void)size;
	/* The range is never used after its removal returned. */
	ck_assert_int_eq(atomic_load(alive), 1);
	*val = 1;
	return 0;
}

static void *vp(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		uint64_t v;
		int ret;

		mmio_bus_dispatch(&tb, 0x5000, false, 4, &v, &ret);
	}
	return NULL;
}

START_TEST(concurrent)
{
	pthread_t t[3];
	atomic_int alive;

	mmio_bus_init(&tb);
	atomic_store(&stop, 0);
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, vp, NULL);
	for (int i = 0; i < 2000; i++) {
		atomic_store(&alive, 1);
		ck_assert_int_eq(mmio_bus_add(&tb, 0x5000, 0x1000, counting, &alive), 0);
		ck_assert_int_eq(mmio_bus_remove(&tb, 0x5000), 0);
		atomic_store(&alive, 0);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	mmio_bus_destroy(&tb);
}
END_TEST

TEST_MAIN("vmwp-mmio", claims, concurrent)

// SPDX-License-Identifier: MIT
/* Interrupt allocations and routes of assigned devices. */
#include <check.h>
#include <errno.h>

#include "check_main.h"
#include "irqmap.h"

struct unmapped {
	unsigned n;
	unsigned dev[64];
	bool msix[64];
	uint32_t index[64];
};

static void on_unmap(void *ctx, unsigned dev, bool msix, uint32_t index)
{
	struct unmapped *u = ctx;

	u->dev[u->n] = dev;
	u->msix[u->n] = msix;
	u->index[u->n++] = index;
}

START_TEST(alloc_unique)
{
	struct irqmap *m;
	uint64_t addr;
	uint32_t data, seen[3000];
	static bool taken[IRQMAP_DATA_LIMIT];

	ck_assert_int_eq(irqmap_create(&m), 0);
	ck_assert_int_eq(irqmap_alloc(m, 0, 0x30, 0, 0, &addr, &data), -EINVAL);
	ck_assert_int_eq(irqmap_alloc(m, 0, 0x30, 33, 0, &addr, &data), -EINVAL);
	for (unsigned i = 0; i < 3000; i++) {
		ck_assert_int_eq(irqmap_alloc(m, i % 8, 0x30 + i % 200, 1, 0, &addr, &data), 0);
		ck_assert_uint_eq(addr, IRQMAP_ADDRESS);
		ck_assert_uint_ne(data, 0);
		ck_assert_uint_lt(data, IRQMAP_DATA_LIMIT);
		ck_assert(!taken[data]);
		taken[data] = true;
		seen[i] = data;
	}
	ck_assert_uint_eq(irqmap_allocations(m), 3000);
	/* Multi-message blocks are aligned to their power-of-two size. */
	for (uint32_t count = 1; count <= 32; count++) {
		uint32_t align = 1;

		while (align < count)
			align <<= 1;
		ck_assert_int_eq(irqmap_alloc(m, 1, 32, count, 1, &addr, &data), 0);
		ck_assert_uint_eq(data % align, 0);
	}
	/* Freed values come back, but not at once; the space runs out cleanly. */
	ck_assert_int_eq(irqmap_free(m, 0, IRQMAP_ADDRESS, seen[0], NULL, NULL), 0);
	ck_assert_int_eq(irqmap_free(m, 0, IRQMAP_ADDRESS, seen[0], NULL, NULL), -ENOENT);
	ck_assert_int_eq(irqmap_free(m, 1, IRQMAP_ADDRESS, seen[8], NULL, NULL), -ENOENT);
	ck_assert_int_eq(irqmap_alloc(m, 0, 0x40, 1, 0, &addr, &data), 0);
	ck_assert_uint_ne(data, seen[0]);
	int ret;
	unsigned n = 0;

	while ((ret = irqmap_alloc(m, 2, 0x40, 1, 0, &addr, &data)) == 0)
		n++;
	ck_assert_int_eq(ret, -ENOSPC);
	ck_assert_uint_gt(n, 60000);
	ck_assert_uint_lt(irqmap_allocations(m), IRQMAP_DATA_LIMIT);
	irqmap_destroy(m);
}
END_TEST

START_TEST(routes)
{
	struct irqmap *m;
	struct irqmap_action act;
	struct unmapped u = {0};
	uint64_t a0, a1;
	uint32_t d0, d1;

	ck_assert_int_eq(irqmap_create(&m), 0);
	ck_assert_int_eq(irqmap_alloc(m, 3, 0x41, 1, 2, &a0, &d0), 0);
	ck_assert_int_eq(irqmap_alloc(m, 3, 0x42, 1, 5, &a1, &d1), 0);

	/* An entry programmed while masked: mapped, held. */
	ck_assert_int_eq(irqmap_update(m, 3, true, 7, a0, d0, false, &act), 0);
	ck_assert_int_eq(act.op, IRQMAP_MAP);
	ck_assert_uint_eq(act.vector, 0x41);
	ck_assert_uint_eq(act.vp, 2);
	ck_assert(act.masked);
	ck_assert(!act.unmatched);
	ck_assert_int_eq(irqmap_update(m, 3, true, 7, a0, d0, true, &act), 0);
	ck_assert_int_eq(act.op, IRQMAP_MAP);
	ck_assert(!act.masked);
	ck_assert_uint_eq(irqmap_routes(m), 1);
	/* Retargeted to the other allocation: the same route, updated. */
	ck_assert_int_eq(irqmap_update(m, 3, true, 7, a1, d1, true, &act), 0);
	ck_assert_uint_eq(act.vector, 0x42);
	ck_assert_uint_eq(act.vp, 5);
	ck_assert_uint_eq(irqmap_routes(m), 1);
	/* Another device's allocation, a wrong address, garbage: no match. */
	ck_assert_int_eq(irqmap_update(m, 4, true, 7, a1, d1, true, &act), 0);
	ck_assert_int_eq(act.op, IRQMAP_NONE);
	ck_assert(act.unmatched);
	ck_assert_int_eq(irqmap_update(m, 3, true, 8, 0xfee01000, d1, false, &act), 0);
	ck_assert_int_eq(act.op, IRQMAP_NONE);
	ck_assert(!act.unmatched);
	ck_assert_int_eq(irqmap_update(m, 3, true, 7, a1, 0, true, &act), 0);
	ck_assert_int_eq(act.op, IRQMAP_UNMAP);
	ck_assert(act.unmatched);
	ck_assert_uint_eq(irqmap_routes(m), 0);

	/* delete_interrupt unmaps the routes that use the allocation. */
	ck_assert_int_eq(irqmap_update(m, 3, true, 1, a0, d0, true, &act), 0);
	ck_assert_int_eq(irqmap_update(m, 3, true, 2, a0, d0, true, &act), 0);
	ck_assert_int_eq(irqmap_update(m, 3, true, 3, a1, d1, true, &act), 0);
	ck_assert_int_eq(irqmap_free(m, 3, a0, d0, on_unmap, &u), 0);
	ck_assert_uint_eq(u.n, 2);
	ck_assert(u.msix[0] && u.msix[1]);
	ck_assert_uint_eq(u.index[0] + u.index[1], 3);
	ck_assert_uint_eq(irqmap_routes(m), 1);
	ck_assert_int_eq(irqmap_update(m, 3, true, 1, a0, d0, true, &act), 0);
	ck_assert_int_eq(act.op, IRQMAP_NONE);
	ck_assert(act.unmatched);

	/* Multi-message MSI: the index is the offset, whichever data form. */
	uint64_t a;
	uint32_t d;

	ck_assert_int_eq(irqmap_alloc(m, 3, 32, 4, 1, &a, &d), 0);
	ck_assert_uint_eq(d % 4, 0);
	ck_assert_int_eq(irqmap_update(m, 3, false, 0, a, d, true, &act), 0);
	ck_assert_uint_eq(act.vector, 32);
	ck_assert_int_eq(irqmap_update(m, 3, false, 2, a, d, true, &act), 0);
	ck_assert_uint_eq(act.vector, 34);
	ck_assert_int_eq(irqmap_update(m, 3, false, 3, a, d + 3, true, &act), 0);
	ck_assert_uint_eq(act.vector, 35);
	ck_assert_int_eq(irqmap_update(m, 3, false, 1, a, d + 3, true, &act), 0);
	ck_assert_int_eq(act.op, IRQMAP_NONE);
	ck_assert_int_eq(irqmap_update(m, 3, false, 4, a, d, true, &act), 0);
	ck_assert_int_eq(act.op, IRQMAP_NONE);
	ck_assert(act.unmatched);
	ck_assert_uint_eq(irqmap_routes(m), 4); /* MSI-X 3, MSI 0, 2 and 3 */

	/* The device goes: its routes are unmapped, its allocations forgotten. */
	u.n = 0;
	ck_assert_int_eq(irqmap_alloc(m, 5, 0x50, 1, 0, &a, &d), 0);
	ck_assert_int_eq(irqmap_update(m, 5, true, 0, a, d, true, &act), 0);
	irqmap_forget(m, 3, on_unmap, &u);
	ck_assert_uint_eq(u.n, 4);
	for (unsigned i = 0; i < u.n; i++)
		ck_assert_uint_eq(u.dev[i], 3);
	ck_assert_uint_eq(irqmap_routes(m), 1);
	ck_assert_uint_eq(irqmap_allocations(m), 1);
	irqmap_destroy(m);
}
END_TEST

TEST_MAIN("vmwp-irqmap", alloc_unique, routes)

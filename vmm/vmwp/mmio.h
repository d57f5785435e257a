/* SPDX-License-Identifier: MIT */
/*
 * MMIO ranges claimed at run time (the vPCI ranges of assigned devices), for
 * what platform_mmio does not emulate itself. Thread-safe: VP threads
 * dispatch while the event loop adds and removes ranges; a removal waits
 * for the handlers running in that range, so once mmio_bus_remove returns
 * its ctx is no longer used. A handler must not add or remove ranges.
 */
#ifndef VMWP_MMIO_H
#define VMWP_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* winhv_mmio_fn shaped; 0 or -errno (the access cannot be emulated). */
typedef int (*mmio_fn)(void *ctx, uint64_t gpa, bool write, uint8_t size, uint64_t *val);

#define MMIO_MAX_RANGES 16

struct mmio_range {
	uint64_t base, len;
	mmio_fn fn;
	void *ctx;
};

struct mmio_bus {
	pthread_rwlock_t lock;
	unsigned n;
	struct mmio_range r[MMIO_MAX_RANGES];
};

void mmio_bus_init(struct mmio_bus *b);
void mmio_bus_destroy(struct mmio_bus *b);

/* Claim [base, base + len). 0; -EINVAL (empty or wrapping), -EBUSY (overlaps a claimed range),
 * -ENOSPC. */
int mmio_bus_add(struct mmio_bus *b, uint64_t base, uint64_t len, mmio_fn fn, void *ctx);
/* Give back the range at base. 0 or -ENOENT. */
int mmio_bus_remove(struct mmio_bus *b, uint64_t base);

/* Run the handler of the range holding gpa: true (its status in *ret), or false when no range
 * does. */
bool mmio_bus_dispatch(struct mmio_bus *b, uint64_t gpa, bool write, uint8_t size, uint64_t *val,
		       int *ret);

#endif /* VMWP_MMIO_H */

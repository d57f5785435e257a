// SPDX-License-Identifier: MIT
/* The run-time MMIO ranges: a short unsorted table under a writer-preferring rwlock. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <string.h>

#include "mmio.h"

void mmio_bus_init(struct mmio_bus *b)
{
	pthread_rwlockattr_t attr;

	memset(b, 0, sizeof(*b));
	pthread_rwlockattr_init(&attr);
	/* VP threads read all the time: an add or remove must not starve. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&b->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
}

void mmio_bus_destroy(struct mmio_bus *b)
{
	pthread_rwlock_destroy(&b->lock);
}

int mmio_bus_add(struct mmio_bus *b, uint64_t base, uint64_t len, mmio_fn fn, void *ctx)
{
	int ret = 0;

	if (!len || !fn || base + len - 1 < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&b->lock);
	for (unsigned i = 0; i < b->n; i++)
		if (base <= b->r[i].base + b->r[i].len - 1 && b->r[i].base <= base + len - 1)
			ret = -EBUSY;
	if (!ret && b->n == MMIO_MAX_RANGES)
		ret = -ENOSPC;
	if (!ret)
		b->r[b->n++] = (struct mmio_range){.base = base, .len = len, .fn = fn, .ctx = ctx};
	pthread_rwlock_unlock(&b->lock);
	return ret;
}

int mmio_bus_remove(struct mmio_bus *b, uint64_t base)
{
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&b->lock);
	for (unsigned i = 0; i < b->n; i++) {
		if (b->r[i].base != base)
			continue;
		b->r[i] = b->r[--b->n];
		ret = 0;
		break;
	}
	pthread_rwlock_unlock(&b->lock);
	return ret;
}

bool mmio_bus_dispatch(struct mmio_bus *b, uint64_t gpa, bool write, uint8_t size, uint64_t *val,
		       int *ret)
{
	bool found = false;

	pthread_rwlock_rdlock(&b->lock);
	for (unsigned i = 0; i < b->n && !found; i++) {
		const struct mmio_range *r = &b->r[i];

		if (gpa - r->base < r->len) {
			*ret = r->fn(r->ctx, gpa, write, size, val);
			found = true;
		}
	}
	pthread_rwlock_unlock(&b->lock);
	return found;
}

// SPDX-License-Identifier: MIT
/*
 * Allocations in a bitmap of the 16-bit data space, handed out next-fit (a
 * value just freed is not handed out again at once, so a stale table entry
 * the guest has not rewritten yet does not match a new allocation); routes
 * in a small array.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "irqmap.h"

struct alloc {
	unsigned dev;
	uint32_t data, count, vector, vp;
};

struct route {
	unsigned dev;
	bool msix;
	uint32_t index;
	uint32_t data; /* the allocation's first value */
};

struct irqmap {
	uint8_t used[IRQMAP_DATA_LIMIT / 8];
	uint32_t next;
	struct alloc *allocs;
	unsigned nallocs, cap_allocs;
	struct route *routes;
	unsigned nroutes, cap_routes;
};

int irqmap_create(struct irqmap **out)
{
	struct irqmap *m = calloc(1, sizeof(*m));

	*out = m;
	if (!m)
		return -ENOMEM;
	m->next = 0x20;
	return 0;
}

void irqmap_destroy(struct irqmap *m)
{
	if (!m)
		return;
	free(m->allocs);
	free(m->routes);
	free(m);
}

static bool bit(const struct irqmap *m, uint32_t v)
{
	return m->used[v / 8] & (1u << (v % 8));
}

static void set_bits(struct irqmap *m, uint32_t v, uint32_t n, bool on)
{
	for (uint32_t i = v; i < v + n; i++) {
		if (on)
			m->used[i / 8] |= (uint8_t)(1u << (i % 8));
		else
			m->used[i / 8] &= (uint8_t) ~(1u << (i % 8));
	}
}

static bool block_free(const struct irqmap *m, uint32_t v, uint32_t n)
{
	for (uint32_t i = v; i < v + n; i++)
		if (bit(m, i))
			return false;
	return true;
}

/* Grow *arr (elements of size sz) to hold one more. */
static int reserve(void **arr, unsigned n, unsigned *cap, size_t sz)
{
	void *p;
	unsigned c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	p = realloc(*arr, (size_t)c * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

int irqmap_alloc(struct irqmap *m, unsigned dev, uint32_t vector, uint32_t count, uint32_t vp,
		 uint64_t *address, uint32_t *data)
{
	uint32_t align = 1, v, tries;

	if (count < 1 || count > 32)
		return -EINVAL;
	while (align < count)
		align <<= 1;
	if (reserve((void **)&m->allocs, m->nallocs, &m->cap_allocs, sizeof(*m->allocs)))
		return -ENOMEM;
	v = (m->next + align - 1) & ~(align - 1);
	for (tries = 0; tries <= IRQMAP_DATA_LIMIT / align; tries++, v += align) {
		if (v + align > IRQMAP_DATA_LIMIT)
			v = 0;
		if (v == 0)
			continue; /* 0: what a cleared table entry holds */
		if (block_free(m, v, align))
			break;
	}
	if (tries > IRQMAP_DATA_LIMIT / align)
		return -ENOSPC;
	set_bits(m, v, align, true);
	m->next = v + align;
	m->allocs[m->nallocs++] =
	    (struct alloc){.dev = dev, .data = v, .count = count, .vector = vector, .vp = vp};
	*address = IRQMAP_ADDRESS;
	*data = v;
	return 0;
}

static struct alloc *find_alloc(struct irqmap *m, unsigned dev, uint64_t address, uint32_t data)
{
	if (address != IRQMAP_ADDRESS)
		return NULL;
	for (unsigned i = 0; i < m->nallocs; i++) {
		struct alloc *a = &m->allocs[i];

		if (a->dev == dev && data - a->data < a->count)
			return a;
	}
	return NULL;
}

static struct route *find_route(struct irqmap *m, unsigned dev, bool msix, uint32_t index)
{
	for (unsigned i = 0; i < m->nroutes; i++)
		if (m->routes[i].dev == dev && m->routes[i].msix == msix &&
		    m->routes[i].index == index)
			return &m->routes[i];
	return NULL;
}

static void drop_route(struct irqmap *m, struct route *r)
{
	*r = m->routes[--m->nroutes];
}

int irqmap_free(struct irqmap *m, unsigned dev, uint64_t address, uint32_t data,
		irqmap_unmap_fn unmap, void *ctx)
{
	struct alloc *a = find_alloc(m, dev, address, data);
	uint32_t align = 1;

	if (!a || a->data != data)
		return -ENOENT;
	for (unsigned i = 0; i < m->nroutes;) {
		struct route *r = &m->routes[i];

		if (r->dev == dev && r->data == a->data) {
			if (unmap)
				unmap(ctx, dev, r->msix, r->index);
			drop_route(m, r);
		} else {
			i++;
		}
	}
	while (align < a->count)
		align <<= 1;
	set_bits(m, a->data, align, false);
	*a = m->allocs[--m->nallocs];
	return 0;
}

int irqmap_update(struct irqmap *m, unsigned dev, bool msix, uint32_t index, uint64_t address,
		  uint32_t data, bool enabled, struct irqmap_action *act)
{
	struct route *r = find_route(m, dev, msix, index);
	struct alloc *a = find_alloc(m, dev, address, data);
	uint32_t offset = 0;

	memset(act, 0, sizeof(*act));
	if (a) {
		offset = data - a->data;
		/* MSI: the capability holds the block's first value; the device
		 * sends that plus the vector's index. */
		if (!msix && offset != 0 && offset != index)
			a = NULL;
		else if (!msix)
			offset = index;
		if (a && offset >= a->count)
			a = NULL;
	}
	if (!a) {
		act->unmatched = enabled;
		if (r) {
			drop_route(m, r);
			act->op = IRQMAP_UNMAP;
		}
		return 0;
	}
	if (!r) {
		if (reserve((void **)&m->routes, m->nroutes, &m->cap_routes, sizeof(*m->routes)))
			return -ENOMEM;
		r = &m->routes[m->nroutes++];
		*r = (struct route){.dev = dev, .msix = msix, .index = index};
	}
	r->data = a->data;
	act->op = IRQMAP_MAP;
	act->vector = a->vector + offset;
	act->vp = a->vp;
	act->masked = !enabled;
	return 0;
}

void irqmap_forget(struct irqmap *m, unsigned dev, irqmap_unmap_fn unmap, void *ctx)
{
	for (unsigned i = 0; i < m->nroutes;) {
		if (m->routes[i].dev == dev) {
			if (unmap)
				unmap(ctx, dev, m->routes[i].msix, m->routes[i].index);
			drop_route(m, &m->routes[i]);
		} else {
			i++;
		}
	}
	for (unsigned i = 0; i < m->nallocs;) {
		struct alloc *a = &m->allocs[i];

		if (a->dev == dev) {
			uint32_t align = 1;

			while (align < a->count)
				align <<= 1;
			set_bits(m, a->data, align, false);
			*a = m->allocs[--m->nallocs];
		} else {
			i++;
		}
	}
}

unsigned irqmap_allocations(const struct irqmap *m)
{
	return m->nallocs;
}

unsigned irqmap_routes(const struct irqmap *m)
{
	return m->nroutes;
}

// SPDX-License-Identifier: MIT
/*
 * Host end of a VMBus ring buffer (ring.h), with the signalling rules a Linux
 * guest expects: interrupt the reader only on an empty-to-non-empty
 * transition it has not masked, and use pending_send_sz for flow control.
 */
#include <stddef.h>
#include <string.h>

#include "ring.h"

#define PAGE 4096u

/* The header is guest memory shared with the guest: atomic 32-bit accesses. */
static uint32_t *field(const struct vmbus_hring *r, size_t off)
{
	return (uint32_t *)((uint8_t *)r->hdr + off);
}

static uint32_t load(const struct vmbus_hring *r, size_t off)
{
	return __atomic_load_n(field(r, off), __ATOMIC_ACQUIRE);
}

static void store(const struct vmbus_hring *r, size_t off, uint32_t v)
{
	__atomic_store_n(field(r, off), v, __ATOMIC_RELEASE);
}

#define WRITE_INDEX offsetof(struct vmbus_ring_header, write_index)
#define READ_INDEX offsetof(struct vmbus_ring_header, read_index)
#define INTERRUPT_MASK offsetof(struct vmbus_ring_header, interrupt_mask)
#define PENDING_SEND_SZ offsetof(struct vmbus_ring_header, pending_send_sz)
#define FEATURE_BITS offsetof(struct vmbus_ring_header, feature_bits)

static bool index_ok(const struct vmbus_hring *r, uint32_t i)
{
	return i < r->size && !(i & 7);
}

static uint32_t free_bytes(const struct vmbus_hring *r, uint32_t w, uint32_t rd)
{
	return w >= rd ? r->size - (w - rd) : rd - w;
}

static void copy_from(const struct vmbus_hring *r, uint32_t off, void *dst, uint32_t len)
{
	uint8_t *d = dst;

	while (len) {
		uint32_t po = off % PAGE, n = PAGE - po;

		if (n > len)
			n = len;
		memcpy(d, r->pages[off / PAGE] + po, n);
		d += n;
		len -= n;
		off += n;
		if (off == r->size)
			off = 0;
	}
}

static uint32_t copy_to(const struct vmbus_hring *r, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *s = src;

	while (len) {
		uint32_t po = off % PAGE, n = PAGE - po;

		if (n > len)
			n = len;
		if (s)
			memcpy(r->pages[off / PAGE] + po, s, n);
		else
			memset(r->pages[off / PAGE] + po, 0, n);
		if (s)
			s += n;
		len -= n;
		off += n;
		if (off == r->size)
			off = 0;
	}
	return off;
}

int vmbus_hring_init(struct vmbus_hring *r, uint8_t **pages, uint32_t npages, bool inbound)
{
	memset(r, 0, sizeof(*r));
	if (npages < 2 || npages - 1 > UINT32_MAX / PAGE / 2)
		return VMBUS_RING_CORRUPT;
	r->hdr = (struct vmbus_ring_header *)pages[0];
	r->pages = pages + 1;
	r->npages = npages - 1;
	r->size = (npages - 1) * PAGE;
	r->priv = load(r, inbound ? READ_INDEX : WRITE_INDEX);
	if (!index_ok(r, r->priv))
		return VMBUS_RING_CORRUPT;
	return VMBUS_RING_OK;
}

void vmbus_hring_read_begin(struct vmbus_hring *r)
{
	store(r, INTERRUPT_MASK, 1);
	r->start = r->priv;
}

int vmbus_hring_read(struct vmbus_hring *r, void *buf, uint32_t max, uint32_t *len)
{
	struct vmbus_packet_descriptor d;
	uint32_t w = load(r, WRITE_INDEX), rd = r->priv, avail, plen, off;

	if (!index_ok(r, w))
		return VMBUS_RING_CORRUPT;
	if (w == rd)
		return VMBUS_RING_EMPTY;
	avail = w > rd ? w - rd : r->size - rd + w;
	if (avail < sizeof(d) + VMBUS_PKT_TRAILER)
		return VMBUS_RING_CORRUPT;
	copy_from(r, rd, &d, sizeof(d));
	plen = (uint32_t)d.len8 * 8;
	off = (uint32_t)d.offset8 * 8;
	if (plen < sizeof(d) || off < sizeof(d) || off > plen || plen + VMBUS_PKT_TRAILER > avail)
		return VMBUS_RING_CORRUPT;
	if (plen > max)
		return VMBUS_RING_TOO_LARGE;
	copy_from(r, rd, buf, plen);
	/* The guest may have rewritten the descriptor meanwhile: keep the checked one. */
	memcpy(buf, &d, sizeof(d));
	r->priv = (rd + plen + VMBUS_PKT_TRAILER) % r->size;
	*len = plen;
	return VMBUS_RING_OK;
}

bool vmbus_hring_read_end(struct vmbus_hring *r, bool *more)
{
	uint32_t w, pending, now_free, read;

	store(r, READ_INDEX, r->priv);
	store(r, INTERRUPT_MASK, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	w = load(r, WRITE_INDEX);
	*more = w != r->priv;
	if (!(load(r, FEATURE_BITS) & VMBUS_RING_FEAT_PENDING_SEND_SZ))
		return false;
	pending = load(r, PENDING_SEND_SZ);
	if (!pending || !index_ok(r, w))
		return false;
	/* Signal only on the "not enough room" to "enough room" transition. */
	now_free = free_bytes(r, w, r->priv);
	read = r->priv >= r->start ? r->priv - r->start : r->size - r->start + r->priv;
	if (now_free >= read && now_free - read > pending)
		return false; /* it had room before this drain: not blocked on us */
	return now_free > pending;
}

uint32_t vmbus_hring_write_space(const struct vmbus_hring *r)
{
	uint32_t rd = load(r, READ_INDEX), f;

	if (!index_ok(r, rd))
		return 0;
	f = free_bytes(r, r->priv, rd);
	return f > VMBUS_PKT_TRAILER + 1 ? f - VMBUS_PKT_TRAILER - 1 : 0;
}

/*
 * Ask the guest to signal once more than need bytes are free, and keep the
 * mark until vmbus_hring_writable() reports it. The caller looks at the
 * read index again afterwards: the guest may have made room before it could
 * see pending_send_sz.
 */
static void mark_blocked(struct vmbus_hring *r, uint32_t need)
{
	store(r, PENDING_SEND_SZ, need);
	r->blocked = true;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int vmbus_hring_write(struct vmbus_hring *r, const struct vmbus_packet_descriptor *desc,
		      const void *hdr, uint32_t hdr_len, const void *data, uint32_t len,
		      bool *signal)
{
	struct vmbus_packet_descriptor d = *desc;
	uint64_t trailer;
	uint32_t rd, w = r->priv, body, padded, total;

	*signal = false;
	body = (uint32_t)sizeof(d) + hdr_len;
	if (hdr_len & 7 || len > r->size || body > r->size)
		return VMBUS_RING_TOO_LARGE;
	padded = (body + len + 7) & ~7u;
	total = padded + VMBUS_PKT_TRAILER;
	if (total >= r->size || padded / 8 > UINT16_MAX)
		return VMBUS_RING_TOO_LARGE;
	rd = load(r, READ_INDEX);
	if (!index_ok(r, rd))
		return VMBUS_RING_CORRUPT;
	/* "Exactly full" reads as empty to the guest, so one byte stays free. */
	if (free_bytes(r, w, rd) <= total) {
		mark_blocked(r, total);
		rd = load(r, READ_INDEX);
		if (!index_ok(r, rd))
			return VMBUS_RING_CORRUPT;
		if (free_bytes(r, w, rd) <= total)
			return VMBUS_RING_FULL;
	}
	d.offset8 = (uint16_t)(body / 8);
	d.len8 = (uint16_t)(padded / 8);
	w = copy_to(r, w, &d, sizeof(d));
	if (hdr_len)
		w = copy_to(r, w, hdr, hdr_len);
	if (len)
		w = copy_to(r, w, data, len);
	if (padded > body + len)
		w = copy_to(r, w, NULL, padded - body - len);
	trailer = (uint64_t)r->priv << 32;
	w = copy_to(r, w, &trailer, sizeof(trailer));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	store(r, WRITE_INDEX, w);
	/*
	 * A blocked mark stays until vmbus_hring_writable() reports it: the
	 * writer that hit the full ring may be another queue of the same VSP
	 * than this one, and it still waits for its "writable".
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* Interrupt only if the reader was idle on an empty ring. */
	*signal = !load(r, INTERRUPT_MASK) && load(r, READ_INDEX) == r->priv;
	r->priv = w;
	return VMBUS_RING_OK;
}

bool vmbus_hring_writable(struct vmbus_hring *r)
{
	uint32_t rd;

	if (!r->blocked)
		return false;
	rd = load(r, READ_INDEX);
	if (!index_ok(r, rd) || free_bytes(r, r->priv, rd) <= load(r, PENDING_SEND_SZ))
		return false;
	store(r, PENDING_SEND_SZ, 0);
	r->blocked = false;
	return true;
}

bool vmbus_hring_want_space(struct vmbus_hring *r, uint32_t bytes)
{
	if (vmbus_hring_write_space(r) >= bytes)
		return true;
	mark_blocked(r, bytes + VMBUS_PKT_TRAILER + 1);
	return vmbus_hring_write_space(r) >= bytes;
}

// SPDX-License-Identifier: MIT
/* Guest end of a VMBus ring buffer (vsc/ring.h). Freestanding. */
#include <stddef.h>

#include <vsc/ring.h>

#include "util.h"

#define F(r, field) ((uint8_t *)(r)->hdr + offsetof(struct vmbus_ring_header, field))

static uint32_t free_bytes(const struct vsc_ring *r, uint32_t w, uint32_t rd)
{
	return w >= rd ? r->size - (w - rd) : rd - w;
}

void vsc_ring_attach(struct vsc_ring *r, void *mem, uint32_t bytes)
{
	r->hdr = mem;
	r->data = (uint8_t *)mem + VMBUS_RING_HEADER_SIZE;
	r->size = bytes - VMBUS_RING_HEADER_SIZE;
	r->priv_read = vsc_load32(F(r, read_index));
	r->start = r->priv_read;
}

void vsc_ring_init(struct vsc_ring *r, void *mem, uint32_t bytes)
{
	vsc_memset(mem, 0, VMBUS_RING_HEADER_SIZE);
	vsc_ring_attach(r, mem, bytes);
	vsc_store32(F(r, feature_bits), VMBUS_RING_FEAT_PENDING_SEND_SZ);
}

static uint32_t put(struct vsc_ring *r, uint32_t off, const void *src, uint32_t len)
{
	uint32_t first = r->size - off;

	if (first > len)
		first = len;
	if (src) {
		vsc_memcpy(r->data + off, src, first);
		vsc_memcpy(r->data, (const uint8_t *)src + first, len - first);
	} else {
		vsc_memset(r->data + off, 0, first);
		vsc_memset(r->data, 0, len - first);
	}
	off += len;
	return off >= r->size ? off - r->size : off;
}

static void get(const struct vsc_ring *r, uint32_t off, void *dst, uint32_t len)
{
	uint32_t first = r->size - off;

	if (first > len)
		first = len;
	vsc_memcpy(dst, r->data + off, first);
	vsc_memcpy((uint8_t *)dst + first, r->data, len - first);
}

int vsc_ring_write_raw(struct vsc_ring *r, uint16_t type, uint16_t flags, uint64_t trans_id,
		       const void *hdr, uint32_t hdr_len, const void *data, uint32_t len,
		       bool *signal)
{
	struct vmbus_packet_descriptor d = {.type = type, .flags = flags, .trans_id = trans_id};
	uint32_t w = vsc_load32(F(r, write_index)), rd = vsc_load32(F(r, read_index));
	uint32_t padded, old = w;
	uint64_t trailer = (uint64_t)w << 32;

	*signal = false;
	if (hdr_len % 8 || len > r->size || hdr_len > r->size || w >= r->size || rd >= r->size)
		return VSC_RING_BAD;
	padded = (uint32_t)(sizeof(d) + hdr_len + len + 7) & ~7u;
	if (padded / 8 > 0xffff || free_bytes(r, w, rd) <= padded + VMBUS_PKT_TRAILER)
		return padded / 8 > 0xffff ? VSC_RING_BAD : VSC_RING_FULL;
	d.offset8 = (uint16_t)((sizeof(d) + hdr_len) / 8);
	d.len8 = (uint16_t)(padded / 8);
	w = put(r, w, &d, sizeof(d));
	w = put(r, w, hdr, hdr_len);
	w = put(r, w, data, len);
	w = put(r, w, NULL, padded - (uint32_t)sizeof(d) - hdr_len - len);
	w = put(r, w, &trailer, sizeof(trailer));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vsc_store32(F(r, write_index), w);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vsc_load32(F(r, interrupt_mask)))
		return VSC_RING_OK;
	*signal = old == vsc_load32(F(r, read_index));
	return VSC_RING_OK;
}

int vsc_ring_write(struct vsc_ring *r, uint16_t type, uint16_t flags, uint64_t trans_id,
		   const void *data, uint32_t len, bool *signal)
{
	return vsc_ring_write_raw(r, type, flags, trans_id, NULL, 0, data, len, signal);
}

void vsc_ring_set_pending_send(struct vsc_ring *r, uint32_t bytes)
{
	vsc_store32(F(r, pending_send_sz), bytes);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int vsc_ring_read(struct vsc_ring *r, void *buf, uint32_t max, uint32_t *len)
{
	struct vmbus_packet_descriptor d;
	uint32_t w = vsc_load32(F(r, write_index)), rd = r->priv_read, avail, plen;

	if (w >= r->size || (w & 7))
		return VSC_RING_BAD;
	if (w == rd)
		return VSC_RING_EMPTY;
	avail = w > rd ? w - rd : r->size - rd + w;
	if (avail < sizeof(d) + VMBUS_PKT_TRAILER)
		return VSC_RING_BAD;
	get(r, rd, &d, sizeof(d));
	plen = (uint32_t)d.len8 * 8;
	if (plen < sizeof(d) || d.offset8 * 8u < sizeof(d) || d.offset8 * 8u > plen ||
	    plen + VMBUS_PKT_TRAILER > avail || plen > max)
		return VSC_RING_BAD;
	get(r, rd, buf, plen);
	vsc_memcpy(buf, &d, sizeof(d));
	rd += plen + VMBUS_PKT_TRAILER;
	r->priv_read = rd >= r->size ? rd - r->size : rd;
	*len = plen;
	return VSC_RING_OK;
}

bool vsc_ring_read_done(struct vsc_ring *r)
{
	uint32_t pending, w, now_free, read;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vsc_store32(F(r, read_index), r->priv_read);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	read =
	    r->priv_read >= r->start ? r->priv_read - r->start : r->size - r->start + r->priv_read;
	r->start = r->priv_read;
	pending = vsc_load32(F(r, pending_send_sz));
	if (!pending)
		return false;
	w = vsc_load32(F(r, write_index));
	if (w >= r->size)
		return false;
	now_free = free_bytes(r, w, r->priv_read);
	if (now_free >= read && now_free - read > pending)
		return false;
	return now_free > pending;
}

void vsc_ring_set_interrupt_mask(struct vsc_ring *r, bool masked)
{
	vsc_store32(F(r, interrupt_mask), masked);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

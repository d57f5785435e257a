/* SPDX-License-Identifier: MIT */
/*
 * The host end of one VMBus ring buffer: a header page and data pages that
 * live in guest memory, mapped page by page from a GPADL (so not contiguous
 * in the worker). The guest can change anything in them at any time, so the
 * host keeps its own copy of the index it owns, reads the guest's index once
 * per step and checks it, and copies packets out before parsing them.
 */
#ifndef VMBUS_RING_H
#define VMBUS_RING_H

#include <stdbool.h>
#include <stdint.h>

#include <linhv/vmbus_proto.h>

struct vmbus_hring {
	struct vmbus_ring_header *hdr;
	uint8_t **pages; /* data pages, 4 KiB each */
	uint32_t npages;
	uint32_t size;	/* data bytes: npages * 4096 */
	uint32_t priv;	/* the index the host owns: read (inbound) or write (outbound) */
	uint32_t start; /* inbound: read index when the current drain began */
	bool blocked;	/* outbound: a send failed for space; pending_send_sz is set */
};

enum vmbus_ring_status {
	VMBUS_RING_OK = 0,
	VMBUS_RING_EMPTY = 1,	   /* read: nothing there */
	VMBUS_RING_FULL = 2,	   /* write: no room now */
	VMBUS_RING_CORRUPT = -1,   /* guest index or descriptor invalid */
	VMBUS_RING_TOO_LARGE = -2, /* packet larger than allowed */
};

/* pages[0] is the header page, pages[1..n-1] the data. Checks the indices. */
int vmbus_hring_init(struct vmbus_hring *ring, uint8_t **pages, uint32_t npages, bool inbound);

/* ---- Inbound (guest writes, host reads) ---- */

/* Begin a drain: mask guest interrupts, remember where we start. */
void vmbus_hring_read_begin(struct vmbus_hring *ring);
/*
 * Copy the next packet into buf (up to max bytes) and validate it. On OK,
 * *len is the packet length (len8 * 8) and the descriptor in buf is the one
 * that was checked. Does not publish the read index.
 */
int vmbus_hring_read(struct vmbus_hring *ring, void *buf, uint32_t max, uint32_t *len);
/*
 * Publish the read index, unmask interrupts. Returns true when the guest must
 * be signalled: it is blocked on pending_send_sz and now has room. *more says
 * data arrived after the drain (the caller loops).
 */
bool vmbus_hring_read_end(struct vmbus_hring *ring, bool *more);

/* ---- Outbound (host writes, guest reads) ---- */

/* Free bytes a writer may use now (one byte always stays free). */
uint32_t vmbus_hring_write_space(const struct vmbus_hring *ring);
/*
 * Write descriptor+hdr+data+padding+trailer. On OK *signal says whether the
 * guest must be interrupted (ring was empty and the guest has not masked).
 * On FULL sets pending_send_sz so the guest signals when it makes room.
 */
int vmbus_hring_write(struct vmbus_hring *ring, const struct vmbus_packet_descriptor *desc,
		      const void *hdr, uint32_t hdr_len, const void *data, uint32_t len,
		      bool *signal);
/*
 * After the guest signalled: true (once, and the blocked mark is gone) when
 * a blocked writer may retry now.
 */
bool vmbus_hring_writable(struct vmbus_hring *ring);
/*
 * true when bytes can be written now; otherwise the ring is marked blocked
 * with pending_send_sz, so that the guest signals once it has made room
 * (a "writable" for a writer that did not try, knowing it would not fit).
 */
bool vmbus_hring_want_space(struct vmbus_hring *ring, uint32_t bytes);

#endif /* VMBUS_RING_H */

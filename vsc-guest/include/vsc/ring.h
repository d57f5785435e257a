/* SPDX-License-Identifier: MIT */
/*
 * Guest end of a VMBus ring buffer in contiguous guest memory, following the
 * same rules as Linux's ring_buffer.c: the writer leaves one byte free,
 * signals only on empty-to-non-empty when the reader has not masked, and the
 * reader signals a blocked writer on the pending_send_sz transition.
 */
#ifndef VSC_RING_H
#define VSC_RING_H

#include <stdbool.h>
#include <stdint.h>

#include <linhv/vmbus_proto.h>

struct vsc_ring {
	struct vmbus_ring_header *hdr;
	uint8_t *data;
	uint32_t size;
	uint32_t priv_read; /* reader: where the next packet starts */
	uint32_t start;	    /* reader: read index when the drain began */
};

enum { VSC_RING_OK = 0, VSC_RING_EMPTY = 1, VSC_RING_FULL = 2, VSC_RING_BAD = -1 };

/* mem: bytes (header page included); resets the indices and sets feature bits. */
void vsc_ring_init(struct vsc_ring *r, void *mem, uint32_t bytes);
/* Attach without resetting (the other side of the same ring, for tests). */
void vsc_ring_attach(struct vsc_ring *r, void *mem, uint32_t bytes);

/* Writer: one packet; *signal tells whether to HvSignalEvent. */
int vsc_ring_write(struct vsc_ring *r, uint16_t type, uint16_t flags, uint64_t trans_id,
		   const void *data, uint32_t len, bool *signal);
/* Writer: descriptor, hdr (hdr_len a multiple of 8, e.g. GPA-direct ranges), data. */
int vsc_ring_write_raw(struct vsc_ring *r, uint16_t type, uint16_t flags, uint64_t trans_id,
		       const void *hdr, uint32_t hdr_len, const void *data, uint32_t len,
		       bool *signal);
/* Writer: ask to be signalled once bytes are free (0 clears). */
void vsc_ring_set_pending_send(struct vsc_ring *r, uint32_t bytes);

/* Reader: copy the next packet (descriptor first) into buf. */
int vsc_ring_read(struct vsc_ring *r, void *buf, uint32_t max, uint32_t *len);
/* Reader: publish what was read; true when the writer must be signalled. */
bool vsc_ring_read_done(struct vsc_ring *r);
void vsc_ring_set_interrupt_mask(struct vsc_ring *r, bool masked);

#endif /* VSC_RING_H */

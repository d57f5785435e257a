// SPDX-License-Identifier: MIT
/*
 * Fuzz ring packet parsing on the host: the input is the guest-controlled
 * ring memory (header page and three data pages, scattered) plus the
 * packet size limit; the host reads packets, publishes its index, and then
 * writes replies into the other ring, whose read index the guest also
 * controls. Everything the ring code returns must stay inside the buffers.
 */
#include <stdlib.h>
#include <string.h>

#include "ring.h"

#define PAGE 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *pages[4], *opages[3];
	static uint8_t buf[4 * PAGE];
	struct vmbus_hring in, out;
	uint16_t max = 0;
	uint32_t len;
	bool more, sig;
	int n = 0;

	if (!pages[0]) {
		for (int i = 0; i < 4; i++)
			pages[i] = aligned_alloc(PAGE, PAGE);
		for (int i = 0; i < 3; i++)
			opages[i] = aligned_alloc(PAGE, PAGE);
	}
	if (size < 2)
		return 0;
	memcpy(&max, data, 2);
	data += 2, size -= 2;
	/* Pages in reverse order: the ring must not assume contiguity. */
	for (int i = 0; i < 4; i++) {
		size_t off = (size_t)i * PAGE, k = size > off ? size - off : 0;

		if (k > PAGE)
			k = PAGE;
		memset(pages[3 - i], 0, PAGE);
		memcpy(pages[3 - i], data + off, k);
	}
	{
		uint8_t *order[4] = {pages[3], pages[2], pages[1], pages[0]};

		if (vmbus_hring_init(&in, order, 4, true) == VMBUS_RING_OK) {
			vmbus_hring_read_begin(&in);
			while (n++ < 64) {
				int rc = vmbus_hring_read(&in, buf, max % sizeof(buf), &len);

				if (rc != VMBUS_RING_OK)
					break;
				if (len > max % sizeof(buf) || len < 16)
					abort(); /* the parser broke its own contract */
			}
			vmbus_hring_read_end(&in, &more);
		}
	}
	/* The outbound ring: header from the first bytes of the input. */
	memset(opages[0], 0, PAGE);
	memcpy(opages[0], data, size < 64 ? size : 64);
	if (vmbus_hring_init(&out, opages, 3, false) == VMBUS_RING_OK) {
		struct vmbus_packet_descriptor d = {.type = 6};

		for (int i = 0; i < 16; i++) {
			if (vmbus_hring_write(&out, &d, NULL, 0, buf,
					      (uint32_t)(max * (i + 1)) % 9000,
					      &sig) == VMBUS_RING_CORRUPT)
				break;
			vmbus_hring_writable(&out);
			vmbus_hring_write_space(&out);
		}
	}
	return 0;
}

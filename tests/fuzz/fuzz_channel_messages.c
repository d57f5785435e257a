// SPDX-License-Identifier: MIT
/*
 * Fuzz the VMBus control plane and what it leads to: the input is a program
 * of guest actions (post a channel message, write guest RAM, signal a
 * channel, let the host run, have a VSP send). Guest RAM is small so PFNs in
 * GPADLs often land in it, which lets the fuzzer reach open channels and
 * their rings as well as the refusal paths.
 *
 * The server frees a channel (a failed sub-channel the guest released, or
 * everything at the end); its released callback clears our pointer so the
 * program never sends on a freed channel.
 */
#include <linhv/winhv_loopback.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_env.h"

struct cursor {
	const uint8_t *p;
	size_t n;
};

static uint32_t take(struct cursor *c, void *out, uint32_t len)
{
	uint32_t k = len < c->n ? len : (uint32_t)c->n;

	memset(out, 0, len);
	memcpy(out, c->p, k);
	c->p += k;
	c->n -= k;
	return k;
}

static void released(struct vmbus_channel *chan, void *ctx)
{
	struct vmbus_channel **slot = ctx;

	if (*slot == chan)
		*slot = NULL;
}

static const struct vmbus_vsp_ops ops = {.packet = fuzz_echo_packet, .released = released};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vmbus_guid types[2] = {
	    VMBUS_GUID_INIT(0x1, 0x2, 0x3, 4, 5, 6, 7, 8, 9, 10, 11),
	    VMBUS_GUID_INIT(0x2, 0x2, 0x3, 4, 5, 6, 7, 8, 9, 10, 11)};
	struct fuzz_env e;
	struct vmbus_channel *chans[2];
	struct cursor c = {data, size};

	fuzz_env_create(&e);
	for (int i = 0; i < 2; i++) {
		struct vmbus_offer_params p = {.if_type = types[i],
					       .if_instance = types[i],
					       .max_packet_size = 512,
					       .ops = &ops,
					       .ctx = &chans[i]};

		if (vmbus_offer(e.server, &p, &chans[i]))
			abort();
	}
	while (c.n) {
		uint8_t op = 0, len = 0;

		take(&c, &op, 1);
		switch (op & 7) {
		case 0:
		case 1: { /* HvPostMessage on connection 1 or 4 */
			struct hv_input_post_message in = {.message_type = 1};

			take(&c, &len, 1);
			in.connection_id = op & 0x10 ? 1 : 4;
			in.payload_size = len % 241;
			take(&c, in.payload, in.payload_size);
			WinHvLoopbackGuestPostMessage(e.lb.partition, op & 0x20 ? 1 : 0, &in);
			break;
		}
		case 2: { /* write guest RAM */
			uint16_t off = 0;
			uint8_t buf[255];

			take(&c, &off, 2);
			take(&c, &len, 1);
			take(&c, buf, len);
			if ((uint32_t)off * 8 + len <= e.lb.ram_size)
				memcpy(e.lb.ram + (uint32_t)off * 8, buf, len);
			break;
		}
		case 3: { /* HvSignalEvent on a channel's connection id */
			uint8_t relid = 0;

			take(&c, &relid, 1);
			WinHvLoopbackGuestSignalEvent(e.lb.partition, 0,
						      VMBUS_CHANNEL_CONNECTION_ID(relid % 8), 0);
			break;
		}
		case 5: { /* the device sends to the guest */
			struct vmbus_channel *ch = chans[op & 8 ? 1 : 0];
			uint16_t n = 0;
			static uint8_t payload[8192];

			take(&c, &n, 2);
			if (ch && vmbus_channel_is_open(ch))
				vmbus_channel_send(ch, n, payload, n % sizeof(payload), op & 0x40);
			break;
		}
		default: /* let the host run */
			fuzz_env_pump(&e, 1 + op / 64);
			break;
		}
	}
	fuzz_env_pump(&e, 4);
	fuzz_env_destroy(&e);
	/* Destruction releases both channels. */
	if (chans[0] || chans[1])
		abort();
	return 0;
}

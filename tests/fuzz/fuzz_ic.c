// SPDX-License-Identifier: MIT
/*
 * Fuzz the integration services: the four host ICs run against the guest
 * IC clients until negotiated, then the input plays a hostile guest that
 * writes arbitrary answers into the IC channels, interleaved with honest
 * answers and host requests. The guest's own negotiation parser gets raw
 * input too (the same code answers a possibly hostile host in test guests).
 */
#include <stdlib.h>
#include <string.h>

#include <vsc/ic_client.h>

#include "fuzz_env.h"
#include "ic_heartbeat.h"
#include "ic_kvp.h"
#include "ic_shutdown.h"
#include "ic_timesync.h"

static const struct vsc_kvp_pair pool[] = {{"FullyQualifiedDomainName", "fuzz"},
					   {"NetworkAddressIPv4", "192.0.2.1"}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vmbus_guid inst = VMBUS_GUID_INIT(9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9);
	static const uint16_t services[4] = {IC_MSGTYPE_HEARTBEAT, IC_MSGTYPE_SHUTDOWN,
					     IC_MSGTYPE_TIMESYNC, IC_MSGTYPE_KVPEXCHANGE};
	static struct vsc_ic gic[4];
	struct fuzz_env e;
	struct ic_heartbeat *hb;
	struct ic_shutdown *sd;
	struct ic_timesync *ts;
	struct ic_kvp *kvp;
	size_t i = 0;

	fuzz_env_create(&e);
	{
		struct ic_heartbeat_params hp = {e.server, e.loop, inst, 5, NULL, NULL};
		struct ic_shutdown_params sp = {e.server, e.loop, inst, NULL, NULL};
		struct ic_timesync_params tp = {e.server, e.loop, inst, 5, NULL, NULL};
		struct ic_kvp_params kp = {e.server, e.loop, inst, 5, NULL, NULL};

		static const uint8_t mac[6] = {0x00, 0x15, 0x5d, 0, 0, 1};

		if (ic_heartbeat_create(&hp, &hb) || ic_shutdown_create(&sp, &sd) ||
		    ic_timesync_create(&tp, &ts) || ic_kvp_create(&kp, &kvp) ||
		    ic_kvp_watch_adapter(kvp, 0, mac)) /* GET_IP_INFO after each pass */
			abort();
	}
	if (vsc_vmbus_connect(&e.bus, VMBUS_VERSION_WIN10_V5_3) || vsc_vmbus_request_offers(&e.bus))
		abort();
	for (int k = 0; k < 4; k++) {
		memset(&gic[k], 0, sizeof(gic[k]));
		if (vsc_ic_open(&e.bus, &gic[k], services[k]))
			abort();
		gic[k].kvp_daemon = true;
		gic[k].auto_pool = pool;
		gic[k].auto_count = 2;
	}
	for (int r = 0; r < 8; r++) {
		fuzz_env_pump(&e, 1);
		for (int k = 0; k < 4; k++)
			vsc_ic_poll(&gic[k]);
	}
	while (i < size) {
		uint8_t op = data[i++];
		struct vsc_ic *g = &gic[op & 3];

		switch ((op >> 2) % 5) {
		case 0: { /* a forged answer: trans_id, then up to 255 bytes */
			uint8_t pkt[IC_KVP_PACKET_SIZE];
			uint32_t n = i < size ? data[i++] : 0;
			uint64_t tid = i < size ? data[i++] : 0;

			memset(pkt, 0, sizeof(pkt));
			if (n > size - i)
				n = (uint32_t)(size - i);
			memcpy(pkt, data + i, n);
			i += n;
			/* Short forgeries as they are; long ones padded like real answers. */
			vsc_channel_send(&g->ch, VMBUS_PKT_DATA_INBAND, 0, tid, pkt,
					 op & 0x80 ? (uint32_t)sizeof(pkt) : n);
			break;
		}
		case 1:
			vsc_ic_poll(g);
			break;
		case 2:
			fuzz_env_pump(&e, 1 + (op >> 5));
			break;
		case 3:
			switch (op >> 5) {
			case 0:
				ic_shutdown_request(sd, op & 7, 0, "fuzz");
				break;
			case 1:
				ic_kvp_set(kvp, op & 7, "key", "value");
				break;
			case 2:
				ic_kvp_refresh(kvp);
				break;
			case 3:
				ic_timesync_sync_now(ts);
				break;
			default:
				ic_kvp_delete(kvp, op & 3, "key");
				break;
			}
			break;
		case 4: { /* the guest's negotiation parser on raw bytes */
			uint8_t buf[512];
			uint32_t n = (uint32_t)(size - i < sizeof(buf) ? size - i : sizeof(buf));
			static const uint32_t v[] = {IC_VERSION(3, 0), IC_VERSION(1, 0)};
			uint32_t f, s;

			memcpy(buf, data + i, n);
			vsc_ic_negotiate(buf, n, v, 2, v, 2, &f, &s);
			i += n / 4;
			break;
		}
		}
	}
	fuzz_env_pump(&e, 2);
	ic_heartbeat_destroy(hb);
	ic_shutdown_destroy(sd);
	ic_timesync_destroy(ts);
	ic_kvp_destroy(kvp);
	fuzz_env_destroy(&e);
	return 0;
}

// SPDX-License-Identifier: MIT
/* Shared fuzz set-up (fuzz_env.h). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_env.h"

static void quiet(void *ctx, const char *line)
{
	(void)ctx, (void)line;
}

int fuzz_env_create(struct fuzz_env *e)
{
	struct vmbus_server_params sp = {0};

	memset(e, 0, sizeof(*e));
	if (evloop_create(&e->loop))
		abort();
	if (vsc_loopback_create(&e->lb, 2, FUZZ_RAM_PAGES * 4096, 0, e->loop))
		abort();
	e->lb.pump_timeout_ms = 0; /* never sleep while fuzzing */
	sp.partition = e->lb.partition;
	sp.loop = e->loop;
	sp.vp_count = 2;
	sp.log = getenv("FUZZ_VERBOSE") ? NULL : quiet;
	if (vmbus_server_create(&sp, &e->server))
		abort();
	if (vsc_vmbus_init(&e->bus, &e->lb.plat))
		abort();
	e->bus.wait_limit = 50;
	return 0;
}

void fuzz_env_destroy(struct fuzz_env *e)
{
	vmbus_server_destroy(e->server);
	vsc_loopback_destroy(&e->lb);
	evloop_destroy(e->loop);
}

void fuzz_env_pump(struct fuzz_env *e, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		evloop_run_once(e->loop, 0);
		vsc_vmbus_poll(&e->bus);
		e->bus.nr_pending = 0;
	}
}

void fuzz_echo_packet(struct vmbus_channel *c, const struct vmbus_packet *pkt, void *ctx)
{
	(void)ctx;
	if (pkt->type == VMBUS_PKT_DATA_INBAND)
		vmbus_channel_send(c, pkt->trans_id, pkt->data, pkt->len, false);
	else if (pkt->type == VMBUS_PKT_DATA_USING_GPA_DIRECT && pkt->len >= 8)
		vmbus_channel_send_completion(c, pkt->trans_id, pkt->data, 8);
}

// SPDX-License-Identifier: MIT
/* NVSP message checking for the network VSP (see nvsp.h). */
#include <errno.h>
#include <string.h>

#include "nvsp.h"

/* Bytes a message of this type must carry (type field included); 0: unknown. */
static uint32_t min_len(uint32_t type)
{
	switch (type) {
	case NVSP_MSG_INIT:
		return 4 + sizeof(struct nvsp_init);
	case NVSP_MSG1_SEND_NDIS_VERSION:
		return 4 + sizeof(struct nvsp_ndis_version);
	case NVSP_MSG2_SEND_NDIS_CONFIG:
		return 4 + 4; /* the MTU; the capabilities are optional */
	case NVSP_MSG1_SEND_RECV_BUF:
	case NVSP_MSG1_SEND_SEND_BUF:
		return 4 + sizeof(struct nvsp_send_buffer);
	case NVSP_MSG1_REVOKE_RECV_BUF:
	case NVSP_MSG1_REVOKE_SEND_BUF:
		return 4 + sizeof(struct nvsp_revoke);
	case NVSP_MSG1_SEND_RNDIS_PKT:
		return 4 + sizeof(struct nvsp_rndis_pkt);
	case NVSP_MSG5_SUBCHANNEL:
		return 4 + sizeof(struct nvsp_subchannel);
	}
	return 4;
}

int nvsp_parse(const uint8_t *data, uint32_t len, struct nvsp_msg *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	if (len < 4) {
		*why = "NVSP message too short";
		return -EINVAL;
	}
	memcpy(out, data, len < sizeof(*out) ? len : sizeof(*out));
	if (len < min_len(out->type)) {
		*why = "NVSP message shorter than its type needs";
		return -EINVAL;
	}
	return 0;
}

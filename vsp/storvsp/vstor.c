// SPDX-License-Identifier: MIT
/* vstor packet checks (see vstor.h). */
#include <errno.h>
#include <string.h>

#include "vstor.h"

bool vstor_version_supported(uint16_t v)
{
	return v == VSTOR_VERSION_WIN10 || v == VSTOR_VERSION_WIN8_1 || v == VSTOR_VERSION_WIN8 ||
	       v == VSTOR_VERSION_WIN7 || v == VSTOR_VERSION_WIN6;
}

uint16_t vstor_srb_size(uint16_t version)
{
	return version >= VSTOR_VERSION_WIN8 ? VSTOR_SRB_SIZE : VSTOR_SRB_SIZE_PRE_WIN8;
}

uint32_t vstor_packet_size(uint16_t version)
{
	return version >= VSTOR_VERSION_WIN8 ? VSTOR_PACKET_SIZE : VSTOR_PACKET_SIZE_PRE_WIN8;
}

static int bad(const char **why, const char *what)
{
	*why = what;
	return -EINVAL;
}

int vstor_parse(const uint8_t *data, uint32_t len, uint16_t version, struct vstor_packet *out,
		const char **why)
{
	uint32_t need = vstor_packet_size(version);

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (len < VSTOR_PACKET_SIZE_PRE_WIN8)
		return bad(why, "vstor packet too short");
	memcpy(out, data, len < sizeof(*out) ? len : sizeof(*out));
	switch (out->operation) {
	case VSTOR_OP_BEGIN_INITIALIZATION:
	case VSTOR_OP_END_INITIALIZATION:
	case VSTOR_OP_QUERY_PROTOCOL_VERSION:
	case VSTOR_OP_QUERY_PROPERTIES:
	case VSTOR_OP_ENUMERATE_BUS:
	case VSTOR_OP_FCHBA_DATA:
	case VSTOR_OP_CREATE_SUB_CHANNELS:
	case VSTOR_OP_RESET_LUN:
	case VSTOR_OP_RESET_ADAPTER:
	case VSTOR_OP_RESET_BUS:
		return 0;
	case VSTOR_OP_EXECUTE_SRB:
		break;
	default:
		return bad(why, "unknown vstor operation");
	}
	if (len < need)
		return bad(why, "EXECUTE_SRB packet shorter than the protocol's");
	if (version < VSTOR_VERSION_WIN8) /* no win8 extension: ignore those bytes */
		memset((uint8_t *)&out->srb + VSTOR_SRB_SIZE_PRE_WIN8, 0,
		       VSTOR_SRB_SIZE - VSTOR_SRB_SIZE_PRE_WIN8);
	if (out->srb.length != vstor_srb_size(version))
		return bad(why, "SRB length does not match the protocol");
	if (!out->srb.cdb_length || out->srb.cdb_length > VSTOR_CDB_MAX)
		return bad(why, "CDB length outside 1-16");
	if (out->srb.data_in > VSTOR_DATA_NONE)
		return bad(why, "unknown SRB data direction");
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: storvsp's guest-facing parsers without I/O: the vstor
 * packet check (vstor_parse) and, for EXECUTE_SRB, the SCSI decoder
 * (scsi_execute) on a LUN whose properties come from the input. Whatever the
 * guest sends, an answer stays inside its buffers and an I/O stays inside the
 * disk, and nothing writes to a read-only LUN.
 *
 * Input: [version selector][LUN flags][8-byte block count][vstor packet, up
 * to 64 bytes][data-out bytes].
 */
#include <stdlib.h>
#include <string.h>

#include "scsi.h"
#include "vstor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t resp[SCSI_RESPONSE_MAX];
static struct scsi_extent ext[SCSI_UNMAP_MAX_DESCRIPTORS];

static void check_range(const struct scsi_lun *l, uint64_t lba, uint32_t blocks)
{
	if (lba > l->blocks || blocks > l->blocks - lba)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t versions[] = {0,
					    VSTOR_VERSION_WIN6,
					    VSTOR_VERSION_WIN7,
					    VSTOR_VERSION_WIN8,
					    VSTOR_VERSION_WIN8_1,
					    VSTOR_VERSION_WIN10};
	struct scsi_lun lun = {.max_xfer_blocks = 2048, .serial = "fuzz", .phys_shift = 3};
	struct vstor_packet vp;
	struct scsi_cmd cmd = {0};
	struct scsi_result res;
	const char *why;
	uint32_t plen, rest;
	uint8_t *pkt, *dout = NULL;
	bool present;

	if (size < 10 + 52 || size > 10 + 64 + SCSI_DOUT_MAX)
		return 0;
	lun.readonly = data[1] & 1;
	lun.discard = data[1] & 2;
	lun.discard_zeroes = data[1] & 4;
	lun.write_cache = data[1] & 8;
	present = !(data[1] & 16);
	memcpy(&lun.blocks, data + 2, 8);
	plen = (uint32_t)(size - 10 < 64 ? size - 10 : 64);
	rest = (uint32_t)(size - 10 - plen);
	/* Exact-size copies so ASan sees any read past the end. */
	pkt = malloc(plen);
	memcpy(pkt, data + 10, plen);
	if (vstor_parse(pkt, plen, versions[data[0] % 6], &vp, &why)) {
		if (!why)
			abort();
		free(pkt);
		return 0;
	}
	free(pkt);
	if (vp.operation != VSTOR_OP_EXECUTE_SRB)
		return 0;
	if (!vp.srb.cdb_length || vp.srb.cdb_length > 16 || vp.srb.data_in > 2)
		abort();
	cmd.cdb = vp.srb.cdb;
	cmd.cdb_len = vp.srb.cdb_length;
	cmd.dir = vp.srb.data_in == VSTOR_DATA_IN    ? SCSI_DIR_IN
		  : vp.srb.data_in == VSTOR_DATA_OUT ? SCSI_DIR_OUT
						     : SCSI_DIR_NONE;
	cmd.xfer_len = vp.srb.data_transfer_length;
	cmd.nluns = vp.srb.lun;
	cmd.dout_len = scsi_dout_len(cmd.cdb, cmd.cdb_len);
	if (cmd.dout_len > rest)
		cmd.dout_len = rest;
	if (cmd.dout_len > cmd.xfer_len)
		cmd.dout_len = cmd.xfer_len;
	if (cmd.dout_len) {
		dout = malloc(cmd.dout_len);
		memcpy(dout, data + 10 + plen, cmd.dout_len);
		cmd.dout = dout;
	}
	scsi_execute(present ? &lun : NULL, &cmd, resp, ext, &res);
	free(dout);
	switch (res.kind) {
	case SCSI_DONE:
		if (res.data_len > SCSI_RESPONSE_MAX || res.data_len > cmd.xfer_len)
			abort();
		if (res.data_len && cmd.dir != SCSI_DIR_IN)
			abort();
		if (res.status != SCSI_STATUS_GOOD &&
		    (res.status != SCSI_STATUS_CHECK_CONDITION || res.sense_len != SCSI_SENSE_LEN))
			abort();
		break;
	case SCSI_NO_LUN:
		if (present)
			abort();
		break;
	case SCSI_READ:
	case SCSI_WRITE:
		if (!present || (res.kind == SCSI_WRITE && lun.readonly))
			abort();
		check_range(&lun, res.lba, res.blocks);
		if (!res.blocks || res.blocks > lun.max_xfer_blocks ||
		    (uint64_t)res.blocks * SCSI_BLOCK_SIZE > cmd.xfer_len)
			abort();
		break;
	case SCSI_UNMAP:
		if (!present || lun.readonly || !res.nextents ||
		    res.nextents > SCSI_UNMAP_MAX_DESCRIPTORS)
			abort();
		for (uint32_t i = 0; i < res.nextents; i++)
			check_range(&lun, ext[i].lba, ext[i].blocks);
		break;
	case SCSI_WRITE_ZEROES:
		if (!present || lun.readonly)
			abort();
		check_range(&lun, res.lba, res.blocks);
		break;
	case SCSI_FLUSH:
		if (!present)
			abort();
		break;
	}
	return 0;
}

// SPDX-License-Identifier: MIT
/* SCSI direct-access target emulation (see scsi.h); commands per SBC-3/SPC-4. */
#include <string.h>

#include "scsi.h"

#define VENDOR "Msft    " /* hv_storvsc enables WRITE SAME only for this vendor */
#define PRODUCT "Virtual Disk    "
#define REVISION "1.0 "

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

void scsi_set_sense(struct scsi_result *res, uint8_t key, uint16_t asc)
{
	res->kind = SCSI_DONE;
	res->status = SCSI_STATUS_CHECK_CONDITION;
	res->data_len = 0;
	memset(res->sense, 0, sizeof(res->sense));
	res->sense[0] = 0x70; /* current error, fixed format */
	res->sense[2] = key;
	res->sense[7] = SCSI_SENSE_LEN - 8;
	res->sense[12] = (uint8_t)(asc >> 8);
	res->sense[13] = (uint8_t)asc;
	res->sense_len = SCSI_SENSE_LEN;
}

static void illegal(struct scsi_result *res, uint16_t asc)
{
	scsi_set_sense(res, SCSI_SENSE_ILLEGAL_REQUEST, asc);
}

/* The CDB length its opcode's group implies (0: group without a fixed length). */
static uint8_t group_len(uint8_t op)
{
	static const uint8_t len[8] = {6, 10, 10, 0, 16, 12, 0, 0};
	return len[op >> 5];
}

/* Immediate data: cut to the allocation length and the initiator's buffer. */
static void answer(struct scsi_result *res, const struct scsi_cmd *cmd, uint32_t full,
		   uint32_t alloc)
{
	uint32_t n = full < alloc ? full : alloc;

	if (cmd->dir != SCSI_DIR_IN)
		n = 0;
	if (n > cmd->xfer_len)
		n = cmd->xfer_len;
	res->kind = SCSI_DONE;
	res->status = SCSI_STATUS_GOOD;
	res->data_len = n;
}

static bool range_ok(const struct scsi_lun *lun, uint64_t lba, uint64_t blocks)
{
	return lba <= lun->blocks && blocks <= lun->blocks - lba;
}

/* ---- INQUIRY ---- */

static uint32_t inquiry_std(const struct scsi_lun *lun, uint8_t *d)
{
	memset(d, 0, 36);
	d[0] = lun ? 0x00 : 0x7F; /* direct access, or "no LUN here" */
	d[2] = 0x06;		  /* SPC-4 */
	d[3] = 0x12;		  /* HISUP, response data format 2 */
	d[4] = 36 - 5;
	d[7] = 0x02; /* CMDQUE */
	memcpy(d + 8, VENDOR, 8);
	memcpy(d + 16, PRODUCT, 16);
	memcpy(d + 32, REVISION, 4);
	return 36;
}

static uint32_t vpd_designators(const struct scsi_lun *lun, uint8_t *d)
{
	size_t slen = strnlen(lun->serial, sizeof(lun->serial) - 1);
	uint8_t *p = d + 4;

	/* NAA 6 (IEEE registered extended), from the caller's 16-byte id. */
	p[0] = 0x01; /* binary */
	p[1] = 0x03; /* LU association, NAA */
	p[3] = 16;
	memcpy(p + 4, lun->id, 16);
	p[4] = (uint8_t)(0x60 | (lun->id[0] & 0x0F));
	p += 20;
	/* T10 vendor identification: vendor then serial. */
	p[0] = 0x02; /* ASCII */
	p[1] = 0x01; /* LU association, T10 vendor id */
	p[3] = (uint8_t)(8 + slen);
	memcpy(p + 4, VENDOR, 8);
	memcpy(p + 12, lun->serial, slen);
	p += 4 + 8 + slen;
	return (uint32_t)(p - d);
}

static void inquiry(const struct scsi_lun *lun, const struct scsi_cmd *cmd, uint8_t *d,
		    struct scsi_result *res)
{
	const uint8_t *c = cmd->cdb;
	uint32_t alloc = be16(c + 3);
	uint32_t n;

	if (c[1] & 0xFE) { /* CmdDt and reserved bits */
		illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	if (!(c[1] & 1)) {
		if (c[2]) {
			illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
			return;
		}
		answer(res, cmd, inquiry_std(lun, d), alloc);
		return;
	}
	if (!lun) {
		illegal(res, SCSI_ASC_LUN_NOT_SUPPORTED);
		return;
	}
	memset(d, 0, 64);
	d[1] = c[2];
	switch (c[2]) {
	case 0x00: {
		static const uint8_t pages[] = {0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2};

		memcpy(d + 4, pages, sizeof(pages));
		n = 4 + sizeof(pages);
		break;
	}
	case 0x80: {
		size_t slen = strnlen(lun->serial, sizeof(lun->serial) - 1);

		memcpy(d + 4, lun->serial, slen);
		n = 4 + (uint32_t)slen;
		break;
	}
	case 0x83:
		n = vpd_designators(lun, d);
		break;
	case 0xB0: /* block limits */
		n = 64;
		put16(d + 6, (uint16_t)(1u << lun->phys_shift)); /* optimal granularity */
		put32(d + 8, lun->max_xfer_blocks);
		put32(d + 12, lun->max_xfer_blocks);
		if (lun->discard) {
			put32(d + 20, SCSI_UNMAP_MAX_BLOCKS);
			put32(d + 24, SCSI_UNMAP_MAX_DESCRIPTORS);
			put32(d + 28, 8); /* unmap granularity: 4 KiB */
		}
		put64(d + 36, SCSI_UNMAP_MAX_BLOCKS); /* WRITE SAME (zeros) */
		break;
	case 0xB1: /* block device characteristics */
		n = 64;
		put16(d + 4, 1); /* non-rotating */
		break;
	case 0xB2: /* logical block provisioning */
		n = 8;
		if (lun->discard) {
			d[5] = 0x80 | 0x40 | 0x20; /* LBPU, LBPWS, LBPWS10 */
			if (lun->discard_zeroes)
				d[5] |= 0x04; /* LBPRZ */
			d[6] = 0x02;	      /* thin provisioned */
		}
		break;
	default:
		illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	put16(d + 2, (uint16_t)(n - 4));
	answer(res, cmd, n, alloc);
}

/* ---- MODE SENSE ---- */

static uint32_t mode_pages(const struct scsi_lun *lun, uint8_t page, uint8_t pc, uint8_t *p)
{
	uint32_t n = 0;

	if (page == 0x08 || page == 0x3F) {
		memset(p + n, 0, 20);
		p[n] = 0x08;
		p[n + 1] = 0x12;
		if (lun->write_cache && pc != 1) /* pc 1: changeable bits, none */
			p[n + 2] = 0x04;	 /* WCE */
		n += 20;
	}
	if (page == 0x0A || page == 0x3F) {
		memset(p + n, 0, 12);
		p[n] = 0x0A;
		p[n + 1] = 0x0A;
		if (pc != 1)
			p[n + 3] = 0x10; /* queue algorithm: unrestricted */
		n += 12;
	}
	return n;
}

static void mode_sense(const struct scsi_lun *lun, const struct scsi_cmd *cmd, uint8_t *d,
		       struct scsi_result *res)
{
	const uint8_t *c = cmd->cdb;
	bool ten = c[0] == 0x5A;
	bool dbd = c[1] & 0x08;
	bool llba = ten && (c[1] & 0x10);
	uint8_t pc = c[2] >> 6, page = c[2] & 0x3F, sub = c[3];
	uint32_t alloc = ten ? be16(c + 7) : c[4];
	uint32_t hdr = ten ? 8 : 4, bd = dbd ? 0 : (llba ? 16 : 8), n;
	uint8_t devspec = 0x10; /* DPOFUA */

	if (pc == 3) {
		illegal(res, SCSI_ASC_SAVING_NOT_SUPPORTED);
		return;
	}
	if ((page != 0x08 && page != 0x0A && page != 0x3F) ||
	    (sub && !(page == 0x3F && sub == 0xFF))) {
		illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	if (lun->readonly)
		devspec |= 0x80; /* WP */
	memset(d, 0, hdr + bd);
	if (bd == 8) {
		put32(d + hdr, lun->blocks > 0xFFFFFF ? 0xFFFFFF : (uint32_t)lun->blocks);
		put32(d + hdr + 4, SCSI_BLOCK_SIZE); /* density code 0, then the length */
	} else if (bd == 16) {
		put64(d + hdr, lun->blocks);
		put32(d + hdr + 12, SCSI_BLOCK_SIZE);
	}
	n = hdr + bd + mode_pages(lun, page, pc, d + hdr + bd);
	if (ten) {
		put16(d, (uint16_t)(n - 2));
		d[3] = devspec;
		d[4] = llba && bd ? 1 : 0;
		put16(d + 6, (uint16_t)bd);
	} else {
		d[0] = (uint8_t)(n - 1);
		d[2] = devspec;
		d[3] = (uint8_t)bd;
	}
	answer(res, cmd, n, alloc);
}

/* ---- READ CAPACITY, REPORT LUNS, REQUEST SENSE ---- */

static void read_capacity10(const struct scsi_lun *lun, const struct scsi_cmd *cmd, uint8_t *d,
			    struct scsi_result *res)
{
	uint64_t last = lun->blocks ? lun->blocks - 1 : 0;

	put32(d, last > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)last);
	put32(d + 4, SCSI_BLOCK_SIZE);
	answer(res, cmd, 8, 8);
}

static void read_capacity16(const struct scsi_lun *lun, const struct scsi_cmd *cmd, uint8_t *d,
			    struct scsi_result *res)
{
	memset(d, 0, 32);
	put64(d, lun->blocks ? lun->blocks - 1 : 0);
	put32(d + 8, SCSI_BLOCK_SIZE);
	d[13] = lun->phys_shift & 0x0F;
	if (lun->discard)
		d[14] = 0x80 | (lun->discard_zeroes ? 0x40 : 0); /* LBPME, LBPRZ */
	answer(res, cmd, 32, be32(cmd->cdb + 10));
}

static void report_luns(const struct scsi_cmd *cmd, uint8_t *d, struct scsi_result *res)
{
	uint32_t alloc = be32(cmd->cdb + 6);
	uint32_t n = cmd->nluns > SCSI_MAX_LUNS ? SCSI_MAX_LUNS : cmd->nluns;

	if (cmd->cdb[2] > 2 || alloc < 16) { /* select report 0-2; SPC-4 minimum */
		illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	memset(d, 0, 8 + 8 * n);
	put32(d, 8 * n);
	for (uint32_t i = 0; i < n; i++) {
		d[8 + 8 * i] = (uint8_t)(i >> 8); /* peripheral device addressing */
		d[9 + 8 * i] = (uint8_t)i;
	}
	answer(res, cmd, 8 + 8 * n, alloc);
}

static void request_sense(const struct scsi_cmd *cmd, uint8_t *d, struct scsi_result *res)
{
	/* Sense goes back with each command (autosense): nothing is pending. */
	memset(d, 0, SCSI_SENSE_LEN);
	d[0] = 0x70;
	d[7] = SCSI_SENSE_LEN - 8;
	answer(res, cmd, SCSI_SENSE_LEN, cmd->cdb[4]);
}

/* ---- I/O ---- */

/* LBA and block count of a READ/WRITE/VERIFY CDB, by its length (6, 10, 12 or 16 bytes). */
static void cdb_extent(const uint8_t *c, uint64_t *lba, uint32_t *blocks)
{
	switch (group_len(c[0])) {
	case 6:
		*lba = (uint32_t)(c[1] & 0x1F) << 16 | be16(c + 2);
		*blocks = c[4] ? c[4] : 256;
		break;
	case 10:
		*lba = be32(c + 2);
		*blocks = be16(c + 7);
		break;
	case 12:
		*lba = be32(c + 2);
		*blocks = be32(c + 6);
		break;
	default:
		*lba = be64(c + 2);
		*blocks = be32(c + 10);
		break;
	}
}
static void rw(const struct scsi_lun *lun, const struct scsi_cmd *cmd, bool write,
	       struct scsi_result *res)
{
	const uint8_t *c = cmd->cdb;
	uint64_t lba;
	uint32_t blocks;
	bool fua = false;

	cdb_extent(c, &lba, &blocks);
	if (group_len(c[0]) != 6) {
		if (c[1] & 0xE0) { /* RDPROTECT/WRPROTECT: no protection information */
			illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
			return;
		}
		fua = c[1] & 0x08;
	}
	if (write && lun->readonly) {
		scsi_set_sense(res, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
		return;
	}
	if (!range_ok(lun, lba, blocks)) {
		illegal(res, SCSI_ASC_LBA_OUT_OF_RANGE);
		return;
	}
	if (!blocks) {
		answer(res, cmd, 0, 0);
		return;
	}
	/* The initiator's buffer must go the right way and hold every block. */
	if (cmd->dir != (write ? SCSI_DIR_OUT : SCSI_DIR_IN) ||
	    (uint64_t)blocks * SCSI_BLOCK_SIZE > cmd->xfer_len || blocks > lun->max_xfer_blocks) {
		illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	res->kind = write ? SCSI_WRITE : SCSI_READ;
	res->lba = lba;
	res->blocks = blocks;
	res->fua = write && fua;
}

static void verify(const struct scsi_lun *lun, const struct scsi_cmd *cmd, struct scsi_result *res)
{
	const uint8_t *c = cmd->cdb;
	uint64_t lba;
	uint32_t blocks;

	if (c[1] & 0x06) { /* BYTCHK: a compare against data-out, not supported */
		illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	cdb_extent(c, &lba, &blocks);
	if (!range_ok(lun, lba, blocks)) {
		illegal(res, SCSI_ASC_LBA_OUT_OF_RANGE);
		return;
	}
	answer(res, cmd, 0, 0);
}

static void sync_cache(const struct scsi_lun *lun, const struct scsi_cmd *cmd,
		       struct scsi_result *res)
{
	const uint8_t *c = cmd->cdb;
	uint64_t lba = c[0] == 0x35 ? be32(c + 2) : be64(c + 2);
	uint32_t blocks = c[0] == 0x35 ? be16(c + 7) : be32(c + 10);

	if (!range_ok(lun, lba, blocks)) {
		illegal(res, SCSI_ASC_LBA_OUT_OF_RANGE);
		return;
	}
	res->kind = SCSI_FLUSH;
}

static void unmap(const struct scsi_lun *lun, const struct scsi_cmd *cmd, struct scsi_extent *ext,
		  struct scsi_result *res)
{
	uint32_t plen = be16(cmd->cdb + 7), bdlen, n, total = 0;
	const uint8_t *p = cmd->dout;

	if (!lun->discard) {
		illegal(res, SCSI_ASC_INVALID_OPCODE);
		return;
	}
	if (lun->readonly) {
		scsi_set_sense(res, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
		return;
	}
	if (plen == 0) {
		answer(res, cmd, 0, 0);
		return;
	}
	if (plen < 8 || plen > SCSI_DOUT_MAX || cmd->dir != SCSI_DIR_OUT || cmd->xfer_len < plen ||
	    cmd->dout_len < plen) {
		illegal(res, SCSI_ASC_PARAMETER_LIST_LENGTH);
		return;
	}
	bdlen = be16(p + 2);
	if (bdlen > plen - 8 || be16(p) + 2u > plen + 0u || be16(p) < 6 + bdlen) {
		illegal(res, SCSI_ASC_INVALID_FIELD_IN_PARAMETERS);
		return;
	}
	n = bdlen / 16; /* a trailing partial descriptor is ignored (SBC-3) */
	if (n > SCSI_UNMAP_MAX_DESCRIPTORS) {
		illegal(res, SCSI_ASC_INVALID_FIELD_IN_PARAMETERS);
		return;
	}
	res->nextents = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = p + 8 + 16 * i;
		uint64_t lba = be64(e);
		uint32_t blocks = be32(e + 8);

		if (!range_ok(lun, lba, blocks)) {
			illegal(res, SCSI_ASC_LBA_OUT_OF_RANGE);
			return;
		}
		total += blocks > SCSI_UNMAP_MAX_BLOCKS ? SCSI_UNMAP_MAX_BLOCKS + 1 : blocks;
		if (total > SCSI_UNMAP_MAX_BLOCKS) {
			illegal(res, SCSI_ASC_INVALID_FIELD_IN_PARAMETERS);
			return;
		}
		if (blocks) {
			ext[res->nextents].lba = lba;
			ext[res->nextents].blocks = blocks;
			res->nextents++;
		}
	}
	res->kind = res->nextents ? SCSI_UNMAP : SCSI_DONE;
	if (!res->nextents)
		answer(res, cmd, 0, 0);
}

static void write_same(const struct scsi_lun *lun, const struct scsi_cmd *cmd,
		       struct scsi_extent *ext, struct scsi_result *res)
{
	const uint8_t *c = cmd->cdb;
	bool sixteen = c[0] == 0x93;
	bool ndob = sixteen && (c[1] & 0x01);
	bool unmap_bit = c[1] & 0x08;
	uint64_t lba = sixteen ? be64(c + 2) : be32(c + 2);
	uint32_t blocks = sixteen ? be32(c + 10) : be16(c + 7);

	if ((c[1] & 0xE0) || (c[1] & 0x10)) { /* WRPROTECT, ANCHOR */
		illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	if (lun->readonly) {
		scsi_set_sense(res, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
		return;
	}
	/* 0 blocks means "to the end" in SBC; we advertise a limit, so refuse it. */
	if (!blocks || blocks > SCSI_UNMAP_MAX_BLOCKS) {
		illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	if (!range_ok(lun, lba, blocks)) {
		illegal(res, SCSI_ASC_LBA_OUT_OF_RANGE);
		return;
	}
	if (!ndob) {
		if (cmd->dir != SCSI_DIR_OUT || cmd->xfer_len < SCSI_BLOCK_SIZE ||
		    cmd->dout_len < SCSI_BLOCK_SIZE) {
			illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
			return;
		}
		/* Only a block of zeros (what Linux sends) is supported. */
		for (uint32_t i = 0; i < SCSI_BLOCK_SIZE; i++) {
			if (cmd->dout[i]) {
				illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
				return;
			}
		}
	}
	if (unmap_bit && lun->discard && lun->discard_zeroes) {
		res->kind = SCSI_UNMAP;
		ext[0].lba = lba;
		ext[0].blocks = blocks;
		res->nextents = 1;
		return;
	}
	res->kind = SCSI_WRITE_ZEROES;
	res->lba = lba;
	res->blocks = blocks;
	res->unmap = unmap_bit && lun->discard;
}

uint32_t scsi_dout_len(const uint8_t *cdb, uint8_t cdb_len)
{
	uint32_t n;

	if (!cdb_len || cdb_len < group_len(cdb[0]))
		return 0;
	switch (cdb[0]) {
	case 0x42: /* UNMAP */
		n = be16(cdb + 7);
		return n > SCSI_DOUT_MAX ? SCSI_DOUT_MAX : n;
	case 0x41: /* WRITE SAME (10) */
		return SCSI_BLOCK_SIZE;
	case 0x93: /* WRITE SAME (16) */
		return (cdb[1] & 0x01) ? 0 : SCSI_BLOCK_SIZE;
	default:
		return 0;
	}
}

void scsi_execute(const struct scsi_lun *lun, const struct scsi_cmd *cmd, uint8_t *data,
		  struct scsi_extent *ext, struct scsi_result *res)
{
	uint8_t cdb[SCSI_CDB_MAX] = {0};
	struct scsi_cmd c = *cmd;
	uint8_t op, glen;

	memset(res, 0, sizeof(*res));
	if (!c.cdb_len || c.cdb_len > SCSI_CDB_MAX) {
		illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	/* Work on a zero-padded copy so a short CDB never reads past its end. */
	memcpy(cdb, cmd->cdb, c.cdb_len);
	c.cdb = cdb;
	if (!c.dout)
		c.dout_len = 0;
	op = cdb[0];
	glen = group_len(op);
	if (!glen) {
		illegal(res, SCSI_ASC_INVALID_OPCODE);
		return;
	}
	if (c.cdb_len < glen) {
		illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	/* Commands answered for any LUN, present or not. */
	switch (op) {
	case 0x12:
		inquiry(lun, &c, data, res);
		return;
	case 0xA0:
		report_luns(&c, data, res);
		return;
	}
	if (!lun) {
		res->kind = SCSI_NO_LUN;
		return;
	}
	switch (op) {
	case 0x00: /* TEST UNIT READY */
	case 0x1B: /* START STOP UNIT */
	case 0x1E: /* PREVENT ALLOW MEDIUM REMOVAL */
		answer(res, &c, 0, 0);
		return;
	case 0x03:
		request_sense(&c, data, res);
		return;
	case 0x1A:
	case 0x5A:
		mode_sense(lun, &c, data, res);
		return;
	case 0x25:
		read_capacity10(lun, &c, data, res);
		return;
	case 0x9E:
		if ((cdb[1] & 0x1F) == 0x10)
			read_capacity16(lun, &c, data, res);
		else
			illegal(res, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	case 0x08:
	case 0x28:
	case 0xA8:
	case 0x88:
		rw(lun, &c, false, res);
		return;
	case 0x0A:
	case 0x2A:
	case 0xAA:
	case 0x8A:
		rw(lun, &c, true, res);
		return;
	case 0x2F:
	case 0xAF:
	case 0x8F:
		verify(lun, &c, res);
		return;
	case 0x35:
	case 0x91:
		sync_cache(lun, &c, res);
		return;
	case 0x42:
		unmap(lun, &c, ext, res);
		return;
	case 0x41:
	case 0x93:
		write_same(lun, &c, ext, res);
		return;
	default:
		illegal(res, SCSI_ASC_INVALID_OPCODE);
		return;
	}
}

// SPDX-License-Identifier: MIT
/* SCSI target emulation: every command and every sense case. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "scsi.h"

static uint8_t data[SCSI_RESPONSE_MAX];
static struct scsi_extent ext[SCSI_UNMAP_MAX_DESCRIPTORS];

static struct scsi_lun mklun(void)
{
	struct scsi_lun l = {
	    .blocks = 2048 * 1024, /* 1 GiB */
	    .phys_shift = 3,
	    .write_cache = true,
	    .discard = true,
	    .discard_zeroes = true,
	    .max_xfer_blocks = 2048,
	};
	strcpy(l.serial, "SER123");
	for (int i = 0; i < 16; i++)
		l.id[i] = (uint8_t)(0xA0 + i);
	return l;
}

static struct scsi_result run(const struct scsi_lun *lun, const uint8_t *cdb, uint8_t len,
			      enum scsi_dir dir, uint32_t xfer, const uint8_t *dout, uint32_t dlen)
{
	struct scsi_cmd c = {.cdb = cdb,
			     .cdb_len = len,
			     .dir = dir,
			     .xfer_len = xfer,
			     .dout = dout,
			     .dout_len = dlen,
			     .nluns = 3};
	struct scsi_result r;

	memset(data, 0xEE, sizeof(data));
	scsi_execute(lun, &c, data, ext, &r);
	return r;
}

static struct scsi_result in(const struct scsi_lun *lun, const uint8_t *cdb, uint8_t len,
			     uint32_t xfer)
{
	return run(lun, cdb, len, SCSI_DIR_IN, xfer, NULL, 0);
}

#define ck_sense(r, key, asc)                                                                      \
	do {                                                                                       \
		ck_assert_int_eq((r).kind, SCSI_DONE);                                             \
		ck_assert_int_eq((r).status, SCSI_STATUS_CHECK_CONDITION);                         \
		ck_assert_int_eq((r).sense_len, 18);                                               \
		ck_assert_int_eq((r).sense[0], 0x70);                                              \
		ck_assert_int_eq((r).sense[2], key);                                               \
		ck_assert_int_eq((r).sense[7], 10);                                                \
		ck_assert_int_eq((r).sense[12], (asc) >> 8);                                       \
		ck_assert_int_eq((r).sense[13], (asc)&0xFF);                                       \
		ck_assert_int_eq((r).data_len, 0);                                                 \
	} while (0)

#define ck_good(r)                                                                                 \
	do {                                                                                       \
		ck_assert_int_eq((r).kind, SCSI_DONE);                                             \
		ck_assert_int_eq((r).status, SCSI_STATUS_GOOD);                                    \
	} while (0)

START_TEST(inquiry_standard)
{
	struct scsi_lun l = mklun();
	uint8_t cdb[6] = {0x12, 0, 0, 0, 96, 0};
	struct scsi_result r = in(&l, cdb, 6, 96);

	ck_good(r);
	ck_assert_uint_eq(r.data_len, 36);
	ck_assert_int_eq(data[0], 0x00);
	ck_assert_int_eq(data[4], 31);
	ck_assert_int_eq(data[7] & 0x02, 0x02);
	ck_assert(!memcmp(data + 8, "Msft    ", 8));
	ck_assert(!memcmp(data + 16, "Virtual Disk    ", 16));
	/* allocation length and buffer cut the answer */
	cdb[4] = 5;
	r = in(&l, cdb, 6, 96);
	ck_assert_uint_eq(r.data_len, 5);
	cdb[4] = 96;
	r = in(&l, cdb, 6, 10);
	ck_assert_uint_eq(r.data_len, 10);
	/* absent LUN: peripheral qualifier 3, type 0x1f */
	r = in(NULL, cdb, 6, 96);
	ck_good(r);
	ck_assert_int_eq(data[0], 0x7F);
	/* page code without EVPD, CmdDt */
	cdb[2] = 0x80;
	r = in(&l, cdb, 6, 96);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb[2] = 0;
	cdb[1] = 0x02;
	r = in(&l, cdb, 6, 96);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
}
END_TEST

START_TEST(inquiry_vpd)
{
	struct scsi_lun l = mklun();
	uint8_t cdb[6] = {0x12, 1, 0x00, 1, 0, 0};
	struct scsi_result r = in(&l, cdb, 6, 256);

	ck_good(r);
	ck_assert_uint_eq(r.data_len, 10);
	ck_assert_int_eq(data[3], 6);
	ck_assert(!memcmp(data + 4, "\x00\x80\x83\xB0\xB1\xB2", 6));

	cdb[2] = 0x80;
	r = in(&l, cdb, 6, 256);
	ck_assert_uint_eq(r.data_len, 4 + 6);
	ck_assert_int_eq(data[1], 0x80);
	ck_assert(!memcmp(data + 4, "SER123", 6));

	cdb[2] = 0x83;
	r = in(&l, cdb, 6, 256);
	ck_good(r);
	ck_assert_int_eq(data[4], 0x01); /* binary */
	ck_assert_int_eq(data[5], 0x03); /* NAA */
	ck_assert_int_eq(data[7], 16);
	ck_assert_int_eq(data[8] >> 4, 6);
	ck_assert_int_eq(data[9], 0xA1);
	ck_assert_int_eq(data[24], 0x02); /* T10 vendor id, ASCII */
	ck_assert_int_eq(data[25], 0x01);
	ck_assert(!memcmp(data + 28, "Msft    SER123", 14));
	ck_assert_uint_eq(r.data_len, 28 + 14);
	ck_assert_uint_eq((data[2] << 8 | data[3]), r.data_len - 4);

	cdb[2] = 0xB0;
	r = in(&l, cdb, 6, 256);
	ck_assert_uint_eq(r.data_len, 64);
	ck_assert_int_eq(data[3], 0x3C);
	ck_assert_int_eq(data[10] << 8 | data[11], 2048); /* max transfer */
	ck_assert_int_eq(data[21], 0x40);		  /* max unmap LBAs 0x400000 */
	ck_assert_int_eq(data[26] << 8 | data[27], 256);  /* descriptors */
	ck_assert_int_eq(data[31], 8);			  /* granularity */
	l.discard = false;
	r = in(&l, cdb, 6, 256);
	ck_assert_int_eq(data[21] | data[26] | data[27], 0);

	cdb[2] = 0xB1;
	r = in(&l, cdb, 6, 256);
	ck_assert_int_eq(data[5], 1); /* non-rotating */

	cdb[2] = 0xB2;
	l.discard = true;
	r = in(&l, cdb, 6, 256);
	ck_assert_uint_eq(r.data_len, 8);
	ck_assert_int_eq(data[5] & 0xC4, 0xC4); /* LBPU LBPWS LBPRZ */
	l.discard = false;
	r = in(&l, cdb, 6, 256);
	ck_assert_int_eq(data[5], 0);

	cdb[2] = 0x89; /* not supported */
	r = in(&l, cdb, 6, 256);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb[2] = 0x00;
	r = in(NULL, cdb, 6, 256);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
}
END_TEST

START_TEST(report_luns)
{
	uint8_t cdb[12] = {0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
	struct scsi_result r = in(NULL, cdb, 12, 256);

	ck_good(r);
	ck_assert_uint_eq(r.data_len, 8 + 3 * 8);
	ck_assert_int_eq(data[3], 24);
	ck_assert_int_eq(data[8 + 8 + 1], 1);
	ck_assert_int_eq(data[8 + 16 + 1], 2);
	cdb[9] = 8; /* allocation length < 16 */
	cdb[8] = 0;
	r = in(NULL, cdb, 12, 256);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb[9] = 16;
	r = in(NULL, cdb, 12, 256);
	ck_assert_uint_eq(r.data_len, 16);
	cdb[2] = 0x10; /* select report */
	r = in(NULL, cdb, 12, 256);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
}
END_TEST

START_TEST(simple_commands)
{
	struct scsi_lun l = mklun();
	uint8_t tur[6] = {0};
	uint8_t ssu[6] = {0x1B, 0, 0, 0, 1, 0};
	uint8_t rs[6] = {0x03, 0, 0, 0, 252, 0};
	struct scsi_result r;

	r = run(&l, tur, 6, SCSI_DIR_NONE, 0, NULL, 0);
	ck_good(r);
	r = run(&l, ssu, 6, SCSI_DIR_NONE, 0, NULL, 0);
	ck_good(r);
	r = in(&l, rs, 6, 252);
	ck_good(r);
	ck_assert_uint_eq(r.data_len, 18);
	ck_assert_int_eq(data[0], 0x70);
	ck_assert_int_eq(data[2], 0);
	/* a LUN that does not exist */
	r = run(NULL, tur, 6, SCSI_DIR_NONE, 0, NULL, 0);
	ck_assert_int_eq(r.kind, SCSI_NO_LUN);
	/* unsupported opcodes: MODE SELECT, PERSISTENT RESERVE IN, vendor-specific group */
	uint8_t ms[6] = {0x15, 0x10, 0, 0, 0, 0};
	r = run(&l, ms, 6, SCSI_DIR_NONE, 0, NULL, 0);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	uint8_t pr[10] = {0x5E};
	r = run(&l, pr, 10, SCSI_DIR_NONE, 0, NULL, 0);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	uint8_t vs[6] = {0xC0};
	r = run(&l, vs, 6, SCSI_DIR_NONE, 0, NULL, 0);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	/* CDB shorter than its opcode's group; bad lengths */
	uint8_t rd[16] = {0x28};
	r = in(&l, rd, 6, 512);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	r = in(&l, rd, 0, 512);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	r = in(&l, rd, 17, 512);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
}
END_TEST

START_TEST(read_capacity)
{
	struct scsi_lun l = mklun();
	uint8_t c10[10] = {0x25};
	uint8_t c16[16] = {0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0};
	struct scsi_result r = in(&l, c10, 10, 8);

	ck_good(r);
	ck_assert_uint_eq(r.data_len, 8);
	ck_assert(!memcmp(data, "\x00\x1f\xff\xff\x00\x00\x02\x00", 8));
	r = in(&l, c16, 16, 32);
	ck_good(r);
	ck_assert_uint_eq(r.data_len, 32);
	ck_assert(!memcmp(data, "\0\0\0\0\x00\x1f\xff\xff\x00\x00\x02\x00", 12));
	ck_assert_int_eq(data[13], 3);
	ck_assert_int_eq(data[14], 0xC0); /* LBPME LBPRZ */
	/* > 2 TiB: READ CAPACITY(10) saturates */
	l.blocks = 1ULL << 33;
	r = in(&l, c10, 10, 8);
	ck_assert(!memcmp(data, "\xff\xff\xff\xff", 4));
	r = in(&l, c16, 16, 32);
	ck_assert(!memcmp(data, "\0\0\0\x01\xff\xff\xff\xff", 8));
	/* other service actions */
	c16[1] = 0x11;
	r = in(&l, c16, 16, 32);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
}
END_TEST

START_TEST(mode_sense)
{
	struct scsi_lun l = mklun();
	uint8_t m6[6] = {0x1A, 0x08, 0x08, 0, 255, 0};
	uint8_t m10[10] = {0x5A, 0x00, 0x3F, 0, 0, 0, 0, 0x01, 0x00, 0};
	struct scsi_result r = in(&l, m6, 6, 255);

	ck_good(r);
	ck_assert_uint_eq(r.data_len, 4 + 20);
	ck_assert_int_eq(data[0], 23);
	ck_assert_int_eq(data[2], 0x10); /* DPOFUA, not WP */
	ck_assert_int_eq(data[3], 0);	 /* DBD */
	ck_assert_int_eq(data[4], 0x08);
	ck_assert_int_eq(data[5], 0x12);
	ck_assert_int_eq(data[6] & 0x04, 0x04); /* WCE */
	l.write_cache = false;
	r = in(&l, m6, 6, 255);
	ck_assert_int_eq(data[6] & 0x04, 0);
	l.readonly = true;
	r = in(&l, m6, 6, 255);
	ck_assert_int_eq(data[2], 0x90); /* WP */
	l = mklun();
	/* all pages, with a block descriptor */
	r = in(&l, m10, 10, 256);
	ck_good(r);
	ck_assert_uint_eq(r.data_len, 8 + 8 + 20 + 12);
	ck_assert_int_eq(data[1], 8 + 8 + 20 + 12 - 2);
	ck_assert_int_eq(data[3], 0x10);
	ck_assert_int_eq(data[7], 8);
	ck_assert(!memcmp(data + 8, "\x00\x20\x00\x00\x00\x00\x02\x00", 8));
	ck_assert_int_eq(data[16], 0x08);
	ck_assert_int_eq(data[36], 0x0A);
	/* long LBA block descriptor */
	m10[1] = 0x10;
	r = in(&l, m10, 10, 256);
	ck_assert_int_eq(data[4], 1);
	ck_assert_int_eq(data[7], 16);
	/* changeable values: WCE not changeable */
	m6[2] = 0x48;
	r = in(&l, m6, 6, 255);
	ck_assert_int_eq(data[6] & 0x04, 0);
	/* saved values, an unsupported page, a subpage */
	m6[2] = 0xC8;
	r = in(&l, m6, 6, 255);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_SAVING_NOT_SUPPORTED);
	m6[2] = 0x1C;
	r = in(&l, m6, 6, 255);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	m6[2] = 0x08;
	m6[3] = 1;
	r = in(&l, m6, 6, 255);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	m6[2] = 0x3F;
	m6[3] = 0xFF;
	r = in(&l, m6, 6, 255);
	ck_good(r);
	/* allocation length cut */
	m6[4] = 4;
	r = in(&l, m6, 6, 255);
	ck_assert_uint_eq(r.data_len, 4);
}
END_TEST

START_TEST(read_write)
{
	struct scsi_lun l = mklun();
	uint8_t r6[6] = {0x08, 0x01, 0x02, 0x03, 0, 0};
	uint8_t r10[10] = {0x28, 0, 0, 0, 0, 0x10, 0, 0, 8, 0};
	uint8_t w10[10] = {0x2A, 0x08, 0, 0, 0x10, 0, 0, 0, 8, 0};
	uint8_t r12[12] = {0xA8, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0};
	uint8_t w16[16] = {0x8A, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0};
	struct scsi_result r;

	r = in(&l, r6, 6, 256 * 512);
	ck_assert_int_eq(r.kind, SCSI_READ);
	ck_assert_uint_eq(r.lba, 0x010203);
	ck_assert_uint_eq(r.blocks, 256); /* 0 means 256 */
	r = in(&l, r10, 10, 4096);
	ck_assert_int_eq(r.kind, SCSI_READ);
	ck_assert_uint_eq(r.lba, 0x10);
	ck_assert_uint_eq(r.blocks, 8);
	r = run(&l, w10, 10, SCSI_DIR_OUT, 4096, NULL, 0);
	ck_assert_int_eq(r.kind, SCSI_WRITE);
	ck_assert(r.fua);
	r = in(&l, r12, 12, 1024);
	ck_assert_int_eq(r.kind, SCSI_READ);
	ck_assert_uint_eq(r.lba, 1);
	ck_assert_uint_eq(r.blocks, 2);
	r = run(&l, w16, 16, SCSI_DIR_OUT, 512, NULL, 0);
	ck_assert_int_eq(r.kind, SCSI_WRITE);
	ck_assert_uint_eq(r.lba, 5);
	ck_assert(!r.fua);
	uint8_t w6[6] = {0x0A, 0, 0, 1, 1, 0};
	r = run(&l, w6, 6, SCSI_DIR_OUT, 512, NULL, 0);
	ck_assert_int_eq(r.kind, SCSI_WRITE);

	/* zero blocks: nothing to do */
	r10[8] = 0;
	r = in(&l, r10, 10, 0);
	ck_good(r);
	r10[8] = 8;
	/* the last block, and one past it */
	uint8_t last[16] = {0x88, 0, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff, 0, 0, 0, 1, 0, 0};
	r = in(&l, last, 16, 512);
	ck_assert_int_eq(r.kind, SCSI_READ);
	last[13] = 2;
	r = in(&l, last, 16, 1024);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* LBA + count overflowing 64 bits */
	uint8_t wrap[16] = {0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2};
	r = in(&l, wrap, 16, 1024);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* buffer too small, wrong direction, larger than the transfer limit */
	r = in(&l, r10, 10, 4095);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	r = run(&l, r10, 10, SCSI_DIR_OUT, 4096, NULL, 0);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	r = run(&l, w10, 10, SCSI_DIR_IN, 4096, NULL, 0);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	uint8_t big[10] = {0x28, 0, 0, 0, 0, 0, 0, 0x08, 0x01, 0};
	r = in(&l, big, 10, 2049 * 512);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* protection information requested */
	r10[1] = 0x20;
	r = in(&l, r10, 10, 4096);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* read-only */
	l.readonly = true;
	r = run(&l, w10, 10, SCSI_DIR_OUT, 4096, NULL, 0);
	ck_sense(r, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	r10[1] = 0;
	r = in(&l, r10, 10, 4096);
	ck_assert_int_eq(r.kind, SCSI_READ);
	/* absent LUN */
	r = in(NULL, r10, 10, 4096);
	ck_assert_int_eq(r.kind, SCSI_NO_LUN);
}
END_TEST

START_TEST(sync_verify)
{
	struct scsi_lun l = mklun();
	uint8_t s10[10] = {0x35};
	uint8_t s16[16] = {0x91, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1};
	uint8_t v10[10] = {0x2F, 0, 0, 0, 0, 1, 0, 0, 1, 0};
	struct scsi_result r;

	r = run(&l, s10, 10, SCSI_DIR_NONE, 0, NULL, 0);
	ck_assert_int_eq(r.kind, SCSI_FLUSH);
	r = run(&l, s16, 16, SCSI_DIR_NONE, 0, NULL, 0);
	ck_assert_int_eq(r.kind, SCSI_FLUSH);
	s16[2] = 0x10;
	r = run(&l, s16, 16, SCSI_DIR_NONE, 0, NULL, 0);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	r = run(&l, v10, 10, SCSI_DIR_NONE, 0, NULL, 0);
	ck_good(r);
	v10[1] = 0x02; /* BYTCHK */
	r = run(&l, v10, 10, SCSI_DIR_OUT, 512, NULL, 0);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	uint8_t v16[16] = {0x8F, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 1};
	r = run(&l, v16, 16, SCSI_DIR_NONE, 0, NULL, 0);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
}
END_TEST

static uint32_t unmap_list(uint8_t *p, uint32_t n, const uint64_t *lba, const uint32_t *cnt)
{
	uint32_t len = 8 + 16 * n;

	memset(p, 0, len);
	p[0] = (uint8_t)((len - 2) >> 8);
	p[1] = (uint8_t)(len - 2);
	p[2] = (uint8_t)((16 * n) >> 8);
	p[3] = (uint8_t)(16 * n);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = p + 8 + 16 * i;
		for (int b = 0; b < 8; b++)
			e[b] = (uint8_t)(lba[i] >> (56 - 8 * b));
		e[8] = (uint8_t)(cnt[i] >> 24);
		e[9] = (uint8_t)(cnt[i] >> 16);
		e[10] = (uint8_t)(cnt[i] >> 8);
		e[11] = (uint8_t)cnt[i];
	}
	return len;
}

START_TEST(unmap)
{
	struct scsi_lun l = mklun();
	uint8_t cdb[10] = {0x42};
	uint8_t p[SCSI_DOUT_MAX];
	uint64_t lba[3] = {0, 100, 2048 * 1024 - 8};
	uint32_t cnt[3] = {8, 0, 8};
	uint32_t len = unmap_list(p, 3, lba, cnt);
	struct scsi_result r;

	cdb[7] = (uint8_t)(len >> 8);
	cdb[8] = (uint8_t)len;
	ck_assert_uint_eq(scsi_dout_len(cdb, 10), len);
	r = run(&l, cdb, 10, SCSI_DIR_OUT, len, p, len);
	ck_assert_int_eq(r.kind, SCSI_UNMAP);
	ck_assert_uint_eq(r.nextents, 2); /* the empty one is dropped */
	ck_assert_uint_eq(ext[1].lba, 2048 * 1024 - 8);
	ck_assert_uint_eq(ext[1].blocks, 8);
	/* parameter list length 0: nothing */
	cdb[7] = cdb[8] = 0;
	r = run(&l, cdb, 10, SCSI_DIR_NONE, 0, NULL, 0);
	ck_good(r);
	/* list length < 8, more than the buffer, more than was copied */
	cdb[8] = 4;
	r = run(&l, cdb, 10, SCSI_DIR_OUT, 4, p, 4);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
	cdb[7] = (uint8_t)(len >> 8);
	cdb[8] = (uint8_t)len;
	r = run(&l, cdb, 10, SCSI_DIR_OUT, len - 1, p, len - 1);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
	r = run(&l, cdb, 10, SCSI_DIR_OUT, len, p, 8);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
	/* block descriptor length beyond the list */
	p[3] = 0x40;
	r = run(&l, cdb, 10, SCSI_DIR_OUT, len, p, len);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAMETERS);
	/* an extent beyond the end */
	lba[2] = 2048 * 1024 - 7;
	len = unmap_list(p, 3, lba, cnt);
	r = run(&l, cdb, 10, SCSI_DIR_OUT, len, p, len);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* too many blocks in total */
	l.blocks = 1ULL << 40;
	uint64_t l2[2] = {0, 1 << 22};
	uint32_t c2[2] = {1 << 22, 1};
	len = unmap_list(p, 2, l2, c2);
	cdb[7] = (uint8_t)(len >> 8);
	cdb[8] = (uint8_t)len;
	r = run(&l, cdb, 10, SCSI_DIR_OUT, len, p, len);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAMETERS);
	/* one huge extent must not wrap the running total */
	uint32_t c3[2] = {0xFFFFFFFF, 1};
	len = unmap_list(p, 2, l2, c3);
	l.blocks = 1ULL << 40;
	r = run(&l, cdb, 10, SCSI_DIR_OUT, len, p, len);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAMETERS);
	/* more descriptors than advertised */
	static uint64_t many_l[257];
	static uint32_t many_c[257];
	uint8_t bigp[8 + 16 * 257];
	len = unmap_list(bigp, 257, many_l, many_c);
	cdb[7] = (uint8_t)(len >> 8);
	cdb[8] = (uint8_t)len;
	ck_assert_uint_eq(scsi_dout_len(cdb, 10), SCSI_DOUT_MAX);
	r = run(&l, cdb, 10, SCSI_DIR_OUT, len, bigp, len);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
	/* read-only, no discard */
	l = mklun();
	len = unmap_list(p, 1, lba, cnt);
	cdb[7] = 0;
	cdb[8] = (uint8_t)len;
	l.readonly = true;
	r = run(&l, cdb, 10, SCSI_DIR_OUT, len, p, len);
	ck_sense(r, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	l.readonly = false;
	l.discard = false;
	r = run(&l, cdb, 10, SCSI_DIR_OUT, len, p, len);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
}
END_TEST

START_TEST(write_same)
{
	struct scsi_lun l = mklun();
	uint8_t ws16[16] = {0x93, 0x08, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x01, 0, 0, 0};
	uint8_t ws10[10] = {0x41, 0, 0, 0, 0, 0x20, 0, 0, 8, 0};
	uint8_t zero[512] = {0}, one[512] = {1};
	struct scsi_result r;

	ck_assert_uint_eq(scsi_dout_len(ws16, 16), 512);
	r = run(&l, ws16, 16, SCSI_DIR_OUT, 512, zero, 512);
	ck_assert_int_eq(r.kind, SCSI_UNMAP);
	ck_assert_uint_eq(r.nextents, 1);
	ck_assert_uint_eq(ext[0].lba, 0x1000);
	ck_assert_uint_eq(ext[0].blocks, 256);
	/* without UNMAP: write zeros */
	r = run(&l, ws10, 10, SCSI_DIR_OUT, 512, zero, 512);
	ck_assert_int_eq(r.kind, SCSI_WRITE_ZEROES);
	ck_assert_uint_eq(r.lba, 0x20);
	ck_assert_uint_eq(r.blocks, 8);
	ck_assert(!r.unmap);
	/* UNMAP where discarded blocks do not read as zeros */
	l.discard_zeroes = false;
	r = run(&l, ws16, 16, SCSI_DIR_OUT, 512, zero, 512);
	ck_assert_int_eq(r.kind, SCSI_WRITE_ZEROES);
	ck_assert(r.unmap);
	l = mklun();
	/* NDOB: no data-out block */
	ws16[1] = 0x09;
	ck_assert_uint_eq(scsi_dout_len(ws16, 16), 0);
	r = run(&l, ws16, 16, SCSI_DIR_NONE, 0, NULL, 0);
	ck_assert_int_eq(r.kind, SCSI_UNMAP);
	ws16[1] = 0x08;
	/* a non-zero pattern, a missing block, 0 blocks, out of range, read-only */
	r = run(&l, ws16, 16, SCSI_DIR_OUT, 512, one, 512);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	r = run(&l, ws16, 16, SCSI_DIR_OUT, 512, zero, 100);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	ws10[8] = 0;
	r = run(&l, ws10, 10, SCSI_DIR_OUT, 512, zero, 512);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	ws16[2] = 0xFF;
	r = run(&l, ws16, 16, SCSI_DIR_OUT, 512, zero, 512);
	ck_sense(r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	ws16[2] = 0;
	l.readonly = true;
	r = run(&l, ws16, 16, SCSI_DIR_OUT, 512, zero, 512);
	ck_sense(r, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
}
END_TEST

START_TEST(sense_helper)
{
	struct scsi_result r;

	scsi_set_sense(&r, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ_ERROR);
	ck_sense(r, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ_ERROR);
	scsi_set_sense(&r, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
	ck_sense(r, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
}
END_TEST

TEST_MAIN("scsi", inquiry_standard, inquiry_vpd, report_luns, simple_commands, read_capacity,
	  mode_sense, read_write, sync_verify, unmap, write_same, sense_helper)

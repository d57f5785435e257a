// SPDX-License-Identifier: MIT
/*
 * storvsp end to end on the loopback partition: a guest-side client does
 * what hv_storvsc does (init handshake, INQUIRY, REPORT LUNS, READ/WRITE
 * through GPA-direct packets, SYNCHRONIZE CACHE, sub-channels) against the
 * VSP on its data threads, on temporary image files; then hostile packets.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <linhv/vstor_proto.h>

#include "disk.h"
#include "storvsp.h"
#include "vstor.h"
#include "test_common.h"

#define RQST_INIT 0xFFFFFFFFFFFFFFFDull

struct env {
	struct harness h;
	struct storvsp *vsp;
	struct disk *disks[2];
	char paths[2][64];
	struct vsc_channel ch;
	uint64_t gpa;
	uint8_t *mem; /* 64 pages of guest memory for data buffers */
};

static const struct vmbus_guid scsi_guid = VSTOR_SCSI_GUID;

static void env_setup(struct env *e, bool second_readonly)
{
	char err[256];

	memset(e, 0, sizeof(*e));
	h_setup(&e->h, 0, 0);
	for (int i = 0; i < 2; i++) {
		struct disk_params p = {.readonly = i == 1 && second_readonly};
		int fd;

		snprintf(e->paths[i], sizeof(e->paths[i]), "/tmp/storvsp-lb-XXXXXX");
		fd = mkstemp(e->paths[i]);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(ftruncate(fd, 4 << 20), 0);
		close(fd);
		p.path = e->paths[i];
		p.serial = i == 0 ? "disk-zero" : NULL;
		ck_assert_int_eq(disk_open(&p, &e->disks[i], err, sizeof(err)), 0);
	}
	struct storvsp_params sp = {.server = e->h.server,
				    .instance = echo_guid(0x55),
				    .disks = e->disks,
				    .ndisks = 2,
				    .nr_vps = 2};
	ck_assert_int_eq(storvsp_create(&sp, &e->vsp), 0);
	h_connect(&e->h);
	ck_assert_int_eq(e->h.lb.plat.alloc_pages(&e->h.lb, 64, &e->gpa), 0);
	e->mem = e->h.lb.plat.map(e->h.lb.plat.ctx, e->gpa, 64 * 4096);
	ck_assert_ptr_nonnull(e->mem);
}

static void env_teardown(struct env *e)
{
	storvsp_destroy(e->vsp);
	h_teardown(&e->h);
	for (int i = 0; i < 2; i++) {
		disk_close(e->disks[i]);
		unlink(e->paths[i]);
	}
}

static void open_scsi(struct env *e, struct vsc_channel *ch, uint16_t sub)
{
	const struct vsc_offer *o = NULL;

	for (int i = 0; i < 400 && !o; i++) {
		o = vsc_vmbus_find_offer(&e->h.bus, &scsi_guid, sub);
		if (!o) {
			h_run(&e->h, 5);
			vsc_vmbus_poll(&e->h.bus);
		}
	}
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(vsc_channel_open(&e->h.bus, ch, o, 8, 8, 0), VSC_OK);
}

/* The next packet on ch: the completion of request id, a reply of size bytes. */
static struct vstor_packet completion(struct env *e, struct vsc_channel *ch, uint64_t id,
				      uint32_t size)
{
	struct vstor_packet p = {0};
	uint8_t in[256];
	uint32_t len;

	ck_assert(recv_pkt(&e->h, ch, in, sizeof(in), &len));
	ck_assert_int_eq(((struct vmbus_packet_descriptor *)in)->type, VMBUS_PKT_COMP);
	ck_assert_uint_eq(((struct vmbus_packet_descriptor *)in)->trans_id, id);
	ck_assert_uint_eq(len, 16 + size);
	memcpy(&p, in + 16, size);
	ck_assert_int_eq(p.operation, VSTOR_OP_COMPLETE_IO);
	return p;
}

/*
 * One packet of size bytes (the first size bytes of p) on ch; returns the
 * reply, which comes in the same size.
 */
static struct vstor_packet exchange(struct env *e, struct vsc_channel *ch, uint64_t id,
				    struct vstor_packet p, uint32_t size)
{
	ck_assert_int_eq(vsc_channel_send(ch, VMBUS_PKT_DATA_INBAND,
					  VMBUS_PKT_FLAG_COMPLETION_REQUESTED, id, &p, size),
			 VSC_RING_OK);
	return completion(e, ch, id, size);
}

/* One control operation in a packet of size bytes; returns the reply. */
static struct vstor_packet control_sized(struct env *e, uint32_t op, const void *body,
					 uint32_t blen, uint32_t size)
{
	struct vstor_packet p = {.operation = op, .flags = VSTOR_FLAG_REQUEST_COMPLETION};

	if (body)
		memcpy(p.buffer, body, blen);
	return exchange(e, &e->ch, RQST_INIT, p, size);
}

static struct vstor_packet control(struct env *e, uint32_t op, const void *body, uint32_t blen)
{
	return control_sized(e, op, body, blen, VSTOR_PACKET_SIZE);
}

static void init_handshake(struct env *e)
{
	struct vstor_protocol_version v = {.major_minor = 0x0700};
	struct vstor_packet r;

	ck_assert_uint_eq(control(e, VSTOR_OP_BEGIN_INITIALIZATION, NULL, 0).status, 0);
	r = control(e, VSTOR_OP_QUERY_PROTOCOL_VERSION, &v, sizeof(v));
	ck_assert_uint_eq(r.status, VSTOR_STATUS_REVISION_MISMATCH);
	v.major_minor = VSTOR_VERSION_WIN10;
	ck_assert_uint_eq(control(e, VSTOR_OP_QUERY_PROTOCOL_VERSION, &v, sizeof(v)).status, 0);
	r = control(e, VSTOR_OP_QUERY_PROPERTIES, NULL, 0);
	ck_assert_uint_eq(r.status, 0);
	ck_assert_uint_eq(r.properties.max_transfer_bytes, 1 << 20);
	ck_assert_uint_eq(r.properties.max_channel_cnt, 1);
	ck_assert_uint_eq(r.properties.flags, VSTOR_CHANNEL_SUPPORTS_MULTI_CHANNEL);
	ck_assert_uint_eq(control(e, VSTOR_OP_END_INITIALIZATION, NULL, 0).status, 0);
}

/* storvsc's GPA-direct header: one range. */
struct range_hdr {
	uint32_t reserved, range_cnt;
	uint32_t len, offset;
	uint64_t pfn[64];
};

static int send_srb(struct vsc_channel *ch, uint64_t id, const struct vstor_packet *p, uint64_t gpa,
		    uint32_t off, uint32_t len)
{
	struct range_hdr r = {.range_cnt = 1, .len = len, .offset = off};
	uint32_t npfn = (off + len + 4095) / 4096;

	if (!len)
		return vsc_channel_send(ch, VMBUS_PKT_DATA_INBAND,
					VMBUS_PKT_FLAG_COMPLETION_REQUESTED, id, p, sizeof(*p));
	for (uint32_t i = 0; i < npfn; i++)
		r.pfn[i] = gpa / 4096 + i;
	return vsc_channel_send_raw(ch, VMBUS_PKT_DATA_USING_GPA_DIRECT,
				    VMBUS_PKT_FLAG_COMPLETION_REQUESTED, id, &r, 16 + 8 * npfn, p,
				    sizeof(*p));
}

static struct vstor_packet mksrb(uint8_t lun, const uint8_t *cdb, uint8_t cdb_len, uint8_t dir,
				 uint32_t len)
{
	struct vstor_packet p = {.operation = VSTOR_OP_EXECUTE_SRB,
				 .flags = VSTOR_FLAG_REQUEST_COMPLETION};

	p.srb.length = VSTOR_SRB_SIZE;
	p.srb.lun = lun;
	p.srb.cdb_length = cdb_len;
	p.srb.sense_info_length = VSTOR_SENSE_MAX;
	p.srb.data_in = dir;
	p.srb.data_transfer_length = len;
	memcpy(p.srb.cdb, cdb, cdb_len);
	return p;
}

/* One SRB on ch with the data buffer at page page_idx of e->mem (+off). */
static struct vstor_packet srb_on(struct env *e, struct vsc_channel *ch, uint8_t lun,
				  const uint8_t *cdb, uint8_t cdb_len, uint8_t dir,
				  uint32_t page_idx, uint32_t off, uint32_t len)
{
	static uint64_t next_id = 1;
	struct vstor_packet p = mksrb(lun, cdb, cdb_len, dir, len);
	uint64_t id = next_id++;

	ck_assert_int_eq(send_srb(ch, id, &p, e->gpa + page_idx * 4096ull, off, len), VSC_RING_OK);
	p = completion(e, ch, id, VSTOR_PACKET_SIZE);
	ck_assert_uint_eq(p.srb.lun, lun);
	return p;
}

static struct vstor_packet srb(struct env *e, uint8_t lun, const uint8_t *cdb, uint8_t cdb_len,
			       uint8_t dir, uint32_t page_idx, uint32_t off, uint32_t len)
{
	return srb_on(e, &e->ch, lun, cdb, cdb_len, dir, page_idx, off, len);
}

static void rw10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	cdb[2] = (uint8_t)(lba >> 24);
	cdb[3] = (uint8_t)(lba >> 16);
	cdb[4] = (uint8_t)(lba >> 8);
	cdb[5] = (uint8_t)lba;
	cdb[7] = (uint8_t)(blocks >> 8);
	cdb[8] = (uint8_t)blocks;
}

START_TEST(init_inquiry_read_write_flush)
{
	struct env e;
	struct vstor_packet r;
	uint8_t cdb[16];

	env_setup(&e, true);
	open_scsi(&e, &e.ch, 0);
	init_handshake(&e);

	/* INQUIRY: Msft's virtual disk */
	uint8_t inq[6] = {0x12, 0, 0, 0, 96, 0};
	r = srb(&e, 0, inq, 6, VSTOR_DATA_IN, 0, 0, 96);
	ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_SUCCESS);
	ck_assert_int_eq(r.srb.scsi_status, 0);
	ck_assert_uint_eq(r.srb.data_transfer_length, 36);
	ck_assert_mem_eq(e.mem + 8, "Msft    Virtual Disk", 20);
	/* the serial of LUN 0, and a made-up one for LUN 1 */
	uint8_t sn[6] = {0x12, 1, 0x80, 0, 64, 0};
	r = srb(&e, 0, sn, 6, VSTOR_DATA_IN, 0, 0, 64);
	ck_assert_uint_eq(r.srb.data_transfer_length, 4 + 9);
	ck_assert_mem_eq(e.mem + 4, "disk-zero", 9);
	r = srb(&e, 1, sn, 6, VSTOR_DATA_IN, 0, 0, 64);
	ck_assert_uint_eq(r.srb.data_transfer_length, 4 + 20);

	/* REPORT LUNS: two */
	uint8_t rl[12] = {0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
	r = srb(&e, 0, rl, 12, VSTOR_DATA_IN, 0, 0, 256);
	ck_assert_uint_eq(r.srb.data_transfer_length, 24);
	ck_assert_int_eq(e.mem[3], 16);
	/* LUN 7 does not exist: INQUIRY answers 0x7F, anything else INVALID_LUN */
	r = srb(&e, 7, inq, 6, VSTOR_DATA_IN, 0, 0, 96);
	ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_SUCCESS);
	ck_assert_int_eq(e.mem[0], 0x7F);
	uint8_t tur[6] = {0};
	r = srb(&e, 7, tur, 6, VSTOR_DATA_NONE, 0, 0, 0);
	ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_INVALID_LUN);

	/* READ CAPACITY(16): 4 MiB */
	uint8_t rc[16] = {0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0};
	r = srb(&e, 0, rc, 16, VSTOR_DATA_IN, 0, 0, 32);
	ck_assert_uint_eq(r.srb.data_transfer_length, 32);
	ck_assert_int_eq(e.mem[6] << 8 | e.mem[7], 0x1FFF);

	/* WRITE(10) 40 KiB from offset 512 of a page run, FUA; read it back elsewhere */
	for (int i = 0; i < 16 * 4096; i++)
		e.mem[i] = (uint8_t)(i * 13 + 5);
	rw10(cdb, 0x2A, 100, 80);
	cdb[1] = 0x08;
	r = srb(&e, 0, cdb, 10, VSTOR_DATA_OUT, 0, 512, 80 * 512);
	ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_SUCCESS);
	ck_assert_uint_eq(r.srb.data_transfer_length, 80 * 512);
	memset(e.mem + 20 * 4096, 0, 16 * 4096);
	rw10(cdb, 0x28, 100, 80);
	r = srb(&e, 0, cdb, 10, VSTOR_DATA_IN, 20, 0, 80 * 512);
	ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_SUCCESS);
	ck_assert_mem_eq(e.mem + 20 * 4096, e.mem + 512, 80 * 512);
	/* SYNCHRONIZE CACHE, then the image holds the bytes */
	uint8_t sc[10] = {0x35};
	r = srb(&e, 0, sc, 10, VSTOR_DATA_NONE, 0, 0, 0);
	ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_SUCCESS);
	uint8_t *file = malloc(80 * 512);
	int fd = open(e.paths[0], O_RDONLY);
	ck_assert_int_eq(pread(fd, file, 80 * 512, 100 * 512), 80 * 512);
	close(fd);
	ck_assert_mem_eq(file, e.mem + 512, 80 * 512);
	free(file);

	/* a read-only LUN: CHECK CONDITION, DATA PROTECT, sense in the reply */
	rw10(cdb, 0x2A, 0, 1);
	r = srb(&e, 1, cdb, 10, VSTOR_DATA_OUT, 0, 0, 512);
	ck_assert_int_eq(r.srb.scsi_status, 2);
	ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_ERROR | SRB_STATUS_AUTOSENSE_VALID);
	ck_assert_int_eq(r.srb.sense_info_length, 18);
	ck_assert_int_eq(r.srb.sense_data[2], 0x07);
	ck_assert_int_eq(r.srb.sense_data[12], 0x27);
	ck_assert_uint_eq(r.srb.data_transfer_length, 0);
	/* out of range */
	rw10(cdb, 0x28, 8192, 1);
	r = srb(&e, 0, cdb, 10, VSTOR_DATA_IN, 0, 0, 512);
	ck_assert_int_eq(r.srb.sense_data[2], 0x05);
	ck_assert_int_eq(r.srb.sense_data[12], 0x21);

	/* UNMAP punches a hole: the range reads back as zeros */
	uint8_t um[10] = {0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0};
	uint8_t *pl = e.mem + 40 * 4096;
	memset(pl, 0, 24);
	pl[1] = 22;
	pl[3] = 16;
	pl[7 + 8] = 96;	 /* lba 96 */
	pl[8 + 11] = 16; /* 16 blocks: 96..111 */
	r = srb(&e, 0, um, 10, VSTOR_DATA_OUT, 40, 0, 24);
	ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_SUCCESS);
	rw10(cdb, 0x28, 96, 16);
	memset(e.mem + 20 * 4096, 0xAA, 8192);
	r = srb(&e, 0, cdb, 10, VSTOR_DATA_IN, 20, 0, 8192);
	for (int i = 0; i < 8192; i++)
		ck_assert_int_eq(e.mem[20 * 4096 + i], 0);

	/* the image shrinks under the VM: a read past its end is a MEDIUM ERROR */
	ck_assert_int_eq(truncate(e.paths[0], 1 << 20), 0);
	rw10(cdb, 0x28, 4096, 8);
	r = srb(&e, 0, cdb, 10, VSTOR_DATA_IN, 20, 0, 4096);
	ck_assert_int_eq(r.srb.scsi_status, 2);
	ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_ERROR | SRB_STATUS_AUTOSENSE_VALID);
	ck_assert_int_eq(r.srb.sense_data[2], 0x03);
	ck_assert_int_eq(r.srb.sense_data[12], 0x11);
	ck_assert_uint_eq(r.srb.data_transfer_length, 0);
	/* a host write that fails (the fd swapped for a read-only one): MEDIUM ERROR, write error
	 */
	int rw_fd = e.disks[0]->fd, ro_fd = open(e.paths[0], O_RDONLY);
	ck_assert_int_ge(ro_fd, 0);
	e.disks[0]->fd = ro_fd;
	rw10(cdb, 0x2A, 0, 8);
	r = srb(&e, 0, cdb, 10, VSTOR_DATA_OUT, 0, 0, 4096);
	ck_assert_int_eq(r.srb.sense_data[2], 0x03);
	ck_assert_int_eq(r.srb.sense_data[12], 0x0C);
	r = srb(&e, 0, sc, 10, VSTOR_DATA_NONE, 0, 0, 0); /* fdatasync of a read-only fd works */
	e.disks[0]->fd = rw_fd;
	close(ro_fd);
	r = srb(&e, 0, cdb, 10, VSTOR_DATA_OUT, 0, 0, 4096);
	ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_SUCCESS);

	ck_assert_int_eq(vsc_channel_close(&e.ch), VSC_OK);
	env_teardown(&e);
}
END_TEST

START_TEST(many_in_flight_and_subchannel)
{
	struct env e;
	struct vstor_packet p, r;
	struct vsc_channel sub;
	uint8_t cdb[10], in[256];
	uint32_t len;
	int got = 0;

	env_setup(&e, false);
	open_scsi(&e, &e.ch, 0);
	init_handshake(&e);
	/* 32 writes of 4 KiB in flight at once, then their completions */
	for (int i = 0; i < 32; i++) {
		memset(e.mem + i * 4096, i + 1, 4096);
		rw10(cdb, 0x2A, (uint32_t)i * 8, 8);
		p = mksrb(0, cdb, 10, VSTOR_DATA_OUT, 4096);
		ck_assert_int_eq(send_srb(&e.ch, 1000 + i, &p, e.gpa + i * 4096ull, 0, 4096),
				 VSC_RING_OK);
	}
	while (got < 32) {
		ck_assert(recv_pkt(&e.h, &e.ch, in, sizeof(in), &len));
		memcpy(&r, in + 16, sizeof(r));
		ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_SUCCESS);
		got++;
	}
	/* a sub-channel on request, serving I/O too */
	uint16_t n = 1;
	ck_assert_uint_eq(control(&e, VSTOR_OP_CREATE_SUB_CHANNELS, &n, sizeof(n)).status, 0);
	open_scsi(&e, &sub, 1);
	rw10(cdb, 0x28, 8 * 5, 8);
	memset(e.mem + 50 * 4096, 0, 4096);
	r = srb_on(&e, &sub, 0, cdb, 10, VSTOR_DATA_IN, 50, 0, 4096);
	ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_SUCCESS);
	for (int i = 0; i < 4096; i++)
		ck_assert_int_eq(e.mem[50 * 4096 + i], 6);
	/* more sub-channels than allowed */
	n = 2;
	ck_assert_uint_ne(control(&e, VSTOR_OP_CREATE_SUB_CHANNELS, &n, sizeof(n)).status, 0);
	ck_assert_int_eq(vsc_channel_close(&sub), VSC_OK);
	ck_assert_int_eq(vsc_channel_close(&e.ch), VSC_OK);
	h_run(&e.h, 20);
	/* Each channel says at close what it carried. */
	ck_assert(h_log_contains(&e.h, "storvsp: 32 SCSI requests, 0 MiB read, 0 MiB written"));
	ck_assert(h_log_contains(&e.h, "(sub-channel 1): storvsp: 1 SCSI requests"));
	env_teardown(&e);
}
END_TEST

/* A hostile packet closes the channel, and the worker lives on. */
static void hostile(void (*mutate)(struct vstor_packet *p, uint32_t *len, uint64_t *gpa),
		    const char *expect)
{
	struct env e;
	uint8_t cdb[10];
	struct vstor_packet p;
	uint32_t len = 512;
	uint64_t gpa;

	env_setup(&e, false);
	open_scsi(&e, &e.ch, 0);
	init_handshake(&e);
	rw10(cdb, 0x28, 0, 1);
	p = mksrb(0, cdb, 10, VSTOR_DATA_IN, 512);
	gpa = e.gpa;
	mutate(&p, &len, &gpa);
	ck_assert_int_eq(send_srb(&e.ch, 77, &p, gpa, 0, len), VSC_RING_OK);
	for (int i = 0; i < 400 && !h_log_contains(&e.h, "closing the channel"); i++)
		h_run(&e.h, 5);
	ck_assert_msg(h_log_contains(&e.h, expect), "no '%s' in the log", expect);
	/* the controller is still there for a fresh open */
	env_teardown(&e);
}

static void cdb_too_long(struct vstor_packet *p, uint32_t *len, uint64_t *gpa)
{
	(void)len;
	(void)gpa;
	p->srb.cdb_length = 17;
}

static void srb_length_lies(struct vstor_packet *p, uint32_t *len, uint64_t *gpa)
{
	(void)len;
	(void)gpa;
	p->srb.length = 0x100;
}

static void xfer_beyond_ranges(struct vstor_packet *p, uint32_t *len, uint64_t *gpa)
{
	(void)gpa;
	p->srb.data_transfer_length = 8192;
	*len = 4096;
}

static void gpa_outside_ram(struct vstor_packet *p, uint32_t *len, uint64_t *gpa)
{
	(void)p;
	(void)len;
	*gpa = 1ull << 40;
}

static void unknown_op(struct vstor_packet *p, uint32_t *len, uint64_t *gpa)
{
	(void)gpa;
	p->operation = 99;
	*len = 0;
	p->srb.data_transfer_length = 0;
}

/*
 * Linux before 5.14 (Debian 11's 5.10) sends the handshake in the pre-win8
 * size (48 bytes: no win8 extension) until a version is agreed, and a
 * guest that agrees on WIN7 or WIN6 keeps that size, SRBs included.
 */
START_TEST(pre_win8_packet_sizes)
{
	static const uint16_t versions[] = {VSTOR_VERSION_WIN10, VSTOR_VERSION_WIN7};

	ck_assert_uint_eq(VSTOR_PACKET_SIZE_PRE_WIN8, 48);
	for (unsigned i = 0; i < 2; i++) {
		struct vstor_protocol_version v = {.major_minor = versions[i]};
		uint32_t size = versions[i] >= VSTOR_VERSION_WIN8 ? VSTOR_PACKET_SIZE
								  : VSTOR_PACKET_SIZE_PRE_WIN8;
		uint8_t tur[6] = {0};
		struct vstor_packet r;
		struct env e;

		env_setup(&e, true);
		open_scsi(&e, &e.ch, 0);
		r = control_sized(&e, VSTOR_OP_BEGIN_INITIALIZATION, NULL, 0, 48);
		ck_assert_uint_eq(r.status, 0);
		r = control_sized(&e, VSTOR_OP_QUERY_PROTOCOL_VERSION, &v, sizeof(v), 48);
		ck_assert_uint_eq(r.status, 0);
		ck_assert_uint_eq(
		    control_sized(&e, VSTOR_OP_QUERY_PROPERTIES, NULL, 0, size).status, 0);
		ck_assert_uint_eq(
		    control_sized(&e, VSTOR_OP_END_INITIALIZATION, NULL, 0, size).status, 0);
		/* TEST UNIT READY in the agreed size, its SRB length to match */
		struct vstor_packet p = mksrb(0, tur, 6, VSTOR_DATA_NONE, 0);

		p.srb.length = vstor_srb_size(versions[i]);
		r = exchange(&e, &e.ch, 7, p, size);
		ck_assert_int_eq(r.srb.srb_status, SRB_STATUS_SUCCESS);
		ck_assert_int_eq(r.srb.scsi_status, 0);
		ck_assert_int_eq(vsc_channel_close(&e.ch), VSC_OK);
		env_teardown(&e);
	}
}
END_TEST

START_TEST(hostile_packets_close_the_channel)
{
	hostile(cdb_too_long, "CDB length outside 1-16");
	hostile(srb_length_lies, "SRB length does not match");
	hostile(xfer_beyond_ranges, "transfer length beyond its GPA ranges");
	hostile(gpa_outside_ram, "outside guest RAM");
	hostile(unknown_op, "unknown vstor operation");
}
END_TEST

TEST_MAIN("storvsp-loopback", init_inquiry_read_write_flush, many_in_flight_and_subchannel,
	  pre_win8_packet_sizes, hostile_packets_close_the_channel)

// SPDX-License-Identifier: MIT
/*
 * The vstor protocol (hv_storvsc's side is drivers/scsi/storvsc_drv.c):
 * the init handshake on the primary channel, sub-channels on request, and
 * EXECUTE_SRB on every channel, decoded by scsi.c and run by queue.c.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "scsi.h"
#include "storvsp.h"
#include "vmbus_vsp.h"
#include "vstor.h"

#define MAX_CHANNELS 64
#define QUEUE_ENTRIES 256
#define REQ_IOV (STORVSP_MAX_TRANSFER / 4096 + 2)

enum init_state { INIT_NONE, INIT_BEGUN, INIT_DONE };

struct stor_chan;

struct stor_req {
	struct queue_op op; /* first: op->done gets back to the request */
	struct stor_chan *ch;
	uint64_t trans_id;
	struct vstor_packet reply;
	uint32_t reply_len; /* as long as the guest's request (52 or 64 bytes) */
	uint32_t xfer;	    /* data_transfer_length on success */
	bool is_read;
	struct scsi_extent *ext; /* UNMAP: the extents still to punch */
	uint32_t next_ext, next_ext_n;
	struct stor_req *next;
	struct iovec iov[REQ_IOV];
};

struct stor_chan {
	struct storvsp *vsp;
	uint16_t index;
	struct vmbus_channel *chan;
	struct queue *q;
	struct stor_req *free;
	struct stor_req *pend_head, *pend_tail; /* completions waiting for ring space */
	struct vmbus_gpa_direct gpa;
	uint8_t resp[SCSI_RESPONSE_MAX];
	uint8_t dout[SCSI_DOUT_MAX];
	struct scsi_extent ext[SCSI_UNMAP_MAX_DESCRIPTORS];
	/* For the close line: which channels carried I/O (data thread only). */
	uint64_t srbs, bytes_read, bytes_written;
};

struct storvsp {
	struct vmbus_server *server;
	unsigned nluns;
	struct scsi_lun luns[STORVSP_MAX_LUNS];
	struct disk *disks[STORVSP_MAX_LUNS];
	uint32_t max_sub;
	_Atomic uint16_t version; /* negotiated, read by every channel */
	_Atomic unsigned sub_requested;
	enum init_state state; /* primary's data thread only */
	struct stor_chan *chans[MAX_CHANNELS];
};

static const struct vmbus_vsp_ops stor_ops;

/* ---- requests and completions ---- */

static struct stor_req *req_get(struct stor_chan *ch)
{
	struct stor_req *r = ch->free;

	if (r)
		ch->free = r->next;
	else
		r = malloc(sizeof(*r));
	if (r) {
		r->ch = ch;
		r->ext = NULL;
		r->next = NULL;
	}
	return r;
}

static void req_put(struct stor_chan *ch, struct stor_req *r)
{
	free(r->ext);
	r->ext = NULL;
	r->next = ch->free;
	ch->free = r;
}

static void free_list(struct stor_req *r)
{
	while (r) {
		struct stor_req *n = r->next;

		free(r->ext);
		free(r);
		r = n;
	}
}

/* Answer in the size the guest asked in: Linux 6.x drops replies shorter than 64. */
static uint32_t reply_len(uint32_t request_len)
{
	if (request_len > VSTOR_PACKET_SIZE)
		return VSTOR_PACKET_SIZE;
	return request_len < VSTOR_PACKET_SIZE_PRE_WIN8 ? VSTOR_PACKET_SIZE_PRE_WIN8 : request_len;
}

/* Send r's reply now, or queue it behind earlier ones until the ring has room. */
static void reply(struct stor_chan *ch, struct stor_req *r)
{
	int ret;

	if (!ch->pend_head) {
		ret = vmbus_channel_send_completion(ch->chan, r->trans_id, &r->reply, r->reply_len);
		if (ret != -EAGAIN) {
			req_put(ch, r);
			return;
		}
	}
	r->next = NULL;
	if (ch->pend_tail)
		ch->pend_tail->next = r;
	else
		ch->pend_head = r;
	ch->pend_tail = r;
}

static void on_writable(struct vmbus_channel *chan, void *ctx)
{
	struct stor_chan *ch = ctx;

	(void)chan;
	while (ch->pend_head) {
		struct stor_req *r = ch->pend_head;

		if (vmbus_channel_send_completion(ch->chan, r->trans_id, &r->reply, r->reply_len) ==
		    -EAGAIN)
			return;
		ch->pend_head = r->next;
		if (!ch->pend_head)
			ch->pend_tail = NULL;
		req_put(ch, r);
	}
}

/* A control-message answer: COMPLETE_IO with status. */
static void reply_status(struct stor_chan *ch, const struct vmbus_packet *pkt, uint32_t status,
			 const void *body, uint32_t body_len)
{
	struct stor_req *r = req_get(ch);
	uint64_t trans_id = pkt->trans_id;

	if (!r)
		return;
	memset(&r->reply, 0, sizeof(r->reply));
	r->reply_len = reply_len(pkt->len);
	r->trans_id = trans_id;
	r->reply.operation = VSTOR_OP_COMPLETE_IO;
	r->reply.status = status;
	if (body)
		memcpy(r->reply.buffer, body, body_len);
	reply(ch, r);
}

/* Fill in the SRB of r's reply from a SCSI result. */
static void srb_result(struct stor_req *r, const struct scsi_result *res, uint32_t xfer)
{
	struct vmscsi_request *srb = &r->reply.srb;
	uint8_t room = srb->sense_info_length;

	r->reply.operation = VSTOR_OP_COMPLETE_IO;
	r->reply.flags = 0;
	r->reply.status = VSTOR_STATUS_SUCCESS;
	memset(srb->sense_data, 0, sizeof(srb->sense_data));
	if (res->status == SCSI_STATUS_GOOD) {
		srb->scsi_status = SCSI_STATUS_GOOD;
		srb->srb_status = SRB_STATUS_SUCCESS;
		srb->sense_info_length = 0;
		srb->data_transfer_length = xfer;
		return;
	}
	if (room > VSTOR_SENSE_MAX)
		room = VSTOR_SENSE_MAX;
	if (room > res->sense_len)
		room = res->sense_len;
	srb->scsi_status = res->status;
	srb->srb_status = SRB_STATUS_ERROR | (room ? SRB_STATUS_AUTOSENSE_VALID : 0);
	srb->sense_info_length = room;
	memcpy(srb->sense_data, res->sense, room);
	srb->data_transfer_length = 0;
}

/* ---- guest memory helpers ---- */

static void iov_copy_out(const struct iovec *iov, uint32_t niov, const uint8_t *src, uint32_t len)
{
	for (uint32_t i = 0; i < niov && len; i++) {
		uint32_t n = iov[i].iov_len < len ? (uint32_t)iov[i].iov_len : len;

		memcpy(iov[i].iov_base, src, n);
		src += n;
		len -= n;
	}
}

static void iov_copy_in(const struct iovec *iov, uint32_t niov, uint8_t *dst, uint32_t len)
{
	for (uint32_t i = 0; i < niov && len; i++) {
		uint32_t n = iov[i].iov_len < len ? (uint32_t)iov[i].iov_len : len;

		memcpy(dst, iov[i].iov_base, n);
		dst += n;
		len -= n;
	}
}

/* The first len bytes of src as r->iov; false if that takes more than REQ_IOV. */
static bool iov_take(struct stor_req *r, const struct iovec *src, uint32_t nsrc, uint64_t len)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < nsrc && len; i++) {
		uint64_t take = src[i].iov_len < len ? src[i].iov_len : len;

		if (n == REQ_IOV)
			return false;
		r->iov[n].iov_base = src[i].iov_base;
		r->iov[n].iov_len = (size_t)take;
		n++;
		len -= take;
	}
	r->op.iov = r->iov;
	r->op.niov = n;
	return len == 0;
}

/* ---- I/O completion ---- */

static uint16_t error_asc(const struct stor_req *r, int err, uint8_t *key)
{
	*key = SCSI_SENSE_MEDIUM_ERROR;
	if (r->op.kind == QUEUE_READ)
		return SCSI_ASC_UNRECOVERED_READ_ERROR;
	if (err == -ENOSPC || err == -EDQUOT) {
		*key = SCSI_SENSE_DATA_PROTECT;
		return SCSI_ASC_SPACE_ALLOCATION_FAILED;
	}
	return SCSI_ASC_WRITE_ERROR;
}

static void io_done(struct queue_op *op)
{
	struct stor_req *r = (struct stor_req *)op;
	struct stor_chan *ch = r->ch;
	struct scsi_result res = {.status = SCSI_STATUS_GOOD};

	if (!op->result && r->ext && r->next_ext < r->next_ext_n) {
		/* UNMAP: punch the next extent. */
		const struct scsi_extent *e = &r->ext[r->next_ext++];

		op->offset = e->lba * SCSI_BLOCK_SIZE;
		op->len = (uint64_t)e->blocks * SCSI_BLOCK_SIZE;
		queue_submit(ch->q, op);
		return;
	}
	if (op->result) {
		uint8_t key;
		uint16_t asc = error_asc(r, op->result, &key);

		scsi_set_sense(&res, key, asc);
	}
	srb_result(r, &res, r->xfer);
	reply(ch, r);
}

static void start_io(struct stor_chan *ch, struct stor_req *r, const struct scsi_result *res,
		     const struct vmbus_gpa_direct *gpa, unsigned lun)
{
	struct queue_op *op = &r->op;

	memset(op, 0, sizeof(*op));
	op->done = io_done;
	op->disk = ch->vsp->disks[lun];
	r->xfer = 0;
	switch (res->kind) {
	case SCSI_READ:
	case SCSI_WRITE:
		op->kind = res->kind == SCSI_READ ? QUEUE_READ : QUEUE_WRITE;
		op->offset = res->lba * SCSI_BLOCK_SIZE;
		op->len = (uint64_t)res->blocks * SCSI_BLOCK_SIZE;
		op->fua = res->fua;
		r->xfer = (uint32_t)op->len;
		if (res->kind == SCSI_READ)
			ch->bytes_read += op->len;
		else
			ch->bytes_written += op->len;
		if (!iov_take(r, gpa->iov, gpa->niov, op->len)) {
			/* Cannot happen within max_xfer_blocks; answer rather than trust it. */
			struct scsi_result e;

			scsi_set_sense(&e, SCSI_SENSE_ILLEGAL_REQUEST,
				       SCSI_ASC_INVALID_FIELD_IN_CDB);
			srb_result(r, &e, 0);
			reply(ch, r);
			return;
		}
		break;
	case SCSI_FLUSH:
		op->kind = QUEUE_FLUSH;
		break;
	case SCSI_WRITE_ZEROES:
		op->kind = QUEUE_ZERO;
		op->offset = res->lba * SCSI_BLOCK_SIZE;
		op->len = (uint64_t)res->blocks * SCSI_BLOCK_SIZE;
		op->unmap = res->unmap;
		break;
	case SCSI_UNMAP:
		op->kind = QUEUE_DISCARD;
		op->offset = ch->ext[0].lba * SCSI_BLOCK_SIZE;
		op->len = (uint64_t)ch->ext[0].blocks * SCSI_BLOCK_SIZE;
		if (res->nextents > 1) {
			r->ext = malloc(sizeof(*r->ext) * res->nextents);
			if (!r->ext) {
				struct scsi_result e;

				scsi_set_sense(&e, SCSI_SENSE_HARDWARE_ERROR, 0x4400);
				srb_result(r, &e, 0);
				reply(ch, r);
				return;
			}
			memcpy(r->ext, ch->ext, sizeof(*r->ext) * res->nextents);
			r->next_ext = 1;
			r->next_ext_n = res->nextents;
		}
		break;
	default:
		break;
	}
	queue_submit(ch->q, op);
}

/* ---- EXECUTE_SRB ---- */

static void execute_srb(struct stor_chan *ch, const struct vmbus_packet *pkt,
			const struct vstor_packet *vp)
{
	struct storvsp *s = ch->vsp;
	const struct vmscsi_request *srb = &vp->srb;
	struct vmbus_gpa_direct *gpa = &ch->gpa;
	uint32_t xfer = srb->data_transfer_length;
	struct scsi_cmd cmd = {0};
	struct scsi_result res;
	const struct scsi_lun *lun = NULL;
	struct stor_req *r;
	const char *why = "";

	if (pkt->type == VMBUS_PKT_DATA_USING_GPA_DIRECT) {
		int ret = vmbus_packet_gpa_direct(ch->chan, pkt, gpa, &why);

		if (ret) {
			vmbus_channel_fail(ch->chan,
					   ret == -E2BIG ? "SRB data larger than 4 MiB" : why);
			return;
		}
		if (xfer > gpa->bytes) {
			vmbus_channel_fail(ch->chan, "SRB transfer length beyond its GPA ranges");
			return;
		}
	} else {
		gpa->niov = 0;
		gpa->bytes = 0;
		if (xfer) {
			vmbus_channel_fail(ch->chan, "SRB transfer length without GPA ranges");
			return;
		}
	}
	r = req_get(ch);
	if (!r)
		return; /* out of memory: the guest times out and resets */
	r->trans_id = pkt->trans_id;
	r->reply_len = reply_len(pkt->len);
	memcpy(&r->reply, vp, sizeof(*vp));
	ch->srbs++;

	if (srb->path_id == 0 && srb->target_id == 0 && srb->lun < s->nluns)
		lun = &s->luns[srb->lun];
	cmd.cdb = srb->cdb;
	cmd.cdb_len = srb->cdb_length;
	cmd.dir = srb->data_in == VSTOR_DATA_IN	   ? SCSI_DIR_IN
		  : srb->data_in == VSTOR_DATA_OUT ? SCSI_DIR_OUT
						   : SCSI_DIR_NONE;
	cmd.xfer_len = xfer;
	cmd.nluns = (uint16_t)s->nluns;
	if (srb->path_id || srb->target_id)
		cmd.nluns = 0;
	cmd.dout_len = scsi_dout_len(srb->cdb, srb->cdb_length);
	if (cmd.dout_len > xfer)
		cmd.dout_len = xfer;
	if (cmd.dir != SCSI_DIR_OUT)
		cmd.dout_len = 0;
	if (cmd.dout_len) {
		/* Copy once; decide on the copy, never on guest memory again. */
		iov_copy_in(gpa->iov, gpa->niov, ch->dout, cmd.dout_len);
		cmd.dout = ch->dout;
	}
	scsi_execute(lun, &cmd, ch->resp, ch->ext, &res);
	switch (res.kind) {
	case SCSI_DONE:
		if (res.data_len)
			iov_copy_out(gpa->iov, gpa->niov, ch->resp, res.data_len);
		srb_result(r, &res, res.data_len);
		reply(ch, r);
		return;
	case SCSI_NO_LUN:
		r->reply.operation = VSTOR_OP_COMPLETE_IO;
		r->reply.status = VSTOR_STATUS_SUCCESS;
		r->reply.srb.scsi_status = SCSI_STATUS_GOOD;
		r->reply.srb.srb_status = SRB_STATUS_INVALID_LUN;
		r->reply.srb.sense_info_length = 0;
		r->reply.srb.data_transfer_length = 0;
		reply(ch, r);
		return;
	default:
		start_io(ch, r, &res, gpa, srb->lun);
		return;
	}
}

/* ---- the control operations (primary channel) ---- */

/* On the event loop: offer the sub-channels the guest asked for. */
static void offer_subchannels(struct vmbus_channel *primary, void *arg)
{
	struct storvsp *s = arg;
	unsigned n = atomic_load(&s->sub_requested);

	for (unsigned i = 1; i <= n && i <= s->max_sub; i++) {
		struct stor_chan *ch = s->chans[i];

		if (ch->chan)
			continue; /* offered before (the guest reconnected) */
		if (vmbus_offer_subchannel(primary, (uint16_t)i, &stor_ops, ch, &ch->chan)) {
			vmbus_channel_log(primary, "storvsp: cannot offer sub-channel %u", i);
			ch->chan = NULL;
			return;
		}
	}
}

static void control(struct stor_chan *ch, const struct vmbus_packet *pkt,
		    const struct vstor_packet *vp)
{
	struct storvsp *s = ch->vsp;

	if (ch->index != 0) {
		vmbus_channel_fail(ch->chan, "vstor control operation on a sub-channel");
		return;
	}
	switch (vp->operation) {
	case VSTOR_OP_BEGIN_INITIALIZATION:
		s->state = INIT_BEGUN;
		atomic_store(&s->version, 0);
		reply_status(ch, pkt, VSTOR_STATUS_SUCCESS, NULL, 0);
		return;
	case VSTOR_OP_QUERY_PROTOCOL_VERSION:
		if (s->state != INIT_BEGUN || !vstor_version_supported(vp->version.major_minor)) {
			reply_status(ch, pkt, VSTOR_STATUS_REVISION_MISMATCH, NULL, 0);
			return;
		}
		atomic_store(&s->version, vp->version.major_minor);
		reply_status(ch, pkt, VSTOR_STATUS_SUCCESS, &vp->version, sizeof(vp->version));
		return;
	case VSTOR_OP_QUERY_PROPERTIES: {
		struct vstor_channel_properties props = {
		    .max_transfer_bytes = STORVSP_MAX_TRANSFER,
		};

		if (atomic_load(&s->version) >= VSTOR_VERSION_WIN8 && s->max_sub) {
			props.max_channel_cnt = (uint16_t)s->max_sub;
			props.flags = VSTOR_CHANNEL_SUPPORTS_MULTI_CHANNEL;
		}
		reply_status(ch, pkt, VSTOR_STATUS_SUCCESS, &props, sizeof(props));
		return;
	}
	case VSTOR_OP_END_INITIALIZATION:
		if (s->state != INIT_BEGUN || !atomic_load(&s->version)) {
			reply_status(ch, pkt, VSTOR_STATUS_UNSUCCESSFUL, NULL, 0);
			return;
		}
		s->state = INIT_DONE;
		reply_status(ch, pkt, VSTOR_STATUS_SUCCESS, NULL, 0);
		return;
	case VSTOR_OP_CREATE_SUB_CHANNELS: {
		unsigned n = vp->sub_channel_count;

		if (s->state != INIT_DONE || n > s->max_sub ||
		    atomic_load(&s->version) < VSTOR_VERSION_WIN8) {
			reply_status(ch, pkt, VSTOR_STATUS_UNSUCCESSFUL, NULL, 0);
			return;
		}
		reply_status(ch, pkt, VSTOR_STATUS_SUCCESS, NULL, 0);
		atomic_store(&s->sub_requested, n);
		if (n && vmbus_channel_defer(ch->chan, offer_subchannels, s))
			vmbus_channel_log(ch->chan, "storvsp: cannot offer %u sub-channels", n);
		return;
	}
	case VSTOR_OP_ENUMERATE_BUS:
	case VSTOR_OP_RESET_LUN:
	case VSTOR_OP_RESET_ADAPTER:
	case VSTOR_OP_RESET_BUS:
		/* Nothing is queued inside the host beyond the ring: nothing to reset. */
		reply_status(ch, pkt, VSTOR_STATUS_SUCCESS, NULL, 0);
		return;
	default: /* FCHBA_DATA: not a Fibre Channel adapter */
		reply_status(ch, pkt, VSTOR_STATUS_UNSUCCESSFUL, NULL, 0);
		return;
	}
}

/* ---- channel callbacks ---- */

static void on_packet(struct vmbus_channel *chan, const struct vmbus_packet *pkt, void *ctx)
{
	struct stor_chan *ch = ctx;
	struct vstor_packet vp;
	const char *why;

	(void)chan;
	if (pkt->type != VMBUS_PKT_DATA_INBAND && pkt->type != VMBUS_PKT_DATA_USING_GPA_DIRECT) {
		vmbus_channel_fail(ch->chan, "unexpected VMBus packet type on the storage channel");
		return;
	}
	if (vstor_parse(pkt->data, pkt->len, atomic_load(&ch->vsp->version), &vp, &why)) {
		vmbus_channel_fail(ch->chan, why);
		return;
	}
	if (vp.operation == VSTOR_OP_EXECUTE_SRB) {
		if (ch->index == 0 && ch->vsp->state != INIT_DONE) {
			vmbus_channel_fail(ch->chan, "EXECUTE_SRB before END_INITIALIZATION");
			return;
		}
		execute_srb(ch, pkt, &vp);
	} else if (pkt->type == VMBUS_PKT_DATA_INBAND) {
		control(ch, pkt, &vp);
	} else {
		vmbus_channel_fail(ch->chan, "vstor control operation with GPA ranges");
		return;
	}
}

/* One io_uring_submit for the batch; what finished already goes out under its signal. */
static void on_batch_end(struct vmbus_channel *chan, void *ctx)
{
	struct stor_chan *ch = ctx;

	(void)chan;
	queue_run(ch->q);
}

static void on_poll(struct vmbus_channel *chan, void *ctx)
{
	struct stor_chan *ch = ctx;

	(void)chan;
	queue_poll(ch->q);
}

static void drop_pending(struct stor_chan *ch)
{
	free_list(ch->pend_head);
	ch->pend_head = ch->pend_tail = NULL;
}

static void on_drain(struct vmbus_channel *chan, void *ctx)
{
	struct stor_chan *ch = ctx;

	(void)chan;
	queue_drain(ch->q); /* completions for a closing ring are dropped */
	drop_pending(ch);
}

static int on_open(struct vmbus_channel *chan, void *ctx)
{
	struct stor_chan *ch = ctx;
	int ret;

	ch->chan = chan;
	if (ch->index == 0) {
		ch->vsp->state = INIT_NONE;
		atomic_store(&ch->vsp->version, 0);
	}
	ret = queue_create(QUEUE_ENTRIES, &ch->q);
	if (ret) {
		vmbus_channel_log(chan, "storvsp: no io_uring for the channel: %s", strerror(-ret));
		return ret;
	}
	ret = vmbus_channel_set_poll_fd(chan, queue_fd(ch->q));
	if (ret) {
		queue_destroy(ch->q);
		ch->q = NULL;
	}
	return ret;
}

static void on_close(struct vmbus_channel *chan, void *ctx)
{
	struct stor_chan *ch = ctx;

	if (ch->srbs)
		vmbus_channel_log(chan,
				  "storvsp: %llu SCSI requests, %llu MiB read, %llu MiB written, "
				  "%llu io_uring submits",
				  (unsigned long long)ch->srbs,
				  (unsigned long long)(ch->bytes_read >> 20),
				  (unsigned long long)(ch->bytes_written >> 20),
				  (unsigned long long)queue_stats(ch->q)->submits);
	ch->srbs = ch->bytes_read = ch->bytes_written = 0;
	drop_pending(ch);
	queue_destroy(ch->q);
	ch->q = NULL;
	free_list(ch->free);
	ch->free = NULL;
}

static void on_released(struct vmbus_channel *chan, void *ctx)
{
	struct stor_chan *ch = ctx;

	(void)chan;
	ch->chan = NULL;
}

static const struct vmbus_vsp_ops stor_ops = {
    .open = on_open,
    .packet = on_packet,
    .writable = on_writable,
    .close = on_close,
    .released = on_released,
    .poll = on_poll,
    .batch_end = on_batch_end,
    .drain = on_drain,
};

/* ---- the controller ---- */

/* Per LUN: the NAA id and default serial derive from the instance GUID, so they are stable. */
static void lun_props(const struct storvsp_params *p, unsigned i, struct scsi_lun *l)
{
	const struct disk *d = p->disks[i];
	static const char hex[] = "0123456789abcdef";

	memset(l, 0, sizeof(*l));
	l->blocks = d->size / SCSI_BLOCK_SIZE;
	l->phys_shift = d->phys_shift;
	l->readonly = d->readonly;
	l->write_cache = true; /* the page cache, or the device's own cache under O_DIRECT */
	l->discard = d->discard && !d->readonly;
	l->discard_zeroes = d->discard_zeroes;
	l->max_xfer_blocks = STORVSP_MAX_TRANSFER / SCSI_BLOCK_SIZE;
	memcpy(l->id, p->instance.b, 16);
	l->id[15] = (uint8_t)(l->id[15] + i);
	l->id[14] = (uint8_t)(l->id[14] ^ (i >> 8));
	if (d->serial[0]) {
		snprintf(l->serial, sizeof(l->serial), "%s", d->serial);
	} else {
		for (unsigned k = 0; k < 10; k++) {
			l->serial[2 * k] = hex[l->id[6 + k] >> 4];
			l->serial[2 * k + 1] = hex[l->id[6 + k] & 15];
		}
		l->serial[20] = '\0';
	}
}

int storvsp_create(const struct storvsp_params *p, struct storvsp **out)
{
	static const struct vmbus_guid scsi = VSTOR_SCSI_GUID;
	struct vmbus_offer_params op = {
	    .if_type = scsi,
	    .if_instance = p->instance,
	    .max_packet_size = 16384,
	    .data_thread = true,
	    .ops = &stor_ops,
	};
	struct storvsp *s;
	unsigned nch;
	int ret;

	*out = NULL;
	if (!p->ndisks || p->ndisks > STORVSP_MAX_LUNS)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->server = p->server;
	s->nluns = p->ndisks;
	for (unsigned i = 0; i < p->ndisks; i++) {
		s->disks[i] = p->disks[i];
		lun_props(p, i, &s->luns[i]);
	}
	s->max_sub = p->nr_vps > 1 ? p->nr_vps - 1 : 0;
	if (s->max_sub > MAX_CHANNELS - 1)
		s->max_sub = MAX_CHANNELS - 1;
	nch = s->max_sub + 1;
	for (unsigned i = 0; i < nch; i++) {
		s->chans[i] = calloc(1, sizeof(*s->chans[i]));
		if (!s->chans[i]) {
			storvsp_destroy(s);
			return -ENOMEM;
		}
		s->chans[i]->vsp = s;
		s->chans[i]->index = (uint16_t)i;
	}
	op.ctx = s->chans[0];
	ret = vmbus_offer(p->server, &op, &s->chans[0]->chan);
	if (ret) {
		s->chans[0]->chan = NULL;
		storvsp_destroy(s);
		return ret;
	}
	*out = s;
	return 0;
}

void storvsp_destroy(struct storvsp *s)
{
	if (!s)
		return;
	/* Sub-channels first; each removal closes (drains) its channel. */
	for (unsigned i = MAX_CHANNELS; i-- > 0;) {
		if (s->chans[i] && s->chans[i]->chan)
			vmbus_channel_remove(s->chans[i]->chan);
	}
	for (unsigned i = 0; i < MAX_CHANNELS; i++)
		free(s->chans[i]);
	free(s);
}

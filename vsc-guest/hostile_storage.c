// SPDX-License-Identifier: MIT
/*
 * The hostile guest against the storage VSP (vsc/hostile.h): after the init
 * handshake, SRBs that lie (a CDB over 16 bytes, an SRB length that is not
 * the protocol's, a transfer longer than its GPA ranges, ranges outside
 * guest RAM, an unknown operation). Each must get the channel rescinded;
 * the controller is offered again and still reads and writes afterwards.
 */
#include <stddef.h>

#include <linhv/vstor_proto.h>
#include <vsc/hostile.h>

#include "hostile_internal.h"
#include "util.h"

#define RQST_INIT 0xFFFFFFFFFFFFFFFDull

static const struct vmbus_guid scsi_guid = VSTOR_SCSI_GUID;

/* storvsc's GPA-direct header with one range of up to two pages. */
struct one_range {
	uint32_t reserved, range_cnt;
	uint32_t len, offset;
	uint64_t pfn[2];
};

/* The next packet on ch (a completion for trans_id), pumping the bus. */
static bool recv_reply(struct vsc_hostile *h, struct vsc_channel *ch, uint64_t trans_id,
		       struct vstor_packet *out)
{
	uint8_t buf[256];
	uint32_t len;

	for (uint32_t n = 0; n < h->bus->wait_limit; n++) {
		if (vsc_channel_recv(ch, buf, sizeof(buf), &len) == VSC_RING_OK) {
			const struct vmbus_packet_descriptor *d = (const void *)buf;

			if (d->type != VMBUS_PKT_COMP || d->trans_id != trans_id || len < 16 + 64)
				return false;
			vsc_memcpy(out, buf + 16, sizeof(*out));
			return out->operation == VSTOR_OP_COMPLETE_IO;
		}
		vsc_hostile_pump(h, 1);
	}
	return false;
}

static bool control(struct vsc_hostile *h, struct vsc_channel *ch, uint32_t op, uint16_t arg)
{
	struct vstor_packet p;

	vsc_memset(&p, 0, sizeof(p));
	p.operation = op;
	p.flags = VSTOR_FLAG_REQUEST_COMPLETION;
	p.version.major_minor = arg;
	if (vsc_channel_send(ch, VMBUS_PKT_DATA_INBAND, VMBUS_PKT_FLAG_COMPLETION_REQUESTED,
			     RQST_INIT, &p, sizeof(p)) != VSC_RING_OK)
		return false;
	return recv_reply(h, ch, RQST_INIT, &p) && p.status == 0;
}

/* Open the controller's primary channel and run hv_storvsc's handshake. */
static const char *open_storage(struct vsc_hostile *h, struct vsc_channel *ch)
{
	const struct vsc_offer *o = NULL;

	for (uint32_t n = 0; !o && n < h->bus->wait_limit; n++) {
		o = vsc_vmbus_find_offer(h->bus, &scsi_guid, 0);
		if (!o)
			vsc_hostile_pump(h, 1);
	}
	if (!o)
		return "no SCSI offer";
	if (vsc_channel_open(h->bus, ch, o, 8, 8, 0))
		return "open";
	if (!control(h, ch, VSTOR_OP_BEGIN_INITIALIZATION, 0) ||
	    !control(h, ch, VSTOR_OP_QUERY_PROTOCOL_VERSION, VSTOR_VERSION_WIN10) ||
	    !control(h, ch, VSTOR_OP_QUERY_PROPERTIES, 0) ||
	    !control(h, ch, VSTOR_OP_END_INITIALIZATION, 0))
		return "init handshake";
	return NULL;
}

static void tur_srb(struct vstor_packet *p)
{
	vsc_memset(p, 0, sizeof(*p));
	p->operation = VSTOR_OP_EXECUTE_SRB;
	p->flags = VSTOR_FLAG_REQUEST_COMPLETION;
	p->srb.length = VSTOR_SRB_SIZE;
	p->srb.cdb_length = 6;
	p->srb.sense_info_length = VSTOR_SENSE_MAX;
	p->srb.data_in = VSTOR_DATA_NONE;
}

/* A READ(10) of 4 KiB into [pfn, pfn + 1]. */
static void read_srb(struct vstor_packet *p, struct one_range *r, uint64_t pfn)
{
	tur_srb(p);
	p->srb.cdb_length = 10;
	p->srb.cdb[0] = 0x28;
	p->srb.cdb[8] = 8;
	p->srb.data_in = VSTOR_DATA_IN;
	p->srb.data_transfer_length = 4096;
	vsc_memset(r, 0, sizeof(*r));
	r->range_cnt = 1;
	r->len = 4096;
	r->pfn[0] = pfn;
}

enum attack { CDB_17, SRB_LENGTH, XFER_BEYOND, GPA_OUTSIDE, UNKNOWN_OP, NR_ATTACKS };

static const char *const attack_names[NR_ATTACKS] = {
    "storage: CDB length 17 closes the channel",
    "storage: an SRB length that lies closes the channel",
    "storage: a transfer longer than its GPA ranges closes the channel",
    "storage: GPA ranges outside guest RAM close the channel",
    "storage: an unknown vstor operation closes the channel",
};

static int send_attack(struct vsc_hostile *h, struct vsc_channel *ch, enum attack a, uint64_t pfn)
{
	struct vstor_packet p;
	struct one_range r;

	tur_srb(&p);
	switch (a) {
	case CDB_17:
		p.srb.cdb_length = 17;
		break;
	case SRB_LENGTH:
		p.srb.length = 0x200;
		break;
	case UNKNOWN_OP:
		p.operation = 0x77;
		break;
	case XFER_BEYOND:
		read_srb(&p, &r, pfn);
		p.srb.data_transfer_length = 8192;
		return vsc_channel_send_raw(ch, VMBUS_PKT_DATA_USING_GPA_DIRECT,
					    VMBUS_PKT_FLAG_COMPLETION_REQUESTED, 7, &r, 24, &p,
					    sizeof(p));
	case GPA_OUTSIDE:
		read_srb(&p, &r, h->ram_end / 4096 + 16);
		return vsc_channel_send_raw(ch, VMBUS_PKT_DATA_USING_GPA_DIRECT,
					    VMBUS_PKT_FLAG_COMPLETION_REQUESTED, 7, &r, 24, &p,
					    sizeof(p));
	default:
		break;
	}
	return vsc_channel_send(ch, VMBUS_PKT_DATA_INBAND, VMBUS_PKT_FLAG_COMPLETION_REQUESTED, 7,
				&p, sizeof(p));
}

void vsc_hostile_storage(struct vsc_hostile *h)
{
	struct vsc_channel ch;
	struct vstor_packet p;
	struct one_range r;
	uint64_t gpa;
	const char *bad;

	if (!vsc_vmbus_find_offer(h->bus, &scsi_guid, 0))
		return; /* no disks on this VM: nothing to attack */
	if (h->bus->plat->alloc_pages(h->bus->plat->ctx, 1, &gpa)) {
		report(h, "storage: a page for data", false, "out of pages");
		return;
	}
	for (int a = 0; a < NR_ATTACKS; a++) {
		vsc_memset(&ch, 0, sizeof(ch));
		bad = open_storage(h, &ch);
		if (!bad && send_attack(h, &ch, (enum attack)a, gpa / 4096) != VSC_RING_OK)
			bad = "sending the attack";
		if (!bad)
			bad = vsc_hostile_expect_reoffer(h, &ch, &scsi_guid);
		report(h, attack_names[a], !bad, bad ? "failed: %s" : NULL, bad);
		if (bad)
			break;
		h->bus->nr_pending = 0;
	}
	/* The controller, offered again, still answers and reads. */
	vsc_memset(&ch, 0, sizeof(ch));
	bad = open_storage(h, &ch);
	if (!bad) {
		read_srb(&p, &r, gpa / 4096);
		if (vsc_channel_send_raw(&ch, VMBUS_PKT_DATA_USING_GPA_DIRECT,
					 VMBUS_PKT_FLAG_COMPLETION_REQUESTED, 9, &r, 24, &p,
					 sizeof(p)) != VSC_RING_OK ||
		    !recv_reply(h, &ch, 9, &p))
			bad = "no answer to a READ(10)";
		else if (p.srb.srb_status != SRB_STATUS_SUCCESS ||
			 p.srb.data_transfer_length != 4096)
			bad = "READ(10) failed";
	}
	report(h, "storage: the controller is offered again and reads after the attacks", !bad,
	       bad ? "failed: %s" : NULL, bad);
	if (ch.open)
		vsc_channel_close(&ch);
	h->bus->plat->free_pages(h->bus->plat->ctx, gpa, 1);
}

// SPDX-License-Identifier: MIT
/*
 * The hostile guest (vsc/hostile.h). Every check is judged from the guest's
 * side: an answer with an error status, a rescind of the channel that was
 * broken, and the other channels still open and answering. The host's own
 * view (log lines, still running) is checked by whoever runs the host.
 */
#include <stdarg.h>
#include <stddef.h>

#include <vsc/fmt.h>
#include <vsc/hostile.h>

#include "hostile_internal.h"
#include "util.h"

#define PAGE 4096u
#define NO_ANSWER 0xffffffffu
#define HV_INSUFFICIENT_BUFFERS 0x13u

static const uint16_t services[VSC_HOSTILE_NR_IC] = {IC_MSGTYPE_HEARTBEAT, IC_MSGTYPE_SHUTDOWN,
						     IC_MSGTYPE_TIMESYNC, IC_MSGTYPE_KVPEXCHANGE};
static const char *const names[VSC_HOSTILE_NR_IC] = {"heartbeat", "shutdown", "timesync", "kvp"};
static const struct vmbus_guid guids[VSC_HOSTILE_NR_IC] = {IC_GUID_HEARTBEAT, IC_GUID_SHUTDOWN,
							   IC_GUID_TIMESYNC, IC_GUID_KVP};

static uint8_t big[9000]; /* larger than an IC's largest packet, smaller than its ring */

bool vsc_hostile_report(struct vsc_hostile *h, const char *name, bool ok, const char *fmt, ...)
{
	char detail[200] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsc_vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	if (ok)
		h->passed++;
	else
		h->failed++;
	h->result(h->ctx, name, ok, detail);
	return ok;
}

void vsc_hostile_pump(struct vsc_hostile *h, uint32_t n)
{
	const struct vsc_platform *p = h->bus->plat;

	for (uint32_t i = 0; i < n; i++) {
		vsc_vmbus_poll(h->bus);
		for (int k = 0; k < VSC_HOSTILE_NR_IC; k++)
			if (!h->skip_poll[k] && h->ic[k].ch.open)
				vsc_ic_poll(&h->ic[k]);
		if (!p->wait(p->ctx))
			break;
	}
}

const char *vsc_hostile_expect_reoffer(struct vsc_hostile *h, struct vsc_channel *ch,
				       const struct vmbus_guid *type)
{
	uint32_t relid = ch->relid;

	if (vsc_vmbus_wait(h->bus, VMBUS_MSG_RESCIND_CHANNELOFFER,
			   offsetof(struct vmbus_msg_rescind_offer, child_relid), relid, NULL, 0))
		return "no rescind";
	if (vsc_channel_close(ch))
		return "ring GPADL teardown after the rescind";
	if (vsc_channel_release(h->bus, relid))
		return "RELID_RELEASED";
	/* Wait for the new offer: then the host's log line is out before our result line. */
	for (uint32_t n = 0; !vsc_vmbus_find_offer(h->bus, type, 0) && n < h->bus->wait_limit; n++)
		vsc_hostile_pump(h, 1);
	if (!vsc_vmbus_find_offer(h->bus, type, 0))
		return "not offered again after RELID_RELEASED";
	return NULL;
}

static uint32_t rnd(struct vsc_hostile *h)
{
	h->seed = h->seed * 1103515245u + 12345u;
	return h->seed >> 8;
}

static int open_ic(struct vsc_hostile *h, int k)
{
	struct vsc_ic *ic = &h->ic[k];
	uint32_t n;
	int rc;

	vsc_memset(ic, 0, sizeof(*ic));
	h->skip_poll[k] = false;
	if (k == VSC_HOSTILE_KVP && h->kvp_pool) {
		ic->kvp_daemon = true;
		ic->auto_pool = h->kvp_pool;
		ic->auto_count = h->kvp_count;
	}
	rc = vsc_ic_open(h->bus, ic, services[k]);
	if (rc)
		return rc;
	/* The host opens the conversation with a negotiate request. */
	for (n = 0; !ic->negotiated && n < h->bus->wait_limit; n++)
		vsc_hostile_pump(h, 1);
	return ic->negotiated ? VSC_OK : VSC_ERR_TIMEOUT;
}

/* The ICs other than except (-1: all) are open and not rescinded; NULL or the first that is not. */
static const char *broken_other(const struct vsc_hostile *h, int except)
{
	for (int k = 0; k < VSC_HOSTILE_NR_IC; k++)
		if (k != except && (!h->ic[k].ch.open || h->ic[k].ch.rescinded))
			return names[k];
	return NULL;
}

/* A GPADL created and torn down on relid: the control plane answers. */
static bool gpadl_roundtrip(struct vsc_hostile *h, uint32_t relid)
{
	const struct vsc_platform *p = h->bus->plat;
	uint64_t gpa;
	uint32_t handle;
	bool ok;

	if (p->alloc_pages(p->ctx, 2, &gpa))
		return false;
	ok = vsc_gpadl_create(h->bus, relid, gpa, 2, &handle) == VSC_OK &&
	     vsc_gpadl_teardown(h->bus, relid, handle) == VSC_OK;
	p->free_pages(p->ctx, gpa, 2);
	return ok;
}

/* Everything still works: a GPADL round trip and every IC open. NULL or what failed. */
static const char *alive(struct vsc_hostile *h)
{
	const char *b = broken_other(h, -1);

	if (b)
		return b;
	return gpadl_roundtrip(h, h->ic[VSC_HOSTILE_HB].ch.relid) ? NULL : "GPADL round trip";
}

/* Post a one-range GPADL header; the GPADL_CREATED status, or NO_ANSWER. */
static uint32_t post_gpadl(struct vsc_hostile *h, uint32_t relid, uint32_t handle,
			   uint16_t rangecount, uint32_t byte_count, const uint64_t *pfns,
			   uint32_t npfns, uint32_t announced, bool want_answer)
{
	uint8_t m[VMBUS_MAX_MESSAGE_SIZE];
	struct vmbus_msg_gpadl_header hd;
	struct vmbus_gpa_range r = {.byte_count = byte_count, .byte_offset = 0};
	struct vmbus_msg_gpadl_created c;
	uint32_t len = (uint32_t)(sizeof(hd) + sizeof(r)) + npfns * 8;

	vsc_memset(m, 0, sizeof(m));
	vsc_memset(&hd, 0, sizeof(hd));
	hd.header.msgtype = VMBUS_MSG_GPADL_HEADER;
	hd.child_relid = relid;
	hd.gpadl = handle;
	hd.range_buflen = (uint16_t)(sizeof(r) + announced * 8);
	hd.rangecount = rangecount;
	vsc_memcpy(m, &hd, sizeof(hd));
	vsc_memcpy(m + sizeof(hd), &r, sizeof(r));
	vsc_memcpy(m + sizeof(hd) + sizeof(r), pfns, npfns * 8);
	if (vsc_vmbus_post(h->bus, h->bus->msg_conn_id, m, len))
		return NO_ANSWER;
	if (!want_answer)
		return 0;
	if (vsc_vmbus_wait(h->bus, VMBUS_MSG_GPADL_CREATED,
			   offsetof(struct vmbus_msg_gpadl_created, gpadl), handle, &c, sizeof(c)))
		return NO_ANSWER;
	return c.creation_status;
}

/* An answer with an error status is what a hostile request should get. */
static void refused(const char **bad, uint32_t status, const char *what)
{
	if (!*bad && (status == 0 || status == NO_ANSWER))
		*bad = what;
}

/* A quiet second: the host's log rate limit starts a fresh window. */
static void quiet(struct vsc_hostile *h)
{
	vsc_hostile_pump(h, 1200);
	h->bus->nr_pending = 0;
}

/* ---- The checks ---- */

static bool connect_and_open(struct vsc_hostile *h, const char *name)
{
	int rc = vsc_vmbus_connect(h->bus, VMBUS_VERSION_WIN10_V5_3);
	int k;

	if (rc || h->bus->version < VMBUS_VERSION_WIN10_V5)
		return report(h, name, false, "connect: %d, version %x", rc, h->bus->version);
	rc = vsc_vmbus_request_offers(h->bus);
	if (rc)
		return report(h, name, false, "REQUESTOFFERS: %d", rc);
	for (k = 0; k < VSC_HOSTILE_NR_IC; k++)
		if (!vsc_vmbus_find_offer(h->bus, &guids[k], 0))
			return report(h, name, false, "no %s offer (%u offers)", names[k],
				      h->bus->nr_offers);
	for (k = 0; k < VSC_HOSTILE_NR_IC; k++) {
		rc = open_ic(h, k);
		if (rc)
			return report(h, name, false, "open %s: %d", names[k], rc);
	}
	return report(h, name, true, "VMBus %u.%u, %u offers", h->bus->version >> 16,
		      h->bus->version & 0xffff, h->bus->nr_offers);
}

static void malformed_messages(struct vsc_hostile *h)
{
	uint8_t m[VMBUS_MAX_MESSAGE_SIZE];
	uint32_t sent = 0, type, len;
	const char *b;

	/* Every type with short lengths (zeros), then random bodies of every type. */
	for (type = 0; type < 40; type++) {
		if (type == VMBUS_MSG_INITIATE_CONTACT || type == VMBUS_MSG_UNLOAD)
			continue; /* well-formed, these reset the connection */
		for (len = 0; len < 40; len += 3) {
			vsc_memset(m, 0, sizeof(m));
			vsc_memcpy(m, &type, 4);
			sent += vsc_vmbus_post(h->bus, h->bus->msg_conn_id, m, len) == VSC_OK;
		}
		vsc_hostile_pump(h, 1);
	}
	for (int i = 0; i < 500; i++) {
		for (uint32_t k = 0; k < sizeof(m); k++)
			m[k] = (uint8_t)rnd(h);
		type = rnd(h) % VMBUS_MSG_COUNT;
		if (type == VMBUS_MSG_INITIATE_CONTACT || type == VMBUS_MSG_UNLOAD)
			type = VMBUS_MSG_INVALID;
		vsc_memcpy(m, &type, 4);
		len = 1 + rnd(h) % VMBUS_MAX_MESSAGE_SIZE;
		sent += vsc_vmbus_post(h->bus, h->bus->msg_conn_id, m, len) == VSC_OK;
		if (i % 16 == 0)
			vsc_hostile_pump(h, 1);
	}
	quiet(h);
	b = alive(h);
	report(h, "malformed and random channel messages are dropped", !b,
	       b ? "%u posted, then %s broken" : "%u posted, channels intact", sent, b);
}

static void gpadls_outside_ram(struct vsc_hostile *h)
{
	const struct vsc_platform *p = h->bus->plat;
	uint32_t relid = h->ic[VSC_HOSTILE_HB].ch.relid, tried = 0;
	uint64_t gpa, end_pfn = h->ram_end / PAGE, mixed[4];
	struct {
		const char *what;
		uint64_t pfn;
	} cases[] = {
	    {"the first page past RAM", end_pfn},
	    {"a page far past RAM", end_pfn + 0x10000},
	    {"the local APIC page", 0xFEE00},
	    {"PFN 2^40", 1ull << 40},
	    {"PFN 2^60 (the GPA overflows)", 1ull << 60},
	};
	const char *bad = NULL;

	if (p->alloc_pages(p->ctx, 1, &gpa))
		return (void)report(h, "GPADLs naming pages outside guest RAM are refused", false,
				    "no memory");
	for (uint32_t i = 0; i < sizeof(cases) / sizeof(cases[0]) && !bad; i++) {
		if (cases[i].pfn == 0xFEE00 && h->ram_end > 0xFEE00000ull)
			continue;
		refused(&bad,
			post_gpadl(h, relid, h->next_handle++, 1, PAGE, &cases[i].pfn, 1, 1, true),
			cases[i].what);
		tried++;
	}
	/* One bad page among good ones. */
	mixed[0] = mixed[2] = mixed[3] = gpa / PAGE;
	mixed[1] = end_pfn;
	if (!bad) {
		refused(&bad,
			post_gpadl(h, relid, h->next_handle++, 1, 4 * PAGE, mixed, 4, 4, true),
			"one bad page among good ones");
		tried++;
	}
	p->free_pages(p->ctx, gpa, 1);
	if (!bad)
		bad = alive(h);
	if (bad)
		report(h, "GPADLs naming pages outside guest RAM are refused", false,
		       "not refused or broken: %s", bad);
	else
		report(h, "GPADLs naming pages outside guest RAM are refused", true,
		       "%u GPADLs refused", tried);
}

static void gpadl_layouts(struct vsc_hostile *h)
{
	const struct vsc_platform *p = h->bus->plat;
	uint32_t relid = h->ic[VSC_HOSTILE_HB].ch.relid;
	uint64_t gpa, pfn;
	const char *bad = NULL;

	if (p->alloc_pages(p->ctx, 1, &gpa))
		return (void)report(h, "GPADLs with bad layouts are refused", false, "no memory");
	pfn = gpa / PAGE;
	refused(&bad, post_gpadl(h, relid, h->next_handle++, 2, PAGE, &pfn, 1, 1, true),
		"two ranges");
	refused(&bad, post_gpadl(h, relid, h->next_handle++, 1, 9 * PAGE, &pfn, 1, 1, true),
		"byte count larger than the page list");
	refused(&bad, post_gpadl(h, relid, h->next_handle++, 1, 0, &pfn, 1, 1, true),
		"zero byte count");
	refused(&bad, post_gpadl(h, 1999, h->next_handle++, 1, PAGE, &pfn, 1, 1, true),
		"unknown relid");
	/* The handle of a ring in use: dropped, the ring stays. */
	post_gpadl(h, relid, h->ic[VSC_HOSTILE_HB].ch.gpadl, 1, PAGE, &pfn, 1, 1, false);
	{
		/* A body for a GPADL nobody started. */
		struct vmbus_msg_gpadl_body b = {.header.msgtype = VMBUS_MSG_GPADL_BODY,
						 .gpadl = 0x999};
		uint8_t m[VMBUS_MAX_MESSAGE_SIZE];

		vsc_memset(m, 0, sizeof(m));
		vsc_memcpy(m, &b, sizeof(b));
		vsc_vmbus_post(h->bus, h->bus->msg_conn_id, m, sizeof(m));
	}
	p->free_pages(p->ctx, gpa, 1);
	vsc_hostile_pump(h, 20);
	if (!bad)
		bad = alive(h);
	report(h, "GPADLs with bad layouts are refused", !bad, bad ? "failed: %s" : NULL, bad);
}

static uint32_t open_raw(struct vsc_hostile *h, uint32_t relid, uint32_t gpadl, uint32_t vp,
			 uint32_t offset)
{
	struct vmbus_msg_open_channel m;
	struct vmbus_msg_open_result r;

	vsc_memset(&m, 0, sizeof(m));
	m.header.msgtype = VMBUS_MSG_OPENCHANNEL;
	m.child_relid = relid;
	m.openid = h->next_handle++;
	m.ringbuffer_gpadlhandle = gpadl;
	m.target_vp = vp;
	m.downstream_ringbuffer_pageoffset = offset;
	if (vsc_vmbus_post(h->bus, h->bus->msg_conn_id, &m, sizeof(m)) ||
	    vsc_vmbus_wait(h->bus, VMBUS_MSG_OPENCHANNEL_RESULT,
			   offsetof(struct vmbus_msg_open_result, child_relid), relid, &r,
			   sizeof(r)))
		return NO_ANSWER;
	return r.status;
}

static void bad_opens(struct vsc_hostile *h)
{
	const struct vsc_platform *p = h->bus->plat;
	struct vsc_ic *ts = &h->ic[VSC_HOSTILE_TS];
	uint32_t relid = ts->ch.relid, handle = 0;
	static const uint32_t offsets[] = {0, 1, 7, 8, 100};
	struct vmbus_ring_header *hdr;
	const char *bad = NULL;
	uint64_t gpa;
	int rc;

	if (vsc_channel_close(&ts->ch))
		return (void)report(h, "OPENCHANNEL with bad parameters is refused", false,
				    "closing timesync failed");
	if (p->alloc_pages(p->ctx, 8, &gpa) ||
	    vsc_gpadl_create(h->bus, relid, gpa, 8, &handle) != VSC_OK)
		return (void)report(h, "OPENCHANNEL with bad parameters is refused", false,
				    "no ring GPADL");
	for (uint32_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++)
		refused(&bad, open_raw(h, relid, handle, 0, offsets[i]), "bad ring page offset");
	refused(&bad, open_raw(h, relid, 0xdead, 0, 4), "unknown GPADL");
	refused(&bad, open_raw(h, relid, handle, 4096, 4), "target VP 4096");
	refused(&bad, open_raw(h, 1500, handle, 0, 4), "unknown relid");
	refused(&bad, open_raw(h, h->ic[VSC_HOSTILE_HB].ch.relid, handle, 0, 4),
		"another channel's GPADL on an open channel");
	/* The index the host will own starts out of bounds. */
	hdr = p->map(p->ctx, gpa, PAGE);
	if (hdr) {
		hdr->read_index = 0x7ffffff0;
		refused(&bad, open_raw(h, relid, handle, 0, 4),
			"ring read index out of bounds at open");
	}
	vsc_gpadl_teardown(h->bus, relid, handle);
	p->free_pages(p->ctx, gpa, 8);
	rc = open_ic(h, VSC_HOSTILE_TS);
	if (!bad && rc)
		bad = "a proper open afterwards";
	if (!bad)
		bad = alive(h);
	report(h, "OPENCHANNEL with bad offsets, GPADLs, VP, relid or ring indices is refused",
	       !bad, bad ? "failed: %s" : NULL, bad);
}

static void out_of_place(struct vsc_hostile *h)
{
	uint32_t hb = h->ic[VSC_HOSTILE_HB].ch.relid;
	struct vmbus_msg_close_channel c = {.header.msgtype = VMBUS_MSG_CLOSECHANNEL,
					    .child_relid = 1999};
	struct vmbus_msg_relid_released rr = {.header.msgtype = VMBUS_MSG_RELID_RELEASED,
					      .child_relid = hb};
	struct vmbus_msg_gpadl_teardown td = {
	    .header.msgtype = VMBUS_MSG_GPADL_TEARDOWN, .child_relid = hb, .gpadl = 0x4242};
	struct vmbus_msg_header ro = {.msgtype = VMBUS_MSG_REQUESTOFFERS};
	struct vmbus_msg_modifychannel mc = {
	    .header.msgtype = VMBUS_MSG_MODIFYCHANNEL, .child_relid = hb, .target_vp = 999};
	struct vmbus_msg_modifychannel_response mr;
	const char *bad = NULL;
	uint32_t conn = h->bus->msg_conn_id;

	vsc_vmbus_post(h->bus, conn, &c, sizeof(c));
	vsc_vmbus_post(h->bus, conn, &rr, sizeof(rr));
	vsc_vmbus_post(h->bus, conn, &td, sizeof(td));
	vsc_vmbus_post(h->bus, conn, &ro, sizeof(ro));
	vsc_vmbus_post(h->bus, conn, &mc, sizeof(mc));
	if (h->bus->version >= VMBUS_VERSION_WIN10_V5_3) {
		if (vsc_vmbus_wait(h->bus, VMBUS_MSG_MODIFYCHANNEL_RESPONSE,
				   offsetof(struct vmbus_msg_modifychannel_response, child_relid),
				   hb, &mr, sizeof(mr)))
			bad = "no MODIFYCHANNEL answer";
		else if (!mr.status)
			bad = "MODIFYCHANNEL to VP 999 accepted";
	}
	vsc_hostile_pump(h, 20);
	if (!bad)
		bad = alive(h);
	report(h, "out-of-place CLOSECHANNEL, RELID_RELEASED, TEARDOWN, REQUESTOFFERS are ignored",
	       !bad, bad ? "failed: %s" : NULL, bad);
}

/*
 * The host must rescind channel k; the guest lets go of it, the host offers
 * the device again, and it opens and negotiates as before.
 */
static void expect_rescind(struct vsc_hostile *h, int k, const char *name)
{
	struct vsc_ic *ic = &h->ic[k];
	uint32_t relid = ic->ch.relid, n;
	const char *b;
	int rc;

	if (vsc_vmbus_wait(h->bus, VMBUS_MSG_RESCIND_CHANNELOFFER,
			   offsetof(struct vmbus_msg_rescind_offer, child_relid), relid, NULL, 0))
		return (void)report(h, name, false, "no rescind of %s (relid %u)", names[k], relid);
	h->skip_poll[k] = true;
	rc = vsc_channel_close(&ic->ch);
	if (rc)
		return (void)report(h, name, false, "ring GPADL teardown after rescind: %d", rc);
	rc = vsc_channel_release(h->bus, relid);
	for (n = 0; !rc && !vsc_vmbus_find_offer(h->bus, &guids[k], 0) && n < h->bus->wait_limit;
	     n++)
		vsc_hostile_pump(h, 1);
	if (rc || !vsc_vmbus_find_offer(h->bus, &guids[k], 0))
		return (void)report(h, name, false, "%s not offered again after RELID_RELEASED",
				    names[k]);
	rc = open_ic(h, k);
	if (rc)
		return (void)report(h, name, false, "reopening %s: %d", names[k], rc);
	b = broken_other(h, k);
	report(h, name, !b, b ? "%s broke too" : "%s rescinded, offered again, reopened",
	       b ? b : names[k]);
}

static void ring_attacks(struct vsc_hostile *h)
{
	struct vsc_ic *ts = &h->ic[VSC_HOSTILE_TS], *hb = &h->ic[VSC_HOSTILE_HB];
	struct vsc_ic *kvp = &h->ic[VSC_HOSTILE_KVP];
	const struct vsc_platform *p = h->bus->plat;
	uint32_t pos, relid;
	uint8_t junk[64];
	bool sig;
	int rc;

	quiet(h);
	ts->ch.out.hdr->write_index = 0x7fffff00;
	p->signal_event(p->ctx, ts->ch.connection_id);
	expect_rescind(h, VSC_HOSTILE_TS,
		       "guest-to-host write index out of bounds closes the channel");

	quiet(h);
	vsc_memset(junk, 0, sizeof(junk));
	pos = ts->ch.out.hdr->write_index;
	vsc_ring_write(&ts->ch.out, VMBUS_PKT_DATA_INBAND, 0, 1, junk, sizeof(junk), &sig);
	((struct vmbus_packet_descriptor *)(ts->ch.out.data + pos))->len8 = 0xffff;
	p->signal_event(p->ctx, ts->ch.connection_id);
	expect_rescind(h, VSC_HOSTILE_TS,
		       "packet descriptor past the written data closes the channel");

	quiet(h);
	rc = vsc_channel_send(&ts->ch, VMBUS_PKT_DATA_INBAND, 0, 2, big, sizeof(big));
	if (rc != VSC_RING_OK)
		report(h, "oversized packet closes the channel", false, "could not write: %d", rc);
	else
		expect_rescind(h, VSC_HOSTILE_TS, "oversized packet closes the channel");

	/* The host finds it when it next writes: the heartbeat's next request. */
	quiet(h);
	h->skip_poll[VSC_HOSTILE_HB] = true;
	hb->ch.in.hdr->read_index = 0xfffffff8;
	expect_rescind(h, VSC_HOSTILE_HB,
		       "host-to-guest read index out of bounds closes the channel");

	/* Tearing down the ring GPADL under an open channel closes it (no rescind). */
	quiet(h);
	relid = kvp->ch.relid;
	rc = vsc_gpadl_teardown(h->bus, relid, kvp->ch.gpadl);
	vsc_channel_forget(&kvp->ch);
	if (rc)
		report(h, "ring GPADL torn down while open closes the channel", false,
		       "no TORNDOWN: %d", rc);
	else {
		const char *b;

		rc = open_ic(h, VSC_HOSTILE_KVP);
		b = rc ? "kvp reopen" : alive(h);
		report(h, "ring GPADL torn down while open closes the channel", !b,
		       b ? "failed: %s" : NULL, b);
	}
}

static void floods(struct vsc_hostile *h)
{
	const struct vsc_platform *p = h->bus->plat;
	struct vmbus_msg_header ro = {.msgtype = VMBUS_MSG_REQUESTOFFERS};
	struct vsc_ic *kvp = &h->ic[VSC_HOSTILE_KVP];
	uint32_t ok = 0, refused = 0, other = 0, n, written = 0, st;
	uint8_t small[8] = {0};
	uint64_t gpa, pfn;
	const char *b;
	bool sig;

	quiet(h);
	/* Posts without waiting for anything: the hypervisor's queue pushes back. */
	for (int i = 0; i < 10000; i++) {
		st = p->post_message(p->ctx, h->bus->msg_conn_id, &ro, sizeof(ro));
		if (st == 0)
			ok++;
		else if (st == HV_INSUFFICIENT_BUFFERS)
			refused++;
		else
			other++;
	}
	quiet(h);
	b = alive(h);
	report(h, "a flood of 10000 posted messages", !other && !b,
	       "%u accepted, %u refused with INSUFFICIENT_BUFFERS, %u other%s%s", ok, refused,
	       other, b ? "; broken: " : "", b ? b : "");

	/* Signals coalesce. */
	other = 0;
	for (int i = 0; i < 20000; i++)
		other += p->signal_event(p->ctx, h->ic[VSC_HOSTILE_HB].ch.connection_id) != 0;
	quiet(h);
	b = alive(h);
	report(h, "a flood of 20000 HvSignalEvent calls", !other && !b, "%u failed%s%s", other,
	       b ? "; broken: " : "", b ? b : "");

	/* A ring full of packets the device does not expect: drained and dropped. */
	while (vsc_ring_write(&kvp->ch.out, VMBUS_PKT_DATA_INBAND, 0, 7, small, sizeof(small),
			      &sig) == VSC_RING_OK)
		written++;
	p->signal_event(p->ctx, kvp->ch.connection_id);
	for (n = 0;
	     kvp->ch.out.hdr->read_index != kvp->ch.out.hdr->write_index && n < h->bus->wait_limit;
	     n++)
		vsc_hostile_pump(h, 1);
	quiet(h);
	b = kvp->ch.out.hdr->read_index != kvp->ch.out.hdr->write_index ? "not drained" : alive(h);
	report(h, "a ring full of unexpected packets is drained", !b,
	       b ? "%u packets, %s" : "%u packets", written, b);

	/* GPADL headers that never complete, past any sane limit. */
	if (p->alloc_pages(p->ctx, 1, &gpa))
		return (void)report(h, "a flood of unfinished GPADLs", false, "no memory");
	pfn = gpa / PAGE;
	for (n = 0; n < 5000; n++)
		if (post_gpadl(h, h->ic[VSC_HOSTILE_HB].ch.relid, 0x200000 + n, 1, 2 * PAGE, &pfn,
			       1, 2, false) == NO_ANSWER)
			break;
	/* A complete GPADL still gets an answer, whatever it is. */
	st = post_gpadl(h, h->ic[VSC_HOSTILE_HB].ch.relid, h->next_handle++, 1, PAGE, &pfn, 1, 1,
			true);
	p->free_pages(p->ctx, gpa, 1);
	b = broken_other(h, -1);
	report(h, "a flood of 5000 unfinished GPADLs", n == 5000 && st != NO_ANSWER && !b,
	       "%u posted, then a complete one answered %x%s%s", n, st, b ? "; broken: " : "",
	       b ? b : "");
}

static void unload_and_reconnect(struct vsc_hostile *h)
{
	int rc = vsc_vmbus_unload(h->bus);

	/* The host closed every channel; what the guest held is its own again. */
	for (int k = 0; k < VSC_HOSTILE_NR_IC; k++)
		vsc_channel_forget(&h->ic[k].ch);
	h->bus->nr_pending = 0;
	if (rc)
		return (void)report(h, "UNLOAD, then connect and open again", false, "UNLOAD: %d",
				    rc);
	connect_and_open(h, "UNLOAD, then connect and open again");
}

static void heartbeat_still_answered(struct vsc_hostile *h)
{
	struct vsc_ic *hb = &h->ic[VSC_HOSTILE_HB];
	uint32_t before = hb->packets, n;

	for (n = 0; hb->packets == before && n < h->bus->wait_limit; n++)
		vsc_hostile_pump(h, 1);
	report(h, "heartbeat requests still arrive and are answered", hb->packets != before,
	       "seq %u", (unsigned)hb->last_seq);
}

uint32_t vsc_hostile_run(struct vsc_hostile *h)
{
	h->passed = h->failed = 0;
	h->next_handle = 0x7000000;
	h->seed = 12345;
	vsc_memset(h->ic, 0, sizeof(h->ic));
	vsc_memset(h->skip_poll, 0, sizeof(h->skip_poll));
	if (!connect_and_open(h, "connect, four IC offers, open and negotiate"))
		return h->failed;
	if (h->vpci_only) {
		vsc_hostile_vpci(h);
		return h->failed;
	}
	malformed_messages(h);
	gpadls_outside_ram(h);
	gpadl_layouts(h);
	bad_opens(h);
	out_of_place(h);
	ring_attacks(h);
	floods(h);
	unload_and_reconnect(h);
	heartbeat_still_answered(h);
	vsc_hostile_storage(h);
	vsc_hostile_net(h);
	vsc_hostile_vpci(h);
	return h->failed;
}

// SPDX-License-Identifier: MIT
/*
 * Guest-side VMBus client (vsc/vmbus_client.h). Freestanding: no libc, all
 * memory comes from the platform. Follows what Linux 6.1's hv_vmbus sends,
 * so the same code exercises the server the way a real guest does.
 */
#include <stddef.h>

#include <vsc/vmbus_client.h>

#include "util.h"

#define PAGE 4096u
#define FIRST_GPADL_HANDLE 0xE1E10 /* where Linux starts counting */

/* Linux 6.1's vmbus_versions[], newest first. */
static const uint32_t linux_versions[] = {
    VMBUS_VERSION_WIN10_V5_3, VMBUS_VERSION_WIN10_V5_2, VMBUS_VERSION_WIN10_V5_1,
    VMBUS_VERSION_WIN10_V5,   VMBUS_VERSION_WIN10_V4_1, VMBUS_VERSION_WIN10,
    VMBUS_VERSION_WIN8_1,     VMBUS_VERSION_WIN8,
};

static void *alloc(struct vsc_vmbus *bus, uint32_t pages, uint64_t *gpa)
{
	const struct vsc_platform *p = bus->plat;

	if (p->alloc_pages(p->ctx, pages, gpa))
		return NULL;
	return p->map(p->ctx, *gpa, (uint64_t)pages * PAGE);
}

int vsc_vmbus_init(struct vsc_vmbus *bus, const struct vsc_platform *plat)
{
	vsc_memset(bus, 0, sizeof(*bus));
	bus->plat = plat;
	bus->wait_limit = 5000;
	bus->next_gpadl = FIRST_GPADL_HANDLE;
	bus->next_openid = 1;
	bus->simp = alloc(bus, 1, &bus->simp_gpa);
	bus->siefp = alloc(bus, 1, &bus->siefp_gpa);
	/* Monitor pages and the < 5.0 interrupt page: allocated like Linux, unused. */
	if (!bus->simp || !bus->siefp || !alloc(bus, 3, &bus->monitor_gpa))
		return VSC_ERR_NOMEM;
	plat->setup_synic(plat->ctx, bus->simp_gpa, bus->siefp_gpa, VMBUS_MESSAGE_SINT);
	return VSC_OK;
}

void vsc_vmbus_fini(struct vsc_vmbus *bus)
{
	const struct vsc_platform *p = bus->plat;

	p->setup_synic(p->ctx, 0, 0, VMBUS_MESSAGE_SINT);
	p->free_pages(p->ctx, bus->simp_gpa, 1);
	p->free_pages(p->ctx, bus->siefp_gpa, 1);
	p->free_pages(p->ctx, bus->monitor_gpa, 3);
}

/* ---- Messages and events in ---- */

static struct vsc_channel *channel_of(struct vsc_vmbus *bus, uint32_t relid)
{
	for (uint32_t i = 0; i < VSC_MAX_OFFERS; i++)
		if (bus->channels[i] && bus->channels[i]->relid == relid)
			return bus->channels[i];
	return NULL;
}

static void handle(struct vsc_vmbus *bus, const uint8_t *m, uint32_t size)
{
	uint32_t type, relid;
	struct vsc_pending *p;

	if (size < sizeof(struct vmbus_msg_header))
		return;
	vsc_memcpy(&type, m, 4);
	bus->messages_seen++;
	switch (type) {
	case VMBUS_MSG_OFFERCHANNEL: {
		struct vsc_offer *o = NULL;

		if (size < sizeof(struct vmbus_msg_offer_channel))
			return;
		vsc_memcpy(&relid, m + offsetof(struct vmbus_msg_offer_channel, child_relid), 4);
		for (uint32_t i = 0; i < bus->nr_offers; i++)
			if (bus->offers[i].msg.child_relid == relid)
				o = &bus->offers[i];
		if (!o && bus->nr_offers < VSC_MAX_OFFERS)
			o = &bus->offers[bus->nr_offers++];
		if (o) {
			vsc_memcpy(&o->msg, m, sizeof(o->msg));
			o->rescinded = false;
		}
		return;
	}
	case VMBUS_MSG_RESCIND_CHANNELOFFER: {
		struct vsc_channel *ch;

		if (size < sizeof(struct vmbus_msg_rescind_offer))
			return;
		vsc_memcpy(&relid, m + 8, 4);
		for (uint32_t i = 0; i < bus->nr_offers; i++)
			if (bus->offers[i].msg.child_relid == relid)
				bus->offers[i].rescinded = true;
		ch = channel_of(bus, relid);
		if (ch)
			ch->rescinded = true;
		break; /* also kept as an answer, for tests that wait for it */
	}
	case VMBUS_MSG_ALLOFFERS_DELIVERED:
		bus->all_offers = true;
		return;
	case VMBUS_MSG_UNLOAD_RESPONSE:
		bus->unloaded = true;
		break;
	default:
		break;
	}
	if (bus->nr_pending == VSC_MAX_PENDING) {
		/* Drop the oldest: a host that floods us loses its own answers. */
		for (uint32_t i = 1; i < VSC_MAX_PENDING; i++)
			bus->pending[i - 1] = bus->pending[i];
		bus->nr_pending--;
	}
	p = &bus->pending[bus->nr_pending++];
	p->size = size;
	vsc_memcpy(p->payload, m, size);
}

void vsc_vmbus_poll(struct vsc_vmbus *bus)
{
	uint8_t *slot = bus->simp + VMBUS_MESSAGE_SINT * 256;
	uint32_t *flags = (uint32_t *)(bus->siefp + VMBUS_MESSAGE_SINT * 256);
	uint8_t buf[VMBUS_MAX_MESSAGE_SIZE];

	for (;;) {
		uint32_t size, mflags;

		if (!vsc_load32(slot))
			break;
		size = slot[4];
		mflags = slot[5];
		if (size > VMBUS_MAX_MESSAGE_SIZE)
			size = VMBUS_MAX_MESSAGE_SIZE;
		vsc_memcpy(buf, slot + 16, size);
		/* Free the slot, then EOM if the host has more queued (vmbus_signal_eom). */
		vsc_store32(slot, 0);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (mflags & 1)
			bus->plat->eom(bus->plat->ctx);
		handle(bus, buf, size);
	}
	for (uint32_t w = 0; w < 2048 / 32; w++) {
		uint32_t bits = __atomic_exchange_n(&flags[w], 0, __ATOMIC_SEQ_CST);

		while (bits) {
			uint32_t bit = (uint32_t)__builtin_ctz(bits);
			struct vsc_channel *ch = channel_of(bus, w * 32 + bit);

			bits &= bits - 1;
			if (ch) {
				ch->events++;
				if (ch->on_event)
					ch->on_event(ch, ch->ctx);
			}
		}
	}
}

static bool take(struct vsc_vmbus *bus, uint32_t msgtype, uint32_t off, uint32_t match, void *out,
		 uint32_t out_size)
{
	for (uint32_t i = 0; i < bus->nr_pending; i++) {
		struct vsc_pending *p = &bus->pending[i];
		uint32_t type, v = 0;

		vsc_memcpy(&type, p->payload, 4);
		if (type != msgtype)
			continue;
		if (off) {
			if (off + 4 > p->size)
				continue;
			vsc_memcpy(&v, p->payload + off, 4);
			if (v != match)
				continue;
		}
		if (out) {
			vsc_memset(out, 0, out_size);
			vsc_memcpy(out, p->payload, p->size < out_size ? p->size : out_size);
		}
		for (uint32_t j = i + 1; j < bus->nr_pending; j++)
			bus->pending[j - 1] = bus->pending[j];
		bus->nr_pending--;
		return true;
	}
	return false;
}

int vsc_vmbus_wait(struct vsc_vmbus *bus, uint32_t msgtype, uint32_t match_off, uint32_t match,
		   void *out, uint32_t out_size)
{
	for (uint32_t n = 0; n < bus->wait_limit; n++) {
		vsc_vmbus_poll(bus);
		if (take(bus, msgtype, match_off, match, out, out_size))
			return VSC_OK;
		if (!bus->plat->wait(bus->plat->ctx))
			break;
	}
	return VSC_ERR_TIMEOUT;
}

/* ---- Messages out ---- */

int vsc_vmbus_post(struct vsc_vmbus *bus, uint32_t connection_id, const void *msg, uint32_t size)
{
	const struct vsc_platform *p = bus->plat;

	for (uint32_t n = 0; n < bus->wait_limit; n++) {
		uint32_t st = p->post_message(p->ctx, connection_id, msg, size);

		bus->last_post_status = st;
		if (st == 0)
			return VSC_OK;
		/* Linux retries these (vmbus_post_msg); anything else is final. */
		if (st != 0x13 /* INSUFFICIENT_BUFFERS */ && st != 0x0B /* INSUFFICIENT_MEMORY */)
			return VSC_ERR_HYPERCALL;
		vsc_vmbus_poll(bus);
		if (!p->wait(p->ctx))
			break;
	}
	return VSC_ERR_TIMEOUT;
}

int vsc_vmbus_try_version(struct vsc_vmbus *bus, uint32_t version)
{
	struct vmbus_msg_initiate_contact m;
	struct vmbus_msg_version_response r;
	uint32_t conn = version >= VMBUS_VERSION_WIN10_V5 ? VMBUS_MESSAGE_CONNECTION_ID_4
							  : VMBUS_MESSAGE_CONNECTION_ID;
	int rc;

	vsc_memset(&m, 0, sizeof(m));
	m.header.msgtype = VMBUS_MSG_INITIATE_CONTACT;
	m.vmbus_version_requested = version;
	m.target_vcpu = bus->plat->vp_index;
	if (version >= VMBUS_VERSION_WIN10_V5)
		m.msg_sint = VMBUS_MESSAGE_SINT;
	else
		m.interrupt_page = bus->monitor_gpa + 2 * PAGE;
	m.monitor_page1 = bus->monitor_gpa;
	m.monitor_page2 = bus->monitor_gpa + PAGE;
	rc = vsc_vmbus_post(bus, conn, &m, sizeof(m));
	/* An unknown connection 4 is how an older host says "not 5.x". */
	if (rc == VSC_ERR_HYPERCALL && bus->last_post_status == 0x12)
		return VSC_ERR_REFUSED;
	if (rc)
		return rc;
	rc = vsc_vmbus_wait(bus, VMBUS_MSG_VERSION_RESPONSE, 0, 0, &r, sizeof(r));
	if (rc)
		return rc;
	if (!r.version_supported)
		return VSC_ERR_REFUSED;
	bus->version = version;
	bus->msg_conn_id =
	    version >= VMBUS_VERSION_WIN10_V5 ? r.msg_conn_id : VMBUS_MESSAGE_CONNECTION_ID;
	return VSC_OK;
}

int vsc_vmbus_connect(struct vsc_vmbus *bus, uint32_t max_version)
{
	for (uint32_t i = 0; i < sizeof(linux_versions) / sizeof(linux_versions[0]); i++) {
		int rc;

		if (linux_versions[i] > max_version)
			continue;
		rc = vsc_vmbus_try_version(bus, linux_versions[i]);
		if (rc != VSC_ERR_REFUSED)
			return rc;
	}
	return VSC_ERR_REFUSED;
}

int vsc_vmbus_request_offers(struct vsc_vmbus *bus)
{
	struct vmbus_msg_header m = {.msgtype = VMBUS_MSG_REQUESTOFFERS};
	int rc = vsc_vmbus_post(bus, bus->msg_conn_id, &m, sizeof(m));

	for (uint32_t n = 0; !rc && !bus->all_offers; n++) {
		vsc_vmbus_poll(bus);
		if (bus->all_offers)
			break;
		if (n >= bus->wait_limit || !bus->plat->wait(bus->plat->ctx))
			return VSC_ERR_TIMEOUT;
	}
	return rc;
}

int vsc_vmbus_unload(struct vsc_vmbus *bus)
{
	struct vmbus_msg_header m = {.msgtype = VMBUS_MSG_UNLOAD};
	int rc = vsc_vmbus_post(bus, bus->msg_conn_id, &m, sizeof(m));

	if (!rc)
		rc = vsc_vmbus_wait(bus, VMBUS_MSG_UNLOAD_RESPONSE, 0, 0, NULL, 0);
	if (!rc) {
		bus->version = 0;
		bus->nr_offers = 0;
		bus->all_offers = false;
	}
	return rc;
}

const struct vsc_offer *vsc_vmbus_find_offer(const struct vsc_vmbus *bus,
					     const struct vmbus_guid *if_type, uint16_t sub_index)
{
	for (uint32_t i = 0; i < bus->nr_offers; i++) {
		const struct vsc_offer *o = &bus->offers[i];

		if (!o->rescinded && o->msg.sub_channel_index == sub_index &&
		    !vsc_memcmp(&o->msg.if_type, if_type, sizeof(*if_type)))
			return o;
	}
	return NULL;
}

/* ---- GPADLs ---- */

int vsc_gpadl_create(struct vsc_vmbus *bus, uint32_t relid, uint64_t gpa, uint32_t pages,
		     uint32_t *handle)
{
	uint8_t msg[VMBUS_MAX_MESSAGE_SIZE];
	struct vmbus_msg_gpadl_header h;
	struct vmbus_gpa_range range;
	struct vmbus_msg_gpadl_created r;
	uint32_t sent, n;
	int rc;

	if (!pages || pages > (0xffffu - sizeof(struct vmbus_gpa_range)) / 8)
		return VSC_ERR_INVALID;
	*handle = bus->next_gpadl++;
	vsc_memset(&h, 0, sizeof(h));
	h.header.msgtype = VMBUS_MSG_GPADL_HEADER;
	h.child_relid = relid;
	h.gpadl = *handle;
	h.rangecount = 1;
	h.range_buflen = (uint16_t)(sizeof(range) + pages * 8);
	range.byte_count = pages * PAGE;
	range.byte_offset = 0;
	n = pages < VMBUS_GPADL_HEADER_PFNS ? pages : (uint32_t)VMBUS_GPADL_HEADER_PFNS;
	vsc_memcpy(msg, &h, sizeof(h));
	vsc_memcpy(msg + sizeof(h), &range, sizeof(range));
	for (uint32_t i = 0; i < n; i++) {
		uint64_t pfn = gpa / PAGE + i;

		vsc_memcpy(msg + sizeof(h) + sizeof(range) + i * 8, &pfn, 8);
	}
	rc = vsc_vmbus_post(bus, bus->msg_conn_id, msg,
			    (uint32_t)(sizeof(h) + sizeof(range)) + n * 8);
	for (sent = n; !rc && sent < pages; sent += n) {
		struct vmbus_msg_gpadl_body b = {.header.msgtype = VMBUS_MSG_GPADL_BODY,
						 .gpadl = *handle};

		n = pages - sent < VMBUS_GPADL_BODY_PFNS ? pages - sent
							 : (uint32_t)VMBUS_GPADL_BODY_PFNS;
		vsc_memcpy(msg, &b, sizeof(b));
		for (uint32_t i = 0; i < n; i++) {
			uint64_t pfn = gpa / PAGE + sent + i;

			vsc_memcpy(msg + sizeof(b) + i * 8, &pfn, 8);
		}
		rc = vsc_vmbus_post(bus, bus->msg_conn_id, msg, (uint32_t)sizeof(b) + n * 8);
	}
	if (rc)
		return rc;
	rc =
	    vsc_vmbus_wait(bus, VMBUS_MSG_GPADL_CREATED,
			   offsetof(struct vmbus_msg_gpadl_created, gpadl), *handle, &r, sizeof(r));
	if (rc)
		return rc;
	return r.creation_status ? VSC_ERR_REFUSED : VSC_OK;
}

int vsc_gpadl_teardown(struct vsc_vmbus *bus, uint32_t relid, uint32_t handle)
{
	struct vmbus_msg_gpadl_teardown m = {
	    .header.msgtype = VMBUS_MSG_GPADL_TEARDOWN, .child_relid = relid, .gpadl = handle};
	int rc = vsc_vmbus_post(bus, bus->msg_conn_id, &m, sizeof(m));

	if (rc)
		return rc;
	return vsc_vmbus_wait(bus, VMBUS_MSG_GPADL_TORNDOWN,
			      offsetof(struct vmbus_msg_gpadl_torndown, gpadl), handle, NULL, 0);
}

/* ---- Channels ---- */

static void track(struct vsc_vmbus *bus, struct vsc_channel *ch, bool add)
{
	for (uint32_t i = 0; i < VSC_MAX_OFFERS; i++) {
		if (add && !bus->channels[i]) {
			bus->channels[i] = ch;
			return;
		}
		if (!add && bus->channels[i] == ch) {
			bus->channels[i] = NULL;
			return;
		}
	}
}

int vsc_channel_open(struct vsc_vmbus *bus, struct vsc_channel *ch, const struct vsc_offer *offer,
		     uint32_t send_pages, uint32_t recv_pages, uint32_t target_vp)
{
	const struct vsc_platform *p = bus->plat;
	struct vmbus_msg_open_channel m;
	struct vmbus_msg_open_result r;
	uint8_t *mem;
	int rc;

	if (send_pages < 2 || recv_pages < 2)
		return VSC_ERR_INVALID;
	vsc_memset(ch, 0, sizeof(*ch));
	ch->bus = bus;
	ch->relid = offer->msg.child_relid;
	ch->connection_id = offer->msg.connection_id;
	ch->ring_pages = send_pages + recv_pages;
	ch->send_pages = send_pages;
	mem = alloc(bus, ch->ring_pages, &ch->ring_gpa);
	if (!mem)
		return VSC_ERR_NOMEM;
	vsc_ring_init(&ch->out, mem, send_pages * PAGE);
	vsc_ring_init(&ch->in, mem + send_pages * PAGE, recv_pages * PAGE);
	rc = vsc_gpadl_create(bus, ch->relid, ch->ring_gpa, ch->ring_pages, &ch->gpadl);
	if (rc)
		goto fail_free;
	vsc_memset(&m, 0, sizeof(m));
	m.header.msgtype = VMBUS_MSG_OPENCHANNEL;
	m.child_relid = ch->relid;
	m.openid = bus->next_openid++;
	m.ringbuffer_gpadlhandle = ch->gpadl;
	m.target_vp = target_vp;
	m.downstream_ringbuffer_pageoffset = send_pages;
	track(bus, ch, true);
	rc = vsc_vmbus_post(bus, bus->msg_conn_id, &m, sizeof(m));
	if (!rc)
		rc = vsc_vmbus_wait(bus, VMBUS_MSG_OPENCHANNEL_RESULT,
				    offsetof(struct vmbus_msg_open_result, child_relid), ch->relid,
				    &r, sizeof(r));
	if (!rc && r.status)
		rc = VSC_ERR_REFUSED;
	if (rc)
		goto fail_gpadl;
	ch->open = true;
	return VSC_OK;
fail_gpadl:
	track(bus, ch, false);
	vsc_gpadl_teardown(bus, ch->relid, ch->gpadl);
fail_free:
	p->free_pages(p->ctx, ch->ring_gpa, ch->ring_pages);
	return rc;
}

int vsc_channel_close(struct vsc_channel *ch)
{
	struct vsc_vmbus *bus = ch->bus;
	struct vmbus_msg_close_channel m = {.header.msgtype = VMBUS_MSG_CLOSECHANNEL,
					    .child_relid = ch->relid};
	int rc = VSC_OK;

	if (!ch->open)
		return VSC_ERR_INVALID;
	ch->open = false;
	track(bus, ch, false);
	if (!ch->rescinded)
		rc = vsc_vmbus_post(bus, bus->msg_conn_id, &m, sizeof(m));
	if (!rc)
		rc = vsc_gpadl_teardown(bus, ch->relid, ch->gpadl);
	bus->plat->free_pages(bus->plat->ctx, ch->ring_gpa, ch->ring_pages);
	return rc;
}

void vsc_channel_forget(struct vsc_channel *ch)
{
	struct vsc_vmbus *bus = ch->bus;

	if (!ch->open)
		return;
	ch->open = false;
	track(bus, ch, false);
	bus->plat->free_pages(bus->plat->ctx, ch->ring_gpa, ch->ring_pages);
}

int vsc_channel_release(struct vsc_vmbus *bus, uint32_t relid)
{
	struct vmbus_msg_relid_released m = {.header.msgtype = VMBUS_MSG_RELID_RELEASED,
					     .child_relid = relid};

	return vsc_vmbus_post(bus, bus->msg_conn_id, &m, sizeof(m));
}

int vsc_channel_send(struct vsc_channel *ch, uint16_t type, uint16_t flags, uint64_t trans_id,
		     const void *data, uint32_t len)
{
	return vsc_channel_send_raw(ch, type, flags, trans_id, NULL, 0, data, len);
}

int vsc_channel_send_raw(struct vsc_channel *ch, uint16_t type, uint16_t flags, uint64_t trans_id,
			 const void *hdr, uint32_t hdr_len, const void *data, uint32_t len)
{
	bool signal;
	int rc;

	if (!ch->open)
		return VSC_ERR_INVALID;
	rc = vsc_ring_write_raw(&ch->out, type, flags, trans_id, hdr, hdr_len, data, len, &signal);
	if (rc == VSC_RING_OK && signal)
		ch->bus->plat->signal_event(ch->bus->plat->ctx, ch->connection_id);
	return rc;
}

int vsc_channel_recv(struct vsc_channel *ch, void *buf, uint32_t max, uint32_t *len)
{
	int rc;

	if (!ch->open)
		return VSC_ERR_INVALID;
	rc = vsc_ring_read(&ch->in, buf, max, len);
	if (rc == VSC_RING_OK && vsc_ring_read_done(&ch->in))
		ch->bus->plat->signal_event(ch->bus->plat->ctx, ch->connection_id);
	return rc;
}

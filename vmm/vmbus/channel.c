// SPDX-License-Identifier: MIT
/*
 * Channels: offers, the open/close state machine, rescinds, and serving an
 * open channel's rings when the guest signals it. The VSP-facing calls of
 * vmbus_vsp.h live here too.
 *
 * A channel object outlives its VSP callbacks: close runs when the guest (or
 * a protocol error) closes it, released when the object is freed, which for
 * an offered channel is after the guest acknowledged the rescind
 * (RELID_RELEASED), on unload, or when the server goes away.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmbus_internal.h"

#define OPEN_FAILED 0xC0000001u /* STATUS_UNSUCCESSFUL */

struct vmbus_channel *vmbus_find_channel(struct vmbus_server *s, uint32_t relid)
{
	if (!relid)
		return NULL;
	for (struct vmbus_channel *c = s->channels; c; c = c->next)
		if (c->relid == relid)
			return c;
	return NULL;
}

static uint32_t alloc_relid(struct vmbus_server *s)
{
	for (uint32_t relid = 1; relid <= VMBUS_MAX_RELID; relid++)
		if (!vmbus_find_channel(s, relid))
			return relid;
	return 0;
}

static const char *kind(const struct vmbus_channel *c)
{
	return c->primary ? "sub-channel" : "channel";
}

#define CHANNEL_FAILS_ALWAYS_LOGGED 16

void vmbus_channel_log(struct vmbus_channel *c, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vmbus_log(c->server, "relid %u (%s %u): %s", c->relid, kind(c), c->subchannel_index, msg);
}

/* ---- Offers ---- */

void vmbus_send_offer(struct vmbus_channel *c)
{
	struct vmbus_msg_offer_channel m;

	if (!c->relid)
		c->relid = alloc_relid(c->server);
	if (!c->relid) {
		vmbus_log(c->server, "no free relid: a channel stays unoffered");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.header.msgtype = VMBUS_MSG_OFFERCHANNEL;
	m.if_type = c->offer.if_type;
	m.if_instance = c->offer.if_instance;
	m.chn_flags = c->offer.chn_flags;
	m.mmio_megabytes = c->offer.mmio_megabytes;
	memcpy(m.user_def, c->offer.user_def, sizeof(m.user_def));
	m.sub_channel_index = c->subchannel_index;
	m.child_relid = c->relid;
	/* No monitor (MNF): the guest signals with HvSignalEvent on connection_id. */
	m.monitorid = 0;
	m.monitor_allocated = 0;
	m.is_dedicated_interrupt = 1;
	m.connection_id = VMBUS_CHANNEL_CONNECTION_ID(c->relid);
	c->state = VMBUS_CH_OFFERED;
	vmbus_send_msg(c->server, &m, sizeof(m));
}

static int add_channel(struct vmbus_server *s, const struct vmbus_offer_params *p,
		       struct vmbus_channel *primary, uint16_t index, struct vmbus_channel **out)
{
	struct vmbus_channel *c, **pp;

	*out = NULL;
	if (!p->ops || !p->ops->packet)
		return -EINVAL;
	if (p->max_packet_size > VMBUS_MAX_MAX_PACKET)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->server = s;
	c->offer = *p;
	if (!c->offer.max_packet_size)
		c->offer.max_packet_size = VMBUS_DEFAULT_MAX_PACKET;
	c->pkt_buf = malloc(c->offer.max_packet_size);
	if (!c->pkt_buf) {
		free(c);
		return -ENOMEM;
	}
	c->primary = primary;
	c->subchannel_index = index;
	c->event_fd = -1;
	c->stop_fd = -1;
	c->poll_fd = -1;
	c->state = VMBUS_CH_IDLE;
	for (pp = &s->channels; *pp; pp = &(*pp)->next)
		; /* keep offer order */
	*pp = c;
	if (s->conn == VMBUS_OFFERS_SENT)
		vmbus_send_offer(c);
	*out = c;
	return 0;
}

int vmbus_offer(struct vmbus_server *s, const struct vmbus_offer_params *p,
		struct vmbus_channel **out)
{
	return add_channel(s, p, NULL, 0, out);
}

int vmbus_offer_subchannel(struct vmbus_channel *primary, uint16_t index,
			   const struct vmbus_vsp_ops *ops, void *ctx, struct vmbus_channel **out)
{
	struct vmbus_offer_params p;

	*out = NULL;
	if (primary->primary || index == 0 || primary->removing)
		return -EINVAL;
	for (struct vmbus_channel *c = primary->server->channels; c; c = c->next)
		if (c->primary == primary && c->subchannel_index == index && !c->removing)
			return -EEXIST; /* a removed one may wait for the guest's release */
	p = primary->offer;
	p.ops = ops;
	p.ctx = ctx;
	return add_channel(primary->server, &p, primary, index, out);
}

/* ---- Serving an open channel ---- */

void vmbus_signal_guest(struct vmbus_channel *c)
{
	uint32_t vp = __atomic_load_n(&c->target_vp, __ATOMIC_RELAXED);
	int ret;

	if (c->in_batch && vmbus_on_thread(c)) {
		c->signal_pending = true; /* once, at the end of the batch */
		return;
	}
	if (vmbus_on_thread(c))
		c->tstats.host_signals++;
	ret = WinHvSignalEvent(c->server->partition, vp, c->server->sint, c->relid);
	if (ret)
		vmbus_channel_log(c, "signalling the guest failed: %s", WinHvStatusString(ret));
}

static void kick(struct vmbus_channel *c)
{
	uint64_t one = 1;

	if (c->event_fd >= 0 && write(c->event_fd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the wake-up is pending */
	}
}

static void send_rescind(struct vmbus_channel *c)
{
	struct vmbus_msg_rescind_offer m = {.header.msgtype = VMBUS_MSG_RESCIND_CHANNELOFFER,
					    .child_relid = c->relid};

	c->state = VMBUS_CH_RESCINDED;
	vmbus_send_msg(c->server, &m, sizeof(m));
}

void vmbus_channel_fail(struct vmbus_channel *c, const char *why)
{
	if (c->state != VMBUS_CH_OPEN)
		return;
	if (vmbus_on_thread(c)) {
		/* Closing joins this thread: leave that to the loop. */
		if (!__atomic_load_n(&c->failing, __ATOMIC_ACQUIRE)) {
			snprintf(c->fail_why, sizeof(c->fail_why), "%s", why);
			__atomic_store_n(&c->failing, 1, __ATOMIC_RELEASE);
			vmbus_work_wake(c->server);
		}
		return;
	}
	/*
	 * The first failures of a channel are always logged: a burst of other
	 * lines must not hide why a device went away. A guest that keeps
	 * failing it is rate-limited like everything else.
	 */
	if (c->fails_logged < CHANNEL_FAILS_ALWAYS_LOGGED) {
		c->fails_logged++;
		vmbus_log_always(c->server, "relid %u (%s %u): closing the channel: %s", c->relid,
				 kind(c), c->subchannel_index, why);
	} else {
		vmbus_channel_log(c, "closing the channel: %s", why);
	}
	c->server->stats.channels_failed++;
	vmbus_channel_do_close(c);
	/* Tell the guest the device is gone rather than leave it talking to nothing. */
	send_rescind(c);
}

bool vmbus_channel_serving(const struct vmbus_channel *c)
{
	return c->state == VMBUS_CH_OPEN && !__atomic_load_n(&c->failing, __ATOMIC_ACQUIRE);
}

bool vmbus_channel_serve(struct vmbus_channel *c)
{
	uint32_t n = 0, len;
	bool more;

	if (vmbus_hring_writable(&c->out) && c->offer.ops->writable)
		c->offer.ops->writable(c, c->offer.ctx);
	do {
		vmbus_hring_read_begin(&c->in);
		while (vmbus_channel_serving(c) && n < VMBUS_DRAIN_BUDGET) {
			const struct vmbus_packet_descriptor *d = (const void *)c->pkt_buf;
			struct vmbus_packet pkt;
			int rc =
			    vmbus_hring_read(&c->in, c->pkt_buf, c->offer.max_packet_size, &len);

			if (rc == VMBUS_RING_EMPTY)
				break;
			if (rc == VMBUS_RING_CORRUPT) {
				vmbus_channel_fail(c, "guest-to-host ring index or packet "
						      "descriptor out of bounds");
				return false;
			}
			if (rc == VMBUS_RING_TOO_LARGE) {
				vmbus_channel_fail(c, "oversized packet");
				return false;
			}
			pkt = (struct vmbus_packet){
			    .type = d->type,
			    .flags = d->flags,
			    .trans_id = d->trans_id,
			    .data = c->pkt_buf + d->offset8 * 8u,
			    .len = len - d->offset8 * 8u,
			    .raw = c->pkt_buf,
			    .raw_len = len,
			};
			n++;
			c->tstats.packets++;
			c->offer.ops->packet(c, &pkt, c->offer.ctx);
		}
		if (!vmbus_channel_serving(c))
			return false;
		if (vmbus_hring_read_end(&c->in, &more))
			vmbus_signal_guest(c);
	} while (more && n < VMBUS_DRAIN_BUDGET);
	return more;
}

static void on_signal(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	struct vmbus_channel *c = ctx;
	uint64_t count;

	(void)loop, (void)events;
	if (read(fd, &count, sizeof(count)) < 0) {
		/* spurious */
	}
	if (c->state != VMBUS_CH_OPEN)
		return;
	c->dispatching = true;
	if (vmbus_channel_serve(c))
		kick(c); /* budget spent: come back after the others */
	c->dispatching = false;
	if (c->free_after_dispatch)
		vmbus_channel_destroy(c);
}

static void open_result(struct vmbus_channel *c, const struct vmbus_msg_open_channel *m,
			uint32_t status)
{
	struct vmbus_msg_open_result r = {.header.msgtype = VMBUS_MSG_OPENCHANNEL_RESULT,
					  .child_relid = m->child_relid,
					  .openid = m->openid,
					  .status = status};

	vmbus_send_msg(c->server, &r, sizeof(r));
}

static void unmap_rings(struct vmbus_channel *c)
{
	struct vmbus_server *s = c->server;

	if (c->event_fd >= 0) {
		WinHvRegisterSignalEventFd(s->partition, VMBUS_CHANNEL_CONNECTION_ID(c->relid), -1);
		if (!c->offer.data_thread)
			evloop_del_fd(s->loop, c->event_fd);
		close(c->event_fd);
		c->event_fd = -1;
	}
	if (c->gpadl) {
		struct vmbus_gpadl *g = c->gpadl;

		c->gpadl = NULL;
		vmbus_gpadl_release(s, g);
	}
}

void vmbus_channel_do_open(struct vmbus_channel *c, const struct vmbus_msg_open_channel *m)
{
	struct vmbus_server *s = c->server;
	struct vmbus_gpadl *g = vmbus_gpadl_find(&s->gpadls, m->ringbuffer_gpadlhandle);
	uint32_t off = m->downstream_ringbuffer_pageoffset;
	const char *why = NULL;
	int ret;

	if (c->state != VMBUS_CH_OFFERED || c->removing)
		why = "channel is not in the offered state";
	else if (!g || !g->pages || g->teardown_pending)
		why = "no such ring GPADL";
	else if (g->child_relid != c->relid)
		why = "ring GPADL belongs to another channel";
	else if (g->npages < 4 || off < 2 || off > g->npages - 2)
		why = "ring page offset out of range";
	else if (m->target_vp >= s->vp_count)
		why = "target VP out of range";
	else if (vmbus_hring_init(&c->in, g->pages, off, true) ||
		 vmbus_hring_init(&c->out, g->pages + off, g->npages - off, false))
		why = "ring indices out of bounds";
	if (why) {
		s->stats.messages_bad++;
		vmbus_channel_log(c, "OPENCHANNEL refused: %s", why);
		open_result(c, m, OPEN_FAILED);
		return;
	}
	c->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->event_fd < 0) {
		vmbus_channel_log(c, "OPENCHANNEL failed: eventfd: %s", strerror(errno));
		open_result(c, m, OPEN_FAILED);
		return;
	}
	ret = WinHvRegisterSignalEventFd(s->partition, VMBUS_CHANNEL_CONNECTION_ID(c->relid),
					 c->event_fd);
	/* A data-thread channel's eventfd wakes its thread, not the loop. */
	if (!ret && !c->offer.data_thread)
		ret = evloop_add_fd(s->loop, c->event_fd, EPOLLIN, on_signal, c);
	else
		ret = ret > 0 ? -EIO : ret;
	if (ret) {
		WinHvRegisterSignalEventFd(s->partition, VMBUS_CHANNEL_CONNECTION_ID(c->relid), -1);
		close(c->event_fd);
		c->event_fd = -1;
		vmbus_channel_log(c, "OPENCHANNEL failed: %s", WinHvStatusString(ret));
		open_result(c, m, OPEN_FAILED);
		return;
	}
	g->users++;
	c->gpadl = g;
	c->ring_gpadl = g->handle;
	c->target_vp = m->target_vp;
	c->state = VMBUS_CH_OPEN;
	c->poll_fd = -1;
	__atomic_store_n(&c->failing, 0, __ATOMIC_RELEASE);
	if (c->offer.ops->open && c->offer.ops->open(c, c->offer.ctx)) {
		c->state = VMBUS_CH_OFFERED;
		unmap_rings(c);
		vmbus_channel_log(c, "OPENCHANNEL refused by the device");
		open_result(c, m, OPEN_FAILED);
		return;
	}
	if (c->offer.data_thread && (ret = vmbus_thread_start(c))) {
		c->state = VMBUS_CH_OFFERED;
		unmap_rings(c);
		if (c->offer.ops->close)
			c->offer.ops->close(c, c->offer.ctx);
		vmbus_channel_log(c, "OPENCHANNEL failed: no data thread: %s", strerror(-ret));
		open_result(c, m, OPEN_FAILED);
		return;
	}
	vmbus_channel_log(c, "opened: %u+%u ring pages, target VP %u", off, g->npages - off,
			  c->target_vp);
	open_result(c, m, 0);
	kick(c); /* the guest may have queued packets before the result */
}

void vmbus_channel_do_close(struct vmbus_channel *c)
{
	if (c->state != VMBUS_CH_OPEN)
		return;
	/* The thread drains the VSP's I/O while the rings are still mapped. */
	vmbus_thread_stop(c);
	c->state = VMBUS_CH_OFFERED;
	unmap_rings(c);
	if (c->offer.ops->close)
		c->offer.ops->close(c, c->offer.ctx);
}

void vmbus_channel_do_modify(struct vmbus_channel *c, uint32_t target_vp)
{
	struct vmbus_server *s = c->server;
	struct vmbus_msg_modifychannel_response r = {
	    .header.msgtype = VMBUS_MSG_MODIFYCHANNEL_RESPONSE, .child_relid = c->relid};

	if (target_vp < s->vp_count)
		__atomic_store_n(&c->target_vp, target_vp, __ATOMIC_RELAXED);
	else
		r.status = OPEN_FAILED;
	/* Only 5.3 guests wait for an answer. */
	if (s->version >= VMBUS_VERSION_WIN10_V5_3)
		vmbus_send_msg(s, &r, sizeof(r));
}

/* ---- Lifetime ---- */

void vmbus_channel_destroy(struct vmbus_channel *c)
{
	struct vmbus_server *s = c->server;

	if (c->dispatching) {
		c->free_after_dispatch = true;
		return;
	}
	vmbus_channel_do_close(c);
	/* Sub-channels go with their primary. */
	for (struct vmbus_channel *sc = s->channels; sc;) {
		struct vmbus_channel *next = sc->next;

		if (sc->primary == c)
			vmbus_channel_destroy(sc);
		sc = next;
	}
	for (struct vmbus_channel **pp = &s->channels; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	vmbus_deferred_forget(c);
	if (c->offer.ops->released)
		c->offer.ops->released(c, c->offer.ctx);
	free(c->pkt_buf);
	free(c);
}

/* GPADLs of a released relid that nothing uses: the guest is done with them. */
static void free_stale_gpadls(struct vmbus_server *s, uint32_t relid)
{
	struct vmbus_gpadl *g, *next;

	for (g = s->gpadls.list; g; g = next) {
		next = g->next;
		if (g->child_relid == relid && !g->users)
			vmbus_gpadl_free(&s->gpadls, g);
	}
	s->stats.gpadls = s->gpadls.count;
}

void vmbus_channel_relid_released(struct vmbus_channel *c)
{
	struct vmbus_server *s = c->server;

	free_stale_gpadls(s, c->relid);
	/* Only removed or failed channels are rescinded. A removed one is gone now. */
	if (c->removing || c->primary) {
		vmbus_channel_destroy(c);
		return;
	}
	/*
	 * A failed device is still there: offer it again under a fresh relid, so
	 * a guest driver that lets go of it (Linux re-probes on a new offer)
	 * gets it back without a reboot. The guest pays for every round.
	 */
	if (c->fails_logged <= CHANNEL_FAILS_ALWAYS_LOGGED)
		vmbus_log_always(
		    c->server, "relid %u (%s %u): released by the guest: offering the device again",
		    c->relid, kind(c), c->subchannel_index);
	else
		vmbus_channel_log(c, "released by the guest: offering the device again");
	c->state = VMBUS_CH_IDLE;
	c->relid = 0;
	if (s->conn == VMBUS_OFFERS_SENT)
		vmbus_send_offer(c);
}

void vmbus_channels_reset(struct vmbus_server *s)
{
	struct vmbus_channel *c = s->channels;

	while (c) {
		struct vmbus_channel *next = c->next;

		vmbus_channel_do_close(c);
		/*
		 * A removed device and a failed sub-channel go; a failed primary
		 * is still there (as after the guest's RELID_RELEASED): the new
		 * connection gets it offered again.
		 */
		if (c->removing || (c->state == VMBUS_CH_RESCINDED && c->primary)) {
			/* next may be one of c's sub-channels: restart the walk. */
			vmbus_channel_destroy(c);
			c = s->channels;
			continue;
		}
		c->state = VMBUS_CH_IDLE;
		c->relid = 0;
		c = next;
	}
}

static void ignore_packet(struct vmbus_channel *c, const struct vmbus_packet *pkt, void *ctx)
{
	(void)c, (void)pkt, (void)ctx;
}

/* What a removed channel runs until the guest lets go of it: nothing. */
static const struct vmbus_vsp_ops detached_ops = {.packet = ignore_packet};

void vmbus_channel_remove(struct vmbus_channel *c)
{
	if (c->removing)
		return;
	c->removing = true;
	for (struct vmbus_channel *sc = c->server->channels; sc; sc = sc->next)
		if (sc->primary == c)
			vmbus_channel_remove(sc);
	vmbus_channel_do_close(c);
	c->offer.ops = &detached_ops;
	c->offer.ctx = NULL;
	if (c->state == VMBUS_CH_OFFERED)
		send_rescind(c);
	else if (c->state == VMBUS_CH_IDLE)
		vmbus_channel_destroy(c);
}

/* ---- VSP calls ---- */

int vmbus_channel_send_raw(struct vmbus_channel *c, uint16_t type, uint16_t flags,
			   uint64_t trans_id, const void *hdr, uint32_t hdr_len, const void *data,
			   uint32_t len)
{
	struct vmbus_packet_descriptor d = {.type = type, .flags = flags, .trans_id = trans_id};
	bool sig;
	int rc;

	if (c->state != VMBUS_CH_OPEN)
		return -ENOTCONN;
	rc = vmbus_hring_write(&c->out, &d, hdr, hdr_len, data, len, &sig);
	switch (rc) {
	case VMBUS_RING_OK:
		if (sig)
			vmbus_signal_guest(c);
		return 0;
	case VMBUS_RING_FULL:
		return -EAGAIN;
	case VMBUS_RING_TOO_LARGE:
		return -EMSGSIZE;
	default:
		vmbus_channel_fail(c, "host-to-guest ring read index out of bounds");
		return -EIO;
	}
}

int vmbus_channel_send(struct vmbus_channel *c, uint64_t trans_id, const void *data, uint32_t len,
		       bool completion_requested)
{
	return vmbus_channel_send_raw(c, VMBUS_PKT_DATA_INBAND,
				      completion_requested ? VMBUS_PKT_FLAG_COMPLETION_REQUESTED
							   : 0,
				      trans_id, NULL, 0, data, len);
}

int vmbus_channel_send_completion(struct vmbus_channel *c, uint64_t trans_id, const void *data,
				  uint32_t len)
{
	return vmbus_channel_send_raw(c, VMBUS_PKT_COMP, 0, trans_id, NULL, 0, data, len);
}

static struct vmbus_gpadl *channel_gpadl(struct vmbus_channel *c, uint32_t handle)
{
	struct vmbus_gpadl *g = vmbus_gpadl_find(&c->server->gpadls, handle);
	uint32_t owner = c->primary ? c->primary->relid : c->relid;

	if (!g || !g->pages || g->teardown_pending ||
	    (g->child_relid != c->relid && g->child_relid != owner))
		return NULL;
	return g;
}

int vmbus_channel_gpadl_read(struct vmbus_channel *c, uint32_t gpadl, uint64_t offset, void *buf,
			     uint32_t len)
{
	struct vmbus_gpadl *g = channel_gpadl(c, gpadl);

	return g ? vmbus_gpadl_copy(g, offset, buf, len, false) : -ENOENT;
}

int vmbus_channel_gpadl_write(struct vmbus_channel *c, uint32_t gpadl, uint64_t offset,
			      const void *buf, uint32_t len)
{
	struct vmbus_gpadl *g = channel_gpadl(c, gpadl);

	return g ? vmbus_gpadl_copy(g, offset, (void *)buf, len, true) : -ENOENT;
}

uint32_t vmbus_channel_relid(const struct vmbus_channel *c)
{
	return c->relid;
}

uint16_t vmbus_channel_subchannel_index(const struct vmbus_channel *c)
{
	return c->subchannel_index;
}

uint32_t vmbus_channel_target_vp(const struct vmbus_channel *c)
{
	return c->target_vp;
}

bool vmbus_channel_is_open(const struct vmbus_channel *c)
{
	return c->state == VMBUS_CH_OPEN;
}

struct vmbus_server *vmbus_channel_server(const struct vmbus_channel *c)
{
	return c->server;
}

struct winhv_partition *vmbus_channel_partition(const struct vmbus_channel *c)
{
	return c->server->partition;
}

uint32_t vmbus_channel_send_space(const struct vmbus_channel *c)
{
	return c->state == VMBUS_CH_OPEN ? vmbus_hring_write_space(&c->out) : 0;
}

bool vmbus_channel_want_space(struct vmbus_channel *c, uint32_t bytes)
{
	return c->state == VMBUS_CH_OPEN && vmbus_hring_want_space(&c->out, bytes);
}

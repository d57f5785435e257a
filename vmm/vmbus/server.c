// SPDX-License-Identifier: MIT
/*
 * The VMBus server's control plane: the guest's channel-management messages
 * (version negotiation, offers, GPADLs, open/close, unload) and our answers
 * through the SynIC. Everything the guest sends is checked for size and
 * state first; what does not fit is logged (rate-limited) and dropped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "vmbus_internal.h"

_Static_assert(sizeof(struct vmbus_msg_offer_channel) == 196, "offer layout");
_Static_assert(sizeof(struct vmbus_msg_initiate_contact) == 40, "initiate contact layout");
_Static_assert(sizeof(struct vmbus_msg_version_response) == 16, "version response layout");
_Static_assert(sizeof(struct vmbus_msg_open_channel) == 148, "open channel layout");
_Static_assert(sizeof(struct vmbus_ring_header) == 4096, "ring header layout");
_Static_assert(VMBUS_GPADL_HEADER_PFNS == 26 && VMBUS_GPADL_BODY_PFNS == 28, "GPADL PFNs");

#define LOG_LINES_PER_SECOND 20

/* Versions we speak, newest first; Linux 6.1 asks for them in this order. */
static const uint32_t versions[] = {
    VMBUS_VERSION_WIN10_V5_3, VMBUS_VERSION_WIN10_V5_2, VMBUS_VERSION_WIN10_V5_1,
    VMBUS_VERSION_WIN10_V5,   VMBUS_VERSION_WIN10_V4_1, VMBUS_VERSION_WIN10,
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void log_line(struct vmbus_server *s, bool limited, const char *fmt, va_list ap)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "vmbus: ");
	uint64_t t = now_ms();

	/* Data threads log too. */
	pthread_mutex_lock(&s->log_lock);
	if (t - s->log_window_start_ms >= 1000) {
		if (s->log_suppressed) {
			char note[96];

			snprintf(note, sizeof(note), "vmbus: %llu log lines suppressed",
				 (unsigned long long)s->log_suppressed);
			if (s->log_fn)
				s->log_fn(s->log_ctx, note);
			else
				fprintf(stderr, "%s\n", note);
		}
		s->log_window_start_ms = t;
		s->log_in_window = 0;
		s->log_suppressed = 0;
	}
	if (limited && ++s->log_in_window > LOG_LINES_PER_SECOND) {
		s->log_suppressed++;
		pthread_mutex_unlock(&s->log_lock);
		return;
	}
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (s->log_fn)
		s->log_fn(s->log_ctx, line);
	else
		fprintf(stderr, "%s\n", line);
	pthread_mutex_unlock(&s->log_lock);
}

void vmbus_log(struct vmbus_server *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(s, true, fmt, ap);
	va_end(ap);
}

void vmbus_log_always(struct vmbus_server *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(s, false, fmt, ap);
	va_end(ap);
}

/* ---- Sending ---- */

static void arm_backlog_timer(struct vmbus_server *s);

static int post(struct vmbus_server *s, const struct hv_message *m)
{
	int ret = WinHvPostMessage(s->partition, s->target_vp, s->sint, m);

	if (!ret)
		s->stats.messages_out++;
	return ret;
}

static void flush_backlog(struct vmbus_server *s)
{
	while (s->backlog) {
		struct vmbus_backlog_msg *b = s->backlog;
		int ret = post(s, &b->msg);

		if (ret == HV_STATUS_INSUFFICIENT_BUFFERS)
			break;
		if (ret)
			vmbus_log(s, "posting a message failed: %s", WinHvStatusString(ret));
		s->backlog = b->next;
		if (!s->backlog)
			s->backlog_tail = &s->backlog;
		s->backlog_len--;
		free(b);
	}
	s->stats.messages_backlog = s->backlog_len;
	if (s->backlog)
		arm_backlog_timer(s);
}

static void backlog_tick(struct evloop *loop, struct evloop_timer *t, void *ctx)
{
	struct vmbus_server *s = ctx;

	(void)loop, (void)t;
	flush_backlog(s);
}

static void arm_backlog_timer(struct vmbus_server *s)
{
	if (!s->backlog_timer)
		s->backlog_timer = evloop_add_timer(s->loop, 1, 0, backlog_tick, s);
	else
		evloop_rearm_timer(s->backlog_timer, 1, 0);
}

void vmbus_send_msg(struct vmbus_server *s, const void *payload, uint32_t size)
{
	struct hv_message m;
	struct vmbus_backlog_msg *b;
	int ret = HV_STATUS_INSUFFICIENT_BUFFERS;

	memset(&m, 0, sizeof(m));
	m.header.message_type = VMBUS_MESSAGE_TYPE_CHANNEL;
	m.header.payload_size = (uint8_t)size;
	memcpy(m.payload_bytes, payload, size);
	if (!s->backlog)
		ret = post(s, &m);
	if (ret != HV_STATUS_INSUFFICIENT_BUFFERS) {
		if (ret)
			vmbus_log(s, "posting a message failed: %s", WinHvStatusString(ret));
		return;
	}
	if (s->backlog_len >= VMBUS_BACKLOG_MAX) {
		vmbus_log(s, "guest is not taking messages; dropping one");
		return;
	}
	b = malloc(sizeof(*b));
	if (!b) {
		vmbus_log(s, "out of memory; dropping a message");
		return;
	}
	b->msg = m;
	b->next = NULL;
	*s->backlog_tail = b;
	s->backlog_tail = &b->next;
	s->backlog_len++;
	s->stats.messages_backlog = s->backlog_len;
	arm_backlog_timer(s);
}

static void drop_backlog(struct vmbus_server *s)
{
	while (s->backlog) {
		struct vmbus_backlog_msg *b = s->backlog;

		s->backlog = b->next;
		free(b);
	}
	s->backlog_tail = &s->backlog;
	s->backlog_len = 0;
}

/* ---- Message handlers ---- */

/* Count and log a message we drop. */
#define bad(s, ...) ((s)->stats.messages_bad++, vmbus_log((s), __VA_ARGS__))

static bool version_supported(const struct vmbus_server *s, uint32_t v)
{
	if (v < s->min_version || v > s->max_version)
		return false;
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (versions[i] == v)
			return true;
	return false;
}

/* Drop everything the guest had: channels back to unoffered, GPADLs gone. */
static void reset_connection(struct vmbus_server *s)
{
	vmbus_channels_reset(s);
	vmbus_gpadl_free_all(&s->gpadls);
	drop_backlog(s);
	s->conn = VMBUS_DISCONNECTED;
	s->version = 0;
}

static void on_initiate_contact(struct vmbus_server *s, const struct winhv_posted_message *pm)
{
	struct vmbus_msg_initiate_contact m;
	struct vmbus_msg_version_response r = {.header.msgtype = VMBUS_MSG_VERSION_RESPONSE};
	uint32_t v, want_conn;
	bool ok;

	memcpy(&m, pm->payload, sizeof(m));
	v = m.vmbus_version_requested;
	if (s->conn != VMBUS_DISCONNECTED) {
		/* A new guest kernel (kexec, crash) without UNLOAD: start over. */
		vmbus_log(s, "INITIATE_CONTACT while connected: resetting the connection");
		reset_connection(s);
	}
	if (m.target_vcpu >= s->vp_count) {
		bad(s, "INITIATE_CONTACT names VP %u (of %u): ignored", m.target_vcpu, s->vp_count);
		return;
	}
	want_conn = v >= VMBUS_VERSION_WIN10_V5 ? VMBUS_MESSAGE_CONNECTION_ID_4
						: VMBUS_MESSAGE_CONNECTION_ID;
	ok = version_supported(s, v) && pm->connection_id == want_conn;
	if (ok && v >= VMBUS_VERSION_WIN10_V5 && m.msg_sint >= HV_SYNIC_SINT_COUNT)
		ok = false;
	s->target_vp = m.target_vcpu;
	s->sint = v >= VMBUS_VERSION_WIN10_V5 && ok ? m.msg_sint : VMBUS_MESSAGE_SINT;
	if (ok) {
		s->conn = VMBUS_CONNECTED;
		s->version = v;
		r.version_supported = 1;
		/* Later posts come on this id; 4 is one we already listen on. */
		r.msg_conn_id = v >= VMBUS_VERSION_WIN10_V5 ? VMBUS_MESSAGE_CONNECTION_ID_4 : 0;
		vmbus_log(s, "guest connected with protocol %u.%u", v >> 16, v & 0xffff);
	}
	vmbus_send_msg(s, &r, sizeof(r));
}

static void on_request_offers(struct vmbus_server *s)
{
	struct vmbus_msg_header done = {.msgtype = VMBUS_MSG_ALLOFFERS_DELIVERED};

	if (s->conn == VMBUS_OFFERS_SENT) {
		bad(s, "REQUESTOFFERS repeated: ignored");
		return;
	}
	s->conn = VMBUS_OFFERS_SENT;
	/* Primaries first so a sub-channel never arrives before its device. */
	for (int pass = 0; pass < 2; pass++)
		for (struct vmbus_channel *c = s->channels; c; c = c->next)
			if (c->state == VMBUS_CH_IDLE && !c->removing && !!c->primary == pass)
				vmbus_send_offer(c);
	vmbus_send_msg(s, &done, sizeof(done));
}

static void gpadl_answer(struct vmbus_server *s, enum vmbus_gpadl_result res, uint32_t handle,
			 uint32_t relid, const char *why)
{
	struct vmbus_msg_gpadl_created r = {.header.msgtype = VMBUS_MSG_GPADL_CREATED};

	switch (res) {
	case VMBUS_GPADL_MORE:
		return;
	case VMBUS_GPADL_DROP:
		bad(s, "GPADL %#x dropped: %s", handle, why);
		return;
	case VMBUS_GPADL_FAILED:
		s->stats.messages_bad++;
		vmbus_log(s, "GPADL %#x for relid %u refused: %s", handle, relid, why);
		r.creation_status = 0xC0000001; /* STATUS_UNSUCCESSFUL */
		break;
	case VMBUS_GPADL_CREATED:
		break;
	}
	r.child_relid = relid;
	r.gpadl = handle;
	vmbus_send_msg(s, &r, sizeof(r));
	s->stats.gpadls = s->gpadls.count;
}

static void on_gpadl(struct vmbus_server *s, const struct winhv_posted_message *pm, bool header)
{
	uint32_t handle = 0, relid = 0;
	const char *why = "";
	enum vmbus_gpadl_result res;

	if (header) {
		const struct vmbus_msg_gpadl_header *h = (const void *)pm->payload;
		struct vmbus_channel *c = vmbus_find_channel(s, h->child_relid);

		if (!c || c->state == VMBUS_CH_IDLE || c->state == VMBUS_CH_RESCINDED) {
			/* Still answer: Linux waits for GPADL_CREATED without a timeout. */
			gpadl_answer(s, VMBUS_GPADL_FAILED, h->gpadl, h->child_relid,
				     "no such channel");
			return;
		}
		res = vmbus_gpadl_header(&s->gpadls, s->partition, pm->payload, pm->payload_size,
					 &handle, &relid, &why);
	} else {
		res = vmbus_gpadl_body(&s->gpadls, s->partition, pm->payload, pm->payload_size,
				       &handle, &relid, &why);
	}
	gpadl_answer(s, res, handle, relid, why);
}

static void send_torndown(struct vmbus_server *s, uint32_t handle)
{
	struct vmbus_msg_gpadl_torndown r = {.header.msgtype = VMBUS_MSG_GPADL_TORNDOWN,
					     .gpadl = handle};

	vmbus_send_msg(s, &r, sizeof(r));
}

/* The last user of a GPADL let go: finish a teardown the guest asked for. */
void vmbus_gpadl_release(struct vmbus_server *s, struct vmbus_gpadl *g)
{
	bool done;

	pthread_mutex_lock(&s->gpadls.lock);
	done = --g->users == 0 && g->teardown_pending;
	pthread_mutex_unlock(&s->gpadls.lock);
	if (!done)
		return;
	send_torndown(s, g->handle);
	vmbus_gpadl_free(&s->gpadls, g);
	s->stats.gpadls = s->gpadls.count;
}

/* Finish the teardowns whose last view a data thread put (event loop only). */
void vmbus_gpadl_reap(struct vmbus_server *s)
{
	struct vmbus_gpadl *g, *next;

	for (g = s->gpadls.list; g; g = next) {
		bool done;

		next = g->next;
		pthread_mutex_lock(&s->gpadls.lock);
		done = g->teardown_pending && !g->users;
		pthread_mutex_unlock(&s->gpadls.lock);
		if (done) {
			send_torndown(s, g->handle);
			vmbus_gpadl_free(&s->gpadls, g);
		}
	}
	s->stats.gpadls = s->gpadls.count;
}

static void on_gpadl_teardown(struct vmbus_server *s, const struct vmbus_msg_gpadl_teardown *m)
{
	struct vmbus_gpadl *g = vmbus_gpadl_find(&s->gpadls, m->gpadl);
	struct vmbus_channel *c;

	if (!g || !g->pages || g->teardown_pending) {
		bad(s, "GPADL_TEARDOWN of unknown GPADL %#x (relid %u): ignored", m->gpadl,
		    m->child_relid);
		return;
	}
	c = vmbus_find_channel(s, g->child_relid);
	if (c && c->state == VMBUS_CH_OPEN && c->gpadl == g) {
		vmbus_log(s, "relid %u: ring GPADL %#x torn down while open: closing the channel",
			  c->relid, g->handle);
		s->stats.channels_failed++;
		vmbus_channel_do_close(c);
	}
	pthread_mutex_lock(&s->gpadls.lock);
	if (g->users) {
		/* A ring or a VSP view still uses it: TORNDOWN when the last one lets go. */
		g->teardown_pending = true;
		pthread_mutex_unlock(&s->gpadls.lock);
		return;
	}
	pthread_mutex_unlock(&s->gpadls.lock);
	send_torndown(s, g->handle);
	vmbus_gpadl_free(&s->gpadls, g);
	s->stats.gpadls = s->gpadls.count;
}

static void on_unload(struct vmbus_server *s)
{
	struct vmbus_msg_header r = {.msgtype = VMBUS_MSG_UNLOAD_RESPONSE};

	reset_connection(s);
	/* target_vp and sint stay: the answer goes where the guest listens. */
	vmbus_send_msg(s, &r, sizeof(r));
	vmbus_log(s, "guest unloaded VMBus");
}

/* Minimum payload per message type (0: not accepted from the guest). */
static uint32_t min_size(uint32_t type)
{
	switch (type) {
	case VMBUS_MSG_REQUESTOFFERS:
	case VMBUS_MSG_UNLOAD:
		return sizeof(struct vmbus_msg_header);
	case VMBUS_MSG_OPENCHANNEL:
		return sizeof(struct vmbus_msg_open_channel);
	case VMBUS_MSG_CLOSECHANNEL:
		return sizeof(struct vmbus_msg_close_channel);
	case VMBUS_MSG_GPADL_HEADER:
		return sizeof(struct vmbus_msg_gpadl_header);
	case VMBUS_MSG_GPADL_BODY:
		return sizeof(struct vmbus_msg_gpadl_body);
	case VMBUS_MSG_GPADL_TEARDOWN:
		return sizeof(struct vmbus_msg_gpadl_teardown);
	case VMBUS_MSG_RELID_RELEASED:
		return sizeof(struct vmbus_msg_relid_released);
	case VMBUS_MSG_INITIATE_CONTACT:
		return sizeof(struct vmbus_msg_initiate_contact);
	case VMBUS_MSG_MODIFYCHANNEL:
		return sizeof(struct vmbus_msg_modifychannel);
	default:
		return 0;
	}
}

static void dispatch(struct vmbus_server *s, const struct winhv_posted_message *pm)
{
	struct vmbus_msg_header h;
	struct vmbus_channel *c;
	uint32_t need;

	s->stats.messages_in++;
	if (pm->payload_size < sizeof(h) || pm->payload_size > VMBUS_MAX_MESSAGE_SIZE) {
		bad(s, "message of %u bytes on connection %u: dropped", pm->payload_size,
		    pm->connection_id);
		return;
	}
	memcpy(&h, pm->payload, sizeof(h));
	need = min_size(h.msgtype);
	if (!need || pm->payload_size < need) {
		bad(s, "message type %u with %u bytes: dropped", h.msgtype, pm->payload_size);
		return;
	}
	if (h.msgtype == VMBUS_MSG_INITIATE_CONTACT) {
		on_initiate_contact(s, pm);
		return;
	}
	if (s->conn == VMBUS_DISCONNECTED) {
		bad(s, "message type %u before INITIATE_CONTACT: dropped", h.msgtype);
		return;
	}
	switch (h.msgtype) {
	case VMBUS_MSG_REQUESTOFFERS:
		on_request_offers(s);
		return;
	case VMBUS_MSG_UNLOAD:
		on_unload(s);
		return;
	case VMBUS_MSG_GPADL_HEADER:
		on_gpadl(s, pm, true);
		return;
	case VMBUS_MSG_GPADL_BODY:
		on_gpadl(s, pm, false);
		return;
	case VMBUS_MSG_GPADL_TEARDOWN: {
		struct vmbus_msg_gpadl_teardown m;

		memcpy(&m, pm->payload, sizeof(m));
		on_gpadl_teardown(s, &m);
		return;
	}
	default:
		break;
	}
	/* The rest name a channel in the same place, right after the header. */
	{
		uint32_t relid;

		memcpy(&relid, pm->payload + sizeof(h), sizeof(relid));
		c = vmbus_find_channel(s, relid);
		if (!c || c->state == VMBUS_CH_IDLE) {
			bad(s, "message type %u for unknown relid %u: dropped", h.msgtype, relid);
			if (h.msgtype == VMBUS_MSG_OPENCHANNEL) {
				struct vmbus_msg_open_channel m;
				struct vmbus_msg_open_result r = {.header.msgtype =
								      VMBUS_MSG_OPENCHANNEL_RESULT};

				/* Linux waits for the result without a timeout. */
				memcpy(&m, pm->payload, sizeof(m));
				r.child_relid = m.child_relid;
				r.openid = m.openid;
				r.status = 0xC0000001;
				vmbus_send_msg(s, &r, sizeof(r));
			}
			return;
		}
	}
	switch (h.msgtype) {
	case VMBUS_MSG_OPENCHANNEL: {
		struct vmbus_msg_open_channel m;

		memcpy(&m, pm->payload, sizeof(m));
		vmbus_channel_do_open(c, &m);
		return;
	}
	case VMBUS_MSG_CLOSECHANNEL:
		if (c->state != VMBUS_CH_OPEN) {
			bad(s, "CLOSECHANNEL of relid %u which is not open", c->relid);
			return;
		}
		vmbus_channel_log(c, "closed by the guest");
		vmbus_channel_do_close(c);
		return;
	case VMBUS_MSG_RELID_RELEASED:
		if (c->state != VMBUS_CH_RESCINDED) {
			bad(s, "RELID_RELEASED of relid %u which was not rescinded", c->relid);
			return;
		}
		vmbus_channel_relid_released(c);
		return;
	case VMBUS_MSG_MODIFYCHANNEL: {
		struct vmbus_msg_modifychannel m;

		memcpy(&m, pm->payload, sizeof(m));
		vmbus_channel_do_modify(c, m.target_vp);
		return;
	}
	}
}

static void on_messages(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	struct vmbus_server *s = ctx;
	struct winhv_posted_message pm;
	int n = 0;

	(void)loop, (void)fd, (void)events;
	/* A budget keeps a flooding guest from starving the channels. */
	while (n++ < VMBUS_MESSAGE_BUDGET && WinHvReadPostedMessage(s->partition, &pm) == 0)
		dispatch(s, &pm);
	if (s->backlog)
		flush_backlog(s);
}

/* ---- Lifetime ---- */

int vmbus_server_create(const struct vmbus_server_params *params, struct vmbus_server **out)
{
	struct vmbus_server *s;
	int ret;

	*out = NULL;
	if (!params->partition || !params->loop)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->partition = params->partition;
	s->loop = params->loop;
	s->max_version = params->max_version ? params->max_version : VMBUS_VERSION_WIN10_V5_3;
	s->min_version = params->min_version ? params->min_version : VMBUS_VERSION_WIN10;
	s->vp_count = params->vp_count ? params->vp_count : 1;
	s->log_fn = params->log;
	s->log_ctx = params->log_ctx;
	s->backlog_tail = &s->backlog;
	pthread_mutex_init(&s->log_lock, NULL);
	pthread_mutex_init(&s->gpadls.lock, NULL);
	ret = vmbus_work_init(s);
	if (ret) {
		free(s);
		return ret;
	}
	s->sint = VMBUS_MESSAGE_SINT;
	s->msg_fd = WinHvGetPostedMessageFd(s->partition);
	if (s->msg_fd < 0) {
		ret = s->msg_fd;
		goto fail;
	}
	/* Connection 4 only when 5.x may be agreed: its refusal makes Linux fall back. */
	ret = WinHvRegisterMessageConnection(s->partition, VMBUS_MESSAGE_CONNECTION_ID, true);
	if (!ret && s->max_version >= VMBUS_VERSION_WIN10_V5)
		ret = WinHvRegisterMessageConnection(s->partition, VMBUS_MESSAGE_CONNECTION_ID_4,
						     true);
	if (ret)
		goto fail;
	ret = evloop_add_fd(s->loop, s->msg_fd, EPOLLIN, on_messages, s);
	if (ret)
		goto fail;
	*out = s;
	return 0;
fail:
	WinHvRegisterMessageConnection(s->partition, VMBUS_MESSAGE_CONNECTION_ID, false);
	WinHvRegisterMessageConnection(s->partition, VMBUS_MESSAGE_CONNECTION_ID_4, false);
	vmbus_work_fini(s);
	free(s);
	return ret > 0 ? -EIO : ret;
}

void vmbus_server_destroy(struct vmbus_server *s)
{
	if (!s)
		return;
	evloop_del_fd(s->loop, s->msg_fd);
	WinHvRegisterMessageConnection(s->partition, VMBUS_MESSAGE_CONNECTION_ID, false);
	WinHvRegisterMessageConnection(s->partition, VMBUS_MESSAGE_CONNECTION_ID_4, false);
	while (s->channels)
		vmbus_channel_destroy(s->channels);
	vmbus_gpadl_free_all(&s->gpadls);
	drop_backlog(s);
	if (s->backlog_timer)
		evloop_del_timer(s->backlog_timer);
	vmbus_work_fini(s);
	pthread_mutex_destroy(&s->log_lock);
	pthread_mutex_destroy(&s->gpadls.lock);
	free(s);
}

uint32_t vmbus_server_version(const struct vmbus_server *s)
{
	return s->version;
}

void vmbus_server_get_stats(const struct vmbus_server *s, struct vmbus_server_stats *st)
{
	*st = s->stats;
	st->gpadls = s->gpadls.count;
	st->channels_open = 0;
	for (const struct vmbus_channel *c = s->channels; c; c = c->next)
		st->channels_open += c->state == VMBUS_CH_OPEN;
}

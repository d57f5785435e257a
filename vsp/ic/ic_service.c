// SPDX-License-Identifier: MIT
/* Host integration-service framework (ic_service.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ic_service.h"

#define DEFAULT_TIMEOUT_MS 35000 /* the guest's KVP daemon may take 30 s */
#define MAX_BODY 8192

enum ic_state { IC_CLOSED, IC_NEGOTIATING, IC_READY, IC_FAILED };

struct ic_service {
	struct ic_service_params p;
	struct vmbus_channel *chan;
	enum ic_state state;
	uint32_t fw_version, srv_version;
	bool busy;
	uint16_t busy_type;
	uint64_t trans_id;
	uint8_t tid; /* ictransaction_id */
	struct evloop_timer *timer;
	struct ic_service_stats stats;
	uint8_t pkt[IC_HEADER_SIZE + MAX_BODY];
};

static const uint32_t framework_versions[] = {IC_FRAMEWORK_VERSION_3_0, IC_FRAMEWORK_VERSION_1_0};

static void stop_timer(struct ic_service *s)
{
	if (s->timer) {
		evloop_del_timer(s->timer);
		s->timer = NULL;
	}
}

static const char *service_name(uint16_t msgtype)
{
	switch (msgtype) {
	case IC_MSGTYPE_HEARTBEAT: return "heartbeat";
	case IC_MSGTYPE_KVPEXCHANGE: return "KVP";
	case IC_MSGTYPE_SHUTDOWN: return "shutdown";
	case IC_MSGTYPE_TIMESYNC: return "time sync";
	default: return "an";
	}
}

static void on_timeout(struct evloop *loop, struct evloop_timer *t, void *ctx)
{
	struct ic_service *s = ctx;

	(void)loop, (void)t;
	s->timer = NULL;
	evloop_del_timer(t);
	if (!s->busy)
		return;
	s->stats.timeouts++;
	if (s->busy_type == IC_MSGTYPE_NEGOTIATE) {
		/*
		 * Keep waiting: Linux answers KVP's negotiation only once
		 * hv_kvp_daemon connects (or 55 s after the offer), and a late
		 * answer must still bring the service up.
		 */
		vmbus_channel_log(s->chan,
				  "%s IC: no answer to the version negotiation yet%s; still waiting",
				  service_name(s->p.msgtype),
				  s->p.msgtype == IC_MSGTYPE_KVPEXCHANGE
				      ? " (a Linux guest answers once hv_kvp_daemon runs)"
				      : "");
		return;
	}
	s->busy = false;
	vmbus_channel_log(s->chan, "%s IC: no answer from the guest", service_name(s->p.msgtype));
	if (s->p.on_response)
		s->p.on_response(s, IC_STATUS_TIMEOUT, NULL, 0, s->p.ctx);
}

static int send_msg(struct ic_service *s, uint16_t type, const void *body, uint32_t len)
{
	struct ic_pipe_header pipe = {.flags = 0,
				      .msgsize = (uint32_t)sizeof(struct ic_msg_header) + len};
	struct ic_msg_header h = {0};
	uint32_t fw = s->fw_version ? s->fw_version : IC_FRAMEWORK_VERSION_3_0;
	int ret;

	if (len > MAX_BODY)
		return -EMSGSIZE;
	h.icverframe = (struct ic_version){(uint16_t)(fw >> 16), (uint16_t)fw};
	h.icmsgtype = type;
	h.icvermsg =
	    (struct ic_version){(uint16_t)(s->srv_version >> 16), (uint16_t)s->srv_version};
	h.icmsgsize = (uint16_t)len;
	h.ictransaction_id = ++s->tid;
	h.icflags = IC_FLAG_TRANSACTION | IC_FLAG_REQUEST;
	memcpy(s->pkt, &pipe, sizeof(pipe));
	memcpy(s->pkt + sizeof(pipe), &h, sizeof(h));
	memcpy(s->pkt + IC_HEADER_SIZE, body, len);
	ret = vmbus_channel_send(s->chan, s->trans_id + 1, s->pkt, (uint32_t)IC_HEADER_SIZE + len,
				 false);
	if (ret)
		return ret;
	s->trans_id++;
	s->busy = true;
	s->busy_type = type;
	s->stats.requests++;
	stop_timer(s);
	s->timer = evloop_add_timer(s->p.loop, s->p.timeout_ms, 0, on_timeout, s);
	return 0;
}

static void negotiate(struct ic_service *s)
{
	uint8_t body[sizeof(struct ic_negotiate) + 4 * (2 + IC_MAX_VERSION_COUNT)];
	struct ic_negotiate *n = (struct ic_negotiate *)body;
	uint32_t i, k = 0;

	memset(body, 0, sizeof(body));
	n->icframe_vercnt = 2;
	n->icmsg_vercnt = (uint16_t)s->p.nversions;
	for (i = 0; i < 2; i++, k++)
		n->icversion_data[k] = (struct ic_version){(uint16_t)(framework_versions[i] >> 16),
							   (uint16_t)framework_versions[i]};
	for (i = 0; i < s->p.nversions; i++, k++)
		n->icversion_data[k] = (struct ic_version){(uint16_t)(s->p.versions[i] >> 16),
							   (uint16_t)s->p.versions[i]};
	s->state = IC_NEGOTIATING;
	if (send_msg(s, IC_MSGTYPE_NEGOTIATE, body, (uint32_t)sizeof(*n) + 4 * k))
		vmbus_channel_log(s->chan, "IC: cannot send the negotiation");
}

static bool offered(const uint32_t *list, uint32_t n, uint32_t v)
{
	for (uint32_t i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

static void negotiated(struct ic_service *s, const struct ic_msg_header *h, const uint8_t *body,
		       uint32_t len)
{
	struct ic_negotiate n;
	struct ic_version v[2];

	if (len < sizeof(n) + sizeof(v)) {
		s->stats.bad_responses++;
		s->state = IC_FAILED;
		vmbus_channel_log(s->chan, "IC: negotiation answer too short");
		return;
	}
	memcpy(&n, body, sizeof(n));
	memcpy(v, body + sizeof(n), sizeof(v));
	s->fw_version = IC_VERSION(v[0].major, v[0].minor);
	s->srv_version = IC_VERSION(v[1].major, v[1].minor);
	if (h->status || n.icframe_vercnt != 1 || n.icmsg_vercnt != 1 ||
	    !offered(framework_versions, 2, s->fw_version) ||
	    !offered(s->p.versions, s->p.nversions, s->srv_version)) {
		s->state = IC_FAILED;
		s->fw_version = s->srv_version = 0;
		vmbus_channel_log(s->chan, "IC: guest shares no version with us");
		return;
	}
	s->state = IC_READY;
	if (s->p.on_ready)
		s->p.on_ready(s, s->p.ctx);
}

static void on_packet(struct vmbus_channel *c, const struct vmbus_packet *pkt, void *ctx)
{
	struct ic_service *s = ctx;
	struct ic_msg_header h;

	(void)c;
	if (pkt->type != VMBUS_PKT_DATA_INBAND || pkt->len < IC_HEADER_SIZE || !s->busy ||
	    pkt->trans_id != s->trans_id) {
		s->stats.bad_responses++;
		vmbus_channel_log(s->chan, "IC: unexpected packet (type %u, %u bytes) dropped",
				  pkt->type, pkt->len);
		return;
	}
	memcpy(&h, pkt->data + sizeof(struct ic_pipe_header), sizeof(h));
	if (h.icmsgtype != s->busy_type || !(h.icflags & IC_FLAG_RESPONSE)) {
		s->stats.bad_responses++;
		vmbus_channel_log(s->chan, "IC: answer of type %u flags %#x does not match",
				  h.icmsgtype, h.icflags);
		return;
	}
	s->busy = false;
	s->stats.responses++;
	stop_timer(s);
	if (h.icmsgtype == IC_MSGTYPE_NEGOTIATE)
		negotiated(s, &h, pkt->data + IC_HEADER_SIZE, pkt->len - (uint32_t)IC_HEADER_SIZE);
	else if (s->p.on_response)
		s->p.on_response(s, h.status, pkt->data + IC_HEADER_SIZE,
				 pkt->len - (uint32_t)IC_HEADER_SIZE, s->p.ctx);
}

static int on_open(struct vmbus_channel *c, void *ctx)
{
	struct ic_service *s = ctx;

	(void)c;
	s->busy = false;
	s->fw_version = s->srv_version = 0;
	negotiate(s);
	return 0;
}

static void on_close(struct vmbus_channel *c, void *ctx)
{
	struct ic_service *s = ctx;

	(void)c;
	stop_timer(s);
	s->busy = false;
	s->state = IC_CLOSED;
	if (s->p.on_reset)
		s->p.on_reset(s, s->p.ctx);
}

static void on_released(struct vmbus_channel *c, void *ctx)
{
	struct ic_service *s = ctx;

	(void)c;
	s->chan = NULL;
}

static const struct vmbus_vsp_ops ic_ops = {
    .open = on_open,
    .packet = on_packet,
    .close = on_close,
    .released = on_released,
};

int ic_service_create(const struct ic_service_params *p, struct ic_service **out)
{
	struct vmbus_offer_params op = {0};
	struct ic_service *s;
	int ret;

	*out = NULL;
	if (!p->server || !p->loop || !p->nversions || p->nversions > IC_MAX_VERSION_COUNT)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->p = *p;
	if (!s->p.timeout_ms)
		s->p.timeout_ms = DEFAULT_TIMEOUT_MS;
	op.if_type = p->if_type;
	op.if_instance = p->if_instance;
	op.max_packet_size = sizeof(struct vmbus_packet_descriptor) + sizeof(s->pkt);
	op.ops = &ic_ops;
	op.ctx = s;
	ret = vmbus_offer(p->server, &op, &s->chan);
	if (ret) {
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void ic_service_destroy(struct ic_service *s)
{
	if (!s)
		return;
	stop_timer(s);
	if (s->chan) {
		/* No callback reaches us after this, even if the guest releases later. */
		s->p.on_reset = NULL;
		vmbus_channel_remove(s->chan);
	}
	free(s);
}

bool ic_service_ready(const struct ic_service *s)
{
	return s->state == IC_READY;
}

bool ic_service_busy(const struct ic_service *s)
{
	return s->busy;
}

uint32_t ic_service_framework_version(const struct ic_service *s)
{
	return s->fw_version;
}

uint32_t ic_service_version(const struct ic_service *s)
{
	return s->srv_version;
}

struct vmbus_channel *ic_service_channel(const struct ic_service *s)
{
	return s->chan;
}

int ic_service_request(struct ic_service *s, const void *body, uint32_t len)
{
	if (s->state != IC_READY || !s->chan)
		return -ENOTCONN;
	if (s->busy)
		return -EBUSY;
	return send_msg(s, s->p.msgtype, body, len);
}

void ic_service_get_stats(const struct ic_service *s, struct ic_service_stats *st)
{
	*st = s->stats;
}

size_t ic_utf16_to_utf8(const uint8_t *src, size_t bytes, char *dst, size_t size)
{
	size_t o = 0;

	if (!size)
		return 0;
	for (size_t i = 0; i + 1 < bytes; i += 2) {
		uint32_t c = (uint32_t)src[i] | (uint32_t)src[i + 1] << 8;
		char enc[4];
		size_t n;

		if (!c)
			break;
		if (c >= 0xD800 && c < 0xDC00 && i + 3 < bytes) {
			uint32_t lo = (uint32_t)src[i + 2] | (uint32_t)src[i + 3] << 8;

			if (lo >= 0xDC00 && lo < 0xE000) {
				c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			} else {
				c = 0xFFFD;
			}
		} else if (c >= 0xD800 && c < 0xE000) {
			c = 0xFFFD; /* unpaired surrogate */
		}
		if (c < 0x80) {
			enc[0] = (char)c, n = 1;
		} else if (c < 0x800) {
			enc[0] = (char)(0xC0 | c >> 6), enc[1] = (char)(0x80 | (c & 0x3F)), n = 2;
		} else if (c < 0x10000) {
			enc[0] = (char)(0xE0 | c >> 12), enc[1] = (char)(0x80 | ((c >> 6) & 0x3F));
			enc[2] = (char)(0x80 | (c & 0x3F)), n = 3;
		} else {
			enc[0] = (char)(0xF0 | c >> 18), enc[1] = (char)(0x80 | ((c >> 12) & 0x3F));
			enc[2] = (char)(0x80 | ((c >> 6) & 0x3F)),
			enc[3] = (char)(0x80 | (c & 0x3F));
			n = 4;
		}
		if (o + n + 1 > size)
			break;
		memcpy(dst + o, enc, n);
		o += n;
	}
	dst[o] = '\0';
	return o;
}

size_t ic_utf8_to_utf16(const char *src, uint8_t *dst, size_t bytes)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (bytes < 2)
		return 0;
	while (*s) {
		uint32_t c = *s++;
		uint16_t units[2];
		size_t n = 1;

		if (c >= 0xF0 && s[0] && s[1] && s[2]) {
			c = (c & 7) << 18 | (s[0] & 0x3Fu) << 12 | (s[1] & 0x3Fu) << 6 |
			    (s[2] & 0x3Fu);
			s += 3;
		} else if (c >= 0xE0 && s[0] && s[1]) {
			c = (c & 0xF) << 12 | (s[0] & 0x3Fu) << 6 | (s[1] & 0x3Fu);
			s += 2;
		} else if (c >= 0xC0 && s[0]) {
			c = (c & 0x1F) << 6 | (s[0] & 0x3Fu);
			s += 1;
		} else if (c >= 0x80) {
			c = 0xFFFD;
		}
		if (c >= 0x10000 && c < 0x110000) {
			c -= 0x10000;
			units[0] = (uint16_t)(0xD800 + (c >> 10));
			units[1] = (uint16_t)(0xDC00 + (c & 0x3FF));
			n = 2;
		} else {
			units[0] = c < 0x10000 ? (uint16_t)c : 0xFFFD;
		}
		if (o + 2 * n + 2 > bytes)
			break;
		for (size_t k = 0; k < n; k++) {
			dst[o++] = (uint8_t)units[k];
			dst[o++] = (uint8_t)(units[k] >> 8);
		}
	}
	dst[o++] = 0;
	dst[o++] = 0;
	return o;
}

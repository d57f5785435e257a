// SPDX-License-Identifier: MIT
/* Guest-side integration services (vsc/ic_client.h). Freestanding. */
#include <stddef.h>

#include <vsc/ic_client.h>

#include "util.h"

static const uint32_t fw_versions[] = {IC_FRAMEWORK_VERSION_3_0, IC_FRAMEWORK_VERSION_1_0};
static const uint32_t hb_versions[] = {IC_VERSION(3, 0), IC_VERSION(1, 0)};
static const uint32_t sd_versions[] = {IC_VERSION(3, 2), IC_VERSION(3, 1), IC_VERSION(3, 0),
				       IC_VERSION(1, 0)};
static const uint32_t ts_versions[] = {IC_VERSION(4, 0), IC_VERSION(3, 0), IC_VERSION(1, 0)};
static const uint32_t kvp_versions[] = {IC_VERSION(4, 0), IC_VERSION(3, 0), IC_VERSION(1, 0)};

bool vsc_ic_negotiate(uint8_t *buf, uint32_t len, const uint32_t *fw, uint32_t nfw,
		      const uint32_t *srv, uint32_t nsrv, uint32_t *fw_out, uint32_t *srv_out)
{
	struct ic_msg_header *h = (struct ic_msg_header *)(buf + sizeof(struct ic_pipe_header));
	struct ic_negotiate *n = (struct ic_negotiate *)(buf + IC_HEADER_SIZE);
	uint32_t nf, ns, need, i, j;
	struct ic_version chosen[2] = {{0, 0}, {0, 0}};
	bool found = false;

	if (len < IC_HEADER_SIZE + sizeof(*n))
		return false;
	h->icmsgsize = 0x10;
	nf = n->icframe_vercnt;
	ns = n->icmsg_vercnt;
	need = (uint32_t)(IC_HEADER_SIZE + sizeof(*n)) + (nf + ns) * 4;
	if (nf <= IC_MAX_VERSION_COUNT && ns <= IC_MAX_VERSION_COUNT && need <= len) {
		for (i = 0; i < nfw && !found; i++)
			for (j = 0; j < nf && !found; j++)
				if (IC_VERSION(n->icversion_data[j].major,
					       n->icversion_data[j].minor) == fw[i]) {
					chosen[0] = n->icversion_data[j];
					found = true;
				}
		if (found) {
			found = false;
			for (i = 0; i < nsrv && !found; i++)
				for (j = nf; j < nf + ns && !found; j++)
					if (IC_VERSION(n->icversion_data[j].major,
						       n->icversion_data[j].minor) == srv[i]) {
						chosen[1] = n->icversion_data[j];
						found = true;
					}
		}
	}
	/* Linux answers with counts 1/1 on success and 0/0 otherwise. */
	n->icframe_vercnt = found;
	n->icmsg_vercnt = found;
	if (len >= IC_HEADER_SIZE + sizeof(*n) + 8) {
		n->icversion_data[0] = chosen[0];
		n->icversion_data[1] = chosen[1];
	}
	*fw_out = IC_VERSION(chosen[0].major, chosen[0].minor);
	*srv_out = IC_VERSION(chosen[1].major, chosen[1].minor);
	return found;
}

int vsc_ic_open(struct vsc_vmbus *bus, struct vsc_ic *ic, uint16_t service)
{
	static const struct vmbus_guid guids[] = {
	    [IC_MSGTYPE_HEARTBEAT] = IC_GUID_HEARTBEAT,
	    [IC_MSGTYPE_KVPEXCHANGE] = IC_GUID_KVP,
	    [IC_MSGTYPE_SHUTDOWN] = IC_GUID_SHUTDOWN,
	    [IC_MSGTYPE_TIMESYNC] = IC_GUID_TIMESYNC,
	};
	const struct vsc_offer *o;

	if (service < IC_MSGTYPE_HEARTBEAT || service > IC_MSGTYPE_TIMESYNC)
		return VSC_ERR_INVALID;
	o = vsc_vmbus_find_offer(bus, &guids[service], 0);
	if (!o)
		return VSC_ERR_INVALID;
	ic->service = service;
	/* VMBUS_RING_SIZE(3 pages): 3 data pages plus the header, each way. */
	return vsc_channel_open(bus, &ic->ch, o, 4, 4, bus->plat->vp_index);
}

/* ASCII <-> UTF-16LE, enough for the names and addresses the tests use. */
static uint32_t to_utf16(uint8_t *dst, uint32_t max, const char *s)
{
	uint32_t n = 0;

	while (s[n] && (n + 2) * 2 <= max) {
		dst[n * 2] = (uint8_t)s[n];
		dst[n * 2 + 1] = 0;
		n++;
	}
	dst[n * 2] = dst[n * 2 + 1] = 0;
	return (n + 1) * 2;
}

static void from_utf16(char *dst, uint32_t max, const uint8_t *src, uint32_t bytes)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i + 1 < bytes && n + 1 < max; i += 2) {
		uint16_t c = (uint16_t)(src[i] | src[i + 1] << 8);

		if (!c)
			break;
		dst[n++] = c < 0x80 ? (char)c : '?';
	}
	dst[n] = 0;
}

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void str_copy(char *dst, const char *src, uint32_t max)
{
	uint32_t n = 0;

	while (src[n] && n + 1 < max) {
		dst[n] = src[n];
		n++;
	}
	dst[n] = 0;
}

/* GET_IP_INFO: the answer for the adapter the host names, as hv_kvp_daemon gives it. */
static uint32_t kvp_ip_info(struct vsc_ic *ic, struct ic_kvp_ip_msg *m)
{
	char mac[VSC_KVP_MAX_STR];

	ic->ip_queries++;
	from_utf16(mac, sizeof(mac), m->adapter_id, sizeof(m->adapter_id));
	for (uint32_t i = 0; i < ic->adapter_count; i++) {
		const struct vsc_kvp_adapter *a = &ic->adapters[i];

		if (!streq(a->mac, mac))
			continue;
		to_utf16(m->ip_addr, sizeof(m->ip_addr), a->ip_addr);
		to_utf16(m->sub_net, sizeof(m->sub_net), a->sub_net);
		m->addr_family = IC_KVP_ADDR_FAMILY_IPV4 | IC_KVP_ADDR_FAMILY_IPV6;
		return IC_S_OK;
	}
	return IC_E_FAIL; /* no interface with that MAC */
}

static uint32_t kvp(struct vsc_ic *ic, uint8_t *body, uint32_t len)
{
	struct ic_kvp_msg *m = (struct ic_kvp_msg *)body;
	uint32_t pool, idx, *count;
	char key[VSC_KVP_MAX_STR];
	struct vsc_kvp_pair *pairs;

	if (!ic->kvp_daemon || len < sizeof(*m))
		return IC_E_FAIL;
	if (m->hdr.operation == IC_KVP_OP_GET_IP_INFO)
		return kvp_ip_info(ic, (struct ic_kvp_ip_msg *)body);
	pool = m->hdr.pool;
	if (pool >= IC_KVP_POOL_COUNT)
		return IC_E_FAIL;
	pairs = ic->pool[pool];
	count = &ic->pool_count[pool];
	switch (m->hdr.operation) {
	case IC_KVP_OP_ENUMERATE: {
		const struct vsc_kvp_pair *p;

		idx = m->body.enumerate.index;
		if (pool == IC_KVP_POOL_AUTO)
			p = idx < ic->auto_count ? &ic->auto_pool[idx] : NULL;
		else
			p = idx < *count ? &pairs[idx] : NULL;
		if (!p)
			return IC_S_CONT; /* end of the pool */
		m->body.enumerate.data.value_type = IC_KVP_REG_SZ;
		m->body.enumerate.data.key_size =
		    to_utf16(m->body.enumerate.data.key, IC_KVP_MAX_KEY_BYTES, p->key);
		m->body.enumerate.data.value_size =
		    to_utf16(m->body.enumerate.data.value, IC_KVP_MAX_VALUE_BYTES, p->value);
		return IC_S_OK;
	}
	case IC_KVP_OP_SET:
		if (m->body.set.value_type != IC_KVP_REG_SZ ||
		    m->body.set.key_size > IC_KVP_MAX_KEY_BYTES ||
		    m->body.set.value_size > IC_KVP_MAX_VALUE_BYTES)
			return IC_E_FAIL;
		from_utf16(key, sizeof(key), m->body.set.key, m->body.set.key_size);
		for (idx = 0; idx < *count; idx++)
			if (streq(pairs[idx].key, key))
				break;
		if (idx == *count) {
			if (*count == VSC_KVP_MAX_PAIRS)
				return IC_E_FAIL;
			(*count)++;
		}
		str_copy(pairs[idx].key, key, VSC_KVP_MAX_STR);
		from_utf16(pairs[idx].value, VSC_KVP_MAX_STR, m->body.set.value,
			   m->body.set.value_size);
		return IC_S_OK;
	case IC_KVP_OP_GET:
		if (m->body.get.key_size > IC_KVP_MAX_KEY_BYTES)
			return IC_E_FAIL;
		from_utf16(key, sizeof(key), m->body.get.key, m->body.get.key_size);
		for (idx = 0; idx < *count; idx++) {
			if (streq(pairs[idx].key, key)) {
				m->body.get.value_type = IC_KVP_REG_SZ;
				m->body.get.value_size = to_utf16(
				    m->body.get.value, IC_KVP_MAX_VALUE_BYTES, pairs[idx].value);
				return IC_S_OK;
			}
		}
		return IC_E_FAIL;
	case IC_KVP_OP_DELETE:
		if (m->body.del.key_size > IC_KVP_MAX_KEY_BYTES)
			return IC_E_FAIL;
		from_utf16(key, sizeof(key), m->body.del.key, m->body.del.key_size);
		for (idx = 0; idx < *count; idx++) {
			if (streq(pairs[idx].key, key)) {
				pairs[idx] = pairs[--*count];
				return IC_S_OK;
			}
		}
		return IC_E_FAIL;
	default:
		return IC_E_FAIL;
	}
}

static bool answer(struct vsc_ic *ic, uint8_t *buf, uint32_t len)
{
	struct ic_msg_header *h = (struct ic_msg_header *)(buf + sizeof(struct ic_pipe_header));
	uint8_t *body = buf + IC_HEADER_SIZE;
	uint32_t blen = len - (uint32_t)IC_HEADER_SIZE;

	if (h->icmsgtype == IC_MSGTYPE_NEGOTIATE) {
		const uint32_t *srv = hb_versions;
		uint32_t nsrv = 2;

		switch (ic->service) {
		case IC_MSGTYPE_SHUTDOWN:
			srv = sd_versions, nsrv = 4;
			break;
		case IC_MSGTYPE_TIMESYNC:
			srv = ts_versions, nsrv = 3;
			break;
		case IC_MSGTYPE_KVPEXCHANGE:
			srv = kvp_versions, nsrv = 3;
			break;
		}
		ic->negotiated = vsc_ic_negotiate(buf, len, fw_versions, 2, srv, nsrv,
						  &ic->fw_version, &ic->srv_version);
	} else if (h->icmsgtype != ic->service) {
		h->status = IC_E_FAIL;
	} else if (ic->service == IC_MSGTYPE_HEARTBEAT) {
		struct ic_heartbeat_msg hb;

		if (blen < 8)
			return false; /* Linux drops it without an answer */
		vsc_memcpy(&hb, body, 8);
		hb.seq_num++;
		ic->last_seq = hb.seq_num;
		vsc_memcpy(body, &hb, 8);
	} else if (ic->service == IC_MSGTYPE_SHUTDOWN) {
		struct ic_shutdown_msg *sd = (struct ic_shutdown_msg *)body;

		if (blen < sizeof(*sd))
			return false;
		ic->shutdown_flags = sd->flags;
		if (sd->flags <= 3 || (sd->flags <= 5 && ic->hibernation_supported)) {
			h->status = IC_S_OK;
			ic->shutdown_requested = true;
		} else {
			h->status = IC_E_FAIL;
		}
	} else if (ic->service == IC_MSGTYPE_TIMESYNC) {
		if (ic->srv_version > IC_VERSION(3, 0)) {
			struct ic_timesync_ref_msg t;

			if (blen < sizeof(t))
				return false;
			vsc_memcpy(&t, body, sizeof(t));
			ic->host_time = t.parenttime;
			ic->ref_time = t.vmreferencetime;
			ic->ts_flags = t.flags;
		} else {
			struct ic_timesync_msg t;

			if (blen < sizeof(t))
				return false;
			vsc_memcpy(&t, body, sizeof(t));
			ic->host_time = t.parenttime;
			ic->ref_time = 0;
			ic->ts_flags = t.flags;
		}
		ic->syncs++;
	} else if (ic->service == IC_MSGTYPE_KVPEXCHANGE) {
		h->status = kvp(ic, body, blen);
	}
	h->icflags = IC_FLAG_TRANSACTION | IC_FLAG_RESPONSE;
	return true;
}

void vsc_ic_poll(struct vsc_ic *ic)
{
	uint32_t len;

	while (ic->ch.open &&
	       vsc_channel_recv(&ic->ch, ic->buf, sizeof(ic->buf), &len) == VSC_RING_OK) {
		struct vmbus_packet_descriptor d;
		uint32_t off, plen;

		vsc_memcpy(&d, ic->buf, sizeof(d));
		off = d.offset8 * 8u;
		plen = len - off;
		ic->packets++;
		if (plen < IC_HEADER_SIZE) {
			ic->bad_packets++;
			continue;
		}
		/* Answer in place with the same length and transaction id. */
		if (answer(ic, ic->buf + off, plen))
			vsc_channel_send(&ic->ch, VMBUS_PKT_DATA_INBAND, 0, d.trans_id,
					 ic->buf + off, plen);
	}
}

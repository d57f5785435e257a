// SPDX-License-Identifier: MIT
/* KVP IC (ic_kvp.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ic_kvp.h"
#include "ic_kvp_ipinfo.h"

#define KEY_MAX 256 /* UTF-8 bytes: 512 UTF-16 bytes of ASCII */
#define VALUE_MAX 1024

static const uint32_t kvp_versions[] = {IC_VERSION(4, 0), IC_VERSION(3, 0), IC_VERSION(1, 0)};

struct kvp_pair {
	char key[KEY_MAX];
	char value[VALUE_MAX];
};

struct kvp_op {
	uint8_t operation, pool;
	uint8_t slot; /* GET_IP_INFO: the adapter */
	char key[KEY_MAX];
	char value[VALUE_MAX];
};

struct kvp_adapter {
	bool watched, answered, queued, stale;
	uint8_t mac[6];
	struct ic_kvp_addr addrs[IC_KVP_MAX_ADAPTER_ADDRS];
	unsigned naddrs;
};

struct ic_kvp {
	struct ic_kvp_params p;
	struct ic_service *svc;
	struct evloop_timer *timer;
	struct kvp_pair guest[IC_KVP_MAX_GUEST_PAIRS], scratch[IC_KVP_MAX_GUEST_PAIRS];
	uint32_t nguest, nscratch;
	bool enumerating;
	uint32_t enum_index;
	struct kvp_op queue[IC_KVP_MAX_QUEUED];
	uint32_t qhead, qcount;
	struct ic_kvp_status st;
	struct kvp_adapter adapters[IC_KVP_MAX_ADAPTERS];
	char addr_keys[2 * VALUE_MAX]; /* the auto pool's address lists at the last queries */
	union {
		struct ic_kvp_msg msg; /* one request, built in place */
		struct ic_kvp_ip_msg ip;
	} req;
};

static void pump(struct ic_kvp *k);

static int send_op(struct ic_kvp *k, const struct kvp_op *op)
{
	struct ic_kvp_msg *m = &k->req.msg;

	memset(&k->req, 0, sizeof(k->req));
	if (op->operation == IC_KVP_OP_GET_IP_INFO) {
		ic_kvp_ipinfo_request(&k->req.ip, k->adapters[op->slot].mac);
		return ic_service_request(k->svc, &k->req, sizeof(k->req));
	}
	m->hdr.operation = op->operation;
	m->hdr.pool = op->pool;
	switch (op->operation) {
	case IC_KVP_OP_SET:
		m->body.set.value_type = IC_KVP_REG_SZ;
		m->body.set.key_size =
		    (uint32_t)ic_utf8_to_utf16(op->key, m->body.set.key, IC_KVP_MAX_KEY_BYTES);
		m->body.set.value_size = (uint32_t)ic_utf8_to_utf16(op->value, m->body.set.value,
								    IC_KVP_MAX_VALUE_BYTES);
		break;
	case IC_KVP_OP_DELETE:
		m->body.del.key_size =
		    (uint32_t)ic_utf8_to_utf16(op->key, m->body.del.key, IC_KVP_MAX_KEY_BYTES);
		break;
	case IC_KVP_OP_ENUMERATE:
		m->body.enumerate.index = k->enum_index;
		break;
	}
	/* Full size: the guest writes its answer into the same buffer. */
	return ic_service_request(k->svc, &k->req, sizeof(k->req));
}

static void pump(struct ic_kvp *k)
{
	if (!ic_service_ready(k->svc) || ic_service_busy(k->svc))
		return;
	if (k->qcount) {
		if (!send_op(k, &k->queue[k->qhead])) {
			/* stays queued until answered */
		}
		return;
	}
	if (k->enumerating) {
		struct kvp_op op = {.operation = IC_KVP_OP_ENUMERATE, .pool = IC_KVP_POOL_AUTO};

		send_op(k, &op);
	}
}

/*
 * After a pass over the auto pool: ask for the addresses of every watched NIC
 * that has no answer yet, and of all of them when the guest's address lists
 * in the pool changed. Only then: hv_kvp_daemon runs several helper programs
 * for each GET_IP_INFO, too much for every 5 s refresh.
 */
static void queue_ip_queries(struct ic_kvp *k)
{
	char now[sizeof(k->addr_keys)] = "";
	bool changed;

	for (uint32_t i = 0; i < k->nguest; i++) {
		if (!strcmp(k->guest[i].key, "NetworkAddressIPv4") ||
		    !strcmp(k->guest[i].key, "NetworkAddressIPv6")) {
			strncat(now, k->guest[i].value, sizeof(now) - strlen(now) - 2);
			strcat(now, " ");
		}
	}
	changed = strcmp(now, k->addr_keys) != 0;
	memcpy(k->addr_keys, now, sizeof(now));
	for (unsigned i = 0; i < IC_KVP_MAX_ADAPTERS; i++) {
		struct kvp_adapter *a = &k->adapters[i];

		if (changed)
			a->stale = true;
		if (!a->watched || a->queued || (a->answered && !a->stale) ||
		    k->qcount == IC_KVP_MAX_QUEUED)
			continue;
		k->queue[(k->qhead + k->qcount) % IC_KVP_MAX_QUEUED] =
		    (struct kvp_op){.operation = IC_KVP_OP_GET_IP_INFO,
				    .pool = IC_KVP_POOL_AUTO,
				    .slot = (uint8_t)i};
		k->qcount++;
		a->queued = true;
		a->stale = false;
	}
}

static void finish_pass(struct ic_kvp *k)
{
	memcpy(k->guest, k->scratch, sizeof(k->scratch[0]) * k->nscratch);
	k->nguest = k->nscratch;
	k->enumerating = false;
	k->st.enumerations++;
	k->st.pairs = k->nguest;
	queue_ip_queries(k);
	if (k->p.on_updated)
		k->p.on_updated(k->p.ctx);
	pump(k);
}

static void on_response(struct ic_service *svc, uint32_t status, const uint8_t *body, uint32_t len,
			void *ctx)
{
	struct ic_kvp *k = ctx;
	struct ic_kvp_header h;

	(void)svc;
	if (k->qcount) {
		/* The queued operation at the head was in flight. */
		const struct kvp_op *op = &k->queue[k->qhead];

		if (op->operation == IC_KVP_OP_GET_IP_INFO) {
			struct kvp_adapter *a = &k->adapters[op->slot];
			/* A failure (no interface with that MAC, yet) leaves the NIC unknown. */
			int n = status == IC_S_OK ? ic_kvp_ipinfo_parse(body, len, a->addrs,
									IC_KVP_MAX_ADAPTER_ADDRS)
						  : -1;

			a->queued = false;
			a->answered = n >= 0;
			a->naddrs = n > 0 ? (unsigned)n : 0;
		}
		if (status == IC_S_OK)
			k->st.ops_ok++;
		else
			k->st.ops_failed++;
		k->qhead = (k->qhead + 1) % IC_KVP_MAX_QUEUED;
		k->qcount--;
	} else if (k->enumerating) {
		const size_t need = sizeof(h) + sizeof(struct ic_kvp_enumerate);
		struct ic_kvp_enumerate e;

		if (status != IC_S_OK || len < need) {
			/* IC_S_CONT (or a failure) ends the pass. */
			finish_pass(k);
			return;
		}
		memcpy(&h, body, sizeof(h));
		memcpy(&e, body + sizeof(h), sizeof(e));
		if (h.operation != IC_KVP_OP_ENUMERATE || e.data.key_size > IC_KVP_MAX_KEY_BYTES ||
		    e.data.value_size > IC_KVP_MAX_VALUE_BYTES ||
		    k->nscratch == IC_KVP_MAX_GUEST_PAIRS) {
			finish_pass(k);
			return;
		}
		ic_utf16_to_utf8(e.data.key, e.data.key_size, k->scratch[k->nscratch].key, KEY_MAX);
		ic_utf16_to_utf8(e.data.value, e.data.value_size, k->scratch[k->nscratch].value,
				 VALUE_MAX);
		k->nscratch++;
		k->enum_index++;
	}
	pump(k);
}

static void start_pass(struct ic_kvp *k)
{
	if (k->enumerating)
		return;
	k->enumerating = true;
	k->enum_index = 0;
	k->nscratch = 0;
	pump(k);
}

static void tick(struct evloop *loop, struct evloop_timer *t, void *ctx)
{
	(void)loop, (void)t;
	start_pass(ctx);
}

static void on_ready(struct ic_service *svc, void *ctx)
{
	struct ic_kvp *k = ctx;

	k->st.negotiated = true;
	k->st.version = ic_service_version(svc);
	start_pass(k);
	if (!k->timer)
		k->timer = evloop_add_timer(k->p.loop, k->p.refresh_ms, k->p.refresh_ms, tick, k);
}

static void on_reset(struct ic_service *svc, void *ctx)
{
	struct ic_kvp *k = ctx;

	(void)svc;
	k->st.negotiated = false;
	k->enumerating = false;
	/* What the guest said before a reset (reboot, driver reload) is stale. */
	for (unsigned i = 0; i < IC_KVP_MAX_ADAPTERS; i++) {
		k->adapters[i].answered = false;
		k->adapters[i].naddrs = 0;
	}
	k->addr_keys[0] = '\0';
	if (k->timer) {
		evloop_del_timer(k->timer);
		k->timer = NULL;
	}
}

int ic_kvp_create(const struct ic_kvp_params *p, struct ic_kvp **out)
{
	struct ic_kvp *k = calloc(1, sizeof(*k));
	struct ic_service_params sp = {
	    .server = p->server,
	    .loop = p->loop,
	    .if_type = IC_GUID_KVP,
	    .if_instance = p->instance,
	    .msgtype = IC_MSGTYPE_KVPEXCHANGE,
	    .versions = kvp_versions,
	    .nversions = 3,
	    .on_ready = on_ready,
	    .on_response = on_response,
	    .on_reset = on_reset,
	    .ctx = k,
	};
	int ret;

	*out = NULL;
	if (!k)
		return -ENOMEM;
	k->p = *p;
	if (!k->p.refresh_ms)
		k->p.refresh_ms = 30000;
	ret = ic_service_create(&sp, &k->svc);
	if (ret) {
		free(k);
		return ret;
	}
	*out = k;
	return 0;
}

void ic_kvp_destroy(struct ic_kvp *k)
{
	if (!k)
		return;
	if (k->timer)
		evloop_del_timer(k->timer);
	ic_service_destroy(k->svc);
	free(k);
}

void ic_kvp_get_status(const struct ic_kvp *k, struct ic_kvp_status *st)
{
	*st = k->st;
}

int ic_kvp_get_guest_value(const struct ic_kvp *k, const char *key, char *value, size_t size)
{
	for (uint32_t i = 0; i < k->nguest; i++) {
		if (!strcmp(k->guest[i].key, key)) {
			if (size) {
				strncpy(value, k->guest[i].value, size - 1);
				value[size - 1] = '\0';
			}
			return 0;
		}
	}
	return -ENOENT;
}

int ic_kvp_get_guest_pair(const struct ic_kvp *k, uint32_t index, const char **key,
			  const char **value)
{
	if (index >= k->nguest)
		return -ENOENT;
	*key = k->guest[index].key;
	*value = k->guest[index].value;
	return 0;
}

static int queue_op(struct ic_kvp *k, uint8_t operation, uint8_t pool, const char *key,
		    const char *value)
{
	struct kvp_op *op;

	if (pool >= IC_KVP_POOL_COUNT || !key || strlen(key) >= KEY_MAX ||
	    (value && strlen(value) >= VALUE_MAX))
		return -EINVAL;
	if (k->qcount == IC_KVP_MAX_QUEUED)
		return -ENOSPC;
	op = &k->queue[(k->qhead + k->qcount) % IC_KVP_MAX_QUEUED];
	memset(op, 0, sizeof(*op));
	op->operation = operation;
	op->pool = pool;
	strcpy(op->key, key);
	if (value)
		strcpy(op->value, value);
	k->qcount++;
	pump(k);
	return 0;
}

int ic_kvp_set(struct ic_kvp *k, uint8_t pool, const char *key, const char *value)
{
	return queue_op(k, IC_KVP_OP_SET, pool, key, value ? value : "");
}

int ic_kvp_delete(struct ic_kvp *k, uint8_t pool, const char *key)
{
	return queue_op(k, IC_KVP_OP_DELETE, pool, key, NULL);
}

int ic_kvp_refresh(struct ic_kvp *k)
{
	if (!ic_service_ready(k->svc))
		return -ENOTCONN;
	start_pass(k);
	return 0;
}

int ic_kvp_watch_adapter(struct ic_kvp *k, unsigned slot, const uint8_t mac[6])
{
	if (slot >= IC_KVP_MAX_ADAPTERS)
		return -EINVAL;
	memcpy(k->adapters[slot].mac, mac, 6);
	k->adapters[slot].watched = true;
	return 0;
}

int ic_kvp_get_adapter_addrs(const struct ic_kvp *k, unsigned slot, struct ic_kvp_addr *out,
			     unsigned max)
{
	const struct kvp_adapter *a;
	unsigned n;

	if (slot >= IC_KVP_MAX_ADAPTERS || !k->adapters[slot].watched ||
	    !k->adapters[slot].answered)
		return -ENOENT;
	a = &k->adapters[slot];
	n = a->naddrs < max ? a->naddrs : max;
	memcpy(out, a->addrs, n * sizeof(*out));
	return (int)n;
}

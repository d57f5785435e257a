// SPDX-License-Identifier: MIT
/*
 * The vPCI VSP on the VMBus channel API: one request at a time, each checked
 * by vpci_parse() and answered with a completion when the guest asked for
 * one. A guest that breaks the protocol, or does not read its ring, loses
 * the channel.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus_vsp.h"
#include "vpci.h"

#define VPCI_STATUS_NOT_SUPPORTED ((int32_t)0xC00000BBu)

struct vpci_func {
	struct vpci_device dev;
	bool assigned; /* between RESOURCES_ASSIGNED and RESOURCES_RELEASED */
	bool ejecting; /* EJECT sent, EJECTION_COMPLETE not yet seen */
};

struct vpci {
	struct vmbus_channel *chan;
	const struct vpci_callbacks *cb;
	void *cb_ctx;
	uint32_t version; /* 0 until negotiated */
	bool d0;
	bool listed; /* the guest has seen the device list */
	size_t nfuncs;
	struct vpci_func funcs[VPCI_MAX_DEVICES];
};

uint32_t vpci_version(const struct vpci *v)
{
	return v->version;
}

static struct vpci_func *find(struct vpci *v, uint32_t slot)
{
	if (!v->listed)
		return NULL;
	for (size_t i = 0; i < v->nfuncs; i++)
		if (VPCI_SLOT(v->funcs[i].dev.dev, v->funcs[i].dev.func) == slot)
			return &v->funcs[i];
	return NULL;
}

/* Send a completion if the guest wants one; a full ring means the guest
 * stopped reading, which this one-request-at-a-time protocol never needs. */
static void reply(struct vpci *v, const struct vmbus_packet *pkt, const void *msg, int len)
{
	if (!(pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED))
		return;
	if (len < 0 || vmbus_channel_send_completion(v->chan, pkt->trans_id, msg, (uint32_t)len))
		vmbus_channel_fail(v->chan, "vpci: cannot send a completion (guest ring full)");
}

static void reply_status(struct vpci *v, const struct vmbus_packet *pkt, int32_t status)
{
	uint8_t buf[sizeof(struct vpci_wire_status)];

	reply(v, pkt, buf, vpci_build_status(buf, sizeof(buf), status));
}

static void send_relations(struct vpci *v)
{
	uint8_t buf[sizeof(struct vpci_wire_bus_relations) +
		    VPCI_MAX_DEVICES * sizeof(struct vpci_wire_func2)];
	struct vpci_device devs[VPCI_MAX_DEVICES];
	int len;

	for (size_t i = 0; i < v->nfuncs; i++)
		devs[i] = v->funcs[i].dev;
	len = vpci_build_bus_relations(buf, sizeof(buf), v->version, devs, v->nfuncs);
	if (len < 0 || vmbus_channel_send(v->chan, 0, buf, (uint32_t)len, false)) {
		vmbus_channel_fail(v->chan, "vpci: cannot send the bus relations");
		return;
	}
	v->listed = true;
}

static void on_version(struct vpci *v, const struct vmbus_packet *pkt, uint32_t version)
{
	if (v->version) {
		vmbus_channel_fail(v->chan, "vpci: second version negotiation");
		return;
	}
	if (!vpci_version_supported(version)) {
		reply_status(v, pkt, VPCI_STATUS_REVISION_MISMATCH);
		return;
	}
	v->version = version;
	vmbus_channel_log(v->chan, "vpci: protocol %u.%u", version >> 16, version & 0xffff);
	reply_status(v, pkt, VPCI_STATUS_SUCCESS);
}

static int32_t on_d0_entry(struct vpci *v, uint64_t base)
{
	/* Linux retries once after D0 exit when the host still holds the bus. */
	if (v->d0)
		return VPCI_STATUS_INVALID_DEVICE_STATE;
	if (v->cb && v->cb->d0_entry) {
		int32_t st = v->cb->d0_entry(v->cb_ctx, base);

		if (st < 0)
			return st;
	}
	v->d0 = true;
	return VPCI_STATUS_SUCCESS;
}

static void release(struct vpci *v, struct vpci_func *f)
{
	if (!f->assigned)
		return;
	f->assigned = false;
	if (v->cb && v->cb->resources_released)
		v->cb->resources_released(v->cb_ctx, &f->dev);
}

static void on_d0_exit(struct vpci *v)
{
	for (size_t i = 0; i < v->nfuncs; i++)
		release(v, &v->funcs[i]);
	if (v->d0 && v->cb && v->cb->d0_exit)
		v->cb->d0_exit(v->cb_ctx);
	v->d0 = false;
}

static void on_resource_reqs(struct vpci *v, const struct vmbus_packet *pkt, uint32_t slot)
{
	uint8_t buf[sizeof(struct vpci_wire_res_reqs)];
	struct vpci_func *f = find(v, slot);

	if (!f) {
		reply_status(v, pkt, VPCI_STATUS_NO_SUCH_DEVICE);
		return;
	}
	reply(v, pkt, buf, vpci_build_resource_reqs(buf, sizeof(buf), &f->dev));
}

static int32_t on_assigned(struct vpci *v, uint32_t slot, uint32_t msi_count)
{
	struct vpci_func *f = find(v, slot);

	if (!f)
		return VPCI_STATUS_NO_SUCH_DEVICE;
	if (!v->d0)
		return VPCI_STATUS_INVALID_DEVICE_STATE;
	if (v->cb && v->cb->resources_assigned) {
		int32_t st = v->cb->resources_assigned(v->cb_ctx, &f->dev, msi_count);

		if (st < 0)
			return st;
	}
	f->assigned = true;
	return VPCI_STATUS_SUCCESS;
}

static void on_create_int(struct vpci *v, const struct vmbus_packet *pkt, uint32_t slot,
			  const struct vpci_interrupt *in)
{
	uint8_t buf[sizeof(struct vpci_wire_create_int_resp)];
	struct vpci_func *f = find(v, slot);
	uint64_t address = 0;
	uint32_t data = 0;
	int32_t st;

	if (!f)
		st = VPCI_STATUS_NO_SUCH_DEVICE;
	else if (!v->d0 || !f->assigned)
		st = VPCI_STATUS_INVALID_DEVICE_STATE;
	else if (!v->cb || !v->cb->create_interrupt)
		st = VPCI_STATUS_NOT_SUPPORTED;
	else
		st = v->cb->create_interrupt(v->cb_ctx, &f->dev, in, &address, &data);
	reply(v, pkt, buf,
	      vpci_build_create_int_resp(buf, sizeof(buf), st, in->vector_count, address, data));
}

/* The guest gave the function up: tell the owner, then drop it from the bus. */
static void ejected(struct vpci *v, struct vpci_func *f)
{
	struct vpci_device dev = f->dev;
	size_t i = (size_t)(f - v->funcs);

	release(v, f);
	memmove(&v->funcs[i], &v->funcs[i + 1], (v->nfuncs - i - 1) * sizeof(v->funcs[0]));
	v->nfuncs--;
	if (v->cb && v->cb->ejection_complete)
		v->cb->ejection_complete(v->cb_ctx, &dev);
}

int vpci_eject(struct vpci *v, uint8_t dev, uint8_t func)
{
	uint8_t buf[sizeof(struct vpci_wire_child)];
	struct vpci_func *f;
	int len, ret;

	if (!v->chan || !vmbus_channel_is_open(v->chan))
		return -ENOTCONN;
	if (dev > VPCI_SLOT_DEV_MASK || func > VPCI_SLOT_FUNC_MASK)
		return -ENOENT;
	f = find(v, VPCI_SLOT(dev, func));
	if (!f)
		return -ENOENT;
	len = vpci_build_eject(buf, sizeof(buf), VPCI_SLOT(dev, func));
	if (len < 0)
		return len;
	ret = vmbus_channel_send(v->chan, 0, buf, (uint32_t)len, false);
	if (ret == -EAGAIN)
		return ret;
	if (ret)
		return -ENOTCONN;
	f->ejecting = true;
	return 0;
}

static void on_packet(struct vmbus_channel *chan, const struct vmbus_packet *pkt, void *ctx)
{
	struct vpci *v = ctx;
	struct vpci_request req;
	struct vpci_func *f;
	const char *why;
	int rc;

	(void)chan;
	if (pkt->type != VMBUS_PKT_DATA_INBAND) {
		vmbus_channel_fail(v->chan, "vpci: not an inband packet");
		return;
	}
	rc = vpci_parse(pkt->data, pkt->len, v->version, &req, &why);
	if (rc == -ENOTSUP) {
		reply_status(v, pkt, VPCI_STATUS_NOT_SUPPORTED);
		return;
	}
	if (rc) {
		vmbus_channel_log(v->chan, "vpci: message %#x: %s", req.type, why);
		vmbus_channel_fail(v->chan, why);
		return;
	}
	switch (req.kind) {
	case VPCI_REQ_VERSION:
		on_version(v, pkt, req.u.version);
		break;
	case VPCI_REQ_D0_ENTRY:
		reply_status(v, pkt, on_d0_entry(v, req.u.mmio_base));
		break;
	case VPCI_REQ_D0_EXIT:
		on_d0_exit(v);
		reply_status(v, pkt, VPCI_STATUS_SUCCESS);
		break;
	case VPCI_REQ_QUERY_RELATIONS:
		send_relations(v);
		break;
	case VPCI_REQ_RESOURCE_REQS:
		on_resource_reqs(v, pkt, req.slot);
		break;
	case VPCI_REQ_RESOURCES_ASSIGNED:
		reply_status(v, pkt, on_assigned(v, req.slot, req.u.msi_count));
		break;
	case VPCI_REQ_RESOURCES_RELEASED:
		f = find(v, req.slot);
		if (f)
			release(v, f);
		break;
	case VPCI_REQ_CREATE_INTERRUPT:
		on_create_int(v, pkt, req.slot, &req.u.interrupt);
		break;
	case VPCI_REQ_DELETE_INTERRUPT:
		f = find(v, req.slot);
		if (f && v->cb && v->cb->delete_interrupt)
			v->cb->delete_interrupt(v->cb_ctx, &f->dev, req.u.msi.address,
						req.u.msi.data);
		break;
	case VPCI_REQ_EJECTION_COMPLETE:
		f = find(v, req.slot);
		if (f && f->ejecting)
			ejected(v, f);
		break;
	}
}

static int on_open(struct vmbus_channel *chan, void *ctx)
{
	struct vpci *v = ctx;

	v->chan = chan;
	v->version = 0;
	v->d0 = false;
	v->listed = false;
	return 0;
}

/* Whatever the guest held goes back to the owner, as after a D0 exit. */
static void on_close(struct vmbus_channel *chan, void *ctx)
{
	struct vpci *v = ctx;

	(void)chan;
	on_d0_exit(v);
	/* An eject the guest never answered: the owner may ask again. */
	for (size_t i = 0; i < v->nfuncs; i++)
		v->funcs[i].ejecting = false;
	v->version = 0;
	v->listed = false;
}

static void on_released(struct vmbus_channel *chan, void *ctx)
{
	struct vpci *v = ctx;

	(void)chan;
	v->chan = NULL;
}

static const struct vmbus_vsp_ops vpci_ops = {
    .open = on_open,
    .packet = on_packet,
    .close = on_close,
    .released = on_released,
};

int vpci_create(const struct vpci_params *p, struct vpci **out)
{
	static const struct vmbus_guid klass = VPCI_CLASS_GUID;
	struct vmbus_offer_params op = {
	    .if_type = klass,
	    .if_instance = p->instance,
	    .max_packet_size = 4096,
	    .ops = &vpci_ops,
	};
	uint8_t probe[sizeof(struct vpci_wire_bus_relations) +
		      VPCI_MAX_DEVICES * sizeof(struct vpci_wire_func2)];
	struct vpci *v;
	int ret;

	*out = NULL;
	if (p->ndevs > VPCI_MAX_DEVICES || (p->ndevs && !p->devs))
		return -EINVAL;
	/* The builder checks every model and that no two share a slot. */
	if (vpci_build_bus_relations(probe, sizeof(probe), VPCI_VERSION_1_4, p->devs, p->ndevs) < 0)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->cb = p->cb;
	v->cb_ctx = p->cb_ctx;
	v->nfuncs = p->ndevs;
	for (size_t i = 0; i < p->ndevs; i++)
		v->funcs[i].dev = p->devs[i];
	op.ctx = v;
	ret = vmbus_offer(p->server, &op, &v->chan);
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	return 0;
}

void vpci_destroy(struct vpci *v)
{
	if (!v)
		return;
	if (v->chan)
		vmbus_channel_remove(v->chan);
	free(v);
}

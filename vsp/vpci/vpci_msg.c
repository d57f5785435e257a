// SPDX-License-Identifier: MIT
/*
 * vPCI messages: the guest's requests checked once into struct vpci_request,
 * and the host's answers laid out as the guest driver reads them.
 */
#include <errno.h>
#include <string.h>

#include "vpci_msg.h"

bool vpci_version_supported(uint32_t version)
{
	return version == VPCI_VERSION_1_1 || version == VPCI_VERSION_1_2 ||
	       version == VPCI_VERSION_1_3 || version == VPCI_VERSION_1_4;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int vpci_device_check(const struct vpci_device *d, const char **why)
{
	if (d->dev > VPCI_SLOT_DEV_MASK || d->func > VPCI_SLOT_FUNC_MASK) {
		*why = "device or function number out of range";
		return -EINVAL;
	}
	for (int i = 0; i < VPCI_NUM_BARS; i++) {
		const struct vpci_bar *b = &d->bars[i];

		if (!b->size) {
			if (b->flags) {
				*why = "flags on an empty BAR";
				return -EINVAL;
			}
			continue;
		}
		if (b->flags & ~(VPCI_BAR_MEM64 | VPCI_BAR_PREFETCH)) {
			*why = "unknown BAR flags (no I/O BARs)";
			return -EINVAL;
		}
		if (!is_pow2(b->size) || b->size < 16) {
			*why = "BAR size not a power of two of at least 16 bytes";
			return -EINVAL;
		}
		if (!(b->flags & VPCI_BAR_MEM64)) {
			if (b->size > (1ull << 31)) {
				*why = "32-bit BAR above 2 GiB";
				return -EINVAL;
			}
			continue;
		}
		if (b->size > (1ull << 63)) {
			*why = "64-bit BAR too large";
			return -EINVAL;
		}
		/* The upper half lives in the next slot, which must be free. */
		if (i == VPCI_NUM_BARS - 1 || d->bars[i + 1].size || d->bars[i + 1].flags) {
			*why = "64-bit BAR without a free upper slot";
			return -EINVAL;
		}
		i++;
	}
	return 0;
}

void vpci_bar_probe_values(const struct vpci_device *d, uint32_t out[VPCI_NUM_BARS])
{
	memset(out, 0, VPCI_NUM_BARS * sizeof(out[0]));
	for (int i = 0; i < VPCI_NUM_BARS; i++) {
		const struct vpci_bar *b = &d->bars[i];
		uint64_t mask;

		if (!b->size)
			continue;
		/* Writable address bits read back as ones, the rest as zeros. */
		mask = ~(b->size - 1);
		out[i] = ((uint32_t)mask & 0xfffffff0u) | (b->flags & 0xfu);
		if ((b->flags & VPCI_BAR_MEM64) && i + 1 < VPCI_NUM_BARS) {
			out[i + 1] = (uint32_t)(mask >> 32);
			i++;
		}
	}
}

/* ---- Parsing ---- */

/*
 * Whether a payload of len bytes holds a message of size bytes: VMBus pads
 * packets to 8 bytes, so up to 7 bytes more are padding.
 */
static bool size_ok(size_t len, size_t size)
{
	return len >= size && len <= ((size + 7) & ~(size_t)7);
}

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The protocol version that introduced a message (and, for the versioned
 * forms, the one that replaced it). 0: a type this host refuses. */
struct msg_rule {
	uint32_t type;
	size_t size;
	uint32_t min_version;
	uint32_t max_version; /* 0: no upper bound */
};

static const struct msg_rule rules[] = {
    {VPCI_MSG_QUERY_PROTOCOL_VERSION, sizeof(struct vpci_wire_version_req), 0, 0},
    {VPCI_MSG_BUS_D0_ENTRY, sizeof(struct vpci_wire_d0_entry), VPCI_VERSION_1_1, 0},
    {VPCI_MSG_BUS_D0_EXIT, sizeof(uint32_t), VPCI_VERSION_1_1, 0},
    {VPCI_MSG_QUERY_BUS_RELATIONS, sizeof(uint32_t), VPCI_VERSION_1_1, 0},
    {VPCI_MSG_QUERY_RESOURCE_REQS, sizeof(struct vpci_wire_child), VPCI_VERSION_1_1, 0},
    {VPCI_MSG_RESOURCES_ASSIGNED, sizeof(struct vpci_wire_res_assigned), VPCI_VERSION_1_1,
     VPCI_VERSION_1_1},
    {VPCI_MSG_RESOURCES_ASSIGNED2, sizeof(struct vpci_wire_res_assigned2), VPCI_VERSION_1_2, 0},
    {VPCI_MSG_RESOURCES_RELEASED, sizeof(struct vpci_wire_child), VPCI_VERSION_1_1, 0},
    {VPCI_MSG_CREATE_INTERRUPT, sizeof(struct vpci_wire_create_int), VPCI_VERSION_1_1,
     VPCI_VERSION_1_1},
    {VPCI_MSG_CREATE_INTERRUPT2, sizeof(struct vpci_wire_create_int2), VPCI_VERSION_1_2,
     VPCI_VERSION_1_3},
    {VPCI_MSG_CREATE_INTERRUPT3, sizeof(struct vpci_wire_create_int3), VPCI_VERSION_1_4, 0},
    {VPCI_MSG_DELETE_INTERRUPT, sizeof(struct vpci_wire_delete_int), VPCI_VERSION_1_1, 0},
    {VPCI_MSG_EJECTION_COMPLETE, sizeof(struct vpci_wire_eject_done), VPCI_VERSION_1_1, 0},
};

/* Known to the protocol but not (yet) served here. */
static bool unsupported_type(uint32_t type)
{
	switch (type) {
	case VPCI_MSG_POWER_STATE_CHANGE:
	case VPCI_MSG_QUERY_RESOURCES:
	case VPCI_MSG_READ_BLOCK:
	case VPCI_MSG_WRITE_BLOCK:
	case VPCI_MSG_QUERY_STOP:
	case VPCI_MSG_REENABLE:
	case VPCI_MSG_QUERY_STOP_FAILED:
	case VPCI_MSG_DELETE_INTERRUPT2:
	case VPCI_MSG_RESOURCES_ASSIGNED3:
		return true;
	default:
		return false;
	}
}

static int check_slot(uint32_t slot, const char **why)
{
	if (slot & VPCI_SLOT_RESERVED_MASK)
		return fail(why, "reserved slot bits set");
	return 0;
}

/* Both forms of RESOURCES_ASSIGNED: they differ only in the size of their reserved tail. */
static int res_assigned(uint32_t slot, uint32_t msi_count, const void *reserved,
			size_t reserved_len, struct vpci_request *out, const char **why)
{
	if (!all_zero(reserved, reserved_len))
		return fail(why, "resources assigned reserved bytes not zero");
	out->kind = VPCI_REQ_RESOURCES_ASSIGNED;
	out->slot = slot;
	out->u.msi_count = msi_count;
	return check_slot(slot, why);
}

static int check_vector_count(uint16_t n, uint8_t mode, const char **why)
{
	/* Multi-message MSI allows up to 32 vectors; MSI-X asks one at a time. */
	if (n == 0 || n > 32)
		return fail(why, "interrupt vector count not 1-32");
	if (mode > 1)
		return fail(why, "interrupt delivery mode not fixed or lowest priority");
	return 0;
}

static int decode_vps(struct vpci_interrupt *in, uint16_t count, const void *vps, const char **why)
{
	if (count == 0 || count > VPCI_MAX_TARGET_VPS)
		return fail(why, "interrupt target count not 1-32");
	in->vp_count = count;
	memcpy(in->vps, vps, count * sizeof(in->vps[0]));
	return 0;
}

static int decode(const uint8_t *p, const struct msg_rule *r, struct vpci_request *out,
		  const char **why)
{
	switch (r->type) {
	case VPCI_MSG_QUERY_PROTOCOL_VERSION: {
		struct vpci_wire_version_req m;

		memcpy(&m, p, sizeof(m));
		out->kind = VPCI_REQ_VERSION;
		out->u.version = m.version;
		return 0;
	}
	case VPCI_MSG_BUS_D0_ENTRY: {
		struct vpci_wire_d0_entry m;

		memcpy(&m, p, sizeof(m));
		if (m.reserved)
			return fail(why, "D0 entry reserved field not zero");
		/* The config window is 8 KiB of guest physical space. */
		if (m.mmio_base & 0xfff)
			return fail(why, "D0 entry config window not page aligned");
		out->kind = VPCI_REQ_D0_ENTRY;
		out->u.mmio_base = m.mmio_base;
		return 0;
	}
	case VPCI_MSG_BUS_D0_EXIT:
		out->kind = VPCI_REQ_D0_EXIT;
		return 0;
	case VPCI_MSG_QUERY_BUS_RELATIONS:
		out->kind = VPCI_REQ_QUERY_RELATIONS;
		return 0;
	case VPCI_MSG_QUERY_RESOURCE_REQS:
	case VPCI_MSG_RESOURCES_RELEASED: {
		struct vpci_wire_child m;

		memcpy(&m, p, sizeof(m));
		out->kind = r->type == VPCI_MSG_QUERY_RESOURCE_REQS ? VPCI_REQ_RESOURCE_REQS
								    : VPCI_REQ_RESOURCES_RELEASED;
		out->slot = m.slot;
		return check_slot(m.slot, why);
	}
	case VPCI_MSG_RESOURCES_ASSIGNED: {
		struct vpci_wire_res_assigned m;

		memcpy(&m, p, sizeof(m));
		return res_assigned(m.slot, m.msi_count, m.reserved, sizeof(m.reserved), out, why);
	}
	case VPCI_MSG_RESOURCES_ASSIGNED2: {
		struct vpci_wire_res_assigned2 m;

		memcpy(&m, p, sizeof(m));
		return res_assigned(m.slot, m.msi_count, m.reserved, sizeof(m.reserved), out, why);
	}
	case VPCI_MSG_CREATE_INTERRUPT: {
		struct vpci_wire_create_int m;
		struct vpci_interrupt *in = &out->u.interrupt;

		memcpy(&m, p, sizeof(m));
		out->kind = VPCI_REQ_CREATE_INTERRUPT;
		out->slot = m.slot;
		if (m.msi.reserved)
			return fail(why, "interrupt reserved field not zero");
		if (!m.msi.cpu_mask)
			return fail(why, "interrupt targets no processor");
		in->vector = m.msi.vector;
		in->delivery_mode = m.msi.delivery_mode;
		in->vector_count = m.msi.vector_count;
		in->vp_mask_valid = true;
		in->vp_mask = m.msi.cpu_mask;
		if (check_slot(m.slot, why))
			return -EINVAL;
		return check_vector_count(in->vector_count, in->delivery_mode, why);
	}
	case VPCI_MSG_CREATE_INTERRUPT2: {
		struct vpci_wire_create_int2 m;
		struct vpci_interrupt *in = &out->u.interrupt;

		memcpy(&m, p, sizeof(m));
		out->kind = VPCI_REQ_CREATE_INTERRUPT;
		out->slot = m.slot;
		in->vector = m.msi.vector;
		in->delivery_mode = m.msi.delivery_mode;
		in->vector_count = m.msi.vector_count;
		if (check_slot(m.slot, why) ||
		    check_vector_count(in->vector_count, in->delivery_mode, why))
			return -EINVAL;
		return decode_vps(in, m.msi.vp_count, m.msi.vps, why);
	}
	case VPCI_MSG_CREATE_INTERRUPT3: {
		struct vpci_wire_create_int3 m;
		struct vpci_interrupt *in = &out->u.interrupt;

		memcpy(&m, p, sizeof(m));
		out->kind = VPCI_REQ_CREATE_INTERRUPT;
		out->slot = m.slot;
		if (m.msi.reserved)
			return fail(why, "interrupt reserved field not zero");
		in->vector = m.msi.vector;
		in->delivery_mode = m.msi.delivery_mode;
		in->vector_count = m.msi.vector_count;
		if (check_slot(m.slot, why) ||
		    check_vector_count(in->vector_count, in->delivery_mode, why))
			return -EINVAL;
		return decode_vps(in, m.msi.vp_count, m.msi.vps, why);
	}
	case VPCI_MSG_DELETE_INTERRUPT: {
		struct vpci_wire_delete_int m;

		memcpy(&m, p, sizeof(m));
		out->kind = VPCI_REQ_DELETE_INTERRUPT;
		out->slot = m.slot;
		if (m.msi.reserved)
			return fail(why, "interrupt reserved field not zero");
		out->u.msi.vector_count = m.msi.vector_count;
		out->u.msi.data = m.msi.data;
		out->u.msi.address = m.msi.address;
		return check_slot(m.slot, why);
	}
	case VPCI_MSG_EJECTION_COMPLETE: {
		struct vpci_wire_eject_done m;

		memcpy(&m, p, sizeof(m));
		out->kind = VPCI_REQ_EJECTION_COMPLETE;
		out->slot = m.slot;
		out->u.status = m.status;
		return check_slot(m.slot, why);
	}
	}
	return fail(why, "unknown message type");
}

int vpci_parse(const void *data, size_t len, uint32_t version, struct vpci_request *out,
	       const char **why)
{
	const struct msg_rule *r = NULL;
	uint32_t type;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (len < sizeof(type))
		return fail(why, "message shorter than its type");
	memcpy(&type, data, sizeof(type));
	out->type = type;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].type == type)
			r = &rules[i];
	if (!r) {
		if (unsupported_type(type)) {
			*why = "message type not supported by this host";
			return -ENOTSUP;
		}
		return fail(why, "unknown message type");
	}
	if (!size_ok(len, r->size))
		return fail(why, "message length does not match its type");
	if (r->min_version) {
		if (!version)
			return fail(why, "message before version negotiation");
		if (version < r->min_version || (r->max_version && version > r->max_version))
			return fail(why, "message not of the negotiated protocol version");
	}
	return decode(data, r, out, why);
}

/* ---- Building ---- */

int vpci_build_status(void *buf, size_t cap, int32_t status)
{
	struct vpci_wire_status m = {.status = status};

	if (cap < sizeof(m))
		return -ENOSPC;
	memcpy(buf, &m, sizeof(m));
	return (int)sizeof(m);
}

static void fill_func(struct vpci_wire_func *f, const struct vpci_device *d)
{
	f->vendor_id = d->vendor_id;
	f->device_id = d->device_id;
	f->revision = d->revision;
	f->prog_if = d->prog_if;
	f->subclass = d->subclass;
	f->base_class = d->base_class;
	/* Config offset 0x2c: subsystem vendor first, then subsystem. */
	f->subsystem_id = (uint32_t)d->subsys_vendor_id | (uint32_t)d->subsys_id << 16;
	f->slot = VPCI_SLOT(d->dev, d->func);
	f->serial = d->serial;
}

int vpci_build_bus_relations(void *buf, size_t cap, uint32_t version,
			     const struct vpci_device *devs, size_t count)
{
	bool v2 = version >= VPCI_VERSION_1_3;
	size_t each = v2 ? sizeof(struct vpci_wire_func2) : sizeof(struct vpci_wire_func);
	struct vpci_wire_bus_relations hdr;
	uint8_t *p = buf;
	const char *why;

	if (!vpci_version_supported(version) || count > VPCI_MAX_DEVICES)
		return -EINVAL;
	for (size_t i = 0; i < count; i++) {
		if (vpci_device_check(&devs[i], &why))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (devs[j].dev == devs[i].dev && devs[j].func == devs[i].func)
				return -EINVAL;
	}
	if (cap < sizeof(hdr) + count * each)
		return -ENOSPC;
	hdr.type = v2 ? VPCI_MSG_BUS_RELATIONS2 : VPCI_MSG_BUS_RELATIONS;
	hdr.count = (uint32_t)count;
	memcpy(p, &hdr, sizeof(hdr));
	p += sizeof(hdr);
	for (size_t i = 0; i < count; i++) {
		struct vpci_wire_func f;

		fill_func(&f, &devs[i]);
		if (v2) {
			struct vpci_wire_func2 f2 = {0};

			memcpy(&f2, &f, sizeof(f));
			f2.flags = devs[i].numa_valid ? VPCI_FUNC_FLAG_NUMA_AFFINITY : 0;
			f2.numa_node = devs[i].numa_valid ? devs[i].numa_node : 0;
			memcpy(p, &f2, sizeof(f2));
		} else {
			memcpy(p, &f, sizeof(f));
		}
		p += each;
	}
	return (int)(sizeof(hdr) + count * each);
}

int vpci_build_resource_reqs(void *buf, size_t cap, const struct vpci_device *d)
{
	struct vpci_wire_res_reqs m = {.status = VPCI_STATUS_SUCCESS};
	uint32_t bars[VPCI_NUM_BARS];
	const char *why;

	if (vpci_device_check(d, &why))
		return -EINVAL;
	if (cap < sizeof(m))
		return -ENOSPC;
	vpci_bar_probe_values(d, bars);
	memcpy(m.probed_bar, bars, sizeof(bars));
	memcpy(buf, &m, sizeof(m));
	return (int)sizeof(m);
}

int vpci_build_create_int_resp(void *buf, size_t cap, int32_t status, uint16_t vector_count,
			       uint64_t address, uint32_t data)
{
	struct vpci_wire_create_int_resp m = {.status = status};

	if (cap < sizeof(m))
		return -ENOSPC;
	if (status >= 0) {
		m.msi.vector_count = vector_count;
		m.msi.data = data;
		m.msi.address = address;
	}
	memcpy(buf, &m, sizeof(m));
	return (int)sizeof(m);
}

int vpci_build_eject(void *buf, size_t cap, uint32_t slot)
{
	struct vpci_wire_child m = {.type = VPCI_MSG_EJECT, .slot = slot};

	if (slot & VPCI_SLOT_RESERVED_MASK)
		return -EINVAL;
	if (cap < sizeof(m))
		return -ENOSPC;
	memcpy(buf, &m, sizeof(m));
	return (int)sizeof(m);
}

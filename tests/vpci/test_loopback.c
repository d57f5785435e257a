// SPDX-License-Identifier: MIT
/*
 * The vPCI VSP end to end on the loopback partition: the test plays
 * pci-hyperv (version offers newest first, D0 entry, the device list, BAR
 * probes, resources, interrupts, D0 exit) and checks what reaches the owner's
 * callbacks. Then a hostile guest: a bad message closes the channel, with the
 * reason logged.
 */
#include <stdlib.h>

#include "../vmbus/test_common.h"
#include "vpci.h"
#include "wire_bytes.h"

struct owner {
	int d0_entries, d0_exits, assigned, released, created, deleted, ejected;
	uint64_t mmio_base;
	uint32_t msi_count, last_vector;
	uint64_t deleted_address;
};

static int32_t cb_d0_entry(void *ctx, uint64_t base)
{
	struct owner *o = ctx;

	o->d0_entries++;
	o->mmio_base = base;
	return 0;
}

static void cb_d0_exit(void *ctx)
{
	((struct owner *)ctx)->d0_exits++;
}

static int32_t cb_assigned(void *ctx, const struct vpci_device *d, uint32_t msi_count)
{
	struct owner *o = ctx;

	ck_assert_uint_eq(d->device_id, 0x11e8);
	o->assigned++;
	o->msi_count = msi_count;
	return 0;
}

static void cb_released(void *ctx, const struct vpci_device *d)
{
	(void)d;
	((struct owner *)ctx)->released++;
}

static int32_t cb_create(void *ctx, const struct vpci_device *d, const struct vpci_interrupt *in,
			 uint64_t *address, uint32_t *data)
{
	struct owner *o = ctx;

	(void)d;
	o->created++;
	o->last_vector = in->vector;
	*address = 0xfee00000u | (uint64_t)in->vps[0] << 12;
	*data = in->vector;
	return 0;
}

static void cb_delete(void *ctx, const struct vpci_device *d, uint64_t address, uint32_t data)
{
	struct owner *o = ctx;

	(void)d;
	(void)data;
	o->deleted++;
	o->deleted_address = address;
}

static void cb_ejected(void *ctx, const struct vpci_device *d)
{
	ck_assert_uint_eq(d->serial, 5);
	((struct owner *)ctx)->ejected++;
}

static const struct vpci_callbacks cbs = {
    .ejection_complete = cb_ejected,
    .d0_entry = cb_d0_entry,
    .d0_exit = cb_d0_exit,
    .resources_assigned = cb_assigned,
    .resources_released = cb_released,
    .create_interrupt = cb_create,
    .delete_interrupt = cb_delete,
};

struct env {
	struct harness h;
	struct vpci *v;
	struct owner o;
	struct vsc_channel ch;
	uint64_t tid;
};

static void setup(struct env *e)
{
	static const struct vmbus_guid klass = VPCI_CLASS_GUID;
	struct vpci_device dev = {
	    .vendor_id = 0x1234,
	    .device_id = 0x11e8,
	    .revision = 0x10,
	    .base_class = 0xff,
	    .serial = 5,
	};
	struct vpci_params p = {.devs = &dev, .ndevs = 1, .cb = &cbs};
	const struct vsc_offer *o;

	memset(e, 0, sizeof(*e));
	dev.bars[0].size = 1u << 20;
	h_setup(&e->h, 0, 0);
	p.server = e->h.server;
	p.instance = echo_guid(0x55);
	p.cb_ctx = &e->o;
	ck_assert_int_eq(vpci_create(&p, &e->v), 0);
	h_connect(&e->h);
	o = vsc_vmbus_find_offer(&e->h.bus, &klass, 0);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(vsc_channel_open(&e->h.bus, &e->ch, o, 4, 4, 0), VSC_OK);
}

static void teardown(struct env *e)
{
	vpci_destroy(e->v);
	h_teardown(&e->h);
}

/* Send a request (completion requested when want) and return the next
 * packet's payload in out (its length) and its type in *type. */
static uint32_t request(struct env *e, const void *m, uint32_t len, bool want, uint8_t *out,
			uint16_t *type)
{
	uint8_t buf[512];
	uint32_t n;
	const struct vmbus_packet_descriptor *d = (const void *)buf;

	ck_assert_int_eq(vsc_channel_send(&e->ch, VMBUS_PKT_DATA_INBAND,
					  want ? VMBUS_PKT_FLAG_COMPLETION_REQUESTED : 0, ++e->tid,
					  m, len),
			 VSC_RING_OK);
	ck_assert(recv_pkt(&e->h, &e->ch, buf, sizeof(buf), &n));
	*type = d->type;
	if (d->type == VMBUS_PKT_COMP)
		ck_assert_uint_eq(d->trans_id, e->tid);
	n -= d->offset8 * 8u;
	memcpy(out, buf + d->offset8 * 8u, n);
	return n;
}

/* A request answered by a completion; its status. */
static int32_t call(struct env *e, const void *m, uint32_t len, uint8_t *out)
{
	uint16_t type;
	uint32_t n = request(e, m, len, true, out, &type);

	ck_assert_uint_eq(type, VMBUS_PKT_COMP);
	ck_assert_uint_ge(n, 8); /* longer than the status pci-hyperv requires */
	return (int32_t)r32(out);
}

static void send_only(struct env *e, const void *m, uint32_t len)
{
	ck_assert_int_eq(vsc_channel_send(&e->ch, VMBUS_PKT_DATA_INBAND, 0, ++e->tid, m, len),
			 VSC_RING_OK);
	h_run(&e->h, 10);
}

static void negotiate(struct env *e, uint32_t version)
{
	uint8_t m[8], out[64];

	w32(m, 0x42490013);
	w32(m + 4, version);
	ck_assert_int_eq(call(e, m, 8, out), 0);
	ck_assert_uint_eq(vpci_version(e->v), version);
}

static void d0_entry(struct env *e, int32_t expect)
{
	uint8_t m[16] = {0}, out[64];

	w32(m, 0x42490007);
	w64(m + 8, 0xfe0000000ull);
	ck_assert_int_eq(call(e, m, 16, out), expect);
}

static void query_relations(struct env *e, uint32_t expect_type, uint32_t entry)
{
	uint8_t m[4], out[512];
	uint16_t type;
	uint32_t n;

	w32(m, 0x42490001);
	n = request(e, m, 4, false, out, &type);
	ck_assert_uint_eq(type, VMBUS_PKT_DATA_INBAND);
	ck_assert_uint_ge(n, 8 + entry);
	ck_assert_uint_eq(r32(out), expect_type);
	ck_assert_uint_eq(r32(out + 4), 1);
	ck_assert_uint_eq(r32(out + 8), 0x11e81234u);
	ck_assert_uint_eq(r32(out + 8 + 16), 5); /* serial */
}

START_TEST(handshake_v14)
{
	struct env e;
	uint8_t m[256] = {0}, out[64];

	setup(&e);
	/* A version from the future is declined; pci-hyperv then offers 1.4. */
	w32(m, 0x42490013);
	w32(m + 4, 0x10005);
	ck_assert_int_eq(call(&e, m, 8, out), (int32_t)0xc0000059u);
	ck_assert_uint_eq(vpci_version(e.v), 0);
	/* pci-hyperv's order: version, device list and BAR probes, D0, resources. */
	negotiate(&e, 0x10004);
	query_relations(&e, 0x42490019, 28);

	/* BAR probe values. */
	memset(m, 0, sizeof(m));
	w32(m, 0x42490005);
	ck_assert_int_eq(call(&e, m, 8, out), 0);
	ck_assert_uint_eq(r32(out + 4), 0xfff00000u);
	ck_assert_uint_eq(r32(out + 8), 0);
	/* An unknown slot. */
	w32(m + 4, 1);
	ck_assert_int_eq(call(&e, m, 8, out), (int32_t)0xc000000eu);
	d0_entry(&e, 0);
	ck_assert_int_eq(e.o.d0_entries, 1);
	ck_assert_uint_eq(e.o.mmio_base, 0xfe0000000ull);

	/* An interrupt before the resources: refused. */
	memset(m, 0, sizeof(m));
	w32(m, 0x4249001b);
	w32(m + 8, 0x31);
	w16(m + 14, 1);
	w16(m + 16, 1);
	w16(m + 18, 2);
	ck_assert_int_eq(call(&e, m, 82, out), (int32_t)0xc0000184u);
	ck_assert_int_eq(e.o.created, 0);

	/* Resources, then the interrupt. */
	uint8_t ra[202] = {0};
	w32(ra, 0x42490016);
	w32(ra + 128, 3);
	ck_assert_int_eq(call(&e, ra, 202, out), 0);
	ck_assert_int_eq(e.o.assigned, 1);
	ck_assert_uint_eq(e.o.msi_count, 3);
	ck_assert_int_eq(call(&e, m, 82, out), 0);
	ck_assert_int_eq(e.o.created, 1);
	ck_assert_uint_eq(e.o.last_vector, 0x31);
	ck_assert_uint_eq(r32(out + 8) >> 16, 1);	 /* vector count */
	ck_assert_uint_eq(r32(out + 12), 0x31);		 /* data */
	ck_assert_uint_eq(r64(out + 16), 0xfee02000ull); /* address */

	/* Delete it, release, leave D0. */
	uint8_t del[24] = {0};
	w32(del, 0x42490015);
	w16(del + 10, 1);
	w32(del + 12, 0x31);
	w64(del + 16, 0xfee02000ull);
	send_only(&e, del, 24);
	ck_assert_int_eq(e.o.deleted, 1);
	ck_assert_uint_eq(e.o.deleted_address, 0xfee02000ull);
	uint8_t rel[8] = {0};
	w32(rel, 0x42490011);
	send_only(&e, rel, 8);
	ck_assert_int_eq(e.o.released, 1);
	uint8_t ex[4];
	w32(ex, 0x42490008);
	ck_assert_int_eq(call(&e, ex, 4, out), 0);
	ck_assert_int_eq(e.o.d0_exits, 1);
	/* D0 again, as pci-hyperv's retry does. */
	d0_entry(&e, 0);
	d0_entry(&e, (int32_t)0xc0000184u);
	teardown(&e);
}
END_TEST

START_TEST(handshake_v11)
{
	struct env e;
	uint8_t m[148] = {0}, out[64];

	setup(&e);
	negotiate(&e, 0x10001);
	query_relations(&e, 0x42490000, 20);
	w32(m, 0x42490010);
	/* Resources before D0: refused. */
	ck_assert_int_eq(call(&e, m, 148, out), (int32_t)0xc0000184u);
	d0_entry(&e, 0);
	ck_assert_int_eq(call(&e, m, 148, out), 0);
	ck_assert_int_eq(e.o.assigned, 1);
	/* Closing the channel gives back what the guest held. */
	ck_assert_int_eq(vsc_channel_close(&e.ch), VSC_OK);
	h_run(&e.h, 20);
	ck_assert_int_eq(e.o.released, 1);
	ck_assert_int_eq(e.o.d0_exits, 1);
	teardown(&e);
}
END_TEST

START_TEST(eject)
{
	struct env e;
	uint8_t m[202] = {0}, out[512];
	uint32_t n;
	uint16_t type;

	setup(&e);
	/* Not before the guest has seen the function. */
	ck_assert_int_eq(vpci_eject(e.v, 0, 0), -ENOENT);
	negotiate(&e, 0x10003);
	query_relations(&e, 0x42490019, 28);
	d0_entry(&e, 0);
	w32(m, 0x42490016);
	ck_assert_int_eq(call(&e, m, 202, out), 0);
	ck_assert_int_eq(vpci_eject(e.v, 1, 0), -ENOENT);
	ck_assert_int_eq(vpci_eject(e.v, 0, 0), 0);
	ck_assert(recv_pkt(&e.h, &e.ch, out, sizeof(out), &n));
	ck_assert_uint_eq(((struct vmbus_packet_descriptor *)out)->type, VMBUS_PKT_DATA_INBAND);
	ck_assert_uint_eq(r32(out + 16), 0x4249000b);
	ck_assert_uint_eq(r32(out + 20), 0);
	/* The guest's answer: the function is released and off the bus. */
	memset(m, 0, sizeof(m));
	w32(m, 0x4249000f);
	send_only(&e, m, 12);
	ck_assert_int_eq(e.o.ejected, 1);
	ck_assert_int_eq(e.o.released, 1);
	w32(m, 0x42490001);
	n = request(&e, m, 4, false, out, &type);
	ck_assert_uint_eq(type, VMBUS_PKT_DATA_INBAND);
	ck_assert_uint_eq(n, 8);
	ck_assert_uint_eq(r32(out + 4), 0);
	/* A second completion for it is ignored. */
	w32(m, 0x4249000f);
	send_only(&e, m, 12);
	ck_assert_int_eq(e.o.ejected, 1);
	teardown(&e);
}
END_TEST

/* After a bad input: the channel is closed and the reason logged. */
static void expect_closed(struct env *e, const char *why)
{
	for (int i = 0; i < 400 && !h_log_contains(&e->h, why); i++)
		h_run(&e->h, 5);
	ck_assert_msg(h_log_contains(&e->h, why), "no log line with '%s'", why);
}

START_TEST(hostile_before_version)
{
	struct env e;
	uint8_t m[16] = {0};

	setup(&e);
	w32(m, 0x42490007);
	send_only(&e, m, 16);
	expect_closed(&e, "message before version negotiation");
	ck_assert_int_eq(e.o.d0_entries, 0);
	teardown(&e);
}
END_TEST

START_TEST(hostile_wrong_form)
{
	struct env e;
	uint8_t m[24] = {0};

	setup(&e);
	negotiate(&e, 0x10004);
	d0_entry(&e, 0);
	/* The 1.1 interrupt request on a 1.4 bus. */
	w32(m, 0x42490014);
	w16(m + 10, 1);
	w64(m + 16, 1);
	send_only(&e, m, 24);
	expect_closed(&e, "message not of the negotiated protocol version");
	teardown(&e);
}
END_TEST

START_TEST(hostile_short_and_unknown)
{
	struct env e;
	uint8_t m[82] = {0};

	/* VMBus pads to 8 bytes, so cut a whole 8-byte word off. */
	setup(&e);
	negotiate(&e, 0x10004);
	w32(m, 0x4249001b);
	send_only(&e, m, 72);
	expect_closed(&e, "message length does not match its type");
	teardown(&e);

	setup(&e);
	w32(m, 0x4249ffff);
	send_only(&e, m, 8);
	expect_closed(&e, "unknown message type");
	teardown(&e);

	setup(&e);
	negotiate(&e, 0x10003);
	w32(m, 0x42490013);
	w32(m + 4, 0x10003);
	send_only(&e, m, 8);
	expect_closed(&e, "second version negotiation");
	teardown(&e);
}
END_TEST

TEST_MAIN("vpci-loopback", handshake_v14, handshake_v11, eject, hostile_before_version,
	  hostile_wrong_form, hostile_short_and_unknown)

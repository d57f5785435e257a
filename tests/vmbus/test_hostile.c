// SPDX-License-Identifier: MIT
/*
 * A hostile guest: malformed and out-of-place messages, GPADLs naming pages
 * outside guest RAM, ring indices out of bounds, oversized packets and
 * floods. The server must survive, close only the offending channel (with a
 * log line) and keep serving the others.
 */
#include <linhv/winhv_loopback.h>
#include <linhv/winhv_synic.h>

#include "gpadl.h"

#include "test_common.h"

static void setup_two(struct harness *h, struct echo_dev *a, struct echo_dev *b,
		      struct vsc_channel *ca, struct vsc_channel *cb, uint32_t max_packet)
{
	h_setup(h, 0, 0);
	echo_offer(h, a, 0x10, 1, max_packet);
	echo_offer(h, b, 0x11, 2, 0);
	h_connect(h);
	open_echo(h, ca, 0x10);
	open_echo(h, cb, 0x11);
}

START_TEST(malformed_messages_are_dropped)
{
	struct harness h;
	struct echo_dev a = {0}, b = {0};
	struct vsc_channel ca, cb;
	struct vmbus_server_stats st;
	uint8_t m[VMBUS_MAX_MESSAGE_SIZE];
	uint32_t seed = 12345;

	setup_two(&h, &a, &b, &ca, &cb, 0);
	/* Every type with every short length, and random bytes. */
	for (uint32_t type = 0; type < 40; type++) {
		for (uint32_t len = 0; len < 40; len += 3) {
			memset(m, 0, sizeof(m));
			memcpy(m, &type, 4);
			if (type == VMBUS_MSG_INITIATE_CONTACT || type == VMBUS_MSG_UNLOAD)
				continue; /* well-formed ones of these reset the connection */
			vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, m, len);
		}
		h_run(&h, 1);
	}
	for (int i = 0; i < 500; i++) {
		uint32_t type;

		for (uint32_t k = 0; k < sizeof(m); k++)
			m[k] = (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
		memcpy(&type, m, 4);
		if ((type & 0xffff) == VMBUS_MSG_INITIATE_CONTACT || type == VMBUS_MSG_UNLOAD)
			continue;
		vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, m, 1 + (seed >> 8) % 240);
		if (i % 16 == 0)
			h_run(&h, 1);
	}
	h_run(&h, 50);
	vmbus_server_get_stats(h.server, &st);
	ck_assert_uint_gt(st.messages_bad, 100);
	/* The open channels were not hurt. */
	roundtrip(&h, &ca, 100, 1);
	roundtrip(&h, &cb, 100, 2);
	h_teardown(&h);
}
END_TEST

static uint32_t created_status(struct harness *h, uint32_t handle)
{
	struct vmbus_msg_gpadl_created r;

	ck_assert_int_eq(
	    vsc_vmbus_wait(&h->bus, VMBUS_MSG_GPADL_CREATED, 12, handle, &r, sizeof(r)), VSC_OK);
	return r.creation_status;
}

static void post_gpadl(struct harness *h, uint32_t relid, uint32_t handle, uint16_t rangecount,
		       uint32_t byte_count, const uint64_t *pfns, uint32_t npfns,
		       uint32_t announced)
{
	uint8_t m[VMBUS_MAX_MESSAGE_SIZE] = {0};
	struct vmbus_msg_gpadl_header hd = {.header.msgtype = VMBUS_MSG_GPADL_HEADER,
					    .child_relid = relid,
					    .gpadl = handle,
					    .range_buflen = (uint16_t)(8 + announced * 8),
					    .rangecount = rangecount};
	struct vmbus_gpa_range r = {.byte_count = byte_count};

	memcpy(m, &hd, sizeof(hd));
	memcpy(m + sizeof(hd), &r, sizeof(r));
	memcpy(m + sizeof(hd) + sizeof(r), pfns, npfns * 8);
	ck_assert_int_eq(vsc_vmbus_post(&h->bus, h->bus.msg_conn_id, m,
					(uint32_t)(sizeof(hd) + sizeof(r)) + npfns * 8),
			 VSC_OK);
}

START_TEST(gpadls_outside_guest_ram_and_bad_layouts_are_refused)
{
	struct harness h;
	struct echo_dev a = {0}, b = {0};
	struct vsc_channel ca, cb;
	uint64_t ok_pfn = (VSC_LOOPBACK_RAM_GPA >> 12) + 100;
	uint64_t pfns[4] = {ok_pfn, 0 /* GPA 0: not RAM */, ok_pfn, ok_pfn};
	uint64_t huge[1] = {1ull << 60};
	uint64_t past_end[1] = {(VSC_LOOPBACK_RAM_GPA + (32 << 20)) >> 12};
	struct vmbus_server_stats st;

	setup_two(&h, &a, &b, &ca, &cb, 0);
	post_gpadl(&h, ca.relid, 0x100, 1, 4 * 4096, pfns, 4, 4);
	ck_assert_uint_ne(created_status(&h, 0x100), 0);
	ck_assert(h_log_contains(&h, "outside guest RAM"));
	post_gpadl(&h, ca.relid, 0x101, 1, 4096, huge, 1, 1);
	ck_assert_uint_ne(created_status(&h, 0x101), 0);
	post_gpadl(&h, ca.relid, 0x102, 1, 4096, past_end, 1, 1);
	ck_assert_uint_ne(created_status(&h, 0x102), 0);
	/* Two ranges, a byte count that does not match, a zero count. */
	post_gpadl(&h, ca.relid, 0x103, 2, 4096, pfns, 1, 1);
	ck_assert_uint_ne(created_status(&h, 0x103), 0);
	post_gpadl(&h, ca.relid, 0x104, 1, 9 * 4096, pfns, 1, 1);
	ck_assert_uint_ne(created_status(&h, 0x104), 0);
	post_gpadl(&h, ca.relid, 0x105, 1, 0, pfns, 1, 1);
	ck_assert_uint_ne(created_status(&h, 0x105), 0);
	/* More pages than one GPADL may have. */
	post_gpadl(&h, ca.relid, 0x106, 1, 8000u * 4096, pfns, 1, 8000);
	{
		/* 8000 announced is within range_buflen; then a body with too many PFNs. */
		uint8_t m[VMBUS_MAX_MESSAGE_SIZE] = {0};
		struct vmbus_msg_gpadl_body bd = {.header.msgtype = VMBUS_MSG_GPADL_BODY,
						  .gpadl = 0x106};

		memcpy(m, &bd, sizeof(bd));
		ck_assert_int_eq(vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, m, 240), VSC_OK);
		/* A body for a GPADL nobody started. */
		bd.gpadl = 0x999;
		memcpy(m, &bd, sizeof(bd));
		ck_assert_int_eq(vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, m, 240), VSC_OK);
	}
	/* A GPADL for a relid that does not exist still gets an answer. */
	post_gpadl(&h, 1999, 0x107, 1, 4096, pfns, 1, 1);
	ck_assert_uint_ne(created_status(&h, 0x107), 0);
	/* A duplicate handle is dropped (logged), the original stays. */
	post_gpadl(&h, ca.relid, ca.gpadl, 1, 4096, pfns, 1, 1);
	h_run(&h, 20);
	ck_assert(h_log_contains(&h, "already in use"));
	vmbus_server_get_stats(h.server, &st);
	ck_assert_uint_eq(st.gpadls, 3); /* two rings + the partial 0x106 */
	roundtrip(&h, &ca, 64, 1);
	roundtrip(&h, &cb, 64, 2);
	h_teardown(&h);
}
END_TEST

START_TEST(open_with_bad_gpadl_or_offsets_is_refused)
{
	struct harness h;
	struct echo_dev a = {0}, b = {0};
	struct vsc_channel ca, cb;
	struct vmbus_msg_open_channel m = {.header.msgtype = VMBUS_MSG_OPENCHANNEL};
	struct vmbus_msg_open_result r;
	const struct vsc_offer *o;
	uint64_t gpa;
	uint32_t handle;
	const uint32_t offsets[] = {0, 1, 7, 8, 100};

	h_setup(&h, 0, 0);
	echo_offer(&h, &a, 0x10, 1, 0);
	echo_offer(&h, &b, 0x11, 2, 0);
	h_connect(&h);
	o = offer_of(&h, 0x10, 0);
	ck_assert_int_eq(h.lb.plat.alloc_pages(&h.lb, 8, &gpa), 0);
	ck_assert_int_eq(vsc_gpadl_create(&h.bus, o->msg.child_relid, gpa, 8, &handle), VSC_OK);
	m.child_relid = o->msg.child_relid;
	m.ringbuffer_gpadlhandle = handle;
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		m.downstream_ringbuffer_pageoffset = offsets[i];
		m.openid = (uint32_t)i;
		ck_assert_int_eq(vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, &m, sizeof(m)), VSC_OK);
		ck_assert_int_eq(vsc_vmbus_wait(&h.bus, VMBUS_MSG_OPENCHANNEL_RESULT, 8,
						m.child_relid, &r, sizeof(r)),
				 VSC_OK);
		ck_assert_uint_ne(r.status, 0);
	}
	/* The ring GPADL of another channel, an unknown GPADL, a bad VP, an unknown relid. */
	m.downstream_ringbuffer_pageoffset = 4;
	m.child_relid = offer_of(&h, 0x11, 0)->msg.child_relid;
	ck_assert_int_eq(vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, &m, sizeof(m)), VSC_OK);
	ck_assert_int_eq(
	    vsc_vmbus_wait(&h.bus, VMBUS_MSG_OPENCHANNEL_RESULT, 8, m.child_relid, &r, sizeof(r)),
	    VSC_OK);
	ck_assert_uint_ne(r.status, 0);
	m.child_relid = o->msg.child_relid;
	m.ringbuffer_gpadlhandle = 0xdead;
	ck_assert_int_eq(vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, &m, sizeof(m)), VSC_OK);
	ck_assert_int_eq(
	    vsc_vmbus_wait(&h.bus, VMBUS_MSG_OPENCHANNEL_RESULT, 8, m.child_relid, &r, sizeof(r)),
	    VSC_OK);
	ck_assert_uint_ne(r.status, 0);
	m.ringbuffer_gpadlhandle = handle;
	m.target_vp = 64;
	ck_assert_int_eq(vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, &m, sizeof(m)), VSC_OK);
	ck_assert_int_eq(
	    vsc_vmbus_wait(&h.bus, VMBUS_MSG_OPENCHANNEL_RESULT, 8, m.child_relid, &r, sizeof(r)),
	    VSC_OK);
	ck_assert_uint_ne(r.status, 0);
	m.child_relid = 1500;
	ck_assert_int_eq(vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, &m, sizeof(m)), VSC_OK);
	ck_assert_int_eq(
	    vsc_vmbus_wait(&h.bus, VMBUS_MSG_OPENCHANNEL_RESULT, 8, 1500, &r, sizeof(r)), VSC_OK);
	ck_assert_uint_ne(r.status, 0);
	ck_assert_int_eq(a.opens, 0);
	/* And the proper open still works; a second open of an open channel is refused. */
	open_echo(&h, &ca, 0x10);
	m.child_relid = ca.relid;
	m.target_vp = 0;
	m.openid = 99;
	ck_assert_int_eq(vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, &m, sizeof(m)), VSC_OK);
	ck_assert_int_eq(
	    vsc_vmbus_wait(&h.bus, VMBUS_MSG_OPENCHANNEL_RESULT, 8, ca.relid, &r, sizeof(r)),
	    VSC_OK);
	ck_assert_uint_ne(r.status, 0);
	roundtrip(&h, &ca, 64, 1);
	open_echo(&h, &cb, 0x11);
	roundtrip(&h, &cb, 64, 2);
	h_teardown(&h);
}
END_TEST

static void expect_failed(struct harness *h, struct echo_dev *d, struct vsc_channel *c,
			  const char *why)
{
	h_run(h, 30);
	ck_assert_int_eq(d->closes, 1);
	ck_assert(h_log_contains(h, why));
	ck_assert(h_log_contains(h, "closing the channel"));
	ck_assert_int_eq(
	    vsc_vmbus_wait(&h->bus, VMBUS_MSG_RESCIND_CHANNELOFFER, 8, c->relid, NULL, 0), VSC_OK);
	/* The guest lets go; the server offers the device again (the VSP keeps it). */
	struct vmbus_guid type = {{0}};
	uint32_t relid = c->relid;

	for (uint32_t i = 0; i < h->bus.nr_offers; i++)
		if (h->bus.offers[i].msg.child_relid == relid)
			type = h->bus.offers[i].msg.if_type;
	ck_assert_int_eq(vsc_channel_close(c), VSC_OK);
	ck_assert_int_eq(vsc_channel_release(&h->bus, relid), VSC_OK);
	h_run(h, 20);
	ck_assert(h_log_contains(h, "offering the device again"));
	ck_assert_int_eq(d->released, 0);
	ck_assert_ptr_nonnull(vsc_vmbus_find_offer(&h->bus, &type, 0));
}

START_TEST(ring_write_index_out_of_bounds_closes_only_that_channel)
{
	struct harness h;
	struct echo_dev a = {0}, b = {0};
	struct vsc_channel ca, cb;
	struct vmbus_server_stats st;

	setup_two(&h, &a, &b, &ca, &cb, 0);
	roundtrip(&h, &ca, 64, 1);
	ca.out.hdr->write_index = 0x7fffff00;
	h.lb.plat.signal_event(&h.lb, ca.connection_id);
	expect_failed(&h, &a, &ca, "out of bounds");
	vmbus_server_get_stats(h.server, &st);
	ck_assert_uint_eq(st.channels_failed, 1);
	roundtrip(&h, &cb, 500, 2);
	/* The failed channel's connection id no longer reaches anything. */
	ck_assert_uint_eq(h.lb.plat.signal_event(&h.lb, ca.connection_id),
			  HV_STATUS_INVALID_CONNECTION_ID);
	h_teardown(&h);
}
END_TEST

START_TEST(corrupt_descriptor_closes_the_channel)
{
	struct harness h;
	struct echo_dev a = {0}, b = {0};
	struct vsc_channel ca, cb;
	uint8_t junk[64] = {0};
	bool sig;

	setup_two(&h, &a, &b, &ca, &cb, 0);
	/* A packet whose descriptor claims more than was written. */
	vsc_ring_write(&ca.out, 6, 0, 1, junk, sizeof(junk), &sig);
	((struct vmbus_packet_descriptor *)ca.out.data)->len8 = 0xffff;
	h.lb.plat.signal_event(&h.lb, ca.connection_id);
	expect_failed(&h, &a, &ca, "descriptor");
	roundtrip(&h, &cb, 10, 2);
	h_teardown(&h);
}
END_TEST

START_TEST(oversized_packet_closes_the_channel)
{
	struct harness h;
	struct echo_dev a = {0}, b = {0};
	struct vsc_channel ca, cb;
	uint8_t big[2000] = {0};

	setup_two(&h, &a, &b, &ca, &cb, 256);
	roundtrip(&h, &ca, 200, 1);
	ck_assert_int_eq(vsc_channel_send(&ca, 6, 0, 2, big, sizeof(big)), VSC_RING_OK);
	expect_failed(&h, &a, &ca, "oversized packet");
	roundtrip(&h, &cb, 1500, 3);
	h_teardown(&h);
}
END_TEST

START_TEST(guest_read_index_out_of_bounds_fails_the_send)
{
	struct harness h;
	struct echo_dev a = {0}, b = {0};
	struct vsc_channel ca, cb;
	uint8_t out[8] = {0};

	setup_two(&h, &a, &b, &ca, &cb, 0);
	ca.in.hdr->read_index = 0xfffffff8;
	ck_assert_int_eq(vmbus_channel_send(a.chan, 1, out, 8, false), -EIO);
	expect_failed(&h, &a, &ca, "read index out of bounds");
	roundtrip(&h, &cb, 10, 2);
	h_teardown(&h);
}
END_TEST

START_TEST(ring_gpadl_torn_down_while_open)
{
	struct harness h;
	struct echo_dev a = {0}, b = {0};
	struct vsc_channel ca, cb;

	setup_two(&h, &a, &b, &ca, &cb, 0);
	ck_assert_int_eq(vsc_gpadl_teardown(&h.bus, ca.relid, ca.gpadl), VSC_OK);
	ck_assert_int_eq(a.closes, 1);
	ck_assert(h_log_contains(&h, "torn down while open"));
	roundtrip(&h, &cb, 10, 2);
	h_teardown(&h);
}
END_TEST

/*
 * A guest that reconnects (INITIATE_CONTACT without UNLOAD, a kexec'd
 * kernel) after a channel failed, without releasing it first: the device
 * is offered again on the new connection, like after RELID_RELEASED.
 */
START_TEST(reconnect_offers_a_failed_device_again)
{
	struct harness h;
	struct echo_dev a = {0}, b = {0};
	struct vsc_channel ca, cb;
	uint8_t junk[64] = {0};
	bool sig;

	setup_two(&h, &a, &b, &ca, &cb, 0);
	vsc_ring_write(&ca.out, 6, 0, 1, junk, sizeof(junk), &sig);
	((struct vmbus_packet_descriptor *)ca.out.data)->len8 = 0xffff;
	h.lb.plat.signal_event(&h.lb, ca.connection_id);
	h_run(&h, 30);
	ck_assert_int_eq(a.closes, 1);
	ck_assert_int_eq(
	    vsc_vmbus_wait(&h.bus, VMBUS_MSG_RESCIND_CHANNELOFFER, 8, ca.relid, NULL, 0), VSC_OK);
	/* A new guest kernel: no close, no release, no unload. */
	h.lb.plat.free_pages(&h.lb, ca.ring_gpa, ca.ring_pages);
	h.lb.plat.free_pages(&h.lb, cb.ring_gpa, cb.ring_pages);
	h.bus.nr_offers = 0;
	h.bus.all_offers = false;
	h_connect(&h);
	ck_assert(h_log_contains(&h, "resetting the connection"));
	ck_assert_int_eq(a.released, 0);
	open_echo(&h, &ca, 0x10);
	open_echo(&h, &cb, 0x11);
	roundtrip(&h, &ca, 100, 5);
	roundtrip(&h, &cb, 100, 6);
	ck_assert_int_eq(a.opens, 2);
	ck_assert_int_eq(b.closes, 1);
	h_teardown(&h);
}
END_TEST

START_TEST(out_of_place_messages_are_ignored)
{
	struct harness h;
	struct echo_dev a = {0}, b = {0};
	struct vsc_channel ca, cb;
	struct vmbus_msg_close_channel c = {.header.msgtype = VMBUS_MSG_CLOSECHANNEL};
	struct vmbus_msg_relid_released rr = {.header.msgtype = VMBUS_MSG_RELID_RELEASED};
	struct vmbus_msg_gpadl_teardown td = {.header.msgtype = VMBUS_MSG_GPADL_TEARDOWN,
					      .gpadl = 0x4242};
	struct vmbus_msg_header ro = {.msgtype = VMBUS_MSG_REQUESTOFFERS};

	h_setup(&h, 0, 0);
	echo_offer(&h, &a, 0x10, 1, 0);
	echo_offer(&h, &b, 0x11, 2, 0);
	/* Before INITIATE_CONTACT nothing is accepted. */
	ck_assert_uint_eq(h.lb.plat.post_message(&h.lb, 1, &ro, sizeof(ro)), 0);
	h_run(&h, 10);
	ck_assert(h_log_contains(&h, "before INITIATE_CONTACT"));
	h_connect(&h);
	open_echo(&h, &ca, 0x10);
	c.child_relid = offer_of(&h, 0x11, 0)->msg.child_relid; /* not open */
	rr.child_relid = ca.relid;				/* not rescinded */
	vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, &c, sizeof(c));
	vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, &rr, sizeof(rr));
	vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, &td, sizeof(td));
	vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, &ro, sizeof(ro));
	h_run(&h, 20);
	ck_assert(h_log_contains(&h, "which is not open"));
	ck_assert(h_log_contains(&h, "was not rescinded"));
	ck_assert(h_log_contains(&h, "unknown GPADL"));
	ck_assert(h_log_contains(&h, "REQUESTOFFERS repeated"));
	roundtrip(&h, &ca, 10, 1);
	open_echo(&h, &cb, 0x11);
	roundtrip(&h, &cb, 10, 2);
	h_teardown(&h);
}
END_TEST

START_TEST(floods_of_messages_signals_packets_and_gpadls)
{
	struct harness h;
	struct echo_dev a = {0}, b = {0};
	struct vsc_channel ca, cb;
	struct vmbus_msg_header ro = {.msgtype = VMBUS_MSG_REQUESTOFFERS};
	uint8_t small[8] = {0}, in[256];
	uint32_t refused = 0, len;
	bool sig;
	uint64_t pfn = VSC_LOOPBACK_RAM_GPA >> 12;
	struct vmbus_server_stats st;

	setup_two(&h, &a, &b, &ca, &cb, 0);
	/* 20000 posts without letting the host run: the hypervisor queue pushes back. */
	for (int i = 0; i < 20000; i++)
		refused += h.lb.plat.post_message(&h.lb, h.bus.msg_conn_id, &ro, sizeof(ro)) ==
			   HV_STATUS_INSUFFICIENT_BUFFERS;
	ck_assert_uint_gt(refused, 19000);
	/* 100000 signals coalesce in the eventfd. */
	for (int i = 0; i < 100000; i++)
		h.lb.plat.signal_event(&h.lb, ca.connection_id);
	/* Fill the ring with small packets; the host drains it in budgeted batches. */
	while (vsc_ring_write(&ca.out, 6, 0, 7, small, sizeof(small), &sig) == VSC_RING_OK)
		;
	h.lb.plat.signal_event(&h.lb, ca.connection_id);
	/* Headers of GPADLs that never complete, until the server's limit. */
	for (uint32_t i = 0; i < VMBUS_GPADL_MAX_COUNT + 10; i++) {
		uint8_t m[VMBUS_MAX_MESSAGE_SIZE] = {0};
		struct vmbus_msg_gpadl_header hd = {.header.msgtype = VMBUS_MSG_GPADL_HEADER,
						    .child_relid = ca.relid,
						    .gpadl = 0x10000 + i,
						    .range_buflen = 8 + 2 * 8,
						    .rangecount = 1};
		struct vmbus_gpa_range r = {.byte_count = 2 * 4096};

		memcpy(m, &hd, sizeof(hd));
		memcpy(m + sizeof(hd), &r, sizeof(r));
		memcpy(m + sizeof(hd) + sizeof(r), &pfn, 8);
		vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, m,
			       (uint32_t)(sizeof(hd) + sizeof(r) + 8));
	}
	h_run(&h, 200);
	/* Partial GPADLs count against the limit (the two rings included). */
	vmbus_server_get_stats(h.server, &st);
	ck_assert_uint_eq(st.gpadls, VMBUS_GPADL_MAX_COUNT);
	ck_assert_uint_ge(st.messages_bad, 10);
	/* The log stays bounded (rate limit) and both channels still work. */
	ck_assert_int_lt(h.nlog, 100);
	while (vsc_channel_recv(&ca, in, sizeof(in), &len) == VSC_RING_OK)
		;
	roundtrip(&h, &cb, 64, 3);
	roundtrip(&h, &ca, 64, 4);
	ck_assert_int_gt(a.packets, 100);
	h_teardown(&h);
}
END_TEST

START_TEST(loopback_synic_refuses_bad_posts)
{
	struct harness h;
	struct hv_input_post_message in = {.connection_id = 1, .message_type = 1};

	h_setup(&h, 0, 0);
	in.payload_size = 241;
	ck_assert_int_eq(WinHvLoopbackGuestPostMessage(h.lb.partition, 0, &in),
			 HV_STATUS_INVALID_PARAMETER);
	in.payload_size = 8;
	in.message_type = 0x80000001; /* hypervisor message types are not the guest's */
	ck_assert_int_eq(WinHvLoopbackGuestPostMessage(h.lb.partition, 0, &in),
			 HV_STATUS_INVALID_PARAMETER);
	in.message_type = 1;
	in.connection_id = 77;
	ck_assert_int_eq(WinHvLoopbackGuestPostMessage(h.lb.partition, 0, &in),
			 HV_STATUS_INVALID_CONNECTION_ID);
	ck_assert_int_eq(WinHvLoopbackGuestSignalEvent(h.lb.partition, 0, 0x2001, 0),
			 HV_STATUS_INVALID_CONNECTION_ID);
	ck_assert_int_eq(WinHvLoopbackGuestPostMessage(h.lb.partition, 5, &in), -EINVAL);
	ck_assert_int_eq(WinHvSignalEvent(h.lb.partition, 0, 2, 2048), HV_STATUS_INVALID_PARAMETER);
	ck_assert_int_eq(WinHvSignalEvent(h.lb.partition, 9, 2, 1), HV_STATUS_INVALID_VP_INDEX);
	h_teardown(&h);
}
END_TEST

TEST_MAIN("vmbus-hostile", malformed_messages_are_dropped,
	  gpadls_outside_guest_ram_and_bad_layouts_are_refused,
	  open_with_bad_gpadl_or_offsets_is_refused,
	  ring_write_index_out_of_bounds_closes_only_that_channel,
	  corrupt_descriptor_closes_the_channel, oversized_packet_closes_the_channel,
	  guest_read_index_out_of_bounds_fails_the_send, ring_gpadl_torn_down_while_open,
	  reconnect_offers_a_failed_device_again, out_of_place_messages_are_ignored,
	  floods_of_messages_signals_packets_and_gpadls, loopback_synic_refuses_bad_posts)

// SPDX-License-Identifier: MIT
/*
 * VMBus server end to end on loopback: version negotiation and fallback,
 * offers, GPADLs, the channel state machine, sub-channels, rescind, unload,
 * and SynIC message backpressure.
 */
#include <linhv/winhv_loopback.h>

#include "test_common.h"

START_TEST(negotiates_5_3_on_connection_4)
{
	struct harness h;

	h_setup(&h, 0, 0);
	h_connect(&h);
	ck_assert_uint_eq(h.bus.version, VMBUS_VERSION_WIN10_V5_3);
	ck_assert_uint_eq(h.bus.msg_conn_id, VMBUS_MESSAGE_CONNECTION_ID_4);
	ck_assert_uint_eq(vmbus_server_version(h.server), VMBUS_VERSION_WIN10_V5_3);
	ck_assert(h_log_contains(&h, "connected with protocol 5.3"));
	h_teardown(&h);
}
END_TEST

START_TEST(falls_back_to_4_1_when_connection_4_is_unknown)
{
	struct harness h;

	h_setup(&h, VMBUS_VERSION_WIN10_V4_1, 0);
	/* Each 5.x attempt fails in the hypercall (INVALID_CONNECTION_ID), as with QEMU. */
	ck_assert_int_eq(vsc_vmbus_try_version(&h.bus, VMBUS_VERSION_WIN10_V5_3), VSC_ERR_REFUSED);
	ck_assert_uint_eq(h.bus.last_post_status, HV_STATUS_INVALID_CONNECTION_ID);
	h_connect(&h);
	ck_assert_uint_eq(h.bus.version, VMBUS_VERSION_WIN10_V4_1);
	ck_assert_uint_eq(h.bus.msg_conn_id, VMBUS_MESSAGE_CONNECTION_ID);
	h_teardown(&h);
}
END_TEST

START_TEST(refuses_versions_outside_range_and_wrong_connection)
{
	struct harness h;
	struct vmbus_msg_initiate_contact m = {.header.msgtype = VMBUS_MSG_INITIATE_CONTACT};
	struct vmbus_msg_version_response r;

	h_setup(&h, 0, VMBUS_VERSION_WIN10_V5_2);
	ck_assert_int_eq(vsc_vmbus_try_version(&h.bus, VMBUS_VERSION_WIN10_V5_1), VSC_ERR_REFUSED);
	ck_assert_int_eq(vsc_vmbus_try_version(&h.bus, VMBUS_VERSION_WIN8), VSC_ERR_REFUSED);
	/* 5.x must come on connection 4. */
	m.vmbus_version_requested = VMBUS_VERSION_WIN10_V5_3;
	m.msg_sint = 2;
	ck_assert_int_eq(vsc_vmbus_post(&h.bus, VMBUS_MESSAGE_CONNECTION_ID, &m, sizeof(m)),
			 VSC_OK);
	ck_assert_int_eq(vsc_vmbus_wait(&h.bus, VMBUS_MSG_VERSION_RESPONSE, 0, 0, &r, sizeof(r)),
			 VSC_OK);
	ck_assert_uint_eq(r.version_supported, 0);
	ck_assert_uint_eq(vmbus_server_version(h.server), 0);
	/* A target VP the partition does not have is ignored. */
	m.target_vcpu = 7;
	ck_assert_int_eq(vsc_vmbus_post(&h.bus, 4, &m, sizeof(m)), VSC_OK);
	h_run(&h, 20);
	ck_assert(h_log_contains(&h, "names VP 7"));
	h_connect(&h);
	ck_assert_uint_eq(h.bus.version, VMBUS_VERSION_WIN10_V5_3);
	h_teardown(&h);
}
END_TEST

START_TEST(offers_then_alloffers_delivered_and_hot_add)
{
	struct harness h;
	struct echo_dev d[4] = {0};
	uint32_t relids[4];

	h_setup(&h, 0, 0);
	for (int i = 0; i < 3; i++)
		echo_offer(&h, &d[i], (uint8_t)(0x10 + i), (uint8_t)(0x50 + i), 0);
	h_connect(&h);
	ck_assert(h.bus.all_offers);
	ck_assert_uint_eq(h.bus.nr_offers, 3);
	for (int i = 0; i < 3; i++) {
		const struct vsc_offer *o = offer_of(&h, (uint8_t)(0x10 + i), 0);
		struct vmbus_guid inst = echo_guid((uint8_t)(0x50 + i));

		ck_assert_ptr_nonnull(o);
		relids[i] = o->msg.child_relid;
		ck_assert_uint_ge(relids[i], 1);
		ck_assert_uint_le(relids[i], VMBUS_MAX_RELID);
		ck_assert_uint_eq(o->msg.connection_id, VMBUS_CHANNEL_CONNECTION_ID(relids[i]));
		ck_assert_uint_eq(o->msg.is_dedicated_interrupt & 1, 1);
		ck_assert_uint_eq(o->msg.monitor_allocated & 1, 0);
		ck_assert_mem_eq(&o->msg.if_instance, &inst, sizeof(inst));
		ck_assert_uint_eq(vmbus_channel_relid(d[i].chan), relids[i]);
	}
	ck_assert_uint_ne(relids[0], relids[1]);
	ck_assert_uint_ne(relids[1], relids[2]);
	/* Hot add: offered at once. */
	echo_offer(&h, &d[3], 0x20, 0x60, 0);
	h_run(&h, 20);
	ck_assert_uint_eq(h.bus.nr_offers, 4);
	ck_assert_ptr_nonnull(offer_of(&h, 0x20, 0));
	h_teardown(&h);
}
END_TEST

START_TEST(gpadl_with_body_messages_and_teardown)
{
	struct harness h;
	struct echo_dev d = {0};
	struct vmbus_server_stats st;
	const struct vsc_offer *o;
	uint64_t gpa;
	uint32_t handle, handle2;

	h_setup(&h, 0, 0);
	echo_offer(&h, &d, 0x10, 1, 0);
	h_connect(&h);
	o = offer_of(&h, 0x10, 0);
	ck_assert_int_eq(h.lb.plat.alloc_pages(&h.lb, 100, &gpa), 0);
	/* 100 PFNs: 26 in the header, then 28 + 28 + 18 in three bodies. */
	ck_assert_int_eq(vsc_gpadl_create(&h.bus, o->msg.child_relid, gpa, 100, &handle), VSC_OK);
	ck_assert_int_eq(vsc_gpadl_create(&h.bus, o->msg.child_relid, gpa, 26, &handle2), VSC_OK);
	vmbus_server_get_stats(h.server, &st);
	ck_assert_uint_eq(st.gpadls, 2);
	ck_assert_int_eq(vsc_gpadl_teardown(&h.bus, o->msg.child_relid, handle), VSC_OK);
	ck_assert_int_eq(vsc_gpadl_teardown(&h.bus, o->msg.child_relid, handle2), VSC_OK);
	vmbus_server_get_stats(h.server, &st);
	ck_assert_uint_eq(st.gpadls, 0);
	h_teardown(&h);
}
END_TEST

START_TEST(open_send_complete_close_reopen)
{
	struct harness h;
	struct echo_dev d = {0};
	struct vsc_channel ch;
	uint8_t out[64] = "completion please", in[256];
	uint32_t len;

	h_setup(&h, 0, 0);
	echo_offer(&h, &d, 0x10, 1, 0);
	h_connect(&h);
	open_echo(&h, &ch, 0x10);
	ck_assert_int_eq(d.opens, 1);
	ck_assert(vmbus_channel_is_open(d.chan));
	roundtrip(&h, &ch, 100, 1);
	roundtrip(&h, &ch, 1, 2);
	/* A request with COMPLETION_REQUESTED comes back as a completion packet. */
	ck_assert_int_eq(vsc_channel_send(&ch, VMBUS_PKT_DATA_INBAND,
					  VMBUS_PKT_FLAG_COMPLETION_REQUESTED, 77, out, 20),
			 VSC_RING_OK);
	ck_assert(recv_pkt(&h, &ch, in, sizeof(in), &len));
	ck_assert_uint_eq(((struct vmbus_packet_descriptor *)in)->type, VMBUS_PKT_COMP);
	ck_assert_uint_eq(((struct vmbus_packet_descriptor *)in)->trans_id, 77);
	ck_assert_int_eq(vsc_channel_close(&ch), VSC_OK);
	h_run(&h, 10);
	ck_assert_int_eq(d.closes, 1);
	ck_assert(!vmbus_channel_is_open(d.chan));
	/* Packets the host sends to a closed channel are refused, not written. */
	ck_assert_int_eq(vmbus_channel_send(d.chan, 1, out, 8, false), -ENOTCONN);
	open_echo(&h, &ch, 0x10);
	roundtrip(&h, &ch, 300, 3);
	ck_assert_int_eq(d.opens, 2);
	ck_assert_uint_eq(h.lb.page_used[0] + 0u, 1); /* sanity: allocator in use */
	h_teardown(&h);
}
END_TEST

START_TEST(many_round_trips_wrap_both_rings)
{
	struct harness h;
	struct echo_dev d = {0};
	struct vsc_channel ch;

	h_setup(&h, 0, 0);
	echo_offer(&h, &d, 0x10, 1, 0);
	h_connect(&h);
	open_echo(&h, &ch, 0x10); /* 3 data pages each way */
	for (uint32_t i = 0; i < 400; i++)
		roundtrip(&h, &ch, 1 + (i * 131) % 2000, i);
	ck_assert_int_eq(d.packets, 400);
	h_teardown(&h);
}
END_TEST

START_TEST(refused_open_reports_failure)
{
	struct harness h;
	struct echo_dev d = {.refuse_open = true};
	struct vsc_channel ch;
	const struct vsc_offer *o;

	h_setup(&h, 0, 0);
	echo_offer(&h, &d, 0x10, 1, 0);
	h_connect(&h);
	o = offer_of(&h, 0x10, 0);
	ck_assert_int_eq(vsc_channel_open(&h.bus, &ch, o, 4, 4, 0), VSC_ERR_REFUSED);
	ck_assert(h_log_contains(&h, "refused by the device"));
	d.refuse_open = false;
	open_echo(&h, &ch, 0x10);
	roundtrip(&h, &ch, 10, 1);
	h_teardown(&h);
}
END_TEST

static struct echo_dev sub_dev;

START_TEST(subchannel_offer_open_and_echo)
{
	struct harness h;
	struct echo_dev d = {0};
	struct vsc_channel ch, sch;
	const struct vsc_offer *o, *so;

	h_setup(&h, 0, 0);
	echo_offer(&h, &d, 0x10, 1, 0);
	h_connect(&h);
	open_echo(&h, &ch, 0x10);
	memset(&sub_dev, 0, sizeof(sub_dev));
	/* The device's own protocol would ask for it; here the VSP just offers it. */
	ck_assert_int_eq(vmbus_offer_subchannel(d.chan, 1, &echo_ops, &sub_dev, &sub_dev.chan), 0);
	{
		struct vmbus_channel *dup;

		ck_assert_int_eq(vmbus_offer_subchannel(d.chan, 1, &echo_ops, &sub_dev, &dup),
				 -EEXIST);
		ck_assert_ptr_null(dup);
	}
	h_run(&h, 20);
	o = offer_of(&h, 0x10, 0);
	so = offer_of(&h, 0x10, 1);
	ck_assert_ptr_nonnull(so);
	ck_assert_mem_eq(&so->msg.if_instance, &o->msg.if_instance, 16);
	ck_assert_uint_ne(so->msg.child_relid, o->msg.child_relid);
	ck_assert_int_eq(vsc_channel_open(&h.bus, &sch, so, 4, 4, 1), VSC_OK);
	ck_assert_uint_eq(vmbus_channel_target_vp(sub_dev.chan), 1);
	roundtrip(&h, &sch, 50, 5);
	roundtrip(&h, &ch, 50, 6);
	ck_assert_int_eq(sub_dev.packets, 1);
	ck_assert_int_eq(d.packets, 1);
	h_teardown(&h);
}
END_TEST

START_TEST(rescind_relid_released_and_reuse)
{
	struct harness h;
	struct echo_dev d = {0}, d2 = {0}, d3 = {0};
	struct vsc_channel ch;
	uint32_t relid;

	h_setup(&h, 0, 0);
	echo_offer(&h, &d, 0x10, 1, 0);
	h_connect(&h);
	open_echo(&h, &ch, 0x10);
	relid = ch.relid;
	vmbus_channel_remove(d.chan);
	ck_assert_int_eq(d.closes, 1);
	ck_assert_int_eq(vsc_vmbus_wait(&h.bus, VMBUS_MSG_RESCIND_CHANNELOFFER, 8, relid, NULL, 0),
			 VSC_OK);
	ck_assert(ch.rescinded);
	/* The relid stays taken until the guest releases it. */
	echo_offer(&h, &d2, 0x11, 2, 0);
	h_run(&h, 10);
	ck_assert_uint_ne(offer_of(&h, 0x11, 0)->msg.child_relid, relid);
	ck_assert_int_eq(vsc_channel_close(&ch), VSC_OK);
	ck_assert_int_eq(vsc_channel_release(&h.bus, relid), VSC_OK);
	h_run(&h, 10);
	ck_assert_int_eq(d.released, 0); /* removed channels call nothing after remove */
	vmbus_channel_remove(d2.chan);
	echo_offer(&h, &d3, 0x12, 3, 0);
	h_run(&h, 10);
	ck_assert_uint_eq(offer_of(&h, 0x12, 0)->msg.child_relid, relid);
	h_teardown(&h);
}
END_TEST

START_TEST(unload_closes_everything_and_reconnects)
{
	struct harness h;
	struct echo_dev d = {0};
	struct vsc_channel ch;
	struct vmbus_server_stats st;

	h_setup(&h, 0, 0);
	echo_offer(&h, &d, 0x10, 1, 0);
	h_connect(&h);
	open_echo(&h, &ch, 0x10);
	ck_assert_int_eq(vsc_vmbus_unload(&h.bus), VSC_OK);
	ck_assert_int_eq(d.closes, 1);
	vmbus_server_get_stats(h.server, &st);
	ck_assert_uint_eq(st.gpadls, 0);
	ck_assert_uint_eq(st.channels_open, 0);
	ck_assert_uint_eq(vmbus_server_version(h.server), 0);
	h.lb.plat.free_pages(&h.lb, ch.ring_gpa, ch.ring_pages);
	h_connect(&h);
	open_echo(&h, &ch, 0x10);
	roundtrip(&h, &ch, 64, 9);
	/* INITIATE_CONTACT while connected (a kexec'd kernel) resets as well. */
	h_connect(&h);
	ck_assert(h_log_contains(&h, "resetting the connection"));
	ck_assert_int_eq(d.closes, 2);
	h_teardown(&h);
}
END_TEST

START_TEST(messages_queue_behind_a_busy_slot)
{
	struct harness h;
	static struct echo_dev d[100];
	struct winhv_loopback_stats ls;

	memset(d, 0, sizeof(d));
	h_setup(&h, 0, 0);
	/* More offers than the SINT queue (64) holds: the server's backlog takes the rest. */
	for (int i = 0; i < 100; i++)
		echo_offer(&h, &d[i], (uint8_t)i, (uint8_t)i, 0);
	h_connect(&h);
	ck_assert_uint_eq(h.bus.nr_offers, VSC_MAX_OFFERS); /* the client keeps 64 */
	ck_assert(h.bus.all_offers);
	ck_assert_int_eq(WinHvLoopbackGetStats(h.lb.partition, 0, &ls), 0);
	ck_assert_uint_gt(ls.messages_queued, 0);
	/* 100 offers + version response + ALLOFFERS_DELIVERED, none lost. */
	ck_assert_uint_eq(ls.messages_delivered, 102);
	h_teardown(&h);
}
END_TEST

START_TEST(modifychannel_answers_on_5_3)
{
	struct harness h;
	struct echo_dev d = {0};
	struct vsc_channel ch;
	struct vmbus_msg_modifychannel m = {.header.msgtype = VMBUS_MSG_MODIFYCHANNEL};
	struct vmbus_msg_modifychannel_response r;

	h_setup(&h, 0, 0);
	echo_offer(&h, &d, 0x10, 1, 0);
	h_connect(&h);
	open_echo(&h, &ch, 0x10);
	m.child_relid = ch.relid;
	m.target_vp = 1;
	ck_assert_int_eq(vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, &m, sizeof(m)), VSC_OK);
	ck_assert_int_eq(
	    vsc_vmbus_wait(&h.bus, VMBUS_MSG_MODIFYCHANNEL_RESPONSE, 8, ch.relid, &r, sizeof(r)),
	    VSC_OK);
	ck_assert_uint_eq(r.status, 0);
	ck_assert_uint_eq(vmbus_channel_target_vp(d.chan), 1);
	m.target_vp = 9;
	ck_assert_int_eq(vsc_vmbus_post(&h.bus, h.bus.msg_conn_id, &m, sizeof(m)), VSC_OK);
	ck_assert_int_eq(
	    vsc_vmbus_wait(&h.bus, VMBUS_MSG_MODIFYCHANNEL_RESPONSE, 8, ch.relid, &r, sizeof(r)),
	    VSC_OK);
	ck_assert_uint_ne(r.status, 0);
	roundtrip(&h, &ch, 10, 1);
	h_teardown(&h);
}
END_TEST

TEST_MAIN("vmbus-server", negotiates_5_3_on_connection_4,
	  falls_back_to_4_1_when_connection_4_is_unknown,
	  refuses_versions_outside_range_and_wrong_connection,
	  offers_then_alloffers_delivered_and_hot_add, gpadl_with_body_messages_and_teardown,
	  open_send_complete_close_reopen, many_round_trips_wrap_both_rings,
	  refused_open_reports_failure, subchannel_offer_open_and_echo,
	  rescind_relid_released_and_reuse, unload_closes_everything_and_reconnects,
	  messages_queue_behind_a_busy_slot, modifychannel_answers_on_5_3)

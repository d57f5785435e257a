/* SPDX-License-Identifier: MIT */
/*
 * libwinhv: the root side of the SynIC, as the VMBus server in vmwp uses it.
 * Every backend implements these (the linhv and kvm ones through the module or
 * KVM's Hyper-V SynIC; loopback in plain memory). A backend that lacks one
 * answers -ENOSYS.
 *
 * Conventions (TLFS): a SynIC message is posted to one SINT of one VP; the
 * hypervisor writes it into that VP's SIMP slot when the slot is free and
 * queues it otherwise (setting msg_pending in the occupied slot, delivering the
 * next one on the guest's EOM). An event is one bit (flag_number) in the SINT's
 * region of the VP's SIEF page, followed by the SINT interrupt.
 *
 * Guest-to-root traffic: the guest's HvPostMessage(connection_id, ...) calls
 * land in a per-partition queue the root reads with WinHvReadPostedMessage();
 * only connection ids registered with WinHvRegisterMessageConnection() are
 * accepted, others fail in the guest with HV_STATUS_INVALID_CONNECTION_ID. The
 * guest's HvSignalEvent(connection_id) increments the eventfd registered for
 * that id (without leaving the kernel on the linhv backend).
 */
#ifndef LINHV_WINHV_SYNIC_H
#define LINHV_WINHV_SYNIC_H

#include <stdint.h>

#include "winhv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One guest HvPostMessage call, as the hypervisor queued it. */
struct winhv_posted_message {
	uint32_t connection_id;
	uint32_t message_type;
	uint32_t payload_size; /* <= HV_MESSAGE_PAYLOAD_BYTE_COUNT */
	uint32_t vp_index;     /* the sending VP */
	uint8_t payload[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
};

/*
 * Post msg (header.message_type and header.payload_size set by the caller) to
 * the SINT of a VP. 0 when written or queued; HV_STATUS_INSUFFICIENT_BUFFERS
 * when the SINT's queue is full (retry later); HV_STATUS_INVALID_VP_INDEX,
 * HV_STATUS_INVALID_PARAMETER for bad arguments.
 */
int WinHvPostMessage(struct winhv_partition *partition, uint32_t vp_index, uint32_t sint,
		     const struct hv_message *msg);

/* Set bit flag_number (< 2048) in the SINT's SIEF region and raise the SINT. */
int WinHvSignalEvent(struct winhv_partition *partition, uint32_t vp_index, uint32_t sint,
		     uint32_t flag_number);

/*
 * Route the guest's HvSignalEvent(connection_id) to eventfd (which the caller
 * keeps owning). eventfd < 0 removes the route. HV_STATUS_OBJECT_IN_USE when
 * the id is already routed.
 */
int WinHvRegisterSignalEventFd(struct winhv_partition *partition, uint32_t connection_id,
			       int eventfd);

/* Accept (enable) or refuse (!enable) guest HvPostMessage on connection_id. */
int WinHvRegisterMessageConnection(struct winhv_partition *partition, uint32_t connection_id,
				   bool enable);

/* A file descriptor that polls readable while posted messages are queued. */
int WinHvGetPostedMessageFd(struct winhv_partition *partition);

/* Take the oldest posted message: 0, or -EAGAIN when the queue is empty. */
int WinHvReadPostedMessage(struct winhv_partition *partition, struct winhv_posted_message *out);

/*
 * The partition reference time (HV_X64_MSR_TIME_REF_COUNT as the guest reads
 * it): 100 ns units since the partition was created.
 */
int WinHvGetReferenceTime(struct winhv_partition *partition, uint64_t *time_100ns);

#ifdef __cplusplus
}
#endif

#endif /* LINHV_WINHV_SYNIC_H */

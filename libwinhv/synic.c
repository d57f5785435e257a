// SPDX-License-Identifier: MIT
/*
 * Root-side SynIC calls (winhv_synic.h): argument checks, then the backend.
 * A backend without SynIC support answers -ENOSYS.
 */
#include <errno.h>

#include "winhv_backend.h"

int WinHvPostMessage(struct winhv_partition *p, uint32_t vp_index, uint32_t sint,
		     const struct hv_message *msg)
{
	if (!p->ops->post_message)
		return -ENOSYS;
	if (vp_index >= p->max_vps)
		return HV_STATUS_INVALID_VP_INDEX;
	if (sint >= HV_SYNIC_SINT_COUNT || !msg || msg->header.message_type == HvMessageTypeNone ||
	    msg->header.payload_size > HV_MESSAGE_PAYLOAD_BYTE_COUNT)
		return HV_STATUS_INVALID_PARAMETER;
	return p->ops->post_message(p, vp_index, sint, msg);
}

int WinHvSignalEvent(struct winhv_partition *p, uint32_t vp_index, uint32_t sint,
		     uint32_t flag_number)
{
	if (!p->ops->signal_event)
		return -ENOSYS;
	if (vp_index >= p->max_vps)
		return HV_STATUS_INVALID_VP_INDEX;
	/* A SINT's SIEF region is 256 bytes: 2048 flags. */
	if (sint >= HV_SYNIC_SINT_COUNT || flag_number >= 2048)
		return HV_STATUS_INVALID_PARAMETER;
	return p->ops->signal_event(p, vp_index, sint, flag_number);
}

int WinHvRegisterSignalEventFd(struct winhv_partition *p, uint32_t connection_id, int eventfd)
{
	if (!p->ops->register_event_fd)
		return -ENOSYS;
	return p->ops->register_event_fd(p, connection_id, eventfd);
}

int WinHvRegisterMessageConnection(struct winhv_partition *p, uint32_t connection_id, bool enable)
{
	if (!p->ops->register_msg_connection)
		return -ENOSYS;
	return p->ops->register_msg_connection(p, connection_id, enable);
}

int WinHvGetPostedMessageFd(struct winhv_partition *p)
{
	if (!p->ops->posted_message_fd)
		return -ENOSYS;
	return p->ops->posted_message_fd(p);
}

int WinHvReadPostedMessage(struct winhv_partition *p, struct winhv_posted_message *out)
{
	if (!p->ops->read_posted_message)
		return -ENOSYS;
	return p->ops->read_posted_message(p, out);
}

int WinHvGetReferenceTime(struct winhv_partition *p, uint64_t *time_100ns)
{
	if (!p->ops->reference_time)
		return -ENOSYS;
	return p->ops->reference_time(p, time_100ns);
}

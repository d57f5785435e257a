// SPDX-License-Identifier: GPL-2.0
/*
 * The synthetic interrupt controller. Host-to-guest messages go into the
 * guest's SIMP page (one 256-byte slot per SINT) with the msg_pending/EOM
 * handshake; host-to-guest events set bits in the SIEF page. Guest
 * HvPostMessage calls are queued per partition for the root; guest
 * HvSignalEvent calls go straight to an eventfd the root registered, with
 * no exit to userspace.
 */
#include <linux/eventfd.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "linhv_internal.h"

#define SINT_MASKED BIT_ULL(16)
#define SINT_AUTO_EOI BIT_ULL(17)

/* ---- partition-level state ---- */

int linhv_partition_hv_init(struct linhv_partition *part)
{
	spin_lock_init(&part->evt_lock);
	spin_lock_init(&part->posted_lock);
	part->posted = kvcalloc(LINHV_POSTED_QUEUE_DEPTH, sizeof(*part->posted),
				GFP_KERNEL_ACCOUNT);
	return part->posted ? 0 : -ENOMEM;
}

void linhv_partition_hv_destroy(struct linhv_partition *part)
{
	u32 i;

	for (i = 0; i < part->nr_evt; i++)
		eventfd_ctx_put(part->evt[i].ctx);
	part->nr_evt = 0;
	if (part->posted_fd)
		eventfd_ctx_put(part->posted_fd);
	part->posted_fd = NULL;
	kvfree(part->posted);
	part->posted = NULL;
}

void linhv_synic_init(struct linhv_vp *vp)
{
	struct linhv_synic *sy = &vp->synic;
	int i;

	mutex_init(&sy->lock);
	for (i = 0; i < HV_SYNIC_SINT_COUNT; i++) {
		INIT_LIST_HEAD(&sy->queue[i]);
		sy->sint[i] = SINT_MASKED;
	}
	sy->queued = 0;
}

void linhv_synic_destroy(struct linhv_vp *vp)
{
	struct linhv_synic *sy = &vp->synic;
	struct linhv_queued_msg *m, *n;
	int i;

	for (i = 0; i < HV_SYNIC_SINT_COUNT; i++) {
		list_for_each_entry_safe(m, n, &sy->queue[i], link) {
			list_del(&m->link);
			kfree(m);
		}
	}
}

/* ---- guest pages ---- */

/*
 * Map the guest page at gpa for a short access. Returns NULL when the page is
 * not guest RAM the guest may write. The caller must release it with
 * unmap_guest_page().
 */
static void *map_guest_page(struct linhv_partition *part, u64 gpa, struct page **pg)
{
	*pg = linhv_guest_page_get(part, gpa, true);
	return *pg ? kmap_local_page(*pg) : NULL;
}

static void unmap_guest_page(void *va, struct page *pg)
{
	kunmap_local(va);
	set_page_dirty_lock(pg);
	put_page(pg);
}

static void raise_sint(struct linhv_vp *vp, u32 sint)
{
	u64 v = vp->synic.sint[sint];

	if (!(v & SINT_MASKED))
		linhv_lapic_accept(vp, v & 0xff);
}

/*
 * An unmasked SINT with AutoEOI set: delivering its vector is its EOI, so
 * the guest needs no EOI write (an exit) per VMBus interrupt. Runs on the
 * VP's thread, like the SINT writes; the 16 registers are the only state.
 */
bool linhv_synic_auto_eoi(struct linhv_vp *vp, u8 vector)
{
	int i;

	for (i = 0; i < HV_SYNIC_SINT_COUNT; i++) {
		u64 v = READ_ONCE(vp->synic.sint[i]);

		if ((v & (SINT_MASKED | SINT_AUTO_EOI)) == SINT_AUTO_EOI && (v & 0xff) == vector)
			return true;
	}
	return false;
}

/* Everything but message_type, which is written last to publish the slot. */
static void copy_body(struct hv_message *slot, const struct hv_message *m)
{
	const size_t skip = sizeof(m->header.message_type);

	memcpy((u8 *)slot + skip, (const u8 *)m + skip, sizeof(*m) - skip);
}

/*
 * Try to put m into the SINT's slot. Returns true when it was written; when
 * the slot is busy, flags it msg_pending so the guest writes EOM later. more:
 * other messages wait behind m, so m itself goes out flagged msg_pending.
 * Called with synic.lock held.
 */
static bool try_deliver(struct linhv_vp *vp, u32 sint, const struct hv_message *m, bool more)
{
	struct linhv_partition *part = vp->part;
	struct linhv_synic *sy = &vp->synic;
	struct hv_message *slot;
	struct page *pg;
	void *va;
	bool done = false;

	if (!(sy->scontrol & 1) || !(sy->simp & 1))
		return false;
	va = map_guest_page(part, sy->simp & PAGE_MASK, &pg);
	if (!va)
		return false;
	slot = (struct hv_message *)va + sint;
	if (READ_ONCE(slot->header.message_type) == HvMessageTypeNone) {
		copy_body(slot, m);
		slot->header.message_flags = more ? HV_MESSAGE_FLAG_PENDING : 0;
		smp_wmb();
		WRITE_ONCE(slot->header.message_type, m->header.message_type);
		done = true;
	} else {
		WRITE_ONCE(slot->header.message_flags,
			   slot->header.message_flags | HV_MESSAGE_FLAG_PENDING);
		smp_mb();
		/* The guest may have emptied the slot meanwhile: see synic.c top. */
		if (READ_ONCE(slot->header.message_type) == HvMessageTypeNone) {
			copy_body(slot, m);
			slot->header.message_flags = more ? HV_MESSAGE_FLAG_PENDING : 0;
			smp_wmb();
			WRITE_ONCE(slot->header.message_type, m->header.message_type);
			done = true;
		}
	}
	unmap_guest_page(va, pg);
	if (done)
		raise_sint(vp, sint);
	return done;
}

/* On EOM (and SynIC setup changes), move queued messages into free slots. */
void linhv_synic_eom(struct linhv_vp *vp)
{
	struct linhv_synic *sy = &vp->synic;
	struct linhv_queued_msg *m;
	int i;

	mutex_lock(&sy->lock);
	for (i = 0; i < HV_SYNIC_SINT_COUNT; i++) {
		m = list_first_entry_or_null(&sy->queue[i], struct linhv_queued_msg, link);
		if (m && try_deliver(vp, i, &m->msg, !list_is_singular(&sy->queue[i]))) {
			list_del(&m->link);
			sy->queued--;
			kfree(m);
		}
	}
	mutex_unlock(&sy->lock);
}

static struct linhv_vp *vp_by_index(struct linhv_partition *part, u32 index)
{
	if (index >= LINHV_MAX_VPS)
		return NULL;
	return part->vps[array_index_nospec(index, LINHV_MAX_VPS)];
}

/* ---- root-side calls ---- */

u16 linhv_synic_post_direct(struct linhv_partition *part, const void *in, u32 in_size)
{
	const struct linhv_in_post_message_direct *pm = in;
	struct linhv_queued_msg *q;
	struct linhv_vp *vp;
	struct linhv_synic *sy;
	u16 status = HV_STATUS_SUCCESS;

	if (!part->hyperv)
		return HV_STATUS_ACCESS_DENIED;
	if (in_size != sizeof(*pm) || pm->sint_index >= HV_SYNIC_SINT_COUNT ||
	    pm->message.header.payload_size > HV_MESSAGE_PAYLOAD_BYTE_COUNT ||
	    pm->message.header.message_type == HvMessageTypeNone)
		return HV_STATUS_INVALID_PARAMETER;
	mutex_lock(&part->lock);
	vp = vp_by_index(part, pm->vp_index);
	if (!vp) {
		mutex_unlock(&part->lock);
		return HV_STATUS_INVALID_VP_INDEX;
	}
	sy = &vp->synic;
	mutex_lock(&sy->lock);
	/* Keep order: nothing overtakes a queued message of the same SINT. */
	if (list_empty(&sy->queue[pm->sint_index]) &&
	    try_deliver(vp, pm->sint_index, &pm->message, false))
		goto out;
	if (sy->queued >= LINHV_SYNIC_QUEUE_MAX) {
		status = HV_STATUS_INSUFFICIENT_BUFFERS;
		goto out;
	}
	q = kmalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q) {
		status = HV_STATUS_INSUFFICIENT_MEMORY;
		goto out;
	}
	q->msg = pm->message;
	list_add_tail(&q->link, &sy->queue[pm->sint_index]);
	sy->queued++;
out:
	mutex_unlock(&sy->lock);
	mutex_unlock(&part->lock);
	return status;
}

u16 linhv_synic_signal_direct(struct linhv_partition *part, const void *in, u32 in_size,
			      void *out, u32 out_size)
{
	const struct linhv_in_signal_event_direct *se = in;
	struct linhv_out_signal_event_direct *res = out;
	struct linhv_vp *vp;
	struct page *pg;
	bool was_set = true;
	u16 status = HV_STATUS_SUCCESS;
	void *va;

	if (!part->hyperv)
		return HV_STATUS_ACCESS_DENIED;
	if (in_size != sizeof(*se) || out_size != sizeof(*res) ||
	    se->sint_index >= HV_SYNIC_SINT_COUNT || se->flag_number >= 2048)
		return HV_STATUS_INVALID_PARAMETER;
	mutex_lock(&part->lock);
	vp = vp_by_index(part, se->vp_index);
	if (!vp) {
		mutex_unlock(&part->lock);
		return HV_STATUS_INVALID_VP_INDEX;
	}
	if (!(vp->synic.scontrol & 1) || !(vp->synic.siefp & 1)) {
		mutex_unlock(&part->lock);
		return HV_STATUS_INVALID_VP_STATE;
	}
	va = map_guest_page(part, vp->synic.siefp & PAGE_MASK, &pg);
	if (va) {
		unsigned long *flags = va + se->sint_index * 256;

		was_set = test_and_set_bit(se->flag_number, flags);
		unmap_guest_page(va, pg);
	} else {
		status = HV_STATUS_INVALID_VP_STATE;
	}
	if (status == HV_STATUS_SUCCESS && !was_set)
		raise_sint(vp, se->sint_index);
	mutex_unlock(&part->lock);
	res->newly_signaled = !was_set;
	return status;
}

u16 linhv_synic_set_event_fd(struct linhv_partition *part, const void *in, u32 in_size)
{
	const struct linhv_in_set_event_fd *ef = in;
	struct eventfd_ctx *ctx = NULL, *old = NULL;
	u16 status = HV_STATUS_SUCCESS;
	u32 i;

	if (in_size != sizeof(*ef) || ef->connection_id >= (1u << 24))
		return HV_STATUS_INVALID_PARAMETER;
	if (ef->fd >= 0) {
		ctx = eventfd_ctx_fdget(ef->fd);
		if (IS_ERR(ctx))
			return HV_STATUS_INVALID_PARAMETER;
	}
	spin_lock(&part->evt_lock);
	for (i = 0; i < part->nr_evt; i++)
		if (part->evt[i].conn == ef->connection_id)
			break;
	if (ctx) {
		if (i < part->nr_evt)
			status = HV_STATUS_OBJECT_IN_USE;
		else if (part->nr_evt == ARRAY_SIZE(part->evt))
			status = HV_STATUS_INSUFFICIENT_MEMORY;
		else {
			part->evt[part->nr_evt].conn = ef->connection_id;
			part->evt[part->nr_evt++].ctx = ctx;
			ctx = NULL;
		}
	} else if (i < part->nr_evt) {
		old = part->evt[i].ctx;
		part->evt[i] = part->evt[--part->nr_evt];
	} else {
		status = HV_STATUS_INVALID_CONNECTION_ID;
	}
	spin_unlock(&part->evt_lock);
	if (ctx)
		eventfd_ctx_put(ctx);
	if (old)
		eventfd_ctx_put(old);
	return status;
}

u16 linhv_synic_set_msg_conn(struct linhv_partition *part, const void *in, u32 in_size)
{
	const struct linhv_in_set_message_connection *mc = in;
	u16 status = HV_STATUS_SUCCESS;
	u32 i;

	if (in_size != sizeof(*mc) || mc->connection_id >= (1u << 24) || mc->enable > 1)
		return HV_STATUS_INVALID_PARAMETER;
	spin_lock(&part->evt_lock);
	for (i = 0; i < part->nr_msg_conn; i++)
		if (part->msg_conn[i] == mc->connection_id)
			break;
	if (mc->enable && i == part->nr_msg_conn) {
		if (part->nr_msg_conn == ARRAY_SIZE(part->msg_conn))
			status = HV_STATUS_INSUFFICIENT_MEMORY;
		else
			part->msg_conn[part->nr_msg_conn++] = mc->connection_id;
	} else if (!mc->enable && i < part->nr_msg_conn) {
		part->msg_conn[i] = part->msg_conn[--part->nr_msg_conn];
	}
	spin_unlock(&part->evt_lock);
	return status;
}

u16 linhv_synic_set_posted_fd(struct linhv_partition *part, const void *in, u32 in_size)
{
	const struct linhv_in_set_posted_message_fd *pf = in;
	struct eventfd_ctx *ctx = NULL, *old;

	if (in_size != sizeof(*pf) || pf->reserved)
		return HV_STATUS_INVALID_PARAMETER;
	if (pf->fd >= 0) {
		ctx = eventfd_ctx_fdget(pf->fd);
		if (IS_ERR(ctx))
			return HV_STATUS_INVALID_PARAMETER;
	}
	spin_lock(&part->posted_lock);
	old = part->posted_fd;
	part->posted_fd = ctx;
	spin_unlock(&part->posted_lock);
	if (old)
		eventfd_ctx_put(old);
	return HV_STATUS_SUCCESS;
}

u16 linhv_synic_read_posted(struct linhv_partition *part, void *out, u32 out_size)
{
	u16 status = HV_STATUS_NO_DATA;

	if (!part->hyperv)
		return HV_STATUS_ACCESS_DENIED;
	if (out_size != sizeof(struct linhv_out_posted_message))
		return HV_STATUS_INVALID_PARAMETER;
	spin_lock(&part->posted_lock);
	if (part->posted_count) {
		memcpy(out, &part->posted[part->posted_head], out_size);
		part->posted_head = (part->posted_head + 1) % LINHV_POSTED_QUEUE_DEPTH;
		part->posted_count--;
		status = HV_STATUS_SUCCESS;
	}
	spin_unlock(&part->posted_lock);
	return status;
}

/* ---- guest hypercalls ---- */

u16 linhv_synic_guest_post(struct linhv_vp *vp, u64 in_gpa)
{
	struct linhv_partition *part = vp->part;
	struct hv_input_post_message in;
	struct linhv_out_posted_message *slot;
	bool known = false;
	u32 i;

	/* TLFS: the input block is 8-byte aligned and within one page. */
	if ((in_gpa & 7) || offset_in_page(in_gpa) + sizeof(in) > PAGE_SIZE)
		return HV_STATUS_INVALID_ALIGNMENT;
	if (linhv_read_guest(part, in_gpa, &in, sizeof(in)))
		return HV_STATUS_INVALID_PARAMETER;
	if (in.payload_size > HV_MESSAGE_PAYLOAD_BYTE_COUNT || in.message_type == 0 ||
	    (in.message_type & 0x80000000))
		return HV_STATUS_INVALID_PARAMETER;

	spin_lock(&part->evt_lock);
	for (i = 0; i < part->nr_msg_conn; i++)
		known |= part->msg_conn[i] == (in.connection_id & 0xffffff);
	spin_unlock(&part->evt_lock);
	if (!known)
		return HV_STATUS_INVALID_CONNECTION_ID;

	spin_lock(&part->posted_lock);
	if (part->posted_count == LINHV_POSTED_QUEUE_DEPTH) {
		spin_unlock(&part->posted_lock);
		return HV_STATUS_INSUFFICIENT_BUFFERS;
	}
	slot = &part->posted[(part->posted_head + part->posted_count) % LINHV_POSTED_QUEUE_DEPTH];
	slot->connection_id = in.connection_id & 0xffffff;
	slot->message_type = in.message_type;
	slot->payload_size = in.payload_size;
	slot->vp_index = vp->index;
	memcpy(slot->payload, in.payload, in.payload_size);
	memset(slot->payload + in.payload_size, 0, sizeof(slot->payload) - in.payload_size);
	part->posted_count++;
	if (part->posted_fd)
		eventfd_signal(part->posted_fd, 1);
	spin_unlock(&part->posted_lock);
	return HV_STATUS_SUCCESS;
}

u16 linhv_synic_guest_signal(struct linhv_vp *vp, u32 conn_id)
{
	struct linhv_partition *part = vp->part;
	u16 status = HV_STATUS_INVALID_CONNECTION_ID;
	u32 i;

	conn_id &= 0xffffff;
	spin_lock(&part->evt_lock);
	for (i = 0; i < part->nr_evt; i++) {
		if (part->evt[i].conn == conn_id) {
			eventfd_signal(part->evt[i].ctx, 1);
			status = HV_STATUS_SUCCESS;
			break;
		}
	}
	spin_unlock(&part->evt_lock);
	return status;
}

// SPDX-License-Identifier: MIT
/*
 * The loopback backend (winhv_loopback.h): a partition made of plain memory
 * and a software SynIC, with no VP execution. The guest side is driven
 * in-process; it posts messages and signals events through the
 * WinHvLoopbackGuest*() calls, which behave like the hypercalls would.
 *
 * The SynIC follows the TLFS: SIMP/SIEFP pages live in guest RAM, a message
 * goes into the SINT's SIMP slot only while the slot is empty (message_type 0),
 * otherwise it waits in a per-SINT queue with msg_pending set in the occupied
 * slot, and the guest's EOM delivers the next one.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <linhv/winhv_loopback.h>

#include "winhv_backend.h"

/* Per-SINT message queue depth behind the SIMP slot (root to guest). */
#define LB_SINT_QUEUE 64
/* Guest-to-root posted messages waiting for the root (Hyper-V has 16 per port). */
#define LB_POST_QUEUE 64
#define LB_MAX_EVENT_CONNECTIONS 4096
#define LB_MAX_MSG_CONNECTIONS 16
#define LB_PAGE 4096

struct lb_msgq {
	struct hv_message *msgs; /* LB_SINT_QUEUE, allocated on first use */
	uint32_t head, count;
};

struct lb_vp {
	uint64_t simp_gpa, siefp_gpa; /* 0: disabled */
	uint8_t vector[HV_SYNIC_SINT_COUNT];
	bool masked[HV_SYNIC_SINT_COUNT];
	struct lb_msgq q[HV_SYNIC_SINT_COUNT];
	uint32_t pending_sints; /* raised, not yet taken by the guest waiter */
	int irq_fd;		/* eventfd, readable while pending_sints != 0 */
	struct winhv_loopback_stats stats;
};

struct lb_event_route {
	uint32_t connection_id;
	int fd;
};

struct lb_partition {
	pthread_mutex_t lock;
	struct lb_vp *vps;
	struct winhv_posted_message post[LB_POST_QUEUE];
	uint32_t post_head, post_count;
	int post_fd;
	struct lb_event_route *routes;
	uint32_t nr_routes;
	uint32_t msg_conns[LB_MAX_MSG_CONNECTIONS];
	uint32_t nr_msg_conns;
	struct timespec t0;
};

static struct lb_partition *lb(struct winhv_partition *p)
{
	return p->priv;
}

static int lb_get_caps(struct winhv_caps *caps)
{
	caps->hv.api_version = LINHV_API_VERSION;
	caps->hv.max_vps_per_partition = 256;
	snprintf(caps->hv.cpu_vendor, sizeof(caps->hv.cpu_vendor), "loopback");
	return 0;
}

static void lb_free(struct winhv_partition *p, struct lb_partition *l)
{
	if (l->vps) {
		for (uint32_t i = 0; i < p->max_vps; i++) {
			for (int s = 0; s < HV_SYNIC_SINT_COUNT; s++)
				free(l->vps[i].q[s].msgs);
			if (l->vps[i].irq_fd >= 0)
				close(l->vps[i].irq_fd);
		}
	}
	if (l->post_fd >= 0)
		close(l->post_fd);
	free(l->routes);
	free(l->vps);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static int lb_create_partition(struct winhv_partition *p,
			       const struct winhv_partition_params *params)
{
	struct lb_partition *l = calloc(1, sizeof(*l));

	(void)params;
	if (!l)
		return winhv_set_error(-ENOMEM, "out of memory");
	pthread_mutex_init(&l->lock, NULL);
	l->post_fd = -1;
	l->vps = calloc(p->max_vps, sizeof(*l->vps));
	l->routes = calloc(LB_MAX_EVENT_CONNECTIONS, sizeof(*l->routes));
	if (!l->vps || !l->routes) {
		lb_free(p, l);
		return winhv_set_error(-ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < p->max_vps; i++) {
		l->vps[i].irq_fd = -1;
		for (int s = 0; s < HV_SYNIC_SINT_COUNT; s++)
			l->vps[i].masked[s] = true; /* SINTs reset masked (TLFS) */
	}
	for (uint32_t i = 0; i < p->max_vps; i++) {
		l->vps[i].irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (l->vps[i].irq_fd < 0) {
			int err = errno;

			lb_free(p, l);
			return winhv_set_error(-err, "eventfd: %s", strerror(err));
		}
	}
	l->post_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->post_fd < 0) {
		int err = errno;

		lb_free(p, l);
		return winhv_set_error(-err, "eventfd: %s", strerror(err));
	}
	clock_gettime(CLOCK_MONOTONIC, &l->t0);
	p->priv = l;
	return 0;
}

static void lb_delete_partition(struct winhv_partition *p)
{
	if (p->priv)
		lb_free(p, lb(p));
	p->priv = NULL;
}

static int lb_map(struct winhv_partition *p, uint64_t gpa, void *hva, uint64_t bytes,
		  uint32_t flags)
{
	(void)p, (void)gpa, (void)hva, (void)bytes, (void)flags;
	return 0; /* the common GPA map is all loopback needs */
}

static int lb_unmap(struct winhv_partition *p, uint64_t gpa, uint64_t bytes)
{
	(void)p, (void)gpa, (void)bytes;
	return 0;
}

static int lb_create_vp(struct winhv_vp *vp)
{
	(void)vp;
	return 0;
}

static void lb_delete_vp(struct winhv_vp *vp)
{
	(void)vp;
}

static int lb_no_regs(struct winhv_vp *vp, const uint32_t *names, union hv_register_value *v,
		      uint32_t n)
{
	(void)vp, (void)names, (void)v, (void)n;
	return winhv_set_error(-EOPNOTSUPP, "loopback VPs have no registers");
}

static int lb_no_set_regs(struct winhv_vp *vp, const uint32_t *names,
			  const union hv_register_value *v, uint32_t n)
{
	(void)vp, (void)names, (void)v, (void)n;
	return winhv_set_error(-EOPNOTSUPP, "loopback VPs have no registers");
}

static int lb_run(struct winhv_vp *vp, struct hv_message *msg)
{
	(void)vp, (void)msg;
	return winhv_set_error(-EOPNOTSUPP, "loopback VPs do not execute");
}

static int lb_cancel(struct winhv_vp *vp)
{
	(void)vp;
	return 0;
}

static int lb_assert_interrupt(struct winhv_partition *p, uint32_t type, uint32_t vector,
			       uint32_t target_vp)
{
	(void)p, (void)type, (void)vector, (void)target_vp;
	return winhv_set_error(-EOPNOTSUPP, "loopback has no APIC");
}

/* ---- SynIC core (called with l->lock held) ---- */

static void raise_sint(struct lb_vp *v, uint32_t sint)
{
	uint64_t one = 1;

	if (v->masked[sint])
		return;
	v->pending_sints |= 1u << sint;
	v->stats.interrupts++;
	if (write(v->irq_fd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow in practice; the bit stays pending. */
	}
}

static struct hv_message *simp_slot(struct winhv_partition *p, struct lb_vp *v, uint32_t sint)
{
	uint8_t *page;

	if (!v->simp_gpa)
		return NULL;
	page = WinHvGpaToHva(p, v->simp_gpa, LB_PAGE);
	return page ? (struct hv_message *)(page + sint * HV_MESSAGE_SIZE) : NULL;
}

/* Write msg into an empty slot; message_type goes last so the guest sees a whole message. */
static void write_slot(struct hv_message *slot, const struct hv_message *msg, bool more)
{
	_Atomic uint32_t *type = (_Atomic uint32_t *)&slot->header.message_type;

	memcpy(slot->payload_bytes, msg->payload_bytes, msg->header.payload_size);
	slot->header.payload_size = msg->header.payload_size;
	slot->header.message_flags = more ? HV_MESSAGE_FLAG_PENDING : 0;
	slot->header.sender = msg->header.sender;
	atomic_store_explicit(type, msg->header.message_type, memory_order_release);
}

static bool slot_free(struct hv_message *slot)
{
	_Atomic uint32_t *type = (_Atomic uint32_t *)&slot->header.message_type;

	return atomic_load_explicit(type, memory_order_acquire) == HvMessageTypeNone;
}

/* Move queued messages into free slots (on EOM, SIMP enable, unmask). */
static void deliver_queued(struct winhv_partition *p, struct lb_vp *v)
{
	for (uint32_t s = 0; s < HV_SYNIC_SINT_COUNT; s++) {
		struct lb_msgq *q = &v->q[s];
		struct hv_message *slot;

		if (!q->count)
			continue;
		slot = simp_slot(p, v, s);
		if (!slot)
			continue;
		if (!slot_free(slot)) {
			/* Make sure the guest knows to EOM. */
			__atomic_fetch_or(&slot->header.message_flags, HV_MESSAGE_FLAG_PENDING,
					  __ATOMIC_SEQ_CST);
			continue;
		}
		write_slot(slot, &q->msgs[q->head], q->count > 1);
		q->head = (q->head + 1) % LB_SINT_QUEUE;
		q->count--;
		v->stats.messages_delivered++;
		raise_sint(v, s);
	}
}

static int lb_post_message(struct winhv_partition *p, uint32_t vp, uint32_t sint,
			   const struct hv_message *msg)
{
	struct lb_partition *l = lb(p);
	struct lb_vp *v = &l->vps[vp];
	struct lb_msgq *q = &v->q[sint];
	struct hv_message *slot;
	int ret = 0;

	pthread_mutex_lock(&l->lock);
	slot = simp_slot(p, v, sint);
	if (slot && !q->count && slot_free(slot)) {
		write_slot(slot, msg, false);
		v->stats.messages_delivered++;
		raise_sint(v, sint);
		goto out;
	}
	if (!q->msgs) {
		q->msgs = calloc(LB_SINT_QUEUE, sizeof(*q->msgs));
		if (!q->msgs) {
			ret = HV_STATUS_INSUFFICIENT_MEMORY;
			goto out;
		}
	}
	if (q->count == LB_SINT_QUEUE) {
		ret = HV_STATUS_INSUFFICIENT_BUFFERS;
		goto out;
	}
	q->msgs[(q->head + q->count) % LB_SINT_QUEUE] = *msg;
	q->count++;
	v->stats.messages_queued++;
	if (slot)
		__atomic_fetch_or(&slot->header.message_flags, HV_MESSAGE_FLAG_PENDING,
				  __ATOMIC_SEQ_CST);
out:
	pthread_mutex_unlock(&l->lock);
	return ret;
}

static int lb_signal_event(struct winhv_partition *p, uint32_t vp, uint32_t sint, uint32_t flag)
{
	struct lb_partition *l = lb(p);
	struct lb_vp *v = &l->vps[vp];

	pthread_mutex_lock(&l->lock);
	if (v->siefp_gpa) {
		uint8_t *page = WinHvGpaToHva(p, v->siefp_gpa, LB_PAGE);

		if (page) {
			uint8_t *byte = page + sint * 256 + flag / 8;

			__atomic_fetch_or(byte, (uint8_t)(1u << (flag % 8)), __ATOMIC_SEQ_CST);
		}
	}
	raise_sint(v, sint);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static int lb_register_event_fd(struct winhv_partition *p, uint32_t connection_id, int fd)
{
	struct lb_partition *l = lb(p);
	int ret = 0;
	uint32_t i;

	pthread_mutex_lock(&l->lock);
	for (i = 0; i < l->nr_routes; i++)
		if (l->routes[i].connection_id == connection_id)
			break;
	if (fd < 0) {
		if (i < l->nr_routes)
			l->routes[i] = l->routes[--l->nr_routes];
		else
			ret = HV_STATUS_INVALID_CONNECTION_ID;
	} else if (i < l->nr_routes) {
		ret = HV_STATUS_OBJECT_IN_USE;
	} else if (l->nr_routes == LB_MAX_EVENT_CONNECTIONS) {
		ret = HV_STATUS_INSUFFICIENT_MEMORY;
	} else {
		l->routes[l->nr_routes++] = (struct lb_event_route){connection_id, fd};
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

static int lb_register_msg_connection(struct winhv_partition *p, uint32_t connection_id,
				      bool enable)
{
	struct lb_partition *l = lb(p);
	int ret = 0;
	uint32_t i;

	pthread_mutex_lock(&l->lock);
	for (i = 0; i < l->nr_msg_conns; i++)
		if (l->msg_conns[i] == connection_id)
			break;
	if (!enable) {
		if (i < l->nr_msg_conns)
			l->msg_conns[i] = l->msg_conns[--l->nr_msg_conns];
	} else if (i == l->nr_msg_conns) {
		if (l->nr_msg_conns == LB_MAX_MSG_CONNECTIONS)
			ret = HV_STATUS_INSUFFICIENT_MEMORY;
		else
			l->msg_conns[l->nr_msg_conns++] = connection_id;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

static int lb_posted_message_fd(struct winhv_partition *p)
{
	return lb(p)->post_fd;
}

static int lb_read_posted_message(struct winhv_partition *p, struct winhv_posted_message *out)
{
	struct lb_partition *l = lb(p);
	int ret = 0;

	pthread_mutex_lock(&l->lock);
	if (!l->post_count) {
		uint64_t drain;

		/* Empty: clear the fd so the root's poll sleeps again. */
		if (read(l->post_fd, &drain, sizeof(drain)) < 0) {
			/* EAGAIN: already clear */
		}
		ret = -EAGAIN;
	} else {
		*out = l->post[l->post_head];
		l->post_head = (l->post_head + 1) % LB_POST_QUEUE;
		l->post_count--;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

static int lb_reference_time(struct winhv_partition *p, uint64_t *t)
{
	struct timespec now;
	const struct timespec *t0 = &lb(p)->t0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ns = (int64_t)(now.tv_sec - t0->tv_sec) * 1000000000 + (now.tv_nsec - t0->tv_nsec);

	*t = (uint64_t)ns / 100;
	return 0;
}

const struct winhv_backend_ops winhv_loopback_ops = {
    .name = "loopback",
    .get_caps = lb_get_caps,
    .create_partition = lb_create_partition,
    .delete_partition = lb_delete_partition,
    .map = lb_map,
    .unmap = lb_unmap,
    .create_vp = lb_create_vp,
    .delete_vp = lb_delete_vp,
    .get_regs = lb_no_regs,
    .set_regs = lb_no_set_regs,
    .run = lb_run,
    .cancel = lb_cancel,
    .assert_interrupt = lb_assert_interrupt,
    .post_message = lb_post_message,
    .signal_event = lb_signal_event,
    .register_event_fd = lb_register_event_fd,
    .register_msg_connection = lb_register_msg_connection,
    .posted_message_fd = lb_posted_message_fd,
    .read_posted_message = lb_read_posted_message,
    .reference_time = lb_reference_time,
};

/* ---- The guest side ---- */

static struct lb_partition *guest_lb(struct winhv_partition *p, uint32_t vp)
{
	if (!p || p->backend != WINHV_BACKEND_LOOPBACK || !p->priv || vp >= p->max_vps)
		return NULL;
	return p->priv;
}

int WinHvLoopbackGuestSetSynicPages(struct winhv_partition *p, uint32_t vp, uint64_t simp_gpa,
				    uint64_t siefp_gpa)
{
	struct lb_partition *l = guest_lb(p, vp);

	if (!l)
		return -EINVAL;
	if ((simp_gpa | siefp_gpa) & (LB_PAGE - 1))
		return HV_STATUS_INVALID_PARAMETER; /* a #GP on hardware */
	pthread_mutex_lock(&l->lock);
	l->vps[vp].simp_gpa = simp_gpa;
	l->vps[vp].siefp_gpa = siefp_gpa;
	deliver_queued(p, &l->vps[vp]);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

int WinHvLoopbackGuestSetSint(struct winhv_partition *p, uint32_t vp, uint32_t sint, uint8_t vector,
			      bool masked)
{
	struct lb_partition *l = guest_lb(p, vp);

	if (!l || sint >= HV_SYNIC_SINT_COUNT)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	l->vps[vp].vector[sint] = vector;
	l->vps[vp].masked[sint] = masked;
	if (!masked)
		deliver_queued(p, &l->vps[vp]);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

int WinHvLoopbackGuestEom(struct winhv_partition *p, uint32_t vp)
{
	struct lb_partition *l = guest_lb(p, vp);

	if (!l)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	deliver_queued(p, &l->vps[vp]);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

int WinHvLoopbackGuestPostMessage(struct winhv_partition *p, uint32_t vp,
				  const struct hv_input_post_message *in)
{
	struct lb_partition *l = guest_lb(p, vp);
	struct winhv_posted_message *m;
	uint64_t one = 1;
	uint32_t i;
	int ret = HV_STATUS_SUCCESS;

	if (!l)
		return -EINVAL;
	/* TLFS: the guest may not post hypervisor message types (high bit). */
	if (in->payload_size > HV_MESSAGE_PAYLOAD_BYTE_COUNT || in->message_type == 0 ||
	    (in->message_type & 0x80000000u))
		return HV_STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&l->lock);
	for (i = 0; i < l->nr_msg_conns; i++)
		if (l->msg_conns[i] == in->connection_id)
			break;
	if (i == l->nr_msg_conns) {
		ret = HV_STATUS_INVALID_CONNECTION_ID;
	} else if (l->post_count == LB_POST_QUEUE) {
		ret = HV_STATUS_INSUFFICIENT_BUFFERS;
	} else {
		m = &l->post[(l->post_head + l->post_count) % LB_POST_QUEUE];
		memset(m, 0, sizeof(*m));
		m->connection_id = in->connection_id;
		m->message_type = in->message_type;
		m->payload_size = in->payload_size;
		m->vp_index = vp;
		memcpy(m->payload, in->payload, in->payload_size);
		l->post_count++;
		if (write(l->post_fd, &one, sizeof(one)) < 0) {
			/* cannot overflow in practice */
		}
	}
	if (ret)
		l->vps[vp].stats.posts_refused++;
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int WinHvLoopbackGuestSignalEvent(struct winhv_partition *p, uint32_t vp, uint32_t connection_id,
				  uint16_t flag_number)
{
	struct lb_partition *l = guest_lb(p, vp);
	uint64_t one = 1;
	int ret = HV_STATUS_INVALID_CONNECTION_ID;

	(void)flag_number; /* Linux always passes 0; routes are per connection id */
	if (!l)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	for (uint32_t i = 0; i < l->nr_routes; i++) {
		if (l->routes[i].connection_id == connection_id) {
			if (write(l->routes[i].fd, &one, sizeof(one)) < 0) {
				/* a full eventfd counter still reads as signalled */
			}
			ret = HV_STATUS_SUCCESS;
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int WinHvLoopbackGuestWaitInterrupt(struct winhv_partition *p, uint32_t vp, int timeout_ms,
				    uint32_t *sints)
{
	struct lb_partition *l = guest_lb(p, vp);
	struct pollfd pfd;
	uint64_t drain;
	int ret = 0;

	if (!l)
		return -EINVAL;
	pfd = (struct pollfd){.fd = l->vps[vp].irq_fd, .events = POLLIN};
	if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	pthread_mutex_lock(&l->lock);
	if (read(l->vps[vp].irq_fd, &drain, sizeof(drain)) < 0) {
		/* EAGAIN: nothing raised */
	}
	if (sints)
		*sints = l->vps[vp].pending_sints;
	ret = l->vps[vp].pending_sints != 0;
	l->vps[vp].pending_sints = 0;
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int WinHvLoopbackGuestInterruptFd(struct winhv_partition *p, uint32_t vp)
{
	struct lb_partition *l = guest_lb(p, vp);

	return l ? l->vps[vp].irq_fd : -EINVAL;
}

int WinHvLoopbackGetStats(struct winhv_partition *p, uint32_t vp,
			  struct winhv_loopback_stats *stats)
{
	struct lb_partition *l = guest_lb(p, vp);

	if (!l)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	*stats = l->vps[vp].stats;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

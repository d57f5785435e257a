// SPDX-License-Identifier: MIT
/*
 * The kvm backend's root side of the SynIC (winhv_synic.h) over KVM's Hyper-V
 * emulation: KVM keeps the synthetic MSRs, the hypercall page, the SINT
 * vectors and in-kernel HvSignalEvent (KVM_HYPERV_EVENTFD); the guest's
 * HvPostMessage reaches us as a KVM_EXIT_HYPERV hypercall, and its SIMP,
 * SIEFP, SCONTROL and EOM writes as KVM_EXIT_HYPERV SynIC exits. We write host
 * messages into the SIMP slot (msg_pending/EOM handshake) and raise a SINT
 * through a KVM_IRQ_ROUTING_HV_SINT route.
 *
 * Everything here reads guest memory at guest-chosen addresses: each access
 * goes through WinHvGpaToHva bounds checks.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "backend_kvm.h"

#define HV_X64_MSR_EOM 0x40000084

static uint32_t sint_gsi(uint32_t vp, uint32_t sint)
{
	return KVM_GSI_SINT_BASE + vp * HV_SYNIC_SINT_COUNT + sint;
}

/* One KVM_IRQ_ROUTING_HV_SINT route per (VP, SINT), set once for all VPs. */
static int set_routes(struct winhv_partition *p)
{
	struct kvm_part *kp = kvm_part(p);
	uint32_t n = p->max_vps * HV_SYNIC_SINT_COUNT;
	struct kvm_irq_routing *r;
	int ret = 0;

	if (KVM_GSI_SINT_BASE + n > 4096)
		return winhv_set_error(-E2BIG, "too many VPs for KVM's SINT routes");
	r = calloc(1, sizeof(*r) + n * sizeof(r->entries[0]));
	if (!r)
		return winhv_set_error(-ENOMEM, "out of memory");
	r->nr = n;
	for (uint32_t vp = 0; vp < p->max_vps; vp++) {
		for (uint32_t s = 0; s < HV_SYNIC_SINT_COUNT; s++) {
			struct kvm_irq_routing_entry *e = &r->entries[vp * HV_SYNIC_SINT_COUNT + s];

			e->gsi = sint_gsi(vp, s);
			e->type = KVM_IRQ_ROUTING_HV_SINT;
			e->u.hv_sint.vcpu = vp;
			e->u.hv_sint.sint = s;
		}
	}
	if (ioctl(kp->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		ret = winhv_set_error(-errno, "KVM_SET_GSI_ROUTING: %s", strerror(errno));
	free(r);
	return ret;
}

int kvm_synic_init(struct winhv_partition *p)
{
	struct kvm_part *kp = kvm_part(p);

	pthread_mutex_init(&kp->lock, NULL);
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&kp->poll_cond, &ca);
	pthread_condattr_destroy(&ca);
	kp->synic = calloc(p->max_vps, sizeof(*kp->synic));
	kp->event_conn = calloc(KVM_MAX_EVENT_CONNECTIONS, sizeof(*kp->event_conn));
	if (!kp->synic || !kp->event_conn)
		return winhv_set_error(-ENOMEM, "out of memory");
	kp->post_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (kp->post_fd < 0)
		return winhv_set_error(-errno, "eventfd: %s", strerror(errno));
	return set_routes(p);
}

void kvm_synic_fini(struct winhv_partition *p)
{
	struct kvm_part *kp = kvm_part(p);

	if (!kp)
		return;
	if (kp->poller_running) {
		pthread_mutex_lock(&kp->lock);
		kp->poller_stop = true;
		pthread_cond_signal(&kp->poll_cond);
		pthread_mutex_unlock(&kp->lock);
		pthread_join(kp->poller, NULL);
		kp->poller_running = false;
	}
	if (kp->synic) {
		for (uint32_t vp = 0; vp < p->max_vps; vp++)
			for (int s = 0; s < HV_SYNIC_SINT_COUNT; s++)
				free(kp->synic[vp].q[s].msgs);
		free(kp->synic);
		kp->synic = NULL;
	}
	free(kp->event_conn);
	kp->event_conn = NULL;
	if (kp->post_fd >= 0)
		close(kp->post_fd);
	kp->post_fd = -1;
	pthread_mutex_destroy(&kp->lock);
	pthread_cond_destroy(&kp->poll_cond);
}

static void raise_sint(struct winhv_partition *p, uint32_t vp, uint32_t sint)
{
	struct kvm_irq_level irq = {.irq = sint_gsi(vp, sint), .level = 1};

	ioctl(kvm_part(p)->vm_fd, KVM_IRQ_LINE, &irq);
}

/* Move queued messages into the SIMP slot while it is free. Under lock. */
static void deliver_locked(struct winhv_partition *p, uint32_t vp, uint32_t sint)
{
	struct kvm_synic_vp *s = &kvm_part(p)->synic[vp];
	struct kvm_msgq *q = &s->q[sint];

	while (q->count) {
		struct hv_message *slot, *m = &q->msgs[q->head];

		if (!(s->control & 1) || !(s->simp & 1))
			return;
		slot = WinHvGpaToHva(p, (s->simp & ~0xfffULL) + sint * HV_MESSAGE_SIZE,
				     HV_MESSAGE_SIZE);
		if (!slot)
			return;
		if (__atomic_load_n(&slot->header.message_type, __ATOMIC_ACQUIRE) != 0) {
			__atomic_fetch_or(&slot->header.message_flags, HV_MESSAGE_FLAG_PENDING,
					  __ATOMIC_SEQ_CST);
			/* The guest may have emptied the slot before it saw the flag. */
			if (__atomic_load_n(&slot->header.message_type, __ATOMIC_ACQUIRE) != 0)
				return;
		}
		memcpy(slot->payload_bytes, m->payload_bytes, HV_MESSAGE_PAYLOAD_BYTE_COUNT);
		slot->header.payload_size = m->header.payload_size;
		slot->header.message_flags = 0;
		slot->header.sender = m->header.sender;
		__atomic_store_n(&slot->header.message_type, m->header.message_type,
				 __ATOMIC_RELEASE);
		q->head = (q->head + 1) % KVM_SINT_QUEUE;
		q->count--;
		kvm_part(p)->queued--;
		raise_sint(p, vp, sint);
	}
}

static void *poller(void *arg)
{
	struct winhv_partition *p = arg;
	struct kvm_part *kp = kvm_part(p);

	pthread_mutex_lock(&kp->lock);
	while (!kp->poller_stop) {
		struct timespec ts;

		if (kp->queued) {
			for (uint32_t vp = 0; vp < p->max_vps; vp++)
				for (uint32_t s = 0; s < HV_SYNIC_SINT_COUNT; s++)
					if (kp->synic[vp].q[s].count)
						deliver_locked(p, vp, s);
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += kp->queued ? 1000000 : 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&kp->poll_cond, &kp->lock, &ts);
	}
	pthread_mutex_unlock(&kp->lock);
	return NULL;
}

static void start_poller_locked(struct winhv_partition *p)
{
	struct kvm_part *kp = kvm_part(p);
	pthread_attr_t attr;
	sigset_t all, old;

	if (kp->poller_running) {
		pthread_cond_signal(&kp->poll_cond);
		return;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	if (pthread_create(&kp->poller, &attr, poller, p) == 0)
		kp->poller_running = true;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int kvm_post_message(struct winhv_partition *p, uint32_t vp, uint32_t sint,
		     const struct hv_message *msg)
{
	struct kvm_part *kp = kvm_part(p);
	struct kvm_msgq *q = &kp->synic[vp].q[sint];
	int ret = 0;

	pthread_mutex_lock(&kp->lock);
	if (!q->msgs)
		q->msgs = calloc(KVM_SINT_QUEUE, sizeof(*q->msgs));
	if (!q->msgs) {
		ret = -ENOMEM;
	} else if (q->count == KVM_SINT_QUEUE) {
		ret = HV_STATUS_INSUFFICIENT_BUFFERS;
	} else {
		q->msgs[(q->head + q->count) % KVM_SINT_QUEUE] = *msg;
		q->count++;
		kp->queued++;
		deliver_locked(p, vp, sint);
		if (kp->queued)
			start_poller_locked(p);
	}
	pthread_mutex_unlock(&kp->lock);
	return ret;
}

int kvm_signal_event(struct winhv_partition *p, uint32_t vp, uint32_t sint, uint32_t flag)
{
	struct kvm_part *kp = kvm_part(p);
	uint64_t siefp;
	uint8_t *page;

	pthread_mutex_lock(&kp->lock);
	siefp = kp->synic[vp].siefp;
	pthread_mutex_unlock(&kp->lock);
	if (!(siefp & 1))
		return HV_STATUS_INVALID_SYNIC_STATE;
	page = WinHvGpaToHva(p, (siefp & ~0xfffULL) + sint * 256, 256);
	if (!page)
		return HV_STATUS_INVALID_SYNIC_STATE;
	__atomic_fetch_or(&page[flag / 8], (uint8_t)(1u << (flag % 8)), __ATOMIC_SEQ_CST);
	raise_sint(p, vp, sint);
	return 0;
}

int kvm_register_event_fd(struct winhv_partition *p, uint32_t connection_id, int fd)
{
	struct kvm_part *kp = kvm_part(p);
	struct kvm_hyperv_eventfd ev = {.conn_id = connection_id, .fd = fd};
	uint32_t i;
	int ret = 0;

	if (connection_id & ~KVM_HYPERV_CONN_ID_MASK)
		return HV_STATUS_INVALID_CONNECTION_ID;
	pthread_mutex_lock(&kp->lock);
	for (i = 0; i < kp->nr_event_conn && kp->event_conn[i] != connection_id; i++)
		;
	if (fd >= 0 && i < kp->nr_event_conn) {
		ret = HV_STATUS_OBJECT_IN_USE;
	} else if (fd < 0 && i == kp->nr_event_conn) {
		ret = HV_STATUS_INVALID_CONNECTION_ID;
	} else if (fd >= 0 && kp->nr_event_conn == KVM_MAX_EVENT_CONNECTIONS) {
		ret = HV_STATUS_INSUFFICIENT_MEMORY;
	} else {
		if (fd < 0)
			ev.flags = KVM_HYPERV_EVENTFD_DEASSIGN;
		if (ioctl(kp->vm_fd, KVM_HYPERV_EVENTFD, &ev) < 0) {
			ret = winhv_set_error(-errno, "KVM_HYPERV_EVENTFD: %s", strerror(errno));
		} else if (fd >= 0) {
			kp->event_conn[kp->nr_event_conn++] = connection_id;
		} else {
			kp->event_conn[i] = kp->event_conn[--kp->nr_event_conn];
		}
	}
	pthread_mutex_unlock(&kp->lock);
	return ret;
}

int kvm_register_msg_connection(struct winhv_partition *p, uint32_t connection_id, bool enable)
{
	struct kvm_part *kp = kvm_part(p);
	uint32_t i;
	int ret = 0;

	pthread_mutex_lock(&kp->lock);
	for (i = 0; i < kp->nr_msg_conn && kp->msg_conn[i] != connection_id; i++)
		;
	if (enable && i == kp->nr_msg_conn) {
		if (kp->nr_msg_conn == KVM_MAX_MSG_CONNECTIONS)
			ret = HV_STATUS_INSUFFICIENT_MEMORY;
		else
			kp->msg_conn[kp->nr_msg_conn++] = connection_id;
	} else if (!enable && i < kp->nr_msg_conn) {
		kp->msg_conn[i] = kp->msg_conn[--kp->nr_msg_conn];
	}
	pthread_mutex_unlock(&kp->lock);
	return ret;
}

int kvm_posted_message_fd(struct winhv_partition *p)
{
	return kvm_part(p)->post_fd;
}

int kvm_read_posted_message(struct winhv_partition *p, struct winhv_posted_message *out)
{
	struct kvm_part *kp = kvm_part(p);
	uint64_t v;
	int ret = 0;

	pthread_mutex_lock(&kp->lock);
	if (!kp->post_count) {
		ret = -EAGAIN;
	} else {
		*out = kp->post[kp->post_head];
		kp->post_head = (kp->post_head + 1) % KVM_POST_QUEUE;
		kp->post_count--;
	}
	if (!kp->post_count && read(kp->post_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: already drained */
	}
	pthread_mutex_unlock(&kp->lock);
	return ret;
}

int kvm_reference_time(struct winhv_partition *p, uint64_t *time_100ns)
{
	struct kvm_clock_data c = {0};

	if (ioctl(kvm_part(p)->vm_fd, KVM_GET_CLOCK, &c) < 0)
		return winhv_set_error(-errno, "KVM_GET_CLOCK: %s", strerror(errno));
	*time_100ns = c.clock / 100;
	return 0;
}

/* The guest wrote SCONTROL, SIMP, SIEFP or EOM. */
void kvm_synic_exit(struct winhv_vp *vp, const struct kvm_hyperv_exit *e)
{
	struct winhv_partition *p = vp->partition;
	struct kvm_part *kp = kvm_part(p);
	struct kvm_synic_vp *s = &kp->synic[vp->index];

	if (e->type != KVM_EXIT_HYPERV_SYNIC)
		return;
	pthread_mutex_lock(&kp->lock);
	s->control = e->u.synic.control;
	s->simp = e->u.synic.msg_page;
	s->siefp = e->u.synic.evt_page;
	for (uint32_t sint = 0; sint < HV_SYNIC_SINT_COUNT; sint++)
		if (s->q[sint].count)
			deliver_locked(p, vp->index, sint);
	pthread_mutex_unlock(&kp->lock);
	(void)HV_X64_MSR_EOM;
}

static uint64_t post_message(struct winhv_vp *vp, uint64_t gpa)
{
	struct winhv_partition *p = vp->partition;
	struct kvm_part *kp = kvm_part(p);
	struct hv_input_post_message in;
	struct winhv_posted_message *out;
	const void *src;
	uint32_t conn, i;
	uint64_t one = 1;
	uint64_t status = HV_STATUS_SUCCESS;

	if ((gpa & 7) || (gpa & 0xfff) + sizeof(in) > 4096)
		return HV_STATUS_INVALID_ALIGNMENT;
	src = WinHvGpaToHva(p, gpa, sizeof(in));
	if (!src)
		return HV_STATUS_INVALID_PARAMETER;
	memcpy(&in, src, sizeof(in));
	conn = in.connection_id & KVM_HYPERV_CONN_ID_MASK;
	if (in.payload_size > HV_MESSAGE_PAYLOAD_BYTE_COUNT || in.message_type == 0 ||
	    (in.message_type & 0x80000000u))
		return HV_STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&kp->lock);
	for (i = 0; i < kp->nr_msg_conn && kp->msg_conn[i] != conn; i++)
		;
	if (i == kp->nr_msg_conn) {
		status = HV_STATUS_INVALID_CONNECTION_ID;
	} else if (kp->post_count == KVM_POST_QUEUE) {
		status = HV_STATUS_INSUFFICIENT_BUFFERS;
	} else {
		out = &kp->post[(kp->post_head + kp->post_count) % KVM_POST_QUEUE];
		memset(out, 0, sizeof(*out));
		out->connection_id = conn;
		out->message_type = in.message_type;
		out->payload_size = in.payload_size;
		out->vp_index = vp->index;
		memcpy(out->payload, in.payload, in.payload_size);
		if (kp->post_count++ == 0 && write(kp->post_fd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow here; nothing to do */
		}
	}
	pthread_mutex_unlock(&kp->lock);
	return status;
}

/* A hypercall KVM left to userspace: HvPostMessage, or an unrouted HvSignalEvent. */
uint64_t kvm_synic_hypercall(struct winhv_vp *vp, uint64_t input, uint64_t param0, uint64_t param1)
{
	uint16_t code = input & 0xffff;
	bool fast = input & (1u << 16);

	(void)param1;
	switch (code) {
	case HvCallPostMessage:
		if (fast)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		return post_message(vp, param0);
	case HvCallSignalEvent:
		return HV_STATUS_INVALID_CONNECTION_ID;
	default:
		return HV_STATUS_INVALID_HYPERCALL_CODE;
	}
}

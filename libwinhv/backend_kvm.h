/* SPDX-License-Identifier: MIT */
/*
 * Private to the kvm backend: the partition and VP state shared by
 * backend_kvm.c (VMs, memory, VPs, registers, exits) and backend_kvm_synic.c
 * (the root side of KVM's Hyper-V SynIC and the guest's hypercalls).
 */
#ifndef WINHV_BACKEND_KVM_H
#define WINHV_BACKEND_KVM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

#include "winhv_backend.h"

#define KVM_SINT_QUEUE 64 /* root-to-guest messages waiting per SINT */
#define KVM_POST_QUEUE 64 /* guest-to-root posted messages */
#define KVM_MAX_MSG_CONNECTIONS 16
#define KVM_MAX_EVENT_CONNECTIONS 4096
#define KVM_GSI_SINT_BASE 24 /* GSIs 0-23 stay reserved for the IOAPIC pins */

struct kvm_msgq {
	struct hv_message *msgs; /* allocated on first use */
	uint32_t head, count;
};

struct kvm_synic_vp {
	uint64_t control, simp, siefp; /* the guest's SCONTROL, SIMP and SIEFP */
	struct kvm_msgq q[HV_SYNIC_SINT_COUNT];
};

struct kvm_part {
	int kvm_fd; /* /dev/kvm, for the system ioctls */
	int vm_fd;
	bool hyperv;
	uint32_t slots_used; /* memory slot numbers in use, one bit each */
	uint64_t slot_gpa[32];
	struct linhv_cpuid_entry *policy; /* WinHvSetCpuidPolicy overrides */
	uint32_t policy_count;
	/* SynIC: everything below under lock. */
	pthread_mutex_t lock;
	struct kvm_synic_vp *synic; /* max_vps */
	uint32_t msg_conn[KVM_MAX_MSG_CONNECTIONS];
	uint32_t nr_msg_conn;
	uint32_t *event_conn; /* registered signal-event connection ids */
	uint32_t nr_event_conn;
	struct winhv_posted_message post[KVM_POST_QUEUE];
	uint32_t post_head, post_count;
	int post_fd; /* eventfd, readable while post_count > 0 */
	/*
	 * KVM does not tell userspace about EOM writes with the split irqchip
	 * (the SINT ack notifier needs a resample irqfd, which needs the full
	 * in-kernel irqchip), so while host messages wait for a busy SIMP slot a
	 * thread polls the slots every millisecond.
	 */
	pthread_t poller;
	pthread_cond_t poll_cond;
	bool poller_running, poller_stop;
	uint32_t queued; /* messages waiting in all SINT queues */
};

/* An exit that the root completes in several steps (string or rep I/O). */
struct kvm_pending_io {
	bool active; /* a message was handed out and awaits completion */
	bool is_mmio;
	uint32_t index, count; /* I/O elements done / total */
	uint8_t size;
	bool write;
};

struct kvm_vp {
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	volatile int running;
	struct kvm_pending_io io;
};

static inline struct kvm_part *kvm_part(struct winhv_partition *p)
{
	return p->priv;
}

/* backend_kvm_synic.c */
int kvm_synic_init(struct winhv_partition *p);
void kvm_synic_fini(struct winhv_partition *p);
void kvm_synic_exit(struct winhv_vp *vp, const struct kvm_hyperv_exit *e);
uint64_t kvm_synic_hypercall(struct winhv_vp *vp, uint64_t input, uint64_t param0, uint64_t param1);
int kvm_post_message(struct winhv_partition *p, uint32_t vp, uint32_t sint,
		     const struct hv_message *msg);
int kvm_signal_event(struct winhv_partition *p, uint32_t vp, uint32_t sint, uint32_t flag);
int kvm_register_event_fd(struct winhv_partition *p, uint32_t connection_id, int fd);
int kvm_register_msg_connection(struct winhv_partition *p, uint32_t connection_id, bool enable);
int kvm_posted_message_fd(struct winhv_partition *p);
int kvm_read_posted_message(struct winhv_partition *p, struct winhv_posted_message *out);
int kvm_reference_time(struct winhv_partition *p, uint64_t *time_100ns);

#endif /* WINHV_BACKEND_KVM_H */

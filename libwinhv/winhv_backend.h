/* SPDX-License-Identifier: MIT */
/*
 * Private to libwinhv: the table each backend fills in, and the partition
 * and VP objects the common code keeps around the backend's own state.
 */
#ifndef WINHV_BACKEND_H
#define WINHV_BACKEND_H

#include <pthread.h>
#include <linhv/winhv.h>
#include <linhv/winhv_synic.h>

#define WINHV_MAX_REGIONS 64

struct winhv_region {
	uint64_t gpa;
	uint64_t bytes;
	uint8_t *hva;
	uint32_t flags;
};

struct winhv_backend_ops {
	const char *name;
	int (*get_caps)(struct winhv_caps *caps);
	int (*create_partition)(struct winhv_partition *p, const struct winhv_partition_params *params);
	void (*delete_partition)(struct winhv_partition *p);
	int (*set_cpuid)(struct winhv_partition *p, const struct linhv_cpuid_entry *e, uint32_t n);
	int (*set_msr_forward)(struct winhv_partition *p, const uint32_t *msrs, uint32_t n);
	int (*set_io_ports)(struct winhv_partition *p, const struct linhv_io_port_range *r,
			    uint32_t n);
	int (*initialize)(struct winhv_partition *p);
	int (*map)(struct winhv_partition *p, uint64_t gpa, void *hva, uint64_t bytes, uint32_t flags);
	int (*unmap)(struct winhv_partition *p, uint64_t gpa, uint64_t bytes);
	/* NULL: the backend cannot assign devices */
	int (*device_domain)(struct winhv_partition *p, bool attach, uint32_t segment, uint32_t bus,
			     uint32_t devfn);
	/* NULL: no device interrupts. map false: unmap (irq: kind and index only). */
	int (*device_interrupt)(struct winhv_partition *p, bool map, uint32_t segment, uint32_t bus,
				uint32_t devfn, const struct winhv_device_interrupt *irq);
	int (*create_vp)(struct winhv_vp *vp);
	void (*delete_vp)(struct winhv_vp *vp);
	int (*get_regs)(struct winhv_vp *vp, const uint32_t *names, union hv_register_value *v,
			uint32_t n);
	int (*set_regs)(struct winhv_vp *vp, const uint32_t *names,
			const union hv_register_value *v, uint32_t n);
	int (*run)(struct winhv_vp *vp, struct hv_message *msg);
	int (*cancel)(struct winhv_vp *vp);
	int (*assert_interrupt)(struct winhv_partition *p, uint32_t type, uint32_t vector,
				uint32_t target_vp);
	/* Root-side SynIC (winhv_synic.h); optional, missing ones give -ENOSYS. */
	int (*post_message)(struct winhv_partition *p, uint32_t vp, uint32_t sint,
			    const struct hv_message *msg);
	int (*signal_event)(struct winhv_partition *p, uint32_t vp, uint32_t sint, uint32_t flag);
	int (*register_event_fd)(struct winhv_partition *p, uint32_t connection_id, int fd);
	int (*register_msg_connection)(struct winhv_partition *p, uint32_t connection_id,
				       bool enable);
	int (*posted_message_fd)(struct winhv_partition *p);
	int (*read_posted_message)(struct winhv_partition *p, struct winhv_posted_message *out);
	int (*reference_time)(struct winhv_partition *p, uint64_t *time_100ns);
};

struct winhv_partition {
	enum winhv_backend backend;
	const struct winhv_backend_ops *ops;
	uint32_t max_vps;
	pthread_rwlock_t regions_lock;
	struct winhv_region regions[WINHV_MAX_REGIONS];
	uint32_t nr_regions;
	struct winhv_vp **vps;
	void *priv; /* backend state */
};

struct winhv_vp {
	struct winhv_partition *partition;
	uint32_t index;
	void *priv; /* backend state */
};

extern const struct winhv_backend_ops winhv_linhv_ops;
extern const struct winhv_backend_ops winhv_loopback_ops;
extern const struct winhv_backend_ops winhv_kvm_ops;

/* Record a sentence for WinHvLastError(); returns err for chaining. */
int winhv_set_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* WINHV_BACKEND_H */

// SPDX-License-Identifier: MIT
/*
 * The linhv backend: every call becomes one hypercall-shaped ioctl on
 * /dev/linhv, a partition fd or a VP fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "winhv_backend.h"

struct linhv_part {
	int fd;
	int posted_efd; /* signalled by the module when the guest posts a message */
};

struct linhv_vp {
	int fd;
	struct linhv_vp_run *run;
	pthread_t thread; /* the thread inside WinHvRunVp, for cancel */
	volatile int running;
};

static int open_dev(void)
{
	struct stat st;
	int fd = open(LINHV_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT) {
		if (stat("/sys/module/linhv", &st) == 0)
			return winhv_set_error(-ENOENT, "linhv.ko is loaded but %s is missing; "
					       "check udev/devtmpfs", LINHV_DEVICE);
		return winhv_set_error(-ENOENT, "the linhv module is not loaded (%s does not exist); "
				       "load it with: insmod build/kmod/linhv.ko (or modprobe linhv)",
				       LINHV_DEVICE);
	}
	if (errno == EACCES || errno == EPERM)
		return winhv_set_error(-errno, "permission denied opening %s; run as root",
				       LINHV_DEVICE);
	return winhv_set_error(-errno, "cannot open %s: %s", LINHV_DEVICE, strerror(errno));
}

/* Issue one hypercall; returns 0, -errno or a positive HV_STATUS. */
static int hvcall(int fd, uint16_t code, uint32_t reps, const void *in, uint32_t in_size,
		  void *out, uint32_t out_size)
{
	struct linhv_hvcall hc = {
		.code = code,
		.rep_count = reps,
		.input = (uintptr_t)in,
		.in_size = in_size,
		.output = (uintptr_t)out,
		.out_size = out_size,
	};

	if (ioctl(fd, LINHV_HVCALL, &hc) < 0)
		return winhv_set_error(-errno, "hypercall %#x failed: %s", code, strerror(errno));
	if (hc.status != HV_STATUS_SUCCESS)
		return winhv_set_error(hc.status, "hypercall %#x: %s", code,
				       WinHvStatusString(hc.status));
	return 0;
}

static int linhv_get_caps(struct winhv_caps *caps)
{
	int fd = open_dev();
	long ver;

	if (fd < 0)
		return fd;
	ver = ioctl(fd, LINHV_GET_API_VERSION);
	if (ver != LINHV_API_VERSION) {
		close(fd);
		return winhv_set_error(-EPROTO, "linhv.ko speaks API version %ld, this libwinhv %d; "
				       "rebuild and reload the module", ver, LINHV_API_VERSION);
	}
	if (ioctl(fd, LINHV_GET_CAPABILITIES, &caps->hv) < 0) {
		int err = errno;

		close(fd);
		return winhv_set_error(-err, "LINHV_GET_CAPABILITIES: %s", strerror(err));
	}
	close(fd);
	return 0;
}

static int linhv_create_partition(struct winhv_partition *p,
				  const struct winhv_partition_params *params)
{
	struct linhv_in_create_partition in = {
		.max_vps = params->max_vps,
		.flags = (params->flags & WINHV_PARTITION_HYPERV) ? LINHV_PARTITION_FLAG_HYPERV : 0,
	};
	struct linhv_out_create_partition out = {0};
	struct linhv_part *lp;
	int fd, ret;

	fd = open_dev();
	if (fd < 0)
		return fd;
	ret = hvcall(fd, HvCallCreatePartition, 0, &in, sizeof(in), &out, sizeof(out));
	close(fd);
	if (ret)
		return ret;
	lp = calloc(1, sizeof(*lp));
	if (!lp) {
		close(out.partition_fd);
		return winhv_set_error(-ENOMEM, "out of memory");
	}
	lp->fd = out.partition_fd;
	lp->posted_efd = -1;
	p->priv = lp;
	return 0;
}

static void linhv_delete_partition(struct winhv_partition *p)
{
	struct linhv_part *lp = p->priv;

	if (lp) {
		close(lp->fd);
		if (lp->posted_efd >= 0)
			close(lp->posted_efd);
		free(lp);
	}
}

static int pfd(struct winhv_partition *p)
{
	return ((struct linhv_part *)p->priv)->fd;
}

static int linhv_set_cpuid(struct winhv_partition *p, const struct linhv_cpuid_entry *e, uint32_t n)
{
	return hvcall(pfd(p), LinhvCallSetCpuidPolicy, n, e, n * sizeof(*e), NULL, 0);
}

static int linhv_set_io_ports(struct winhv_partition *p, const struct linhv_io_port_range *r,
			      uint32_t n)
{
	return hvcall(pfd(p), LinhvCallSetIoPortPolicy, n, r, n * sizeof(*r), NULL, 0);
}

static int linhv_set_msr_forward(struct winhv_partition *p, const uint32_t *msrs, uint32_t n)
{
	return hvcall(pfd(p), LinhvCallSetMsrForward, n, msrs, n * sizeof(*msrs), NULL, 0);
}

static int linhv_initialize(struct winhv_partition *p)
{
	return hvcall(pfd(p), HvCallInitializePartition, 0, NULL, 0, NULL, 0);
}

static int linhv_map(struct winhv_partition *p, uint64_t gpa, void *hva, uint64_t bytes,
		     uint32_t flags)
{
	struct linhv_in_map_gpa_pages in = {
		.target_gpa_page = gpa >> 12,
		.map_flags = flags,
		.user_address = (uintptr_t)hva,
		.page_count = bytes >> 12,
	};

	return hvcall(pfd(p), HvCallMapGpaPages, 0, &in, sizeof(in), NULL, 0);
}

static int linhv_unmap(struct winhv_partition *p, uint64_t gpa, uint64_t bytes)
{
	struct linhv_in_unmap_gpa_pages in = {
		.target_gpa_page = gpa >> 12,
		.page_count = bytes >> 12,
	};

	return hvcall(pfd(p), HvCallUnmapGpaPages, 0, &in, sizeof(in), NULL, 0);
}

static int linhv_device_domain(struct winhv_partition *p, bool attach, uint32_t segment,
			       uint32_t bus, uint32_t devfn)
{
	struct linhv_in_device_domain in = {.segment = segment, .bus = bus, .devfn = devfn};

	return hvcall(pfd(p), attach ? HvCallAttachDeviceDomain : HvCallDetachDeviceDomain, 0, &in,
		      sizeof(in), NULL, 0);
}

static int linhv_device_interrupt(struct winhv_partition *p, bool map, uint32_t segment,
				  uint32_t bus, uint32_t devfn,
				  const struct winhv_device_interrupt *irq)
{
	struct linhv_in_device_interrupt in = {
	    .segment = segment,
	    .bus = bus,
	    .devfn = devfn,
	    .kind = irq->kind,
	    .index = irq->index,
	};

	if (irq->vectors) {
		in.flags = LINHV_DEVICE_INTERRUPT_VECTORS;
	} else if (map) {
		in.vector = irq->vector;
		in.vp_index = irq->vp_index;
		in.flags = irq->masked ? LINHV_DEVICE_INTERRUPT_MASKED : 0;
		in.address = irq->address;
		in.data = irq->data;
	}
	return hvcall(pfd(p), map ? HvCallMapDeviceInterrupt : HvCallUnmapDeviceInterrupt, 0, &in,
		      sizeof(in), NULL, 0);
}

/* Cancel interrupts the VP thread with SIGUSR1; it must not kill us. */
static void sigusr1_noop(int sig)
{
	(void)sig;
}

static void ensure_cancel_signal(void)
{
	struct sigaction old, sa;

	if (sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
	    !(old.sa_flags & SA_SIGINFO)) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = sigusr1_noop; /* no SA_RESTART: the run ioctl must return */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
}

static int linhv_create_vp(struct winhv_vp *vp)
{
	struct linhv_in_create_vp in = {.vp_index = vp->index};
	struct linhv_out_create_vp out = {0};
	struct linhv_vp *lv;
	int ret;

	ret = hvcall(pfd(vp->partition), HvCallCreateVp, 0, &in, sizeof(in), &out, sizeof(out));
	if (ret)
		return ret;
	lv = calloc(1, sizeof(*lv));
	if (!lv) {
		close(out.vp_fd);
		return winhv_set_error(-ENOMEM, "out of memory");
	}
	lv->fd = out.vp_fd;
	ensure_cancel_signal();
	lv->run = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, lv->fd, 0);
	if (lv->run == MAP_FAILED) {
		int err = errno;

		close(lv->fd);
		free(lv);
		return winhv_set_error(-err, "mmap of the VP run page: %s", strerror(err));
	}
	vp->priv = lv;
	return 0;
}

static void linhv_delete_vp(struct winhv_vp *vp)
{
	struct linhv_vp *lv = vp->priv;

	if (lv) {
		munmap(lv->run, 4096);
		close(lv->fd);
		free(lv);
	}
}

static int linhv_get_regs(struct winhv_vp *vp, const uint32_t *names, union hv_register_value *v,
			  uint32_t n)
{
	struct {
		struct linhv_in_vp_registers hdr;
		uint32_t names[LINHV_MAX_REGISTERS];
	} in;

	memset(&in.hdr, 0, sizeof(in.hdr));
	in.hdr.vp_index = vp->index;
	memcpy(in.names, names, n * sizeof(*names));
	return hvcall(pfd(vp->partition), HvCallGetVpRegisters, n, &in,
		      sizeof(in.hdr) + n * sizeof(*names), v, n * sizeof(*v));
}

static int linhv_set_regs(struct winhv_vp *vp, const uint32_t *names,
			  const union hv_register_value *v, uint32_t n)
{
	struct {
		struct linhv_in_vp_registers hdr;
		struct hv_register_assoc regs[LINHV_MAX_REGISTERS];
	} in;

	memset(&in, 0, sizeof(in.hdr) + n * sizeof(in.regs[0]));
	in.hdr.vp_index = vp->index;
	for (uint32_t i = 0; i < n; i++) {
		in.regs[i].name = names[i];
		in.regs[i].value = v[i];
	}
	return hvcall(pfd(vp->partition), HvCallSetVpRegisters, n, &in,
		      sizeof(in.hdr) + n * sizeof(in.regs[0]), NULL, 0);
}

static int linhv_run(struct winhv_vp *vp, struct hv_message *msg)
{
	struct linhv_vp *lv = vp->priv;

	lv->thread = pthread_self();
	__atomic_store_n(&lv->running, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		if (ioctl(lv->fd, LINHV_RUN_VP, 0) == 0)
			break;
		if (errno == EINTR || errno == EAGAIN) {
			/* A signal: report it as a cancel so the caller can react. */
			memset(msg, 0, sizeof(*msg));
			msg->header.message_type = HvMessageTypeLinhvCanceled;
			__atomic_store_n(&lv->running, 0, __ATOMIC_SEQ_CST);
			return 0;
		}
		__atomic_store_n(&lv->running, 0, __ATOMIC_SEQ_CST);
		return winhv_set_error(-errno, "LINHV_RUN_VP: %s", strerror(errno));
	}
	__atomic_store_n(&lv->running, 0, __ATOMIC_SEQ_CST);
	memcpy(msg, &lv->run->msg, sizeof(*msg));
	return 0;
}

static int linhv_cancel(struct winhv_vp *vp)
{
	struct linhv_vp *lv = vp->priv;

	/* The module checks immediate_exit before each entry. */
	__atomic_store_n(&lv->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&lv->running, __ATOMIC_SEQ_CST))
		pthread_kill(lv->thread, SIGUSR1);
	return 0;
}

static int linhv_assert_interrupt(struct winhv_partition *p, uint32_t type, uint32_t vector,
				  uint32_t target_vp)
{
	struct linhv_in_assert_virtual_interrupt in = {
		.interrupt_type = type,
		.dest_address = target_vp,
		.vector = vector,
	};

	return hvcall(pfd(p), HvCallAssertVirtualInterrupt, 0, &in, sizeof(in), NULL, 0);
}

/* ---- SynIC (winhv_synic.h) ---- */

/* WINHV_TRACE_SYNIC=1 logs every SynIC call of this backend to stderr. */
static int trace_synic(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("WINHV_TRACE_SYNIC") != NULL;
	return on;
}

static int linhv_post_message(struct winhv_partition *p, uint32_t vp, uint32_t sint,
			      const struct hv_message *msg)
{
	struct linhv_in_post_message_direct in;
	int ret;

	memset(&in, 0, sizeof(in));
	in.vp_index = vp;
	in.sint_index = sint;
	in.message = *msg;
	ret = hvcall(pfd(p), HvCallPostMessageDirect, 0, &in, sizeof(in), NULL, 0);
	if (trace_synic())
		fprintf(stderr, "synic: post vp %u sint %u type %#x size %u msgtype %u -> %d\n", vp,
			sint, msg->header.message_type, msg->header.payload_size,
			(uint32_t)msg->payload[0], ret);
	return ret;
}

static int linhv_signal_event(struct winhv_partition *p, uint32_t vp, uint32_t sint, uint32_t flag)
{
	struct linhv_in_signal_event_direct in = {
		.vp_index = vp,
		.sint_index = sint,
		.flag_number = flag,
	};
	struct linhv_out_signal_event_direct out;

	int ret;

	if (sint >= HV_SYNIC_SINT_COUNT || flag >= 2048)
		return HV_STATUS_INVALID_PARAMETER;
	ret = hvcall(pfd(p), HvCallSignalEventDirect, 0, &in, sizeof(in), &out, sizeof(out));
	if (trace_synic())
		fprintf(stderr, "synic: signal vp %u sint %u flag %u -> %d (new %u)\n", vp, sint, flag,
			ret, out.newly_signaled);
	return ret;
}

static int linhv_register_event_fd(struct winhv_partition *p, uint32_t conn, int fd)
{
	struct linhv_in_set_event_fd in = {.connection_id = conn, .fd = fd < 0 ? -1 : fd};
	int ret = hvcall(pfd(p), LinhvCallSetEventFd, 0, &in, sizeof(in), NULL, 0);

	if (trace_synic())
		fprintf(stderr, "synic: event fd conn %#x fd %d -> %d\n", conn, fd, ret);
	return ret;
}

static int linhv_register_msg_connection(struct winhv_partition *p, uint32_t conn, bool enable)
{
	struct linhv_in_set_message_connection in = {.connection_id = conn, .enable = enable};

	return hvcall(pfd(p), LinhvCallSetMessageConnection, 0, &in, sizeof(in), NULL, 0);
}

static int linhv_posted_message_fd(struct winhv_partition *p)
{
	struct linhv_part *lp = p->priv;
	struct linhv_in_set_posted_message_fd in = {0};
	int ret;

	if (lp->posted_efd >= 0)
		return lp->posted_efd;
	in.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (in.fd < 0)
		return winhv_set_error(-errno, "eventfd: %s", strerror(errno));
	ret = hvcall(lp->fd, LinhvCallSetPostedMessageFd, 0, &in, sizeof(in), NULL, 0);
	if (ret) {
		close(in.fd);
		return ret > 0 ? -EIO : ret;
	}
	lp->posted_efd = in.fd;
	return lp->posted_efd;
}

static int linhv_read_posted_message(struct winhv_partition *p, struct winhv_posted_message *out)
{
	struct linhv_part *lp = p->priv;
	struct linhv_out_posted_message m;
	struct linhv_hvcall hc = {
		.code = LinhvCallReadPostedMessage,
		.output = (uintptr_t)&m,
		.out_size = sizeof(m),
	};
	uint64_t drain;

	if (ioctl(lp->fd, LINHV_HVCALL, &hc) < 0)
		return winhv_set_error(-errno, "read posted message: %s", strerror(errno));
	if (hc.status == HV_STATUS_NO_DATA) {
		/* Empty: clear the eventfd so poll sleeps until the next post. */
		if (lp->posted_efd >= 0 && read(lp->posted_efd, &drain, sizeof(drain)) < 0)
			(void)0;
		/* A post may have raced with the drain: look once more. */
		if (ioctl(lp->fd, LINHV_HVCALL, &hc) < 0 || hc.status != HV_STATUS_SUCCESS)
			return -EAGAIN;
	} else if (hc.status != HV_STATUS_SUCCESS) {
		return winhv_set_error(hc.status, "read posted message: %s",
				       WinHvStatusString(hc.status));
	}
	if (trace_synic())
		fprintf(stderr, "synic: guest posted conn %u type %u size %u msgtype %u\n",
			m.connection_id, m.message_type, m.payload_size, *(uint32_t *)m.payload);
	out->connection_id = m.connection_id;
	out->message_type = m.message_type;
	out->payload_size = m.payload_size;
	out->vp_index = m.vp_index;
	memcpy(out->payload, m.payload, sizeof(out->payload));
	return 0;
}

static int linhv_reference_time(struct winhv_partition *p, uint64_t *t)
{
	return hvcall(pfd(p), LinhvCallGetReferenceTime, 0, NULL, 0, t, sizeof(*t));
}

const struct winhv_backend_ops winhv_linhv_ops = {
	.name = "linhv",
	.get_caps = linhv_get_caps,
	.create_partition = linhv_create_partition,
	.delete_partition = linhv_delete_partition,
	.set_cpuid = linhv_set_cpuid,
	.set_msr_forward = linhv_set_msr_forward,
	.set_io_ports = linhv_set_io_ports,
	.initialize = linhv_initialize,
	.map = linhv_map,
	.unmap = linhv_unmap,
	.device_domain = linhv_device_domain,
	.device_interrupt = linhv_device_interrupt,
	.create_vp = linhv_create_vp,
	.delete_vp = linhv_delete_vp,
	.get_regs = linhv_get_regs,
	.set_regs = linhv_set_regs,
	.run = linhv_run,
	.cancel = linhv_cancel,
	.assert_interrupt = linhv_assert_interrupt,
	.post_message = linhv_post_message,
	.signal_event = linhv_signal_event,
	.register_event_fd = linhv_register_event_fd,
	.register_msg_connection = linhv_register_msg_connection,
	.posted_message_fd = linhv_posted_message_fd,
	.read_posted_message = linhv_read_posted_message,
	.reference_time = linhv_reference_time,
};

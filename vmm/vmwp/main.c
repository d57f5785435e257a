// SPDX-License-Identifier: MIT
/*
 * vmwp: the per-VM worker. Checks its input, then runs one VM: VP threads
 * plus this thread's event loop (console, control socket, VMBus, signals,
 * VM events). Exit status: 0 poweroff, 3 guest crash, 4 reboot with
 * --no-reboot, 1 its own errors, 2 bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assign.h"
#include "console.h"
#include "control.h"
#include "disk.h"
#include "vm.h"
#include "netvsp.h"
#include "tap.h"
#include "vmbus_host.h"

#define MAX_KERNEL (256u << 20)
#define MAX_INITRD (2048u << 20)
#define EJECT_TIMEOUT_MS 15000 /* how long a shutdown waits for the guest to give devices back */

static const char *state_name(struct vm *vm)
{
	if (vm->shutting_down)
		return "shutting-down";
	return vm->paused ? "paused" : "running";
}

/* A shutdown or reboot through the shutdown IC; 0 or -1 with err. */
static int request_power(struct vm *vm, bool reboot, char *err, size_t errlen)
{
	if (vmbus_host_shutdown(vm->vmbus, reboot, err, errlen))
		return -1;
	if (!reboot)
		vm->shutting_down = true;
	else
		__atomic_store_n(&vm->plat.reboot_requested, true, __ATOMIC_SEQ_CST);
	return 0;
}

/* The guest gave its assigned devices back (or did not in time): go on. */
static void power_after_eject(void *ctx)
{
	struct vm *vm = ctx;
	char err[200];
	bool reboot = vm->power_after_eject == 2;

	if (vm->eject_timer) {
		evloop_del_timer(vm->eject_timer);
		vm->eject_timer = NULL;
	}
	if (!vm->power_after_eject)
		return;
	vm->power_after_eject = 0;
	if (request_power(vm, reboot, err, sizeof(err)))
		fprintf(stderr, "vmwp: %s after ejecting the assigned devices: %s\n",
			reboot ? "reboot" : "shutdown", err);
}

static void eject_timeout(struct evloop *loop, struct evloop_timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	fprintf(stderr,
		"vmwp: the guest did not give its assigned devices back within %d s: "
		"going on\n",
		EJECT_TIMEOUT_MS / 1000);
	power_after_eject(ctx);
}

static void control(void *ctx, const char *req, char *reply, size_t len)
{
	struct vm *vm = ctx;
	char err[200], host[128], v4[96],
	    v6[160]; /* status stays under 512 bytes (vmms reads it) */

	if (!strcmp(req, "status")) {
		vmbus_host_kvp_value(vm->vmbus, "FullyQualifiedDomainName", host, sizeof(host));
		vmbus_host_kvp_value(vm->vmbus, "NetworkAddressIPv4", v4, sizeof(v4));
		vmbus_host_kvp_value(vm->vmbus, "NetworkAddressIPv6", v6, sizeof(v6));
		/* boots before the guest-written fields: a hostname cannot fake it. */
		snprintf(reply, len,
			 "ok state=%s boots=%llu heartbeat=%s hostname=%s ipv4=%s ipv6=%s",
			 state_name(vm), (unsigned long long)vm->boots,
			 vmbus_host_heartbeat(vm->vmbus), host, v4, v6);
	} else if (!strcmp(req, "kvp")) {
		int n = snprintf(reply, len, "ok ");

		vmbus_host_kvp_dump(vm->vmbus, reply + n, len - (size_t)n);
	} else if (!strcmp(req, "ifaddrs")) {
		int n = snprintf(reply, len, "ok ");

		vmbus_host_ifaddrs(vm->vmbus, reply + n, len - (size_t)n);
	} else if (!strcmp(req, "stats")) {
		int n = snprintf(reply, len, "ok ");

		vmbus_host_io_stats(vm->vmbus, vm->ndisks, reply + n, len - (size_t)n);
	} else if (!strcmp(req, "shutdown") || !strcmp(req, "reboot")) {
		bool reboot = req[0] == 'r';
		unsigned n;

		if (vm->power_after_eject) {
			snprintf(reply, len, "ok %s already under way (ejecting assigned devices)",
				 vm->power_after_eject == 2 ? "reboot" : "shutdown");
			return;
		}
		/* Assigned devices first: the guest's drivers let go of them cleanly. */
		n = assign_eject_all(vm->assign, power_after_eject, vm);
		if (n) {
			vm->power_after_eject = reboot ? 2 : 1;
			vm->eject_timer =
			    evloop_add_timer(vm->loop, EJECT_TIMEOUT_MS, 0, eject_timeout, vm);
			snprintf(reply, len,
				 "ok %s requested: the guest gives its %u assigned device(s) back "
				 "first, then through the shutdown integration service",
				 reboot ? "reboot" : "shutdown", n);
			return;
		}
		if (request_power(vm, reboot, err, sizeof(err))) {
			snprintf(reply, len, "error: %s", err);
			return;
		}
		snprintf(reply, len, "ok %s requested through the shutdown integration service",
			 reboot ? "reboot" : "shutdown");
	} else if (!strcmp(req, "pause") || !strcmp(req, "resume")) {
		pthread_mutex_lock(&vm->pause_lock);
		vm->paused = req[0] == 'p';
		pthread_cond_broadcast(&vm->pause_cond);
		pthread_mutex_unlock(&vm->pause_lock);
		if (vm->paused)
			vcpu_kick_all(vm);
		snprintf(reply, len, "ok %s", vm->paused ? "paused" : "running");
	} else if (!strcmp(req, "quit")) {
		vm->exit_status = VMWP_EXIT_POWEROFF;
		fprintf(stderr, "vmwp: stopped by a quit request\n");
		evloop_stop(vm->loop);
		snprintf(reply, len, "ok quitting");
	} else {
		snprintf(reply, len,
			 "error: unknown request '%.40s' "
			 "(shutdown|reboot|pause|resume|status|kvp|ifaddrs|stats|quit)",
			 req);
	}
}

static void on_event(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	struct vm *vm = ctx;
	char err[512];
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	switch (__atomic_load_n(&vm->event, __ATOMIC_SEQ_CST)) {
	case VM_EV_POWEROFF:
		fprintf(stderr, "vmwp: guest powered off\n");
		vm->exit_status = VMWP_EXIT_POWEROFF;
		break;
	case VM_EV_RESET:
		if (vm->o->no_reboot) {
			fprintf(stderr, "vmwp: guest rebooted (%s); exiting (--no-reboot)\n",
				vm->event_msg);
			vm->exit_status = VMWP_EXIT_REBOOT;
			break;
		}
		fprintf(stderr, "vmwp: guest rebooted (%s); restarting it\n", vm->event_msg);
		vm_stop(vm);
		if (vm_start(vm, err, sizeof(err)) == 0)
			return;
		fprintf(stderr, "vmwp: restarting the guest failed: %s\n", err);
		vm->exit_status = VMWP_EXIT_ERROR;
		break;
	case VM_EV_CRASH:
		fprintf(stderr, "vmwp: %s\n", vm->event_msg);
		vm->exit_status = VMWP_EXIT_CRASH;
		break;
	case VM_EV_ERROR:
		fprintf(stderr, "vmwp: %s\n", vm->event_msg);
		vm->exit_status = VMWP_EXIT_ERROR;
		break;
	default:
		return;
	}
	evloop_stop(loop);
}

static void on_signal(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	struct vm *vm = ctx;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	fprintf(stderr, "vmwp: stopped by signal %u\n", si.ssi_signo);
	vm->exit_status = VMWP_EXIT_POWEROFF;
	evloop_stop(loop);
}

static void console_in(void *ctx, const uint8_t *buf, unsigned n)
{
	struct vm *vm = ctx;

	if (vm->plat_ready)
		platform_console_input(&vm->plat, buf, n);
}

/*
 * One TAP per --nic, for the life of vmwp (reboots keep them). The default
 * MAC is locally administered and stable per VM (its --uuid) and slot.
 */
static int nics_open(struct vm *vm, char *err, size_t errlen)
{
	const struct vmwp_options *o = vm->o;
	uint32_t h = 2166136261u;

	for (unsigned k = 0; k < sizeof(vm->id); k++) /* --uuid, else random for this run */
		h = (h ^ vm->id[k]) * 16777619u;
	for (unsigned i = 0; i < o->nnics; i++) {
		const struct vmwp_nic *nic = &o->nics[i];
		struct tap_params tp = {.name = nic->tap[0] ? nic->tap : NULL,
					.bridge = nic->bridge[0] ? nic->bridge : NULL,
					.loop = vm->loop,
					.gso_max_size = NETVSP_BACKEND_FRAME_MAX,
					/* a queue per vCPU for vRSS (netvsp's sub-channels) */
					.queues = nic->queues	? nic->queues
						  : o->cpus < 8 ? o->cpus
								: 8};
		uint8_t *mac = vm->macs[i];

		if (tap_create(&tp, &vm->taps[i], err, errlen))
			return -1;
		if (nic->has_mac) {
			memcpy(mac, nic->mac, 6);
		} else {
			mac[0] = 0x02; /* locally administered, unicast */
			mac[1] = 0x4c;
			mac[2] = (uint8_t)(h >> 24);
			mac[3] = (uint8_t)(h >> 16);
			mac[4] = (uint8_t)(h >> 8);
			mac[5] = (uint8_t)(h + i);
		}
		fprintf(stderr,
			"vmwp: nic %u: %s%s%s, mac %02x:%02x:%02x:%02x:%02x:%02x, %u queues\n", i,
			tap_name(vm->taps[i]), tp.bridge ? " on bridge " : "",
			tp.bridge ? tp.bridge : "", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
			tap_queues(vm->taps[i]));
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct vmwp_options o;
	static struct vm vm;
	char err[512];
	struct winhv_caps caps;
	sigset_t sigs;
	int sfd = -1, ret, status = VMWP_EXIT_ERROR;
	bool pidfile = false;

	ret = vmwp_parse_options(argc, argv, &o, err, sizeof(err));
	if (ret == 1) {
		fputs(vmwp_usage_text, stdout);
		return 0;
	}
	if (ret < 0) {
		fprintf(stderr, "vmwp: %s\n", err);
		return 2;
	}
	vm.o = &o;
	if (!o.uuid || vmwp_uuid_bytes(o.uuid, vm.id)) {
		/* No identity given: devices keep their GUIDs for this run only. */
		if (getrandom(vm.id, sizeof(vm.id), 0) != (ssize_t)sizeof(vm.id)) {
			fprintf(stderr, "vmwp: cannot make a VM id: %s\n", strerror(errno));
			return 1;
		}
		vm.id[6] = (uint8_t)((vm.id[6] & 0x0f) | 0x40);
		vm.id[8] = (uint8_t)((vm.id[8] & 0x3f) | 0x80);
	}
	vm.ram_fd = -1;
	vm.event_fd = -1;
	pthread_mutex_init(&vm.pause_lock, NULL);
	pthread_cond_init(&vm.pause_cond, NULL);
	vm.cmdline = (char *)(o.cmdline ? o.cmdline : "console=ttyS0");

	/* Input first: nothing is created for a bad kernel, initrd or size. */
	vm.kernel.fd = vm.initrd.fd = -1;
	if (image_open(&vm.kernel, o.kernel, "kernel", MAX_KERNEL, err, sizeof(err)) ||
	    bzimage_parse(vm.kernel.data, vm.kernel.len, &vm.bz, err + 0, sizeof(err))) {
		if (vm.kernel.fd >= 0) {
			char msg[600];

			snprintf(msg, sizeof(msg), "%s: %s", o.kernel, err);
			fprintf(stderr, "vmwp: %s\n", msg);
		} else {
			fprintf(stderr, "vmwp: %s\n", err);
		}
		return VMWP_EXIT_ERROR;
	}
	if (o.initrd && image_open(&vm.initrd, o.initrd, "initrd", MAX_INITRD, err, sizeof(err))) {
		fprintf(stderr, "vmwp: %s\n", err);
		return VMWP_EXIT_ERROR;
	}
	if (boot_check(o.memory, &vm.bz, vm.initrd.len, strlen(vm.cmdline), err, sizeof(err))) {
		fprintf(stderr, "vmwp: %s\n", err);
		return VMWP_EXIT_ERROR;
	}
	/* Opened (and locked) once: the disks outlive guest reboots. */
	for (unsigned i = 0; i < o.ndisks; i++) {
		struct disk_params dp = {.path = o.disks[i].path,
					 .readonly = o.disks[i].readonly,
					 .cache = o.disks[i].cache_none ? DISK_CACHE_NONE
									: DISK_CACHE_WRITEBACK,
					 .serial = o.disks[i].serial};

		if (disk_open(&dp, &vm.disks[i], err, sizeof(err))) {
			fprintf(stderr, "vmwp: %s\n", err);
			goto out;
		}
		vm.ndisks = i + 1;
	}
	if (WinHvGetCapabilities(o.backend, &caps)) {
		char first[300];

		if (o.backend != WINHV_BACKEND_AUTO) {
			fprintf(stderr, "vmwp: no usable backend (%s): %s\n",
				WinHvBackendName(o.backend), WinHvLastError());
			return VMWP_EXIT_ERROR;
		}
		/* Say what is missing for each backend auto tried. */
		WinHvGetCapabilities(WINHV_BACKEND_LINHV, &caps);
		snprintf(first, sizeof(first), "%s", WinHvLastError());
		WinHvGetCapabilities(WINHV_BACKEND_KVM, &caps);
		fprintf(stderr, "vmwp: no usable backend (auto): linhv: %s; kvm: %s\n", first,
			WinHvLastError());
		return VMWP_EXIT_ERROR;
	}

	if (o.nassigned && assign_create(o.assigned, o.nassigned, NULL, &vm.assign)) {
		fprintf(stderr, "vmwp: out of memory\n");
		return VMWP_EXIT_ERROR;
	}

	if (evloop_create(&vm.loop)) {
		fprintf(stderr, "vmwp: cannot create the event loop\n");
		return VMWP_EXIT_ERROR;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	vm.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sfd < 0 || vm.event_fd < 0) {
		fprintf(stderr, "vmwp: signalfd/eventfd: %s\n", strerror(errno));
		goto out;
	}
	evloop_add_fd(vm.loop, sfd, EPOLLIN, on_signal, &vm);
	evloop_add_fd(vm.loop, vm.event_fd, EPOLLIN, on_event, &vm);
	if (console_open(vm.loop, o.console, o.console_path, console_in, &vm, &vm.con, err,
			 sizeof(err))) {
		fprintf(stderr, "vmwp: %s\n", err);
		goto out;
	}
	if (nics_open(&vm, err, sizeof(err))) {
		fprintf(stderr, "vmwp: %s\n", err);
		goto out;
	}
	if (o.control &&
	    control_open(vm.loop, o.control, control, &vm, &vm.ctl, err, sizeof(err))) {
		fprintf(stderr, "vmwp: %s\n", err);
		goto out;
	}
	if (o.pidfile) {
		FILE *f = fopen(o.pidfile, "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
			fprintf(stderr, "vmwp: cannot write pidfile %s: %s\n", o.pidfile,
				strerror(errno));
			goto out;
		}
		pidfile = true;
	}
	if (vm_start(&vm, err, sizeof(err))) {
		fprintf(stderr, "vmwp: %s\n", err);
		goto out;
	}
	fprintf(stderr, "vmwp: %s%s%s started: %u VP(s), %llu MiB, backend %s\n",
		o.name ? "VM " : "VM", o.name ? o.name : "", "", o.cpus,
		(unsigned long long)(o.memory >> 20),
		WinHvBackendName(WinHvPartitionBackend(vm.part)));
	vm.exit_status = VMWP_EXIT_ERROR;
	evloop_run(vm.loop);
	status = vm.exit_status;
out:
	vm_stop(&vm);
	assign_destroy(vm.assign);
	for (unsigned i = 0; i < o.nnics; i++)
		tap_destroy(vm.taps[i]);
	control_close(vm.ctl);
	console_close(vm.con);
	if (pidfile)
		unlink(o.pidfile);
	if (vm.loop)
		evloop_destroy(vm.loop);
	if (sfd >= 0)
		close(sfd);
	if (vm.event_fd >= 0)
		close(vm.event_fd);
	for (unsigned i = 0; i < vm.ndisks; i++)
		disk_close(vm.disks[i]);
	image_close(&vm.kernel);
	image_close(&vm.initrd);
	return status;
}

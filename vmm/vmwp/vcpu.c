// SPDX-License-Identifier: MIT
/*
 * One thread per VP: run, complete the intercept through libwinhv's
 * emulation helpers and the platform, repeat. Identical on every backend.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <linhv/winhv_emulate.h>

#include "vm.h"

struct vcpu_arg {
	struct vm *vm;
	uint32_t index;
};

static struct vcpu_arg args[VMWP_MAX_CPUS];

static void wait_if_paused(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->paused && !__atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
}

/* Complete a forwarded MSR access: reads give 0, writes are dropped (as unknown MSRs on Hyper-V).
 */
static int complete_msr(struct winhv_vp *vp, const struct hv_message *msg)
{
	const struct hv_x64_msr_intercept_message *m = (const void *)msg->payload;
	uint32_t names[3] = {HvX64RegisterRip, HvX64RegisterRax, HvX64RegisterRdx};
	union hv_register_value v[3] = {{0}};
	bool read = m->header.intercept_access_type == HV_INTERCEPT_ACCESS_READ;

	v[0].reg64 = m->header.rip + (m->header.instruction_length & 0xf);
	return WinHvSetVpRegisters(vp, names, v, read ? 3 : 1);
}

static int complete_cpuid(struct winhv_vp *vp, const struct hv_message *msg)
{
	const struct hv_x64_cpuid_intercept_message *m = (const void *)msg->payload;
	uint32_t names[5] = {HvX64RegisterRip, HvX64RegisterRax, HvX64RegisterRcx, HvX64RegisterRdx,
			     HvX64RegisterRbx};
	union hv_register_value v[5];

	v[0].reg64 = m->header.rip + (m->header.instruction_length & 0xf);
	v[1].reg64 = m->default_result_rax;
	v[2].reg64 = m->default_result_rcx;
	v[3].reg64 = m->default_result_rdx;
	v[4].reg64 = m->default_result_rbx;
	return WinHvSetVpRegisters(vp, names, v, 5);
}

static void *vcpu_thread(void *p)
{
	struct vcpu_arg *a = p;
	struct vm *vm = a->vm;
	struct winhv_vp *vp = vm->vps[a->index];
	struct hv_message msg;
	bool warned_mmio = false;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	while (!__atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST)) {
		wait_if_paused(vm);
		/* After a stop event nothing the guest does matters: leave. */
		if (__atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST) ||
		    __atomic_load_n(&vm->event, __ATOMIC_SEQ_CST) != VM_EV_NONE)
			break;
		int ret = WinHvRunVp(vp, &msg);

		if (ret) {
			vm_raise(vm, VM_EV_ERROR, "running VP %u failed: %s", a->index,
				 WinHvLastError());
			break;
		}
		const struct hv_x64_intercept_message_header *h = (const void *)msg.payload;

		switch (msg.header.message_type) {
		case HvMessageTypeX64IoPortIntercept:
			if (WinHvEmulateIoPort(vp, &msg, platform_io, &vm->plat) < 0)
				vm_raise(vm, VM_EV_CRASH,
					 "guest crashed: bad port I/O on VP %u at RIP %#llx",
					 a->index, (unsigned long long)h->rip);
			break;
		case HvMessageTypeUnmappedGpa:
		case HvMessageTypeGpaIntercept:
			ret = WinHvEmulateMmio(vp, &msg, platform_mmio, &vm->plat);
			if (ret < 0 && !warned_mmio) {
				const struct hv_x64_memory_intercept_message *m =
				    (const void *)msg.payload;

				warned_mmio = true;
				vm_raise(
				    vm, VM_EV_CRASH,
				    "guest crashed: MMIO at %#llx that vmwp cannot emulate (VP %u, "
				    "RIP %#llx: %s)",
				    (unsigned long long)m->guest_physical_address, a->index,
				    (unsigned long long)h->rip, strerror(-ret));
			}
			break;
		case HvMessageTypeX64MsrIntercept:
			complete_msr(vp, &msg);
			break;
		case HvMessageTypeX64CpuidIntercept:
			complete_cpuid(vp, &msg);
			break;
		case HvMessageTypeX64Halt:
		case HvMessageTypeLinhvCanceled:
			break;
		case HvMessageTypeLinhvShutdown: {
			const struct hv_x64_unrecoverable_exception_message *m =
			    (const void *)msg.payload;

			/* The backend saw the guest ask for reset (2) or power-off. */
			vm_raise(vm, m->exit_code == 2 ? VM_EV_RESET : VM_EV_POWEROFF, "%s",
				 m->exit_code == 2 ? "reset by the backend" : "guest powered off");
			break;
		}
		case HvMessageTypeUnrecoverableException: {
			const struct hv_x64_unrecoverable_exception_message *m =
			    (const void *)msg.payload;

			if (!(m->exit_code & 0x10000) &&
			    platform_reset_intended(&vm->plat, platform_clock_ns())) {
				vm_raise(vm, VM_EV_RESET,
					 "triple fault after a reboot request (VP %u at RIP %#llx)",
					 a->index, (unsigned long long)h->rip);
				break;
			}
			vm_raise(vm, VM_EV_CRASH,
				 "guest crashed: %s on VP %u at RIP %#llx (exit code %#x)",
				 (m->exit_code & 0x10000)
				     ? "the guest reported a crash (Hyper-V "
				       "crash MSRs: kernel panic)"
				     : "triple fault / unrecoverable exception",
				 a->index, (unsigned long long)h->rip, m->exit_code);
			break;
		}
		default:
			vm_raise(vm, VM_EV_CRASH,
				 "guest crashed: unexpected intercept %#x on VP %u",
				 msg.header.message_type, a->index);
			break;
		}
	}
	return NULL;
}

int vcpu_start_all(struct vm *vm, char *err, size_t errlen)
{
	sigset_t all, old;

	/* VP threads take only SIGUSR1 (the cancel kick); signals go to the event loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (uint32_t i = 0; i < vm->o->cpus; i++) {
		args[i] = (struct vcpu_arg){.vm = vm, .index = i};
		int ret = pthread_create(&vm->threads[i], NULL, vcpu_thread, &args[i]);

		if (ret) {
			snprintf(err, errlen, "cannot create a VP thread: %s", strerror(ret));
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return -1;
		}
		vm->nr_threads = i + 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

void vcpu_kick_all(struct vm *vm)
{
	for (uint32_t i = 0; i < vm->o->cpus; i++)
		if (vm->vps[i])
			WinHvCancelRunVp(vm->vps[i]);
}

void vcpu_stop_all(struct vm *vm)
{
	__atomic_store_n(&vm->stopping, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	vcpu_kick_all(vm);
	for (uint32_t i = 0; i < vm->nr_threads; i++) {
		/* A kick can land just before the thread enters run: repeat until it leaves. */
		while (pthread_tryjoin_np(vm->threads[i], NULL) == EBUSY) {
			WinHvCancelRunVp(vm->vps[i]);
			struct timespec ts = {0, 1000000};

			nanosleep(&ts, NULL);
		}
	}
	vm->nr_threads = 0;
}

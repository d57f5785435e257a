/* SPDX-License-Identifier: MIT */
/* One running VM: partition, RAM, VP threads, platform devices and the event loop's view of them.
 */
#ifndef VMWP_VM_H
#define VMWP_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linhv/winhv.h>

#include "boot.h"
#include "bzimage.h"
#include "evloop.h"
#include "image.h"
#include "options.h"
#include "platform.h"

/* Why the VM stops or resets; the first event raised wins. */
enum vm_event { VM_EV_NONE, VM_EV_POWEROFF, VM_EV_RESET, VM_EV_CRASH, VM_EV_ERROR };

/* Exit statuses (docs/vmwp.md). */
#define VMWP_EXIT_POWEROFF 0
#define VMWP_EXIT_ERROR 1
#define VMWP_EXIT_CRASH 3
#define VMWP_EXIT_REBOOT 4

struct assign;
struct console;
struct control;
struct disk;
struct vmbus_host;
struct tap;

struct vm {
	const struct vmwp_options *o;
	uint8_t id[16]; /* --uuid, or random for this run */
	struct evloop *loop;
	int event_fd; /* VP threads -> event loop */
	int event;    /* enum vm_event, atomic */
	char event_msg[256];

	/* Mapped once, read again on every reboot. */
	struct image kernel, initrd;
	struct bzimage_info bz;
	char *cmdline;

	struct winhv_partition *part;
	struct winhv_vp *vps[VMWP_MAX_CPUS];
	pthread_t threads[VMWP_MAX_CPUS];
	uint32_t nr_threads;
	uint8_t *ram;
	uint64_t ram_size;
	int ram_fd;
	struct platform plat;
	bool plat_ready;
	int64_t rtc_offset; /* CMOS RTC minus host UTC, seconds; kept across reboots */

	struct disk *disks[VMWP_MAX_DISKS]; /* opened at start, kept across reboots */
	unsigned ndisks;

	struct console *con;
	struct control *ctl;
	struct vmbus_host *vmbus;
	struct tap *taps[VMWP_MAX_NICS]; /* one per --nic, kept across reboots */
	struct assign *assign;		 /* --assign-pci devices, or NULL; re-attached per boot */
	uint8_t macs[VMWP_MAX_NICS][6];

	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool paused;
	int stopping; /* atomic: VP threads leave */
	bool shutting_down;
	int power_after_eject; /* 0, or 1 shutdown / 2 reboot once the guest gave its devices back
				*/
	struct evloop_timer *eject_timer;
	int exit_status;
	uint64_t boots; /* guest starts in this worker: 1 after the first, +1 per in-place reboot */
};

/* Creates the partition, RAM, devices, loads the guest and starts the VPs. */
int vm_start(struct vm *vm, char *err, size_t errlen);
/* Stops the VPs and frees everything vm_start created. */
void vm_stop(struct vm *vm);

/* From any thread: record ev (first one wins) and wake the event loop. */
void vm_raise(struct vm *vm, enum vm_event ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* vcpu.c */
int vcpu_start_all(struct vm *vm, char *err, size_t errlen);
void vcpu_stop_all(struct vm *vm);
void vcpu_kick_all(struct vm *vm);

#endif /* VMWP_VM_H */

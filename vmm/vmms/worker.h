/* worker.h: starting, controlling and supervising one vmwp per running
 * domain, and re-adopting workers that outlived a vmms restart.
 *
 * Per-domain files in the run dir (see docs/vmms.md):
 *   NAME.pid      written by vmwp (--pidfile)
 *   NAME.ctl      vmwp's control socket (--control)
 *   NAME.console  vmwp's serial console socket (--console unix:)
 *   NAME.id       the libvirt domain id vmms gave this run
 *   NAME.log      the worker's stdout/stderr plus vmms' notes about it */
#ifndef VMMS_WORKER_H
#define VMMS_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "domain.h"
#include "err.h"

/* vmwp exit codes (the worker contract). */
#define VMWP_EXIT_POWEROFF 0
#define VMWP_EXIT_ERROR 1
#define VMWP_EXIT_CRASH 3
#define VMWP_EXIT_REBOOT 4

/* Path of a per-domain run file: SUFFIX is "pid", "ctl", "console"... */
void worker_path(const struct domain *d, const char *suffix, char *out, size_t n);

/* Finds vmwp: EXPLICIT, else next to the vmms executable, else in PATH. */
void worker_resolve(struct vmms *v, const char *explicit_path);

struct job;

/* Job steps (job.h): start the worker and end J once it answers on its
 * control socket, or fails (the domain stays shut off; a file the guest
 * needs is missing, or the worker exited early: its last stderr line is in
 * the error). */
void worker_start(struct job *j);
/* Starts D as an internal job (autostart, on_crash/on_poweroff restart). */
void worker_start_internal(struct domain *d);

/* Sends one control request and waits (up to 5 s) for the reply line:
 * only for quick queries and start-up re-adoption. Reads it into REPLY. Returns 0
 * for "ok...", -1 with ERR set for "error: ..." or an unreachable worker. */
int worker_control(struct domain *d, const char *req, char *reply, size_t n, struct vmms_err *err);

/* Hard stop: asks the worker to quit, then signals it (flag GRACEFUL:
 * never SIGKILL); J ends when it is gone, or fails if it does not go. */
void worker_destroy(struct job *j);

/* Re-adopts workers still running from a previous vmms, then starts the
 * autostart domains that are not running. */
void worker_adopt_all(struct vmms *v);
void worker_autostart_all(struct vmms *v);

/* Periodic check for workers without a pidfd (kernels before 5.3). */
void worker_tick(struct vmms *v);

#endif

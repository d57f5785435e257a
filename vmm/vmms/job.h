/* job.h: domain jobs. Start, shutdown, destroy, reboot, suspend and resume
 * run on the event loop and reply when they end, so other clients are served
 * meanwhile. One job runs per domain at a time; a second mutating call waits
 * behind it (FIFO) and fails after vmms->job_wait_ms with libvirt's "cannot
 * acquire state change lock" error, as libvirt's domain job lock does. */
#ifndef VMMS_JOB_H
#define VMMS_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "rpc.h"

struct client;
struct domain;
struct dom_def;
struct ctl_req;
struct evloop_timer;

enum job_kind { JOB_START, JOB_DESTROY, JOB_SHUTDOWN, JOB_REBOOT, JOB_SUSPEND, JOB_RESUME };

struct job {
	struct domain *d;
	enum job_kind kind;
	unsigned flags;		   /* the call's flags (START_PAUSED, DESTROY_GRACEFUL) */
	const char *api;	   /* the public API, named in lock errors */
	struct client *c;	   /* who waits for the reply; NULL: internal or gone */
	struct vmms_header h;	   /* the call being answered */
	bool reply_dom;		   /* the reply carries the domain */
	bool transient;		   /* createXML: the domain goes if the start fails */
	struct vmms_err err;	   /* why it failed */
	struct job *next;	   /* the domain's wait queue */
	struct evloop_timer *wait; /* while queued: the lock timeout */

	/* State of the running operation (worker.c, job.c). */
	struct ctl_req *ctl;
	struct evloop_timer *timer;
	pid_t pid; /* start: the worker coming up */
	int pidfd; /* start: readable if it dies during start-up */
	int step;  /* destroy: quit, SIGTERM, SIGKILL */
	int64_t deadline_ms;
	off_t log_off;	     /* start: where this run's log lines begin */
	struct dom_def *def; /* start: the definition being started */
};

/* A job for D; C/H (may be NULL) get the reply. */
struct job *job_new(struct domain *d, enum job_kind kind, unsigned flags, const char *api,
		    struct client *c, const struct vmms_header *h);
/* Runs J now if D is idle, else queues it. */
void job_submit(struct job *j);
/* The operation ended (RC < 0: J->err says why): reply, free, run the next. */
void job_done(struct job *j, int rc);

/* -1 with ERR set if D has a job: calls that do not queue (undefine). */
int job_busy(const struct domain *d, struct vmms_err *err);

/* D's worker exited: a destroy job waiting for it ends (true; the domain
 * may be gone then). */
bool job_worker_exited(struct domain *d);
/* D is being removed: its queued jobs fail. */
void job_domain_gone(struct domain *d);
/* C disconnected: its jobs go on without a reply. */
void job_client_gone(struct client *c);

#define JOB_WAIT_MS_DEFAULT 30000 /* libvirt's state change lock wait */

#endif

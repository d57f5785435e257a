/* domain.h: the in-memory table of defined domains and their runtime state. */
#ifndef VMMS_DOMAIN_H
#define VMMS_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <libvirt/libvirt.h> /* constants only: virDomainState, reasons, flags */

#include "domxml.h"
#include "vmms.h"

struct console;
struct job;
struct evloop_timer;

struct domain {
	struct vmms *v; /* the daemon it belongs to */
	struct domain *next;
	struct dom_def *def;  /* persistent definition */
	struct dom_def *live; /* what the running worker was started with */
	int state, reason;    /* virDomainState and its reason */
	int id;		      /* > 0 while a worker runs, -1 otherwise */
	bool autostart;
	bool transient; /* from createXML: nothing stored, gone once it stops */

	/* The worker, while one runs. */
	pid_t pid;
	struct watch pidfd; /* readable when the worker exits */
	bool own_child;	    /* we forked it (else re-adopted: no exit status) */
	bool destroying;    /* we asked it to stop: exit means "destroyed" */
	bool shutting_down; /* guest shutdown requested */
	int64_t started_ms;
	/* In-place guest reboots: the worker's boots= count, polled (worker_tick). */
	struct ctl_req *boots_poll; /* the status request in flight */
	int64_t boots_poll_ms;
	unsigned long long boots;
	bool reboot_expected; /* we asked for it: its reboot event is out already */
	int restarts;	      /* automatic restarts in the current burst */
	int64_t burst_ms;     /* when that burst began */

	struct console *console; /* the open console stream, if any */

	struct job *job;	       /* the running job (job.h) */
	struct job *job_queue;	       /* jobs waiting for it */
	struct evloop_timer *job_kick; /* starts the next queued job */
};

struct domain *domain_by_name(const struct vmms *v, const char *name);
struct domain *domain_by_uuid(const struct vmms *v, const unsigned char uuid[16]);
struct domain *domain_by_id(const struct vmms *v, int id);

/* Adds a domain for DEF (taking ownership) to V, shut off. */
struct domain *domain_add(struct vmms *v, struct dom_def *def);
void domain_remove(struct domain *d);

bool domain_active(const struct domain *d);
/* The definition to show: live while running, else persistent. */
const struct dom_def *domain_current_def(const struct domain *d);

/* Records a new state and sends its lifecycle event (events.h). */
void domain_set_state(struct domain *d, int state, int reason);

/* virConnectListAllDomainsFlags filter. */
bool domain_matches_flags(const struct domain *d, unsigned flags);

#endif

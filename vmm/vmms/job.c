/* job.c: see job.h. */
#include "job.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "dispatch.h"
#include "domain.h"
#include "events.h"
#include "evloop.h"
#include "log.h"
#include "server.h"
#include "worker.h"

#define CONTROL_TIMEOUT_MS 5000

struct job *job_new(struct domain *d, enum job_kind kind, unsigned flags, const char *api,
		    struct client *c, const struct vmms_header *h)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->d = d;
	j->kind = kind;
	j->flags = flags;
	j->api = api;
	j->c = c;
	if (h)
		j->h = *h;
	j->pidfd = -1;
	return j;
}

static void job_free(struct job *j)
{
	ctl_cancel(j->ctl);
	if (j->timer)
		evloop_del_timer(j->timer);
	if (j->wait)
		evloop_del_timer(j->wait);
	if (j->pidfd >= 0) {
		evloop_del_fd(j->d->v->loop, j->pidfd);
		close(j->pidfd);
	}
	dom_def_free(j->def);
	free(j);
}

static void reply(struct job *j, int rc)
{
	if (!j->c) {
		if (rc < 0)
			log_err("domain %s: %s failed: %s", j->d->def->name, j->api, j->err.msg);
		return;
	}
	if (rc < 0) {
		if (!j->err.code)
			vmms_err_set(&j->err, VIR_ERR_INTERNAL_ERROR, "%s failed", j->api);
		client_error(j->c, &j->h, &j->err);
	} else if (j->reply_dom) {
		dispatch_reply_dom(j->c, &j->h, j->d);
	} else {
		client_reply(j->c, &j->h, NULL, NULL);
	}
}

static void fail(struct job *j, int code, const char *msg)
{
	vmms_err_set(&j->err, code, "%s", msg);
	job_done(j, -1);
}

/* ---- worker control requests: shutdown, reboot, pause, resume ---- */

static void control_done(void *opaque, int rc, const char *answer, int err)
{
	struct job *j = opaque;
	struct domain *d = j->d;
	j->ctl = NULL;
	if (rc < 0) {
		vmms_err_set(&j->err, VIR_ERR_OPERATION_FAILED,
			     "cannot reach the worker of domain '%s': %s", d->def->name,
			     strerror(err));
		job_done(j, -1);
		return;
	}
	if (strncmp(answer, "ok", 2)) {
		const char *why = !strncmp(answer, "error:", 6) ? answer + 6 : answer;
		while (*why == ' ')
			why++;
		vmms_err_set(&j->err, VIR_ERR_OPERATION_FAILED,
			     "the worker of domain '%s' refused the request: %s", d->def->name,
			     why);
		job_done(j, -1);
		return;
	}
	switch (j->kind) {
	case JOB_SHUTDOWN:
		d->shutting_down = true;
		log_info("domain %s: guest shutdown requested", d->def->name);
		break;
	case JOB_REBOOT:
		log_info("domain %s: guest reboot requested", d->def->name);
		/* The event goes out now, when the request is accepted; the boots=
		 * poll (worker.c) then sees this reboot and does not announce it
		 * again. A reboot the guest makes by itself shows only there. */
		events_reboot(d);
		d->reboot_expected = true;
		break;
	case JOB_SUSPEND:
		domain_set_state(d, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER);
		break;
	case JOB_RESUME:
		domain_set_state(d, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_UNPAUSED);
		break;
	default:
		break;
	}
	job_done(j, 0);
}

static void control(struct job *j, const char *req)
{
	char path[4096];
	worker_path(j->d, "ctl", path, sizeof(path));
	j->ctl = ctl_request(j->d->v->loop, path, req, CONTROL_TIMEOUT_MS, control_done, j);
	if (!j->ctl) {
		vmms_err_set(&j->err, VIR_ERR_OPERATION_FAILED,
			     "cannot reach the worker of domain '%s' (%s): %s", j->d->def->name,
			     path, strerror(errno));
		job_done(j, -1);
	}
}

/* ---- running, queueing, ending ---- */

static void run(struct job *j)
{
	struct domain *d = j->d;
	d->job = j;
	switch (j->kind) {
	case JOB_START:
		if (domain_active(d)) {
			vmms_err_set(&j->err, VIR_ERR_OPERATION_INVALID,
				     "domain '%s' is already running", d->def->name);
			job_done(j, -1);
			return;
		}
		worker_start(j);
		return;
	case JOB_DESTROY:
		if (!domain_active(d) && d->state == VIR_DOMAIN_CRASHED) {
			/* on_crash=preserve left it crashed: destroy clears that. */
			domain_set_state(d, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED);
			job_done(j, 0);
			return;
		}
		if (!domain_active(d)) {
			fail(j, VIR_ERR_OPERATION_INVALID, "domain is not running");
			return;
		}
		worker_destroy(j);
		return;
	default:
		break;
	}
	if (!domain_active(d)) {
		fail(j, VIR_ERR_OPERATION_INVALID, "domain is not running");
		return;
	}
	switch (j->kind) {
	case JOB_SHUTDOWN:
		control(j, "shutdown");
		break;
	case JOB_REBOOT:
		control(j, "reboot");
		break;
	case JOB_SUSPEND:
		if (d->state == VIR_DOMAIN_PAUSED)
			job_done(j, 0);
		else
			control(j, "pause");
		break;
	case JOB_RESUME:
		if (d->state != VIR_DOMAIN_PAUSED)
			fail(j, VIR_ERR_OPERATION_INVALID, "domain is not paused");
		else
			control(j, "resume");
		break;
	default:
		break;
	}
}

static void unqueue(struct job *j)
{
	for (struct job **pp = &j->d->job_queue; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	j->next = NULL;
}

static void wait_timeout(struct evloop *loop, struct evloop_timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	struct job *j = ctx;
	struct domain *d = j->d;
	unqueue(j);
	evloop_del_timer(j->wait);
	j->wait = NULL;
	vmms_err_set(&j->err, VIR_ERR_OPERATION_TIMEOUT,
		     "cannot acquire state change lock (held by api=%s)",
		     d->job ? d->job->api : "?");
	log_info("domain %s: %s gave up waiting for %s", d->def->name, j->api,
		 d->job ? d->job->api : "?");
	reply(j, -1);
	job_free(j);
}

/* The next queued job starts from the loop, not inside the caller that
 * ended the previous one (which may still be using the domain). */
static void kick(struct evloop *loop, struct evloop_timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	struct domain *d = ctx;
	evloop_del_timer(d->job_kick);
	d->job_kick = NULL;
	if (d->job || !d->job_queue)
		return;
	struct job *j = d->job_queue;
	unqueue(j);
	evloop_del_timer(j->wait);
	j->wait = NULL;
	run(j);
}

void job_submit(struct job *j)
{
	struct domain *d = j->d;
	if (!d->job && !d->job_queue) {
		run(j);
		return;
	}
	struct job **pp = &d->job_queue;
	while (*pp)
		pp = &(*pp)->next;
	*pp = j;
	j->wait = evloop_add_timer(d->v->loop, (uint64_t)d->v->job_wait_ms, 0, wait_timeout, j);
	log_debug("domain %s: %s waits for %s", d->def->name, j->api,
		  d->job ? d->job->api : "the queue");
}

void job_done(struct job *j, int rc)
{
	struct domain *d = j->d;
	if (d->job == j)
		d->job = NULL;
	if (j->kind == JOB_START && j->transient && rc == 0)
		d->transient = true;
	reply(j, rc);
	bool remove = (rc < 0 && j->transient) ||
		      (d->transient && !domain_active(d) && d->state != VIR_DOMAIN_CRASHED);
	job_free(j);
	if (remove) {
		log_info("domain %s: transient domain stopped: removed", d->def->name);
		domain_remove(d);
		return;
	}
	if (d->job_queue && !d->job_kick)
		d->job_kick = evloop_add_timer(d->v->loop, 1, 0, kick, d);
}

int job_busy(const struct domain *d, struct vmms_err *err)
{
	if (!d->job && !d->job_queue)
		return 0;
	return vmms_err_set(err, VIR_ERR_OPERATION_TIMEOUT,
			    "cannot acquire state change lock (held by api=%s)",
			    d->job ? d->job->api : d->job_queue->api);
}

bool job_worker_exited(struct domain *d)
{
	if (!d->job || d->job->kind != JOB_DESTROY)
		return false;
	job_done(d->job, 0);
	return true;
}

void job_domain_gone(struct domain *d)
{
	if (d->job_kick) {
		evloop_del_timer(d->job_kick);
		d->job_kick = NULL;
	}
	while (d->job_queue) {
		struct job *j = d->job_queue;
		unqueue(j);
		vmms_err_set(&j->err, VIR_ERR_NO_DOMAIN, "domain '%s' is gone", d->def->name);
		reply(j, -1);
		job_free(j);
	}
	if (d->job) { /* daemon exit: the operation is abandoned */
		struct job *j = d->job;
		d->job = NULL;
		job_free(j);
	}
}

void job_client_gone(struct client *c)
{
	for (struct domain *d = c->v->domains; d; d = d->next) {
		if (d->job && d->job->c == c)
			d->job->c = NULL;
		for (struct job *j = d->job_queue; j; j = j->next)
			if (j->c == c)
				j->c = NULL;
	}
}

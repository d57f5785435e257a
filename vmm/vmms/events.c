/* events.c: see events.h. */
#include "events.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "domain.h"
#include "log.h"
#include "server.h"

/* A client holds at most this many callbacks: "virsh event --all" takes
 * one per event id, virt-manager a handful. */
#define EVENT_CBS_MAX 1024

static int add_cb(struct client *c, int id, int event_id, const unsigned char *uuid,
		  struct vmms_err *err)
{
	if (event_id < 0 || event_id >= EVENT_ID_MAX)
		return vmms_err_set(err, VIR_ERR_INVALID_ARG, "unsupported event ID %d", event_id);
	if (events_count(c) >= EVENT_CBS_MAX)
		return vmms_err_set(err, VIR_ERR_OPERATION_FAILED,
				    "too many event callbacks on this connection (%d)",
				    EVENT_CBS_MAX);
	struct event_cb *cb = calloc(1, sizeof(*cb));
	if (!cb)
		return vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	cb->id = id;
	cb->event_id = event_id;
	if (uuid) {
		cb->one_dom = true;
		memcpy(cb->uuid, uuid, 16);
	}
	cb->next = c->event_cbs;
	c->event_cbs = cb;
	log_debug("client %u: event callback %d for event %d%s", c->id, id, event_id,
		  uuid ? " (one domain)" : "");
	return 0;
}

int events_register_cb(struct client *c, int event_id, const unsigned char *uuid,
		       struct vmms_err *err)
{
	int id = c->next_cb_id;
	if (add_cb(c, id, event_id, uuid, err) < 0)
		return -1;
	c->next_cb_id = id == INT_MAX ? 0 : id + 1;
	return id;
}

/* Unlinks the old-style registration for event id KEY, or the callback
 * with id KEY; 0 if there was one. */
static int remove_cb(struct client *c, bool old_style, int key)
{
	for (struct event_cb **pp = &c->event_cbs; *pp; pp = &(*pp)->next) {
		struct event_cb *cb = *pp;
		bool hit = old_style ? cb->id < 0 && cb->event_id == key : cb->id == key;
		if (hit) {
			*pp = cb->next;
			free(cb);
			return 0;
		}
	}
	return -1;
}

int events_deregister_cb(struct client *c, int callback_id, struct vmms_err *err)
{
	if (callback_id < 0 || remove_cb(c, false, callback_id) < 0)
		return vmms_err_set(err, VIR_ERR_INVALID_ARG,
				    "domain event callback %d not registered", callback_id);
	return 0;
}

int events_register_old(struct client *c, int event_id, struct vmms_err *err)
{
	for (struct event_cb *cb = c->event_cbs; cb; cb = cb->next)
		if (cb->id < 0 && cb->event_id == event_id)
			return vmms_err_set(err, VIR_ERR_INTERNAL_ERROR,
					    "domain event %d already registered", event_id);
	return add_cb(c, -1, event_id, NULL, err);
}

int events_deregister_old(struct client *c, int event_id, struct vmms_err *err)
{
	if (remove_cb(c, true, event_id) < 0)
		return vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "domain event %d not registered",
				    event_id);
	return 0;
}

void events_client_gone(struct client *c)
{
	unsigned n = events_count(c);
	if (n)
		log_debug("client %u: dropped %u event callback%s", c->id, n, n == 1 ? "" : "s");
	while (c->event_cbs) {
		struct event_cb *cb = c->event_cbs;
		c->event_cbs = cb->next;
		free(cb);
	}
}

unsigned events_count(const struct client *c)
{
	unsigned n = 0;
	for (const struct event_cb *cb = c->event_cbs; cb; cb = cb->next)
		n++;
	return n;
}

/* The domain as events carry it: name, uuid, and its id while it runs. */
static void event_dom(const struct domain *d, struct vmms_dom *out)
{
	out->name = d->def->name;
	memcpy(out->uuid, d->def->uuid, 16);
	out->id = domain_active(d) ? d->id : -1;
}

/* Sends one event to every client with a matching callback. OLD_PROC /
 * OLD_X / OLD_MSG: the old-style message; CB_PROC / CB_X / CB_MSG the
 * callback-style one, whose first member is the callback id (*CB_ID). */
static void deliver(const struct domain *d, int event_id, int old_proc, xdrproc_t old_x,
		    void *old_msg, int cb_proc, xdrproc_t cb_x, void *cb_msg, int *cb_id)
{
	for (struct client *c = vmms_ctx->clients; c; c = c->next) {
		if (c->dead || !c->opened)
			continue;
		for (struct event_cb *cb = c->event_cbs; cb; cb = cb->next) {
			if (cb->event_id != event_id ||
			    (cb->one_dom && memcmp(cb->uuid, d->def->uuid, 16)))
				continue;
			if (cb->id < 0) {
				client_message(c, old_proc, old_x, old_msg);
			} else {
				*cb_id = cb->id;
				client_message(c, cb_proc, cb_x, cb_msg);
			}
		}
	}
}

void events_lifecycle(const struct domain *d, int event, int detail)
{
	struct vmms_event_cb_lifecycle_msg m = {.msg = {.event = event, .detail = detail}};
	event_dom(d, &m.msg.dom);
	log_debug("domain %s: lifecycle event %d/%d", d->def->name, event, detail);
	deliver(d, VIR_DOMAIN_EVENT_ID_LIFECYCLE, PROC_DOMAIN_EVENT_LIFECYCLE,
		(xdrproc_t)xdr_vmms_event_lifecycle_msg, &m.msg,
		PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, (xdrproc_t)xdr_vmms_event_cb_lifecycle_msg,
		&m, &m.callback_id);
}

void events_reboot(const struct domain *d)
{
	struct vmms_event_cb_reboot_msg m = {0};
	event_dom(d, &m.msg.dom);
	log_debug("domain %s: reboot event", d->def->name);
	deliver(d, VIR_DOMAIN_EVENT_ID_REBOOT, PROC_DOMAIN_EVENT_REBOOT,
		(xdrproc_t)xdr_vmms_event_reboot_msg, &m.msg, PROC_DOMAIN_EVENT_CALLBACK_REBOOT,
		(xdrproc_t)xdr_vmms_event_cb_reboot_msg, &m, &m.callback_id);
}

void events_state_changed(const struct domain *d, int old_state)
{
	int ev = -1, detail = 0;
	switch (d->state) {
	case VIR_DOMAIN_RUNNING:
		if (d->reason == VIR_DOMAIN_RUNNING_BOOTED) {
			ev = VIR_DOMAIN_EVENT_STARTED;
			detail = VIR_DOMAIN_EVENT_STARTED_BOOTED;
		} else if (d->reason == VIR_DOMAIN_RUNNING_UNPAUSED) {
			ev = VIR_DOMAIN_EVENT_RESUMED;
			detail = VIR_DOMAIN_EVENT_RESUMED_UNPAUSED;
		}
		break;
	case VIR_DOMAIN_PAUSED:
		if (d->reason == VIR_DOMAIN_PAUSED_USER) {
			ev = VIR_DOMAIN_EVENT_SUSPENDED;
			detail = VIR_DOMAIN_EVENT_SUSPENDED_PAUSED;
		}
		break;
	case VIR_DOMAIN_SHUTOFF:
		/* Once: a failed restart after a crash stays "stopped". */
		if (old_state == VIR_DOMAIN_SHUTOFF)
			break;
		ev = VIR_DOMAIN_EVENT_STOPPED;
		switch (d->reason) {
		case VIR_DOMAIN_SHUTOFF_DESTROYED:
			detail = VIR_DOMAIN_EVENT_STOPPED_DESTROYED;
			break;
		case VIR_DOMAIN_SHUTOFF_CRASHED:
			detail = VIR_DOMAIN_EVENT_STOPPED_CRASHED;
			break;
		case VIR_DOMAIN_SHUTOFF_FAILED:
			detail = VIR_DOMAIN_EVENT_STOPPED_FAILED;
			break;
		default: /* shutdown, and a re-adopted worker's unknown exit */
			detail = VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN;
		}
		break;
	case VIR_DOMAIN_CRASHED:
		ev = VIR_DOMAIN_EVENT_CRASHED;
		detail = VIR_DOMAIN_EVENT_CRASHED_PANICKED;
		break;
	}
	if (ev >= 0)
		events_lifecycle(d, ev, detail);
}

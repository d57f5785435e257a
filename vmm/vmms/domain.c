/* domain.c: see domain.h. */
#include "domain.h"
#include "job.h"

#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "events.h"
#include "log.h"

struct domain *domain_by_name(const struct vmms *v, const char *name)
{
	for (struct domain *d = v->domains; d; d = d->next)
		if (!strcmp(d->def->name, name))
			return d;
	return NULL;
}

struct domain *domain_by_uuid(const struct vmms *v, const unsigned char uuid[16])
{
	for (struct domain *d = v->domains; d; d = d->next)
		if (!memcmp(d->def->uuid, uuid, 16))
			return d;
	return NULL;
}

struct domain *domain_by_id(const struct vmms *v, int id)
{
	if (id <= 0)
		return NULL;
	for (struct domain *d = v->domains; d; d = d->next)
		if (d->id == id)
			return d;
	return NULL;
}

struct domain *domain_add(struct vmms *v, struct dom_def *def)
{
	struct domain *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->v = v;
	d->def = def;
	d->id = -1;
	d->pidfd.fd = -1;
	d->state = VIR_DOMAIN_SHUTOFF;
	d->reason = VIR_DOMAIN_SHUTOFF_UNKNOWN;
	/* Keep the list sorted by name: stable, readable listings. */
	struct domain **pp = &v->domains;
	while (*pp && strcmp((*pp)->def->name, def->name) < 0)
		pp = &(*pp)->next;
	d->next = *pp;
	*pp = d;
	return d;
}

void domain_remove(struct domain *d)
{
	job_domain_gone(d);
	ctl_cancel(d->boots_poll); /* its answer must not find d freed */
	d->boots_poll = NULL;
	for (struct domain **pp = &d->v->domains; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	dom_def_free(d->def);
	dom_def_free(d->live);
	d->def = d->live = NULL;
	defer_free(d);
}

bool domain_active(const struct domain *d)
{
	return d->id > 0;
}

const struct dom_def *domain_current_def(const struct domain *d)
{
	return d->live ? d->live : d->def;
}

void domain_set_state(struct domain *d, int state, int reason)
{
	if (d->state == state && d->reason == reason)
		return;
	log_debug("domain %s: state %d/%d -> %d/%d", d->def->name, d->state, d->reason, state,
		  reason);
	int old = d->state;
	d->state = state;
	d->reason = reason;
	events_state_changed(d, old);
}

bool domain_matches_flags(const struct domain *d, unsigned flags)
{
	bool active = domain_active(d);
	unsigned both = VIR_CONNECT_LIST_DOMAINS_ACTIVE | VIR_CONNECT_LIST_DOMAINS_INACTIVE;
	if ((flags & both) && (flags & both) != both) {
		if ((flags & VIR_CONNECT_LIST_DOMAINS_ACTIVE) && !active)
			return false;
		if ((flags & VIR_CONNECT_LIST_DOMAINS_INACTIVE) && active)
			return false;
	}
	both = VIR_CONNECT_LIST_DOMAINS_PERSISTENT | VIR_CONNECT_LIST_DOMAINS_TRANSIENT;
	if ((flags & both) == VIR_CONNECT_LIST_DOMAINS_TRANSIENT && !d->transient)
		return false;
	if ((flags & both) == VIR_CONNECT_LIST_DOMAINS_PERSISTENT && d->transient)
		return false;
	unsigned states = VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_PAUSED |
			  VIR_CONNECT_LIST_DOMAINS_SHUTOFF | VIR_CONNECT_LIST_DOMAINS_OTHER;
	if (flags & states) {
		bool ok = false;
		if (flags & VIR_CONNECT_LIST_DOMAINS_RUNNING)
			ok |= d->state == VIR_DOMAIN_RUNNING;
		if (flags & VIR_CONNECT_LIST_DOMAINS_PAUSED)
			ok |= d->state == VIR_DOMAIN_PAUSED;
		if (flags & VIR_CONNECT_LIST_DOMAINS_SHUTOFF)
			ok |= d->state == VIR_DOMAIN_SHUTOFF;
		if (flags & VIR_CONNECT_LIST_DOMAINS_OTHER)
			ok |= d->state != VIR_DOMAIN_RUNNING && d->state != VIR_DOMAIN_PAUSED &&
			      d->state != VIR_DOMAIN_SHUTOFF;
		if (!ok)
			return false;
	}
	both = VIR_CONNECT_LIST_DOMAINS_AUTOSTART | VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART;
	if ((flags & both) == VIR_CONNECT_LIST_DOMAINS_AUTOSTART && !d->autostart)
		return false;
	if ((flags & both) == VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART && d->autostart)
		return false;
	/* No managed save images and no snapshots exist in linhv. */
	if ((flags &
	     (VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE | VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE)) ==
	    VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE)
		return false;
	if ((flags &
	     (VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT | VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT)) ==
	    VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT)
		return false;
	return true;
}

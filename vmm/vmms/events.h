/* events.h: libvirt domain events. Clients register callbacks (per event
 * id, optionally for one domain); state changes become lifecycle events and
 * reach every client with a matching callback as MESSAGE packets. A client's
 * callbacks go away with the client.
 *
 * Two registration styles exist on the wire: the old one (REGISTER_ANY,
 * one registration per event id, events 107/169 without a callback id) and
 * the callback one that clients use once SUPPORTS_FEATURE 14 says yes
 * (CALLBACK_REGISTER_ANY, events 318/319 carrying the callback id). */
#ifndef VMMS_EVENTS_H
#define VMMS_EVENTS_H

#include <stdbool.h>

#include "err.h"

struct client;
struct domain;

/* Event ids accepted for registration. libvirt 9.0 has 26; a newer client's
 * "virsh event --all" asks for its own list, so take any small id even if
 * vmms never sends that event. */
#define EVENT_ID_MAX 64

struct event_cb {
	struct event_cb *next;
	int id;	      /* callback id (callback style), -1 for the old style */
	int event_id; /* VIR_DOMAIN_EVENT_ID_* */
	bool one_dom; /* only events of the domain with this uuid */
	unsigned char uuid[16];
};

/* Callback style: returns the new callback id, or -1 with ERR set. */
int events_register_cb(struct client *c, int event_id, const unsigned char *uuid,
		       struct vmms_err *err);
int events_deregister_cb(struct client *c, int callback_id, struct vmms_err *err);
/* Old style: one registration per event id. */
int events_register_old(struct client *c, int event_id, struct vmms_err *err);
int events_deregister_old(struct client *c, int event_id, struct vmms_err *err);
/* Frees every callback of C (it closed the connection or went away). */
void events_client_gone(struct client *c);
unsigned events_count(const struct client *c);

/* Sends a lifecycle event (VIR_DOMAIN_EVENT_* and its detail) for D. */
void events_lifecycle(const struct domain *d, int event, int detail);
/* Sends the reboot event for D. */
void events_reboot(const struct domain *d);
/* The lifecycle event (if any) of D entering its current state from
 * OLD_STATE; called by domain_set_state. */
void events_state_changed(const struct domain *d, int old_state);

#endif

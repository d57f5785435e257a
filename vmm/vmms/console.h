/* console.h: `virsh console` streams, bridged to the worker's console socket.
 *
 * After DOMAIN_OPEN_CONSOLE is answered, both directions travel as STREAM
 * packets carrying the call's serial: status CONTINUE with bytes, OK for end
 * of stream (either side; the server confirms a client's finish or abort
 * with an empty OK), ERROR with a vmms_error body. */
#ifndef VMMS_CONSOLE_H
#define VMMS_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "domain.h"
#include "err.h"
#include "rpc.h"

struct client;

/* Connects a new stream for call H of client C to D's console. FLAGS:
 * VIR_DOMAIN_CONSOLE_FORCE takes over an existing session. The caller sends
 * the (empty) reply right after a 0 return. */
int console_open(struct client *c, const struct vmms_header *h, struct domain *d, unsigned flags,
		 struct vmms_err *err);

/* A STREAM packet from client C. */
void console_client_packet(struct client *c, const struct vmms_header *h, const uint8_t *data,
			   size_t n);

/* C's send queue drained: resume reading guest output. */
void console_client_writable(struct client *c);

void console_client_gone(struct client *c);
void console_domain_gone(struct domain *d);

#endif

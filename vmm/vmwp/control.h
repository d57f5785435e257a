/* SPDX-License-Identifier: MIT */
/* The control socket (docs/vmms.md): one request line in, one reply line out. */
#ifndef VMWP_CONTROL_H
#define VMWP_CONTROL_H

#include <stddef.h>

#include "evloop.h"

struct control;

/* Writes one reply line (without newline) for req into reply. */
typedef void (*control_fn)(void *ctx, const char *req, char *reply, size_t len);

int control_open(struct evloop *loop, const char *path, control_fn fn, void *ctx,
		 struct control **out, char *err, size_t errlen);
/* Closes every client and removes the socket file. */
void control_close(struct control *c);

#endif /* VMWP_CONTROL_H */

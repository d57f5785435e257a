/* ctl.h: one request to a worker's control socket without blocking the
 * daemon: a non-blocking connect, the request line, and the reply line read
 * as it arrives on the event loop, with a timeout. */
#ifndef VMMS_CTL_H
#define VMMS_CTL_H

#include <stddef.h>

struct evloop;
struct ctl_req;

/* RC 0: REPLY holds the reply line (without the newline); RC -1: ERRNO
 * says why (ETIMEDOUT, ECONNRESET...). Runs on the loop, never inside
 * ctl_request(); the request is freed after it returns. */
typedef void (*ctl_done_fn)(void *opaque, int rc, const char *reply, int err);

/* Returns the pending request, or NULL with errno set when the socket cannot
 * be reached at once (no worker listening yet, path too long). */
struct ctl_req *ctl_request(struct evloop *loop, const char *path, const char *req, int timeout_ms,
			    ctl_done_fn done, void *opaque);
/* Drops a pending request: DONE is not called. */
void ctl_cancel(struct ctl_req *r);

#endif

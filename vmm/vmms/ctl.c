/* ctl.c: see ctl.h. */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "evloop.h"

#define CTL_REPLY_MAX 16384

struct ctl_req {
	struct evloop *loop;
	int fd;
	struct evloop_timer *timer;
	ctl_done_fn done;
	void *opaque;
	char out[256];
	size_t out_len, out_off;
	char in[CTL_REPLY_MAX];
	size_t in_len;
};

static void req_free(struct ctl_req *r)
{
	if (r->fd >= 0) {
		evloop_del_fd(r->loop, r->fd);
		close(r->fd);
	}
	if (r->timer)
		evloop_del_timer(r->timer);
	free(r);
}

static void finish(struct ctl_req *r, int rc, int err)
{
	ctl_done_fn done = r->done;
	void *opaque = r->opaque;
	char *reply = NULL;
	if (rc == 0) {
		r->in[r->in_len] = 0;
		if (r->in_len && r->in[r->in_len - 1] == '\r')
			r->in[r->in_len - 1] = 0;
		reply = strdup(r->in);
		if (!reply) {
			rc = -1;
			err = ENOMEM;
		}
	}
	req_free(r);
	done(opaque, rc, reply ? reply : "", err);
	free(reply);
}

static void on_timeout(struct evloop *loop, struct evloop_timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	finish(ctx, -1, ETIMEDOUT);
}

static void on_io(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	struct ctl_req *r = ctx;
	if (r->out_off < r->out_len && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		ssize_t n = send(fd, r->out + r->out_off, r->out_len - r->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			finish(r, -1, errno);
			return;
		}
		if (n > 0)
			r->out_off += (size_t)n;
		if (r->out_off == r->out_len)
			evloop_mod_fd(r->loop, fd, EPOLLIN | EPOLLRDHUP);
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) || r->out_off < r->out_len)
		return;
	for (;;) {
		ssize_t n =
		    recv(fd, r->in + r->in_len, sizeof(r->in) - 1 - r->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			finish(r, -1, n < 0 ? errno : ECONNRESET);
			return;
		}
		char *nl = memchr(r->in + r->in_len, '\n', (size_t)n);
		r->in_len += (size_t)n;
		if (nl) {
			r->in_len = (size_t)(nl - r->in);
			finish(r, 0, 0);
			return;
		}
		if (r->in_len == sizeof(r->in) - 1) {
			finish(r, -1, EMSGSIZE); /* a worker does not send lines this long */
			return;
		}
	}
}

struct ctl_req *ctl_request(struct evloop *loop, const char *path, const char *req, int timeout_ms,
			    ctl_done_fn done, void *opaque)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path) || strlen(req) + 2 > 256) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	struct ctl_req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->loop = loop;
	r->done = done;
	r->opaque = opaque;
	r->out_len = (size_t)snprintf(r->out, sizeof(r->out), "%s\n", req);
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0) {
		free(r);
		return NULL;
	}
	/* A UNIX connect completes at once or fails (EAGAIN: backlog full). */
	if (connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(r->fd);
		free(r);
		errno = e;
		return NULL;
	}
	int rc = evloop_add_fd(loop, r->fd, EPOLLOUT, on_io, r);
	r->timer = rc == 0 ? evloop_add_timer(loop, (uint64_t)timeout_ms, 0, on_timeout, r) : NULL;
	if (!r->timer) {
		if (rc == 0)
			evloop_del_fd(loop, r->fd);
		close(r->fd);
		free(r);
		errno = rc ? -rc : ENOMEM;
		return NULL;
	}
	return r;
}

void ctl_cancel(struct ctl_req *r)
{
	if (r)
		req_free(r);
}

// SPDX-License-Identifier: MIT
/* Control socket: line protocol, bounded line length, several clients. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"

#define MAX_CLIENTS 16
#define LINE_MAX_LEN 256

struct client {
	int fd;
	char buf[LINE_MAX_LEN];
	size_t len;
};

struct control {
	struct evloop *loop;
	int fd;
	char path[108];
	control_fn fn;
	void *ctx;
	struct client clients[MAX_CLIENTS];
};

static void drop(struct control *c, struct client *cl)
{
	evloop_del_fd(c->loop, cl->fd);
	close(cl->fd);
	cl->fd = -1;
	cl->len = 0;
}

static void on_client(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	struct control *c = ctx;
	struct client *cl = NULL;
	ssize_t n;

	(void)loop;
	(void)events;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (c->clients[i].fd == fd)
			cl = &c->clients[i];
	if (!cl)
		return;
	n = read(fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		drop(c, cl);
		return;
	}
	cl->len += (size_t)n;
	for (;;) {
		char *nl = memchr(cl->buf, '\n', cl->len);
		char reply[8192]; /* a kvp dump is the longest */
		size_t ll;

		if (!nl) {
			if (cl->len == sizeof(cl->buf)) {
				dprintf(fd, "error: request too long\n");
				drop(c, cl);
			}
			return;
		}
		*nl = '\0';
		ll = (size_t)(nl - cl->buf);
		if (ll && cl->buf[ll - 1] == '\r')
			cl->buf[ll - 1] = '\0';
		reply[0] = '\0';
		c->fn(c->ctx, cl->buf, reply, sizeof(reply));
		if (cl->fd < 0)
			return; /* the handler closed the socket (quit) */
		dprintf(fd, "%s\n", reply);
		memmove(cl->buf, nl + 1, cl->len - ll - 1);
		cl->len -= ll + 1;
	}
}

static void on_accept(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	struct control *c = ctx;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)events;
	if (cfd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (c->clients[i].fd < 0) {
			c->clients[i].fd = cfd;
			c->clients[i].len = 0;
			evloop_add_fd(loop, cfd, EPOLLIN, on_client, c);
			return;
		}
	}
	dprintf(cfd, "error: too many control clients\n");
	close(cfd);
}

int control_open(struct evloop *loop, const char *path, control_fn fn, void *ctx,
		 struct control **out, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct control *c;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	c->loop = loop;
	c->fn = fn;
	c->ctx = ctx;
	strcpy(sa.sun_path, path);
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlink(path);
	if (c->fd < 0 || bind(c->fd, (void *)&sa, sizeof(sa)) < 0 || listen(c->fd, 8) < 0) {
		snprintf(err, errlen, "cannot listen on control socket %s: %s", path,
			 strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return -1;
	}
	evloop_add_fd(loop, c->fd, EPOLLIN, on_accept, c);
	*out = c;
	return 0;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			drop(c, &c->clients[i]);
	evloop_del_fd(c->loop, c->fd);
	close(c->fd);
	unlink(c->path);
	free(c);
}

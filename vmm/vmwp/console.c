// SPDX-License-Identifier: MIT
/* Console back-ends for COM1. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "console.h"

#define BACKLOG 16384

struct console {
	struct evloop *loop;
	enum vmwp_console kind;
	int in_fd, out_fd; /* stdio or pty master */
	int listen_fd, client_fd;
	char path[108];
	console_input_fn input;
	void *ctx;
	pthread_mutex_t lock;
	uint8_t backlog[BACKLOG];
	size_t bl_head, bl_len;
};

static void on_input(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	struct console *c = ctx;
	uint8_t buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));

	(void)events;
	if (n > 0) {
		c->input(c->ctx, buf, (unsigned)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == EIO))
		return; /* a pty without a reader gives EIO: keep waiting */
	evloop_del_fd(loop, fd);
	if (c->kind == VMWP_CONSOLE_UNIX) {
		pthread_mutex_lock(&c->lock);
		close(c->client_fd);
		c->client_fd = -1;
		pthread_mutex_unlock(&c->lock);
	}
}

static void on_accept(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	struct console *c = ctx;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)events;
	if (cfd < 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->client_fd >= 0) {
		evloop_del_fd(loop, c->client_fd);
		close(c->client_fd);
	}
	c->client_fd = cfd;
	/* Replay recent output so a late client sees the prompt. */
	for (size_t i = 0; i < c->bl_len;) {
		size_t start = (c->bl_head + i) % BACKLOG;
		size_t chunk = c->bl_len - i < BACKLOG - start ? c->bl_len - i : BACKLOG - start;

		if (send(cfd, c->backlog + start, chunk, MSG_NOSIGNAL | MSG_DONTWAIT) <= 0)
			break;
		i += chunk;
	}
	pthread_mutex_unlock(&c->lock);
	evloop_add_fd(loop, cfd, EPOLLIN, on_input, c);
}

static int fail(char *err, size_t len, const char *what, const char *path)
{
	snprintf(err, len, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

int console_open(struct evloop *loop, enum vmwp_console kind, const char *path,
		 console_input_fn input, void *ctx, struct console **out, char *err, size_t errlen)
{
	struct console *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->loop = loop;
	c->kind = kind;
	c->in_fd = c->out_fd = c->listen_fd = c->client_fd = -1;
	c->input = input;
	c->ctx = ctx;
	pthread_mutex_init(&c->lock, NULL);
	if (kind == VMWP_CONSOLE_STDIO) {
		c->in_fd = 0;
		c->out_fd = 1;
		if (evloop_add_fd(loop, 0, EPOLLIN, on_input, c) < 0)
			c->in_fd = -1; /* /dev/null or a regular file cannot be polled: no input */
	} else if (kind == VMWP_CONSOLE_PTY) {
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

		if (m < 0 || grantpt(m) || unlockpt(m)) {
			free(c);
			return fail(err, errlen, "cannot create a pty", "");
		}
		fcntl(m, F_SETFL, O_NONBLOCK);
		c->in_fd = c->out_fd = m;
		fprintf(stderr, "vmwp: console on %s\n", ptsname(m));
		evloop_add_fd(loop, m, EPOLLIN, on_input, c);
	} else {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		if (strlen(path) >= sizeof(sa.sun_path)) {
			snprintf(err, errlen, "console socket path too long: %s", path);
			free(c);
			return -1;
		}
		strcpy(sa.sun_path, path);
		c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		unlink(path);
		if (c->listen_fd < 0 || bind(c->listen_fd, (void *)&sa, sizeof(sa)) < 0 ||
		    listen(c->listen_fd, 4) < 0) {
			fail(err, errlen, "cannot listen on console socket", path);
			if (c->listen_fd >= 0)
				close(c->listen_fd);
			free(c);
			return -1;
		}
		snprintf(c->path, sizeof(c->path), "%s", path);
		evloop_add_fd(loop, c->listen_fd, EPOLLIN, on_accept, c);
	}
	*out = c;
	return 0;
}

void console_output(struct console *c, uint8_t b)
{
	if (c->kind != VMWP_CONSOLE_UNIX) {
		if (write(c->out_fd, &b, 1) < 0) {
			/* nobody reads the pty or stdout is gone: the guest does not care */
		}
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->backlog[(c->bl_head + c->bl_len) % BACKLOG] = b;
	if (c->bl_len < BACKLOG)
		c->bl_len++;
	else
		c->bl_head = (c->bl_head + 1) % BACKLOG;
	if (c->client_fd >= 0)
		send(c->client_fd, &b, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	pthread_mutex_unlock(&c->lock);
}

void console_close(struct console *c)
{
	if (!c)
		return;
	if (c->in_fd >= 0)
		evloop_del_fd(c->loop, c->in_fd);
	if (c->kind == VMWP_CONSOLE_PTY)
		close(c->in_fd);
	if (c->client_fd >= 0) {
		evloop_del_fd(c->loop, c->client_fd);
		close(c->client_fd);
	}
	if (c->listen_fd >= 0) {
		evloop_del_fd(c->loop, c->listen_fd);
		close(c->listen_fd);
		unlink(c->path);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

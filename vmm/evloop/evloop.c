// SPDX-License-Identifier: MIT
/*
 * The worker's event loop (evloop.h). A handler removed while events for it
 * are still in the batch being dispatched is only marked dead and freed after
 * the batch, so a stale event never reaches freed memory or a reused fd.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "evloop.h"

#define EVLOOP_BATCH 64

struct evloop_handler {
	int fd;
	bool dead;
	evloop_fd_cb cb;
	void *ctx;
	struct evloop_timer *timer;  /* set for timer handlers */
	struct evloop_handler *next; /* live list, or zombie list once dead */
};

struct evloop_timer {
	struct evloop *loop;
	struct evloop_handler *h;
	evloop_timer_cb cb;
	void *ctx;
};

struct evloop {
	int epfd;
	bool stop;
	struct evloop_handler *live;
	struct evloop_handler *zombies;
};

int evloop_create(struct evloop **out)
{
	struct evloop *loop = calloc(1, sizeof(*loop));

	*out = NULL;
	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int err = errno;

		free(loop);
		return -err;
	}
	*out = loop;
	return 0;
}

static void free_handler(struct evloop_handler *h)
{
	if (h->timer) {
		close(h->fd);
		free(h->timer);
	}
	free(h);
}

static void reap(struct evloop *loop)
{
	while (loop->zombies) {
		struct evloop_handler *h = loop->zombies;

		loop->zombies = h->next;
		free_handler(h);
	}
}

void evloop_destroy(struct evloop *loop)
{
	if (!loop)
		return;
	while (loop->live) {
		struct evloop_handler *h = loop->live;

		loop->live = h->next;
		free_handler(h);
	}
	reap(loop);
	close(loop->epfd);
	free(loop);
}

static struct evloop_handler *find(struct evloop *loop, int fd)
{
	for (struct evloop_handler *h = loop->live; h; h = h->next)
		if (h->fd == fd)
			return h;
	return NULL;
}

static int add_handler(struct evloop *loop, struct evloop_handler *h, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = h};

	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0)
		return -errno;
	h->next = loop->live;
	loop->live = h;
	return 0;
}

int evloop_add_fd(struct evloop *loop, int fd, uint32_t events, evloop_fd_cb cb, void *ctx)
{
	struct evloop_handler *h;
	int ret;

	if (fd < 0 || !cb)
		return -EINVAL;
	if (find(loop, fd))
		return -EEXIST;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	*h = (struct evloop_handler){.fd = fd, .cb = cb, .ctx = ctx};
	ret = add_handler(loop, h, events);
	if (ret)
		free(h);
	return ret;
}

int evloop_mod_fd(struct evloop *loop, int fd, uint32_t events)
{
	struct evloop_handler *h = find(loop, fd);
	struct epoll_event ev = {.events = events};

	if (!h)
		return -ENOENT;
	ev.data.ptr = h;
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

static void kill_handler(struct evloop *loop, struct evloop_handler *h)
{
	struct evloop_handler **pp;

	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	for (pp = &loop->live; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	h->dead = true;
	h->next = loop->zombies;
	loop->zombies = h;
}

int evloop_del_fd(struct evloop *loop, int fd)
{
	struct evloop_handler *h = find(loop, fd);

	if (!h || h->timer)
		return -ENOENT;
	kill_handler(loop, h);
	return 0;
}

static void timer_fired(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	struct evloop_timer *t = ctx;
	uint64_t expirations;

	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) < 0)
		return; /* spurious wake-up */
	t->cb(loop, t, t->ctx);
}

static struct itimerspec ms_to_its(uint64_t first_ms, uint64_t period_ms)
{
	struct itimerspec its = {0};

	if (first_ms == 0)
		first_ms = 1; /* 0 would disarm */
	its.it_value.tv_sec = first_ms / 1000;
	its.it_value.tv_nsec = (long)(first_ms % 1000) * 1000000;
	its.it_interval.tv_sec = period_ms / 1000;
	its.it_interval.tv_nsec = (long)(period_ms % 1000) * 1000000;
	return its;
}

struct evloop_timer *evloop_add_timer(struct evloop *loop, uint64_t first_ms, uint64_t period_ms,
				      evloop_timer_cb cb, void *ctx)
{
	struct evloop_timer *t = calloc(1, sizeof(*t));
	struct evloop_handler *h = calloc(1, sizeof(*h));
	struct itimerspec its = ms_to_its(first_ms, period_ms);
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (!t || !h || fd < 0 || !cb || timerfd_settime(fd, 0, &its, NULL) < 0)
		goto fail;
	*t = (struct evloop_timer){.loop = loop, .h = h, .cb = cb, .ctx = ctx};
	*h = (struct evloop_handler){.fd = fd, .cb = timer_fired, .ctx = t, .timer = t};
	if (add_handler(loop, h, EPOLLIN))
		goto fail;
	return t;
fail:
	if (fd >= 0)
		close(fd);
	free(t);
	free(h);
	return NULL;
}

int evloop_rearm_timer(struct evloop_timer *t, uint64_t first_ms, uint64_t period_ms)
{
	struct itimerspec its = ms_to_its(first_ms, period_ms);

	return timerfd_settime(t->h->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

void evloop_del_timer(struct evloop_timer *t)
{
	if (t)
		kill_handler(t->loop, t->h); /* the timer is freed with its handler */
}

int evloop_run_once(struct evloop *loop, int timeout_ms)
{
	struct epoll_event evs[EVLOOP_BATCH];
	int n = epoll_wait(loop->epfd, evs, EVLOOP_BATCH, timeout_ms);
	int ran = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct evloop_handler *h = evs[i].data.ptr;

		if (h->dead)
			continue;
		h->cb(loop, h->fd, evs[i].events, h->ctx);
		ran++;
	}
	reap(loop);
	return ran;
}

int evloop_run(struct evloop *loop)
{
	loop->stop = false;
	while (!loop->stop) {
		int ret = evloop_run_once(loop, -1);

		if (ret < 0)
			return ret;
	}
	return 0;
}

void evloop_stop(struct evloop *loop)
{
	loop->stop = true;
}

// SPDX-License-Identifier: MIT
/*
 * The data plane: a thread per open data channel, woken straight by the
 * eventfd the guest's HvSignalEvent hits (and by the VSP's own fd, such as
 * an io_uring completion eventfd), and the way back to the event loop for
 * what only the loop may do (offers, failing a channel, finishing a GPADL
 * teardown).
 *
 * Lifetime: the loop starts the thread after the VSP's open callback and
 * stops it at the start of every close, before the rings are unmapped: the
 * thread runs the VSP's drain callback and exits, the loop joins it, and
 * only then are the rings, the GPADLs and (at shutdown) guest RAM let go.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmbus_internal.h"

/* The count the eventfd held: how many signals it took since the last read. */
static uint64_t drain_eventfd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0)
		return 0; /* nothing pending */
	return v;
}

static void poke(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* already pending */
	}
}

bool vmbus_on_thread(const struct vmbus_channel *c)
{
	return c->thread_running && pthread_equal(pthread_self(), c->thread);
}

/* End of a batch: one signal for everything the batch sent. */
static void flush_signal(struct vmbus_channel *c)
{
	c->in_batch = false;
	if (c->signal_pending) {
		c->signal_pending = false;
		vmbus_signal_guest(c);
	}
}

void vmbus_channel_signal_now(struct vmbus_channel *c)
{
	if (!vmbus_on_thread(c) || !c->in_batch || !c->signal_pending)
		return;
	flush_signal(c);
	c->in_batch = true;
}

/*
 * A data thread of an offer with batch_thread is SCHED_BATCH: a guest's
 * signal that wakes it on the CPU where the VP's thread runs then does not
 * preempt that VP. Preempting it served one packet per switch (the guest
 * signals again for its next one); waiting until the VP halts or its slice
 * ends serves what the guest queued meanwhile in one batch. Where another
 * CPU is idle the thread runs there at once either way (docs/netvsp.md,
 * stop 44). A policy the host's administrator chose for vmwp (real-time,
 * idle) is kept.
 */
static void use_batch_policy(void)
{
	struct sched_param sp = {0};
	int policy;

	if (pthread_getschedparam(pthread_self(), &policy, &sp) == 0 && policy == SCHED_OTHER) {
		sp.sched_priority = 0;
		/* Only a tuning: where it is refused the thread runs as before. */
		(void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	}
}

static void *thread_main(void *arg)
{
	struct vmbus_channel *c = arg;
	struct pollfd fds[3] = {
	    {.fd = c->stop_fd, .events = POLLIN},
	    {.fd = c->event_fd, .events = POLLIN},
	    {.fd = c->poll_fd, .events = POLLIN},
	};
	nfds_t nfds = c->poll_fd >= 0 ? 3 : 2;
	bool more = true; /* the guest may have queued packets before the open result */

	if (c->offer.batch_thread)
		use_batch_policy();
	for (;;) {
		int n = poll(fds, nfds, more ? 0 : -1);

		if (n < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		c->tstats.wakeups++;
		c->in_batch = true;
		if (fds[1].revents || more) {
			uint64_t before = c->tstats.packets;

			c->tstats.guest_signals += drain_eventfd(c->event_fd);
			more = vmbus_channel_serve(c);
			if (c->tstats.packets != before && c->offer.ops->batch_end &&
			    vmbus_channel_serving(c))
				c->offer.ops->batch_end(c, c->offer.ctx);
		}
		if (nfds == 3 && fds[2].revents && vmbus_channel_serving(c))
			c->offer.ops->poll(c, c->offer.ctx);
		flush_signal(c);
		if (!vmbus_channel_serving(c)) {
			/* Failed: wait for the loop to stop us; the guest gets nothing more. */
			more = false;
			nfds = 1;
		}
	}
	if (c->offer.ops->drain) {
		c->in_batch = true;
		c->offer.ops->drain(c, c->offer.ctx);
		if (vmbus_channel_serving(c))
			flush_signal(c);
		c->in_batch = false;
		c->signal_pending = false;
	}
	return NULL;
}

int vmbus_thread_start(struct vmbus_channel *c)
{
	char name[16];
	int ret;

	c->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->stop_fd < 0)
		return -errno;
	c->in_batch = false;
	c->signal_pending = false;
	memset(&c->tstats, 0, sizeof(c->tstats));
	/* Set before the thread runs: vmbus_on_thread() reads it there. */
	c->thread_running = true;
	ret = pthread_create(&c->thread, NULL, thread_main, c);
	if (ret) {
		c->thread_running = false;
		close(c->stop_fd);
		c->stop_fd = -1;
		return -ret;
	}
	snprintf(name, sizeof(name), "vmbus-ch%u", c->relid);
	pthread_setname_np(c->thread, name);
	return 0;
}

void vmbus_thread_stop(struct vmbus_channel *c)
{
	if (!c->thread_running)
		return;
	poke(c->stop_fd);
	pthread_join(c->thread, NULL);
	c->thread_running = false;
	if (c->tstats.packets)
		vmbus_channel_log(c,
				  "data thread: %llu packets, %llu wake-ups, %llu signals from "
				  "the guest, %llu to it",
				  (unsigned long long)c->tstats.packets,
				  (unsigned long long)c->tstats.wakeups,
				  (unsigned long long)c->tstats.guest_signals,
				  (unsigned long long)c->tstats.host_signals);
	close(c->stop_fd);
	c->stop_fd = -1;
	c->poll_fd = -1; /* the VSP's; it closes it */
}

int vmbus_channel_set_poll_fd(struct vmbus_channel *c, int fd)
{
	if (!c->offer.data_thread || c->thread_running || fd < 0 || !c->offer.ops->poll)
		return -EINVAL;
	c->poll_fd = fd;
	return 0;
}

/* ---- Work for the event loop ---- */

void vmbus_work_wake(struct vmbus_server *s)
{
	poke(s->work_fd);
}

int vmbus_channel_defer(struct vmbus_channel *c, void (*fn)(struct vmbus_channel *, void *),
			void *arg)
{
	struct vmbus_server *s = c->server;
	struct vmbus_deferred *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->chan = c;
	d->fn = fn;
	d->arg = arg;
	pthread_mutex_lock(&s->work_lock);
	*s->deferred_tail = d;
	s->deferred_tail = &d->next;
	pthread_mutex_unlock(&s->work_lock);
	vmbus_work_wake(s);
	return 0;
}

void vmbus_deferred_forget(struct vmbus_channel *c)
{
	struct vmbus_server *s = c->server;

	pthread_mutex_lock(&s->work_lock);
	for (struct vmbus_deferred **pp = &s->deferred; *pp;) {
		struct vmbus_deferred *d = *pp;

		if (d->chan == c) {
			*pp = d->next;
			free(d);
		} else {
			pp = &d->next;
		}
	}
	s->deferred_tail = &s->deferred;
	while (*s->deferred_tail)
		s->deferred_tail = &(*s->deferred_tail)->next;
	pthread_mutex_unlock(&s->work_lock);
}

static struct vmbus_deferred *pop_deferred(struct vmbus_server *s)
{
	struct vmbus_deferred *d;

	pthread_mutex_lock(&s->work_lock);
	d = s->deferred;
	if (d) {
		s->deferred = d->next;
		if (!s->deferred)
			s->deferred_tail = &s->deferred;
	}
	pthread_mutex_unlock(&s->work_lock);
	return d;
}

static void on_work(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	struct vmbus_server *s = ctx;
	struct vmbus_deferred *d;
	bool again;

	(void)loop, (void)events;
	drain_eventfd(fd);
	/* Channels whose data thread hit a protocol error: close them here. */
	do {
		again = false;
		for (struct vmbus_channel *c = s->channels; c; c = c->next) {
			if (c->state == VMBUS_CH_OPEN &&
			    __atomic_load_n(&c->failing, __ATOMIC_ACQUIRE)) {
				char why[sizeof(c->fail_why)];

				memcpy(why, c->fail_why, sizeof(why));
				/* Not on the thread, so this closes, joins and rescinds. */
				vmbus_channel_fail(c, why);
				again = true; /* the list may have changed */
				break;
			}
		}
	} while (again);
	/* Each call may queue more or free channels; take one at a time. */
	while ((d = pop_deferred(s))) {
		d->fn(d->chan, d->arg);
		free(d);
	}
	vmbus_gpadl_reap(s);
}

int vmbus_work_init(struct vmbus_server *s)
{
	int ret;

	pthread_mutex_init(&s->work_lock, NULL);
	s->deferred_tail = &s->deferred;
	s->work_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->work_fd < 0) {
		ret = -errno;
		pthread_mutex_destroy(&s->work_lock);
		return ret;
	}
	ret = evloop_add_fd(s->loop, s->work_fd, EPOLLIN, on_work, s);
	if (ret) {
		close(s->work_fd);
		s->work_fd = -1;
		pthread_mutex_destroy(&s->work_lock);
	}
	return ret;
}

void vmbus_work_fini(struct vmbus_server *s)
{
	struct vmbus_deferred *d;

	if (s->work_fd < 0)
		return;
	evloop_del_fd(s->loop, s->work_fd);
	close(s->work_fd);
	s->work_fd = -1;
	while ((d = pop_deferred(s)))
		free(d);
	pthread_mutex_destroy(&s->work_lock);
}

/* ---- GPADL views ---- */

int vmbus_gpadl_view_get(struct vmbus_channel *c, uint32_t handle, struct vmbus_gpadl_view *view)
{
	uint32_t owner = c->primary ? c->primary->relid : c->relid;

	return vmbus_gpadls_view_get(&c->server->gpadls, handle, c->relid, owner, view);
}

void vmbus_gpadl_view_put(struct vmbus_channel *c, struct vmbus_gpadl_view *view)
{
	if (vmbus_gpadls_view_put(&c->server->gpadls, view))
		vmbus_work_wake(c->server);
}

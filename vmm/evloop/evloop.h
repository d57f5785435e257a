/* SPDX-License-Identifier: MIT */
/*
 * A small epoll event loop: the one loop of a vmwp worker. File descriptors
 * (eventfds from the hypervisor, sockets, io_uring) and timers (timerfd)
 * call back on the loop's thread. Callbacks may add or remove handlers,
 * including their own, at any time. Not thread-safe: use one thread per loop.
 */
#ifndef LINHV_EVLOOP_H
#define LINHV_EVLOOP_H

#include <stdint.h>

struct evloop;
struct evloop_timer;

typedef void (*evloop_fd_cb)(struct evloop *loop, int fd, uint32_t events, void *ctx);
typedef void (*evloop_timer_cb)(struct evloop *loop, struct evloop_timer *timer, void *ctx);

int evloop_create(struct evloop **out);
/* Frees the handlers and timers still registered; does not close their fds. */
void evloop_destroy(struct evloop *loop);

/* events: EPOLLIN/EPOLLOUT/... One handler per fd; -EEXIST otherwise. */
int evloop_add_fd(struct evloop *loop, int fd, uint32_t events, evloop_fd_cb cb, void *ctx);
int evloop_mod_fd(struct evloop *loop, int fd, uint32_t events);
int evloop_del_fd(struct evloop *loop, int fd);

/* First expiry after first_ms, then every period_ms (0: one-shot). NULL on error. */
struct evloop_timer *evloop_add_timer(struct evloop *loop, uint64_t first_ms, uint64_t period_ms,
				      evloop_timer_cb cb, void *ctx);
int evloop_rearm_timer(struct evloop_timer *timer, uint64_t first_ms, uint64_t period_ms);
void evloop_del_timer(struct evloop_timer *timer);

/*
 * Wait up to timeout_ms (-1 forever, 0 poll) and dispatch what is ready.
 * Returns the number of callbacks run, or -errno.
 */
int evloop_run_once(struct evloop *loop, int timeout_ms);
/* Run until evloop_stop() is called from a callback. */
int evloop_run(struct evloop *loop);
void evloop_stop(struct evloop *loop);

#endif /* LINHV_EVLOOP_H */

/* watch.c: a struct watch is an fd registered on the daemon's event loop
 * (vmm/evloop); objects that embed one are freed after the current batch. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "evloop.h"
#include "vmms.h"

static void watch_cb(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	(void)fd;
	struct watch *w = ctx;
	w->cb(w, events);
}

int loop_add(struct evloop *loop, struct watch *w, uint32_t events)
{
	w->loop = loop;
	int rc = evloop_add_fd(loop, w->fd, events, watch_cb, w);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

int loop_mod(struct watch *w, uint32_t events)
{
	int rc = evloop_mod_fd(w->loop, w->fd, events);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

void loop_del(struct watch *w)
{
	if (w->fd >= 0 && w->loop)
		evloop_del_fd(w->loop, w->fd);
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Objects that own a watch are freed only after the current batch of
 * events: a callback further up the stack may still hold them. */
static void **graveyard;
static size_t ngrave, capgrave;

void defer_free(void *p)
{
	if (ngrave == capgrave) {
		size_t cap = capgrave ? capgrave * 2 : 16;
		void **g = realloc(graveyard, cap * sizeof(*g));
		if (!g)
			return; /* leak rather than risk a use after free */
		graveyard = g;
		capgrave = cap;
	}
	graveyard[ngrave++] = p;
}

void loop_free_deferred(void)
{
	for (size_t i = 0; i < ngrave; i++)
		free(graveyard[i]);
	ngrave = 0;
}

/* loop.c: thin epoll helpers; every fd vmms waits on is a struct watch. */
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

#include "vmms.h"

struct vmms *vmms_ctx;

int loop_add(struct watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	return epoll_ctl(vmms_ctx->epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

int loop_mod(struct watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	return epoll_ctl(vmms_ctx->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void loop_del(struct watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(vmms_ctx->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Objects that own a watch are freed only after the current epoll batch:
 * a later event in the same batch may still point at them. */
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

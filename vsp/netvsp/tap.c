// SPDX-License-Identifier: MIT
/* TAP backend for the network VSP (see tap.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"

#define TAP_MAX_QUEUES 8

struct tap {
	int fd;
	int qfd[TAP_MAX_QUEUES]; /* qfd[0] == fd */
	unsigned queues;
	int ifindex;
	char name[IFNAMSIZ];
	uint32_t mtu;
	uint32_t gso_restore; /* the TAP's own GSO limit, if we lowered it */
	bool up;
	struct evloop *loop;
	struct nl_sock *events; /* RTNLGRP_LINK notifications */
	void (*cb)(void *ctx, bool up);
	void *ctx;
};

static int errf(char *err, size_t len, const char *fmt, const char *a, const char *b)
{
	snprintf(err, len, fmt, a, b);
	return -1;
}

static bool link_is_up(struct rtnl_link *l)
{
	return (rtnl_link_get_flags(l) & IFF_UP) && rtnl_link_get_carrier(l);
}

static int on_event(struct nl_msg *msg, void *arg);

static void update(struct tap *t, struct rtnl_link *l)
{
	bool up;

	/*
	 * Only the link's own messages: a bridge also reports its ports'
	 * state (AF_BRIDGE, same ifindex) without the carrier, which would
	 * read as "down" and take the guest's link down until the next one.
	 */
	if (rtnl_link_get_ifindex(l) != t->ifindex || rtnl_link_get_family(l) != AF_UNSPEC)
		return;
	up = link_is_up(l);
	t->mtu = rtnl_link_get_mtu(l);
	if (up != t->up) {
		t->up = up;
		if (t->cb)
			t->cb(t->ctx, up);
	}
}

static void parse_obj(struct nl_object *obj, void *arg)
{
	update(arg, (struct rtnl_link *)obj);
}

static int on_event(struct nl_msg *msg, void *arg)
{
	nl_msg_parse(msg, parse_obj, arg);
	return NL_OK;
}

static void on_readable(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	struct tap *t = ctx;

	(void)loop;
	(void)fd;
	(void)events;
	nl_recvmsgs_default(t->events);
}

/*
 * Set the link's GSO size limit (IFLA_GSO_MAX_SIZE). libnl has no setter
 * for it, so this is a plain RTM_SETLINK. An older kernel may ignore or
 * refuse it on an existing link. 0 or a netlink error.
 */
static int set_gso_max_size(struct nl_sock *sk, int ifindex, uint32_t bytes)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);

	if (!msg)
		return -NLE_NOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) ||
	    nla_put_u32(msg, IFLA_GSO_MAX_SIZE, bytes)) {
		nlmsg_free(msg);
		return -NLE_NOMEM;
	}
	return nl_send_sync(sk, msg); /* frees msg */
}

/* Lower the GSO limit to want, remembering the TAP's own. */
static void cap_gso(struct tap *t, struct nl_sock *sk, struct rtnl_link *link, uint32_t want)
{
	uint32_t cur;

	if (!want || rtnl_link_get_gso_max_size(link, &cur) || cur <= want)
		return;
	/* Best effort: without it the guest only receives less efficiently. */
	if (set_gso_max_size(sk, t->ifindex, want) == 0)
		t->gso_restore = cur;
}

/* GSO cap, up, enslaved to the bridge if asked; reads ifindex, MTU and link state. */
static int configure(struct tap *t, const char *bridge, uint32_t gso_max_size, char *err,
		     size_t errlen)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *link = NULL, *br = NULL, *change = NULL;
	int ret = -1, e;

	if (!sk || nl_connect(sk, NETLINK_ROUTE)) {
		errf(err, errlen, "%s: cannot open a route netlink socket%s", t->name, "");
		goto out;
	}
	if ((e = rtnl_link_get_kernel(sk, 0, t->name, &link))) {
		errf(err, errlen, "%s: %s", t->name, nl_geterror(e));
		goto out;
	}
	t->ifindex = rtnl_link_get_ifindex(link); /* tap_destroy restores the cap through it */
	cap_gso(t, sk, link, gso_max_size);
	change = rtnl_link_alloc();
	if (!change)
		goto out;
	if (bridge) {
		if ((e = rtnl_link_get_kernel(sk, 0, bridge, &br))) {
			errf(err, errlen, "bridge %s: %s", bridge, nl_geterror(e));
			goto out;
		}
		rtnl_link_set_master(change, rtnl_link_get_ifindex(br));
	}
	rtnl_link_set_flags(change, IFF_UP);
	if ((e = rtnl_link_change(sk, link, change, 0))) {
		errf(err, errlen, "%s: cannot bring it up or attach it: %s", t->name,
		     nl_geterror(e));
		goto out;
	}
	rtnl_link_put(link);
	link = NULL;
	if ((e = rtnl_link_get_kernel(sk, 0, t->name, &link))) {
		errf(err, errlen, "%s: %s", t->name, nl_geterror(e));
		goto out;
	}
	t->ifindex = rtnl_link_get_ifindex(link);
	t->mtu = rtnl_link_get_mtu(link);
	t->up = link_is_up(link);
	ret = 0;
out:
	if (change)
		rtnl_link_put(change);
	if (br)
		rtnl_link_put(br);
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}

static int watch(struct tap *t, char *err, size_t errlen)
{
	t->events = nl_socket_alloc();
	if (!t->events)
		return errf(err, errlen, "%s: out of memory%s", t->name, "");
	nl_socket_disable_seq_check(t->events);
	nl_socket_modify_cb(t->events, NL_CB_VALID, NL_CB_CUSTOM, on_event, t);
	if (nl_connect(t->events, NETLINK_ROUTE) ||
	    nl_socket_add_membership(t->events, RTNLGRP_LINK) ||
	    nl_socket_set_nonblocking(t->events))
		return errf(err, errlen, "%s: cannot watch its link state%s", t->name, "");
	if (t->loop && evloop_add_fd(t->loop, nl_socket_get_fd(t->events), EPOLLIN, on_readable, t))
		return errf(err, errlen, "%s: cannot watch its link state%s", t->name, "");
	return 0;
}

/* Open /dev/net/tun as (another) queue of name; -1 with errno. */
static int open_queue(const char *name, bool multi, char *out_name)
{
	struct ifreq ifr;
	int hdr = 10, fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi ? IFF_MULTI_QUEUE : 0);
	if (name)
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETVNETHDRSZ, &hdr) ||
	    ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (out_name)
		snprintf(out_name, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
}

/* Why the first queue did not open, in words a user can act on (errno kept). */
static void open_error(const char *name, char *err, size_t errlen)
{
	int e = errno;
	const char *what = name && *name ? name : "(a new one)";

	if (access("/dev/net/tun", F_OK))
		errf(err, errlen, "TAP %s: /dev/net/tun: %s (load the tun module: modprobe tun)", what,
		     strerror(errno));
	else if (e == EPERM || e == EACCES)
		errf(err, errlen, "TAP %s: %s (needs CAP_NET_ADMIN, or a TAP owned by this user)",
		     what, strerror(e));
	else
		errf(err, errlen, "TAP %s: %s", what, strerror(e));
	errno = e;
}

int tap_create(const struct tap_params *p, struct tap **out, char *err, size_t errlen)
{
	struct tap *t = calloc(1, sizeof(*t));
	unsigned want = p->queues > 1 ? p->queues : 1;

	*out = NULL;
	if (!t)
		return errf(err, errlen, "out of memory%s%s", "", "");
	if (want > TAP_MAX_QUEUES)
		want = TAP_MAX_QUEUES;
	for (unsigned i = 0; i < TAP_MAX_QUEUES; i++)
		t->qfd[i] = -1;
	t->loop = p->loop;
	t->fd = open_queue(p->name, want > 1, t->name);
	if (t->fd < 0 && want > 1 && errno == EINVAL) {
		/* an existing TAP made without multi_queue: one queue */
		want = 1;
		t->fd = open_queue(p->name, false, t->name);
	}
	if (t->fd < 0) {
		open_error(p->name, err, errlen);
		free(t);
		return -1;
	}
	t->qfd[0] = t->fd;
	t->queues = 1;
	for (unsigned i = 1; i < want; i++) {
		t->qfd[i] = open_queue(t->name, true, NULL);
		if (t->qfd[i] < 0) {
			errf(err, errlen, "TAP %s: another queue: %s", t->name, strerror(errno));
			goto fail;
		}
		t->queues++;
	}
	if (configure(t, p->bridge, p->gso_max_size, err, errlen) || watch(t, err, errlen))
		goto fail;
	*out = t;
	return 0;
fail:
	tap_destroy(t);
	return -1;
}

void tap_destroy(struct tap *t)
{
	if (!t)
		return;
	if (t->gso_restore) { /* best effort, while our queues still hold the TAP */
		struct nl_sock *sk = nl_socket_alloc();

		if (sk && nl_connect(sk, NETLINK_ROUTE) == 0)
			set_gso_max_size(sk, t->ifindex, t->gso_restore);
		nl_socket_free(sk);
	}
	if (t->events) {
		if (t->loop)
			evloop_del_fd(t->loop, nl_socket_get_fd(t->events));
		nl_socket_free(t->events);
	}
	for (unsigned i = 0; i < TAP_MAX_QUEUES; i++)
		if (t->qfd[i] >= 0)
			close(t->qfd[i]);
	free(t);
}

int tap_fd(const struct tap *t)
{
	return t->fd;
}

unsigned tap_queues(const struct tap *t)
{
	return t->queues;
}

int tap_queue_fd(const struct tap *t, unsigned i)
{
	return i < t->queues ? t->qfd[i] : -1;
}

const char *tap_name(const struct tap *t)
{
	return t->name;
}

uint32_t tap_mtu(const struct tap *t)
{
	return t->mtu;
}

bool tap_link_up(const struct tap *t)
{
	return t->up;
}

void tap_on_link(struct tap *t, void (*cb)(void *ctx, bool up), void *ctx)
{
	t->cb = cb;
	t->ctx = ctx;
}

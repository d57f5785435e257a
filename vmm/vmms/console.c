/* console.c: see console.h. */
#include "console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "worker.h"

#define BACKLOG_STOP (1u << 20) /* stop reading the guest when a client lags */
#define BACKLOG_RESUME (256u << 10)
#define TO_GUEST_MAX (1u << 20)

struct console {
	struct watch w; /* the worker's console socket */
	struct console *next;
	struct client *client;
	struct domain *dom;
	int proc;
	uint32_t serial;
	struct vmms_buf to_guest;
	size_t to_guest_off;
	bool reading;
	bool eof;  /* the guest side ended; waiting for the client's finish */
	bool dead; /* closed; freed after this batch of events */
};

static void update_events(struct console *s)
{
	uint32_t ev = 0;
	if (s->reading)
		ev |= EPOLLIN;
	if (s->to_guest_off < s->to_guest.len)
		ev |= EPOLLOUT;
	loop_mod(&s->w, ev);
}

/* Unlinks and frees S. If NOTIFY, tells the client the stream ended (EOF)
 * or, with ERR, failed. */
static void console_close(struct console *s, bool notify, const struct vmms_err *err)
{
	struct client *c = s->client;
	for (struct console **pp = &c->consoles; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	if (s->dom && s->dom->console == s)
		s->dom->console = NULL;
	if (notify && !c->dead) {
		if (err) {
			struct vmms_header h = {.prog = VMMS_PROG,
						.vers = VMMS_PROG_VERS,
						.proc = s->proc,
						.serial = s->serial};
			client_stream_error(c, &h, err);
		} else {
			client_stream_data(c, s->proc, s->serial, VMMS_OK, NULL, 0);
		}
	}
	if (!s->eof) {
		loop_del(&s->w);
		close(s->w.fd);
	}
	buf_free(&s->to_guest);
	s->dead = true;
	defer_free(s);
}

/* The guest side ended (the worker closed its console or exited). As
 * libvirtd does, the client gets an empty data packet (end of stream) and
 * the stream stays until the client finishes it; console_close() then
 * confirms. An unsolicited OK would make the client drop its connection. */
static void console_eof(struct console *s)
{
	if (s->eof)
		return;
	s->eof = true;
	if (s->dom && s->dom->console == s)
		s->dom->console = NULL;
	s->dom = NULL;
	loop_del(&s->w);
	close(s->w.fd);
	s->w.fd = -1;
	buf_free(&s->to_guest);
	s->to_guest_off = 0;
	if (!s->client->dead)
		client_stream_data(s->client, s->proc, s->serial, VMMS_CONTINUE, NULL, 0);
}

static void flush_to_guest(struct console *s)
{
	while (s->to_guest_off < s->to_guest.len) {
		ssize_t n = send(s->w.fd, s->to_guest.data + s->to_guest_off,
				 s->to_guest.len - s->to_guest_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			struct vmms_err e = {0};
			vmms_err_set(&e, VIR_ERR_OPERATION_FAILED, "console write failed: %s",
				     strerror(errno));
			console_close(s, true, &e);
			return;
		}
		s->to_guest_off += (size_t)n;
	}
	if (s->to_guest_off == s->to_guest.len)
		s->to_guest.len = s->to_guest_off = 0;
	update_events(s);
}

static void on_worker(struct watch *w, uint32_t events)
{
	struct console *s = (struct console *)w;
	if (s->dead || s->eof)
		return;
	if (events & EPOLLOUT) {
		flush_to_guest(s);
		return; /* S may be gone; EPOLLIN comes again if still pending */
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	char buf[65536];
	ssize_t n = recv(s->w.fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		console_eof(s);
		return;
	}
	client_stream_data(s->client, s->proc, s->serial, VMMS_CONTINUE, buf, (size_t)n);
	if (client_backlog(s->client) > BACKLOG_STOP) {
		s->reading = false;
		update_events(s);
	}
}

int console_open(struct client *c, const struct vmms_header *h, struct domain *d, unsigned flags,
		 struct vmms_err *err)
{
	if (!domain_active(d))
		return vmms_err_set(err, VIR_ERR_OPERATION_INVALID, "domain is not running");
	if (d->console) {
		if (!(flags & VIR_DOMAIN_CONSOLE_FORCE))
			return vmms_err_set(err, VIR_ERR_OPERATION_FAILED,
					    "Active console session exists for this domain");
		struct vmms_err e = {0};
		vmms_err_set(&e, VIR_ERR_OPERATION_FAILED,
			     "console session taken over by another client");
		console_close(d->console, true, &e);
	}
	char path[4096];
	worker_path(d, "console", path, sizeof(path));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "console path too long");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return vmms_err_set(err, VIR_ERR_OPERATION_FAILED,
				    "cannot connect to the console of domain '%s' (%s): %s",
				    d->def->name, path, strerror(e));
	}
	struct console *s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	}
	s->w.fd = fd;
	s->w.cb = on_worker;
	s->client = c;
	s->dom = d;
	s->proc = h->proc;
	s->serial = h->serial;
	s->reading = true;
	if (loop_add(d->v->loop, &s->w, EPOLLIN) < 0) {
		close(fd);
		free(s);
		return vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "epoll: %s", strerror(errno));
	}
	s->next = c->consoles;
	c->consoles = s;
	d->console = s;
	log_debug("client %u: console of %s opened", c->id, d->def->name);
	return 0;
}

void console_client_packet(struct client *c, const struct vmms_header *h, const uint8_t *data,
			   size_t n)
{
	struct console *s = c->consoles;
	while (s && !(s->serial == h->serial && s->proc == h->proc))
		s = s->next;
	if (!s) {
		/* Late data for a stream we already ended: nothing to do. */
		log_debug("client %u: stream packet for unknown serial %u", c->id, h->serial);
		return;
	}
	switch (h->status) {
	case VMMS_CONTINUE:
		if (s->eof)
			break; /* typed after the guest went away */
		if (s->to_guest.len - s->to_guest_off + n > TO_GUEST_MAX) {
			struct vmms_err e = {0};
			vmms_err_set(&e, VIR_ERR_OPERATION_FAILED,
				     "console input overflow: the guest is not reading");
			console_close(s, true, &e);
			return;
		}
		if (buf_append(&s->to_guest, data, n) == 0)
			flush_to_guest(s);
		break;
	case VMMS_OK:			      /* finish */
	case VMMS_ERROR:		      /* abort */
		console_close(s, true, NULL); /* the empty OK confirms both */
		break;
	default:
		break;
	}
}

void console_client_writable(struct client *c)
{
	if (client_backlog(c) > BACKLOG_RESUME)
		return;
	for (struct console *s = c->consoles; s; s = s->next)
		if (!s->reading && !s->eof) {
			s->reading = true;
			update_events(s);
		}
}

void console_client_gone(struct client *c)
{
	while (c->consoles)
		console_close(c->consoles, false, NULL);
}

void console_domain_gone(struct domain *d)
{
	if (d->console)
		console_eof(d->console);
}

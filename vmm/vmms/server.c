/* server.c: see server.h. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "console.h"
#include "dispatch.h"
#include "events.h"
#include "log.h"

struct listener {
	struct watch w;
	bool readonly;
	bool inherited; /* from systemd: the path is not ours to unlink */
	bool accepting; /* EPOLLIN is registered */
	char path[108];
	struct listener *next;
};

static struct listener *listeners;
static unsigned next_client_id = 1;
static unsigned nclients_rw, nclients_ro;
/* Out of fds: no accept() before this time (monotonic ms). */
static int64_t accept_resume_ms;
static int64_t accept_warned_ms;
static unsigned accept_pauses;

unsigned server_clients(bool readonly)
{
	return readonly ? nclients_ro : nclients_rw;
}

static bool listener_has_room(const struct listener *l)
{
	unsigned max = l->readonly ? vmms_ctx->max_ro_clients : vmms_ctx->max_clients;

	return server_clients(l->readonly) < max;
}

/* Accept while there is room and no fd shortage; otherwise leave the
 * connections in the kernel's backlog rather than wake up for them. */
static void listener_update(struct listener *l)
{
	bool want = listener_has_room(l) && now_ms() >= accept_resume_ms;

	if (want == l->accepting)
		return;
	if (loop_mod(&l->w, want ? EPOLLIN : 0) == 0)
		l->accepting = want;
}

static void listeners_update(void)
{
	for (struct listener *l = listeners; l; l = l->next)
		listener_update(l);
}

/* EMFILE and friends: stop accepting everywhere for a while, say so once a minute. */
static void accept_pause(const struct listener *l, int err)
{
	int64_t now = now_ms();

	accept_resume_ms = now + ACCEPT_PAUSE_MS;
	accept_pauses++;
	if (!accept_warned_ms || now - accept_warned_ms >= 60000) {
		log_warn("accept on %s: %s: not accepting clients for %d ms (%u pause%s so far)",
			 l->path, strerror(err), ACCEPT_PAUSE_MS, accept_pauses,
			 accept_pauses == 1 ? "" : "s");
		accept_warned_ms = now;
	}
	listeners_update();
}

/* A client with this many replies unsent is not read until they drain. */
static bool client_paused(const struct client *c)
{
	return c->tx.len - c->tx_off > CLIENT_TX_PAUSE;
}

static void client_update_events(struct client *c)
{
	uint32_t ev = client_paused(c) ? 0 : EPOLLIN | EPOLLRDHUP;
	if (c->tx_off < c->tx.len)
		ev |= EPOLLOUT;
	loop_mod(&c->w, ev);
}

static void client_kill(struct client *c, const char *why)
{
	if (c->dead)
		return;
	log_debug("client %u: closing: %s", c->id, why);
	c->dead = true;
}

static void client_flush(struct client *c)
{
	while (!c->dead && c->tx_off < c->tx.len) {
		ssize_t n = send(c->w.fd, c->tx.data + c->tx_off, c->tx.len - c->tx_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			client_kill(c, strerror(errno));
			return;
		}
		c->tx_off += (size_t)n;
	}
	if (c->tx_off == c->tx.len) {
		c->tx.len = c->tx_off = 0;
		/* Give back the memory of a large reply once it is gone. */
		if (c->tx.cap > (1u << 20))
			buf_free(&c->tx);
	}
	if (c->tx.len - c->tx_off > CLIENT_TX_MAX)
		client_kill(c, "not reading its replies");
	if (!c->dead)
		client_update_events(c);
	console_client_writable(c);
}

size_t client_backlog(const struct client *c)
{
	return c->tx.len - c->tx_off;
}

void client_reply(struct client *c, const struct vmms_header *call, xdrproc_t proc, void *obj)
{
	struct vmms_header h = *call;
	h.type = VMMS_REPLY;
	h.status = VMMS_OK;
	if (rpc_encode(&c->tx, &h, proc, obj) < 0) {
		struct vmms_err e = {0};
		vmms_err_set(&e, VIR_ERR_RPC, "reply too large to encode");
		rpc_encode_error(&c->tx, call, VMMS_REPLY, &e);
	}
	client_flush(c);
}

void client_error(struct client *c, const struct vmms_header *call, const struct vmms_err *err)
{
	if (rpc_encode_error(&c->tx, call, VMMS_REPLY, err) < 0)
		client_kill(c, "out of memory");
	client_flush(c);
}

void client_stream_error(struct client *c, const struct vmms_header *h, const struct vmms_err *err)
{
	if (rpc_encode_error(&c->tx, h, VMMS_STREAM, err) < 0)
		client_kill(c, "out of memory");
	client_flush(c);
}

void client_stream_data(struct client *c, int proc, uint32_t serial, int status, const void *data,
			size_t n)
{
	struct vmms_header h = {
	    .prog = VMMS_PROG,
	    .vers = VMMS_PROG_VERS,
	    .proc = proc,
	    .type = VMMS_STREAM,
	    .serial = serial,
	    .status = status,
	};
	if (rpc_encode_raw(&c->tx, &h, data, n) < 0)
		client_kill(c, "out of memory");
	client_flush(c);
}

void client_message(struct client *c, int proc, xdrproc_t x, void *obj)
{
	/* As libvirtd sends events: type MESSAGE, serial 1, status OK. */
	struct vmms_header h = {
	    .prog = VMMS_PROG,
	    .vers = VMMS_PROG_VERS,
	    .proc = proc,
	    .type = VMMS_MESSAGE,
	    .serial = 1,
	    .status = VMMS_OK,
	};
	if (rpc_encode(&c->tx, &h, x, obj) < 0) {
		log_warn("client %u: cannot encode event %d", c->id, proc);
		return;
	}
	client_flush(c);
}

static void send_keepalive(struct client *c, int proc)
{
	struct vmms_header h = {
	    .prog = VMMS_KEEPALIVE_PROG,
	    .vers = VMMS_KEEPALIVE_VERS,
	    .proc = proc,
	    .type = VMMS_MESSAGE,
	    .serial = 0,
	    .status = VMMS_OK,
	};
	rpc_encode(&c->tx, &h, NULL, NULL);
	client_flush(c);
}

static void handle_packet(struct client *c, const uint8_t *pkt, size_t len)
{
	struct vmms_header h;
	if (rpc_decode_header(pkt, len, &h) < 0) {
		client_kill(c, "malformed packet header");
		return;
	}
	if (h.prog == VMMS_KEEPALIVE_PROG) {
		if (h.proc == VMMS_KEEPALIVE_PING)
			send_keepalive(c, VMMS_KEEPALIVE_PONG);
		/* PONG needs nothing: receiving it already reset last_rx_ms. */
		return;
	}
	if (h.prog != VMMS_PROG || h.vers != VMMS_PROG_VERS) {
		struct vmms_err e = {0};
		vmms_err_set(&e, VIR_ERR_RPC, "unknown program 0x%x version %u", h.prog, h.vers);
		if (h.type == VMMS_CALL)
			client_error(c, &h, &e);
		return;
	}
	switch (h.type) {
	case VMMS_CALL:
		dispatch_call(c, &h, pkt, len);
		break;
	case VMMS_STREAM:
		console_client_packet(c, &h, pkt + 4 + VMMS_HEADER_LEN, len - 4 - VMMS_HEADER_LEN);
		break;
	case VMMS_CALL_WITH_FDS: {
		struct vmms_err e = {0};
		vmms_err_set(&e, VIR_ERR_NO_SUPPORT, "passing file descriptors");
		client_error(c, &h, &e);
		break;
	}
	default:
		log_debug("client %u: ignoring packet type %d", c->id, h.type);
	}
}

static void client_readable(struct client *c)
{
	uint32_t max = c->readonly ? CLIENT_RO_PACKET_MAX : VMMS_PACKET_MAX;

	for (int budget = 64; budget > 0 && !c->dead && !client_paused(c); budget--) {
		/* Read the length word first, then exactly the rest of the packet,
		 * so a huge packet is never buffered beyond its declared size;
		 * and grow the buffer only as bytes arrive, so a length alone
		 * costs nothing. */
		size_t want = 4;
		if (c->rx.len >= 4) {
			uint32_t plen = rpc_packet_len(c->rx.data);
			if (plen < 4 + VMMS_HEADER_LEN || plen > max) {
				client_kill(c, "bad packet length");
				return;
			}
			want = plen;
		}
		if (want - c->rx.len > 65536)
			want = c->rx.len + 65536;
		if (buf_reserve(&c->rx, want - c->rx.len) < 0) {
			client_kill(c, "out of memory");
			return;
		}
		ssize_t n = recv(c->w.fd, c->rx.data + c->rx.len, want - c->rx.len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_kill(c, n == 0 ? "client hung up" : strerror(errno));
			return;
		}
		c->rx.len += (size_t)n;
		c->last_rx_ms = now_ms();
		if (c->rx.len >= 4 && c->rx.len == rpc_packet_len(c->rx.data)) {
			handle_packet(c, c->rx.data, c->rx.len);
			c->rx.len = 0;
			if (c->rx.cap > (1u << 20))
				buf_free(&c->rx);
		}
	}
}

static void client_event(struct watch *w, uint32_t events)
{
	struct client *c = (struct client *)w;
	if (c->dead)
		return;
	if (events & EPOLLIN)
		client_readable(c);
	if (!c->dead && (events & EPOLLOUT))
		client_flush(c);
	if (!c->dead && (events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		client_kill(c, "socket error");
}

static void listener_event(struct watch *w, uint32_t events)
{
	struct listener *l = (struct listener *)w;
	(void)events;
	for (;;) {
		if (!listener_has_room(l)) {
			log_debug("%s: %u clients, the most allowed: not accepting more", l->path,
				  server_clients(l->readonly));
			listener_update(l);
			return;
		}
		int fd = accept4(l->w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				accept_pause(l, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				 errno != ECONNABORTED)
				log_warn("accept on %s: %s", l->path, strerror(errno));
			return;
		}
		struct client *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			accept_pause(l, ENOMEM);
			return;
		}
		c->w.fd = fd;
		c->w.cb = client_event;
		c->id = next_client_id++;
		c->readonly = l->readonly;
		c->last_rx_ms = c->last_ping_ms = now_ms();
		if (loop_add(&c->w, EPOLLIN | EPOLLRDHUP) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = vmms_ctx->clients;
		vmms_ctx->clients = c;
		vmms_ctx->nclients++;
		if (c->readonly)
			nclients_ro++;
		else
			nclients_rw++;
		log_debug("client %u connected%s", c->id, c->readonly ? " (read-only)" : "");
	}
}

int server_listen(const char *path, unsigned mode, bool readonly)
{
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		free(l);
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(l->path, sizeof(l->path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* A stale socket from a previous run: refuse if someone still answers. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		free(l);
		errno = EADDRINUSE;
		return -1;
	}
	unlink(path);
	/* Create it with no access, then open it up: no window where the
	 * read-write socket is reachable by everyone. */
	mode_t old = umask(0777);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(path, mode) < 0 || listen(fd, 128) < 0)
		goto fail;
	l->w.fd = fd;
	l->w.cb = listener_event;
	l->readonly = readonly;
	if (loop_add(&l->w, EPOLLIN) < 0)
		goto fail;
	l->accepting = true;
	l->next = listeners;
	listeners = l;
	return 0;
fail : {
	int e = errno;
	if (fd >= 0)
		close(fd);
	free(l);
	errno = e;
	return -1;
}
}

int server_listen_inherited(void)
{
	/* systemd socket activation: LISTEN_PID/LISTEN_FDS, fds from 3. */
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!pid || !fds || atol(pid) != (long)getpid())
		return 0;
	int n = atoi(fds);
	for (int fd = 3; fd < 3 + n; fd++) {
		struct sockaddr_un sa = {0};
		socklen_t len = sizeof(sa);
		struct listener *l = calloc(1, sizeof(*l));
		if (!l || getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ||
		    sa.sun_family != AF_UNIX) {
			free(l);
			log_warn("ignoring inherited fd %d: not a UNIX socket", fd);
			continue;
		}
		snprintf(l->path, sizeof(l->path), "%s", sa.sun_path);
		size_t pl = strlen(l->path);
		l->readonly = pl > 3 && !strcmp(l->path + pl - 3, "-ro");
		l->inherited = true;
		l->w.fd = fd;
		l->w.cb = listener_event;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		if (loop_add(&l->w, EPOLLIN) < 0) {
			free(l);
			continue;
		}
		l->accepting = true;
		l->next = listeners;
		listeners = l;
		log_info("listening on %s%s (from systemd)", l->path,
			 l->readonly ? " (read-only)" : "");
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n;
}

void server_tick(void)
{
	int64_t now = now_ms();
	listeners_update(); /* the end of an accept pause */
	for (struct client *c = vmms_ctx->clients; c; c = c->next) {
		if (c->dead || !c->keepalive)
			continue;
		int64_t silent = now - c->last_rx_ms;
		if (silent >= (int64_t)KEEPALIVE_INTERVAL_MS * (KEEPALIVE_COUNT + 1)) {
			log_info("client %u: no keepalive response for %lld s, closing", c->id,
				 (long long)(silent / 1000));
			client_kill(c, "keepalive timeout");
		} else if (silent >= KEEPALIVE_INTERVAL_MS &&
			   now - c->last_ping_ms >= KEEPALIVE_INTERVAL_MS) {
			c->last_ping_ms = now;
			send_keepalive(c, VMMS_KEEPALIVE_PING);
		}
	}
}

void server_reap(void)
{
	struct client **pp = &vmms_ctx->clients;
	while (*pp) {
		struct client *c = *pp;
		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		console_client_gone(c);
		events_client_gone(c);
		loop_del(&c->w);
		close(c->w.fd);
		buf_free(&c->rx);
		buf_free(&c->tx);
		vmms_ctx->nclients--;
		if (c->readonly)
			nclients_ro--;
		else
			nclients_rw--;
		log_debug("client %u freed", c->id);
		free(c);
	}
	listeners_update();
}

void server_shutdown(void)
{
	for (struct client *c = vmms_ctx->clients; c; c = c->next)
		c->dead = true;
	server_reap();
	while (listeners) {
		struct listener *l = listeners;
		listeners = l->next;
		loop_del(&l->w);
		close(l->w.fd);
		if (!l->inherited)
			unlink(l->path);
		free(l);
	}
}

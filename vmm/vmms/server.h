/* server.h: the UNIX-socket RPC server: listeners, clients, framing,
 * send queues and keepalive. One epoll loop, every socket non-blocking. */
#ifndef VMMS_SERVER_H
#define VMMS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"
#include "vmms.h"

struct console;
struct event_cb;

struct client {
	struct watch w;
	struct client *next;
	unsigned id;
	bool readonly;	/* came in on the -ro socket */
	bool opened;	/* CONNECT_OPEN succeeded */
	bool keepalive; /* asked about keepalive: it answers our pings */
	bool dead;	/* close at the end of this loop iteration */
	int64_t last_rx_ms;
	int64_t last_ping_ms;
	struct vmms_buf rx; /* partial incoming packet */
	struct vmms_buf tx; /* queued outgoing bytes, sent from tx_off */
	size_t tx_off;
	struct console *consoles;   /* streams opened by this client */
	struct event_cb *event_cbs; /* its domain event callbacks (events.h) */
	int next_cb_id;
};

/* Creates and listens on PATH with MODE; READONLY marks its clients. */
int server_listen(const char *path, unsigned mode, bool readonly);

/* Takes the listening sockets systemd passed (socket activation); a path
 * ending in "-ro" is the read-only one. Returns how many, 0 if none. */
int server_listen_inherited(void);

/* Queue a reply / error / raw packet and try to send it right away. */
void client_reply(struct client *c, const struct vmms_header *call, xdrproc_t proc, void *obj);
void client_error(struct client *c, const struct vmms_header *call, const struct vmms_err *err);
void client_stream_error(struct client *c, const struct vmms_header *h, const struct vmms_err *err);
void client_stream_data(struct client *c, int proc, uint32_t serial, int status, const void *data,
			size_t n);
/* Queue an unsolicited MESSAGE packet (an event) of procedure PROC. */
void client_message(struct client *c, int proc, xdrproc_t x, void *obj);
/* Bytes waiting to go out: console streams stop reading when this grows. */
size_t client_backlog(const struct client *c);

/* Periodic work: keepalive pings and dropping silent clients. */
void server_tick(void);
/* Frees clients marked dead. */
void server_reap(void);
/* Closes every client and listener (daemon exit). */
void server_shutdown(void);

/* Keepalive policy, as libvirtd's defaults: ping every 5 s of silence,
 * give up after 5 unanswered pings. */
#define KEEPALIVE_INTERVAL_MS 5000
#define KEEPALIVE_COUNT 5
/*
 * Limits, so that no client can starve another (docs/vmms.md):
 * - clients per socket: vmms_ctx->max_clients on the read-write socket,
 *   max_ro_clients on the 0666 read-only one; a full socket stops accepting
 *   (connections wait in the kernel's backlog) until one of its clients goes;
 * - out of fds (EMFILE/ENFILE): every socket stops accepting for
 *   ACCEPT_PAUSE_MS instead of spinning on a listener that stays readable;
 * - input: one packet at a time, at most VMMS_PACKET_MAX bytes (read-only
 *   clients: CLIENT_RO_PACKET_MAX), buffered only as its bytes arrive;
 * - output: a client whose unsent replies pass CLIENT_TX_PAUSE is not read
 *   until they drain; one whose backlog still passes CLIENT_TX_MAX is dropped.
 */
#define MAX_CLIENTS_DEFAULT 5000 /* as libvirtd's max_clients */
#define MAX_RO_CLIENTS_DEFAULT 64
#define ACCEPT_PAUSE_MS 1000
#define CLIENT_RO_PACKET_MAX (1u << 20)
#define CLIENT_TX_PAUSE (1u << 20)
/* Past a pause: one more reply at most, and console data (stopped at 1 MiB). */
#define CLIENT_TX_MAX ((size_t)CLIENT_TX_PAUSE + VMMS_PACKET_MAX + (4u << 20))

/* Clients now connected on the read-write / read-only socket. */
unsigned server_clients(bool readonly);

#endif

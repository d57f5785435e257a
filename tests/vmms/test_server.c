/* Unit tests for vmms' client limits (server.h): per-socket client counts,
 * accept pauses when fds run out, the read-only packet cap and the pause of
 * a client that does not read its replies. The server runs on this thread:
 * pump() is one turn of vmms' main loop. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check_main.h"
#include "evloop.h"
#include "log.h"
#include "rpc.h"
#include "server.h"

static struct vmms ctx;
static char dir[64], rw_path[128], ro_path[128];

static void setup(unsigned max_rw, unsigned max_ro)
{
	memset(&ctx, 0, sizeof(ctx));
	ck_assert_int_eq(evloop_create(&ctx.loop), 0);
	ctx.max_clients = max_rw;
	ctx.max_ro_clients = max_ro;
	vmms_log_level = LOG_ERR_;
	snprintf(dir, sizeof(dir), "/tmp/vmms-server-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(rw_path, sizeof(rw_path), "%s/rw", dir);
	snprintf(ro_path, sizeof(ro_path), "%s/ro", dir);
	ck_assert_int_eq(server_listen(&ctx, rw_path, 0600, false), 0);
	ck_assert_int_eq(server_listen(&ctx, ro_path, 0666, true), 0);
}

static void teardown(void)
{
	server_shutdown(&ctx);
	loop_free_deferred();
	evloop_destroy(ctx.loop);
	rmdir(dir);
}

/* One turn of the main loop; returns how many events were ready. */
static int pump(void)
{
	int n = evloop_run_once(ctx.loop, 0);

	server_reap(&ctx);
	loop_free_deferred();
	return n < 0 ? 0 : n;
}

static void pump_n(int n)
{
	while (n--)
		pump();
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1; /* out of fds: the EMFILE test wants that */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_ping(int fd)
{
	struct vmms_buf b = {0};
	struct vmms_header h = {VMMS_KEEPALIVE_PROG,
				VMMS_KEEPALIVE_VERS,
				VMMS_KEEPALIVE_PING,
				VMMS_MESSAGE,
				0,
				VMMS_OK};

	ck_assert_int_eq(rpc_encode(&b, &h, NULL, NULL), 0);
	ck_assert_int_eq(send(fd, b.data, b.len, MSG_NOSIGNAL), (ssize_t)b.len);
	buf_free(&b);
}

/* The server answers a PING on fd with a PONG (within a few loop turns). */
static bool served(int fd)
{
	uint8_t buf[64];

	send_ping(fd);
	for (int i = 0; i < 100; i++) {
		pump();
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n >= 4 + VMMS_HEADER_LEN)
			return rpc_packet_len(buf) == (uint32_t)n;
		usleep(1000);
	}
	return false;
}

/* The peer closed fd (the server dropped that client). */
static bool dropped(int fd)
{
	char c;

	for (int i = 0; i < 100; i++) {
		pump();
		if (recv(fd, &c, 1, MSG_DONTWAIT) == 0)
			return true;
		usleep(1000);
	}
	return false;
}

START_TEST(a_full_read_only_socket_leaves_the_read_write_one_serving)
{
	int ro[20], rw[3];

	setup(3, 4);
	for (int i = 0; i < 20; i++) {
		ro[i] = connect_to(ro_path);
		ck_assert_int_ge(ro[i], 0); /* the rest wait in the backlog */
	}
	pump_n(10);
	ck_assert_uint_eq(server_clients(true), 4);
	/* The read-only listener no longer wakes the loop up. */
	ck_assert_int_eq(pump(), 0);
	for (int i = 0; i < 3; i++) {
		rw[i] = connect_to(rw_path);
		ck_assert_int_ge(rw[i], 0);
	}
	pump_n(5);
	ck_assert_uint_eq(server_clients(false), 3);
	ck_assert(served(rw[2]));
	/* One read-only client leaves: one waiting connection takes its place. */
	close(ro[0]);
	pump_n(5);
	ck_assert_uint_eq(server_clients(true), 4);
	ck_assert(served(ro[4]));
	for (int i = 1; i < 20; i++)
		close(ro[i]);
	for (int i = 0; i < 3; i++)
		close(rw[i]);
	pump_n(10);
	ck_assert_uint_eq(server_clients(true), 0);
	ck_assert_uint_eq(server_clients(false), 0);
	teardown();
}
END_TEST

START_TEST(out_of_fds_pauses_accepting_instead_of_spinning)
{
	struct rlimit rl;
	int fds[64], n = 0, rw;

	setup(100, 100);
	rw = connect_to(rw_path);
	pump_n(2);
	ck_assert_uint_eq(server_clients(false), 1);
	/* Leave room for 3 more fds in this process (client and server ends). */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	int top = dup(0);
	close(top);
	struct rlimit low = {.rlim_cur = (rlim_t)top + 3, .rlim_max = rl.rlim_max};
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 64) {
		int fd = connect_to(ro_path);
		if (fd < 0)
			break;
		fds[n++] = fd;
	}
	ck_assert_int_ge(n, 1);
	pump_n(3);
	/* Paused: nothing is ready although connections wait to be accepted. */
	ck_assert_int_eq(pump(), 0);
	ck_assert_int_eq(pump(), 0);
	ck_assert(served(rw)); /* clients already in are still served */
	/* Fds back: after the pause, the waiting connections get in. */
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	usleep((ACCEPT_PAUSE_MS + 50) * 1000);
	server_tick(&ctx);
	pump_n(5);
	ck_assert_uint_ge(server_clients(true), 1);
	ck_assert(served(fds[n - 1]));
	while (n)
		close(fds[--n]);
	close(rw);
	teardown();
}
END_TEST

START_TEST(read_only_clients_may_not_announce_big_packets)
{
	uint8_t big[4] = {0, 0x20, 0, 0}; /* 2 MiB */
	int ro, rw;

	setup(4, 4);
	ro = connect_to(ro_path);
	rw = connect_to(rw_path);
	pump_n(3);
	ck_assert_int_eq(send(ro, big, 4, MSG_NOSIGNAL), 4);
	ck_assert_int_eq(send(rw, big, 4, MSG_NOSIGNAL), 4);
	ck_assert(dropped(ro));
	/* The read-write client may; its buffer holds only what arrived. */
	pump_n(5);
	ck_assert_uint_eq(server_clients(false), 1);
	ck_assert_ptr_nonnull(ctx.clients);
	ck_assert_uint_le(ctx.clients->rx.cap, 256 << 10);
	close(ro);
	close(rw);
	teardown();
}
END_TEST

START_TEST(a_client_that_does_not_read_is_paused_not_buffered)
{
	struct vmms_buf pings = {0};
	struct vmms_header h = {VMMS_KEEPALIVE_PROG,
				VMMS_KEEPALIVE_VERS,
				VMMS_KEEPALIVE_PING,
				VMMS_MESSAGE,
				0,
				VMMS_OK};
	int fd, sent_stalled = 0;
	size_t off = 0;

	setup(4, 4);
	fd = connect_to(ro_path);
	pump_n(2);
	for (int i = 0; i < 200000; i++)
		ck_assert_int_eq(rpc_encode(&pings, &h, NULL, NULL), 0);
	/* Write PINGs, never read the PONGs, until the server stops reading. */
	while (off < pings.len && sent_stalled < 20) {
		ssize_t n =
		    send(fd, pings.data + off, pings.len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			sent_stalled = 0;
		} else {
			pump_n(50); /* 64 packets a turn: far more than a socket buffer */
			sent_stalled++;
		}
	}
	ck_assert_int_eq(sent_stalled, 20); /* the server stopped reading */
	ck_assert_ptr_nonnull(ctx.clients);
	ck_assert(!ctx.clients->dead);
	ck_assert_uint_le(client_backlog(ctx.clients), CLIENT_TX_PAUSE + 4096);
	ck_assert_uint_ge(client_backlog(ctx.clients), CLIENT_TX_PAUSE);
	buf_free(&pings);
	close(fd);
	pump_n(3);
	ck_assert_uint_eq(server_clients(true), 0);
	teardown();
}
END_TEST

TEST_MAIN("vmms-server", a_full_read_only_socket_leaves_the_read_write_one_serving,
	  out_of_fds_pauses_accepting_instead_of_spinning,
	  read_only_clients_may_not_announce_big_packets,
	  a_client_that_does_not_read_is_paused_not_buffered)

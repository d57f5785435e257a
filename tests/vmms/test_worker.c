/* test_worker.c: a TEST FIXTURE, not a VM worker. It speaks only vmwp's
 * process contract (arguments, pid file, control socket, console socket,
 * exit codes) so tests/host/vmms.sh can exercise vmms' supervision on a
 * machine that cannot run a guest. It runs no guest at all. The lifecycle
 * tests with the real vmwp run in the emulated host.
 *
 * Behaviour: "status" answers "ok state=running|paused heartbeat=unknown
 * hostname=fixture-NAME ipv4=192.0.2.7;not-an-address ipv6=2001:DB8:0::7"; "stats" answers zero
 * counters for each --disk and --nic; "shutdown" answers ok
 * and exits 0 a moment later (as a guest power-off); "reboot"/"pause"/"resume" answer ok; "quit"
 * exits 0. The console echoes what it receives after a one-line banner. If the kernel file's first
 * line is "fail-fast" it prints an error and exits 1, like vmwp with an unusable backend; if it is
 * "slow-start MS" it waits MS milliseconds before it listens on its control socket, like a worker
 * that takes long to set a guest up. A domain named "ifaddrs-*" answers "ifaddrs" (per-NIC
 * addresses from KVP GET_IP_INFO) for its --nic MACs: the first NIC 198.51.100.7/24, 2001:db8::7/64
 * and a non-address, the others none; any other worker refuses "ifaddrs" as an unknown request,
 * like an older vmwp. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		fprintf(stderr, "test-worker: cannot listen on %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *name = "?", *kernel = NULL, *console = NULL, *control = NULL, *pidfile = NULL;
	int ndisks = 0, nnics = 0;
	char macs[8][18] = {{0}};
	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--disk"))
			ndisks++;
		else if (!strcmp(argv[i], "--nic")) {
			const char *m = strstr(argv[i + 1], "mac=");
			if (m && nnics < 8)
				snprintf(macs[nnics], sizeof(macs[0]), "%.17s", m + 4);
			nnics++;
		} else if (!strcmp(argv[i], "--name"))
			name = argv[++i];
		else if (!strcmp(argv[i], "--kernel"))
			kernel = argv[++i];
		else if (!strcmp(argv[i], "--console"))
			console = argv[++i];
		else if (!strcmp(argv[i], "--control"))
			control = argv[++i];
		else if (!strcmp(argv[i], "--pidfile"))
			pidfile = argv[++i];
	}
	if (!kernel || !console || strncmp(console, "unix:", 5) || !control || !pidfile) {
		fprintf(stderr,
			"test-worker: missing --kernel/--console unix:/--control/--pidfile\n");
		return 1;
	}
	FILE *k = fopen(kernel, "r");
	char first[64] = "";
	if (!k || (!fgets(first, sizeof(first), k) && ferror(k))) {
		fprintf(stderr, "test-worker: cannot read kernel %s\n", kernel);
		return 1;
	}
	fclose(k);
	if (!strncmp(first, "fail-fast", 9)) {
		fprintf(stderr, "test-worker: backend unusable (fixture asked to fail fast)\n");
		return 1;
	}
	if (!strncmp(first, "slow-start ", 11)) {
		long ms = strtol(first + 11, NULL, 10);
		if (ms > 0 && ms < 600000)
			usleep((useconds_t)ms * 1000);
	}
	FILE *p = fopen(pidfile, "w");
	if (!p)
		return 1;
	fprintf(p, "%d\n", (int)getpid());
	fclose(p);
	int ctl = listen_on(control), con = listen_on(console + 5), peer = -1;
	int paused = 0, exit_after_ms = -1;
	printf("test-worker %s up\n", name);
	fflush(stdout);
	for (;;) {
		struct pollfd fds[3] = {{ctl, POLLIN, 0}, {con, POLLIN, 0}, {peer, POLLIN, 0}};
		int n = poll(fds, 3, exit_after_ms >= 0 ? exit_after_ms : -1);
		if (n == 0 && exit_after_ms >= 0)
			return 0; /* the "guest" powered off */
		if (fds[0].revents & POLLIN) {
			int c = accept4(ctl, NULL, NULL, SOCK_CLOEXEC);
			char req[128] = "";
			ssize_t r = c >= 0 ? recv(c, req, sizeof(req) - 1, 0) : -1;
			if (r > 0) {
				req[strcspn(req, "\r\n")] = 0;
				char reply[512] = "ok\n";
				if (!strcmp(req, "status"))
					snprintf(
					    reply, sizeof(reply),
					    "ok state=%s heartbeat=unknown hostname=fixture-%s "
					    "ipv4=192.0.2.7;not-an-address ipv6=2001:DB8:0::7\n",
					    paused ? "paused" : "running", name);
				else if (!strcmp(req, "ifaddrs") && !strncmp(name, "ifaddrs-", 8)) {
					int n = snprintf(reply, sizeof(reply), "ok");
					for (int d = 0; d < nnics && d < 8; d++)
						n += snprintf(
						    reply + n, sizeof(reply) - (size_t)n, " %s=%s",
						    macs[d],
						    d ? ""
						      : "198.51.100.7/24,2001:DB8:0::7/64,junk/24");
					snprintf(reply + n, sizeof(reply) - (size_t)n, "\n");
				} else if (!strcmp(req, "stats")) {
					/* No guest, so no I/O: every counter is zero. */
					int n = snprintf(reply, sizeof(reply), "ok");
					for (int d = 0; d < ndisks && n < 200; d++)
						n += snprintf(reply + n, sizeof(reply) - (size_t)n,
							      " blk%d=0:0:0:0:0", d);
					for (int d = 0; d < nnics && n < 200; d++)
						n += snprintf(reply + n, sizeof(reply) - (size_t)n,
							      " net%d=0:0:0:0:0:0:0:0", d);
					snprintf(reply + n, sizeof(reply) - (size_t)n, "\n");
				} else if (!strcmp(req, "shutdown"))
					exit_after_ms = 300;
				else if (!strcmp(req, "pause"))
					paused = 1;
				else if (!strcmp(req, "resume"))
					paused = 0;
				else if (!strcmp(req, "quit")) {
					send(c, reply, strlen(reply), MSG_NOSIGNAL);
					return 0;
				} else if (strcmp(req, "reboot"))
					snprintf(reply, sizeof(reply),
						 "error: unknown request '%s'\n", req);
				send(c, reply, strlen(reply), MSG_NOSIGNAL);
			}
			if (c >= 0)
				close(c);
		}
		if (fds[1].revents & POLLIN) {
			int c = accept4(con, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0 && peer >= 0)
				close(c); /* one console client at a time */
			else if (c >= 0) {
				peer = c;
				char banner[128];
				int len = snprintf(banner, sizeof(banner),
						   "test-worker console of %s\r\n", name);
				send(peer, banner, (size_t)len, MSG_NOSIGNAL);
			}
		}
		if (peer >= 0 && (fds[2].revents & (POLLIN | POLLHUP))) {
			char buf[4096];
			ssize_t r = recv(peer, buf, sizeof(buf), 0);
			if (r <= 0) {
				close(peer);
				peer = -1;
			} else {
				send(peer, buf, (size_t)r, MSG_NOSIGNAL); /* echo */
			}
		}
	}
}

// SPDX-License-Identifier: MIT
/*
 * vmwp-ctl: send one request to a vmwp control socket and print the reply.
 *   vmwp-ctl SOCKET shutdown|reboot|pause|resume|status|kvp|ifaddrs|stats|quit
 * Exit status: 0 on an "ok" reply, 1 on an "error:" reply, 2 on usage or
 * connection errors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 10000

static const char *const requests[] = {"shutdown", "reboot",  "pause", "resume", "status",
				       "kvp",	   "ifaddrs", "stats", "quit"};

static void usage(FILE *f)
{
	fprintf(
	    f, "Usage: vmwp-ctl SOCKET shutdown|reboot|pause|resume|status|kvp|ifaddrs|stats|quit\n"
	       "Sends one request to vmwp's control socket (--control PATH) and prints the\n"
	       "reply. Exit status: 0 on 'ok', 1 on 'error:', 2 on usage or connection errors.\n");
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char line[300];
	char reply[8192];
	size_t len = 0;
	int known = 0;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
	}
	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (!strcmp(argv[2], requests[i]))
			known = 1;
	if (!known) {
		fprintf(stderr, "vmwp-ctl: unknown request '%s'\n", argv[2]);
		usage(stderr);
		return 2;
	}
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vmwp-ctl: socket path too long: %s\n", argv[1]);
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "vmwp-ctl: socket: %s\n", strerror(errno));
		return 2;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "vmwp-ctl: cannot connect to %s: %s\n", argv[1], strerror(errno));
		close(fd);
		return 2;
	}
	snprintf(line, sizeof(line), "%s\n", argv[2]);
	if (write_all(fd, line, strlen(line)) < 0) {
		fprintf(stderr, "vmwp-ctl: cannot send to %s: %s\n", argv[1], strerror(errno));
		close(fd);
		return 2;
	}
	while (len < sizeof(reply) - 1 && !memchr(reply, '\n', len)) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, REPLY_TIMEOUT_MS);
		ssize_t n;

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			fprintf(stderr, "vmwp-ctl: no reply from %s within %d s\n", argv[1],
				REPLY_TIMEOUT_MS / 1000);
			close(fd);
			return 2;
		}
		n = read(fd, reply + len, sizeof(reply) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "vmwp-ctl: cannot read from %s: %s\n", argv[1],
				strerror(errno));
			close(fd);
			return 2;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	reply[len] = '\0';
	reply[strcspn(reply, "\r\n")] = '\0';
	if (!len) {
		fprintf(stderr, "vmwp-ctl: %s closed the connection without a reply\n", argv[1]);
		return 2;
	}
	printf("%s\n", reply);
	if (!strncmp(reply, "ok", 2) && (reply[2] == '\0' || reply[2] == ' '))
		return 0;
	if (!strncmp(reply, "error:", 6))
		return 1;
	fprintf(stderr, "vmwp-ctl: unexpected reply\n");
	return 2;
}

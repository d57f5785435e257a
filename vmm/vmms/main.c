/* main.c: vmms command line, start-up and the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "domain.h"
#include "log.h"
#include "server.h"
#include "storage.h"
#include "store.h"
#include "worker.h"

#ifndef LINHV_VERSION_STRING
#define LINHV_VERSION_STRING "0.1.0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmms [OPTION]...\n"
		"The linhv VM management service: keeps domain definitions, runs one vmwp\n"
		"worker per running domain and serves libvirt's RPC protocol, so that\n"
		"  virsh -c linhv:///system ...\n"
		"manages the VMs.\n"
		"\n"
		"  --state-dir DIR     definitions and autostart marks (default /var/lib/linhv)\n"
		"  --run-dir DIR       worker pid files, sockets and logs (default /run/linhv)\n"
		"  --socket-dir DIR    where virtlinhvd-sock and virtlinhvd-sock-ro are created\n"
		"                      (default /run/libvirt; clients then need ?socket=DIR/...)\n"
		"  --worker PATH       the vmwp binary (default: next to vmms, else in PATH)\n"
		"  --backend NAME      passed to every worker as --backend (auto|linhv|kvm)\n"
		"  --start-timeout SEC how long a worker may take to answer on its control\n"
		"                      socket when a domain starts (default 10)\n"
		"  --max-clients N     clients on the read-write socket at once (default 5000)\n"
		"  --max-ro-clients N  clients on the read-only socket at once (default 64)\n"
		"  --foreground        stay in the foreground and log to stderr\n"
		"  --verbose           debug logging\n"
		"  --help, --version\n");
}

enum {
	OPT_STATE = 256,
	OPT_RUN,
	OPT_SOCKET,
	OPT_WORKER,
	OPT_BACKEND,
	OPT_TIMEOUT,
	OPT_MAX_CLIENTS,
	OPT_MAX_RO_CLIENTS
};

static void load_one(const char *name, const char *xml, void *opaque)
{
	struct vmms *v = opaque;
	struct vmms_err err = {0};
	struct dom_def *def = dom_def_parse(xml, &err);
	if (!def) {
		log_err("ignoring stored definition %s/domains/%s.xml: %s", v->state_dir, name,
			err.msg);
		return;
	}
	if (strcmp(def->name, name) || domain_by_name(def->name) || domain_by_uuid(def->uuid)) {
		log_err("ignoring stored definition %s.xml: name or uuid clashes", name);
		dom_def_free(def);
		return;
	}
	struct domain *d = domain_add(def);
	if (d)
		d->autostart = store_get_autostart(v->state_dir, name);
}

/* Every client costs an fd: take what the hard limit allows, and say when
 * the client limits can still run out of fds (accepting then pauses). */
static void fd_limit(const struct vmms *v)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Each running domain holds a few fds too (pidfd, control, console). */
	if (rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)v->max_clients + v->max_ro_clients + 256 > rl.rlim_cur)
		log_warn("%u + %u clients may exceed the fd limit (%llu): past it, vmms stops "
			 "accepting for a while",
			 v->max_clients, v->max_ro_clients, (unsigned long long)rl.rlim_cur);
}

static int make_dir(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int daemonize(const char *run_dir)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	setsid();
	char log[PATH_MAX];
	snprintf(log, sizeof(log), "%s/vmms.log", run_dir);
	int null = open("/dev/null", O_RDWR);
	int lf = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	if (lf >= 0)
		dup2(lf, 2);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"state-dir", required_argument, NULL, OPT_STATE},
	    {"run-dir", required_argument, NULL, OPT_RUN},
	    {"socket-dir", required_argument, NULL, OPT_SOCKET},
	    {"worker", required_argument, NULL, OPT_WORKER},
	    {"backend", required_argument, NULL, OPT_BACKEND},
	    {"start-timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
	    {"max-ro-clients", required_argument, NULL, OPT_MAX_RO_CLIENTS},
	    {"foreground", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	static struct vmms v = {
	    .state_dir = "/var/lib/linhv",
	    .run_dir = "/run/linhv",
	    .socket_dir = "/run/libvirt",
	    .start_timeout_ms = 10000,
	    .max_clients = MAX_CLIENTS_DEFAULT,
	    .max_ro_clients = MAX_RO_CLIENTS_DEFAULT,
	    .next_id = 1,
	    .epfd = -1,
	};
	vmms_ctx = &v;
	const char *worker = NULL;
	bool foreground = false;
	int c;
	while ((c = getopt_long(argc, argv, "fvh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE:
			v.state_dir = optarg;
			break;
		case OPT_RUN:
			v.run_dir = optarg;
			break;
		case OPT_SOCKET:
			v.socket_dir = optarg;
			break;
		case OPT_WORKER:
			worker = optarg;
			break;
		case OPT_BACKEND:
			if (strcmp(optarg, "auto") && strcmp(optarg, "linhv") &&
			    strcmp(optarg, "kvm")) {
				fprintf(stderr,
					"vmms: --backend must be auto, linhv or kvm, not '%s'\n",
					optarg);
				return 2;
			}
			v.backend = optarg;
			break;
		case OPT_TIMEOUT: {
			char *end;
			double s = strtod(optarg, &end);
			if (*end || s <= 0 || s > 3600) {
				fprintf(stderr,
					"vmms: --start-timeout wants seconds (0-3600], got '%s'\n",
					optarg);
				return 2;
			}
			v.start_timeout_ms = (int)(s * 1000);
			break;
		}
		case OPT_MAX_CLIENTS:
		case OPT_MAX_RO_CLIENTS: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (*end || !*optarg || n < 1 || n > 100000) {
				fprintf(stderr, "vmms: --%s wants a number 1-100000, got '%s'\n",
					c == OPT_MAX_CLIENTS ? "max-clients" : "max-ro-clients",
					optarg);
				return 2;
			}
			if (c == OPT_MAX_CLIENTS)
				v.max_clients = (unsigned)n;
			else
				v.max_ro_clients = (unsigned)n;
			break;
		}
		case 'f':
			foreground = true;
			break;
		case 'v':
			vmms_log_level = LOG_DEBUG_;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vmms (linhv) %s\n", LINHV_VERSION_STRING);
			return 0;
		default:
			fprintf(stderr, "Try 'vmms --help' for more information.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmms: unexpected argument '%s'\nTry 'vmms --help'.\n",
			argv[optind]);
		return 2;
	}
	if (worker && access(worker, X_OK) < 0) {
		fprintf(stderr, "vmms: --worker %s: %s\n", worker, strerror(errno));
		return 2;
	}
	/* Worker sockets live in the run dir and sun_path is 108 bytes. */
	if (strlen(v.run_dir) > 108 - DOM_NAME_MAX - 10 || strlen(v.socket_dir) > 80) {
		fprintf(stderr,
			"vmms: --run-dir or --socket-dir path is too long for UNIX sockets\n");
		return 2;
	}

	umask(022);
	if (store_init(v.state_dir) < 0) {
		fprintf(stderr, "vmms: cannot create state dir %s: %s\n", v.state_dir,
			strerror(errno));
		return 1;
	}
	if (make_dir(v.run_dir, 0700) < 0 || make_dir(v.socket_dir, 0755) < 0) {
		fprintf(stderr, "vmms: cannot create %s or %s: %s\n", v.run_dir, v.socket_dir,
			strerror(errno));
		return 1;
	}
	/* One vmms per run dir: two would fight over the same workers. */
	char lockpath[PATH_MAX];
	snprintf(lockpath, sizeof(lockpath), "%s/vmms.lock", v.run_dir);
	int lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "vmms: another vmms is already running with run dir %s\n",
			v.run_dir);
		return 1;
	}
	if (!foreground && daemonize(v.run_dir) < 0) {
		fprintf(stderr, "vmms: cannot daemonize: %s\n", strerror(errno));
		return 1;
	}
	if (ftruncate(lockfd, 0) == 0)
		dprintf(lockfd, "%d\n", (int)getpid());

	xmlInitParser();
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	struct watch sigw = {.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)};
	v.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (v.epfd < 0 || sigw.fd < 0 || loop_add(&sigw, EPOLLIN) < 0) {
		log_err("epoll/signalfd: %s", strerror(errno));
		return 1;
	}
	worker_resolve(worker);
	if (!v.worker_path[0])
		log_warn("vmwp not found next to vmms nor in PATH: domains cannot start until it "
			 "appears (or use --worker)");

	int n = store_load_all(v.state_dir, load_one, &v);
	log_info("loaded %d domain definition%s from %s", n < 0 ? 0 : n, n == 1 ? "" : "s",
		 v.state_dir);
	worker_adopt_all();
	storage_load_all(v.state_dir);

	fd_limit(&v);
	char rw[PATH_MAX], ro[PATH_MAX];
	snprintf(rw, sizeof(rw), "%s/virtlinhvd-sock", v.socket_dir);
	snprintf(ro, sizeof(ro), "%s/virtlinhvd-sock-ro", v.socket_dir);
	int inherited = server_listen_inherited();
	if (inherited == 0 &&
	    (server_listen(rw, 0600, false) < 0 || server_listen(ro, 0666, true) < 0)) {
		log_err("cannot listen on %s / %s: %s%s", rw, ro, strerror(errno),
			errno == EADDRINUSE ? " (another daemon is serving it)" : "");
		server_shutdown();
		return 1;
	}
	if (inherited)
		log_info("vmms %s listening on %d socket(s) from systemd, worker %s",
			 LINHV_VERSION_STRING, inherited,
			 v.worker_path[0] ? v.worker_path : "(not found)");
	else
		log_info("vmms %s listening on %s (read-only: %s), worker %s", LINHV_VERSION_STRING,
			 rw, ro, v.worker_path[0] ? v.worker_path : "(not found)");
	worker_autostart_all();

	int64_t last_tick = now_ms();
	while (!v.quit) {
		struct epoll_event evs[64];
		int ne = epoll_wait(v.epfd, evs, 64, 1000);
		if (ne < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < ne; i++) {
			struct watch *w = evs[i].data.ptr;
			if (w == &sigw) {
				struct signalfd_siginfo si;
				while (read(sigw.fd, &si, sizeof(si)) == sizeof(si)) {
					log_info(
					    "received %s: exiting; running domains keep running "
					    "and are re-adopted at the next start",
					    strsignal((int)si.ssi_signo));
					v.quit = true;
				}
				continue;
			}
			w->cb(w, evs[i].events);
		}
		if (now_ms() - last_tick >= 1000) {
			last_tick = now_ms();
			server_tick();
			worker_tick();
		}
		server_reap();
		loop_free_deferred();
	}
	server_shutdown();
	loop_free_deferred();
	while (v.domains)
		domain_remove(v.domains); /* only memory: workers keep running */
	loop_free_deferred();
	storage_free_all();
	xmlCleanupParser();
	close(v.epfd);
	close(sigw.fd);
	unlink(lockpath);
	close(lockfd);
	return 0;
}

/* worker.c: see worker.h. */
#include "worker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "ctl.h"
#include "evloop.h"
#include "job.h"
#include "events.h"
#include "log.h"
#include "store.h"

#define CONTROL_TIMEOUT_MS 5000
#define BOOTS_POLL_MS 2000 /* how soon a guest-initiated reboot becomes an event */
#define STOP_WAIT_MS 5000
#define RESTART_BURST_MS 60000
#define RESTART_BURST_MAX 5
#define START_POLL_MS 20

void worker_path(const struct domain *d, const char *suffix, char *out, size_t n)
{
	snprintf(out, n, "%s/%s.%s", d->v->run_dir, d->def->name, suffix);
}

static bool executable(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

void worker_resolve(struct vmms *v, const char *explicit_path)
{
	char *out = v->worker_path;
	size_t n = sizeof(v->worker_path);
	out[0] = 0;
	if (explicit_path) {
		/* Absolute, so re-adoption can compare it with /proc/PID/cmdline. */
		char real[PATH_MAX];
		const char *p = realpath(explicit_path, real) ? real : explicit_path;
		if (strlen(p) < n)
			memcpy(out, p, strlen(p) + 1);
		return;
	}
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len > 0) {
		self[len] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		/* Installed side by side, or the build tree (build/vmm/vmms/vmms
		 * next to build/vmm/vmwp or build/vmm/vmwp/vmwp). */
		const char *cands[] = {"%s/vmwp", "%s/../vmwp", "%s/../vmwp/vmwp"};
		for (size_t i = 0; i < 3; i++) {
			char p[PATH_MAX + 32];
			snprintf(p, sizeof(p), cands[i], self);
			if (executable(p)) {
				char real[PATH_MAX];
				if (realpath(p, real) && strlen(real) < n)
					memcpy(out, real, strlen(real) + 1);
				return;
			}
		}
	}
	const char *path = getenv("PATH");
	if (!path)
		return;
	char *copy = strdup(path), *save = NULL;
	for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir;
	     dir = strtok_r(NULL, ":", &save)) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/vmwp", dir);
		if (executable(p)) {
			snprintf(out, n, "%s", p);
			break;
		}
	}
	free(copy);
}

/* Appends a timestamped vmms note to the domain's log file. */
static void note(const struct domain *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(const struct domain *d, const char *fmt, ...)
{
	char p[PATH_MAX];
	worker_path(d, "log", p, sizeof(p));
	FILE *f = fopen(p, "ae");
	if (!f)
		return;
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "vmms %s: ", stamp);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

/* Last line the worker itself wrote to its log after byte offset FROM. */
static void last_worker_line(const struct domain *d, off_t from, char *out, size_t n)
{
	char p[PATH_MAX];
	out[0] = 0;
	worker_path(d, "log", p, sizeof(p));
	char *all = read_file(p, 16 << 20);
	if (!all)
		return;
	size_t len = strlen(all);
	char *s = all + ((size_t)from <= len ? (size_t)from : len);
	for (char *save = NULL, *line = strtok_r(s, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "vmms ", 5) && line[strspn(line, " \t\r")])
			snprintf(out, n, "%s", line);
	}
	free(all);
}

static void remove_run_files(const struct domain *d)
{
	static const char *const sfx[] = {"pid", "ctl", "console", "id", "xml"};
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		char p[PATH_MAX];
		worker_path(d, sfx[i], p, sizeof(p));
		unlink(p);
	}
}

static int connect_unix(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* One request, one reply line; returns 0 on a reply, -1 with errno. */
static int control_roundtrip(const char *ctl, const char *req, char *reply, size_t n,
			     int timeout_ms)
{
	int fd = connect_unix(ctl, timeout_ms);
	if (fd < 0)
		return -1;
	char line[128];
	int len = snprintf(line, sizeof(line), "%s\n", req);
	if (send(fd, line, (size_t)len, MSG_NOSIGNAL) != len) {
		int e = errno;
		close(fd);
		errno = e ? e : EIO;
		return -1;
	}
	size_t got = 0;
	while (got + 1 < n) {
		ssize_t r = recv(fd, reply + got, 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : ECONNRESET;
			close(fd);
			errno = e == EAGAIN ? ETIMEDOUT : e;
			return -1;
		}
		if (reply[got] == '\n')
			break;
		got++;
	}
	reply[got] = 0;
	if (got && reply[got - 1] == '\r')
		reply[got - 1] = 0;
	close(fd);
	return 0;
}

int worker_control(struct domain *d, const char *req, char *reply, size_t n, struct vmms_err *err)
{
	char ctl[PATH_MAX], buf[512];
	if (!reply) {
		reply = buf;
		n = sizeof(buf);
	}
	worker_path(d, "ctl", ctl, sizeof(ctl));
	if (control_roundtrip(ctl, req, reply, n, CONTROL_TIMEOUT_MS) < 0)
		return vmms_err_set(err, VIR_ERR_OPERATION_FAILED,
				    "cannot reach the worker of domain '%s' (%s): %s", d->def->name,
				    ctl, strerror(errno));
	if (!strncmp(reply, "ok", 2))
		return 0;
	const char *why = !strncmp(reply, "error:", 6) ? reply + 6 : reply;
	while (*why == ' ')
		why++;
	return vmms_err_set(err, VIR_ERR_OPERATION_FAILED,
			    "the worker of domain '%s' refused '%s': %s", d->def->name, req, why);
}

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* ---- exit handling ---- */

static void on_pidfd(struct watch *w, uint32_t events);

static void start_watch(struct domain *d)
{
	d->pidfd.cb = on_pidfd;
	d->pidfd.fd = pidfd_open_(d->pid);
	if (d->pidfd.fd >= 0) {
		fcntl(d->pidfd.fd, F_SETFD, FD_CLOEXEC);
		if (loop_add(d->v->loop, &d->pidfd, EPOLLIN) < 0) {
			close(d->pidfd.fd);
			d->pidfd.fd = -1;
		}
	}
	/* Without pidfds, worker_tick() polls the pid instead. */
}

static void forget_worker(struct domain *d)
{
	ctl_cancel(d->boots_poll);
	d->boots_poll = NULL;
	d->boots = 0;
	d->reboot_expected = false;
	if (d->pidfd.fd >= 0) {
		loop_del(&d->pidfd);
		close(d->pidfd.fd);
		d->pidfd.fd = -1;
	}
	console_domain_gone(d);
	remove_run_files(d);
	d->pid = 0;
	d->id = -1;
	dom_def_free(d->live);
	d->live = NULL;
}

static void restart_after(struct domain *d, const char *why)
{
	int64_t now = now_ms();
	if (now - d->burst_ms > RESTART_BURST_MS) {
		d->burst_ms = now;
		d->restarts = 0;
	}
	if (++d->restarts > RESTART_BURST_MAX) {
		log_err("domain %s: %s; not restarting: %d restarts within %d s", d->def->name, why,
			RESTART_BURST_MAX, RESTART_BURST_MS / 1000);
		note(d, "not restarting: too many restarts");
		domain_set_state(d, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_FAILED);
		return;
	}
	log_info("domain %s: %s; restarting as configured", d->def->name, why);
	worker_start_internal(d);
}

/* Decides the domain's new state from how its worker ended. KNOWN is false
 * for re-adopted workers, whose exit status only init gets to see. */
static void worker_ended(struct domain *d, bool known, int status)
{
	struct dom_def *live = d->live ? d->live : d->def;
	enum dom_action on_poweroff = live->on_poweroff, on_crash = live->on_crash;
	bool destroying = d->destroying, shutting_down = d->shutting_down;
	char why[256], line[512];
	last_worker_line(d, 0, line, sizeof(line));
	forget_worker(d);
	d->destroying = d->shutting_down = false;

	if (destroying) {
		note(d, "worker stopped (domain destroyed)");
		log_info("domain %s: destroyed", d->def->name);
		domain_set_state(d, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED);
		return;
	}
	if (!known) {
		note(d, "re-adopted worker exited; exit status unknown");
		log_warn("domain %s: re-adopted worker exited (exit status not available)",
			 d->def->name);
		if (shutting_down)
			events_lifecycle(d, VIR_DOMAIN_EVENT_SHUTDOWN,
					 VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED);
		domain_set_state(d, VIR_DOMAIN_SHUTOFF,
				 shutting_down ? VIR_DOMAIN_SHUTOFF_SHUTDOWN
					       : VIR_DOMAIN_SHUTOFF_UNKNOWN);
		return;
	}
	if (WIFEXITED(status)) {
		int code = WEXITSTATUS(status);
		switch (code) {
		case VMWP_EXIT_POWEROFF:
		case VMWP_EXIT_REBOOT:
			note(d, "worker exited %d: guest %s", code,
			     code ? "rebooted (on_reboot=destroy)" : "powered off");
			log_info("domain %s: guest %s", d->def->name,
				 code ? "rebooted, on_reboot=destroy" : "powered off");
			/* The shutdown event says who asked: us (virsh shutdown) or
			 * the guest itself. */
			events_lifecycle(d, VIR_DOMAIN_EVENT_SHUTDOWN,
					 shutting_down ? VIR_DOMAIN_EVENT_SHUTDOWN_HOST
						       : VIR_DOMAIN_EVENT_SHUTDOWN_GUEST);
			if (code == VMWP_EXIT_POWEROFF && on_poweroff == ACT_RESTART &&
			    !shutting_down) {
				domain_set_state(d, VIR_DOMAIN_SHUTOFF,
						 VIR_DOMAIN_SHUTOFF_SHUTDOWN);
				restart_after(d, "guest powered off");
				return;
			}
			domain_set_state(d, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SHUTDOWN);
			return;
		case VMWP_EXIT_CRASH:
			snprintf(why, sizeof(why), "guest crashed (worker exit 3)");
			break;
		default:
			note(d, "worker failed with exit status %d", code);
			log_err("domain %s: worker failed with exit status %d%s%s", d->def->name,
				code, line[0] ? ": " : "", line);
			domain_set_state(d, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_FAILED);
			return;
		}
	} else {
		snprintf(why, sizeof(why), "worker killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	}
	note(d, "%s; on_crash=%s", why, dom_action_name(on_crash));
	log_err("domain %s: %s; on_crash=%s", d->def->name, why, dom_action_name(on_crash));
	switch (on_crash) {
	case ACT_RESTART:
		domain_set_state(d, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_CRASHED);
		restart_after(d, why);
		break;
	case ACT_PRESERVE:
		domain_set_state(d, VIR_DOMAIN_CRASHED,
				 WIFEXITED(status) ? VIR_DOMAIN_CRASHED_PANICKED
						   : VIR_DOMAIN_CRASHED_UNKNOWN);
		break;
	default:
		domain_set_state(d, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_CRASHED);
	}
}

/* A destroy job waiting for this exit ends (and removes a transient
 * domain); otherwise a transient domain that stopped is gone (crashed ones
 * wait for destroy). */
static void after_exit(struct domain *d)
{
	if (job_worker_exited(d))
		return;
	/* A job still runs (an on_crash restart): its end decides. */
	if (d->job)
		return;
	if (d->transient && !domain_active(d) && d->state != VIR_DOMAIN_CRASHED) {
		log_info("domain %s: transient domain stopped: removed", d->def->name);
		domain_remove(d);
	}
}

/* Returns true (and handles it) if D's worker has exited. */
static bool check_exit(struct domain *d)
{
	if (d->pid <= 0)
		return false;
	if (d->own_child) {
		int status;
		pid_t r = waitpid(d->pid, &status, WNOHANG);
		if (r == d->pid) {
			worker_ended(d, true, status);
			after_exit(d);
			return true;
		}
		if (r == 0)
			return false;
		/* ECHILD: somebody else reaped it; treat as an unknown exit. */
	} else if (kill(d->pid, 0) == 0 || errno == EPERM) {
		/* A pidfd that fired means it is gone even if the pid was reused. */
		if (d->pidfd.fd < 0)
			return false;
		struct pollfd p = {.fd = d->pidfd.fd, .events = POLLIN};
		if (poll(&p, 1, 0) <= 0)
			return false;
	}
	worker_ended(d, false, 0);
	after_exit(d);
	return true;
}

static void on_pidfd(struct watch *w, uint32_t events)
{
	(void)events;
	struct domain *d = (struct domain *)((char *)w - offsetof(struct domain, pidfd));
	check_exit(d);
}

/* boots= from a status reply, or 0 (an older worker). It comes before the
 * fields the guest writes (hostname...), so the first one is the worker's. */
static unsigned long long parse_boots(const char *reply)
{
	const char *b = !strncmp(reply, "ok ", 3) ? strstr(reply, " boots=") : NULL;
	return b ? strtoull(b + 7, NULL, 10) : 0;
}

/* The worker's answer to the reboot poll: boots= grew, the guest rebooted. */
static void boots_done(void *opaque, int rc, const char *reply, int e)
{
	(void)e;
	struct domain *d = opaque;
	d->boots_poll = NULL;
	unsigned long long n = rc == 0 ? parse_boots(reply) : 0;
	if (!n)
		return; /* an older worker, or a busy one: next time */
	if (d->boots && n > d->boots) {
		log_info("domain %s: the guest rebooted in place (boot %llu)", d->def->name, n);
		if (d->reboot_expected)
			d->reboot_expected = false; /* announced when we asked */
		else
			events_reboot(d);
	}
	d->boots = n;
}

/* Every BOOTS_POLL_MS, one non-blocking status request per running worker. */
static void poll_boots(struct domain *d)
{
	int64_t now = now_ms();
	if (d->boots_poll || now - d->boots_poll_ms < BOOTS_POLL_MS ||
	    (d->state != VIR_DOMAIN_RUNNING && d->state != VIR_DOMAIN_PAUSED))
		return;
	d->boots_poll_ms = now;
	char ctl[PATH_MAX];
	worker_path(d, "ctl", ctl, sizeof(ctl));
	d->boots_poll = ctl_request(d->v->loop, ctl, "status", BOOTS_POLL_MS, boots_done, d);
}

void worker_tick(struct vmms *v)
{
	for (struct domain *d = v->domains; d; d = d->next) {
		if (d->pid > 0 && d->pidfd.fd < 0)
			check_exit(d);
		if (d->pid > 0)
			poll_boots(d);
	}
}

/* ---- start ---- */

struct argv {
	char *v[128];
	int n;
};

static void arg(struct argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argv *a, const char *fmt, ...)
{
	if (a->n >= (int)(sizeof(a->v) / sizeof(a->v[0])) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&a->v[a->n], fmt, ap) >= 0)
		a->n++;
	va_end(ap);
	a->v[a->n] = NULL;
}

static void build_argv(const struct domain *d, const struct dom_def *def, struct argv *a)
{
	char uuid[37], p[PATH_MAX];
	uuid_format(def->uuid, uuid);
	arg(a, "%s", d->v->worker_path);
	arg(a, "--name");
	arg(a, "%s", def->name);
	arg(a, "--uuid");
	arg(a, "%s", uuid);
	arg(a, "--kernel");
	arg(a, "%s", def->kernel);
	if (def->initrd) {
		arg(a, "--initrd");
		arg(a, "%s", def->initrd);
	}
	if (def->cmdline) {
		arg(a, "--cmdline");
		arg(a, "%s", def->cmdline);
	}
	arg(a, "--memory");
	arg(a, "%lluM", (def->memory_kib + 1023) / 1024);
	arg(a, "--cpus");
	arg(a, "%u", def->vcpus);
	for (size_t i = 0; i < def->ndisks; i++) {
		const struct dom_disk *dk = &def->disks[i];
		arg(a, "--disk");
		arg(a, "%s%s%s%s%s", dk->file, dk->readonly ? ",readonly" : "",
		    dk->serial ? ",serial=" : "", dk->serial ? dk->serial : "",
		    dk->cache == CACHE_NONE	   ? ",cache=none"
		    : dk->cache == CACHE_WRITEBACK ? ",cache=writeback"
						   : "");
	}
	for (size_t i = 0; i < def->nnics; i++) {
		const struct dom_nic *nic = &def->nics[i];
		arg(a, "--nic");
		if (nic->type == NIC_BRIDGE && nic->tap)
			arg(a, "tap=%s,bridge=%s,mac=%s", nic->tap, nic->bridge, nic->mac);
		else if (nic->type == NIC_BRIDGE)
			arg(a, "bridge=%s,mac=%s", nic->bridge, nic->mac);
		else
			arg(a, "tap=%s,mac=%s", nic->tap, nic->mac);
	}
	worker_path(d, "console", p, sizeof(p));
	arg(a, "--console");
	arg(a, "unix:%s", p);
	worker_path(d, "ctl", p, sizeof(p));
	arg(a, "--control");
	arg(a, "%s", p);
	worker_path(d, "pid", p, sizeof(p));
	arg(a, "--pidfile");
	arg(a, "%s", p);
	if (d->v->backend) {
		arg(a, "--backend");
		arg(a, "%s", d->v->backend);
	}
	if (def->clock == CLOCK_LOCALTIME) {
		arg(a, "--rtc-base");
		arg(a, "localtime");
	} else if (def->clock == CLOCK_ABSOLUTE) {
		time_t t = (time_t)def->clock_start;
		struct tm tm;
		gmtime_r(&t, &tm);
		arg(a, "--rtc-base");
		arg(a, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
	/* vmwp reboots the guest itself unless told to exit instead. */
	if (def->on_reboot == ACT_DESTROY)
		arg(a, "--no-reboot");
}

static int check_readable(const char *what, const char *path, const char *name,
			  struct vmms_err *err)
{
	if (access(path, R_OK) == 0)
		return 0;
	return vmms_err_set(err, VIR_ERR_OPERATION_FAILED,
			    "cannot start domain '%s': %s '%s' is not readable: %s", name, what,
			    path, strerror(errno));
}

static pid_t spawn(struct argv *a, int logfd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* Child: own session so the worker outlives vmms restarts and is not hit by
	 * signals aimed at vmms' process group. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0)
		dup2(null, 0);
	dup2(logfd, 1);
	dup2(logfd, 2);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	execv(a->v[0], a->v);
	dprintf(2, "vmms: cannot execute %s: %s\n", a->v[0], strerror(errno));
	_exit(127);
}

static void write_small(const char *path, const char *text)
{
	if (store_write_atomic(path, text, strlen(text)) < 0)
		log_warn("cannot write %s: %s", path, strerror(errno));
}

/* The worker came up (or failed to): the start job ends. */
static void start_fail(struct job *j, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void start_fail(struct job *j, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char msg[sizeof(j->err.msg)];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	remove_run_files(j->d);
	vmms_err_set(&j->err, code, "%s", msg);
	job_done(j, -1);
}

static void start_paused(void *opaque, int rc, const char *reply, int e)
{
	struct job *j = opaque;
	struct domain *d = j->d;
	j->ctl = NULL;
	if (rc < 0 || strncmp(reply, "ok", 2)) {
		vmms_err_set(&j->err, VIR_ERR_OPERATION_FAILED,
			     "the worker of domain '%s' could not pause: %s", d->def->name,
			     rc < 0 ? strerror(e) : reply);
		d->destroying = true; /* its exit then reads "destroyed" */
		kill(d->pid, SIGKILL);
		job_done(j, -1);
		return;
	}
	domain_set_state(d, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER);
	job_done(j, 0);
}

static void start_up(struct job *j)
{
	struct domain *d = j->d;
	evloop_del_timer(j->timer);
	j->timer = NULL;
	evloop_del_fd(d->v->loop, j->pidfd);
	close(j->pidfd);
	j->pidfd = -1;
	d->pid = j->pid;
	d->own_child = true;
	d->destroying = d->shutting_down = false;
	d->started_ms = now_ms();
	d->id = d->v->next_id++;
	dom_def_free(d->live);
	d->live = j->def;
	j->def = NULL;
	start_watch(d);
	char p[PATH_MAX], text[32];
	worker_path(d, "id", p, sizeof(p));
	snprintf(text, sizeof(text), "%d\n", d->id);
	write_small(p, text);
	char *xml = dom_def_format(d->live, -1);
	if (xml) {
		worker_path(d, "xml", p, sizeof(p));
		write_small(p, xml);
		free(xml);
	}
	domain_set_state(d, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
	note(d, "worker %d running, domain id %d", (int)d->pid, d->id);
	log_info("domain %s: started, worker pid %d, id %d", d->def->name, (int)d->pid, d->id);
	if (!(j->flags & VIR_DOMAIN_START_PAUSED)) {
		job_done(j, 0);
		return;
	}
	worker_path(d, "ctl", p, sizeof(p));
	j->ctl = ctl_request(d->v->loop, p, "pause", CONTROL_TIMEOUT_MS, start_paused, j);
	if (!j->ctl)
		start_paused(j, -1, "", errno);
}

static void start_status(void *opaque, int rc, const char *reply, int e)
{
	(void)e;
	struct job *j = opaque;
	j->ctl = NULL;
	if (rc == 0 && !strncmp(reply, "ok", 2)) {
		j->d->boots = parse_boots(reply); /* the base the reboot poll compares with */
		start_up(j);
	}
	/* else: not ready yet, the next tick asks again */
}

/* True (and the job ended) if the starting worker has exited. */
static bool start_exited(struct job *j)
{
	struct domain *d = j->d;
	int status;
	if (waitpid(j->pid, &status, WNOHANG) != j->pid)
		return false;
	char line[512], logpath[PATH_MAX];
	last_worker_line(d, j->log_off, line, sizeof(line));
	worker_path(d, "log", logpath, sizeof(logpath));
	note(d, "worker exited during start-up (%s %d)", WIFEXITED(status) ? "status" : "signal",
	     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	if (WIFEXITED(status))
		start_fail(j, VIR_ERR_OPERATION_FAILED,
			   "domain '%s' failed to start: vmwp exited with status %d: %s (log: %s)",
			   d->def->name, WEXITSTATUS(status), line[0] ? line : "no message",
			   logpath);
	else
		start_fail(j, VIR_ERR_OPERATION_FAILED,
			   "domain '%s' failed to start: vmwp killed by signal %d (log: %s)",
			   d->def->name, WTERMSIG(status), logpath);
	return true;
}

static void start_child_event(struct evloop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	(void)fd;
	(void)events;
	start_exited(ctx);
}

/* Every START_POLL_MS until it answers on its control socket or exits. */
static void start_tick(struct evloop *loop, struct evloop_timer *t, void *ctx)
{
	(void)t;
	struct job *j = ctx;
	struct domain *d = j->d;
	if (start_exited(j) || j->ctl)
		return;
	if (now_ms() > j->deadline_ms) {
		char ctl[PATH_MAX], logpath[PATH_MAX];
		int status;
		worker_path(d, "ctl", ctl, sizeof(ctl));
		worker_path(d, "log", logpath, sizeof(logpath));
		kill(j->pid, SIGKILL);
		waitpid(j->pid, &status, 0); /* SIGKILL: it goes at once */
		note(d, "worker did not come up within %d ms; killed", d->v->start_timeout_ms);
		start_fail(j, VIR_ERR_OPERATION_TIMEOUT,
			   "domain '%s': vmwp did not answer on %s within %d ms (log: %s)",
			   d->def->name, ctl, d->v->start_timeout_ms, logpath);
		return;
	}
	char ctl[PATH_MAX];
	worker_path(d, "ctl", ctl, sizeof(ctl));
	/* Not listening yet (ENOENT, ECONNREFUSED): the next tick tries again. */
	j->ctl = ctl_request(loop, ctl, "status", 1000, start_status, j);
}

void worker_start(struct job *j)
{
	struct domain *d = j->d;
	const struct dom_def *def = d->def;
	struct vmms_err *err = &j->err;
	if (check_readable("kernel", def->kernel, def->name, err) < 0 ||
	    (def->initrd && check_readable("initrd", def->initrd, def->name, err) < 0)) {
		job_done(j, -1);
		return;
	}
	for (size_t i = 0; i < def->ndisks; i++)
		if (check_readable(def->disks[i].block ? "block device" : "disk image",
				   def->disks[i].file, def->name, err) < 0) {
			job_done(j, -1);
			return;
		}
	if (!d->v->worker_path[0] || !executable(d->v->worker_path))
		worker_resolve(d->v, NULL);
	if (!d->v->worker_path[0]) {
		vmms_err_set(err, VIR_ERR_OPERATION_FAILED,
			     "cannot start domain '%s': the worker program vmwp was not "
			     "found next to vmms nor in PATH (start vmms with --worker PATH)",
			     def->name);
		job_done(j, -1);
		return;
	}
	/* What this run uses, even if the definition changes meanwhile. */
	j->def = dom_def_copy(def);
	if (!j->def) {
		vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "out of memory");
		job_done(j, -1);
		return;
	}

	remove_run_files(d);
	char logpath[PATH_MAX];
	worker_path(d, "log", logpath, sizeof(logpath));
	int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		vmms_err_set(err, VIR_ERR_OPERATION_FAILED, "cannot open log file %s: %s", logpath,
			     strerror(errno));
		job_done(j, -1);
		return;
	}
	struct argv a = {0};
	build_argv(d, j->def, &a);
	j->log_off = lseek(logfd, 0, SEEK_END);
	dprintf(logfd, "vmms: starting:");
	for (int i = 0; i < a.n; i++)
		dprintf(logfd, " %s", a.v[i]);
	dprintf(logfd, "\n");

	pid_t pid = spawn(&a, logfd);
	int spawn_errno = errno;
	close(logfd);
	for (int i = 0; i < a.n; i++)
		free(a.v[i]);
	if (pid < 0) {
		vmms_err_set(err, VIR_ERR_OPERATION_FAILED, "cannot fork worker: %s",
			     strerror(spawn_errno));
		job_done(j, -1);
		return;
	}
	j->pid = pid;
	j->deadline_ms = now_ms() + d->v->start_timeout_ms;
	j->pidfd = pidfd_open_(pid);
	if (j->pidfd >= 0 &&
	    evloop_add_fd(d->v->loop, j->pidfd, EPOLLIN, start_child_event, j) < 0) {
		close(j->pidfd);
		j->pidfd = -1;
	}
	j->timer = evloop_add_timer(d->v->loop, START_POLL_MS, START_POLL_MS, start_tick, j);
	if (!j->timer) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		start_fail(j, VIR_ERR_INTERNAL_ERROR, "out of memory");
	}
}

/* ---- stop ---- */

static void destroy_quit_done(void *opaque, int rc, const char *reply, int e)
{
	(void)reply;
	(void)e;
	struct job *j = opaque;
	j->ctl = NULL;
	if (rc < 0) /* no quit from it: signal it at once */
		j->deadline_ms = 0;
}

/* Quit, then SIGTERM, then (unless graceful) SIGKILL, STOP_WAIT_MS apart;
 * the worker's exit (check_exit) ends the job through job_worker_exited(). */
static void destroy_tick(struct evloop *loop, struct evloop_timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	struct job *j = ctx;
	struct domain *d = j->d;
	if (check_exit(d)) /* j is gone now */
		return;
	if (now_ms() < j->deadline_ms)
		return;
	j->deadline_ms = now_ms() + STOP_WAIT_MS;
	j->step++;
	if (j->step == 1) {
		kill(d->pid, SIGTERM);
		return;
	}
	if (j->step == 2 && !(j->flags & VIR_DOMAIN_DESTROY_GRACEFUL)) {
		kill(d->pid, SIGKILL);
		return;
	}
	d->destroying = false;
	vmms_err_set(&j->err, VIR_ERR_OPERATION_TIMEOUT,
		     "the worker of domain '%s' (pid %d) did not stop", d->def->name, (int)d->pid);
	job_done(j, -1);
}

void worker_destroy(struct job *j)
{
	struct domain *d = j->d;
	char ctl[PATH_MAX];
	d->destroying = true;
	j->step = 0;
	j->deadline_ms = now_ms() + STOP_WAIT_MS;
	worker_path(d, "ctl", ctl, sizeof(ctl));
	j->ctl = ctl_request(d->v->loop, ctl, "quit", CONTROL_TIMEOUT_MS, destroy_quit_done, j);
	if (!j->ctl)
		j->deadline_ms = 0;
	j->timer = evloop_add_timer(d->v->loop, START_POLL_MS, START_POLL_MS, destroy_tick, j);
	if (!j->timer) {
		d->destroying = false;
		vmms_err_set(&j->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
		job_done(j, -1);
	}
}

/* ---- re-adoption after a vmms restart ---- */

/* True if PID's command line is vmwp serving NAME on control socket CTL. */
static bool is_our_worker(const struct vmms *v, pid_t pid, const char *name, const char *ctl)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	/* The program we would start ourselves, or anything installed as vmwp. */
	const char *argv0 = buf, *base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	if (strcmp(base, "vmwp") && strcmp(argv0, v->worker_path))
		return false;
	bool name_ok = false, ctl_ok = false;
	for (const char *s = buf; s < buf + n; s += strlen(s) + 1) {
		const char *next = s + strlen(s) + 1;
		if (next >= buf + n)
			break;
		if (!strcmp(s, "--name") && !strcmp(next, name))
			name_ok = true;
		if (!strcmp(s, "--control") && !strcmp(next, ctl))
			ctl_ok = true;
	}
	return name_ok && ctl_ok;
}

static void adopt(struct domain *d)
{
	char p[PATH_MAX], ctl[PATH_MAX];
	worker_path(d, "pid", p, sizeof(p));
	worker_path(d, "ctl", ctl, sizeof(ctl));
	char *text = read_file(p, 64);
	if (!text)
		return;
	long pid = strtol(text, NULL, 10);
	free(text);
	if (pid <= 1 || !is_our_worker(d->v, (pid_t)pid, d->def->name, ctl)) {
		log_info("domain %s: stale pid file %s (process %ld is not its vmwp); cleaning up",
			 d->def->name, p, pid);
		remove_run_files(d);
		return;
	}
	d->pid = (pid_t)pid;
	d->own_child = false;
	worker_path(d, "id", p, sizeof(p));
	text = read_file(p, 64);
	int id = text ? atoi(text) : 0;
	free(text);
	if (id <= 0 || domain_by_id(d->v, id))
		id = d->v->next_id++;
	d->id = id;
	if (id >= d->v->next_id)
		d->v->next_id = id + 1;
	/* The definition it was started with, if it was saved. */
	worker_path(d, "xml", p, sizeof(p));
	text = read_file(p, 1 << 20);
	struct vmms_err err = {0};
	d->live = text ? dom_def_parse(text, &err) : NULL;
	free(text);
	if (!d->live)
		d->live = dom_def_copy(d->def);
	start_watch(d);
	char reply[512] = "";
	err = (struct vmms_err){0};
	if (worker_control(d, "status", reply, sizeof(reply), &err) == 0)
		d->boots = parse_boots(reply);
	if (!err.code && strstr(reply, "state=paused"))
		domain_set_state(d, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_UNKNOWN);
	else
		domain_set_state(d, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_UNKNOWN);
	if (err.code)
		log_warn("domain %s: re-adopted worker does not answer: %s", d->def->name, err.msg);
	note(d, "vmms restarted: re-adopted worker %ld as domain id %d", pid, id);
	log_info("domain %s: re-adopted running worker pid %ld, id %d", d->def->name, pid, id);
}

/* Transient domains have no stored definition: a running one is found by
 * the definition its worker was started with (RUN/NAME.xml). */
static void adopt_transient(struct vmms *v)
{
	DIR *dir = opendir(v->run_dir);
	if (!dir)
		return;
	struct dirent *e;
	while ((e = readdir(dir))) {
		size_t n = strlen(e->d_name);
		if (n <= 4 || strcmp(e->d_name + n - 4, ".xml"))
			continue;
		char name[DOM_NAME_MAX + 1], p[PATH_MAX];
		if (n - 4 > DOM_NAME_MAX)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 4), e->d_name);
		if (!dom_name_valid(name) || domain_by_name(v, name))
			continue;
		snprintf(p, sizeof(p), "%s/%s", v->run_dir, e->d_name);
		char *text = read_file(p, 1 << 20);
		struct vmms_err err = {0};
		struct dom_def *def = text ? dom_def_parse(text, &err) : NULL;
		free(text);
		if (!def || strcmp(def->name, name) || domain_by_uuid(v, def->uuid)) {
			dom_def_free(def);
			continue;
		}
		struct domain *d = domain_add(v, def);
		if (!d) {
			dom_def_free(def);
			continue;
		}
		adopt(d);
		if (domain_active(d)) {
			d->transient = true;
		} else {
			remove_run_files(d);
			domain_remove(d);
		}
	}
	closedir(dir);
}

void worker_adopt_all(struct vmms *v)
{
	for (struct domain *d = v->domains; d; d = d->next)
		adopt(d);
	adopt_transient(v);
}

void worker_start_internal(struct domain *d)
{
	struct job *j = job_new(d, JOB_START, 0, "virDomainCreate", NULL, NULL);
	if (!j) {
		log_err("domain %s: cannot start: out of memory", d->def->name);
		return;
	}
	job_submit(j);
}

void worker_autostart_all(struct vmms *v)
{
	for (struct domain *d = v->domains; d; d = d->next)
		if (d->autostart && !domain_active(d))
			worker_start_internal(d);
}

/* stats.c: see stats.h. */
#include "stats.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "domain.h"
#include "store.h"

int stats_parse(const char *reply, struct stats_dev *out)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(reply, "ok", 2) || (reply[2] && reply[2] != ' '))
		return -1;
	char *copy = strdup(reply + 2), *save = NULL;
	if (!copy)
		return -1;
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		unsigned idx;
		int used = 0;
		uint64_t *v = NULL;
		size_t nv = 0;
		if (sscanf(tok, "blk%u=%n", &idx, &used) == 1 && used && idx < STATS_MAX_BLK) {
			v = out->blk[idx].v;
			nv = 5;
			if (idx + 1 > out->nblk)
				out->nblk = idx + 1;
		} else if (sscanf(tok, "net%u=%n", &idx, &used) == 1 && used &&
			   idx < STATS_MAX_NET) {
			v = out->net[idx].v;
			nv = 8;
			if (idx + 1 > out->nnet)
				out->nnet = idx + 1;
		} else {
			continue; /* something newer workers say: not ours to read */
		}
		const char *p = tok + used;
		for (size_t i = 0; i < nv && *p; i++) {
			char *end;
			v[i] = strtoull(p, &end, 10);
			p = *end == ':' ? end + 1 : end;
		}
	}
	free(copy);
	out->valid = true;
	return 0;
}

void stats_cpu(pid_t pid, uint64_t *user_ns, uint64_t *sys_ns)
{
	*user_ns = *sys_ns = 0;
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	char *s = pid > 0 ? read_file(p, 4096) : NULL;
	if (!s)
		return;
	unsigned long long utime = 0, stime = 0;
	const char *rp = strrchr(s, ')'); /* the comm field may contain spaces */
	if (rp)
		sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
		       &stime);
	free(s);
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		return;
	*user_ns = utime * (1000000000ULL / (unsigned long long)hz);
	*sys_ns = stime * (1000000000ULL / (unsigned long long)hz);
}

uint64_t stats_rss_kib(pid_t pid)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	char *s = pid > 0 ? read_file(p, 1 << 16) : NULL;
	if (!s)
		return 0;
	unsigned long long kib = 0;
	const char *line = strstr(s, "\nVmRSS:");
	if (line)
		sscanf(line + 7, "%llu", &kib);
	free(s);
	return kib;
}

int stats_disk_index(const struct dom_def *def, const char *path)
{
	for (size_t i = 0; i < def->ndisks; i++)
		if ((def->disks[i].target && !strcmp(def->disks[i].target, path)) ||
		    !strcmp(def->disks[i].file, path))
			return (int)i;
	return -1;
}

const char *stats_nic_name(const struct dom_nic *nic)
{
	return nic->tap ? nic->tap : nic->mac;
}

int stats_nic_index(const struct dom_def *def, const char *path)
{
	for (size_t i = 0; i < def->nnics; i++)
		if ((def->nics[i].tap && !strcmp(def->nics[i].tap, path)) ||
		    !strcasecmp(def->nics[i].mac, path))
			return (int)i;
	return -1;
}

/* ---- typed parameters ---- */

struct params {
	vmms_typed_param *v;
	unsigned n, cap;
	bool oom;
};

static vmms_typed_param *add(struct params *p, int type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static vmms_typed_param *add(struct params *p, int type, const char *fmt, ...)
{
	if (p->oom)
		return NULL;
	if (p->n == p->cap) {
		unsigned cap = p->cap ? p->cap * 2 : 32;
		vmms_typed_param *v = realloc(p->v, cap * sizeof(*v));
		if (!v) {
			p->oom = true;
			return NULL;
		}
		p->v = v;
		p->cap = cap;
	}
	vmms_typed_param *t = &p->v[p->n];
	memset(t, 0, sizeof(*t));
	va_list ap;
	va_start(ap, fmt);
	int rc = vasprintf(&t->field, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		p->oom = true;
		return NULL;
	}
	t->value.type = type;
	p->n++;
	return t;
}

#define ADD_INT(p, val, ...)                                                                       \
	do {                                                                                       \
		vmms_typed_param *t_ = add((p), VIR_TYPED_PARAM_INT, __VA_ARGS__);                 \
		if (t_)                                                                            \
			t_->value.vmms_typed_value_u.i = (val);                                    \
	} while (0)
#define ADD_UINT(p, val, ...)                                                                      \
	do {                                                                                       \
		vmms_typed_param *t_ = add((p), VIR_TYPED_PARAM_UINT, __VA_ARGS__);                \
		if (t_)                                                                            \
			t_->value.vmms_typed_value_u.ui = (val);                                   \
	} while (0)
#define ADD_ULL(p, val, ...)                                                                       \
	do {                                                                                       \
		vmms_typed_param *t_ = add((p), VIR_TYPED_PARAM_ULLONG, __VA_ARGS__);              \
		if (t_)                                                                            \
			t_->value.vmms_typed_value_u.ul = (val);                                   \
	} while (0)

static void add_str(struct params *p, const char *val, const char *field, unsigned i,
		    const char *sub)
{
	vmms_typed_param *t = add(p, VIR_TYPED_PARAM_STRING, "%s.%u.%s", field, i, sub);
	if (t && !(t->value.vmms_typed_value_u.s = strdup(val)))
		p->oom = true;
}

int stats_record(const struct domain *d, unsigned groups, const struct stats_dev *dev,
		 struct vmms_stats_record *rec)
{
	const struct dom_def *def = domain_current_def(d);
	bool active = domain_active(d);
	bool counters = active && dev && dev->valid;
	struct params p = {0};

	if (groups & VIR_DOMAIN_STATS_STATE) {
		ADD_INT(&p, d->state, "state.state");
		ADD_INT(&p, d->reason, "state.reason");
	}
	if ((groups & VIR_DOMAIN_STATS_CPU_TOTAL) && active) {
		uint64_t user, sys;
		stats_cpu(d->pid, &user, &sys);
		ADD_ULL(&p, user + sys, "cpu.time");
		ADD_ULL(&p, user, "cpu.user");
		ADD_ULL(&p, sys, "cpu.system");
	}
	if (groups & VIR_DOMAIN_STATS_BALLOON) {
		/* No balloon driver: the guest always has all of its memory. */
		ADD_ULL(&p, def->memory_kib, "balloon.current");
		ADD_ULL(&p, def->memory_kib, "balloon.maximum");
		if (active)
			ADD_ULL(&p, stats_rss_kib(d->pid), "balloon.rss");
	}
	if (groups & VIR_DOMAIN_STATS_VCPU) {
		ADD_UINT(&p, def->vcpus, "vcpu.current");
		ADD_UINT(&p, def->vcpus, "vcpu.maximum");
	}
	if (groups & VIR_DOMAIN_STATS_INTERFACE) {
		ADD_UINT(&p, (unsigned)def->nnics, "net.count");
		static const char *const names[8] = {"rx.bytes", "rx.pkts", "rx.errs", "rx.drop",
						     "tx.bytes", "tx.pkts", "tx.errs", "tx.drop"};
		for (unsigned i = 0; i < def->nnics; i++) {
			add_str(&p, stats_nic_name(&def->nics[i]), "net", i, "name");
			if (!counters || i >= STATS_MAX_NET)
				continue;
			for (unsigned k = 0; k < 8; k++)
				ADD_ULL(&p, dev->net[i].v[k], "net.%u.%s", i, names[k]);
		}
	}
	if (groups & VIR_DOMAIN_STATS_BLOCK) {
		ADD_UINT(&p, (unsigned)def->ndisks, "block.count");
		static const char *const names[5] = {"rd.reqs", "rd.bytes", "wr.reqs", "wr.bytes",
						     "errors"};
		for (unsigned i = 0; i < def->ndisks; i++) {
			const struct dom_disk *dk = &def->disks[i];
			add_str(&p, dk->target ? dk->target : "", "block", i, "name");
			add_str(&p, dk->file, "block", i, "path");
			if (!counters || i >= STATS_MAX_BLK)
				continue;
			for (unsigned k = 0; k < 5; k++)
				ADD_ULL(&p, dev->blk[i].v[k], "block.%u.%s", i, names[k]);
		}
	}
	rec->params.params_val = p.v;
	rec->params.params_len = p.n;
	return p.oom ? -1 : 0;
}

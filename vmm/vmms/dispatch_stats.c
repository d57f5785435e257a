/* dispatch_stats.c: the statistics procedures: virConnectGetAllDomainStats
 * (virsh domstats), virDomainBlockStats[Flags] (domblkstat),
 * virDomainInterfaceStats (domifstat) and virDomainMemoryStats (dommemstat).
 * Device counters come from the running workers ("stats" on their control
 * sockets): the requests go out together, without blocking the loop, and
 * the reply is sent once every worker answered or timed out. */
#include <errno.h>
#include <stdio.h>
#include <libvirt/libvirt.h>

#include "ctl.h"
#include "dispatch_impl.h"
#include "domain.h"
#include "log.h"
#include "server.h"
#include "stats.h"
#include "worker.h"

#define STATS_TIMEOUT_MS 2000

struct gather;

struct gather_dom {
	struct gather *g;
	unsigned char uuid[16];
	struct ctl_req *ctl;
	struct stats_dev dev;
};

/* One call waiting for its workers' counters. */
struct gather {
	struct vmms *v;
	unsigned client_id; /* the client may go meanwhile: looked up at the end */
	struct vmms_header h;
	unsigned groups;
	int dev;     /* domblkstat/domifstat: the device index, -1 for all disks */
	int nparams; /* BlockStatsFlags: how many the caller has room for */
	size_t n, pending;
	struct gather_dom doms[];
};

static struct client *client_by_id(const struct vmms *v, unsigned id)
{
	for (struct client *c = v->clients; c; c = c->next)
		if (c->id == id && !c->dead)
			return c;
	return NULL;
}

/* ---- the replies ---- */

static void reply_all_stats(struct client *c, struct gather *g)
{
	struct vmms_all_stats_ret ret = {0};
	ret.records.records_val = calloc(g->n ? g->n : 1, sizeof(*ret.records.records_val));
	bool oom = !ret.records.records_val;
	for (size_t i = 0; !oom && i < g->n; i++) {
		struct domain *d = domain_by_uuid(g->v, g->doms[i].uuid);
		if (!d)
			continue; /* gone meanwhile */
		struct vmms_stats_record *rec = &ret.records.records_val[ret.records.records_len++];
		oom = fill_dom(d, &rec->dom) < 0 ||
		      stats_record(d, g->groups, &g->doms[i].dev, rec) < 0;
	}
	if (oom) {
		struct vmms_err err = {0};
		vmms_err_set(&err, VIR_ERR_INTERNAL_ERROR, "out of memory");
		client_error(c, &g->h, &err);
	} else {
		client_reply(c, &g->h, (xdrproc_t)xdr_vmms_all_stats_ret, &ret);
	}
	xdr_free((xdrproc_t)xdr_vmms_all_stats_ret, (char *)&ret);
}

/* The counters of one disk, or (dev -1) the sum over all. */
static struct stats_blk blk_of(const struct gather *g)
{
	const struct stats_dev *dev = &g->doms[0].dev;
	struct stats_blk sum = {{0}};
	if (g->dev >= 0)
		return g->dev < STATS_MAX_BLK ? dev->blk[g->dev] : sum;
	for (unsigned i = 0; i < dev->nblk; i++)
		for (unsigned k = 0; k < 5; k++)
			sum.v[k] += dev->blk[i].v[k];
	return sum;
}

static bool dev_failed(struct client *c, struct gather *g)
{
	if (g->doms[0].dev.valid)
		return false;
	struct vmms_err err = {0};
	vmms_err_set(&err, VIR_ERR_OPERATION_FAILED,
		     "the domain's worker did not return its device statistics");
	client_error(c, &g->h, &err);
	return true;
}

static void reply_block(struct client *c, struct gather *g)
{
	if (dev_failed(c, g))
		return;
	struct stats_blk b = blk_of(g);
	struct vmms_block_stats_ret ret = {(int64_t)b.v[0], (int64_t)b.v[1], (int64_t)b.v[2],
					   (int64_t)b.v[3], (int64_t)b.v[4]};
	client_reply(c, &g->h, (xdrproc_t)xdr_vmms_block_stats_ret, &ret);
}

static void reply_block_flags(struct client *c, struct gather *g)
{
	static const char *const names[5] = {"rd_operations", "rd_bytes", "wr_operations",
					     "wr_bytes", "errs"};
	struct vmms_block_stats_flags_ret ret = {0};
	vmms_typed_param params[5];
	/* nparams 0: the caller asks how many there are. */
	ret.nparams = 5;
	if (g->nparams > 0) {
		if (dev_failed(c, g))
			return;
		struct stats_blk b = blk_of(g);
		unsigned n = g->nparams < 5 ? (unsigned)g->nparams : 5;
		for (unsigned i = 0; i < n; i++) {
			params[i].field = (char *)names[i];
			params[i].value.type = VIR_TYPED_PARAM_LLONG;
			params[i].value.vmms_typed_value_u.l = (int64_t)b.v[i];
		}
		ret.params.params_val = params;
		ret.params.params_len = n;
		ret.nparams = (int)n;
	}
	client_reply(c, &g->h, (xdrproc_t)xdr_vmms_block_stats_flags_ret, &ret);
}

static void reply_iface(struct client *c, struct gather *g)
{
	if (dev_failed(c, g))
		return;
	const uint64_t *v = g->dev < STATS_MAX_NET ? g->doms[0].dev.net[g->dev].v : NULL;
	struct vmms_iface_stats_ret ret = {0};
	if (v)
		ret = (struct vmms_iface_stats_ret){(int64_t)v[0], (int64_t)v[1], (int64_t)v[2],
						    (int64_t)v[3], (int64_t)v[4], (int64_t)v[5],
						    (int64_t)v[6], (int64_t)v[7]};
	client_reply(c, &g->h, (xdrproc_t)xdr_vmms_iface_stats_ret, &ret);
}

static void finish(struct gather *g)
{
	struct client *c = client_by_id(g->v, g->client_id);
	if (c) {
		switch (g->h.proc) {
		case PROC_CONNECT_GET_ALL_DOMAIN_STATS:
			reply_all_stats(c, g);
			break;
		case PROC_DOMAIN_BLOCK_STATS:
			reply_block(c, g);
			break;
		case PROC_DOMAIN_BLOCK_STATS_FLAGS:
			reply_block_flags(c, g);
			break;
		case PROC_DOMAIN_INTERFACE_STATS:
			reply_iface(c, g);
			break;
		default:
			break;
		}
	}
	free(g);
}

static void on_stats(void *opaque, int rc, const char *reply, int err)
{
	struct gather_dom *gd = opaque;
	struct gather *g = gd->g;
	gd->ctl = NULL;
	if (rc < 0 || stats_parse(reply, &gd->dev) < 0) {
		struct domain *d = domain_by_uuid(g->v, gd->uuid);
		log_warn("domain %s: no device statistics from its worker: %s",
			 d ? d->def->name : "?", rc < 0 ? strerror(err) : reply);
	}
	if (--g->pending == 0)
		finish(g);
}

static struct gather *gather_new(struct call *k, size_t n)
{
	struct gather *g = calloc(1, sizeof(*g) + n * sizeof(g->doms[0]));
	if (!g) {
		vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
		return NULL;
	}
	g->v = k->v;
	g->client_id = k->c->id;
	g->h = *k->h;
	g->n = n;
	g->dev = -1;
	return g;
}

/* Asks every running domain of G for its counters (WANT_DEV), then replies. */
static int gather_run(struct call *k, struct gather *g, bool want_dev)
{
	k->no_reply = true;
	g->pending = 1; /* held until every request is out */
	for (size_t i = 0; want_dev && i < g->n; i++) {
		struct gather_dom *gd = &g->doms[i];
		struct domain *d = domain_by_uuid(g->v, gd->uuid);
		gd->g = g;
		if (!d || !domain_active(d))
			continue;
		char path[4096];
		worker_path(d, "ctl", path, sizeof(path));
		gd->ctl = ctl_request(k->v->loop, path, "stats", STATS_TIMEOUT_MS, on_stats, gd);
		if (gd->ctl)
			g->pending++;
		else
			log_warn("domain %s: cannot reach its worker for statistics: %s",
				 d->def->name, strerror(errno));
	}
	if (--g->pending == 0)
		finish(g);
	return 0;
}

/* ---- the procedures ---- */

static int h_all_stats(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_all_stats_args *args = a;
	const unsigned filters =
	    VIR_CONNECT_LIST_DOMAINS_ACTIVE | VIR_CONNECT_LIST_DOMAINS_INACTIVE |
	    VIR_CONNECT_LIST_DOMAINS_PERSISTENT | VIR_CONNECT_LIST_DOMAINS_TRANSIENT |
	    VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_PAUSED |
	    VIR_CONNECT_LIST_DOMAINS_SHUTOFF | VIR_CONNECT_LIST_DOMAINS_OTHER;
	const unsigned allowed = filters | VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING |
				 VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT |
				 VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS;
	if (no_flags(k, args->flags, allowed) < 0)
		return -1;
	if (args->doms.doms_len && (args->flags & filters))
		return vmms_err_set(
		    &k->err, VIR_ERR_INVALID_ARG,
		    "domain list filters cannot be combined with a list of domains");
	unsigned groups = args->stats ? args->stats : STATS_SUPPORTED;
	if ((groups & ~(unsigned)STATS_SUPPORTED) &&
	    (args->flags & VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS))
		return vmms_err_set(&k->err, VIR_ERR_ARGUMENT_UNSUPPORTED,
				    "statistics groups 0x%x are not supported by linhv",
				    groups & ~(unsigned)STATS_SUPPORTED);
	groups &= STATS_SUPPORTED;

	size_t n = 0;
	if (args->doms.doms_len) {
		for (u_int i = 0; i < args->doms.doms_len; i++)
			if (!find_dom(k->v, &args->doms.doms_val[i], &k->err))
				return -1;
		n = args->doms.doms_len;
	} else {
		for (struct domain *d = k->v->domains; d; d = d->next)
			n += domain_matches_flags(d, args->flags & filters);
	}
	struct gather *g = gather_new(k, n);
	if (!g)
		return -1;
	g->groups = groups;
	size_t i = 0;
	if (args->doms.doms_len) {
		for (; i < n; i++)
			memcpy(g->doms[i].uuid, args->doms.doms_val[i].uuid, 16);
	} else {
		for (struct domain *d = k->v->domains; d && i < n; d = d->next)
			if (domain_matches_flags(d, args->flags & filters))
				memcpy(g->doms[i++].uuid, d->def->uuid, 16);
	}
	return gather_run(k, g, groups & (VIR_DOMAIN_STATS_BLOCK | VIR_DOMAIN_STATS_INTERFACE));
}

static struct domain *running(struct call *k, const struct vmms_dom *ref)
{
	struct domain *d = find_dom(k->v, ref, &k->err);
	if (d && !domain_active(d)) {
		vmms_err_set(&k->err, VIR_ERR_OPERATION_INVALID, "domain is not running");
		return NULL;
	}
	return d;
}

/* domblkstat: PATH is a disk's target or source; "" sums all disks. */
static int block_stats(struct call *k, const struct vmms_dom *ref, const char *path, int nparams)
{
	struct domain *d = running(k, ref);
	if (!d)
		return -1;
	int idx = -1;
	if (*path && (idx = stats_disk_index(domain_current_def(d), path)) < 0)
		return vmms_err_set(&k->err, VIR_ERR_INVALID_ARG,
				    "invalid path: '%s' is not a disk of domain '%s'", path,
				    d->def->name);
	struct gather *g = gather_new(k, 1);
	if (!g)
		return -1;
	memcpy(g->doms[0].uuid, d->def->uuid, 16);
	g->dev = idx;
	g->nparams = nparams;
	return gather_run(k, g, k->h->proc == PROC_DOMAIN_BLOCK_STATS || nparams > 0);
}

static int h_block_stats(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_dom_path_args *args = a;
	return block_stats(k, &args->dom, args->path, 0);
}

static int h_block_stats_flags(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_block_stats_flags_args *args = a;
	if (no_flags(k, args->flags, VIR_TYPED_PARAM_STRING_OKAY) < 0)
		return -1;
	if (args->nparams < 0 || args->nparams > VMMS_BLOCK_STATS_PARAMS_MAX)
		return vmms_err_set(&k->err, VIR_ERR_INVALID_ARG, "nparams %d out of range",
				    args->nparams);
	return block_stats(k, &args->dom, args->path, args->nparams);
}

static int h_iface_stats(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_dom_path_args *args = a;
	struct domain *d = running(k, &args->dom);
	if (!d)
		return -1;
	int idx = stats_nic_index(domain_current_def(d), args->path);
	if (idx < 0)
		return vmms_err_set(&k->err, VIR_ERR_INVALID_ARG,
				    "invalid path, '%s' is not a known interface of domain '%s'",
				    args->path, d->def->name);
	struct gather *g = gather_new(k, 1);
	if (!g)
		return -1;
	memcpy(g->doms[0].uuid, d->def->uuid, 16);
	g->dev = idx;
	return gather_run(k, g, true);
}

/* dommemstat: no balloon driver, so "actual" is the configured memory. */
static int h_memory_stats(struct call *k, void *a, void *r)
{
	struct vmms_memory_stats_args *args = a;
	struct vmms_memory_stats_ret *ret = r;
	if (no_flags(k, args->flags, 0) < 0)
		return -1;
	struct domain *d = running(k, &args->dom);
	if (!d)
		return -1;
	struct vmms_memory_stat all[2] = {
	    {VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON, domain_current_def(d)->memory_kib},
	    {VIR_DOMAIN_MEMORY_STAT_RSS, stats_rss_kib(d->pid)},
	};
	unsigned n = args->max_stats < 2 ? args->max_stats : 2;
	ret->stats.stats_val = calloc(2, sizeof(all[0]));
	if (!ret->stats.stats_val)
		return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	memcpy(ret->stats.stats_val, all, n * sizeof(all[0]));
	ret->stats.stats_len = n;
	return 0;
}

const struct proc_desc stats_procs[] = {
    {PROC_CONNECT_GET_ALL_DOMAIN_STATS, "virConnectGetAllDomainStats", X(vmms_all_stats_args), NONE,
     h_all_stats, 0},
    {PROC_DOMAIN_BLOCK_STATS, "virDomainBlockStats", X(vmms_dom_path_args), NONE, h_block_stats, 0},
    {PROC_DOMAIN_BLOCK_STATS_FLAGS, "virDomainBlockStatsFlags", X(vmms_block_stats_flags_args),
     NONE, h_block_stats_flags, 0},
    {PROC_DOMAIN_INTERFACE_STATS, "virDomainInterfaceStats", X(vmms_dom_path_args), NONE,
     h_iface_stats, 0},
    {PROC_DOMAIN_MEMORY_STATS, "virDomainMemoryStats", X(vmms_memory_stats_args),
     X(vmms_memory_stats_ret), h_memory_stats, 0},
};
const size_t stats_nprocs = sizeof(stats_procs) / sizeof(stats_procs[0]);

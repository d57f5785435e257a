/* dispatch.c: the procedure table and handlers. See dispatch.h. */
#include "dispatch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "console.h"
#include "domcaps.h"
#include "dispatch_impl.h"
#include "domain.h"
#include "events.h"
#include "guestaddr.h"
#include "host.h"
#include "log.h"
#include "server.h"
#include "stats.h"
#include "store.h"
#include "job.h"
#include "worker.h"

#ifndef LINHV_VERSION_NUMBER
#define LINHV_VERSION_NUMBER 1000 /* major * 1000000 + minor * 1000 + micro */
#endif

/* ---- helpers ---- */

int fill_dom(const struct domain *d, struct vmms_dom *out)
{
	out->name = strdup(d->def->name);
	memcpy(out->uuid, d->def->uuid, 16);
	out->id = domain_active(d) ? d->id : -1;
	return out->name ? 0 : -1;
}

/* The domain a call refers to; libvirt identifies it by uuid. */
struct domain *find_dom(const struct vmms *v, const struct vmms_dom *ref, struct vmms_err *err)
{
	struct domain *d = domain_by_uuid(v, (const unsigned char *)ref->uuid);
	if (!d) {
		char uuid[37];
		uuid_format((const unsigned char *)ref->uuid, uuid);
		vmms_err_set(err, VIR_ERR_NO_DOMAIN, "no domain with matching uuid '%s' (%s)", uuid,
			     ref->name ? ref->name : "");
	}
	return d;
}

/* ---- connection ---- */

static int h_auth_list(struct call *k, void *a, void *r)
{
	(void)k;
	(void)a;
	struct vmms_auth_list_ret *ret = r;
	ret->types.types_val = calloc(1, sizeof(int));
	if (!ret->types.types_val)
		return -1;
	ret->types.types_len = 1; /* REMOTE_AUTH_NONE: the socket mode is the access control */
	return 0;
}

static int h_supports_feature(struct call *k, void *a, void *r)
{
	struct vmms_feature_args *args = a;
	struct vmms_int_ret *ret = r;
	ret->value = 0;
	if (args->feature == FEATURE_PROGRAM_KEEPALIVE) {
		ret->value = 1;
		k->c->keepalive = true;
	}
	if (args->feature == FEATURE_REMOTE_EVENT_CALLBACK)
		ret->value = 1;
	return 0;
}

static int h_open(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_open_args *args = a;
	const char *uri = args->name && *args->name ? *args->name : NULL;
	if (uri && strncmp(uri, "linhv:", 6) && strncmp(uri, "linhv+", 6))
		return vmms_err_set(&k->err, VIR_ERR_INVALID_ARG,
				    "this daemon serves linhv:///system, not '%s'", uri);
	if (args->flags & VIR_CONNECT_RO)
		k->c->readonly = true;
	k->c->opened = true;
	log_debug("client %u: opened %s%s", k->c->id, uri ? uri : "(default)",
		  k->c->readonly ? " read-only" : "");
	return 0;
}

static int h_close(struct call *k, void *a, void *r)
{
	(void)a;
	(void)r;
	k->c->opened = false;
	events_client_gone(k->c);
	return 0;
}

static int h_get_type(struct call *k, void *a, void *r)
{
	(void)k;
	(void)a;
	return set_str(&((struct vmms_str_ret *)r)->value, "linhv");
}

static int h_get_version(struct call *k, void *a, void *r)
{
	(void)k;
	(void)a;
	((struct vmms_u64_ret *)r)->value = LINHV_VERSION_NUMBER;
	return 0;
}

static int h_get_hostname(struct call *k, void *a, void *r)
{
	(void)a;
	char name[256];
	if (gethostname(name, sizeof(name)) < 0)
		return vmms_err_set(&k->err, VIR_ERR_SYSTEM_ERROR, "gethostname: %s",
				    strerror(errno));
	name[sizeof(name) - 1] = 0;
	return set_str(&((struct vmms_str_ret *)r)->value, name);
}

static int h_get_uri(struct call *k, void *a, void *r)
{
	(void)k;
	(void)a;
	return set_str(&((struct vmms_str_ret *)r)->value, "linhv:///system");
}

static int h_max_vcpus(struct call *k, void *a, void *r)
{
	(void)k;
	(void)a;
	((struct vmms_int_ret *)r)->value = DOM_MAX_VCPUS;
	return 0;
}

static int h_node_info(struct call *k, void *a, void *r)
{
	(void)k;
	(void)a;
	struct vmms_node_info_ret *ret = r;
	struct host_info hi;
	host_info(&hi);
	memcpy(ret->model, hi.model, sizeof(ret->model));
	ret->memory = hi.memory_kib;
	ret->cpus = hi.cpus;
	ret->mhz = hi.mhz;
	ret->nodes = hi.nodes;
	ret->sockets = hi.sockets;
	ret->cores = hi.cores;
	ret->threads = hi.threads;
	return 0;
}

static int h_capabilities(struct call *k, void *a, void *r)
{
	(void)a;
	char *caps = host_capabilities(k->v->worker_path);
	if (!caps)
		return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	((struct vmms_str_ret *)r)->value = caps;
	return 0;
}

static const char *opt(vmms_opt_str s)
{
	return s ? *s : NULL;
}

static int h_domcaps(struct call *k, void *a, void *r)
{
	struct vmms_domcaps_args *args = a;
	if (no_flags(k, args->flags, 0) < 0)
		return -1;
	char *xml = domcaps_xml(k->v->worker_path, opt(args->emulatorbin), opt(args->arch),
				opt(args->machine), opt(args->virttype), &k->err);
	if (!xml)
		return -1;
	((struct vmms_str_ret *)r)->value = xml;
	return 0;
}

static int h_free_memory(struct call *k, void *a, void *r)
{
	(void)a;
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kb = 0;
	char line[256];
	if (!f)
		return vmms_err_set(&k->err, VIR_ERR_SYSTEM_ERROR, "/proc/meminfo: %s",
				    strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	((struct vmms_u64_ret *)r)->value = kb * 1024;
	return 0;
}

static int h_security_model(struct call *k, void *a, void *r)
{
	(void)k;
	(void)a;
	(void)r; /* no security driver: empty model and doi */
	return 0;
}

static int h_is_secure(struct call *k, void *a, void *r)
{
	(void)k;
	(void)a;
	((struct vmms_int_ret *)r)->value = 1; /* a local UNIX socket */
	return 0;
}

/* ---- listing and lookup ---- */

static int h_list_all(struct call *k, void *a, void *r)
{
	struct vmms_list_all_args *args = a;
	struct vmms_list_all_ret *ret = r;
	unsigned n = 0;
	for (struct domain *d = k->v->domains; d; d = d->next)
		if (domain_matches_flags(d, args->flags))
			n++;
	ret->count = n;
	if (!args->need_results || !n)
		return 0;
	ret->domains.domains_val = calloc(n, sizeof(struct vmms_dom));
	if (!ret->domains.domains_val)
		return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	unsigned i = 0;
	for (struct domain *d = k->v->domains; d && i < n; d = d->next)
		if (domain_matches_flags(d, args->flags))
			fill_dom(d, &ret->domains.domains_val[i++]);
	ret->domains.domains_len = i;
	return 0;
}

static int h_num_active(struct call *k, void *a, void *r)
{
	(void)k;
	(void)a;
	int n = 0;
	for (struct domain *d = k->v->domains; d; d = d->next)
		n += domain_active(d);
	((struct vmms_int_ret *)r)->value = n;
	return 0;
}

static int h_num_inactive(struct call *k, void *a, void *r)
{
	(void)k;
	(void)a;
	int n = 0;
	for (struct domain *d = k->v->domains; d; d = d->next)
		n += !domain_active(d);
	((struct vmms_int_ret *)r)->value = n;
	return 0;
}

static int h_list_ids(struct call *k, void *a, void *r)
{
	int max = ((struct vmms_list_ids_args *)a)->maxids;
	struct vmms_list_ids_ret *ret = r;
	if (max < 0 || max > VMMS_DOMAIN_LIST_MAX)
		return vmms_err_set(&k->err, VIR_ERR_RPC, "maxids out of range");
	ret->ids.ids_val = calloc((size_t)max + 1, sizeof(int));
	if (!ret->ids.ids_val)
		return -1;
	for (struct domain *d = k->v->domains; d; d = d->next)
		if (domain_active(d) && (int)ret->ids.ids_len < max)
			ret->ids.ids_val[ret->ids.ids_len++] = d->id;
	return 0;
}

static int h_list_names(struct call *k, void *a, void *r)
{
	int max = ((struct vmms_list_names_args *)a)->maxnames;
	struct vmms_list_names_ret *ret = r;
	if (max < 0 || max > VMMS_DOMAIN_LIST_MAX)
		return vmms_err_set(&k->err, VIR_ERR_RPC, "maxnames out of range");
	ret->names.names_val = calloc((size_t)max + 1, sizeof(char *));
	if (!ret->names.names_val)
		return -1;
	for (struct domain *d = k->v->domains; d; d = d->next)
		if (!domain_active(d) && (int)ret->names.names_len < max)
			ret->names.names_val[ret->names.names_len++] = strdup(d->def->name);
	return 0;
}

static int lookup_reply(struct call *k, struct domain *d, void *r)
{
	if (!d)
		return -1;
	return fill_dom(d, &((struct vmms_dom_ret *)r)->dom) < 0
		   ? vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory")
		   : 0;
}

static int h_lookup_id(struct call *k, void *a, void *r)
{
	int id = ((struct vmms_lookup_id_args *)a)->id;
	struct domain *d = domain_by_id(k->v, id);
	if (!d)
		vmms_err_set(&k->err, VIR_ERR_NO_DOMAIN, "no domain with matching id %d", id);
	return lookup_reply(k, d, r);
}

static int h_lookup_name(struct call *k, void *a, void *r)
{
	const char *name = ((struct vmms_lookup_name_args *)a)->name;
	struct domain *d = domain_by_name(k->v, name);
	if (!d)
		vmms_err_set(&k->err, VIR_ERR_NO_DOMAIN, "no domain with matching name '%s'", name);
	return lookup_reply(k, d, r);
}

static int h_lookup_uuid(struct call *k, void *a, void *r)
{
	const unsigned char *u = (const unsigned char *)((struct vmms_lookup_uuid_args *)a)->uuid;
	struct domain *d = domain_by_uuid(k->v, u);
	if (!d) {
		char s[37];
		uuid_format(u, s);
		vmms_err_set(&k->err, VIR_ERR_NO_DOMAIN, "no domain with matching uuid '%s'", s);
	}
	return lookup_reply(k, d, r);
}

/* ---- domain queries ---- */

#define DOM_OR_FAIL(ref)                                                                           \
	struct domain *d = find_dom(k->v, (ref), &k->err);                                         \
	if (!d)                                                                                    \
	return -1

static int h_get_state(struct call *k, void *a, void *r)
{
	struct vmms_dom_flags_args *args = a;
	DOM_OR_FAIL(&args->dom);
	if (no_flags(k, args->flags, 0) < 0)
		return -1;
	struct vmms_state_ret *ret = r;
	ret->state = d->state;
	ret->reason = d->reason;
	return 0;
}

/* CPU time of the worker process (all its vCPU threads) in nanoseconds. */
static unsigned long long cpu_time_ns(pid_t pid)
{
	uint64_t user, sys;
	stats_cpu(pid, &user, &sys);
	return user + sys;
}

static int h_get_info(struct call *k, void *a, void *r)
{
	DOM_OR_FAIL(&((struct vmms_dom_args *)a)->dom);
	struct vmms_dom_info_ret *ret = r;
	const struct dom_def *def = domain_current_def(d);
	ret->state = (unsigned char)d->state;
	ret->max_mem = def->memory_kib;
	ret->memory = def->memory_kib;
	ret->nr_vcpus = (unsigned short)def->vcpus;
	ret->cpu_time = domain_active(d) ? cpu_time_ns(d->pid) : 0;
	return 0;
}

static int h_get_xml(struct call *k, void *a, void *r)
{
	struct vmms_dom_flags_args *args = a;
	DOM_OR_FAIL(&args->dom);
	if (no_flags(k, args->flags,
		     VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_MIGRATABLE) <
	    0)
		return -1;
	bool inactive = args->flags & (VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_MIGRATABLE);
	const struct dom_def *def = inactive ? d->def : domain_current_def(d);
	char *xml = dom_def_format(def, inactive || !domain_active(d) ? -1 : d->id);
	if (!xml)
		return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	((struct vmms_str_ret *)r)->value = xml;
	return 0;
}

static int h_get_os_type(struct call *k, void *a, void *r)
{
	DOM_OR_FAIL(&((struct vmms_dom_args *)a)->dom);
	(void)d;
	return set_str(&((struct vmms_str_ret *)r)->value, "hvm");
}

static int h_get_max_memory(struct call *k, void *a, void *r)
{
	DOM_OR_FAIL(&((struct vmms_dom_args *)a)->dom);
	((struct vmms_u64_ret *)r)->value = domain_current_def(d)->memory_kib;
	return 0;
}

static int h_get_max_vcpus(struct call *k, void *a, void *r)
{
	DOM_OR_FAIL(&((struct vmms_dom_args *)a)->dom);
	((struct vmms_int_ret *)r)->value = (int)domain_current_def(d)->vcpus;
	return 0;
}

static int h_get_vcpus_flags(struct call *k, void *a, void *r)
{
	struct vmms_dom_flags_args *args = a;
	DOM_OR_FAIL(&args->dom);
	/* Neither hotplug nor current < maximum: every variant is the same. */
	((struct vmms_int_ret *)r)->value = (int)domain_current_def(d)->vcpus;
	return 0;
}

static int h_is_active(struct call *k, void *a, void *r)
{
	DOM_OR_FAIL(&((struct vmms_dom_args *)a)->dom);
	((struct vmms_int_ret *)r)->value = domain_active(d);
	return 0;
}

static int h_is_persistent(struct call *k, void *a, void *r)
{
	DOM_OR_FAIL(&((struct vmms_dom_args *)a)->dom);
	((struct vmms_int_ret *)r)->value = !d->transient;
	return 0;
}

static int h_is_updated(struct call *k, void *a, void *r)
{
	DOM_OR_FAIL(&((struct vmms_dom_args *)a)->dom);
	(void)d;
	((struct vmms_int_ret *)r)->value = 0;
	return 0;
}

static int h_get_autostart(struct call *k, void *a, void *r)
{
	DOM_OR_FAIL(&((struct vmms_dom_args *)a)->dom);
	((struct vmms_int_ret *)r)->value = d->autostart;
	return 0;
}

/* Managed save and snapshots do not exist in linhv: always none. */
static int h_zero_dom_flags(struct call *k, void *a, void *r)
{
	DOM_OR_FAIL(&((struct vmms_dom_flags_args *)a)->dom);
	(void)d;
	((struct vmms_int_ret *)r)->value = 0;
	return 0;
}

static int h_get_messages(struct call *k, void *a, void *r)
{
	DOM_OR_FAIL(&((struct vmms_dom_flags_args *)a)->dom);
	(void)d;
	(void)r; /* no taint or deprecation messages */
	return 0;
}

static int h_dom_hostname(struct call *k, void *a, void *r)
{
	DOM_OR_FAIL(&((struct vmms_dom_flags_args *)a)->dom);
	if (!domain_active(d))
		return vmms_err_set(&k->err, VIR_ERR_OPERATION_INVALID, "domain is not running");
	char reply[512];
	if (worker_control(d, "status", reply, sizeof(reply), &k->err) < 0)
		return -1;
	const char *h = strstr(reply, "hostname=");
	if (!h || !h[9] || h[9] == ' ')
		return vmms_err_set(&k->err, VIR_ERR_OPERATION_UNSUPPORTED,
				    "the guest has not reported its hostname (integration "
				    "services not running?)");
	h += 9;
	char name[256];
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(h, " "), h);
	return set_str(&((struct vmms_str_ret *)r)->value, name);
}

/* One interface of the reply: NAME, MAC (may be NULL) and ADDRS. */
static int fill_iface(struct vmms_iface *ifc, const char *name, const char *mac,
		      const struct guest_addrs *ga)
{
	if (set_str(&ifc->name, name) < 0)
		return -1;
	if (mac) {
		ifc->hwaddr = calloc(1, sizeof(*ifc->hwaddr));
		if (!ifc->hwaddr || set_str(ifc->hwaddr, mac) < 0)
			return -1;
	}
	if (!ga->n)
		return 0;
	struct vmms_ip_addr *ips = calloc(ga->n, sizeof(*ips));
	if (!ips)
		return -1;
	ifc->addrs.addrs_val = ips;
	for (size_t i = 0; i < ga->n; i++) {
		ips[i].type = ga->a[i].v6 ? VIR_IP_ADDR_TYPE_IPV6 : VIR_IP_ADDR_TYPE_IPV4;
		ips[i].prefix = ga->a[i].prefix;
		if (set_str(&ips[i].addr, ga->a[i].text) < 0)
			return -1;
		ifc->addrs.addrs_len = (u_int)i + 1;
	}
	return 0;
}

/* The NIC's name in the reply: its TAP, or netI. */
static const char *nic_name(const struct dom_nic *nic, size_t i, char *buf, size_t len)
{
	if (nic->tap)
		return nic->tap;
	snprintf(buf, len, "net%zu", i);
	return buf;
}

/* virsh domifaddr, any --source: the KVP integration service is the only
 * view linhv has (no DHCP server, no ARP snooping). First the worker's
 * "ifaddrs": hv_kvp_daemon's addresses per NIC (by MAC) with their prefixes.
 * A worker or guest that has none of those yet falls back to the auto pool,
 * which lists the addresses without prefix lengths or NIC: each is reported
 * as a host address (/32, /128), under the domain's one NIC, or under
 * "guest" when there are several. */
static int h_iface_addrs(struct call *k, void *a, void *r)
{
	struct vmms_iface_addrs_args *args = a;
	struct vmms_iface_addrs_ret *ret = r;
	DOM_OR_FAIL(&args->dom);
	if (no_flags(k, args->flags, 0) < 0)
		return -1;
	if (args->source > VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP)
		return vmms_err_set(&k->err, VIR_ERR_INVALID_ARG, "unknown address source %u",
				    args->source);
	if (!domain_active(d))
		return vmms_err_set(&k->err, VIR_ERR_OPERATION_INVALID, "domain is not running");
	const struct dom_def *def = domain_current_def(d);
	if (!def->nnics)
		return 0;
	char reply[4096], name[32];
	struct guest_nics gn;
	struct vmms_err ignored = {0};
	size_t matched = 0;
	if (worker_control(d, "ifaddrs", reply, sizeof(reply), &ignored) == 0 &&
	    guest_nics_parse(reply, &gn) > 0) {
		struct vmms_iface *ifcs = calloc(def->nnics, sizeof(*ifcs));
		if (!ifcs)
			return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
		ret->ifaces.ifaces_val = ifcs;
		for (size_t i = 0; i < def->nnics; i++) {
			for (size_t j = 0; j < gn.n; j++) {
				if (strcasecmp(def->nics[i].mac, gn.nic[j].mac))
					continue;
				ret->ifaces.ifaces_len = (u_int)matched + 1;
				if (fill_iface(&ifcs[matched++],
					       nic_name(&def->nics[i], i, name, sizeof(name)),
					       def->nics[i].mac, &gn.nic[j].addrs) < 0)
					return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR,
							    "out of memory");
				break;
			}
		}
		if (matched)
			return 0;
	}
	if (worker_control(d, "status", reply, sizeof(reply), &k->err) < 0)
		return -1;
	struct guest_addrs ga;
	if (!guest_addrs_parse(reply, &ga))
		return 0; /* no addresses known (yet): an empty list, as libvirt gives */
	struct vmms_iface *ifc = ret->ifaces.ifaces_val;
	if (!ifc && !(ifc = calloc(1, sizeof(*ifc))))
		return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	ret->ifaces.ifaces_val = ifc;
	ret->ifaces.ifaces_len = 1;
	const struct dom_nic *nic = def->nnics == 1 ? &def->nics[0] : NULL;
	if (fill_iface(ifc, nic ? nic_name(nic, 0, name, sizeof(name)) : "guest",
		       nic ? nic->mac : NULL, &ga) < 0)
		return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	return 0;
}

/* ---- define / undefine ---- */

/* <emulator> may only name the worker vmms runs (what capabilities and
 * domcapabilities report): vmms has no other. */
static bool emulator_ok(const struct vmms *v, const char *emulator)
{
	if (!emulator)
		return true;
	char real[PATH_MAX];
	const char *p = realpath(emulator, real) ? real : emulator;
	return v->worker_path[0] && !strcmp(p, v->worker_path);
}

static int define(struct call *k, const char *xml, void *r)
{
	struct dom_def *def = dom_def_parse(xml, &k->err);
	if (!def)
		return -1;
	struct domain *by_name = domain_by_name(k->v, def->name);
	struct domain *by_uuid = domain_by_uuid(k->v, def->uuid);
	char uuid[37];
	int rc = -1;
	if (!emulator_ok(k->v, def->emulator)) {
		vmms_err_set(&k->err, VIR_ERR_CONFIG_UNSUPPORTED,
			     "emulator '%s' is not linhv's worker: omit <emulator> or give %s",
			     def->emulator, k->v->worker_path[0] ? k->v->worker_path : "vmwp");
		goto out;
	}
	if (by_name && by_name != by_uuid) {
		uuid_format(by_name->def->uuid, uuid);
		vmms_err_set(&k->err, VIR_ERR_OPERATION_FAILED,
			     "domain '%s' already exists with uuid %s", def->name, uuid);
		goto out;
	}
	if (by_uuid && by_uuid != by_name) {
		uuid_format(def->uuid, uuid);
		vmms_err_set(&k->err, VIR_ERR_OPERATION_FAILED,
			     "domain '%s' is already defined with uuid %s", by_uuid->def->name,
			     uuid);
		goto out;
	}
	char *canon = dom_def_format(def, -1);
	if (!canon) {
		vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
		goto out;
	}
	/* Disk first: the in-memory table changes only once the file is safe. */
	rc = store_save_def(k->v->state_dir, def->name, canon);
	free(canon);
	if (rc < 0) {
		vmms_err_set(&k->err, VIR_ERR_OPERATION_FAILED,
			     "cannot save the definition of '%s' in %s/domains: %s", def->name,
			     k->v->state_dir, strerror(errno));
		goto out;
	}
	struct domain *d = by_name;
	bool was_transient = d && d->transient;
	if (d) {
		dom_def_free(d->def);
		d->def = def; /* a running worker keeps its live copy */
		d->transient = false;
	} else if (!(d = domain_add(k->v, def))) {
		vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
		goto out;
	}
	def = NULL;
	log_info("domain %s: %s", d->def->name, by_name ? "definition updated" : "defined");
	/* A transient domain becoming persistent is "added", as in libvirt. */
	events_lifecycle(d, VIR_DOMAIN_EVENT_DEFINED,
			 by_name && !was_transient ? VIR_DOMAIN_EVENT_DEFINED_UPDATED
						   : VIR_DOMAIN_EVENT_DEFINED_ADDED);
	rc = lookup_reply(k, d, r);
out:
	dom_def_free(def);
	return rc;
}

static int h_define(struct call *k, void *a, void *r)
{
	return define(k, ((struct vmms_define_args *)a)->xml, r);
}

static int h_define_flags(struct call *k, void *a, void *r)
{
	struct vmms_define_flags_args *args = a;
	/* We always validate, so VIR_DOMAIN_DEFINE_VALIDATE is a no-op. */
	if (no_flags(k, args->flags, VIR_DOMAIN_DEFINE_VALIDATE) < 0)
		return -1;
	return define(k, args->xml, r);
}

static int undefine(struct call *k, const struct vmms_dom *ref, unsigned flags)
{
	DOM_OR_FAIL(ref);
	if (no_flags(k, flags,
		     VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
			 VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_KEEP_NVRAM |
			 VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_TPM |
			 VIR_DOMAIN_UNDEFINE_KEEP_TPM) < 0)
		return -1;
	if (d->transient)
		return vmms_err_set(&k->err, VIR_ERR_OPERATION_INVALID,
				    "cannot undefine transient domain");
	if (job_busy(d, &k->err) < 0)
		return -1;
	if (domain_active(d))
		return vmms_err_set(&k->err, VIR_ERR_OPERATION_INVALID,
				    "domain '%s' is running: shut it down or destroy it before "
				    "undefining it",
				    d->def->name);
	if (store_remove_def(k->v->state_dir, d->def->name) < 0)
		return vmms_err_set(&k->err, VIR_ERR_OPERATION_FAILED,
				    "cannot remove the definition of '%s': %s", d->def->name,
				    strerror(errno));
	log_info("domain %s: undefined", d->def->name);
	events_lifecycle(d, VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
	domain_remove(d);
	return 0;
}

static int h_undefine(struct call *k, void *a, void *r)
{
	(void)r;
	return undefine(k, &((struct vmms_dom_args *)a)->dom, 0);
}

static int h_undefine_flags(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_dom_flags_args *args = a;
	return undefine(k, &args->dom, args->flags);
}

static int h_set_autostart(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_dom_int_args *args = a;
	DOM_OR_FAIL(&args->dom);
	if (d->transient)
		return vmms_err_set(&k->err, VIR_ERR_OPERATION_INVALID,
				    "cannot set autostart for transient domain");
	bool on = args->value != 0;
	if (store_set_autostart(k->v->state_dir, d->def->name, on) < 0)
		return vmms_err_set(&k->err, VIR_ERR_OPERATION_FAILED,
				    "cannot change autostart of '%s': %s", d->def->name,
				    strerror(errno));
	d->autostart = on;
	return 0;
}

/* ---- lifecycle ---- */

/* Runs the call as a job on D (job.h): its reply is sent when it ends. */
static int submit(struct call *k, struct domain *d, enum job_kind kind, unsigned flags,
		  const char *api, bool reply_dom)
{
	struct job *j = job_new(d, kind, flags, api, k->c, k->h);
	if (!j)
		return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	j->reply_dom = reply_dom;
	k->no_reply = true;
	job_submit(j);
	return 0;
}

void dispatch_reply_dom(struct client *c, const struct vmms_header *h, struct domain *d)
{
	struct vmms_dom_ret ret = {0};
	if (fill_dom(d, &ret.dom) < 0) {
		struct vmms_err err = {0};
		vmms_err_set(&err, VIR_ERR_INTERNAL_ERROR, "out of memory");
		client_error(c, h, &err);
	} else {
		client_reply(c, h, (xdrproc_t)xdr_vmms_dom_ret, &ret);
	}
	xdr_free((xdrproc_t)xdr_vmms_dom_ret, (char *)&ret);
}

static int start(struct call *k, const struct vmms_dom *ref, unsigned flags, bool reply_dom)
{
	DOM_OR_FAIL(ref);
	if (no_flags(k, flags, VIR_DOMAIN_START_PAUSED) < 0)
		return -1;
	return submit(k, d, JOB_START, flags, "virDomainCreate", reply_dom);
}

static int h_create(struct call *k, void *a, void *r)
{
	(void)r;
	return start(k, &((struct vmms_dom_args *)a)->dom, 0, false);
}

static int h_create_flags(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_dom_flags_args *args = a;
	return start(k, &args->dom, args->flags, true);
}

static int destroy(struct call *k, const struct vmms_dom *ref, unsigned flags)
{
	DOM_OR_FAIL(ref);
	if (no_flags(k, flags, VIR_DOMAIN_DESTROY_GRACEFUL) < 0)
		return -1;
	return submit(k, d, JOB_DESTROY, flags, "virDomainDestroy", false);
}

static int h_destroy(struct call *k, void *a, void *r)
{
	(void)r;
	return destroy(k, &((struct vmms_dom_args *)a)->dom, 0);
}

static int h_destroy_flags(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_dom_flags_args *args = a;
	return destroy(k, &args->dom, args->flags);
}

/* Guest shutdown goes through the worker to the guest's shutdown
 * integration service: the closest libvirt mode is "paravirt". */
static int shutdown_(struct call *k, const struct vmms_dom *ref, unsigned flags)
{
	DOM_OR_FAIL(ref);
	if (flags & ~(unsigned)VIR_DOMAIN_SHUTDOWN_PARAVIRT)
		return vmms_err_set(&k->err, VIR_ERR_INVALID_ARG,
				    "unsupported shutdown mode (0x%x): linhv shuts guests down "
				    "through the Hyper-V shutdown service (--mode paravirt)",
				    flags);
	return submit(k, d, JOB_SHUTDOWN, flags, "virDomainShutdown", false);
}

static int h_shutdown(struct call *k, void *a, void *r)
{
	(void)r;
	return shutdown_(k, &((struct vmms_dom_args *)a)->dom, 0);
}

static int h_shutdown_flags(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_dom_flags_args *args = a;
	return shutdown_(k, &args->dom, args->flags);
}

static int h_reboot(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_dom_flags_args *args = a;
	DOM_OR_FAIL(&args->dom);
	if (args->flags & ~(unsigned)VIR_DOMAIN_REBOOT_PARAVIRT)
		return vmms_err_set(&k->err, VIR_ERR_INVALID_ARG, "unsupported reboot mode (0x%x)",
				    args->flags);
	return submit(k, d, JOB_REBOOT, args->flags, "virDomainReboot", false);
}

static int h_suspend(struct call *k, void *a, void *r)
{
	(void)r;
	DOM_OR_FAIL(&((struct vmms_dom_args *)a)->dom);
	return submit(k, d, JOB_SUSPEND, 0, "virDomainSuspend", false);
}

static int h_resume(struct call *k, void *a, void *r)
{
	(void)r;
	DOM_OR_FAIL(&((struct vmms_dom_args *)a)->dom);
	return submit(k, d, JOB_RESUME, 0, "virDomainResume", false);
}

static int h_open_console(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_open_console_args *args = a;
	DOM_OR_FAIL(&args->dom);
	if (no_flags(k, args->flags, VIR_DOMAIN_CONSOLE_FORCE | VIR_DOMAIN_CONSOLE_SAFE) < 0)
		return -1;
	const char *dev = args->dev_name && *args->dev_name ? *args->dev_name : NULL;
	if (dev && strcmp(dev, "serial0") && strcmp(dev, "console0"))
		return vmms_err_set(&k->err, VIR_ERR_INVALID_ARG,
				    "cannot find console device '%s' (linhv has serial0)", dev);
	return console_open(k->c, k->h, d, args->flags, &k->err);
}

/* virsh create / virDomainCreateXML: a transient domain, started at once and
 * never stored; defining it later makes it persistent (virt-install does
 * both), stopping it before makes it go away. */
static int h_create_xml(struct call *k, void *a, void *r)
{
	struct vmms_define_flags_args *args = a;
	if (no_flags(k, args->flags, VIR_DOMAIN_START_PAUSED) < 0)
		return -1;
	struct dom_def *def = dom_def_parse(args->xml, &k->err);
	if (!def)
		return -1;
	struct domain *other = domain_by_name(k->v, def->name);
	if (!other)
		other = domain_by_uuid(k->v, def->uuid);
	if (other) {
		vmms_err_set(&k->err, VIR_ERR_OPERATION_FAILED,
			     "domain '%s' already exists: start it, or undefine it first",
			     other->def->name);
		dom_def_free(def);
		return -1;
	}
	if (!emulator_ok(k->v, def->emulator)) {
		vmms_err_set(&k->err, VIR_ERR_CONFIG_UNSUPPORTED,
			     "emulator '%s' is not linhv's worker: omit <emulator> or give %s",
			     def->emulator, k->v->worker_path[0] ? k->v->worker_path : "vmwp");
		dom_def_free(def);
		return -1;
	}
	struct domain *d = domain_add(k->v, def);
	if (!d) {
		dom_def_free(def);
		return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	}
	(void)r;
	log_info("domain %s: creating (transient)", d->def->name);
	struct job *j = job_new(d, JOB_START, args->flags, "virDomainCreateXML", k->c, k->h);
	if (!j) {
		domain_remove(d);
		return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	}
	/* transient: made so once started; a failed start removes the domain. */
	j->transient = true;
	j->reply_dom = true;
	k->no_reply = true;
	job_submit(j);
	return 0;
}

/* ---- domain events ---- */

static int h_event_register_old(struct call *k, void *a, void *r)
{
	(void)r;
	return events_register_old(k->c, ((struct vmms_event_register_args *)a)->event_id, &k->err);
}

static int h_event_deregister_old(struct call *k, void *a, void *r)
{
	(void)r;
	return events_deregister_old(k->c, ((struct vmms_event_register_args *)a)->event_id,
				     &k->err);
}

static int h_event_register_cb(struct call *k, void *a, void *r)
{
	struct vmms_event_cb_register_args *args = a;
	/* A domain that does not exist (yet) is fine: its uuid filters. */
	const unsigned char *uuid = args->dom ? (const unsigned char *)args->dom->uuid : NULL;
	int id = events_register_cb(k->c, args->event_id, uuid, &k->err);
	if (id < 0)
		return -1;
	((struct vmms_event_cb_register_ret *)r)->callback_id = id;
	return 0;
}

static int h_event_deregister_cb(struct call *k, void *a, void *r)
{
	(void)r;
	return events_deregister_cb(k->c, ((struct vmms_event_cb_deregister_args *)a)->callback_id,
				    &k->err);
}

/* ---- the table ---- */

static const struct proc_desc procs[] = {
    {PROC_AUTH_LIST, "virConnectOpen", NONE, X(vmms_auth_list_ret), h_auth_list, P_BEFORE_OPEN},
    {PROC_CONNECT_SUPPORTS_FEATURE, "virConnectSupportsFeature", X(vmms_feature_args),
     X(vmms_int_ret), h_supports_feature, P_BEFORE_OPEN},
    {PROC_CONNECT_OPEN, "virConnectOpen", X(vmms_open_args), NONE, h_open, P_BEFORE_OPEN},
    {PROC_CONNECT_CLOSE, "virConnectClose", NONE, NONE, h_close, 0},
    {PROC_CONNECT_GET_TYPE, "virConnectGetType", NONE, X(vmms_str_ret), h_get_type, 0},
    {PROC_CONNECT_GET_VERSION, "virConnectGetVersion", NONE, X(vmms_u64_ret), h_get_version, 0},
    {PROC_CONNECT_GET_LIB_VERSION, "virConnectGetLibVersion", NONE, X(vmms_u64_ret), h_get_version,
     0},
    {PROC_CONNECT_GET_HOSTNAME, "virConnectGetHostname", NONE, X(vmms_str_ret), h_get_hostname, 0},
    {PROC_CONNECT_GET_URI, "virConnectGetURI", NONE, X(vmms_str_ret), h_get_uri, 0},
    {PROC_CONNECT_GET_MAX_VCPUS, "virConnectGetMaxVcpus", X(vmms_opt_str_args), X(vmms_int_ret),
     h_max_vcpus, 0},
    {PROC_NODE_GET_INFO, "virNodeGetInfo", NONE, X(vmms_node_info_ret), h_node_info, 0},
    {PROC_CONNECT_GET_CAPABILITIES, "virConnectGetCapabilities", NONE, X(vmms_str_ret),
     h_capabilities, 0},
    {PROC_CONNECT_GET_DOMAIN_CAPABILITIES, "virConnectGetDomainCapabilities", X(vmms_domcaps_args),
     X(vmms_str_ret), h_domcaps, 0},
    {PROC_NODE_GET_FREE_MEMORY, "virNodeGetFreeMemory", NONE, X(vmms_u64_ret), h_free_memory, 0},
    {PROC_NODE_GET_SECURITY_MODEL, "virNodeGetSecurityModel", NONE, X(vmms_security_model_ret),
     h_security_model, 0},
    {PROC_CONNECT_IS_SECURE, "virConnectIsSecure", NONE, X(vmms_int_ret), h_is_secure, 0},
    {PROC_CONNECT_LIST_ALL_DOMAINS, "virConnectListAllDomains", X(vmms_list_all_args),
     X(vmms_list_all_ret), h_list_all, 0},
    {PROC_CONNECT_NUM_OF_DOMAINS, "virConnectNumOfDomains", NONE, X(vmms_int_ret), h_num_active, 0},
    {PROC_CONNECT_NUM_OF_DEFINED_DOMAINS, "virConnectNumOfDefinedDomains", NONE, X(vmms_int_ret),
     h_num_inactive, 0},
    {PROC_CONNECT_LIST_DOMAINS, "virConnectListDomains", X(vmms_list_ids_args),
     X(vmms_list_ids_ret), h_list_ids, 0},
    {PROC_CONNECT_LIST_DEFINED_DOMAINS, "virConnectListDefinedDomains", X(vmms_list_names_args),
     X(vmms_list_names_ret), h_list_names, 0},
    {PROC_DOMAIN_LOOKUP_BY_ID, "virDomainLookupByID", X(vmms_lookup_id_args), X(vmms_dom_ret),
     h_lookup_id, 0},
    {PROC_DOMAIN_LOOKUP_BY_NAME, "virDomainLookupByName", X(vmms_lookup_name_args), X(vmms_dom_ret),
     h_lookup_name, 0},
    {PROC_DOMAIN_LOOKUP_BY_UUID, "virDomainLookupByUUID", X(vmms_lookup_uuid_args), X(vmms_dom_ret),
     h_lookup_uuid, 0},
    {PROC_DOMAIN_GET_STATE, "virDomainGetState", X(vmms_dom_flags_args), X(vmms_state_ret),
     h_get_state, 0},
    {PROC_DOMAIN_GET_INFO, "virDomainGetInfo", X(vmms_dom_args), X(vmms_dom_info_ret), h_get_info,
     0},
    {PROC_DOMAIN_GET_XML_DESC, "virDomainGetXMLDesc", X(vmms_dom_flags_args), X(vmms_str_ret),
     h_get_xml, 0},
    {PROC_DOMAIN_GET_OS_TYPE, "virDomainGetOSType", X(vmms_dom_args), X(vmms_str_ret),
     h_get_os_type, 0},
    {PROC_DOMAIN_GET_MAX_MEMORY, "virDomainGetMaxMemory", X(vmms_dom_args), X(vmms_u64_ret),
     h_get_max_memory, 0},
    {PROC_DOMAIN_GET_MAX_VCPUS, "virDomainGetMaxVcpus", X(vmms_dom_args), X(vmms_int_ret),
     h_get_max_vcpus, 0},
    {PROC_DOMAIN_GET_VCPUS_FLAGS, "virDomainGetVcpusFlags", X(vmms_dom_flags_args), X(vmms_int_ret),
     h_get_vcpus_flags, 0},
    {PROC_DOMAIN_IS_ACTIVE, "virDomainIsActive", X(vmms_dom_args), X(vmms_int_ret), h_is_active, 0},
    {PROC_DOMAIN_IS_PERSISTENT, "virDomainIsPersistent", X(vmms_dom_args), X(vmms_int_ret),
     h_is_persistent, 0},
    {PROC_DOMAIN_IS_UPDATED, "virDomainIsUpdated", X(vmms_dom_args), X(vmms_int_ret), h_is_updated,
     0},
    {PROC_DOMAIN_GET_AUTOSTART, "virDomainGetAutostart", X(vmms_dom_args), X(vmms_int_ret),
     h_get_autostart, 0},
    {PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE, "virDomainHasManagedSaveImage", X(vmms_dom_flags_args),
     X(vmms_int_ret), h_zero_dom_flags, 0},
    {PROC_DOMAIN_SNAPSHOT_NUM, "virDomainSnapshotNum", X(vmms_dom_flags_args), X(vmms_int_ret),
     h_zero_dom_flags, 0},
    {PROC_DOMAIN_GET_MESSAGES, "virDomainGetMessages", X(vmms_dom_flags_args), X(vmms_messages_ret),
     h_get_messages, 0},
    {PROC_DOMAIN_GET_HOSTNAME, "virDomainGetHostname", X(vmms_dom_flags_args), X(vmms_str_ret),
     h_dom_hostname, 0},
    {PROC_DOMAIN_INTERFACE_ADDRESSES, "virDomainInterfaceAddresses", X(vmms_iface_addrs_args),
     X(vmms_iface_addrs_ret), h_iface_addrs, 0},
    {PROC_DOMAIN_DEFINE_XML, "virDomainDefineXML", X(vmms_define_args), X(vmms_dom_ret), h_define,
     P_MUTATES},
    {PROC_DOMAIN_DEFINE_XML_FLAGS, "virDomainDefineXMLFlags", X(vmms_define_flags_args),
     X(vmms_dom_ret), h_define_flags, P_MUTATES},
    {PROC_DOMAIN_UNDEFINE, "virDomainUndefine", X(vmms_dom_args), NONE, h_undefine, P_MUTATES},
    {PROC_DOMAIN_UNDEFINE_FLAGS, "virDomainUndefineFlags", X(vmms_dom_flags_args), NONE,
     h_undefine_flags, P_MUTATES},
    {PROC_DOMAIN_SET_AUTOSTART, "virDomainSetAutostart", X(vmms_dom_int_args), NONE,
     h_set_autostart, P_MUTATES},
    {PROC_DOMAIN_CREATE, "virDomainCreate", X(vmms_dom_args), NONE, h_create, P_MUTATES},
    {PROC_DOMAIN_CREATE_WITH_FLAGS, "virDomainCreateWithFlags", X(vmms_dom_flags_args),
     X(vmms_dom_ret), h_create_flags, P_MUTATES},
    {PROC_DOMAIN_CREATE_XML, "virDomainCreateXML", X(vmms_define_flags_args), X(vmms_dom_ret),
     h_create_xml, P_MUTATES},
    {PROC_DOMAIN_DESTROY, "virDomainDestroy", X(vmms_dom_args), NONE, h_destroy, P_MUTATES},
    {PROC_DOMAIN_DESTROY_FLAGS, "virDomainDestroyFlags", X(vmms_dom_flags_args), NONE,
     h_destroy_flags, P_MUTATES},
    {PROC_DOMAIN_SHUTDOWN, "virDomainShutdown", X(vmms_dom_args), NONE, h_shutdown, P_MUTATES},
    {PROC_DOMAIN_SHUTDOWN_FLAGS, "virDomainShutdownFlags", X(vmms_dom_flags_args), NONE,
     h_shutdown_flags, P_MUTATES},
    {PROC_DOMAIN_REBOOT, "virDomainReboot", X(vmms_dom_flags_args), NONE, h_reboot, P_MUTATES},
    {PROC_DOMAIN_SUSPEND, "virDomainSuspend", X(vmms_dom_args), NONE, h_suspend, P_MUTATES},
    {PROC_DOMAIN_RESUME, "virDomainResume", X(vmms_dom_args), NONE, h_resume, P_MUTATES},
    {PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, "virConnectDomainEventRegisterAny",
     X(vmms_event_register_args), NONE, h_event_register_old, 0},
    {PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, "virConnectDomainEventDeregisterAny",
     X(vmms_event_register_args), NONE, h_event_deregister_old, 0},
    {PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, "virConnectDomainEventRegisterAny",
     X(vmms_event_cb_register_args), X(vmms_event_cb_register_ret), h_event_register_cb, 0},
    {PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, "virConnectDomainEventDeregisterAny",
     X(vmms_event_cb_deregister_args), NONE, h_event_deregister_cb, 0},
    {PROC_DOMAIN_OPEN_CONSOLE, "virDomainOpenConsole", X(vmms_open_console_args), NONE,
     h_open_console, P_MUTATES},
};

static const struct proc_desc *find_proc(int proc)
{
	for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++)
		if (procs[i].proc == proc)
			return &procs[i];
	for (size_t i = 0; i < storage_nprocs; i++)
		if (storage_procs[i].proc == proc)
			return &storage_procs[i];
	for (size_t i = 0; i < stats_nprocs; i++)
		if (stats_procs[i].proc == proc)
			return &stats_procs[i];
	return NULL;
}

void dispatch_call(struct client *c, const struct vmms_header *h, const uint8_t *pkt, size_t len)
{
	struct call k = {.v = c->v, .c = c, .h = h};
	const struct proc_desc *p = find_proc(h->proc);
	if (!p) {
		vmms_err_set(&k.err, VIR_ERR_NO_SUPPORT, "procedure %d", h->proc);
		client_error(c, h, &k.err);
		return;
	}
	if (!c->opened && !(p->flags & P_BEFORE_OPEN)) {
		vmms_err_set(&k.err, VIR_ERR_INTERNAL_ERROR, "connection not open");
		client_error(c, h, &k.err);
		return;
	}
	if (c->readonly && (p->flags & P_MUTATES)) {
		vmms_err_set(&k.err, VIR_ERR_OPERATION_DENIED, "read only access prevents %s",
			     p->api);
		client_error(c, h, &k.err);
		return;
	}
	/* Arguments and results are small structs: keep them on the stack. */
	_Alignas(max_align_t) unsigned char args[256] = {0}, ret[256] = {0};
	if (p->args_size > sizeof(args) || p->ret_size > sizeof(ret)) {
		vmms_err_set(&k.err, VIR_ERR_INTERNAL_ERROR, "procedure %d too large", h->proc);
		client_error(c, h, &k.err);
		return;
	}
	if (p->args_x && rpc_decode_body(pkt, len, p->args_x, args) < 0) {
		vmms_err_set(&k.err, VIR_ERR_RPC, "cannot decode the arguments of procedure %d",
			     h->proc);
		client_error(c, h, &k.err);
		return;
	}
	int rc = p->fn(&k, args, ret);
	if (rc < 0) {
		if (!k.err.code)
			vmms_err_set(&k.err, VIR_ERR_INTERNAL_ERROR, "%s failed", p->api);
		client_error(c, h, &k.err);
	} else if (!k.no_reply) {
		client_reply(c, h, p->ret_x, ret);
	}
	if (p->args_x)
		xdr_free(p->args_x, (char *)args);
	if (p->ret_x)
		xdr_free(p->ret_x, (char *)ret);
}

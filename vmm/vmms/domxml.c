/* domxml.c: parse, validate and format linhv domain XML. See domxml.h.
 *
 * The parser walks the tree itself rather than using XPath so that every
 * element and attribute it does not understand can be refused by name: a
 * setting silently dropped is worse than an error. */
#include "domxml.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define NAME(n) ((const char *)(n)->name)

bool dom_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > DOM_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.' && c != '+')
			return false;
	}
	return true;
}

void uuid_format(const unsigned char u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

/* Accepts the 8-4-4-4-12 form and the 32 hex digits form, as libvirt does. */
int uuid_parse(const char *s, unsigned char u[16])
{
	size_t k = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '-')
			continue;
		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) || k >= 16)
			return -1;
		char hex[3] = {p[0], p[1], 0};
		u[k++] = (unsigned char)strtoul(hex, NULL, 16);
		p++;
	}
	return k == 16 ? 0 : -1;
}

const char *dom_action_name(enum dom_action a)
{
	switch (a) {
	case ACT_RESTART:
		return "restart";
	case ACT_PRESERVE:
		return "preserve";
	default:
		return "destroy";
	}
}

static int random_bytes(unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* ---- validation helpers ---- */

/* Trimmed text content of NODE, malloc'd. */
static char *node_text(xmlNodePtr node)
{
	xmlChar *c = xmlNodeGetContent(node);
	if (!c)
		return strdup("");
	const char *s = (const char *)c;
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	char *r = strndup(s, n);
	xmlFree(c);
	return r;
}

static char *attr(xmlNodePtr node, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(node, (const xmlChar *)name);
	if (!v)
		return NULL;
	char *r = strdup((const char *)v);
	xmlFree(v);
	return r;
}

/* Refuses any attribute of NODE not in the NULL-terminated ALLOWED list. */
static int check_attrs(xmlNodePtr node, struct vmms_err *err, const char *const *allowed)
{
	for (xmlAttrPtr a = node->properties; a; a = a->next) {
		bool ok = false;
		for (const char *const *p = allowed; *p; p++)
			if (!strcmp(*p, (const char *)a->name))
				ok = true;
		if (!ok)
			return vmms_err_set(
			    err, VIR_ERR_CONFIG_UNSUPPORTED,
			    "attribute '%s' of element <%s> is not supported by linhv",
			    (const char *)a->name, NAME(node));
	}
	return 0;
}

#define ATTRS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ATTRS ((const char *const[]){NULL})

static int unsupported_elem(xmlNodePtr node, const char *parent, struct vmms_err *err)
{
	return vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
			    "element <%s> in <%s> is not supported by linhv", NAME(node), parent);
}

/* Elements with children must not also carry text other than whitespace. */
static bool is_elem(xmlNodePtr n)
{
	return n->type == XML_ELEMENT_NODE;
}

/* Size with libvirt's units, returned in KiB (rounded up). */
static int parse_memory(xmlNodePtr node, unsigned long long *kib, struct vmms_err *err)
{
	static const struct {
		const char *unit;
		unsigned long long bytes;
	} units[] = {
	    {"b", 1ULL},       {"bytes", 1ULL},	    {"KB", 1000ULL},
	    {"k", 1024ULL},    {"KiB", 1024ULL},    {"MB", 1000000ULL},
	    {"M", 1ULL << 20}, {"MiB", 1ULL << 20}, {"GB", 1000000000ULL},
	    {"G", 1ULL << 30}, {"GiB", 1ULL << 30}, {"TB", 1000000000000ULL},
	    {"T", 1ULL << 40}, {"TiB", 1ULL << 40},
	};
	if (check_attrs(node, err, ATTRS("unit")) < 0)
		return -1;
	char *unit = attr(node, "unit");
	char *text = node_text(node);
	unsigned long long mult = 0;
	int rc = -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!unit || !strcmp(unit, units[i].unit))
			mult = unit ? units[i].bytes : 1024ULL;
	if (!mult) {
		vmms_err_set(err, VIR_ERR_XML_ERROR, "unknown memory unit '%s' in <%s>", unit,
			     NAME(node));
		goto out;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (!*text || *end || errno || text[0] == '-') {
		vmms_err_set(err, VIR_ERR_XML_ERROR, "<%s> must be a whole number, got '%s'",
			     NAME(node), text);
		goto out;
	}
	if (v > (1ULL << 50) / mult) {
		vmms_err_set(err, VIR_ERR_XML_ERROR, "<%s> is too large", NAME(node));
		goto out;
	}
	*kib = (v * mult + 1023) / 1024;
	rc = 0;
out:
	free(unit);
	free(text);
	return rc;
}

static int parse_action(xmlNodePtr node, enum dom_action *a, bool preserve_ok, struct vmms_err *err)
{
	if (check_attrs(node, err, NO_ATTRS) < 0)
		return -1;
	char *t = node_text(node);
	int rc = 0;
	if (!strcmp(t, "destroy"))
		*a = ACT_DESTROY;
	else if (!strcmp(t, "restart"))
		*a = ACT_RESTART;
	else if (preserve_ok && !strcmp(t, "preserve"))
		*a = ACT_PRESERVE;
	else
		rc = vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
				  "<%s>%s</%s> is not supported by linhv (use destroy, restart%s)",
				  NAME(node), t, NAME(node), preserve_ok ? " or preserve" : "");
	free(t);
	return rc;
}

static bool mac_valid(const char *s)
{
	unsigned v[6];
	char tail;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
				      &v[4], &v[5], &tail) != 6)
		return false;
	for (int i = 0; i < 17; i++)
		if ((i % 3 == 2) != (s[i] == ':'))
			return false;
	return !(v[0] & 1); /* a multicast address cannot be a NIC's */
}

static bool ifname_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

/* ---- element parsers ---- */

static int parse_os(xmlNodePtr os, struct dom_def *def, struct vmms_err *err)
{
	if (check_attrs(os, err, NO_ATTRS) < 0)
		return -1;
	bool have_type = false;
	for (xmlNodePtr n = os->children; n; n = n->next) {
		if (!is_elem(n))
			continue;
		char **slot = NULL;
		if (!strcmp(NAME(n), "type")) {
			if (check_attrs(n, err, ATTRS("arch", "machine")) < 0)
				return -1;
			char *t = node_text(n), *arch = attr(n, "arch"), *mach = attr(n, "machine");
			int bad = 0;
			if (strcmp(t, "hvm"))
				bad = vmms_err_set(
				    err, VIR_ERR_CONFIG_UNSUPPORTED,
				    "os type '%s' is not supported by linhv (only hvm)", t);
			else if (arch && strcmp(arch, "x86_64"))
				bad = vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
						   "guest architecture '%s' is not supported by "
						   "linhv (only x86_64)",
						   arch);
			else if (mach && strcmp(mach, "linhv"))
				bad = vmms_err_set(
				    err, VIR_ERR_CONFIG_UNSUPPORTED,
				    "machine type '%s' is not supported by linhv (omit "
				    "it or use 'linhv')",
				    mach);
			free(t);
			free(arch);
			free(mach);
			if (bad)
				return -1;
			have_type = true;
			continue;
		} else if (!strcmp(NAME(n), "kernel"))
			slot = &def->kernel;
		else if (!strcmp(NAME(n), "initrd"))
			slot = &def->initrd;
		else if (!strcmp(NAME(n), "cmdline"))
			slot = &def->cmdline;
		else if (!strcmp(NAME(n), "boot"))
			return vmms_err_set(
			    err, VIR_ERR_CONFIG_UNSUPPORTED,
			    "element <boot> in <os> is not supported by linhv: it "
			    "boots the guest kernel directly, give <kernel> instead");
		else
			return unsupported_elem(n, "os", err);
		if (check_attrs(n, err, NO_ATTRS) < 0)
			return -1;
		if (*slot)
			return vmms_err_set(err, VIR_ERR_XML_ERROR, "<os> has more than one <%s>",
					    NAME(n));
		*slot = node_text(n);
	}
	if (!have_type)
		return vmms_err_set(err, VIR_ERR_XML_ERROR, "<os> needs <type>hvm</type>");
	if (!def->kernel || !def->kernel[0])
		return vmms_err_set(err, VIR_ERR_XML_ERROR,
				    "<os> needs <kernel>: linhv boots a Linux kernel directly");
	if (def->kernel[0] != '/' || (def->initrd && def->initrd[0] != '/'))
		return vmms_err_set(err, VIR_ERR_XML_ERROR,
				    "<kernel> and <initrd> must be absolute paths");
	if (def->initrd && !def->initrd[0]) {
		free(def->initrd);
		def->initrd = NULL;
	}
	return 0;
}

/* <driver name='qemu' type='raw' cache='none|writeback'/>: the format must be
 * raw; the cache modes are the two vmwp has (O_DIRECT or the page cache). */
static int parse_disk_driver(xmlNodePtr n, struct dom_disk *disk, struct vmms_err *err)
{
	if (check_attrs(n, err, ATTRS("name", "type", "cache")) < 0)
		return -1;
	char *t = attr(n, "type"), *c = attr(n, "cache");
	int rc = 0;
	if (t && strcmp(t, "raw"))
		rc = vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
				  "disk format '%s' is not supported by linhv (only raw)", t);
	else if (!c || !strcmp(c, "default"))
		disk->cache = CACHE_DEFAULT;
	else if (!strcmp(c, "none"))
		disk->cache = CACHE_NONE;
	else if (!strcmp(c, "writeback"))
		disk->cache = CACHE_WRITEBACK;
	else
		rc = vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
				  "disk cache mode '%s' is not supported by linhv (use none or "
				  "writeback)",
				  c);
	free(t);
	free(c);
	return rc;
}

/* <serial>: 1-20 printable ASCII characters, no spaces or ',' (vmwp's
 * --disk option list uses ','). */
static int parse_disk_serial(xmlNodePtr n, struct dom_disk *disk, struct vmms_err *err)
{
	if (check_attrs(n, err, NO_ATTRS) < 0)
		return -1;
	char *s = node_text(n);
	size_t len = strlen(s);
	bool ok = len >= 1 && len <= DOM_DISK_SERIAL_MAX;
	for (size_t i = 0; ok && i < len; i++)
		ok = s[i] > ' ' && s[i] <= '~' && s[i] != ',';
	if (!ok) {
		vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
			     "disk <serial>%s</serial> is not supported by linhv: use 1-%d "
			     "printable characters without spaces or ','",
			     s, DOM_DISK_SERIAL_MAX);
		free(s);
		return -1;
	}
	free(disk->serial);
	disk->serial = s;
	return 0;
}

static int parse_disk(xmlNodePtr d, struct dom_def *def, struct vmms_err *err)
{
	if (check_attrs(d, err, ATTRS("type", "device")) < 0)
		return -1;
	char *type = attr(d, "type"), *device = attr(d, "device");
	bool block = type && !strcmp(type, "block");
	int bad = 0;
	if (!type || (strcmp(type, "file") && !block))
		bad = vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
				   "disk type '%s' is not supported by linhv (use type='file' or "
				   "type='block')",
				   type ? type : "(none)");
	else if (device && strcmp(device, "disk"))
		bad = vmms_err_set(
		    err, VIR_ERR_CONFIG_UNSUPPORTED,
		    "disk device '%s' is not supported by linhv (only device='disk')", device);
	free(type);
	free(device);
	if (bad)
		return -1;
	if (def->ndisks == DOM_MAX_DISKS)
		return vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED, "more than %d disks",
				    DOM_MAX_DISKS);
	struct dom_disk *disk = &def->disks[def->ndisks++];
	disk->block = block;
	const char *src_attr = block ? "dev" : "file";
	for (xmlNodePtr n = d->children; n; n = n->next) {
		if (!is_elem(n))
			continue;
		if (!strcmp(NAME(n), "source")) {
			if (check_attrs(n, err, ATTRS(src_attr)) < 0)
				return -1;
			free(disk->file);
			disk->file = attr(n, src_attr);
		} else if (!strcmp(NAME(n), "target")) {
			if (check_attrs(n, err, ATTRS("dev", "bus")) < 0)
				return -1;
			char *bus = attr(n, "bus");
			bool bus_ok = !bus || !strcmp(bus, "scsi");
			if (!bus_ok)
				vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
					     "disk bus '%s' is not supported by linhv (disks are "
					     "synthetic SCSI: bus='scsi')",
					     bus);
			free(bus);
			if (!bus_ok)
				return -1;
			free(disk->target);
			disk->target = attr(n, "dev");
		} else if (!strcmp(NAME(n), "readonly")) {
			if (check_attrs(n, err, NO_ATTRS) < 0)
				return -1;
			disk->readonly = true;
		} else if (!strcmp(NAME(n), "driver")) {
			if (parse_disk_driver(n, disk, err) < 0)
				return -1;
		} else if (!strcmp(NAME(n), "serial")) {
			if (parse_disk_serial(n, disk, err) < 0)
				return -1;
		} else {
			return unsupported_elem(n, "disk", err);
		}
	}
	if (!disk->file || disk->file[0] != '/')
		return vmms_err_set(err, VIR_ERR_XML_ERROR,
				    "<disk> needs <source %s='/absolute/path'/>", src_attr);
	if (!disk->target || !disk->target[0])
		return vmms_err_set(err, VIR_ERR_XML_ERROR, "<disk> needs <target dev='sdX'/>");
	for (size_t i = 0; i + 1 < def->ndisks; i++)
		if (!strcmp(def->disks[i].target, disk->target))
			return vmms_err_set(err, VIR_ERR_XML_ERROR, "two disks use target dev '%s'",
					    disk->target);
	if (strchr(disk->file, ','))
		return vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
				    "disk path '%s' contains ',' which linhv cannot pass on",
				    disk->file);
	return 0;
}

static int parse_interface(xmlNodePtr d, struct dom_def *def, struct vmms_err *err)
{
	if (check_attrs(d, err, ATTRS("type")) < 0)
		return -1;
	if (def->nnics == DOM_MAX_NICS)
		return vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED, "more than %d interfaces",
				    DOM_MAX_NICS);
	char *type = attr(d, "type");
	struct dom_nic *nic = &def->nics[def->nnics++];
	if (type && !strcmp(type, "bridge"))
		nic->type = NIC_BRIDGE;
	else if (type && !strcmp(type, "ethernet"))
		nic->type = NIC_ETHERNET;
	else {
		vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
			     "interface type '%s' is not supported by linhv (use 'bridge' or "
			     "'ethernet')",
			     type ? type : "(none)");
		free(type);
		return -1;
	}
	free(type);
	for (xmlNodePtr n = d->children; n; n = n->next) {
		if (!is_elem(n))
			continue;
		if (!strcmp(NAME(n), "source") && nic->type == NIC_BRIDGE) {
			if (check_attrs(n, err, ATTRS("bridge")) < 0)
				return -1;
			free(nic->bridge);
			nic->bridge = attr(n, "bridge");
		} else if (!strcmp(NAME(n), "target")) {
			if (check_attrs(n, err, ATTRS("dev")) < 0)
				return -1;
			free(nic->tap);
			nic->tap = attr(n, "dev");
		} else if (!strcmp(NAME(n), "mac")) {
			if (check_attrs(n, err, ATTRS("address")) < 0)
				return -1;
			char *m = attr(n, "address");
			bool ok = m && mac_valid(m);
			if (ok)
				for (int i = 0; i < 17; i++)
					nic->mac[i] = (char)tolower((unsigned char)m[i]);
			else
				vmms_err_set(err, VIR_ERR_XML_ERROR,
					     "invalid MAC address '%s' (want a unicast "
					     "xx:xx:xx:xx:xx:xx)",
					     m ? m : "");
			free(m);
			if (!ok)
				return -1;
		} else if (!strcmp(NAME(n), "model")) {
			if (check_attrs(n, err, ATTRS("type")) < 0)
				return -1;
			char *t = attr(n, "type");
			bool ok = t && !strcmp(t, "netvsc");
			if (!ok)
				vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
					     "interface model '%s' is not supported by linhv (NICs "
					     "are synthetic: model type='netvsc')",
					     t ? t : "");
			free(t);
			if (!ok)
				return -1;
		} else {
			return unsupported_elem(n, "interface", err);
		}
	}
	if (nic->type == NIC_BRIDGE && (!nic->bridge || !ifname_valid(nic->bridge)))
		return vmms_err_set(err, VIR_ERR_XML_ERROR,
				    "interface type='bridge' needs <source bridge='NAME'/>");
	if (nic->type == NIC_ETHERNET && !nic->tap)
		return vmms_err_set(err, VIR_ERR_XML_ERROR,
				    "interface type='ethernet' needs <target dev='TAPNAME'/>");
	if (nic->tap && !ifname_valid(nic->tap))
		return vmms_err_set(err, VIR_ERR_XML_ERROR, "invalid interface name '%s'",
				    nic->tap);
	if (!nic->mac[0]) {
		/* 00:15:5d is the prefix Hyper-V gives its synthetic NICs. */
		unsigned char r[3];
		if (random_bytes(r, sizeof(r)) < 0)
			return vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "no random bytes");
		snprintf(nic->mac, sizeof(nic->mac), "00:15:5d:%02x:%02x:%02x", r[0], r[1], r[2]);
	}
	return 0;
}

/* <serial type='pty'> / <console type='pty'>: the worker's serial console. */
static int parse_chardev(xmlNodePtr d, struct dom_def *def, struct vmms_err *err)
{
	if (check_attrs(d, err, ATTRS("type")) < 0)
		return -1;
	char *type = attr(d, "type");
	bool ok = type && !strcmp(type, "pty");
	if (!ok)
		vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
			     "<%s type='%s'> is not supported by linhv (only type='pty')", NAME(d),
			     type ? type : "");
	free(type);
	if (!ok)
		return -1;
	for (xmlNodePtr n = d->children; n; n = n->next) {
		if (!is_elem(n))
			continue;
		if (strcmp(NAME(n), "target"))
			return unsupported_elem(n, NAME(d), err);
		if (check_attrs(n, err, ATTRS("type", "port")) < 0)
			return -1;
		char *port = attr(n, "port"), *tt = attr(n, "type");
		bool good = (!port || !strcmp(port, "0")) &&
			    (!tt || !strcmp(tt, "serial") || !strcmp(tt, "isa-serial"));
		if (!good)
			vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
				     "linhv offers one serial console (port 0)");
		free(port);
		free(tt);
		if (!good)
			return -1;
	}
	def->console = true;
	return 0;
}

static int parse_emulator(xmlNodePtr n, struct dom_def *def, struct vmms_err *err)
{
	if (check_attrs(n, err, NO_ATTRS) < 0)
		return -1;
	if (def->emulator)
		return vmms_err_set(err, VIR_ERR_XML_ERROR,
				    "<devices> has more than one <emulator>");
	def->emulator = node_text(n);
	if (!def->emulator || def->emulator[0] != '/')
		return vmms_err_set(err, VIR_ERR_XML_ERROR, "<emulator> needs an absolute path");
	return 0;
}

static int parse_devices(xmlNodePtr devs, struct dom_def *def, struct vmms_err *err)
{
	if (check_attrs(devs, err, NO_ATTRS) < 0)
		return -1;
	for (xmlNodePtr n = devs->children; n; n = n->next) {
		if (!is_elem(n))
			continue;
		int rc;
		if (!strcmp(NAME(n), "disk"))
			rc = parse_disk(n, def, err);
		else if (!strcmp(NAME(n), "interface"))
			rc = parse_interface(n, def, err);
		else if (!strcmp(NAME(n), "serial") || !strcmp(NAME(n), "console"))
			rc = parse_chardev(n, def, err);
		else if (!strcmp(NAME(n), "emulator"))
			rc = parse_emulator(n, def, err);
		else
			rc = unsupported_elem(n, "devices", err);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int parse_vcpu(xmlNodePtr n, struct dom_def *def, struct vmms_err *err)
{
	if (check_attrs(n, err, ATTRS("placement")) < 0)
		return -1;
	char *pl = attr(n, "placement");
	bool pl_ok = !pl || !strcmp(pl, "static");
	free(pl);
	if (!pl_ok)
		return vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
				    "vcpu placement other than 'static' is not supported by linhv");
	char *t = node_text(n), *end;
	errno = 0;
	long v = strtol(t, &end, 10);
	bool ok = *t && !*end && !errno && v >= 1 && v <= DOM_MAX_VCPUS;
	if (!ok)
		vmms_err_set(err, VIR_ERR_XML_ERROR, "<vcpu> must be between 1 and %d, got '%s'",
			     DOM_MAX_VCPUS, t);
	free(t);
	def->vcpus = (unsigned)v;
	return ok ? 0 : -1;
}

/* <clock offset='utc|localtime'/> or <clock offset='absolute' start='EPOCH'/>, no <timer>s. */
static int parse_clock(xmlNodePtr n, struct dom_def *def, struct vmms_err *err)
{
	if (check_attrs(n, err, ATTRS("offset", "start")) < 0)
		return -1;
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (is_elem(c))
			return unsupported_elem(c, "clock", err);
	char *off = attr(n, "offset"), *start = attr(n, "start");
	int rc = 0;
	if (!off || !strcmp(off, "utc") || !strcmp(off, "localtime")) {
		def->clock = off && !strcmp(off, "localtime") ? CLOCK_LOCALTIME : CLOCK_UTC;
		if (start)
			rc = vmms_err_set(err, VIR_ERR_XML_ERROR,
					  "<clock start='...'> needs offset='absolute'");
	} else if (!strcmp(off, "absolute")) {
		char *end = NULL;
		errno = 0;
		unsigned long long v = start ? strtoull(start, &end, 10) : 0;
		if (!start || !isdigit((unsigned char)start[0]) || errno || *end ||
		    v > DOM_CLOCK_START_MAX)
			rc = vmms_err_set(
			    err, VIR_ERR_XML_ERROR,
			    "<clock offset='absolute'> needs start='SECONDS' since the "
			    "epoch, up to %llu",
			    DOM_CLOCK_START_MAX);
		def->clock = CLOCK_ABSOLUTE;
		def->clock_start = v;
	} else {
		rc = vmms_err_set(
		    err, VIR_ERR_CONFIG_UNSUPPORTED,
		    "<clock offset='%s'> is not supported by linhv (use utc, localtime "
		    "or absolute)",
		    off);
	}
	free(off);
	free(start);
	return rc;
}

/* <features>: linhv guests always have ACPI and an APIC, so those two are
 * accepted (virt-install writes them); anything else is refused by name. */
static int parse_features(xmlNodePtr f, struct dom_def *def, struct vmms_err *err)
{
	if (check_attrs(f, err, NO_ATTRS) < 0)
		return -1;
	for (xmlNodePtr n = f->children; n; n = n->next) {
		if (!is_elem(n))
			continue;
		if (strcmp(NAME(n), "acpi") && strcmp(NAME(n), "apic"))
			return unsupported_elem(n, "features", err);
		if (check_attrs(n, err, NO_ATTRS) < 0)
			return -1;
		if (n->children)
			return unsupported_elem(n->children, NAME(n), err);
	}
	def->features = true;
	return 0;
}

/* <metadata>: kept as it came (applications such as virt-install store
 * their own elements there), each child with its namespace declared on it. */
static int parse_metadata(xmlNodePtr m, struct dom_def *def, struct vmms_err *err)
{
	if (check_attrs(m, err, NO_ATTRS) < 0)
		return -1;
	xmlBufferPtr buf = xmlBufferCreate();
	if (!buf)
		return vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	int rc = 0;
	for (xmlNodePtr n = m->children; n && !rc; n = n->next) {
		if (!is_elem(n))
			continue;
		if (!n->ns) {
			rc = vmms_err_set(err, VIR_ERR_XML_ERROR,
					  "<metadata> element <%s> needs a namespace", NAME(n));
			break;
		}
		xmlReconciliateNs(m->doc, n);
		if (xmlBufferLength(buf))
			xmlBufferCCat(buf, "\n");
		if (xmlNodeDump(buf, m->doc, n, 0, 0) < 0 ||
		    xmlBufferLength(buf) > DOM_METADATA_MAX)
			rc = vmms_err_set(err, VIR_ERR_XML_ERROR,
					  "<metadata> is larger than %d bytes", DOM_METADATA_MAX);
	}
	if (!rc && xmlBufferLength(buf)) {
		free(def->metadata);
		def->metadata = strdup((const char *)xmlBufferContent(buf));
		if (!def->metadata)
			rc = vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	}
	xmlBufferFree(buf);
	return rc;
}

static int parse_root(xmlNodePtr root, struct dom_def *def, struct vmms_err *err)
{
	if (strcmp(NAME(root), "domain"))
		return vmms_err_set(err, VIR_ERR_XML_ERROR,
				    "expected a <domain> document, got <%s>", NAME(root));
	if (check_attrs(root, err, ATTRS("type", "id")) < 0)
		return -1;
	char *type = attr(root, "type");
	bool ok = type && !strcmp(type, "linhv");
	if (!ok)
		vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
			     "domain type '%s' is not supported here: use <domain type='linhv'>",
			     type ? type : "(none)");
	free(type);
	if (!ok)
		return -1;

	bool have_uuid = false, have_current = false;
	unsigned long long current = 0;
	def->on_poweroff = ACT_DESTROY;
	def->on_reboot = ACT_RESTART;
	def->on_crash = ACT_DESTROY;
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (!is_elem(n))
			continue;
		const char *e = NAME(n);
		int rc = 0;
		if (!strcmp(e, "name") || !strcmp(e, "title") || !strcmp(e, "description")) {
			char **slot = !strcmp(e, "name")    ? &def->name
				      : !strcmp(e, "title") ? &def->title
							    : &def->description;
			if ((rc = check_attrs(n, err, NO_ATTRS)) < 0)
				return -1;
			free(*slot);
			*slot = node_text(n);
		} else if (!strcmp(e, "uuid")) {
			if (check_attrs(n, err, NO_ATTRS) < 0)
				return -1;
			char *t = node_text(n);
			rc = uuid_parse(t, def->uuid);
			if (rc < 0)
				vmms_err_set(err, VIR_ERR_XML_ERROR, "malformed uuid '%s'", t);
			free(t);
			have_uuid = true;
		} else if (!strcmp(e, "memory")) {
			rc = parse_memory(n, &def->memory_kib, err);
		} else if (!strcmp(e, "currentMemory")) {
			rc = parse_memory(n, &current, err);
			have_current = true;
		} else if (!strcmp(e, "vcpu")) {
			rc = parse_vcpu(n, def, err);
		} else if (!strcmp(e, "os")) {
			rc = parse_os(n, def, err);
		} else if (!strcmp(e, "on_poweroff")) {
			rc = parse_action(n, &def->on_poweroff, false, err);
		} else if (!strcmp(e, "on_reboot")) {
			rc = parse_action(n, &def->on_reboot, false, err);
		} else if (!strcmp(e, "on_crash")) {
			rc = parse_action(n, &def->on_crash, true, err);
		} else if (!strcmp(e, "devices")) {
			rc = parse_devices(n, def, err);
		} else if (!strcmp(e, "clock")) {
			rc = parse_clock(n, def, err);
		} else if (!strcmp(e, "features")) {
			rc = parse_features(n, def, err);
		} else if (!strcmp(e, "metadata")) {
			rc = parse_metadata(n, def, err);
		} else {
			rc = unsupported_elem(n, "domain", err);
		}
		if (rc < 0)
			return -1;
	}
	if (!def->name || !def->name[0])
		return vmms_err_set(err, VIR_ERR_XML_ERROR, "missing domain <name>");
	if (!dom_name_valid(def->name))
		return vmms_err_set(err, VIR_ERR_XML_ERROR,
				    "domain name '%s' is not valid: use up to %d letters, digits, "
				    "'-', '_', '.', '+', not starting with '.' or '-'",
				    def->name, DOM_NAME_MAX);
	if (!def->memory_kib)
		return vmms_err_set(err, VIR_ERR_XML_ERROR, "missing or zero <memory>");
	if (def->memory_kib < DOM_MIN_MEMORY_KIB)
		return vmms_err_set(err, VIR_ERR_XML_ERROR, "<memory> must be at least 16 MiB");
	if (have_current && current != def->memory_kib)
		return vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
				    "<currentMemory> different from <memory> (ballooning) is not "
				    "supported by linhv");
	if (!def->vcpus)
		def->vcpus = 1;
	if (!def->kernel)
		return vmms_err_set(err, VIR_ERR_XML_ERROR,
				    "missing <os> with <type>hvm</type> and <kernel>");
	if (!have_uuid && random_bytes(def->uuid, 16) == 0) {
		def->uuid[6] = (def->uuid[6] & 0x0f) | 0x40; /* version 4 */
		def->uuid[8] = (def->uuid[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	}
	return 0;
}

struct dom_def *dom_def_parse(const char *xml, struct vmms_err *err)
{
	/* NONET: never fetch external entities; entities are not substituted. */
	xmlResetLastError();
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlGetLastError();
		char why[512] = "not well-formed";
		if (e && e->message) {
			snprintf(why, sizeof(why), "%s", e->message);
			size_t n = strlen(why);
			if (n && why[n - 1] == '\n')
				why[n - 1] = 0;
		}
		vmms_err_set(err, VIR_ERR_XML_ERROR, "malformed domain XML at line %d: %s",
			     e ? e->line : 0, why);
		return NULL;
	}
	struct dom_def *def = calloc(1, sizeof(*def));
	xmlNodePtr root = xmlDocGetRootElement(doc);
	int rc = def ? 0 : vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	if (!rc && !root)
		rc = vmms_err_set(err, VIR_ERR_XML_ERROR, "empty document");
	if (!rc)
		rc = parse_root(root, def, err);
	xmlFreeDoc(doc);
	if (rc < 0) {
		dom_def_free(def);
		return NULL;
	}
	return def;
}

/* ---- canonical output ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(tmp))
		sb_add(b, tmp, (size_t)n);
	else
		b->oom = true; /* callers only pass short fixed text through here */
}

/* Appends S with XML escaping (text and attribute values alike). */
static void sb_esc(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			sb_add(b, "&lt;", 4);
			break;
		case '>':
			sb_add(b, "&gt;", 4);
			break;
		case '&':
			sb_add(b, "&amp;", 5);
			break;
		case '\'':
			sb_add(b, "&apos;", 6);
			break;
		case '"':
			sb_add(b, "&quot;", 6);
			break;
		default:
			sb_add(b, s, 1);
		}
	}
}

/* "<tag>escaped</tag>\n" with INDENT. */
static void sb_elem(struct sbuf *b, const char *indent, const char *tag, const char *text)
{
	sb_printf(b, "%s<%s>", indent, tag);
	sb_esc(b, text);
	sb_printf(b, "</%s>\n", tag);
}

char *dom_def_format(const struct dom_def *def, int id)
{
	struct sbuf b = {0};
	char uuid[37];
	uuid_format(def->uuid, uuid);
	if (id > 0)
		sb_printf(&b, "<domain type='linhv' id='%d'>\n", id);
	else
		sb_printf(&b, "<domain type='linhv'>\n");
	sb_elem(&b, "  ", "name", def->name);
	sb_elem(&b, "  ", "uuid", uuid);
	if (def->title)
		sb_elem(&b, "  ", "title", def->title);
	if (def->description)
		sb_elem(&b, "  ", "description", def->description);
	if (def->metadata) {
		sb_printf(&b, "  <metadata>\n    ");
		sb_add(&b, def->metadata, strlen(def->metadata));
		sb_printf(&b, "\n  </metadata>\n");
	}
	sb_printf(&b, "  <memory unit='KiB'>%llu</memory>\n", def->memory_kib);
	sb_printf(&b, "  <currentMemory unit='KiB'>%llu</currentMemory>\n", def->memory_kib);
	sb_printf(&b, "  <vcpu placement='static'>%u</vcpu>\n", def->vcpus);
	sb_printf(&b, "  <os>\n    <type arch='x86_64'>hvm</type>\n");
	sb_elem(&b, "    ", "kernel", def->kernel);
	if (def->initrd)
		sb_elem(&b, "    ", "initrd", def->initrd);
	if (def->cmdline)
		sb_elem(&b, "    ", "cmdline", def->cmdline);
	sb_printf(&b, "  </os>\n");
	if (def->features)
		sb_printf(&b, "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n");
	sb_printf(&b, "  <on_poweroff>%s</on_poweroff>\n", dom_action_name(def->on_poweroff));
	sb_printf(&b, "  <on_reboot>%s</on_reboot>\n", dom_action_name(def->on_reboot));
	sb_printf(&b, "  <on_crash>%s</on_crash>\n", dom_action_name(def->on_crash));
	if (def->clock == CLOCK_LOCALTIME)
		sb_printf(&b, "  <clock offset='localtime'/>\n");
	else if (def->clock == CLOCK_ABSOLUTE)
		sb_printf(&b, "  <clock offset='absolute' start='%llu'/>\n", def->clock_start);
	sb_printf(&b, "  <devices>\n");
	if (def->emulator)
		sb_elem(&b, "    ", "emulator", def->emulator);
	for (size_t i = 0; i < def->ndisks; i++) {
		const struct dom_disk *d = &def->disks[i];
		sb_printf(&b, "    <disk type='%s' device='disk'>\n", d->block ? "block" : "file");
		sb_printf(&b, "      <driver type='raw'%s/>\n",
			  d->cache == CACHE_NONE	? " cache='none'"
			  : d->cache == CACHE_WRITEBACK ? " cache='writeback'"
							: "");
		sb_printf(&b, "      <source %s='", d->block ? "dev" : "file");
		sb_esc(&b, d->file);
		sb_printf(&b, "'/>\n      <target dev='");
		sb_esc(&b, d->target);
		sb_printf(&b, "' bus='scsi'/>\n");
		if (d->readonly)
			sb_printf(&b, "      <readonly/>\n");
		if (d->serial)
			sb_elem(&b, "      ", "serial", d->serial);
		sb_printf(&b, "    </disk>\n");
	}
	for (size_t i = 0; i < def->nnics; i++) {
		const struct dom_nic *n = &def->nics[i];
		sb_printf(&b, "    <interface type='%s'>\n",
			  n->type == NIC_BRIDGE ? "bridge" : "ethernet");
		sb_printf(&b, "      <mac address='%s'/>\n", n->mac);
		if (n->bridge) {
			sb_printf(&b, "      <source bridge='");
			sb_esc(&b, n->bridge);
			sb_printf(&b, "'/>\n");
		}
		if (n->tap) {
			sb_printf(&b, "      <target dev='");
			sb_esc(&b, n->tap);
			sb_printf(&b, "'/>\n");
		}
		sb_printf(&b, "      <model type='netvsc'/>\n    </interface>\n");
	}
	if (def->console)
		sb_printf(&b, "    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n"
			      "    <console type='pty'>\n      <target type='serial' "
			      "port='0'/>\n    </console>\n");
	sb_printf(&b, "  </devices>\n</domain>\n");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

struct dom_def *dom_def_copy(const struct dom_def *s)
{
	struct dom_def *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	*d = *s;
	d->name = xstrdup(s->name);
	d->title = xstrdup(s->title);
	d->description = xstrdup(s->description);
	d->kernel = xstrdup(s->kernel);
	d->initrd = xstrdup(s->initrd);
	d->cmdline = xstrdup(s->cmdline);
	d->emulator = xstrdup(s->emulator);
	d->metadata = xstrdup(s->metadata);
	for (size_t i = 0; i < s->ndisks; i++) {
		d->disks[i].file = xstrdup(s->disks[i].file);
		d->disks[i].target = xstrdup(s->disks[i].target);
		d->disks[i].serial = xstrdup(s->disks[i].serial);
	}
	for (size_t i = 0; i < s->nnics; i++) {
		d->nics[i].bridge = xstrdup(s->nics[i].bridge);
		d->nics[i].tap = xstrdup(s->nics[i].tap);
	}
	if (!d->name || !d->kernel) {
		dom_def_free(d);
		return NULL;
	}
	return d;
}

void dom_def_free(struct dom_def *def)
{
	if (!def)
		return;
	free(def->name);
	free(def->title);
	free(def->description);
	free(def->kernel);
	free(def->initrd);
	free(def->cmdline);
	free(def->emulator);
	free(def->metadata);
	for (size_t i = 0; i < DOM_MAX_DISKS; i++) {
		free(def->disks[i].file);
		free(def->disks[i].target);
		free(def->disks[i].serial);
	}
	for (size_t i = 0; i < DOM_MAX_NICS; i++) {
		free(def->nics[i].bridge);
		free(def->nics[i].tap);
	}
	free(def);
}

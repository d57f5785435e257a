/* storage.c: see storage.h. */
#include "storage.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "domxml.h"
#include "log.h"
#include "store.h"
#include "vmms.h"
#include "vmms_protocol.h"

#define NAME(n) ((const char *)(n)->name)

/* ---- the list ---- */

struct pool *pool_by_name(const struct vmms *v, const char *name)
{
	for (struct pool *p = v->pools; p; p = p->next)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

struct pool *pool_by_uuid(const struct vmms *v, const unsigned char uuid[16])
{
	for (struct pool *p = v->pools; p; p = p->next)
		if (!memcmp(p->uuid, uuid, 16))
			return p;
	return NULL;
}

static void pool_free(struct pool *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->path);
	free(p);
}

static void pool_link(struct vmms *v, struct pool *p)
{
	struct pool **pp = &v->pools;
	p->v = v;
	while (*pp && strcmp((*pp)->name, p->name) < 0)
		pp = &(*pp)->next;
	p->next = *pp;
	*pp = p;
}

static void pool_unlink(struct pool *p)
{
	for (struct pool **pp = &p->v->pools; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

void storage_free_all(struct vmms *v)
{
	while (v->pools) {
		struct pool *p = v->pools;
		v->pools = p->next;
		pool_free(p);
	}
}

/* ---- the pool document ---- */

static char *text_of(xmlNodePtr n)
{
	xmlChar *c = xmlNodeGetContent(n);
	char *s = strdup(c ? (const char *)c : "");
	xmlFree(c);
	if (!s)
		return NULL;
	size_t b = strspn(s, " \t\r\n"), len = strlen(s);
	while (len > b && strchr(" \t\r\n", s[len - 1]))
		len--;
	memmove(s, s + b, len - b);
	s[len - b] = 0;
	return s;
}

static int refuse_elem(xmlNodePtr n, const char *parent, struct vmms_err *err)
{
	return vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
			    "element <%s> in <%s> is not supported by linhv", NAME(n), parent);
}

static bool only_attrs(xmlNodePtr n, const char *a1, const char *a2)
{
	for (xmlAttrPtr a = n->properties; a; a = a->next) {
		const char *an = (const char *)a->name;
		if (!(a1 && !strcmp(an, a1)) && !(a2 && !strcmp(an, a2)))
			return false;
	}
	return true;
}

static int parse_target(xmlNodePtr t, struct pool *p, struct vmms_err *err)
{
	for (xmlNodePtr n = t->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp(NAME(n), "path"))
			return refuse_elem(n, "target", err);
		free(p->path);
		p->path = text_of(n);
	}
	if (!p->path || p->path[0] != '/')
		return vmms_err_set(err, VIR_ERR_XML_ERROR,
				    "storage pool <target> needs an absolute <path>");
	size_t len = strlen(p->path);
	while (len > 1 && p->path[len - 1] == '/')
		p->path[--len] = 0;
	return 0;
}

/* <pool type='dir'> with name, uuid, target/path; the space figures a
 * client sends back are ignored (they are computed). */
static struct pool *pool_parse(const char *xml, struct vmms_err *err)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "pool.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		vmms_err_set(err, VIR_ERR_XML_ERROR, "malformed storage pool XML");
		return NULL;
	}
	struct pool *p = calloc(1, sizeof(*p));
	xmlNodePtr root = xmlDocGetRootElement(doc);
	int rc = p ? 0 : vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	bool have_uuid = false;
	if (!rc && (!root || strcmp(NAME(root), "pool")))
		rc = vmms_err_set(err, VIR_ERR_XML_ERROR, "expected a <pool> document");
	if (!rc) {
		xmlChar *type = xmlGetNoNsProp(root, (const xmlChar *)"type");
		if (!type || strcmp((const char *)type, "dir"))
			rc = vmms_err_set(
			    err, VIR_ERR_CONFIG_UNSUPPORTED,
			    "storage pool type '%s' is not supported by linhv (only dir)",
			    type ? (const char *)type : "(none)");
		xmlFree(type);
		if (!rc && !only_attrs(root, "type", NULL))
			rc = vmms_err_set(err, VIR_ERR_CONFIG_UNSUPPORTED,
					  "attributes of <pool> other than type are not supported");
	}
	for (xmlNodePtr n = root && !rc ? root->children : NULL; n && !rc; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		const char *e = NAME(n);
		if (!strcmp(e, "name")) {
			free(p->name);
			p->name = text_of(n);
		} else if (!strcmp(e, "uuid")) {
			char *t = text_of(n);
			if (!t || uuid_parse(t, p->uuid) < 0)
				rc = vmms_err_set(err, VIR_ERR_XML_ERROR, "malformed uuid '%s'",
						  t ? t : "");
			free(t);
			have_uuid = true;
		} else if (!strcmp(e, "capacity") || !strcmp(e, "allocation") ||
			   !strcmp(e, "available")) {
			continue;
		} else if (!strcmp(e, "source")) {
			for (xmlNodePtr c = n->children; c && !rc; c = c->next)
				if (c->type == XML_ELEMENT_NODE)
					rc = refuse_elem(c, "source", err);
		} else if (!strcmp(e, "target")) {
			rc = parse_target(n, p, err);
		} else {
			rc = refuse_elem(n, "pool", err);
		}
	}
	xmlFreeDoc(doc);
	if (!rc && (!p->name || !dom_name_valid(p->name)))
		rc = vmms_err_set(err, VIR_ERR_XML_ERROR, "storage pool name '%s' is not valid",
				  p->name ? p->name : "");
	if (!rc && !p->path)
		rc = vmms_err_set(err, VIR_ERR_XML_ERROR, "storage pool needs <target><path>");
	if (!rc && !have_uuid) {
		if (getrandom(p->uuid, 16, 0) != 16)
			rc = vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "no random bytes");
		p->uuid[6] = (p->uuid[6] & 0x0f) | 0x40;
		p->uuid[8] = (p->uuid[8] & 0x3f) | 0x80;
	}
	if (rc) {
		pool_free(p);
		return NULL;
	}
	return p;
}

void pool_space(const struct pool *p, struct pool_space *out)
{
	struct statvfs sv;
	memset(out, 0, sizeof(*out));
	if (!p->active || statvfs(p->path, &sv) < 0)
		return;
	out->capacity = (uint64_t)sv.f_blocks * sv.f_frsize;
	out->available = (uint64_t)sv.f_bavail * sv.f_frsize;
	out->allocation = out->capacity - (uint64_t)sv.f_bfree * sv.f_frsize;
}

static char *xml_escape(const char *s)
{
	xmlChar *e = xmlEncodeSpecialChars(NULL, (const xmlChar *)s);
	char *r = e ? strdup((const char *)e) : NULL;
	xmlFree(e);
	return r;
}

char *pool_format(const struct pool *p, bool inactive)
{
	char uuid[37], space[256] = "";
	uuid_format(p->uuid, uuid);
	if (!inactive) {
		struct pool_space s;
		pool_space(p, &s);
		snprintf(space, sizeof(space),
			 "  <capacity unit='bytes'>%llu</capacity>\n"
			 "  <allocation unit='bytes'>%llu</allocation>\n"
			 "  <available unit='bytes'>%llu</available>\n",
			 (unsigned long long)s.capacity, (unsigned long long)s.allocation,
			 (unsigned long long)s.available);
	}
	char *name = xml_escape(p->name), *path = xml_escape(p->path), *out = NULL;
	if (name && path &&
	    asprintf(&out,
		     "<pool type='dir'>\n  <name>%s</name>\n  <uuid>%s</uuid>\n%s"
		     "  <source>\n  </source>\n  <target>\n    <path>%s</path>\n  </target>\n"
		     "</pool>\n",
		     name, uuid, space, path) < 0)
		out = NULL;
	free(name);
	free(path);
	return out;
}

/* ---- persistence ---- */

static void pool_file(const char *state_dir, const char *sub, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s/%s%s", state_dir, sub, name, strcmp(sub, "pools") ? "" : ".xml");
}

static int ensure_dirs(const char *state_dir)
{
	char d[PATH_MAX];
	snprintf(d, sizeof(d), "%s/pools", state_dir);
	if (mkdir(d, 0700) < 0 && errno != EEXIST)
		return -1;
	snprintf(d, sizeof(d), "%s/pool-autostart", state_dir);
	if (mkdir(d, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static bool dir_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void storage_load_all(struct vmms *v, const char *state_dir)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/pools", state_dir);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.' || n <= 4 || strcmp(e->d_name + n - 4, ".xml"))
			continue;
		char p[PATH_MAX * 2];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		char *xml = read_file(p, 1 << 16);
		struct vmms_err err = {0};
		struct pool *pool = xml ? pool_parse(xml, &err) : NULL;
		free(xml);
		if (!pool || strncmp(pool->name, e->d_name, n - 4) || pool->name[n - 4] ||
		    pool_by_name(v, pool->name) || pool_by_uuid(v, pool->uuid)) {
			log_err("ignoring stored storage pool %s: %s", p,
				err.code ? err.msg : "name or uuid clashes");
			pool_free(pool);
			continue;
		}
		char mark[PATH_MAX];
		pool_file(state_dir, "pool-autostart", pool->name, mark, sizeof(mark));
		pool->autostart = access(mark, F_OK) == 0;
		pool->active = pool->autostart && dir_exists(pool->path);
		if (pool->autostart && !pool->active)
			log_warn("storage pool %s: %s is not a directory: not started", pool->name,
				 pool->path);
		pool_link(v, pool);
	}
	closedir(d);
}

struct pool *pool_define(struct vmms *v, const char *state_dir, const char *xml, bool *updated,
			 struct vmms_err *err)
{
	struct pool *p = pool_parse(xml, err);
	if (!p)
		return NULL;
	struct pool *by_name = pool_by_name(v, p->name), *by_uuid = pool_by_uuid(v, p->uuid);
	char uuid[37];
	uuid_format(p->uuid, uuid);
	if (by_name != by_uuid) {
		vmms_err_set(err, VIR_ERR_OPERATION_FAILED,
			     "storage pool '%s' already exists with another uuid or name",
			     by_name ? by_name->name : by_uuid->name);
		goto fail;
	}
	for (struct pool *o = v->pools; o; o = o->next)
		if (o != by_name && !strcmp(o->path, p->path)) {
			vmms_err_set(err, VIR_ERR_OPERATION_FAILED,
				     "storage pool '%s' already has the target path %s", o->name,
				     o->path);
			goto fail;
		}
	if (by_name && by_name->active && strcmp(by_name->path, p->path)) {
		vmms_err_set(err, VIR_ERR_OPERATION_INVALID,
			     "storage pool '%s' is active: stop it before changing its path",
			     p->name);
		goto fail;
	}
	char *text = pool_format(p, true);
	char file[PATH_MAX];
	pool_file(state_dir, "pools", p->name, file, sizeof(file));
	if (!text || ensure_dirs(state_dir) < 0 ||
	    store_write_atomic(file, text, strlen(text)) < 0) {
		vmms_err_set(err, VIR_ERR_OPERATION_FAILED, "cannot save storage pool '%s': %s",
			     p->name, strerror(errno));
		free(text);
		goto fail;
	}
	free(text);
	*updated = by_name != NULL;
	if (by_name) {
		free(by_name->path);
		by_name->path = p->path;
		p->path = NULL;
		pool_free(p);
		return by_name;
	}
	pool_link(v, p);
	log_info("storage pool %s: defined (%s)", p->name, p->path);
	return p;
fail:
	pool_free(p);
	return NULL;
}

int pool_undefine(const char *state_dir, struct pool *p, struct vmms_err *err)
{
	if (p->active)
		return vmms_err_set(err, VIR_ERR_OPERATION_INVALID,
				    "storage pool '%s' is still active", p->name);
	char file[PATH_MAX];
	pool_file(state_dir, "pools", p->name, file, sizeof(file));
	if (unlink(file) < 0 && errno != ENOENT)
		return vmms_err_set(err, VIR_ERR_OPERATION_FAILED, "cannot remove %s: %s", file,
				    strerror(errno));
	pool_file(state_dir, "pool-autostart", p->name, file, sizeof(file));
	unlink(file);
	log_info("storage pool %s: undefined", p->name);
	pool_unlink(p);
	pool_free(p);
	return 0;
}

int pool_start(struct pool *p, struct vmms_err *err)
{
	if (p->active)
		return vmms_err_set(err, VIR_ERR_OPERATION_INVALID,
				    "storage pool '%s' is already active", p->name);
	if (!dir_exists(p->path))
		return vmms_err_set(err, VIR_ERR_OPERATION_FAILED,
				    "cannot start storage pool '%s': '%s' is not a directory",
				    p->name, p->path);
	p->active = true;
	return 0;
}

int pool_stop(struct pool *p, struct vmms_err *err)
{
	if (!p->active)
		return vmms_err_set(err, VIR_ERR_OPERATION_INVALID,
				    "storage pool '%s' is not active", p->name);
	p->active = false;
	return 0;
}

int pool_build(struct pool *p, struct vmms_err *err)
{
	if (p->active)
		return vmms_err_set(err, VIR_ERR_OPERATION_INVALID,
				    "storage pool '%s' is already active", p->name);
	/* Missing parents too, as libvirt does (virt-manager's default pool is
	 * /var/lib/libvirt/images, on hosts that may have no /var/lib/libvirt). */
	if (store_mkdir_p(p->path, 0755) < 0)
		return vmms_err_set(err, VIR_ERR_OPERATION_FAILED, "cannot create directory %s: %s",
				    p->path, strerror(errno));
	return 0;
}

int pool_set_autostart(const char *state_dir, struct pool *p, bool on, struct vmms_err *err)
{
	char mark[PATH_MAX];
	pool_file(state_dir, "pool-autostart", p->name, mark, sizeof(mark));
	int rc = 0;
	if (on)
		rc = ensure_dirs(state_dir) < 0 ? -1 : store_write_atomic(mark, "", 0);
	else if (unlink(mark) < 0 && errno != ENOENT)
		rc = -1;
	if (rc < 0)
		return vmms_err_set(err, VIR_ERR_OPERATION_FAILED,
				    "cannot change autostart of storage pool '%s': %s", p->name,
				    strerror(errno));
	p->autostart = on;
	return 0;
}

/* ---- volumes: the regular files of the directory ---- */

static int need_active(const struct pool *p, struct vmms_err *err)
{
	if (p->active)
		return 0;
	return vmms_err_set(err, VIR_ERR_OPERATION_INVALID, "storage pool '%s' is not active",
			    p->name);
}

static bool vol_name_ok(const char *name)
{
	return name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) < NAME_MAX;
}

char *vol_path(const struct pool *p, const char *name)
{
	char *out = NULL;
	if (asprintf(&out, "%s/%s", strcmp(p->path, "/") ? p->path : "", name) < 0)
		return NULL;
	return out;
}

int vol_check(const struct pool *p, const char *name, struct vol_info *info, struct vmms_err *err)
{
	if (need_active(p, err) < 0)
		return -1;
	struct stat st;
	char *path = vol_name_ok(name) ? vol_path(p, name) : NULL;
	bool ok = path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	if (!ok)
		return vmms_err_set(err, VIR_ERR_NO_STORAGE_VOL,
				    "no storage vol with matching name '%s'", name);
	if (info) {
		info->capacity = (uint64_t)st.st_size;
		info->allocation = (uint64_t)st.st_blocks * 512;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void pool_volumes_free(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int pool_volumes(const struct pool *p, char ***names, struct vmms_err *err)
{
	*names = NULL;
	if (need_active(p, err) < 0)
		return -1;
	DIR *d = opendir(p->path);
	if (!d)
		return vmms_err_set(err, VIR_ERR_OPERATION_FAILED, "cannot open directory '%s': %s",
				    p->path, strerror(errno));
	int n = 0, cap = 0;
	char **v = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!vol_name_ok(e->d_name) || vol_check(p, e->d_name, NULL, err) < 0) {
			vmms_err_clear(err);
			continue;
		}
		if (n == VMMS_VOL_LIST_MAX)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, (size_t)cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		if (!(v[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), cmp_str);
	*names = v;
	return n;
}

struct pool *vol_by_path(const struct vmms *v, const char *path, const char **name,
			 struct vmms_err *err)
{
	const char *slash = strrchr(path, '/');
	if (path[0] == '/' && slash && slash[1]) {
		char dir[PATH_MAX], real_dir[PATH_MAX], real_pool[PATH_MAX];
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		if (!dir[0])
			snprintf(dir, sizeof(dir), "/");
		bool have_real = realpath(dir, real_dir) != NULL;
		for (struct pool *p = v->pools; p; p = p->next) {
			if (!p->active)
				continue;
			bool same =
			    !strcmp(p->path, dir) || (have_real && realpath(p->path, real_pool) &&
						      !strcmp(real_pool, real_dir));
			if (same && vol_check(p, slash + 1, NULL, err) == 0) {
				*name = slash + 1;
				return p;
			}
			vmms_err_clear(err);
		}
	}
	vmms_err_set(err, VIR_ERR_NO_STORAGE_VOL, "no storage vol with matching path '%s'", path);
	return NULL;
}

char *vol_format(const struct pool *p, const char *name, struct vmms_err *err)
{
	struct vol_info vi;
	if (vol_check(p, name, &vi, err) < 0)
		return NULL;
	char *path = vol_path(p, name);
	char *ename = xml_escape(name), *epath = path ? xml_escape(path) : NULL, *out = NULL;
	if (ename && epath &&
	    asprintf(&out,
		     "<volume type='file'>\n  <name>%s</name>\n  <key>%s</key>\n"
		     "  <capacity unit='bytes'>%llu</capacity>\n"
		     "  <allocation unit='bytes'>%llu</allocation>\n"
		     "  <target>\n    <path>%s</path>\n    <format type='raw'/>\n  </target>\n"
		     "</volume>\n",
		     ename, epath, (unsigned long long)vi.capacity,
		     (unsigned long long)vi.allocation, epath) < 0)
		out = NULL;
	free(ename);
	free(epath);
	free(path);
	if (!out)
		vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	return out;
}

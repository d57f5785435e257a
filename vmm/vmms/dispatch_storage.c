/* dispatch_storage.c: the storage pool procedures (storage.h holds the
 * pools themselves). */
#include <libvirt/libvirt.h>

#include "dispatch_impl.h"
#include "domxml.h"
#include "storage.h"
#include "vmms.h"

/* ---- storage pools (storage.h) ---- */

static int fill_pool(const struct pool *p, struct vmms_pool *out)
{
	memcpy(out->uuid, p->uuid, 16);
	return set_str(&out->name, p->name);
}

/* Pools are identified by uuid, as libvirt does. */
static struct pool *find_pool(const struct vmms_pool *ref, struct vmms_err *err)
{
	struct pool *p = pool_by_uuid((const unsigned char *)ref->uuid);
	if (!p)
		vmms_err_set(err, VIR_ERR_NO_STORAGE_POOL,
			     "no storage pool with matching uuid (%s)", ref->name ? ref->name : "");
	return p;
}

static int fill_vol(const struct pool *p, const char *name, struct vmms_vol *out)
{
	out->key = vol_path(p, name);
	if (!out->key || set_str(&out->pool, p->name) < 0 || set_str(&out->name, name) < 0)
		return -1;
	return 0;
}

/* A volume reference: its pool by name, then the file. */
static struct pool *find_vol(const struct vmms_vol *ref, struct vmms_err *err)
{
	struct pool *p = pool_by_name(ref->pool);
	if (!p) {
		vmms_err_set(err, VIR_ERR_NO_STORAGE_POOL,
			     "no storage pool with matching name '%s'", ref->pool);
		return NULL;
	}
	return vol_check(p, ref->name, NULL, err) < 0 ? NULL : p;
}

#define POOL_OR_FAIL(ref)                                                                          \
	struct pool *p = find_pool((ref), &k->err);                                                \
	if (!p)                                                                                    \
	return -1

static int pool_reply(struct call *k, struct pool *p, void *r)
{
	if (!p)
		return -1;
	return fill_pool(p, &((struct vmms_pool_ret *)r)->pool) < 0
		   ? vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory")
		   : 0;
}

static bool pool_matches(const struct pool *p, unsigned flags)
{
	unsigned both =
	    VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE | VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE;
	if ((flags & both) == VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE && !p->active)
		return false;
	if ((flags & both) == VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE && p->active)
		return false;
	both =
	    VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART | VIR_CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART;
	if ((flags & both) == VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART && !p->autostart)
		return false;
	if ((flags & both) == VIR_CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART && p->autostart)
		return false;
	/* Every pool is persistent and of type dir. */
	both = VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT | VIR_CONNECT_LIST_STORAGE_POOLS_TRANSIENT;
	if ((flags & both) == VIR_CONNECT_LIST_STORAGE_POOLS_TRANSIENT)
		return false;
	unsigned types =
	    flags &
	    ~(VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE | VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE |
	      VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT | VIR_CONNECT_LIST_STORAGE_POOLS_TRANSIENT |
	      VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART |
	      VIR_CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART);
	return !types || (types & VIR_CONNECT_LIST_STORAGE_POOLS_DIR);
}

static int h_list_pools(struct call *k, void *a, void *r)
{
	struct vmms_list_all_args *args = a;
	struct vmms_list_pools_ret *ret = r;
	unsigned n = 0;
	for (struct pool *p = vmms_ctx->pools; p; p = p->next)
		n += pool_matches(p, args->flags);
	ret->count = n;
	if (!args->need_results || !n)
		return 0;
	ret->pools.pools_val = calloc(n, sizeof(struct vmms_pool));
	if (!ret->pools.pools_val)
		return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	unsigned i = 0;
	for (struct pool *p = vmms_ctx->pools; p && i < n; p = p->next)
		if (pool_matches(p, args->flags) && fill_pool(p, &ret->pools.pools_val[i++]) < 0)
			return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	ret->pools.pools_len = i;
	return 0;
}

static int h_pool_lookup_name(struct call *k, void *a, void *r)
{
	const char *name = ((struct vmms_lookup_name_args *)a)->name;
	struct pool *p = pool_by_name(name);
	if (!p)
		vmms_err_set(&k->err, VIR_ERR_NO_STORAGE_POOL,
			     "no storage pool with matching name '%s'", name);
	return pool_reply(k, p, r);
}

static int h_pool_lookup_uuid(struct call *k, void *a, void *r)
{
	const unsigned char *u = (const unsigned char *)((struct vmms_lookup_uuid_args *)a)->uuid;
	struct pool *p = pool_by_uuid(u);
	if (!p) {
		char s[37];
		uuid_format(u, s);
		vmms_err_set(&k->err, VIR_ERR_NO_STORAGE_POOL,
			     "no storage pool with matching uuid '%s'", s);
	}
	return pool_reply(k, p, r);
}

static int h_pool_lookup_vol(struct call *k, void *a, void *r)
{
	return pool_reply(k, find_vol(&((struct vmms_vol_args *)a)->vol, &k->err), r);
}

static int h_pool_define(struct call *k, void *a, void *r)
{
	struct vmms_str_flags_args *args = a;
	if (no_flags(k, args->flags, 0) < 0)
		return -1;
	bool updated;
	return pool_reply(k, pool_define(vmms_ctx->state_dir, args->value, &updated, &k->err), r);
}

static int h_pool_create_xml(struct call *k, void *a, void *r)
{
	(void)a;
	(void)r;
	return vmms_err_set(&k->err, VIR_ERR_OPERATION_UNSUPPORTED,
			    "transient storage pools: define the pool, then start it");
}

static int h_pool_undefine(struct call *k, void *a, void *r)
{
	(void)r;
	POOL_OR_FAIL(&((struct vmms_pool_args *)a)->pool);
	return pool_undefine(vmms_ctx->state_dir, p, &k->err);
}

static int h_pool_create(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_pool_flags_args *args = a;
	POOL_OR_FAIL(&args->pool);
	if (no_flags(k, args->flags, 0) < 0)
		return -1;
	return pool_start(p, &k->err);
}

static int h_pool_build(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_pool_flags_args *args = a;
	POOL_OR_FAIL(&args->pool);
	if (no_flags(k, args->flags, 0) < 0)
		return -1;
	return pool_build(p, &k->err);
}

static int h_pool_destroy(struct call *k, void *a, void *r)
{
	(void)r;
	POOL_OR_FAIL(&((struct vmms_pool_args *)a)->pool);
	return pool_stop(p, &k->err);
}

static int h_pool_refresh(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_pool_flags_args *args = a;
	POOL_OR_FAIL(&args->pool);
	if (no_flags(k, args->flags, 0) < 0)
		return -1;
	/* Volumes are read from the directory on every call. */
	return p->active ? 0
			 : vmms_err_set(&k->err, VIR_ERR_OPERATION_INVALID,
					"storage pool '%s' is not active", p->name);
}

static int h_pool_info(struct call *k, void *a, void *r)
{
	POOL_OR_FAIL(&((struct vmms_pool_args *)a)->pool);
	struct vmms_pool_info_ret *ret = r;
	struct pool_space sp;
	pool_space(p, &sp);
	ret->state = p->active ? VIR_STORAGE_POOL_RUNNING : VIR_STORAGE_POOL_INACTIVE;
	ret->capacity = sp.capacity;
	ret->allocation = sp.allocation;
	ret->available = sp.available;
	return 0;
}

static int h_pool_xml(struct call *k, void *a, void *r)
{
	struct vmms_pool_flags_args *args = a;
	POOL_OR_FAIL(&args->pool);
	if (no_flags(k, args->flags, VIR_STORAGE_XML_INACTIVE) < 0)
		return -1;
	char *xml = pool_format(p, args->flags & VIR_STORAGE_XML_INACTIVE);
	if (!xml)
		return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	((struct vmms_str_ret *)r)->value = xml;
	return 0;
}

static int h_pool_get_autostart(struct call *k, void *a, void *r)
{
	POOL_OR_FAIL(&((struct vmms_pool_args *)a)->pool);
	((struct vmms_int_ret *)r)->value = p->autostart;
	return 0;
}

static int h_pool_set_autostart(struct call *k, void *a, void *r)
{
	(void)r;
	struct vmms_pool_int_args *args = a;
	POOL_OR_FAIL(&args->pool);
	return pool_set_autostart(vmms_ctx->state_dir, p, args->value != 0, &k->err);
}

static int h_pool_is_active(struct call *k, void *a, void *r)
{
	POOL_OR_FAIL(&((struct vmms_pool_args *)a)->pool);
	((struct vmms_int_ret *)r)->value = p->active;
	return 0;
}

static int h_pool_is_persistent(struct call *k, void *a, void *r)
{
	POOL_OR_FAIL(&((struct vmms_pool_args *)a)->pool);
	(void)p;
	((struct vmms_int_ret *)r)->value = 1;
	return 0;
}

static int h_pool_num_vols(struct call *k, void *a, void *r)
{
	POOL_OR_FAIL(&((struct vmms_pool_args *)a)->pool);
	char **names;
	int n = pool_volumes(p, &names, &k->err);
	if (n < 0)
		return -1;
	pool_volumes_free(names, n);
	((struct vmms_int_ret *)r)->value = n;
	return 0;
}

static int h_pool_list_vol_names(struct call *k, void *a, void *r)
{
	struct vmms_pool_list_names_args *args = a;
	POOL_OR_FAIL(&args->pool);
	if (args->maxnames < 0 || args->maxnames > VMMS_VOL_LIST_MAX)
		return vmms_err_set(&k->err, VIR_ERR_RPC, "maxnames out of range");
	char **names;
	int n = pool_volumes(p, &names, &k->err);
	if (n < 0)
		return -1;
	struct vmms_list_names_ret *ret = r;
	ret->names.names_val = calloc((size_t)args->maxnames + 1, sizeof(char *));
	for (int i = 0; ret->names.names_val && i < n && i < args->maxnames; i++) {
		ret->names.names_val[i] = names[i];
		names[i] = NULL;
		ret->names.names_len = (u_int)i + 1;
	}
	pool_volumes_free(names, n);
	return ret->names.names_val
		   ? 0
		   : vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
}

static int h_pool_list_vols(struct call *k, void *a, void *r)
{
	struct vmms_pool_list_vols_args *args = a;
	POOL_OR_FAIL(&args->pool);
	if (no_flags(k, args->flags, 0) < 0)
		return -1;
	char **names;
	int n = pool_volumes(p, &names, &k->err);
	if (n < 0)
		return -1;
	struct vmms_list_vols_ret *ret = r;
	ret->count = (unsigned)n;
	int rc = 0;
	if (args->need_results && n) {
		ret->vols.vols_val = calloc((size_t)n, sizeof(struct vmms_vol));
		for (int i = 0; ret->vols.vols_val && i < n && rc == 0; i++) {
			rc = fill_vol(p, names[i], &ret->vols.vols_val[i]);
			ret->vols.vols_len = (u_int)i + 1;
		}
		if (!ret->vols.vols_val || rc < 0)
			rc = vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	}
	pool_volumes_free(names, n);
	return rc;
}

static int vol_reply(struct call *k, struct pool *p, const char *name, void *r)
{
	if (!p)
		return -1;
	return fill_vol(p, name, &((struct vmms_vol_ret *)r)->vol) < 0
		   ? vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory")
		   : 0;
}

static int h_vol_lookup_name(struct call *k, void *a, void *r)
{
	struct vmms_pool_name_args *args = a;
	POOL_OR_FAIL(&args->pool);
	if (vol_check(p, args->name, NULL, &k->err) < 0)
		return -1;
	return vol_reply(k, p, args->name, r);
}

/* The key of a volume is its path. */
static int h_vol_lookup_path(struct call *k, void *a, void *r)
{
	const char *name = NULL;
	struct pool *p = vol_by_path(((struct vmms_lookup_name_args *)a)->name, &name, &k->err);
	return vol_reply(k, p, name, r);
}

static int h_vol_info(struct call *k, void *a, void *r)
{
	struct vmms_vol *ref = &((struct vmms_vol_args *)a)->vol;
	struct pool *p = find_vol(ref, &k->err);
	struct vol_info vi;
	if (!p || vol_check(p, ref->name, &vi, &k->err) < 0)
		return -1;
	struct vmms_vol_info_ret *ret = r;
	ret->type = VIR_STORAGE_VOL_FILE;
	ret->capacity = vi.capacity;
	ret->allocation = vi.allocation;
	return 0;
}

static int h_vol_xml(struct call *k, void *a, void *r)
{
	struct vmms_vol_flags_args *args = a;
	if (no_flags(k, args->flags, 0) < 0)
		return -1;
	struct pool *p = find_vol(&args->vol, &k->err);
	char *xml = p ? vol_format(p, args->vol.name, &k->err) : NULL;
	if (!xml)
		return -1;
	((struct vmms_str_ret *)r)->value = xml;
	return 0;
}

static int h_vol_path(struct call *k, void *a, void *r)
{
	struct vmms_vol *ref = &((struct vmms_vol_args *)a)->vol;
	struct pool *p = find_vol(ref, &k->err);
	if (!p)
		return -1;
	char *path = vol_path(p, ref->name);
	if (!path)
		return vmms_err_set(&k->err, VIR_ERR_INTERNAL_ERROR, "out of memory");
	((struct vmms_str_ret *)r)->value = path;
	return 0;
}

static int h_vol_create(struct call *k, void *a, void *r)
{
	(void)a;
	(void)r;
	return vmms_err_set(&k->err, VIR_ERR_OPERATION_UNSUPPORTED,
			    "linhv's storage pools list the raw images already in their "
			    "directory: create the file (e.g. truncate -s 10G FILE), then refresh "
			    "the pool");
}

const struct proc_desc storage_procs[] = {
    {PROC_CONNECT_LIST_ALL_STORAGE_POOLS, "virConnectListAllStoragePools", X(vmms_list_all_args),
     X(vmms_list_pools_ret), h_list_pools, 0},
    {PROC_STORAGE_POOL_LOOKUP_BY_NAME, "virStoragePoolLookupByName", X(vmms_lookup_name_args),
     X(vmms_pool_ret), h_pool_lookup_name, 0},
    {PROC_STORAGE_POOL_LOOKUP_BY_UUID, "virStoragePoolLookupByUUID", X(vmms_lookup_uuid_args),
     X(vmms_pool_ret), h_pool_lookup_uuid, 0},
    {PROC_STORAGE_POOL_LOOKUP_BY_VOLUME, "virStoragePoolLookupByVolume", X(vmms_vol_args),
     X(vmms_pool_ret), h_pool_lookup_vol, 0},
    {PROC_STORAGE_POOL_DEFINE_XML, "virStoragePoolDefineXML", X(vmms_str_flags_args),
     X(vmms_pool_ret), h_pool_define, P_MUTATES},
    {PROC_STORAGE_POOL_CREATE_XML, "virStoragePoolCreateXML", NONE, NONE, h_pool_create_xml,
     P_MUTATES},
    {PROC_STORAGE_POOL_UNDEFINE, "virStoragePoolUndefine", X(vmms_pool_args), NONE, h_pool_undefine,
     P_MUTATES},
    {PROC_STORAGE_POOL_CREATE, "virStoragePoolCreate", X(vmms_pool_flags_args), NONE, h_pool_create,
     P_MUTATES},
    {PROC_STORAGE_POOL_BUILD, "virStoragePoolBuild", X(vmms_pool_flags_args), NONE, h_pool_build,
     P_MUTATES},
    {PROC_STORAGE_POOL_DESTROY, "virStoragePoolDestroy", X(vmms_pool_args), NONE, h_pool_destroy,
     P_MUTATES},
    {PROC_STORAGE_POOL_REFRESH, "virStoragePoolRefresh", X(vmms_pool_flags_args), NONE,
     h_pool_refresh, 0},
    {PROC_STORAGE_POOL_GET_INFO, "virStoragePoolGetInfo", X(vmms_pool_args), X(vmms_pool_info_ret),
     h_pool_info, 0},
    {PROC_STORAGE_POOL_GET_XML_DESC, "virStoragePoolGetXMLDesc", X(vmms_pool_flags_args),
     X(vmms_str_ret), h_pool_xml, 0},
    {PROC_STORAGE_POOL_GET_AUTOSTART, "virStoragePoolGetAutostart", X(vmms_pool_args),
     X(vmms_int_ret), h_pool_get_autostart, 0},
    {PROC_STORAGE_POOL_SET_AUTOSTART, "virStoragePoolSetAutostart", X(vmms_pool_int_args), NONE,
     h_pool_set_autostart, P_MUTATES},
    {PROC_STORAGE_POOL_IS_ACTIVE, "virStoragePoolIsActive", X(vmms_pool_args), X(vmms_int_ret),
     h_pool_is_active, 0},
    {PROC_STORAGE_POOL_IS_PERSISTENT, "virStoragePoolIsPersistent", X(vmms_pool_args),
     X(vmms_int_ret), h_pool_is_persistent, 0},
    {PROC_STORAGE_POOL_NUM_OF_VOLUMES, "virStoragePoolNumOfVolumes", X(vmms_pool_args),
     X(vmms_int_ret), h_pool_num_vols, 0},
    {PROC_STORAGE_POOL_LIST_VOLUMES, "virStoragePoolListVolumes", X(vmms_pool_list_names_args),
     X(vmms_list_names_ret), h_pool_list_vol_names, 0},
    {PROC_STORAGE_POOL_LIST_ALL_VOLUMES, "virStoragePoolListAllVolumes",
     X(vmms_pool_list_vols_args), X(vmms_list_vols_ret), h_pool_list_vols, 0},
    {PROC_STORAGE_VOL_LOOKUP_BY_NAME, "virStorageVolLookupByName", X(vmms_pool_name_args),
     X(vmms_vol_ret), h_vol_lookup_name, 0},
    {PROC_STORAGE_VOL_LOOKUP_BY_KEY, "virStorageVolLookupByKey", X(vmms_lookup_name_args),
     X(vmms_vol_ret), h_vol_lookup_path, 0},
    {PROC_STORAGE_VOL_LOOKUP_BY_PATH, "virStorageVolLookupByPath", X(vmms_lookup_name_args),
     X(vmms_vol_ret), h_vol_lookup_path, 0},
    {PROC_STORAGE_VOL_GET_INFO, "virStorageVolGetInfo", X(vmms_vol_args), X(vmms_vol_info_ret),
     h_vol_info, 0},
    {PROC_STORAGE_VOL_GET_XML_DESC, "virStorageVolGetXMLDesc", X(vmms_vol_flags_args),
     X(vmms_str_ret), h_vol_xml, 0},
    {PROC_STORAGE_VOL_GET_PATH, "virStorageVolGetPath", X(vmms_vol_args), X(vmms_str_ret),
     h_vol_path, 0},
    {PROC_STORAGE_VOL_CREATE_XML, "virStorageVolCreateXML", NONE, NONE, h_vol_create, P_MUTATES},
};
const size_t storage_nprocs = sizeof(storage_procs) / sizeof(storage_procs[0]);

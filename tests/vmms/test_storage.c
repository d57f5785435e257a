/* Unit tests for vmms' 'dir' storage pools (storage.h): the pool document,
 * persistence and autostart, and volumes as the regular files of the
 * directory. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "log.h"
#include "storage.h"
#include "vmms.h"

static struct vmms ctx;
static char dir[64], state[128], images[128];

static void touch(const char *name, size_t size)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", images, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	if (size) {
		ck_assert_int_eq(fseek(f, (long)size - 1, SEEK_SET), 0);
		fputc(0, f);
	}
	fclose(f);
}

static void setup(void)
{
	memset(&ctx, 0, sizeof(ctx));
	vmms_ctx = &ctx;
	vmms_log_level = LOG_ERR_;
	snprintf(dir, sizeof(dir), "/tmp/vmms-storage-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(images, sizeof(images), "%s/images", dir);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	ck_assert_int_eq(mkdir(images, 0755), 0);
}

static void teardown(void)
{
	storage_free_all();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct pool *define(const char *xml, struct vmms_err *err)
{
	bool updated;
	memset(err, 0, sizeof(*err));
	return pool_define(state, xml, &updated, err);
}

START_TEST(define_start_list_persist)
{
	setup();
	char xml[512];
	snprintf(xml, sizeof(xml),
		 "<pool type='dir'><name>img</name><capacity unit='bytes'>5</capacity>"
		 "<source/><target><path>%s/</path></target></pool>",
		 images);
	struct vmms_err err;
	struct pool *p = define(xml, &err);
	ck_assert_msg(p, "%s", err.msg);
	ck_assert_str_eq(p->path, images); /* trailing '/' dropped */
	ck_assert(!p->active);
	char **names;
	ck_assert_int_eq(pool_volumes(p, &names, &err), -1); /* inactive */
	ck_assert_int_eq(pool_start(p, &err), 0);
	touch("b.img", 4096);
	touch("a.img", 0);
	touch(".hidden", 0);
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/subdir", images);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	int n = pool_volumes(p, &names, &err);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(names[0], "a.img");
	ck_assert_str_eq(names[1], "b.img");
	pool_volumes_free(names, n);
	struct vol_info vi;
	ck_assert_int_eq(vol_check(p, "b.img", &vi, &err), 0);
	ck_assert_uint_eq(vi.capacity, 4096);
	ck_assert_int_eq(vol_check(p, "../state", NULL, &err), -1);
	ck_assert_int_eq(vol_check(p, "subdir", NULL, &err), -1);
	char path[256];
	snprintf(path, sizeof(path), "%s/b.img", images);
	const char *name;
	ck_assert_ptr_eq(vol_by_path(path, &name, &err), p);
	ck_assert_str_eq(name, "b.img");
	snprintf(path, sizeof(path), "%s/nope.img", images);
	ck_assert_ptr_null(vol_by_path(path, &name, &err));
	ck_assert_int_eq(err.code, VIR_ERR_NO_STORAGE_VOL);
	char *vx = vol_format(p, "b.img", &err);
	ck_assert_ptr_nonnull(strstr(vx, "<format type='raw'/>"));
	free(vx);
	/* Stored; autostart brings it back active after a restart. */
	ck_assert_int_eq(pool_set_autostart(state, p, true, &err), 0);
	unsigned char uuid[16];
	memcpy(uuid, p->uuid, 16);
	storage_free_all();
	storage_load_all(state);
	p = pool_by_name("img");
	ck_assert_ptr_nonnull(p);
	ck_assert(p->active && p->autostart);
	ck_assert_int_eq(memcmp(p->uuid, uuid, 16), 0);
	ck_assert_ptr_eq(pool_by_uuid(uuid), p);
	/* Undefine needs it stopped, and removes the stored files. */
	ck_assert_int_eq(pool_undefine(state, p, &err), -1);
	ck_assert_int_eq(pool_stop(p, &err), 0);
	ck_assert_int_eq(pool_undefine(state, p, &err), 0);
	ck_assert_ptr_null(pool_by_name("img"));
	storage_load_all(state);
	ck_assert_ptr_null(ctx.pools);
	teardown();
}
END_TEST

START_TEST(refusals)
{
	setup();
	struct vmms_err err;
	ck_assert_ptr_null(define("<pool type='logical'><name>x</name></pool>", &err));
	ck_assert_int_eq(err.code, VIR_ERR_CONFIG_UNSUPPORTED);
	ck_assert_ptr_null(define("<pool type='dir'><name>x</name><target><path>rel</path>"
				  "</target></pool>",
				  &err));
	ck_assert_int_eq(err.code, VIR_ERR_XML_ERROR);
	ck_assert_ptr_null(define("<pool type='dir'><name>x</name><target><path>/a</path>"
				  "<permissions/></target></pool>",
				  &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "<permissions>"));
	ck_assert_ptr_null(define("<pool type='dir'><name>x</name><source><dir path='/a'/>"
				  "</source><target><path>/a</path></target></pool>",
				  &err));
	ck_assert_ptr_null(define("<pool type='dir'><name>../x</name><target><path>/a</path>"
				  "</target></pool>",
				  &err));
	ck_assert_ptr_null(define("<pool", &err));
	ck_assert_int_eq(err.code, VIR_ERR_XML_ERROR);
	char xml[256];
	snprintf(xml, sizeof(xml),
		 "<pool type='dir'><name>a</name><target><path>%s</path>"
		 "</target></pool>",
		 images);
	ck_assert_ptr_nonnull(define(xml, &err));
	snprintf(xml, sizeof(xml),
		 "<pool type='dir'><name>b</name><target><path>%s</path>"
		 "</target></pool>",
		 images);
	ck_assert_ptr_null(define(xml, &err)); /* same directory */
	ck_assert_ptr_nonnull(strstr(err.msg, "already has the target path"));
	teardown();
}
END_TEST

TEST_MAIN("vmms_storage", define_start_list_persist, refusals)

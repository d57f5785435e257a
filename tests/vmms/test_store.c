/* Unit tests for vmms' atomic definition store. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

static char dir[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vmms-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char state[300];
	snprintf(state, sizeof(state), "%s/state", dir);
	ck_assert_int_eq(store_init(state), 0);
	strcat(dir, "/state");
}

static void teardown(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(dir) - 6), dir);
	ck_assert_int_eq(system(cmd), 0);
}

struct seen {
	int n;
	char names[8][64];
	char xml[8][64];
};

static void collect(const char *name, const char *xml, void *opaque)
{
	struct seen *s = opaque;
	snprintf(s->names[s->n], 64, "%s", name);
	snprintf(s->xml[s->n], 64, "%s", xml);
	s->n++;
}

START_TEST(save_replace_load)
{
	ck_assert_int_eq(store_save_def(dir, "a", "<one/>"), 0);
	ck_assert_int_eq(store_save_def(dir, "a", "<two/>"), 0);
	struct seen s = {0};
	ck_assert_int_eq(store_load_all(dir, collect, &s), 1);
	ck_assert_str_eq(s.names[0], "a");
	ck_assert_str_eq(s.xml[0], "<two/>");
	/* no temp file stays behind */
	char p[400];
	snprintf(p, sizeof(p), "%s/domains/.a.xml.tmp", dir);
	ck_assert_int_ne(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/domains/a.xml", dir);
	struct stat st;
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 077, 0); /* definitions are private */
}
END_TEST

START_TEST(interrupted_write_is_ignored_and_cleaned)
{
	ck_assert_int_eq(store_save_def(dir, "b", "<old/>"), 0);
	/* What a crash between write and rename leaves behind. */
	char p[400];
	snprintf(p, sizeof(p), "%s/domains/.b.xml.tmp", dir);
	FILE *f = fopen(p, "w");
	fputs("<half", f);
	fclose(f);
	struct seen s = {0};
	ck_assert_int_eq(store_load_all(dir, collect, &s), 1);
	ck_assert_str_eq(s.xml[0], "<old/>");
	ck_assert_int_ne(access(p, F_OK), 0);
}
END_TEST

START_TEST(remove_and_autostart)
{
	ck_assert_int_eq(store_save_def(dir, "c", "<c/>"), 0);
	ck_assert(!store_get_autostart(dir, "c"));
	ck_assert_int_eq(store_set_autostart(dir, "c", true), 0);
	ck_assert(store_get_autostart(dir, "c"));
	ck_assert_int_eq(store_remove_def(dir, "c"), 0);
	ck_assert(!store_get_autostart(dir, "c")); /* undefine clears autostart */
	struct seen s = {0};
	ck_assert_int_eq(store_load_all(dir, collect, &s), 0);
	ck_assert_int_eq(store_remove_def(dir, "never-existed"), 0);
}
END_TEST

START_TEST(write_atomic_fails_cleanly)
{
	ck_assert_int_eq(store_write_atomic("/nonexistent-dir/x", "y", 1), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmms_store");
	TCase *tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, save_replace_load);
	tcase_add_test(tc, interrupted_write_is_ignored_and_cleaned);
	tcase_add_test(tc, remove_and_autostart);
	tcase_add_test(tc, write_atomic_fails_cleanly);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

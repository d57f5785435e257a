/* SPDX-License-Identifier: MIT */
/* main() for a Check test program: the listed tests, one suite, one runner. */
#ifndef LINHV_TESTS_CHECK_MAIN_H
#define LINHV_TESTS_CHECK_MAIN_H

#include <check.h>
#include <stddef.h>

/* main(): run the listed tests in one suite. */
#define TEST_MAIN(name, ...)                                                                       \
	int main(void)                                                                             \
	{                                                                                          \
		const TTest *tests[] = {__VA_ARGS__};                                              \
		Suite *s = suite_create(name);                                                     \
		TCase *tc = tcase_create("main");                                                  \
		SRunner *sr;                                                                       \
		int failed;                                                                        \
		tcase_set_timeout(tc, 60);                                                         \
		for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)                      \
			tcase_add_test(tc, tests[i]);                                              \
		suite_add_tcase(s, tc);                                                            \
		sr = srunner_create(s);                                                            \
		srunner_run_all(sr, CK_NORMAL);                                                    \
		failed = srunner_ntests_failed(sr);                                                \
		srunner_free(sr);                                                                  \
		return failed ? 1 : 0;                                                             \
	}

#endif /* LINHV_TESTS_CHECK_MAIN_H */

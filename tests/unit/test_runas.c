/* test_runas.c: --user USER[:GROUP] resolution (the drop itself: tests/test_privileges.py). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "runas.h"

static void
test_names_and_numbers(void **state)
{
	struct runas ra;
	char err[256];

	(void)state;
	assert_int_equal(runas_resolve("nobody", &ra, err, sizeof(err)), 0);
	assert_int_equal(ra.set, 1);
	assert_int_equal(ra.uid, 65534);
	assert_int_equal(ra.gid, 65534);
	assert_string_equal(ra.home, "/nonexistent");
	assert_true(ra.ngroups >= 1);
	assert_int_equal(ra.groups[0], 65534);
	runas_free(&ra);
	/* GROUP given: that group only. */
	assert_int_equal(runas_resolve("nobody:0", &ra, err, sizeof(err)), 0);
	assert_int_equal(ra.gid, 0);
	assert_int_equal(ra.ngroups, 1);
	assert_int_equal(ra.groups[0], 0);
	runas_free(&ra);
	/* A uid with no passwd entry: its own number as gid, HOME "/". */
	assert_int_equal(runas_resolve("54321", &ra, err, sizeof(err)), 0);
	assert_int_equal(ra.uid, 54321);
	assert_int_equal(ra.gid, 54321);
	assert_string_equal(ra.home, "/");
	runas_free(&ra);
}

static void
test_bad_specs(void **state)
{
	static const char *const bad[] = {
		"", ":", "nobody:", ":0", "no-such-user-x", "nobody:no-such-group-x",
		"-1", "99999999999",
	};
	struct runas ra;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (runas_resolve(bad[i], &ra, err, sizeof(err)) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(ra.set, 0);
		assert_non_null(strstr(err, "--user"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_numbers),
		cmocka_unit_test(test_bad_specs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

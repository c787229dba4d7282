/* test_params.c: a secret path's "?key=value&..." parameters (params.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "params.h"

/* The JSON body of path, compared with want (NULL: none). */
static void
expect_json(const char *path, const char *want)
{
	char *got = params_json(path);

	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, want);
	free(got);
}

/* Parameters become a JSON object of strings, percent-decoded, in order. */
static void
test_json(void **state)
{
	(void)state;
	expect_json("pki/issue/web", NULL);
	expect_json("pki/issue/web?common_name=app.test&ttl=12s",
	    "{\"common_name\":\"app.test\",\"ttl\":\"12s\"}");
	expect_json("p?alt_names=a.test%2Cb.test&x=a+b%20c%25",
	    "{\"alt_names\":\"a.test,b.test\",\"x\":\"a b c%\"}");
	expect_json("p?e=", "{\"e\":\"\"}");
	expect_json("p?q=%22%5C%C3%A9", "{\"q\":\"\\\"\\\\\xc3\xa9\"}");
	expect_json("p?a=1&a=2", NULL);
}

/* Only "?version=N" keeps a request a read. */
static void
test_is_read(void **state)
{
	(void)state;
	assert_true(params_is_read("secret/data/app"));
	assert_true(params_is_read("secret/data/app?version=12"));
	assert_false(params_is_read("secret/data/app?version="));
	assert_false(params_is_read("secret/data/app?version=1x"));
	assert_false(params_is_read("secret/data/app?version=1&x=2"));
	assert_false(params_is_read("pki/issue/web?common_name=a"));
}

/* The path sent is the part before "?". */
static void
test_base(void **state)
{
	char *b;

	(void)state;
	b = params_base("pki/issue/web?common_name=a");
	assert_string_equal(b, "pki/issue/web");
	free(b);
	b = params_base("kv/app");
	assert_string_equal(b, "kv/app");
	free(b);
}

/* Each bad query says what is wrong, never a value. */
static void
test_check(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(params_check("a=1&b=2", err, sizeof(err)), 0);
	assert_int_equal(params_check("a=1&b", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "parameter 2"));
	assert_int_equal(params_check("a=%4", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "%-escape"));
	assert_int_equal(params_check("a=s3cr3t&a=s3cr3t", err, sizeof(err)), -1);
	assert_null(strstr(err, "s3cr3t"));
	assert_int_equal(params_check("a%00=1", err, sizeof(err)), -1);
	assert_int_equal(params_check("", err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_is_read),
		cmocka_unit_test(test_base),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests_name("params", tests, NULL, NULL);
}

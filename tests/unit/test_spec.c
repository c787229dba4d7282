/* test_spec.c: the NAME=PATH#FIELD grammar (spec.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "spec.h"

#define HINT "NAME=PATH#FIELD"

/* Parse arg, expect success, and check the three parts. */
static void
expect_ok(const char *arg, const char *name, const char *path,
    const char *field)
{
	struct spec sp;
	char err[256] = "";

	if (spec_parse(arg, &sp, err, sizeof(err)) != 0)
		fail_msg("\"%s\" rejected: %s", arg, err);
	assert_string_equal(sp.name, name);
	assert_string_equal(sp.path, path);
	assert_string_equal(sp.field, field);
	assert_int_equal(sp.from_env, 0);
	spec_clear(&sp);
	assert_null(sp.name);
	assert_null(sp.path);
	assert_null(sp.field);
}

/* Parse arg, expect failure with every needle in the message. */
static void
expect_bad(const char *arg, const char *needle1, const char *needle2)
{
	struct spec sp;
	char err[256] = "";

	memset(&sp, 0x5a, sizeof(sp));
	if (spec_parse(arg, &sp, err, sizeof(err)) != -1) {
		spec_clear(&sp);
		fail_msg("\"%s\" accepted", arg);
	}
	/* Nothing allocated, nothing to free, fields cleared. */
	assert_null(sp.name);
	assert_null(sp.path);
	assert_null(sp.field);
	if (strstr(err, needle1) == NULL)
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", arg, err, needle1);
	if (needle2 != NULL && strstr(err, needle2) == NULL)
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", arg, err, needle2);
}

static void
test_simple(void **state)
{
	(void)state;
	expect_ok("PGUSER=database/creds/ro#username", "PGUSER",
	    "database/creds/ro", "username");
	expect_ok("_x1=kv/a#b", "_x1", "kv/a", "b");
}

static void
test_nested_path(void **state)
{
	(void)state;
	expect_ok("API_KEY=secret/data/team/app/prod#api_key", "API_KEY",
	    "secret/data/team/app/prod", "api_key");
	expect_ok("A=x#y", "A", "x", "y");
}

/* "/v1/" and "/" before the path are the API prefix, not part of it. */
static void
test_leading_prefix_stripped(void **state)
{
	(void)state;
	expect_ok("A=/v1/database/creds/ro#password", "A", "database/creds/ro",
	    "password");
	expect_ok("A=v1/database/creds/ro#password", "A", "database/creds/ro",
	    "password");
	expect_ok("A=/database/creds/ro#password", "A", "database/creds/ro",
	    "password");
}

/* The path may hold '#': the field is after the last one. */
static void
test_last_hash_wins(void **state)
{
	(void)state;
	expect_ok("A=secret/data/a#b#field", "A", "secret/data/a#b", "field");
	expect_ok("A=x##y", "A", "x#", "y");
}

/* A '/' before "#FIELD" is dropped: "kv/app/#f" reads "kv/app". */
static void
test_trailing_slash_stripped(void **state)
{
	(void)state;
	expect_ok("A=kv/app/#f", "A", "kv/app", "f");
	expect_ok("A=kv/app///#f", "A", "kv/app", "f");
	expect_ok("A=/v1/kv/app/#f", "A", "kv/app", "f");
}

/* The field is taken as it is, '=' and spaces included. */
static void
test_field_verbatim(void **state)
{
	(void)state;
	expect_ok("A=kv/app#a=b", "A", "kv/app", "a=b");
	expect_ok("A=kv/app#with space", "A", "kv/app", "with space");
	/* The first '=' ends the name; later ones belong to the path. */
	expect_ok("A=kv/x=y#f", "A", "kv/x=y", "f");
}

static void
test_no_equals(void **state)
{
	(void)state;
	expect_bad("PGUSER", "no \"=\"", HINT);
	expect_bad("", "no \"=\"", HINT);
	expect_bad("database/creds/ro#username", "no \"=\"", HINT);
}

static void
test_bad_names(void **state)
{
	(void)state;
	expect_bad("=kv/a#b", "not a valid variable name", NULL);
	expect_bad("1A=kv/a#b", "not a valid variable name", "\"1A\"");
	expect_bad("PG-USER=kv/a#b", "not a valid variable name",
	    "\"PG-USER\"");
	expect_bad("PG USER=kv/a#b", "not a valid variable name", NULL);
	expect_bad("PG.USER=kv/a#b", "not a valid variable name", NULL);
}

static void
test_no_hash(void **state)
{
	(void)state;
	expect_bad("A=database/creds/ro", "#FIELD", HINT);
	expect_bad("A=", "#FIELD", HINT);
}

static void
test_empty_path(void **state)
{
	(void)state;
	expect_bad("A=#username", "empty Vault path", HINT);
	expect_bad("A=/#username", "empty Vault path", HINT);
	expect_bad("A=/v1/#username", "empty Vault path", HINT);
	expect_bad("A=///#username", "empty Vault path", HINT);
}

static void
test_empty_field(void **state)
{
	(void)state;
	expect_bad("A=database/creds/ro#", "empty field", HINT);
	expect_bad("A=a#b#", "empty field", HINT);
}

static void
test_parameters_and_spaces_in_path(void **state)
{
	(void)state;
	expect_ok("A=secret/data/x?version=2#f", "A", "secret/data/x?version=2",
	    "f");
	expect_ok("C=pki/issue/web/?common_name=a.test&ttl=12s#certificate",
	    "C", "pki/issue/web?common_name=a.test&ttl=12s", "certificate");
	expect_ok("D=/v1/aws/creds/r?ttl=15m&x=a%23b#access_key", "D",
	    "aws/creds/r?ttl=15m&x=a%23b", "access_key");
	expect_bad("A=p?x#f", "parameter 1 after \"?\" is not KEY=VALUE",
	    "PATH?KEY=VALUE");
	expect_bad("A=p?#f", "not KEY=VALUE", "PATH?KEY=VALUE");
	expect_bad("A=p?a=1&=2#f", "parameter 2", "not KEY=VALUE");
	expect_bad("A=p?a=1&a=2#f", "\"a\" is given twice", "PATH?KEY=VALUE");
	expect_bad("A=p?a=%zz#f", "%-escape", "%25");
	expect_bad("A=p?a=%ff#f", "not UTF-8", "PATH?KEY=VALUE");
	expect_bad("A=?a=1#f", "empty Vault path", HINT);
	expect_bad("A=secret/my app#f", "spaces", HINT);
	expect_bad("A=secret/x ?#f", "spaces", HINT);
}

/* The message quotes what was given, so a user can find it. */
static void
test_error_quotes_argument(void **state)
{
	(void)state;
	expect_bad("DBPASS=database/creds/ro", "DBPASS=database/creds/ro",
	    "-s");
}

/* A huge argument is quoted shortened, the message stays in the buffer. */
static void
test_error_long_argument(void **state)
{
	char arg[2048], err[64];
	struct spec sp;

	(void)state;
	memset(arg, 'A', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	assert_int_equal(spec_parse(arg, &sp, err, sizeof(err)), -1);
	assert_true(strlen(err) < sizeof(err));
	arg[1000] = '=';
	assert_int_equal(spec_parse(arg, &sp, err, sizeof(err)), -1);
	assert_true(strlen(err) < sizeof(err));
	/* No error buffer at all. */
	assert_int_equal(spec_parse("nope", &sp, NULL, 0), -1);
}

/* "vault:PATH#FIELD" references from the environment. */
static void
test_parse_ref(void **state)
{
	struct spec sp;
	char err[256] = "";

	(void)state;
	assert_int_equal(spec_parse_ref("PGPASSWORD", "database/creds/ro#password",
	    &sp, err, sizeof(err)), 0);
	assert_string_equal(sp.name, "PGPASSWORD");
	assert_string_equal(sp.path, "database/creds/ro");
	assert_string_equal(sp.field, "password");
	assert_int_equal(sp.from_env, 1);
	spec_clear(&sp);

	assert_int_equal(spec_parse_ref("K", "/v1/secret/data/a#b#c/", &sp, err,
	    sizeof(err)), 0);
	assert_string_equal(sp.path, "secret/data/a#b");
	assert_string_equal(sp.field, "c/");
	spec_clear(&sp);

	assert_int_equal(spec_parse_ref("K", "kv/app/#f", &sp, err,
	    sizeof(err)), 0);
	assert_string_equal(sp.path, "kv/app");
	spec_clear(&sp);
}

/* Inherited names are checked as -s names are; leasewrap's own are reserved. */
static void
test_names_checked_the_same_everywhere(void **state)
{
	static const char *const bad[] = {
		"A\nEVIL", "X;id", "1A", "LEASEWRAP_DEADLINE", "LEASEWRAP_LOG_LEVEL",
		"VAULT_TOKEN", "A B", "",
	};
	char arg[128], err[256];
	struct spec sp;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (spec_parse_ref(bad[i], "secret/app#k", &sp, err,
		    sizeof(err)) != -1) {
			spec_clear(&sp);
			fail_msg("inherited name \"%s\" accepted", bad[i]);
		}
		assert_null(strchr(err, '\n'));
		snprintf(arg, sizeof(arg), "%s=secret/app#k", bad[i]);
		if (spec_parse(arg, &sp, err, sizeof(err)) != -1) {
			spec_clear(&sp);
			fail_msg("-s name \"%s\" accepted", bad[i]);
		}
	}
	assert_int_equal(spec_parse_ref("LEASEWRAP_DEADLINE", "secret/app#k", &sp,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "reserved"));
	assert_int_equal(spec_parse_ref("VAULT_TOKEN_X", "secret/app#k", &sp,
	    err, sizeof(err)), 0);
	spec_clear(&sp);
}

static void
test_parse_ref_errors(void **state)
{
	static const struct {
		const char *ref, *needle;
	} bad[] = {
		{ "database/creds/ro", "#FIELD" },
		{ "", "#FIELD" },
		{ "#password", "empty Vault path" },
		{ "database/creds/ro#", "empty field" },
		{ "secret/data/x?version#f", "not KEY=VALUE" },
		{ "secret/a b#f", "spaces" },
	};
	struct spec sp;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (spec_parse_ref("DB_PASS", bad[i].ref, &sp, err,
		    sizeof(err)) != -1) {
			spec_clear(&sp);
			fail_msg("ref \"%s\" accepted", bad[i].ref);
		}
		assert_null(sp.name);
		assert_null(sp.path);
		/* Names the variable, says what is wrong, shows the form. */
		if (strstr(err, "DB_PASS") == NULL ||
		    strstr(err, bad[i].needle) == NULL ||
		    strstr(err, HINT) == NULL)
			fail_msg("ref \"%s\": unhelpful error \"%s\"", bad[i].ref,
			    err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_nested_path),
		cmocka_unit_test(test_leading_prefix_stripped),
		cmocka_unit_test(test_last_hash_wins),
		cmocka_unit_test(test_trailing_slash_stripped),
		cmocka_unit_test(test_field_verbatim),
		cmocka_unit_test(test_no_equals),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_no_hash),
		cmocka_unit_test(test_empty_path),
		cmocka_unit_test(test_empty_field),
		cmocka_unit_test(test_parameters_and_spaces_in_path),
		cmocka_unit_test(test_error_quotes_argument),
		cmocka_unit_test(test_error_long_argument),
		cmocka_unit_test(test_parse_ref),
		cmocka_unit_test(test_parse_ref_errors),
		cmocka_unit_test(test_names_checked_the_same_everywhere),
	};

	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}

/* test_engines.c: the table of kinds of secret (engines.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engines.h"
#include "vault_json.h"

/* Parse body as a read of path with the engine for that path. */
static void
parse(const struct engine *e, const char *path, const char *body,
    struct vj_secret *out)
{
	char err[256];

	if (e->parse(path, body, strlen(body), out, err, sizeof(err)) != 0)
		fail_msg("parse of \"%s\" failed: %s", path, err);
}

static void
test_plain_read_is_a_get_without_body(void **state)
{
	const struct engine *e = engine_for("database/creds/ro");

	(void)state;
	assert_non_null(e);
	assert_string_equal(e->method, "GET");
	assert_null(e->body);
	assert_non_null(e->parse);
	assert_non_null(e->timing);
}

/* A path with parameters is a PUT of them to the path before "?"; a KV v2 version stays a GET. */
static void
test_parameters_make_a_write(void **state)
{
	const char *p = "pki/issue/web?common_name=a.test&ttl=12s";
	const struct engine *e = engine_for(p);
	char *body, *to;

	(void)state;
	assert_string_equal(e->method, "PUT");
	body = e->body(p);
	to = e->request_path(p);
	assert_string_equal(body, "{\"common_name\":\"a.test\",\"ttl\":\"12s\"}");
	assert_string_equal(to, "pki/issue/web");
	free(body);
	free(to);
	e = engine_for("secret/data/app?version=3");
	assert_string_equal(e->method, "GET");
	assert_null(e->body);
	assert_null(e->request_path);
}

static void
test_timing_lease_or_refresh(void **state)
{
	const struct engine *e = engine_for("database/creds/ro");
	struct vj_secret s;
	double ttl = -1;

	(void)state;
	parse(e, "database/creds/ro", "{\"lease_id\":\"database/creds/ro/1\","
	    "\"renewable\":true,\"lease_duration\":3600,\"data\":{\"u\":\"x\"}}",
	    &s);
	assert_int_equal(e->timing(&s, &ttl), TIMING_LEASE);
	assert_true(ttl == 3600);
	vj_secret_clear(&s);
	/* KV v1: an advisory TTL, no lease: read again on a schedule. */
	parse(e, "secret/x", "{\"lease_id\":\"\",\"renewable\":false,"
	    "\"lease_duration\":600,\"data\":{\"foo\":\"bar\"}}", &s);
	assert_int_equal(e->timing(&s, &ttl), TIMING_REFRESH);
	assert_true(ttl == 600);
	vj_secret_clear(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_read_is_a_get_without_body),
		cmocka_unit_test(test_parameters_make_a_write),
		cmocka_unit_test(test_timing_lease_or_refresh),
	};

	return cmocka_run_group_tests_name("engines", tests, NULL, NULL);
}

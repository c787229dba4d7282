/* test_engines.c: the table of kinds of secret (engines.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

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
		cmocka_unit_test(test_timing_lease_or_refresh),
	};

	return cmocka_run_group_tests_name("engines", tests, NULL, NULL);
}

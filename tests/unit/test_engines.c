/* test_engines.c: the table of kinds of secret (engines.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* A certificate without a lease is held until data.expiration; a past one, or one in KV, is not. */
static void
test_certificate_ends_at_its_expiration(void **state)
{
	const char *p = "pki/issue/web?common_name=a.test";
	const struct engine *e = engine_for(p);
	struct vj_secret s;
	char body[512];
	double ttl = -1;

	(void)state;
	snprintf(body, sizeof(body), "{\"lease_id\":\"\",\"lease_duration\":0,"
	    "\"data\":{\"certificate\":\"C\",\"serial_number\":\"01\","
	    "\"expiration\":%lld}}", (long long)time(NULL) + 100);
	parse(e, p, body, &s);
	assert_int_equal(e->timing(&s, &ttl), TIMING_LEASE);
	assert_true(ttl > 90 && ttl <= 100);
	vj_secret_clear(&s);
	parse(e, p, "{\"lease_id\":\"\",\"data\":{\"certificate\":\"C\","
	    "\"serial_number\":\"01\",\"expiration\":1}}", &s);
	assert_int_equal(e->timing(&s, &ttl), TIMING_REFRESH);
	vj_secret_clear(&s);
	parse(e, p, "{\"lease_id\":\"\",\"data\":{\"certificate\":\"C\","
	    "\"serial_number\":\"01\",\"expiration\":9223372036854775807}}", &s);
	assert_int_equal(e->timing(&s, &ttl), TIMING_LEASE);
	assert_true(ttl <= 10.0 * 365 * 86400);
	vj_secret_clear(&s);
}

/* A static role's answer: read again after data.ttl; not a KV secret that holds a "ttl". */
static void
test_static_role_rotates_after_its_ttl(void **state)
{
	const char *p = "database/static-creds/app";
	const struct engine *e = engine_for(p);
	struct vj_secret s;
	double ttl = -1;

	(void)state;
	parse(e, p, "{\"lease_id\":\"\",\"lease_duration\":0,\"data\":{"
	    "\"username\":\"app\",\"password\":\"x\",\"ttl\":3599,"
	    "\"rotation_period\":3600}}", &s);
	assert_int_equal(e->timing(&s, &ttl), TIMING_ROTATES);
	assert_true(ttl == 3599);
	vj_secret_clear(&s);
	parse(e, p, "{\"lease_id\":\"\",\"data\":{\"ttl\":-4.5,"
	    "\"rotation_schedule\":\"0 * * * *\"}}", &s);
	assert_int_equal(e->timing(&s, &ttl), TIMING_ROTATES);
	assert_true(ttl == 0);
	vj_secret_clear(&s);
	parse(e, "kv/app", "{\"lease_id\":\"\",\"data\":{\"ttl\":\"1h\","
	    "\"rotation_period\":1}}", &s);
	assert_int_equal(e->timing(&s, &ttl), TIMING_REFRESH);
	vj_secret_clear(&s);
}

/* --revoke-certs: a certificate answer and the PKI mount its revoke goes to. */
static void
test_certificate_and_its_pki_mount(void **state)
{
	const struct engine *e = engine_for("pki/issue/web?common_name=a");
	struct vj_secret s;
	char *m;

	(void)state;
	parse(e, "pki/issue/web", "{\"data\": {\"certificate\": \"x\", "
	    "\"serial_number\": \"01:02\", \"expiration\": 1}}", &s);
	assert_true(engine_is_cert(&s));
	vj_secret_clear(&s);
	/* A lease (generate_lease true) is revoked as a lease, not by serial. */
	parse(e, "pki/issue/web", "{\"lease_id\": \"pki/issue/web/x\", "
	    "\"lease_duration\": 60, \"data\": {\"certificate\": \"x\", "
	    "\"serial_number\": \"01:02\"}}", &s);
	assert_false(engine_is_cert(&s));
	vj_secret_clear(&s);
	assert_string_equal(m = engine_pki_mount("pki/issue/web?ttl=1h"), "pki");
	free(m);
	assert_string_equal(m = engine_pki_mount("pki/int/sign/web?csr=x"),
	    "pki/int");
	free(m);
	assert_string_equal(m = engine_pki_mount("pki/issuer/ca1/issue/web"),
	    "pki");
	free(m);
	assert_string_equal(m = engine_pki_mount("pki/sign-verbatim?csr=x"),
	    "pki");
	free(m);
	/* No issuing path, or one only in the parameters: none. */
	assert_null(engine_pki_mount("secret/data/cert"));
	assert_null(engine_pki_mount("x/y?p=/issue/z"));
	assert_null(engine_pki_mount("/issue/web"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_read_is_a_get_without_body),
		cmocka_unit_test(test_parameters_make_a_write),
		cmocka_unit_test(test_certificate_ends_at_its_expiration),
		cmocka_unit_test(test_certificate_and_its_pki_mount),
		cmocka_unit_test(test_static_role_rotates_after_its_ttl),
		cmocka_unit_test(test_timing_lease_or_refresh),
	};

	return cmocka_run_group_tests_name("engines", tests, NULL, NULL);
}

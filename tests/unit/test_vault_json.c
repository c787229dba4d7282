/* test_vault_json.c: Vault answers into structs and decisions (vault_json.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "secret.h"
#include "vault.h"
#include "vault_json.h"

/* A lease-bearing database read (hashicorp/vault sdk/logical/translate_response.go). */
static const char db_creds[] =
"{\"request_id\":\"d6248a7d-85db-c989-53d6-37a52ddf98cc\","
"\"lease_id\":\"database/creds/awesome-role/hbmpLDbXXJAH9Q23PdTYqIJX\","
"\"renewable\":true,\"lease_duration\":3600,"
"\"data\":{\"password\":\"abcd-SECRET-pw\","
"\"username\":\"v-token-awesome-ro-YYHIPH2BdpE5h\"},"
"\"wrap_info\":null,\"warnings\":null,\"auth\":null,"
"\"mount_type\":\"database\"}";

/* KV v1: an advisory TTL, no lease (website/content/api-docs/secret/kv/kv-v1.mdx). */
static const char kv1[] =
"{\"auth\":null,\"data\":{\"foo\":\"bar\",\"ttl\":\"1h\"},"
"\"lease_duration\":3600,\"lease_id\":\"\",\"renewable\":false}";

/* KV v2, the current version (vault-plugin-secrets-kv path_data.go, pathDataRead). */
static const char kv2[] =
"{\"request_id\":\"x\",\"lease_id\":\"\",\"renewable\":false,"
"\"lease_duration\":0,\"data\":{\"data\":{\"foo\":\"bar\",\"api_key\":\"k-123\"},"
"\"metadata\":{\"created_time\":\"2018-03-22T02:24:06.945319214Z\","
"\"custom_metadata\":null,\"deletion_time\":\"\",\"destroyed\":false,"
"\"version\":2}},\"wrap_info\":null,\"warnings\":null,\"auth\":null,"
"\"mount_type\":\"kv\"}";

/* KV v2, a soft-deleted version: 404 with a full envelope (path_data.go, pathDataRead). */
static const char kv2_deleted[] =
"{\"request_id\":\"x\",\"lease_id\":\"\",\"renewable\":false,"
"\"lease_duration\":0,\"data\":{\"data\":null,"
"\"metadata\":{\"created_time\":\"2018-03-22T02:24:06.945319214Z\","
"\"custom_metadata\":null,\"deletion_time\":\"2018-03-22T02:36:43.986212308Z\","
"\"destroyed\":false,\"version\":3}},\"wrap_info\":null,\"warnings\":null,"
"\"auth\":null,\"mount_type\":\"kv\"}";

/* Parse body for path, expecting success. */
static void
parse_ok(const char *path, const char *body, struct vj_secret *s)
{
	char err[256] = "";

	if (vj_parse_secret(path, body, strlen(body), s, err, sizeof(err)) != 0)
		fail_msg("parse of \"%s\" failed: %s", path, err);
	assert_non_null(s->root);
	assert_non_null(s->data);
}

/* Expect field to read as exactly want. */
static void
field_is(const struct vj_secret *s, const char *field, const char *want)
{
	struct secret *v = NULL;
	char err[256] = "";

	if (vj_field(s, field, &v, err, sizeof(err)) != 0)
		fail_msg("field \"%s\": %s", field, err);
	assert_non_null(v);
	assert_string_equal(secret_str(v), want);
	assert_int_equal(secret_len(v), strlen(want));
	secret_free(v);
}

/* Expect parse failure with needle in the message and nothing left to free. */
static void
parse_bad(const char *path, const char *body, size_t len, const char *needle)
{
	struct vj_secret s;
	char err[256] = "";

	memset(&s, 0x5a, sizeof(s));
	if (vj_parse_secret(path, body, len, &s, err, sizeof(err)) != -1) {
		vj_secret_clear(&s);
		fail_msg("body accepted: %.60s", body);
	}
	assert_null(s.root);
	assert_null(s.lease_id);
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	if (strstr(err, path) == NULL)
		fail_msg("error \"%s\" does not name the path \"%s\"", err, path);
}

static void
test_database_creds(void **state)
{
	struct vj_secret s;

	(void)state;
	parse_ok("database/creds/awesome-role", db_creds, &s);
	assert_string_equal(s.lease_id,
	    "database/creds/awesome-role/hbmpLDbXXJAH9Q23PdTYqIJX");
	assert_int_equal(s.renewable, 1);
	assert_int_equal(s.lease_duration, 3600);
	assert_int_equal(s.kv2, 0);
	field_is(&s, "username", "v-token-awesome-ro-YYHIPH2BdpE5h");
	field_is(&s, "password", "abcd-SECRET-pw");
	vj_secret_clear(&s);
	assert_null(s.root);
	assert_null(s.lease_id);
	assert_null(s.data);
}

/* The body need not be NUL-terminated: only len bytes are read. */
static void
test_body_length_respected(void **state)
{
	struct vj_secret s;
	char *body;
	size_t n = strlen(kv1);
	char err[256];

	(void)state;
	body = malloc(n);	/* no terminator: ASan sees any read past n */
	assert_non_null(body);
	memcpy(body, kv1, n);
	assert_int_equal(vj_parse_secret("kv/app", body, n, &s, err,
	    sizeof(err)), 0);
	field_is(&s, "foo", "bar");
	vj_secret_clear(&s);
	/* A prefix of a valid body is not valid. */
	assert_int_equal(vj_parse_secret("kv/app", body, n - 1, &s, err,
	    sizeof(err)), -1);
	free(body);
}

static void
test_kv1(void **state)
{
	struct vj_secret s;

	(void)state;
	parse_ok("secret/app", kv1, &s);
	assert_null(s.lease_id);	/* "" is no lease */
	assert_int_equal(s.lease_duration, 3600);
	assert_int_equal(s.renewable, 0);
	assert_int_equal(s.kv2, 0);
	field_is(&s, "foo", "bar");
	field_is(&s, "ttl", "1h");
	vj_secret_clear(&s);
}

/* Missing envelope keys and a real-typed lease_duration. */
static void
test_optional_envelope_fields(void **state)
{
	static const char minimal[] = "{\"data\":{\"a\":\"b\"}}";
	static const char real[] = "{\"lease_id\":null,\"renewable\":\"yes\","
	    "\"lease_duration\":2764800.0,\"data\":{\"a\":\"b\"}}";
	struct vj_secret s;

	(void)state;
	parse_ok("kv/x", minimal, &s);
	assert_null(s.lease_id);
	assert_int_equal(s.lease_duration, 0);
	assert_int_equal(s.renewable, 0);
	vj_secret_clear(&s);

	parse_ok("kv/x", real, &s);
	assert_null(s.lease_id);
	assert_int_equal(s.lease_duration, 2764800);
	assert_int_equal(s.renewable, 0);	/* only JSON true counts */
	vj_secret_clear(&s);
}

static void
test_kv2(void **state)
{
	struct vj_secret s;
	struct secret *v = NULL;
	char err[256];

	(void)state;
	parse_ok("secret/data/app", kv2, &s);
	assert_int_equal(s.kv2, 1);
	assert_null(s.lease_id);
	assert_int_equal(s.lease_duration, 0);
	field_is(&s, "foo", "bar");
	field_is(&s, "api_key", "k-123");
	/* The metadata is not a field. */
	assert_int_equal(vj_field(&s, "metadata", &v, err, sizeof(err)), -1);
	assert_null(v);
	vj_secret_clear(&s);

	/* Nested path under the mount. */
	parse_ok("kv/data/team/app", kv2, &s);
	assert_int_equal(s.kv2, 1);
	field_is(&s, "foo", "bar");
	vj_secret_clear(&s);
}

/* Without "/data/" in the path, a v2-shaped body is taken as it is. */
static void
test_kv2_shape_without_data_path(void **state)
{
	struct vj_secret s;
	struct secret *v = NULL;
	char err[256];

	(void)state;
	parse_ok("secret/app", kv2, &s);
	assert_int_equal(s.kv2, 0);
	assert_int_equal(vj_field(&s, "foo", &v, err, sizeof(err)), -1);
	assert_null(v);
	assert_int_equal(vj_field(&s, "data", &v, err, sizeof(err)), 0);
	assert_string_equal(secret_str(v), "{\"foo\":\"bar\",\"api_key\":\"k-123\"}");
	secret_free(v);
	vj_secret_clear(&s);
}

/* "/data/" in the path but no metadata: a KV v1 secret named "data". */
static void
test_data_path_without_metadata(void **state)
{
	static const char body[] = "{\"lease_id\":\"\",\"lease_duration\":60,"
	    "\"data\":{\"data\":{\"x\":\"1\"},\"y\":\"2\"}}";
	static const char nullmeta[] = "{\"data\":{\"data\":{\"x\":\"1\"},"
	    "\"metadata\":null,\"y\":\"2\"}}";
	struct vj_secret s;

	(void)state;
	parse_ok("kv1/data/app", body, &s);
	assert_int_equal(s.kv2, 0);
	field_is(&s, "y", "2");
	field_is(&s, "data", "{\"x\":\"1\"}");
	vj_secret_clear(&s);

	parse_ok("kv1/data/app", nullmeta, &s);
	assert_int_equal(s.kv2, 0);
	field_is(&s, "y", "2");
	vj_secret_clear(&s);
}

static void
test_kv2_deleted_version(void **state)
{
	(void)state;
	parse_bad("secret/data/app", kv2_deleted, strlen(kv2_deleted),
	    "deleted");
}

static void
test_data_null_or_missing(void **state)
{
	static const char null_data[] = "{\"lease_id\":\"\",\"data\":null}";
	static const char no_data[] = "{\"lease_id\":\"x\",\"renewable\":true}";
	static const char str_data[] = "{\"data\":\"s3cr3t\"}";
	static const char arr_data[] = "{\"data\":[1,2]}";

	(void)state;
	parse_bad("database/creds/ro", null_data, strlen(null_data), "no data");
	parse_bad("database/creds/ro", no_data, strlen(no_data), "no data");
	parse_bad("database/creds/ro", str_data, strlen(str_data), "no data");
	parse_bad("database/creds/ro", arr_data, strlen(arr_data), "no data");
}

static void
test_not_json(void **state)
{
	static const char html[] = "<html><body>502 Bad Gateway</body></html>";
	static const char cut[] = "{\"data\":{\"a\":\"b\"";

	(void)state;
	parse_bad("kv/app", html, strlen(html), "not a JSON object");
	parse_bad("kv/app", cut, strlen(cut), "not a JSON object");
	parse_bad("kv/app", "", 0, "not a JSON object");
}

static void
test_not_object(void **state)
{
	static const char *const bodies[] = {
		"[]", "[{\"data\":{\"a\":\"b\"}}]", "\"data\"", "42", "null",
		"true",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		parse_bad("kv/app", bodies[i], strlen(bodies[i]),
		    "not a JSON object");
}

/* Non-string fields are handed over as compact JSON. */
static void
test_non_string_fields(void **state)
{
	static const char body[] = "{\"data\":{\"port\":5432,\"ratio\":1.5,"
	    "\"neg\":-7,\"on\":true,\"off\":false,"
	    "\"obj\":{\"a\": 1, \"b\": [1, 2], \"c\": {\"d\": \"e\"}},"
	    "\"arr\":[ 1 , \"x\" , null ],\"empty\":\"\",\"nested_str\":\"a\\\"b\"}}";
	struct vj_secret s;

	(void)state;
	parse_ok("kv/app", body, &s);
	field_is(&s, "port", "5432");
	field_is(&s, "ratio", "1.5");
	field_is(&s, "neg", "-7");
	field_is(&s, "on", "true");
	field_is(&s, "off", "false");
	field_is(&s, "obj", "{\"a\":1,\"b\":[1,2],\"c\":{\"d\":\"e\"}}");
	field_is(&s, "arr", "[1,\"x\",null]");
	field_is(&s, "empty", "");
	field_is(&s, "nested_str", "a\"b");
	vj_secret_clear(&s);
}

/* A missing field lists the names there are and never a value. */
static void
test_missing_field(void **state)
{
	struct vj_secret s;
	struct secret *v = NULL;
	char err[512] = "";

	(void)state;
	parse_ok("database/creds/awesome-role", db_creds, &s);
	assert_int_equal(vj_field(&s, "pass", &v, err, sizeof(err)), -1);
	assert_null(v);
	assert_non_null(strstr(err, "\"pass\""));
	assert_non_null(strstr(err, "password"));
	assert_non_null(strstr(err, "username"));
	assert_null(strstr(err, "abcd-SECRET-pw"));
	assert_null(strstr(err, "v-token-awesome"));
	vj_secret_clear(&s);
}

/* A null field is as good as missing; an empty data object says so. */
static void
test_null_field_and_empty_data(void **state)
{
	static const char body[] = "{\"data\":{\"gone\":null,\"k\":\"hunter2\"}}";
	static const char empty[] = "{\"data\":{}}";
	struct vj_secret s;
	struct secret *v = NULL;
	char err[512] = "";

	(void)state;
	parse_ok("kv/app", body, &s);
	assert_int_equal(vj_field(&s, "gone", &v, err, sizeof(err)), -1);
	assert_null(v);
	assert_non_null(strstr(err, "\"gone\""));
	assert_null(strstr(err, "hunter2"));
	vj_secret_clear(&s);

	parse_ok("kv/app", empty, &s);
	assert_int_equal(vj_field(&s, "k", &v, err, sizeof(err)), -1);
	assert_null(v);
	assert_non_null(strstr(err, "(none)"));
	vj_secret_clear(&s);
}

/* Many field names: the list is cut, the message stays in its buffer. */
static void
test_missing_field_many_names(void **state)
{
	char body[8192], err[128];
	struct vj_secret s;
	struct secret *v = NULL;
	size_t off = 0;
	int i;

	(void)state;
	off += (size_t)snprintf(body + off, sizeof(body) - off, "{\"data\":{");
	for (i = 0; i < 100; i++)
		off += (size_t)snprintf(body + off, sizeof(body) - off,
		    "%s\"field_name_number_%03d\":\"value_%03d\"", i ? "," : "",
		    i, i);
	snprintf(body + off, sizeof(body) - off, "}}");
	parse_ok("kv/app", body, &s);
	assert_int_equal(vj_field(&s, "nope", &v, err, sizeof(err)), -1);
	assert_true(strlen(err) < sizeof(err));
	assert_non_null(strstr(err, "field_name_number_000"));
	assert_null(strstr(err, "value_"));
	vj_secret_clear(&s);
}

/* Clearing a zeroed struct is harmless. */
static void
test_clear_empty(void **state)
{
	struct vj_secret s;

	(void)state;
	memset(&s, 0, sizeof(s));
	vj_secret_clear(&s);
	vj_wipe_decref(NULL);
}

/* Shortcut for vj_error_text on a C string. */
static void
error_text_is(const char *body, const char *want)
{
	char out[256];

	memset(out, 'X', sizeof(out));
	vj_error_text(body, strlen(body), out, sizeof(out));
	assert_string_equal(out, want);
}

static void
test_error_text(void **state)
{
	(void)state;
	error_text_is("{\"errors\":[\"1 error occurred:\\n\\t* permission "
	    "denied\\n\\n\"]}", "permission denied");
	error_text_is("{\"errors\":[\"permission denied\"]}",
	    "permission denied");
	error_text_is("{\"errors\":[]}", "");
	error_text_is("{\"errors\":null}", "");
	error_text_is("{}", "");
	error_text_is("not json", "");
	error_text_is("", "");
	error_text_is("<html>503</html>", "");
	error_text_is("[\"permission denied\"]", "");
	error_text_is("{\"errors\":[42, \"Vault is sealed\"]}",
	    "Vault is sealed");
	error_text_is("{\"errors\":[\"no handler for route \\\"x/y\\\". route "
	    "entry not found.\"]}",
	    "no handler for route \"x/y\". route entry not found.");
}

/* Two errors, as two elements or as one multierror string: both kept. */
static void
test_error_text_two(void **state)
{
	(void)state;
	error_text_is("{\"errors\":[\"permission denied\",\"invalid token\"]}",
	    "permission denied; invalid token");
	error_text_is("{\"errors\":[\"2 errors occurred:\\n\\t* permission "
	    "denied\\n\\t* invalid token\\n\\n\"]}",
	    "permission denied; invalid token");
	error_text_is("{\"errors\":[\"1 error occurred:\\n\\t* permission "
	    "denied\\n\\n\",\"1 error occurred:\\n\\t* invalid token\\n\\n\"]}",
	    "permission denied; invalid token");
}

/* A long message fits the buffer it is given. */
static void
test_error_text_truncated(void **state)
{
	static const char body[] = "{\"errors\":[\"1 error occurred:\\n\\t* "
	    "a very long message about what went wrong\\n\\n\",\"second\"]}";
	char *out;

	(void)state;
	out = malloc(10);	/* exact size, so ASan sees an overrun */
	assert_non_null(out);
	vj_error_text(body, strlen(body), out, 10);
	assert_string_equal(out, "a very lo");
	vj_error_text(body, strlen(body), out, 1);
	assert_string_equal(out, "");
	free(out);
}

/* Shortcut for vj_parse_mount expecting success. */
static void
mount_is(const char *body, const char *path, int version)
{
	char err[256] = "", *mp = (char *)"unset";
	int v = -1;

	if (vj_parse_mount(body, strlen(body), &mp, &v, err, sizeof(err)) != 0)
		fail_msg("mount body rejected: %s", err);
	assert_non_null(mp);
	assert_string_equal(mp, path);
	assert_int_equal(v, version);
	free(mp);
}

static void
test_parse_mount(void **state)
{
	(void)state;
	mount_is("{\"request_id\":\"r\",\"data\":{\"accessor\":\"kv_1\","
	    "\"config\":{},\"description\":\"\",\"external_entropy_access\":false,"
	    "\"local\":false,\"options\":{\"version\":\"2\"},\"path\":\"secret/\","
	    "\"seal_wrap\":false,\"type\":\"kv\",\"uuid\":\"u\"}}", "secret/", 2);
	mount_is("{\"data\":{\"options\":null,\"path\":\"kv1/\",\"type\":\"kv\"}}",
	    "kv1/", 1);
	mount_is("{\"data\":{\"path\":\"kv1/\",\"type\":\"kv\"}}", "kv1/", 1);
	mount_is("{\"data\":{\"options\":{\"version\":\"1\"},\"path\":\"kv1/\","
	    "\"type\":\"kv\"}}", "kv1/", 1);
	mount_is("{\"data\":{\"options\":{},\"path\":\"old/\",\"type\":"
	    "\"generic\"}}", "old/", 1);
	/* A version that is not the string "2" is not v2. */
	mount_is("{\"data\":{\"options\":{\"version\":2},\"path\":\"kv/\","
	    "\"type\":\"kv\"}}", "kv/", 1);
	mount_is("{\"data\":{\"options\":null,\"path\":\"database/\","
	    "\"type\":\"database\"}}", "database/", 0);
	/* Options of a non-KV mount do not make it KV. */
	mount_is("{\"data\":{\"options\":{\"version\":\"2\"},\"path\":\"db/\","
	    "\"type\":\"database\"}}", "db/", 0);
	mount_is("{\"data\":{\"path\":\"x/\"}}", "x/", 0);
}

static void
test_parse_mount_garbage(void **state)
{
	static const char *const bodies[] = {
		"", "garbage", "{}", "[]", "{\"data\":null}",
		"{\"data\":{\"type\":\"kv\"}}", "{\"data\":{\"path\":7}}",
		"{\"errors\":[\"permission denied\"]}", "{\"data\":{\"path\":",
	};
	char err[256], *mp;
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		mp = (char *)"unset";
		v = -1;
		err[0] = '\0';
		if (vj_parse_mount(bodies[i], strlen(bodies[i]), &mp, &v, err,
		    sizeof(err)) != -1)
			fail_msg("mount body \"%s\" accepted", bodies[i]);
		assert_null(mp);
		assert_int_equal(v, 0);
		assert_non_null(strstr(err, "sys/internal/ui/mounts"));
	}
}

/* Vault's durations: clamped to what int(time.Duration.Seconds()) can be. */
static void
test_seconds_clamped(void **state)
{
	json_t *v;

	(void)state;
	assert_true(vj_seconds(NULL) == 0);
	v = json_real(1e300);
	assert_true(vj_seconds(v) == VJ_TTL_MAX);
	json_decref(v);
	v = json_real(18446744073709551616.0);
	assert_true(vj_seconds(v) == VJ_TTL_MAX);
	json_decref(v);
	v = json_integer(-5);
	assert_true(vj_seconds(v) == 0);
	json_decref(v);
	v = json_integer(3600);
	assert_true(vj_seconds(v) == 3600);
	json_decref(v);
	v = json_string("3600");
	assert_true(vj_seconds(v) == 0);
	json_decref(v);
}

/* A read whose lease_duration no Vault sends: clamped, not converted out of range. */
static void
test_secret_huge_lease_duration(void **state)
{
	static const char body[] = "{\"lease_id\":\"db/creds/ro/x\","
	    "\"lease_duration\":1e300,\"data\":{\"u\":\"v\"}}";
	struct vj_secret s;
	char err[256];

	(void)state;
	assert_int_equal(vj_parse_secret("db/creds/ro", body, sizeof(body) - 1,
	    &s, err, sizeof(err)), 0);
	assert_true(s.lease_duration == (long long)VJ_TTL_MAX);
	vj_secret_clear(&s);
}

static void
test_retry_after(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example) */
	time_t t = 784111777;

	(void)state;
	assert_true(vj_retry_after(" 4\r\n", strlen(" 4\r\n"), t) == 4);
	assert_true(vj_retry_after("0", strlen("0"), t) == 0);
	assert_true(vj_retry_after(" 120", strlen(" 120"), t) == 120);
	assert_true(vj_retry_after(" Sun, 06 Nov 1994 08:49:47 GMT\r\n", strlen(" Sun, 06 Nov 1994 08:49:47 GMT\r\n"), t) == 10);
	/* A date in the past, garbage, or nothing: no floor. */
	assert_true(vj_retry_after(" Sun, 06 Nov 1994 08:49:27 GMT", strlen(" Sun, 06 Nov 1994 08:49:27 GMT"), t) == 0);
	assert_true(vj_retry_after(" soon", strlen(" soon"), t) == 0);
	assert_true(vj_retry_after(" 4x", strlen(" 4x"), t) == 0);
	assert_true(vj_retry_after(" -3", strlen(" -3"), t) == 0);
	assert_true(vj_retry_after("\r\n", strlen("\r\n"), t) == 0);
	/* At most a day. */
	assert_true(vj_retry_after("9999999", strlen("9999999"), t) == 86400);
}

/* A PKI revoke that left an expired certificate off the CRL (crl_util.go revokeCert). */
static void
test_cert_unrevoked(void **state)
{
	const char *expired = "{\"data\":null,\"warnings\":[\"certificate "
	    "with serial 01:02 already expired; refusing to add to CRL\"]}";
	const char *done = "{\"data\":{\"revocation_time\":1796187930,"
	    "\"state\":\"revoked\"},\"warnings\":null}";
	char out[128];

	(void)state;
	assert_int_equal(vj_cert_unrevoked(expired, strlen(expired), out,
	    sizeof(out)), 1);
	assert_string_equal(out, "certificate with serial 01:02 already "
	    "expired; refusing to add to CRL");
	assert_int_equal(vj_cert_unrevoked(done, strlen(done), out,
	    sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(vj_cert_unrevoked("{}", 2, out, sizeof(out)), 1);
	assert_int_equal(vj_cert_unrevoked("not json", 8, out, sizeof(out)), 0);
	assert_int_equal(vj_cert_unrevoked(NULL, 0, out, sizeof(out)), 0);
}

/* Vault's wrapped backend failures (vault/expiration.go renewEntry). */
static void
test_backend_failure(void **state)
{
	const char *renew = "{\"errors\":[\"failed to renew entry: resp: "
	    "(*logical.Response)(nil) err: dial tcp: connection refused\"]}";
	const char *revoke = "{\"errors\":[\"failed to revoke entry: resp: "
	    "(*logical.Response)(nil) err: x\"]}";
	const char *lost = "{\"errors\":[\"lease not found\"]}";
	const char *maxed = "{\"errors\":[\"past the max TTL, cannot "
	    "renew\"]}";

	(void)state;
	assert_int_equal(vj_backend_failure(400, maxed, strlen(maxed)), 0);
	assert_int_equal(vj_backend_failure(400, renew, strlen(renew)), 1);
	assert_int_equal(vj_backend_failure(400, revoke, strlen(revoke)), 1);
	assert_int_equal(vj_backend_failure(400, lost, strlen(lost)), 0);
	assert_int_equal(vj_backend_failure(500, renew, strlen(renew)), 0);
	assert_int_equal(vj_backend_failure(400, "", 0), 0);
	assert_int_equal(vj_backend_failure(400, "not json", 8), 0);
	assert_int_equal(vj_backend_failure(400, NULL, 0), 0);
}

/* A plain permission denied is a policy answer; with invalid token it is not. */
static void
test_policy_denied(void **state)
{
	const char *policy = "{\"errors\":[\"1 error occurred:\\n\\t* "
	    "permission denied\\n\\n\"]}";
	const char *dead = "{\"errors\":[\"2 errors occurred:\\n\\t* "
	    "permission denied\\n\\t* invalid token\\n\\n\"]}";
	const char *split = "{\"errors\":[\"permission denied\","
	    "\"invalid token\"]}";

	(void)state;
	assert_int_equal(vj_policy_denied(403, policy, strlen(policy)), 1);
	assert_int_equal(vj_policy_denied(403, dead, strlen(dead)), 0);
	assert_int_equal(vj_policy_denied(403, split, strlen(split)), 0);
	assert_int_equal(vj_policy_denied(400, policy, strlen(policy)), 0);
	assert_int_equal(vj_policy_denied(403, "{}", 2), 0);
}

/* At exit only success and a 403 end the revocation attempts. */
static void
test_revoke_settled(void **state)
{
	(void)state;
	assert_int_equal(vj_revoke_settled(204), 1);
	assert_int_equal(vj_revoke_settled(200), 1);
	assert_int_equal(vj_revoke_settled(202), 1);
	assert_int_equal(vj_revoke_settled(403), 1);
	assert_int_equal(vj_revoke_settled(400), 0);
	assert_int_equal(vj_revoke_settled(500), 0);
	assert_int_equal(vj_revoke_settled(429), 0);
	assert_int_equal(vj_revoke_settled(0), 0);
}

static void
test_policy_hint(void **state)
{
	char out[256];

	(void)state;
	vj_policy_hint("auth/token/lookup-self", out, sizeof(out));
	assert_non_null(strstr(out, "path \"auth/token/lookup-self\" { "
	    "capabilities = [\"read\"] }"));
	vj_policy_hint("auth/token/renew-self", out, sizeof(out));
	assert_non_null(strstr(out, "path \"auth/token/renew-self\" { "
	    "capabilities = [\"update\"] }"));
}

/* handleLoginRequest's MFA answer, an empty token, and a normal login. */
static void
test_login_mfa(void **state)
{
	const char *mfa = "{\"auth\":{\"client_token\":\"\",\"mfa_requirement\":"
	    "{\"mfa_request_id\":\"r\",\"mfa_constraints\":{\"ops\":{\"any\":"
	    "[{\"type\":\"totp\",\"id\":\"m\",\"uses_passcode\":true}]}}}},"
	    "\"warnings\":[\"A login request was issued that is subject to "
	    "MFA validation.\"]}";
	const char *empty = "{\"auth\":{\"client_token\":\"\","
	    "\"mfa_requirement\":null}}";
	const char *ok = "{\"auth\":{\"client_token\":\"hvs.x\","
	    "\"mfa_requirement\":null}}";
	char out[400];

	(void)state;
	assert_int_equal(vj_login_mfa(mfa, strlen(mfa), out, sizeof(out)), 1);
	assert_non_null(strstr(out, "multi-factor"));
	assert_non_null(strstr(out, "\"ops\""));
	assert_non_null(strstr(out, "totp"));
	assert_int_equal(vj_login_mfa(empty, strlen(empty), out, sizeof(out)),
	    1);
	assert_non_null(strstr(out, "empty client_token"));
	assert_int_equal(vj_login_mfa(ok, strlen(ok), out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(vj_login_mfa("x", 1, out, sizeof(out)), 0);
}

/* pathDataRead's 404 envelopes: deleted, destroyed; a plain 404 is neither. */
static void
test_kv2_gone(void **state)
{
	const char *deleted = "{\"data\":{\"data\":null,\"metadata\":{"
	    "\"deletion_time\":\"2026-01-02T03:04:05Z\",\"destroyed\":false,"
	    "\"version\":3}}}";
	const char *destroyed = "{\"data\":{\"data\":null,\"metadata\":{"
	    "\"deletion_time\":\"\",\"destroyed\":true,\"version\":2}}}";
	const char *plain = "{\"errors\":[]}";
	const char *warn = "{\"data\":null,\"warnings\":[\"Invalid path for a "
	    "versioned K/V secrets engine.\"]}";
	char out[256];

	(void)state;
	assert_int_equal(vj_kv2_gone(deleted, strlen(deleted), out,
	    sizeof(out)), 1);
	assert_non_null(strstr(out, "version 3 was deleted at "
	    "2026-01-02T03:04:05Z"));
	assert_int_equal(vj_kv2_gone(destroyed, strlen(destroyed), out,
	    sizeof(out)), 1);
	assert_non_null(strstr(out, "version 2 was destroyed"));
	assert_int_equal(vj_kv2_gone(plain, strlen(plain), out, sizeof(out)),
	    0);
	assert_int_equal(vj_kv2_gone(warn, strlen(warn), out, sizeof(out)), 0);
}

/* Only an "admin/" path with no namespace set gets the warning. */
static void
test_namespace_hint(void **state)
{
	char out[512];

	(void)state;
	assert_int_equal(vj_namespace_hint("admin/database/creds/ro", NULL,
	    out, sizeof(out)), 1);
	assert_non_null(strstr(out, "VAULT_NAMESPACE=admin"));
	assert_int_equal(vj_namespace_hint("admin/database/creds/ro", "",
	    out, sizeof(out)), 1);
	assert_int_equal(vj_namespace_hint("admin/database/creds/ro", "admin",
	    out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(vj_namespace_hint("database/creds/ro", NULL, out,
	    sizeof(out)), 0);
	assert_int_equal(vj_namespace_hint("administration/x", NULL, out,
	    sizeof(out)), 0);
}

/* A response with status and body (transport fields clear). */
static struct vault_resp
answer(long status, const char *body)
{
	struct vault_resp r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.body = body;
	r.len = body != NULL ? strlen(body) : 0;
	r.error = "";
	return r;
}

static void
test_retryable_follows_vaults_client(void **state)
{
	struct vault_resp r = answer(0, NULL);

	(void)state;
	r.error = "Connection refused";
	assert_true(vj_retryable(&r));
	r.tls_error = 1;
	assert_false(vj_retryable(&r));		/* a certificate will not change */
	r.tls_error = 0;
	r.too_big = 1;
	assert_false(vj_retryable(&r));		/* not a Vault server */
	r = answer(412, NULL);
	assert_true(vj_retryable(&r));
	r = answer(429, NULL);
	assert_true(vj_retryable(&r));
	r = answer(500, NULL);
	assert_true(vj_retryable(&r));
	r = answer(503, NULL);
	assert_true(vj_retryable(&r));
	r = answer(501, NULL);
	assert_false(vj_retryable(&r));
	r = answer(400, NULL);
	assert_false(vj_retryable(&r));
	r = answer(403, NULL);
	assert_false(vj_retryable(&r));
	r = answer(404, NULL);
	assert_false(vj_retryable(&r));
}

static void
test_reason_prefers_vaults_error(void **state)
{
	struct vault_resp r = answer(503, "{\"errors\":[\"Vault is sealed\"]}");
	char out[128];

	(void)state;
	vj_reason(&r, out, sizeof(out));
	assert_string_equal(out, "503: Vault is sealed");
	r = answer(0, NULL);
	r.error = "Connection refused";
	vj_reason(&r, out, sizeof(out));
	assert_string_equal(out, "0: Connection refused");
	r = answer(502, "");
	vj_reason(&r, out, sizeof(out));
	assert_string_equal(out, "502");
}

static const struct vj_what read_what = { .op = VJ_READ, .path = "db/creds/x",
    .vault_addr = "https://v:8200", .max_response = 1024 };

/* The message and exit code for a read that came back as r. */
static int
read_failure(struct vault_resp *r, char *msg, size_t len)
{
	return vj_failure(r, &read_what, msg, len);
}

static void
test_failure_of_reads(void **state)
{
	struct vault_resp r = answer(0, NULL);
	char msg[512];

	(void)state;
	r.too_big = 1;
	assert_int_equal(read_failure(&r, msg, sizeof(msg)), LW_EXIT_DATAERR);
	assert_non_null(strstr(msg, "reading \"db/creds/x\": Vault's answer is "
	    "larger than 1024 bytes"));
	r.too_big = 0;
	r.tls_error = 1;
	r.error = "unknown CA";
	assert_int_equal(read_failure(&r, msg, sizeof(msg)), LW_EXIT_CONFIG);
	assert_non_null(strstr(msg, "TLS with Vault at https://v:8200 failed: "
	    "unknown CA; set VAULT_CACERT"));
	r.tls_error = 0;
	r.error = "Connection refused";
	assert_int_equal(read_failure(&r, msg, sizeof(msg)),
	    LW_EXIT_UNAVAILABLE);
	assert_non_null(strstr(msg, "cannot reach Vault at https://v:8200"));
	r = answer(403, "{\"errors\":[\"permission denied\",\"invalid token\"]}");
	assert_int_equal(read_failure(&r, msg, sizeof(msg)), LW_EXIT_NOPERM);
	assert_non_null(strstr(msg, "the token is invalid or expired: Vault "
	    "refused it reading \"db/creds/x\" (403: invalid token); see "
	    "\"vault token lookup\""));
	r = answer(403, "{\"errors\":[\"1 error occurred:\\n\\t* permission "
	    "denied\\n\\n\"]}");
	assert_int_equal(read_failure(&r, msg, sizeof(msg)), LW_EXIT_NOPERM);
	assert_non_null(strstr(msg, "permission denied reading \"db/creds/x\" "
	    "(403); check the token's policies"));
	r = answer(404, "{\"errors\":[]}");
	assert_int_equal(read_failure(&r, msg, sizeof(msg)), LW_EXIT_DATAERR);
	assert_non_null(strstr(msg, "no secret at \"db/creds/x\" (404)"));
	r = answer(503, "{\"errors\":[\"Vault is sealed\"]}");
	assert_int_equal(read_failure(&r, msg, sizeof(msg)),
	    LW_EXIT_UNAVAILABLE);
	assert_non_null(strstr(msg, "Vault is unavailable reading \"db/creds/x\" "
	    "(503: Vault is sealed); try again later"));
	r = answer(429, "");
	assert_int_equal(read_failure(&r, msg, sizeof(msg)),
	    LW_EXIT_UNAVAILABLE);
	/* A standby not caught up (ErrMissingRequiredState) is Vault unavailable. */
	r = answer(412, "{\"errors\":[\"required index state not present\"]}");
	assert_int_equal(read_failure(&r, msg, sizeof(msg)),
	    LW_EXIT_UNAVAILABLE);
	/* A transport mistake vault.c put in words: its message, exit 78. */
	r = answer(0, "");
	r.fatal = 1;
	r.error = "the server answered plain HTTP; use http://";
	assert_int_equal(read_failure(&r, msg, sizeof(msg)), LW_EXIT_CONFIG);
	assert_string_equal(msg, "the server answered plain HTTP; use http://");
	assert_false(vj_retryable(&r));
	r = answer(400, "{\"errors\":[\"bad path\"]}");
	assert_int_equal(read_failure(&r, msg, sizeof(msg)), LW_EXIT_DATAERR);
	assert_string_equal(msg, "Vault refused to read \"db/creds/x\" (400: bad "
	    "path)");
	r = answer(400, "");
	(void)read_failure(&r, msg, sizeof(msg));
	assert_string_equal(msg, "Vault refused to read \"db/creds/x\" (400)");
}

static void
test_failure_of_logins_and_unwraps(void **state)
{
	struct vj_what w = { .op = VJ_LOGIN, .path = "auth/approle/login",
	    .vault_addr = "https://v:8200", .method = "approle",
	    .check = "the role ID and secret ID", .file = "/run/sid" };
	struct vault_resp r = answer(0, NULL);
	char msg[512];

	(void)state;
	r.error = "Connection refused";
	assert_int_equal(vj_failure(&r, &w, msg, sizeof(msg)),
	    LW_EXIT_UNAVAILABLE);
	assert_non_null(strstr(msg, "cannot reach Vault at https://v:8200"));
	r = answer(503, "{\"errors\":[\"sealed\"]}");
	assert_int_equal(vj_failure(&r, &w, msg, sizeof(msg)),
	    LW_EXIT_UNAVAILABLE);
	assert_string_equal(msg, "Vault is unavailable for auth/approle/login "
	    "(503: sealed)");
	r = answer(400, "{\"errors\":[\"invalid role or secret ID\"]}");
	assert_int_equal(vj_failure(&r, &w, msg, sizeof(msg)), LW_EXIT_NOPERM);
	assert_string_equal(msg, "approle login at auth/approle/login was "
	    "refused (400: invalid role or secret ID); check the role ID and "
	    "secret ID");
	w.op = VJ_UNWRAP;
	r = answer(503, "");
	(void)vj_failure(&r, &w, msg, sizeof(msg));
	assert_string_equal(msg, "Vault is unavailable for sys/wrapping/unwrap "
	    "(503)");
	r = answer(400, "{\"errors\":[\"wrapping token is not valid or does "
	    "not exist\"]}");
	assert_int_equal(vj_failure(&r, &w, msg, sizeof(msg)), LW_EXIT_NOPERM);
	assert_non_null(strstr(msg, "the wrapped secret ID in \"/run/sid\" was "
	    "already unwrapped or has expired"));
	r = answer(403, "{\"errors\":[\"permission denied\"]}");
	assert_int_equal(vj_failure(&r, &w, msg, sizeof(msg)), LW_EXIT_NOPERM);
	assert_string_equal(msg, "cannot unwrap the secret ID in \"/run/sid\" "
	    "(403: permission denied)");
}

static void
test_parse_token_answers(void **state)
{
	static const char lookup[] = "{\"data\":{\"ttl\":600,\"creation_ttl\":"
	    "3600,\"renewable\":true}}";
	static const char lookup_old[] = "{\"data\":{\"ttl\":600}}";
	static const char login[] = "{\"auth\":{\"client_token\":\"hvs.TOKEN\","
	    "\"lease_duration\":1200,\"renewable\":true}}";
	struct vj_token t;

	(void)state;
	assert_int_equal(vj_parse_lookup(lookup, strlen(lookup), &t), 0);
	assert_true(t.ttl == 600 && t.creation_ttl == 3600 && t.renewable);
	assert_null(t.client_token);
	assert_int_equal(vj_parse_lookup(lookup_old, strlen(lookup_old), &t), 0);
	assert_true(t.creation_ttl == 600 && !t.renewable);
	assert_int_equal(vj_parse_lookup("<html>", 6, &t), -1);
	assert_int_equal(vj_parse_auth(login, strlen(login), &t), 0);
	assert_non_null(t.client_token);
	assert_string_equal(secret_str(t.client_token), "hvs.TOKEN");
	assert_true(t.ttl == 1200 && t.creation_ttl == 1200 && t.renewable);
	secret_free(t.client_token);
	assert_int_equal(vj_parse_auth("{}", 2, &t), 0);
	assert_null(t.client_token);
	assert_int_equal(vj_parse_auth("nope", 4, &t), -1);
}

static void
test_parse_renewal_unwrap_and_lease_body(void **state)
{
	static const char renewal[] = "{\"lease_id\":\"db/creds/x/1\","
	    "\"renewable\":true,\"lease_duration\":1800}";
	static const char unwrap[] = "{\"data\":{\"secret_id\":\"s-1\"}}";
	struct secret *sid;
	double ttl = 0;
	int renewable = 0;
	char *body;

	(void)state;
	assert_int_equal(vj_parse_renewal(renewal, strlen(renewal), &ttl,
	    &renewable), 0);
	assert_true(ttl == 1800 && renewable);
	assert_int_equal(vj_parse_renewal("", 0, &ttl, &renewable), -1);
	assert_int_equal(vj_parse_unwrap(unwrap, strlen(unwrap), &sid), 0);
	assert_string_equal(secret_str(sid), "s-1");
	secret_free(sid);
	assert_int_equal(vj_parse_unwrap("{\"data\":null}", 13, &sid), -1);
	assert_null(sid);
	body = vj_lease_body("db/creds/x/1", 3600);
	assert_string_equal(body, "{\"lease_id\":\"db/creds/x/1\","
	    "\"increment\":3600}");
	free(body);
	body = vj_lease_body("db/creds/x/1", -1);
	assert_string_equal(body, "{\"lease_id\":\"db/creds/x/1\"}");
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_database_creds),
		cmocka_unit_test(test_body_length_respected),
		cmocka_unit_test(test_kv1),
		cmocka_unit_test(test_optional_envelope_fields),
		cmocka_unit_test(test_kv2),
		cmocka_unit_test(test_kv2_shape_without_data_path),
		cmocka_unit_test(test_data_path_without_metadata),
		cmocka_unit_test(test_kv2_deleted_version),
		cmocka_unit_test(test_data_null_or_missing),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_not_object),
		cmocka_unit_test(test_non_string_fields),
		cmocka_unit_test(test_missing_field),
		cmocka_unit_test(test_null_field_and_empty_data),
		cmocka_unit_test(test_missing_field_many_names),
		cmocka_unit_test(test_clear_empty),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_error_text_two),
		cmocka_unit_test(test_error_text_truncated),
		cmocka_unit_test(test_parse_mount),
		cmocka_unit_test(test_parse_mount_garbage),
		cmocka_unit_test(test_seconds_clamped),
		cmocka_unit_test(test_secret_huge_lease_duration),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_cert_unrevoked),
		cmocka_unit_test(test_backend_failure),
		cmocka_unit_test(test_policy_denied),
		cmocka_unit_test(test_revoke_settled),
		cmocka_unit_test(test_policy_hint),
		cmocka_unit_test(test_login_mfa),
		cmocka_unit_test(test_kv2_gone),
		cmocka_unit_test(test_namespace_hint),
		cmocka_unit_test(test_retryable_follows_vaults_client),
		cmocka_unit_test(test_reason_prefers_vaults_error),
		cmocka_unit_test(test_failure_of_reads),
		cmocka_unit_test(test_failure_of_logins_and_unwraps),
		cmocka_unit_test(test_parse_token_answers),
		cmocka_unit_test(test_parse_renewal_unwrap_and_lease_body),
	};

	return cmocka_run_group_tests_name("vault_json", tests, NULL, NULL);
}

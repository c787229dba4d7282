/* test_addr.c: Vault addresses and the plain-http guard (addr.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "addr.h"
#include "exitcodes.h"

/* Parse url, which must succeed, into a. */
static void
parse_ok(const char *url, struct vault_addr *a)
{
	char err[512] = "";

	if (addr_parse(url, a, err, sizeof(err)) != 0)
		fail_msg("%s: %s", url, err);
}

/* Parse url, which must fail, with want in the message; never the password. */
static void
parse_bad(const char *url, const char *want)
{
	struct vault_addr a;
	char err[512] = "";

	assert_int_equal(addr_parse(url, &a, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", url, err, want);
	assert_null(strstr(err, "pw"));
	assert_null(a.base);
}

/* Loopback is decided on the real host, not on a prefix of the text. */
static void
test_loopback_host(void **state)
{
	(void)state;
	assert_true(addr_loopback_host("127.0.0.1"));
	assert_true(addr_loopback_host("127.9.8.7"));
	assert_true(addr_loopback_host("localhost"));
	assert_true(addr_loopback_host("LocalHost"));
	assert_true(addr_loopback_host("[::1]"));
	assert_true(addr_loopback_host("[::ffff:127.0.0.1]"));
	assert_false(addr_loopback_host("127.0.0.1.evil.example"));
	assert_false(addr_loopback_host("127.evil.example"));
	assert_false(addr_loopback_host("localhost.evil.example"));
	assert_false(addr_loopback_host("128.0.0.1"));
	assert_false(addr_loopback_host("[::2]"));
	assert_false(addr_loopback_host("[fe80::1%25lo]"));
	assert_false(addr_loopback_host("::1"));
	assert_false(addr_loopback_host(""));
	assert_false(addr_loopback_host(NULL));
}

/* Userinfo is refused and never echoed; the host after "@" would be the real one. */
static void
test_userinfo_refused(void **state)
{
	(void)state;
	parse_bad("http://127.0.0.1@vault.example", "user name or password");
	parse_bad("http://[::1]@vault.example", "user name or password");
	parse_bad("http://localhost:pw@vault.example:8200", "user name or password");
	parse_bad("https://u:pw@127.0.0.1", "user name or password");
}

/* The guard: plain http only to this machine unless --insecure-http. */
static void
test_check(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(addr_check("http://127.0.0.1:8200", 0, err,
	    sizeof(err)), 0);
	assert_int_equal(addr_check("http://[::1]:8200", 0, err,
	    sizeof(err)), 0);
	assert_int_equal(addr_check("http://localhost", 0, err,
	    sizeof(err)), 0);
	assert_int_equal(addr_check("https://vault.example", 0, err,
	    sizeof(err)), 0);
	assert_int_equal(addr_check("unix:///run/agent.sock", 0, err,
	    sizeof(err)), 0);
	assert_int_equal(addr_check("http://127.0.0.1.evil.example", 0, err,
	    sizeof(err)), LW_EXIT_CONFIG);
	assert_non_null(strstr(err, "--insecure-http"));
	assert_non_null(strstr(err, "(127.0.0.1.evil.example)"));
	assert_int_equal(addr_check("http://127.evil.example:8200", 0, err,
	    sizeof(err)), LW_EXIT_CONFIG);
	assert_int_equal(addr_check("http://127.0.0.1.evil.example", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(addr_check("http://127.0.0.1@vault.example", 1, err,
	    sizeof(err)), LW_EXIT_CONFIG);
}

/* The base URL keeps a path prefix and the port as given. */
static void
test_base(void **state)
{
	struct vault_addr a;

	(void)state;
	parse_ok("https://vault.example:8200", &a);
	assert_string_equal(a.base, "https://vault.example:8200/v1/");
	assert_string_equal(a.host, "vault.example");
	assert_string_equal(a.port, "8200");
	assert_true(a.https);
	assert_false(a.loopback);
	assert_null(a.socket);
	addr_clear(&a);
	parse_ok("https://vault.example/", &a);
	assert_string_equal(a.base, "https://vault.example/v1/");
	assert_string_equal(a.port, "443");
	addr_clear(&a);
	parse_ok("http://127.0.0.1:8200/vault/", &a);
	assert_string_equal(a.base, "http://127.0.0.1:8200/vault/v1/");
	assert_true(a.loopback);
	addr_clear(&a);
	parse_ok("http://[::1]:8200", &a);
	assert_string_equal(a.host, "[::1]");
	assert_true(a.loopback);
	addr_clear(&a);
}

/* unix://PATH: everything after the scheme is the socket, the host is localhost. */
static void
test_unix(void **state)
{
	struct vault_addr a;

	(void)state;
	parse_ok("unix:///run/vault/agent.sock", &a);
	assert_string_equal(a.socket, "/run/vault/agent.sock");
	assert_string_equal(a.base, "http://localhost/v1/");
	assert_true(a.loopback);
	assert_false(a.https);
	addr_clear(&a);
	parse_bad("unix://", "names no socket");
}

/* Addresses that cannot work, each with its fix. */
static void
test_bad(void **state)
{
	(void)state;
	parse_bad("https://vault.example:8200/v1", "ends in /v1");
	parse_bad("https://vault.example:8200/v1/", "ends in /v1");
	parse_bad("http://127.0.0.1/prefix/v1//", "ends in /v1");
	parse_bad("vault.example:8200", "must start with");
	parse_bad("ftp://vault.example", "must start with");
	parse_bad("https://", "not a valid URL");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback_host),
		cmocka_unit_test(test_userinfo_refused),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_base),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}

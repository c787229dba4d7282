/* test_util.c: durations and environment names (util.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Plain numbers are seconds. */
static void
test_duration_plain_seconds(void **state)
{
	(void)state;
	assert_int_equal(util_parse_duration_ms("90"), 90000);
	assert_int_equal(util_parse_duration_ms("0"), 0);
	assert_int_equal(util_parse_duration_ms("1"), 1000);
}

/* Every unit, alone and in runs. */
static void
test_duration_units(void **state)
{
	(void)state;
	assert_int_equal(util_parse_duration_ms("90s"), 90000);
	assert_int_equal(util_parse_duration_ms("5m"), 300000);
	assert_int_equal(util_parse_duration_ms("2h"), 7200000);
	assert_int_equal(util_parse_duration_ms("1h30m"), 5400000);
	assert_int_equal(util_parse_duration_ms("250ms"), 250);
	assert_int_equal(util_parse_duration_ms("1d"), 86400000);
	assert_int_equal(util_parse_duration_ms("1m30s"), 90000);
	assert_int_equal(util_parse_duration_ms("1h1m1s"), 3661000);
	assert_int_equal(util_parse_duration_ms("1s500ms"), 1500);
	/* "m" followed by "s" is minutes then seconds, "ms" is milliseconds. */
	assert_int_equal(util_parse_duration_ms("2m5s"), 125000);
	assert_int_equal(util_parse_duration_ms("2ms"), 2);
}

/* Malformed input is -1, never a guess. */
static void
test_duration_invalid(void **state)
{
	static const char *const bad[] = {
		"", "s", "ms", "1x", "1h30", "-5", "+5", " 5", "5 ", "5s ",
		"1.5s", "h1", "1hh", "5S", "1 h", "0x10", "1e3", "5sec",
	};
	size_t i;

	(void)state;
	assert_int_equal(util_parse_duration_ms(NULL), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (util_parse_duration_ms(bad[i]) != -1)
			fail_msg("duration \"%s\" was accepted", bad[i]);
	}
}

/* Numbers too large for the arithmetic are refused, not wrapped. */
static void
test_duration_huge(void **state)
{
	char buf[256];
	int i;

	(void)state;
	assert_int_equal(util_parse_duration_ms("99999999999"), -1);
	assert_int_equal(util_parse_duration_ms("99999999999999999999999"),
	    -1);
	assert_int_equal(util_parse_duration_ms("99999999999d"), -1);
	/* The largest accepted single run still fits. */
	assert_int_equal(util_parse_duration_ms("9999999999d"),
	    9999999999LL * 86400000LL);
	/* Many large runs whose sum overflows a long long. */
	for (i = 0; i < 12; i++)
		memcpy(buf + 11 * i, "9999999999d", 11);
	buf[11 * 12] = '\0';
	assert_int_equal(util_parse_duration_ms(buf), -1);
}

/* Formatting drops zero units and uses "ms" below one second. */
static void
test_format_duration(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(util_format_duration(0, buf, sizeof(buf)), "0s");
	assert_string_equal(util_format_duration(250, buf, sizeof(buf)),
	    "250ms");
	assert_string_equal(util_format_duration(1, buf, sizeof(buf)), "1ms");
	assert_string_equal(util_format_duration(1000, buf, sizeof(buf)), "1s");
	assert_string_equal(util_format_duration(59000, buf, sizeof(buf)),
	    "59s");
	assert_string_equal(util_format_duration(90000, buf, sizeof(buf)),
	    "1m30s");
	assert_string_equal(util_format_duration(3600000, buf, sizeof(buf)),
	    "1h");
	assert_string_equal(util_format_duration(5400000, buf, sizeof(buf)),
	    "1h30m");
	assert_string_equal(util_format_duration(3605000, buf, sizeof(buf)),
	    "1h5s");
	assert_string_equal(util_format_duration(3661000, buf, sizeof(buf)),
	    "1h1m1s");
	assert_string_equal(util_format_duration(86400000, buf, sizeof(buf)),
	    "24h");
	/* Whole seconds only above one second. */
	assert_string_equal(util_format_duration(1500, buf, sizeof(buf)), "1s");
	/* The result is the buffer. */
	assert_ptr_equal(util_format_duration(1000, buf, sizeof(buf)), buf);
}

/* What format prints, parse reads back. */
static void
test_format_parse_roundtrip(void **state)
{
	static const long long ms[] = {
		1, 250, 999, 1000, 61000, 3600000, 3661000, 90061000,
		2764800000LL,
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		assert_int_equal(util_parse_duration_ms(util_format_duration(
		    ms[i], buf, sizeof(buf))), ms[i]);
}

/* A short buffer is truncated, still terminated, never overrun. */
static void
test_format_duration_short_buffer(void **state)
{
	char *buf;

	(void)state;
	buf = malloc(4);	/* exactly 4 bytes, so ASan sees an overrun */
	assert_non_null(buf);
	util_format_duration(3661000, buf, 4);
	assert_true(strlen(buf) < 4);
	assert_memory_equal(buf, "1h1", strlen(buf));
	util_format_duration(250, buf, 4);
	assert_string_equal(buf, "250");
	util_format_duration(3661000, buf, 1);
	assert_string_equal(buf, "");
	free(buf);
}

/* Names as a POSIX shell accepts them, within the given length. */
static void
test_valid_env_name(void **state)
{
	(void)state;
	assert_true(util_valid_env_name("PGUSER", 6));
	assert_true(util_valid_env_name("_", 1));
	assert_true(util_valid_env_name("_A1", 3));
	assert_true(util_valid_env_name("a", 1));
	assert_true(util_valid_env_name("db_pass2", 8));
	/* Only the first len bytes count. */
	assert_true(util_valid_env_name("PGUSER=x", 6));
	assert_true(util_valid_env_name("AB-", 2));
	assert_false(util_valid_env_name("PGUSER=x", 7));

	assert_false(util_valid_env_name("", 0));
	assert_false(util_valid_env_name("PGUSER", 0));
	assert_false(util_valid_env_name("1A", 2));
	assert_false(util_valid_env_name("9", 1));
	assert_false(util_valid_env_name("A-B", 3));
	assert_false(util_valid_env_name("A B", 3));
	assert_false(util_valid_env_name("A.B", 3));
	assert_false(util_valid_env_name("\xc3\x89T\xc3\x89", 5));
}

/* errf fills the buffer, returns -1, and tolerates no buffer. */
static void
test_errf(void **state)
{
	char err[16];

	(void)state;
	assert_int_equal(errf(err, sizeof(err), "x=%d", 42), -1);
	assert_string_equal(err, "x=42");
	assert_int_equal(errf(err, sizeof(err), "%s",
	    "a message longer than the buffer"), -1);
	assert_string_equal(err, "a message longe");
	assert_int_equal(errf(NULL, 0, "ignored %d", 1), -1);
}

/* The checked allocators copy exactly. */
static void
test_xstrndup(void **state)
{
	char *s;

	(void)state;
	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xstrdup("");
	assert_string_equal(s, "");
	free(s);
}

/* Shell words: safe ones as they are, others quoted so that sh reads them back. */
static void
test_shell_quote(void **state)
{
	char out[64];

	(void)state;
	util_shell_quote("database/creds/ro/AbC-1.x", out, sizeof(out));
	assert_string_equal(out, "database/creds/ro/AbC-1.x");
	util_shell_quote("a b", out, sizeof(out));
	assert_string_equal(out, "'a b'");
	util_shell_quote("x'; rm -rf / #", out, sizeof(out));
	assert_string_equal(out, "'x'\\''; rm -rf / #'");
	util_shell_quote("$(id)`id`", out, sizeof(out));
	assert_string_equal(out, "'$(id)`id`'");
	util_shell_quote("", out, sizeof(out));
	assert_string_equal(out, "''");
	/* Too long: cut, but the quotes stay balanced. */
	util_shell_quote("''''''''''''''''''''", out, 16);
	assert_true(strlen(out) < 16);
	assert_int_equal(out[0], '\'');
	assert_int_equal(out[strlen(out) - 1], '\'');
}

/* UTF-8 sequences: valid ones by length, invalid ones 0. */
static void
test_utf8_len(void **state)
{
	(void)state;
	assert_int_equal(util_utf8_len((const unsigned char *)"a"), 1);
	assert_int_equal(util_utf8_len((const unsigned char *)"\xc3\xa9"), 2);
	assert_int_equal(util_utf8_len((const unsigned char *)"\xe2\x80\xa8"), 3);
	assert_int_equal(util_utf8_len((const unsigned char *)"\xf0\x9f\x98\x80"), 4);
	assert_int_equal(util_utf8_len((const unsigned char *)"\xff"), 0);
	assert_int_equal(util_utf8_len((const unsigned char *)"\xc0\xaf"), 0);
	assert_int_equal(util_utf8_len((const unsigned char *)"\xed\xa0\x80"), 0);
	assert_int_equal(util_utf8_len((const unsigned char *)"\xe2\x80"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_plain_seconds),
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_invalid),
		cmocka_unit_test(test_duration_huge),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_format_parse_roundtrip),
		cmocka_unit_test(test_format_duration_short_buffer),
		cmocka_unit_test(test_valid_env_name),
		cmocka_unit_test(test_errf),
		cmocka_unit_test(test_xstrndup),
		cmocka_unit_test(test_shell_quote),
		cmocka_unit_test(test_utf8_len),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}

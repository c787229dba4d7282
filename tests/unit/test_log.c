/* test_log.c: log lines stay one valid line whatever they carry (log_render). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const struct timespec when = { 1700000000, 5000000 };

/* Render into a fresh buffer; the caller frees it. */
static char *
render(int json, const char *msg, const struct log_fields *f)
{
	char *line = malloc(LOG_LINE_MAX);
	size_t n;

	assert_non_null(line);
	n = log_render(line, LOG_LINE_MAX, json, LOG_ERROR, "fetch", f, msg,
	    &when, 7);
	assert_true(n > 0 && n < LOG_LINE_MAX);
	assert_int_equal(line[n - 1], '\n');
	assert_int_equal(strlen(line), n);
	assert_ptr_equal(strchr(line, '\n'), line + n - 1);
	return line;
}

/* Terminal escapes from Vault show as \xHH in text, never raw. */
static void
test_text_escapes_controls(void **state)
{
	char *line;

	(void)state;
	line = render(0, "Vault said: \x1b]0;owned\x07 \x9b \xc2\x9b \xe2\x80\xa8.",
	    LF(.lease = "db/x\x1b[2J", .path = "a b"));
	assert_null(strchr(line, '\x1b'));
	assert_null(strchr(line, '\x07'));
	assert_non_null(strstr(line, "Vault said: \\x1b]0;owned\\x07 \\x9b "
	    "\\xc2\\x9b \\xe2\\x80\\xa8."));
	assert_non_null(strstr(line, " path=\"a b\" lease_id=\"db/x\\x1b[2J\""));
	free(line);
	line = render(0, "line one\r\nFAKE: two", NULL);
	assert_non_null(strstr(line, ": line one  FAKE: two\n"));
	free(line);
}

/* JSON: one object, controls as \u escapes, a 200 KB lease ID cut, fields kept. */
static void
test_json_stays_valid(void **state)
{
	char *big = malloc(200001), *line;
	json_t *o;

	(void)state;
	assert_non_null(big);
	memset(big, 'L', 200000);
	big[200000] = '\0';
	line = render(1, "bad \x1b[31m \xff\xfe utf8", LF(.path = big,
	    .lease = big, LF_TTL(1e300), .status = 503, .pid = 9));
	o = json_loads(line, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "msg")),
	    "bad \x1b[31m \xef\xbf\xbd\xef\xbf\xbd utf8");
	assert_true(json_string_length(json_object_get(o, "lease_id")) < 300);
	assert_non_null(strstr(json_string_value(json_object_get(o,
	    "lease_id")), "LLL..."));
	assert_true(json_is_string(json_object_get(o, "path")));
	assert_true(json_real_value(json_object_get(o, "ttl")) == 1e300);
	assert_int_equal(json_integer_value(json_object_get(o, "status")), 503);
	assert_int_equal(json_integer_value(json_object_get(o, "child_pid")), 9);
	json_decref(o);
	free(line);
	free(big);
}

/* TTLs: whole, one decimal, or %g when too big for an integer; NaN left out. */
static void
test_ttl_numbers(void **state)
{
	char *line;

	(void)state;
	line = render(0, "m", LF(LF_TTL(30)));
	assert_non_null(strstr(line, " ttl=30\n"));
	free(line);
	line = render(0, "m", LF(LF_TTL(2.25)));
	assert_non_null(strstr(line, " ttl=2.2\n"));
	free(line);
	line = render(0, "m", LF(LF_TTL(1e300)));
	assert_non_null(strstr(line, " ttl=1e+300\n"));
	free(line);
	line = render(0, "m", LF(LF_TTL(0.0 / 0.0)));
	assert_null(strstr(line, "ttl="));
	free(line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_escapes_controls),
		cmocka_unit_test(test_json_stays_valid),
		cmocka_unit_test(test_ttl_numbers),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}

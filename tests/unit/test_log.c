/* test_log.c: log lines stay one valid line whatever they carry (log_render). */
#define _DEFAULT_SOURCE	/* gmtime_r */
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

/* The time stamp is UTC, as gmtime_r() and strftime() give it, leap days and all. */
static void
test_time_is_utc(void **state)
{
	/* 1900-03-01, 1970, 2000-02-29 (a leap century), 2038, 2100-03-01. */
	static const long long fixed[] = { -2203891200LL, -1, 0, 951782400LL,
	    951868799LL, 2147483647LL, 2147483648LL, 4107542400LL };
	char line[LOG_LINE_MAX], want[64];
	struct timespec t = { 0, 999000000 };
	struct tm tm;
	long long i, n = (long long)(sizeof(fixed) / sizeof(fixed[0]));

	(void)state;
	/* The fixed points, then every 3 days and 7 seconds over 150 years. */
	for (i = 0; i < n + 150 * 365 / 3; i++) {
		t.tv_sec = (time_t)(i < n ? fixed[i] :
		    (i - n) * (3 * 86400 + 7) + 86400LL * 365 * 10);
		assert_non_null(gmtime_r(&t.tv_sec, &tm));
		assert_true(strftime(want, sizeof(want),
		    "%Y-%m-%dT%H:%M:%S.999Z leasewrap:", &tm) > 0);
		log_render(line, sizeof(line), 0, LOG_INFO, "e", NULL, "m", &t, 1);
		assert_memory_equal(line, want, strlen(want));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_escapes_controls),
		cmocka_unit_test(test_json_stays_valid),
		cmocka_unit_test(test_ttl_numbers),
		cmocka_unit_test(test_time_is_utc),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}

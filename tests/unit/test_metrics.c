/* test_metrics.c: the Prometheus text page: labels, counters, gauges, histogram. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "metrics.h"

static int deadline_set;

/* The gauges function: one credential deadline while deadline_set. */
static void
gauges(void *arg)
{
	struct metrics *m = *(struct metrics **)arg;

	if (deadline_set)
		metrics_set(m, M_DEADLINE, 12.5, "path", "database/creds/ro");
	metrics_set(m, M_LEASES, deadline_set, NULL, NULL);
}

static struct metrics *
new_metrics(struct metrics **slot)
{
	char err[128];

	*slot = metrics_new(NULL, NULL, NULL, gauges, slot, err, sizeof(err));
	assert_non_null(*slot);
	return *slot;
}

static void
test_counters_sum_per_label_set(void **state)
{
	struct metrics *m;
	const char *page;
	size_t len;

	(void)state;
	new_metrics(&m);
	metrics_add(m, M_FETCHES, 0, "path", "a/b", "result", "error");
	metrics_add(m, M_FETCHES, 1, "path", "a/b", "result", "ok");
	metrics_add(m, M_FETCHES, 1, "path", "a/b", "result", "ok");
	metrics_add(m, M_CHILD_SIGNALS, 1, NULL, NULL, NULL, NULL);
	page = metrics_render(m, &len);
	assert_int_equal(strlen(page), len);
	assert_non_null(strstr(page, "# TYPE leasewrap_secret_fetches_total "
	    "counter\n"));
	assert_non_null(strstr(page, "leasewrap_secret_fetches_total{path=\"a/b\","
	    "result=\"ok\"} 2\n"));
	assert_non_null(strstr(page, "leasewrap_secret_fetches_total{path=\"a/b\","
	    "result=\"error\"} 0\n"));
	assert_non_null(strstr(page, "\nleasewrap_child_signals_total 1\n"));
	assert_non_null(strstr(page, "leasewrap_build_info{version=\""));
	metrics_free(m);
}

static void
test_label_values_are_escaped(void **state)
{
	struct metrics *m;
	const char *page;
	size_t len;

	(void)state;
	new_metrics(&m);
	metrics_add(m, M_FETCHES, 1, "path", "we\"ird\\pa\nth", "result", "ok");
	page = metrics_render(m, &len);
	assert_non_null(strstr(page, "{path=\"we\\\"ird\\\\pa\\nth\","
	    "result=\"ok\"} 1\n"));
	metrics_free(m);
}

static void
test_gauges_not_set_again_disappear(void **state)
{
	struct metrics *m;
	const char *page;
	size_t len;

	(void)state;
	new_metrics(&m);
	deadline_set = 1;
	page = metrics_render(m, &len);
	assert_non_null(strstr(page, "leasewrap_credential_deadline_seconds{"
	    "path=\"database/creds/ro\"} 12.500000\n"));
	assert_non_null(strstr(page, "\nleasewrap_leases_held 1\n"));
	deadline_set = 0;
	page = metrics_render(m, &len);
	assert_null(strstr(page, "leasewrap_credential_deadline_seconds{"));
	assert_non_null(strstr(page, "\nleasewrap_leases_held 0\n"));
	metrics_free(m);
}

static void
test_histogram_is_cumulative(void **state)
{
	struct metrics *m;
	const char *page;
	size_t len;

	(void)state;
	new_metrics(&m);
	metrics_request(m, 200, 0.004);
	metrics_request(m, 200, 0.2);
	metrics_request(m, 0, 30);
	page = metrics_render(m, &len);
	assert_non_null(strstr(page, "_bucket{le=\"0.005\"} 1\n"));
	assert_non_null(strstr(page, "_bucket{le=\"0.1\"} 1\n"));
	assert_non_null(strstr(page, "_bucket{le=\"0.25\"} 2\n"));
	assert_non_null(strstr(page, "_bucket{le=\"10\"} 2\n"));
	assert_non_null(strstr(page, "_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(page, "leasewrap_vault_request_duration_seconds_count"
	    " 3\n"));
	assert_non_null(strstr(page, "leasewrap_vault_request_duration_seconds_sum"
	    " 30.204000\n"));
	assert_non_null(strstr(page, "leasewrap_vault_requests_total{code=\"200\"} "
	    "2\n"));
	assert_non_null(strstr(page, "leasewrap_vault_requests_total{code=\"error\"}"
	    " 1\n"));
	metrics_free(m);
}

static void
test_null_metrics_is_a_no_op(void **state)
{
	(void)state;
	metrics_add(NULL, M_FETCHES, 1, "path", "x", "result", "ok");
	metrics_set(NULL, M_LEASES, 1, NULL, NULL);
	metrics_request(NULL, 200, 0.1);
	metrics_changed(NULL);
	metrics_free(NULL);
}

static void
test_bad_addresses_are_refused(void **state)
{
	char err[256];

	(void)state;
	assert_null(metrics_new(NULL, NULL, "9437", NULL, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "expected HOST:PORT"));
	assert_null(metrics_new(NULL, "/nonexistent-dir/m.prom", NULL, NULL,
	    NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "--metrics-file \"/nonexistent-dir/m.prom\""));
}

/* Count the lines of page that start with prefix. */
static int
lines_with(const char *page, const char *prefix)
{
	const char *p = page;
	int n = 0;

	while (*p != '\0') {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		if ((p = strchr(p, '\n')) == NULL)
			break;
		p++;
	}
	return n;
}

/* Paths past the label bound stay distinct series, ok apart from error. */
static void
test_long_paths_stay_distinct(void **state)
{
	char a[1200], b[1200];
	struct metrics *m;
	const char *page;
	size_t len;

	(void)state;
	memset(a, 'p', sizeof(a) - 2);
	a[sizeof(a) - 2] = 'a';
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[sizeof(b) - 2] = 'b';
	new_metrics(&m);
	metrics_add(m, M_FETCHES, 1, "path", a, "result", "ok");
	metrics_add(m, M_FETCHES, 1, "path", a, "result", "error");
	metrics_add(m, M_FETCHES, 1, "path", b, "result", "ok");
	page = metrics_render(m, &len);
	assert_int_equal(lines_with(page, "leasewrap_secret_fetches_total{"), 3);
	assert_int_equal(lines_with(page,
	    "leasewrap_secret_fetches_total{path=\"pppp"), 3);
	assert_non_null(strstr(page, "...~"));
	assert_non_null(strstr(page, "result=\"error\"} 1\n"));
	assert_true(len < 8192);
	metrics_free(m);
}

/* Paths that differ only in bytes that are not UTF-8 stay distinct too. */
static void
test_invalid_utf8_paths_stay_distinct(void **state)
{
	struct metrics *m;
	const char *page;
	size_t len;

	(void)state;
	new_metrics(&m);
	metrics_add(m, M_FETCHES, 1, "path", "a\xff", "result", "ok");
	metrics_add(m, M_FETCHES, 1, "path", "a\x9c", "result", "ok");
	page = metrics_render(m, &len);
	assert_int_equal(lines_with(page,
	    "leasewrap_secret_fetches_total{path=\"a\xef\xbf\xbd~"), 2);
	metrics_free(m);
}

/* Two labels of 256 bytes that are not UTF-8 (3 bytes each on the page): whole. */
static void
test_two_long_invalid_labels_fit(void **state)
{
	char a[257], b[257], *line;
	struct metrics *m;
	const char *page;
	size_t len;

	(void)state;
	memset(a, 0xff, 256);
	a[256] = '\0';
	memset(b, 0xfe, 256);
	b[256] = '\0';
	new_metrics(&m);
	metrics_add(m, M_LOGINS, 1, "method", a, "result", b);
	page = metrics_render(m, &len);
	line = strstr(page, "\nleasewrap_logins_total{");
	assert_non_null(line);
	line = strchr(line + 1, '~');
	assert_non_null(line);
	line = strchr(line + 1, '~');
	assert_non_null(line);
	assert_int_equal(strncmp(line + 17, "\"} 1\n", 5), 0);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_sum_per_label_set),
		cmocka_unit_test(test_label_values_are_escaped),
		cmocka_unit_test(test_gauges_not_set_again_disappear),
		cmocka_unit_test(test_histogram_is_cumulative),
		cmocka_unit_test(test_null_metrics_is_a_no_op),
		cmocka_unit_test(test_bad_addresses_are_refused),
		cmocka_unit_test(test_long_paths_stay_distinct),
		cmocka_unit_test(test_invalid_utf8_paths_stay_distinct),
		cmocka_unit_test(test_two_long_invalid_labels_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

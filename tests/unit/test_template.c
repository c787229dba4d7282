/* test_template.c: the {{ PATH#FIELD | filter }} grammar and rendering (template.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "secret.h"
#include "template.h"
#include "util.h"

/* Every placeholder's value is "<path>/<field>", or "é" for field "utf8", or 0xff for "bin". */
static int
lookup(void *arg, const struct spec *ref, struct secret **val, char *err,
    size_t errlen)
{
	char buf[256];

	(void)arg;
	if (strcmp(ref->field, "missing") == 0)
		return errf(err, errlen, "has no field \"missing\"");
	if (strcmp(ref->field, "utf8") == 0)
		snprintf(buf, sizeof(buf), "\xc3\xa9");
	else if (strcmp(ref->field, "bin") == 0)
		snprintf(buf, sizeof(buf), "\xff");
	else
		snprintf(buf, sizeof(buf), "%s/%s", ref->path, ref->field);
	*val = secret_new(buf, strlen(buf));
	return 0;
}

/* Render text and compare with want. */
static void
expect_render(const char *text, const char *want, size_t nrefs)
{
	struct tmpl t;
	struct secret *r;
	char err[256] = "";

	if (tmpl_parse(text, strlen(text), "-T X", &t, err, sizeof(err)) != 0)
		fail_msg("\"%s\" rejected: %s", text, err);
	assert_int_equal(t.nrefs, nrefs);
	if ((r = tmpl_render(&t, lookup, NULL, err, sizeof(err))) == NULL)
		fail_msg("\"%s\" not rendered: %s", text, err);
	assert_string_equal(secret_str(r), want);
	secret_free(r);
	tmpl_free(&t);
	assert_null(t.parts);
}

/* Parse text, expect failure with needle in the message. */
static void
expect_bad(const char *text, const char *needle)
{
	struct tmpl t;
	char err[256] = "";

	if (tmpl_parse(text, strlen(text), "-T X", &t, err, sizeof(err)) == 0)
		fail_msg("\"%s\" accepted", text);
	if (strstr(err, needle) == NULL || strncmp(err, "-T X: ", 6) != 0)
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", text, err, needle);
	assert_null(t.parts);
}

/* Spaces inside the braces are optional; text around is kept as it is. */
static void
test_placeholders(void **state)
{
	(void)state;
	expect_render("{{a/b#c}}", "a/b/c", 1);
	expect_render("x {{ a/b#c }} y", "x a/b/c y", 1);
	expect_render("{{\ta/b#c\t}}{{/v1/d#e}}", "a/b/cd/e", 2);
	expect_render("} }} {x{{a#b}}}", "} }} {xa/b}", 1);
	expect_render("{{a#b#c}}", "a#b/c", 1);
}

/* Each filter, alone and chained. */
static void
test_filters(void **state)
{
	(void)state;
	expect_render("{{a/b#c|url}}", "a%2Fb%2Fc", 1);
	expect_render("{{ a/b#c | url }}", "a%2Fb%2Fc", 1);
	expect_render("{{a/-._~#Z9|url}}", "a%2F-._~%2FZ9", 1);
	expect_render("{{a#utf8|url}}", "%C3%A9", 1);
	expect_render("{{a#utf8|json}}", "\"\\u00e9\"", 1);
	expect_render("{{a\"\\#b|json}}", "\"a\\\"\\\\/b\"", 1);
	expect_render("{{a#b|base64}}", "YS9i", 1);
	expect_render("{{ab#c|base64}}", "YWIvYw==", 1);
	expect_render("{{abc#d|base64}}", "YWJjL2Q=", 1);
	expect_render("{{a#b|base64|url}}", "YS9i", 1);
	expect_render("{{a#bin|base64}}", "/w==", 1);
	expect_render("{{a#bin|base64|url}}", "%2Fw%3D%3D", 1);
}

/* Bad templates: each message names the problem. */
static void
test_errors(void **state)
{
	(void)state;
	expect_bad("plain text", "no placeholder");
	expect_bad("", "no placeholder");
	expect_bad("{{a#b", "has no \"}}\"");
	expect_bad("{{a#b}} {{c#d", "at byte 8");
	expect_bad("{{}}", "empty placeholder");
	expect_bad("{{ | url }}", "empty placeholder");
	expect_bad("{{a#b|rot13}}", "unknown filter \"rot13\"");
	expect_bad("{{a#b|}}", "unknown filter \"\"");
	expect_bad("{{a#b|url|url|url|url|url}}", "more than 4 filters");
	expect_bad("{{a}}", "#FIELD");
	expect_bad("{{a#}}", "empty field");
	expect_bad("{{a b#c}}", "spaces");
	expect_bad("{{ {{a#b}}", "inside a placeholder");
}

/* A failed lookup or a filter that cannot carry the value: no result, no value in the message. */
static void
test_render_errors(void **state)
{
	struct tmpl t;
	char err[256] = "";

	(void)state;
	assert_int_equal(tmpl_parse("x{{a#missing}}", 14, "-T X", &t, err,
	    sizeof(err)), 0);
	assert_null(tmpl_render(&t, lookup, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "missing"));
	tmpl_free(&t);
	assert_int_equal(tmpl_parse("{{a#bin|json}}", 14, "-T X", &t, err,
	    sizeof(err)), 0);
	assert_null(tmpl_render(&t, lookup, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not UTF-8"));
	assert_non_null(strstr(err, "a#bin | json"));
	tmpl_free(&t);
}

/* Binary-safe: a template's own text may hold any byte but NUL. */
static void
test_filter_bytes(void **state)
{
	struct secret *r;

	(void)state;
	r = tmpl_filter(TF_URL, "\0\xff ", 3);
	assert_string_equal(secret_str(r), "%00%FF%20");
	secret_free(r);
	r = tmpl_filter(TF_BASE64, "", 0);
	assert_int_equal(secret_len(r), 0);
	secret_free(r);
	assert_null(tmpl_filter(TF_JSON, "\xc0\x80", 2));
	assert_string_equal(tmpl_filter_name(TF_BASE64), "base64");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_render_errors),
		cmocka_unit_test(test_filter_bytes),
	};

	return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}

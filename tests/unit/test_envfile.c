/* test_envfile.c: the three env-file formats, the atomic 0600 write, safe folders. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "envfile.h"
#include "util.h"

/* Render one "NAME=value" in format; the text, or NULL when refused. */
static char *
render1(int format, const char *entry)
{
	char *vars[] = { (char *)entry, NULL }, *text, err[256];
	size_t len;

	if (envfile_render(format, vars, 1, &text, &len, err,
	    sizeof(err)) == -1) {
		assert_non_null(strstr(err, "--env-file-format"));
		return NULL;
	}
	assert_int_equal(strlen(text), len);
	return text;
}

/* Assert that entry renders in format as want (NULL: refused). */
static void
expect(int format, const char *entry, const char *want)
{
	char *got = render1(format, entry);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("%s: expected a refusal, got %s", entry, got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_dotenv_quoting(void **state)
{
	(void)state;
	expect(ENVFILE_DOTENV, "A=A1a-9wsz8389rzws050u", "A=A1a-9wsz8389rzws050u\n");
	expect(ENVFILE_DOTENV, "A=two words", "A='two words'\n");
	expect(ENVFILE_DOTENV, "A=", "A=''\n");
	expect(ENVFILE_DOTENV, "A=a\\b", "A='a\\b'\n");
	expect(ENVFILE_DOTENV, "A=a;b", "A='a;b'\n");
	expect(ENVFILE_DOTENV, "A=~/x", "A='~/x'\n");
	expect(ENVFILE_DOTENV, "A=tail\\", NULL);	/* sh: a line continuation */
	expect(ENVFILE_DOTENV, "A=it's $x", NULL);	/* sh would expand $x */
	expect(ENVFILE_DOTENV, "A=it's `id`", NULL);
	expect(ENVFILE_DOTENV, "A=#x", "A='#x'\n");
	expect(ENVFILE_DOTENV, "A= pad", "A=' pad'\n");
	expect(ENVFILE_DOTENV, "A=a\nb", "A=\"a\\nb\"\n");
	expect(ENVFILE_DOTENV, "A=it's\r", "A=\"it's\\r\"\n");
	expect(ENVFILE_DOTENV, "A=$x\n", NULL);
	expect(ENVFILE_DOTENV, "A=`id`", "A='`id`'\n");
	/* What no quoting carries for both python-dotenv and node's dotenv. */
	expect(ENVFILE_DOTENV, "A=#'\"", NULL);
	expect(ENVFILE_DOTENV, "A=${HOME}", NULL);
	expect(ENVFILE_DOTENV, "A=#tail\\", NULL);
	expect(ENVFILE_DOTENV, "A=#a\\\\b", NULL);
	expect(ENVFILE_DOTENV, "A=\"x\\", NULL);
	expect(ENVFILE_DOTENV, "A=x\\\n'", NULL);
	expect(ENVFILE_DOTENV, "A=\xff", NULL);
	expect(ENVFILE_DOTENV, "A=\xed\xa0\x80", NULL);	/* a surrogate */
}

static void
test_shell_and_json(void **state)
{
	(void)state;
	expect(ENVFILE_SHELL, "A=it's $x\n`y`\\", "A='it'\\''s $x\n`y`\\'\n");
	expect(ENVFILE_SHELL, "A=", "A=''\n");
	expect(ENVFILE_JSON, "A=q\"\\\n\x01\xe2\x80\xa8\xf0\x9f\x94\x91",
	    "{\n  \"A\": \"q\\\"\\\\\\u000a\\u0001\\u2028\\ud83d\\udd11\"\n}\n");
	expect(ENVFILE_JSON, "A=\xc0\x80", NULL);	/* overlong NUL */
	assert_int_equal(envfile_parse_format("json"), ENVFILE_JSON);
	assert_int_equal(envfile_parse_format("yaml"), -1);
}

static void
test_refusal_names_the_variable_never_the_value(void **state)
{
	char *vars[] = { "OK=1", "SECRET_NAME=#'\"hunter2", NULL }, *text;
	char err[512];
	size_t len;

	(void)state;
	assert_int_equal(envfile_render(ENVFILE_DOTENV, vars, 2, &text, &len,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SECRET_NAME"));
	assert_null(strstr(err, "hunter2"));
}

static void
test_write_is_0600_complete_and_leaves_no_temp(void **state)
{
	char dir[] = "/tmp/lw-envfile-XXXXXX", path[256], buf[256];
	char *vars[] = { "PGUSER=v-user", "PGPASSWORD=p#w", NULL };
	char err[256];
	struct config cfg;
	struct stat st;
	struct dirent *de;
	FILE *f;
	DIR *d;
	size_t n;
	int files = 0;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/creds.env", dir);
	umask(022);
	assert_int_equal(envfile_write(&cfg, path, vars, 2, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, "PGUSER=v-user\nPGPASSWORD='p#w'\n");
	/* Rewriting replaces it; no temporary file stays beside it. */
	assert_int_equal(envfile_write(&cfg, path, vars, 1, err, sizeof(err)), 0);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			files++;
	closedir(d);
	assert_int_equal(files, 1);
	/* A value the format cannot carry: -2, and the old file stays. */
	vars[0] = "A=${X}";
	assert_int_equal(envfile_write(&cfg, path, vars, 1, err, sizeof(err)), -2);
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
	rmdir(dir);
}

static void
test_write_into_missing_folder_fails_clearly(void **state)
{
	char *vars[] = { "A=b", NULL };
	char err[256];
	struct config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(envfile_write(&cfg, "/nonexistent/dir/x.env", vars, 1,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/dir/x.env"));
	assert_non_null(strstr(err, "folder"));
}

static void
test_folder_others_can_write(void **state)
{
	char dir[] = "/tmp/lw-outdir-XXXXXX", path[256], tmp[300], err[512];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/app.env", dir);
	assert_int_equal(util_check_output(path, -1, err, sizeof(err)), 0);
	chmod(dir, 0770);
	assert_int_equal(util_check_output(path, -1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "another user"));
	assert_non_null(strstr(err, dir));
	/* Sticky: fine while the file is absent or ours. */
	chmod(dir, 01777);
	assert_int_equal(util_check_output(path, -1, err, sizeof(err)), 0);
	/* Our stale temporaries go; the file itself and other names stay. */
	snprintf(tmp, sizeof(tmp), "%s.a1B2c3", path);
	fclose(fopen(tmp, "w"));
	fclose(fopen(path, "w"));
	assert_int_equal(util_sweep_temps(path, -1), 1);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dotenv_quoting),
		cmocka_unit_test(test_shell_and_json),
		cmocka_unit_test(test_refusal_names_the_variable_never_the_value),
		cmocka_unit_test(test_write_is_0600_complete_and_leaves_no_temp),
		cmocka_unit_test(test_write_into_missing_folder_fails_clearly),
		cmocka_unit_test(test_folder_others_can_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_envfile.c: dotenv quoting and the atomic 0600 write. */
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

#include "envfile.h"

static void
test_quote(void **state)
{
	char out[128];

	(void)state;
	envfile_quote("A1a-9wsz8389rzws050u", out, sizeof(out));
	assert_string_equal(out, "A1a-9wsz8389rzws050u");
	envfile_quote("two words", out, sizeof(out));
	assert_string_equal(out, "\"two words\"");
	envfile_quote("a\"b\\c$d`e\nf", out, sizeof(out));
	assert_string_equal(out, "\"a\\\"b\\\\c\\$d\\`e\\nf\"");
	envfile_quote("", out, sizeof(out));
	assert_string_equal(out, "\"\"");
	/* The length needed is returned even when the buffer is short. */
	assert_int_equal(envfile_quote("two words", out, 4), 11);
	assert_int_equal(strlen(out), 3);
}

static void
test_write_is_0600_complete_and_leaves_no_temp(void **state)
{
	char dir[] = "/tmp/lw-envfile-XXXXXX", path[256], buf[256];
	char *vars[] = { "PGUSER=v-user", "PGPASSWORD=p w", NULL };
	char err[256];
	struct stat st;
	struct dirent *de;
	FILE *f;
	DIR *d;
	size_t n;
	int files = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/creds.env", dir);
	umask(022);
	assert_int_equal(envfile_write(path, vars, 2, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, "PGUSER=v-user\nPGPASSWORD=\"p w\"\n");
	/* Rewriting replaces it; no temporary file stays beside it. */
	assert_int_equal(envfile_write(path, vars, 1, err, sizeof(err)), 0);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			files++;
	closedir(d);
	assert_int_equal(files, 1);
	unlink(path);
	rmdir(dir);
}

static void
test_write_into_missing_folder_fails_clearly(void **state)
{
	char *vars[] = { "A=b", NULL };
	char err[256];

	(void)state;
	assert_int_equal(envfile_write("/nonexistent/dir/x.env", vars, 1, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/dir/x.env"));
	assert_non_null(strstr(err, "folder"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_write_is_0600_complete_and_leaves_no_temp),
		cmocka_unit_test(test_write_into_missing_folder_fails_clearly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

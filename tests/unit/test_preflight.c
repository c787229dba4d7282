/* test_preflight.c: the PATH search made before anything is leased, as execvpe's. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preflight.h"

static char dir[64];

/* Write dir/sub/job, a shell script with mode. */
static int
write_job(const char *sub, mode_t mode)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%s/job", dir, sub);
	if ((f = fopen(p, "w")) == NULL)
		return -1;
	fputs("#!/bin/sh\n", f);
	fclose(f);
	return chmod(p, mode);
}

/* A temporary folder with "job" not executable in a/ and executable in b/. */
static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/lw-test-preflight-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	if (write_job("a", 0644) == -1 || write_job("b", 0755) == -1)
		return -1;
	return 0;
}

/* Remove what setup() made. */
static int
teardown(void **state)
{
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/a/job", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/b/job", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/a", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/b", dir);
	rmdir(p);
	rmdir(dir);
	return 0;
}

static void
test_search(void **state)
{
	char a[128], ab[256], slash[128];

	(void)state;
	snprintf(a, sizeof(a), "/nonexistent:%s/a", dir);
	snprintf(ab, sizeof(ab), "%s/a:%s/b", dir, dir);
	assert_int_equal(preflight_exec_errno("sh", "/nonexistent:/bin"), 0);
	assert_int_equal(preflight_exec_errno("no-such-xyz", "/bin:/usr/bin"),
	    ENOENT);
	assert_int_equal(preflight_exec_errno("", "/bin"), ENOENT);
	/* Found but not executable, and nothing better later: EACCES (126). */
	assert_int_equal(preflight_exec_errno("job", a), EACCES);
	/* EACCES does not stop the search. */
	assert_int_equal(preflight_exec_errno("job", ab), 0);
	/* A folder of that name is not a program. */
	assert_int_equal(preflight_exec_errno("b", dir), EACCES);
	/* NULL PATH: glibc's default, /bin:/usr/bin. */
	assert_int_equal(preflight_exec_errno("sh", NULL), 0);
	/* A name with a slash is not searched. */
	snprintf(slash, sizeof(slash), "%s/a/job", dir);
	assert_int_equal(preflight_exec_errno(slash, "/bin"), EACCES);
	snprintf(slash, sizeof(slash), "%s/b/job", dir);
	assert_int_equal(preflight_exec_errno(slash, "/nonexistent"), 0);
	assert_int_equal(preflight_exec_errno("/nonexistent/job", "/bin"),
	    ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_search),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_env.c: the child's environment (env.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "env.h"
#include "secret.h"

#define MAXVARS 8

/* Secrets for vars, built from plain strings; freed with free_vars. */
struct fixture {
	struct env_var	 vars[MAXVARS];
	struct secret	*vals[MAXVARS];
	size_t		 n;
};

static void
add_var(struct fixture *f, const char *name, const char *value)
{
	assert_true(f->n < MAXVARS);
	f->vals[f->n] = secret_new(value, strlen(value));
	f->vars[f->n].name = name;
	f->vars[f->n].value = f->vals[f->n];
	f->n++;
}

static void
free_vars(struct fixture *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		secret_free(f->vals[i]);
	f->n = 0;
}

/* Check envp is exactly want (NULL-terminated), in order. */
static void
expect_env(char **envp, const char *const *want)
{
	size_t i;

	assert_non_null(envp);
	for (i = 0; want[i] != NULL; i++) {
		if (envp[i] == NULL)
			fail_msg("entry %zu missing, wanted \"%s\"", i, want[i]);
		assert_string_equal(envp[i], want[i]);
	}
	if (envp[i] != NULL)
		fail_msg("extra entry %zu \"%s\"", i, envp[i]);
}

/* Inherited variables come first, in their order, as fresh copies. */
static void
test_order_kept(void **state)
{
	char *in[] = { "B=2", "A=1", "C=3", "HOME=/root", NULL };
	static const char *const want[] = { "B=2", "A=1", "C=3", "HOME=/root",
	    NULL };
	char **envp;
	size_t i;

	(void)state;
	envp = env_build(in, NULL, 0, 0);
	expect_env(envp, want);
	for (i = 0; in[i] != NULL; i++)
		assert_ptr_not_equal(envp[i], in[i]);
	env_free(envp);
	/* The inherited list itself is untouched. */
	assert_string_equal(in[0], "B=2");
	assert_null(in[4]);
}

/* VAULT_TOKEN is not the child's business unless asked. */
static void
test_vault_token_removed(void **state)
{
	char *in[] = { "A=1", "VAULT_TOKEN=hvs.secret", "VAULT_TOKENS=x",
	    "MY_VAULT_TOKEN=y", "VAULT_ADDR=http://v:8200", NULL };
	static const char *const want[] = { "A=1", "VAULT_TOKENS=x",
	    "MY_VAULT_TOKEN=y", "VAULT_ADDR=http://v:8200", NULL };
	char **envp;

	(void)state;
	envp = env_build(in, NULL, 0, 0);
	expect_env(envp, want);
	env_free(envp);
}

static void
test_vault_token_passed(void **state)
{
	char *in[] = { "A=1", "VAULT_TOKEN=hvs.secret", "B=2", NULL };
	static const char *const want[] = { "A=1", "VAULT_TOKEN=hvs.secret",
	    "B=2", NULL };
	char **envp;

	(void)state;
	envp = env_build(in, NULL, 0, 1);
	expect_env(envp, want);
	env_free(envp);
}

/* A secret replaces the inherited variable: one entry, the secret's value. */
static void
test_secret_overrides_inherited(void **state)
{
	char *in[] = { "PGUSER=vault:database/creds/ro#username", "HOME=/root",
	    "PGPASSWORD=old", NULL };
	static const char *const want[] = { "HOME=/root", "PGUSER=v-tok-ro-1",
	    "PGPASSWORD=p4ss", NULL };
	struct fixture f = { .n = 0 };
	char **envp;

	(void)state;
	add_var(&f, "PGUSER", "v-tok-ro-1");
	add_var(&f, "PGPASSWORD", "p4ss");
	envp = env_build(in, f.vars, f.n, 0);
	expect_env(envp, want);
	env_free(envp);
	free_vars(&f);
}

/* A secret named VAULT_TOKEN is set even though the inherited one is dropped. */
static void
test_secret_named_vault_token(void **state)
{
	char *in[] = { "VAULT_TOKEN=parent", NULL };
	static const char *const want[] = { "VAULT_TOKEN=child", NULL };
	struct fixture f = { .n = 0 };
	char **envp;

	(void)state;
	add_var(&f, "VAULT_TOKEN", "child");
	envp = env_build(in, f.vars, f.n, 0);
	expect_env(envp, want);
	env_free(envp);
	free_vars(&f);
}

/* The same name twice among the secrets keeps one entry, the last value. */
static void
test_duplicate_secret_names(void **state)
{
	char *in[] = { "A=inherited", NULL };
	static const char *const want[] = { "B=b", "A=second", NULL };
	struct fixture f = { .n = 0 };
	char **envp;

	(void)state;
	add_var(&f, "A", "first");
	add_var(&f, "B", "b");
	add_var(&f, "A", "second");
	envp = env_build(in, f.vars, f.n, 0);
	expect_env(envp, want);
	env_free(envp);
	free_vars(&f);
}

/* Entries that are not NAME=value are dropped. */
static void
test_entries_without_equals_dropped(void **state)
{
	char *in[] = { "JUNK", "A=1", "", "ALSO_JUNK", "B==2", NULL };
	static const char *const want[] = { "A=1", "B==2", NULL };
	char **envp;

	(void)state;
	envp = env_build(in, NULL, 0, 0);
	expect_env(envp, want);
	env_free(envp);
}

/* No inherited variables at all: only the secrets. */
static void
test_empty_inherited(void **state)
{
	char *in[] = { NULL };
	static const char *const want[] = { "A=x", NULL };
	static const char *const none[] = { NULL };
	struct fixture f = { .n = 0 };
	char **envp;

	(void)state;
	add_var(&f, "A", "x");
	envp = env_build(in, f.vars, f.n, 0);
	expect_env(envp, want);
	env_free(envp);
	envp = env_build(NULL, f.vars, f.n, 0);
	expect_env(envp, want);
	env_free(envp);
	envp = env_build(NULL, NULL, 0, 0);
	expect_env(envp, none);
	env_free(envp);
	free_vars(&f);
}

/* "PG" and "PGUSER" are different names, both ways round. */
static void
test_prefix_names_not_confused(void **state)
{
	char *in[] = { "PG=1", "PGUSER=2", "PGUSERX=3", NULL };
	static const char *const want1[] = { "PGUSER=2", "PGUSERX=3", "PG=x",
	    NULL };
	static const char *const want2[] = { "PG=1", "PGUSERX=3", "PGUSER=y",
	    NULL };
	char *in3[] = { "PGUSER=2", NULL };
	static const char *const want3[] = { "PGUSER=2", "PGUSE=z", NULL };
	struct fixture f = { .n = 0 };
	char **envp;

	(void)state;
	add_var(&f, "PG", "x");
	envp = env_build(in, f.vars, f.n, 0);
	expect_env(envp, want1);
	env_free(envp);
	free_vars(&f);

	add_var(&f, "PGUSER", "y");
	envp = env_build(in, f.vars, f.n, 0);
	expect_env(envp, want2);
	env_free(envp);
	free_vars(&f);

	add_var(&f, "PGUSE", "z");
	envp = env_build(in3, f.vars, f.n, 0);
	expect_env(envp, want3);
	env_free(envp);
	free_vars(&f);
}

/* Values are copied byte for byte: empty, '=' inside, spaces. */
static void
test_secret_values_verbatim(void **state)
{
	static const char *const want[] = { "E=", "Q=a=b c", "J={\"a\":1}",
	    NULL };
	struct fixture f = { .n = 0 };
	char **envp;

	(void)state;
	add_var(&f, "E", "");
	add_var(&f, "Q", "a=b c");
	add_var(&f, "J", "{\"a\":1}");
	envp = env_build(NULL, f.vars, f.n, 0);
	expect_env(envp, want);
	env_free(envp);
	free_vars(&f);
}

static void
test_env_free_null(void **state)
{
	(void)state;
	env_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_kept),
		cmocka_unit_test(test_vault_token_removed),
		cmocka_unit_test(test_vault_token_passed),
		cmocka_unit_test(test_secret_overrides_inherited),
		cmocka_unit_test(test_secret_named_vault_token),
		cmocka_unit_test(test_duplicate_secret_names),
		cmocka_unit_test(test_entries_without_equals_dropped),
		cmocka_unit_test(test_empty_inherited),
		cmocka_unit_test(test_prefix_names_not_confused),
		cmocka_unit_test(test_secret_values_verbatim),
		cmocka_unit_test(test_env_free_null),
	};

	return cmocka_run_group_tests_name("env", tests, NULL, NULL);
}

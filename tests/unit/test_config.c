/* test_config.c: flags, environment and config file (config.c). */
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
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "exitcodes.h"
#include "log.h"

static char err[1024];
static char *no_env[] = { NULL };

/* config_load over a NULL-terminated argv (argv[0] included). */
static int
load(struct config *cfg, char **argv, char **envp)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	memset(err, 0, sizeof(err));
	return config_load(cfg, argc, argv, envp, err, sizeof(err));
}

#define ARGV(...)	((char *[]){ "leasewrap", __VA_ARGS__, NULL })
#define ENVP(...)	((char *[]){ __VA_ARGS__, NULL })
#define LOAD(cfg, envp, ...)	load((cfg), ARGV(__VA_ARGS__), (envp))

/* The error message holds needle. */
#define assert_err_has(needle) do {					\
	if (strstr(err, (needle)) == NULL)				\
		fail_msg("error \"%s\" lacks \"%s\"", err, (needle));	\
} while (0)

/* Load expecting failure with code; the message names needle. */
static void
expect_fail(int code, const char *needle, char **argv, char **envp)
{
	struct config cfg;
	int rc = load(&cfg, argv, envp);

	config_free(&cfg);
	if (rc != code)
		fail_msg("expected %d, got %d (%s)", code, rc, err);
	if (needle != NULL && strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	if (strchr(err, '\n') != NULL)
		fail_msg("error \"%s\" is not one line", err);
}

/* Write text to a fresh temporary file; the caller unlinks path. */
static void
write_tmp(char *path, size_t len, const char *text)
{
	size_t n = strlen(text);
	int fd;

	snprintf(path, len, "/tmp/lw-test-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

/* Load with "-c FILE" (FILE holding text, removed after) before rest. */
static int
load_file(struct config *cfg, const char *text, char **rest, char **envp,
    char *path, size_t pathlen)
{
	char *argv[32];
	int i = 0, j, rc;

	write_tmp(path, pathlen, text);
	argv[i++] = "leasewrap";
	argv[i++] = "-c";
	argv[i++] = path;
	for (j = 0; rest != NULL && rest[j] != NULL && i < 31; j++)
		argv[i++] = rest[j];
	argv[i] = NULL;
	rc = load(cfg, argv, envp);
	unlink(path);
	return rc;
}

#define REST(...)	((char *[]){ __VA_ARGS__, NULL })

/* Load a config file expecting LW_EXIT_CONFIG naming the file and needle. */
static void
expect_file_fail(const char *text, const char *needle)
{
	char path[64];
	struct config cfg;
	int rc;

	rc = load_file(&cfg, text, REST("--", "true"), no_env, path,
	    sizeof(path));
	config_free(&cfg);
	if (rc != LW_EXIT_CONFIG)
		fail_msg("file %s: expected %d, got %d (%s)", text,
		    LW_EXIT_CONFIG, rc, err);
	if (strstr(err, needle) == NULL)
		fail_msg("file %s: error \"%s\" lacks \"%s\"", text, err, needle);
	if (strstr(err, path) == NULL)
		fail_msg("file %s: error \"%s\" does not name the file", text,
		    err);
}

/* Find a spec by name, or NULL. */
static const struct spec *
find_spec(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nspecs; i++)
		if (strcmp(cfg->specs[i].name, name) == 0)
			return &cfg->specs[i];
	return NULL;
}

/* ------------------------------------------------------------ flags */

static void
test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(LOAD(&cfg, no_env, "--", "true", "x y"), 0);
	assert_int_equal(cfg.argc, 2);
	assert_string_equal(cfg.argv[0], "true");
	assert_string_equal(cfg.argv[1], "x y");
	assert_null(cfg.argv[2]);
	assert_int_equal(cfg.argv_owned, 0);
	assert_int_equal(cfg.nspecs, 0);
	assert_null(cfg.vault_addr);
	assert_null(cfg.namespace);
	assert_null(cfg.token_file);
	assert_null(cfg.config_path);
	assert_int_equal(cfg.no_revoke, 0);
	assert_int_equal(cfg.pass_token, 0);
	assert_int_equal(cfg.env_refs, 1);
	assert_int_equal(cfg.log_level, LOG_WARN);
	assert_int_equal(cfg.request_timeout_ms, 30000);
	assert_int_equal(cfg.connect_timeout_ms, 10000);
	assert_int_equal(cfg.max_response, 1024 * 1024);
	assert_int_equal(cfg.help, 0);
	assert_int_equal(cfg.version, 0);
	config_free(&cfg);
	assert_null(cfg.specs);
	assert_null(cfg.argv);
}

/* Options after "--" belong to the command. */
static void
test_command_keeps_its_options(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(LOAD(&cfg, no_env, "-a", "http://v:8200", "--", "ls",
	    "-l", "--all", "-s", "--", "x"), 0);
	assert_int_equal(cfg.argc, 6);
	assert_string_equal(cfg.argv[0], "ls");
	assert_string_equal(cfg.argv[1], "-l");
	assert_string_equal(cfg.argv[3], "-s");
	assert_string_equal(cfg.argv[4], "--");
	assert_int_equal(cfg.nspecs, 0);
	config_free(&cfg);
}

static void
test_secret_flags(void **state)
{
	struct config cfg;
	const struct spec *sp;

	(void)state;
	assert_int_equal(LOAD(&cfg, no_env,
	    "-s", "PGUSER=database/creds/ro#username",
	    "--secret", "PGPASSWORD=database/creds/ro#password",
	    "-sAPI_KEY=/v1/secret/data/app#key",
	    "--secret=TOKEN=kv/t#value",
	    "--", "env"), 0);
	assert_int_equal(cfg.nspecs, 4);
	/* In command-line order. */
	assert_string_equal(cfg.specs[0].name, "PGUSER");
	assert_string_equal(cfg.specs[1].name, "PGPASSWORD");
	assert_string_equal(cfg.specs[2].name, "API_KEY");
	assert_string_equal(cfg.specs[3].name, "TOKEN");
	sp = &cfg.specs[1];
	assert_string_equal(sp->path, "database/creds/ro");
	assert_string_equal(sp->field, "password");
	assert_int_equal(sp->from_env, 0);
	assert_string_equal(cfg.specs[2].path, "secret/data/app");
	assert_string_equal(cfg.specs[3].field, "value");
	config_free(&cfg);
}

static void
test_secret_twice_is_an_error(void **state)
{
	(void)state;
	expect_fail(LW_EXIT_USAGE, "PGUSER", ARGV("-s", "PGUSER=a/b#c", "-s",
	    "PGUSER=a/b#d", "--", "true"), no_env);
	assert_err_has("twice");
	/* Even with the very same spec. */
	expect_fail(LW_EXIT_USAGE, "twice", ARGV("-s", "A=x#y", "-s", "B=x#z",
	    "--secret", "A=x#y", "--", "true"), no_env);
}

static void
test_secret_malformed(void **state)
{
	(void)state;
	expect_fail(LW_EXIT_USAGE, "NAME=PATH#FIELD", ARGV("-s",
	    "PGUSER=database/creds/ro", "--", "true"), no_env);
	expect_fail(LW_EXIT_USAGE, "not a valid variable name", ARGV("-s",
	    "PG-USER=a#b", "--", "true"), no_env);
	expect_fail(LW_EXIT_USAGE, "NAME=PATH#FIELD", ARGV("-s", "A=#b",
	    "--", "true"), no_env);
}

static void
test_vault_flags(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(LOAD(&cfg, no_env, "--vault-addr", "https://v:8200",
	    "--namespace", "team/a", "--token-file", "/run/tok", "--", "true"),
	    0);
	assert_string_equal(cfg.vault_addr, "https://v:8200");
	assert_string_equal(cfg.namespace, "team/a");
	assert_string_equal(cfg.token_file, "/run/tok");
	config_free(&cfg);

	assert_int_equal(LOAD(&cfg, no_env, "-a", "http://a", "-n", "ns",
	    "-t", "/t", "--vault-addr=http://b", "--", "true"), 0);
	assert_string_equal(cfg.vault_addr, "http://b");	/* last wins */
	assert_string_equal(cfg.namespace, "ns");
	assert_string_equal(cfg.token_file, "/t");
	config_free(&cfg);
}

static void
test_switches(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(LOAD(&cfg, no_env, "--no-revoke", "--", "true"), 0);
	assert_int_equal(cfg.no_revoke, 1);
	assert_int_equal(cfg.pass_token, 0);
	assert_int_equal(cfg.env_refs, 1);
	config_free(&cfg);

	assert_int_equal(LOAD(&cfg, no_env, "--pass-token", "--", "true"), 0);
	assert_int_equal(cfg.pass_token, 1);
	assert_int_equal(cfg.no_revoke, 0);
	config_free(&cfg);

	assert_int_equal(LOAD(&cfg, no_env, "--no-env-refs", "--", "true"), 0);
	assert_int_equal(cfg.env_refs, 0);
	config_free(&cfg);
}

static void
test_log_level(void **state)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "warn", LOG_WARN },
		{ "error", LOG_ERROR }, { "off", LOG_OFF },
	};
	struct config cfg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		assert_int_equal(LOAD(&cfg, no_env, "--log-level",
		    (char *)levels[i].name, "--", "true"), 0);
		assert_int_equal(cfg.log_level, levels[i].level);
		config_free(&cfg);
	}
	assert_int_equal(LOAD(&cfg, no_env, "-l", "debug", "--", "true"), 0);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	config_free(&cfg);
	expect_fail(LW_EXIT_USAGE, "--log-level", ARGV("--log-level", "loud",
	    "--", "true"), no_env);
	assert_err_has("loud");
	expect_fail(LW_EXIT_USAGE, "--log-level", ARGV("-l", "DEBUG", "--",
	    "true"), no_env);
}

static void
test_timeouts(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(LOAD(&cfg, no_env, "--request-timeout", "90s",
	    "--connect-timeout", "250ms", "--", "true"), 0);
	assert_int_equal(cfg.request_timeout_ms, 90000);
	assert_int_equal(cfg.connect_timeout_ms, 250);
	config_free(&cfg);

	assert_int_equal(LOAD(&cfg, no_env, "--request-timeout=1h30m",
	    "--connect-timeout=5", "--start-timeout", "1m", "--", "true"), 0);
	assert_int_equal(cfg.request_timeout_ms, 5400000);
	assert_int_equal(cfg.connect_timeout_ms, 5000);
	assert_int_equal(cfg.start_timeout_ms, 60000);
	config_free(&cfg);
}

static void
test_timeouts_invalid(void **state)
{
	static char *const bad[] = { "soon", "0", "0s", "", "1h30", "-5s",
	    "5x" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_fail(LW_EXIT_USAGE, "--request-timeout",
		    ARGV("--request-timeout", bad[i], "--", "true"), no_env);
		assert_err_has("duration");
		expect_fail(LW_EXIT_USAGE, "--connect-timeout",
		    ARGV("--connect-timeout", bad[i], "--", "true"), no_env);
		assert_err_has("duration");
		expect_fail(LW_EXIT_USAGE, "--start-timeout",
		    ARGV("--start-timeout", bad[i], "--", "true"), no_env);
		assert_err_has("duration");
	}
}

/* -h and -V stop parsing: no command needed, later errors ignored. */
static void
test_help_and_version(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(LOAD(&cfg, no_env, "-h"), 0);
	assert_int_equal(cfg.help, 1);
	assert_int_equal(cfg.version, 0);
	config_free(&cfg);
	assert_int_equal(LOAD(&cfg, no_env, "--help"), 0);
	assert_int_equal(cfg.help, 1);
	config_free(&cfg);
	assert_int_equal(LOAD(&cfg, no_env, "-V"), 0);
	assert_int_equal(cfg.version, 1);
	assert_int_equal(cfg.help, 0);
	config_free(&cfg);
	assert_int_equal(LOAD(&cfg, no_env, "--version"), 0);
	assert_int_equal(cfg.version, 1);
	config_free(&cfg);
	assert_int_equal(LOAD(&cfg, no_env, "-a", "http://v", "--help",
	    "--bogus"), 0);
	assert_int_equal(cfg.help, 1);
	config_free(&cfg);
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		assert_non_null(f);
		config_usage(f);
		fclose(f);
		assert_non_null(strstr(text, "usage: leasewrap"));
		assert_non_null(strstr(text, "NAME=PATH#FIELD"));
		free(text);
	}
}

static void
test_missing_dashdash(void **state)
{
	(void)state;
	expect_fail(LW_EXIT_USAGE, "missing \"--\"", ARGV("true"), no_env);
	assert_err_has("\"true\"");
	expect_fail(LW_EXIT_USAGE, "missing \"--\"", ARGV("-s", "A=x#y",
	    "psql", "-c", "select 1"), no_env);
	assert_err_has("psql");
	expect_fail(LW_EXIT_USAGE, "missing \"--\"", ARGV("--no-revoke",
	    "env"), no_env);
}

static void
test_no_command(void **state)
{
	(void)state;
	expect_fail(LW_EXIT_USAGE, "no command", (char *[]){ "leasewrap",
	    NULL }, no_env);
	expect_fail(LW_EXIT_USAGE, "no command", ARGV("--"), no_env);
	expect_fail(LW_EXIT_USAGE, "no command", ARGV("-s", "A=x#y", "--"),
	    no_env);
}

static void
test_unknown_options(void **state)
{
	(void)state;
	expect_fail(LW_EXIT_USAGE, "\"--bogus\"", ARGV("--bogus", "--",
	    "true"), no_env);
	assert_err_has("unknown option");
	expect_fail(LW_EXIT_USAGE, "\"-x\"", ARGV("-x", "--", "true"),
	    no_env);
	assert_err_has("unknown option");
	/* In a group of short options, the unknown one is named. */
	expect_fail(LW_EXIT_USAGE, "\"-q\"", ARGV("--no-revoke", "-qV", "--",
	    "true"), no_env);
	/* A value given to a switch that takes none names the switch. */
	expect_fail(LW_EXIT_USAGE, "--no-revoke", ARGV("--no-revoke=yes", "--",
	    "true"), no_env);
	expect_fail(LW_EXIT_USAGE, "--help", ARGV("--help=1", "--", "true"),
	    no_env);
}

static void
test_option_missing_value(void **state)
{
	(void)state;
	expect_fail(LW_EXIT_USAGE, "\"-s\"", ARGV("-s"), no_env);
	assert_err_has("needs a value");
	expect_fail(LW_EXIT_USAGE, "\"--vault-addr\"", ARGV("--vault-addr"),
	    no_env);
	assert_err_has("needs a value");
	expect_fail(LW_EXIT_USAGE, "\"--request-timeout\"",
	    ARGV("--no-revoke", "--request-timeout"), no_env);
	expect_fail(LW_EXIT_USAGE, "\"-c\"", ARGV("-c"), no_env);
}

/* ------------------------------------------------------ environment */

static void
test_environment(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(LOAD(&cfg, ENVP("HOME=/root",
	    "VAULT_ADDR=http://env:8200", "VAULT_NAMESPACE=env-ns"), "--",
	    "true"), 0);
	assert_string_equal(cfg.vault_addr, "http://env:8200");
	assert_string_equal(cfg.namespace, "env-ns");
	config_free(&cfg);

	/* Flags beat the environment. */
	assert_int_equal(LOAD(&cfg, ENVP("VAULT_ADDR=http://env:8200",
	    "VAULT_NAMESPACE=env-ns"), "-a", "http://flag:8200", "-n",
	    "flag-ns", "--", "true"), 0);
	assert_string_equal(cfg.vault_addr, "http://flag:8200");
	assert_string_equal(cfg.namespace, "flag-ns");
	config_free(&cfg);

	/* Empty values count as unset; similar names are not confused. */
	assert_int_equal(LOAD(&cfg, ENVP("VAULT_ADDR=", "VAULT_ADDRX=http://x",
	    "XVAULT_NAMESPACE=n", "VAULT_NAMESPACE"), "--", "true"), 0);
	assert_null(cfg.vault_addr);
	assert_null(cfg.namespace);
	config_free(&cfg);

	/* A NULL environment is an empty one. */
	assert_int_equal(LOAD(&cfg, NULL, "--", "true"), 0);
	assert_null(cfg.vault_addr);
	config_free(&cfg);
}

static void
test_env_refs(void **state)
{
	struct config cfg;
	const struct spec *sp;

	(void)state;
	assert_int_equal(LOAD(&cfg, ENVP("HOME=/root",
	    "PGUSER=vault:database/creds/ro#username",
	    "NOTE=see vault:x#y", "PGPASSWORD=vault:/v1/database/creds/ro#password",
	    "PLAIN=vault", "EMPTY="), "--", "true"), 0);
	assert_int_equal(cfg.nspecs, 2);
	sp = find_spec(&cfg, "PGUSER");
	assert_non_null(sp);
	assert_string_equal(sp->path, "database/creds/ro");
	assert_string_equal(sp->field, "username");
	assert_int_equal(sp->from_env, 1);
	sp = find_spec(&cfg, "PGPASSWORD");
	assert_non_null(sp);
	assert_string_equal(sp->path, "database/creds/ro");
	assert_string_equal(sp->field, "password");
	config_free(&cfg);

	/* --no-env-refs leaves them alone. */
	assert_int_equal(LOAD(&cfg, ENVP("PGUSER=vault:database/creds/ro#username"),
	    "--no-env-refs", "--", "true"), 0);
	assert_int_equal(cfg.nspecs, 0);
	config_free(&cfg);
}

static void
test_env_refs_malformed(void **state)
{
	struct config cfg;

	(void)state;
	expect_fail(LW_EXIT_USAGE, "--no-env-refs", ARGV("--", "true"),
	    ENVP("DB_PASS=vault:database/creds/ro"));
	assert_err_has("DB_PASS");
	assert_err_has("#FIELD");
	expect_fail(LW_EXIT_USAGE, "--no-env-refs", ARGV("--", "true"),
	    ENVP("DB_PASS=vault:#password"));
	assert_err_has("DB_PASS");
	/* With --no-env-refs the same environment is fine. */
	assert_int_equal(LOAD(&cfg, ENVP("DB_PASS=vault:database/creds/ro"),
	    "--no-env-refs", "--", "true"), 0);
	assert_int_equal(cfg.nspecs, 0);
	config_free(&cfg);
}

/* A -s for the same name wins over the inherited reference. */
static void
test_env_ref_loses_to_flag(void **state)
{
	struct config cfg;
	const struct spec *sp;

	(void)state;
	assert_int_equal(LOAD(&cfg, ENVP("PGUSER=vault:database/creds/ro#username",
	    "B=vault:kv/b#f"), "-s", "PGUSER=database/creds/rw#username", "--",
	    "true"), 0);
	assert_int_equal(cfg.nspecs, 2);
	sp = find_spec(&cfg, "PGUSER");
	assert_non_null(sp);
	assert_string_equal(sp->path, "database/creds/rw");
	assert_int_equal(sp->from_env, 0);
	sp = find_spec(&cfg, "B");
	assert_non_null(sp);
	assert_int_equal(sp->from_env, 1);
	config_free(&cfg);
}

/* ------------------------------------------------------ config file */

static const char every_key[] =
"{\n"
"  \"vault_addr\": \"http://file:8200\",\n"
"  \"namespace\": \"file-ns\",\n"
"  \"token_file\": \"/etc/leasewrap/token\",\n"
"  \"secret\": [\"PGUSER=database/creds/ro#username\",\n"
"             \"PGPASSWORD=database/creds/ro#password\"],\n"
"  \"no_revoke\": true,\n"
"  \"pass_token\": true,\n"
"  \"env_refs\": false,\n"
"  \"log_level\": \"debug\",\n"
"  \"request_timeout\": \"1m\",\n"
"  \"connect_timeout\": \"5s\",\n"
"  \"start_timeout\": \"2m\",\n"
"  \"command\": [\"sh\", \"-c\", \"exit 5\"]\n"
"}\n";

static void
test_file_every_key(void **state)
{
	char path[64];
	struct config cfg;

	(void)state;
	assert_int_equal(load_file(&cfg, every_key, NULL,
	    ENVP("X=vault:kv/x#y"), path, sizeof(path)), 0);
	assert_string_equal(cfg.config_path, path);
	assert_string_equal(cfg.vault_addr, "http://file:8200");
	assert_string_equal(cfg.namespace, "file-ns");
	assert_string_equal(cfg.token_file, "/etc/leasewrap/token");
	assert_int_equal(cfg.nspecs, 2);	/* env_refs false: X is not read */
	assert_string_equal(cfg.specs[0].name, "PGUSER");
	assert_string_equal(cfg.specs[1].field, "password");
	assert_int_equal(cfg.specs[1].from_env, 0);
	assert_int_equal(cfg.no_revoke, 1);
	assert_int_equal(cfg.pass_token, 1);
	assert_int_equal(cfg.env_refs, 0);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_int_equal(cfg.request_timeout_ms, 60000);
	assert_int_equal(cfg.connect_timeout_ms, 5000);
	assert_int_equal(cfg.start_timeout_ms, 120000);
	assert_int_equal(cfg.argc, 3);
	assert_int_equal(cfg.argv_owned, 1);
	assert_string_equal(cfg.argv[0], "sh");
	assert_string_equal(cfg.argv[2], "exit 5");
	assert_null(cfg.argv[3]);
	config_free(&cfg);
}

/* Relative paths in the file are beside it; absolute ones and the flag's stay. */
static void
test_file_paths_beside_the_file(void **state)
{
	char path[64], where[256], want[96], *dir;
	struct config cfg;

	(void)state;
	assert_int_equal(load_file(&cfg, "{\"token_file\": \"tok\", "
	    "\"env_file\": [\"out/a.env\", \"/abs/b.env\"], "
	    "\"ca_cert\": \"../ca.pem\", \"metrics_file\": \"m.prom\", "
	    "\"auth_role\": \"not/a/path\"}",
	    REST("--ca-path", "certs", "--", "true"), no_env, path,
	    sizeof(path)), 0);
	dir = strrchr(path, '/');
	*dir = '\0';		/* path is now the file's folder, "/tmp" */
	snprintf(want, sizeof(want), "%s/tok", path);
	assert_string_equal(cfg.token_file, want);
	snprintf(want, sizeof(want), "%s/out/a.env", path);
	assert_string_equal(cfg.env_files[0], want);
	assert_string_equal(cfg.env_files[1], "/abs/b.env");
	snprintf(want, sizeof(want), "%s/../ca.pem", path);
	assert_string_equal(cfg.ca_cert, want);
	snprintf(want, sizeof(want), "%s/m.prom", path);
	assert_string_equal(cfg.metrics_file, want);
	assert_string_equal(cfg.auth_role, "not/a/path");	/* not a path */
	assert_string_equal(cfg.ca_path, "certs");	/* the flag's, as given */
	/* Messages name the key for the file's values, the flag for the rest. */
	*dir = '/';
	snprintf(want, sizeof(want), "\"token_file\" in config \"%s\"", path);
	assert_string_equal(config_origin(&cfg, "token-file", "--token-file",
	    where, sizeof(where)), want);
	assert_string_equal(config_origin(&cfg, "ca-path", "--ca-path", where,
	    sizeof(where)), "--ca-path");
	assert_string_equal(config_origin(&cfg, "client-key", "--client-key",
	    where, sizeof(where)), "--client-key");
	config_free(&cfg);
}

/* False values in the file switch things off again. */
static void
test_file_false_values(void **state)
{
	char path[64];
	struct config cfg;

	(void)state;
	assert_int_equal(load_file(&cfg, "{\"no_revoke\": false, \"pass_token\":"
	    " false, \"env_refs\": true}", REST("--", "true"),
	    ENVP("X=vault:kv/x#y"), path, sizeof(path)), 0);
	assert_int_equal(cfg.no_revoke, 0);
	assert_int_equal(cfg.pass_token, 0);
	assert_int_equal(cfg.env_refs, 1);
	assert_int_equal(cfg.nspecs, 1);
	config_free(&cfg);

	assert_int_equal(load_file(&cfg, "{}", REST("--", "true"), no_env,
	    path, sizeof(path)), 0);
	assert_int_equal(cfg.log_level, LOG_WARN);
	assert_int_equal(cfg.request_timeout_ms, 30000);
	config_free(&cfg);
}

static void
test_file_flags_win(void **state)
{
	char path[64];
	struct config cfg;

	(void)state;
	assert_int_equal(load_file(&cfg, every_key, REST("-a", "http://flag",
	    "-n", "flag-ns", "-t", "/flag/tok", "-l", "error",
	    "--request-timeout", "7s", "--connect-timeout", "3s",
	    "--start-timeout", "9s", "--no-env-refs", "-s", "PGUSER=database/creds/rw#username",
	    "--", "true"), ENVP("VAULT_ADDR=http://env"), path, sizeof(path)), 0);
	assert_string_equal(cfg.vault_addr, "http://flag");
	assert_string_equal(cfg.namespace, "flag-ns");
	assert_string_equal(cfg.token_file, "/flag/tok");
	assert_int_equal(cfg.log_level, LOG_ERROR);
	assert_int_equal(cfg.request_timeout_ms, 7000);
	assert_int_equal(cfg.connect_timeout_ms, 3000);
	assert_int_equal(cfg.start_timeout_ms, 9000);
	assert_int_equal(cfg.env_refs, 0);
	assert_int_equal(cfg.nspecs, 2);
	assert_string_equal(find_spec(&cfg, "PGUSER")->path,
	    "database/creds/rw");
	assert_non_null(find_spec(&cfg, "PGPASSWORD"));
	/* The command after "--" wins over "command". */
	assert_int_equal(cfg.argc, 1);
	assert_string_equal(cfg.argv[0], "true");
	assert_int_equal(cfg.argv_owned, 0);
	config_free(&cfg);

	/* A flag wins over the file's false, too. */
	assert_int_equal(load_file(&cfg, "{\"no_revoke\": false, \"pass_token\":"
	    " false, \"env_refs\": true}", REST("--no-revoke", "--pass-token",
	    "--no-env-refs", "--", "true"), ENVP("X=vault:kv/x#y"), path,
	    sizeof(path)), 0);
	assert_int_equal(cfg.no_revoke, 1);
	assert_int_equal(cfg.pass_token, 1);
	assert_int_equal(cfg.env_refs, 0);
	assert_int_equal(cfg.nspecs, 0);
	config_free(&cfg);
}

static void
test_file_environment_wins(void **state)
{
	char path[64];
	struct config cfg;
	const struct spec *sp;

	(void)state;
	assert_int_equal(load_file(&cfg, "{\"vault_addr\": \"http://file\", "
	    "\"namespace\": \"file-ns\", \"secret\": {\"PGUSER\": "
	    "\"database/creds/file#username\", \"OTHER\": \"kv/o#f\"}}",
	    REST("--", "true"), ENVP("VAULT_ADDR=http://env",
	    "VAULT_NAMESPACE=env-ns", "PGUSER=vault:database/creds/env#username"),
	    path, sizeof(path)), 0);
	assert_string_equal(cfg.vault_addr, "http://env");
	assert_string_equal(cfg.namespace, "env-ns");
	/* An inherited reference is environment too: it beats the file. */
	assert_int_equal(cfg.nspecs, 2);
	sp = find_spec(&cfg, "PGUSER");
	assert_non_null(sp);
	assert_string_equal(sp->path, "database/creds/env");
	assert_int_equal(sp->from_env, 1);
	assert_non_null(find_spec(&cfg, "OTHER"));
	config_free(&cfg);

	/* But a file that turns env_refs off is obeyed. */
	assert_int_equal(load_file(&cfg, "{\"env_refs\": false, \"secret\": "
	    "[\"PGUSER=database/creds/file#username\"]}", REST("--", "true"),
	    ENVP("PGUSER=vault:database/creds/env#username"), path,
	    sizeof(path)), 0);
	assert_int_equal(cfg.nspecs, 1);
	assert_string_equal(cfg.specs[0].path, "database/creds/file");
	config_free(&cfg);
}

static void
test_file_secret_forms(void **state)
{
	char path[64];
	struct config cfg;
	const struct spec *sp;

	(void)state;
	assert_int_equal(load_file(&cfg, "{\"secret\": {\"PGUSER\": "
	    "\"database/creds/ro#username\", \"API_KEY\": "
	    "\"/v1/secret/data/app#key\"}}", REST("--", "true"), no_env, path,
	    sizeof(path)), 0);
	assert_int_equal(cfg.nspecs, 2);
	sp = find_spec(&cfg, "API_KEY");
	assert_non_null(sp);
	assert_string_equal(sp->path, "secret/data/app");
	assert_string_equal(sp->field, "key");
	assert_int_equal(sp->from_env, 0);
	config_free(&cfg);

	assert_int_equal(load_file(&cfg, "{\"secret\": []}", REST("--", "true"),
	    no_env, path, sizeof(path)), 0);
	assert_int_equal(cfg.nspecs, 0);
	config_free(&cfg);

	expect_file_fail("{\"secret\": [\"PGUSER=database/creds/ro\"]}",
	    "NAME=PATH#FIELD");
	expect_file_fail("{\"secret\": [\"A=x#y\", 7]}", "\"secret\"[1]");
	expect_file_fail("{\"secret\": {\"A\": 1}}", "\"secret\".\"A\"");
	expect_file_fail("{\"secret\": {\"A\": \"nofield\"}}", "#FIELD");
	expect_file_fail("{\"secret\": {\"1A\": \"x#y\"}}",
	    "not a valid variable name");
	expect_file_fail("{\"secret\": \"A=x#y\"}", "\"secret\": expected");
}

static void
test_file_command(void **state)
{
	char path[64];
	struct config cfg;

	(void)state;
	assert_int_equal(load_file(&cfg, "{\"command\": [\"psql\", \"-c\", "
	    "\"select 1\"]}", NULL, no_env, path, sizeof(path)), 0);
	assert_int_equal(cfg.argc, 3);
	assert_int_equal(cfg.argv_owned, 1);
	assert_string_equal(cfg.argv[0], "psql");
	assert_string_equal(cfg.argv[2], "select 1");
	assert_null(cfg.argv[3]);
	config_free(&cfg);

	/* A bare "--" adds no command: the file's is used. */
	assert_int_equal(load_file(&cfg, "{\"command\": [\"env\"]}",
	    REST("--"), no_env, path, sizeof(path)), 0);
	assert_int_equal(cfg.argc, 1);
	assert_string_equal(cfg.argv[0], "env");
	config_free(&cfg);

	/* No command anywhere. */
	assert_int_equal(load_file(&cfg, "{\"vault_addr\": \"http://v\"}", NULL,
	    no_env, path, sizeof(path)), LW_EXIT_USAGE);
	assert_non_null(strstr(err, "no command"));
	config_free(&cfg);

	/* A command after the options still needs "--". */
	assert_int_equal(load_file(&cfg, "{\"command\": [\"env\"]}",
	    REST("true"), no_env, path, sizeof(path)), LW_EXIT_USAGE);
	assert_non_null(strstr(err, "missing \"--\""));
	config_free(&cfg);
}

static void
test_file_missing(void **state)
{
	char path[] = "/tmp/lw-test-config-absent-XXXXXX";
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	expect_fail(LW_EXIT_CONFIG, path, ARGV("-c", path, "--", "true"),
	    no_env);
	assert_err_has("No such file");
	assert_err_has("-c");
}

/* A directory cannot be read as a file, even by root. */
static void
test_file_is_directory(void **state)
{
	char dir[] = "/tmp/lw-test-config-dir-XXXXXX";
	struct config cfg;
	int rc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	rc = load(&cfg, ARGV("-c", dir, "--", "true"), no_env);
	config_free(&cfg);
	rmdir(dir);
	assert_int_equal(rc, LW_EXIT_CONFIG);
	assert_err_has(dir);
	assert_err_has("directory");
}

/* Mode 000: root reads it anyway, so drop to "nobody" in a child to test. */
static void
test_file_unreadable(void **state)
{
	char path[64];
	struct config cfg;
	pid_t pid;
	int st, rc;

	(void)state;
	write_tmp(path, sizeof(path), "{}");
	assert_int_equal(chmod(path, 0), 0);
	if (geteuid() != 0) {
		rc = load(&cfg, ARGV("-c", path, "--", "true"), no_env);
		config_free(&cfg);
		unlink(path);
		assert_int_equal(rc, LW_EXIT_CONFIG);
		assert_err_has("Permission denied");
		assert_err_has(path);
		return;
	}
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);	/* cannot drop root here */
		rc = load(&cfg, ARGV("-c", path, "--", "true"), no_env);
		config_free(&cfg);
		if (rc != LW_EXIT_CONFIG)
			_exit(1);
		if (strstr(err, "Permission denied") == NULL ||
		    strstr(err, path) == NULL)
			_exit(2);
		_exit(0);
	}
	while (waitpid(pid, &st, 0) == -1)
		assert_int_equal(errno, EINTR);
	unlink(path);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 3) {
		printf("skipped: running as root and cannot setuid(65534) to "
		    "test an unreadable config file\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
test_file_not_json(void **state)
{
	(void)state;
	expect_file_fail("{\n  \"vault_addr\": \"http://v\",\n  oops\n}\n",
	    "line 3");
	expect_file_fail("{\n  \"vault_addr\": \"http://v\",\n  oops\n}\n",
	    "not valid JSON");
	expect_file_fail("", "not valid JSON");
	expect_file_fail("vault_addr = \"x\"\n", "line 1");
	expect_file_fail("{\"a\": 1} trailing", "not valid JSON");
}

static void
test_file_not_object(void **state)
{
	(void)state;
	expect_file_fail("[1, 2]", "expected a JSON object");
	expect_file_fail("[\"PGUSER=database/creds/ro#username\"]",
	    "expected a JSON object");
}

static void
test_file_wrong_types(void **state)
{
	static const struct {
		const char *text, *key, *expected;
	} cases[] = {
		{ "{\"vault_addr\": 8200}", "\"vault_addr\"", "non-empty string" },
		{ "{\"vault_addr\": \"\"}", "\"vault_addr\"", "non-empty string" },
		{ "{\"namespace\": true}", "\"namespace\"", "non-empty string" },
		{ "{\"token_file\": [\"/t\"]}", "\"token_file\"",
		    "non-empty string" },
		{ "{\"log_level\": 1}", "\"log_level\"", "non-empty string" },
		{ "{\"log_level\": \"loud\"}", "\"log_level\"", "debug, info" },
		{ "{\"request_timeout\": 30}", "\"request_timeout\"",
		    "non-empty string" },
		{ "{\"request_timeout\": \"soon\"}", "\"request_timeout\"",
		    "duration" },
		{ "{\"connect_timeout\": \"0s\"}", "\"connect_timeout\"",
		    "duration" },
		{ "{\"connect_timeout\": null}", "\"connect_timeout\"",
		    "non-empty string" },
		{ "{\"start_timeout\": \"1x\"}", "\"start_timeout\"",
		    "duration" },
		{ "{\"no_revoke\": \"yes\"}", "\"no_revoke\"", "true or false" },
		{ "{\"pass_token\": 1}", "\"pass_token\"", "true or false" },
		{ "{\"env_refs\": null}", "\"env_refs\"", "true or false" },
		{ "{\"secret\": 5}", "\"secret\"", "expected an array" },
		{ "{\"secret\": null}", "\"secret\"", "expected an array" },
		{ "{\"command\": \"ls -l\"}", "\"command\"",
		    "non-empty array of strings" },
		{ "{\"command\": []}", "\"command\"",
		    "non-empty array of strings" },
		{ "{\"command\": [\"ls\", 1]}", "\"command\"[1]",
		    "expected a string" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect_file_fail(cases[i].text, cases[i].key);
		expect_file_fail(cases[i].text, cases[i].expected);
	}
}

/* Even a value the command line overrides must be well-typed. */
static void
test_file_wrong_type_under_flag(void **state)
{
	char path[64];
	struct config cfg;

	(void)state;
	assert_int_equal(load_file(&cfg, "{\"vault_addr\": 8200}",
	    REST("-a", "http://v", "--", "true"), no_env, path, sizeof(path)),
	    LW_EXIT_CONFIG);
	assert_non_null(strstr(err, "\"vault_addr\""));
	config_free(&cfg);
}

static void
test_file_unknown_key(void **state)
{
	(void)state;
	expect_file_fail("{\"vault_adr\": \"http://x\"}",
	    "did you mean \"vault_addr\"");
	expect_file_fail("{\"secrets\": []}", "did you mean \"secret\"");
	expect_file_fail("{\"namespase\": \"x\"}", "did you mean \"namespace\"");
	expect_file_fail("{\"no-revoke\": true}", "did you mean \"no_revoke\"");
	expect_file_fail("{\"frobnicate\": true}", "unknown key \"frobnicate\"");
	expect_file_fail("{\"frobnicate\": true}", "leasewrap(1)");
	/* Long keys do not upset the suggestion. */
	expect_file_fail("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": 1}", "unknown key");
}

static void
test_file_duplicate_keys(void **state)
{
	(void)state;
	expect_file_fail("{\"no_revoke\": true, \"no_revoke\": false}",
	    "duplicate");
	expect_file_fail("{\"secret\": {\"A\": \"x#y\", \"A\": \"x#z\"}}",
	    "duplicate");
}

/* getopt_long keeps global state: many loads in one process agree. */
static void
test_repeated_loads(void **state)
{
	struct config cfg;
	int i, rc;

	(void)state;
	for (i = 0; i < 200; i++) {
		switch (i % 6) {
		case 0:
			/* Returns in the middle of the group "-hV". */
			rc = LOAD(&cfg, no_env, "-hV");
			assert_int_equal(rc, 0);
			assert_int_equal(cfg.help, 1);
			assert_int_equal(cfg.version, 0);
			break;
		case 1:
			assert_int_equal(LOAD(&cfg, no_env, "--", "true"), 0);
			assert_int_equal(cfg.help, 0);
			assert_int_equal(cfg.version, 0);
			assert_string_equal(cfg.argv[0], "true");
			break;
		case 2:
			/* Fails in the middle of the group "-xV". */
			rc = LOAD(&cfg, no_env, "-xV");
			assert_int_equal(rc, LW_EXIT_USAGE);
			break;
		case 3:
			assert_int_equal(LOAD(&cfg, no_env, "-s", "A=x#y",
			    "--no-revoke", "--", "env"), 0);
			assert_int_equal(cfg.nspecs, 1);
			assert_int_equal(cfg.no_revoke, 1);
			assert_int_equal(cfg.version, 0);
			assert_string_equal(cfg.argv[0], "env");
			break;
		case 4:
			rc = LOAD(&cfg, no_env, "--bogus", "--", "true");
			assert_int_equal(rc, LW_EXIT_USAGE);
			break;
		default:
			assert_int_equal(LOAD(&cfg, no_env, "-Vh"), 0);
			assert_int_equal(cfg.version, 1);
			assert_int_equal(cfg.help, 0);
			break;
		}
		config_free(&cfg);
	}
}

/* --rotate-before N%: NaN and infinities are refused like 150%. */
static void
test_rotate_before_not_a_number(void **state)
{
	(void)state;
	expect_fail(LW_EXIT_USAGE, "20%", ARGV("--rotate-before", "nan%",
	    "--", "true"), no_env);
	expect_fail(LW_EXIT_USAGE, "20%", ARGV("--rotate-before", "inf%",
	    "--", "true"), no_env);
}

/* The Vault CLI's transport variables, with the Go client's precedence. */
static void
test_vault_transport_env(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(LOAD(&cfg, ENVP("VAULT_ADDR=https://v:8200",
	    "VAULT_AGENT_ADDR=unix:///run/a.sock", "VAULT_CLIENT_TIMEOUT=7",
	    "VAULT_HTTP_PROXY=http://old:3128",
	    "VAULT_PROXY_ADDR=http://new:3128",
	    "VAULT_DISABLE_REDIRECTS=1"), "-a", "https://flag:8200", "--",
	    "true"), 0);
	/* VAULT_AGENT_ADDR wins even over --vault-addr (NewClient). */
	assert_string_equal(cfg.vault_addr, "unix:///run/a.sock");
	assert_int_equal(cfg.request_timeout_ms, 7000);
	assert_string_equal(cfg.proxy_addr, "http://new:3128");
	assert_true(cfg.disable_redirects);
	config_free(&cfg);
	assert_int_equal(LOAD(&cfg, ENVP("VAULT_HTTP_PROXY=http://old:3128",
	    "VAULT_CLIENT_TIMEOUT=90s"), "--request-timeout", "5s", "--auth",
	    "none", "--", "true"), 0);
	assert_string_equal(cfg.proxy_addr, "http://old:3128");
	assert_int_equal(cfg.request_timeout_ms, 5000);
	assert_int_equal(cfg.auth, AUTH_NONE);
	assert_false(cfg.disable_redirects);
	config_free(&cfg);
	expect_fail(78, "VAULT_CLIENT_TIMEOUT", ARGV("--", "true"),
	    ENVP("VAULT_CLIENT_TIMEOUT=soon"));
	expect_fail(78, "VAULT_DISABLE_REDIRECTS", ARGV("--", "true"),
	    ENVP("VAULT_DISABLE_REDIRECTS=yes"));
	expect_fail(64, "none", ARGV("--auth", "nobody", "--", "true"),
	    no_env);
}

/* --refresh-interval DURATION and PATH=DURATION on the command line. */
static void
test_refresh_interval_per_path(void **state)
{
	struct config cfg;
	int own;

	(void)state;
	assert_int_equal(LOAD(&cfg, no_env, "--refresh-interval",
	    "secret/data/a=1s", "--refresh-interval", "2m",
	    "--refresh-interval", "/v1/pki/issue/web?common_name=a=b&ttl=1h/=30s",
	    "-s", "A=secret/data/a#k", "-s", "B=secret/data/b#k",
	    "-s", "C=pki/issue/web?common_name=a=b&ttl=1h#certificate",
	    "--", "true"), 0);
	assert_int_equal(config_refresh_ms(&cfg, "secret/data/a", &own), 1000);
	assert_int_equal(own, 1);
	assert_int_equal(config_refresh_ms(&cfg, "secret/data/b", &own), 120000);
	assert_int_equal(own, 0);
	/* Split at the last "=": a path's parameters hold some. */
	assert_int_equal(config_refresh_ms(&cfg,
	    "pki/issue/web?common_name=a=b&ttl=1h", &own), 30000);
	assert_int_equal(own, 1);
	config_free(&cfg);
	assert_int_equal(LOAD(&cfg, no_env, "-s", "A=secret/data/a#k", "--",
	    "true"), 0);
	assert_int_equal(config_refresh_ms(&cfg, "secret/data/a", &own), 300000);
	assert_int_equal(own, 0);
	config_free(&cfg);
}

/* The refusals --refresh-interval and --settle-delay share, for PATH=DURATION. */
static void
expect_pathdur_invalid(char *flag, const char *key)
{
	char want[128], text[256];

	expect_fail(LW_EXIT_USAGE, "expected a duration", ARGV(flag, "soon",
	    "--", "true"), no_env);
	expect_fail(LW_EXIT_USAGE, "after \"=\"", ARGV(flag,
	    "secret/data/a=-1s", "-s", "A=secret/data/a#k", "--", "true"), no_env);
	expect_fail(LW_EXIT_USAGE, "empty path", ARGV(flag, "/v1/=1s", "--",
	    "true"), no_env);
	expect_fail(LW_EXIT_USAGE, "#FIELD", ARGV(flag, "secret/data/a#k=1s",
	    "--", "true"), no_env);
	expect_fail(LW_EXIT_USAGE, "spaces", ARGV(flag, "secret/a b=1s", "--",
	    "true"), no_env);
	expect_fail(LW_EXIT_USAGE, "given twice", ARGV(flag, "secret/data/a=1s",
	    flag, "secret/data/a/=2s", "-s", "A=secret/data/a#k", "--", "true"),
	    no_env);
	/* A path no secret reads: the KV v2 form is not guessed. */
	snprintf(want, sizeof(want), "%s \"secret/a=...\": no secret is read",
	    flag);
	expect_fail(LW_EXIT_USAGE, want, ARGV(flag, "secret/a=1s", "-s",
	    "A=secret/data/a#k", "--", "true"), no_env);
#define FILE_FAIL(json, needle) do {					\
	snprintf(text, sizeof(text), json, key);			\
	expect_file_fail(text, needle);					\
} while (0)
	FILE_FAIL("{\"%s\": 5}", "expected a duration");
	FILE_FAIL("{\"%s\": [5]}", "expected a string");
	FILE_FAIL("{\"%s\": {\"a\": 5}}", "expected a duration");
	FILE_FAIL("{\"%s\": {\"a#k\": \"1s\"}}", "#FIELD");
	FILE_FAIL("{\"%s\": [\"a=1s\", \"a=2s\"]}", "given twice");
	FILE_FAIL("{\"%s\": [\"never\"]}", "expected a duration");
	snprintf(want, sizeof(want), "\"%s\": no secret is read", key);
	FILE_FAIL("{\"%s\": {\"secret/data/z\": \"1s\"}, \"secret\": "
	    "[\"A=secret/data/a#k\"]}", want);
#undef FILE_FAIL
}

static void
test_refresh_interval_invalid(void **state)
{
	(void)state;
	expect_pathdur_invalid("--refresh-interval", "refresh_interval");
	/* An interval of 0 is none: refused. */
	expect_fail(LW_EXIT_USAGE, "after \"=\"", ARGV("--refresh-interval",
	    "secret/data/a=0s", "-s", "A=secret/data/a#k", "--", "true"), no_env);
	expect_file_fail("{\"refresh_interval\": \"0s\"}", "expected a duration");
}

/* The file's "refresh_interval": a string, an array of them, or an object. */
static void
test_file_refresh_interval_forms(void **state)
{
	char path[64];
	struct config cfg;
	int own;

	(void)state;
	assert_int_equal(load_file(&cfg, "{\"refresh_interval\": "
	    "{\"secret/data/a\": \"1s\"}, \"secret\": [\"A=secret/data/a#k\", "
	    "\"B=secret/data/b#k\"]}", REST("--", "true"), no_env, path,
	    sizeof(path)), 0);
	assert_int_equal(config_refresh_ms(&cfg, "secret/data/a", &own), 1000);
	assert_int_equal(config_refresh_ms(&cfg, "secret/data/b", &own), 300000);
	config_free(&cfg);
	assert_int_equal(load_file(&cfg, "{\"refresh_interval\": \"7s\", "
	    "\"secret\": [\"A=secret/data/a#k\"]}", REST("--", "true"), no_env,
	    path, sizeof(path)), 0);
	assert_int_equal(config_refresh_ms(&cfg, "secret/data/a", &own), 7000);
	assert_int_equal(own, 0);
	config_free(&cfg);
	/*
	 * The command line's entry for a path wins; a path's own on the
	 * command line leaves the file's default be, its default does not.
	 */
	assert_int_equal(load_file(&cfg, "{\"refresh_interval\": [\"10m\", "
	    "\"secret/data/a=2s\", \"secret/data/b=3s\"], \"secret\": "
	    "[\"A=secret/data/a#k\", \"B=secret/data/b#k\", \"C=secret/data/c#k\"]}",
	    REST("--refresh-interval", "secret/data/b=4s", "--", "true"), no_env,
	    path, sizeof(path)), 0);
	assert_int_equal(config_refresh_ms(&cfg, "secret/data/a", &own), 2000);
	assert_int_equal(config_refresh_ms(&cfg, "secret/data/b", &own), 4000);
	assert_int_equal(config_refresh_ms(&cfg, "secret/data/c", &own), 600000);
	config_free(&cfg);
	assert_int_equal(load_file(&cfg, "{\"refresh_interval\": [\"10m\"], "
	    "\"secret\": [\"C=secret/data/c#k\"]}", REST("--refresh-interval",
	    "1m", "--", "true"), no_env, path, sizeof(path)), 0);
	assert_int_equal(config_refresh_ms(&cfg, "secret/data/c", &own), 60000);
	config_free(&cfg);
}

/* --settle-delay PATH=DURATION beside the default, on the command line and in the file. */
static void
test_settle_delay_per_path(void **state)
{
	char path[64];
	struct config cfg;

	(void)state;
	assert_int_equal(LOAD(&cfg, no_env, "--settle-delay",
	    "/v1/aws/sts/deploy?ttl=1h/=3s", "-s", "K=aws/sts/deploy?ttl=1h#k",
	    "-s", "A=secret/data/a#k", "--", "true"), 0);
	assert_int_equal(config_settle_ms(&cfg, "aws/sts/deploy?ttl=1h"), 3000);
	assert_int_equal(config_settle_ms(&cfg, "secret/data/a"), 0);
	assert_int_equal(config_settle_max_ms(&cfg), 3000);
	config_free(&cfg);
	/* A path's own 0 beside a default: the largest is of the paths read. */
	assert_int_equal(LOAD(&cfg, no_env, "--settle-delay", "2s",
	    "--settle-delay", "secret/data/a=0", "-s", "A=secret/data/a#k",
	    "--", "true"), 0);
	assert_int_equal(config_settle_ms(&cfg, "secret/data/a"), 0);
	assert_int_equal(config_settle_max_ms(&cfg), 0);
	config_free(&cfg);
	assert_int_equal(LOAD(&cfg, no_env, "--settle-delay", "secret/data/a=1s",
	    "--settle-delay", "5s", "-s", "A=secret/data/a#k", "-s",
	    "B=secret/data/b#k", "--", "true"), 0);
	assert_int_equal(config_settle_ms(&cfg, "secret/data/b"), 5000);
	assert_int_equal(config_settle_max_ms(&cfg), 5000);
	config_free(&cfg);
	/* The file's forms; the command line's path wins, its own leaves the file's default. */
	assert_int_equal(load_file(&cfg, "{\"settle_delay\": [\"4s\", "
	    "\"secret/data/a=2s\", \"secret/data/b=3s\"], \"secret\": "
	    "[\"A=secret/data/a#k\", \"B=secret/data/b#k\", \"C=secret/data/c#k\"]}",
	    REST("--settle-delay", "secret/data/b=1s", "--", "true"), no_env,
	    path, sizeof(path)), 0);
	assert_int_equal(config_settle_ms(&cfg, "secret/data/a"), 2000);
	assert_int_equal(config_settle_ms(&cfg, "secret/data/b"), 1000);
	assert_int_equal(config_settle_ms(&cfg, "secret/data/c"), 4000);
	config_free(&cfg);
	assert_int_equal(load_file(&cfg, "{\"settle_delay\": "
	    "{\"secret/data/a\": \"1s\"}, \"secret\": [\"A=secret/data/a#k\"]}",
	    REST("--", "true"), no_env, path, sizeof(path)), 0);
	assert_int_equal(config_settle_ms(&cfg, "secret/data/a"), 1000);
	config_free(&cfg);
	assert_int_equal(load_file(&cfg, "{\"settle_delay\": \"7s\", "
	    "\"secret\": [\"A=secret/data/a#k\"]}", REST("--settle-delay",
	    "1s", "--", "true"), no_env, path, sizeof(path)), 0);
	assert_int_equal(config_settle_ms(&cfg, "secret/data/a"), 1000);
	config_free(&cfg);
}

static void
test_settle_delay_invalid(void **state)
{
	(void)state;
	expect_pathdur_invalid("--settle-delay", "settle_delay");
}

/* An inherited "vault:" value with "{{" is a template of its name. */
static void
test_env_templates(void **state)
{
	char path[64];
	struct config cfg;
	size_t i;

	(void)state;
	assert_int_equal(LOAD(&cfg, ENVP(
	    "DATABASE_URL=vault:postgresql://{{database/creds/ro#username}}:"
	    "{{ database/creds/ro#password | url }}@db/app",
	    "PLAIN=x{{secret/a#k}}", "INLINE=${vault:secret/a#k}"), "--", "true"),
	    0);
	assert_int_equal(cfg.ntemplates, 1);
	assert_string_equal(cfg.templates[0].name, "DATABASE_URL");
	assert_int_equal(cfg.templates[0].t.nrefs, 2);
	assert_int_equal(cfg.nspecs, 2);
	for (i = 0; i < cfg.nspecs; i++) {
		assert_true(cfg.specs[i].tmpl);
		assert_string_equal(cfg.specs[i].path, "database/creds/ro");
	}
	config_free(&cfg);
	/* -s and -T of the name win; --no-env-refs leaves it be. */
	assert_int_equal(LOAD(&cfg, ENVP("X=vault:{{secret/b#k}}",
	    "Y=vault:{{secret/b#k}}"), "-s", "X=secret/a#k", "-T",
	    "Y=<{{secret/a#k}}>", "--", "true"), 0);
	assert_int_equal(cfg.ntemplates, 1);
	assert_string_equal(cfg.templates[0].t.parts[0].ref.path, "secret/a");
	for (i = 0; i < cfg.nspecs; i++)
		assert_string_equal(cfg.specs[i].path, "secret/a");
	config_free(&cfg);
	assert_int_equal(LOAD(&cfg, ENVP("X=vault:{{secret/b#k}}"),
	    "--no-env-refs", "--", "true"), 0);
	assert_int_equal(cfg.ntemplates, 0);
	assert_int_equal(cfg.nspecs, 0);
	config_free(&cfg);
	/* Over the config file's "secret" of that name, as a plain reference. */
	assert_int_equal(load_file(&cfg, "{\"secret\": [\"X=secret/f#k\"]}",
	    REST("--", "true"), ENVP("X=vault:<{{secret/b#k}}>"), path,
	    sizeof(path)), 0);
	assert_int_equal(cfg.ntemplates, 1);
	assert_int_equal(cfg.nspecs, 1);
	assert_true(cfg.specs[0].tmpl);
	config_free(&cfg);
}

/* A bad "vault:" template: one line naming the variable, not its text. */
static void
test_env_template_errors(void **state)
{
	(void)state;
	expect_fail(LW_EXIT_USAGE, "environment variable APP_URL: unknown "
	    "filter", ARGV("--", "true"), ENVP("APP_URL=vault:s3cr3t{{a#b|rot}}"));
	assert_null(strstr(err, "s3cr3t"));
	assert_err_has("--no-env-refs");
	expect_fail(LW_EXIT_USAGE, "has no \"}}\"", ARGV("--", "true"),
	    ENVP("APP_URL=vault:s3cr3t{{a#b"));
	assert_null(strstr(err, "s3cr3t"));
	expect_fail(LW_EXIT_USAGE, "not a valid variable name", ARGV("--",
	    "true"), ENVP("1X=vault:{{a#b}}"));
	expect_fail(LW_EXIT_USAGE, "reserved", ARGV("--", "true"),
	    ENVP("LEASEWRAP_X=vault:{{a#b}}"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_command_keeps_its_options),
		cmocka_unit_test(test_secret_flags),
		cmocka_unit_test(test_secret_twice_is_an_error),
		cmocka_unit_test(test_secret_malformed),
		cmocka_unit_test(test_vault_flags),
		cmocka_unit_test(test_switches),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_timeouts_invalid),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_missing_dashdash),
		cmocka_unit_test(test_no_command),
		cmocka_unit_test(test_unknown_options),
		cmocka_unit_test(test_option_missing_value),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_env_refs),
		cmocka_unit_test(test_env_refs_malformed),
		cmocka_unit_test(test_env_ref_loses_to_flag),
		cmocka_unit_test(test_file_every_key),
		cmocka_unit_test(test_file_paths_beside_the_file),
		cmocka_unit_test(test_file_false_values),
		cmocka_unit_test(test_file_flags_win),
		cmocka_unit_test(test_file_environment_wins),
		cmocka_unit_test(test_file_secret_forms),
		cmocka_unit_test(test_file_command),
		cmocka_unit_test(test_file_missing),
		cmocka_unit_test(test_file_is_directory),
		cmocka_unit_test(test_file_unreadable),
		cmocka_unit_test(test_file_not_json),
		cmocka_unit_test(test_file_not_object),
		cmocka_unit_test(test_file_wrong_types),
		cmocka_unit_test(test_file_wrong_type_under_flag),
		cmocka_unit_test(test_file_unknown_key),
		cmocka_unit_test(test_file_duplicate_keys),
		cmocka_unit_test(test_repeated_loads),
		cmocka_unit_test(test_rotate_before_not_a_number),
		cmocka_unit_test(test_vault_transport_env),
		cmocka_unit_test(test_refresh_interval_per_path),
		cmocka_unit_test(test_refresh_interval_invalid),
		cmocka_unit_test(test_file_refresh_interval_forms),
		cmocka_unit_test(test_settle_delay_per_path),
		cmocka_unit_test(test_settle_delay_invalid),
		cmocka_unit_test(test_env_templates),
		cmocka_unit_test(test_env_template_errors),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}

/* config.c: command line, environment and JSON config file into one config. */
#define _GNU_SOURCE
#include "config.h"
#include "config_opts.h"
#include "envfile.h"
#include "exitcodes.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_REQUEST_TIMEOUT_MS	(30 * 1000)
#define DEFAULT_CONNECT_TIMEOUT_MS	(10 * 1000)
#define DEFAULT_START_TIMEOUT_MS	(60 * 1000)
#define DEFAULT_MAX_RESPONSE		(1024 * 1024)
#define DEFAULT_KILL_TIMEOUT_MS		(10 * 1000)
#define DEFAULT_ROTATE_BEFORE_PCT	0.2
#define DEFAULT_REFRESH_INTERVAL_MS	(5 * 60 * 1000)
#define DEFAULT_MAX_RESTARTS		10
#define DEFAULT_REVOKE_GRACE_MS		(30 * 1000)

#define STR(f)	K_STRING, #f, offsetof(struct config, f)

/* config.from_file has a bit per option. */
_Static_assert(O_COUNT <= 64, "struct config's from_file needs a wider type");

/*
 * A row without its field means field 0; clang's -Wextra warns on that
 * (gcc's does not), so the table says so once rather than on every row.
 */
#ifdef __clang__
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wmissing-field-initializers"
#endif
const struct optdef config_opts[O_COUNT] = {
	[O_SECRET] =		{ "secret", 's', K_SPECIAL, "secret" },
	[O_CONFIG] =		{ "config", 'c', K_SPECIAL, NULL },
	[O_VAULT_ADDR] =	{ "vault-addr", 'a', STR(vault_addr) },
	[O_NAMESPACE] =		{ "namespace", 'n', STR(namespace) },
	[O_TOKEN_FILE] =	{ "token-file", 't', STR(token_file) },
	[O_NO_REVOKE] =		{ "no-revoke", 0, K_FLAG, "no_revoke" },
	[O_PASS_TOKEN] =	{ "pass-token", 0, K_FLAG, "pass_token" },
	[O_NO_ENV_REFS] =	{ "no-env-refs", 0, K_NEGFLAG, "env_refs" },
	[O_LOG_LEVEL] =		{ "log-level", 'l', K_VALUE, "log_level" },
	[O_REQUEST_TIMEOUT] =	{ "request-timeout", 0, K_VALUE, "request_timeout" },
	[O_CONNECT_TIMEOUT] =	{ "connect-timeout", 0, K_VALUE, "connect_timeout" },
	[O_START_TIMEOUT] =	{ "start-timeout", 0, K_VALUE, "start_timeout" },
	[O_ON_CHANGE] =		{ "on-change", 0, K_VALUE, "on_change" },
	[O_KILL_SIGNAL] =	{ "kill-signal", 0, K_VALUE, "kill_signal" },
	[O_KILL_TIMEOUT] =	{ "kill-timeout", 0, K_VALUE, "kill_timeout" },
	[O_ROTATE_BEFORE] =	{ "rotate-before", 0, K_VALUE, "rotate_before" },
	[O_REFRESH_INTERVAL] =	{ "refresh-interval", 0, K_VALUE, "refresh_interval" },
	[O_RESTART] =		{ "restart", 0, K_VALUE, "restart" },
	[O_MAX_RESTARTS] =	{ "max-restarts", 0, K_VALUE, "max_restarts" },
	[O_ON_EXPIRE] =		{ "on-expire", 0, K_VALUE, "on_expire" },
	[O_ENV_FILE] =		{ "env-file", 0, K_LIST, "env_file" },
	[O_REVOKE_GRACE] =	{ "revoke-grace", 0, K_VALUE, "revoke_grace" },
	[O_AUTH] =		{ "auth", 0, K_VALUE, "auth" },
	[O_AUTH_MOUNT] =	{ "auth-mount", 0, K_VALUE, "auth_mount" },
	[O_AUTH_ROLE] =		{ "auth-role", 0, STR(auth_role) },
	[O_ROLE_ID] =		{ "role-id", 0, STR(role_id) },
	[O_ROLE_ID_FILE] =	{ "role-id-file", 0, STR(role_id_file) },
	[O_SECRET_ID_FILE] =	{ "secret-id-file", 0, STR(secret_id_file) },
	[O_SECRET_ID_WRAPPED] =	{ "secret-id-wrapped", 0, K_FLAG, "secret_id_wrapped" },
	[O_JWT_FILE] =		{ "jwt-file", 0, STR(jwt_file) },
	[O_CA_CERT] =		{ "ca-cert", 0, STR(ca_cert) },
	[O_CA_PATH] =		{ "ca-path", 0, STR(ca_path) },
	[O_CLIENT_CERT] =	{ "client-cert", 0, STR(client_cert) },
	[O_CLIENT_KEY] =	{ "client-key", 0, STR(client_key) },
	[O_TLS_SERVER_NAME] =	{ "tls-server-name", 0, STR(tls_server_name) },
	[O_TLS_SKIP_VERIFY] =	{ "tls-skip-verify", 0, K_FLAG, "tls_skip_verify" },
	[O_INSECURE_HTTP] =	{ "insecure-http", 0, K_FLAG, "insecure_http" },
	[O_PROCESS_GROUP] =	{ "process-group", 'g', K_FLAG, "process_group" },
	[O_TIMEOUT] =		{ "timeout", 0, K_VALUE, "timeout" },
	[O_LOG_FORMAT] =	{ "log-format", 0, K_VALUE, "log_format" },
	[O_METRICS_FILE] =	{ "metrics-file", 0, STR(metrics_file) },
	[O_METRICS_ADDR] =	{ "metrics-addr", 0, STR(metrics_addr) },
	[O_ENV_FILE_FORMAT] =	{ "env-file-format", 0, K_VALUE, "env_file_format" },
	[O_USER] =		{ "user", 'u', STR(user) },
	[O_AGENT_ADDR] =	{ "agent-addr", 0, STR(agent_addr) },
	[O_PROXY_ADDR] =	{ "proxy-addr", 0, STR(proxy_addr) },
	[O_DISABLE_REDIRECTS] =	{ "disable-redirects", 0, K_FLAG, "disable_redirects" },
	[O_TEMPLATE] =		{ "template", 'T', K_SPECIAL, "template" },
	[O_FILE] =		{ "file", 0, K_SPECIAL, "file" },
	[O_FILE_TEMPLATE] =	{ "file-template", 0, K_SPECIAL, "file_template" },
	[O_FILE_MODE] =		{ "file-mode", 0, STR(file_mode) },
	[O_KEEP_FILES] =	{ "keep-files", 0, K_FLAG, "keep_files" },
	[O_SETTLE_DELAY] =	{ "settle-delay", 0, K_VALUE, "settle_delay" },
	[O_REVOKE_CERTS] =	{ "revoke-certs", 0, K_FLAG, "revoke_certs" },
	[O_HELP] =		{ "help", 'h', K_SPECIAL, NULL },
	[O_VERSION] =		{ "version", 'V', K_SPECIAL, NULL },
};
#ifdef __clang__
#pragma clang diagnostic pop
#endif

/* getopt_long's table, built from config_opts[]; val is the opt_id + 256. */
static struct option longopts[O_COUNT + 1];
static char shortopts[64];

/* Fill longopts[] and shortopts[] from config_opts[] once. */
static void
build_getopt_tables(void)
{
	size_t n = 0;
	int i;

	if (longopts[0].name != NULL)
		return;
	shortopts[n++] = '+';
	shortopts[n++] = ':';
	for (i = 0; i < O_COUNT; i++) {
		enum opt_kind k = config_opts[i].kind;
		int takes = k == K_VALUE || k == K_STRING || k == K_LIST ||
		    i == O_SECRET || i == O_CONFIG || i == O_TEMPLATE ||
		    i == O_FILE || i == O_FILE_TEMPLATE;

		longopts[i].name = config_opts[i].name;
		longopts[i].has_arg = takes ? required_argument : no_argument;
		longopts[i].flag = NULL;
		longopts[i].val = 256 + i;
		if (config_opts[i].shortopt != 0) {
			shortopts[n++] = (char)config_opts[i].shortopt;
			if (takes)
				shortopts[n++] = ':';
		}
	}
	shortopts[n] = '\0';
}

/* Which settings the command line already fixed, so the file cannot undo them. */

/* Add sp to the list, replacing an entry of the same name when replace is set. */
int
config_add_spec(struct config *cfg, struct spec *sp, int replace, char *err,
    size_t errlen)
{
	size_t i;

	for (i = 0; i < cfg->nspecs; i++) {
		if (cfg->specs[i].tmpl || strcmp(cfg->specs[i].name,
		    sp->name) != 0)
			continue;
		if (!replace) {
			/* An earlier source (the command line) wins. */
			spec_clear(sp);
			return 0;
		}
		errf(err, errlen, "%s is requested twice; give each name once",
		    sp->name);
		spec_clear(sp);
		return -1;
	}
	cfg->specs = realloc(cfg->specs, (cfg->nspecs + 1) * sizeof(*sp));
	if (cfg->specs == NULL) {
		spec_clear(sp);
		return errf(err, errlen, "out of memory");
	}
	cfg->specs[cfg->nspecs++] = *sp;
	return 0;
}

/* Replace *dst with a copy of src. */
static void
set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = xstrdup(src);
}

const char *
config_auth_name(int m)
{
	static const char *const names[] = { "token", "approle", "kubernetes",
	    "jwt", "cert", "none" };

	return m >= 0 && m <= AUTH_NONE ? names[m] : "?";
}

/* A signal by name or number. */
int
config_parse_signal(const char *s)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
		{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
		{ "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "WINCH", SIGWINCH },
		{ "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
		{ "PWR", SIGPWR }, { "URG", SIGURG }, { "IO", SIGIO },
	};
	char *end;
	long n;
	size_t i;

	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (strcmp(s, sigs[i].name) == 0)
			return sigs[i].sig;
	n = strtol(s, &end, 10);
	if (*s != '\0' && *end == '\0' && n > 0 && n < NSIG)
		return (int)n;
	return -1;
}

/* Parse "30s" or "20%" for --rotate-before. */
static int
parse_rotate_before(struct config *cfg, const char *v)
{
	char *end;
	double pct;
	long long ms;

	if (v[0] != '\0' && v[strlen(v) - 1] == '%') {
		pct = strtod(v, &end);
		if (end == v || *end != '%' || !(pct > 0 && pct < 100))
			return -1;
		cfg->rotate_before_pct = pct / 100.0;
		return 0;
	}
	if ((ms = util_parse_duration_ms(v)) <= 0)
		return -1;
	cfg->rotate_before_ms = ms;
	cfg->rotate_before_pct = 0;
	return 0;
}

/* Append a copy of v to a NULL-terminated list. */
static void
list_add(char ***list, size_t *n, const char *v)
{
	char **l = realloc(*list, (*n + 2) * sizeof(char *));

	if (l == NULL) {
		fputs("leasewrap: error: out of memory\n", stderr);
		abort();
	}
	l[(*n)++] = xstrdup(v);
	l[*n] = NULL;
	*list = l;
}

/* --auth and --auth-mount. */
static int
set_auth(struct config *cfg, int id, const char *v, char *err, size_t errlen)
{
	size_t n;
	int x;

	if (id == O_AUTH) {
		for (x = AUTH_TOKEN; x <= AUTH_NONE; x++)
			if (strcmp(v, config_auth_name(x)) == 0) {
				cfg->auth = x;
				return 0;
			}
		return errf(err, errlen, "expected token, approle, kubernetes, "
		    "jwt, cert or none");
	}
	while (*v == '/')
		v++;
	if (*v == '\0')
		return errf(err, errlen, "expected a mount path like "
		    "\"approle\"");
	set_str(&cfg->auth_mount, v);
	n = strlen(cfg->auth_mount);
	while (n > 0 && cfg->auth_mount[n - 1] == '/')
		cfg->auth_mount[--n] = '\0';
	return 0;
}

/* The options that take a duration. */
static int
set_duration(struct config *cfg, int id, const char *v, char *err,
    size_t errlen)
{
	long long ms;

	/* Also "PATH=DURATION"; the file's are read by config_file_pathdur(). */
	if (id == O_REFRESH_INTERVAL || id == O_SETTLE_DELAY)
		return config_add_pathdur(cfg, id, v, 0, 0, err, errlen);
	if ((ms = util_parse_duration_ms(v)) <= 0)
		return errf(err, errlen, "expected a duration like \"30s\", "
		    "\"5m\" or \"1h\"");
	switch (id) {
	case O_REQUEST_TIMEOUT:
		cfg->request_timeout_ms = ms;
		break;
	case O_CONNECT_TIMEOUT:
		cfg->connect_timeout_ms = ms;
		break;
	case O_START_TIMEOUT:
		cfg->start_timeout_ms = ms;
		break;
	case O_KILL_TIMEOUT:
		cfg->kill_timeout_ms = ms;
		break;
	case O_REVOKE_GRACE:
		cfg->revoke_grace_ms = ms;
		break;
	case O_TIMEOUT:
		cfg->timeout_ms = ms;
		break;
	default:
		return errf(err, errlen, "internal error: option %d", id);
	}
	return 0;
}

/*
 * Set option id from its string value v.  Returns -1 with what was
 * expected in err; the caller says where the value came from.
 */
int
config_set_value(struct config *cfg, int id, const char *v, char *err,
    size_t errlen)
{
	char *end;
	long n;
	int x;

	if (config_opts[id].kind == K_STRING) {
		set_str((char **)(void *)((char *)cfg + config_opts[id].field), v);
		return 0;
	}
	switch (id) {
	case O_ENV_FILE:
		list_add(&cfg->env_files, &cfg->nenv_files, v);
		return 0;
	case O_ENV_FILE_FORMAT:
		if ((x = envfile_parse_format(v)) == -1)
			return errf(err, errlen, "expected dotenv, shell or json");
		cfg->env_file_format = x;
		return 0;
	case O_AUTH:
	case O_AUTH_MOUNT:
		return set_auth(cfg, id, v, err, errlen);
	case O_LOG_LEVEL:
		if ((x = log_parse_level(v)) == -1)
			return errf(err, errlen, "expected debug, info, warn, "
			    "error or off");
		cfg->log_level = x;
		return 0;
	case O_LOG_FORMAT:
		if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0)
			return errf(err, errlen, "expected text or json");
		cfg->log_json = strcmp(v, "json") == 0;
		return 0;
	case O_ON_CHANGE:
		if (strcmp(v, "restart") == 0)
			cfg->on_change = CHANGE_RESTART;
		else if (strcmp(v, "exit") == 0)
			cfg->on_change = CHANGE_EXIT;
		else if (strncmp(v, "signal:", 7) == 0 &&
		    (x = config_parse_signal(v + 7)) > 0) {
			cfg->on_change = CHANGE_SIGNAL;
			cfg->change_signal = x;
		} else
			return errf(err, errlen, "expected restart, exit or "
			    "signal:SIGNAME like signal:SIGHUP");
		return 0;
	case O_KILL_SIGNAL:
		if ((x = config_parse_signal(v)) <= 0)
			return errf(err, errlen, "expected a signal like TERM, "
			    "INT or QUIT");
		cfg->kill_signal = x;
		return 0;
	case O_RESTART:
		if (strcmp(v, "never") == 0)
			cfg->restart = RESTART_NEVER;
		else if (strcmp(v, "on-failure") == 0)
			cfg->restart = RESTART_ON_FAILURE;
		else if (strcmp(v, "always") == 0)
			cfg->restart = RESTART_ALWAYS;
		else
			return errf(err, errlen, "expected never, on-failure or "
			    "always");
		return 0;
	case O_ON_EXPIRE:
		if (strcmp(v, "exit") == 0)
			cfg->on_expire = EXPIRE_EXIT;
		else if (strcmp(v, "warn") == 0)
			cfg->on_expire = EXPIRE_WARN;
		else
			return errf(err, errlen, "expected exit or warn");
		return 0;
	case O_MAX_RESTARTS:
		n = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || n < 0 || n > 1000000)
			return errf(err, errlen, "expected a number of restarts "
			    "like 10");
		cfg->max_restarts = (int)n;
		return 0;
	case O_ROTATE_BEFORE:
		if (parse_rotate_before(cfg, v) == -1)
			return errf(err, errlen, "expected a duration like "
			    "\"5m\" or a share of the lease like \"20%%\"");
		return 0;
	default:
		break;
	}
	return set_duration(cfg, id, v, err, errlen);
}

/* Set a K_FLAG or K_NEGFLAG option to on (the flag's sense). */
void
config_set_flag(struct config *cfg, int id, int on)
{
	switch (id) {
	case O_NO_REVOKE:
		cfg->no_revoke = on;
		break;
	case O_PASS_TOKEN:
		cfg->pass_token = on;
		break;
	case O_NO_ENV_REFS:
		cfg->env_refs = !on;
		break;
	case O_SECRET_ID_WRAPPED:
		cfg->secret_id_wrapped = on;
		break;
	case O_TLS_SKIP_VERIFY:
		cfg->tls_skip_verify = on;
		break;
	case O_INSECURE_HTTP:
		cfg->insecure_http = on;
		break;
	case O_PROCESS_GROUP:
		cfg->process_group = on;
		break;
	case O_DISABLE_REDIRECTS:
		cfg->disable_redirects = on;
		break;
	case O_KEEP_FILES:
		cfg->keep_files = on;
		break;
	case O_REVOKE_CERTS:
		cfg->revoke_certs = on;
		break;
	default:
		break;
	}
}

/*
 * The Vault CLI's variables that stand for an option (hashicorp/vault
 * api/client.go, ReadEnvironment),
 * and leasewrap's own for its logs (set in a container's environment).
 */
static const struct { const char *name; int id; } env_opts[] = {
	{ "LEASEWRAP_LOG_LEVEL", O_LOG_LEVEL },
	{ "LEASEWRAP_LOG_FORMAT", O_LOG_FORMAT },
	{ "VAULT_NAMESPACE", O_NAMESPACE },
	{ "VAULT_CACERT", O_CA_CERT },
	{ "VAULT_CAPATH", O_CA_PATH },
	{ "VAULT_CLIENT_CERT", O_CLIENT_CERT },
	{ "VAULT_CLIENT_KEY", O_CLIENT_KEY },
	{ "VAULT_TLS_SERVER_NAME", O_TLS_SERVER_NAME },
	{ "VAULT_AGENT_ADDR", O_AGENT_ADDR },
	{ "VAULT_CLIENT_TIMEOUT", O_REQUEST_TIMEOUT },
	/* VAULT_PROXY_ADDR supersedes VAULT_HTTP_PROXY (ReadEnvironment). */
	{ "VAULT_PROXY_ADDR", O_PROXY_ADDR },
	{ "VAULT_HTTP_PROXY", O_PROXY_ADDR },
};

/* Boolean variables of the Vault CLI, read with Go's strconv.ParseBool. */
static const struct { const char *name; int id; } env_bools[] = {
	{ "VAULT_SKIP_VERIFY", O_TLS_SKIP_VERIFY },
	{ "VAULT_DISABLE_REDIRECTS", O_DISABLE_REDIRECTS },
};

/* Go's strconv.ParseBool, as VAULT_SKIP_VERIFY is read; -1 if neither. */
static int
parse_bool(const char *v)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false",
	    "False" };
	size_t i;

	for (i = 0; i < 6; i++) {
		if (strcmp(v, t[i]) == 0)
			return 1;
		if (strcmp(v, f[i]) == 0)
			return 0;
	}
	return -1;
}

/* Look NAME up in envp without touching environ. */
static const char *
env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/*
 * Collect inherited "NAME=vault:PATH#FIELD" variables as secret requests
 * ("vault:TEXT" with placeholders as templates): the first nflags specs
 * came from -s and win, the file's lose.
 */
static int
env_refs(struct config *cfg, size_t nflags, char **envp, char *err,
    size_t errlen)
{
	char sub[512];
	struct spec sp;
	const char *eq;
	size_t i;

	for (; envp != NULL && *envp != NULL; envp++) {
		if ((eq = strchr(*envp, '=')) == NULL ||
		    strncmp(eq + 1, "vault:", 6) != 0)
			continue;
		/* "vault:TEXT" with {{ PATH#FIELD }} placeholders: a template. */
		if (strstr(eq + 7, "{{") != NULL) {
			if (config_env_template(cfg, nflags, *envp,
			    (size_t)(eq - *envp), eq + 7, err, errlen) == -1)
				return -1;
			continue;
		}
		{
			char *name = xstrndup(*envp, (size_t)(eq - *envp));
			int rc = spec_parse_ref(name, eq + 7, &sp, sub,
			    sizeof(sub));

			free(name);
			if (rc == -1)
				return errf(err, errlen, "%s; or run with "
				    "--no-env-refs to pass it on as it is", sub);
		}
		for (i = nflags; i < cfg->nspecs; i++)
			if (!cfg->specs[i].tmpl &&
			    strcmp(cfg->specs[i].name, sp.name) == 0)
				break;
		if (i < cfg->nspecs) {
			spec_clear(&cfg->specs[i]);
			cfg->specs[i] = sp;
			continue;
		}
		if (config_add_spec(cfg, &sp, 0, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* Every setting's default, before any source is read. */
static void
set_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->env_refs = 1;
	cfg->log_level = LOG_WARN;
	cfg->request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
	cfg->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	cfg->start_timeout_ms = DEFAULT_START_TIMEOUT_MS;
	cfg->max_response = DEFAULT_MAX_RESPONSE;
	cfg->on_change = CHANGE_RESTART;
	cfg->kill_signal = SIGTERM;
	cfg->kill_timeout_ms = DEFAULT_KILL_TIMEOUT_MS;
	cfg->rotate_before_pct = DEFAULT_ROTATE_BEFORE_PCT;
	cfg->refresh_interval_ms = DEFAULT_REFRESH_INTERVAL_MS;
	cfg->restart = RESTART_NEVER;
	cfg->max_restarts = DEFAULT_MAX_RESTARTS;
	cfg->on_expire = EXPIRE_EXIT;
	cfg->revoke_grace_ms = DEFAULT_REVOKE_GRACE_MS;
}

/* Apply one command-line option; -1 with a message. */
static int
apply_flag(struct config *cfg, int id, char *err, size_t errlen)
{
	char why[256];
	struct spec sp;

	switch (id) {
	case O_SECRET:
		if (spec_parse(optarg, &sp, err, errlen) == -1 ||
		    config_add_spec(cfg, &sp, 1, err, errlen) == -1)
			return -1;
		break;
	case O_TEMPLATE:
	case O_FILE:
	case O_FILE_TEMPLATE:
		return config_add_template(cfg, id == O_TEMPLATE ? TK_TEMPLATE :
		    id == O_FILE ? TK_FILE : TK_FILE_TEMPLATE, optarg, 1, err,
		    errlen);
	case O_CONFIG:
		set_str(&cfg->config_path, optarg);
		break;
	case O_HELP:
		cfg->help = 1;
		break;
	case O_VERSION:
		cfg->version = 1;
		break;
	default:
		if (config_opts[id].kind == K_FLAG ||
		    config_opts[id].kind == K_NEGFLAG)
			config_set_flag(cfg, id, 1);
		else if (config_set_value(cfg, id, optarg, why,
		    sizeof(why)) == -1)
			return errf(err, errlen, "--%s \"%.40s\": %s",
			    config_opts[id].name, optarg, why);
		break;
	}
	return 0;
}

/* The option a getopt_long answer stands for; -1 with a message if none. */
static int
flag_id(int c, const char *cur, char *err, size_t errlen)
{
	int i, id = c >= 256 ? c - 256 : -1;

	if (c == ':')
		return errf(err, errlen, "option \"%s\" needs a value; see "
		    "leasewrap --help", cur);
	for (i = 0; id == -1 && i < O_COUNT; i++)
		if (config_opts[i].shortopt != 0 && config_opts[i].shortopt == c)
			id = i;
	if (id >= 0 && id < O_COUNT)
		return id;
	/* glibc sets optopt to a long option's val when it was given a value it does not take. */
	if (cur != NULL && strncmp(cur, "--", 2) == 0)
		return errf(err, errlen, "unknown option \"%.40s\" (or one "
		    "that takes no value); see leasewrap --help", cur);
	return errf(err, errlen, "unknown option \"-%c\"; see leasewrap "
	    "--help", optopt);
}

/* The command line: options, then "--" and the command.  0 or -1 with a message. */
static int
parse_flags(struct config *cfg, struct seen *seen, int argc, char **argv,
    char *err, size_t errlen)
{
	const char *cur;
	int c, id;

	opterr = 0;
	optind = 0;	/* glibc: 0 also drops a half-read "-hV" of a past call */
	for (;;) {
		/* The argument being read, for messages (optind 0 means 1). */
		cur = optind < argc ? argv[optind > 0 ? optind : 1] : NULL;
		if ((c = getopt_long(argc, argv, shortopts, longopts,
		    NULL)) == -1)
			break;
		if ((id = flag_id(c, c == ':' ? argv[optind - 1] : cur, err,
		    errlen)) == -1)
			return -1;
		/* A path's own duration leaves the file's default be. */
		if ((id != O_REFRESH_INTERVAL && id != O_SETTLE_DELAY) ||
		    strchr(optarg, '=') == NULL)
			seen->set[id] = 1;
		if (apply_flag(cfg, id, err, errlen) == -1)
			return -1;
		if (cfg->help || cfg->version)
			return 0;
	}
	if (optind < argc && (optind <= 1 ||
	    strcmp(argv[optind - 1], "--") != 0))
		return errf(err, errlen, "missing \"--\" before the command "
		    "\"%.40s\"; usage: leasewrap [OPTIONS] -- COMMAND [ARG...]",
		    argv[optind]);
	if (optind < argc) {
		cfg->argv = argv + optind;
		cfg->argc = argc - optind;
	}
	return 0;
}

/* The environment, below the command line.  0 or -1 with a message. */
static int
read_env(struct config *cfg, struct seen *seen, char **envp, char *err,
    size_t errlen)
{
	char why[256];
	const char *v;
	size_t k;
	int b;

	if (!seen->set[O_VAULT_ADDR] &&
	    (v = env_get(envp, "VAULT_ADDR")) != NULL && *v != '\0') {
		set_str(&cfg->vault_addr, v);
		seen->set[O_VAULT_ADDR] = 1;
	}
	for (k = 0; k < sizeof(env_opts) / sizeof(env_opts[0]); k++)
		if (!seen->set[env_opts[k].id] &&
		    (v = env_get(envp, env_opts[k].name)) != NULL && *v != '\0') {
			if (config_set_value(cfg, env_opts[k].id, v, why,
			    sizeof(why)) == -1)
				return errf(err, errlen, "%s \"%.40s\": %s",
				    env_opts[k].name, v, why);
			seen->set[env_opts[k].id] = 1;
		}
	for (k = 0; k < sizeof(env_bools) / sizeof(env_bools[0]); k++) {
		if (seen->set[env_bools[k].id] || (v = env_get(envp,
		    env_bools[k].name)) == NULL || *v == '\0')
			continue;
		if ((b = parse_bool(v)) == -1)
			return errf(err, errlen, "%s \"%.20s\": expected true or "
			    "false (or 1 or 0)", env_bools[k].name, v);
		config_set_flag(cfg, env_bools[k].id, b);
		seen->set[env_bools[k].id] = 1;
	}
	return 0;
}

int
config_load(struct config *cfg, int argc, char **argv, char **envp,
    char *err, size_t errlen)
{
	struct seen seen;
	size_t nflags;
	int rc;

	set_defaults(cfg);
	memset(&seen, 0, sizeof(seen));
	build_getopt_tables();
	/* "leasewrap check [OPTIONS]": the pre-flight check of a configuration. */
	if (argc > 1 && strcmp(argv[1], "check") == 0) {
		cfg->check = 1;
		argv++;
		argc--;
	}
	if (parse_flags(cfg, &seen, argc, argv, err, errlen) == -1)
		return LW_EXIT_USAGE;
	if (cfg->help || cfg->version)
		return 0;
	nflags = cfg->nspecs;
	if (read_env(cfg, &seen, envp, err, errlen) == -1)
		return LW_EXIT_CONFIG;
	if (cfg->config_path != NULL &&
	    config_load_file(cfg, &seen, cfg->config_path, err, errlen) == -1)
		return LW_EXIT_CONFIG;
	if (cfg->env_refs && env_refs(cfg, nflags, envp, err, errlen) == -1)
		return LW_EXIT_USAGE;
	if (config_check_templates(cfg, err, errlen) == -1)
		return LW_EXIT_USAGE;
	if ((rc = config_check_pathdurs(cfg, err, errlen)) != 0)
		return rc;
	/* --user: root only (the outputs are checked by preflight.c). */
	if (cfg->user != NULL && geteuid() != 0) {
		errf(err, errlen, "--user \"%.40s\": leasewrap runs as uid %ld, "
		    "and only root can run the command as another user; drop "
		    "--user or start leasewrap as root", cfg->user,
		    (long)geteuid());
		return LW_EXIT_NOPERM;
	}
	if (cfg->user != NULL &&
	    runas_resolve(cfg->user, &cfg->runas, err, errlen) == -1)
		return LW_EXIT_USAGE;
	/* The Go client's NewClient: the Agent's address wins. */
	if (cfg->agent_addr != NULL)
		set_str(&cfg->vault_addr, cfg->agent_addr);
	if (cfg->check) {
		if (cfg->nspecs == 0) {
			errf(err, errlen, "check: no secret requested; give -s "
			    "NAME=PATH#FIELD, -T NAME=TEXT or a config file with "
			    "\"secret\"");
			return LW_EXIT_USAGE;
		}
		return 0;	/* a command, if any, is not run */
	}
	if (cfg->argv == NULL) {
		errf(err, errlen, "no command given; usage: leasewrap [OPTIONS] "
		    "-- COMMAND [ARG...]");
		return LW_EXIT_USAGE;
	}
	return 0;
}

void
config_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nspecs; i++)
		spec_clear(&cfg->specs[i]);
	free(cfg->specs);
	config_free_templates(cfg);
	config_free_pathdurs(cfg);
	if (cfg->argv_owned) {
		for (i = 0; cfg->argv[i] != NULL; i++)
			free(cfg->argv[i]);
		free(cfg->argv);
	}
	for (i = 0; i < O_COUNT; i++)
		if (config_opts[i].kind == K_STRING)
			free(*(char **)(void *)((char *)cfg + config_opts[i].field));
	free(cfg->config_path);
	free(cfg->auth_mount);
	for (i = 0; i < cfg->nenv_files; i++)
		free(cfg->env_files[i]);
	free(cfg->env_files);
	runas_free(&cfg->runas);
	memset(cfg, 0, sizeof(*cfg));
}

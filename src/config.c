/* config.c: command line, environment and JSON config file into one config. */
#define _GNU_SOURCE
#include "config.h"
#include "exitcodes.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REQUEST_TIMEOUT_MS	(30 * 1000)
#define DEFAULT_CONNECT_TIMEOUT_MS	(10 * 1000)
#define DEFAULT_START_TIMEOUT_MS	(60 * 1000)
#define DEFAULT_MAX_RESPONSE		(1024 * 1024)

enum {
	OPT_NO_REVOKE = 256,
	OPT_PASS_TOKEN,
	OPT_NO_ENV_REFS,
	OPT_REQUEST_TIMEOUT,
	OPT_CONNECT_TIMEOUT,
	OPT_START_TIMEOUT,
};

static const struct option longopts[] = {
	{ "secret",		required_argument, NULL, 's' },
	{ "config",		required_argument, NULL, 'c' },
	{ "vault-addr",		required_argument, NULL, 'a' },
	{ "namespace",		required_argument, NULL, 'n' },
	{ "token-file",		required_argument, NULL, 't' },
	{ "no-revoke",		no_argument,	   NULL, OPT_NO_REVOKE },
	{ "pass-token",		no_argument,	   NULL, OPT_PASS_TOKEN },
	{ "no-env-refs",	no_argument,	   NULL, OPT_NO_ENV_REFS },
	{ "log-level",		required_argument, NULL, 'l' },
	{ "request-timeout",	required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "connect-timeout",	required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "start-timeout",	required_argument, NULL, OPT_START_TIMEOUT },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static const char usage_text[] =
"usage: leasewrap [OPTIONS] -- COMMAND [ARG...]\n"
"\n"
"Run COMMAND with secrets from HashiCorp Vault in its environment, stay its\n"
"parent, and revoke every lease it created when COMMAND exits.\n"
"\n"
"Secrets:\n"
"  -s, --secret NAME=PATH#FIELD  set NAME to FIELD of the secret at Vault API\n"
"                                PATH (repeatable; names on one path share one\n"
"                                read and one lease)\n"
"      --no-env-refs             do not resolve inherited variables whose value\n"
"                                is vault:PATH#FIELD\n"
"      --pass-token              leave VAULT_TOKEN in the command's environment\n"
"      --no-revoke               leave leases alive at exit\n"
"\n"
"Vault:\n"
"  -a, --vault-addr URL          Vault address (env VAULT_ADDR)\n"
"  -n, --namespace NS            Vault namespace (env VAULT_NAMESPACE)\n"
"  -t, --token-file FILE         read the token from FILE when VAULT_TOKEN is\n"
"                                unset (default ~/.vault-token)\n"
"      --request-timeout DUR     give up on one Vault request after DUR\n"
"                                (default 30s)\n"
"      --connect-timeout DUR     give up connecting after DUR (default 10s)\n"
"      --start-timeout DUR       keep retrying an unavailable Vault at start\n"
"                                for DUR, then exit 69 (default 60s)\n"
"\n"
"General:\n"
"  -c, --config FILE             JSON file with the same settings (flags win)\n"
"  -l, --log-level LEVEL         debug, info, warn (default), error or off\n"
"  -h, --help                    show this help and exit\n"
"  -V, --version                 show the version and exit\n"
"\n"
"Exit status: COMMAND's own, 128+N if it died of signal N, 126/127 if it\n"
"cannot be run or found; 64 usage, 65 missing secret or field, 69 Vault\n"
"unavailable, 70 internal error, 71 system error, 77 permission denied,\n"
"78 configuration error.  See leasewrap(1).\n";

const char *
config_usage(void)
{
	return usage_text;
}

/* Which settings the command line already fixed, so the file cannot undo them. */
struct seen {
	int vault_addr, namespace, token_file, no_revoke, pass_token;
	int env_refs, log_level, request_timeout, connect_timeout;
	int start_timeout;
};

/* Add sp to the list, replacing an entry of the same name when replace is set. */
static int
add_spec(struct config *cfg, struct spec *sp, int replace, char *err,
    size_t errlen)
{
	size_t i;

	for (i = 0; i < cfg->nspecs; i++) {
		if (strcmp(cfg->specs[i].name, sp->name) != 0)
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

/* Parse a duration option, naming it in the error. */
static int
parse_dur(const char *name, const char *v, long long *out, char *err,
    size_t errlen)
{
	long long ms = util_parse_duration_ms(v);

	if (ms <= 0)
		return errf(err, errlen, "%s \"%.40s\": expected a duration "
		    "like \"30s\", \"5m\" or \"1h\"", name, v);
	*out = ms;
	return 0;
}

/* Levenshtein distance, to suggest the key a typo meant. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64], prev, tmp;

	if (lb >= sizeof(row) / sizeof(row[0]) || la >= 64)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

static const char *const file_keys[] = {
	"vault_addr", "namespace", "token_file", "secret", "no_revoke",
	"pass_token", "env_refs", "log_level", "request_timeout",
	"connect_timeout", "start_timeout", "command", NULL
};

/* Read a string value of the config file or say which type was expected. */
static int
file_str(const char *path, const char *key, json_t *v, const char **out,
    char *err, size_t errlen)
{
	if (!json_is_string(v) || json_string_length(v) == 0)
		return errf(err, errlen, "config \"%s\": \"%s\": expected a "
		    "non-empty string", path, key);
	*out = json_string_value(v);
	return 0;
}

static int
file_bool(const char *path, const char *key, json_t *v, int *out, char *err,
    size_t errlen)
{
	if (!json_is_boolean(v))
		return errf(err, errlen, "config \"%s\": \"%s\": expected true "
		    "or false", path, key);
	*out = json_is_true(v);
	return 0;
}

/* The "secret" key: an array of "NAME=PATH#FIELD" or an object NAME -> "PATH#FIELD". */
static int
file_secrets(struct config *cfg, const char *path, json_t *v, char *err,
    size_t errlen)
{
	char sub[512];
	struct spec sp;
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!json_is_string(e))
				return errf(err, errlen, "config \"%s\": "
				    "\"secret\"[%zu]: expected a string like "
				    "\"PGUSER=database/creds/ro#username\"",
				    path, i);
			if (spec_parse(json_string_value(e), &sp, sub,
			    sizeof(sub)) == -1)
				return errf(err, errlen, "config \"%s\": %s",
				    path, sub);
			if (add_spec(cfg, &sp, 0, err, errlen) == -1)
				return -1;
		}
		return 0;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, k, e) {
			if (!json_is_string(e))
				return errf(err, errlen, "config \"%s\": "
				    "\"secret\".\"%s\": expected a string like "
				    "\"database/creds/ro#username\"", path, k);
			if (!util_valid_env_name(k, strlen(k)))
				return errf(err, errlen, "config \"%s\": "
				    "\"secret\": \"%s\" is not a valid variable "
				    "name", path, k);
			if (spec_parse_ref(k, json_string_value(e), &sp, sub,
			    sizeof(sub)) == -1)
				return errf(err, errlen, "config \"%s\": "
				    "\"secret\".\"%s\": %s", path, k, sub);
			sp.from_env = 0;
			if (add_spec(cfg, &sp, 0, err, errlen) == -1)
				return -1;
		}
		return 0;
	}
	return errf(err, errlen, "config \"%s\": \"secret\": expected an array "
	    "of \"NAME=PATH#FIELD\" or an object of NAME: \"PATH#FIELD\"", path);
}

/* The "command" key: the command to run when none follows "--". */
static int
file_command(struct config *cfg, const char *path, json_t *v, char *err,
    size_t errlen)
{
	size_t i, n;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return errf(err, errlen, "config \"%s\": \"command\": expected "
		    "a non-empty array of strings", path);
	n = json_array_size(v);
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return errf(err, errlen, "config \"%s\": \"command\"[%zu]:"
			    " expected a string", path, i);
	if (cfg->argv != NULL)
		return 0;	/* the command line wins */
	cfg->argv = xcalloc(n + 1, sizeof(char *));
	json_array_foreach(v, i, e)
		cfg->argv[i] = xstrdup(json_string_value(e));
	cfg->argc = (int)n;
	cfg->argv_owned = 1;
	return 0;
}

/* Apply one key of the config file unless the command line set it. */
static int
file_key(struct config *cfg, const struct seen *seen, const char *path,
    const char *key, json_t *v, char *err, size_t errlen)
{
	const char *s = NULL;
	int b = 0, lvl;

	if (strcmp(key, "secret") == 0)
		return file_secrets(cfg, path, v, err, errlen);
	if (strcmp(key, "command") == 0)
		return file_command(cfg, path, v, err, errlen);
	if (strcmp(key, "vault_addr") == 0 || strcmp(key, "namespace") == 0 ||
	    strcmp(key, "token_file") == 0 || strcmp(key, "log_level") == 0 ||
	    strcmp(key, "request_timeout") == 0 ||
	    strcmp(key, "connect_timeout") == 0 ||
	    strcmp(key, "start_timeout") == 0) {
		if (file_str(path, key, v, &s, err, errlen) == -1)
			return -1;
		if (strcmp(key, "vault_addr") == 0) {
			if (!seen->vault_addr)
				set_str(&cfg->vault_addr, s);
		} else if (strcmp(key, "namespace") == 0) {
			if (!seen->namespace)
				set_str(&cfg->namespace, s);
		} else if (strcmp(key, "token_file") == 0) {
			if (!seen->token_file)
				set_str(&cfg->token_file, s);
		} else if (strcmp(key, "log_level") == 0) {
			if ((lvl = log_parse_level(s)) == -1)
				return errf(err, errlen, "config \"%s\": "
				    "\"log_level\": \"%.20s\" is not one of debug, "
				    "info, warn, error, off", path, s);
			if (!seen->log_level)
				cfg->log_level = lvl;
		} else {
			/* one of the *_timeout durations */
			char what[4200];
			long long ms = 0;

			snprintf(what, sizeof(what), "config \"%.4096s\": \"%s\"",
			    path, key);
			if (parse_dur(what, s, &ms, err, errlen) == -1)
				return -1;
			if (key[0] == 'r' && !seen->request_timeout)
				cfg->request_timeout_ms = ms;
			else if (key[0] == 'c' && !seen->connect_timeout)
				cfg->connect_timeout_ms = ms;
			else if (key[0] == 's' && !seen->start_timeout)
				cfg->start_timeout_ms = ms;
		}
		return 0;
	}
	if (strcmp(key, "no_revoke") == 0 || strcmp(key, "pass_token") == 0 ||
	    strcmp(key, "env_refs") == 0) {
		if (file_bool(path, key, v, &b, err, errlen) == -1)
			return -1;
		if (strcmp(key, "no_revoke") == 0 && !seen->no_revoke)
			cfg->no_revoke = b;
		else if (strcmp(key, "pass_token") == 0 && !seen->pass_token)
			cfg->pass_token = b;
		else if (strcmp(key, "env_refs") == 0 && !seen->env_refs)
			cfg->env_refs = b;
		return 0;
	}
	/* Unknown: suggest the nearest known key. */
	{
		const char *best = NULL;
		size_t d, bestd = 3;

		for (size_t i = 0; file_keys[i] != NULL; i++)
			if ((d = distance(key, file_keys[i])) < bestd) {
				bestd = d;
				best = file_keys[i];
			}
		if (best != NULL)
			return errf(err, errlen, "config \"%s\": unknown key "
			    "\"%.40s\"; did you mean \"%s\"?", path, key, best);
		return errf(err, errlen, "config \"%s\": unknown key \"%.40s\"; "
		    "see leasewrap(1) for the keys", path, key);
	}
}

/* Load the JSON config file over what the command line left unset. */
static int
load_file(struct config *cfg, const struct seen *seen, const char *path,
    char *err, size_t errlen)
{
	json_error_t jerr;
	const char *key;
	json_t *root, *v;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return errf(err, errlen, "config \"%s\": %s; check the path "
		    "given to -c", path, strerror(errno));
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	if (ferror(f)) {
		/* A directory opens but cannot be read. */
		int e = errno;

		fclose(f);
		json_decref(root);
		return errf(err, errlen, "config \"%s\": %s; check the path "
		    "given to -c", path, strerror(e));
	}
	fclose(f);
	if (root == NULL)
		return errf(err, errlen, "config \"%s\": line %d: not valid "
		    "JSON: %s", path, jerr.line, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return errf(err, errlen, "config \"%s\": expected a JSON object "
		    "at the top, like {\"secret\": [...]}", path);
	}
	json_object_foreach(root, key, v) {
		if (file_key(cfg, seen, path, key, v, err, errlen) == -1) {
			json_decref(root);
			return -1;
		}
	}
	json_decref(root);
	return 0;
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
 * Collect inherited "NAME=vault:PATH#FIELD" variables as secret requests:
 * the first nflags specs came from -s and win, the file's lose.
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
			if (strcmp(cfg->specs[i].name, sp.name) == 0)
				break;
		if (i < cfg->nspecs) {
			spec_clear(&cfg->specs[i]);
			cfg->specs[i] = sp;
			continue;
		}
		if (add_spec(cfg, &sp, 0, err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
config_load(struct config *cfg, int argc, char **argv, char **envp,
    char *err, size_t errlen)
{
	struct seen seen;
	const char *v;
	struct spec sp;
	const char *cur;
	size_t nflags;
	int c, lvl, dashdash;

	memset(cfg, 0, sizeof(*cfg));
	memset(&seen, 0, sizeof(seen));
	cfg->env_refs = 1;
	cfg->log_level = LOG_WARN;
	cfg->request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
	cfg->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	cfg->start_timeout_ms = DEFAULT_START_TIMEOUT_MS;
	cfg->max_response = DEFAULT_MAX_RESPONSE;

	opterr = 0;
	optind = 0;	/* glibc: 0 also drops a half-read "-hV" of a past call */
	for (;;) {
		/* The argument being read, for messages (optind 0 means 1). */
		cur = optind < argc ? argv[optind > 0 ? optind : 1] : NULL;
		if ((c = getopt_long(argc, argv, "+:s:c:a:n:t:l:hV", longopts,
		    NULL)) == -1)
			break;
		switch (c) {
		case 's':
			if (spec_parse(optarg, &sp, err, errlen) == -1 ||
			    add_spec(cfg, &sp, 1, err, errlen) == -1)
				return LW_EXIT_USAGE;
			break;
		case 'c':
			set_str(&cfg->config_path, optarg);
			break;
		case 'a':
			set_str(&cfg->vault_addr, optarg);
			seen.vault_addr = 1;
			break;
		case 'n':
			set_str(&cfg->namespace, optarg);
			seen.namespace = 1;
			break;
		case 't':
			set_str(&cfg->token_file, optarg);
			seen.token_file = 1;
			break;
		case OPT_NO_REVOKE:
			cfg->no_revoke = seen.no_revoke = 1;
			break;
		case OPT_PASS_TOKEN:
			cfg->pass_token = seen.pass_token = 1;
			break;
		case OPT_NO_ENV_REFS:
			cfg->env_refs = 0;
			seen.env_refs = 1;
			break;
		case 'l':
			if ((lvl = log_parse_level(optarg)) == -1) {
				errf(err, errlen, "--log-level \"%.20s\": expected "
				    "debug, info, warn, error or off", optarg);
				return LW_EXIT_USAGE;
			}
			cfg->log_level = lvl;
			seen.log_level = 1;
			break;
		case OPT_REQUEST_TIMEOUT:
			if (parse_dur("--request-timeout", optarg,
			    &cfg->request_timeout_ms, err, errlen) == -1)
				return LW_EXIT_USAGE;
			seen.request_timeout = 1;
			break;
		case OPT_CONNECT_TIMEOUT:
			if (parse_dur("--connect-timeout", optarg,
			    &cfg->connect_timeout_ms, err, errlen) == -1)
				return LW_EXIT_USAGE;
			seen.connect_timeout = 1;
			break;
		case OPT_START_TIMEOUT:
			if (parse_dur("--start-timeout", optarg,
			    &cfg->start_timeout_ms, err, errlen) == -1)
				return LW_EXIT_USAGE;
			seen.start_timeout = 1;
			break;
		case 'h':
			cfg->help = 1;
			return 0;
		case 'V':
			cfg->version = 1;
			return 0;
		case ':':
			errf(err, errlen, "option \"%s\" needs a value; see "
			    "leasewrap --help", argv[optind - 1]);
			return LW_EXIT_USAGE;
		default:
			/* glibc sets optopt to a long option's val when it
			 * was given a value it does not take. */
			if (cur != NULL && strncmp(cur, "--", 2) == 0)
				errf(err, errlen, "unknown option \"%.40s\" (or "
				    "one that takes no value); see leasewrap "
				    "--help", cur);
			else
				errf(err, errlen, "unknown option \"-%c\"; see "
				    "leasewrap --help", optopt);
			return LW_EXIT_USAGE;
		}
	}
	nflags = cfg->nspecs;
	dashdash = optind > 1 && strcmp(argv[optind - 1], "--") == 0;
	if (optind < argc && !dashdash) {
		errf(err, errlen, "missing \"--\" before the command \"%.40s\"; "
		    "usage: leasewrap [OPTIONS] -- COMMAND [ARG...]",
		    argv[optind]);
		return LW_EXIT_USAGE;
	}
	if (optind < argc) {
		cfg->argv = argv + optind;
		cfg->argc = argc - optind;
	}

	/* The environment, below the command line. */
	if (!seen.vault_addr && (v = env_get(envp, "VAULT_ADDR")) != NULL &&
	    *v != '\0') {
		set_str(&cfg->vault_addr, v);
		seen.vault_addr = 1;
	}
	if (!seen.namespace && (v = env_get(envp, "VAULT_NAMESPACE")) != NULL &&
	    *v != '\0') {
		set_str(&cfg->namespace, v);
		seen.namespace = 1;
	}

	if (cfg->config_path != NULL &&
	    load_file(cfg, &seen, cfg->config_path, err, errlen) == -1)
		return LW_EXIT_CONFIG;
	if (cfg->env_refs && env_refs(cfg, nflags, envp, err, errlen) == -1)
		return LW_EXIT_USAGE;
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
	if (cfg->argv_owned) {
		for (i = 0; cfg->argv[i] != NULL; i++)
			free(cfg->argv[i]);
		free(cfg->argv);
	}
	free(cfg->vault_addr);
	free(cfg->namespace);
	free(cfg->token_file);
	free(cfg->config_path);
	memset(cfg, 0, sizeof(*cfg));
}

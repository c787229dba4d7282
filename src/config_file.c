/* config_file.c: the JSON config file (-c) over what the command line left unset. */
#define _GNU_SOURCE
#include "config.h"
#include "config_opts.h"
#include "dl.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
			if (config_add_spec(cfg, &sp, 0, err, errlen) == -1)
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
			if (config_add_spec(cfg, &sp, 0, err, errlen) == -1)
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

/* Suggest the nearest known key for an unknown one. */
static int
unknown_key(const char *path, const char *key, char *err, size_t errlen)
{
	const char *best = NULL;
	size_t d, bestd = 3;
	int i;

	for (i = 0; i < O_COUNT; i++)
		if (config_opts[i].key != NULL &&
		    (d = distance(key, config_opts[i].key)) < bestd) {
			bestd = d;
			best = config_opts[i].key;
		}
	if (distance(key, "command") < bestd)
		best = "command";
	if (best != NULL)
		return errf(err, errlen, "config \"%s\": unknown key \"%.40s\"; "
		    "did you mean \"%s\"?", path, key, best);
	return errf(err, errlen, "config \"%s\": unknown key \"%.40s\"; see "
	    "leasewrap(1) for the keys", path, key);
}

/* Options whose value is a file or folder: relative in the config file means beside it. */
static const int path_opts[] = {
	O_TOKEN_FILE, O_ENV_FILE, O_ROLE_ID_FILE, O_SECRET_ID_FILE, O_JWT_FILE,
	O_CA_CERT, O_CA_PATH, O_CLIENT_CERT, O_CLIENT_KEY, O_METRICS_FILE,
};

/* Is option id a path? */
static int
is_path_opt(int id)
{
	size_t i;

	for (i = 0; i < sizeof(path_opts) / sizeof(path_opts[0]); i++)
		if (path_opts[i] == id)
			return 1;
	return 0;
}

/*
 * A path value v of the config file at cfgpath, as leasewrap opens it:
 * absolute as it is, relative against the file's folder (as nginx -c and
 * most tools with a config file do), not against the working directory.
 */
static const char *
file_path(const char *cfgpath, int id, const char *v, char *buf, size_t len)
{
	const char *slash = strrchr(cfgpath, '/');

	if (!is_path_opt(id) || v[0] == '/' || slash == NULL)
		return v;	/* a file in "." already resolves against "." */
	snprintf(buf, len, "%.*s/%s", (int)(slash - cfgpath), cfgpath, v);
	return buf;
}

/* Set list option id from the config file at cfgpath (its values are paths). */
static void
file_set(struct config *cfg, const char *cfgpath, int id, const char *v)
{
	char full[4096], why[256];

	if (config_set_value(cfg, id, file_path(cfgpath, id, v, full,
	    sizeof(full)), why, sizeof(why)) == 0)
		cfg->from_file |= 1ULL << id;
}

const char *
config_origin(const struct config *cfg, const char *flag, const char *usual,
    char *buf, size_t len)
{
	int id;

	for (id = 0; id < O_COUNT; id++)
		if (strcmp(config_opts[id].name, flag) == 0)
			break;
	if (id == O_COUNT || config_opts[id].key == NULL ||
	    cfg->config_path == NULL || !(cfg->from_file & (1ULL << id)))
		return usual;
	snprintf(buf, len, "\"%s\" in config \"%s\"", config_opts[id].key,
	    cfg->config_path);
	return buf;
}

/* Apply one key of the config file unless the command line set it. */
static int
file_key(struct config *cfg, const struct seen *seen, const char *path,
    const char *key, json_t *v, char *err, size_t errlen)
{
	char sub[256];
	const char *s = NULL;
	json_t *e;
	size_t i;
	int id, b = 0;

	if (strcmp(key, "secret") == 0)
		return file_secrets(cfg, path, v, err, errlen);
	if (strcmp(key, "template") == 0 || strcmp(key, "file") == 0 ||
	    strcmp(key, "file_template") == 0)
		return config_file_templates(cfg, path, key, v, err, errlen);
	if (strcmp(key, "command") == 0)
		return file_command(cfg, path, v, err, errlen);
	if (strcmp(key, "refresh_interval") == 0)
		return config_file_pathdur(cfg, O_REFRESH_INTERVAL, path,
		    seen->set[O_REFRESH_INTERVAL], v, err, errlen);
	if (strcmp(key, "settle_delay") == 0)
		return config_file_pathdur(cfg, O_SETTLE_DELAY, path,
		    seen->set[O_SETTLE_DELAY], v, err, errlen);
	for (id = 0; id < O_COUNT; id++)
		if (config_opts[id].key != NULL && strcmp(config_opts[id].key, key) == 0)
			break;
	if (id == O_COUNT)
		return unknown_key(path, key, err, errlen);
	switch (config_opts[id].kind) {
	case K_FLAG:
	case K_NEGFLAG:
		if (file_bool(path, key, v, &b, err, errlen) == -1)
			return -1;
		if (!seen->set[id])
			config_set_flag(cfg, id, config_opts[id].kind == K_FLAG ? b : !b);
		return 0;
	case K_LIST:
		if (json_is_string(v)) {
			if (file_str(path, key, v, &s, err, errlen) == -1)
				return -1;
			if (!seen->set[id])
				file_set(cfg, path, id, s);
			return 0;
		}
		if (!json_is_array(v))
			return errf(err, errlen, "config \"%s\": \"%s\": expected "
			    "a string or an array of strings", path, key);
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) || json_string_length(e) == 0)
				return errf(err, errlen, "config \"%s\": "
				    "\"%s\"[%zu]: expected a non-empty string",
				    path, key, i);
			if (!seen->set[id])
				file_set(cfg, path, id, json_string_value(e));
		}
		return 0;
	default:
		break;
	}
	/* K_VALUE: a string, or a number for counts. */
	if (id == O_MAX_RESTARTS && json_is_integer(v)) {
		snprintf(sub, sizeof(sub), "%lld",
		    (long long)json_integer_value(v));
		s = sub;
	} else if (file_str(path, key, v, &s, err, errlen) == -1)
		return -1;
	{
		struct config scratch, *dst = cfg;
		char why[256], full[4096];
		int rc;

		/* A value the command line overrides must still be valid. */
		if (seen->set[id]) {
			memset(&scratch, 0, sizeof(scratch));
			dst = &scratch;
		}
		rc = config_set_value(dst, id, file_path(path, id, s, full,
		    sizeof(full)), why, sizeof(why));
		if (dst == &scratch)
			config_free(&scratch);
		else if (rc == 0)
			cfg->from_file |= 1ULL << id;
		if (rc == -1)
			return errf(err, errlen, "config \"%s\": \"%s\": "
			    "\"%.40s\": %s", path, key, s, why);
	}
	return 0;
}

/* Load the JSON config file over what the command line left unset. */
int
config_load_file(struct config *cfg, const struct seen *seen, const char *path,
    char *err, size_t errlen)
{
	json_error_t jerr;
	const char *key;
	json_t *root, *v;
	char why[512];
	FILE *f;

	if (dl_jansson(why, sizeof(why)) == -1)
		return errf(err, errlen, "config \"%s\": %s", path, why);
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


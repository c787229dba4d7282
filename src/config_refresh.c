/*
 * config_refresh.c: --refresh-interval DURATION (every secret without a
 * lease) and PATH=DURATION (that path's own), from the command line and
 * the config file's "refresh_interval"; the check once every source is read.
 */
#include "config.h"
#include "config_opts.h"
#include "exitcodes.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUR_HINT "expected a duration like \"30s\", \"5m\" or \"1h\""
#define PATH_HINT "PATH=DURATION, like secret/data/app=30s"

/* One PATH=DURATION, path given as len bytes at p. */
static int
add_path(struct config *cfg, const char *p, size_t len, const char *dur,
    int from_file, char *err, size_t errlen)
{
	struct crefresh *r;
	long long ms;
	size_t i;

	/* The path as spec_parse_path() leaves it: no "/v1/", no trailing "/". */
	if (len > 0 && p[0] == '/') {
		p++;
		len--;
	}
	if (len >= 3 && strncmp(p, "v1/", 3) == 0) {
		p += 3;
		len -= 3;
	}
	while (len > 0 && p[len - 1] == '/')
		len--;
	if (len == 0)
		return errf(err, errlen, "empty path before \"=\"; expected "
		    PATH_HINT);
	if (memchr(p, '#', len) != NULL)
		return errf(err, errlen, "the interval is the path's, shared "
		    "by every field read from it: drop the \"#FIELD\"; expected "
		    PATH_HINT);
	if (memchr(p, ' ', len) != NULL)
		return errf(err, errlen, "the path must not contain spaces; "
		    "expected " PATH_HINT);
	if ((ms = util_parse_duration_ms(dur)) <= 0)
		return errf(err, errlen, "after \"=\": " DUR_HINT " (" PATH_HINT
		    ")");
	for (i = 0; i < cfg->nrefreshes; i++) {
		r = &cfg->refreshes[i];
		if (strlen(r->path) != len || memcmp(r->path, p, len) != 0)
			continue;
		if (from_file && !r->from_file)
			return 0;	/* the command line, read first, wins */
		return errf(err, errlen, "%s is given twice; give each path "
		    "once", r->path);
	}
	cfg->refreshes = xrealloc(cfg->refreshes, (cfg->nrefreshes + 1) *
	    sizeof(*cfg->refreshes));
	r = &cfg->refreshes[cfg->nrefreshes++];
	r->path = xstrndup(p, len);
	r->ms = ms;
	r->from_file = from_file;
	return 0;
}

int
config_add_refresh(struct config *cfg, const char *arg, int from_file,
    int keep_default, char *err, size_t errlen)
{
	/* A duration holds no "=", a path's parameters may: split at the last. */
	const char *eq = strrchr(arg, '=');
	long long ms;

	if (eq != NULL)
		return add_path(cfg, arg, (size_t)(eq - arg), eq + 1, from_file,
		    err, errlen);
	if ((ms = util_parse_duration_ms(arg)) <= 0)
		return errf(err, errlen, DUR_HINT ", or " PATH_HINT);
	if (!keep_default)
		cfg->refresh_interval_ms = ms;
	return 0;
}

int
config_file_refresh(struct config *cfg, const char *path, int keep_default,
    void *json, char *err, size_t errlen)
{
	json_t *v = json, *e;
	const char *k, *s;
	char why[256];
	size_t i;

	if (json_is_string(v) || json_is_array(v)) {
		for (i = 0; json_is_array(v) ? i < json_array_size(v) : i < 1;
		    i++) {
			e = json_is_array(v) ? json_array_get(v, i) : v;
			if (!json_is_string(e))
				return errf(err, errlen, "config \"%s\": "
				    "\"refresh_interval\"[%zu]: expected a string "
				    "like \"5m\" or \"secret/data/app=30s\"", path,
				    i);
			s = json_string_value(e);
			if (config_add_refresh(cfg, s, 1, keep_default, why,
			    sizeof(why)) == -1)
				return errf(err, errlen, "config \"%s\": "
				    "\"refresh_interval\": \"%.40s\": %s", path, s,
				    why);
		}
		cfg->from_file |= 1ULL << O_REFRESH_INTERVAL;
		return 0;
	}
	if (!json_is_object(v))
		return errf(err, errlen, "config \"%s\": \"refresh_interval\": "
		    "expected a duration like \"5m\", an array of \"5m\" and "
		    "\"PATH=DURATION\", or an object of PATH: DURATION", path);
	json_object_foreach(v, k, e) {
		if (!json_is_string(e))
			return errf(err, errlen, "config \"%s\": "
			    "\"refresh_interval\".\"%.40s\": " DUR_HINT, path, k);
		if (add_path(cfg, k, strlen(k), json_string_value(e), 1, why,
		    sizeof(why)) == -1)
			return errf(err, errlen, "config \"%s\": "
			    "\"refresh_interval\".\"%.40s\": %s", path, k, why);
	}
	return 0;
}

int
config_check_refresh(const struct config *cfg, char *err, size_t errlen)
{
	const struct crefresh *r;
	size_t i, j;

	for (i = 0; i < cfg->nrefreshes; i++) {
		r = &cfg->refreshes[i];
		for (j = 0; j < cfg->nspecs; j++)
			if (strcmp(cfg->specs[j].path, r->path) == 0)
				break;
		if (j < cfg->nspecs)
			continue;
		if (r->from_file)
			errf(err, errlen, "config \"%s\": \"refresh_interval\": "
			    "no secret is read from \"%.80s\"; name the path as "
			    "the secrets do (-s, -T, --file)", cfg->config_path,
			    r->path);
		else
			errf(err, errlen, "--refresh-interval \"%.80s=...\": no "
			    "secret is read from that path; name the path as the "
			    "secrets do (-s, -T, --file)", r->path);
		return r->from_file ? LW_EXIT_CONFIG : LW_EXIT_USAGE;
	}
	return 0;
}

long long
config_refresh_ms(const struct config *cfg, const char *path, int *own)
{
	size_t i;

	for (i = 0; i < cfg->nrefreshes; i++)
		if (strcmp(cfg->refreshes[i].path, path) == 0) {
			*own = 1;
			return cfg->refreshes[i].ms;
		}
	*own = 0;
	return cfg->refresh_interval_ms;
}

void
config_free_refresh(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nrefreshes; i++)
		free(cfg->refreshes[i].path);
	free(cfg->refreshes);
	cfg->refreshes = NULL;
	cfg->nrefreshes = 0;
}

/*
 * config_pathdur.c: the options with a default and a per-path form,
 * --refresh-interval and --settle-delay: DURATION (the default) and
 * PATH=DURATION (that path's own), from the command line and the config
 * file's "refresh_interval" and "settle_delay"; the check once every
 * source is read; a path's value.
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

/* The options with a per-path form: their table and default. */
static const int pathdur_ids[] = { O_REFRESH_INTERVAL, O_SETTLE_DELAY };

static struct pathdurs *
table(struct config *cfg, int id, long long **def)
{
	if (id == O_SETTLE_DELAY) {
		*def = &cfg->settle_delay_ms;
		return &cfg->settles;
	}
	*def = &cfg->refresh_interval_ms;
	return &cfg->refreshes;
}

/* A valid value: --settle-delay 0 is no wait, its default. */
static int
dur_ok(int id, long long ms)
{
	return ms > 0 || (ms == 0 && id == O_SETTLE_DELAY);
}

/* One PATH=DURATION, path given as len bytes at p. */
static int
add_path(struct config *cfg, int id, const char *p, size_t len,
    const char *dur, int from_file, char *err, size_t errlen)
{
	struct pathdurs *t;
	struct pathdur *r;
	long long ms, *def;
	size_t i;

	t = table(cfg, id, &def);
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
		return errf(err, errlen, "the duration is the path's, shared "
		    "by every field read from it: drop the \"#FIELD\"; expected "
		    PATH_HINT);
	if (memchr(p, ' ', len) != NULL)
		return errf(err, errlen, "the path must not contain spaces; "
		    "expected " PATH_HINT);
	if (!dur_ok(id, ms = util_parse_duration_ms(dur)))
		return errf(err, errlen, "after \"=\": " DUR_HINT " (" PATH_HINT
		    ")");
	for (i = 0; i < t->n; i++) {
		r = &t->v[i];
		if (strlen(r->path) != len || memcmp(r->path, p, len) != 0)
			continue;
		if (from_file && !r->from_file)
			return 0;	/* the command line, read first, wins */
		return errf(err, errlen, "%s is given twice; give each path "
		    "once", r->path);
	}
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	r = &t->v[t->n++];
	r->path = xstrndup(p, len);
	r->ms = ms;
	r->from_file = from_file;
	return 0;
}

int
config_add_pathdur(struct config *cfg, int id, const char *arg,
    int from_file, int keep_default, char *err, size_t errlen)
{
	/* A duration holds no "=", a path's parameters may: split at the last. */
	const char *eq = strrchr(arg, '=');
	long long ms, *def;

	if (eq != NULL)
		return add_path(cfg, id, arg, (size_t)(eq - arg), eq + 1,
		    from_file, err, errlen);
	if (!dur_ok(id, ms = util_parse_duration_ms(arg)))
		return errf(err, errlen, DUR_HINT ", or " PATH_HINT);
	(void)table(cfg, id, &def);
	if (!keep_default)
		*def = ms;
	return 0;
}

int
config_file_pathdur(struct config *cfg, int id, const char *path,
    int keep_default, void *json, char *err, size_t errlen)
{
	const char *key = config_opts[id].key, *k, *s;
	json_t *v = json, *e;
	char why[256];
	size_t i;

	if (json_is_string(v) || json_is_array(v)) {
		for (i = 0; json_is_array(v) ? i < json_array_size(v) : i < 1;
		    i++) {
			e = json_is_array(v) ? json_array_get(v, i) : v;
			if (!json_is_string(e))
				return errf(err, errlen, "config \"%s\": "
				    "\"%s\"[%zu]: expected a string like \"5m\" "
				    "or \"secret/data/app=30s\"", path, key, i);
			s = json_string_value(e);
			if (config_add_pathdur(cfg, id, s, 1, keep_default, why,
			    sizeof(why)) == -1)
				return errf(err, errlen, "config \"%s\": "
				    "\"%s\": \"%.40s\": %s", path, key, s, why);
		}
		cfg->from_file |= 1ULL << id;
		return 0;
	}
	if (!json_is_object(v))
		return errf(err, errlen, "config \"%s\": \"%s\": expected a "
		    "duration like \"5m\", an array of \"5m\" and "
		    "\"PATH=DURATION\", or an object of PATH: DURATION", path,
		    key);
	json_object_foreach(v, k, e) {
		if (!json_is_string(e))
			return errf(err, errlen, "config \"%s\": "
			    "\"%s\".\"%.40s\": " DUR_HINT, path, key, k);
		if (add_path(cfg, id, k, strlen(k), json_string_value(e), 1,
		    why, sizeof(why)) == -1)
			return errf(err, errlen, "config \"%s\": "
			    "\"%s\".\"%.40s\": %s", path, key, k, why);
	}
	return 0;
}

/* The first PATH of option id that no secret reads, or NULL. */
static const struct pathdur *
unread_path(const struct config *cfg, int id)
{
	const struct pathdurs *t = id == O_SETTLE_DELAY ? &cfg->settles :
	    &cfg->refreshes;
	size_t i, j;

	for (i = 0; i < t->n; i++) {
		for (j = 0; j < cfg->nspecs; j++)
			if (strcmp(cfg->specs[j].path, t->v[i].path) == 0)
				break;
		if (j == cfg->nspecs)
			return &t->v[i];
	}
	return NULL;
}

int
config_check_pathdurs(const struct config *cfg, char *err, size_t errlen)
{
	const struct pathdur *r;
	size_t k;
	int id;

	for (k = 0; k < sizeof(pathdur_ids) / sizeof(pathdur_ids[0]); k++) {
		id = pathdur_ids[k];
		if ((r = unread_path(cfg, id)) == NULL)
			continue;
		if (r->from_file)
			errf(err, errlen, "config \"%s\": \"%s\": no secret is "
			    "read from \"%.80s\"; name the path as the secrets do "
			    "(-s, -T, --file)", cfg->config_path,
			    config_opts[id].key, r->path);
		else
			errf(err, errlen, "--%s \"%.80s=...\": no secret is read "
			    "from that path; name the path as the secrets do (-s, "
			    "-T, --file)", config_opts[id].name, r->path);
		return r->from_file ? LW_EXIT_CONFIG : LW_EXIT_USAGE;
	}
	return 0;
}

/* Path's own value in t (*own set), else def. */
static long long
path_ms(const struct pathdurs *t, long long def, const char *path, int *own)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].path, path) == 0) {
			*own = 1;
			return t->v[i].ms;
		}
	*own = 0;
	return def;
}

long long
config_refresh_ms(const struct config *cfg, const char *path, int *own)
{
	return path_ms(&cfg->refreshes, cfg->refresh_interval_ms, path, own);
}

long long
config_settle_ms(const struct config *cfg, const char *path)
{
	int own;

	return path_ms(&cfg->settles, cfg->settle_delay_ms, path, &own);
}

long long
config_settle_max_ms(const struct config *cfg)
{
	long long ms = 0, one;
	size_t i;

	for (i = 0; i < cfg->nspecs; i++)
		if ((one = config_settle_ms(cfg, cfg->specs[i].path)) > ms)
			ms = one;
	return ms;
}

static void
free_table(struct pathdurs *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].path);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

void
config_free_pathdurs(struct config *cfg)
{
	free_table(&cfg->refreshes);
	free_table(&cfg->settles);
}

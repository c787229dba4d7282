/*
 * config_tmpl.c: -T NAME=TEXT, --file DEST=PATH#FIELD, --file-template
 * DEST=SRC, their config-file keys and inherited "vault:" templates into
 * config.templates and config.files; the checks once every source is read.
 */
#include "config.h"
#include "config_opts.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TMPL_ARG_HINT "expected NAME=TEXT, like DATABASE_URL=postgresql://" \
	"{{database/creds/ro#username}}:{{database/creds/ro#password|url}}@host/db"
#define FILE_ARG_HINT "expected DEST=PATH#FIELD, like " \
	"/run/app/tls.key=pki/issue/web#private_key"
#define FTMPL_ARG_HINT "expected DEST=SRC, like /run/app/.pgpass=pgpass.tmpl"
/* The largest --file-template source read. */
#define FTMPL_MAX	(1024 * 1024)

/* What an entry is: its option, its config key and its grammar. */
static const struct kind {
	const char	*flag;
	const char	*key;
	const char	*hint;
} kinds[] = {
	[TK_TEMPLATE] = { "-T", "template", TMPL_ARG_HINT },
	[TK_FILE] = { "--file", "file", FILE_ARG_HINT },
	[TK_FILE_TEMPLATE] = { "--file-template", "file_template", FTMPL_ARG_HINT },
};

/* Add a spec.tmpl spec for each placeholder of ct not yet read for it. */
static void
add_template_specs(struct config *cfg, const struct ctemplate *ct)
{
	size_t i, j;

	for (i = 0; i < ct->t.nparts; i++) {
		const struct spec *ref = &ct->t.parts[i].ref;
		struct spec *sp;

		if (ref->path == NULL)
			continue;
		for (j = 0; j < cfg->nspecs; j++)
			if (cfg->specs[j].tmpl &&
			    strcmp(cfg->specs[j].name, ct->name) == 0 &&
			    strcmp(cfg->specs[j].path, ref->path) == 0 &&
			    strcmp(cfg->specs[j].field, ref->field) == 0)
				break;
		if (j < cfg->nspecs)
			continue;
		cfg->specs = xrealloc(cfg->specs, (cfg->nspecs + 1) *
		    sizeof(*cfg->specs));
		sp = &cfg->specs[cfg->nspecs++];
		memset(sp, 0, sizeof(*sp));
		sp->name = xstrdup(ct->name);
		sp->path = xstrdup(ref->path);
		sp->field = xstrdup(ref->field);
		sp->tmpl = 1;
	}
}

/* The whole of the template file src (at most FTMPL_MAX bytes) parsed into t. */
static int
read_template(const char *src, const char *what, struct tmpl *t, char *err,
    size_t errlen)
{
	char *buf = xmalloc(FTMPL_MAX + 1);
	FILE *f = fopen(src, "re");
	size_t n = 0;
	int rc;

	if (f == NULL) {
		free(buf);
		return errf(err, errlen, "%s: cannot read \"%s\": %s", what,
		    src, strerror(errno));
	}
	n = fread(buf, 1, FTMPL_MAX + 1, f);
	rc = ferror(f) ? errf(err, errlen, "%s: cannot read \"%s\"", what,
	    src) : n > FTMPL_MAX ? errf(err, errlen, "%s: \"%s\" is larger "
	    "than 1 MiB", what, src) : memchr(buf, '\0', n) != NULL ?
	    errf(err, errlen, "%s: \"%s\" holds a NUL byte; templates are "
	    "text", what, src) : tmpl_parse(buf, n, what, t, err, errlen);
	fclose(f);
	free(buf);
	return rc;
}

/* The list of kind k and its length. */
static struct ctemplate **
list_of(struct config *cfg, int k, size_t **n)
{
	*n = k == TK_TEMPLATE ? &cfg->ntemplates : &cfg->nfiles;
	return k == TK_TEMPLATE ? &cfg->templates : &cfg->files;
}

/* Add an entry of kind k: name (a variable or DEST) and its text (TEXT, PATH#FIELD or SRC). */
static int
add_entry(struct config *cfg, int k, const char *name, size_t nlen,
    const char *text, size_t len, const char *what, int replace, char *err,
    size_t errlen)
{
	struct ctemplate ct, **list;
	size_t i, *n;
	char *src;
	int rc;

	if (k == TK_TEMPLATE ? spec_check_name(name, nlen, what, err,
	    errlen) == -1 : nlen == 0)
		return nlen == 0 ? errf(err, errlen, "%s: empty file name; %s",
		    what, kinds[k].hint) : -1;
	list = list_of(cfg, k, &n);
	for (i = 0; i < *n; i++)
		if (strlen((*list)[i].name) == nlen &&
		    memcmp((*list)[i].name, name, nlen) == 0)
			return replace ? errf(err, errlen, "%s: %s is given "
			    "twice; give each once", what, (*list)[i].name) : 0;
	src = xstrndup(text, len);
	rc = k == TK_TEMPLATE ? tmpl_parse(text, len, what, &ct.t, err, errlen) :
	    k == TK_FILE ? tmpl_field(src, what, &ct.t, err, errlen) :
	    read_template(src, what, &ct.t, err, errlen);
	free(src);
	if (rc == -1)
		return -1;
	ct.name = xstrndup(name, nlen);
	*list = xrealloc(*list, (*n + 1) * sizeof(**list));
	(*list)[(*n)++] = ct;
	add_template_specs(cfg, &ct);
	return 0;
}

int
config_add_template(struct config *cfg, int k, const char *arg, int replace,
    char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char what[96];

	snprintf(what, sizeof(what), "%s \"%.*s\"", kinds[k].flag,
	    eq != NULL && eq - arg < 60 ? (int)(eq - arg) : 60, arg);
	if (eq == NULL)
		return errf(err, errlen, "%s: no \"=\"; %s", what,
		    kinds[k].hint);
	return add_entry(cfg, k, arg, (size_t)(eq - arg), eq + 1,
	    strlen(eq + 1), what, replace, err, errlen);
}

/* A file name v of the config file at cfgpath: relative means beside it. */
static const char *
beside(const char *cfgpath, const char *v, char *buf, size_t len)
{
	const char *slash = strrchr(cfgpath, '/');

	if (v[0] == '/' || slash == NULL)
		return v;
	snprintf(buf, len, "%.*s/%s", (int)(slash - cfgpath), cfgpath, v);
	return buf;
}

/* One entry of the config file's key for kind k: name -> text. */
static int
file_entry(struct config *cfg, int k, const char *path, const char *name,
    size_t nlen, const char *text, size_t len, const char *what, char *err,
    size_t errlen)
{
	char dest[4096], src[4096], *n = xstrndup(name, nlen), *t = NULL;
	const char *d = k == TK_TEMPLATE ? n : beside(path, n, dest,
	    sizeof(dest));
	int rc;

	if (k == TK_FILE_TEMPLATE) {
		t = xstrndup(text, len);
		text = beside(path, t, src, sizeof(src));
		len = strlen(text);
	}
	rc = add_entry(cfg, k, d, strlen(d), text, len, what, 0, err, errlen);
	free(t);
	free(n);
	return rc;
}

int
config_file_templates(struct config *cfg, const char *path, const char *key,
    void *json, char *err, size_t errlen)
{
	int k = strcmp(key, "template") == 0 ? TK_TEMPLATE :
	    strcmp(key, "file") == 0 ? TK_FILE : TK_FILE_TEMPLATE;
	json_t *v = json, *e;
	char what[160];
	const char *s, *eq;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			snprintf(what, sizeof(what), "config \"%.80s\": "
			    "\"%s\"[%zu]", path, key, i);
			if (!json_is_string(e) || (eq = strchr(s =
			    json_string_value(e), '=')) == NULL)
				return errf(err, errlen, "%s: %s", what,
				    kinds[k].hint);
			if (file_entry(cfg, k, path, s, (size_t)(eq - s), eq + 1,
			    strlen(eq + 1), what, err, errlen) == -1)
				return -1;
		}
		return 0;
	}
	if (!json_is_object(v))
		return errf(err, errlen, "config \"%s\": \"%s\": expected an "
		    "array of strings or an object of strings; %s", path, key,
		    kinds[k].hint);
	json_object_foreach(v, s, e) {
		snprintf(what, sizeof(what), "config \"%.80s\": \"%s\".\"%.40s\"",
		    path, key, s);
		if (!json_is_string(e))
			return errf(err, errlen, "%s: expected a string; %s", what,
			    kinds[k].hint);
		if (file_entry(cfg, k, path, s, strlen(s), json_string_value(e),
		    json_string_length(e), what, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* Remove the i-th spec. */
static void
drop_spec(struct config *cfg, size_t i)
{
	spec_clear(&cfg->specs[i]);
	memmove(&cfg->specs[i], &cfg->specs[i + 1], (cfg->nspecs - i - 1) *
	    sizeof(*cfg->specs));
	cfg->nspecs--;
}

int
config_env_template(struct config *cfg, size_t nflags, const char *name,
    size_t nlen, const char *text, char *err, size_t errlen)
{
	char what[96], sub[512];
	size_t i, n = nlen < 40 ? nlen : 40;

	/* The name as messages show it: what is not printable as "?". */
	snprintf(what, sizeof(what), "environment variable %.*s", (int)n, name);
	for (i = sizeof("environment variable ") - 1; what[i] != '\0'; i++)
		if (what[i] <= 0x20 || what[i] >= 0x7f || what[i] == '"')
			what[i] = '?';
	for (i = 0; i < cfg->ntemplates; i++)
		if (strlen(cfg->templates[i].name) == nlen &&
		    memcmp(cfg->templates[i].name, name, nlen) == 0)
			return 0;	/* -T and the file's "template" win */
	for (i = 0; i < cfg->nspecs; i++) {
		if (cfg->specs[i].tmpl || strlen(cfg->specs[i].name) != nlen ||
		    memcmp(cfg->specs[i].name, name, nlen) != 0)
			continue;
		if (i < nflags)
			return 0;	/* -s wins */
		drop_spec(cfg, i--);	/* over the file's "secret", as a reference */
	}
	if (add_entry(cfg, TK_TEMPLATE, name, nlen, text, strlen(text), what, 0,
	    sub, sizeof(sub)) == -1)
		return errf(err, errlen, "%s; or run with --no-env-refs to pass "
		    "it on as it is", sub);
	return 0;
}

/* --file-mode: octal, no write for group or other; 0600 when unset. */
static int
check_file_mode(struct config *cfg, char *err, size_t errlen)
{
	char *end, where[512];
	long m;

	cfg->file_perm = 0600;
	if (cfg->file_mode == NULL)
		return 0;
	m = strtol(cfg->file_mode, &end, 8);
	if (cfg->file_mode[0] < '0' || cfg->file_mode[0] > '7' || *end != '\0' ||
	    m < 0 || m > 0777 || (m & 022) != 0 || (m & 0400) == 0)
		return errf(err, errlen, "%s \"%.20s\": expected an octal mode "
		    "like 0600 or 0640, readable by its owner and writable by "
		    "no group or other", config_origin(cfg, "file-mode",
		    "--file-mode", where, sizeof(where)), cfg->file_mode);
	cfg->file_perm = (unsigned int)m;
	return 0;
}

int
config_check_templates(struct config *cfg, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < cfg->ntemplates; i++)
		for (j = 0; j < cfg->nspecs; j++) {
			const struct spec *sp = &cfg->specs[j];

			if (sp->tmpl || strcmp(sp->name, cfg->templates[i].name))
				continue;
			if (sp->from_env) {
				drop_spec(cfg, j--);
				continue;
			}
			return errf(err, errlen, "template %s: %s is also "
			    "requested with -s (or \"secret\"); give each name "
			    "once", sp->name, sp->name);
		}
	return check_file_mode(cfg, err, errlen);
}

void
config_free_templates(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->ntemplates; i++) {
		free(cfg->templates[i].name);
		tmpl_free(&cfg->templates[i].t);
	}
	for (i = 0; i < cfg->nfiles; i++) {
		free(cfg->files[i].name);
		tmpl_free(&cfg->files[i].t);
	}
	free(cfg->templates);
	free(cfg->files);
	cfg->templates = cfg->files = NULL;
	cfg->ntemplates = cfg->nfiles = 0;
}

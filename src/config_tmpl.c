/* config_tmpl.c: -T NAME=TEXT and the config file's "template" into config.templates. */
#include "config.h"
#include "config_opts.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TMPL_ARG_HINT "expected NAME=TEXT, like DATABASE_URL=postgresql://" \
	"{{database/creds/ro#username}}:{{database/creds/ro#password|url}}@host/db"

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

/* Add the template name = len bytes of text; what names it in messages. */
static int
add_template(struct config *cfg, const char *name, size_t nlen,
    const char *text, size_t len, const char *what, int replace, char *err,
    size_t errlen)
{
	struct ctemplate ct;
	size_t i;

	if (spec_check_name(name, nlen, what, err, errlen) == -1)
		return -1;
	for (i = 0; i < cfg->ntemplates; i++)
		if (strlen(cfg->templates[i].name) == nlen &&
		    memcmp(cfg->templates[i].name, name, nlen) == 0)
			return replace ? errf(err, errlen, "%s: template %s is "
			    "given twice; give each name once", what,
			    cfg->templates[i].name) : 0;
	if (tmpl_parse(text, len, what, &ct.t, err, errlen) == -1)
		return -1;
	ct.name = xstrndup(name, nlen);
	cfg->templates = xrealloc(cfg->templates, (cfg->ntemplates + 1) *
	    sizeof(*cfg->templates));
	cfg->templates[cfg->ntemplates++] = ct;
	add_template_specs(cfg, &ct);
	return 0;
}

int
config_add_template(struct config *cfg, const char *arg, int replace,
    char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char what[96];

	snprintf(what, sizeof(what), "-T \"%.*s\"", eq != NULL &&
	    eq - arg < 60 ? (int)(eq - arg) : 60, arg);
	if (eq == NULL)
		return errf(err, errlen, "%s: no \"=\"; %s", what,
		    TMPL_ARG_HINT);
	return add_template(cfg, arg, (size_t)(eq - arg), eq + 1,
	    strlen(eq + 1), what, replace, err, errlen);
}

int
config_file_templates(struct config *cfg, const char *path, void *json,
    char *err, size_t errlen)
{
	json_t *v = json, *e;
	char what[160];
	const char *k;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			snprintf(what, sizeof(what), "config \"%.80s\": "
			    "\"template\"[%zu]", path, i);
			if (!json_is_string(e) || strchr(json_string_value(e),
			    '=') == NULL)
				return errf(err, errlen, "%s: %s", what,
				    TMPL_ARG_HINT);
			k = json_string_value(e);
			if (add_template(cfg, k, (size_t)(strchr(k, '=') - k),
			    strchr(k, '=') + 1, strlen(strchr(k, '=') + 1),
			    what, 0, err, errlen) == -1)
				return -1;
		}
		return 0;
	}
	if (!json_is_object(v))
		return errf(err, errlen, "config \"%s\": \"template\": expected "
		    "an array of \"NAME=TEXT\" or an object of NAME: \"TEXT\"",
		    path);
	json_object_foreach(v, k, e) {
		snprintf(what, sizeof(what), "config \"%.80s\": \"template\"."
		    "\"%.40s\"", path, k);
		if (!json_is_string(e))
			return errf(err, errlen, "%s: expected a string with "
			    "{{ PATH#FIELD }} placeholders", what);
		if (add_template(cfg, k, strlen(k), json_string_value(e),
		    json_string_length(e), what, 0, err, errlen) == -1)
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
	return 0;
}

void
config_free_templates(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->ntemplates; i++) {
		free(cfg->templates[i].name);
		tmpl_free(&cfg->templates[i].t);
	}
	free(cfg->templates);
	cfg->templates = NULL;
	cfg->ntemplates = 0;
}

/* output.c: what leasewrap produces: the child's environment, env files, metrics, the check report. */
#define _GNU_SOURCE
#include "output.h"
#include "config.h"
#include "cred.h"
#include "engines.h"
#include "env.h"
#include "envfile.h"
#include "exitcodes.h"
#include "leases.h"
#include "log.h"
#include "metrics.h"
#include "outfile.h"
#include "refresh.h"
#include "secret.h"
#include "spec.h"
#include "sup.h"
#include "template.h"
#include "token.h"
#include "util.h"
#include "vault_json.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The gauges, set afresh before each scrape or file write. */
static void
metrics_gauges(void *arg)
{
	struct sup *s = arg;
	ev_tstamp now = ev_time(), d;
	const struct tokgen *t = tokens_current(s->tk);
	size_t i;

	for (i = 0; i < creds_count(s); i++) {
		const struct cred *c = creds_at(s, i);

		/* A certificate has an end and no lease. */
		if ((cred_lease(c) != NULL && !lease_active(cred_lease(c))) ||
		    (d = cred_deadline(c)) <= 0)
			continue;
		metrics_set(s->metrics, M_DEADLINE, d - now, "path",
		    cred_path(c));
		metrics_set(s->metrics, M_DEADLINE_TS, (double)(long long)d, "path",
		    cred_path(c));
	}
	metrics_set(s->metrics, M_LEASES, (double)leases_held(s->leases), NULL,
	    NULL);
	metrics_set(s->metrics, M_CHILD_UP, s->child > 0, NULL, NULL);
	if (token_deadline(t) > 0 && !token_dead(t))
		metrics_set(s->metrics, M_TOKEN_DEADLINE, token_deadline(t) - now,
		    NULL, NULL);
}

/*
 * Every series whose labels are known at start, at 0: a counter that
 * appears only at its first increment hides that increment from rate().
 */
static void
metrics_zero(struct sup *s)
{
	static const char *const results[] = { "ok", "error" };
	static const char *const reasons[] = { "initial", "rotation", "exit" };
	size_t i, r;

	for (r = 0; r < 2; r++) {
		for (i = 0; i < s->cfg->nspecs; i++) {
			metrics_add(s->metrics, M_FETCHES, 0, "path",
			    s->cfg->specs[i].path, "result", results[r]);
			metrics_add(s->metrics, M_RENEWALS, 0, "path",
			    s->cfg->specs[i].path, "result", results[r]);
		}
		metrics_add(s->metrics, M_REVOCATIONS, 0, "result", results[r],
		    NULL, NULL);
		metrics_add(s->metrics, M_TOKEN_RENEWALS, 0, "result",
		    results[r], NULL, NULL);
		if (tokens_can_login(s->tk))
			metrics_add(s->metrics, M_LOGINS, 0, "method",
			    config_auth_name(s->cfg->auth), "result",
			    results[r]);
	}
	for (r = 0; r < 3; r++)
		metrics_add(s->metrics, M_CHILD_STARTS, 0, "reason", reasons[r],
		    NULL, NULL);
	metrics_add(s->metrics, M_CHILD_SIGNALS, 0, NULL, NULL, NULL, NULL);
}

/*
 * When the credentials in use start to end: the earliest deadline of the
 * leased ones, as Unix seconds (ev_now is wall-clock time); 0 if none is
 * leased.  The command gets it as LEASEWRAP_DEADLINE.
 */
static long long
env_deadline(const struct sup *s)
{
	ev_tstamp d, min = 0;
	size_t i;

	for (i = 0; i < creds_count(s); i++)
		if ((d = cred_deadline(creds_at(s, i))) > 0 &&
		    (min == 0 || d < min))
			min = d;
	return (long long)min;
}

/* A template's placeholder: its field in the credential read for its path. */
static int
tmpl_value(void *arg, const struct spec *ref, struct secret **val, char *err,
    size_t errlen)
{
	char why[256];

	if (vj_field(cred_values(creds_find(arg, ref->path)), ref->field, val,
	    why, sizeof(why)) == 0)
		return 0;
	return errf(err, errlen, "{{ %s#%s }}: secret \"%s\" %s; check the "
	    "part after \"#\"", ref->path, ref->field, ref->path, why);
}

/* Render every template into vars[0..]; -1 (logged, nothing left allocated) if one fails. */
static int
render_templates(struct sup *s, struct env_var *vars)
{
	char err[512];
	size_t i, j;

	for (i = 0; i < s->cfg->ntemplates; i++) {
		const struct ctemplate *ct = &s->cfg->templates[i];

		vars[i].name = ct->name;
		if ((vars[i].value = tmpl_render(&ct->t, tmpl_value, s, err,
		    sizeof(err))) != NULL)
			continue;
		log_error("fetch", "template %s: %s", ct->name, err);
		for (j = 0; j < i; j++)
			secret_free((struct secret *)vars[j].value);
		return -1;
	}
	return 0;
}

/*
 * The child's environment from the credentials in use, with
 * LEASEWRAP_DEADLINE last when a credential is leased; *nvars is how many
 * variables leasewrap added (they end the list).  NULL on a missing field.
 */
static char **
build_env(struct sup *s, size_t *nvars)
{
	struct env_var *vars;
	char err[512], num[32], **envp;
	long long deadline = env_deadline(s);
	size_t i, j, n = 0;

	vars = xcalloc(s->cfg->nspecs + s->cfg->ntemplates + 1, sizeof(*vars));
	for (i = 0; i < s->cfg->nspecs; i++) {
		const struct spec *sp = &s->cfg->specs[i];
		struct secret *val = NULL;

		if (sp->tmpl)
			continue;
		if (vj_field(cred_values(creds_find(s, sp->path)), sp->field, &val, err,
		    sizeof(err)) == -1) {
			log_at(LOG_ERROR, "fetch", LF(.path = sp->path), "%s: "
			    "secret \"%s\" %s; check the part after \"#\"",
			    sp->name, sp->path, err);
			for (j = 0; j < n; j++)
				secret_free((struct secret *)vars[j].value);
			free(vars);
			return NULL;
		}
		vars[n].name = sp->name;
		vars[n++].value = val;
	}
	if (render_templates(s, vars + n) == -1) {
		for (j = 0; j < n; j++)
			secret_free((struct secret *)vars[j].value);
		free(vars);
		return NULL;
	}
	n += s->cfg->ntemplates;
	if (deadline > 0) {
		snprintf(num, sizeof(num), "%lld", deadline);
		vars[n].name = "LEASEWRAP_DEADLINE";
		vars[n++].value = secret_new(num, strlen(num));
	}
	envp = env_build(s->envp_in, vars, n, s->cfg->pass_token);
	for (i = 0; i < n; i++)
		secret_free((struct secret *)vars[i].value);
	free(vars);
	*nvars = n;
	return envp;
}

/* Rewrite every --env-file with leasewrap's variables (not the inherited ones). */
static int
write_env_files(struct sup *s, char **envp, size_t nvars)
{
	char err[512];
	size_t i, n = 0;
	int r;

	if (s->cfg->nenv_files == 0)
		return 0;
	while (envp[n] != NULL)
		n++;
	for (i = 0; i < s->cfg->nenv_files; i++)
		if ((r = envfile_write(s->cfg, s->cfg->env_files[i],
		    envp + n - nvars, nvars, err, sizeof(err))) != 0) {
			log_error("envfile", "%s", err);
			return r;	/* -2: a value the format cannot carry */
		}
	return 0;
}

/* Rewrite every --file and --file-template from the credentials in use. */
static int
write_files(struct sup *s, char **envp, size_t nvars)
{
	char err[512];
	size_t i;
	int r;

	(void)envp;
	(void)nvars;
	for (i = 0; i < s->cfg->nfiles; i++)
		if ((r = outfile_write(s->cfg, &s->cfg->files[i], tmpl_value, s,
		    err, sizeof(err))) != 0) {
			log_error("file", "%s", err);
			return r;	/* -2: a field is missing */
		}
	return 0;
}

/*
 * Where the credentials go besides the child's environment, one row each,
 * from leasewrap's variables (the last nvars of envp) or the credentials.
 */
static const struct output {
	const char	*name;
	int		 (*write)(struct sup *, char **envp, size_t nvars);
	int		 fail_code;	/* exit code when it fails at a start */
} outputs[] = {
	{ "env-file", write_env_files, LW_EXIT_CONFIG },
	{ "file", write_files, LW_EXIT_CONFIG },
};

int
output_values_differ(const struct sup *s, const char *path,
    const struct vj_secret *a, const struct vj_secret *b)
{
	struct secret *va, *vb;
	char err[64];
	size_t i;
	int differ = 0;

	for (i = 0; i < s->cfg->nspecs && !differ; i++) {
		const struct spec *sp = &s->cfg->specs[i];

		if (strcmp(sp->path, path) != 0)
			continue;
		va = vb = NULL;
		if (vj_field(a, sp->field, &va, err, sizeof(err)) == -1 ||
		    vj_field(b, sp->field, &vb, err, sizeof(err)) == -1 ||
		    !secret_equal(va, vb))
			differ = 1;
		secret_free(va);
		secret_free(vb);
	}
	return differ;
}

char **
output_build(struct sup *s, int *code)
{
	char **envp;
	size_t i, nvars;
	int r;

	*code = 0;
	if ((envp = build_env(s, &nvars)) == NULL) {
		*code = LW_EXIT_DATAERR;
		return NULL;
	}
	for (i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
		r = outputs[i].write(s, envp, nvars);
		/*
		 * A file that cannot be written: the output's code (signal
		 * mode keeps the old credentials and tries again); a value no
		 * file can carry: 65, the file would keep values about to be
		 * revoked.
		 */
		if (r == 0)
			continue;
		env_free(envp);
		*code = r == -2 ? LW_EXIT_DATAERR : outputs[i].fail_code;
		return NULL;
	}
	return envp;
}

/* "check": one line per template and file, rendered and dropped; -1 if one cannot be. */
static int
check_templates(struct sup *s)
{
	const struct config *cfg = s->cfg;
	size_t i, n = cfg->ntemplates + cfg->nfiles;
	struct secret *val;
	char err[512];
	int rc = 0;

	for (i = 0; i < n; i++) {
		const struct ctemplate *ct = i < cfg->ntemplates ?
		    &cfg->templates[i] : &cfg->files[i - cfg->ntemplates];
		const char *kind = i < cfg->ntemplates ? "template" : "file";

		if ((val = tmpl_render(&ct->t, tmpl_value, s, err,
		    sizeof(err))) == NULL) {
			printf("%-16s (%s)  FAILED: %s\n", ct->name, kind, err);
			log_error("check", "%s %s: %s", kind, ct->name, err);
			rc = -1;
			continue;
		}
		secret_free(val);
		printf("%-16s (%s)  ok, %s %s (%zu field%s)\n", ct->name, kind,
		    kind, ct->name, ct->t.nrefs, ct->t.nrefs == 1 ? "" : "s");
	}
	return rc;
}

int
output_check_report(struct sup *s)
{
	char err[512], dur[32];
	double ttl;
	struct secret *val;
	size_t i;
	int rc = 0;

	for (i = 0; i < s->cfg->nspecs; i++) {
		const struct spec *sp = &s->cfg->specs[i];
		const struct cred *c;

		c = creds_find(s, sp->path);
		val = NULL;
		if (vj_field(cred_values(c), sp->field, &val, err,
		    sizeof(err)) == -1) {
			printf("%-16s %s#%s  MISSING: %s\n", sp->name, sp->path,
			    sp->field, err);
			log_at(LOG_ERROR, "check", LF(.path = sp->path), "%s: "
			    "secret \"%s\" %s; check the part after \"#\"",
			    sp->name, sp->path, err);
			rc = LW_EXIT_DATAERR;
			continue;
		}
		secret_free(val);
		util_format_duration((long long)(cred_duration(c) * 1000), dur,
		    sizeof(dur));
		if (cred_lease(c) == NULL && cred_deadline(c) > 0)
			printf("%-16s %s#%s  ok, %s in %s\n", sp->name, sp->path,
			    sp->field, engine_for(sp->path)->timing(cred_values(c),
			    &ttl) == TIMING_ROTATES ? "static role, rotates" :
			    "certificate, expires", dur);
		else if (cred_lease(c) != NULL)
			printf("%-16s %s#%s  ok, lease %s%s\n", sp->name,
			    sp->path, sp->field, dur, cred_renewable(c) ?
			    " renewable" : ", not renewable");
		else
			printf("%-16s %s#%s  ok, no lease (%s%s)\n", sp->name,
			    sp->path, sp->field, cred_values(c)->kv2 ? "KV v2, " :
			    "", refresh_words(s, c, dur, sizeof(dur)));
	}
	if (check_templates(s) == -1)
		rc = LW_EXIT_DATAERR;
	fflush(stdout);
	return rc;
}

void
output_remove(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->cfg->nenv_files; i++)
		(void)unlink(s->cfg->env_files[i]);
	for (i = 0; i < s->cfg->nfiles && !s->cfg->keep_files; i++)
		(void)unlink(s->cfg->files[i].name);
}

int
output_metrics_start(struct sup *s, char *err, size_t errlen)
{
	const struct config *cfg = s->cfg;

	if (!cfg->check && (cfg->metrics_file != NULL ||
	    cfg->metrics_addr != NULL) && (s->metrics = metrics_new(s->loop,
	    cfg->metrics_file, cfg->metrics_addr, metrics_gauges, s, err,
	    errlen)) == NULL)
		return -1;
	metrics_zero(s);
	return 0;
}

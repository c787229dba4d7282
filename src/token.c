/* token.c: the tokens leasewrap uses: load, lookup, renew, login, unwrap, revoke-self. */
#define _GNU_SOURCE
#include "sup.h"
#include "auth.h"
#include "config.h"
#include "exitcodes.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"
#include "secret.h"
#include "util.h"
#include "vault.h"
#include "vault_json.h"

#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Make value the token in use; the older ones stay until exit. */
static struct tokgen *
add_tokgen(struct sup *s, struct secret *value, int login)
{
	struct tokgen *t = xcalloc(1, sizeof(*t));

	t->sup = s;
	t->value = value;
	t->login = login;
	t->next = s->tokgens;
	s->tokgens = t;
	s->tok = t;
	if (s->vault != NULL)
		vault_set_token(s->vault, value);
	return t;
}

/* The token: VAULT_TOKEN, else --token-file, else ~/.vault-token (the CLI's order). */
int
load_token(struct sup *s, char *err, size_t errlen)
{
	const char *v = NULL, *home = NULL, *path;
	char buf[8192], homefile[4096];
	size_t len;
	ssize_t n;
	int fd, explicit_file = 0;

	for (char **e = s->envp_in; *e != NULL; e++) {
		if (strncmp(*e, "VAULT_TOKEN=", 12) == 0)
			v = *e + 12;
		else if (strncmp(*e, "HOME=", 5) == 0)
			home = *e + 5;
	}
	if (v != NULL && *v != '\0') {
		add_tokgen(s, secret_new(v, strlen(v)), 0);
		return 0;
	}
	if (s->cfg->token_file != NULL) {
		path = s->cfg->token_file;
		explicit_file = 1;
	} else if (home != NULL) {
		snprintf(homefile, sizeof(homefile), "%s/.vault-token", home);
		path = homefile;
	} else
		path = NULL;
	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (explicit_file)
			return errf(err, errlen, "token file \"%s\": %s; check "
			    "--token-file", path, strerror(errno));
		return errf(err, errlen, "no Vault token: set VAULT_TOKEN, give "
		    "--token-file, or run \"vault login\" to write "
		    "~/.vault-token");
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		secret_wipe(buf, sizeof(buf));
		return errf(err, errlen, "token file \"%s\": %s", path,
		    strerror(errno));
	}
	len = (size_t)n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	if (len == 0 || memchr(buf, '\n', len) != NULL) {
		secret_wipe(buf, sizeof(buf));
		return errf(err, errlen, "token file \"%s\" %s; it should hold "
		    "one token", path, len == 0 ? "is empty" : "has several lines");
	}
	add_tokgen(s, secret_new(buf, len), 0);
	secret_wipe(buf, sizeof(buf));
	return 0;
}

/* Can leasewrap get itself a new token when this one ends? */
int
can_login(const struct sup *s)
{
	return s->cfg->auth != AUTH_TOKEN;
}

/* The token's deadline moved: every credential's deadline moves with it. */
static void
token_changed(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++)
		if (s->creds[i].op == OP_NONE && !s->creds[i].has_next &&
		    s->creds[i].done)
			cred_schedule(&s->creds[i]);
}

/*
 * Plan the token's next step: renew it at two thirds of its life; log in
 * again when it cannot be renewed, early enough for the credentials it
 * carries to be replaced under the new token.
 */
static void
token_schedule(struct sup *s)
{
	struct tokgen *t = s->tok;
	ev_tstamp now = ev_now(s->loop);
	double remaining, lead;

	ev_timer_stop(s->loop, &s->tok_timer);
	if (t == NULL || !t->known || t->deadline <= 0)
		return;
	remaining = t->deadline - now;
	if (t->renewable && !t->final && !t->dead) {
		/* Before the last call of the credentials it carries. */
		double d = lease_renew_delay(remaining,
		    lease_grace(t->duration, rnd()));
		double last = (remaining - stop_time(s, 0)) * 2.0 / 3.0;

		timer_in(s, &s->tok_timer, d < last ? d : last);
		return;
	}
	if (!can_login(s))
		return;
	lead = lease_rotate_lead(t->duration, 0, 0.2, stop_time(s,
	    t->duration) + 2.0, rnd());
	timer_in(s, &s->tok_timer, t->dead ? 0 : remaining - 2 * lead);
}

/* Read the token's life from an auth block (a login or renew-self). */
static void
token_take_auth(struct sup *s, struct tokgen *t, json_t *auth, int renewal)
{
	double ttl = json_number_value(json_object_get(auth, "lease_duration"));

	t->renewable = json_is_true(json_object_get(auth, "renewable"));
	if (renewal && ttl < t->duration)
		t->final = 1;		/* capped at its max TTL (§3.2) */
	if (!renewal)
		t->duration = ttl;
	t->known = 1;
	t->deadline = ttl > 0 ? ev_now(s->loop) + ttl : 0;
}

/* lookup-self or renew-self answered: learn the token's life. */
void
token_cb(const struct vault_resp *resp, void *arg)
{
	struct tokgen *t = arg;
	struct sup *s = t->sup;
	char verr[256];
	json_t *root, *v;
	double ttl;
	int was_renew = t->known;

	s->tok_busy = 0;
	if (s->state >= ST_REVOKING) {
		maybe_finish(s);
		return;
	}
	if (was_renew)
		metrics_add(s->metrics, M_TOKEN_RENEWALS, 1, "result",
		    resp->status == 200 ? "ok" : "error", NULL, NULL);
	if (resp->status == 200 &&
	    (root = json_loadb(resp->body, resp->len, 0, NULL)) != NULL) {
		if (was_renew)
			token_take_auth(s, t, json_object_get(root, "auth"), 1);
		else {
			v = json_object_get(root, "data");
			ttl = json_number_value(json_object_get(v, "ttl"));
			t->renewable = json_is_true(json_object_get(v,
			    "renewable"));
			t->duration = json_number_value(json_object_get(v,
			    "creation_ttl"));
			if (t->duration <= 0)
				t->duration = ttl;
			t->known = 1;
			t->deadline = ttl > 0 ? ev_now(s->loop) + ttl : 0;
		}
		json_decref(root);
		s->tok_attempts = 0;
		if (t->deadline > 0)
			log_at(LOG_INFO, "token", LF(LF_TTL(t->deadline -
			    ev_now(s->loop))), "token %s: %.0f s left%s",
			    was_renew ? "renewed" : "looked up",
			    t->deadline - ev_now(s->loop),
			    t->final ? " (its max TTL: it cannot be renewed "
			    "further)" : t->renewable ? ", renewable" :
			    ", not renewable");
		token_schedule(s);
		token_changed(s);
		return;
	}
	vj_error_text(resp->body, resp->len, verr, sizeof(verr));
	if (resp->status == 403 || (resp->status == 400 && was_renew)) {
		/* Revoked, expired, or not renewable after all. */
		log_at(LOG_ERROR, "token", LF(.status = resp->status),
		    "Vault %s the token (%ld%s%s)%s",
		    resp->status == 403 ? "no longer accepts" : "will not renew",
		    resp->status, verr[0] ? ": " : "", verr, can_login(s) ?
		    "; logging in again" : "");
		if (resp->status == 403) {
			t->dead = 1;
			t->deadline = ev_now(s->loop);
		}
		t->final = 1;
		token_schedule(s);
		token_changed(s);
		return;
	}
	s->tok_attempts++;
	log_at(LOG_WARN, "token", LF(.status = resp->status),
	    "%s failed (%ld%s%s); retrying", was_renew ?
	    "renewing the token" : "looking up the token", resp->status,
	    verr[0] || resp->error[0] ? ": " : "", verr[0] ? verr : resp->error);
	timer_in(s, &s->tok_timer, lease_backoff(s->tok_attempts, RETRY_CAP,
	    rnd()));
}

/* Turn a failed login or unwrap into a message and an exit code. */
static int
login_failed(struct sup *s, const struct vault_resp *resp, int unwrapping,
    char *msg, size_t len)
{
	const struct config *cfg = s->cfg;
	char verr[256], path[256];

	vj_error_text(resp->body, resp->len, verr, sizeof(verr));
	auth_login_path(cfg, path, sizeof(path));
	if (resp->status == 0 && resp->tls_error) {
		snprintf(msg, len, "TLS with Vault at %s failed: %s; set "
		    "VAULT_CACERT (--ca-cert) to the CA of its certificate, or "
		    "VAULT_TLS_SERVER_NAME to the name in it", cfg->vault_addr,
		    resp->error);
		return LW_EXIT_CONFIG;
	}
	if (resp->status == 0) {
		snprintf(msg, len, "cannot reach Vault at %s: %s; check "
		    "VAULT_ADDR and that Vault is up", cfg->vault_addr,
		    resp->error);
		return LW_EXIT_UNAVAILABLE;
	}
	if (resp->status == 429 || resp->status >= 500) {
		snprintf(msg, len, "Vault is unavailable for %s (%ld%s%s)",
		    unwrapping ? "sys/wrapping/unwrap" : path, resp->status,
		    verr[0] ? ": " : "", verr);
		return LW_EXIT_UNAVAILABLE;
	}
	if (unwrapping && strstr(verr, "wrapping token is not valid") != NULL)
		snprintf(msg, len, "the wrapped secret ID in \"%s\" was already "
		    "unwrapped or has expired (400: %s): someone may have "
		    "intercepted it; issue a new one", cfg->secret_id_file,
		    verr);
	else if (unwrapping)
		snprintf(msg, len, "cannot unwrap the secret ID in \"%s\" "
		    "(%ld%s%s)", cfg->secret_id_file, resp->status,
		    verr[0] ? ": " : "", verr);
	else
		snprintf(msg, len, "%s login at %s was refused (%ld%s%s); check "
		    "%s", config_auth_name(cfg->auth), path, resp->status,
		    verr[0] ? ": " : "", verr,
		    cfg->auth == AUTH_APPROLE ? "the role ID and secret ID" :
		    cfg->auth == AUTH_CERT ? "the client certificate and "
		    "--auth-role" : "--auth-role and that the JWT is current "
		    "and bound to that role");
	return LW_EXIT_NOPERM;
}

/* A login or unwrap failed: retry while allowed, else give up or wait. */
static void
login_retry_or_fail(struct sup *s, const struct vault_resp *resp,
    int unwrapping)
{
	char msg[1200];
	double delay = lease_backoff(s->tok_attempts + 1, 10.0, rnd());
	int code = login_failed(s, resp, unwrapping, msg, sizeof(msg));
	int again = (resp->status == 0 && !resp->tls_error) ||
	    resp->status == 412 || resp->status == 429 ||
	    (resp->status >= 500 && resp->status != 501);

	s->tok_attempts++;
	if (s->state == ST_FETCHING) {
		if (again && s->stop_signal == 0 &&
		    ev_now(s->loop) + delay <= s->start_deadline) {
			log_at(LOG_WARN, "auth.retry", LF(.status =
			    resp->status), "%s; retrying in %.1f s", msg, delay);
			timer_in(s, &s->tok_timer, delay);
			return;
		}
		log_at(LOG_ERROR, "auth", LF(.status = resp->status), "%s",
		    msg);
		s->exit_code = s->stop_signal ? 128 + s->stop_signal : code;
		shutdown_now(s);
		return;
	}
	/* Running: the credentials in hand hold; keep trying. */
	delay = lease_backoff(s->tok_attempts, RETRY_CAP, rnd());
	log_at(LOG_WARN, "auth.retry", LF(.status = resp->status), "%s; "
	    "retrying in %.1f s", msg, delay);
	timer_in(s, &s->tok_timer, delay);
}

/* The login answered: a new token to use from now on. */
static void
login_cb(const struct vault_resp *resp, void *arg)
{
	struct sup *s = arg;
	json_t *root = NULL, *auth, *ct;
	struct tokgen *t;

	s->tok_busy = 0;
	if (resp->status == 200)
		root = json_loadb(resp->body, resp->len, 0, NULL);
	auth = json_object_get(root, "auth");
	ct = json_object_get(auth, "client_token");
	if (s->state >= ST_REVOKING) {
		/* A token made while exiting must not outlive us. */
		if (json_is_string(ct) && !s->cfg->no_revoke) {
			t = add_tokgen(s, secret_new(json_string_value(ct),
			    json_string_length(ct)), 1);
			token_take_auth(s, t, auth, 0);
		}
		json_decref(root);
		maybe_finish(s);
		return;
	}
	metrics_add(s->metrics, M_LOGINS, 1, "method",
	    config_auth_name(s->cfg->auth), "result",
	    json_is_string(ct) ? "ok" : "error");
	if (!json_is_string(ct)) {
		json_decref(root);
		login_retry_or_fail(s, resp, 0);
		return;
	}
	t = add_tokgen(s, secret_new(json_string_value(ct),
	    json_string_length(ct)), 1);
	token_take_auth(s, t, auth, 0);
	json_decref(root);
	s->tok_attempts = 0;
	log_at(LOG_INFO, "auth.login", LF(LF_TTL(t->duration)),
	    "logged in with %s: token for %.0f s%s",
	    config_auth_name(s->cfg->auth), t->duration,
	    t->renewable ? ", renewable" : "");
	token_schedule(s);
	if (s->state == ST_FETCHING)
		start_reads(s);
	else
		token_changed(s);
}

/* sys/wrapping/unwrap answered: keep the secret ID for every login. */
static void
unwrap_cb(const struct vault_resp *resp, void *arg)
{
	struct sup *s = arg;
	json_t *root = NULL, *sid;

	s->tok_busy = 0;
	if (s->state >= ST_REVOKING) {
		maybe_finish(s);
		return;
	}
	if (resp->status == 200)
		root = json_loadb(resp->body, resp->len, 0, NULL);
	sid = json_object_get(json_object_get(root, "data"), "secret_id");
	if (!json_is_string(sid)) {
		json_decref(root);
		login_retry_or_fail(s, resp, 1);
		return;
	}
	s->secret_id = secret_new(json_string_value(sid),
	    json_string_length(sid));
	json_decref(root);
	log_info("auth.unwrap", "unwrapped the secret ID");
	login_start(s);
}

/* Log in with the configured method, unwrapping the secret ID first if asked. */
void
login_start(struct sup *s)
{
	struct secret *body = NULL, *wrapping = NULL;
	char err[512], path[256];
	int rc;

	s->tok_busy = 1;
	if (s->cfg->secret_id_wrapped && s->secret_id == NULL) {
		/* The wrapping token is the request's own token (§4.5 a). */
		if (auth_read_file(s->cfg->secret_id_file, "wrapped secret ID",
		    1, &wrapping, err, sizeof(err)) == -1) {
			rc = LW_EXIT_CONFIG;
			goto fail;
		}
		vault_request_with(s->vault, wrapping, "PUT",
		    "sys/wrapping/unwrap", NULL, unwrap_cb, s);
		secret_free(wrapping);	/* the request holds its own copy */
		return;
	}
	if ((rc = auth_login_body(s->cfg, s->secret_id, &body, err,
	    sizeof(err))) != 0)
		goto fail;
	auth_login_path(s->cfg, path, sizeof(path));
	vault_request_with(s->vault, NULL, "PUT", path, secret_str(body),
	    login_cb, s);
	secret_free(body);
	return;
fail:
	s->tok_busy = 0;
	log_error("auth", "%s", err);
	if (s->state == ST_FETCHING) {
		s->exit_code = rc;
		shutdown_now(s);
	} else {
		/* The files may come back (a projected token is rewritten). */
		timer_in(s, &s->tok_timer, lease_backoff(++s->tok_attempts,
		    RETRY_CAP, rnd()));
	}
}

/* The token timer: log in, look the token up, or renew it, as due. */
static void
token_step(struct sup *s)
{
	struct tokgen *t = s->tok;
	char body[64];

	if (s->tok_busy || s->state >= ST_REVOKING)
		return;
	if (t == NULL || ((t->final || t->dead || !t->renewable) &&
	    t->known && can_login(s))) {
		login_start(s);
		return;
	}
	s->tok_busy = 1;
	if (!t->known) {
		vault_request(s->vault, "GET", "auth/token/lookup-self", NULL,
		    token_cb, t);
		return;
	}
	snprintf(body, sizeof(body), "{\"increment\":%.0f}", t->duration);
	vault_request(s->vault, "PUT", "auth/token/renew-self", body, token_cb,
	    t);
}

void
token_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	token_step(s);		/* with no token yet, that is a login retry */
}

/* revoke-self answered for one of our login tokens. */
static void
revoke_token_cb(const struct vault_resp *resp, void *arg)
{
	struct tokgen *t = arg;
	char verr[256];

	if (resp->status == 204 || resp->status == 200)
		log_info("auth.revoke", "revoked the login token");
	else if (!t->dead) {
		vj_error_text(resp->body, resp->len, verr, sizeof(verr));
		log_at(LOG_WARN, "auth.revoke", LF(.status = resp->status),
		    "could not revoke the login token "
		    "(%ld%s%s); it expires on its own", resp->status,
		    verr[0] || resp->error[0] ? ": " : "",
		    verr[0] ? verr : resp->error);
	}
	maybe_finish(t->sup);
}

/*
 * At exit, after the leases: revoke-self every token leasewrap logged in
 * for (a token the user gave is never revoked).  Returns how many went out.
 */
int
revoke_login_tokens(struct sup *s)
{
	struct tokgen *t;
	int n = 0;

	for (t = s->tokgens; t != NULL; t = t->next) {
		if (!t->login || t->revoked)
			continue;
		t->revoked = 1;
		if (s->cfg->no_revoke || t->dead || (t->deadline > 0 &&
		    t->deadline <= ev_now(s->loop)))
			continue;
		vault_request_with(s->vault, t->value, "PUT",
		    "auth/token/revoke-self", NULL, revoke_token_cb, t);
		n++;
	}
	return n;
}

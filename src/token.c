/* token.c: the tokens leasewrap uses: load, lookup, renew, login, unwrap, revoke-self. */
#define _GNU_SOURCE
#include "token.h"
#include "auth.h"
#include "config.h"
#include "exitcodes.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"
#include "secret.h"
#include "sup.h"
#include "tokenfile.h"
#include "util.h"
#include "vault.h"
#include "vault_json.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One token leasewrap used: the one it was given, or one per login. */
struct tokgen {
	struct sup	*sup;
	struct secret	*value;
	int		 login;		/* from a login: revoke it at exit */
	int		 known;		/* its TTL is known */
	ev_tstamp	 deadline;	/* 0: never expires */
	double		 duration;
	int		 renewable;
	int		 final;		/* cannot be renewed further */
	int		 dead;		/* Vault no longer accepts it */
	int		 revoked;	/* revoke-self done or not wanted */
	int		 rv_attempts;	/* revoke-self requests sent */
	ev_timer	 rv_timer;	/* revoke-self tried again */
	struct tokgen	*next;
};

/* The token in use and every one before it. */
struct tokens {
	struct sup	*sup;
	struct tokgen	*cur;		/* the token in use */
	struct tokgen	*all;		/* every token, newest first */
	int		 busy;		/* login, lookup or renewal out */
	int		 attempts;	/* failures in a row */
	ev_timer	 timer;		/* the next login, lookup or renewal */
	struct secret	*secret_id;	/* unwrapped AppRole secret ID */
	struct tokenfile *file;		/* --token-file, watched */
	int		 revoking;	/* revoke-self out or to be retried */
};

static void	login_start(struct sup *);
static void	token_cb(const struct vault_resp *, void *);
static void	token_file_cb(struct secret *, void *);
static void	revoke_retry_cb(struct ev_loop *, ev_timer *, int);

/* Make value the token in use; the older ones stay until exit. */
static struct tokgen *
add_tokgen(struct sup *s, struct secret *value, int login)
{
	struct tokgen *t = xcalloc(1, sizeof(*t));

	t->sup = s;
	t->value = value;
	t->login = login;
	ev_init(&t->rv_timer, revoke_retry_cb);
	t->rv_timer.data = t;
	t->next = s->tk->all;
	s->tk->all = t;
	s->tk->cur = t;
	if (s->vault != NULL)
		vault_set_token(s->vault, value);
	return t;
}

int
tokens_load(struct tokens *tk, char *err, size_t errlen)
{
	struct sup *s = tk->sup;
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
			    "%s", path, strerror(errno), config_origin(s->cfg,
			    "token-file", "--token-file", homefile,
			    sizeof(homefile)));
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
	if (explicit_file)	/* an Agent's sink may rotate it */
		tk->file = tokenfile_new(s->loop, path, tk->cur->value,
		    token_file_cb, s);
	return 0;
}

/* Can leasewrap get itself a new token when this one ends? */
static int
can_login(const struct sup *s)
{
	return s->cfg->auth != AUTH_TOKEN && s->cfg->auth != AUTH_NONE;
}

/* Arm the token's timer for its next step (lease_token_plan()). */
static void
token_schedule(struct sup *s)
{
	struct tokgen *t = s->tk->cur;
	struct token_facts f;
	double in = 0;

	ev_timer_stop(s->loop, &s->tk->timer);
	if (t == NULL || !t->known || t->deadline <= 0)
		return;
	f.remaining = t->deadline - ev_now(s->loop);
	f.duration = t->duration;
	f.renewable = t->renewable && !t->final && !t->dead;
	f.dead = t->dead;
	f.can_login = can_login(s);
	f.kill_timeout = (double)s->cfg->kill_timeout_ms / 1000.0;
	/* A login replaces every credential: the slowest to settle. */
	f.settle = (double)config_settle_max_ms(s->cfg) / 1000.0;
	f.r = rnd();
	if (lease_token_plan(&f, &in) != TSTEP_NONE)
		timer_in(s, &s->tk->timer, in);
	else
		/* By then a rotated --token-file may hold the next token. */
		tokenfile_due(s->tk->file, in);
}

/* The --token-file holds a new token: use it; leases under the old one keep its end. */
static void
token_file_cb(struct secret *value, void *arg)
{
	struct sup *s = arg;

	if (sup_exiting(s)) {
		secret_free(value);
		return;
	}
	s->tk->cur->final = 1;	/* no longer renewed: what it carries ends with it */
	add_tokgen(s, value, 0);
	log_info("token", "the token file \"%s\" holds a new token: using it",
	    s->cfg->token_file);
	s->on->token_moved(s);
	vault_cancel(s->vault, token_cb);	/* the old token's lookup */
	s->tk->busy = 0;
	timer_in(s, &s->tk->timer, 0);		/* look the new one up */
}

/* Take a token's life from an answer; a renewal shorter than asked is its max TTL. */
static void
token_take(struct sup *s, struct tokgen *t, const struct vj_token *v,
    int renewal)
{
	t->renewable = v->renewable;
	if (renewal && v->ttl < t->duration)
		/*
		 * A renewal capped by the max TTL still answers 200, with the
		 * shorter TTL (hashicorp/vault sdk/framework/lease.go,
		 * CalculateTTL).
		 */
		t->final = 1;
	if (!renewal)
		t->duration = v->creation_ttl;
	t->known = 1;
	t->deadline = v->ttl > 0 ? ev_now(s->loop) + v->ttl : 0;
}

/*
 * The one retry policy of the token: count the attempt and wait the
 * backoff (capped at 10 s while the first start waits, else 30 s, never
 * less than Vault's Retry-After), or delay when it is not negative.
 * Returns the wait.
 */
static double
token_retry(struct sup *s, double delay, double retry_after)
{
	s->tk->attempts++;
	if (delay < 0)
		delay = lease_retry_delay(s->tk->attempts,
		    s->state == ST_FETCHING, retry_after, rnd());
	timer_in(s, &s->tk->timer, delay);
	return delay;
}

/* The token's life is known anew: log it, plan its next step, move the credentials. */
static void
token_learned(struct sup *s, struct tokgen *t, int was_renew)
{
	s->tk->attempts = 0;
	if (t->deadline > 0)
		log_at(LOG_INFO, "token", LF(LF_TTL(t->deadline -
		    ev_now(s->loop))), "token %s: %.0f s left%s",
		    was_renew ? "renewed" : "looked up",
		    t->deadline - ev_now(s->loop),
		    t->final ? " (its max TTL: it cannot be renewed "
		    "further)" : t->renewable ? ", renewable" :
		    ", not renewable");
	token_schedule(s);
	s->on->token_moved(s);
}

/* lookup-self or renew-self answered: learn the token's life. */
static void
token_cb(const struct vault_resp *resp, void *arg)
{
	struct tokgen *t = arg;
	struct sup *s = t->sup;
	struct vj_token v;
	char why[320];
	int was_renew = t->known;

	s->tk->busy = 0;
	if (sup_exiting(s)) {
		s->on->settled(s);
		return;
	}
	if (was_renew)
		metrics_add(s->metrics, M_TOKEN_RENEWALS, 1, "result",
		    resp->status == 200 ? "ok" : "error", NULL, NULL);
	if (resp->status == 200 && (was_renew ? vj_parse_auth(resp->body,
	    resp->len, &v) : vj_parse_lookup(resp->body, resp->len, &v)) == 0) {
		secret_free(v.client_token);
		token_take(s, t, &v, was_renew);
		token_learned(s, t, was_renew);
		return;
	}
	vj_reason(resp, why, sizeof(why));
	if (vj_policy_denied(resp->status, resp->body, resp->len)) {
		/*
		 * A live token a policy keeps off its own endpoint: a 403
		 * without "invalid token" (vault/request_handling.go
		 * checkToken); the default policy is what grants these.
		 */
		vj_policy_hint(was_renew ? "auth/token/renew-self" :
		    "auth/token/lookup-self", why, sizeof(why));
		log_at(LOG_WARN, "token", LF(.status = resp->status), "%s; %s",
		    why, was_renew ? "it will not be renewed" : "its lifetime "
		    "is unknown: the leases' own answers decide");
		t->final = was_renew;
		token_schedule(s);
		s->on->token_moved(s);
		return;
	}
	if (resp->status == 403 || (resp->status == 400 && was_renew)) {
		/* Revoked, expired, or not renewable after all. */
		log_at(LOG_ERROR, "token", LF(.status = resp->status),
		    "Vault %s the token (%s)%s", resp->status == 403 ?
		    "no longer accepts" : "will not renew", why, can_login(s) ?
		    "; logging in again" : "");
		if (resp->status == 403) {
			t->dead = 1;
			t->deadline = ev_now(s->loop);
		}
		t->final = 1;
		token_schedule(s);
		s->on->token_moved(s);
		return;
	}
	log_at(LOG_WARN, "token", LF(.status = resp->status),
	    "%s failed (%s); retrying", was_renew ? "renewing the token" :
	    "looking up the token", why);
	(void)token_retry(s, -1, resp->retry_after);
}

/* Turn a failed login or unwrap into a message and an exit code. */
static int
login_failed(struct sup *s, const struct vault_resp *resp, int unwrapping,
    char *msg, size_t len)
{
	const struct config *cfg = s->cfg;
	char path[256];
	struct vj_what w = {
		.op = unwrapping ? VJ_UNWRAP : VJ_LOGIN,
		.path = unwrapping ? "sys/wrapping/unwrap" : path,
		.vault_addr = cfg->vault_addr,
		.max_response = cfg->max_response,
		.method = config_auth_name(cfg->auth),
		.check = cfg->auth == AUTH_APPROLE ? "the role ID and secret ID" :
		    cfg->auth == AUTH_CERT ? "the client certificate and "
		    "--auth-role" : "--auth-role and that the JWT is current "
		    "and bound to that role",
		.file = cfg->secret_id_file,
	};

	auth_login_path(cfg, path, sizeof(path));
	return vj_failure(resp, &w, msg, len);
}

/* A login or unwrap failed: retry while allowed, else give up or wait. */
static void
login_retry_or_fail(struct sup *s, const struct vault_resp *resp,
    int unwrapping)
{
	char msg[1200], upto[64] = "";
	int code = login_failed(s, resp, unwrapping, msg, sizeof(msg));
	double delay = lease_start_retry(lease_retry_delay(s->tk->attempts + 1,
	    1, resp->retry_after, rnd()), s->start_deadline - ev_now(s->loop));

	if (s->state == ST_FETCHING && (!vj_retryable(resp) ||
	    s->stop_signal != 0 || delay < 0)) {
		s->tk->attempts++;
		log_at(LOG_ERROR, "auth", LF(.status = resp->status), "%s",
		    msg);
		s->on->fatal(s, s->stop_signal ? 128 + s->stop_signal : code);
		return;
	}
	/* Starting: retry within --start-timeout; running: keep trying. */
	if (s->state == ST_FETCHING && s->tk->attempts == 0)
		util_retry_window(s->cfg->start_timeout_ms, upto, sizeof(upto));
	delay = token_retry(s, s->state == ST_FETCHING ? delay : -1,
	    resp->retry_after);
	log_at(LOG_WARN, "auth.retry", LF(.status = resp->status), "%s; "
	    "retrying in %.1f s%s", msg, delay, upto);
}

/* The login answered: a new token to use from now on. */
static void
login_cb(const struct vault_resp *resp, void *arg)
{
	struct sup *s = arg;
	struct vj_token v = { 0 };
	struct tokgen *t;
	char msg[400] = "";

	s->tk->busy = 0;
	if (resp->status == 200)
		(void)vj_parse_auth(resp->body, resp->len, &v);
	if (sup_exiting(s)) {
		/* A token made while exiting must not outlive us. */
		if (v.client_token != NULL && !s->cfg->no_revoke)
			token_take(s, add_tokgen(s, v.client_token, 1), &v, 0);
		else
			secret_free(v.client_token);
		s->on->settled(s);
		return;
	}
	if (resp->status == 200 && vj_login_mfa(resp->body, resp->len, msg,
	    sizeof(msg))) {
		/* No token to use: an MFA requirement, or an empty one. */
		secret_free(v.client_token);
		v.client_token = NULL;
	}
	metrics_add(s->metrics, M_LOGINS, 1, "method",
	    config_auth_name(s->cfg->auth), "result",
	    v.client_token != NULL ? "ok" : "error");
	if (msg[0] != '\0') {
		log_at(s->state == ST_FETCHING ? LOG_ERROR : LOG_WARN, "auth",
		    LF(.status = resp->status), "%s", msg);
		if (s->state == ST_FETCHING)
			s->on->fatal(s, LW_EXIT_NOPERM);
		else	/* the credentials in hand hold; an operator may fix it */
			(void)token_retry(s, -1, 0);
		return;
	}
	if (v.client_token == NULL) {
		login_retry_or_fail(s, resp, 0);
		return;
	}
	t = add_tokgen(s, v.client_token, 1);
	token_take(s, t, &v, 0);
	s->tk->attempts = 0;
	log_at(LOG_INFO, "auth.login", LF(LF_TTL(t->duration)),
	    "logged in with %s: token for %.0f s%s",
	    config_auth_name(s->cfg->auth), t->duration,
	    t->renewable ? ", renewable" : "");
	token_schedule(s);
	if (s->state == ST_FETCHING)
		s->on->logged_in(s);
	else
		s->on->token_moved(s);
}

/* sys/wrapping/unwrap answered: keep the secret ID for every login. */
static void
unwrap_cb(const struct vault_resp *resp, void *arg)
{
	struct sup *s = arg;

	s->tk->busy = 0;
	if (sup_exiting(s)) {
		s->on->settled(s);
		return;
	}
	if (resp->status != 200 ||
	    vj_parse_unwrap(resp->body, resp->len, &s->tk->secret_id) == -1) {
		login_retry_or_fail(s, resp, 1);
		return;
	}
	log_info("auth.unwrap", "unwrapped the secret ID");
	login_start(s);
}

/* A login could not even be sent: give up before the start, else try again later. */
static void
login_not_sent(struct sup *s, const char *err)
{
	s->tk->busy = 0;
	log_error("auth", "%s", err);
	if (s->state == ST_FETCHING) {
		s->on->fatal(s, LW_EXIT_CONFIG);
	} else
		/* The files may come back (a projected token is rewritten). */
		(void)token_retry(s, -1, 0);
}

/* Log in with the configured method, unwrapping the secret ID first if asked. */
static void
login_start(struct sup *s)
{
	struct secret *body = NULL, *wrapping = NULL;
	char err[512], warn[512], path[256];
	int rc;

	s->tk->busy = 1;
	warn[0] = '\0';
	if (s->cfg->secret_id_wrapped && s->tk->secret_id == NULL) {
		/*
		 * The wrapping token goes as the request's own token with an
		 * empty body, never also in the body, which would revoke it
		 * unread (hashicorp/vault
		 * website/content/api-docs/system/wrapping-unwrap.mdx).
		 */
		rc = auth_read_file(s->cfg->secret_id_file, "wrapped secret ID",
		    &wrapping, warn, sizeof(warn), err, sizeof(err));
		if (warn[0] != '\0')
			log_warn("auth", "%s", warn);
		if (rc == -1) {
			login_not_sent(s, err);
			return;
		}
		vault_request_with(s->vault, wrapping, "PUT",
		    "sys/wrapping/unwrap", NULL, unwrap_cb, s);
		secret_free(wrapping);	/* the request holds its own copy */
		return;
	}
	rc = auth_login_body(s->cfg, s->tk->secret_id, &body, warn, sizeof(warn),
	    err, sizeof(err));
	if (warn[0] != '\0')
		log_warn("auth", "%s", warn);
	if (rc == -1) {
		login_not_sent(s, err);
		return;
	}
	auth_login_path(s->cfg, path, sizeof(path));
	vault_request_with(s->vault, NULL, "PUT", path, secret_str(body),
	    login_cb, s);
	secret_free(body);
}

/* The token timer: log in, look the token up, or renew it, as due. */
static void
token_step(struct sup *s)
{
	struct tokgen *t = s->tk->cur;
	char body[64];

	if (s->tk->busy || sup_exiting(s))
		return;
	if (t == NULL || ((t->final || t->dead || !t->renewable) &&
	    t->known && can_login(s))) {
		login_start(s);
		return;
	}
	s->tk->busy = 1;
	if (!t->known) {
		vault_request(s->vault, "GET", "auth/token/lookup-self", NULL,
		    token_cb, t);
		return;
	}
	snprintf(body, sizeof(body), "{\"increment\":%.0f}", t->duration);
	vault_request(s->vault, "PUT", "auth/token/renew-self", body, token_cb,
	    t);
}

/* The token's timer: its next step is due. */
static void
token_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	token_step(s);		/* with no token yet, that is a login retry */
}

static void	revoke_token_cb(const struct vault_resp *, void *);

/* PUT auth/token/revoke-self with one of our login tokens. */
static void
revoke_send(struct tokgen *t)
{
	t->rv_attempts++;
	vault_request_with(t->sup->vault, t->value, "PUT",
	    "auth/token/revoke-self", NULL, revoke_token_cb, t);
}

/* A revoke-self to try again is due. */
static void
revoke_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	revoke_send(w->data);
}

/*
 * revoke-self answered for one of our login tokens.  What vj_retryable
 * retries (a transport error, 412, 429 from a rate-limit quota, 5xx) is
 * tried again within the revocation window with the backoff of a lease's
 * revocation (leases.c revoke_cb), never sooner than Retry-After.
 */
static void
revoke_token_cb(const struct vault_resp *resp, void *arg)
{
	struct tokgen *t = arg;
	struct sup *s = t->sup;
	char why[320];
	double delay;

	if (resp->status == 204 || resp->status == 200)
		log_info("auth.revoke", "revoked the login token");
	else if (!t->dead) {
		vj_reason(resp, why, sizeof(why));
		delay = lease_retry_delay(t->rv_attempts, 1, resp->retry_after,
		    rnd());
		if (vj_retryable(resp) &&
		    ev_now(s->loop) + delay <= s->revoke_deadline) {
			log_at(LOG_WARN, "auth.revoke", LF(.status =
			    resp->status), "revoking the login token failed "
			    "(%s); retrying in %.1f s", why, delay);
			timer_in(s, &t->rv_timer, delay);
			return;
		}
		log_at(LOG_WARN, "auth.revoke", LF(.status = resp->status),
		    "could not revoke the login token (%s); it expires on its "
		    "own", why);
	}
	s->tk->revoking--;
	s->on->settled(s);
}

int
tokens_revoke_logins(struct tokens *tk)
{
	struct sup *s = tk->sup;
	struct tokgen *t;

	for (t = tk->all; t != NULL; t = t->next) {
		if (!t->login || t->revoked)
			continue;
		t->revoked = 1;
		if (s->cfg->no_revoke || t->dead || (t->deadline > 0 &&
		    t->deadline <= ev_now(s->loop)))
			continue;
		tk->revoking++;
		revoke_send(t);
	}
	return tk->revoking;
}

struct tokens *
tokens_new(struct sup *s)
{
	struct tokens *tk = xcalloc(1, sizeof(*tk));

	tk->sup = s;
	ev_init(&tk->timer, token_timer_cb);
	tk->timer.data = s;
	return tk;
}

void
tokens_free(struct tokens *tk)
{
	struct tokgen *t, *tn;

	if (tk == NULL)
		return;
	ev_timer_stop(tk->sup->loop, &tk->timer);
	for (t = tk->all; t != NULL; t = tn) {
		tn = t->next;
		ev_timer_stop(tk->sup->loop, &t->rv_timer);
		secret_free(t->value);
		free(t);
	}
	secret_free(tk->secret_id);
	tokenfile_free(tk->file);
	free(tk);
}

void
tokens_start(struct tokens *tk)
{
	if (tk->sup->cfg->auth == AUTH_TOKEN)
		vault_set_token(tk->sup->vault, tk->cur->value);
	else if (tk->sup->cfg->auth != AUTH_NONE)
		login_start(tk->sup);
}

void
tokens_look_up_later(struct tokens *tk, double delay)
{
	if (tk->cur != NULL && !tk->cur->known)
		timer_in(tk->sup, &tk->timer, delay);
}

void
tokens_stop(struct tokens *tk)
{
	/* Lookups and renewals create nothing: no need to wait for them. */
	vault_cancel(tk->sup->vault, token_cb);
	tk->busy = 0;
	ev_timer_stop(tk->sup->loop, &tk->timer);
}

int
tokens_can_login(const struct tokens *tk)
{
	return can_login(tk->sup);
}

struct tokgen *
tokens_current(const struct tokens *tk)
{
	return tk->cur;
}

double
token_deadline(const struct tokgen *t)
{
	return t != NULL ? t->deadline : 0;
}

double
token_ttl(const struct tokgen *t)
{
	return t != NULL && t->deadline > 0 ? t->duration : 0;
}

int
token_ends_for_good(const struct tokgen *t)
{
	return t->final || t->dead || !t->renewable;
}

int
token_dead(const struct tokgen *t)
{
	return t->dead;
}

/* cred.c: one credential per Vault path: read, KV v2 lookup, renew, rotate, refresh, last call. */
#define _GNU_SOURCE
#include "cred.h"
#include "cred_int.h"
#include "config.h"
#include "engines.h"
#include "exitcodes.h"
#include "lease.h"
#include "leases.h"
#include "log.h"
#include "metrics.h"
#include "output.h"
#include "secret.h"
#include "spec.h"
#include "sup.h"
#include "token.h"
#include "util.h"
#include "vault.h"
#include "vault_json.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void	cred_due(struct cred *);

/* When the request resp answers was sent (at the latest). */
static ev_tstamp
sent_at(struct sup *s, const struct vault_resp *resp)
{
	double took = resp->seconds > 0 ? resp->seconds : 0;

	return ev_now(s->loop) - took;
}
static void	cred_read(struct cred *, enum purpose);

/*
 * Does c's end depend on its token?  Only a lease does: Vault revokes the
 * leases a token created with it (vault/expiration.go, RevokeByToken).  A
 * certificate issued without a lease (builtin/logical/pki
 * path_issue_sign.go, generate_lease false) stays valid to its NotAfter
 * whatever becomes of the token.
 */
static int
dies_with_token(const struct cred *c)
{
	return c->cur.lease_id != NULL;
}

double
cred_deadline(const struct cred *c)
{
	double t = token_deadline(c->tg);

	if (c->lease_end <= 0)
		return c->rotates_at;	/* a static role's, or 0 */
	if (dies_with_token(c) && t > 0 && t < c->lease_end)
		return t;
	return c->lease_end;
}

/* Does the credential's token end it before its lease does, for good? */
static int
token_bound(const struct cred *c)
{
	double t = token_deadline(c->tg);

	return dies_with_token(c) && t > 0 && t <= c->lease_end &&
	    token_ends_for_good(c->tg);
}

/*
 * Is a token-bound credential past help?  New credentials help only under
 * a newer token; with the token in use, only a login can make one.
 */
static int
doomed_by_token(const struct cred *c)
{
	return token_bound(c) && c->tg == tokens_current(c->sup->tk);
}

/*
 * Load cur's lease facts, its TTLs counted from since: when the request
 * that brought it was sent.  Vault started the lease after that, so the
 * end taken is never later than Vault's, however long the answer took or
 * the handover waited (a stop, --settle-delay) before cur came into use.
 */
void
cred_take_lease(struct cred *c, ev_tstamp since)
{
	enum engine_timing timing = c->eng->timing(&c->cur, &c->duration);

	/* A certificate's end is absolute (data.expiration): timing() counted from now. */
	if (engine_is_cert(&c->cur))
		since = ev_now(c->sup->loop);
	c->renewable = c->cur.renewable;
	c->final = !c->renewable;
	c->lease_end = timing == TIMING_LEASE && c->duration > 0 ?
	    since + c->duration : 0;
	c->rotates_at = timing == TIMING_ROTATES ? since + c->duration : 0;
	c->jitter = rnd();
	c->issued = since;
	c->read_at = c->issued;
	c->attempts = 0;
	c->doomed_logged = 0;
}

/* The facts about c's lease, for lease_plan(). */
static void
cred_facts(const struct cred *c, struct lease_facts *f)
{
	const struct config *cfg = c->sup->cfg;

	memset(f, 0, sizeof(*f));
	f->now = ev_now(c->sup->loop);
	f->lease_end = c->lease_end;
	f->deadline = cred_deadline(c);
	f->duration = c->duration;
	f->token_ttl = token_ttl(c->tg);
	f->issued = c->issued;
	f->learned_max = c->learned_max;
	f->ttl_hint = (double)c->cur.lease_duration;
	f->refresh_at = c->rotates_at > 0 ? c->rotates_at + 1.0 : 0;
	/* Retrying a failed read: its backoff, not the last read, paces it. */
	f->last_read = c->attempts == 0 ? c->read_at : 0;
	f->renewable = c->renewable && !c->final && !token_bound(c);
	f->doomed = doomed_by_token(c);
	f->refresh_interval = (double)config_refresh_ms(cfg, c->path,
	    &f->refresh_own) / 1000.0;
	f->rotate_before = (double)cfg->rotate_before_ms / 1000.0;
	f->rotate_pct = cfg->rotate_before_pct;
	f->kill_timeout = (double)cfg->kill_timeout_ms / 1000.0;
	if (cfg->on_change == CHANGE_SIGNAL)
		f->revoke_grace = (double)cfg->revoke_grace_ms / 1000.0;
	f->settle = cred_settle_delay(c);
	f->jitter = c->jitter;
}

void
cred_schedule(struct cred *c)
{
	struct sup *s = c->sup;
	struct lease_facts f;
	struct lease_plan p;

	if (!c->settling)
		ev_timer_stop(s->loop, &c->timer);
	ev_timer_stop(s->loop, &c->expiry);
	if (sup_exiting(s))
		return;
	cred_facts(c, &f);
	lease_plan(&f, &p);
	if (p.step != LSTEP_REFRESH)
		timer_in(s, &c->expiry, p.last_call);
	if (c->has_next || c->settling)
		return;		/* fetched, waiting to be applied: the last call only */
	switch (p.step) {
	case LSTEP_REFRESH:
		c->purpose = P_REFRESH;
		timer_in(s, &c->timer, p.in);
		return;
	case LSTEP_RENEW:
		c->purpose = P_RENEW;
		timer_in(s, &c->timer, p.in);
		return;
	case LSTEP_WAIT:
		/* With a login on the way, wait for the new token. */
		if (!c->doomed_logged && !tokens_can_login(s->tk))
			log_at(LOG_WARN, "lease.doomed", CRED_LF(c, f.deadline -
			    f.now), "the token expires in %.0f s and cannot be "
			    "renewed; its credentials die with it",
			    f.deadline - f.now);
		c->doomed_logged = 1;
		return;		/* only the last call is left */
	case LSTEP_ROTATE:
		break;
	}
	c->purpose = P_ROTATE;
	if (p.settle_short > 0)
		cred_settle_warn(c, p.lead, p.settle_short);
	if (!p.capped)
		log_at(LOG_DEBUG, "lease.schedule", CRED_LF(c, f.deadline -
		    f.now), "rotating in %.1f s, %.1f s before its end", p.in,
		    p.lead);
	if (p.in <= 0)
		cred_due(c);	/* late already: before the last call can fire */
	else
		timer_in(s, &c->timer, p.in);
}

/*
 * sys/leases/renew answered: the lease's new TTL, shorter than asked once
 * its max TTL caps it (hashicorp/vault vault/expiration.go, Renew;
 * sdk/framework/lease.go, CalculateTTL).
 */
static void
renew_cb(const struct vault_resp *resp, void *arg)
{
	struct cred *c = arg;
	struct sup *s = c->sup;
	char why[320];
	double ttl;

	c->op = OP_NONE;
	if (sup_exiting(s)) {
		s->on->settled(s);
		return;
	}
	if (resp->status == 200 && vj_parse_renewal(resp->body, resp->len, &ttl,
	    &c->renewable) == 0) {
		metrics_add(s->metrics, M_RENEWALS, 1, "path", c->path,
		    "result", "ok");
		c->attempts = 0;
		c->lease_end = sent_at(s, resp) + ttl;
		if (ttl < c->duration || !c->renewable) {
			c->final = 1;
			if (ttl < c->duration)
				c->learned_max = c->lease_end - c->issued;
			log_at(LOG_INFO, "lease.renew", CRED_LF(c, ttl),
			    "renewed for %.0f s, its max TTL: it will be "
			    "replaced", ttl);
		} else
			log_at(LOG_INFO, "lease.renew", CRED_LF(c, ttl),
			    "renewed for %.0f s", ttl);
		cred_schedule(c);
		return;
	}
	metrics_add(s->metrics, M_RENEWALS, 1, "path", c->path, "result",
	    "error");
	vj_reason(resp, why, sizeof(why));
	/* A backend failure is a 400 (vault/expiration.go renewEntry). */
	if (vj_retryable(resp) || vj_backend_failure(resp->status, resp->body,
	    resp->len)) {
		/* The lease still holds: keep renewing, no new credentials. */
		c->attempts++;
		log_at(LOG_WARN, "lease.renew", LF(.path = c->path,
		    .lease = lease_id(c->lease),
		    .status = resp->status), "renewal failed (%s); retrying",
		    why);
		c->purpose = P_RENEW;
		timer_in(s, &c->timer, lease_retry_delay(c->attempts, 0,
		    resp->retry_after, rnd()));
		return;
	}
	/* Lost, expired or not renewable: only new credentials help now. */
	log_at(LOG_WARN, "lease.renew", LF(.path = c->path,
	    .lease = lease_id(c->lease), .status = resp->status),
	    "cannot renew (%s); fetching new credentials", why);
	c->final = 1;
	c->attempts = 0;
	cred_read(c, P_ROTATE);
}

/* PUT sys/leases/renew for the lease in use, asking for its whole duration again. */
static void
cred_renew(struct cred *c)
{
	char *text = vj_lease_body(lease_id(c->lease), (long long)c->duration);

	c->op = OP_RENEW;
	vault_request(c->sup->vault, "PUT", "sys/leases/renew", text, renew_cb,
	    c);
	free(text);
}

/* The credential's timer: renew, rotate or refresh, as scheduled. */
static void
cred_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	cred_due(w->data);
}

/* Renew, rotate or refresh a credential now. */
static void
cred_due(struct cred *c)
{
	if (c->op != OP_NONE || sup_exiting(c->sup))
		return;
	switch (c->purpose) {
	case P_INITIAL:
		break;		/* first reads retry through initial_timer_cb */
	case P_RENEW:
		cred_renew(c);
		break;
	case P_ROTATE:
		if (c->sup->cfg->on_change == CHANGE_EXIT) {
			/* No use fetching: the orchestrator starts us anew. */
			log_at(LOG_INFO, "lease.rotate", LF(.path = c->path),
			    "credentials end soon; --on-change exit");
			c->sup->on->rotation_due(c->sup);
			return;
		}
		cred_read(c, P_ROTATE);
		break;
	case P_REFRESH:
		cred_read(c, P_REFRESH);
		break;
	case P_SETTLE:
		cred_settle_end(c);
		break;
	}
}

/* The last call: the credential dies soon and nothing replaced it; the state machine decides. */
static void
cred_expiry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cred *c = w->data;
	double left = cred_deadline(c) - lease_stop_time(cred_life(c),
	    (double)c->sup->cfg->kill_timeout_ms / 1000.0) - ev_now(c->sup->loop);

	(void)loop;
	(void)revents;
	if (left > 0.01) {
		/* Armed before the token's end moved (a busy one is not rescheduled). */
		timer_in(c->sup, &c->expiry, left);
		return;
	}
	c->sup->on->last_call(c->sup, c);
}

int
cred_replacing(const struct cred *c)
{
	return (c->op == OP_READ && c->purpose == P_ROTATE) || c->settling;
}

int
cred_awaits_login(const struct cred *c)
{
	return token_bound(c) && tokens_can_login(c->sup->tk);
}

void
cred_last_call_in(struct cred *c, double delay)
{
	timer_in(c->sup, &c->expiry, delay);
}

/* Turn a failed answer into an exit code and a message without any secret. */
static void
read_failed(struct cred *c, const struct vault_resp *resp)
{
	const struct config *cfg = c->sup->cfg;
	struct vj_what w = { .op = VJ_READ, .path = c->path,
	    .vault_addr = cfg->vault_addr, .max_response = cfg->max_response };

	c->fail_status = resp->status;
	c->fail_code = vj_failure(resp, &w, c->fail, sizeof(c->fail));
}

/* sys/internal/ui/mounts answered: retry a plain KV v2 path as mount/data/rest. */
static void
mount_cb(const struct vault_resp *resp, void *arg)
{
	struct cred *c = arg;
	char err[128], *mount = NULL;
	int version = 0;
	size_t ml, len;

	c->op = OP_NONE;
	if (resp->status == 200 && vj_parse_mount(resp->body, resp->len,
	    &mount, &version, err, sizeof(err)) == 0 && version == 2) {
		ml = strlen(mount);
		if (strncmp(c->path, mount, ml) == 0 &&
		    strncmp(c->path + ml, "data/", 5) != 0) {
			len = strlen(c->path) + 6;
			free(c->read_path);
			c->read_path = xmalloc(len);
			snprintf(c->read_path, len, "%sdata/%s", mount,
			    c->path + ml);
			log_at(LOG_DEBUG, "fetch.kv2", LF(.path = c->path),
			    "on KV v2 mount %s: reading %s", mount,
			    c->read_path);
			free(mount);
			c->fail_code = 0;
			c->fail[0] = '\0';
			cred_read(c, c->purpose);
			return;
		}
	}
	free(mount);
	metrics_add(c->sup->metrics, M_FETCHES, 1, "path", c->path, "result",
	    "error");
	c->done = 1;	/* keep the first failure */
	c->sup->on->reads_settled(c->sup);
}

/*
 * Is a failed first read a plain path on KV v2, to be looked up?  It gives
 * 404 (or 403 under a data/ policy).  Only a read's: a write with
 * parameters is never a KV v2 read (KV v2 writes go to data/ as well).
 */
static int
kv2_lookup_due(const struct cred *c, const struct vault_resp *resp)
{
	return (resp->status == 404 || resp->status == 403) && !c->resolved &&
	    strcmp(c->eng->method, "GET") == 0;
}

/* The initial read failed: retry, resolve a KV v2 path, or give up. */
static void
initial_failed(struct cred *c, const struct vault_resp *resp)
{
	struct sup *s = c->sup;
	double delay = lease_start_retry(lease_retry_delay(c->attempts, 1,
	    resp->retry_after, rnd()), s->start_deadline - ev_now(s->loop));
	char *p, upto[64] = "";
	size_t len;

	read_failed(c, resp);
	/* A 404 or 403 that leads to the KV v2 lookup is not a failure yet. */
	if (!kv2_lookup_due(c, resp))
		metrics_add(s->metrics, M_FETCHES, 1, "path", c->path, "result",
		    "error");
	if (vj_retryable(resp) && s->stop_signal == 0 && delay >= 0) {
		if (c->attempts == 1)
			util_retry_window(s->cfg->start_timeout_ms, upto,
			    sizeof(upto));
		log_at(LOG_WARN, "fetch.retry", LF(.path = c->path,
		    .status = resp->status), "%s; retrying in %.1f s (try %d)%s",
		    c->fail, delay, c->attempts + 1, upto);
		timer_in(s, &c->timer, delay);
		return;
	}
	if (kv2_lookup_due(c, resp) && s->stop_signal == 0) {
		c->resolved = 1;
		len = strlen(c->path) + 32;
		p = xmalloc(len);
		snprintf(p, len, "sys/internal/ui/mounts/%s", c->path);
		c->op = OP_READ;
		vault_request(s->vault, "GET", p, NULL, mount_cb, c);
		free(p);
		return;
	}
	c->done = 1;
	s->on->reads_settled(s);
}

/* An unchanged read of a static role: when it rotates next, from the new answer. */
static void
note_rotation(struct cred *c, const struct vj_secret *sec)
{
	double ttl;

	if (c->eng->timing(sec, &ttl) == TIMING_ROTATES)
		c->rotates_at = ev_now(c->sup->loop) + ttl;
}

/* A read brought values: keep them (the first read), drop them (an unchanged refresh), or apply them. */
static void
read_got(struct cred *c, struct vj_secret *sec)
{
	struct sup *s = c->sup;
	struct lease *l = NULL;

	metrics_add(s->metrics, M_FETCHES, 1, "path", c->path, "result", "ok");
	if (sec->lease_id != NULL) {
		l = leases_add(s->leases, sec->lease_id);
		log_at(LOG_INFO, "lease.create", LF(.path = c->path,
		    .lease = sec->lease_id, LF_TTL((double)sec->lease_duration)),
		    "new lease: %lld s%s", sec->lease_duration,
		    sec->renewable ? ", renewable" : "");
	} else
		l = leases_add_cert(s->leases, c->read_path, sec);
	if (c->purpose == P_INITIAL) {
		c->cur = *sec;
		c->lease = l;
		c->tg = tokens_current(s->tk);
		cred_take_lease(c, c->answer_sent);
		if (cred_settle_begin(c))
			return;
		c->done = 1;
		s->on->reads_settled(s);
		return;
	}
	if (sup_exiting(s)) {
		vj_secret_clear(sec);
		s->on->settled(s);
		return;
	}
	if (c->purpose == P_REFRESH && l == NULL &&
	    !output_values_differ(s, c->path, &c->cur, sec)) {
		log_at(LOG_DEBUG, "fetch.refresh", LF(.path = c->path),
		    "unchanged");
		note_rotation(c, sec);
		vj_secret_clear(sec);
		c->attempts = 0;
		c->read_at = ev_now(s->loop);
		c->jitter = rnd();	/* no lease to keep it for */
		cred_schedule(c);
		return;
	}
	log_at(LOG_INFO, "fetch.new", LF(.path = c->path), "new credentials%s",
	    c->purpose == P_REFRESH ? " (a value changed)" : "");
	if (c->has_next) {
		vj_secret_clear(&c->next);
		if (c->next_lease != NULL)
			lease_retire(c->next_lease, 0);
	}
	c->next = *sec;
	c->next_lease = l;
	c->next_tg = tokens_current(s->tk);
	c->next_sent = c->answer_sent;
	ev_timer_stop(s->loop, &c->timer);
	if (cred_settle_begin(c))
		return;
	c->has_next = 1;
	s->on->creds_ready(s);
}

/* A read failed (err: why a 200 was unusable): give up, or retry while the command keeps what it has. */
static void
read_lost(struct cred *c, const struct vault_resp *resp, const char *err)
{
	struct sup *s = c->sup;
	double delay;

	if (resp->status == 200 || c->purpose != P_INITIAL)
		metrics_add(s->metrics, M_FETCHES, 1, "path", c->path, "result",
		    "error");
	if (resp->status == 200) {
		/* Not a usable secret: that is final, like a 4xx. */
		c->fail_code = LW_EXIT_DATAERR;
		snprintf(c->fail, sizeof(c->fail), "%s", err);
		if (c->purpose == P_INITIAL) {
			c->done = 1;
			s->on->reads_settled(s);
			return;
		}
	} else if (c->purpose == P_INITIAL) {
		initial_failed(c, resp);
		return;
	} else
		read_failed(c, resp);
	if (sup_exiting(s)) {
		s->on->settled(s);
		return;
	}
	if (s->state == ST_WAITING) {
		log_at(LOG_ERROR, "lease.expire", LF(.path = c->path), "%s; the "
		    "command is stopped and its credentials end: exiting "
		    "(exit %d)", c->fail, LW_EXIT_EXPIRED);
		s->on->fatal(s, LW_EXIT_EXPIRED);
		return;
	}
	/* A rotation or refresh failed: the command keeps what it has. */
	c->attempts++;
	delay = lease_retry_delay(c->attempts, 0, resp->retry_after, rnd());
	log_at(LOG_WARN, "fetch.retry", LF(.path = c->path,
	    .status = resp->status), "%s; retrying in %.1f s", c->fail, delay);
	timer_in(s, &c->timer, delay);
}

/* A read answered: the first one, a rotation, or a refresh. */
static void
read_cb(const struct vault_resp *resp, void *arg)
{
	struct cred *c = arg;
	struct vj_secret sec;
	char err[384];

	c->op = OP_NONE;
	c->answer_sent = sent_at(c->sup, resp);
	log_at(LOG_DEBUG, "fetch", LF(.path = c->read_path,
	    .status = resp->status), "%s %s: %ld in %.1f ms", c->eng->method,
	    c->read_path, resp->status, resp->seconds * 1000);
	err[0] = '\0';
	if (resp->status == 200 && c->eng->parse(c->read_path, resp->body,
	    resp->len, &sec, err, sizeof(err)) == 0)
		read_got(c, &sec);
	else
		read_lost(c, resp, err);
}

/* Send the read of c's kind for the given purpose. */
static void
cred_read(struct cred *c, enum purpose p)
{
	char *body = c->eng->body != NULL ? c->eng->body(c->read_path) : NULL;
	char *to = c->eng->request_path != NULL ?
	    c->eng->request_path(c->read_path) : NULL;

	c->purpose = p;
	c->op = OP_READ;
	c->attempts++;
	vault_request(c->sup->vault, c->eng->method, to != NULL ? to :
	    c->read_path, body, read_cb, c);
	free(to);
	free(body);
}

/* Before the first start, the credential timer only paces retries. */
static void
initial_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cred *c = w->data;

	(void)loop;
	(void)revents;
	if (c->settling) {
		cred_settle_end(c);
		return;
	}
	if (c->sup->stop_signal != 0) {
		c->done = 1;
		c->sup->on->reads_settled(c->sup);
		return;
	}
	c->fail_code = 0;
	cred_read(c, P_INITIAL);
}

/* Group the requested names by path: one read, one lease per path. */
static void
plan_reads(struct sup *s)
{
	size_t i, j;

	s->creds = xcalloc(s->cfg->nspecs, sizeof(*s->creds));
	for (i = 0; i < s->cfg->nspecs; i++) {
		const char *p = s->cfg->specs[i].path;
		struct cred *c;

		for (j = 0; j < s->ncreds; j++)
			if (strcmp(s->creds[j].path, p) == 0)
				break;
		if (j < s->ncreds)
			continue;
		c = &s->creds[s->ncreds++];
		c->sup = s;
		c->path = xstrdup(p);
		c->read_path = xstrdup(p);
		c->eng = engine_for(p);
		ev_timer_init(&c->timer, initial_timer_cb, 0., 0.);
		c->timer.data = c;
		ev_timer_init(&c->expiry, cred_expiry_cb, 0., 0.);
		c->expiry.data = c;
	}
}

void
creds_read_all(struct sup *s)
{
	char hint[512];
	size_t i;

	plan_reads(s);
	for (i = 0; i < s->ncreds; i++)
		if (vj_namespace_hint(s->creds[i].path, s->cfg->namespace, hint,
		    sizeof(hint))) {
			log_warn("fetch", "%s", hint);
			break;
		}
	log_debug("fetch", "reading %zu path(s) for %zu variable(s)",
	    s->ncreds, s->cfg->nspecs);
	for (i = 0; i < s->ncreds; i++)
		cred_read(&s->creds[i], P_INITIAL);
}

void
creds_start_timers(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++) {
		ev_timer_stop(s->loop, &s->creds[i].timer);
		ev_timer_init(&s->creds[i].timer, cred_timer_cb, 0., 0.);
		s->creds[i].timer.data = &s->creds[i];
		cred_schedule(&s->creds[i]);
	}
}

void
creds_token_moved(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++)
		if (s->creds[i].op == OP_NONE && !s->creds[i].has_next &&
		    !s->creds[i].settling && s->creds[i].done)
			cred_schedule(&s->creds[i]);
}

int
creds_stop_retries(struct sup *s)
{
	size_t i;
	int n = 0;

	for (i = 0; i < s->ncreds; i++)
		if (ev_is_active(&s->creds[i].timer)) {
			ev_timer_stop(s->loop, &s->creds[i].timer);
			s->creds[i].done = 1;
			n++;
		}
	return n;
}

void
creds_stop(struct sup *s)
{
	size_t i;

	/* Renewals create nothing: no need to wait for them. */
	vault_cancel(s->vault, renew_cb);
	for (i = 0; i < s->ncreds; i++) {
		ev_timer_stop(s->loop, &s->creds[i].timer);
		ev_timer_stop(s->loop, &s->creds[i].expiry);
	}
}

void
creds_free(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++) {
		ev_timer_stop(s->loop, &s->creds[i].timer);
		ev_timer_stop(s->loop, &s->creds[i].expiry);
		vj_secret_clear(&s->creds[i].cur);
		vj_secret_clear(&s->creds[i].next);
		if (s->creds[i].was.has)
			vj_secret_clear(&s->creds[i].was.cur);
		free(s->creds[i].path);
		free(s->creds[i].read_path);
	}
	free(s->creds);
}

const struct cred *
creds_find(const struct sup *s, const char *path)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++)
		if (strcmp(s->creds[i].path, path) == 0)
			return &s->creds[i];
	return NULL;
}

size_t
creds_count(const struct sup *s)
{
	return s->ncreds;
}

struct cred *
creds_at(const struct sup *s, size_t i)
{
	return &s->creds[i];
}

const char *
cred_path(const struct cred *c)
{
	return c->path;
}

const struct vj_secret *
cred_values(const struct cred *c)
{
	return &c->cur;
}

struct lease *
cred_lease(const struct cred *c)
{
	return lease_id(c->lease) != NULL ? c->lease : NULL;	/* not a certificate's */
}

double
cred_duration(const struct cred *c)
{
	return c->duration;
}

double
cred_life(const struct cred *c)
{
	return lease_life(c->duration, token_ttl(c->tg));
}

int
cred_renewable(const struct cred *c)
{
	return c->renewable;
}

int
cred_has_next(const struct cred *c)
{
	return c->has_next;
}

int
creds_settled(const struct sup *s)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++)
		if (!s->creds[i].done)
			return 0;
	return 1;
}

const struct cred *
creds_failed(const struct sup *s, int *code, long *status, const char **msg)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++)
		if (s->creds[i].fail_code != 0) {
			*code = s->creds[i].fail_code;
			*status = s->creds[i].fail_status;
			*msg = s->creds[i].fail;
			return &s->creds[i];
		}
	return NULL;
}

/* leases.c: the leases leasewrap created and must revoke: retire, grace, revoke with retries. */
#define _GNU_SOURCE
#include "leases.h"
#include "config.h"
#include "engines.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"
#include "sup.h"
#include "util.h"
#include "vault.h"
#include "vault_json.h"

#include <ev.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum lease_state { LS_ACTIVE, LS_RETIRED, LS_REVOKING, LS_DONE };

/* A lease leasewrap created and must revoke. */
struct lease {
	struct leases		*ls;
	char			*id;		/* a certificate's: its serial number */
	char			*mount;		/* a certificate's PKI mount; NULL: a lease */
	enum lease_state	 state;
	double			 retired_at;
	int			 attempts;
	ev_timer		 retry;
};

/* Every lease of the run. */
struct leases {
	struct sup		*sup;
	struct lease		**v;
	size_t			 n;
	ev_timer		 grace;	/* signal mode: revoke the retired */
};

static void	revoke_one(struct lease *);
static int	cert_failed(struct lease *, const struct vault_resp *);

/*
 * A certificate's revocation answered 200: revoked (now, or before: the
 * first revocation_time again), or left off the CRL because it has
 * expired, with a warning (builtin/logical/pki crl_util.go revokeCert);
 * either way nothing is left to do.
 */
static void
cert_revoked(const struct lease *l, const struct vault_resp *resp)
{
	char warning[256];

	if (vj_cert_unrevoked(resp->body, resp->len, warning,
	    sizeof(warning)))
		log_at(LOG_INFO, "cert.revoke", LF(.path = l->mount,
		    .status = resp->status), "certificate %s not revoked: %s",
		    l->id, warning[0] ? warning : "Vault gave no revocation_time");
	else
		log_at(LOG_INFO, "cert.revoke", LF(.path = l->mount,
		    .status = resp->status), "revoked certificate %s", l->id);
}

/* The backoff is over: revoke again. */
static void
revoke_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	revoke_one(w->data);
}

/* A revocation answered: done, retried after a backoff, or reported. */
static void
revoke_cb(const struct vault_resp *resp, void *arg)
{
	struct lease *l = arg;
	struct sup *s = l->ls->sup;
	char why[320], quoted[512];
	double delay;
	int ok, again;

	/* 204: revoked; 202: queued (sync=false); both are done for us. */
	ok = resp->status == 204 || resp->status == 200 || resp->status == 202;
	metrics_add(s->metrics, M_REVOCATIONS, 1, "result", ok ? "ok" : "error",
	    NULL, NULL);
	if (ok && l->mount != NULL)
		cert_revoked(l, resp);
	else if (ok)
		log_at(LOG_INFO, "lease.revoke", LF(.lease = l->id,
		    .status = resp->status), "revoked");
	else if (l->mount != NULL && !cert_failed(l, resp))
		return;
	else if (l->mount == NULL) {
		vj_reason(resp, why, sizeof(why));
		delay = lease_retry_delay(l->attempts, 1, resp->retry_after,
		    rnd());
		/*
		 * A wrapped backend failure is a 400 and the lease stays
		 * (vault/expiration.go revokeEntry); at exit every answer but
		 * a settled one is tried again for the whole window.
		 */
		if (sup_exiting(s))
			again = !vj_revoke_settled(resp->status) &&
			    !resp->tls_error && !resp->fatal &&
			    ev_now(s->loop) + delay <= s->revoke_deadline;
		else
			again = vj_retryable(resp) || vj_backend_failure(
			    resp->status, resp->body, resp->len);
		if (again) {
			log_at(LOG_WARN, "lease.revoke", LF(.lease = l->id,
			    .status = resp->status), "revoking failed (%s); "
			    "retrying in %.1f s", why, delay);
			timer_in(s, &l->retry, delay);
			return;
		}
		util_shell_quote(l->id, quoted, sizeof(quoted));
		log_at(LOG_ERROR, "lease.revoke", LF(.lease = l->id,
		    .status = resp->status), "could not revoke the lease "
		    "(%s); %s revoke it with: vault lease revoke %s", why,
		    resp->status == 403 ? "grant \"update\" on "
		    "sys/leases/revoke to the token's policy, and" : "", quoted);
	}
	l->state = LS_DONE;
	s->on->settled(s);
}

/*
 * A certificate's revocation failed: try again (0) while Vault may answer
 * otherwise (a transport error, 412, 429, 5xx; at exit within the window),
 * else report it (1).  A 400 is final: an unknown serial or a bad request
 * (builtin/logical/pki path_revoke.go, pathRevokeWrite's ErrorResponses).
 */
static int
cert_failed(struct lease *l, const struct vault_resp *resp)
{
	struct sup *s = l->ls->sup;
	char why[320];
	double delay = lease_retry_delay(l->attempts, 1, resp->retry_after,
	    rnd());

	vj_reason(resp, why, sizeof(why));
	if (vj_retryable(resp) && !resp->tls_error && !resp->fatal &&
	    (!sup_exiting(s) || ev_now(s->loop) + delay <= s->revoke_deadline)) {
		log_at(LOG_WARN, "cert.revoke", LF(.path = l->mount,
		    .status = resp->status), "revoking certificate %s failed "
		    "(%s); retrying in %.1f s", l->id, why, delay);
		timer_in(s, &l->retry, delay);
		return 0;
	}
	log_at(LOG_ERROR, "cert.revoke", LF(.path = l->mount,
	    .status = resp->status), "could not revoke certificate %s (%s); "
	    "%srevoke it with: vault write %s/revoke serial_number=%s", l->id,
	    why, resp->status == 403 ? "grant \"update\" on its revoke path "
	    "to the token's policy, and " : "", l->mount, l->id);
	return 1;
}

/*
 * PUT MOUNT/revoke with the serial number of a certificate
 * (builtin/logical/pki path_revoke.go, pathRevokeWrite, and crl_util.go
 * revokeCert: answers 200 with revocation_time, the first one again for a
 * serial revoked before, none and a warning for an expired certificate;
 * 400 "certificate with serial S not found." for a serial the mount does
 * not hold).
 */
static void
revoke_cert(struct lease *l)
{
	json_t *o = json_pack("{s:s}", "serial_number", l->id);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len = strlen(l->mount) + 8;
	char *path = xmalloc(len);

	snprintf(path, len, "%s/revoke", l->mount);
	vault_request(l->ls->sup->vault, "PUT", path, text, revoke_cb, l);
	free(path);
	free(text);
	json_decref(o);
}

/*
 * PUT sys/leases/revoke for one lease: unknown or already revoked leases
 * answer 204 too (hashicorp/vault vault/logical_system.go, handleRevoke;
 * vault/expiration.go, revokeCommon).
 */
static void
revoke_one(struct lease *l)
{
	char *text;

	l->state = LS_REVOKING;
	l->attempts++;
	if (l->mount != NULL) {
		revoke_cert(l);
		return;
	}
	text = vj_lease_body(l->id, -1);
	vault_request(l->ls->sup->vault, "PUT", "sys/leases/revoke", text,
	    revoke_cb, l);
	free(text);
}

/* A lease leasewrap is done with: revoke it, or with --no-revoke let it be. */
static void
release_lease(struct lease *l)
{
	if (l->ls->sup->cfg->no_revoke)
		l->state = LS_DONE;
	else
		revoke_one(l);
}

/* Signal mode: revoke the leases retired --revoke-grace ago; wait for the rest. */
static void
grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct leases *ls = w->data;
	struct sup *s = ls->sup;
	double grace = (double)s->cfg->revoke_grace_ms / 1000.0, next = -1;
	ev_tstamp now = ev_now(s->loop);
	size_t i;

	(void)loop;
	(void)revents;
	for (i = 0; i < ls->n; i++) {
		struct lease *l = ls->v[i];
		double left = l->retired_at + grace - now;

		if (l->state != LS_RETIRED)
			continue;
		if (left <= 0.001)
			release_lease(l);
		else if (next < 0 || left < next)
			next = left;
	}
	if (next >= 0)
		timer_in(s, &ls->grace, next);
}

struct leases *
leases_new(struct sup *s)
{
	struct leases *ls = xcalloc(1, sizeof(*ls));

	ls->sup = s;
	ev_init(&ls->grace, grace_cb);
	ls->grace.data = ls;
	return ls;
}

void
leases_free(struct leases *ls)
{
	size_t i;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->n; i++) {
		ev_timer_stop(ls->sup->loop, &ls->v[i]->retry);
		free(ls->v[i]->id);
		free(ls->v[i]->mount);
		free(ls->v[i]);
	}
	ev_timer_stop(ls->sup->loop, &ls->grace);
	free(ls->v);
	free(ls);
}

/* Remember a lease (mount NULL) or a certificate to revoke (mount: its PKI mount, taken). */
static struct lease *
lease_new(struct leases *ls, const char *id, char *mount)
{
	struct lease *l = xcalloc(1, sizeof(*l)), **v;

	v = realloc(ls->v, (ls->n + 1) * sizeof(*v));
	if (v == NULL) {
		log_error("internal", "out of memory");
		abort();
	}
	ls->v = v;
	l->ls = ls;
	l->id = xstrdup(id);
	l->mount = mount;
	l->state = LS_ACTIVE;
	ev_timer_init(&l->retry, revoke_retry_cb, 0., 0.);
	l->retry.data = l;
	ls->v[ls->n++] = l;
	/* A read that lands while exiting: revoke its lease at once. */
	if (sup_exiting(ls->sup))
		release_lease(l);
	return l;
}

struct lease *
leases_add(struct leases *ls, const char *id)
{
	return lease_new(ls, id, NULL);
}

struct lease *
leases_add_cert(struct leases *ls, const char *path,
    const struct vj_secret *sec)
{
	const char *serial;
	char *mount;

	if (!ls->sup->cfg->revoke_certs || !engine_is_cert(sec))
		return NULL;
	serial = json_string_value(json_object_get(sec->data,
	    "serial_number"));
	if ((mount = engine_pki_mount(path)) == NULL) {
		log_warn("cert.revoke", "%s: --revoke-certs: no PKI mount in the "
		    "path (none of /issue/, /sign/, /sign-verbatim, /issuer/); "
		    "certificate %s will not be revoked", path, serial);
		return NULL;
	}
	log_at(LOG_DEBUG, "cert.issue", LF(.path = path), "certificate %s, "
	    "revoked at %s/revoke once replaced or at exit", serial, mount);
	return lease_new(ls, serial, mount);
}

const char *
lease_id(const struct lease *l)
{
	return l != NULL && l->mount == NULL ? l->id : NULL;
}

int
lease_active(const struct lease *l)
{
	return l != NULL && l->state == LS_ACTIVE;
}

void
lease_retire(struct lease *l, double when)
{
	l->state = LS_RETIRED;
	l->retired_at = when;
}

void
lease_unretire(struct lease *l)
{
	if (l->state == LS_RETIRED)
		l->state = LS_ACTIVE;
}

void
leases_revoke_retired(struct leases *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		if (ls->v[i]->state == LS_RETIRED)
			release_lease(ls->v[i]);
}

void
leases_start_grace(struct leases *ls)
{
	/* Old leases stay alive until the command has moved over. */
	if (!ev_is_active(&ls->grace))
		timer_in(ls->sup, &ls->grace,
		    (double)ls->sup->cfg->revoke_grace_ms / 1000.0);
}

void
leases_revoke_all(struct leases *ls)
{
	struct sup *s = ls->sup;
	size_t i;

	ev_timer_stop(s->loop, &ls->grace);
	if (s->cfg->no_revoke) {
		if (ls->n > 0)
			log_info("lease.keep", "--no-revoke: leaving %zu "
			    "lease(s)", ls->n);
		for (i = 0; i < ls->n; i++)
			ls->v[i]->state = LS_DONE;
		return;
	}
	for (i = 0; i < ls->n; i++)
		if (ls->v[i]->state == LS_ACTIVE ||
		    ls->v[i]->state == LS_RETIRED)
			revoke_one(ls->v[i]);
		else if (ls->v[i]->state == LS_REVOKING &&
		    ev_is_active(&ls->v[i]->retry)) {
			/* Waiting out a backoff: try at once, within the window. */
			ev_timer_stop(s->loop, &ls->v[i]->retry);
			revoke_one(ls->v[i]);
		}
}

size_t
leases_held(const struct leases *ls)
{
	size_t i, held = 0;

	for (i = 0; i < ls->n; i++)
		if (ls->v[i]->state != LS_DONE && ls->v[i]->mount == NULL)
			held++;
	return held;
}

int
leases_settled(const struct leases *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		if (ls->v[i]->state != LS_DONE)
			return 0;
	return 1;
}

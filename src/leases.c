/* leases.c: the leases leasewrap created and must revoke: retire, grace, revoke with retries. */
#define _GNU_SOURCE
#include "sup.h"
#include "config.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"
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

static void	revoke_retry_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void	release_lease(struct lease *l);

/* Remember a lease so that it is revoked at exit whatever happens next. */
struct lease *
add_lease(struct sup *s, const char *id)
{
	struct lease *l = xcalloc(1, sizeof(*l)), **ls;

	ls = realloc(s->leases, (s->nleases + 1) * sizeof(*ls));
	if (ls == NULL) {
		log_error("internal", "out of memory");
		abort();
	}
	s->leases = ls;
	l->sup = s;
	l->id = xstrdup(id);
	l->state = LS_ACTIVE;
	ev_timer_init(&l->retry, revoke_retry_cb, 0., 0.);
	l->retry.data = l;
	s->leases[s->nleases++] = l;
	/* A read that lands while exiting: revoke its lease at once. */
	if (s->state == ST_REVOKING)
		release_lease(l);
	return l;
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
	struct sup *s = l->sup;
	char why[320];
	double delay;
	int ok;

	/* 204: revoked; 202: queued (sync=false); both are done for us. */
	ok = resp->status == 204 || resp->status == 200 || resp->status == 202;
	metrics_add(s->metrics, M_REVOCATIONS, 1, "result", ok ? "ok" : "error",
	    NULL, NULL);
	if (ok)
		log_at(LOG_INFO, "lease.revoke", LF(.lease = l->id,
		    .status = resp->status), "revoked");
	else {
		vj_reason(resp, why, sizeof(why));
		delay = lease_retry_delay(l->attempts, 1, rnd());
		if (vj_retryable(resp) && (s->state != ST_REVOKING ||
		    ev_now(s->loop) + delay <= s->revoke_deadline)) {
			log_at(LOG_WARN, "lease.revoke", LF(.lease = l->id,
			    .status = resp->status), "revoking failed (%s); "
			    "retrying in %.1f s", why, delay);
			timer_in(s, &l->retry, delay);
			return;
		}
		log_at(LOG_ERROR, "lease.revoke", LF(.lease = l->id,
		    .status = resp->status), "could not revoke lease %s "
		    "(%s); %s revoke it with: vault lease revoke %s", l->id,
		    why, resp->status == 403 ? "grant \"update\" on "
		    "sys/leases/revoke to the token's policy, and" : "", l->id);
	}
	l->state = LS_DONE;
	maybe_finish(s);
}

/*
 * PUT sys/leases/revoke for one lease: unknown or already revoked leases
 * answer 204 too (hashicorp/vault vault/logical_system.go, handleRevoke;
 * vault/expiration.go, revokeCommon).
 */
void
revoke_one(struct lease *l)
{
	char *text = vj_lease_body(l->id, -1);

	l->state = LS_REVOKING;
	l->attempts++;
	vault_request(l->sup->vault, "PUT", "sys/leases/revoke", text,
	    revoke_cb, l);
	free(text);
}

/* A lease leasewrap is done with: revoke it, or with --no-revoke let it be. */
static void
release_lease(struct lease *l)
{
	if (l->sup->cfg->no_revoke)
		l->state = LS_DONE;
	else
		revoke_one(l);
}

/* Revoke the leases no running child uses any more. */
void
revoke_retired(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->nleases; i++)
		if (s->leases[i]->state == LS_RETIRED)
			release_lease(s->leases[i]);
}

/* Signal mode: revoke the leases retired --revoke-grace ago; wait for the rest. */
void
grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;
	double grace = (double)s->cfg->revoke_grace_ms / 1000.0, next = -1;
	ev_tstamp now = ev_now(s->loop);
	size_t i;

	(void)loop;
	(void)revents;
	for (i = 0; i < s->nleases; i++) {
		struct lease *l = s->leases[i];
		double left = l->retired_at + grace - now;

		if (l->state != LS_RETIRED)
			continue;
		if (left <= 0.001)
			release_lease(l);
		else if (next < 0 || left < next)
			next = left;
	}
	if (next >= 0)
		timer_in(s, &s->grace_timer, next);
}

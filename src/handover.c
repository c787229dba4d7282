/* handover.c: fetched credentials on their way into use: the settle delay, promotion, undo. */
#define _GNU_SOURCE
#include "cred.h"
#include "cred_int.h"
#include "config.h"
#include "leases.h"
#include "log.h"
#include "sup.h"

#include <string.h>

double
cred_settle_delay(const struct cred *c)
{
	const struct config *cfg = c->sup->cfg;

	return cfg->check ? 0 : (double)config_settle_ms(cfg, c->path) /
	    1000.0;
}

/*
 * New cloud credentials take seconds to work everywhere (AWS IAM is
 * eventually consistent): hold them their path's --settle-delay before
 * the command may get them, on the credential's own timer.
 */
int
cred_settle_begin(struct cred *c)
{
	double d = cred_settle_delay(c);

	if (d <= 0)
		return 0;
	c->settling = 1;
	if (c->purpose != P_INITIAL)
		c->purpose = P_SETTLE;
	log_at(LOG_DEBUG, "fetch.settle", LF(.path = c->path), "waiting %.1f s "
	    "(--settle-delay) before handing the new credentials over", d);
	timer_in(c->sup, &c->timer, d);
	return 1;
}

void
cred_settle_end(struct cred *c)
{
	struct sup *s = c->sup;

	c->settling = 0;
	if (c->purpose == P_INITIAL) {
		c->done = 1;
		s->on->reads_settled(s);
		return;
	}
	c->has_next = 1;
	s->on->creds_ready(s);
}

void
cred_settle_warn(const struct cred *c, double lead, double want)
{
	struct sup *s = c->sup;
	double settle = cred_settle_delay(c);

	if (s->settle_warned)
		return;
	s->settle_warned = 1;
	log_at(LOG_WARN, "lease.settle", LF(.path = c->path,
	    .lease = lease_id(c->lease), LF_TTL(c->duration)), "a %.0f s lease "
	    "is too short for --settle-delay %.1f s: its replacement is read "
	    "%.1f s before its end, where %.1f s (the settle delay, a %.1f s "
	    "stop budget and a second to fetch) would be needed; the command "
	    "may be stopped and wait for the new credentials to settle; lower "
	    "--settle-delay or lengthen the lease", c->duration, settle, lead,
	    want, want - settle - 1.0);
}

void
creds_undo(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++) {
		struct cred *c = &s->creds[i];

		if (!c->was.has)
			continue;
		c->next = c->cur;
		c->next_lease = c->lease;
		c->next_tg = c->tg;
		c->has_next = 1;
		c->cur = c->was.cur;
		c->lease = c->was.lease;
		c->tg = c->was.tg;
		c->duration = c->was.duration;
		c->jitter = c->was.jitter;
		c->lease_end = c->was.lease_end;
		c->issued = c->was.issued;
		c->renewable = c->was.renewable;
		c->final = c->was.final;
		c->was.has = 0;
		if (c->lease != NULL)
			lease_unretire(c->lease);
		cred_schedule(c);	/* its last call, with the old deadline */
	}
}

void
creds_commit(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++)
		if (s->creds[i].was.has) {
			vj_secret_clear(&s->creds[i].was.cur);
			s->creds[i].was.has = 0;
		}
}

void
creds_promote(struct sup *s, int keep)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++) {
		struct cred *c = &s->creds[i];

		if (!c->has_next)
			continue;
		if (c->lease != NULL)
			lease_retire(c->lease, ev_now(s->loop));
		if (keep)
			c->was = (struct cred_was){ 1, c->cur, c->lease, c->tg,
			    c->duration, c->jitter, c->lease_end, c->issued,
			    c->renewable, c->final };
		else
			vj_secret_clear(&c->cur);
		c->cur = c->next;
		c->lease = c->next_lease;
		c->tg = c->next_tg;
		memset(&c->next, 0, sizeof(c->next));
		c->next_lease = NULL;
		c->has_next = 0;
		cred_take_lease(c, c->next_sent);
		cred_schedule(c);
	}
}

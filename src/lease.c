/* lease.c: the timing of renewals, rotations, logins, retries and restarts; no I/O, no clock. */
#include "lease.h"

double
lease_grace(double duration, double r)
{
	return duration * (0.1 + 0.1 * r);
}

double
lease_renew_delay(double remaining, double grace)
{
	double d = remaining * 2.0 / 3.0 + grace / 3.0;

	return d > remaining ? remaining : d;
}

double
lease_rotate_lead(double duration, double rotate_before, double pct,
    double stop_time, double r)
{
	double lead = pct > 0 ? duration * pct : rotate_before;

	if (lead < stop_time)
		lead = stop_time;
	return lead * (1.0 + 0.25 * r);
}

double
lease_backoff(int attempts, double cap, double r)
{
	double d = 0.25;
	int i;

	for (i = 1; i < attempts && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	return d / 2 + d / 2 * r;
}

double
lease_retry_delay(int attempts, int urgent, double retry_after, double r)
{
	double d = lease_backoff(attempts, urgent ? LEASE_URGENT_CAP :
	    LEASE_RETRY_CAP, r);

	return retry_after > d ? retry_after : d;
}

double
lease_start_retry(double delay, double left)
{
	if (left <= 0)
		return -1;
	return delay < left ? delay : left;
}

double
lease_restart_delay(int restarts)
{
	double delay = 1.0;
	int i;

	for (i = 0; i < restarts && delay < LEASE_RESTART_CAP; i++)
		delay *= 2;
	return delay > LEASE_RESTART_CAP ? LEASE_RESTART_CAP : delay;
}

double
lease_stop_time(double duration, double kill_timeout)
{
	double kt = kill_timeout;

	if (duration > 0 && kt > duration / 4)
		kt = duration / 4;
	return kt + (duration > 0 && duration / 8 < 0.5 ? duration / 8 : 0.5);
}

double
lease_life(double duration, double token_ttl)
{
	return token_ttl > 0 && (duration <= 0 || token_ttl < duration) ?
	    token_ttl : duration;
}

double
lease_kill_margin(double duration)
{
	return duration > 0 && duration / 16 < 0.25 ? duration / 16 : 0.25;
}

double
lease_kill_after(double kill_timeout, double duration, double left)
{
	double kt = kill_timeout, end = left - lease_kill_margin(duration);

	if (duration > 0 && kt > duration / 4)
		kt = duration / 4;
	if (kt > end)
		kt = end;
	return kt > 0 ? kt : 0;
}

double
lease_lead_floor(double stop_time, double grace, double settle, double life)
{
	double floor = stop_time + 1.0, want = floor + settle;

	if (grace > 0 && grace + 1.0 + settle > want)
		want = grace + 1.0 + settle;
	if (want > floor && life > 0 && want > life / 2)
		want = life / 2 > floor ? life / 2 : floor;
	return want;
}

double
lease_refresh_every(double interval, int own, double ttl_hint)
{
	if (!own && ttl_hint > 0 && ttl_hint * 0.9 < interval)
		return ttl_hint * 0.9;
	return interval;
}

/*
 * No lease: re-read lease_refresh_every() after the last read, +-10 % by
 * the credential's jitter, so that planning again (a token renewal
 * reschedules every credential) never puts the read off.
 */
static void
plan_refresh(const struct lease_facts *f, struct lease_plan *p)
{
	double interval = lease_refresh_every(f->refresh_interval,
	    f->refresh_own, f->ttl_hint);
	double from = f->last_read > 0 ? f->last_read : f->now;

	p->step = LSTEP_REFRESH;
	/*
	 * A static role: a second after it rotates, as consul-template's
	 * leaseCheckWait (dependency/vault_common.go: ttl + 1 s when the
	 * answer has rotation_period); --refresh-interval stays the backstop.
	 */
	if (f->refresh_at > 0 && f->refresh_at - f->now < interval) {
		p->in = f->refresh_at > f->now ? f->refresh_at - f->now : 0;
		p->last_call = -1;
		return;
	}
	p->in = from + interval * (0.9 + 0.2 * f->jitter) - f->now;
	p->last_call = -1;
}

/* Renew well before the last call; rotate instead once the max TTL is known to come first. */
static void
plan_renew(const struct lease_facts *f, double st, struct lease_plan *p)
{
	double d = lease_renew_delay(f->lease_end - f->now,
	    lease_grace(f->duration, f->jitter));
	double max_end;

	if (d > (f->deadline - st - f->now) * 2.0 / 3.0)
		d = (f->deadline - st - f->now) * 2.0 / 3.0;
	p->step = LSTEP_RENEW;
	p->in = d;
	/*
	 * Leases of one path share a max TTL: once a capped renewal showed
	 * it, rotate on time instead of finding out late.
	 */
	if (f->learned_max > 0) {
		p->lead = lease_rotate_lead(f->duration, f->rotate_before,
		    f->rotate_pct, lease_lead_floor(st, f->revoke_grace,
		    f->settle, f->learned_max), f->jitter);
		max_end = f->issued + f->learned_max;
		if (max_end - p->lead - f->now <= d) {
			p->step = LSTEP_ROTATE;
			p->capped = 1;
			p->in = max_end - p->lead - f->now;
		}
	}
}

void
lease_plan(const struct lease_facts *f, struct lease_plan *p)
{
	double st, floor;

	p->lead = 0;
	p->capped = 0;
	p->settle_short = 0;
	if (f->lease_end <= 0) {
		plan_refresh(f, p);
		return;
	}
	st = lease_stop_time(lease_life(f->duration, f->token_ttl),
	    f->kill_timeout);
	p->last_call = f->deadline - st - f->now;
	if (f->renewable) {
		plan_renew(f, st, p);
		return;
	}
	if (f->doomed) {
		p->step = LSTEP_WAIT;
		p->in = -1;
		return;
	}
	floor = lease_lead_floor(st, f->revoke_grace, f->settle, f->duration);
	if (f->settle > 0 && floor < st + 1.0 + f->settle)
		p->settle_short = st + 1.0 + f->settle;
	p->lead = lease_rotate_lead(f->duration, f->rotate_before, f->rotate_pct,
	    floor, f->jitter);
	p->step = LSTEP_ROTATE;
	p->in = f->deadline - p->lead - f->now;
}

enum token_step
lease_token_plan(const struct token_facts *f, double *in)
{
	double d, last, lead;

	if (f->renewable && !f->dead) {
		d = lease_renew_delay(f->remaining, lease_grace(f->duration, f->r));
		last = (f->remaining - lease_stop_time(f->duration,
		    f->kill_timeout)) * 2.0 / 3.0;
		*in = d < last ? d : last;
		return TSTEP_RENEW;
	}
	lead = lease_rotate_lead(f->duration, 0, 0.2,
	    lease_stop_time(f->duration, f->kill_timeout) + 2.0 + f->settle,
	    f->r);
	*in = f->dead ? 0 : f->remaining - 2 * lead;
	return f->can_login ? TSTEP_LOGIN : TSTEP_NONE;
}

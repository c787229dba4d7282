/*
 * lease.h: the timing of renewals, rotations, refreshes, logins, retries and
 * restarts.  Pure: every clock reading and random number is passed in.
 */
#ifndef LW_LEASE_H
#define LW_LEASE_H

/* The longest wait between retries while nothing waits on them (running). */
#define LEASE_RETRY_CAP		30.0
/* The longest wait between retries while the start or the exit waits. */
#define LEASE_URGENT_CAP	10.0
/* Restarts of a crashing command: 1 s doubling, at most this. */
#define LEASE_RESTART_CAP	30.0
/* A command that ran this long has not crash-looped: reset the backoff. */
#define LEASE_RESTART_RESET	60.0

/*
 * The grace period of Vault's LifetimeWatcher (hashicorp/vault
 * api/lifetime_watcher.go, doRenewWithOptions and calculateGrace): between
 * 10 % and 20 % of the lease; r is a random number in [0, 1).
 */
double	lease_grace(double duration, double r);
/* Seconds to wait before renewing: 2/3 of what remains plus a third of grace. */
double	lease_renew_delay(double remaining, double grace);
/*
 * How long before its deadline a credential is replaced: rotate_before
 * (seconds, or when pct > 0 that fraction of the lease's duration), never
 * less than what stopping the command may take, plus up to a quarter more
 * of jitter (r in [0, 1)) so that a fleet started together spreads out.
 */
double	lease_rotate_lead(double duration, double rotate_before, double pct,
	    double stop_time, double r);
/* Exponential backoff with jitter: 250 ms doubling, at most cap, each in [1/2, 1]. */
double	lease_backoff(int attempts, double cap, double r);
/*
 * The one retry wait: lease_backoff capped at 10 s when urgent, else 30 s,
 * but never less than the server's Retry-After (seconds, 0 if none), so a
 * fleet waits as long as Vault asks.
 */
double	lease_retry_delay(int attempts, int urgent, double retry_after,
	    double r);
/*
 * A start-up retry with left seconds until --start-timeout: the wait,
 * shortened so that the last attempt is made at the deadline itself; -1
 * once the deadline has passed (give up).
 */
double	lease_start_retry(double delay, double left);
/* The wait before restart number restarts + 1 of a crashed command: 1 s doubling, at most 30 s. */
double	lease_restart_delay(int restarts);
/*
 * Time to stop the command: at most kill_timeout, at most a quarter of a
 * short lease, plus half a second (at most an eighth of the lease).  A
 * credential is acted on this long before it dies.
 */
double	lease_stop_time(double duration, double kill_timeout);
/*
 * The lifetime a credential's margins scale with: its lease, or the TTL of
 * the token it was leased under when that is shorter (Vault revokes a
 * token's leases with it); token_ttl 0: none.
 */
double	lease_life(double duration, double token_ttl);

/*
 * How long after the stop signal the command gets SIGKILL: kill_timeout,
 * at most the stop budget lease_stop_time() planned a rotation with
 * (a quarter of duration, when duration > 0), and at most left (the
 * credentials' end, in seconds) less lease_kill_margin(): never after they
 * die.
 */
double	lease_kill_after(double kill_timeout, double duration, double left);
/* What SIGKILL comes ahead of a deadline by: 0.25 s, at most 1/16 of a short lease. */
double	lease_kill_margin(double duration);

/*
 * The least rotation lead: the stop time plus a second to fetch plus
 * settle (--settle-delay, waited after the fetch); in signal mode at
 * least grace plus a second plus settle, so that the replaced lease
 * outlives the grace; what settle and grace add stops at half the
 * lease's life (its max TTL once learned), so a replacement is never due
 * at once.
 */
double	lease_lead_floor(double stop_time, double grace, double settle,
	    double life);

/*
 * How often a secret without a lease is read again (before jitter): the
 * interval, or 90 % of a TTL the answer names (ttl_hint, KV v1's "ttl")
 * when shorter, unless the interval is the path's own (own).
 */
double	lease_refresh_every(double interval, int own, double ttl_hint);

/* A credential's next step. */
enum lease_step {
	LSTEP_REFRESH,	/* no lease (KV): read again on a schedule */
	LSTEP_RENEW,	/* renew the lease */
	LSTEP_ROTATE,	/* read a replacement */
	LSTEP_WAIT,	/* doomed with its token: only the last call is left */
};

/* The facts a credential's plan is made from; times in seconds on one clock. */
struct lease_facts {
	double	now;
	double	lease_end;	/* 0: no lease */
	double	deadline;	/* the lease's end, or its token's when sooner */
	double	duration;	/* the lease as issued */
	double	token_ttl;	/* its token's TTL as issued, when it ends; 0 */
	double	issued;		/* when the lease began */
	double	learned_max;	/* the path's max TTL once a renewal showed it; 0 */
	double	ttl_hint;	/* a lease-less answer's lease_duration; 0 */
	double	refresh_at;	/* a static role: read again then (its rotation + 1 s); 0 */
	double	last_read;	/* no lease: the last read, the refresh's anchor; 0: now */
	int	renewable;	/* renewable, not final, not bound to a dying token */
	int	doomed;		/* bound to the token in use, which ends for good */
	double	refresh_interval;	/* --refresh-interval (the path's own, or the default), s */
	int	refresh_own;	/* the path's own: a TTL in the answer does not shorten it */
	double	rotate_before;	/* --rotate-before, s */
	double	rotate_pct;	/* --rotate-before as a fraction; 0 */
	double	kill_timeout;	/* --kill-timeout, s */
	double	revoke_grace;	/* signal mode: --revoke-grace, s; else 0 */
	double	settle;		/* --settle-delay, s */
	double	jitter;		/* per lease (no lease: per read), in [0, 1) */
};

/* What to do and when. */
struct lease_plan {
	enum lease_step	step;
	double		in;		/* the step is due in this many s; <= 0: now */
	double		last_call;	/* the last call in this many s; < 0: none */
	double		lead;		/* a rotation: this long before the deadline */
	int		capped;		/* a rotation before the learned max TTL */
	double		settle_short;	/* > 0: the lead settle needs, which half the life cut */
};

/* Plan a credential's next step and its last call from the facts. */
void	lease_plan(const struct lease_facts *, struct lease_plan *);

/* A token's next step. */
enum token_step {
	TSTEP_NONE,	/* nothing to do: it lives on, or nothing can replace it */
	TSTEP_RENEW,	/* renew-self */
	TSTEP_LOGIN,	/* log in again */
};

/* The facts about a token whose end is known. */
struct token_facts {
	double	remaining;	/* seconds until it ends */
	double	duration;	/* its TTL as issued */
	int	renewable;	/* renewable, not final, not dead */
	int	dead;		/* Vault no longer accepts it */
	int	can_login;	/* a login can replace it */
	double	kill_timeout;	/* --kill-timeout, s */
	double	settle;		/* --settle-delay, s: what it carries is replaced that much sooner */
	double	r;		/* a fresh random number in [0, 1) */
};

/*
 * Plan a token's next step: renew at two thirds of its life, before the
 * last call of the credentials it carries (a stop time scaled by its TTL); else log in early enough for
 * them to be replaced under the new token.  *in is when, in seconds; for
 * TSTEP_NONE of a token that ends, when a replacement would be due (a
 * rotated --token-file is re-read then).
 */
enum token_step	lease_token_plan(const struct token_facts *, double *in);

#endif

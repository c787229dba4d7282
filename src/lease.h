/* lease.h: the timing of renewals, rotations and retries; pure arithmetic. */
#ifndef LW_LEASE_H
#define LW_LEASE_H

/*
 * The grace period of Vault's LifetimeWatcher (vault-api.md §8.1): between
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
 * The delay before a retry: the backoff, but never less than the server's
 * Retry-After (seconds, 0 if none), so a fleet waits as long as Vault asks.
 */
double	lease_retry_delay(double backoff, double retry_after);

#endif

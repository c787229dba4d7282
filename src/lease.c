/* lease.c: renewal and rotation timing, kept free of I/O and clocks. */
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
lease_retry_delay(double backoff, double retry_after)
{
	return retry_after > backoff ? retry_after : backoff;
}

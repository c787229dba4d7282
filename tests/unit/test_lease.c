/* test_lease.c: renewal, rotation, refresh, login, retry and restart timing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "lease.h"

static void
test_grace_is_10_to_20_percent(void **state)
{
	(void)state;
	assert_true(lease_grace(100, 0.0) == 10.0);
	assert_true(lease_grace(100, 0.999) > 19.8);
	assert_true(lease_grace(100, 0.999) < 20.0);
}

static void
test_renew_delay_is_two_thirds_plus_a_third_of_grace(void **state)
{
	(void)state;
	assert_true(lease_renew_delay(3600, 360) == 2400 + 120);
	/* Never past the end of the lease. */
	assert_true(lease_renew_delay(1, 30) == 1);
}

static void
test_rotate_lead_percentage_duration_and_floor(void **state)
{
	(void)state;
	/* 20 % of a one-hour lease, no jitter. */
	assert_true(lease_rotate_lead(3600, 0, 0.2, 11, 0) == 720);
	/* An absolute duration wins when no percentage is set. */
	assert_true(lease_rotate_lead(3600, 300, 0, 11, 0) == 300);
	/* Never less than the time it takes to stop the command. */
	assert_true(lease_rotate_lead(10, 0, 0.2, 3, 0) == 3);
	/* Jitter adds at most a quarter. */
	assert_true(lease_rotate_lead(3600, 0, 0.2, 11, 0.999) < 900);
	assert_true(lease_rotate_lead(3600, 0, 0.2, 11, 0.999) > 899);
}

static void
test_backoff_doubles_with_jitter_and_caps(void **state)
{
	(void)state;
	assert_true(lease_backoff(1, 30, 0) == 0.125);
	assert_true(lease_backoff(1, 30, 0.999) < 0.25);
	assert_true(lease_backoff(2, 30, 0) == 0.25);
	assert_true(lease_backoff(3, 30, 0) == 0.5);
	assert_true(lease_backoff(50, 30, 0) == 15);
	assert_true(lease_backoff(50, 30, 0.999) <= 30);
}

static void
test_retry_delay_is_at_least_retry_after(void **state)
{
	(void)state;
	/* No Retry-After: the backoff as it is. */
	assert_true(lease_retry_delay(1, 0, 0, 0) == lease_backoff(1, 30, 0));
	/* Retry-After is the floor, whatever the backoff drew. */
	assert_true(lease_retry_delay(1, 0, 4, 0) == 4);
	assert_true(lease_retry_delay(1, 1, 1, 0.999) == 1);
	/* A longer backoff is kept: Retry-After never shortens a wait. */
	assert_true(lease_retry_delay(50, 0, 4, 0) == 15);
}

/* Equal but for rounding. */
static int
near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

/* Facts for a 100 s renewable lease issued at 1000, read at 1000. */
static struct lease_facts
facts(void)
{
	struct lease_facts f;

	memset(&f, 0, sizeof(f));
	f.now = 1000;
	f.lease_end = 1100;
	f.deadline = 1100;
	f.duration = 100;
	f.issued = 1000;
	f.renewable = 1;
	f.refresh_interval = 300;
	f.rotate_pct = 0.2;
	f.kill_timeout = 10;
	return f;
}

static void
test_plan_refresh_without_lease(void **state)
{
	struct lease_facts f = facts();
	struct lease_plan p;

	(void)state;
	f.lease_end = 0;
	f.jitter = 0.5;
	lease_plan(&f, &p);
	assert_int_equal(p.step, LSTEP_REFRESH);
	assert_true(near(p.in, 300));	/* the interval, +-10 % around 0.5 */
	assert_true(p.last_call < 0);
	/* A TTL in the answer shortens it to 90 % of that. */
	f.ttl_hint = 100;
	f.jitter = 0;
	lease_plan(&f, &p);
	assert_true(near(p.in, 100 * 0.9 * 0.9));
	/* Not a path's own interval (--refresh-interval PATH=DURATION). */
	f.refresh_own = 1;
	f.refresh_interval = 2;
	lease_plan(&f, &p);
	assert_true(near(p.in, 2 * 0.9));
}

/*
 * Planned again later (a token renewal reschedules every credential), a
 * refresh stays due an interval after the last read, not after now; one
 * past due is due now.  The jitter is the credential's, not a fresh draw.
 */
static void
test_plan_refresh_from_the_last_read(void **state)
{
	struct lease_facts f = facts();
	struct lease_plan p;

	(void)state;
	f.lease_end = 0;
	f.refresh_interval = 1;
	f.refresh_own = 1;
	f.jitter = 0.5;
	f.last_read = 1000;
	lease_plan(&f, &p);
	assert_true(near(p.in, 1));
	f.now = 1000.6;			/* rescheduled 0.6 s later */
	lease_plan(&f, &p);
	assert_true(near(p.in, 0.4));
	f.jitter = 1;			/* +10 % at most */
	lease_plan(&f, &p);
	assert_true(near(p.in, 0.5));
	f.now = 1003;			/* past due: now */
	lease_plan(&f, &p);
	assert_true(p.in <= 0);
	f.last_read = 0;		/* unknown (a retry): from now */
	lease_plan(&f, &p);
	assert_true(near(p.in, 1.1));
}

/* A path's own interval is used as given; the default yields to a KV v1 ttl. */
static void
test_refresh_every(void **state)
{
	(void)state;
	assert_true(near(lease_refresh_every(300, 0, 0), 300));
	assert_true(near(lease_refresh_every(300, 0, 100), 90));
	assert_true(near(lease_refresh_every(300, 0, 1000), 300));
	assert_true(near(lease_refresh_every(300, 1, 100), 300));
	assert_true(near(lease_refresh_every(1, 1, 100), 1));
}

/* A static role: read again at refresh_at exactly (no jitter), now if past; the interval stays the backstop. */
static void
test_plan_refresh_at_a_static_rotation(void **state)
{
	struct lease_facts f = facts();
	struct lease_plan p;

	(void)state;
	f.lease_end = 0;
	f.jitter = 0.9;
	f.refresh_at = 1009;
	lease_plan(&f, &p);
	assert_int_equal(p.step, LSTEP_REFRESH);
	assert_true(near(p.in, 9));
	assert_true(p.last_call < 0);
	f.refresh_at = 990;
	lease_plan(&f, &p);
	assert_true(near(p.in, 0));
	f.refresh_at = 1000 + 3600;	/* further than --refresh-interval */
	f.jitter = 0.5;
	lease_plan(&f, &p);
	assert_true(near(p.in, 300));
}

static void
test_plan_renew_two_thirds_and_last_call(void **state)
{
	struct lease_facts f = facts();
	struct lease_plan p;

	(void)state;
	lease_plan(&f, &p);
	assert_int_equal(p.step, LSTEP_RENEW);
	/* Stop time: a quarter of 100 s caps the 10 s kill timeout, + 0.5. */
	assert_true(near(p.last_call, 100 - 10.5));
	/* 2/3 of 100 + a third of 10 % grace = 70, capped at 2/3 of 89.5. */
	assert_true(near(p.in, 89.5 * 2.0 / 3.0));
	/* A long lease: still two thirds of the time to the last call. */
	f.lease_end = f.deadline = 1000 + 3600;
	f.duration = 3600;
	lease_plan(&f, &p);
	assert_true(near(p.in, (3600 - 10.5) * 2.0 / 3.0));
}

static void
test_plan_learned_max_rotates_before_it(void **state)
{
	struct lease_facts f = facts();
	struct lease_plan p;

	(void)state;
	/* The max TTL is far: renew as usual. */
	f.learned_max = 1000;
	lease_plan(&f, &p);
	assert_int_equal(p.step, LSTEP_RENEW);
	assert_false(p.capped);
	/* The max TTL ends before the renewal would: rotate, lead before it. */
	f.learned_max = 70;
	lease_plan(&f, &p);
	assert_int_equal(p.step, LSTEP_ROTATE);
	assert_true(p.capped);
	assert_true(near(p.lead, 20));	/* 20 % of 100 s, over the 11.5 s floor */
	assert_true(near(p.in, 70 - 20));
	/* Past it already: due now. */
	f.now = 1070;
	lease_plan(&f, &p);
	assert_true(p.in <= 0);
}

static void
test_plan_rotate_when_not_renewable(void **state)
{
	struct lease_facts f = facts();
	struct lease_plan p;

	(void)state;
	f.renewable = 0;
	f.rotate_pct = 0;
	f.rotate_before = 30;
	lease_plan(&f, &p);
	assert_int_equal(p.step, LSTEP_ROTATE);
	assert_false(p.capped);
	assert_true(near(p.lead, 30));
	assert_true(near(p.in, 70));
	/* Late: due now, and the last call now too. */
	f.now = 1095;
	lease_plan(&f, &p);
	assert_true(p.in <= 0);
	assert_true(p.last_call <= 0);
}

static void
test_plan_wait_when_doomed_by_token(void **state)
{
	struct lease_facts f = facts();
	struct lease_plan p;

	(void)state;
	f.renewable = 0;
	f.doomed = 1;
	f.deadline = 1050;	/* the token ends first */
	lease_plan(&f, &p);
	assert_int_equal(p.step, LSTEP_WAIT);
	assert_true(near(p.last_call, 50 - 10.5));
}

static void
test_token_plan_renew_login_none(void **state)
{
	struct token_facts f = { .remaining = 3600, .duration = 3600,
	    .renewable = 1, .can_login = 1, .kill_timeout = 10, .r = 0 };
	double in = -1;

	(void)state;
	assert_int_equal(lease_token_plan(&f, &in), TSTEP_RENEW);
	assert_true(near(in, (3600 - 10.5) * 2.0 / 3.0));
	/* Short: before the last call of what it carries (2/3 of 10 - 10.5). */
	f.remaining = 12;
	assert_int_equal(lease_token_plan(&f, &in), TSTEP_RENEW);
	assert_true(near(in, (12 - 10.5) * 2.0 / 3.0));
	/* Not renewable: log in twice the lead before its end. */
	f.renewable = 0;
	f.remaining = 3600;
	assert_int_equal(lease_token_plan(&f, &in), TSTEP_LOGIN);
	assert_true(near(in, 3600 - 2 * 720));
	/* A short one: the lead holds the stop, 2 s and the settle delay. */
	f.remaining = f.duration = 20;
	f.settle = 3;
	assert_int_equal(lease_token_plan(&f, &in), TSTEP_LOGIN);
	assert_true(near(in, 20 - 2 * (5.0 + 0.5 + 2 + 3)));
	f.remaining = f.duration = 3600;
	f.settle = 0;
	/* Dead: log in now. */
	f.dead = 1;
	assert_int_equal(lease_token_plan(&f, &in), TSTEP_LOGIN);
	assert_true(near(in, 0));
	/* A given token nothing can replace. */
	f.can_login = 0;
	assert_int_equal(lease_token_plan(&f, &in), TSTEP_NONE);
}

static void
test_retry_restart_and_stop_time(void **state)
{
	(void)state;
	assert_true(lease_retry_delay(50, 1, 0, 0) == LEASE_URGENT_CAP / 2);
	assert_true(lease_retry_delay(50, 0, 0, 0) == LEASE_RETRY_CAP / 2);
	assert_true(lease_restart_delay(0) == 1);
	assert_true(lease_restart_delay(3) == 8);
	assert_true(lease_restart_delay(20) == LEASE_RESTART_CAP);
	assert_true(lease_stop_time(0, 10) == 10.5);
	assert_true(lease_stop_time(8, 10) == 2.5);
	assert_true(lease_stop_time(3600, 10) == 10.5);
}

static void
test_start_retry_tries_last_at_the_deadline(void **state)
{
	(void)state;
	/* Time left for the whole backoff: unchanged. */
	assert_true(lease_start_retry(0.5, 10) == 0.5);
	/* The backoff would pass the deadline: one last try at it. */
	assert_true(lease_start_retry(8, 1.5) == 1.5);
	/* At or past the deadline: give up. */
	assert_true(lease_start_retry(0.5, 0) == -1);
	assert_true(lease_start_retry(0.5, -0.1) == -1);
}

static void
test_kill_after_budget_and_deadline(void **state)
{
	(void)state;
	/* No lease to honour: --kill-timeout, but never after the end. */
	assert_true(lease_kill_after(10, 0, 100) == 10);
	assert_true(lease_kill_after(10, 0, 4) == 4 - 0.25);
	/* A 12 s lease was planned with a 3 s stop (a quarter of it). */
	assert_true(lease_kill_after(10, 12, 5) == 3);
	/* ... and the old credentials' end still comes first. */
	assert_true(lease_kill_after(10, 12, 2) == 2 - 0.25);
	/* Margins scale down for short leases: 1/16 of a 2 s lease. */
	assert_true(lease_kill_margin(2) == 0.125);
	assert_true(lease_kill_margin(3600) == 0.25);
	assert_true(lease_kill_after(10, 2, 0.3) == 0.3 - 0.125);
	/* Past the end already: at once. */
	assert_true(lease_kill_after(10, 12, -1) == 0);
	/* A short --kill-timeout is kept. */
	assert_true(lease_kill_after(1, 12, 5) == 1);
}

static void
test_lead_floor_covers_the_grace_within_half_the_life(void **state)
{
	(void)state;
	/* Restart mode (no grace): the stop time plus a second. */
	assert_true(lease_lead_floor(3.5, 0, 0, 40) == 4.5);
	/* Signal mode: the grace plus a second, when the life allows it. */
	assert_true(lease_lead_floor(3.5, 8, 0, 40) == 9);
	/* Never more than half the life: a 6 s lease cannot hold 8 s. */
	assert_true(lease_lead_floor(1.5, 8, 0, 6) == 3);
	/* A short grace never lowers the stop's floor. */
	assert_true(lease_lead_floor(3.5, 1, 0, 40) == 4.5);
}

static void
test_lead_floor_holds_the_settle_delay(void **state)
{
	struct lease_facts f = { .now = 100, .lease_end = 160, .deadline = 160,
	    .duration = 60, .issued = 100, .kill_timeout = 10, .settle = 3 };
	struct lease_plan p;

	(void)state;
	/* Restart mode: stop, a second to fetch, and the settle delay. */
	assert_true(lease_lead_floor(3.5, 0, 3, 40) == 7.5);
	/* Signal mode: the grace plus a second plus the settle delay. */
	assert_true(lease_lead_floor(3.5, 8, 3, 40) == 12);
	/* Half the life at most, never below the stop's floor. */
	assert_true(lease_lead_floor(1.5, 0, 3, 6) == 3);
	assert_true(lease_lead_floor(3.5, 0, 3, 6) == 4.5);
	/* A 60 s lease holds it: rotation at least 10.5 + 1 + 3 s ahead, no warning. */
	lease_plan(&f, &p);
	assert_int_equal(p.step, LSTEP_ROTATE);
	assert_true(p.lead >= 14.5 && p.settle_short == 0);
	/* A 12 s lease cannot: 3.5 + 1 + 3 = 7.5 s wanted, half the life given. */
	f.lease_end = f.deadline = 112;
	f.duration = 12;
	lease_plan(&f, &p);
	assert_true(p.settle_short == 7.5);
	assert_true(p.lead >= 6 && p.lead <= 7.5);
}

static void
test_plan_signal_mode_rotates_grace_ahead(void **state)
{
	struct lease_facts f;
	struct lease_plan p;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.now = 1000;
	f.issued = 1000;
	f.lease_end = f.deadline = 1040;
	f.duration = 40;
	f.rotate_pct = 0.2;
	f.kill_timeout = 10;
	f.revoke_grace = 30;
	lease_plan(&f, &p);
	/* Not renewable: min(grace + 1, 40 / 2) = 20 s ahead, over 11.5 (no jitter). */
	assert_true(p.step == LSTEP_ROTATE && p.lead == 20 && p.in == 20);
	f.revoke_grace = 0;
	lease_plan(&f, &p);
	/* Restart mode: 20 % of 40 s is 8 s, below the stop floor 10.5 + 1 s. */
	assert_true(p.lead == 11.5);
}

static void
test_short_lifetimes_scale_the_margins(void **state)
{
	struct token_facts t;
	double in;

	(void)state;
	/* The half second is at most an eighth of a short lifetime. */
	assert_true(lease_stop_time(3, 10) == 0.75 + 0.375);
	assert_true(lease_stop_time(2, 1) == 0.5 + 0.25);
	/* A credential's life: its lease, or a shorter token's TTL. */
	assert_true(lease_life(20, 3) == 3);
	assert_true(lease_life(20, 0) == 20);
	assert_true(lease_life(20, 3600) == 20);
	/* A renewable 3 s token renews (3 - 1.125) * 2/3 = 1.25 s in, not at once. */
	memset(&t, 0, sizeof(t));
	t.remaining = 3;
	t.duration = 3;
	t.renewable = 1;
	t.kill_timeout = 10;
	assert_true(lease_token_plan(&t, &in) == TSTEP_RENEW);
	assert_true(in == 1.25);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grace_is_10_to_20_percent),
		cmocka_unit_test(test_renew_delay_is_two_thirds_plus_a_third_of_grace),
		cmocka_unit_test(test_rotate_lead_percentage_duration_and_floor),
		cmocka_unit_test(test_backoff_doubles_with_jitter_and_caps),
		cmocka_unit_test(test_retry_delay_is_at_least_retry_after),
		cmocka_unit_test(test_plan_refresh_at_a_static_rotation),
		cmocka_unit_test(test_plan_refresh_without_lease),
		cmocka_unit_test(test_plan_refresh_from_the_last_read),
		cmocka_unit_test(test_refresh_every),
		cmocka_unit_test(test_plan_renew_two_thirds_and_last_call),
		cmocka_unit_test(test_plan_learned_max_rotates_before_it),
		cmocka_unit_test(test_plan_rotate_when_not_renewable),
		cmocka_unit_test(test_plan_wait_when_doomed_by_token),
		cmocka_unit_test(test_token_plan_renew_login_none),
		cmocka_unit_test(test_retry_restart_and_stop_time),
		cmocka_unit_test(test_start_retry_tries_last_at_the_deadline),
		cmocka_unit_test(test_kill_after_budget_and_deadline),
		cmocka_unit_test(test_lead_floor_covers_the_grace_within_half_the_life),
		cmocka_unit_test(test_lead_floor_holds_the_settle_delay),
		cmocka_unit_test(test_plan_signal_mode_rotates_grace_ahead),
		cmocka_unit_test(test_short_lifetimes_scale_the_margins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_lease.c: renewal, rotation and backoff timing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

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
	assert_true(lease_retry_delay(0.2, 0) == 0.2);
	/* Retry-After is the floor, whatever the backoff drew. */
	assert_true(lease_retry_delay(0.2, 4) == 4);
	assert_true(lease_retry_delay(lease_backoff(1, 30, 0.999), 1) == 1);
	/* A longer backoff is kept: Retry-After never shortens a wait. */
	assert_true(lease_retry_delay(15, 4) == 15);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

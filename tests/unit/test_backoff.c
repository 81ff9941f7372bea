#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"

static void
expect_schedule(struct backoff *b, const uint32_t *want, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		assert_int_equal(backoff_next(b), want[i]);
}

/* Reference §1.4: 1, 2, 4, 8, 16, 30, 30 … seconds. */
static void
test_reconnect_schedule(void **state)
{
	struct backoff	b;
	const uint32_t	want[] = { 1000, 2000, 4000, 8000, 16000, 30000,
			    30000, 30000 };

	(void)state;
	backoff_init(&b, 1000, 30000);
	expect_schedule(&b, want, sizeof(want) / sizeof(want[0]));
}

/* Auth rejections: slow, up to five minutes. */
static void
test_auth_schedule(void **state)
{
	struct backoff	b;
	const uint32_t	want[] = { 5000, 10000, 20000, 40000, 80000, 160000,
			    300000, 300000 };

	(void)state;
	backoff_init(&b, 5000, 300000);
	expect_schedule(&b, want, sizeof(want) / sizeof(want[0]));
}

static void
test_reset(void **state)
{
	struct backoff	b;
	const uint32_t	want[] = { 1000, 2000, 4000 };
	int		i;

	(void)state;
	backoff_init(&b, 1000, 30000);
	for (i = 0; i < 10; i++)
		(void)backoff_next(&b);
	assert_int_equal(backoff_next(&b), 30000);
	backoff_reset(&b);
	expect_schedule(&b, want, 3);
	backoff_reset(&b);
	backoff_reset(&b);
	assert_int_equal(backoff_next(&b), 1000);
}

/* Retrying forever must never wrap to a short (or zero) delay. */
static void
test_no_overflow(void **state)
{
	struct backoff	b;
	uint32_t	d, prev = 0;
	long		i;

	(void)state;
	backoff_init(&b, 1000, 30000);
	for (i = 0; i < 100000; i++) {
		d = backoff_next(&b);
		assert_true(d >= prev);
		assert_true(d <= 30000);
		prev = d;
	}
	assert_int_equal(prev, 30000);

	/* The counter itself must not wrap back to the short delays. */
	backoff_init(&b, 1000, 30000);
	b.attempt = UINT32_MAX - 2;
	for (i = 0; i < 8; i++)
		assert_int_equal(backoff_next(&b), 30000);

	/* Large base and cap: the shift itself must not overflow. */
	backoff_init(&b, UINT32_MAX / 2 + 1, UINT32_MAX);
	assert_int_equal(backoff_next(&b), UINT32_MAX / 2 + 1);
	for (i = 0; i < 1000; i++)
		assert_int_equal(backoff_next(&b), UINT32_MAX);

	backoff_init(&b, 1, UINT32_MAX);
	for (i = 0; i < 32; i++)
		assert_int_equal(backoff_next(&b), (uint32_t)1 << i);
	for (i = 0; i < 1000; i++)
		assert_int_equal(backoff_next(&b), UINT32_MAX);
}

static void
test_edges(void **state)
{
	struct backoff	b;
	int		i;

	(void)state;
	backoff_init(&b, 0, 30000);		/* immediate, always */
	for (i = 0; i < 100; i++)
		assert_int_equal(backoff_next(&b), 0);
	backoff_init(&b, 60000, 30000);		/* base above the cap */
	assert_int_equal(backoff_next(&b), 30000);
	assert_int_equal(backoff_next(&b), 30000);
	backoff_init(&b, 1000, 1000);
	assert_int_equal(backoff_next(&b), 1000);
	assert_int_equal(backoff_next(&b), 1000);
	backoff_init(&b, 1000, 0);
	assert_int_equal(backoff_next(&b), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reconnect_schedule),
		cmocka_unit_test(test_auth_schedule),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_no_overflow),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

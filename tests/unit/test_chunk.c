/* Unit tests of map_chunksize (daemon/ops.c) against Python's Pool.map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mpd.h"

/*
 * Python's rule, written as the standard library does it:
 * chunksize, extra = divmod(n, nw * 4); if extra: chunksize += 1;
 * and an empty iterable gives 0.
 */
static int64_t
python_chunksize(int64_t n, int nw)
{
	int64_t	q, r, d = (int64_t)nw * 4;

	if (n == 0)
		return 0;
	q = n / d;
	r = n - q * d;
	if (r != 0)
		q += 1;
	return q;
}

/* Known cases, worked out by hand from the Python rule. */
static void
test_table(void **state)
{
	static const struct {
		int64_t	n;
		int	nw;
		int64_t	want;
	} cases[] = {
		{ 0, 1, 0 },
		{ 0, 4, 0 },
		{ 1, 1, 1 },
		{ 1, 8, 1 },
		{ 3, 1, 1 },
		{ 4, 1, 1 },
		{ 5, 1, 2 },
		{ 5, 2, 1 },
		{ 8, 2, 1 },
		{ 9, 2, 2 },
		{ 16, 2, 2 },
		{ 17, 2, 3 },
		{ 100, 2, 13 },
		{ 100, 4, 7 },
		{ 100, 25, 1 },
		{ 101, 25, 2 },
		{ 1000, 3, 84 },
		{ 1000000, 2, 125000 },
		{ 1000001, 2, 125001 },
		{ 1000000, 16, 15625 },
		{ 999999, 7, 35715 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (map_chunksize(cases[i].n, cases[i].nw) !=
		    cases[i].want)
			fail_msg("map_chunksize(%lld, %d) = %lld, want %lld",
			    (long long)cases[i].n, cases[i].nw,
			    (long long)map_chunksize(cases[i].n,
			    cases[i].nw), (long long)cases[i].want);
	}
}

/* Every small case matches the Python rule and yields few enough chunks. */
static void
test_sweep(void **state)
{
	int64_t	n, size, chunks;
	int	w;

	(void)state;
	for (w = 1; w <= 16; w++) {
		for (n = 0; n <= 3000; n++) {
			size = map_chunksize(n, w);
			if (size != python_chunksize(n, w))
				fail_msg("map_chunksize(%lld, %d) = %lld, "
				    "want %lld", (long long)n, w,
				    (long long)size,
				    (long long)python_chunksize(n, w));
			if (n == 0)
				continue;
			assert_true(size >= 1);
			chunks = (n + size - 1) / size;
			assert_true(chunks <= (int64_t)w * 4);
		}
	}
}

/* Counts beyond 32 bits do not overflow. */
static void
test_large(void **state)
{
	(void)state;
	assert_int_equal(map_chunksize(INT64_C(8000000000), 2),
	    INT64_C(1000000000));
	assert_int_equal(map_chunksize(INT64_C(8000000001), 2),
	    INT64_C(1000000001));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_dtoa.c — shortest round-trip double formatting in PostgreSQL's
 * style: known outputs (as psql prints float8), and round trips of many
 * random doubles.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dtoa.h"

static void
like_postgresql(void **state)
{
	static const struct {
		double d;
		const char *text;
	} cases[] = {
		{ 0.1, "0.1" }, { 1.0 / 7, "0.14285714285714285" }, { 1e15, "1e+15" },
		{ 123456789012345.0, "123456789012345" }, { 1e-5, "1e-05" }, { 0.0001, "0.0001" },
		{ 5e-324, "5e-324" }, { 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 100, "100" }, { -2.5, "-2.5" }, { 0, "0" }, { -0.0, "-0" }, { 1e21, "1e+21" },
		{ 123.456, "123.456" }, { 99999999999999.98, "99999999999999.98" },
		{ 1e100, "1e+100" }, { 2.2250738585072014e-308, "2.2250738585072014e-308" },
	};
	char buf[DTOA_BUFSIZE];
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int n = dtoa_shortest(cases[i].d, buf);
		assert_string_equal(buf, cases[i].text);
		assert_int_equal(n, (int)strlen(cases[i].text));
	}
	dtoa_shortest(NAN, buf);
	assert_string_equal(buf, "NaN");
	dtoa_shortest(INFINITY, buf);
	assert_string_equal(buf, "Infinity");
	dtoa_shortest(-INFINITY, buf);
	assert_string_equal(buf, "-Infinity");
}

/* xorshift64: deterministic doubles of every exponent */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
round_trips(void **state)
{
	char buf[DTOA_BUFSIZE];
	(void)state;
	for (int i = 0; i < 300000; i++) {
		uint64_t u = next();
		double d;
		memcpy(&d, &u, sizeof d);
		if (!isfinite(d))
			continue;
		if (i % 3 == 0)
			d = (double)(next() % 10000000) / (double)(1 + next() % 1000);
		int n = dtoa_shortest(d, buf);
		assert_true(n > 0 && n < DTOA_BUFSIZE);
		assert_true(strtod(buf, NULL) == d);
	}
}

/* float4 as PostgreSQL's float4out writes it (shortest, plain below 1e6). */
static void
float4_like_postgresql(void **state)
{
	static const struct {
		float f;
		const char *want;
	} cases[] = {
		{ 0.1f, "0.1" }, { 0.3f, "0.3" }, { -2.5f, "-2.5" }, { 123456.0f, "123456" },
		{ 1234567.0f, "1.234567e+06" }, { 16777216.0f, "1.6777216e+07" },
		{ 1e-45f, "1e-45" }, { 3.4028235e38f, "3.4028235e+38" }, { 1.1754944e-38f, "1.1754944e-38" },
		{ 0.0001f, "0.0001" }, { 0.00001f, "1e-05" }, { 0.0f, "0" }, { -0.0f, "-0" },
		{ 1.0f / 3.0f, "0.33333334" }, { 100.0f, "100" },
	};
	char buf[DTOA_BUFSIZE];
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int n = dtoa_shortest_float(cases[i].f, buf);
		assert_string_equal(buf, cases[i].want);
		assert_int_equal(n, (int)strlen(cases[i].want));
	}
	/* every float reads back as itself */
	for (uint32_t bits = 1; bits < 0x7f800000u; bits += 0x00012345u) {
		float f;
		memcpy(&f, &bits, sizeof f);
		dtoa_shortest_float(f, buf);
		assert_true(strtof(buf, NULL) == f);
	}
	assert_int_equal(dtoa_shortest_float(NAN, buf), 3);
	assert_string_equal(buf, "NaN");
	dtoa_shortest_float(-INFINITY, buf);
	assert_string_equal(buf, "-Infinity");
}

/* The fast reader gives strtod's double bit for bit, or declines. */
static void
parse_fast_is_strtod(void **state)
{
	static const char *const yes[] = {
		"0", "-0", "1", "-2.5", "0.1", "0.0001", "1e-05", "1e+15", "123.456", "142857.142857143",
		"999999999999.998", "9007199254740992", "1e22", "1e-22", "+7", "3.", ".5", "12E3", "0.000",
	};
	static const char *const no[] = {
		"NaN", "Infinity", "-Infinity", "", "-", ".", "e5", "1e", "1e+", "1x", "1.2.3", "0x10",
		"1e23", "1e-23", "9007199254740993", "99999999999999.98", "0.14285714285714285", "1.7976931348623157e+308",
		"5e-324", "12345678901234567890", " 1", "1 ",
	};
	char buf[64];
	double d;
	(void)state;
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		assert_true(dtoa_parse_fast(yes[i], strlen(yes[i]), &d));
		double want = strtod(yes[i], NULL);
		assert_memory_equal(&d, &want, sizeof d);
	}
	for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
		d = 42;
		/* declining is always allowed; taking must be exact */
		if (dtoa_parse_fast(no[i], strlen(no[i]), &d)) {
			double want = strtod(no[i], NULL);
			assert_memory_equal(&d, &want, sizeof d);
		}
	}
	assert_false(dtoa_parse_fast("NaN", 3, &d));
	assert_false(dtoa_parse_fast("1e28", 4, &d));
	assert_false(dtoa_parse_fast("12345678901234567890", 20, &d));
	/* the length bounds the text: "12" of "123" */
	assert_true(dtoa_parse_fast("123", 2, &d));
	assert_true(d == 12);
	/* random doubles in PostgreSQL's shortest form and in fewer digits */
	int taken = 0;
	for (int i = 0; i < 300000; i++) {
		uint64_t u = next();
		double x;
		memcpy(&x, &u, sizeof x);
		if (!isfinite(x))
			continue;
		if (i % 2 == 0)
			x = (double)(next() % 100000000) / (double)(1 + next() % 10000);
		int n = i % 3 == 0 ? snprintf(buf, sizeof buf, "%.*g", 1 + (int)(next() % 17), x) : dtoa_shortest(x, buf);
		if (dtoa_parse_fast(buf, (size_t)n, &d)) {
			double want = strtod(buf, NULL);
			assert_memory_equal(&d, &want, sizeof d);
			taken++;
		}
	}
	assert_true(taken > 100000);
}

/* Does this machine do long double arithmetic in 64 bits (x86, not an
 * emulator that uses doubles)? dtoa.c asks the same before its step. */
static bool
extended(void)
{
#if defined(__x86_64__)
	volatile long double one = 1.0L, tiny = 0x1p-63L;
	return one + tiny != one;
#else
	return false;
#endif
}

/* 17 to 19 digits (PostgreSQL's shortest form of a computed double, and
 * decimals a hair from halfway between two doubles): taken on x86 through
 * the 64-bit significand, and always strtod's double. */
static void
parse_fast_long_digits(void **state)
{
	static const char *const exact[] = {
		"0.14285714285714285", "142857.14285714287", "1e22", "1e-27", "99999999999999.98",
		"1.2345678901234567e+20", "-0.30000000000000004",
	};
	char buf[64];
	double d;
	(void)state;
	for (size_t i = 0; i < sizeof exact / sizeof *exact; i++) {
		bool took = dtoa_parse_fast(exact[i], strlen(exact[i]), &d);
		double want = strtod(exact[i], NULL);
		if (extended())
			assert_true(took);
		if (took)
			assert_memory_equal(&d, &want, sizeof d);
	}
	/* 2^53 + 1 and 10^23 are exactly halfway between two doubles: strtod
	 * decides (to the even one) */
	if (extended()) {
		assert_false(dtoa_parse_fast("9007199254740993", 16, &d));
		assert_false(dtoa_parse_fast("1e23", 4, &d));
	}
	int taken = 0, declined = 0;
	for (int i = 0; i < 1000000; i++) {
		uint64_t u = next();
		double x;
		memcpy(&x, &u, sizeof x);
		if (!isfinite(x) || x == 0)
			continue;
		/* bring it into the range the step covers: 1e-8 .. 1e12 */
		int e2;
		x = ldexp(frexp(x, &e2), (int)(next() % 67) - 26);
		int n;
		switch (i % 4) {
		case 0:
			n = dtoa_shortest(x, buf);
			break;
		case 1:
			n = snprintf(buf, sizeof buf, "%.19g", x);
			break;
		default: {
			/* halfway to the next double, to 17–19 digits: the cases a
			 * double rounding would get wrong */
			double y;
			uint64_t b;
			memcpy(&b, &x, sizeof b);
			b++; /* the next double away from zero */
			memcpy(&y, &b, sizeof y);
			long double mid = ((long double)x + (long double)y) / 2;
			n = snprintf(buf, sizeof buf, "%.*Lg", 17 + (int)(next() % 3), mid);
			break;
		}
		}
		if (dtoa_parse_fast(buf, (size_t)n, &d)) {
			double want = strtod(buf, NULL);
			if (memcmp(&d, &want, sizeof d) != 0)
				fail_msg("%s: %.17g, strtod %.17g", buf, d, want);
			taken++;
		} else {
			declined++;
		}
	}
	if (extended())
		assert_true(taken > 900000);
	print_message("taken %d, declined %d\n", taken, declined);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(like_postgresql),
		cmocka_unit_test(round_trips),
		cmocka_unit_test(float4_like_postgresql),
		cmocka_unit_test(parse_fast_is_strtod),
		cmocka_unit_test(parse_fast_long_digits),
	};
	return cmocka_run_group_tests_name("dtoa", tests, NULL, NULL);
}

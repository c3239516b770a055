/*
 * test_uuid.c — version 4 UUIDs (uuid.c): their text form, their version and
 * variant bits, their randomness, and the validator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "uuid.h"

/* Canonical form, lower-case hex, version 4, RFC 4122 variant. */
static void
v4_form(void **state)
{
	(void)state;
	for (int n = 0; n < 1000; n++) {
		char u[UUID_STR_LEN];
		memset(u, 'Z', sizeof u);
		uuid_v4(u);
		assert_int_equal(strlen(u), 36);
		assert_true(uuid_valid(u, 36));
		for (int i = 0; i < 36; i++) {
			if (i == 8 || i == 13 || i == 18 || i == 23)
				assert_int_equal(u[i], '-');
			else
				assert_non_null(strchr("0123456789abcdef", u[i]));
		}
		assert_int_equal(u[14], '4');
		assert_non_null(strchr("89ab", u[19]));
	}
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* 4096 draws: no repeats, and every hex digit of the random part shows up. */
static void
v4_random(void **state)
{
	enum { N = 4096 };
	char (*u)[UUID_STR_LEN] = calloc(N, UUID_STR_LEN);
	int seen[16] = { 0 };
	(void)state;
	for (int i = 0; i < N; i++) {
		uuid_v4(u[i]);
		for (int j = 0; j < 8; j++)
			seen[strchr("0123456789abcdef", u[i][j]) - "0123456789abcdef"]++;
	}
	qsort(u, N, UUID_STR_LEN, cmp);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(u[i - 1], u[i]);
	/* 32768 random nibbles: each value expected 2048 times; demand a fifth */
	for (int d = 0; d < 16; d++)
		assert_true(seen[d] > 400);
	free(u);
}

static void
validator(void **state)
{
	(void)state;
	assert_true(uuid_valid("123e4567-e89b-12d3-a456-426614174000", 36));
	assert_true(uuid_valid("123E4567-E89B-12D3-A456-426614174000", 36)); /* any case */
	assert_true(uuid_valid("00000000-0000-0000-0000-000000000000", 36)); /* any version */
	/* the length is what counts, not a NUL */
	assert_true(uuid_valid("123e4567-e89b-12d3-a456-426614174000trailing", 36));
	assert_false(uuid_valid("123e4567-e89b-12d3-a456-426614174000", 35));
	assert_false(uuid_valid("123e4567-e89b-12d3-a456-4266141740000", 37));
	assert_false(uuid_valid("", 0));
	assert_false(uuid_valid("123e4567e89b12d3a456426614174000", 32));
	assert_false(uuid_valid("123e4567-e89b-12d3-a456_426614174000", 36));
	assert_false(uuid_valid("123e4567-e89b-12d3a-456-426614174000", 36));
	assert_false(uuid_valid("g23e4567-e89b-12d3-a456-426614174000", 36));
	assert_false(uuid_valid("123e4567-e89b-12d3-a456-42661417400 ", 36));
	char nul[] = "123e4567-e89b-12d3-a456-426614174000";
	nul[30] = '\0';
	assert_false(uuid_valid(nul, 36));
	assert_false(uuid_valid("{23e4567-e89b-12d3-a456-426614174000", 36));
	assert_false(uuid_valid("------------------------------------", 36));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v4_form),
		cmocka_unit_test(v4_random),
		cmocka_unit_test(validator),
	};
	return cmocka_run_group_tests_name("uuid", tests, NULL, NULL);
}

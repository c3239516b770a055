/*
 * test_ack.c — the gateway's "ack N" flow-control message
 * (ui/gateway/ack.c, linked in by the Makefile): digits only, no sign or
 * blank, and a count past int64 refused rather than wrapped (20 digits
 * once wrapped to a small credit the page never earned).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ack.h"

/* ack_parse on a C string. */
static int
parse(const char *s, uint64_t *n)
{
	return ack_parse(s, strlen(s), n);
}

static void
accepted(void **state)
{
	uint64_t n = 1;
	(void)state;
	assert_int_equal(parse("ack 0", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse("ack 65536", &n), 0);
	assert_int_equal(n, 65536);
	assert_int_equal(parse("ack 9223372036854775807", &n), 0); /* 19 digits: INT64_MAX */
	assert_int_equal(n, INT64_MAX);
	assert_int_equal(parse("ack 0000000000000000001", &n), 0);
	assert_int_equal(n, 1);
	/* not NUL-terminated: only len bytes count */
	assert_int_equal(ack_parse("ack 12345", 6, &n), 0);
	assert_int_equal(n, 12);
}

static void
refused(void **state)
{
	uint64_t n = 7;
	(void)state;
	static const char *const bad[] = {
		"", "ack", "ack ", "ACK 1", "ack  1", "ack 1 ", "ack +1", "ack -1", "ack 1x", "ack x",
		"ack 0x10", "nack 1", "ack\t1",
		"ack 9223372036854775808",  /* INT64_MAX + 1 */
		"ack 18446744073709551617", /* 2^64 + 1: wrapped to 1 before */
		"ack 99999999999999999999", /* 20 digits */
		"ack 00000000000000000001", /* 20 characters of digits */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parse(bad[i], &n) != -1)
			fail_msg("accepted '%s'", bad[i]);
	}
	assert_int_equal(n, 7); /* untouched */
	char nul[] = "ack 1\0002";
	assert_int_equal(ack_parse(nul, sizeof nul - 1, &n), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted),
		cmocka_unit_test(refused),
	};
	return cmocka_run_group_tests_name("ack", tests, NULL, NULL);
}

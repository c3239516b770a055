/*
 * test_quote.c — string literals as PostgreSQL's quote_literal() writes
 * them (quote.c): quotes doubled, a backslash makes an E'' literal with it
 * doubled, NULL stays NULL. (The integration suite runs the DDL that uses
 * them against a real server: tests/integration/test_schema.py.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "quote.h"

/* quote_literal(s) as a new string. */
static char *
ql(const char *s)
{
	struct strbuf sb;
	sb_init(&sb);
	quote_literal(&sb, s);
	return sb_detach(&sb);
}

static void
literals(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "'plain'" }, { "it's", "'it''s'" }, { "", "''" },
		{ "a\\b'", "E'a\\\\b'''" }, { "\u00dcn\u00efcode", "'\u00dcn\u00efcode'" },
		{ "two\nlines", "'two\nlines'" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *q = ql(cases[i].in);
		assert_string_equal(q, cases[i].out);
		free(q);
	}
	char *n = ql(NULL);
	assert_string_equal(n, "NULL");
	free(n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(literals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_sqlident.c — SQL names and literals (sqlident.c): quote_ident's
 * rules, quote_literal's, and qualified names read as the server reads them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sqlident.h"

/* quote_ident of s, as a new string. */
static char *
qi(const char *s)
{
	struct strbuf sb;
	sb_init(&sb);
	sqlident_quote(&sb, s, strlen(s));
	return sb_detach(&sb);
}

/* quote_literal of s, as a new string. */
static char *
ql(const char *s)
{
	struct strbuf sb;
	sb_init(&sb);
	sqlident_literal(&sb, s, strlen(s));
	return sb_detach(&sb);
}

static void
quote_ident_rules(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "abc", "abc" }, { "a_1", "a_1" }, { "_x", "_x" }, { "Abc", "\"Abc\"" }, { "1a", "\"1a\"" },
		{ "a b", "\"a b\"" }, { "a\"b", "\"a\"\"b\"" }, { "a$b", "\"a$b\"" }, { "select", "\"select\"" },
		{ "user", "\"user\"" }, { "table", "\"table\"" }, { "name", "name" }, { "json", "\"json\"" },
		{ "xmltable", "\"xmltable\"" }, { "all", "\"all\"" }, { "allx", "allx" }, { "", "\"\"" },
		{ "é", "\"é\"" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *q = qi(cases[i][0]);
		assert_string_equal(q, cases[i][1]);
		free(q);
	}
}

static void
quote_literal_rules(void **state)
{
	(void)state;
	char *q = ql("it's");
	assert_string_equal(q, "'it''s'");
	free(q);
	q = ql("a\\b'c");
	assert_string_equal(q, "E'a\\\\b''c'");
	free(q);
	q = ql("");
	assert_string_equal(q, "''");
	free(q);
}

/* parse, then quote back */
static char *
roundtrip(const char *text)
{
	struct sqlname n;
	struct tusk_error e = TUSK_ERROR_INIT;
	if (sqlname_parse(&n, text, "table", &e) < 0) {
		assert_int_equal(e.kind, TE_VALIDATION);
		assert_non_null(strstr(e.message, "table: "));
		terr_clear(&e);
		return NULL;
	}
	struct strbuf sb;
	sb_init(&sb);
	sqlname_quote(&sb, &n);
	sqlname_free(&n);
	return sb_detach(&sb);
}

static void
qualified_names(void **state)
{
	(void)state;
	static const char *const ok[][2] = {
		{ "orders", "orders" }, { "Orders", "orders" }, { "public.Orders", "public.orders" },
		{ "\"Order Items\"", "\"Order Items\"" }, { "s.\"T\"", "s.\"T\"" }, { "\"a.b\".c", "\"a.b\".c" },
		{ "\"x\"\"y\"", "\"x\"\"y\"" }, { "t$1", "\"t$1\"" }, { "\"user\"", "\"user\"" }, { "USER", "\"user\"" },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char *q = roundtrip(ok[i][0]);
		assert_non_null(q);
		assert_string_equal(q, ok[i][1]);
		free(q);
	}
	static const char *const bad[] = { "", "a b", "a.b.c", "1a", "a.", ".a", "\"unterminated", "\"\"",
		"a;drop table x", "a.\"b" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_null(roundtrip(bad[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quote_ident_rules),
		cmocka_unit_test(quote_literal_rules),
		cmocka_unit_test(qualified_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

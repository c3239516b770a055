/*
 * test_sqlident.c — identifiers quoted as quote_ident() does (sqlident.c):
 * bare names, capitals, spaces, quotes, keywords by category, the empty
 * name; and, when TUSK_PG_KEYWORDS names a file of "word|catcode" lines
 * (pg_get_keywords() of a live server: tests/integration/test_table.py
 * writes it), every keyword of that server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sqlident.h"

/* Quote name and compare with what quote_ident() gives. */
static void
check(const char *name, const char *want)
{
	char *got = sqlident_quote(name);
	assert_string_equal(got, want);
	free(got);
}

/* Plain lower-case names stay bare; anything else is quoted. */
static void
quoting_rules(void **state)
{
	(void)state;
	check("orders", "orders");
	check("_x1", "_x1");
	check("Orders", "\"Orders\"");
	check("Order Items", "\"Order Items\"");
	check("1st", "\"1st\"");
	check("a$b", "\"a$b\"");
	check("say \"hi\"", "\"say \"\"hi\"\"\"");
	check("", "\"\"");
	check("x'; drop table t; --", "\"x'; drop table t; --\"");
	check("ünïcode", "\"ünïcode\"");
}

/* Reserved, column-name and type/function-name keywords are quoted;
 * unreserved ones are not. */
static void
keywords(void **state)
{
	(void)state;
	check("select", "\"select\"");   /* R */
	check("user", "\"user\"");	 /* R */
	check("between", "\"between\""); /* C */
	check("varchar", "\"varchar\""); /* C */
	check("left", "\"left\"");	 /* T */
	check("xmltable", "\"xmltable\""); /* C, last */
	check("all", "\"all\"");	 /* R, first */
	check("name", "name");		 /* U */
	check("key", "key");		 /* U */
	check("data", "data");		 /* U */
	check("xmin", "xmin");		 /* not a keyword */
	assert_false(sqlident_is_keyword("SELECT")); /* lower-case words only */
}

/* Schema-qualified names. */
static void
qualified(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	sqlident_add_qualified(&sb, "public", "Order Items");
	char *s = sb_detach(&sb);
	assert_string_equal(s, "public.\"Order Items\"");
	free(s);
}

/* Every keyword of a live server, when the suite provides them. */
static void
server_keywords(void **state)
{
	(void)state;
	const char *path = getenv("TUSK_PG_KEYWORDS");
	if (path == NULL || *path == '\0')
		skip();
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[128];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		char *bar = strchr(line, '|');
		if (bar == NULL)
			continue;
		*bar = '\0';
		bool quoted = bar[1] != 'U';
		if (sqlident_is_keyword(line) != quoted)
			fail_msg("keyword '%s' (catcode %c): Tusk %s it", line, bar[1],
			    quoted ? "does not quote" : "quotes");
		n++;
	}
	fclose(f);
	assert_true(n > 400);
}

/* quote_literal's rules. */
static void
literals(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "it's", "'it''s'" }, { "a\\b'c", "E'a\\\\b''c'" }, { "", "''" }, { "plain", "'plain'" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct strbuf sb;
		sb_init(&sb);
		sqlident_literal(&sb, cases[i][0], strlen(cases[i][0]));
		char *q = sb_detach(&sb);
		assert_string_equal(q, cases[i][1]);
		free(q);
	}
}

/* A name given as SQL text, parsed and quoted back (NULL: refused). */
static char *
name_roundtrip(const char *text)
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

/* Names as the server reads them: unquoted parts folded, quoted kept. */
static void
sql_names(void **state)
{
	(void)state;
	static const char *const ok[][2] = {
		{ "orders", "orders" }, { "Orders", "orders" }, { "public.Orders", "public.orders" },
		{ "\"Order Items\"", "\"Order Items\"" }, { "s.\"T\"", "s.\"T\"" }, { "\"a.b\".c", "\"a.b\".c" },
		{ "\"x\"\"y\"", "\"x\"\"y\"" }, { "t$1", "\"t$1\"" }, { "\"user\"", "\"user\"" }, { "USER", "\"user\"" },
		{ "system_user", "\"system_user\"" },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char *q = name_roundtrip(ok[i][0]);
		assert_non_null(q);
		assert_string_equal(q, ok[i][1]);
		free(q);
	}
	static const char *const bad[] = { "", "a b", "a.b.c", "1a", "a.", ".a", "\"unterminated", "\"\"",
		"a;drop table x", "a.\"b" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_null(name_roundtrip(bad[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(literals),
		cmocka_unit_test(sql_names),
		cmocka_unit_test(quoting_rules),
		cmocka_unit_test(keywords),
		cmocka_unit_test(qualified),
		cmocka_unit_test(server_keywords),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

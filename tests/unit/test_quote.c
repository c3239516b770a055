/*
 * test_quote.c — quote_ident() and quote_literal() as PostgreSQL gives
 * them. `test_quote --print` reads names, one a line, and prints each
 * quoted: the integration suite feeds it every word of the server's
 * pg_get_keywords() and compares with the server's own quote_ident().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "quote.h"

/* quote_ident(name), as a new string. */
static char *
qi(const char *name)
{
	return quote_ident_dup(name);
}

static void
idents(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "orders", "orders" }, { "_x1", "_x1" }, { "Orders", "\"Orders\"" },
		{ "Order Items", "\"Order Items\"" }, { "user", "\"user\"" },
		{ "select", "\"select\"" }, { "a\"b", "\"a\"\"b\"" }, { "1abc", "\"1abc\"" },
		{ "", "\"\"" }, { "\u00dcn\u00efcode", "\"\u00dcn\u00efcode\"" },
		{ "name", "name" }, { "text", "text" }, { "int", "\"int\"" },
		{ "between", "\"between\"" }, { "abc$", "\"abc$\"" }, { "json_table", "\"json_table\"" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *q = qi(cases[i].in);
		assert_string_equal(q, cases[i].out);
		free(q);
	}
}

static void
qualified_and_literals(void **state)
{
	struct strbuf sb;
	(void)state;
	sb_init(&sb);
	quote_qualified(&sb, "Sales", "order");
	sb_addc(&sb, ' ');
	quote_qualified(&sb, NULL, "t");
	sb_addc(&sb, ' ');
	quote_literal(&sb, "it's");
	sb_addc(&sb, ' ');
	quote_literal(&sb, "a\\b'");
	sb_addc(&sb, ' ');
	quote_literal(&sb, NULL);
	char *s = sb_detach(&sb);
	assert_string_equal(s, "\"Sales\".\"order\" t 'it''s' E'a\\\\b''' NULL");
	free(s);
}

static void
keywords_sorted(void **state)
{
	(void)state;
	assert_true(quote_nkeywords > 100);
	for (unsigned i = 1; i < quote_nkeywords; i++)
		assert_true(strcmp(quote_keywords[i - 1], quote_keywords[i]) < 0);
	assert_true(quote_is_keyword("user"));
	assert_false(quote_is_keyword("name"));
}

/* --print: quote each line of stdin. */
static int
print_quoted(void)
{
	char line[4096];
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = '\0';
		char *q = qi(line);
		printf("%s\n", q);
		free(q);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--print") == 0)
		return print_quoted();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(idents),
		cmocka_unit_test(qualified_and_literals),
		cmocka_unit_test(keywords_sorted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

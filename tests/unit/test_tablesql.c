/*
 * test_tablesql.c — open_table's and apply_edits' statements
 * (broker/tablesql.c): what the catalog says makes a table editable or
 * not, the keyset condition for mixed directions and NULLs, filters bound
 * as values, edits keyed and guarded by xmin, and client values as text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mpbuild.h"
#include "tablesql.h"

/* A catalog row: relkind, updatable, ins, upd, del, key name, then the column. */
#define CAT(kind, key, col) "[" kind ", 28, true, true, true, " key ", " col "]"
#define TABLE_T "[" \
	CAT("r", "t_pkey", "id, integer, int4, true, \"\", \"\", false, true, 1") ", " \
	CAT("r", "t_pkey", "g, integer, int4, false, \"\", \"\", false, true, nil") ", " \
	CAT("r", "t_pkey", "s, text, text, false, \"\", \"\", false, true, nil") ", " \
	CAT("r", "t_pkey", "gen, integer, int4, false, s, \"\", false, true, nil") "]"

/* Load the table above. */
static void
load_t(struct ttable *t, struct mpb *b, bool read_only)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	assert_int_equal(ttable_load(t, "public", "t", mpb_parse(b, "%s", TABLE_T), read_only, &e), 0);
}

/* Build the page statement for these arguments (notation, or NULL). */
static char *
page_sql(const struct ttable *t, const char *order, const char *filter, const char *after)
{
	struct mpb bo, bf, ba;
	struct tpage pg;
	struct tsql q;
	struct tusk_error e = TUSK_ERROR_INIT;
	const msgpack_object *o = order ? mpb_parse(&bo, "%s", order) : NULL;
	const msgpack_object *f = filter ? mpb_parse(&bf, "%s", filter) : NULL;
	const msgpack_object *a = after ? mpb_parse(&ba, "%s", after) : NULL;
	if (tpage_parse(&pg, t, o, f, a, NULL, &e) < 0)
		fail_msg("tpage_parse: %s", e.message);
	tsql_init(&q);
	tsql_page(&q, t, &pg);
	char *s = xstrdup(q.sql.buf);
	tsql_free(&q);
	tpage_free(&pg);
	if (order)
		mpb_free(&bo);
	if (filter)
		mpb_free(&bf);
	if (after)
		mpb_free(&ba);
	return s;
}

/* The key, the generated column, and read-only connections. */
static void
editable(void **state)
{
	(void)state;
	struct mpb b;
	struct ttable t;
	load_t(&t, &b, false);
	assert_true(t.editable);
	assert_int_equal(t.nkey, 1);
	assert_string_equal(t.cols[t.key[0]].name, "id");
	assert_true(t.cols[1].editable);
	assert_false(t.cols[3].editable); /* generated */
	ttable_free(&t);
	mpb_free(&b);
	load_t(&t, &b, true);
	assert_false(t.editable);
	assert_string_equal(t.reason, "the connection is read-only");
	ttable_free(&t);
	mpb_free(&b);
	struct tusk_error e = TUSK_ERROR_INIT;
	assert_int_equal(ttable_load(&t, "public", "v", mpb_parse(&b, "[%s]",
	    CAT("v", "nil", "x, integer, int4, false, \"\", \"\", false, true, nil")), false, &e), 0);
	assert_false(t.editable);
	assert_non_null(strstr(t.reason, "base table"));
	ttable_free(&t);
	mpb_free(&b);
	assert_int_equal(ttable_load(&t, "public", "nope", mpb_parse(&b, "[]"), false, &e), -1);
	assert_int_equal(e.kind, TE_VALIDATION);
	terr_clear(&e);
	ttable_free(&t);
	mpb_free(&b);
}

/* The keyset condition: the row comparison when it is the same, the
 * expanded form for mixed directions and NULLs. */
static void
keyset(void **state)
{
	(void)state;
	struct mpb b;
	struct ttable t;
	load_t(&t, &b, false);
	char *s = page_sql(&t, NULL, NULL, "[\"5\"]");
	assert_string_equal(s, "SELECT t.xmin::text, t.id::text, t.id, t.g, t.s, t.gen FROM public.t t "
	    "WHERE (t.id) > ($1) ORDER BY t.id LIMIT $2");
	free(s);
	s = page_sql(&t, "[{column: g, desc: true}, {column: s}]", NULL, "[\"1\", nil, \"7\"]");
	assert_string_equal(s, "SELECT t.xmin::text, t.g::text, t.s::text, t.id::text, t.id, t.g, t.s, t.gen "
	    "FROM public.t t WHERE t.g <= $1 AND ((t.g < $1) OR (t.g = $1 AND t.s IS NULL AND t.id > $2)) "
	    "ORDER BY t.g DESC, t.s, t.id LIMIT $3");
	free(s);
	s = page_sql(&t, "[{column: g, desc: true}, {column: s}]", NULL, "[nil, \"b\", \"3\"]");
	assert_non_null(strstr(s, "WHERE ((t.g IS NOT NULL) OR (t.g IS NULL AND (t.s > $1 OR t.s IS NULL)) "
	    "OR (t.g IS NULL AND t.s = $1 AND t.id > $2))"));
	free(s);
	/* ascending from NULL: only NULLs follow; one direction, NOT NULL: the row comparison */
	s = page_sql(&t, "[{column: g}]", NULL, "[nil, \"3\"]");
	assert_non_null(strstr(s, "WHERE t.g IS NULL AND ((t.g IS NULL AND t.id > $1)) ORDER BY t.g, t.id"));
	free(s);
	s = page_sql(&t, "[{column: id, desc: true}]", NULL, "[\"9\"]");
	assert_non_null(strstr(s, "WHERE (t.id) < ($1) ORDER BY t.id DESC LIMIT $2"));
	free(s);
	/* filters are bound; LIKE patterns escaped inside the value */
	s = page_sql(&t, NULL, "[{column: s, op: contains, value: \"a%%b\"}, {column: id, op: in, value: [1, 2]},"
	    " {column: g, op: is_null}]", NULL);
	assert_string_equal(s, "SELECT t.xmin::text, t.id::text, t.id, t.g, t.s, t.gen FROM public.t t "
	    "WHERE t.s::text ILIKE $1 AND t.id IN ($2, $3) AND t.g IS NULL ORDER BY t.id LIMIT $4");
	free(s);
	ttable_free(&t);
	mpb_free(&b);
}

/* Updates and deletes keyed and guarded; inserts. */
static void
edits(void **state)
{
	(void)state;
	struct mpb b, be;
	struct ttable t;
	struct tedit *ed;
	int n;
	struct tusk_error e = TUSK_ERROR_INIT;
	load_t(&t, &b, false);
	assert_int_equal(tedits_parse(&ed, &n, &t, mpb_parse(&be, "[{op: update, key: {id: 3}, xmin: \"77\", "
	    "values: {s: \"x'y\", g: nil}}, {op: delete, key: {id: \"4\"}, xmin: 78}, {op: insert, values: {}}]"),
	    &e), 0);
	const char *want[] = {
		"UPDATE public.t SET s = $1, g = $2 WHERE id = $3 AND xmin = $4",
		"DELETE FROM public.t WHERE id = $1 AND xmin = $2",
		"INSERT INTO public.t DEFAULT VALUES",
	};
	for (int i = 0; i < n; i++) {
		struct tsql q;
		tsql_init(&q);
		tsql_edit(&q, &t, &ed[i]);
		assert_string_equal(q.sql.buf, want[i]);
		if (i == 0) {
			assert_string_equal(q.values[0], "x'y");
			assert_null(q.values[1]);
			assert_string_equal(q.values[2], "3");
			assert_string_equal(q.values[3], "77");
		}
		tsql_free(&q);
	}
	tedits_free(ed, n);
	mpb_free(&be);
	const char *bad[][2] = {
		{ "[{op: update, key: {id: 1}, values: {s: a}}]", "edits[0].xmin: required" },
		{ "[{op: update, key: {id: 1}, xmin: 1, values: {gen: 1}}]", "edits[0].values.gen" },
		{ "[{op: delete, key: {id: 1}, xmin: 1}, {op: delete, key: {id: \"1\"}, xmin: 2}]",
		    "edits[1]: the same row as edits[0]" },
		{ "[{op: update, key: {id: nil}, xmin: 1, values: {s: a}}]", "never NULL" },
	};
	for (size_t i = 0; i < nitems(bad); i++) {
		assert_int_equal(tedits_parse(&ed, &n, &t, mpb_parse(&be, "%s", bad[i][0]), &e), -1);
		assert_int_equal(e.kind, TE_VALIDATION);
		if (strstr(e.message, bad[i][1]) == NULL)
			fail_msg("%s: got '%s'", bad[i][0], e.message);
		terr_clear(&e);
		tedits_free(ed, n);
		mpb_free(&be);
	}
	ttable_free(&t);
	mpb_free(&b);
}

/* Client values as text parameters. */
static void
values(void **state)
{
	(void)state;
	struct mpb b;
	struct tusk_error e = TUSK_ERROR_INIT;
	const char *cases[][2] = {
		{ "true", "true" }, { "-42", "-42" }, { "18446744073709551615", "18446744073709551615" },
		{ "0.1", "0.1" }, { "1e300", "1e+300" }, { "b\"\\x00\\xff\"", "\\x00ff" },
		{ "\"Zoë\"", "Zoë" },
	};
	for (size_t i = 0; i < nitems(cases); i++) {
		char *s;
		assert_int_equal(tsql_value_text(mpb_parse(&b, "%s", cases[i][0]), &s, "v", &e), 0);
		assert_string_equal(s, cases[i][1]);
		free(s);
		mpb_free(&b);
	}
	char *s = (char *)1;
	assert_int_equal(tsql_value_text(mpb_parse(&b, "nil"), &s, "v", &e), 0);
	assert_null(s);
	mpb_free(&b);
	assert_int_equal(tsql_value_text(mpb_parse(&b, "\"a\\0b\""), &s, "values.x", &e), -1);
	assert_non_null(strstr(e.message, "values.x"));
	terr_clear(&e);
	mpb_free(&b);
	assert_int_equal(tsql_value_text(mpb_parse(&b, "[1, 2]"), &s, "v", &e), -1);
	terr_clear(&e);
	mpb_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(editable),
		cmocka_unit_test(keyset),
		cmocka_unit_test(edits),
		cmocka_unit_test(values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

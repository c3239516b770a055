/*
 * test_msg.c — typed accessors and declared-parameter checking (msg.c):
 * every type, optional and nil, unknown/duplicate/missing keys, NUL inside
 * a string, the shapes params may take, and the integer edge values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "msg.h"
#include "mpbuild.h"

static const struct tusk_param spec[] = {
	{ "s", TT_STR, 0, "a required string" , NULL },
	{ "i", TT_INT, P_OPT, "" , NULL },
	{ "f", TT_FLOAT, P_OPT, "" , NULL },
	{ "b", TT_BOOL, P_OPT, "" , NULL },
	{ "bin", TT_BIN, P_OPT, "" , NULL },
	{ "a", TT_ARRAY, P_OPT, "" , NULL },
	{ "m", TT_MAP, P_OPT, "" , NULL },
	{ "any", TT_ANY, P_OPT, "" , NULL },
	PARAMS_END,
};

static const struct tusk_param spec_none[] = { PARAMS_END };

/* Parse params (notation) against sp; returns params_parse's result, e filled. */
static int
parse(const struct tusk_param *sp, struct params *p, struct tusk_error *e, struct mpb *b,
    const char *text)
{
	terr_clear(e);
	return params_parse(p, sp, mpb_parse(b, "%s", text), e);
}

/* Expect a Validation error whose message is exactly msg. */
static void
expect_invalid(const struct tusk_param *sp, const char *text, const char *msg)
{
	struct mpb b;
	struct params p;
	struct tusk_error e = TUSK_ERROR_INIT;
	if (parse(sp, &p, &e, &b, text) != -1)
		fail_msg("accepted %s", text);
	assert_int_equal(e.kind, TE_VALIDATION);
	assert_string_equal(e.message, msg);
	terr_clear(&e);
	mpb_free(&b);
}

/* Every type accepted where declared; values readable through params_*. */
static void
every_type_accepted(void **state)
{
	struct mpb b;
	struct params p;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	assert_int_equal(parse(spec, &p, &e, &b,
	    "[{s: \"hello\", i: -42, f: 2.5, b: true, bin: b\"\\x00\\x01\", a: [1, 2],"
	    " m: {k: v}, any: nil}]"), 0);
	assert_false(terr_isset(&e));
	char *s = params_strdup(&p, "s");
	assert_string_equal(s, "hello");
	free(s);
	assert_int_equal(params_int(&p, "i", 0), -42);
	assert_true(params_float(&p, "f", 0) == 2.5);
	assert_true(params_bool(&p, "b", false));
	assert_int_equal(params_get(&p, "bin")->via.bin.size, 2);
	assert_int_equal(params_get(&p, "a")->via.array.size, 2);
	assert_true(mpb_equal(params_get(&p, "m"), "{k: v}"));
	/* nil for an optional key counts as absent, even for TT_ANY */
	assert_false(params_has(&p, "any"));
	/* a name not in the spec is simply absent */
	assert_null(params_get(&p, "nope"));
	mpb_free(&b);

	/* an integer is a valid float; ints of every width */
	assert_int_equal(parse(spec, &p, &e, &b, "[{s: \"\", f: 7, i: 18446744073709551615}]"), -1);
	assert_string_equal(e.message, "i: expected int");
	mpb_free(&b);
	assert_int_equal(parse(spec, &p, &e, &b, "[{s: \"\", f: 7, i: 9223372036854775807}]"), 0);
	assert_true(params_float(&p, "f", 0) == 7.0);
	assert_int_equal(params_int(&p, "i", 0), INT64_MAX);
	mpb_free(&b);
	assert_int_equal(parse(spec, &p, &e, &b, "[{s: \"\", i: -9223372036854775808}]"), 0);
	assert_int_equal(params_int(&p, "i", 0), INT64_MIN);
	mpb_free(&b);
	/* any takes anything but nil */
	assert_int_equal(parse(spec, &p, &e, &b, "[{s: x, any: [nil]}]"), 0);
	assert_true(params_has(&p, "any"));
	mpb_free(&b);
	terr_clear(&e);
}

/* A value of the wrong type names the field and the expected type. */
static void
every_type_refused(void **state)
{
	(void)state;
	expect_invalid(spec, "[{s: 1}]", "s: expected string");
	expect_invalid(spec, "[{s: b\"x\"}]", "s: expected string");
	expect_invalid(spec, "[{s: x, i: 1.5}]", "i: expected int");
	expect_invalid(spec, "[{s: x, i: \"1\"}]", "i: expected int");
	expect_invalid(spec, "[{s: x, f: \"1.5\"}]", "f: expected float");
	expect_invalid(spec, "[{s: x, f: true}]", "f: expected float");
	expect_invalid(spec, "[{s: x, b: 1}]", "b: expected bool");
	expect_invalid(spec, "[{s: x, bin: \"x\"}]", "bin: expected bin");
	expect_invalid(spec, "[{s: x, a: {}}]", "a: expected array");
	expect_invalid(spec, "[{s: x, m: []}]", "m: expected map");
	/* nil for a required key is a type error, not absence */
	expect_invalid(spec, "[{s: nil}]", "s: expected string");
}

/* A NUL inside a string is refused (it would truncate every C consumer). */
static void
nul_in_string(void **state)
{
	(void)state;
	expect_invalid(spec, "[{s: \"ab\\0cd\"}]", "s: expected string");
	expect_invalid(spec, "[{s: \"\\0\"}]", "s: expected string");
	/* but bytes >= 0x80 and other control bytes are text */
	struct mpb b;
	struct params p;
	struct tusk_error e = TUSK_ERROR_INIT;
	assert_int_equal(parse(spec, &p, &e, &b, "[{s: \"\\xc3\\xa9\\n\"}]"), 0);
	mpb_free(&b);
}

/* Unknown keys, duplicate keys, missing required keys, non-string keys. */
static void
keys(void **state)
{
	struct mpb b;
	struct params p;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	assert_int_equal(parse(spec, &p, &e, &b, "[{s: x, colour: red}]"), -1);
	assert_int_equal(e.kind, TE_VALIDATION);
	assert_string_equal(e.message, "unknown argument 'colour'");
	assert_non_null(e.hint);
	mpb_free(&b);
	/* a key that matches a declared name only up to a NUL is unknown */
	expect_invalid(spec, "[{s: x, \"i\\0\": 1}]", "unknown argument 'i'");
	/* a prefix of a declared name is unknown */
	expect_invalid(spec, "[{s: x, \"\": 1}]", "unknown argument ''");
	expect_invalid(spec, "[{s: x, s: y}]", "s: given twice");
	expect_invalid(spec, "[{s: x, i: 1, i: 1}]", "i: given twice");
	/* nil then a value is still the same key twice */
	expect_invalid(spec, "[{s: x, i: nil, i: 1}]", "i: given twice");
	expect_invalid(spec, "[{s: x, i: 1, i: nil}]", "i: given twice");
	expect_invalid(spec, "[{i: 1}]", "s: required");
	expect_invalid(spec, "[{}]", "s: required");
	expect_invalid(spec, "[{1: x}]", "argument names must be strings");
	expect_invalid(spec, "[{nil: x}]", "argument names must be strings");
	/* an unknown key is reported with its name bounded */
	char longkey[200];
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	assert_int_equal(params_parse(&p, spec, mpb_parse(&b, "[{s: x, \"%s\": 1}]", longkey), &e), -1);
	assert_int_equal(strlen(e.message), strlen("unknown argument ''") + 64);
	mpb_free(&b);
	terr_clear(&e);
}

/* The shapes a params value may take: [map], [], [nil], nil, NULL. */
static void
params_shapes(void **state)
{
	struct mpb b;
	struct params p;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	assert_int_equal(parse(spec_none, &p, &e, &b, "[]"), 0);
	mpb_free(&b);
	assert_int_equal(parse(spec_none, &p, &e, &b, "nil"), 0);
	mpb_free(&b);
	assert_int_equal(parse(spec_none, &p, &e, &b, "[nil]"), 0);
	mpb_free(&b);
	assert_int_equal(parse(spec_none, &p, &e, &b, "[{}]"), 0);
	mpb_free(&b);
	assert_int_equal(params_parse(&p, spec_none, NULL, &e), 0);
	/* with a required key, the empty shapes all miss it */
	expect_invalid(spec, "[]", "s: required");
	expect_invalid(spec, "nil", "s: required");
	expect_invalid(spec, "[nil]", "s: required");
	assert_int_equal(params_parse(&p, spec, NULL, &e), -1);
	assert_string_equal(e.message, "s: required");

	const char *msg = "params must be an array holding one map of named arguments";
	expect_invalid(spec_none, "{}", msg);
	expect_invalid(spec_none, "[{}, {}]", msg);
	expect_invalid(spec_none, "\"x\"", msg);
	expect_invalid(spec_none, "7", msg);
	expect_invalid(spec_none, "[1]", "expected a map of named arguments");
	expect_invalid(spec_none, "[[]]", "expected a map of named arguments");
	terr_clear(&e);
}

/* params_parse_map: the prefix names nested fields. */
static void
parse_map_prefix(void **state)
{
	struct mpb b;
	struct params p;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	assert_int_equal(params_parse_map(&p, spec, mpb_parse(&b, "{s: 1}"), "config.", &e), -1);
	assert_string_equal(e.message, "config.s: expected string");
	mpb_free(&b);
	assert_int_equal(params_parse_map(&p, spec, mpb_parse(&b, "[]"), "config.", &e), -1);
	assert_string_equal(e.message, "config.expected a map of named arguments");
	mpb_free(&b);
	assert_int_equal(params_parse_map(&p, spec, mpb_parse(&b, "{s: x, z: 1}"), "t.", &e), -1);
	assert_string_equal(e.message, "t.unknown argument 'z'");
	mpb_free(&b);
	assert_int_equal(params_parse_map(&p, spec, mpb_parse(&b, "{s: x}"), NULL, &e), 0);
	mpb_free(&b);
	terr_clear(&e);
}

/* A spec longer than PARAMS_MAX is a programming error, reported as such. */
static void
spec_too_long(void **state)
{
	struct tusk_param big[PARAMS_MAX + 2];
	static char names[PARAMS_MAX + 1][16];
	struct mpb b;
	struct params p;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	for (int i = 0; i <= PARAMS_MAX; i++) {
		snprintf(names[i], sizeof names[i], "p%d", i);
		big[i] = (struct tusk_param){ names[i], TT_INT, 0, "", NULL };
	}
	big[PARAMS_MAX + 1] = (struct tusk_param)PARAMS_END;
	/* every slot that fits is given: the check must not look past val[] */
	assert_int_equal(params_parse_map(&p, big, mpb_parse(&b, "{p0: 0, p1: 1, p2: 2, p3: 3,"
	    " p4: 4, p5: 5, p6: 6, p7: 7, p8: 8, p9: 9, p10: 10, p11: 11, p12: 12, p13: 13,"
	    " p14: 14, p15: 15}"), NULL, &e), -1);
	assert_int_equal(e.kind, TE_INTERNAL);
	mpb_free(&b);
	terr_clear(&e);
}

/* Defaults of the params_* readers when absent or of another type. */
static void
reader_defaults(void **state)
{
	struct mpb b;
	struct params p;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	assert_int_equal(parse(spec, &p, &e, &b, "[{s: x}]"), 0);
	assert_int_equal(params_int(&p, "i", 99), 99);
	assert_true(params_float(&p, "f", 1.25) == 1.25);
	assert_true(params_bool(&p, "b", true));
	assert_false(params_bool(&p, "b", false));
	assert_null(params_strdup(&p, "bin"));
	/* readers on a value of another type give the default */
	assert_int_equal(params_int(&p, "s", 5), 5);
	assert_true(params_float(&p, "s", 0.5) == 0.5);
	assert_false(params_bool(&p, "s", false));
	mpb_free(&b);
	/* a bin parameter copies as text */
	assert_int_equal(parse(spec, &p, &e, &b, "[{s: x, bin: b\"raw\"}]"), 0);
	char *s = params_strdup(&p, "bin");
	assert_string_equal(s, "raw");
	free(s);
	mpb_free(&b);
	terr_clear(&e);
}

/* mo_map_get: string keys only, first match, nil is absent. */
static void
map_get(void **state)
{
	struct mpb b;
	(void)state;
	const msgpack_object *m = mpb_parse(&b,
	    "{a: 1, \"\": 2, 3: c, d: nil, e: 5, e: 6, \"ab\": 7, b\"f\": 8}");
	assert_int_equal(mo_map_get(m, "a")->via.u64, 1);
	assert_int_equal(mo_map_get(m, "")->via.u64, 2);
	assert_int_equal(mo_map_get(m, "ab")->via.u64, 7);
	assert_null(mo_map_get(m, "3"));
	assert_null(mo_map_get(m, "d"));
	assert_int_equal(mo_map_get(m, "e")->via.u64, 5);
	assert_null(mo_map_get(m, "f")); /* a bin key is not a string key */
	assert_null(mo_map_get(m, "zz"));
	assert_null(mo_map_get(NULL, "a"));
	mpb_free(&b);
	assert_null(mo_map_get(mpb_parse(&b, "[a, 1]"), "a"));
	mpb_free(&b);
}

/* mo_int on the edges of int64 and beyond. */
static void
int_edges(void **state)
{
	struct mpb b;
	int64_t v = 12345;
	(void)state;
	static const struct {
		const char *text;
		int rc;
		int64_t v;
	} cases[] = {
		{ "0", 0, 0 },
		{ "127", 0, 127 },
		{ "-1", 0, -1 },
		{ "-32", 0, -32 },
		{ "-33", 0, -33 },
		{ "4294967296", 0, 4294967296LL },
		{ "9223372036854775807", 0, INT64_MAX },
		{ "-9223372036854775808", 0, INT64_MIN },
		{ "9223372036854775808", -1, 0 },
		{ "18446744073709551615", -1, 0 },
		{ "1.0", -1, 0 },
		{ "\"1\"", -1, 0 },
		{ "true", -1, 0 },
		{ "nil", -1, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		v = 12345;
		int rc = mo_int(mpb_parse(&b, "%s", cases[i].text), &v);
		if (rc != cases[i].rc)
			fail_msg("mo_int(%s) = %d", cases[i].text, rc);
		if (rc == 0)
			assert_int_equal(v, cases[i].v);
		else
			assert_int_equal(v, 12345); /* untouched on failure */
		mpb_free(&b);
	}
}

/* mo_str_eq and mo_strdup. */
static void
strings(void **state)
{
	struct mpb b;
	(void)state;
	const msgpack_object *a = mpb_parse(&b, "[abc, \"\", \"ab\\0\", b\"abc\", 1]");
	const msgpack_object *o = a->via.array.ptr;
	assert_true(mo_str_eq(&o[0], "abc"));
	assert_false(mo_str_eq(&o[0], "ab"));
	assert_false(mo_str_eq(&o[0], "abcd"));
	assert_false(mo_str_eq(&o[0], ""));
	assert_true(mo_str_eq(&o[1], ""));
	assert_false(mo_str_eq(&o[2], "ab"));
	assert_false(mo_str_eq(&o[3], "abc")); /* bin is not str */
	assert_false(mo_str_eq(&o[4], "1"));
	assert_false(mo_str_eq(NULL, "x"));
	char *s = mo_strdup(&o[0]);
	assert_string_equal(s, "abc");
	free(s);
	s = mo_strdup(&o[3]);
	assert_string_equal(s, "abc");
	free(s);
	s = mo_strdup(&o[4]);
	assert_string_equal(s, "");
	free(s);
	mpb_free(&b);
}

/* Type names and mo_has_type across the table. */
static void
type_names(void **state)
{
	(void)state;
	assert_string_equal(tusk_type_name(TT_ANY), "any");
	assert_string_equal(tusk_type_name(TT_BOOL), "bool");
	assert_string_equal(tusk_type_name(TT_INT), "int");
	assert_string_equal(tusk_type_name(TT_FLOAT), "float");
	assert_string_equal(tusk_type_name(TT_STR), "string");
	assert_string_equal(tusk_type_name(TT_BIN), "bin");
	assert_string_equal(tusk_type_name(TT_ARRAY), "array");
	assert_string_equal(tusk_type_name(TT_MAP), "map");
	assert_string_equal(tusk_type_name((enum tusk_type)99), "any");
	struct mpb b;
	const msgpack_object *o = mpb_parse(&b, "1");
	assert_false(mo_has_type(o, (enum tusk_type)99));
	assert_true(mo_has_type(o, TT_ANY));
	mpb_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_type_accepted),
		cmocka_unit_test(every_type_refused),
		cmocka_unit_test(nul_in_string),
		cmocka_unit_test(keys),
		cmocka_unit_test(params_shapes),
		cmocka_unit_test(parse_map_prefix),
		cmocka_unit_test(spec_too_long),
		cmocka_unit_test(reader_defaults),
		cmocka_unit_test(map_get),
		cmocka_unit_test(int_edges),
		cmocka_unit_test(strings),
		cmocka_unit_test(type_names),
	};
	return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}

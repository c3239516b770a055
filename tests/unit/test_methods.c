/*
 * test_methods.c — what every method table is held to (methods.c) and the
 * shape notation its results are written in (shape.c). The broker's real
 * table is checked at its start (tuskd refuses a broken one) and against
 * real answers by the integration suite; here small tables of our own show
 * that each rule catches what it must.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "error.h"
#include "methods.h"
#include "mpbuild.h"
#include "mpscan.h"
#include "proto.h"
#include "shape.h"
#include "util.h"

static int
handler(struct request *req, const struct params *p, struct tusk_error *e)
{
	(void)req;
	(void)p;
	(void)e;
	return 0;
}

static const struct tusk_param p_conn[] = {
	{ "connection_id", TT_STR, 0, "an open connection", NULL },
	{ "config", TT_MAP, P_OPT, "a config", "@config" },
	PARAMS_END,
};

static const struct tusk_method m_a = { "a_method", params_none, "{x: int, y?: str | nil}",
	MF_READ_ONLY, "A.", handler };
static const struct tusk_method m_b = { "b_method", p_conn, "[@column]", MF_CONNECTION, "B.",
	handler };

static void
shapes_parse(void **state)
{
	static const char *const good[] = {
		"str", "int", "float", "bool", "bin", "nil", "any", "\"ok\"", "@config", "[int]",
		"[[any]]", "{*: str}", "{}", "{a: int}", "{a?: int, b: [str] | nil}", "{a: int, ...}",
		"str | int | nil", "  { a : int ,  b ? : str }  ", "\"a\" | \"b\"",
		"{x: {y: {z: [@error]}}}", "{...}",
	};
	static const char *const bad[] = {
		"", "string", "[int", "{a int}", "{a: int,}", "{a: int, a: str}", "\"open", "int |",
		"@", "@nosuch", "{*: }", "int int", "[]", "{a: int, ... , b: int}",
		"[[[[[[[[[[[[[[[[[[int]]]]]]]]]]]]]]]]]",
	};
	char why[200];
	(void)state;
	for (size_t i = 0; i < nitems(good); i++)
		if (!shape_valid(good[i], tusk_shape_known, why, sizeof why))
			fail_msg("'%s' should parse: %s", good[i], why);
	for (size_t i = 0; i < nitems(bad); i++) {
		why[0] = '\0';
		if (shape_valid(bad[i], tusk_shape_known, why, sizeof why))
			fail_msg("'%s' should not parse", bad[i]);
		assert_true(strstr(why, "offset") != NULL);
	}
	/* without a list of names, any name is accepted */
	assert_true(shape_valid("@anything", NULL, why, sizeof why));
}

static void
shape_tree(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	shape_pack(&pk, "{a: int, b?: [str] | nil, ...}");
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	const msgpack_object *t = &u.data;
	assert_true(mo_str_eq(mo_map_get(t, "kind"), "record"));
	assert_true(mo_map_get(t, "open")->via.boolean);
	const msgpack_object *f = mo_map_get(t, "fields");
	assert_int_equal(f->via.array.size, 2);
	const msgpack_object *b = &f->via.array.ptr[1];
	assert_true(mo_str_eq(mo_map_get(b, "name"), "b"));
	assert_true(mo_map_get(b, "optional")->via.boolean);
	const msgpack_object *bt = mo_map_get(b, "type");
	assert_true(mo_str_eq(mo_map_get(bt, "kind"), "union"));
	const msgpack_object *alts = mo_map_get(bt, "of");
	assert_true(mo_str_eq(mo_map_get(&alts->via.array.ptr[0], "kind"), "array"));
	assert_true(mo_str_eq(mo_map_get(mo_map_get(&alts->via.array.ptr[0], "of"), "kind"), "str"));
	assert_true(mo_str_eq(mo_map_get(&alts->via.array.ptr[1], "kind"), "nil"));
	msgpack_unpacked_destroy(&u);
	/* a shape that does not parse packs nil */
	msgpack_sbuffer_clear(&sb);
	shape_pack(&pk, "{oops");
	assert_int_equal(sb.size, 1);
	assert_int_equal((unsigned char)sb.data[0], 0xc0);
	msgpack_sbuffer_destroy(&sb);
}

static void
table_rules(void **state)
{
	char why[256];
	(void)state;
	const struct tusk_method *good[] = { &m_a, &m_b };
	assert_int_equal(methods_check(good, nitems(good), why, sizeof why), 0);
	assert_ptr_equal(methods_find(good, 2, "b_method", 8), &m_b);
	assert_null(methods_find(good, 2, "b_metho", 7));
	assert_null(methods_find(good, 2, "B_method", 8));

	const struct tusk_method *twice[] = { &m_a, &m_a };
	assert_int_equal(methods_check(twice, 2, why, sizeof why), -1);
	assert_non_null(strstr(why, "twice"));

	struct tusk_method nohandler = m_a;
	nohandler.handler = NULL;
	const struct tusk_method *t1[] = { &nohandler };
	assert_int_equal(methods_check(t1, 1, why, sizeof why), -1);

	struct tusk_method badshape = m_a;
	badshape.result = "{x: integer}";
	const struct tusk_method *t2[] = { &badshape };
	assert_int_equal(methods_check(t2, 1, why, sizeof why), -1);
	assert_non_null(strstr(why, "shape"));

	struct tusk_method unknown_ref = m_a;
	unknown_ref.result = "@nosuch";
	const struct tusk_method *t3[] = { &unknown_ref };
	assert_int_equal(methods_check(t3, 1, why, sizeof why), -1);

	struct tusk_method conn_flag = m_a;
	conn_flag.flags = MF_CONNECTION; /* but no connection_id parameter */
	const struct tusk_method *t4[] = { &conn_flag };
	assert_int_equal(methods_check(t4, 1, why, sizeof why), -1);
	assert_non_null(strstr(why, "MF_CONNECTION"));

	static const struct tusk_param dup[] = {
		{ "x", TT_INT, 0, "", NULL }, { "x", TT_STR, 0, "", NULL }, PARAMS_END,
	};
	struct tusk_method dupp = m_a;
	dupp.params = dup;
	const struct tusk_method *t5[] = { &dupp };
	assert_int_equal(methods_check(t5, 1, why, sizeof why), -1);
}

static void
describe(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	size_t off = 0, len;
	static const struct mp_limits lim = { CLIENT_MAX_MSG, CLIENT_MAX_DEPTH, CLIENT_MAX_STR };
	const struct tusk_method *table[] = { &m_a, &m_b };
	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	methods_pack_describe(&pk, table, nitems(table));
	/* one complete message that a client's scanner accepts */
	assert_int_equal(mp_scan_buf(&lim, sb.data, sb.size, &len), MP_DONE);
	assert_int_equal(len, sb.size);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, sb.size);
	const msgpack_object *d = &u.data;
	assert_int_equal(mo_map_int(d, "protocol_version", -1), TUSK_PROTOCOL_VERSION);
	assert_true(mo_str_eq(mo_map_get(d, "version"), TUSK_VERSION));
	const msgpack_object *ms = mo_map_get(d, "methods");
	assert_int_equal(ms->via.array.size, 2);
	const msgpack_object *b = &ms->via.array.ptr[1];
	assert_true(mo_str_eq(mo_map_get(b, "name"), "b_method"));
	assert_true(mo_str_eq(mo_map_get(b, "result"), "[@column]"));
	assert_true(mo_str_eq(mo_map_get(mo_map_get(b, "result_shape"), "kind"), "array"));
	const msgpack_object *flags = mo_map_get(b, "flags");
	assert_int_equal(flags->via.array.size, 1);
	assert_true(mo_str_eq(&flags->via.array.ptr[0], "connection"));
	const msgpack_object *ps = mo_map_get(b, "params");
	assert_int_equal(ps->via.array.size, 2);
	const msgpack_object *cfg = &ps->via.array.ptr[1];
	assert_true(mo_str_eq(mo_map_get(cfg, "type"), "map"));
	assert_true(mo_map_get(cfg, "optional")->via.boolean);
	assert_true(mo_str_eq(mo_map_get(cfg, "shape_text"), "@config"));
	assert_true(mo_str_eq(mo_map_get(mo_map_get(cfg, "shape"), "name"), "config"));
	/* notifications and named shapes come along, each with its tree */
	const msgpack_object *ns = mo_map_get(d, "notifications");
	assert_true(ns->via.array.size >= 4);
	for (uint32_t i = 0; i < ns->via.array.size; i++)
		assert_true(mo_map_get(mo_map_get(&ns->via.array.ptr[i], "shape"), "kind") != NULL);
	const msgpack_object *sh = mo_map_get(d, "shapes");
	size_t nshapes = 0;
	while (tusk_shapes[nshapes].name)
		nshapes++;
	assert_int_equal(sh->via.array.size, nshapes);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shapes_parse),
		cmocka_unit_test(shape_tree),
		cmocka_unit_test(table_rules),
		cmocka_unit_test(describe),
	};
	return cmocka_run_group_tests_name("methods", tests, NULL, NULL);
}

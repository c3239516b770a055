/*
 * test_methods.c — the one method table (methods.c), checked as a whole so
 * that any entry added later is held to the same rules: a name, unique;
 * declarations params_parse can hold (at most PARAMS_MAX, unique names,
 * known types); and a `describe` answer that decodes and lists them all.
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

static void
table_is_well_formed(void **state)
{
	(void)state;
	for (int i = 0; i < M__COUNT; i++) {
		const struct tusk_method *m = &tusk_methods[i];
		if (m->name == NULL)
			fail_msg("method %d has no entry", i);
		assert_true(strlen(m->name) > 0 && strlen(m->name) <= 64);
		assert_non_null(m->params);
		assert_non_null(m->result);
		assert_non_null(m->doc);
		assert_int_equal(method_find(m->name), i);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(tusk_methods[j].name, m->name);
		int n = 0;
		for (; m->params[n].name; n++) {
			const struct tusk_param *p = &m->params[n];
			assert_true(p->type >= TT_ANY && p->type <= TT_MAP);
			assert_int_equal(p->flags & ~(unsigned)P_OPT, 0);
			assert_non_null(p->doc);
			for (int k = 0; k < n; k++)
				assert_string_not_equal(m->params[k].name, p->name);
		}
		if (n > PARAMS_MAX)
			fail_msg("%s declares %d parameters; params_parse holds %d", m->name, n, PARAMS_MAX);
	}
	assert_int_equal(method_find("no_such_method"), -1);
	assert_int_equal(method_find(""), -1);
	assert_int_equal(method_find("Health_check"), -1);
}

/* Every method accepts [] exactly when it has no required parameter. */
static void
empty_params(void **state)
{
	struct mpb b;
	(void)state;
	const msgpack_object *empty = mpb_parse(&b, "[]");
	for (int i = 0; i < M__COUNT; i++) {
		const struct tusk_method *m = &tusk_methods[i];
		bool required = false;
		for (int n = 0; m->params[n].name; n++)
			required |= !(m->params[n].flags & P_OPT);
		struct params p;
		struct tusk_error e = TUSK_ERROR_INIT;
		int rc = params_parse(&p, m->params, empty, &e);
		if (rc != (required ? -1 : 0))
			fail_msg("%s: params_parse([]) = %d", m->name, rc);
		if (rc < 0)
			assert_int_equal(e.kind, TE_VALIDATION);
		terr_clear(&e);
	}
	mpb_free(&b);
}

static void
describe(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	size_t off = 0, len;
	static const struct mp_limits lim = { CLIENT_MAX_MSG, CLIENT_MAX_DEPTH, CLIENT_MAX_STR };
	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	methods_pack_describe(&pk);
	/* one complete message that a client's scanner accepts */
	assert_int_equal(mp_scan_buf(&lim, sb.data, sb.size, &len), MP_DONE);
	assert_int_equal(len, sb.size);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, sb.size);
	const msgpack_object *d = &u.data;
	int64_t v;
	assert_int_equal(mo_int(mo_map_get(d, "protocol_version"), &v), 0);
	assert_int_equal(v, TUSK_PROTOCOL_VERSION);
	assert_true(mo_str_eq(mo_map_get(d, "version"), TUSK_VERSION));
	const msgpack_object *ms = mo_map_get(d, "methods");
	assert_non_null(ms);
	assert_int_equal(ms->via.array.size, M__COUNT);
	for (int i = 0; i < M__COUNT; i++) {
		const msgpack_object *m = &ms->via.array.ptr[i];
		assert_true(mo_str_eq(mo_map_get(m, "name"), tusk_methods[i].name));
		assert_true(mo_str_eq(mo_map_get(m, "doc"), tusk_methods[i].doc));
		const msgpack_object *ps = mo_map_get(m, "params");
		for (uint32_t j = 0; j < ps->via.array.size; j++) {
			const struct tusk_param *p = &tusk_methods[i].params[j];
			const msgpack_object *po = &ps->via.array.ptr[j];
			assert_true(mo_str_eq(mo_map_get(po, "name"), p->name));
			assert_true(mo_str_eq(mo_map_get(po, "type"), tusk_type_name(p->type)));
			const msgpack_object *opt = mo_map_get(po, "optional");
			assert_int_equal(opt->via.boolean, (p->flags & P_OPT) != 0);
		}
		assert_null(tusk_methods[i].params[ps->via.array.size].name);
	}
	const msgpack_object *ns = mo_map_get(d, "notifications");
	assert_non_null(ns);
	assert_true(ns->via.array.size >= 3);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_is_well_formed),
		cmocka_unit_test(empty_params),
		cmocka_unit_test(describe),
	};
	return cmocka_run_group_tests_name("methods", tests, NULL, NULL);
}

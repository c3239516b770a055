/*
 * test_error.c — struct tusk_error (error.c): building, copying, clearing,
 * kind names both ways, and the wire map packed then read back.
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

/* Pack e, decode the bytes, read them back into out. */
static int
round_trip(const struct tusk_error *e, struct tusk_error *out, msgpack_sbuffer *sb,
    msgpack_unpacked *u)
{
	msgpack_packer pk;
	size_t off = 0;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	terr_pack(&pk, e);
	msgpack_unpacked_init(u);
	assert_int_equal(msgpack_unpack_next(u, sb->data, sb->size, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, sb->size);
	return terr_unpack(&u->data, out);
}

static void
set_hint_detail_clear(void **state)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	assert_false(terr_isset(&e));
	assert_int_equal(e.position, -1);
	assert_int_equal(e.elapsed_ms, -1);
	assert_int_equal(terr_set(&e, TE_CONNECTION, "cannot reach %s:%d", "db", 5432), -1);
	assert_true(terr_isset(&e));
	assert_int_equal(e.kind, TE_CONNECTION);
	assert_string_equal(e.message, "cannot reach db:5432");
	terr_hint(&e, "is %s running?", "PostgreSQL");
	terr_hint(&e, "check %s", "the host"); /* replaces */
	assert_string_equal(e.hint, "check the host");
	terr_detail(&e, "errno %d", 111);
	assert_string_equal(e.detail, "errno 111");
	terr_code(&e, "08001");
	terr_code(&e, "08006");
	assert_string_equal(e.code, "08006");
	terr_reason(&e, "hung");
	terr_reason(&e, "crashed");
	assert_string_equal(e.reason, "crashed");
	e.position = 7;
	/* a new terr_set replaces everything, extras included */
	terr_set(&e, TE_VALIDATION, "bad");
	assert_int_equal(e.kind, TE_VALIDATION);
	assert_null(e.hint);
	assert_null(e.detail);
	assert_null(e.code);
	assert_null(e.reason);
	assert_int_equal(e.position, -1);
	terr_clear(&e);
	assert_false(terr_isset(&e));
	assert_null(e.message);
	terr_clear(&e); /* twice is fine */
	terr_init(&e);
	assert_int_equal(e.elapsed_ms, -1);
}

/* Wrapping an error's own text is the natural idiom; it must be safe. */
static void
wrap_own_text(void **state)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	terr_set(&e, TE_DATABASE, "relation \"t\" does not exist");
	terr_hint(&e, "create it");
	terr_detail(&e, "in schema public");
	terr_set(&e, TE_QUERY_TIMEOUT, "query failed: %s", e.message);
	assert_string_equal(e.message, "query failed: relation \"t\" does not exist");
	terr_hint(&e, "%s first", "create it");
	terr_hint(&e, "or: %s", e.hint);
	assert_string_equal(e.hint, "or: create it first");
	terr_detail(&e, "x");
	terr_detail(&e, "%s, %s", e.detail, e.detail);
	assert_string_equal(e.detail, "x, x");
	terr_code(&e, "57014");
	terr_code(&e, e.code);
	assert_string_equal(e.code, "57014");
	terr_reason(&e, "hung");
	terr_reason(&e, e.reason);
	assert_string_equal(e.reason, "hung");
	terr_clear(&e);
}

static void
copy(void **state)
{
	struct tusk_error a = TUSK_ERROR_INIT, b = TUSK_ERROR_INIT;
	(void)state;
	terr_set(&a, TE_DATABASE, "syntax error");
	terr_hint(&a, "h");
	terr_detail(&a, "d");
	terr_code(&a, "42601");
	terr_reason(&a, "r");
	a.position = 12;
	a.elapsed_ms = 34;
	terr_set(&b, TE_STORAGE, "old"); /* dst is cleared first */
	terr_copy(&b, &a);
	terr_clear(&a);
	assert_int_equal(b.kind, TE_DATABASE);
	assert_string_equal(b.message, "syntax error");
	assert_string_equal(b.hint, "h");
	assert_string_equal(b.detail, "d");
	assert_string_equal(b.code, "42601");
	assert_string_equal(b.reason, "r");
	assert_int_equal(b.position, 12);
	assert_int_equal(b.elapsed_ms, 34);
	/* copying an empty error gives an empty error */
	terr_copy(&b, &a);
	assert_false(terr_isset(&b));
	assert_null(b.message);
	assert_int_equal(b.position, -1);
	terr_clear(&b);
}

static void
kind_names(void **state)
{
	static const struct {
		enum tusk_error_kind k;
		const char *name;
	} kinds[] = {
		{ TE_DATABASE, "Database" },
		{ TE_CONNECTION, "Connection" },
		{ TE_STORAGE, "Storage" },
		{ TE_CREDENTIAL, "Credential" },
		{ TE_QUERY_CANCELLED, "QueryCancelled" },
		{ TE_QUERY_TIMEOUT, "QueryTimeout" },
		{ TE_INITIALIZATION, "Initialization" },
		{ TE_VALIDATION, "Validation" },
		{ TE_INTERNAL, "Internal" },
		{ TE_WORKER_LOST, "WorkerLost" },
	};
	(void)state;
	assert_int_equal(sizeof kinds / sizeof kinds[0], TE__COUNT - 1);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		assert_string_equal(terr_kind_name(kinds[i].k), kinds[i].name);
		assert_int_equal(terr_kind_parse(kinds[i].name, strlen(kinds[i].name)), kinds[i].k);
	}
	assert_string_equal(terr_kind_name(TE_NONE), "None");
	assert_string_equal(terr_kind_name(TE__COUNT), "Internal");
	assert_string_equal(terr_kind_name((enum tusk_error_kind)-1), "Internal");
	/* unknown names, prefixes, case and "None" all become Internal */
	assert_int_equal(terr_kind_parse("Nonsense", 8), TE_INTERNAL);
	assert_int_equal(terr_kind_parse("Data", 4), TE_INTERNAL);
	assert_int_equal(terr_kind_parse("DatabaseX", 9), TE_INTERNAL);
	assert_int_equal(terr_kind_parse("database", 8), TE_INTERNAL);
	assert_int_equal(terr_kind_parse("None", 4), TE_INTERNAL);
	assert_int_equal(terr_kind_parse("", 0), TE_INTERNAL);
	/* the length bounds the comparison: no NUL needed */
	assert_int_equal(terr_kind_parse("StorageXYZ", 7), TE_STORAGE);
}

/* Every field survives pack → unpack. */
static void
pack_unpack_all_fields(void **state)
{
	struct tusk_error e = TUSK_ERROR_INIT, r = TUSK_ERROR_INIT;
	msgpack_sbuffer sb;
	msgpack_unpacked u;
	(void)state;
	terr_set(&e, TE_DATABASE, "division by zero");
	terr_hint(&e, "check the divisor");
	terr_detail(&e, "in line 3");
	terr_code(&e, "22012");
	e.position = 8;
	e.elapsed_ms = 1500;
	assert_int_equal(round_trip(&e, &r, &sb, &u), 0);
	/* the wire map has exactly the documented keys, reason absent */
	assert_int_equal(u.data.via.map.size, 7);
	assert_null(mo_map_get(&u.data, "reason"));
	assert_int_equal(r.kind, TE_DATABASE);
	assert_string_equal(r.message, "division by zero");
	assert_string_equal(r.hint, "check the divisor");
	assert_string_equal(r.detail, "in line 3");
	assert_string_equal(r.code, "22012");
	assert_null(r.reason);
	assert_int_equal(r.position, 8);
	assert_int_equal(r.elapsed_ms, 1500);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	terr_clear(&e);
	terr_clear(&r);
}

/* Absent fields travel as nil and come back absent; WorkerLost has a reason. */
static void
pack_unpack_absent_and_reason(void **state)
{
	struct tusk_error e = TUSK_ERROR_INIT, r = TUSK_ERROR_INIT;
	msgpack_sbuffer sb;
	msgpack_unpacked u;
	(void)state;
	terr_set(&e, TE_WORKER_LOST, "the connection's worker stopped");
	terr_reason(&e, "crashed");
	terr_code(&r, "stale"); /* terr_unpack clears the target first */
	assert_int_equal(round_trip(&e, &r, &sb, &u), 0);
	assert_int_equal(u.data.via.map.size, 8);
	assert_true(mpb_equal(&u.data, "{kind: WorkerLost, message: \"the connection's worker "
	    "stopped\", detail: nil, hint: nil, position: nil, code: nil, elapsed_ms: nil, "
	    "reason: crashed}"));
	assert_int_equal(r.kind, TE_WORKER_LOST);
	assert_string_equal(r.reason, "crashed");
	assert_null(r.hint);
	assert_null(r.detail);
	assert_null(r.code);
	assert_int_equal(r.position, -1);
	assert_int_equal(r.elapsed_ms, -1);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	terr_clear(&e);
	terr_clear(&r);

	/* an unset error packs as Internal with a message, never as "None" */
	assert_int_equal(round_trip(&e, &r, &sb, &u), 0);
	assert_int_equal(r.kind, TE_INTERNAL);
	assert_string_equal(r.message, "unknown error");
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	terr_clear(&r);
}

/* terr_unpack on hostile maps. */
static void
unpack_hostile(void **state)
{
	struct tusk_error r = TUSK_ERROR_INIT;
	struct mpb b;
	(void)state;
	/* not a map, or no string message: refused, r left clear */
	static const char *const bad[] = {
		"nil", "[]", "\"x\"", "{}", "{kind: Database}", "{message: 1}",
		"{message: nil}", "{message: b\"x\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		terr_set(&r, TE_STORAGE, "stale");
		if (terr_unpack(mpb_parse(&b, "%s", bad[i]), &r) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_false(terr_isset(&r));
		assert_null(r.message);
		mpb_free(&b);
	}
	assert_int_equal(terr_unpack(NULL, &r), -1);

	/* unknown kind → Internal; wrong-typed extras are ignored */
	assert_int_equal(terr_unpack(mpb_parse(&b, "{kind: Meltdown, message: m, hint: 5, "
	    "detail: [], code: nil, reason: true, position: -3, elapsed_ms: \"9\"}"), &r), 0);
	assert_int_equal(r.kind, TE_INTERNAL);
	assert_string_equal(r.message, "m");
	assert_null(r.hint);
	assert_null(r.detail);
	assert_null(r.code);
	assert_null(r.reason);
	assert_int_equal(r.position, -1);
	assert_int_equal(r.elapsed_ms, -1);
	mpb_free(&b);
	/* a missing kind is Internal; a kind that is not a string too */
	assert_int_equal(terr_unpack(mpb_parse(&b, "{message: m}"), &r), 0);
	assert_int_equal(r.kind, TE_INTERNAL);
	mpb_free(&b);
	assert_int_equal(terr_unpack(mpb_parse(&b, "{message: m, kind: 3}"), &r), 0);
	assert_int_equal(r.kind, TE_INTERNAL);
	mpb_free(&b);
	/* positions beyond int64 are ignored, not wrapped negative */
	assert_int_equal(terr_unpack(mpb_parse(&b, "{message: m, kind: Database, "
	    "position: 18446744073709551615, elapsed_ms: 9223372036854775807}"), &r), 0);
	assert_int_equal(r.kind, TE_DATABASE);
	assert_int_equal(r.position, -1);
	assert_int_equal(r.elapsed_ms, INT64_MAX);
	mpb_free(&b);
	terr_clear(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_hint_detail_clear),
		cmocka_unit_test(wrap_own_text),
		cmocka_unit_test(copy),
		cmocka_unit_test(kind_names),
		cmocka_unit_test(pack_unpack_all_fields),
		cmocka_unit_test(pack_unpack_absent_and_reason),
		cmocka_unit_test(unpack_hostile),
	};
	return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}

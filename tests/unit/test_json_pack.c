/*
 * test_json_pack.c — tuskctl's JSON-to-msgpack packing for `prefs set`
 * (ui/cli/json-pack.c, linked in by the Makefile): every JSON type, order
 * kept, text that is not JSON left to the caller, and a value nested
 * deeper than the broker takes refused whole (nothing packed), where it
 * was once sent half packed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json-pack.h"
#include "mpscan.h"
#include "proto.h"
#include "util.h"

/* Pack json; the result as msgpack-c prints it (caller frees), or NULL. */
static char *
packed(const char *json, int *rc)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	*rc = json_pack(&sb, json);
	char *out = NULL;
	if (*rc == JSON_PACK_OK) {
		msgpack_unpacked u;
		msgpack_unpacked_init(&u);
		size_t off = 0;
		assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
		assert_int_equal(off, sb.size);
		char buf[4096];
		msgpack_object_print_buffer(buf, sizeof buf, u.data);
		out = xstrdup(buf);
		msgpack_unpacked_destroy(&u);
	} else {
		assert_int_equal(sb.size, 0); /* nothing half packed */
	}
	msgpack_sbuffer_destroy(&sb);
	return out;
}

/* Arrays nested n deep around 1: [[...[1]...]]. */
static char *
nested(int n)
{
	char *s = xmalloc((size_t)n * 2 + 2);
	memset(s, '[', (size_t)n);
	s[n] = '1';
	memset(s + n + 1, ']', (size_t)n);
	s[2 * n + 1] = '\0';
	return s;
}

static void
types(void **state)
{
	int rc;
	(void)state;
	static const struct { const char *json, *want; } cases[] = {
		{ "null", "nil" },
		{ "true", "true" },
		{ "false", "false" },
		{ "42", "42" },
		{ "-7", "-7" },
		{ "1.5", "1.500000" },
		{ "\"text\"", "\"text\"" },
		{ "[1, \"a\", null, [true]]", "[1, \"a\", nil, [true]]" },
		{ "{\"b\": 1, \"a\": {\"c\": []}}", "{\"b\"=>1, \"a\"=>{\"c\"=>[]}}" },
		{ "{}", "{}" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = packed(cases[i].json, &rc);
		assert_int_equal(rc, JSON_PACK_OK);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
	/* not JSON: the caller sends it as a string */
	assert_null(packed("hello", &rc));
	assert_int_equal(rc, JSON_PACK_NOT_JSON);
	assert_null(packed("[1,", &rc));
	assert_int_equal(rc, JSON_PACK_NOT_JSON);
}

static void
depth(void **state)
{
	int rc;
	(void)state;
	/* as deep as the broker takes: packed, and the request passes its scanner */
	char *ok = nested(JSON_PACK_MAX_DEPTH);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_str_with_body(&pk, "set_preference", 14);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "key", 3);
	msgpack_pack_str_with_body(&pk, "k", 1);
	msgpack_pack_str_with_body(&pk, "value", 5);
	assert_int_equal(json_pack(&sb, ok), JSON_PACK_OK);
	struct mp_limits lim = { CLIENT_MAX_MSG, CLIENT_MAX_DEPTH, CLIENT_MAX_STR };
	size_t len = 0;
	assert_int_equal(mp_scan_buf(&lim, sb.data, sb.size, &len), MP_DONE);
	assert_int_equal(len, sb.size);
	msgpack_sbuffer_destroy(&sb);
	free(ok);
	/* one deeper, and far deeper: refused whole */
	int deeper[] = { JSON_PACK_MAX_DEPTH + 1, 33, 200 };
	for (size_t i = 0; i < sizeof deeper / sizeof deeper[0]; i++) {
		char *s = nested(deeper[i]);
		assert_null(packed(s, &rc));
		assert_int_equal(rc, JSON_PACK_TOO_DEEP);
		free(s);
	}
	/* deep inside an object, after siblings already packed */
	char *inner = nested(JSON_PACK_MAX_DEPTH);
	char *obj = xasprintf("{\"a\": 1, \"b\": [2, 3], \"c\": %s}", inner);
	assert_null(packed(obj, &rc));
	assert_int_equal(rc, JSON_PACK_TOO_DEEP);
	free(obj);
	free(inner);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(types),
		cmocka_unit_test(depth),
	};
	return cmocka_run_group_tests_name("json_pack", tests, NULL, NULL);
}

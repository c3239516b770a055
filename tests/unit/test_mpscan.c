/*
 * test_mpscan.c — the bounded msgpack scanner: complete messages, split
 * input, every limit, and the envelope cursor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <msgpack.h>

#include "mpscan.h"
#include "rpc.h"

static const struct mp_limits lim = { 1024, 8, 256 };

/* Pack [0, 7, "health_check", [{"a": [1, 2.5, nil, true, "x"]}]] */
static void
sample(msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_int(&pk, 7);
	mp_pack_cstr(&pk, "health_check");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 1);
	mp_pack_cstr(&pk, "a");
	msgpack_pack_array(&pk, 5);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_double(&pk, 2.5);
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);
	mp_pack_cstr(&pk, "x");
}

static void
complete_message(void **state)
{
	msgpack_sbuffer sb;
	size_t len = 0;
	(void)state;
	sample(&sb);
	assert_int_equal(mp_scan_buf(&lim, sb.data, sb.size, &len), MP_DONE);
	assert_int_equal(len, sb.size);
	for (size_t cut = 0; cut < sb.size; cut++)
		assert_int_equal(mp_scan_buf(&lim, sb.data, cut, &len), MP_MORE);
	msgpack_sbuffer_destroy(&sb);
}

/* Feeding an evbuffer one byte at a time finds the same end, resuming. */
static void
resumes_byte_by_byte(void **state)
{
	msgpack_sbuffer sb;
	struct mp_scan s;
	size_t len = 0;
	(void)state;
	sample(&sb);
	struct evbuffer *in = evbuffer_new();
	mp_scan_init(&s, &lim);
	for (size_t i = 0; i < sb.size; i++) {
		evbuffer_add(in, sb.data + i, 1);
		int r = mp_scan_evbuffer(&s, in, &len);
		assert_int_equal(r, i + 1 == sb.size ? MP_DONE : MP_MORE);
	}
	assert_int_equal(len, sb.size);
	/* two messages back to back: the first ends where it ends */
	evbuffer_add(in, sb.data, sb.size);
	mp_scan_reset(&s);
	assert_int_equal(mp_scan_evbuffer(&s, in, &len), MP_DONE);
	assert_int_equal(len, sb.size);
	evbuffer_free(in);
	msgpack_sbuffer_destroy(&sb);
}

static void
limits(void **state)
{
	size_t len;
	(void)state;
	const uint8_t never[] = { 0xc1 };
	assert_int_equal(mp_scan_buf(&lim, never, 1, &len), MP_ERR_BYTE);
	const uint8_t huge_array[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
	assert_int_equal(mp_scan_buf(&lim, huge_array, sizeof huge_array, &len), MP_ERR_COUNT);
	uint8_t deep[20];
	memset(deep, 0x91, sizeof deep);
	assert_int_equal(mp_scan_buf(&lim, deep, sizeof deep, &len), MP_ERR_DEPTH);
	const uint8_t long_str[] = { 0xda, 0x01, 0x01 }; /* 257 bytes > max_str 256 */
	assert_int_equal(mp_scan_buf(&lim, long_str, sizeof long_str, &len), MP_ERR_STR);
	const uint8_t big_bin[] = { 0xc6, 0x00, 0x10, 0x00, 0x00 };
	assert_true(mp_scan_buf(&lim, big_bin, sizeof big_bin, &len) < 0);
	const uint8_t nested_ok[] = { 0x91, 0x91, 0x91, 0xc0 };
	assert_int_equal(mp_scan_buf(&lim, nested_ok, sizeof nested_ok, &len), MP_DONE);
	assert_int_equal(len, 4);
	const uint8_t empty_map[] = { 0x80 };
	assert_int_equal(mp_scan_buf(&lim, empty_map, 1, &len), MP_DONE);
	const uint8_t fixext[] = { 0xd4, 0x01, 0x02 };
	assert_int_equal(mp_scan_buf(&lim, fixext, sizeof fixext, &len), MP_DONE);
	assert_int_equal(len, 3);
}

static void
cursor_reads_envelope(void **state)
{
	msgpack_sbuffer sb;
	struct mp_cur c;
	uint32_t n;
	uint64_t v;
	const char *s;
	(void)state;
	sample(&sb);
	c.p = (const uint8_t *)sb.data;
	c.end = c.p + sb.size;
	assert_int_equal(mp_cur_array(&c, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(mp_cur_uint(&c, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(mp_cur_uint(&c, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(mp_cur_lit(&c, "nope"), -1);
	assert_int_equal(mp_cur_str(&c, &s, &n), 0);
	assert_int_equal(n, 12);
	assert_memory_equal(s, "health_check", 12);
	assert_int_equal(mp_cur_nil(&c), -1);
	/* truncated input never reads past the end */
	c.p = (const uint8_t *)sb.data;
	c.end = c.p + 3;
	assert_int_equal(mp_cur_array(&c, &n), 0);
	assert_int_equal(mp_cur_uint(&c, &v), 0);
	assert_int_equal(mp_cur_uint(&c, &v), 0);
	assert_int_equal(mp_cur_str(&c, &s, &n), -1);
	msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(complete_message),
		cmocka_unit_test(resumes_byte_by_byte),
		cmocka_unit_test(limits),
		cmocka_unit_test(cursor_reads_envelope),
	};
	return cmocka_run_group_tests_name("mpscan", tests, NULL, NULL);
}

/*
 * test_mpscan.c — the bounded msgpack scanner: complete messages, split
 * input, every limit, and the envelope cursor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <msgpack.h>

#include "mpscan.h"
#include "rpc.h"
#include "util.h"

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


/* Each limit at its boundary: exactly the limit passes, one more fails. */
static void
limit_boundaries(void **state)
{
	static const struct mp_limits l = { 64, 3, 16 };
	uint8_t buf[80];
	size_t len;
	(void)state;
	/* max_msg: a bin8 of 62 bytes is a 64-byte message; 63 is one too many */
	buf[0] = 0xc4;
	buf[1] = 62;
	memset(buf + 2, 'b', 63);
	const struct mp_limits wide_str = { 64, 3, 100 };
	assert_int_equal(mp_scan_buf(&wide_str, buf, 64, &len), MP_DONE);
	assert_int_equal(len, 64);
	buf[1] = 63;
	assert_int_equal(mp_scan_buf(&wide_str, buf, 65, &len), MP_ERR_SIZE);
	/* ...found from the header alone, before the payload arrives */
	assert_int_equal(mp_scan_buf(&wide_str, buf, 2, &len), MP_ERR_SIZE);
	/* max_str: 16 bytes pass, 17 do not; for ext the type byte is extra */
	buf[0] = 0xd9;
	buf[1] = 16;
	assert_int_equal(mp_scan_buf(&l, buf, 18, &len), MP_DONE);
	buf[1] = 17;
	assert_int_equal(mp_scan_buf(&l, buf, 19, &len), MP_ERR_STR);
	buf[0] = 0xc7;
	buf[1] = 16;
	assert_int_equal(mp_scan_buf(&l, buf, 19, &len), MP_DONE);
	assert_int_equal(len, 19);
	buf[1] = 17;
	assert_int_equal(mp_scan_buf(&l, buf, 20, &len), MP_ERR_STR);
	/* max_depth: three nested containers pass, four do not */
	memset(buf, 0x91, 4);
	buf[3] = 0xc0;
	assert_int_equal(mp_scan_buf(&l, buf, 4, &len), MP_DONE);
	buf[3] = 0x81;
	assert_int_equal(mp_scan_buf(&l, buf, 4, &len), MP_ERR_DEPTH);
	/* an empty container is a level too, as msgpack-c counts it */
	memset(buf, 0x91, 3);
	buf[3] = 0x90;
	assert_int_equal(mp_scan_buf(&l, buf, 4, &len), MP_ERR_DEPTH);
	buf[2] = 0x90;
	assert_int_equal(mp_scan_buf(&l, buf, 3, &len), MP_DONE);
	/* a map's count is pairs: 2 * n values must fit */
	const uint8_t map[] = { 0xde, 0x00, 0x20 }; /* 32 pairs = 64 values > 61 bytes left */
	assert_int_equal(mp_scan_buf(&l, map, sizeof map, &len), MP_ERR_COUNT);
	const uint8_t arr[] = { 0xdc, 0x00, 0x3d }; /* 61 values in 61 bytes: possible */
	assert_int_equal(mp_scan_buf(&l, arr, sizeof arr, &len), MP_MORE);
	/* the depth limit is capped at what the scanner (and msgpack-c) can hold */
	static const struct mp_limits deep_lim = { 1024, 1000, 16 };
	uint8_t deep[MP_MAX_DEPTH + 2];
	memset(deep, 0x91, sizeof deep);
	deep[MP_MAX_DEPTH] = 0xc0;
	assert_int_equal(mp_scan_buf(&deep_lim, deep, MP_MAX_DEPTH + 1, &len), MP_DONE);
	deep[MP_MAX_DEPTH] = 0x91;
	deep[MP_MAX_DEPTH + 1] = 0xc0;
	assert_int_equal(mp_scan_buf(&deep_lim, deep, MP_MAX_DEPTH + 2, &len), MP_ERR_DEPTH);
}

/* Whatever the scanner lets through at its deepest, msgpack-c decodes. */
static void
deepest_decodes(void **state)
{
	static const struct mp_limits l = { 1024, MP_MAX_DEPTH, 16 };
	uint8_t deep[MP_MAX_DEPTH + 1];
	size_t len, off = 0;
	msgpack_unpacked u;
	(void)state;
	memset(deep, 0x91, MP_MAX_DEPTH);
	deep[MP_MAX_DEPTH] = 0xc0;
	assert_int_equal(mp_scan_buf(&l, deep, sizeof deep, &len), MP_DONE);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)deep, len, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, len);
	msgpack_unpacked_destroy(&u);
}

/* An empty container at the deepest level is a level too: found by
 * fuzz_scan_stream (msgpack-c refused what the scanner had passed). */
static void
empty_container_counts_as_a_level(void **state)
{
	static const struct mp_limits l = { 1024, MP_MAX_DEPTH, 16 };
	uint8_t deep[MP_MAX_DEPTH + 1];
	size_t len;
	(void)state;
	memset(deep, 0x91, MP_MAX_DEPTH);
	deep[MP_MAX_DEPTH] = 0x90; /* [] one level below the deepest allowed */
	assert_int_equal(mp_scan_buf(&l, deep, sizeof deep, &len), MP_ERR_DEPTH);
	deep[MP_MAX_DEPTH - 1] = 0x90; /* [] at the deepest level: fine */
	assert_int_equal(mp_scan_buf(&l, deep, MP_MAX_DEPTH, &len), MP_DONE);
	msgpack_unpacked u;
	size_t off = 0;
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)deep, len, &off), MSGPACK_UNPACK_SUCCESS);
	msgpack_unpacked_destroy(&u);
}

/* Free a one-byte chunk. */
static void
chunk_free(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)(uintptr_t)data);
}

/* Append raw bytes (headers in their widest forms, which packers never pick). */
#define RAW(sb, bytes) msgpack_sbuffer_write((sb), (bytes), sizeof(bytes) - 1)

/* Every header form, fed as one-byte chains so each multi-byte header
 * straddles chains: the scan ends exactly at the end, nowhere before. */
static void
every_header_split(void **state)
{
	static const struct mp_limits l = { 4096, 8, 1024 };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct mp_scan s;
	size_t len = 0;
	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	RAW(&sb, "\xdd\x00\x00\x00\x1d");	    /* array32 of 29 values */
	RAW(&sb, "\xde\x00\x01\x01\xc0");	    /* 1: map16 {1: nil} */
	RAW(&sb, "\xdf\x00\x00\x00\x01\xa1k\x90"); /* 2: map32 {"k": []} */
	RAW(&sb, "\xdc\x00\x01\xc3");		    /* 3: array16 [true] */
	RAW(&sb, "\x81\xc2\x80");		    /* 4: fixmap {false: {}} */
	RAW(&sb, "\xa3" "abc");			    /* 5: fixstr */
	RAW(&sb, "\xd9\x02xy");			    /* 6: str8 */
	RAW(&sb, "\xda\x00\x01z");		    /* 7: str16 */
	RAW(&sb, "\xdb\x00\x00\x00\x02zz");	    /* 8: str32 */
	RAW(&sb, "\xc4\x01\x00");		    /* 9: bin8 */
	RAW(&sb, "\xc5\x00\x02\x00\x01");	    /* 10: bin16 */
	RAW(&sb, "\xc6\x00\x00\x00\x00");	    /* 11: bin32, empty */
	RAW(&sb, "\xd4\x01\x02");		    /* 12-16: fixext 1, 2, 4, 8, 16 */
	RAW(&sb, "\xd5\x01\x02\x03");
	RAW(&sb, "\xd6\x01\x02\x03\x04\x05");
	RAW(&sb, "\xd7\x01" "12345678");
	RAW(&sb, "\xd8\x01" "1234567812345678");
	RAW(&sb, "\xc7\x02\x05" "ab");		    /* 17: ext8 */
	RAW(&sb, "\xc8\x00\x01\x05" "a");		    /* 18: ext16 */
	RAW(&sb, "\xc9\x00\x00\x00\x00\x05");	    /* 19: ext32, empty */
	msgpack_pack_uint8(&pk, 200);		    /* 20-23 */
	msgpack_pack_uint16(&pk, 60000);
	msgpack_pack_uint32(&pk, 4000000000U);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_int8(&pk, -100);		    /* 24-27 */
	msgpack_pack_int16(&pk, -30000);
	msgpack_pack_int32(&pk, -2000000000);
	msgpack_pack_int64(&pk, INT64_MIN);
	msgpack_pack_float(&pk, 1.5f);		    /* 28 */
	RAW(&sb, "\xcb\x40\x04\x00\x00\x00\x00\x00\x00"); /* 29: float64 2.5 */

	/* msgpack-c agrees this is one value of exactly this size */
	msgpack_unpacked u;
	size_t off = 0;
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, sb.size);
	assert_int_equal(u.data.via.array.size, 29);
	msgpack_unpacked_destroy(&u);
	/* one-shot: complete at the end, incomplete at every shorter prefix */
	assert_int_equal(mp_scan_buf(&l, sb.data, sb.size, &len), MP_DONE);
	assert_int_equal(len, sb.size);
	for (size_t cut = 0; cut < sb.size; cut++)
		assert_int_equal(mp_scan_buf(&l, sb.data, cut, &len), MP_MORE);
	/* resumable, one exact-size chain per byte (ASan sees any overread) */
	struct evbuffer *in = evbuffer_new();
	mp_scan_init(&s, &l);
	for (size_t i = 0; i < sb.size; i++) {
		uint8_t *c = malloc(1);
		assert_non_null(c);
		*c = (uint8_t)sb.data[i];
		assert_int_equal(evbuffer_add_reference(in, c, 1, chunk_free, NULL), 0);
		int r = mp_scan_evbuffer(&s, in, &len);
		assert_int_equal(r, i + 1 == sb.size ? MP_DONE : MP_MORE);
	}
	assert_int_equal(len, sb.size);
	evbuffer_free(in);
	msgpack_sbuffer_destroy(&sb);
}

/* Every scan result has a sentence. */
static void
strerror_sentences(void **state)
{
	(void)state;
	assert_string_equal(mp_scan_strerror(MP_ERR_SIZE), "message too large");
	assert_string_equal(mp_scan_strerror(MP_ERR_DEPTH), "message nested too deeply");
	assert_string_equal(mp_scan_strerror(MP_ERR_STR), "string or binary value too long");
	assert_string_equal(mp_scan_strerror(MP_ERR_BYTE), "invalid msgpack byte");
	assert_string_equal(mp_scan_strerror(MP_ERR_COUNT),
	    "container larger than the message can hold");
	assert_string_equal(mp_scan_strerror(-99), "malformed message");
}

/* The cursor on every width it reads, and its refusals. */
static void
cursor_widths(void **state)
{
	struct mp_cur c;
	uint32_t n;
	uint64_t v;
	const char *s;
	(void)state;
#define CUR(bytes) (c.p = (const uint8_t *)(bytes), c.end = c.p + sizeof(bytes) - 1)
	CUR("\xdc\x01\x00");
	assert_int_equal(mp_cur_array(&c, &n), 0);
	assert_int_equal(n, 256);
	CUR("\xdd\x00\x01\x00\x00");
	assert_int_equal(mp_cur_array(&c, &n), 0);
	assert_int_equal(n, 65536);
	CUR("\x82");
	assert_int_equal(mp_cur_map(&c, &n), 0);
	assert_int_equal(n, 2);
	CUR("\xde\x00\x10");
	assert_int_equal(mp_cur_map(&c, &n), 0);
	assert_int_equal(n, 16);
	CUR("\xdf\x00\x00\x00\x01");
	assert_int_equal(mp_cur_map(&c, &n), 0);
	assert_int_equal(n, 1);
	CUR("\x91");
	assert_int_equal(mp_cur_map(&c, &n), -1); /* an array is not a map */
	CUR("\xdd\x00\x00\x01"); /* truncated header */
	assert_int_equal(mp_cur_array(&c, &n), -1);
	CUR("\xcc\xff");
	assert_int_equal(mp_cur_uint(&c, &v), 0);
	assert_int_equal(v, 255);
	CUR("\xcd\x01\x00");
	assert_int_equal(mp_cur_uint(&c, &v), 0);
	assert_int_equal(v, 256);
	CUR("\xce\xff\xff\xff\xff");
	assert_int_equal(mp_cur_uint(&c, &v), 0);
	assert_int_equal(v, UINT32_MAX);
	CUR("\xcf\xff\xff\xff\xff\xff\xff\xff\xff");
	assert_int_equal(mp_cur_uint(&c, &v), 0);
	assert_int_equal(v, UINT64_MAX);
	CUR("\xcf\xff\xff");
	assert_int_equal(mp_cur_uint(&c, &v), -1);
	CUR("\xff"); /* negative fixint is not unsigned */
	assert_int_equal(mp_cur_uint(&c, &v), -1);
	CUR("\xd9\x03" "abc");
	assert_int_equal(mp_cur_str(&c, &s, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(s, "abc", 3);
	CUR("\xda\x00\x02xy");
	assert_int_equal(mp_cur_str(&c, &s, &n), 0);
	assert_int_equal(n, 2);
	CUR("\xdb\x00\x00\x00\x01z");
	assert_int_equal(mp_cur_str(&c, &s, &n), 0);
	assert_int_equal(n, 1);
	assert_true(c.p == c.end);
	CUR("\xdb\x00\x00\x00\x05z"); /* body shorter than announced */
	const uint8_t *start = c.p;
	assert_int_equal(mp_cur_str(&c, &s, &n), -1);
	assert_ptr_equal(c.p, start);
	CUR("\xc4\x01z"); /* bin is not str */
	assert_int_equal(mp_cur_str(&c, &s, &n), -1);
	CUR("\xa3" "abd");
	start = c.p;
	assert_int_equal(mp_cur_lit(&c, "abc"), -1);
	assert_ptr_equal(c.p, start);
	assert_int_equal(mp_cur_lit(&c, "ab"), -1);
	assert_int_equal(mp_cur_lit(&c, "abd"), 0);
	CUR("\xc0");
	assert_int_equal(mp_cur_nil(&c), 0);
	assert_int_equal(mp_cur_nil(&c), -1); /* at the end */
#undef CUR
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(complete_message),
		cmocka_unit_test(resumes_byte_by_byte),
		cmocka_unit_test(limits),
		cmocka_unit_test(cursor_reads_envelope),
		cmocka_unit_test(limit_boundaries),
		cmocka_unit_test(deepest_decodes),
		cmocka_unit_test(empty_container_counts_as_a_level),
		cmocka_unit_test(every_header_split),
		cmocka_unit_test(strerror_sentences),
		cmocka_unit_test(cursor_widths),
	};
	return cmocka_run_group_tests_name("mpscan", tests, NULL, NULL);
}

/*
 * fuzz_scan_stream.c — libFuzzer target for the resumable scanner: a byte
 * stream fed to mp_scan_evbuffer in chunks of random sizes must split into
 * exactly the messages (or the error) that the one-shot mp_scan_buf finds,
 * and every message it calls complete must decode with msgpack-c to exactly
 * that many bytes.
 *
 * Each chunk is its own exact-size allocation added to the evbuffer by
 * reference, so the evbuffer really is split where the chunks are (headers
 * straddle chains) and a read past a chunk's end is an ASan report.
 *
 * Input: byte 0 picks the limits, bytes 1-4 seed the chunk sizes, the rest
 * is the stream.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <msgpack.h>

#include "mpscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* xorshift32: the chunk sizes, reproducible from the input. */
static uint32_t
next_rand(uint32_t *s)
{
	uint32_t x = *s ? *s : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/* Free a chunk libevent no longer needs. */
static void
chunk_free(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)(uintptr_t)data);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mp_limits limits[] = {
		{ 1 << 16, 32, 1 << 16 },
		{ 64, 4, 16 },	  /* small: errors of every kind are reachable */
		{ 4096, 8, 1024 },
		{ 1 << 20, 2, 8 },
	};
	if (size < 5)
		return 0;
	const struct mp_limits *lim = &limits[data[0] % (sizeof limits / sizeof limits[0])];
	uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
	    (uint32_t)data[4] << 24;
	const uint8_t *stream = data + 5;
	size_t n = size - 5;

	struct evbuffer *in = evbuffer_new();
	struct mp_scan s;
	size_t fed = 0, off = 0;
	mp_scan_init(&s, lim);
	for (;;) {
		/* what the one-shot scan says about the rest of the stream */
		size_t want_len = 0;
		int want = mp_scan_buf(lim, stream + off, n - off, &want_len);

		/* feed chunks until the resumable scan has an answer or input ends */
		size_t len = 0;
		int r;
		for (;;) {
			r = mp_scan_evbuffer(&s, in, &len);
			if (r != MP_MORE || fed == n)
				break;
			uint32_t x = next_rand(&seed);
			size_t k = (x & 3) == 0 ? 1 + (x >> 8) % 256 : 1 + (x >> 8) % 5;
			if (k > n - fed)
				k = n - fed;
			uint8_t *chunk = malloc(k);
			if (chunk == NULL)
				abort();
			memcpy(chunk, stream + fed, k);
			if (evbuffer_add_reference(in, chunk, k, chunk_free, NULL) < 0)
				abort();
			fed += k;
		}
		if (r != want)
			__builtin_trap();
		if (r != MP_DONE)
			break;
		if (len != want_len || len == 0 || len > lim->max_msg)
			__builtin_trap();

		/* a complete message decodes to exactly its length */
		msgpack_unpacked u;
		size_t used = 0;
		msgpack_unpacked_init(&u);
		if (msgpack_unpack_next(&u, (const char *)stream + off, len, &used) !=
		    MSGPACK_UNPACK_SUCCESS || used != len)
			__builtin_trap();
		msgpack_unpacked_destroy(&u);
		/* and the evbuffer holds the same bytes */
		if (memcmp(evbuffer_pullup(in, (ssize_t)len), stream + off, len) != 0)
			__builtin_trap();

		evbuffer_drain(in, len);
		mp_scan_reset(&s);
		off += len;
	}
	evbuffer_free(in);
	return 0;
}

/*
 * fuzz_rpc.c — libFuzzer target for what every peer does with incoming
 * bytes: the bounded scanner, then msgpack-c's decoder, then the envelope
 * check and the declared-parameter check. None of it may crash, leak or
 * read out of bounds, whatever the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>
#include <msgpack.h>

#include "error.h"
#include "methods.h"
#include "mpscan.h"
#include "msg.h"
#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mp_limits lim = { 1 << 16, 32, 1 << 16 };
	struct mp_scan s;
	struct evbuffer *in = evbuffer_new();
	size_t len;

	/* split the input in two pieces to exercise resumption */
	size_t half = size / 2;
	mp_scan_init(&s, &lim);
	evbuffer_add(in, data, half);
	int r = mp_scan_evbuffer(&s, in, &len);
	if (r == MP_MORE) {
		evbuffer_add(in, data + half, size - half);
		r = mp_scan_evbuffer(&s, in, &len);
	}
	size_t len2;
	int r2 = mp_scan_buf(&lim, data, size, &len2);
	if (r == MP_DONE) {
		/* the one-shot scan agrees */
		if (r2 != MP_DONE || len2 != len)
			__builtin_trap();
		const char *p = (const char *)evbuffer_pullup(in, (ssize_t)len);
		msgpack_unpacked u;
		size_t off = 0;
		msgpack_unpacked_init(&u);
		if (msgpack_unpack_next(&u, p, len, &off) == MSGPACK_UNPACK_SUCCESS) {
			struct rpc_msg m;
			if (rpc_msg_parse(&u.data, &m) == 0 && m.type == RPC_REQUEST) {
				int id = method_find(m.method);
				struct params prm;
				struct tusk_error e = TUSK_ERROR_INIT;
				if (id >= 0)
					params_parse(&prm, tusk_methods[id].params, m.params, &e);
				terr_clear(&e);
			}
		}
		msgpack_unpacked_destroy(&u);
	}
	evbuffer_free(in);
	return 0;
}

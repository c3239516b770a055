/*
 * fuzz_rpc.c — libFuzzer target for what every peer does with incoming
 * bytes: the bounded scanner, then msgpack-c's decoder, then the envelope
 * check, the declared-parameter check (the worker messages of wire.h), and
 * the envelope read from the first bytes (rpc_peek). None of it may crash, leak or
 * read out of bounds, whatever the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>
#include <msgpack.h>

#include "error.h"
#include "mpscan.h"
#include "msg.h"
#include "proto.h"
#include "rpc.h"
#include "wire.h"

/* The broker<->worker declarations, the ones the fuzzer can reach from common/. */
static const struct {
	const char *name;
	const struct tusk_param *spec;
} specs[] = {
	{ W_CONNECT, wire_connect }, { W_QUERY, wire_query }, { W_CANCEL, wire_cancel },
	{ W_EXEC_BATCH, wire_exec_batch }, { W_EXEC_BATCH, wire_exec_batch_reply },
	{ W_PING, wire_ping }, { W_CLOSE, wire_close }, { W_SET_LOG, wire_set_log },
	{ W_HELLO, wire_hello }, { W_LOG, wire_log }, { W_HOST_KEY, wire_host_key },
};

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
			if (rpc_msg_parse(&u.data, &m) == 0 && m.type != RPC_RESPONSE) {
				for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
					if (strcmp(m.method, specs[i].name) != 0)
						continue;
					struct params prm;
					struct tusk_error e = TUSK_ERROR_INIT;
					params_parse(&prm, specs[i].spec, m.params, &e);
					terr_clear(&e);
				}
			}
			/* the envelope read from the first bytes agrees with the decoder */
			struct rpc_peek pk;
			if (rpc_peek(p, len < 256 ? len : 256, &pk) == 0 &&
			    rpc_msg_parse(&u.data, &m) == 0 && (int)pk.type != (int)m.type)
				__builtin_trap();
		}
		msgpack_unpacked_destroy(&u);
	}
	evbuffer_free(in);
	return 0;
}

/*
 * fuzz_config.c — libFuzzer target for connection settings as a client
 * sends them: bytes → the bounded scanner → msgpack-c → config_parse →
 * config_validate. Nothing may crash, leak or read out of bounds; and a
 * config that parsed must survive config_pack → config_parse unchanged
 * (packing it again gives the same bytes), and config_copy must pack the
 * same as its source.
 *
 * config_validate looks at the file system (access, stat) for certificate
 * and key paths; that is read-only and harmless under the fuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "config.h"
#include "error.h"
#include "mpscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Pack c into a fresh sbuffer. */
static void
pack(const struct tusk_config *c, msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	config_pack(&pk, c);
}

/* Are two buffers the same bytes? */
static int
same(const msgpack_sbuffer *a, const msgpack_sbuffer *b)
{
	return a->size == b->size && memcmp(a->data, b->data, a->size) == 0;
}

/* Parse the packed form of c again and check it packs identically. */
static void
round_trip(const struct tusk_config *c)
{
	msgpack_sbuffer sb1, sb2;
	msgpack_unpacked u;
	struct tusk_config r;
	struct tusk_error e = TUSK_ERROR_INIT;
	size_t off = 0;

	pack(c, &sb1);
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, sb1.data, sb1.size, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != sb1.size)
		__builtin_trap();
	if (config_parse(&u.data, &r, &e) != 0)
		__builtin_trap(); /* what config_pack writes, config_parse must take */
	pack(&r, &sb2);
	if (!same(&sb1, &sb2))
		__builtin_trap();
	/* a valid config stays valid */
	struct tusk_error e1 = TUSK_ERROR_INIT, e2 = TUSK_ERROR_INIT;
	if (config_validate(c, false, &e1) == 0 && config_validate(&r, false, &e2) != 0)
		__builtin_trap();
	terr_clear(&e1);
	terr_clear(&e2);
	config_free(&r);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb1);
	msgpack_sbuffer_destroy(&sb2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mp_limits lim = { 1 << 16, 32, 1 << 16 };
	size_t len, off = 0;

	if (mp_scan_buf(&lim, data, size, &len) != MP_DONE)
		return 0;
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, (const char *)data, len, &off) == MSGPACK_UNPACK_SUCCESS) {
		struct tusk_config c;
		struct tusk_error e = TUSK_ERROR_INIT;
		if (config_parse(&u.data, &c, &e) == 0) {
			if (terr_isset(&e))
				__builtin_trap();
			if (config_validate(&c, true, &e) == 0 && config_validate(&c, false, &e) != 0)
				__builtin_trap(); /* a saved connection's rules include a quick one's */
			terr_clear(&e);
			round_trip(&c);
			struct tusk_config d;
			msgpack_sbuffer a, b;
			config_init(&d);
			config_copy(&d, &c);
			pack(&c, &a);
			pack(&d, &b);
			if (!same(&a, &b))
				__builtin_trap();
			msgpack_sbuffer_destroy(&a);
			msgpack_sbuffer_destroy(&b);
			char *disp = config_display(&d);
			free(disp);
			config_free(&d);
			config_free(&c);
		} else {
			/* a refusal is a Validation error with a message, and frees all */
			if (e.kind != TE_VALIDATION || e.message == NULL || c.host != NULL || c.ssh != NULL)
				__builtin_trap();
		}
		terr_clear(&e);
	}
	msgpack_unpacked_destroy(&u);
	return 0;
}

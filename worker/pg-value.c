/*
 * pg-value.c — one PostgreSQL value (text format) in the contract's
 * mapping: NULL → nil, int2/int4/int8/oid → integer, float4/float8 →
 * float, bool → boolean, bytea → bin, everything else → its text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "cancel.h"
#include "dtoa.h"
#include "log.h"
#include "msg.h"
#include "pg.h"
#include "proto.h"
#include "resolve.h"
#include "sandbox-policy.h"
#include "sandbox.h"
#include "tunnel.h"
#include "util.h"
#include "worker.h"

/* Hex digit value, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Are all n bytes hex digits? */
static bool
hex_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

/* PostgreSQL's integer text (an optional '-' and digits) to int64. */
static bool
parse_int64(const char *s, size_t len, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (len > 0 && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len || len - i > 19)
		return false;
	uint64_t v = 0;
	for (; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (d > 9)
			return false;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return false;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)v;
	}
	return true;
}

/* One value in the contract's mapping. */
void
pg_value_pack(msgpack_packer *pk, const PGresult *res, int row, int col, Oid type)
{
	size_t len = (size_t)PQgetlength(res, row, col);
	/* NULL and '' both have length 0: only then ask which */
	if (len == 0 && PQgetisnull(res, row, col)) {
		msgpack_pack_nil(pk);
		return;
	}
	const char *v = PQgetvalue(res, row, col);
	char *end;
	switch (type) {
	case INT2OID:
	case INT4OID:
	case INT8OID: {
		int64_t n;
		if (parse_int64(v, len, &n)) {
			msgpack_pack_int64(pk, n);
			return;
		}
		break;
	}
	case OIDOID: {
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		if (errno == 0 && *end == '\0' && end != v) {
			msgpack_pack_uint64(pk, n);
			return;
		}
		break;
	}
	case FLOAT4OID: {
		/* as a 4-byte float: the server's value exactly (the text is its
		 * shortest exact form), not the double nearest that text */
		float f = strtof(v, &end);
		if (*end == '\0' && end != v) {
			msgpack_pack_float(pk, f);
			return;
		}
		break;
	}
	case FLOAT8OID: {
		double d;
		if (dtoa_parse_fast(v, len, &d)) {
			msgpack_pack_double(pk, d);
			return;
		}
		d = strtod(v, &end);
		if (*end == '\0' && end != v) {
			msgpack_pack_double(pk, d);
			return;
		}
		break;
	}
	case BOOLOID:
		if (v[0] == 't')
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		return;
	case BYTEAOID:
		/* hex output; anything else (a malformed digit, the escape
		 * format) travels as its text rather than as made-up bytes */
		if (len >= 2 && v[0] == '\\' && v[1] == 'x' && len % 2 == 0 && hex_digits(v + 2, len - 2)) {
			size_t n = (len - 2) / 2;
			msgpack_pack_bin(pk, n);
			char chunk[256];
			size_t c = 0;
			for (size_t i = 0; i < n; i++) {
				chunk[c++] = (char)(hexval(v[2 + 2 * i]) << 4 | hexval(v[3 + 2 * i]));
				if (c == sizeof chunk) {
					msgpack_pack_bin_body(pk, chunk, c);
					c = 0;
				}
			}
			if (c)
				msgpack_pack_bin_body(pk, chunk, c);
			return;
		}
		break;
	default:
		break;
	}
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, v, len);
}

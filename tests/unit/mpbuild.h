/*
 * mpbuild.h — test helper: build msgpack from a compact text notation, so a
 * unit test can state its input as `[0, 7, "echo", [{n: 1}]]` instead of a
 * page of msgpack_pack_* calls. Header-only (every unit test is one .c file
 * linked against libtuskcommon); include it after <cmocka.h>.
 *
 * Notation (JSON-like):
 *   nil true false               the constants
 *   12  -3  18446744073709551615 integers (msgpack picks the width)
 *   1.5  -2e3                     float64
 *   "text"  b"bytes"              str and bin; escapes \" \\ \n \t \0 \xHH
 *   word                          a bare word is a str (not nil/true/false)
 *   [a, b]  {k: v, k2: v2}        arrays and maps (keys are any value)
 *
 * mpb_parse() takes a printf format, so long or computed strings can be
 * spliced in with %s. A syntax error fails the running test.
 */
#ifndef TUSK_TEST_MPBUILD_H
#define TUSK_TEST_MPBUILD_H

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#define MPB_UNUSED __attribute__((unused))

struct mpb {
	msgpack_sbuffer sb;  /* the encoded bytes */
	msgpack_unpacked u;  /* the decoded object */
	char *text;
	const char *p;
};

/* Skip blanks in the notation. */
MPB_UNUSED static void
mpb_ws(struct mpb *b)
{
	while (*b->p == ' ' || *b->p == '\n' || *b->p == '\t')
		b->p++;
}

/* Stop the test on a notation error. */
MPB_UNUSED static void
mpb_fail(const struct mpb *b, const char *what)
{
	fail_msg("mpbuild: %s at offset %td of \"%s\"", what, b->p - b->text, b->text);
}

/* A quoted string body (after the opening quote) into out. */
MPB_UNUSED static void
mpb_quoted(struct mpb *b, msgpack_sbuffer *out)
{
	while (*b->p != '"') {
		char c = *b->p;
		if (c == '\0')
			mpb_fail(b, "unterminated string");
		b->p++;
		if (c == '\\') {
			char e = *b->p++;
			switch (e) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case '0': c = '\0'; break;
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case 'x': {
				char hex[3] = { b->p[0], b->p[0] ? b->p[1] : '\0', '\0' };
				if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]))
					mpb_fail(b, "bad \\x escape");
				c = (char)strtol(hex, NULL, 16);
				b->p += 2;
				break;
			}
			default:
				mpb_fail(b, "unknown escape");
			}
		}
		msgpack_sbuffer_write(out, &c, 1);
	}
	b->p++;
}

MPB_UNUSED static void mpb_value(struct mpb *b, msgpack_sbuffer *out);

/* A container's items (after its opening bracket) into out, with its header. */
MPB_UNUSED static void
mpb_container(struct mpb *b, msgpack_sbuffer *out, bool map)
{
	msgpack_sbuffer body;
	msgpack_packer pk;
	size_t n = 0;
	char close = map ? '}' : ']';

	msgpack_sbuffer_init(&body);
	mpb_ws(b);
	while (*b->p != close) {
		if (n > 0) {
			if (*b->p != ',')
				mpb_fail(b, "expected ','");
			b->p++;
		}
		mpb_value(b, &body);
		if (map) {
			mpb_ws(b);
			if (*b->p != ':')
				mpb_fail(b, "expected ':'");
			b->p++;
			mpb_value(b, &body);
		}
		n++;
		mpb_ws(b);
	}
	b->p++;
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	if (map)
		msgpack_pack_map(&pk, n);
	else
		msgpack_pack_array(&pk, n);
	msgpack_sbuffer_write(out, body.data, body.size);
	msgpack_sbuffer_destroy(&body);
}

/* One value of the notation into out. */
MPB_UNUSED static void
mpb_value(struct mpb *b, msgpack_sbuffer *out)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	mpb_ws(b);
	const char *s = b->p;
	if (*s == '[' || *s == '{') {
		b->p++;
		mpb_container(b, out, *s == '{');
	} else if (*s == '"' || (*s == 'b' && s[1] == '"')) {
		msgpack_sbuffer tmp;
		bool bin = *s == 'b';
		msgpack_sbuffer_init(&tmp);
		b->p += bin ? 2 : 1;
		mpb_quoted(b, &tmp);
		if (bin) {
			msgpack_pack_bin(&pk, tmp.size);
			msgpack_pack_bin_body(&pk, tmp.data, tmp.size);
		} else {
			msgpack_pack_str(&pk, tmp.size);
			msgpack_pack_str_body(&pk, tmp.data, tmp.size);
		}
		msgpack_sbuffer_destroy(&tmp);
	} else if (*s == '-' || isdigit((unsigned char)*s)) {
		size_t len = strspn(s, "-+0123456789.eE");
		char num[64];
		if (len >= sizeof num)
			mpb_fail(b, "number too long");
		memcpy(num, s, len);
		num[len] = '\0';
		if (strpbrk(num, ".eE"))
			msgpack_pack_double(&pk, strtod(num, NULL));
		else if (num[0] == '-')
			msgpack_pack_int64(&pk, strtoll(num, NULL, 10));
		else
			msgpack_pack_uint64(&pk, strtoull(num, NULL, 10));
		b->p += len;
	} else if (isalpha((unsigned char)*s) || *s == '_') {
		size_t len = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");
		if (len == 3 && memcmp(s, "nil", 3) == 0)
			msgpack_pack_nil(&pk);
		else if (len == 4 && memcmp(s, "true", 4) == 0)
			msgpack_pack_true(&pk);
		else if (len == 5 && memcmp(s, "false", 5) == 0)
			msgpack_pack_false(&pk);
		else {
			msgpack_pack_str(&pk, len);
			msgpack_pack_str_body(&pk, s, len);
		}
		b->p += len;
	} else {
		mpb_fail(b, "unexpected character");
	}
}

/* Encode the notation (a printf format) and decode it; returns the object. */
MPB_UNUSED static const msgpack_object *
mpb_parse(struct mpb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

MPB_UNUSED static const msgpack_object *
mpb_parse(struct mpb *b, const char *fmt, ...)
{
	va_list ap;
	size_t off = 0;

	va_start(ap, fmt);
	if (vasprintf(&b->text, fmt, ap) < 0)
		fail_msg("mpbuild: out of memory");
	va_end(ap);
	b->p = b->text;
	msgpack_sbuffer_init(&b->sb);
	msgpack_unpacked_init(&b->u);
	mpb_value(b, &b->sb);
	mpb_ws(b);
	if (*b->p != '\0')
		mpb_fail(b, "trailing text");
	if (msgpack_unpack_next(&b->u, b->sb.data, b->sb.size, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != b->sb.size)
		fail_msg("mpbuild: msgpack-c cannot decode \"%s\"", b->text);
	return &b->u.data;
}

/* Release what mpb_parse made. */
MPB_UNUSED static void
mpb_free(struct mpb *b)
{
	msgpack_unpacked_destroy(&b->u);
	msgpack_sbuffer_destroy(&b->sb);
	free(b->text);
	memset(b, 0, sizeof *b);
}

/* Does o encode to the same bytes as the notation? */
MPB_UNUSED static bool
mpb_equal(const msgpack_object *o, const char *text)
{
	struct mpb b;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	bool eq;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *o);
	mpb_parse(&b, "%s", text);
	eq = sb.size == b.sb.size && memcmp(sb.data, b.sb.data, sb.size) == 0;
	mpb_free(&b);
	msgpack_sbuffer_destroy(&sb);
	return eq;
}

#endif

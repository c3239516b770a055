/*
 * mpscan.c — the bounded, resumable msgpack message scanner (see mpscan.h).
 *
 * State: left[d] counts the values still expected at nesting level d; level 0
 * is the message itself (one value). A header consumes one value from the
 * current level; a non-empty container opens a level; a payload (string
 * bytes, fixed-width number bytes) is skipped by arithmetic. The message is
 * complete when level 0 has nothing left and no payload is pending.
 */
#include "mpscan.h"

#include <string.h>

#include <event2/buffer.h>

/* Start a scan with the given limits. */
void
mp_scan_init(struct mp_scan *s, const struct mp_limits *lim)
{
	s->lim = *lim;
	if (s->lim.max_depth > MP_MAX_DEPTH)
		s->lim.max_depth = MP_MAX_DEPTH;
	mp_scan_reset(s);
}

/* Forget the previous message and expect a new one. */
void
mp_scan_reset(struct mp_scan *s)
{
	s->pos = 0;
	s->skip = 0;
	s->depth = 0;
	s->left[0] = 1;
}

/* Bytes the header starting with b needs before its sizes are known. */
static int
hdr_size(uint8_t b)
{
	if (b <= 0xbf || b >= 0xe0)
		return 1; /* fixint, fixmap, fixarray, fixstr, negfixint */
	switch (b) {
	case 0xc0: case 0xc2: case 0xc3:
		return 1;
	case 0xc1:
		return 0;
	case 0xc4: case 0xd9: case 0xc7:
		return 2; /* bin8, str8, ext8 (the type byte is payload) */
	case 0xc5: case 0xda: case 0xdc: case 0xde: case 0xc8:
		return 3;
	case 0xc6: case 0xdb: case 0xdd: case 0xdf: case 0xc9:
		return 5;
	default:
		return 1; /* fixed-width numbers and fixext: payload only */
	}
}

/* Big-endian unsigned of n bytes. */
static uint64_t
be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* A value has been fully walked: close every level it completes. */
static void
value_done(struct mp_scan *s)
{
	while (s->depth > 0 && s->left[s->depth] == 0)
		s->depth--;
}

/* Is the current message complete? */
static int
complete(const struct mp_scan *s)
{
	return s->depth == 0 && s->left[0] == 0 && s->skip == 0;
}

/*
 * Consume one header of hdr_size(hdr[0]) bytes at s->pos. Returns 0 or a
 * negative MP_ERR_*.
 */
static int
scan_header(struct mp_scan *s, const uint8_t *hdr)
{
	uint8_t b = hdr[0];
	int hs = hdr_size(b);
	uint64_t payload = 0, items = 0;
	int container = 0, sized = 0;

	if (hs == 0)
		return MP_ERR_BYTE;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
		/* a scalar of one byte */
	} else if (b <= 0x8f) {
		items = 2u * (b & 0x0f), container = 1;
	} else if (b <= 0x9f) {
		items = b & 0x0f, container = 1;
	} else if (b <= 0xbf) {
		payload = b & 0x1f, sized = 1;
	} else {
		switch (b) {
		case 0xc4: case 0xc5: case 0xc6:
		case 0xd9: case 0xda: case 0xdb:
			payload = be(hdr + 1, hs - 1), sized = 1;
			break;
		case 0xc7: case 0xc8: case 0xc9:
			payload = be(hdr + 1, hs - 1) + 1, sized = 1; /* + type */
			break;
		case 0xca: payload = 4; break;
		case 0xcb: payload = 8; break;
		case 0xcc: case 0xd0: payload = 1; break;
		case 0xcd: case 0xd1: payload = 2; break;
		case 0xce: case 0xd2: payload = 4; break;
		case 0xcf: case 0xd3: payload = 8; break;
		case 0xd4: payload = 2; break;
		case 0xd5: payload = 3; break;
		case 0xd6: payload = 5; break;
		case 0xd7: payload = 9; break;
		case 0xd8: payload = 17; break;
		case 0xdc: case 0xdd:
			items = be(hdr + 1, hs - 1), container = 1;
			break;
		case 0xde: case 0xdf:
			items = 2 * be(hdr + 1, hs - 1), container = 1;
			break;
		default:
			return MP_ERR_BYTE;
		}
	}

	s->pos += (size_t)hs;
	if (s->pos > s->lim.max_msg)
		return MP_ERR_SIZE;
	s->left[s->depth]--;
	if (sized && payload > s->lim.max_str + (b >= 0xc7 && b <= 0xc9))
		return MP_ERR_STR;
	if (payload > s->lim.max_msg - s->pos)
		return MP_ERR_SIZE;
	if (container && items > 0) {
		/* every item takes at least one byte */
		if (items > s->lim.max_msg - s->pos)
			return MP_ERR_COUNT;
		if (s->depth + 1 > s->lim.max_depth)
			return MP_ERR_DEPTH;
		s->left[++s->depth] = items;
		return 0;
	}
	s->skip = payload;
	if (payload == 0)
		value_done(s);
	return 0;
}

/* Pass over pending payload bytes, at most avail - pos of them. */
static void
skip_payload(struct mp_scan *s, size_t avail)
{
	size_t n = avail - s->pos;
	if ((uint64_t)n > s->skip)
		n = (size_t)s->skip;
	s->pos += n;
	s->skip -= n;
	if (s->skip == 0)
		value_done(s);
}

/* Resumable scan of an evbuffer's contents. */
int
mp_scan_evbuffer(struct mp_scan *s, struct evbuffer *in, size_t *ret_len)
{
	size_t avail = evbuffer_get_length(in);
	const uint8_t *chunk = NULL;
	size_t chunk_start = 0, chunk_len = 0;

	for (;;) {
		if (complete(s)) {
			*ret_len = s->pos;
			return MP_DONE;
		}
		if (s->skip > 0) {
			skip_payload(s, avail);
			if (s->skip > 0)
				return MP_MORE;
			continue;
		}
		if (s->pos >= avail)
			return s->pos > s->lim.max_msg ? MP_ERR_SIZE : MP_MORE;

		/* find the contiguous chunk holding pos */
		if (chunk == NULL || s->pos < chunk_start || s->pos >= chunk_start + chunk_len) {
			struct evbuffer_ptr p;
			struct evbuffer_iovec v;
			if (evbuffer_ptr_set(in, &p, s->pos, EVBUFFER_PTR_SET) != 0 ||
			    evbuffer_peek(in, -1, &p, &v, 1) < 1 || v.iov_len == 0)
				return MP_MORE;
			chunk = v.iov_base;
			chunk_start = s->pos;
			chunk_len = v.iov_len;
		}
		const uint8_t *h = chunk + (s->pos - chunk_start);
		size_t have = chunk_len - (s->pos - chunk_start);
		int hs = hdr_size(h[0]);
		if (hs == 0)
			return MP_ERR_BYTE;
		uint8_t tmp[8];
		if ((size_t)hs > have) {
			/* header straddles two chunks: copy it out */
			if (avail - s->pos < (size_t)hs)
				return MP_MORE;
			struct evbuffer_ptr p;
			evbuffer_ptr_set(in, &p, s->pos, EVBUFFER_PTR_SET);
			if (evbuffer_copyout_from(in, &p, tmp, (size_t)hs) != hs)
				return MP_MORE;
			h = tmp;
			chunk = NULL;
		}
		int r = scan_header(s, h);
		if (r < 0)
			return r;
	}
}

/* One-shot scan of a contiguous buffer. */
int
mp_scan_buf(const struct mp_limits *lim, const void *buf, size_t len, size_t *ret_len)
{
	struct mp_scan s;
	const uint8_t *p = buf;

	mp_scan_init(&s, lim);
	for (;;) {
		if (complete(&s)) {
			*ret_len = s.pos;
			return MP_DONE;
		}
		if (s.skip > 0) {
			skip_payload(&s, len);
			if (s.skip > 0)
				return MP_MORE;
			continue;
		}
		if (s.pos >= len)
			return MP_MORE;
		int hs = hdr_size(p[s.pos]);
		if (hs == 0)
			return MP_ERR_BYTE;
		if (len - s.pos < (size_t)hs)
			return MP_MORE;
		int r = scan_header(&s, p + s.pos);
		if (r < 0)
			return r;
	}
}

/* Describe a scan error for logs and error messages. */
const char *
mp_scan_strerror(int r)
{
	switch (r) {
	case MP_ERR_SIZE: return "message too large";
	case MP_ERR_DEPTH: return "message nested too deeply";
	case MP_ERR_STR: return "string or binary value too long";
	case MP_ERR_BYTE: return "invalid msgpack byte";
	case MP_ERR_COUNT: return "container larger than the message can hold";
	default: return "malformed message";
	}
}

/* Have at least n bytes? */
static int
cur_need(const struct mp_cur *c, size_t n)
{
	return (size_t)(c->end - c->p) >= n ? 0 : -1;
}

/* A container header (array or map). */
static int
cur_container(struct mp_cur *c, uint32_t *n, uint8_t fix, uint8_t fixmask, uint8_t b16, uint8_t b32)
{
	if (cur_need(c, 1) < 0)
		return -1;
	uint8_t b = c->p[0];
	if ((b & ~fixmask) == fix) {
		*n = b & fixmask;
		c->p += 1;
		return 0;
	}
	if (b == b16 && cur_need(c, 3) == 0) {
		*n = (uint32_t)be(c->p + 1, 2);
		c->p += 3;
		return 0;
	}
	if (b == b32 && cur_need(c, 5) == 0) {
		*n = (uint32_t)be(c->p + 1, 4);
		c->p += 5;
		return 0;
	}
	return -1;
}

int
mp_cur_array(struct mp_cur *c, uint32_t *n)
{
	return cur_container(c, n, 0x90, 0x0f, 0xdc, 0xdd);
}

int
mp_cur_map(struct mp_cur *c, uint32_t *n)
{
	return cur_container(c, n, 0x80, 0x0f, 0xde, 0xdf);
}

int
mp_cur_uint(struct mp_cur *c, uint64_t *v)
{
	if (cur_need(c, 1) < 0)
		return -1;
	uint8_t b = c->p[0];
	int n;
	if (b <= 0x7f) {
		*v = b;
		c->p += 1;
		return 0;
	}
	switch (b) {
	case 0xcc: n = 1; break;
	case 0xcd: n = 2; break;
	case 0xce: n = 4; break;
	case 0xcf: n = 8; break;
	default: return -1;
	}
	if (cur_need(c, 1 + (size_t)n) < 0)
		return -1;
	*v = be(c->p + 1, n);
	c->p += 1 + n;
	return 0;
}

int
mp_cur_str(struct mp_cur *c, const char **s, uint32_t *len)
{
	if (cur_need(c, 1) < 0)
		return -1;
	uint8_t b = c->p[0];
	size_t hs;
	uint64_t n;
	if (b >= 0xa0 && b <= 0xbf) {
		hs = 1, n = b & 0x1f;
	} else if (b == 0xd9 && cur_need(c, 2) == 0) {
		hs = 2, n = c->p[1];
	} else if (b == 0xda && cur_need(c, 3) == 0) {
		hs = 3, n = be(c->p + 1, 2);
	} else if (b == 0xdb && cur_need(c, 5) == 0) {
		hs = 5, n = be(c->p + 1, 4);
	} else {
		return -1;
	}
	if (cur_need(c, hs + n) < 0)
		return -1;
	*s = (const char *)c->p + hs;
	*len = (uint32_t)n;
	c->p += hs + n;
	return 0;
}

int
mp_cur_nil(struct mp_cur *c)
{
	if (cur_need(c, 1) < 0 || c->p[0] != 0xc0)
		return -1;
	c->p++;
	return 0;
}

int
mp_cur_lit(struct mp_cur *c, const char *lit)
{
	struct mp_cur save = *c;
	const char *s;
	uint32_t n;
	if (mp_cur_str(c, &s, &n) < 0 || n != strlen(lit) || memcmp(s, lit, n) != 0) {
		*c = save;
		return -1;
	}
	return 0;
}

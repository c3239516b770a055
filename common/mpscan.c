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

static void hdr_table_init(void);

/* Start a scan with the given limits. */
void
mp_scan_init(struct mp_scan *s, const struct mp_limits *lim)
{
	hdr_table_init();
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

/*
 * What the first byte of a value says, in one table lookup: how many header
 * bytes to read, and what follows (a hot loop on row streams).
 */
enum { K_BAD, K_SCALAR, K_FIXED, K_LEN, K_EXTLEN, K_ARRAY, K_MAP, K_FIXARRAY, K_FIXMAP };

struct hdr_info {
	uint8_t kind;
	uint8_t hs;	 /* header bytes (including the first) */
	uint8_t payload; /* K_FIXED: payload bytes; K_FIX*: item count */
};

static struct hdr_info hdr_table[256];

/* Fill the table once. */
static void
hdr_table_init(void)
{
	static int done;
	if (done)
		return;
	for (int b = 0; b < 256; b++) {
		struct hdr_info h = { K_SCALAR, 1, 0 };
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
			h.kind = K_SCALAR;
		else if (b <= 0x8f)
			h = (struct hdr_info){ K_FIXMAP, 1, (uint8_t)(b & 0x0f) };
		else if (b <= 0x9f)
			h = (struct hdr_info){ K_FIXARRAY, 1, (uint8_t)(b & 0x0f) };
		else if (b <= 0xbf)
			h = (struct hdr_info){ K_FIXED, 1, (uint8_t)(b & 0x1f) };
		else {
			switch (b) {
			case 0xc1: h.kind = K_BAD; break;
			case 0xc4: case 0xd9: h = (struct hdr_info){ K_LEN, 2, 0 }; break;
			case 0xc5: case 0xda: h = (struct hdr_info){ K_LEN, 3, 0 }; break;
			case 0xc6: case 0xdb: h = (struct hdr_info){ K_LEN, 5, 0 }; break;
			case 0xc7: h = (struct hdr_info){ K_EXTLEN, 2, 0 }; break;
			case 0xc8: h = (struct hdr_info){ K_EXTLEN, 3, 0 }; break;
			case 0xc9: h = (struct hdr_info){ K_EXTLEN, 5, 0 }; break;
			case 0xca: h = (struct hdr_info){ K_FIXED, 1, 4 }; break;
			case 0xcb: h = (struct hdr_info){ K_FIXED, 1, 8 }; break;
			case 0xcc: case 0xd0: h = (struct hdr_info){ K_FIXED, 1, 1 }; break;
			case 0xcd: case 0xd1: h = (struct hdr_info){ K_FIXED, 1, 2 }; break;
			case 0xce: case 0xd2: h = (struct hdr_info){ K_FIXED, 1, 4 }; break;
			case 0xcf: case 0xd3: h = (struct hdr_info){ K_FIXED, 1, 8 }; break;
			case 0xd4: h = (struct hdr_info){ K_FIXED, 1, 2 }; break;
			case 0xd5: h = (struct hdr_info){ K_FIXED, 1, 3 }; break;
			case 0xd6: h = (struct hdr_info){ K_FIXED, 1, 5 }; break;
			case 0xd7: h = (struct hdr_info){ K_FIXED, 1, 9 }; break;
			case 0xd8: h = (struct hdr_info){ K_FIXED, 1, 17 }; break;
			case 0xdc: h = (struct hdr_info){ K_ARRAY, 3, 0 }; break;
			case 0xdd: h = (struct hdr_info){ K_ARRAY, 5, 0 }; break;
			case 0xde: h = (struct hdr_info){ K_MAP, 3, 0 }; break;
			case 0xdf: h = (struct hdr_info){ K_MAP, 5, 0 }; break;
			default: h.kind = K_BAD; break;
			}
		}
		hdr_table[b] = h;
	}
	done = 1;
}

/* Bytes the header starting with b needs before its sizes are known (0: invalid). */
static int
hdr_size(uint8_t b)
{
	return hdr_table[b].kind == K_BAD ? 0 : hdr_table[b].hs;
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
static inline void
value_done(struct mp_scan *s)
{
	while (s->depth > 0 && s->left[s->depth] == 0)
		s->depth--;
}

/* Is the current message complete? */
static inline int
complete(const struct mp_scan *s)
{
	return s->depth == 0 && s->left[0] == 0 && s->skip == 0;
}

/*
 * Consume one header of hdr_size(hdr[0]) bytes at s->pos. Returns 0 or a
 * negative MP_ERR_*.
 */
static inline int
scan_header(struct mp_scan *s, const uint8_t *hdr)
{
	const struct hdr_info h = hdr_table[hdr[0]];
	uint64_t payload = 0, items = 0;

	switch (h.kind) {
	case K_BAD:
		return MP_ERR_BYTE;
	case K_SCALAR:
		s->pos += 1;
		if (s->pos > s->lim.max_msg)
			return MP_ERR_SIZE;
		s->left[s->depth]--;
		value_done(s);
		return 0;
	case K_FIXED:
		payload = h.payload;
		if (hdr[0] >= 0xa0 && hdr[0] <= 0xbf && payload > s->lim.max_str)
			return MP_ERR_STR;
		break;
	case K_LEN:
		payload = be(hdr + 1, h.hs - 1);
		if (payload > s->lim.max_str)
			return MP_ERR_STR;
		break;
	case K_EXTLEN:
		payload = be(hdr + 1, h.hs - 1) + 1; /* + the type byte */
		if (payload > s->lim.max_str + 1)
			return MP_ERR_STR;
		break;
	case K_FIXARRAY:
		items = h.payload;
		break;
	case K_FIXMAP:
		items = 2u * h.payload;
		break;
	case K_ARRAY:
		items = be(hdr + 1, h.hs - 1);
		break;
	case K_MAP:
		items = 2 * be(hdr + 1, h.hs - 1);
		break;
	}
	/* an empty container is a level too (msgpack-c pushes it on its stack) */
	if (h.kind >= K_ARRAY && s->depth + 1 > s->lim.max_depth)
		return MP_ERR_DEPTH;
	s->pos += h.hs;
	if (s->pos > s->lim.max_msg)
		return MP_ERR_SIZE;
	s->left[s->depth]--;
	if (payload > s->lim.max_msg - s->pos)
		return MP_ERR_SIZE;
	if (items > 0) {
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

/* Read an array header; n gets its length. */
int
mp_cur_array(struct mp_cur *c, uint32_t *n)
{
	return cur_container(c, n, 0x90, 0x0f, 0xdc, 0xdd);
}

/* Read a map header; n gets its number of pairs. */
int
mp_cur_map(struct mp_cur *c, uint32_t *n)
{
	return cur_container(c, n, 0x80, 0x0f, 0xde, 0xdf);
}

/* Read an unsigned integer (positive fixint or uint 8-64). */
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

/* Read a string; s points into the buffer (not terminated), len gets its length. */
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

/* Read a nil. */
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

/* Read a big-endian IEEE double or float. */
static double
be_float(const uint8_t *p, int n)
{
	uint64_t u = be(p, n);
	if (n == 4) {
		uint32_t w = (uint32_t)u;
		float f;
		memcpy(&f, &w, sizeof f);
		return f;
	}
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

int
mp_cur_scalar(struct mp_cur *c, struct mp_val *v)
{
	if (cur_need(c, 1) < 0)
		return -1;
	const uint8_t *p = c->p;
	uint8_t b = p[0];
	size_t hs = 1, body = 0;
	if (b <= 0x7f) {
		v->type = MPV_UINT, v->u = b;
	} else if (b >= 0xe0) {
		v->type = MPV_INT, v->i = (int8_t)b;
	} else if (b >= 0xa0 && b <= 0xbf) {
		v->type = MPV_STR, body = b & 0x1f;
	} else {
		switch (b) {
		case 0xc0: v->type = MPV_NIL; break;
		case 0xc2: case 0xc3: v->type = MPV_BOOL, v->b = b == 0xc3; break;
		case 0xcc: case 0xcd: case 0xce: case 0xcf:
			hs = 1 + ((size_t)1 << (b - 0xcc));
			if (cur_need(c, hs) < 0)
				return -1;
			v->type = MPV_UINT, v->u = be(p + 1, (int)hs - 1);
			break;
		case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
			hs = 1 + ((size_t)1 << (b - 0xd0));
			if (cur_need(c, hs) < 0)
				return -1;
			uint64_t u = be(p + 1, (int)hs - 1);
			int bits = (int)(hs - 1) * 8;
			v->type = MPV_INT;
			v->i = bits == 64 ? (int64_t)u : (int64_t)(u << (64 - bits)) >> (64 - bits);
			break;
		}
		case 0xca: case 0xcb:
			hs = b == 0xca ? 5 : 9;
			if (cur_need(c, hs) < 0)
				return -1;
			v->type = b == 0xca ? MPV_FLOAT32 : MPV_FLOAT, v->f = be_float(p + 1, (int)hs - 1);
			break;
		case 0xd9: case 0xda: case 0xdb:
		case 0xc4: case 0xc5: case 0xc6: {
			int n = b == 0xd9 || b == 0xc4 ? 1 : b == 0xda || b == 0xc5 ? 2 : 4;
			hs = 1 + (size_t)n;
			if (cur_need(c, hs) < 0)
				return -1;
			body = (size_t)be(p + 1, n);
			v->type = b >= 0xd9 ? MPV_STR : MPV_BIN;
			break;
		}
		case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
			hs = 2, body = (size_t)1 << (b - 0xd4);
			v->type = MPV_EXT;
			break;
		case 0xc7: case 0xc8: case 0xc9: {
			int n = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
			hs = 2 + (size_t)n;
			if (cur_need(c, hs) < 0)
				return -1;
			body = (size_t)be(p + 1, n);
			v->type = MPV_EXT;
			break;
		}
		default:
			return -1; /* a container, or 0xc1 */
		}
	}
	if (cur_need(c, hs + body) < 0)
		return -1;
	v->p = (const char *)p + hs;
	v->len = (uint32_t)body;
	c->p += hs + body;
	return 0;
}

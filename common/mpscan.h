/*
 * mpscan.h — find where one msgpack message ends, enforcing limits, without
 * decoding it.
 *
 * Every stream Tusk reads (client sockets, worker socketpairs, the gateway's
 * WebSocket frames) is hostile until proven otherwise. Before any byte goes
 * to msgpack-c's decoder, this scanner walks the message's headers and checks
 * the whole message against limits: total size, nesting depth, length of a
 * string/bin/ext, and that every container's item count can still fit in the
 * remaining budget. Only a complete, well-formed, bounded message is ever
 * decoded; msgpack-c therefore never sees an array header announcing four
 * billion items (it would allocate for them up front).
 *
 * The scanner is resumable: bytes arrive in pieces, it keeps its position
 * and skips string payloads arithmetically, so a message is walked once no
 * matter how it was split. The broker uses the end position to move a row
 * batch from a worker to a client as bytes, without decoding it.
 */
#ifndef TUSK_MPSCAN_H
#define TUSK_MPSCAN_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

struct evbuffer;

#define MP_MAX_DEPTH 32

struct mp_limits {
	size_t max_msg;	    /* bytes in one message */
	uint32_t max_depth; /* nesting of arrays and maps (<= MP_MAX_DEPTH) */
	size_t max_str;	    /* bytes in one str, bin or ext payload */
};

enum mp_scan_result {
	MP_MORE = 0,	     /* incomplete: feed more bytes */
	MP_DONE = 1,	     /* one complete message */
	MP_ERR_SIZE = -1,    /* message larger than max_msg */
	MP_ERR_DEPTH = -2,   /* nested deeper than max_depth */
	MP_ERR_STR = -3,     /* a str/bin/ext longer than max_str */
	MP_ERR_BYTE = -4,    /* 0xc1, never valid msgpack */
	MP_ERR_COUNT = -5,   /* container count cannot fit in max_msg */
};

struct mp_scan {
	struct mp_limits lim;
	size_t pos;			/* bytes of the current message walked */
	uint64_t skip;			/* payload bytes still to pass over */
	uint32_t depth;			/* open containers */
	uint64_t left[MP_MAX_DEPTH + 1]; /* values still expected per level */
};

/* Start (or restart, after a message was taken) a scan. */
void mp_scan_init(struct mp_scan *s, const struct mp_limits *lim);
void mp_scan_reset(struct mp_scan *s);

/*
 * Scan what the evbuffer holds. MP_DONE: its first *ret_len bytes are one
 * message (take them, then mp_scan_reset). MP_MORE: wait for more bytes.
 * Negative: the stream is broken; drop the peer.
 */
int mp_scan_evbuffer(struct mp_scan *s, struct evbuffer *in, size_t *ret_len);

/* The same over a contiguous buffer (fresh scan each call). */
int mp_scan_buf(const struct mp_limits *lim, const void *buf, size_t len, size_t *ret_len);

/*
 * A cursor over the head of a message that has already passed the scanner,
 * for reading an envelope without decoding the rest (the broker routing a
 * row batch by its query id). Each call consumes one item or returns -1
 * leaving the cursor where it was.
 */
struct mp_cur {
	const uint8_t *p;
	const uint8_t *end;
};
int mp_cur_array(struct mp_cur *c, uint32_t *n);
int mp_cur_map(struct mp_cur *c, uint32_t *n);
int mp_cur_uint(struct mp_cur *c, uint64_t *v);
int mp_cur_str(struct mp_cur *c, const char **s, uint32_t *len);
int mp_cur_nil(struct mp_cur *c);
/* Consume a str equal to lit. */
int mp_cur_lit(struct mp_cur *c, const char *lit);

/* One scalar value under the cursor. */
enum mp_vtype { MPV_NIL, MPV_BOOL, MPV_UINT, MPV_INT, MPV_FLOAT, MPV_FLOAT32, MPV_STR, MPV_BIN, MPV_EXT };
struct mp_val {
	enum mp_vtype type;
	bool b;
	uint64_t u;
	int64_t i;
	double f;
	const char *p;	/* str, bin, ext bytes */
	uint32_t len;
};
/* Consume one scalar (not an array or map). */
int mp_cur_scalar(struct mp_cur *c, struct mp_val *v);

/* A human sentence for a negative result. */
const char *mp_scan_strerror(int r);

#endif

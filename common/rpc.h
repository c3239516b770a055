/*
 * rpc.h — msgpack-RPC peers over libevent: a bufferevent writes, the
 * peer's own read event reads (rpc_read_socket: libevent 2.1 reads 4 KiB a
 * call, which on a row stream is a syscall triple per 4 KiB).
 *
 * A peer owns one stream socket (a client connection, a worker socketpair,
 * the CLI's link to the broker). Incoming bytes are scanned with limits
 * (mpscan.h); each complete message is either taken raw by the owner (the
 * broker forwarding a row batch) or decoded with msgpack-c and handed over as
 * a borrowed struct rpc_msg, valid until the callback returns.
 *
 * Outgoing messages are packed straight into the socket's output evbuffer.
 * Requests the peer sends get a msgid and a callback for the response.
 *
 * A peer that breaks the protocol is closed: the owner's `closed` callback
 * runs on a later loop turn (never inside the callback that found the
 * fault), and the owner then frees it.
 */
#ifndef TUSK_RPC_H
#define TUSK_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "mpscan.h"

struct event_base;
struct evbuffer;
struct bufferevent;
struct rpc_peer;
struct tusk_error;

enum rpc_type { RPC_REQUEST = 0, RPC_RESPONSE = 1, RPC_NOTIFY = 2 };

#define RPC_MAX_METHOD 64

/* A decoded message; pointers borrow from the input buffer. */
struct rpc_msg {
	enum rpc_type type;
	uint32_t msgid;		       /* request, response */
	char method[RPC_MAX_METHOD + 1]; /* request, notification */
	const msgpack_object *params;  /* request, notification: an array */
	const msgpack_object *error;   /* response */
	const msgpack_object *result;  /* response */
	size_t raw_len;		       /* encoded size */
};

struct rpc_handlers {
	/*
	 * Optional. A complete message of len bytes sits at the head of in.
	 * Return true after draining exactly len bytes to take it as bytes;
	 * false to have it decoded.
	 */
	bool (*raw)(struct rpc_peer *, struct evbuffer *in, size_t len, void *arg);
	/* A request or notification (responses go to their call's callback). */
	void (*msg)(struct rpc_peer *, const struct rpc_msg *, void *arg);
	/* The peer is closed (EOF, error, protocol fault, or rpc_peer_close);
	 * reason is a sentence. The owner must rpc_peer_free() it. */
	void (*closed)(struct rpc_peer *, const char *reason, void *arg);
	/* Optional: the output fell to the low mark set by rpc_peer_watch_output. */
	void (*drained)(struct rpc_peer *, void *arg);
};

/*
 * The reply to a call. error and result are both NULL when the peer closed
 * before answering. They borrow from the input buffer.
 */
typedef void (*rpc_reply_cb)(struct rpc_peer *, const msgpack_object *error,
    const msgpack_object *result, void *arg);

/* The most one read of a peer's socket takes. */
#define RPC_READ_MAX (256 * 1024)

/* Read what fd holds (at most max bytes) into buf: 1 bytes, 0 EOF, -1 errno. */
int rpc_read_socket(struct evbuffer *buf, int fd, size_t max);

/* Wrap a connected stream fd (made non-blocking, closed with the peer). */
struct rpc_peer *rpc_peer_new(struct event_base *base, int fd, const struct mp_limits *lim,
    const struct rpc_handlers *h, void *arg);
/* Free a peer; pending calls are dropped without their callbacks. */
void rpc_peer_free(struct rpc_peer *p);
/* Close: stop reading, optionally flush what is queued, then call closed. */
void rpc_peer_close(struct rpc_peer *p, const char *reason, bool flush);
bool rpc_peer_closing(const struct rpc_peer *p);
/* Was it closed by rpc.c for breaking the protocol (a malformed or
 * oversized message, a response to nothing)? The reason says which. */
bool rpc_peer_faulted(const struct rpc_peer *p);

size_t rpc_peer_input_len(const struct rpc_peer *p);
struct evbuffer *rpc_peer_output(struct rpc_peer *p);
int rpc_peer_fd(struct rpc_peer *p);
/* Stop or resume reading this peer (backpressure). */
void rpc_peer_pause(struct rpc_peer *p, bool paused);
bool rpc_peer_paused(const struct rpc_peer *p);
void rpc_peer_set_arg(struct rpc_peer *p, void *arg);
/* Call h->drained whenever the output falls to at most low bytes. */
void rpc_peer_watch_output(struct rpc_peer *p, size_t low);
size_t rpc_peer_output_len(struct rpc_peer *p);

/*
 * Writing. A packer writes into an evbuffer. The begin functions write the
 * envelope; the caller then packs exactly one more object (the params array
 * for requests and notifications, the result for a reply).
 */
void rpc_packer_init(msgpack_packer *pk, struct evbuffer *out);
void rpc_pack_request_begin(msgpack_packer *pk, uint32_t msgid, const char *method);
void rpc_pack_reply_begin(msgpack_packer *pk, uint32_t msgid);
void rpc_pack_notify_begin(msgpack_packer *pk, const char *method);
void rpc_pack_reply_error(msgpack_packer *pk, uint32_t msgid, const struct tusk_error *e);

/* A packer on the peer's output. */
msgpack_packer *rpc_peer_packer(struct rpc_peer *p);
/*
 * Send a request: writes [0, id, method, and returns the packer for the
 * params array. cb runs once with the response (or with NULLs on close).
 */
msgpack_packer *rpc_call(struct rpc_peer *p, const char *method, rpc_reply_cb cb, void *arg,
    uint32_t *ret_msgid);
/* Forget a pending call: its callback will not run. */
void rpc_call_forget(struct rpc_peer *p, uint32_t msgid);
size_t rpc_calls_pending(const struct rpc_peer *p);

/*
 * Messages that carry a secret are packed into a private buffer whose old
 * copies are wiped when it grows, then handed to libevent by reference; the
 * bytes are wiped when libevent is done with them. (Incoming messages are
 * wiped after dispatch by the peer itself.)
 */
struct rpc_private {
	msgpack_packer pk;
	char *data;
	size_t len;
	size_t cap;
};
msgpack_packer *rpc_private_begin(struct rpc_private *priv);
/* Queue the private message on the peer's output (or wipe it if closing). */
void rpc_private_send(struct rpc_peer *p, struct rpc_private *priv);
/* Register a call whose envelope will be packed into priv (see above). */
msgpack_packer *rpc_call_private(struct rpc_peer *p, const char *method, rpc_reply_cb cb,
    void *arg, uint32_t *ret_msgid, struct rpc_private *priv);

/*
 * The envelope of a message read from its first bytes only (proto.h gives
 * the layout), for routing without decoding. p holds the message's first
 * len bytes (a message that passed the scanner; 256 bytes are plenty).
 */
struct rpc_peek {
	enum rpc_type type;
	uint64_t msgid;		/* request, response */
	bool success;		/* response: error is nil */
	size_t result_at;	/* success: offset of the result */
	const char *method;	/* request, notification (str), not NUL-terminated */
	uint32_t method_len;
	bool has_query_id;	/* notification whose map starts with query_id */
	const char *query_id;	/* its value when a str (NULL when nil) */
	uint32_t query_id_len;
	bool has_rows;		/* query_rows: `rows` follows query_id */
	uint32_t nrows;
};
/* 0, or -1 when the head is not an envelope. */
int rpc_peek(const void *p, size_t len, struct rpc_peek *pk);
/* Is the peeked method (or any str) equal to name? */
bool rpc_peek_is(const struct rpc_peek *pk, const char *name);

/* Validate and split a decoded message into an rpc_msg (0 or -1). */
int rpc_msg_parse(const msgpack_object *o, struct rpc_msg *m);

/* Pack a string given as a C string (NULL packs nil). */
void mp_pack_cstr(msgpack_packer *pk, const char *s);
/* Pack a map key. */
#define mp_pack_key(pk, k) mp_pack_cstr((pk), (k))
/* Pack a boolean. */
void mp_pack_bool(msgpack_packer *pk, bool b);

/*
 * A map packed from an array of fields, so that its size is the array's
 * and cannot be miscounted:
 *
 *	MP_PACK_FIELDS(pk,
 *	    MPF_STR("name", c->name),
 *	    MPF_INT_OPT("port", c->port),	   (negative packs nil)
 *	    MPF_FN("tunnel", pack_tunnel, c));
 */
enum mpf_type { MPF_T_STR, MPF_T_INT, MPF_T_UINT, MPF_T_DOUBLE, MPF_T_BOOL, MPF_T_NIL, MPF_T_OBJ,
	MPF_T_FN };
typedef void (*mpf_fn)(msgpack_packer *pk, const void *arg);
struct mp_field {
	const char *key;
	enum mpf_type type;
	union {
		const char *s; /* NULL packs nil */
		int64_t i;
		uint64_t u;
		double d;
		bool b;
		const msgpack_object *o; /* NULL packs nil */
		struct {
			mpf_fn fn;
			const void *arg;
		} f;
	} v;
};
#define MPF_STR(k, x) { (k), MPF_T_STR, { .s = (x) } }
#define MPF_INT(k, x) { (k), MPF_T_INT, { .i = (int64_t)(x) } }
#define MPF_INT_OPT(k, x) { (k), (x) < 0 ? MPF_T_NIL : MPF_T_INT, { .i = (int64_t)(x) } }
#define MPF_UINT(k, x) { (k), MPF_T_UINT, { .u = (uint64_t)(x) } }
#define MPF_DOUBLE(k, x) { (k), MPF_T_DOUBLE, { .d = (x) } }
#define MPF_BOOL(k, x) { (k), MPF_T_BOOL, { .b = (x) } }
#define MPF_NIL(k) { (k), MPF_T_NIL, { .i = 0 } }
#define MPF_OBJ(k, x) { (k), MPF_T_OBJ, { .o = (x) } }
#define MPF_FN(k, fn_, arg_) { (k), MPF_T_FN, { .f = { (fn_), (arg_) } } }
void mp_pack_fields(msgpack_packer *pk, const struct mp_field *f, size_t n);
#define MP_PACK_FIELDS(pk, ...) do { \
	const struct mp_field mpf_[] = { __VA_ARGS__ }; \
	mp_pack_fields((pk), mpf_, sizeof mpf_ / sizeof mpf_[0]); \
} while (0)

#endif

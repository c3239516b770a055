/*
 * rpc.c — msgpack-RPC peers: scanning, decoding, dispatch of responses to
 * their calls, deferred close (see rpc.h).
 *
 * Ownership: the owner creates a peer and frees it, but only from its
 * `closed` callback or when it decides to drop it outright (rpc_peer_free
 * never calls back). rpc_peer_close() may be called from inside any callback:
 * it only marks the peer and schedules the `closed` callback for a later
 * loop turn, so no callback ever sees its peer freed under it.
 */
#include "rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "error.h"
#include "util.h"

struct rpc_call {
	uint32_t msgid;
	rpc_reply_cb cb;
	void *arg;
	struct rpc_call *next;
};

struct rpc_peer {
	struct event_base *base;
	struct bufferevent *bev; /* writing (and the socket's owner) */
	struct event *rd;	 /* reading: ours, not the bufferevent's (rpc_read_socket) */
	struct evbuffer *in;	 /* bytes read, not yet taken as messages */
	struct mp_scan scan;
	struct rpc_handlers h;
	void *arg;
	msgpack_packer pk;
	msgpack_unpacked unpacked;
	struct rpc_call *calls;
	size_t ncalls;
	uint32_t next_msgid;
	bool closing;
	bool faulted; /* closed for breaking the protocol */
	bool close_scheduled;
	bool paused;
	bool in_read;
	char *close_reason;
	struct event *close_ev;
};

static void peer_take(struct rpc_peer *p);
static void peer_readable_cb(evutil_socket_t fd, short what, void *arg);
static void peer_close_now(evutil_socket_t fd, short what, void *arg);
static void peer_event_cb(struct bufferevent *bev, short what, void *arg);
static void peer_flushed_cb(struct bufferevent *bev, void *arg);
static void peer_write_cb(struct bufferevent *bev, void *arg);
static uint32_t call_register(struct rpc_peer *p, rpc_reply_cb cb, void *arg, uint32_t *ret_msgid);

/* Packer callback: append to an evbuffer. */
static int
evbuffer_write_cb(void *data, const char *buf, size_t len)
{
	return evbuffer_add((struct evbuffer *)data, buf, len);
}

/* A packer that appends to out. */
void
rpc_packer_init(msgpack_packer *pk, struct evbuffer *out)
{
	msgpack_packer_init(pk, out, evbuffer_write_cb);
}

/* Pack a C string, or nil for NULL. */
void
mp_pack_cstr(msgpack_packer *pk, const char *s)
{
	if (s == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

/* Pack true or false. */
void
mp_pack_bool(msgpack_packer *pk, bool b)
{
	if (b)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

/* A map of n fields (see MP_PACK_FIELDS). */
void
mp_pack_fields(msgpack_packer *pk, const struct mp_field *f, size_t n)
{
	msgpack_pack_map(pk, n);
	for (size_t i = 0; i < n; i++) {
		mp_pack_key(pk, f[i].key);
		switch (f[i].type) {
		case MPF_T_STR:
			mp_pack_cstr(pk, f[i].v.s);
			break;
		case MPF_T_INT:
			msgpack_pack_int64(pk, f[i].v.i);
			break;
		case MPF_T_UINT:
			msgpack_pack_uint64(pk, f[i].v.u);
			break;
		case MPF_T_DOUBLE:
			msgpack_pack_double(pk, f[i].v.d);
			break;
		case MPF_T_BOOL:
			mp_pack_bool(pk, f[i].v.b);
			break;
		case MPF_T_NIL:
			msgpack_pack_nil(pk);
			break;
		case MPF_T_OBJ:
			if (f[i].v.o)
				msgpack_pack_object(pk, *f[i].v.o);
			else
				msgpack_pack_nil(pk);
			break;
		case MPF_T_FN:
			f[i].v.f.fn(pk, f[i].v.f.arg);
			break;
		}
	}
}

/* [0, msgid, method, — params follow. */
void
rpc_pack_request_begin(msgpack_packer *pk, uint32_t msgid, const char *method)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, RPC_REQUEST);
	msgpack_pack_uint32(pk, msgid);
	mp_pack_cstr(pk, method);
}

/* [1, msgid, nil, — result follows. */
void
rpc_pack_reply_begin(msgpack_packer *pk, uint32_t msgid)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, RPC_RESPONSE);
	msgpack_pack_uint32(pk, msgid);
	msgpack_pack_nil(pk);
}

/* [2, method, — params follow. */
void
rpc_pack_notify_begin(msgpack_packer *pk, const char *method)
{
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint8(pk, RPC_NOTIFY);
	mp_pack_cstr(pk, method);
}

/* [1, msgid, {error}, nil] */
void
rpc_pack_reply_error(msgpack_packer *pk, uint32_t msgid, const struct tusk_error *e)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, RPC_RESPONSE);
	msgpack_pack_uint32(pk, msgid);
	terr_pack(pk, e);
	msgpack_pack_nil(pk);
}

/* Wrap fd in a peer. */
struct rpc_peer *
rpc_peer_new(struct event_base *base, int fd, const struct mp_limits *lim,
    const struct rpc_handlers *h, void *arg)
{
	struct rpc_peer *p = xcalloc(1, sizeof *p);

	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	p->base = base;
	p->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	p->rd = event_new(base, fd, EV_READ | EV_PERSIST, peer_readable_cb, p);
	p->in = evbuffer_new();
	/* made now, so that closing (deferred to it) can never fail later */
	p->close_ev = evtimer_new(base, peer_close_now, p);
	if (p->bev == NULL || p->rd == NULL || p->in == NULL || p->close_ev == NULL) {
		if (p->bev)
			bufferevent_free(p->bev);
		else
			close(fd);
		if (p->rd)
			event_free(p->rd);
		if (p->in)
			evbuffer_free(p->in);
		if (p->close_ev)
			event_free(p->close_ev);
		free(p);
		return NULL;
	}
	/* large writes: fewer wakeups on a row stream (reads: rpc_read_socket) */
	bufferevent_set_max_single_write(p->bev, 256 * 1024);
	mp_scan_init(&p->scan, lim);
	p->h = *h;
	p->arg = arg;
	p->next_msgid = 1;
	msgpack_unpacked_init(&p->unpacked);
	rpc_packer_init(&p->pk, bufferevent_get_output(p->bev));
	bufferevent_setcb(p->bev, NULL, NULL, peer_event_cb, p);
	bufferevent_enable(p->bev, EV_WRITE);
	event_add(p->rd, NULL);
	return p;
}

/* Free a peer and everything it holds. */
void
rpc_peer_free(struct rpc_peer *p)
{
	if (p == NULL)
		return;
	if (p->close_ev)
		event_free(p->close_ev);
	while (p->calls) {
		struct rpc_call *c = p->calls;
		p->calls = c->next;
		free(c);
	}
	event_free(p->rd);
	evbuffer_free(p->in);
	bufferevent_free(p->bev);
	msgpack_unpacked_destroy(&p->unpacked);
	free(p->close_reason);
	free(p);
}

/* Deferred close: fail pending calls, then tell the owner. */
static void
peer_close_now(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_peer *p = arg;
	UNUSED(fd);
	UNUSED(what);

	while (p->calls) {
		struct rpc_call *c = p->calls;
		p->calls = c->next;
		p->ncalls--;
		c->cb(p, NULL, NULL, c->arg);
		free(c);
	}
	p->h.closed(p, p->close_reason ? p->close_reason : "closed", p->arg);
}

/* Schedule the closed callback for the next loop turn. */
static void
peer_schedule_close(struct rpc_peer *p)
{
	static const struct timeval zero = { 0, 0 };
	if (p->close_scheduled)
		return;
	p->close_scheduled = true;
	evtimer_add(p->close_ev, &zero);
}

/* Output drained after a flushing close. */
static void
peer_flushed_cb(struct bufferevent *bev, void *arg)
{
	struct rpc_peer *p = arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		peer_schedule_close(p);
}

/* Mark the peer closed; see rpc.h. */
void
rpc_peer_close(struct rpc_peer *p, const char *reason, bool flush)
{
	if (p->closing)
		return;
	p->closing = true;
	p->close_reason = xstrdup(reason);
	event_del(p->rd);
	if (flush && evbuffer_get_length(bufferevent_get_output(p->bev)) > 0) {
		bufferevent_setwatermark(p->bev, EV_WRITE, 0, 0);
		bufferevent_setcb(p->bev, NULL, peer_flushed_cb, peer_event_cb, p);
		return;
	}
	bufferevent_disable(p->bev, EV_WRITE);
	peer_schedule_close(p);
}

/* Is the peer on its way out? */
bool
rpc_peer_closing(const struct rpc_peer *p)
{
	return p->closing;
}

/* Did rpc.c close it for breaking the protocol? */
bool
rpc_peer_faulted(const struct rpc_peer *p)
{
	return p->faulted;
}

/* Close for a protocol fault the peer made. */
static void
peer_fault(struct rpc_peer *p, const char *reason)
{
	if (!p->closing)
		p->faulted = true;
	rpc_peer_close(p, reason, false);
}

/* Bytes read from the peer and not yet taken as messages. */
size_t
rpc_peer_input_len(const struct rpc_peer *p)
{
	return evbuffer_get_length(p->in);
}

/* The peer's output buffer, for writing raw bytes. */
struct evbuffer *
rpc_peer_output(struct rpc_peer *p)
{
	return bufferevent_get_output(p->bev);
}

/* The peer's socket. */
int
rpc_peer_fd(struct rpc_peer *p)
{
	return (int)bufferevent_getfd(p->bev);
}

/* Set the argument passed to the peer's handlers. */
void
rpc_peer_set_arg(struct rpc_peer *p, void *arg)
{
	p->arg = arg;
}

/* Output fell to the low watermark. */
static void
peer_write_cb(struct bufferevent *bev, void *arg)
{
	struct rpc_peer *p = arg;
	UNUSED(bev);
	if (!p->closing && p->h.drained)
		p->h.drained(p, p->arg);
}

/* Ask for h->drained when the output is at most low bytes. */
void
rpc_peer_watch_output(struct rpc_peer *p, size_t low)
{
	if (p->closing)
		return;
	bufferevent_setwatermark(p->bev, EV_WRITE, low, 0);
	bufferevent_setcb(p->bev, NULL, peer_write_cb, peer_event_cb, p);
}

/* Bytes waiting to be written to the peer. */
size_t
rpc_peer_output_len(struct rpc_peer *p)
{
	return evbuffer_get_length(bufferevent_get_output(p->bev));
}

/* Pause or resume reading (backpressure). Pending input is processed on resume. */
void
rpc_peer_pause(struct rpc_peer *p, bool paused)
{
	if (p->closing || p->paused == paused)
		return;
	p->paused = paused;
	if (paused) {
		event_del(p->rd);
	} else {
		event_add(p->rd, NULL);
		/* messages already buffered would otherwise wait for new bytes:
		 * taken on the next loop turn, as a read would be */
		if (!p->in_read && evbuffer_get_length(p->in) > 0)
			event_active(p->rd, EV_READ, 0);
	}
}

/* Is reading from the peer paused? */
bool
rpc_peer_paused(const struct rpc_peer *p)
{
	return p->paused;
}

/* The packer on the peer's output. */
msgpack_packer *
rpc_peer_packer(struct rpc_peer *p)
{
	return &p->pk;
}

/* Start a call; see rpc.h. */
msgpack_packer *
rpc_call(struct rpc_peer *p, const char *method, rpc_reply_cb cb, void *arg, uint32_t *ret_msgid)
{
	rpc_pack_request_begin(&p->pk, call_register(p, cb, arg, ret_msgid), method);
	return &p->pk;
}

/* Remember a call awaiting its response; returns its msgid. */
static uint32_t
call_register(struct rpc_peer *p, rpc_reply_cb cb, void *arg, uint32_t *ret_msgid)
{
	struct rpc_call *c = xcalloc(1, sizeof *c);
	c->msgid = p->next_msgid++;
	if (p->next_msgid == 0)
		p->next_msgid = 1;
	c->cb = cb;
	c->arg = arg;
	c->next = p->calls;
	p->calls = c;
	p->ncalls++;
	if (ret_msgid)
		*ret_msgid = c->msgid;
	return c->msgid;
}

/* Packer callback for a private buffer: grow by copy-and-wipe. */
static int
private_write_cb(void *data, const char *buf, size_t len)
{
	struct rpc_private *priv = data;
	if (priv->len + len > priv->cap) {
		size_t cap = priv->cap ? priv->cap : 256;
		while (cap < priv->len + len)
			cap *= 2;
		char *n = xmalloc(cap);
		if (priv->data) {
			memcpy(n, priv->data, priv->len);
			explicit_bzero(priv->data, priv->cap);
			free(priv->data);
		}
		priv->data = n;
		priv->cap = cap;
	}
	memcpy(priv->data + priv->len, buf, len);
	priv->len += len;
	return 0;
}

/* Start packing a message that holds a secret. */
msgpack_packer *
rpc_private_begin(struct rpc_private *priv)
{
	priv->data = NULL;
	priv->len = priv->cap = 0;
	msgpack_packer_init(&priv->pk, priv, private_write_cb);
	return &priv->pk;
}

/* libevent is done with a private message: wipe it. */
static void
private_cleanup(const void *data, size_t len, void *arg)
{
	size_t cap = (size_t)(uintptr_t)arg;
	UNUSED(len);
	explicit_bzero((void *)(uintptr_t)data, cap);
	free((void *)(uintptr_t)data);
}

/* Hand a private message to the peer's output by reference. */
void
rpc_private_send(struct rpc_peer *p, struct rpc_private *priv)
{
	if (priv->data == NULL)
		return;
	if (p->closing || evbuffer_add_reference(bufferevent_get_output(p->bev), priv->data,
	    priv->len, private_cleanup, (void *)(uintptr_t)priv->cap) < 0)
		private_cleanup(priv->data, priv->len, (void *)(uintptr_t)priv->cap);
	priv->data = NULL;
	priv->len = priv->cap = 0;
}

/* A call whose request is packed privately. */
msgpack_packer *
rpc_call_private(struct rpc_peer *p, const char *method, rpc_reply_cb cb, void *arg,
    uint32_t *ret_msgid, struct rpc_private *priv)
{
	uint32_t msgid = call_register(p, cb, arg, ret_msgid);
	msgpack_packer *pk = rpc_private_begin(priv);
	rpc_pack_request_begin(pk, msgid, method);
	return pk;
}

/* Unlink and return the pending call with msgid, or NULL. */
static struct rpc_call *
call_take(struct rpc_peer *p, uint32_t msgid)
{
	for (struct rpc_call **cp = &p->calls; *cp; cp = &(*cp)->next) {
		if ((*cp)->msgid == msgid) {
			struct rpc_call *c = *cp;
			*cp = c->next;
			p->ncalls--;
			return c;
		}
	}
	return NULL;
}

/* Drop a pending call without calling it back. */
void
rpc_call_forget(struct rpc_peer *p, uint32_t msgid)
{
	free(call_take(p, msgid));
}

/* Calls sent to the peer still waiting for their answer. */
size_t
rpc_calls_pending(const struct rpc_peer *p)
{
	return p->ncalls;
}


/*
 * A method name: str, or bin as older msgpack-RPC clients send it (Neovim
 * accepts both); 1 to RPC_MAX_METHOD bytes, no NUL. Copied into out.
 */
static int
method_name(const msgpack_object *o, char out[RPC_MAX_METHOD + 1])
{
	const char *p;
	uint32_t n;
	if (o->type == MSGPACK_OBJECT_STR) {
		p = o->via.str.ptr;
		n = o->via.str.size;
	} else if (o->type == MSGPACK_OBJECT_BIN) {
		p = o->via.bin.ptr;
		n = o->via.bin.size;
	} else {
		return -1;
	}
	if (n == 0 || n > RPC_MAX_METHOD || memchr(p, '\0', n) != NULL)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* Check the envelope of a decoded message. */
int
rpc_msg_parse(const msgpack_object *o, struct rpc_msg *m)
{
	memset(m, 0, sizeof *m);
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3)
		return -1;
	const msgpack_object *a = o->via.array.ptr;
	uint32_t n = o->via.array.size;
	if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	switch (a[0].via.u64) {
	case RPC_REQUEST:
		if (n != 4 || a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    a[1].via.u64 > UINT32_MAX || method_name(&a[2], m->method) < 0 ||
		    (a[3].type != MSGPACK_OBJECT_ARRAY && a[3].type != MSGPACK_OBJECT_NIL))
			return -1;
		m->type = RPC_REQUEST;
		m->msgid = (uint32_t)a[1].via.u64;
		m->params = &a[3];
		return 0;
	case RPC_RESPONSE:
		if (n != 4 || a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    a[1].via.u64 > UINT32_MAX)
			return -1;
		m->type = RPC_RESPONSE;
		m->msgid = (uint32_t)a[1].via.u64;
		m->error = &a[2];
		m->result = &a[3];
		return 0;
	case RPC_NOTIFY:
		if (n != 3 || method_name(&a[1], m->method) < 0 ||
		    (a[2].type != MSGPACK_OBJECT_ARRAY && a[2].type != MSGPACK_OBJECT_NIL))
			return -1;
		m->type = RPC_NOTIFY;
		m->params = &a[2];
		return 0;
	default:
		return -1;
	}
}

/*
 * A message too large to decode with the memory left: a request is
 * answered with an error (the peer may try again, smaller or later), any
 * other message closes the peer. The process goes on either way.
 */
static void
peer_out_of_memory(struct rpc_peer *p, const char *data, size_t len)
{
	struct rpc_peek pk;
	if (rpc_peek(data, MIN(len, (size_t)256), &pk) < 0 || pk.type != RPC_REQUEST ||
	    pk.msgid > UINT32_MAX) {
		rpc_peer_close(p, "out of memory decoding a message", false);
		return;
	}
	struct tusk_error e = TUSK_ERROR_INIT;
	terr_set(&e, TE_INTERNAL, "out of memory: a request of %zu bytes could not be read", len);
	terr_code(&e, "limit.memory");
	terr_hint(&e, "the broker is short of memory; send less at once, or try again later");
	rpc_pack_reply_error(&p->pk, (uint32_t)pk.msgid, &e);
	terr_clear(&e);
}

/* Decode the len-byte message at the head of in and dispatch it. */
static void
peer_dispatch(struct rpc_peer *p, struct evbuffer *in, size_t len)
{
	const char *data = (const char *)evbuffer_pullup(in, (ssize_t)len);
	size_t off = 0;
	struct rpc_msg m;

	if (data == NULL) {
		evbuffer_drain(in, len);
		rpc_peer_close(p, "out of memory reading a message", false);
		return;
	}
	int ur = msgpack_unpack_next(&p->unpacked, data, len, &off);
	if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
		peer_out_of_memory(p, data, len);
		evbuffer_drain(in, len);
		return;
	}
	if (ur != MSGPACK_UNPACK_SUCCESS || off != len || rpc_msg_parse(&p->unpacked.data, &m) < 0) {
		evbuffer_drain(in, len);
		peer_fault(p, "malformed msgpack-RPC message");
		return;
	}
	m.raw_len = len;
	if (m.type == RPC_RESPONSE) {
		struct rpc_call *c = call_take(p, m.msgid);
		if (c == NULL) {
			evbuffer_drain(in, len);
			peer_fault(p, "response to an unknown request");
			return;
		}
		const msgpack_object *err = m.error->type == MSGPACK_OBJECT_NIL ? NULL : m.error;
		c->cb(p, err, err ? NULL : m.result, c->arg);
		free(c);
	} else if (p->h.msg) {
		p->h.msg(p, &m, p->arg);
	}
	/* requests may carry secrets: leave nothing behind in the buffer */
	explicit_bzero((void *)(uintptr_t)data, len);
	evbuffer_drain(in, len);
}

/* Take every complete message read so far. */
static void
peer_take(struct rpc_peer *p)
{
	struct evbuffer *in = p->in;

	p->in_read = true;
	while (!p->closing && !p->paused) {
		size_t len;
		int r = mp_scan_evbuffer(&p->scan, in, &len);
		if (r == MP_MORE)
			break;
		if (r < 0) {
			peer_fault(p, mp_scan_strerror(r));
			break;
		}
		mp_scan_reset(&p->scan);
		if (p->h.raw && p->h.raw(p, in, len, p->arg))
			continue;
		peer_dispatch(p, in, len);
	}
	p->in_read = false;
}

/* Read what the socket holds, up to max bytes, into buf with one readv:
 * 1 on bytes, 0 on EOF, -1 with errno (EAGAIN: nothing yet). libevent
 * 2.1's evbuffer_read takes at most 4 KiB a call, which on a row stream
 * is a read, an ioctl and a poll per 4 KiB (issue 16, docs/benchmarks.md). */
int
rpc_read_socket(struct evbuffer *buf, int fd, size_t max)
{
	int avail = 0;
	size_t want = ioctl(fd, FIONREAD, &avail) == 0 && avail > 0 ? (size_t)avail : 4096;
	if (want > max)
		want = max;
	struct evbuffer_iovec v[2];
	int nv = evbuffer_reserve_space(buf, (ev_ssize_t)want, v, 2);
	if (nv <= 0) {
		errno = ENOMEM;
		return -1;
	}
	/* the reservation may be larger than asked: read no more than want */
	struct iovec iov[2];
	size_t room = want;
	for (int i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len < room ? v[i].iov_len : room;
		room -= iov[i].iov_len;
	}
	ssize_t n;
	do
		n = readv(fd, iov, nv);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		int saved = errno;
		evbuffer_commit_space(buf, NULL, 0);
		errno = saved;
		return n == 0 ? 0 : -1;
	}
	size_t left = (size_t)n;
	for (int i = 0; i < nv; i++) {
		size_t k = left < iov[i].iov_len ? left : iov[i].iov_len;
		v[i].iov_len = k;
		left -= k;
	}
	evbuffer_commit_space(buf, v, nv);
	return 1;
}

/* The socket is readable (or a resume asked to take what is buffered). */
static void
peer_readable_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_peer *p = arg;
	UNUSED(what);
	if (p->closing)
		return;
	int r = rpc_read_socket(p->in, (int)fd, RPC_READ_MAX);
	if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		char reason[128];
		snprintf(reason, sizeof reason, "connection error: %s", strerror(errno));
		rpc_peer_close(p, reason, false);
		return;
	}
	if (!p->paused)
		peer_take(p);
	if (r == 0 && !p->closing) {
		/* complete messages still buffered were delivered above, unless
		 * paused: those are dropped with the peer, as before */
		rpc_peer_close(p, "connection closed by peer", false);
	}
}

/* EOF or an error met while writing. */
static void
peer_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rpc_peer *p = arg;
	UNUSED(bev);
	if (p->closing) {
		/* a flushing close met an error or EOF: finish it now */
		bufferevent_disable(p->bev, EV_READ | EV_WRITE);
		peer_schedule_close(p);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* deliver complete messages still buffered before closing */
		if (!p->paused)
			peer_take(p);
		rpc_peer_close(p, "connection closed by peer", false);
	} else if (what & BEV_EVENT_ERROR) {
		char reason[128];
		snprintf(reason, sizeof reason, "connection error: %s", strerror(errno));
		rpc_peer_close(p, reason, false);
	}
}

int
rpc_peek(const void *head, size_t len, struct rpc_peek *pk)
{
	struct mp_cur cur = { head, (const uint8_t *)head + len };
	uint32_t n, one, nkeys;
	uint64_t type;

	memset(pk, 0, sizeof *pk);
	if (mp_cur_array(&cur, &n) < 0 || mp_cur_uint(&cur, &type) < 0)
		return -1;
	if (type == RPC_RESPONSE && n == 4) {
		pk->type = RPC_RESPONSE;
		if (mp_cur_uint(&cur, &pk->msgid) < 0)
			return -1;
		if (mp_cur_nil(&cur) == 0) {
			pk->success = true;
			pk->result_at = (size_t)(cur.p - (const uint8_t *)head);
		}
		return 0;
	}
	if (type == RPC_REQUEST && n == 4) {
		pk->type = RPC_REQUEST;
		if (mp_cur_uint(&cur, &pk->msgid) < 0 || mp_cur_str(&cur, &pk->method, &pk->method_len) < 0)
			return -1;
		return 0;
	}
	if (type != RPC_NOTIFY || n != 3)
		return -1;
	pk->type = RPC_NOTIFY;
	if (mp_cur_str(&cur, &pk->method, &pk->method_len) < 0)
		return -1;
	/* [{query_id: ..., rows: [...]}] */
	if (mp_cur_array(&cur, &one) < 0 || one != 1 || mp_cur_map(&cur, &nkeys) < 0 ||
	    mp_cur_lit(&cur, "query_id") < 0)
		return 0;
	pk->has_query_id = true;
	if (mp_cur_str(&cur, &pk->query_id, &pk->query_id_len) < 0) {
		if (mp_cur_nil(&cur) < 0)
			return -1;
		return 0;
	}
	if (mp_cur_lit(&cur, "rows") == 0 && mp_cur_array(&cur, &pk->nrows) == 0)
		pk->has_rows = true;
	return 0;
}

bool
rpc_peek_is(const struct rpc_peek *pk, const char *name)
{
	size_t n = strlen(name);
	return pk->method && pk->method_len == n && memcmp(pk->method, name, n) == 0;
}

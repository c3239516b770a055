/*
 * test_rpc.c — msgpack-RPC (rpc.c): rpc_msg_parse on every envelope shape,
 * the rpc_pack_* writers, and real peers over a socketpair on an
 * event_base: calls and replies, notifications, the raw hook,
 * pause/resume, closing (pending calls answered with NULLs, the closed
 * callback deferred), malformed input, private (wiped) messages, and the
 * drained callback.
 *
 * The loop is run until a condition holds, with a generous deadline; a test
 * that checks that nothing happens runs the loop for a while and looks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "error.h"
#include "msg.h"
#include "mpbuild.h"
#include "rpc.h"
#include "util.h"

/* ---- rpc_msg_parse --------------------------------------------------- */

/* Parse the notation; returns rpc_msg_parse's result. */
static int
parse(const char *text, struct rpc_msg *m)
{
	struct mpb b;
	int rc = rpc_msg_parse(mpb_parse(&b, "%s", text), m);
	mpb_free(&b);
	return rc;
}

static void
parse_valid(void **state)
{
	struct mpb b;
	struct rpc_msg m;
	(void)state;
	assert_int_equal(rpc_msg_parse(mpb_parse(&b, "[0, 7, health_check, [{a: 1}]]"), &m), 0);
	assert_int_equal(m.type, RPC_REQUEST);
	assert_int_equal(m.msgid, 7);
	assert_string_equal(m.method, "health_check");
	assert_true(mpb_equal(m.params, "[{a: 1}]"));
	assert_null(m.error);
	assert_null(m.result);
	mpb_free(&b);
	/* params may be nil or an empty array; msgid 0 and UINT32_MAX are fine */
	assert_int_equal(rpc_msg_parse(mpb_parse(&b, "[0, 0, m, nil]"), &m), 0);
	assert_int_equal(m.params->type, MSGPACK_OBJECT_NIL);
	mpb_free(&b);
	assert_int_equal(parse("[0, 4294967295, m, []]", &m), 0);
	assert_int_equal(m.msgid, UINT32_MAX);
	/* a method of exactly RPC_MAX_METHOD bytes */
	char m64[RPC_MAX_METHOD + 1];
	memset(m64, 'm', RPC_MAX_METHOD);
	m64[RPC_MAX_METHOD] = '\0';
	assert_int_equal(rpc_msg_parse(mpb_parse(&b, "[0, 1, %s, []]", m64), &m), 0);
	assert_string_equal(m.method, m64);
	mpb_free(&b);

	/* responses: error and result of any type */
	assert_int_equal(rpc_msg_parse(mpb_parse(&b, "[1, 9, nil, {rows: [1, 2]}]"), &m), 0);
	assert_int_equal(m.type, RPC_RESPONSE);
	assert_int_equal(m.msgid, 9);
	assert_int_equal(m.error->type, MSGPACK_OBJECT_NIL);
	assert_true(mpb_equal(m.result, "{rows: [1, 2]}"));
	assert_null(m.params);
	assert_string_equal(m.method, "");
	mpb_free(&b);
	assert_int_equal(parse("[1, 9, {kind: Database, message: x}, nil]", &m), 0);
	assert_int_equal(parse("[1, 4294967295, \"any\", 5]", &m), 0);

	/* notifications */
	assert_int_equal(rpc_msg_parse(mpb_parse(&b, "[2, query_rows, [{n: 2}]]"), &m), 0);
	assert_int_equal(m.type, RPC_NOTIFY);
	assert_int_equal(m.msgid, 0);
	assert_string_equal(m.method, "query_rows");
	assert_true(mpb_equal(m.params, "[{n: 2}]"));
	mpb_free(&b);
	assert_int_equal(parse("[2, log, nil]", &m), 0);

	/* a method name as bin, as older msgpack-RPC clients send it */
	assert_int_equal(parse("[0, 3, b\"health_check\", []]", &m), 0);
	assert_string_equal(m.method, "health_check");
	assert_int_equal(parse("[2, b\"event\", []]", &m), 0);
	assert_string_equal(m.method, "event");
}

static void
parse_invalid(void **state)
{
	struct rpc_msg m;
	(void)state;
	char m65[RPC_MAX_METHOD + 2];
	memset(m65, 'm', RPC_MAX_METHOD + 1);
	m65[RPC_MAX_METHOD + 1] = '\0';
	char *long_req = xasprintf("[0, 1, %s, []]", m65);
	char *long_note = xasprintf("[2, %s, []]", m65);
	const char *bad[] = {
		/* not an envelope */
		"nil", "7", "\"x\"", "{}", "[]", "[0]", "[0, 1]", "{0: 1, 1: 2, 2: 3}",
		/* the type */
		"[3, 1, m, []]", "[-1, 1, m, []]", "[\"0\", 1, m, []]", "[nil, 1, m, []]",
		"[0.0, 1, m, []]", "[18446744073709551615, 1, m, []]",
		/* requests: arity */
		"[0, 1, m]", "[0, 1, m, [], nil]",
		/* requests: msgid */
		"[0, -1, m, []]", "[0, 4294967296, m, []]", "[0, \"1\", m, []]", "[0, nil, m, []]",
		"[0, 1.0, m, []]",
		/* requests: method */
		"[0, 1, \"\", []]", long_req, "[0, 1, \"he\\0alth\", []]", "[0, 1, \"\\0\", []]",
		"[0, 1, 5, []]", "[0, 1, b\"\", []]", "[0, 1, b\"a\\0b\", []]", "[0, 1, nil, []]",
		/* requests: params */
		"[0, 1, m, {}]", "[0, 1, m, 1]", "[0, 1, m, \"x\"]", "[0, 1, m, true]",
		/* responses */
		"[1, 1, nil]", "[1, 1, nil, nil, nil]", "[1, -1, nil, nil]",
		"[1, 4294967296, nil, nil]", "[1, \"1\", nil, nil]", "[1, nil, nil, nil]",
		/* notifications */
		"[2, m]", "[2, m, [], nil]", "[2, \"\", []]", long_note, "[2, \"a\\0\", []]",
		"[2, 1, []]", "[2, m, {}]", "[2, m, 5]",
	};
	for (size_t i = 0; i < nitems(bad); i++) {
		if (parse(bad[i], &m) != -1)
			fail_msg("rpc_msg_parse accepted %s", bad[i]);
	}
	free(long_req);
	free(long_note);
}

/* ---- the writers ----------------------------------------------------- */

/* Pack the notation's object with pk. */
static void
pack_text(msgpack_packer *pk, const char *text)
{
	struct mpb b;
	msgpack_pack_object(pk, *mpb_parse(&b, "%s", text));
	mpb_free(&b);
}

/* Do the bytes in sb encode the same as the notation? */
static bool
bytes_are(const msgpack_sbuffer *sb, const char *text)
{
	struct mpb b;
	mpb_parse(&b, "%s", text);
	bool eq = sb->size == b.sb.size && memcmp(sb->data, b.sb.data, sb->size) == 0;
	mpb_free(&b);
	return eq;
}

static void
writers(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rpc_pack_request_begin(&pk, 7, "echo");
	pack_text(&pk, "[{x: 1}]");
	assert_true(bytes_are(&sb, "[0, 7, echo, [{x: 1}]]"));
	msgpack_sbuffer_clear(&sb);
	rpc_pack_reply_begin(&pk, 4294967295U);
	pack_text(&pk, "{ok: true}");
	assert_true(bytes_are(&sb, "[1, 4294967295, nil, {ok: true}]"));
	msgpack_sbuffer_clear(&sb);
	rpc_pack_notify_begin(&pk, "query_done");
	msgpack_pack_nil(&pk);
	assert_true(bytes_are(&sb, "[2, query_done, nil]"));
	msgpack_sbuffer_clear(&sb);
	struct tusk_error e = TUSK_ERROR_INIT;
	terr_set(&e, TE_VALIDATION, "bad");
	terr_hint(&e, "fix it");
	rpc_pack_reply_error(&pk, 3, &e);
	assert_true(bytes_are(&sb, "[1, 3, {kind: Validation, message: bad, detail: nil, "
	    "hint: \"fix it\", position: nil, code: nil, elapsed_ms: nil}, nil]"));
	terr_clear(&e);
	msgpack_sbuffer_clear(&sb);
	mp_pack_cstr(&pk, NULL);
	mp_pack_cstr(&pk, "");
	mp_pack_key(&pk, "k");
	assert_int_equal(sb.size, 4);
	assert_memory_equal(sb.data, "\xc0\xa0\xa1k", 4);
	msgpack_sbuffer_destroy(&sb);
	/* rpc_packer_init writes into an evbuffer */
	struct evbuffer *out = evbuffer_new();
	rpc_packer_init(&pk, out);
	rpc_pack_notify_begin(&pk, "n");
	msgpack_pack_array(&pk, 0);
	assert_int_equal(evbuffer_get_length(out), 5);
	assert_memory_equal(evbuffer_pullup(out, -1), "\x93\x02\xa1n\x90", 5);
	evbuffer_free(out);
}

/* ---- live peers ------------------------------------------------------ */

#define MAX_REC 64

struct rec {
	enum rpc_type type;
	uint32_t msgid;
	char method[RPC_MAX_METHOD + 1];
	msgpack_sbuffer params; /* re-encoded */
	size_t raw_len;
};

struct side {
	struct rpc_peer *peer;
	int msgs;		 /* requests and notifications delivered */
	struct rec rec[MAX_REC];
	int closed;
	int closed_seq;
	char reason[128];
	int drained;
	size_t drained_len;	 /* output length seen by the last drained callback */
	bool serve;		 /* answer echo/fail requests */
	bool pause_on_msg;	 /* pause itself inside the msg callback */
	int raw_taken;		 /* messages the raw hook took */
	msgpack_sbuffer raw[8];
	bool raw_saw_response;
};

struct reply {
	int calls;
	int seq;
	bool error, result;
	msgpack_sbuffer res; /* re-encoded result or error */
};

struct fx {
	struct event_base *base;
	struct event *tick;
	struct side a, b;
	int fd_b; /* B's end when B is driven by hand, else -1 */
};

static int seq; /* orders callbacks across peers */

static const struct mp_limits wide = { 1 << 20, 16, 1 << 20 };
static const struct mp_limits strict = { 4096, 8, 1024 };

/* Re-encode o into sb. */
static void
keep(msgpack_sbuffer *sb, const msgpack_object *o)
{
	msgpack_packer pk;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *o);
}

/* Does sb hold the encoding of the notation? */
#define assert_kept(sb, text) do { \
	if (!bytes_are((sb), (text))) \
		fail_msg("%s is not %s", #sb, (text)); \
} while (0)

/* The recorder for requests and notifications; optionally a tiny server. */
static void
on_msg(struct rpc_peer *p, const struct rpc_msg *m, void *arg)
{
	struct side *s = arg;
	if (s->msgs < MAX_REC) {
		struct rec *r = &s->rec[s->msgs];
		r->type = m->type;
		r->msgid = m->msgid;
		memcpy(r->method, m->method, sizeof r->method);
		keep(&r->params, m->params);
		r->raw_len = m->raw_len;
	}
	s->msgs++;
	if (s->pause_on_msg)
		rpc_peer_pause(p, true);
	if (!s->serve || m->type != RPC_REQUEST)
		return;
	if (strcmp(m->method, "echo") == 0 || strcmp(m->method, "login") == 0) {
		rpc_pack_reply_begin(rpc_peer_packer(p), m->msgid);
		msgpack_pack_object(rpc_peer_packer(p), *m->params);
	} else if (strcmp(m->method, "fail") == 0) {
		struct tusk_error e = TUSK_ERROR_INIT;
		terr_set(&e, TE_VALIDATION, "bad input");
		terr_hint(&e, "send better input");
		rpc_pack_reply_error(rpc_peer_packer(p), m->msgid, &e);
		terr_clear(&e);
	}
	/* anything else ("slow") stays unanswered */
}

static void
on_closed(struct rpc_peer *p, const char *reason, void *arg)
{
	struct side *s = arg;
	(void)p;
	s->closed++;
	s->closed_seq = ++seq;
	snprintf(s->reason, sizeof s->reason, "%s", reason);
}

static void
on_drained(struct rpc_peer *p, void *arg)
{
	struct side *s = arg;
	s->drained++;
	s->drained_len = rpc_peer_output_len(p);
}

/* Take "rows" notifications as bytes (as the broker does with row batches). */
static bool
on_raw(struct rpc_peer *p, struct evbuffer *in, size_t len, void *arg)
{
	struct side *s = arg;
	struct mp_cur c;
	uint32_t n;
	uint64_t type;
	(void)p;
	c.p = evbuffer_pullup(in, (ssize_t)len);
	c.end = c.p + len;
	if (mp_cur_array(&c, &n) < 0 || mp_cur_uint(&c, &type) < 0)
		return false;
	if (type == RPC_RESPONSE)
		s->raw_saw_response = true;
	if (type != RPC_NOTIFY || mp_cur_lit(&c, "rows") < 0 || s->raw_taken >= 8)
		return false;
	msgpack_sbuffer *sb = &s->raw[s->raw_taken++];
	msgpack_sbuffer_init(sb);
	msgpack_sbuffer_write(sb, (const char *)evbuffer_pullup(in, (ssize_t)len), len);
	evbuffer_drain(in, len);
	return true;
}

static const struct rpc_handlers handlers = { NULL, on_msg, on_closed, on_drained };
static const struct rpc_handlers raw_handlers = { on_raw, on_msg, on_closed, on_drained };

static void
on_reply(struct rpc_peer *p, const msgpack_object *error, const msgpack_object *result, void *arg)
{
	struct reply *r = arg;
	(void)p;
	r->calls++;
	r->seq = ++seq;
	r->error = error != NULL;
	r->result = result != NULL;
	if (error)
		keep(&r->res, error);
	else if (result)
		keep(&r->res, result);
}

static void
reply_free(struct reply *r)
{
	if (r->error || r->result)
		msgpack_sbuffer_destroy(&r->res);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until cond holds; fail after a generous deadline. */
#define RUN_UNTIL(fx, cond) do { \
	int64_t deadline_ = mono_ms() + 10000; \
	while (!(cond) && mono_ms() < deadline_) \
		event_base_loop((fx)->base, EVLOOP_ONCE); \
	if (!(cond)) \
		fail_msg("timed out waiting for %s", #cond); \
} while (0)

/* Run the loop for ms milliseconds. */
static void
run_for(struct fx *fx, int ms)
{
	int64_t end = mono_ms() + ms;
	while (mono_ms() < end)
		event_base_loop(fx->base, EVLOOP_ONCE);
}

/* A base with a ticking timer, so EVLOOP_ONCE always returns soon. */
static int
fx_setup(void **state)
{
	static const struct timeval ten_ms = { 0, 10000 };
	struct fx *fx = xcalloc(1, sizeof *fx);
	fx->base = event_base_new();
	fx->tick = event_new(fx->base, -1, EV_PERSIST, tick, NULL);
	event_add(fx->tick, &ten_ms);
	fx->fd_b = -1;
	seq = 0;
	*state = fx;
	return 0;
}

/* Release what a side recorded. */
static void
side_free(struct side *s)
{
	rpc_peer_free(s->peer);
	for (int i = 0; i < s->msgs && i < MAX_REC; i++)
		msgpack_sbuffer_destroy(&s->rec[i].params);
	for (int i = 0; i < s->raw_taken; i++)
		msgpack_sbuffer_destroy(&s->raw[i]);
	memset(s, 0, sizeof *s);
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;
	side_free(&fx->a);
	side_free(&fx->b);
	if (fx->fd_b >= 0)
		close(fx->fd_b);
	event_free(fx->tick);
	event_base_free(fx->base);
	free(fx);
	return 0;
}

/* Connect A (with ha and la) to B: a peer with the default handlers, or a bare fd. */
static void
fx_connect(struct fx *fx, const struct rpc_handlers *ha, const struct mp_limits *la, bool b_peer)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fx->a.peer = rpc_peer_new(fx->base, sv[0], la, ha, &fx->a);
	assert_non_null(fx->a.peer);
	assert_int_equal(rpc_peer_fd(fx->a.peer), sv[0]);
	/* the peer made its fd non-blocking */
	assert_true(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	if (b_peer) {
		fx->b.peer = rpc_peer_new(fx->base, sv[1], &wide, &handlers, &fx->b);
		assert_non_null(fx->b.peer);
	} else {
		fx->fd_b = sv[1];
		assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	}
}

/* Write the notation's bytes (or raw bytes) on B's bare fd. */
static void
write_b(struct fx *fx, const void *p, size_t len)
{
	assert_int_equal(write(fx->fd_b, p, len), (ssize_t)len);
}

static void
write_b_text(struct fx *fx, const char *text)
{
	struct mpb b;
	mpb_parse(&b, "%s", text);
	write_b(fx, b.sb.data, b.sb.size);
	mpb_free(&b);
}

/* Read what arrives on B's bare fd into sb until it holds want bytes. */
static void
read_b(struct fx *fx, msgpack_sbuffer *sb, size_t want)
{
	char buf[65536];
	int64_t deadline = mono_ms() + 10000;
	while (sb->size < want && mono_ms() < deadline) {
		event_base_loop(fx->base, EVLOOP_ONCE);
		ssize_t n;
		while ((n = read(fx->fd_b, buf, sizeof buf)) > 0)
			msgpack_sbuffer_write(sb, buf, (size_t)n);
	}
	assert_int_equal(sb->size, want);
}

static void
call_reply(void **state)
{
	struct fx *fx = *state;
	struct reply r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	uint32_t id;
	fx_connect(fx, &handlers, &wide, true);
	fx->b.serve = true;

	msgpack_packer *pk = rpc_call(fx->a.peer, "echo", on_reply, &r1, &id);
	pack_text(pk, "[{n: 1, s: \"text\"}]");
	assert_int_equal(id, 1);
	assert_int_equal(rpc_calls_pending(fx->a.peer), 1);
	RUN_UNTIL(fx, r1.calls == 1);
	/* B saw the request as sent */
	assert_int_equal(fx->b.msgs, 1);
	assert_int_equal(fx->b.rec[0].type, RPC_REQUEST);
	assert_int_equal(fx->b.rec[0].msgid, 1);
	assert_string_equal(fx->b.rec[0].method, "echo");
	assert_kept(&fx->b.rec[0].params, "[{n: 1, s: \"text\"}]");
	struct mpb whole;
	mpb_parse(&whole, "[0, 1, echo, [{n: 1, s: \"text\"}]]");
	assert_int_equal(fx->b.rec[0].raw_len, whole.sb.size);
	mpb_free(&whole);
	/* A got the result, no error */
	assert_true(r1.result);
	assert_false(r1.error);
	assert_kept(&r1.res, "[{n: 1, s: \"text\"}]");
	assert_int_equal(rpc_calls_pending(fx->a.peer), 0);
	assert_int_equal(fx->a.msgs, 0); /* responses never reach the msg handler */

	/* an error reply: error set, result NULL, readable as a tusk_error */
	pk = rpc_call(fx->a.peer, "fail", on_reply, &r2, &id);
	msgpack_pack_array(pk, 0);
	assert_int_equal(id, 2);
	RUN_UNTIL(fx, r2.calls == 1);
	assert_true(r2.error);
	assert_false(r2.result);
	struct tusk_error e = TUSK_ERROR_INIT;
	msgpack_unpacked u;
	size_t off = 0;
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, r2.res.data, r2.res.size, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(terr_unpack(&u.data, &e), 0);
	assert_int_equal(e.kind, TE_VALIDATION);
	assert_string_equal(e.message, "bad input");
	assert_string_equal(e.hint, "send better input");
	terr_clear(&e);
	msgpack_unpacked_destroy(&u);

	/* no msgid wanted back */
	pk = rpc_call(fx->a.peer, "echo", on_reply, &r3, NULL);
	msgpack_pack_nil(pk);
	RUN_UNTIL(fx, r3.calls == 1);
	assert_int_equal(fx->b.rec[2].msgid, 3);
	assert_kept(&fx->b.rec[2].params, "nil");
	assert_kept(&r3.res, "nil");
	/* nothing is called twice */
	run_for(fx, 30);
	assert_int_equal(r1.calls + r2.calls + r3.calls, 3);
	reply_free(&r1);
	reply_free(&r2);
	reply_free(&r3);
}

/* Replies in any order reach their own callbacks. */
static void
replies_out_of_order(void **state)
{
	struct fx *fx = *state;
	struct reply r[3] = { { 0 } };
	fx_connect(fx, &handlers, &wide, true);
	for (int i = 0; i < 3; i++) {
		msgpack_packer *pk = rpc_call(fx->a.peer, "slow", on_reply, &r[i], NULL);
		msgpack_pack_array(pk, 0);
	}
	assert_int_equal(rpc_calls_pending(fx->a.peer), 3);
	RUN_UNTIL(fx, fx->b.msgs == 3);
	for (int i = 2; i >= 0; i--) {
		msgpack_packer *pk = rpc_peer_packer(fx->b.peer);
		rpc_pack_reply_begin(pk, fx->b.rec[i].msgid);
		msgpack_pack_int(pk, 100 + i);
	}
	RUN_UNTIL(fx, r[0].calls == 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r[i].calls, 1);
		char want[32];
		snprintf(want, sizeof want, "%d", 100 + i);
		assert_kept(&r[i].res, want);
		reply_free(&r[i]);
	}
	assert_true(r[2].seq < r[1].seq && r[1].seq < r[0].seq);
	assert_int_equal(rpc_calls_pending(fx->a.peer), 0);
}

static void
notifications(void **state)
{
	struct fx *fx = *state;
	fx_connect(fx, &handlers, &wide, true);
	msgpack_packer *pk = rpc_peer_packer(fx->b.peer);
	for (int i = 0; i < 3; i++) {
		rpc_pack_notify_begin(pk, "progress");
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 1);
		mp_pack_key(pk, "i");
		msgpack_pack_int(pk, i);
	}
	rpc_pack_notify_begin(pk, "bare");
	msgpack_pack_nil(pk);
	RUN_UNTIL(fx, fx->a.msgs == 4);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fx->a.rec[i].type, RPC_NOTIFY);
		assert_int_equal(fx->a.rec[i].msgid, 0);
		assert_string_equal(fx->a.rec[i].method, "progress");
		char want[32];
		snprintf(want, sizeof want, "[{i: %d}]", i);
		assert_kept(&fx->a.rec[i].params, want);
	}
	assert_string_equal(fx->a.rec[3].method, "bare");
	assert_kept(&fx->a.rec[3].params, "nil");
	/* a request the other way reaches A's msg handler */
	struct reply r = { 0 };
	pk = rpc_call(fx->b.peer, "ping", on_reply, &r, NULL);
	msgpack_pack_array(pk, 0);
	RUN_UNTIL(fx, fx->a.msgs == 5);
	assert_int_equal(fx->a.rec[4].type, RPC_REQUEST);
	assert_string_equal(fx->a.rec[4].method, "ping");
	assert_int_equal(r.calls, 0);
}

static void
raw_hook(void **state)
{
	struct fx *fx = *state;
	struct reply r = { 0 };
	fx_connect(fx, &raw_handlers, &wide, true);
	fx->b.serve = true;
	const char *sent[] = {
		"[2, rows, [{q: 1, rows: [[1, a], [2, b]]}]]",
		"[2, other, [{x: 1}]]",
		"[2, rows, [{q: 1, rows: []}]]",
	};
	msgpack_packer *pk = rpc_peer_packer(fx->b.peer);
	for (size_t i = 0; i < nitems(sent); i++)
		pack_text(pk, sent[i]);
	/* a response also passes the raw hook, which declines it */
	pk = rpc_call(fx->a.peer, "echo", on_reply, &r, NULL);
	msgpack_pack_array(pk, 0);
	RUN_UNTIL(fx, fx->a.raw_taken == 2 && fx->a.msgs == 1 && r.calls == 1);
	/* the taken messages are byte for byte what B sent */
	assert_kept(&fx->a.raw[0], sent[0]);
	assert_kept(&fx->a.raw[1], sent[2]);
	/* the declined one was decoded as usual */
	assert_string_equal(fx->a.rec[0].method, "other");
	assert_kept(&fx->a.rec[0].params, "[{x: 1}]");
	assert_true(fx->a.raw_saw_response);
	assert_true(r.result);
	reply_free(&r);
	run_for(fx, 30);
	assert_int_equal(fx->a.msgs, 1);
	assert_int_equal(fx->a.closed, 0);
}

static void
pause_resume(void **state)
{
	struct fx *fx = *state;
	fx_connect(fx, &handlers, &wide, true);
	/* A pauses itself on the first message; the others wait in its input buffer */
	fx->a.pause_on_msg = true;
	msgpack_packer *pk = rpc_peer_packer(fx->b.peer);
	for (int i = 0; i < 3; i++) {
		rpc_pack_notify_begin(pk, "n");
		msgpack_pack_array(pk, 1);
		msgpack_pack_int(pk, i);
	}
	RUN_UNTIL(fx, fx->a.msgs == 1);
	assert_true(rpc_peer_paused(fx->a.peer));
	run_for(fx, 100);
	assert_int_equal(fx->a.msgs, 1);
	assert_true(rpc_peer_input_len(fx->a.peer) > 0);
	/* resuming delivers what was buffered, though no new byte arrives */
	fx->a.pause_on_msg = false;
	rpc_peer_pause(fx->a.peer, false);
	assert_false(rpc_peer_paused(fx->a.peer));
	RUN_UNTIL(fx, fx->a.msgs == 3);
	for (int i = 0; i < 3; i++) {
		char want[32];
		snprintf(want, sizeof want, "[%d]", i);
		assert_kept(&fx->a.rec[i].params, want);
	}
	/* paused from outside: nothing is read until resumed */
	rpc_peer_pause(fx->a.peer, true);
	rpc_peer_pause(fx->a.peer, true); /* idempotent */
	for (int i = 3; i < 5; i++) {
		rpc_pack_notify_begin(pk, "n");
		msgpack_pack_array(pk, 1);
		msgpack_pack_int(pk, i);
	}
	run_for(fx, 100);
	assert_int_equal(fx->a.msgs, 3);
	rpc_peer_pause(fx->a.peer, false);
	RUN_UNTIL(fx, fx->a.msgs == 5);
	assert_kept(&fx->a.rec[4].params, "[4]");
	assert_int_equal(fx->a.closed, 0);
}

/* The peer going away answers every pending call with NULLs, then closes. */
static void
close_answers_pending_calls(void **state)
{
	struct fx *fx = *state;
	struct reply r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	uint32_t id3;
	fx_connect(fx, &handlers, &wide, true);
	msgpack_pack_array(rpc_call(fx->a.peer, "slow", on_reply, &r1, NULL), 0);
	msgpack_pack_array(rpc_call(fx->a.peer, "slow", on_reply, &r2, NULL), 0);
	msgpack_pack_array(rpc_call(fx->a.peer, "slow", on_reply, &r3, &id3), 0);
	/* a forgotten call is never called back */
	rpc_call_forget(fx->a.peer, id3);
	rpc_call_forget(fx->a.peer, 12345); /* unknown: nothing happens */
	assert_int_equal(rpc_calls_pending(fx->a.peer), 2);
	RUN_UNTIL(fx, fx->b.msgs == 3);
	rpc_peer_free(fx->b.peer);
	fx->b.peer = NULL;
	RUN_UNTIL(fx, fx->a.closed == 1);
	assert_string_equal(fx->a.reason, "connection closed by peer");
	assert_true(rpc_peer_closing(fx->a.peer));
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r2.calls, 1);
	assert_false(r1.error || r1.result);
	assert_false(r2.error || r2.result);
	assert_true(r1.seq < fx->a.closed_seq && r2.seq < fx->a.closed_seq);
	assert_int_equal(r3.calls, 0);
	assert_int_equal(rpc_calls_pending(fx->a.peer), 0);
	run_for(fx, 30);
	assert_int_equal(fx->a.closed, 1); /* once */
}

/* rpc_peer_close never calls back at once; freeing never calls back. */
static void
close_is_deferred(void **state)
{
	struct fx *fx = *state;
	struct reply r = { 0 }, rb = { 0 };
	fx_connect(fx, &handlers, &wide, true);
	msgpack_pack_array(rpc_call(fx->a.peer, "slow", on_reply, &r, NULL), 0);
	RUN_UNTIL(fx, fx->b.msgs == 1);
	rpc_peer_close(fx->a.peer, "done here", false);
	assert_true(rpc_peer_closing(fx->a.peer));
	assert_int_equal(fx->a.closed, 0);
	assert_int_equal(r.calls, 0);
	rpc_peer_close(fx->a.peer, "second reason", false); /* ignored */
	rpc_peer_pause(fx->a.peer, true);		     /* no effect once closing */
	assert_false(rpc_peer_paused(fx->a.peer));
	RUN_UNTIL(fx, fx->a.closed == 1);
	assert_string_equal(fx->a.reason, "done here");
	assert_int_equal(r.calls, 1);
	assert_false(r.error || r.result);
	/* B notices when A's socket is freed */
	assert_int_equal(fx->b.closed, 0);
	rpc_peer_free(fx->a.peer);
	fx->a.peer = NULL;
	RUN_UNTIL(fx, fx->b.closed == 1);
	assert_string_equal(fx->b.reason, "connection closed by peer");

	/* freeing a peer with a pending call drops the call silently */
	side_free(&fx->b);
	fx_connect(fx, &handlers, &wide, true);
	msgpack_pack_array(rpc_call(fx->a.peer, "slow", on_reply, &rb, NULL), 0);
	rpc_peer_free(fx->a.peer);
	fx->a.peer = NULL;
	run_for(fx, 30);
	assert_int_equal(rb.calls, 0);
}

/* A flushing close sends what is queued before the closed callback. */
static void
close_flushes(void **state)
{
	struct fx *fx = *state;
	fx_connect(fx, &handlers, &wide, true);
	msgpack_packer *pk = rpc_peer_packer(fx->a.peer);
	rpc_pack_notify_begin(pk, "goodbye");
	pack_text(pk, "[{why: shutdown}]");
	rpc_peer_close(fx->a.peer, "shutting down", true);
	assert_int_equal(fx->a.closed, 0);
	RUN_UNTIL(fx, fx->b.msgs == 1 && fx->a.closed == 1);
	assert_string_equal(fx->b.rec[0].method, "goodbye");
	assert_string_equal(fx->a.reason, "shutting down");
	assert_int_equal(rpc_peer_output_len(fx->a.peer), 0);
}

struct bad_case {
	const char *text; /* notation, or NULL for bytes */
	const char *bytes;
	size_t len;
	const char *reason;
};

/* Feed B's bytes to A (strict limits) and expect A closed with reason. */
static void
expect_close(struct fx *fx, const struct bad_case *c, int msgs_before)
{
	struct reply r = { 0 };
	fx_connect(fx, &handlers, &strict, false);
	/* a call in flight is answered with NULLs when the peer is dropped */
	msgpack_pack_array(rpc_call(fx->a.peer, "slow", on_reply, &r, NULL), 0);
	if (c->text)
		write_b_text(fx, c->text);
	else
		write_b(fx, c->bytes, c->len);
	RUN_UNTIL(fx, fx->a.closed == 1);
	if (strcmp(fx->a.reason, c->reason) != 0)
		fail_msg("%s: closed with \"%s\", want \"%s\"", c->text ? c->text : "(bytes)",
		    fx->a.reason, c->reason);
	assert_int_equal(fx->a.msgs, msgs_before);
	assert_int_equal(r.calls, 1);
	assert_false(r.error || r.result);
	side_free(&fx->a);
	close(fx->fd_b);
	fx->fd_b = -1;
}

static void
malformed_closes(void **state)
{
	struct fx *fx = *state;
	static char long_str[1 + 2 + 2000 + 16];
	static char big[4 + 300 * 21];
	static char deep[16];
	const char *mal = "malformed msgpack-RPC message";

	/* a str16 of 2000 bytes: above max_str 1024 */
	long_str[0] = (char)0x91;
	long_str[1] = (char)0xda;
	long_str[2] = (char)(2000 >> 8);
	long_str[3] = (char)(2000 & 0xff);
	memset(long_str + 4, 'x', 2000);
	/* an array of 300 strings of 20 bytes: above max_msg 4096 */
	big[0] = (char)0xdc;
	big[1] = (char)(300 >> 8);
	big[2] = (char)(300 & 0xff);
	for (int i = 0; i < 300; i++) {
		big[3 + i * 21] = (char)(0xa0 | 20);
		memset(big + 4 + i * 21, 'y', 20);
	}
	/* ten nested arrays: deeper than 8 */
	memset(deep, 0x91, 10);
	deep[10] = (char)0xc0;

	const struct bad_case cases[] = {
		{ "[5, 1, x, []]", NULL, 0, mal },
		{ "7", NULL, 0, mal },
		{ "{}", NULL, 0, mal },
		{ "[0, 1, \"\", []]", NULL, 0, mal },
		{ "[0, 4294967296, m, []]", NULL, 0, mal },
		{ "[0, 1, \"a\\0b\", []]", NULL, 0, mal },
		{ "[2, m, {}]", NULL, 0, mal },
		{ "[1, 99, nil, nil]", NULL, 0, "response to an unknown request" },
		{ NULL, "\xc1", 1, "invalid msgpack byte" },
		{ NULL, long_str, 4 + 2000, "string or binary value too long" },
		{ NULL, big, 3 + 300 * 21, "message too large" },
		{ NULL, deep, 11, "message nested too deeply" },
		{ NULL, "\xdd\xff\xff\xff\xff", 5, "container larger than the message can hold" },
	};
	for (size_t i = 0; i < nitems(cases); i++)
		expect_close(fx, &cases[i], 0);

	/* good messages before the bad one are delivered first */
	struct mpb b;
	mpb_parse(&b, "[2, fine, []]");
	char both[64];
	memcpy(both, b.sb.data, b.sb.size);
	memcpy(both + b.sb.size, b.sb.data, b.sb.size);
	both[2 * b.sb.size] = (char)0xc1;
	const struct bad_case after = { NULL, both, 2 * b.sb.size + 1, "invalid msgpack byte" };
	expect_close(fx, &after, 2);
	mpb_free(&b);
}

/* EOF: complete messages still buffered are delivered, a partial one is not. */
static void
eof_delivers_complete_messages(void **state)
{
	struct fx *fx = *state;
	struct mpb b;
	fx_connect(fx, &handlers, &strict, false);
	mpb_parse(&b, "[2, last_words, [{n: 1}]]");
	write_b(fx, b.sb.data, b.sb.size);
	write_b(fx, b.sb.data, b.sb.size - 3); /* a truncated second copy */
	close(fx->fd_b);
	fx->fd_b = -1;
	RUN_UNTIL(fx, fx->a.closed == 1);
	assert_int_equal(fx->a.msgs, 1);
	assert_string_equal(fx->a.rec[0].method, "last_words");
	assert_string_equal(fx->a.reason, "connection closed by peer");
	mpb_free(&b);
}

static void
private_messages(void **state)
{
	struct fx *fx = *state;
	struct reply r = { 0 };
	struct rpc_private priv;
	uint32_t id;
	fx_connect(fx, &handlers, &wide, true);
	fx->b.serve = true;
	/* a call whose request carries a password */
	msgpack_packer *pk = rpc_call_private(fx->a.peer, "login", on_reply, &r, &id, &priv);
	pack_text(pk, "[{user: me, password: \"correct horse battery staple\"}]");
	assert_int_equal(id, 1);
	assert_int_equal(rpc_calls_pending(fx->a.peer), 1);
	rpc_private_send(fx->a.peer, &priv);
	/* the buffer now belongs to libevent */
	assert_null(priv.data);
	assert_int_equal(priv.len, 0);
	assert_int_equal(priv.cap, 0);
	RUN_UNTIL(fx, r.calls == 1);
	assert_string_equal(fx->b.rec[0].method, "login");
	assert_int_equal(fx->b.rec[0].msgid, 1);
	assert_kept(&fx->b.rec[0].params, "[{user: me, password: \"correct horse battery staple\"}]");
	assert_kept(&r.res, "[{user: me, password: \"correct horse battery staple\"}]");
	reply_free(&r);
	/* sending an empty private buffer does nothing */
	rpc_private_begin(&priv);
	rpc_private_send(fx->a.peer, &priv);
	assert_int_equal(rpc_peer_output_len(fx->a.peer), 0);
}

/* A private message that grows its buffer many times arrives byte for byte. */
static void
private_bytes_intact(void **state)
{
	struct fx *fx = *state;
	struct rpc_private priv;
	msgpack_sbuffer want, got;
	msgpack_packer wpk;
	fx_connect(fx, &handlers, &wide, false);
	char *secret = xmalloc(20001);
	for (int i = 0; i < 20000; i++)
		secret[i] = (char)('a' + (i * 7) % 26);
	secret[20000] = '\0';
	msgpack_packer *pk = rpc_private_begin(&priv);
	msgpack_sbuffer_init(&want);
	msgpack_packer_init(&wpk, &want, msgpack_sbuffer_write);
	msgpack_packer *both[2] = { pk, &wpk };
	for (int k = 0; k < 2; k++) {
		rpc_pack_notify_begin(both[k], "secret");
		msgpack_pack_array(both[k], 2);
		/* many small writes first, then one large one */
		msgpack_pack_map(both[k], 40);
		for (int j = 0; j < 40; j++) {
			char key[16];
			snprintf(key, sizeof key, "k%d", j);
			mp_pack_key(both[k], key);
			msgpack_pack_int(both[k], j * 1000);
		}
		mp_pack_cstr(both[k], secret);
	}
	assert_int_equal(priv.len, want.size);
	assert_true(priv.cap >= priv.len);
	rpc_private_send(fx->a.peer, &priv);
	msgpack_sbuffer_init(&got);
	read_b(fx, &got, want.size);
	assert_memory_equal(got.data, want.data, want.size);
	msgpack_sbuffer_destroy(&got);
	msgpack_sbuffer_destroy(&want);
	/* on a closing peer the message is dropped (and wiped), not queued */
	rpc_peer_close(fx->a.peer, "bye", false);
	pk = rpc_private_begin(&priv);
	rpc_pack_notify_begin(pk, "secret");
	msgpack_pack_array(pk, 1);
	mp_pack_cstr(pk, secret);
	rpc_private_send(fx->a.peer, &priv);
	assert_null(priv.data);
	assert_int_equal(rpc_peer_output_len(fx->a.peer), 0);
	free(secret);
}

static void
drained_fires(void **state)
{
	struct fx *fx = *state;
	fx_connect(fx, &handlers, &wide, true);
	/* low mark 0: fires once everything queued is written */
	rpc_peer_watch_output(fx->a.peer, 0);
	rpc_pack_notify_begin(rpc_peer_packer(fx->a.peer), "n");
	msgpack_pack_array(rpc_peer_packer(fx->a.peer), 0);
	RUN_UNTIL(fx, fx->a.drained >= 1);
	assert_int_equal(fx->a.drained_len, 0);
	RUN_UNTIL(fx, fx->b.msgs == 1);

	/* a reader that stops: A's output backs up above the mark, no callback */
	fx->a.drained = 0;
	rpc_peer_watch_output(fx->a.peer, 1024);
	rpc_peer_pause(fx->b.peer, true);
	char *chunk = xmalloc(16384);
	memset(chunk, 'z', 16384);
	msgpack_packer *pk = rpc_peer_packer(fx->a.peer);
	for (int i = 0; i < 256; i++) { /* 4 MiB: more than any socket buffer here */
		rpc_pack_notify_begin(pk, "chunk");
		msgpack_pack_array(pk, 1);
		msgpack_pack_bin(pk, 16384);
		msgpack_pack_bin_body(pk, chunk, 16384);
	}
	free(chunk);
	run_for(fx, 100);
	assert_true(rpc_peer_output_len(fx->a.peer) > 1024);
	assert_int_equal(fx->a.drained, 0);
	/* the reader resumes: the output falls to the mark and the callback runs */
	rpc_peer_pause(fx->b.peer, false);
	RUN_UNTIL(fx, fx->a.drained >= 1 && fx->b.msgs == 257);
	assert_true(fx->a.drained_len <= 1024);
	assert_int_equal(fx->a.closed + fx->b.closed, 0);
	/* no drained callback once closing */
	int before = fx->a.drained;
	rpc_pack_notify_begin(pk, "n");
	msgpack_pack_array(pk, 0);
	rpc_peer_close(fx->a.peer, "bye", true);
	RUN_UNTIL(fx, fx->a.closed == 1);
	assert_int_equal(fx->a.drained, before);
}

static void
peer_accessors(void **state)
{
	struct fx *fx = *state;
	struct side other = { 0 };
	fx_connect(fx, &handlers, &wide, true);
	assert_non_null(rpc_peer_output(fx->a.peer));
	assert_int_equal(rpc_peer_input_len(fx->a.peer), 0);
	rpc_pack_notify_begin(rpc_peer_packer(fx->a.peer), "queued");
	msgpack_pack_array(rpc_peer_packer(fx->a.peer), 0);
	assert_int_equal(rpc_peer_output_len(fx->a.peer), evbuffer_get_length(rpc_peer_output(fx->a.peer)));
	assert_true(rpc_peer_output_len(fx->a.peer) > 0);
	RUN_UNTIL(fx, fx->b.msgs == 1);
	/* set_arg redirects callbacks to a new owner */
	rpc_peer_set_arg(fx->a.peer, &other);
	rpc_pack_notify_begin(rpc_peer_packer(fx->b.peer), "to_other");
	msgpack_pack_array(rpc_peer_packer(fx->b.peer), 0);
	RUN_UNTIL(fx, other.msgs == 1);
	assert_int_equal(fx->a.msgs, 0);
	assert_string_equal(other.rec[0].method, "to_other");
	msgpack_sbuffer_destroy(&other.rec[0].params);
	rpc_peer_set_arg(fx->a.peer, &fx->a);
}

/* One read takes what the socket holds (libevent 2.1's own read stops at
 * 4 KiB), bounded by max; then EAGAIN; then EOF. */
static void
read_socket_takes_what_is_there(void **state)
{
	UNUSED(state);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	evutil_make_socket_nonblocking(sv[0]);
	enum { N = 100000 };
	static unsigned char out[N], back[N];
	for (size_t i = 0; i < N; i++)
		out[i] = (unsigned char)(i * 7 + i / 251);
	assert_int_equal(write(sv[1], out, N), N);
	struct evbuffer *b = evbuffer_new();
	assert_int_equal(rpc_read_socket(b, sv[0], 10000), 1);
	assert_int_equal(evbuffer_get_length(b), 10000);
	assert_int_equal(rpc_read_socket(b, sv[0], RPC_READ_MAX), 1);
	assert_int_equal(evbuffer_get_length(b), N);
	assert_int_equal(evbuffer_remove(b, back, N), N);
	assert_memory_equal(back, out, N);
	errno = 0;
	assert_int_equal(rpc_read_socket(b, sv[0], RPC_READ_MAX), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	assert_int_equal(evbuffer_get_length(b), 0);
	close(sv[1]);
	assert_int_equal(rpc_read_socket(b, sv[0], RPC_READ_MAX), 0);
	assert_int_equal(evbuffer_get_length(b), 0);
	evbuffer_free(b);
	close(sv[0]);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_valid),
		cmocka_unit_test(parse_invalid),
		cmocka_unit_test(writers),
		cmocka_unit_test(read_socket_takes_what_is_there),
		T(call_reply),
		T(replies_out_of_order),
		T(notifications),
		T(raw_hook),
		T(pause_resume),
		T(close_answers_pending_calls),
		T(close_is_deferred),
		T(close_flushes),
		T(malformed_closes),
		T(eof_delivers_complete_messages),
		T(private_messages),
		T(private_bytes_intact),
		T(drained_fires),
		T(peer_accessors),
	};
	int rc = cmocka_run_group_tests_name("rpc", tests, NULL, NULL);
	libevent_global_shutdown();
	return rc;
}

/*
 * link.c — tuskctl's connection to the broker: find the socket, start the
 * broker when it is not running (as tmux starts its server), and run one
 * call at a time on a small libevent loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "brokersock.h"
#include "ctl.h"
#include "log.h"
#include "paths.h"
#include "proto.h"
#include "util.h"

extern char **environ;

struct tusk_error ctl_last_error = TUSK_ERROR_INIT;

static struct {
	struct event_base *base;
	struct rpc_peer *peer;
	bool done;
	bool closed;
	bool quiet;
	int status;
	ctl_result_fn res_fn;
	void *res_arg;
	ctl_notify_fn notify_fn;
	void *notify_arg;
	ctl_raw_fn raw_fn;
	void *raw_arg;
	void (*int_fn)(void *);
	void *int_arg;
	struct event *ev_int;
	char *close_reason;
} lnk;

/* Print an error with its hint to stderr. */
void
ctl_print_error(const struct tusk_error *e)
{
	fprintf(stderr, "error: %s\n", e->message ? e->message : "unknown error");
	if (e->detail)
		fprintf(stderr, "detail: %s\n", e->detail);
	if (e->code)
		fprintf(stderr, "code: %s (%s)\n", e->code, terr_kind_name(e->kind));
	else if (e->kind != TE_NONE)
		fprintf(stderr, "kind: %s\n", terr_kind_name(e->kind));
	if (e->position > 0)
		fprintf(stderr, "position: %lld\n", (long long)e->position);
	if (e->line > 0 && e->column)
		fprintf(stderr, "at: line %lld, column %s\n", (long long)e->line, e->column);
	else if (e->line > 0)
		fprintf(stderr, "at: line %lld\n", (long long)e->line);
	if (e->elapsed_ms >= 0)
		fprintf(stderr, "elapsed: %lld ms\n", (long long)e->elapsed_ms);
	if (e->hint)
		fprintf(stderr, "hint: %s\n", e->hint);
	const struct tusk_host_key *hk = e->host_key;
	if (hk && hk->status && strcmp(hk->status, "unknown") == 0 && hk->connection_id && hk->fingerprint)
		fprintf(stderr, "to trust it: tuskctl trust-host-key %s %s\n", hk->connection_id,
		    hk->fingerprint);
}

/* An empty params array. */
void
pack_no_params(msgpack_packer *pk, void *arg)
{
	UNUSED(arg);
	msgpack_pack_array(pk, 0);
}

static void link_msg(struct rpc_peer *p, const struct rpc_msg *m, void *arg);
static void link_closed(struct rpc_peer *p, const char *reason, void *arg);
static bool link_raw(struct rpc_peer *p, struct evbuffer *in, size_t len, void *arg);

static const struct rpc_handlers link_handlers = {
	.raw = link_raw,
	.msg = link_msg,
	.closed = link_closed,
};

/* A complete message as bytes: the command may take it without decoding. */
static bool
link_raw(struct rpc_peer *p, struct evbuffer *in, size_t len, void *arg)
{
	UNUSED(p);
	UNUSED(arg);
	if (lnk.raw_fn == NULL)
		return false;
	const uint8_t *data = evbuffer_pullup(in, (ssize_t)len);
	if (data == NULL || !lnk.raw_fn(data, len, lnk.raw_arg))
		return false;
	evbuffer_drain(in, len);
	return true;
}

/* Let fn take the broker's messages undecoded (NULL: none); those it refuses are decoded. */
void
ctl_set_raw(ctl_raw_fn fn, void *arg)
{
	lnk.raw_fn = fn;
	lnk.raw_arg = arg;
}

/* Reach the broker, starting it if needed. */
int
ctl_connect(void)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	int fd = brokersock_open(!ctl.no_start, &e);
	if (fd < 0) {
		ctl_print_error(&e);
		terr_clear(&e);
		return -1;
	}
	lnk.base = event_base_new();
	struct mp_limits lim = { BROKER_MAX_MSG, BROKER_MAX_DEPTH, BROKER_MAX_STR };
	lnk.peer = rpc_peer_new(lnk.base, fd, &lim, &link_handlers, NULL);
	return lnk.peer ? 0 : -1;
}

/* Close the link. */
void
ctl_disconnect(void)
{
	if (lnk.peer)
		rpc_peer_free(lnk.peer);
	lnk.peer = NULL;
	if (lnk.ev_int)
		event_free(lnk.ev_int);
	lnk.ev_int = NULL;
	if (lnk.base)
		event_base_free(lnk.base);
	lnk.base = NULL;
	free(lnk.close_reason);
	lnk.close_reason = NULL;
	terr_clear(&ctl_last_error);
}

/* A notification from the broker. */
static void
link_msg(struct rpc_peer *p, const struct rpc_msg *m, void *arg)
{
	UNUSED(p);
	UNUSED(arg);
	if (m->type == RPC_NOTIFY && lnk.notify_fn)
		lnk.notify_fn(m, lnk.notify_arg);
}

/* The broker closed the link. */
static void
link_closed(struct rpc_peer *p, const char *reason, void *arg)
{
	UNUSED(p);
	UNUSED(arg);
	lnk.closed = true;
	free(lnk.close_reason);
	lnk.close_reason = xstrdup(reason);
	event_base_loopbreak(lnk.base);
}

/* The call's answer. */
static void
reply_cb(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res, void *arg)
{
	UNUSED(p);
	UNUSED(arg);
	lnk.done = true;
	if (err == NULL && res == NULL) {
		terr_set(&ctl_last_error, TE_CONNECTION, "the broker closed the connection before answering");
		terr_hint(&ctl_last_error, "it may have stopped or crashed; see `tuskctl logs`");
		lnk.status = EXIT_ERR;
	} else if (err) {
		if (terr_unpack(err, &ctl_last_error) < 0)
			terr_set(&ctl_last_error, TE_INTERNAL, "the broker sent a malformed error");
		lnk.status = EXIT_ERR;
	} else {
		lnk.status = EXIT_OK;
		if (lnk.res_fn)
			lnk.res_fn(res, lnk.res_arg);
	}
	event_base_loopbreak(lnk.base);
}

/* SIGINT during a call. */
static void
int_cb(evutil_socket_t sig, short what, void *arg)
{
	UNUSED(sig);
	UNUSED(what);
	UNUSED(arg);
	if (lnk.int_fn) {
		void (*fn)(void *) = lnk.int_fn;
		lnk.int_fn = NULL; /* a second ^C ends tuskctl */
		fn(lnk.int_arg);
		return;
	}
	fprintf(stderr, "interrupted\n");
	_exit(130);
}

void
ctl_on_interrupt(void (*fn)(void *), void *arg)
{
	lnk.int_fn = fn;
	lnk.int_arg = arg;
	if (lnk.ev_int == NULL && lnk.base) {
		lnk.ev_int = evsignal_new(lnk.base, SIGINT, int_cb, NULL);
		/* without it ^C ends tuskctl at once, as it would anyway */
		if (lnk.ev_int == NULL || evsignal_add(lnk.ev_int, NULL) < 0)
			fprintf(stderr, "tuskctl: warning: cannot catch ^C (out of memory)\n");
	}
}

/* Reply to a fire-and-forget request: nothing to do. */
static void
ignore_reply(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res, void *arg)
{
	UNUSED(p);
	UNUSED(res);
	UNUSED(arg);
	if (err) {
		struct tusk_error e = TUSK_ERROR_INIT;
		if (terr_unpack(err, &e) == 0)
			ctl_print_error(&e);
		terr_clear(&e);
	}
}

void
ctl_send(const char *method, ctl_params_fn params, void *params_arg)
{
	if (lnk.peer == NULL || lnk.closed)
		return;
	params(rpc_call(lnk.peer, method, ignore_reply, NULL, NULL), params_arg);
}

/* Run one call to completion. */
static int
call(const char *method, ctl_params_fn params, void *params_arg, ctl_result_fn on_result,
    void *result_arg, ctl_notify_fn on_notify, void *notify_arg, bool quiet)
{
	if (lnk.peer == NULL && ctl_connect() < 0)
		return EXIT_ERR;
	terr_clear(&ctl_last_error);
	lnk.done = false;
	lnk.quiet = quiet;
	lnk.status = EXIT_ERR;
	lnk.res_fn = on_result;
	lnk.res_arg = result_arg;
	lnk.notify_fn = on_notify;
	lnk.notify_arg = notify_arg;
	params(rpc_call(lnk.peer, method, reply_cb, NULL, NULL), params_arg ? params_arg : NULL);
	while (!lnk.done && !lnk.closed)
		if (event_base_loop(lnk.base, EVLOOP_ONCE) < 0)
			break;
	if (!lnk.done) {
		terr_set(&ctl_last_error, TE_CONNECTION, "lost the connection to the broker (%s)",
		    lnk.close_reason ? lnk.close_reason : "closed");
		terr_hint(&ctl_last_error, "it may have stopped or crashed; see `tuskctl logs`");
		lnk.status = EXIT_ERR;
	}
	lnk.notify_fn = NULL;
	if (lnk.status != EXIT_OK && !quiet)
		ctl_print_error(&ctl_last_error);
	return lnk.status;
}

int
ctl_call(const char *method, ctl_params_fn params, void *params_arg, ctl_result_fn on_result,
    void *result_arg, ctl_notify_fn on_notify, void *notify_arg)
{
	return call(method, params, params_arg, on_result, result_arg, on_notify, notify_arg, false);
}

int
ctl_call_quiet(const char *method, ctl_params_fn params, void *params_arg,
    ctl_result_fn on_result, void *result_arg)
{
	return call(method, params, params_arg, on_result, result_arg, NULL, NULL, true);
}

/* ^C while waiting for notifications: a normal way to stop. */
static void
wait_int_cb(evutil_socket_t sig, short what, void *arg)
{
	UNUSED(sig);
	UNUSED(what);
	*(bool *)arg = true;
	event_base_loopbreak(lnk.base);
}

int
ctl_wait_notifications(ctl_notify_fn fn, void *arg)
{
	bool interrupted = false;
	if (lnk.peer == NULL)
		return EXIT_ERR;
	struct event *ev = evsignal_new(lnk.base, SIGINT, wait_int_cb, &interrupted);
	if (ev == NULL || evsignal_add(ev, NULL) < 0) {
		if (ev)
			event_free(ev);
		terr_set(&ctl_last_error, TE_INTERNAL, "cannot catch ^C to stop waiting: out of memory");
		ctl_print_error(&ctl_last_error);
		return EXIT_ERR;
	}
	lnk.notify_fn = fn;
	lnk.notify_arg = arg;
	while (!lnk.closed && !interrupted)
		if (event_base_loop(lnk.base, EVLOOP_ONCE) < 0)
			break;
	lnk.notify_fn = NULL;
	event_free(ev);
	if (interrupted)
		return EXIT_OK;
	terr_set(&ctl_last_error, TE_CONNECTION, "the broker closed the connection (%s)",
	    lnk.close_reason ? lnk.close_reason : "closed");
	terr_hint(&ctl_last_error, "it may have stopped; see `tuskctl logs`");
	ctl_print_error(&ctl_last_error);
	return EXIT_ERR;
}

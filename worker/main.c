/*
 * main.c — tusk-worker: the process the broker spawns for one connection.
 *
 * It finds its socketpair end on fd 3 and nothing else open, locks itself
 * down before reading any order (sandbox-linux.c), then serves the broker's
 * requests: connect, query, catalog, describe, export, import (and its
 * copy_data), cancel, ping, close. It logs by sending records
 * to the broker. It ends when told to close, on SIGTERM, or when the broker
 * goes away (EOF on the socket, or the parent-death signal).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "msg.h"
#include "proto.h"
#include "sandbox.h"
#include "util.h"
#include "wire.h"
#include "worker.h"

struct wk wk;

#ifdef TUSK_SANITIZE
/*
 * Under the address-space cap an allocation may fail: let malloc return
 * NULL (the worker then exits "out of memory") instead of a report.
 */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

#define OUT_LOW (256u * 1024)

/* Log records travel to the broker; stderr until the link is up. */
static void
worker_log_sink(int level, const char *tag, const char *msg, void *arg)
{
	UNUSED(arg);
	if (wk.peer == NULL || rpc_peer_closing(wk.peer)) {
		log_sink_stderr(level, tag, msg, NULL);
		return;
	}
	msgpack_packer *pk = rpc_peer_packer(wk.peer);
	rpc_pack_notify_begin(pk, W_LOG);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2);
	mp_pack_key(pk, "level");
	msgpack_pack_int(pk, level);
	mp_pack_key(pk, "message");
	mp_pack_cstr(pk, msg);
}

/* Begin a success reply. */
msgpack_packer *
wk_reply_begin(uint32_t msgid)
{
	msgpack_packer *pk = rpc_peer_packer(wk.peer);
	rpc_pack_reply_begin(pk, msgid);
	return pk;
}

/* Reply with an error. */
void
wk_reply_error(uint32_t msgid, const struct tusk_error *e)
{
	rpc_pack_reply_error(rpc_peer_packer(wk.peer), msgid, e);
}

/* Exit once the output is flushed (or at once if the broker is gone). */
void
wk_exit(int status)
{
	wk.exit_status = status;
	wk.closing = true;
	if (wk.peer && !rpc_peer_closing(wk.peer))
		rpc_peer_close(wk.peer, "worker exiting", true);
	else
		event_base_loopexit(wk.base, NULL);
}

/* The close order is done: answer it, then leave. */
static void
closed_on_order(void *arg)
{
	if (wk.peer && !rpc_peer_closing(wk.peer))
		msgpack_pack_nil(wk_reply_begin((uint32_t)(uintptr_t)arg));
	wk_exit(0);
}

/* Closed after a signal (or the broker's disappearance): leave. */
static void
closed_then_exit(void *arg)
{
	wk_exit((int)(intptr_t)arg);
}

/* ping: answer at once, from the loop (that is the heartbeat). */
static void
order_ping(uint32_t msgid, const struct params *p)
{
	UNUSED(p);
	msgpack_pack_map(wk_reply_begin(msgid), 0);
}

/* close: end the session, answer, exit. */
static void
order_close(uint32_t msgid, const struct params *p)
{
	UNUSED(p);
	log_debug("closing on the broker's order");
	pg_close(closed_on_order, (void *)(uintptr_t)msgid);
}

/* What the broker may order (wire.h declares the arguments). */
static const struct order {
	const char *name;
	const struct tusk_param *params;
	void (*fn)(uint32_t msgid, const struct params *p);
} orders[] = {
	{ W_PING, wire_ping, order_ping },
	{ W_CONNECT, wire_connect, pg_connect },
	{ W_QUERY, wire_query, pg_query },
	{ W_CATALOG, wire_catalog, pg_catalog },
	{ W_DESCRIBE, wire_describe, pg_describe },
	{ W_EXEC_BATCH, wire_exec_batch, pg_exec_batch },
	{ W_CANCEL, wire_cancel, pg_cancel },
	{ W_EXPORT, wire_export, pg_export },
	{ W_IMPORT, wire_import, pg_import },
	{ W_COPY_DATA, wire_copy_data, pg_copy_data },
	{ W_CLOSE, wire_close, order_close },
};

/* A request or notification from the broker, checked against wire.h. */
static void
broker_msg(struct rpc_peer *p, const struct rpc_msg *m, void *arg)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	struct params prm;
	UNUSED(p);
	UNUSED(arg);
	if (m->type == RPC_NOTIFY) {
		if (strcmp(m->method, W_SET_LOG) == 0 && params_parse(&prm, wire_set_log, m->params, &e) == 0)
			log_set_level((int)params_int(&prm, "level", TLOG_INFO));
		else
			log_warn("ignoring a malformed or unknown notification '%s'", m->method);
		terr_clear(&e);
		return;
	}
	if (wk.closing)
		return;
	for (size_t i = 0; i < nitems(orders); i++) {
		if (strcmp(m->method, orders[i].name) != 0)
			continue;
		if (params_parse(&prm, orders[i].params, m->params, &e) < 0) {
			char *why = e.message ? xstrdup(e.message) : xstrdup("?");
			terr_set(&e, TE_INTERNAL, "worker: malformed order '%s': %s", m->method, why);
			free(why);
			wk_reply_error(m->msgid, &e);
		} else {
			orders[i].fn(m->msgid, &prm);
		}
		terr_clear(&e);
		return;
	}
	terr_set(&e, TE_INTERNAL, "worker: unknown order '%s'", m->method);
	wk_reply_error(m->msgid, &e);
	terr_clear(&e);
}

/* The broker closed the link (or we did, to exit). */
static void
broker_closed(struct rpc_peer *p, const char *reason, void *arg)
{
	UNUSED(arg);
	bool gone = !wk.closing;
	if (gone)
		log_debug("the broker is gone (%s): closing", reason);
	rpc_peer_free(p); /* reason with it */
	wk.peer = NULL;
	if (gone) {
		/* end the session properly, then leave */
		pg_close(closed_then_exit, (void *)(intptr_t)TUSK_EXIT_PARENT);
		return;
	}
	event_base_loopexit(wk.base, NULL);
}

/* Our output to the broker drained: the server may be read again. */
static void
broker_drained(struct rpc_peer *p, void *arg)
{
	UNUSED(p);
	UNUSED(arg);
	pg_output_drained();
}

static const struct rpc_handlers broker_handlers = {
	.msg = broker_msg,
	.closed = broker_closed,
	.drained = broker_drained,
};

/* SIGTERM / SIGINT: finish like a close order. */
static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	UNUSED(what);
	UNUSED(arg);
	log_debug("signal %d: closing", (int)sig);
	pg_close(closed_then_exit, (void *)(intptr_t)0);
}

/* A command-line value out of range: the broker passed something wrong. */
static int
bad_option(const char *name, const char *value)
{
	fprintf(stderr, "tusk-worker: %s: bad value '%s'\n", name, value);
	return 2;
}

/* The first message: the worker runs, sandboxed, and reads orders. From
 * now on the broker judges it by its heartbeats. */
static void
send_hello(void)
{
	msgpack_packer *pk = rpc_peer_packer(wk.peer);
	rpc_pack_notify_begin(pk, W_HELLO);
	msgpack_pack_array(pk, 1);
	MP_PACK_FIELDS(pk,
	    MPF_INT("pid", getpid()),
	    MPF_STR("version", TUSK_VERSION));
}

/* tusk-worker: parse options (or run the selftest), lock down, serve the broker until it goes. */
int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "parent", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "memory-mb", required_argument, NULL, 'm' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sandbox_opts sbo = { WORKER_MEMORY_MB_DEFAULT, -1 };
	long long v;
	int ch;

	/* the selftest has options of its own */
	if (argc > 1 && strcmp(argv[1], "--sandbox-selftest") == 0)
		return sandbox_selftest(argc - 1, argv + 1);

	while ((ch = getopt_long(argc, argv, "p:l:m:V", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (parse_ll(optarg, 1, INT32_MAX, &v) < 0)
				return bad_option("--parent", optarg);
			wk.parent = (pid_t)v;
			break;
		case 'l':
			if (parse_ll(optarg, TLOG_ERROR, TLOG_TRACE, &v) < 0)
				return bad_option("--log-level", optarg);
			log_set_level((int)v);
			break;
		case 'm':
			if (parse_ll(optarg, WORKER_MEMORY_MB_MIN, 1 << 20, &v) < 0)
				return bad_option("--memory-mb", optarg);
			sbo.memory_mb = (int)v;
			break;
		case 'V':
			printf("tusk-worker %s\n", TUSK_VERSION);
			return 0;
		default:
			fprintf(stderr, "usage: tusk-worker --parent PID [--log-level N] [--memory-mb N]\n"
			    "       tusk-worker --sandbox-selftest [options] (see docs/sandbox.md)\n");
			return 2;
		}
	}
	char tag[32];
	snprintf(tag, sizeof tag, "worker[%d]", (int)getpid());
	log_init(tag);
	xalloc_exit_status = TUSK_EXIT_OOM;
	/*
	 * libevent's allocations (our output to the broker) must not fail
	 * silently under the address-space cap: a half-written message would
	 * look like a hung worker. They end the worker "out of memory" too.
	 */
	event_set_mem_functions(xmalloc, xrealloc, free);

	/* die with the broker; if it already died, go now */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
		fprintf(stderr, "tusk-worker: prctl(PR_SET_PDEATHSIG): %s\n", strerror(errno));
		return TUSK_EXIT_SANDBOX;
	}
	if (wk.parent > 0 && getppid() != wk.parent)
		return TUSK_EXIT_PARENT;
	close_from(WORKER_FD + 1);

	struct tusk_error e = TUSK_ERROR_INIT;
	sandbox_set_options(&sbo);
	if (sandbox_base(&e) < 0) {
		fprintf(stderr, "tusk-worker: %s\n", e.message);
		terr_clear(&e);
		return TUSK_EXIT_SANDBOX;
	}

	wk.base = event_base_new();
	if (wk.base == NULL)
		return TUSK_EXIT_OOM;
	struct mp_limits lim = { BROKER_MAX_MSG, BROKER_MAX_DEPTH, BROKER_MAX_STR };
	wk.peer = rpc_peer_new(wk.base, WORKER_FD, &lim, &broker_handlers, NULL);
	if (wk.peer == NULL)
		return TUSK_EXIT_PARENT;
	rpc_peer_watch_output(wk.peer, OUT_LOW);
	log_set_sink(worker_log_sink, NULL);
	send_hello();
	sandbox_log_applied();

	struct event *ev_term = evsignal_new(wk.base, SIGTERM, signal_cb, NULL);
	struct event *ev_int = evsignal_new(wk.base, SIGINT, signal_cb, NULL);
	if (ev_term == NULL || ev_int == NULL || evsignal_add(ev_term, NULL) < 0 ||
	    evsignal_add(ev_int, NULL) < 0)
		return TUSK_EXIT_OOM;
	signal(SIGPIPE, SIG_IGN);

	pg_init();
	event_base_dispatch(wk.base);

	pg_shutdown();
	event_free(ev_term);
	event_free(ev_int);
	if (wk.peer)
		rpc_peer_free(wk.peer);
	event_base_free(wk.base);
	libevent_global_shutdown();
	return wk.exit_status;
}

/*
 * worker.h — tusk-worker's shared state: one process, one server session.
 *
 * The worker is single-threaded: one libevent loop drives the broker's
 * socketpair (main.c) and the libpq connection (pg.c). libpq runs in
 * non-blocking mode, so heartbeats are answered while a query streams.
 * The only blocking calls are PQcancel (~12 ms, to a server we trust
 * enough to connect to) and PQfinish.
 */
#ifndef TUSK_WORKER_H
#define TUSK_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "config.h"
#include "error.h"
#include "rpc.h"

struct event_base;

struct wk {
	struct event_base *base;
	struct rpc_peer *peer;	/* the broker */
	pid_t parent;
	bool closing;
	int exit_status;
};

extern struct wk W;

/* main.c: replies to the broker */
void wk_reply_error(uint32_t msgid, const struct tusk_error *e);
msgpack_packer *wk_reply_begin(uint32_t msgid);
/* Leave after flushing what is queued for the broker. */
void wk_exit(int status);

/* pg.c: the database session */
void pg_init(void);
/* connect {config, password?, ...}: answers msgid when done. */
void pg_connect(uint32_t msgid, const msgpack_object *params);
/* query {query_id, sql, max_rows?, timeout_ms?} */
void pg_query(uint32_t msgid, const msgpack_object *params);
/* cancel {query_id} */
void pg_cancel(uint32_t msgid, const msgpack_object *params);
/* The broker drained our output: resume reading the server. */
void pg_output_drained(void);
/* Cancel what runs, end the session (blocking, short). */
void pg_shutdown(void);

#endif

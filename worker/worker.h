/*
 * worker.h — tusk-worker's shared state: one process, one server session.
 *
 * One libevent loop drives the broker's socketpair (main.c), the libpq
 * connection (pg.c) and the SSH tunnel, if any (tunnel.c). libpq and libssh
 * run in non-blocking mode, so heartbeats are answered while a query
 * streams. PQcancel, which libpq 15 only has blocking, runs on a
 * short-lived thread of its own (cancel.c); the only other blocking calls
 * are PQfinish and the tunnel's bounded goodbye when the worker ends.
 */
#ifndef TUSK_WORKER_H
#define TUSK_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "config.h"
#include "error.h"
#include "msg.h"
#include "rpc.h"

struct event_base;

struct wk {
	struct event_base *base;
	struct rpc_peer *peer;	/* the broker */
	pid_t parent;
	bool closing;
	int exit_status;
};

extern struct wk wk;

/* main.c: replies to the broker */
void wk_reply_error(uint32_t msgid, const struct tusk_error *e);
msgpack_packer *wk_reply_begin(uint32_t msgid);
/* Leave after flushing what is queued for the broker. */
void wk_exit(int status);

/* pg.c: the database session */
void pg_init(void);
/* The orders (arguments checked against wire.h before the call). */
/* connect {config, password?, ...}: answers msgid when done. */
void pg_connect(uint32_t msgid, const struct params *p);
/* query {query_id, sql, max_rows?, timeout_ms?} */
void pg_query(uint32_t msgid, const struct params *p);
/* pg-catalog.c: catalog {query_id, system} (get_schema) and describe
 * {query_id, schema, name, kind?} (describe_object) */
void pg_catalog(uint32_t msgid, const struct params *p);
void pg_describe(uint32_t msgid, const struct params *p);
/* exec_batch {query_id, statements, timeout_ms?}: one transaction (pg-edit.c) */
void pg_exec_batch(uint32_t msgid, const struct params *p);
/* cancel {query_id} */
void pg_cancel(uint32_t msgid, const struct params *p);
/* pg-copy.c: export_query's and import_file's orders. */
void pg_export(uint32_t msgid, const struct params *p);
void pg_import(uint32_t msgid, const struct params *p);
void pg_copy_data(uint32_t msgid, const struct params *p);
/* The broker drained our output: resume reading the server. */
void pg_output_drained(void);
typedef void (*pg_closed_fn)(void *arg);
/* Cancel what runs (waiting for that, boundedly), end the session and the
 * tunnel, then call done. A second call while closing is ignored. */
void pg_close(pg_closed_fn done, void *arg);
/* End the session and the tunnel now (at exit; idempotent). */
void pg_shutdown(void);

#endif

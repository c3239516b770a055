/*
 * proto.h — the Tusk protocol in one place: version, limits, notification
 * names, and the broker<->worker method names.
 *
 * Bump TUSK_PROTOCOL_VERSION when you change anything a peer relies on.
 * Never renumber, never rename: add. The client-facing methods are declared
 * in methods.c (one table, which `describe` answers from).
 */
#ifndef TUSK_PROTO_H
#define TUSK_PROTO_H

#include "version.h"

#define TUSK_PROTOCOL_VERSION 1

/* Limits for what a client may send the broker. */
#define CLIENT_MAX_MSG (32u * 1024 * 1024) /* SQL scripts can be large */
#define CLIENT_MAX_DEPTH 32
#define CLIENT_MAX_STR (32u * 1024 * 1024)

/* Limits for what a worker may send the broker (a batch holds whole rows). */
#define WORKER_MAX_MSG (64u * 1024 * 1024)
#define WORKER_MAX_DEPTH 8
#define WORKER_MAX_STR (64u * 1024 * 1024)

/* Limits for what the broker may send a client or a worker. */
#define BROKER_MAX_MSG (80u * 1024 * 1024)
#define BROKER_MAX_DEPTH 32
#define BROKER_MAX_STR (80u * 1024 * 1024)

/* Rows are sent in batches of about this many encoded bytes. */
#define ROW_BATCH_BYTES (64u * 1024)

/* Notifications the broker sends clients. */
#define N_QUERY_COLUMNS "query_columns" /* {query_id, result_index, columns} */
#define N_QUERY_ROWS "query_rows"	/* {query_id, rows} */
#define N_QUERY_NOTICE "query_notice"	/* {query_id?, connection_id, severity, message, ...} */
#define N_EVENT "event"			/* {topic, type, ...} (subscribe) */

/* The file descriptor a worker finds its socketpair end on. */
#define WORKER_FD 3

/* A worker's address-space cap (tuskd's worker_memory_mb, passed as
 * --memory-mb), in MiB. */
#define WORKER_MEMORY_MB_DEFAULT 2048
#define WORKER_MEMORY_MB_MIN 32

/* Worker exit statuses the broker turns into reasons. */
#define TUSK_EXIT_OOM 71     /* an allocation failed (memory limit) */
#define TUSK_EXIT_SANDBOX 72 /* the sandbox could not be applied */
#define TUSK_EXIT_PARENT 73  /* the broker went away */
#define TUSK_EXIT_SERVER_LOST 74 /* the server ended the session */

/* Broker -> worker requests. */
#define W_CONNECT "connect"   /* {config, password?, ...} -> {backend_pid, server_version, ...} */
#define W_QUERY "query"	      /* {query_id, sql, max_rows?, timeout_ms?} -> totals */
#define W_CANCEL "cancel"     /* {query_id} -> {sent} */
#define W_PING "ping"	      /* {seq} -> {seq} */
#define W_SET_LOG "set_log_level" /* {level} */
#define W_CLOSE "close"	      /* {} -> nil, then exit */

/* Worker -> broker notifications. */
#define W_LOG "log" /* {level, message} */
/* query_columns, query_rows and query_notice are forwarded to the client. */

#endif

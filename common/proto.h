/*
 * proto.h — the Tusk protocol in one place: its version, its limits, the
 * names of every method and notification, the error kinds, the envelope
 * layout several readers rely on, and the broker<->worker messages.
 *
 * Bump TUSK_PROTOCOL_VERSION when you change anything a peer relies on.
 * Never renumber, never rename: add. A method's parameters, result shape
 * and handler are its descriptor, beside the handler (methods.h); this
 * header only names it.
 *
 * The envelope (msgpack-RPC):
 *   request       [0, msgid, method, [{named arguments}]]
 *   response      [1, msgid, error | nil, result | nil]
 *   notification  [2, method, [{named fields}]]
 * A method name is a str (a bin is accepted too, as Neovim does). Every
 * notification about a query (query_columns, query_rows, query_notice,
 * query_progress) has `query_id` as the FIRST key of its map, so that a
 * reader can route it by its first bytes (rpc_peek in rpc.c, the one
 * function that reads that layout); query_rows has `rows` as its second.
 */
#ifndef TUSK_PROTO_H
#define TUSK_PROTO_H

#include "version.h"

#define TUSK_PROTOCOL_VERSION 2

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

/* The error kinds: X(enum, wire name). */
#define TUSK_ERROR_KINDS(X) \
	X(TE_DATABASE, "Database") \
	X(TE_CONNECTION, "Connection") \
	X(TE_STORAGE, "Storage") \
	X(TE_CREDENTIAL, "Credential") \
	X(TE_QUERY_CANCELLED, "QueryCancelled") \
	X(TE_QUERY_TIMEOUT, "QueryTimeout") \
	X(TE_INITIALIZATION, "Initialization") \
	X(TE_VALIDATION, "Validation") \
	X(TE_INTERNAL, "Internal") \
	X(TE_WORKER_LOST, "WorkerLost")

/* Client-facing methods (their descriptors: broker/methods.c lists them). */
#define M_HEALTH_CHECK "health_check"
#define M_GET_APP_INFO "get_app_info"
#define M_GET_LOG_DIRECTORY "get_log_directory"
#define M_DESCRIBE "describe"
#define M_GET_LOG_LEVEL "get_log_level"
#define M_SET_LOG_LEVEL "set_log_level"
#define M_SHUTDOWN "shutdown"
#define M_TEST_CONNECTION "test_connection"
#define M_CONNECT "connect"
#define M_DISCONNECT "disconnect"
#define M_GET_ACTIVE_CONNECTIONS "get_active_connections"
#define M_EXECUTE_QUERY "execute_query"
#define M_CANCEL_QUERY "cancel_query"
#define M_GET_RUNNING_QUERIES "get_running_queries"
#define M_LIST_WORKERS "list_workers"
#define M_KILL_WORKER "kill_worker"
#define M_SUBSCRIBE "subscribe"
#define M_CHECK_KEYCHAIN_AVAILABLE "check_keychain_available"
#define M_GET_KEYCHAIN_STATUS "get_keychain_status"
#define M_HAS_STORED_PASSWORD "has_stored_password"
#define M_LIST_CONNECTIONS "list_connections"
#define M_GET_CONNECTION "get_connection"
#define M_SAVE_CONNECTION "save_connection"
#define M_DELETE_CONNECTION "delete_connection"
#define M_GET_PREFERENCE "get_preference"
#define M_SET_PREFERENCE "set_preference"
#define M_LIST_PREFERENCES "list_preferences"
#define M_CHECK_DATABASE_HEALTH "check_database_health"
#define M_DISMISS_STORAGE_NOTICE "dismiss_storage_notice"
#define M_TRUST_HOST_KEY "trust_host_key"
/* Working with the database (SPEC.md) */
#define M_GET_SCHEMA "get_schema"
#define M_DESCRIBE_OBJECT "describe_object"
#define M_GET_HISTORY "get_history"
#define M_DELETE_HISTORY "delete_history"
#define M_LIST_SAVED_QUERIES "list_saved_queries"
#define M_SAVE_QUERY "save_query"
#define M_DELETE_SAVED_QUERY "delete_saved_query"
#define M_GET_WORKSPACE "get_workspace"
#define M_SAVE_WORKSPACE "save_workspace"
#define M_EXPORT_QUERY "export_query"
#define M_IMPORT_FILE "import_file"
#define M_OPEN_TABLE "open_table"
#define M_APPLY_EDITS "apply_edits"
#define M_GET_SERVER_ACTIVITY "get_server_activity"
#define M_CANCEL_BACKEND "cancel_backend"
#define M_TERMINATE_BACKEND "terminate_backend"
#define M_SET_CONNECTION_LABEL "set_connection_label"

/* Notifications the broker sends clients (their shapes: common/methods.c). */
#define N_QUERY_COLUMNS "query_columns"   /* {query_id, result_index, columns} */
#define N_QUERY_ROWS "query_rows"	  /* {query_id, rows} */
#define N_QUERY_NOTICE "query_notice"	  /* {query_id, severity, message, ...} */
#define N_QUERY_PROGRESS "query_progress" /* {query_id, rows, bytes} */
#define N_SCHEMA_CHANGED "schema_changed" /* {connection_id, version} */
#define N_EVENT "event"			  /* {topic, type, ...} (subscribe) */

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
#define TUSK_EXIT_TUNNEL_LOST 75 /* the SSH tunnel broke */

/* Broker -> worker requests. */
/* {config, password?, ssh_password?, ssh_key_passphrase?, ssl_key_passphrase?,
 *  connect_timeout_s, ssh_keepalive_s, known_hosts?, user_known_hosts?, ssh_auth_sock?}
 * -> {backend_pid, server_version, tls, tls_version, tls_cipher, ssh_tunnel} */
#define W_CONNECT "connect"
#define W_QUERY "query"	      /* {query_id, sql, max_rows?, timeout_ms?} -> totals */
#define W_CANCEL "cancel"     /* {query_id} -> {sent} */
#define W_EXEC_BATCH "exec_batch" /* {query_id, statements, timeout_ms?} -> {committed, ...} */
#define W_PING "ping"	      /* {seq} -> {seq} */
#define W_SET_LOG "set_log_level" /* {level} */
#define W_CLOSE "close"	      /* {} -> nil, then exit */
/* {query_id, system} -> get_schema's result without version and fetched_at */
#define W_CATALOG "catalog"
/* {query_id, schema, name, kind?} -> describe_object's result */
#define W_DESCRIBE "describe"
/* export_query: run sql, stream the file's bytes as export_data
 * notifications (mode "copy": COPY's own bytes; "json"/"ndjson": binary
 * COPY of row_to_json rows; "sql"/"markdown": rows formatted by the worker)
 * -> {row_count} */
#define W_EXPORT "export"
/* import_file: run a COPY ... FROM STDIN (sql), say import_ready, take the
 * file as copy_data orders -> {row_count} */
#define W_IMPORT "import"
/* {query_id, data, last} -> {} once libpq has handed the bytes to the
 * kernel (the broker's window of outstanding chunks) */
#define W_COPY_DATA "copy_data"

/* Worker -> broker notifications. */
/* First message, once the worker is sandboxed and serving: {pid, version}.
 * Until it comes the worker is starting (its own deadline, not heartbeats). */
#define W_HELLO "hello"
#define W_LOG "log" /* {level, message} */
/* Before a connect fails on an unknown SSH host key: what trust_host_key
 * would record. {host, port, key_type, fingerprint, line} */
#define W_HOST_KEY "host_key"
/* A user's query ran DDL (or ended a transaction that did), just before
 * its answer: {query_id}. Not forwarded: the broker marks its cached
 * schema stale and tells clients schema_changed. */
#define W_SCHEMA_TOUCHED "schema_touched"
#define W_EXPORT_DATA "export_data"   /* {query_id, rows, data} */
#define W_IMPORT_READY "import_ready" /* {query_id}: the server takes COPY data */
/* query_columns, query_rows and query_notice are forwarded to the client. */

#endif

/*
 * methods.c — every client-facing method: name, parameters, result.
 */
#include "methods.h"

#include <string.h>

#include "proto.h"
#include "rpc.h"
#include "util.h"

#define END { NULL, 0, 0, NULL }

static const struct tusk_param p_none[] = { END };

static const struct tusk_param p_set_log_level[] = {
	{ "level", TT_STR, 0, "error, warn, info, debug or trace" },
	END,
};

#define SECRET_PARAMS \
	{ "password", TT_STR, P_OPT, "database password (never stored in the config)" }, \
	{ "ssh_password", TT_STR, P_OPT, "SSH password" }, \
	{ "ssh_key_passphrase", TT_STR, P_OPT, "passphrase of the SSH private key" }

static const struct tusk_param p_test_connection[] = {
	{ "config", TT_MAP, 0, "a connection config" },
	SECRET_PARAMS,
	END,
};

static const struct tusk_param p_connect[] = {
	{ "config", TT_MAP, 0, "a connection config (quick connect)" },
	SECRET_PARAMS,
	END,
};

static const struct tusk_param p_connection_id[] = {
	{ "connection_id", TT_STR, 0, "an open connection's id" },
	END,
};

static const struct tusk_param p_execute_query[] = {
	{ "connection_id", TT_STR, 0, "an open connection's id" },
	{ "sql", TT_STR, 0, "one or more SQL statements" },
	{ "query_id", TT_STR, P_OPT, "client-chosen id (UUID); one is made otherwise" },
	{ "max_rows", TT_INT, P_OPT, "answer the rows in the response, at most this many; no row notifications" },
	{ "timeout_ms", TT_INT, P_OPT, "cancel the query after this long (QueryTimeout)" },
	END,
};

static const struct tusk_param p_query_id[] = {
	{ "query_id", TT_STR, 0, "a running query's id" },
	END,
};

static const struct tusk_param p_running[] = {
	{ "connection_id", TT_STR, P_OPT, "only this connection's queries" },
	END,
};

static const struct tusk_param p_kill_worker[] = {
	{ "worker_id", TT_INT, P_OPT, "a worker's id (list_workers)" },
	{ "connection_id", TT_STR, P_OPT, "or an open connection's id: its worker" },
	END,
};

static const struct tusk_param p_subscribe[] = {
	{ "topics", TT_ARRAY, P_OPT, "workers, connections, queries (default: all)" },
	END,
};

const struct tusk_method tusk_methods[M__COUNT] = {
	[M_HEALTH_CHECK] = { "health_check", p_none,
	    "{status, version, protocol_version, pid, uptime_ms, connections, workers, clients, queries}",
	    "Is the broker alive and well?" },
	[M_GET_APP_INFO] = { "get_app_info", p_none,
	    "{name, version, protocol_version, platform, libraries: {libpq, libevent, msgpack}, paths: {data, logs, runtime}}",
	    "What Tusk is running, built with what, keeping its files where." },
	[M_GET_LOG_DIRECTORY] = { "get_log_directory", p_none, "string (path)",
	    "Where the daily log files are." },
	[M_DESCRIBE] = { "describe", p_none,
	    "{protocol_version, methods: [{name, params: [{name, type, optional, doc}], result, doc}], notifications: [...]}",
	    "This table." },
	[M_GET_LOG_LEVEL] = { "get_log_level", p_none, "string", "The current log level." },
	[M_SET_LOG_LEVEL] = { "set_log_level", p_set_log_level, "string (the new level)",
	    "Change the log level of the broker and its workers at run time." },
	[M_SHUTDOWN] = { "shutdown", p_none, "nil",
	    "Close every connection and stop the broker." },
	[M_TEST_CONNECTION] = { "test_connection", p_test_connection,
	    "{success, server_version, latency_ms, error}",
	    "Connect with a throwaway worker, run `select version()`, disconnect." },
	[M_CONNECT] = { "connect", p_connect, "{connection_id}",
	    "Open a connection: one sandboxed worker process, one server session." },
	[M_DISCONNECT] = { "disconnect", p_connection_id, "nil",
	    "Close a connection: its queries are cancelled, its worker exits." },
	[M_GET_ACTIVE_CONNECTIONS] = { "get_active_connections", p_none,
	    "[{connection_id, name, host, port, database, username, connected_at, state, active_queries, server_version, backend_pid, worker_pid, tls, tls_version, read_only}]",
	    "The open connections." },
	[M_EXECUTE_QUERY] = { "execute_query", p_execute_query,
	    "{query_id, columns: [{name, data_type}], rows, row_count, truncated, elapsed_ms, command_tag}",
	    "Run SQL. Rows stream as query_rows notifications (after query_columns); with max_rows they come in the response instead." },
	[M_CANCEL_QUERY] = { "cancel_query", p_query_id, "{cancelled}",
	    "Cancel a queued or running query; its connection stays usable." },
	[M_GET_RUNNING_QUERIES] = { "get_running_queries", p_running,
	    "[{query_id, connection_id, sql, state, started_at, elapsed_ms, row_count}]",
	    "Queries queued or running." },
	[M_LIST_WORKERS] = { "list_workers", p_none,
	    "[{worker_id, pid, role, state, backend_pid, connection_id, connection_name, query_id, query_sql, query_elapsed_ms, rows_streamed, bytes_streamed, rss_bytes, cpu_ms, heartbeat_age_ms, started_at, died_at, death_reason}]",
	    "Every worker process, and the recently dead ones with why they died." },
	[M_KILL_WORKER] = { "kill_worker", p_kill_worker,
	    "{killed, worker_id, pid, reason, backend_pid, backend_terminated, backend_error, hint}",
	    "Stop a worker: cancel its query, SIGTERM, SIGKILL after a grace period; then end its server backend." },
	[M_SUBSCRIBE] = { "subscribe", p_subscribe, "nil",
	    "Receive `event` notifications about workers, connections and queries." },
	[M_CHECK_KEYCHAIN_AVAILABLE] = { "check_keychain_available", p_none, "bool",
	    "Is the OS keychain (Secret Service) running and unlocked? Never prompts." },
	[M_GET_KEYCHAIN_STATUS] = { "get_keychain_status", p_none,
	    "{available, message, hint, checked_at}",
	    "The same, with why it is not available and what to do." },
};

static const char *const notifications[][2] = {
	{ N_QUERY_COLUMNS, "{query_id, result_index, columns: [{name, data_type}]}" },
	{ N_QUERY_ROWS, "{query_id, rows: [[value, ...], ...]}" },
	{ N_QUERY_NOTICE, "{connection_id, query_id, severity, message, code, detail, hint}" },
	{ N_EVENT, "{topic: workers|connections|queries, type, at, dropped?, ...}" },
};

int
method_find(const char *name)
{
	for (int i = 0; i < M__COUNT; i++)
		if (tusk_methods[i].name && strcmp(tusk_methods[i].name, name) == 0)
			return i;
	return -1;
}

/* Pack one parameter declaration. */
static void
pack_param(msgpack_packer *pk, const struct tusk_param *p)
{
	msgpack_pack_map(pk, 4);
	mp_pack_key(pk, "name");
	mp_pack_cstr(pk, p->name);
	mp_pack_key(pk, "type");
	mp_pack_cstr(pk, tusk_type_name(p->type));
	mp_pack_key(pk, "optional");
	if (p->flags & P_OPT)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	mp_pack_key(pk, "doc");
	mp_pack_cstr(pk, p->doc);
}

void
methods_pack_describe(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 4);
	mp_pack_key(pk, "protocol_version");
	msgpack_pack_int(pk, TUSK_PROTOCOL_VERSION);
	mp_pack_key(pk, "version");
	mp_pack_cstr(pk, TUSK_VERSION);
	mp_pack_key(pk, "methods");
	msgpack_pack_array(pk, M__COUNT);
	for (int i = 0; i < M__COUNT; i++) {
		const struct tusk_method *m = &tusk_methods[i];
		size_t n = 0;
		while (m->params[n].name)
			n++;
		msgpack_pack_map(pk, 4);
		mp_pack_key(pk, "name");
		mp_pack_cstr(pk, m->name);
		mp_pack_key(pk, "params");
		msgpack_pack_array(pk, n);
		for (size_t j = 0; j < n; j++)
			pack_param(pk, &m->params[j]);
		mp_pack_key(pk, "result");
		mp_pack_cstr(pk, m->result);
		mp_pack_key(pk, "doc");
		mp_pack_cstr(pk, m->doc);
	}
	mp_pack_key(pk, "notifications");
	msgpack_pack_array(pk, nitems(notifications));
	for (size_t i = 0; i < nitems(notifications); i++) {
		msgpack_pack_map(pk, 2);
		mp_pack_key(pk, "name");
		mp_pack_cstr(pk, notifications[i][0]);
		mp_pack_key(pk, "params");
		mp_pack_cstr(pk, notifications[i][1]);
	}
}

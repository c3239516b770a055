/*
 * wire.c — the broker<->worker messages (wire.h).
 */
#include "wire.h"

const struct tusk_param wire_connect[] = {
	{ "config", TT_MAP, 0, "the connection config (config.h)", "@config" },
	{ "password", TT_STR, P_OPT, "database password", NULL },
	{ "ssh_password", TT_STR, P_OPT, "SSH password", NULL },
	{ "ssh_key_passphrase", TT_STR, P_OPT, "SSH key passphrase", NULL },
	{ "ssl_key_passphrase", TT_STR, P_OPT, "TLS client key passphrase", NULL },
	{ "connect_timeout_s", TT_INT, 0, "the whole connect's deadline", NULL },
	{ "ssh_keepalive_s", TT_INT, P_OPT, "the tunnel's keepalive interval", NULL },
	{ "known_hosts", TT_STR, P_OPT, "Tusk's known_hosts file", NULL },
	{ "user_known_hosts", TT_STR, P_OPT, "the user's ~/.ssh/known_hosts", NULL },
	{ "ssh_auth_sock", TT_STR, P_OPT, "the SSH agent's socket", NULL },
	PARAMS_END,
};

const struct tusk_param wire_ssh_info[] = {
	{ "host", TT_STR, 0, "the SSH server", NULL },
	{ "port", TT_INT, 0, "its port", NULL },
	{ "username", TT_STR, 0, "the SSH user", NULL },
	{ "auth_method", TT_STR, 0, "password, key_file or agent", NULL },
	{ "local_port", TT_INT, 0, "the tunnel's local end", NULL },
	{ "host_key_type", TT_STR, P_OPT, "the server's host key type", NULL },
	{ "host_key_fingerprint", TT_STR, P_OPT, "its SHA256 fingerprint", NULL },
	PARAMS_END,
};

const struct tusk_param wire_connect_reply[] = {
	{ "backend_pid", TT_INT, 0, "the server backend's pid", NULL },
	{ "server_version", TT_STR, P_OPT, "the server's version", NULL },
	{ "tls", TT_BOOL, 0, "is the session encrypted", NULL },
	{ "tls_version", TT_STR, P_OPT, "TLS protocol", NULL },
	{ "tls_cipher", TT_STR, P_OPT, "TLS cipher", NULL },
	{ "ssh_tunnel", TT_MAP, P_OPT, "the tunnel (wire_ssh_info)", NULL },
	PARAMS_END,
};

const struct tusk_param wire_query[] = {
	{ "query_id", TT_STR, 0, "the query's id", NULL },
	{ "sql", TT_STR, 0, "the SQL", NULL },
	{ "max_rows", TT_INT, P_OPT, "rows in the reply, at most this many (no streaming)", NULL },
	{ "timeout_ms", TT_INT, P_OPT, "cancel after this long", NULL },
	{ "params", TT_ARRAY, P_OPT, "values for $1..$n (text, nil for NULL): one statement, bound",
	    "[str | nil]" },
	PARAMS_END,
};

/* execute_query's result: the worker frames it for the client. */
const struct tusk_param wire_query_reply[] = {
	{ "query_id", TT_STR, 0, "", NULL },
	{ "columns", TT_ARRAY, 0, "", NULL },
	{ "rows", TT_ARRAY, 0, "", NULL },
	{ "row_count", TT_INT, 0, "", NULL },
	{ "truncated", TT_BOOL, 0, "", NULL },
	{ "elapsed_ms", TT_FLOAT, 0, "", NULL },
	{ "command_tag", TT_STR, P_OPT, "", NULL },
	{ "rows_affected", TT_INT, P_OPT, "", NULL },
	{ "result_sets", TT_INT, 0, "", NULL },
	{ "transaction", TT_STR, 0, "", NULL },
	PARAMS_END,
};

const struct tusk_param wire_export[] = {
	{ "query_id", TT_STR, 0, "the export's id", NULL },
	{ "sql", TT_STR, 0, "what to run (a COPY for modes copy/json/ndjson, the query otherwise)", NULL },
	{ "mode", TT_STR, 0, "copy, json, ndjson, sql or markdown", NULL },
	{ "header", TT_BOOL, P_OPT, "sql/markdown: a header row (markdown)", NULL },
	{ "null", TT_STR, P_OPT, "markdown: the text of NULL", NULL },
	{ "table", TT_STR, P_OPT, "sql: the target table, quoted", NULL },
	PARAMS_END,
};

const struct tusk_param wire_export_data[] = {
	{ "query_id", TT_STR, 0, "the export's id", NULL },
	{ "rows", TT_INT, 0, "rows formatted so far", NULL },
	{ "data", TT_BIN, 0, "the file's next bytes", NULL },
	PARAMS_END,
};

const struct tusk_param wire_import[] = {
	{ "query_id", TT_STR, 0, "the import's id", NULL },
	{ "sql", TT_STR, 0, "the COPY ... FROM STDIN", NULL },
	PARAMS_END,
};

const struct tusk_param wire_import_ready[] = {
	{ "query_id", TT_STR, 0, "the import's id", NULL },
	PARAMS_END,
};

const struct tusk_param wire_copy_data[] = {
	{ "query_id", TT_STR, 0, "the import's id", NULL },
	{ "data", TT_BIN, 0, "the file's next bytes", NULL },
	{ "last", TT_BOOL, 0, "the file ends here: end the COPY", NULL },
	PARAMS_END,
};

/* copy_data's success reply: nothing, once the bytes left. */
const struct tusk_param wire_copy_data_reply[] = { PARAMS_END };

/* export's and import's success reply. */
const struct tusk_param wire_copy_reply[] = {
	{ "row_count", TT_INT, 0, "rows the server reported", NULL },
	PARAMS_END,
};

/* Several bound statements in one transaction (apply_edits; worker/pg-edit.c). */
const struct tusk_param wire_exec_batch[] = {
	{ "query_id", TT_STR, 0, "the batch's id (cancel names it)", NULL },
	{ "statements", TT_ARRAY, 0, "run in order between BEGIN and COMMIT; one statement each, values bound",
	    "[{sql: str, params?: [str | nil], expect_rows?: int}]" },
	{ "timeout_ms", TT_INT, P_OPT, "cancel after this long", NULL },
	PARAMS_END,
};

const struct tusk_param wire_exec_batch_reply[] = {
	{ "query_id", TT_STR, 0, "", NULL },
	{ "committed", TT_BOOL, 0, "false: nothing was applied", NULL },
	{ "results", TT_ARRAY, 0, "per statement: rows_affected (nil: not run)", "[{rows_affected: int | nil}]" },
	{ "mismatches", TT_ARRAY, 0, "statements that touched another number of rows than expect_rows", "[int]" },
	{ "elapsed_ms", TT_FLOAT, 0, "", NULL },
	{ "failed", TT_INT, P_OPT, "the statement that raised the error (nil: BEGIN or COMMIT)", NULL },
	{ "error", TT_MAP, P_OPT, "why it was rolled back, when a statement failed", "@error" },
	PARAMS_END,
};

const struct tusk_param wire_cancel[] = {
	{ "query_id", TT_STR, 0, "the query to cancel", NULL },
	PARAMS_END,
};

const struct tusk_param wire_cancel_reply[] = {
	{ "sent", TT_BOOL, 0, "did the cancel request reach the server", NULL },
	PARAMS_END,
};

const struct tusk_param wire_ping[] = { PARAMS_END };
const struct tusk_param wire_close[] = { PARAMS_END };

const struct tusk_param wire_set_log[] = {
	{ "level", TT_INT, 0, "TLOG_ERROR..TLOG_TRACE", NULL },
	PARAMS_END,
};

const struct tusk_param wire_hello[] = {
	{ "pid", TT_INT, 0, "the worker's pid", NULL },
	{ "version", TT_STR, 0, "its version (the broker's own)", NULL },
	PARAMS_END,
};

const struct tusk_param wire_log[] = {
	{ "level", TT_INT, 0, "TLOG_ERROR..TLOG_TRACE", NULL },
	{ "message", TT_STR, 0, "the record", NULL },
	PARAMS_END,
};

const struct tusk_param wire_host_key[] = {
	{ "host", TT_STR, 0, "the SSH server", NULL },
	{ "port", TT_INT, 0, "its port", NULL },
	{ "key_type", TT_STR, 0, "the key's type", NULL },
	{ "fingerprint", TT_STR, 0, "SHA256:...", NULL },
	{ "line", TT_STR, 0, "the known_hosts line trusting it", NULL },
	PARAMS_END,
};

const struct tusk_param wire_catalog[] = {
	{ "query_id", TT_STR, 0, "the read's id (cancel_query)", NULL },
	{ "system", TT_BOOL, 0, "include pg_catalog and information_schema", NULL },
	PARAMS_END,
};

/* get_schema's result less version and fetched_at: the broker keeps these
 * bytes and packs the two around them (broker/m-schema.c). */
const struct tusk_param wire_catalog_reply[] = {
	{ "schemas", TT_ARRAY, 0, "", NULL },
	{ "extensions", TT_ARRAY, 0, "", NULL },
	{ "search_path", TT_ARRAY, 0, "", NULL },
	{ "database", TT_STR, 0, "", NULL },
	{ "user", TT_STR, 0, "", NULL },
	{ "server_version", TT_INT, 0, "", NULL },
	{ "system", TT_BOOL, 0, "", NULL },
	{ "warnings", TT_ARRAY, 0, "", NULL },
	PARAMS_END,
};

const struct tusk_param wire_describe[] = {
	{ "query_id", TT_STR, 0, "the read's id (cancel_query)", NULL },
	{ "schema", TT_STR, 0, "the object's schema", NULL },
	{ "name", TT_STR, 0, "its name (a function's may carry its argument types)", NULL },
	{ "kind", TT_STR, P_OPT, "only an object of this kind", NULL },
	PARAMS_END,
};

const struct tusk_param wire_describe_reply[] = {
	{ "schema", TT_STR, 0, "", NULL },
	{ "name", TT_STR, 0, "", NULL },
	{ "kind", TT_STR, 0, "", NULL },
	{ "owner", TT_STR, P_OPT, "", NULL },
	{ "comment", TT_STR, P_OPT, "", NULL },
	{ "columns", TT_ARRAY, 0, "", NULL },
	{ "primary_key", TT_MAP, P_OPT, "", NULL },
	{ "indexes", TT_ARRAY, 0, "", NULL },
	{ "constraints", TT_ARRAY, 0, "", NULL },
	{ "foreign_keys", TT_ARRAY, 0, "", NULL },
	{ "referenced_by", TT_ARRAY, 0, "", NULL },
	{ "triggers", TT_ARRAY, 0, "", NULL },
	{ "partitions", TT_ARRAY, 0, "", NULL },
	{ "partition_of", TT_MAP, P_OPT, "", NULL },
	{ "partition_key", TT_STR, P_OPT, "", NULL },
	{ "values", TT_ARRAY, P_OPT, "", NULL },
	{ "size_bytes", TT_INT, P_OPT, "", NULL },
	{ "estimated_rows", TT_INT, P_OPT, "", NULL },
	{ "definition", TT_STR, P_OPT, "", NULL },
	{ "arguments", TT_STR, P_OPT, "", NULL },
	{ "result", TT_STR, P_OPT, "", NULL },
	{ "ddl", TT_STR, 0, "", NULL },
	{ "warnings", TT_ARRAY, 0, "", NULL },
	PARAMS_END,
};

const struct tusk_param wire_schema_touched[] = {
	{ "query_id", TT_STR, 0, "the user's query that ran DDL", NULL },
	PARAMS_END,
};

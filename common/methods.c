/*
 * methods.c — the notifications, the named shapes, and what every method
 * table is held to (methods.h). The methods themselves are defined beside
 * their handlers in broker/ and listed in broker/methods.c.
 */
#include "methods.h"

#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "rpc.h"
#include "shape.h"
#include "util.h"

const struct tusk_shape_def tusk_shapes[] = {
	{ "error", "{kind: str, message: str, detail: str | nil, hint: str | nil, "
	    "position: int | nil, code: str | nil, elapsed_ms: int | nil, reason?: str, "
	    "host_key?: @host_key, line?: int, column?: str, "
	    "transaction?: \"idle\" | \"in_transaction\" | \"failed_transaction\" | \"active\" | \"unknown\"}" },
	{ "host_key", "{status: \"unknown\" | \"changed\" | str, host: str | nil, port: int | nil, "
	    "key_type: str | nil, fingerprint: str | nil, known_fingerprint: str | nil, "
	    "connection_id: str | nil}" },
	{ "config", "{id: str | nil, name: str | nil, host: str | nil, port: int, "
	    "database: str | nil, username: str | nil, ssl_mode: str | nil, ssl_ca_cert: str | nil, "
	    "ssl_client_cert: str | nil, ssl_client_key: str | nil, ssh_tunnel: @ssh_tunnel | nil, "
	    "read_only: bool, statement_timeout_ms: int | nil, created_at: str | nil, "
	    "updated_at: str | nil}" },
	{ "ssh_tunnel", "{host: str, port: int, username: str, "
	    "auth_method: {type: \"password\" | \"key_file\" | \"agent\", path?: str}}" },
	/* what config_parse takes (common/config.c): absent or nil is the default */
	{ "config_input", "{id?: str | nil, name?: str | nil, host: str, port?: int | nil, database: str, "
	    "username: str, ssl_mode?: \"disable\" | \"prefer\" | \"require\" | \"verify-ca\" | "
	    "\"verify-full\" | nil, ssl_ca_cert?: str | nil, ssl_client_cert?: str | nil, "
	    "ssl_client_key?: str | nil, ssh_tunnel?: @ssh_tunnel_input | nil, read_only?: bool | nil, "
	    "statement_timeout_ms?: int | nil, created_at?: str | nil, updated_at?: str | nil}" },
	{ "ssh_tunnel_input", "{host: str, port?: int | nil, username: str, "
	    "auth_method: {type: \"password\" | \"key_file\" | \"agent\", path?: str | nil}}" },
	{ "warning", "{message: str, hint: str | nil}" },
	{ "column", "{name: str, data_type: str}" },
	{ "worker", "{worker_id: int, pid: int, role: \"connection\" | \"test\" | \"helper\", "
	    "state: \"starting\" | \"connecting\" | \"idle\" | \"busy\" | \"stopping\" | \"dead\", "
	    "backend_pid: int | nil, connection_id: str | nil, connection_name: str | nil, "
	    "query_id: str | nil, query_sql: str | nil, query_elapsed_ms: int | nil, "
	    "rows_streamed: int, bytes_streamed: int, rss_bytes: int, cpu_ms: int, "
	    "heartbeat_age_ms: int | nil, started_at: str | nil, died_at: str | nil, "
	    "death_reason: str | nil, saved_id: str | nil, label: str | nil}" },
	{ "history_entry", "{history_id: int, sql: str, connection_name: str, id?: str, "
	    "connection_id: str, database: str | nil, started_at: str, elapsed_ms: float, "
	    "row_count: int, status: \"ok\" | \"error\" | \"cancelled\", error_code?: str, "
	    "client: \"window\" | \"tuskctl\" | \"other\"}" },
	{ "saved_query", "{saved_query_id: str, name: str, sql: str, description: str | nil, "
	    "id: str | nil, folder: str | nil, created_at: str, updated_at: str}" },
	{ "storage_notice", "{at: str, action: str, message: str, hint: str | nil, errors: [str], "
	    "backup_path: str | nil, salvaged_rows: int, lost_rows: int}" },
	{ "schema", "{name: str, owner: str | nil, comment: str | nil, relations: [@relation], "
	    "functions: [{name: str, arguments: str, result: str | nil, kind: \"function\" | \"procedure\" | \"aggregate\" | \"window\", "
	    "identity_arguments: str, comment?: str}], sequences: [str], "
	    "types: [{name: str, kind: \"enum\" | \"domain\" | \"composite\" | \"range\", values?: [str], base_type?: str, comment?: str}]}" },
	{ "relation", "{name: str, kind: \"table\" | \"partitioned_table\" | \"view\" | \"materialized_view\" | \"foreign_table\", comment: str | nil, estimated_rows: int | nil, "
	    "columns: [{name: str, type: str, nullable: bool, default: str | nil, primary_key: bool, "
	    "identity?: \"always\" | \"by_default\", generated?: str, comment?: str}], "
	    "parent?: {schema: str, name: str}}" },
	{ "object", "{schema: str, name: str, kind: str, owner: str | nil, comment: str | nil, "
	    "columns: [{name: str, position: int, type: str, nullable: bool, default: str | nil, "
	    "primary_key: bool, identity: str | nil, generated: str | nil, collation: str | nil, "
	    "comment: str | nil}], primary_key: {name: str, columns: [str]} | nil, "
	    "indexes: [{name: str, definition: str, primary: bool, unique: bool, valid: bool, "
	    "method: str, constraint: str | nil, comment: str | nil}], "
	    "constraints: [{name: str, type: str, definition: str, validated: bool, inherited: bool, "
	    "comment: str | nil}], "
	    "foreign_keys: [{name: str, columns: [str], ref_schema: str, ref_table: str, "
	    "ref_columns: [str], on_update: str, on_delete: str, match: str, deferrable: bool, "
	    "deferred: bool, definition: str}], "
	    "referenced_by: [{name: str, schema: str, table: str, columns: [str], ref_columns: [str], "
	    "definition: str}], "
	    "triggers: [{name: str, definition: str, enabled: str, inherited: bool, comment: str | nil}], "
	    "partitions: [{schema: str, name: str, bound: str | nil, kind: str}], "
	    "partition_of: {schema: str, name: str, bound: str | nil} | nil, partition_key: str | nil, "
	    "values: [str] | nil, size_bytes: int | nil, estimated_rows: int | nil, "
	    "definition: str | nil, arguments: str | nil, result: str | nil, ddl: str, "
	    "warnings: [str]}" },
	{ NULL, NULL },
};

const struct tusk_notification tusk_notifications[] = {
	{ N_QUERY_COLUMNS, "{query_id: str, result_index: int, columns: [@column]}",
	    "A result set of a streaming execute_query begins (one per statement that returns rows)." },
	{ N_QUERY_ROWS, "{query_id: str, rows: [[any]]}",
	    "A batch of rows (about 64 KiB) of the current result set." },
	{ N_QUERY_PROGRESS, "{query_id: str, rows: int, bytes: int}",
	    "How far an export_query or import_file is: rows and bytes written or sent so far "
	    "(at most every 100 ms or 1 MiB)." },
	{ N_QUERY_NOTICE, "{query_id: str | nil, severity: str | nil, message: str | nil, "
	    "code: str | nil, detail: str | nil, hint: str | nil}",
	    "A notice or warning the server sent while the query ran." },
	{ N_SCHEMA_CHANGED, "{connection_id: str, version: int}",
	    "DDL ran through Tusk (or a refresh found the catalog changed) on the server, database "
	    "and user of a connection this client called get_schema on: the schema's new version; "
	    "get_schema reads it again." },
	{ N_EVENT, "{topic: \"workers\", type: str, at: str, dropped?: int, worker: @worker} | "
	    "{topic: \"connections\", type: str, at: str, dropped?: int, connection_id: str, "
	    "name: str | nil, reason: str | nil} | "
	    "{topic: \"queries\", type: str, at: str, dropped?: int, query_id: str, "
	    "connection_id: str, row_count: int, elapsed_ms: int, error: @error | nil}",
	    "What happened to a worker, a connection or a query (after subscribe); dropped counts "
	    "the events this client missed while it did not read." },
	{ NULL, NULL, NULL },
};

bool
tusk_shape_known(const char *name, size_t len)
{
	for (size_t i = 0; tusk_shapes[i].name; i++)
		if (strlen(tusk_shapes[i].name) == len && memcmp(tusk_shapes[i].name, name, len) == 0)
			return true;
	return false;
}

const struct tusk_method *
methods_find(const struct tusk_method *const *table, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(table[i]->name) == len && memcmp(table[i]->name, name, len) == 0)
			return table[i];
	return NULL;
}

/* One shape, checked; -1 with why naming where it is. */
static int
check_shape(const char *what, const char *name, const char *shape, char *why, size_t whylen)
{
	char err[200];
	if (shape_valid(shape, tusk_shape_known, err, sizeof err))
		return 0;
	snprintf(why, whylen, "%s %s: shape: %s", what, name, err);
	return -1;
}

int
methods_check(const struct tusk_method *const *table, size_t n, char *why, size_t whylen)
{
	for (size_t i = 0; tusk_shapes[i].name; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(tusk_shapes[j].name, tusk_shapes[i].name) == 0) {
				snprintf(why, whylen, "shape %s is declared twice", tusk_shapes[i].name);
				return -1;
			}
		}
		if (check_shape("shape", tusk_shapes[i].name, tusk_shapes[i].shape, why, whylen) < 0)
			return -1;
	}
	for (size_t i = 0; tusk_notifications[i].name; i++)
		if (check_shape("notification", tusk_notifications[i].name, tusk_notifications[i].shape,
		    why, whylen) < 0)
			return -1;
	for (size_t i = 0; i < n; i++) {
		const struct tusk_method *m = table[i];
		if (m == NULL || m->name == NULL || m->name[0] == '\0' ||
		    strlen(m->name) > RPC_MAX_METHOD || m->params == NULL || m->doc == NULL ||
		    m->handler == NULL) {
			snprintf(why, whylen, "method %zu (%s) is incomplete", i,
			    m && m->name ? m->name : "?");
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(table[j]->name, m->name) == 0) {
				snprintf(why, whylen, "method %s is listed twice", m->name);
				return -1;
			}
		}
		size_t np = 0;
		bool has_conn = false;
		for (; m->params[np].name; np++) {
			const struct tusk_param *p = &m->params[np];
			has_conn |= strcmp(p->name, "connection_id") == 0 && p->type == TT_STR &&
			    !(p->flags & P_OPT);
			for (size_t k = 0; k < np; k++) {
				if (strcmp(m->params[k].name, p->name) == 0) {
					snprintf(why, whylen, "method %s: parameter %s twice", m->name,
					    p->name);
					return -1;
				}
			}
			if (p->shape && check_shape("parameter", p->name, p->shape, why, whylen) < 0)
				return -1;
		}
		if (np > PARAMS_MAX) {
			snprintf(why, whylen, "method %s: %zu parameters, more than %d", m->name, np,
			    PARAMS_MAX);
			return -1;
		}
		if ((m->flags & MF_CONNECTION) && !has_conn) {
			snprintf(why, whylen, "method %s: MF_CONNECTION without a required connection_id",
			    m->name);
			return -1;
		}
		if (check_shape("method", m->name, m->result, why, whylen) < 0)
			return -1;
	}
	return 0;
}

/* A shape's tree (an mpf_fn). */
static void
pack_shape(msgpack_packer *pk, const void *text)
{
	shape_pack(pk, text);
}

/* The shape text of a parameter: declared, or its type's. */
static const char *
param_shape(const struct tusk_param *p)
{
	if (p->shape)
		return p->shape;
	switch (p->type) {
	case TT_BOOL: return "bool";
	case TT_INT: return "int";
	case TT_FLOAT: return "float";
	case TT_STR: return "str";
	case TT_BIN: return "bin";
	case TT_ARRAY: return "[any]";
	case TT_MAP: return "{*: any}";
	case TT_ANY: return "any";
	}
	return "any";
}

/* Pack one parameter declaration. */
static void
pack_param(msgpack_packer *pk, const void *arg)
{
	const struct tusk_param *p = arg;
	const char *shape = param_shape(p);
	MP_PACK_FIELDS(pk,
	    MPF_STR("name", p->name),
	    MPF_STR("type", tusk_type_name(p->type)),
	    MPF_BOOL("optional", (p->flags & P_OPT) != 0),
	    MPF_STR("doc", p->doc),
	    MPF_STR("shape_text", shape),
	    MPF_FN("shape", pack_shape, shape));
}

/* A method's parameters, each as pack_param describes it. */
static void
pack_params(msgpack_packer *pk, const void *arg)
{
	const struct tusk_param *ps = arg;
	size_t n = 0;
	while (ps[n].name)
		n++;
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		pack_param(pk, &ps[i]);
}

/* A method's flags as a list of names. */
static void
pack_flags(msgpack_packer *pk, const void *arg)
{
	unsigned f = *(const unsigned *)arg;
	static const struct { unsigned bit; const char *name; } names[] = {
		{ MF_READ_ONLY, "read_only" }, { MF_STREAMS, "streams" }, { MF_CONNECTION, "connection" },
	};
	size_t n = 0;
	for (size_t i = 0; i < nitems(names); i++)
		n += (f & names[i].bit) != 0;
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < nitems(names); i++)
		if (f & names[i].bit)
			mp_pack_cstr(pk, names[i].name);
}

struct describe_table {
	const struct tusk_method *const *table;
	size_t n;
};

/* The method table: name, params, result (text and parsed), flags, doc. */
static void
pack_methods(msgpack_packer *pk, const void *arg)
{
	const struct describe_table *t = arg;
	msgpack_pack_array(pk, t->n);
	for (size_t i = 0; i < t->n; i++) {
		const struct tusk_method *m = t->table[i];
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", m->name),
		    MPF_FN("params", pack_params, m->params),
		    MPF_STR("result", m->result),
		    MPF_FN("result_shape", pack_shape, m->result),
		    MPF_FN("flags", pack_flags, &m->flags),
		    MPF_STR("doc", m->doc));
	}
}

/* The notifications: name, params shape (text and parsed), doc. */
static void
pack_notifications(msgpack_packer *pk, const void *arg)
{
	UNUSED(arg);
	size_t n = 0;
	while (tusk_notifications[n].name)
		n++;
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++) {
		const struct tusk_notification *nt = &tusk_notifications[i];
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", nt->name),
		    MPF_STR("params", nt->shape),
		    MPF_FN("shape", pack_shape, nt->shape),
		    MPF_STR("doc", nt->doc));
	}
}

/* The named shapes: name, text and parsed shape. */
static void
pack_shapes(msgpack_packer *pk, const void *arg)
{
	UNUSED(arg);
	size_t n = 0;
	while (tusk_shapes[n].name)
		n++;
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", tusk_shapes[i].name),
		    MPF_STR("text", tusk_shapes[i].shape),
		    MPF_FN("shape", pack_shape, tusk_shapes[i].shape));
}

void
methods_pack_describe(msgpack_packer *pk, const struct tusk_method *const *table, size_t n)
{
	struct describe_table t = { table, n };
	MP_PACK_FIELDS(pk,
	    MPF_INT("protocol_version", TUSK_PROTOCOL_VERSION),
	    MPF_STR("version", TUSK_VERSION),
	    MPF_FN("methods", pack_methods, &t),
	    MPF_FN("notifications", pack_notifications, NULL),
	    MPF_FN("shapes", pack_shapes, NULL));
}

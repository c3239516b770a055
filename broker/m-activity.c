/*
 * m-activity.c — what every session on the server is doing, and ending
 * one: get_server_activity, cancel_backend, terminate_backend.
 *
 * get_server_activity reads pg_stat_activity (every backend the role may
 * see; other roles' queries read "<insufficient privilege>" unless it has
 * pg_read_all_stats) with pg_blocking_pids() for who waits on whom, and
 * marks the sessions that are Tusk's own open connections to the same
 * server. cancel_backend and terminate_backend call pg_cancel_backend() /
 * pg_terminate_backend() for one pid; the server decides who may, and its
 * refusal comes back as it is (kind Database, SQLSTATE 42501) with a hint
 * saying what would allow it. All three run on the connection's queue
 * (sqlcall.h).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "sqlcall.h"
#include "util.h"

/* One row per backend; times as ISO 8601 UTC, durations in ms by the server's clock. */
static const char activity_sql[] =
    "SELECT a.pid, a.usename::text, a.datname::text, a.application_name, "
    "pg_catalog.host(a.client_addr), a.client_port, a.state, a.wait_event_type, a.wait_event, "
    "a.query, a.backend_type, "
    "pg_catalog.to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "pg_catalog.to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "pg_catalog.to_char(a.query_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "(extract(epoch FROM pg_catalog.clock_timestamp() - a.query_start) * 1000)::int8, "
    "(extract(epoch FROM pg_catalog.clock_timestamp() - a.xact_start) * 1000)::int8, "
    "pg_catalog.array_to_string(pg_catalog.pg_blocking_pids(a.pid), ','), "
    "a.pid = pg_catalog.pg_backend_pid() "
    "FROM pg_catalog.pg_stat_activity a ORDER BY a.backend_start, a.pid";

enum { A_PID, A_USER, A_DB, A_APP, A_ADDR, A_PORT, A_STATE, A_WTYPE, A_WEVENT, A_QUERY, A_BTYPE,
	A_BSTART, A_XSTART, A_QSTART, A_QMS, A_XMS, A_BLOCKED, A_SELF, A__COUNT };

#define ACTIVITY_MAX 100000 /* backends listed, at most */

/* Two configs name the same server (host, port, SSH tunnel). */
static bool
same_server(const struct tusk_config *a, const struct tusk_config *b)
{
	if (a->port != b->port || strcmp(a->host ? a->host : "", b->host ? b->host : "") != 0)
		return false;
	const struct tusk_ssh *x = a->ssh, *y = b->ssh;
	if ((x == NULL) != (y == NULL))
		return false;
	return x == NULL || (x->port == y->port && strcmp(x->host ? x->host : "", y->host ? y->host : "") == 0);
}

/* The open connection of this server whose session is pid. */
static const struct conn *
tusk_conn_of(const struct conn *self, int64_t pid)
{
	const struct conn *c;
	TAILQ_FOREACH(c, &tuskd.conns, entry)
		if (c->state == CS_CONNECTED && c->backend_pid == pid && same_server(&c->cfg, &self->cfg))
			return c;
	return NULL;
}

/* Pack a cell as it came (a str, an int or nil). */
static void
pack_cell(msgpack_packer *pk, const msgpack_object *row, int i)
{
	msgpack_pack_object(pk, row->via.array.ptr[i]);
}

/* pg_blocking_pids() as "1,2,3" into [1, 2, 3]. */
static void
pack_blocked_by(msgpack_packer *pk, const msgpack_object *cell)
{
	int64_t pids[64];
	int n = 0;
	if (cell->type == MSGPACK_OBJECT_STR) {
		char *s = mo_strdup(cell), *save = NULL;
		for (char *tok = strtok_r(s, ",", &save); tok && n < (int)nitems(pids);
		    tok = strtok_r(NULL, ",", &save)) {
			long long v;
			if (parse_ll(tok, 1, INT32_MAX, &v) == 0)
				pids[n++] = v;
		}
		free(s);
	}
	msgpack_pack_array(pk, (size_t)n);
	for (int i = 0; i < n; i++)
		msgpack_pack_int64(pk, pids[i]);
}

/* The answer of the activity query. */
static bool
activity_done(struct query *q, const struct params *reply, const struct tusk_error *e, void *arg)
{
	UNUSED(arg);
	if (e) {
		req_error(q->req, e);
		return false;
	}
	static const char *const names[A__COUNT] = {
		[A_PID] = "pid", [A_USER] = "user", [A_DB] = "database", [A_APP] = "application",
		[A_ADDR] = "client_addr", [A_PORT] = "client_port", [A_STATE] = "state",
		[A_WTYPE] = "wait_event_type", [A_WEVENT] = "wait_event", [A_QUERY] = "query",
		[A_BTYPE] = "backend_type", [A_BSTART] = "backend_start", [A_XSTART] = "xact_start",
		[A_QSTART] = "query_start", [A_QMS] = "query_ms", [A_XMS] = "xact_ms",
		[A_BLOCKED] = "blocked_by", [A_SELF] = "self",
	};
	const msgpack_object *rows = params_get(reply, "rows");
	uint32_t n = 0;
	for (uint32_t r = 0; r < rows->via.array.size; r++) {
		const msgpack_object *row = &rows->via.array.ptr[r];
		if (row->type == MSGPACK_OBJECT_ARRAY && row->via.array.size == A__COUNT)
			n++;
	}
	msgpack_packer *pk = req_result(q->req);
	msgpack_pack_array(pk, n);
	for (uint32_t r = 0; r < rows->via.array.size; r++) {
		const msgpack_object *row = &rows->via.array.ptr[r];
		if (row->type != MSGPACK_OBJECT_ARRAY || row->via.array.size != A__COUNT)
			continue;
		int64_t pid = -1;
		if (mo_int(&row->via.array.ptr[A_PID], &pid) < 0)
			pid = -1;
		const struct conn *tc = tusk_conn_of(q->conn, pid);
		msgpack_pack_map(pk, A__COUNT + (tc ? 2 : 0));
		for (int i = 0; i < A__COUNT; i++) {
			mp_pack_key(pk, names[i]);
			if (i == A_BLOCKED)
				pack_blocked_by(pk, &row->via.array.ptr[i]);
			else if (i == A_SELF)
				mp_pack_bool(pk, row->via.array.ptr[i].type == MSGPACK_OBJECT_BOOLEAN &&
				    row->via.array.ptr[i].via.boolean);
			else
				pack_cell(pk, row, i);
		}
		if (tc) {
			mp_pack_key(pk, "tusk_connection_id");
			mp_pack_cstr(pk, tc->id);
			mp_pack_key(pk, "tusk_connection_name");
			mp_pack_cstr(pk, tc->cfg.name);
		}
	}
	return false;
}

static const struct tusk_param p_get_server_activity[] = {
	{ "connection_id", TT_STR, 0, "an open connection's id (its server is listed)", NULL },
	PARAMS_END,
};

/* get_server_activity {connection_id} */
static int
h_get_server_activity(struct request *req, const struct params *p, struct tusk_error *e)
{
	UNUSED(p);
	struct tsql q;
	tsql_init(&q);
	sb_adds(&q.sql, activity_sql);
	if (sqlcall_query(req->conn, req, &q, ACTIVITY_MAX, activity_done, NULL, NULL, e) == NULL) {
		tsql_free(&q);
		return -1;
	}
	return H_ASYNC;
}

const struct tusk_method m_get_server_activity = {
	.name = M_GET_SERVER_ACTIVITY,
	.params = p_get_server_activity,
	.result = "[{pid: int, user: str | nil, database: str | nil, application: str | nil, "
	    "client_addr: str | nil, client_port: int | nil, state: str | nil, "
	    "wait_event_type: str | nil, wait_event: str | nil, query: str | nil, "
	    "backend_type: str | nil, backend_start: str | nil, xact_start: str | nil, "
	    "query_start: str | nil, query_ms: int | nil, xact_ms: int | nil, blocked_by: [int], "
	    "self: bool, tusk_connection_id?: str, tusk_connection_name?: str | nil}]",
	.flags = MF_READ_ONLY | MF_CONNECTION,
	.doc = "Every backend of the connection's server the role may see (pg_stat_activity), with the pids blocking each (pg_blocking_pids); Tusk's own sessions name their connection, self marks the one that asked.",
	.handler = h_get_server_activity,
};

/* --- cancel_backend, terminate_backend ------------------------------------ */

struct signal_call {
	bool terminate;
	int64_t pid;
	char *role;
};

/* Free a cancel/terminate call's state. */
static void
signal_call_free(void *arg)
{
	struct signal_call *s = arg;
	free(s->role);
	free(s);
}

/* pg_cancel_backend / pg_terminate_backend answered. */
static bool
signal_done(struct query *q, const struct params *reply, const struct tusk_error *e, void *arg)
{
	struct signal_call *s = arg;
	const char *fn = s->terminate ? "terminate" : "cancel";
	if (e) {
		struct tusk_error le = TUSK_ERROR_INIT;
		terr_copy(&le, e);
		if (le.code && strcmp(le.code, "42501") == 0)
			terr_hint(&le, "role \"%s\" may only %s its own sessions; a member of pg_signal_backend (GRANT pg_signal_backend TO \"%s\") may %s other non-superuser sessions, a superuser any",
			    s->role, fn, s->role, fn);
		req_error(q->req, &le);
		terr_clear(&le);
		return false;
	}
	const msgpack_object *rows = params_get(reply, "rows");
	bool ok = false;
	if (rows->via.array.size == 1) {
		const msgpack_object *row = &rows->via.array.ptr[0];
		ok = row->type == MSGPACK_OBJECT_ARRAY && row->via.array.size == 1 &&
		    row->via.array.ptr[0].type == MSGPACK_OBJECT_BOOLEAN && row->via.array.ptr[0].via.boolean;
	}
	log_info("%s_backend %lld on %s: %s", fn, (long long)s->pid, q->conn->cfg.name,
	    ok ? "signalled" : "no such backend");
	char *msg = ok ? NULL : xasprintf("no server process has pid %lld (it may have ended already)",
	    (long long)s->pid);
	MP_PACK_FIELDS(req_result(q->req),
	    MPF_BOOL("ok", ok),
	    MPF_INT("pid", s->pid),
	    MPF_STR("message", msg));
	free(msg);
	return false;
}

static const struct tusk_param p_signal_backend[] = {
	{ "connection_id", TT_STR, 0, "an open connection's id (on the backend's server)", NULL },
	{ "pid", TT_INT, 0, "the backend's process id (get_server_activity lists them)", NULL },
	PARAMS_END,
};

/* Send pg_cancel_backend or pg_terminate_backend for one pid. */
static int
signal_backend(struct request *req, const struct params *p, bool terminate, struct tusk_error *e)
{
	int64_t pid = params_int(p, "pid", 0);
	if (pid < 1 || pid > INT32_MAX)
		return terr_set(e, TE_VALIDATION, "pid: a server process id (1 to %d)", INT32_MAX);
	if (pid == req->conn->backend_pid) {
		terr_set(e, TE_VALIDATION, "pid: %lld is this connection's own session", (long long)pid);
		terr_hint(e, "cancel its query with cancel_query, or end it with disconnect or kill_worker");
		return -1;
	}
	struct signal_call *s = xcalloc(1, sizeof *s);
	s->terminate = terminate;
	s->pid = pid;
	s->role = xstrdup(req->conn->cfg.username ? req->conn->cfg.username : "");
	struct tsql q;
	tsql_init(&q);
	sb_adds(&q.sql, terminate ? "SELECT pg_catalog.pg_terminate_backend($1)" :
	    "SELECT pg_catalog.pg_cancel_backend($1)");
	tsql_push(&q, xasprintf("%lld", (long long)pid));
	if (sqlcall_query(req->conn, req, &q, 1, signal_done, s, signal_call_free, e) == NULL) {
		tsql_free(&q);
		signal_call_free(s);
		return -1;
	}
	log_info("%s_backend %lld requested on %s", terminate ? "terminate" : "cancel", (long long)pid,
	    req->conn->cfg.name);
	return H_ASYNC;
}

/* cancel_backend {connection_id, pid} */
static int
h_cancel_backend(struct request *req, const struct params *p, struct tusk_error *e)
{
	return signal_backend(req, p, false, e);
}

/* terminate_backend {connection_id, pid} */
static int
h_terminate_backend(struct request *req, const struct params *p, struct tusk_error *e)
{
	return signal_backend(req, p, true, e);
}

const struct tusk_method m_cancel_backend = {
	.name = M_CANCEL_BACKEND,
	.params = p_signal_backend,
	.result = "{ok: bool, pid: int, message: str | nil}",
	.flags = MF_CONNECTION,
	.doc = "Cancel the running query of one backend of the server (pg_cancel_backend); ok is false when no such backend exists.",
	.handler = h_cancel_backend,
};

const struct tusk_method m_terminate_backend = {
	.name = M_TERMINATE_BACKEND,
	.params = p_signal_backend,
	.result = "{ok: bool, pid: int, message: str | nil}",
	.flags = MF_CONNECTION,
	.doc = "End one backend (session) of the server (pg_terminate_backend); ok is false when no such backend exists.",
	.handler = h_terminate_backend,
};

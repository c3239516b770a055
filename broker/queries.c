/*
 * queries.c — execute_query, cancel_query, get_running_queries, and the
 * row stream from a worker to a client.
 *
 * A connection runs one query at a time; the others wait in its queue here
 * (so cancelling a queued query never involves the worker). The running
 * query's messages from the worker are routed by looking at their first
 * bytes only: a query_columns / query_rows / query_notice notification whose
 * query_id is the running query's is moved to the requesting client's output
 * as bytes (evbuffer to evbuffer, no decoding, no re-encoding). The final
 * response gets a new envelope (the client's msgid) in front of the worker's
 * result bytes. Errors are decoded (they are small).
 *
 * Backpressure: after each forwarded batch, a client whose output is above
 * its high mark makes the broker stop reading the worker until the client
 * has drained (workers.c); the worker then stops reading the server.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "broker.h"
#include "log.h"
#include "mpscan.h"
#include "proto.h"
#include "store.h"
#include "util.h"
#include "wire.h"

#define QUERY_ID_MAX 64
#define SQL_SHOWN 200

static void query_reply(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res,
    void *arg);

/* A query by id. */
struct query *
query_find(const char *id)
{
	struct query *q;
	TAILQ_FOREACH(q, &tuskd.queries, entry)
		if (strcmp(q->id, id) == 0)
			return q;
	return NULL;
}

/* A client-chosen query id: short and plain. */
static bool
query_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > QUERY_ID_MAX)
		return false;
	for (const char *s = id; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.' || *s == ':'))
			return false;
	return true;
}

/*
 * Keep a statement the user ran in the history (q->record), once it ended
 * after reaching the worker: a query cancelled while still queued never ran.
 * rows < 0: unknown (0 is kept).
 */
static void
query_record(struct query *q, const char *status, const struct tusk_error *e, int64_t rows)
{
	if (!q->record || q->state != QS_RUNNING || !history_enabled())
		return;
	struct conn *c = q->conn;
	const char *code = e && e->code && strlen(e->code) <= 16 && *e->code ? e->code : NULL;
	struct store_history_entry h = {
		.sql = xstrdup(q->sql),
		.connection_name = xstrdup(c->cfg.name ? c->cfg.name : c->id),
		.saved_id = c->saved_id ? xstrdup(c->saved_id) : NULL,
		.connection_id = xstrdup(c->id),
		.database = c->cfg.database ? xstrdup(c->cfg.database) : NULL,
		.started_ms = q->started_wall_ms,
		.elapsed_ms = (double)(mono_us() - q->started_us) / 1000.0,
		.row_count = rows > 0 ? rows : 0,
		.status = status,
		.error_code = code ? xstrdup(code) : NULL,
		.client = q->req && q->req->client && q->req->client->kind ? q->req->client->kind : "other",
	};
	history_record(&h);
}

/* The rows a result map reports (rows_affected, else row_count); -1 unknown. */
static int64_t
result_rows_obj(const msgpack_object *res)
{
	int64_t rows = -1;
	if (res == NULL || res->type != MSGPACK_OBJECT_MAP)
		return -1;
	for (uint32_t i = 0; i < res->via.map.size; i++) {
		const msgpack_object_kv *kv = &res->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR || kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			continue;
		const msgpack_object_str *k = &kv->key.via.str;
		if (k->size == 13 && memcmp(k->ptr, "rows_affected", 13) == 0)
			return (int64_t)kv->val.via.u64;
		if (k->size == 9 && memcmp(k->ptr, "row_count", 9) == 0)
			rows = (int64_t)kv->val.via.u64;
	}
	return rows;
}

/* The same read from the encoded result map (len bytes), without decoding it. */
static int64_t
result_rows_raw(const void *p, size_t len)
{
	static const struct mp_limits lim = { WORKER_MAX_MSG, WORKER_MAX_DEPTH, WORKER_MAX_STR };
	struct mp_cur c = { p, (const uint8_t *)p + len };
	uint32_t n;
	int64_t rows = -1;
	if (mp_cur_map(&c, &n) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		size_t vl = 0;
		if (mp_cur_str(&c, &k, &kl) < 0)
			return rows;
		bool affected = kl == 13 && memcmp(k, "rows_affected", 13) == 0;
		if (affected || (kl == 9 && memcmp(k, "row_count", 9) == 0)) {
			struct mp_val v;
			if (mp_cur_scalar(&c, &v) < 0)
				return rows;
			if (v.type == MPV_UINT && affected)
				return (int64_t)v.u;
			if (v.type == MPV_UINT)
				rows = (int64_t)v.u;
			continue;
		}
		if (mp_scan_buf(&lim, c.p, (size_t)(c.end - c.p), &vl) != MP_DONE)
			return rows;
		c.p += vl;
	}
	return rows;
}

/* Forget a query (its request already answered or dropped). */
static void
query_free(struct query *q)
{
	struct conn *c = q->conn;
	/* a large stream leaves freed buffers behind: give them back to the
	 * system, so an idle broker is small again */
	if (q->bytes > 8u * 1024 * 1024)
		malloc_trim(0);
	TAILQ_REMOVE(&tuskd.queries, q, entry);
	TAILQ_REMOVE(&c->queue, q, centry);
	if (c->running == q) {
		c->running = NULL;
		/* its answer, if it still comes, has nobody to go to */
		if (c->worker && c->worker->peer && q->worker_msgid)
			rpc_call_forget(c->worker->peer, q->worker_msgid);
		if (c->worker) {
			if (c->worker->query_id && strcmp(c->worker->query_id, q->id) == 0) {
				free(c->worker->query_id);
				free(c->worker->query_sql);
				c->worker->query_id = c->worker->query_sql = NULL;
			}
			if (c->state == CS_CONNECTED)
				worker_set_state(c->worker, WS_IDLE);
		}
	}
	if (q->req)
		req_free(q->req);
	if (q->ops && q->ops->free)
		q->ops->free(q);
	free(q->id);
	free(q->sql);
	free(q);
	conn_unref(c);
}

/* Answer a query with an error and forget it. */
static void
query_fail(struct query *q, const struct tusk_error *e)
{
	query_record(q, e->kind == TE_QUERY_CANCELLED ? "cancelled" : "error", e, (int64_t)q->rows);
	event_query(e->kind == TE_QUERY_CANCELLED ? "cancelled" : "failed", q, e);
	bool answered = q->ops && q->ops->failed && q->ops->failed(q, e);
	if (q->req && !answered)
		req_error(q->req, e);
	query_free(q);
}

/* Start the next queued query if the connection is free. */
void
queries_kick(struct conn *c)
{
	if (c->state != CS_CONNECTED || c->running || c->worker == NULL || c->worker->peer == NULL)
		return;
	struct query *q = TAILQ_FIRST(&c->queue);
	if (q == NULL)
		return;
	struct worker *w = c->worker;
	const char *order = q->ops && q->ops->order ? q->ops->order : W_QUERY;
	msgpack_packer *pk = rpc_call(w->peer, order, query_reply, q, &q->worker_msgid);
	msgpack_pack_array(pk, 1);
	if (q->ops && q->ops->pack)
		q->ops->pack(q, pk);
	else
		MP_PACK_FIELDS(pk,
		    MPF_STR("query_id", q->id),
		    MPF_STR("sql", q->sql),
		    MPF_INT_OPT("max_rows", q->max_rows),
		    q->timeout_ms > 0 ? (struct mp_field)MPF_INT("timeout_ms", q->timeout_ms) :
		    (struct mp_field)MPF_NIL("timeout_ms"));
	q->state = QS_RUNNING;
	q->started_wall_ms = wall_ms();
	q->started_mono_ms = mono_ms();
	q->started_us = mono_us();
	c->running = q;
	worker_set_state(w, WS_BUSY);
	free(w->query_id);
	free(w->query_sql);
	w->query_id = xstrdup(q->id);
	w->query_sql = xstrndup(q->sql, MIN(strlen(q->sql), (size_t)SQL_SHOWN));
	w->query_started_mono_ms = q->started_mono_ms;
	log_debug("query %s started on %s", q->id, c->cfg.name);
	event_query("started", q, NULL);
}

/* The worker's answer to a query, when it is an error (success is raw). */
static void
query_reply(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res, void *arg)
{
	struct query *q = arg;
	struct conn *c = q->conn;
	UNUSED(p);
	if (err == NULL && res == NULL)
		return; /* the worker vanished: queries_fail_conn says why */
	if (err != NULL) {
		struct tusk_error e = TUSK_ERROR_INIT;
		if (terr_unpack(err, &e) < 0)
			terr_set(&e, TE_INTERNAL, "the worker sent a malformed error");
		struct worker *w = c->worker;
		if (w && w->kill_sent && w->kill_reason) {
			/* the worker is being killed: that is why the query ended */
			terr_set(&e, TE_WORKER_LOST, "the connection's worker was stopped: %s", w->kill_reason);
			terr_reason(&e, w->kill_reason);
			terr_hint(&e, "the connection is marked lost; connect again to reopen it");
		}
		log_debug("query %s failed: %s", q->id, e.message);
		query_fail(q, &e);
		terr_clear(&e);
	} else if (q->ops && q->ops->done) {
		query_record(q, "ok", NULL, result_rows_obj(res));
		q->ops->done(q, res);
		event_query("finished", q, NULL);
		query_free(q);
	} else {
		/* a success that was not taken raw: pass the result on */
		query_record(q, "ok", NULL, result_rows_obj(res));
		if (q->req)
			msgpack_pack_object(req_result(q->req), *res);
		event_query("finished", q, NULL);
		query_free(q);
	}
	queries_kick(c);
}

/* May more work wait on c (max_queued_queries, max_queued_bytes)? */
int
queries_admit(struct conn *c, struct client *cl, size_t sql_len, struct tusk_error *e)
{
	unsigned n = 0;
	size_t bytes = 0;
	struct query *q;
	TAILQ_FOREACH(q, &c->queue, centry) {
		if (q->state != QS_QUEUED)
			continue;
		n++;
		bytes += q->sql_len;
	}
	if (n == 0 && c->running == NULL)
		return 0; /* it runs at once: nothing waits */
	if (n >= (unsigned)tuskd.set.max_queued_queries)
		return limit_refuse(cl, LIMIT_QUEUED_QUERIES, e,
		    "connection '%s' has %u queries waiting already (its limit)", c->cfg.name, n);
	if (sql_len > tuskd.set.max_queued_bytes || bytes > tuskd.set.max_queued_bytes - sql_len)
		return limit_refuse(cl, LIMIT_QUEUED_BYTES, e,
		    "connection '%s' has %zu bytes of SQL waiting; %zu more would pass its limit of %zu",
		    c->cfg.name, bytes, sql_len, tuskd.set.max_queued_bytes);
	return 0;
}

struct query *
query_submit(struct conn *c, struct request *req, char *id, char *sql, const struct query_ops *ops,
    void *ctx, struct tusk_error *e)
{
	size_t sql_len = strlen(sql);
	if (queries_admit(c, req ? req->client : NULL, sql_len, e) < 0) {
		free(id);
		free(sql);
		return NULL;
	}
	if (id) {
		if (!query_id_valid(id)) {
			free(id);
			free(sql);
			terr_set(e, TE_VALIDATION, "query_id: 1 to %d letters, digits or -_.:",
			    QUERY_ID_MAX);
			terr_hint(e, "leave it out and the broker makes one (a UUID)");
			return NULL;
		}
		if (query_find(id)) {
			terr_set(e, TE_VALIDATION, "query_id: '%s' is already running", id);
			free(id);
			free(sql);
			terr_hint(e, "use a new id for each query");
			return NULL;
		}
	} else {
		id = xmalloc(UUID_STR_LEN);
		uuid_v4(id);
	}
	struct query *q = xcalloc(1, sizeof *q);
	q->id = id;
	q->conn = c;
	conn_ref(c);
	q->req = req;
	q->sql = sql;
	q->sql_len = sql_len;
	q->max_rows = -1;
	q->timeout_ms = -1;
	q->ops = ops;
	q->ctx = ctx;
	q->state = QS_QUEUED;
	q->started_wall_ms = wall_ms();
	q->started_mono_ms = mono_ms();
	TAILQ_INSERT_TAIL(&tuskd.queries, q, entry);
	TAILQ_INSERT_TAIL(&c->queue, q, centry);
	return q;
}

static const struct tusk_param p_execute_query[] = {
	{ "connection_id", TT_STR, 0, "an open connection's id" , NULL },
	{ "sql", TT_STR, 0, "one or more SQL statements" , NULL },
	{ "query_id", TT_STR, P_OPT, "client-chosen id (UUID); one is made otherwise" , NULL },
	{ "max_rows", TT_INT, P_OPT, "answer the rows in the response, at most this many; no row notifications" , NULL },
	{ "timeout_ms", TT_INT, P_OPT, "cancel the query after this long (QueryTimeout)" , NULL },
	PARAMS_END,
};

/* execute_query {connection_id, sql, query_id?, max_rows?, timeout_ms?} */
static int
h_execute_query(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct conn *c = req->conn;
	int64_t max_rows = params_int(p, "max_rows", -1);
	int64_t timeout_ms = params_int(p, "timeout_ms", -1);
	if (params_has(p, "max_rows") && max_rows < 0)
		return terr_set(e, TE_VALIDATION, "max_rows: must be 0 or more");
	if (params_has(p, "timeout_ms") && timeout_ms < 0)
		return terr_set(e, TE_VALIDATION, "timeout_ms: must be 0 (none) or more");
	/* the SQL's size is the client's: bounded before it is copied, and a
	 * copy the memory left cannot hold is refused, not fatal */
	const msgpack_object *so = params_get(p, "sql");
	if (queries_admit(c, req->client, so->via.str.size, e) < 0)
		return -1;
	char *sql = strndup(so->via.str.ptr, so->via.str.size);
	if (sql == NULL)
		return limit_refuse(req->client, LIMIT_MEMORY, e,
		    "out of memory: %u bytes of SQL could not be kept", so->via.str.size);
	struct query *q = query_submit(c, req, params_strdup(p, "query_id"), sql, NULL, NULL, e);
	if (q == NULL)
		return -1;
	q->max_rows = max_rows;
	q->timeout_ms = timeout_ms;
	q->record = true;
	queries_kick(c);
	return H_ASYNC;
}

const struct tusk_method m_execute_query = {
	.name = M_EXECUTE_QUERY,
	.params = p_execute_query,
	.result = "{query_id: str, columns: [@column], rows: [[any]], row_count: int, "
	    "truncated: bool, elapsed_ms: float, command_tag: str | nil, "
	    "rows_affected: int | nil, result_sets: int, "
	    "transaction: \"idle\" | \"in_transaction\" | \"failed_transaction\" | \"active\" | \"unknown\"}",
	.flags = MF_STREAMS | MF_CONNECTION,
	.doc = "Run SQL. Rows stream as query_rows notifications (after query_columns); with max_rows they come in the response instead.",
	.handler = h_execute_query,
};

/* Fail every query of a connection. */
void
queries_fail_conn(struct conn *c, const struct tusk_error *e)
{
	struct query *q;
	while ((q = TAILQ_FIRST(&c->queue)) != NULL)
		query_fail(q, e);
}

/* Nothing to wait for: the cancel order's answer. */
static void
cancel_sent_reply(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res,
    void *arg)
{
	struct request *req = arg;
	UNUSED(p);
	if (req == NULL)
		return;
	if (err == NULL && res == NULL) {
		struct tusk_error e = TUSK_ERROR_INIT;
		terr_set(&e, TE_WORKER_LOST, "the connection's worker ended before it could cancel");
		terr_reason(&e, "ended");
		req_error(req, &e);
		terr_clear(&e);
	} else if (err != NULL) {
		struct tusk_error e = TUSK_ERROR_INIT;
		if (terr_unpack(err, &e) < 0)
			terr_set(&e, TE_INTERNAL, "cancel failed");
		req_error(req, &e);
		terr_clear(&e);
	} else {
		struct params prm;
		bool sent = worker_reply_read(p, W_CANCEL, wire_cancel_reply, res, &prm) == 0 &&
		    params_bool(&prm, "sent", false);
		MP_PACK_FIELDS(req_result(req), MPF_BOOL("cancelled", sent));
	}
	req_free(req);
}

/* Tell the worker to cancel the running query; answer req (may be NULL). */
static void
query_cancel_running(struct query *q, struct request *req)
{
	struct worker *w = q->conn->worker;
	if (w == NULL || w->peer == NULL || rpc_peer_closing(w->peer)) {
		if (req) {
			struct tusk_error e = TUSK_ERROR_INIT;
			terr_set(&e, TE_WORKER_LOST, "the connection's worker is gone");
			terr_reason(&e, "ended");
			req_error(req, &e);
			terr_clear(&e);
			req_free(req);
		}
		return;
	}
	q->cancel_sent = true;
	worker_set_state(w, WS_CANCELLING);
	msgpack_packer *pk = rpc_call(w->peer, W_CANCEL, cancel_sent_reply, req, NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "query_id");
	mp_pack_cstr(pk, q->id);
	/* a paused worker must hear the order: its client may never read */
	if (rpc_peer_paused(w->peer) && (q->req == NULL || !req_client_alive(q->req)))
		workers_resume_for(w->paused_for);
}

static const struct tusk_param p_cancel_query[] = {
	{ "query_id", TT_STR, 0, "a running query's id" , NULL },
	PARAMS_END,
};

/* cancel_query {query_id} */
static int
h_cancel_query(struct request *req, const struct params *p, struct tusk_error *e)
{
	char *id = params_strdup(p, "query_id");
	struct query *q = query_find(id);
	if (q == NULL) {
		terr_set(e, TE_VALIDATION, "query_id: no queued or running query '%.64s'", id);
		free(id);
		terr_hint(e, "it may have finished already; get_running_queries lists the live ones");
		return -1;
	}
	free(id);
	log_info("cancelling query %s (%s)", q->id, q->state == QS_QUEUED ? "queued" : "running");
	if (q->state == QS_QUEUED) {
		struct tusk_error qe = TUSK_ERROR_INIT;
		terr_set(&qe, TE_QUERY_CANCELLED, "canceling statement due to user request");
		terr_detail(&qe, "the query was cancelled before it started");
		terr_code(&qe, "57014");
		query_fail(q, &qe);
		terr_clear(&qe);
		msgpack_packer *pk = req_result(req);
		msgpack_pack_map(pk, 1);
		mp_pack_key(pk, "cancelled");
		msgpack_pack_true(pk);
		return H_DONE;
	}
	query_cancel_running(q, req);
	return H_ASYNC;
}

const struct tusk_method m_cancel_query = {
	.name = M_CANCEL_QUERY,
	.params = p_cancel_query,
	.result = "{cancelled: bool}",
	.flags = 0,
	.doc = "Cancel a queued or running query; its connection stays usable.",
	.handler = h_cancel_query,
};

/* A client left: its queued queries go, its running ones are cancelled. */
void
queries_client_gone(struct client *cl)
{
	struct query *q, *tmp;
	TAILQ_FOREACH_SAFE(q, &tuskd.queries, entry, tmp) {
		if (q->req == NULL || q->req->client != cl)
			continue;
		if (q->state == QS_QUEUED) {
			query_free(q);
		} else if (!q->cancel_sent) {
			log_debug("client left: cancelling its query %s", q->id);
			query_cancel_running(q, NULL);
		}
	}
}

static const struct tusk_param p_get_running_queries[] = {
	{ "connection_id", TT_STR, P_OPT, "only this connection's queries" , NULL },
	PARAMS_END,
};

/* get_running_queries {connection_id?} */
static int
h_get_running_queries(struct request *req, const struct params *p, struct tusk_error *e)
{
	char *cid = params_strdup(p, "connection_id");
	UNUSED(e);
	unsigned n = 0;
	struct query *q;
	TAILQ_FOREACH(q, &tuskd.queries, entry)
		if (cid == NULL || strcmp(cid, q->conn->id) == 0)
			n++;
	msgpack_packer *pk = req_result(req);
	msgpack_pack_array(pk, n);
	int64_t now = mono_ms();
	TAILQ_FOREACH(q, &tuskd.queries, entry) {
		if (cid && strcmp(cid, q->conn->id) != 0)
			continue;
		char ts[40];
		iso8601_utc(q->started_wall_ms, ts, sizeof ts);
		msgpack_pack_map(pk, 8);
		mp_pack_key(pk, "query_id");
		mp_pack_cstr(pk, q->id);
		mp_pack_key(pk, "connection_id");
		mp_pack_cstr(pk, q->conn->id);
		mp_pack_key(pk, "connection_name");
		mp_pack_cstr(pk, q->conn->cfg.name);
		mp_pack_key(pk, "sql");
		mp_pack_cstr(pk, q->sql);
		mp_pack_key(pk, "state");
		mp_pack_cstr(pk, q->state == QS_QUEUED ? "queued" : q->cancel_sent ? "cancelling" : "running");
		mp_pack_key(pk, "started_at");
		mp_pack_cstr(pk, ts);
		mp_pack_key(pk, "elapsed_ms");
		msgpack_pack_int64(pk, now - q->started_mono_ms);
		mp_pack_key(pk, "row_count");
		msgpack_pack_uint64(pk, q->rows);
	}
	free(cid);
	return H_DONE;
}

const struct tusk_method m_get_running_queries = {
	.name = M_GET_RUNNING_QUERIES,
	.params = p_get_running_queries,
	.result = "[{query_id: str, connection_id: str, connection_name: str | nil, sql: str, "
	    "state: \"queued\" | \"running\" | \"cancelling\", started_at: str, elapsed_ms: int, "
	    "row_count: int}]",
	.flags = MF_READ_ONLY,
	.doc = "Queries queued or running.",
	.handler = h_get_running_queries,
};

/* Route a worker message by its first bytes; see the top of this file. */
bool
queries_worker_raw(struct worker *w, struct conn *c, struct evbuffer *in, size_t len)
{
	struct query *q = c->running;
	size_t head = MIN(len, (size_t)256);
	const void *bytes = evbuffer_pullup(in, (ssize_t)head);
	struct rpc_peek pk;

	if (bytes == NULL || rpc_peek(bytes, head, &pk) < 0)
		return false;
	if (pk.type == RPC_RESPONSE) {
		if (q == NULL || !pk.success || pk.msgid != q->worker_msgid)
			return false; /* not the query's success: decode it */
		if (q->ops && q->ops->raw && q->ops->raw(q, in, len, &pk)) {
			/* taken as bytes (and answered): the query is over */
			rpc_call_forget(w->peer, q->worker_msgid);
			event_query("finished", q, NULL);
			query_free(q);
			queries_kick(c);
			return true;
		}
		if (q->ops && q->ops->done)
			return false; /* decoded for ops->done (query_reply) */
		rpc_call_forget(w->peer, q->worker_msgid);
		if (q->record && history_enabled()) {
			const uint8_t *m = evbuffer_pullup(in, (ssize_t)len);
			query_record(q, "ok", NULL, m ? result_rows_raw(m + pk.result_at, len - pk.result_at) : -1);
		}
		struct evbuffer *out = client_output(q->req ? q->req->client : NULL);
		if (q->req)
			rpc_pack_reply_begin(packer_on(out), q->req->msgid);
		evbuffer_drain(in, pk.result_at);
		evbuffer_remove_buffer(in, out, len - pk.result_at);
		log_debug("query %s finished: %llu rows streamed", q->id, (unsigned long long)q->rows);
		event_query("finished", q, NULL);
		query_free(q);
		queries_kick(c);
		return true;
	}
	if (pk.type != RPC_NOTIFY || !pk.has_query_id)
		return false;
	if (q && q->ops && q->ops->raw && pk.query_id && strlen(q->id) == pk.query_id_len &&
	    memcmp(q->id, pk.query_id, pk.query_id_len) == 0 && q->ops->raw(q, in, len, &pk))
		return true;
	bool rows = rpc_peek_is(&pk, N_QUERY_ROWS);
	if (!rows && !rpc_peek_is(&pk, N_QUERY_COLUMNS) && !rpc_peek_is(&pk, N_QUERY_NOTICE))
		return false;
	if (pk.query_id == NULL) {
		/* a notice outside any query (nil query_id): nobody asked */
		evbuffer_drain(in, len);
		return true;
	}
	if (rows && !pk.has_rows) {
		log_warn("worker %llu sent a malformed row batch", (unsigned long long)w->id);
		evbuffer_drain(in, len);
		return true;
	}
	if (q == NULL || strlen(q->id) != pk.query_id_len ||
	    memcmp(q->id, pk.query_id, pk.query_id_len) != 0) {
		/* a stale message for a query already answered */
		evbuffer_drain(in, len);
		return true;
	}
	q->rows += pk.nrows;
	q->bytes += len;
	w->rows_streamed += pk.nrows;
	w->bytes_streamed += len;
	struct client *cl = q->req ? q->req->client : NULL;
	evbuffer_remove_buffer(in, client_output(cl), len);
	if (cl && !cl->gone && client_congested(cl))
		worker_pause_for(w, cl);
	return true;
}

/* A decoded notification from a connection's worker: the running query's,
 * if its ops take it. */
void
queries_worker_notify(struct conn *c, const struct rpc_msg *m)
{
	struct query *q = c->running;
	const msgpack_object *arg = m->params && m->params->type == MSGPACK_OBJECT_ARRAY &&
	    m->params->via.array.size == 1 ? &m->params->via.array.ptr[0] : NULL;
	const msgpack_object *id = arg && arg->type == MSGPACK_OBJECT_MAP ? mo_map_get(arg, "query_id") : NULL;
	if (q && q->ops && q->ops->notify && id && mo_str_eq(id, q->id)) {
		q->ops->notify(q, m);
		return;
	}
	log_debug("connection %s: ignoring worker notification '%s'", c->cfg.name, m->method);
}

void
query_cancel(struct query *q)
{
	if (q->state == QS_QUEUED) {
		struct tusk_error e = TUSK_ERROR_INIT;
		terr_set(&e, TE_QUERY_CANCELLED, "canceling statement due to user request");
		query_fail(q, &e);
		terr_clear(&e);
	} else if (!q->cancel_sent) {
		query_cancel_running(q, NULL);
	}
}

void
query_progress(struct query *q, uint64_t rows, uint64_t bytes)
{
	if (q->req == NULL || !req_client_alive(q->req))
		return;
	msgpack_packer *pk = packer_on(client_output(q->req->client));
	rpc_pack_notify_begin(pk, N_QUERY_PROGRESS);
	msgpack_pack_array(pk, 1);
	MP_PACK_FIELDS(pk,
	    MPF_STR("query_id", q->id),
	    MPF_UINT("rows", rows),
	    MPF_UINT("bytes", bytes));
}

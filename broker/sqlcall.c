/*
 * sqlcall.c — the broker's own statements on a connection (sqlcall.h).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "proto.h"
#include "sqlcall.h"
#include "util.h"
#include "wire.h"

struct sqlcall {
	bool batch;		 /* W_EXEC_BATCH, else W_QUERY */
	struct tsql *st;	 /* owned */
	int n;
	int64_t max_rows;
	sqlcall_fn fn;
	void *arg;
	void (*arg_free)(void *);
	bool called;
};

/* Pack a statement's bound values. */
static void
pack_values(msgpack_packer *pk, const struct tsql *s)
{
	msgpack_pack_array(pk, (size_t)s->n);
	for (int i = 0; i < s->n; i++)
		mp_pack_cstr(pk, s->values[i]);
}

/* The order's arguments. */
static void
sqlcall_pack(struct query *q, msgpack_packer *pk)
{
	struct sqlcall *sc = q->ctx;
	if (!sc->batch) {
		msgpack_pack_map(pk, 4);
		mp_pack_key(pk, "query_id");
		mp_pack_cstr(pk, q->id);
		mp_pack_key(pk, "sql");
		mp_pack_cstr(pk, sc->st[0].sql.buf);
		mp_pack_key(pk, "max_rows");
		msgpack_pack_int64(pk, sc->max_rows);
		mp_pack_key(pk, "params");
		pack_values(pk, &sc->st[0]);
		return;
	}
	msgpack_pack_map(pk, 2);
	mp_pack_key(pk, "query_id");
	mp_pack_cstr(pk, q->id);
	mp_pack_key(pk, "statements");
	msgpack_pack_array(pk, (size_t)sc->n);
	for (int i = 0; i < sc->n; i++) {
		msgpack_pack_map(pk, 3);
		mp_pack_key(pk, "sql");
		mp_pack_cstr(pk, sc->st[i].sql.buf);
		mp_pack_key(pk, "params");
		pack_values(pk, &sc->st[i]);
		mp_pack_key(pk, "expect_rows");
		msgpack_pack_int(pk, 1);
	}
}

/* Notices of our own statements have no client to go to. */
static bool
sqlcall_raw(struct query *q, struct evbuffer *in, size_t len, const struct rpc_peek *pk)
{
	UNUSED(q);
	if (pk->type != RPC_NOTIFY)
		return false;
	evbuffer_drain(in, len);
	return true;
}

/* Call back once; free arg unless the callback kept it. */
static void
sqlcall_call(struct query *q, const struct params *reply, const struct tusk_error *e)
{
	struct sqlcall *sc = q->ctx;
	sc->called = true;
	bool kept = sc->fn(q, reply, e, sc->arg);
	if (!kept && sc->arg_free && sc->arg)
		sc->arg_free(sc->arg);
	sc->arg = NULL;
}

/* The decoded success reply. */
static void
sqlcall_done(struct query *q, const msgpack_object *res)
{
	struct sqlcall *sc = q->ctx;
	struct params prm;
	struct worker *w = q->conn->worker;
	const struct tusk_param *spec = sc->batch ? wire_exec_batch_reply : wire_query_reply;
	const char *order = sc->batch ? W_EXEC_BATCH : W_QUERY;
	if (w == NULL || w->peer == NULL || worker_reply_read(w->peer, order, spec, res, &prm) < 0) {
		struct tusk_error e = TUSK_ERROR_INIT;
		terr_set(&e, TE_WORKER_LOST, "the connection's worker answered a malformed reply");
		terr_reason(&e, "protocol");
		sqlcall_call(q, NULL, &e);
		terr_clear(&e);
		return;
	}
	sqlcall_call(q, &prm, NULL);
}

/* The statement failed (or the connection went). */
static bool
sqlcall_failed(struct query *q, const struct tusk_error *e)
{
	sqlcall_call(q, NULL, e);
	return true;
}

/* Free a SQL call's statements, and its caller's argument when it was dropped unanswered. */
static void
sqlcall_free(struct query *q)
{
	struct sqlcall *sc = q->ctx;
	if (sc == NULL)
		return;
	if (!sc->called && sc->arg_free && sc->arg)
		sc->arg_free(sc->arg); /* dropped unanswered: its client left */
	for (int i = 0; i < sc->n; i++)
		tsql_free(&sc->st[i]);
	free(sc->st);
	free(sc);
	q->ctx = NULL;
}

static const struct query_ops query_ops = {
	.order = W_QUERY,
	.pack = sqlcall_pack,
	.raw = sqlcall_raw,
	.done = sqlcall_done,
	.failed = sqlcall_failed,
	.free = sqlcall_free,
};

static const struct query_ops batch_ops = {
	.order = W_EXEC_BATCH,
	.pack = sqlcall_pack,
	.raw = sqlcall_raw,
	.done = sqlcall_done,
	.failed = sqlcall_failed,
	.free = sqlcall_free,
};

/* Queue it; the statements' text (the first, shortened) is what lists show. */
static struct query *
sqlcall_submit(struct conn *c, struct request *req, char *id, struct sqlcall *sc,
    struct tusk_error *e)
{
	const char *first = sc->n ? sc->st[0].sql.buf : "";
	char *shown = sc->n > 1 ? xasprintf("%s; -- and %d more in one transaction", first, sc->n - 1) :
	    xstrdup(first);
	struct query *q = query_submit(c, req, id, shown,
	    sc->batch ? &batch_ops : &query_ops, sc, e);
	if (q == NULL) {
		sc->called = true; /* the caller keeps arg */
		struct query fake = { .ctx = sc };
		sqlcall_free(&fake);
		return NULL;
	}
	queries_kick(c);
	return q;
}

struct query *
sqlcall_query(struct conn *c, struct request *req, struct tsql *stmt, int64_t max_rows,
    sqlcall_fn fn, void *arg, void (*arg_free)(void *), struct tusk_error *e)
{
	struct sqlcall *sc = xcalloc(1, sizeof *sc);
	sc->st = xcalloc(1, sizeof *sc->st);
	sc->st[0] = *stmt;
	tsql_init(stmt);
	sc->n = 1;
	sc->max_rows = max_rows;
	sc->fn = fn;
	sc->arg = arg;
	sc->arg_free = arg_free;
	return sqlcall_submit(c, req, NULL, sc, e);
}

struct query *
sqlcall_batch(struct conn *c, struct request *req, char *id, struct tsql *stmts, int n,
    sqlcall_fn fn, void *arg, void (*arg_free)(void *), struct tusk_error *e)
{
	struct sqlcall *sc = xcalloc(1, sizeof *sc);
	sc->batch = true;
	sc->st = xcalloc((size_t)MAX(n, 1), sizeof *sc->st);
	for (int i = 0; i < n; i++) {
		sc->st[i] = stmts[i];
		tsql_init(&stmts[i]);
	}
	sc->n = n;
	sc->fn = fn;
	sc->arg = arg;
	sc->arg_free = arg_free;
	return sqlcall_submit(c, req, id, sc, e);
}

/*
 * pg-edit.c — exec_batch: several bound statements in one transaction.
 *
 * The broker's apply_edits sends every edit of a table as one statement
 * with its values bound ($1..$n) and the number of rows it must touch.
 * Here they run between BEGIN and COMMIT on the session, one after the
 * other (each through pg_send_query, so cancel, timeouts and notices work
 * as for any query). A statement that touches another number of rows than
 * expected is a mismatch: the rest still run (so every conflict is found),
 * then everything is rolled back. A statement that fails stops the batch,
 * and it is rolled back too. The reply says what each statement did,
 * which ones mismatched, and whether the transaction committed. A session
 * already inside a transaction is refused: our COMMIT would end the
 * user's transaction.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <libpq-fe.h>

#include "cancel.h"
#include "log.h"
#include "msg.h"
#include "pg.h"
#include "proto.h"
#include "util.h"
#include "worker.h"

#define BATCH_MAX 10000 /* statements in one batch */

enum batch_phase { BP_BEGIN, BP_STATEMENTS, BP_END };

struct bstmt {
	char *sql;
	char **values; /* NULL for SQL NULL */
	int nvalues;
	int64_t expect; /* rows it must touch; -1: any */
	int64_t affected; /* -1: not run */
};

struct pgbatch {
	struct bstmt *st;
	int n;
	int at;		  /* the statement running (BP_STATEMENTS) */
	enum batch_phase phase;
	bool commit;	  /* the END is a COMMIT (else a ROLLBACK) */
	bool committed;
	bool retried;	  /* a second ROLLBACK was sent */
	int failed;	  /* the statement that raised an error, -1: none */
	struct tusk_error err;
	int *mismatch;
	int nmismatch;
};

/* Free a batch's statements, mismatches and error. */
void
pg_batch_free(struct pgbatch *b)
{
	if (b == NULL)
		return;
	for (int i = 0; i < b->n; i++) {
		free(b->st[i].sql);
		for (int j = 0; j < b->st[i].nvalues; j++)
			free(b->st[i].values[j]);
		free(b->st[i].values);
	}
	free(b->st);
	free(b->mismatch);
	terr_clear(&b->err);
	free(b);
}

/* Read one statement {sql, params, expect_rows?} of the order. */
static int
batch_read_stmt(struct bstmt *s, const msgpack_object *o, int i, struct tusk_error *e)
{
	const msgpack_object *sql = mo_map_get(o, "sql");
	const msgpack_object *params = mo_map_get(o, "params");
	const msgpack_object *expect = mo_map_get(o, "expect_rows");
	if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size > 3 || !mo_has_type(sql, TT_STR) ||
	    (params && params->type != MSGPACK_OBJECT_NIL && params->type != MSGPACK_OBJECT_ARRAY) ||
	    (expect && expect->type != MSGPACK_OBJECT_NIL && !mo_has_type(expect, TT_INT)))
		return terr_set(e, TE_INTERNAL, "worker: exec_batch statement %d is malformed", i);
	for (uint32_t k = 0; k < o->via.map.size; k++) {
		const msgpack_object *key = &o->via.map.ptr[k].key;
		if (!mo_str_eq(key, "sql") && !mo_str_eq(key, "params") && !mo_str_eq(key, "expect_rows"))
			return terr_set(e, TE_INTERNAL, "worker: exec_batch statement %d has an unknown field", i);
	}
	s->sql = mo_strdup(sql);
	s->expect = -1;
	s->affected = -1;
	int64_t x;
	if (expect && expect->type != MSGPACK_OBJECT_NIL && mo_int(expect, &x) == 0)
		s->expect = x;
	if (params && params->type == MSGPACK_OBJECT_ARRAY) {
		if (params->via.array.size > 65535)
			return terr_set(e, TE_INTERNAL, "worker: statement %d has more than 65535 values", i);
		s->nvalues = (int)params->via.array.size;
		s->values = xcalloc((size_t)MAX(s->nvalues, 1), sizeof *s->values);
		for (int j = 0; j < s->nvalues; j++) {
			const msgpack_object *v = &params->via.array.ptr[j];
			if (v->type == MSGPACK_OBJECT_NIL)
				continue;
			if (!mo_has_type(v, TT_STR))
				return terr_set(e, TE_INTERNAL,
				    "worker: statement %d: value %d is not text or nil", i, j + 1);
			s->values[j] = mo_strdup(v);
		}
	}
	return 0;
}

void
pg_exec_batch(uint32_t msgid, const struct params *params)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	const msgpack_object *arr = params_get(params, "statements");
	if (!pg_ready_for_order(&e))
		;
	else if (arr->via.array.size > BATCH_MAX)
		terr_set(&e, TE_INTERNAL, "worker: more than %d statements in a batch", BATCH_MAX);
	else if (PQtransactionStatus(pg.conn) != PQTRANS_IDLE) {
		terr_set(&e, TE_VALIDATION, "the connection's session is inside a transaction");
		terr_detail(&e, "transaction status: %s", pg_tx_status());
		terr_hint(&e, "COMMIT or ROLLBACK it first: edits apply in a transaction of their own");
	}
	struct pgbatch *b = xcalloc(1, sizeof *b);
	b->failed = -1;
	terr_init(&b->err);
	if (!terr_isset(&e)) {
		b->st = xcalloc(MAX(arr->via.array.size, 1), sizeof *b->st);
		for (uint32_t i = 0; i < arr->via.array.size; i++) {
			b->n = (int)i + 1;
			if (batch_read_stmt(&b->st[i], &arr->via.array.ptr[i], (int)i, &e) < 0)
				break;
		}
		b->mismatch = xcalloc((size_t)MAX(b->n, 1), sizeof *b->mismatch);
	}
	if (terr_isset(&e)) {
		wk_reply_error(msgid, &e);
		terr_clear(&e);
		pg_batch_free(b);
		return;
	}
	struct qorder *o = xcalloc(1, sizeof *o);
	o->msgid = msgid;
	o->id = params_strdup(params, "query_id");
	o->sql = xstrdup("BEGIN");
	o->max_rows = 0;
	o->timeout_ms = params_int(params, "timeout_ms", -1);
	o->batch = b;
	if (pg.q || cancel_running()) {
		pg.pending = o; /* after the type names, or a cancel on its way (pg_query) */
		return;
	}
	pg_order_start(o);
}

/* Pack the answer and forget the batch. */
static void
batch_reply(struct pgq *q)
{
	struct pgbatch *b = q->batch;
	double elapsed = (double)(mono_us() - q->started_us) / 1000.0;
	msgpack_packer *pk = wk_reply_begin(q->msgid);
	bool err = terr_isset(&b->err);
	msgpack_pack_map(pk, 5 + (err ? 2 : 0));
	mp_pack_key(pk, "query_id");
	mp_pack_cstr(pk, q->id);
	mp_pack_key(pk, "committed");
	mp_pack_bool(pk, b->committed);
	mp_pack_key(pk, "results");
	msgpack_pack_array(pk, (size_t)b->n);
	for (int i = 0; i < b->n; i++) {
		msgpack_pack_map(pk, 1);
		mp_pack_key(pk, "rows_affected");
		if (b->st[i].affected < 0)
			msgpack_pack_nil(pk);
		else
			msgpack_pack_int64(pk, b->st[i].affected);
	}
	mp_pack_key(pk, "mismatches");
	msgpack_pack_array(pk, (size_t)b->nmismatch);
	for (int i = 0; i < b->nmismatch; i++)
		msgpack_pack_int(pk, b->mismatch[i]);
	mp_pack_key(pk, "elapsed_ms");
	msgpack_pack_double(pk, elapsed);
	if (err) {
		mp_pack_key(pk, "failed");
		if (b->failed < 0)
			msgpack_pack_nil(pk);
		else
			msgpack_pack_int(pk, b->failed);
		mp_pack_key(pk, "error");
		terr_pack(pk, &b->err);
	}
	log_debug("batch %s: %d statements, %s (%d mismatched) in %.1f ms", q->id, b->n,
	    b->committed ? "committed" : "rolled back", b->nmismatch, elapsed);
}

/* Send the next statement of the batch (or its end); false when it could not be sent. */
static bool
batch_send(struct pgq *q)
{
	struct pgbatch *b = q->batch;
	const char *sql;
	int n = 0;
	char *const *values = NULL;
	if (b->phase == BP_STATEMENTS) {
		sql = b->st[b->at].sql;
		n = b->st[b->at].nvalues;
		values = b->st[b->at].values;
		if (values == NULL) {
			static char *none[1];
			values = none; /* bound even without values: one statement only */
		}
	} else {
		sql = b->commit ? "COMMIT" : "ROLLBACK";
	}
	/* fresh per-statement state */
	free(q->command_tag);
	free(q->rows_affected);
	q->command_tag = q->rows_affected = NULL;
	q->in_rows = false;
	q->kept_rows = 0;
	q->rows.len = 0;
	int64_t started = q->started_us;
	int r = pg_send_query(q, sql, n, values);
	q->started_us = started;
	return r == 0;
}

/* Decide what follows the statement that just ended. */
void
pg_batch_step(void)
{
	struct pgq *q = pg.q;
	struct pgbatch *b = q->batch;
	bool failed = terr_isset(&q->err);
	long long ra = -1;
	if (q->rows_affected && *q->rows_affected)
		parse_ll(q->rows_affected, 0, INT64_MAX, &ra);
	switch (b->phase) {
	case BP_BEGIN:
		if (failed) {
			terr_copy(&b->err, &q->err);
			goto answer; /* nothing began */
		}
		b->phase = b->n ? BP_STATEMENTS : BP_END;
		b->commit = true;
		break;
	case BP_STATEMENTS:
		if (failed) {
			terr_copy(&b->err, &q->err);
			b->failed = b->at;
			b->phase = BP_END;
			b->commit = false;
			break;
		}
		b->st[b->at].affected = ra;
		if (b->st[b->at].expect >= 0 && ra != b->st[b->at].expect)
			b->mismatch[b->nmismatch++] = b->at;
		if (++b->at == b->n) {
			b->phase = BP_END;
			b->commit = b->nmismatch == 0;
		}
		break;
	case BP_END:
		if (failed) {
			if (!terr_isset(&b->err)) {
				terr_copy(&b->err, &q->err); /* COMMIT failed: a deferred check */
				b->failed = -1;
			}
			if (PQtransactionStatus(pg.conn) != PQTRANS_IDLE && !b->retried) {
				b->retried = true;
				b->commit = false;
				terr_clear(&q->err);
				break;
			}
		} else if (b->commit) {
			/* COMMIT of an aborted transaction answers ROLLBACK */
			b->committed = q->command_tag && strcmp(q->command_tag, "COMMIT") == 0;
		}
		goto answer;
	}
	terr_clear(&q->err);
	if (batch_send(q))
		return;
	if (!terr_isset(&b->err))
		terr_copy(&b->err, &q->err);
answer:
	batch_reply(q);
	pg.q = NULL;
	pg_query_free(q);
	pg_query_after();
}

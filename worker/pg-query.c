/*
 * pg-query.c — running SQL: single-row mode, each row encoded once into a
 * reused buffer and sent as a complete query_rows notification of about
 * ROW_BATCH_BYTES, or kept for a max_rows answer; several result sets;
 * COPY TO STDOUT as rows; notices; backpressure (stop reading the server
 * while the broker is behind); the type names columns are reported with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "cancel.h"
#include "log.h"
#include "msg.h"
#include "pg.h"
#include "proto.h"
#include "resolve.h"
#include "sandbox-policy.h"
#include "sandbox.h"
#include "tunnel.h"
#include "util.h"
#include "worker.h"

static void query_finish(void);


/* Order type names by oid (for bsearch). */
static int
type_cmp(const void *a, const void *b)
{
	Oid x = ((const struct typename *)a)->oid, y = ((const struct typename *)b)->oid;
	return x < y ? -1 : x > y;
}

/* The loaded entry of a type OID, or NULL (then the names are stale). */
static const struct typename *
type_find(Oid oid)
{
	struct typename key = { oid, 0, NULL };
	struct typename *t = pg.ntypes ? bsearch(&key, pg.types, pg.ntypes, sizeof *pg.types, type_cmp) : NULL;
	if (t == NULL && pg.ntypes)
		pg.types_stale = true;
	return t;
}

/* intervaltypmodout's fields part ("" for the full range). */
static const char *
interval_fields(int range)
{
	enum { MON = 1 << 1, YR = 1 << 2, DY = 1 << 3, HR = 1 << 10, MI = 1 << 11, SE = 1 << 12 };
	switch (range) {
	case YR: return " year";
	case MON: return " month";
	case DY: return " day";
	case HR: return " hour";
	case MI: return " minute";
	case SE: return " second";
	case YR | MON: return " year to month";
	case DY | HR: return " day to hour";
	case DY | HR | MI: return " day to minute";
	case DY | HR | MI | SE: return " day to second";
	case HR | MI: return " hour to minute";
	case HR | MI | SE: return " hour to second";
	case MI | SE: return " minute to second";
	default: return "";
	}
}

/*
 * format_type(oid, typmod) for the built-in types that take a modifier
 * (their typmodout functions, as the server prints them); false for any
 * other type. buf receives the name.
 */
static bool
type_format_builtin(Oid oid, int typmod, char *buf, size_t len)
{
	const char *tz = NULL, *base = NULL;
	switch (oid) {
	case 1042: /* bpchar */
	case 1043: /* varchar */
		base = oid == 1042 ? "character" : "character varying";
		if (typmod > 4)
			snprintf(buf, len, "%s(%d)", base, typmod - 4);
		else
			snprintf(buf, len, "%s", base);
		return true;
	case 1560: /* bit */
	case 1562: /* varbit */
		snprintf(buf, len, "%s(%d)", oid == 1560 ? "bit" : "bit varying", typmod);
		return true;
	case 1700: { /* numeric */
		int t = typmod - 4;
		snprintf(buf, len, "numeric(%d,%d)", (t >> 16) & 0xffff, ((t & 0x7ff) ^ 1024) - 1024);
		return true;
	}
	case 1083: base = "time", tz = " without time zone"; break;
	case 1266: base = "time", tz = " with time zone"; break;
	case 1114: base = "timestamp", tz = " without time zone"; break;
	case 1184: base = "timestamp", tz = " with time zone"; break;
	case 1186: { /* interval */
		int prec = typmod & 0xffff, range = (typmod >> 16) & 0x7fff;
		if (prec != 0xffff)
			snprintf(buf, len, "interval%s(%d)", interval_fields(range), prec);
		else
			snprintf(buf, len, "interval%s", interval_fields(range));
		return true;
	}
	default:
		return false;
	}
	snprintf(buf, len, "%s(%d)%s", base, typmod, tz);
	return true;
}

const char *
pg_type_format(Oid oid, int typmod, char *buf, size_t len)
{
	const struct typename *t = type_find(oid);
	if (typmod >= 0 && t && t->elem) {
		/* an array: its element with the modifier, then [] */
		char ebuf[160];
		const char *e = pg_type_format(t->elem, typmod, ebuf, sizeof ebuf);
		snprintf(buf, len, "%s[]", e);
		return buf;
	}
	if (typmod >= 0 && type_format_builtin(oid, typmod, buf, len))
		return buf;
	if (t)
		return t->name; /* an extension's modifier is not shown */
	snprintf(buf, len, "oid:%u", oid);
	return buf;
}

/* Forget the type names read from the server. */
void
pg_types_free(void)
{
	for (size_t i = 0; i < pg.ntypes; i++)
		free(pg.types[i].name);
	free(pg.types);
	pg.types = NULL;
	pg.ntypes = 0;
}

/* A server error (a PGresult) into a tusk_error. */
void
pg_result_error(struct tusk_error *e, const PGresult *res)
{
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
	if (primary == NULL) {
		char *m = pg_clean_message(PQresultErrorMessage(res));
		terr_set(e, TE_DATABASE, "%s", m);
		free(m);
	} else {
		terr_set(e, TE_DATABASE, "%s", primary);
	}
	if (code)
		terr_code(e, code);
	if (detail)
		terr_detail(e, "%s", detail);
	if (hint) {
		terr_hint(e, "%s", hint);
	} else if (code) {
		if (strcmp(code, "42601") == 0 && pos)
			terr_hint(e, "check the SQL at character %s", pos);
		else if (strcmp(code, "42P01") == 0)
			terr_hint(e, "check the table's name and schema (search_path)");
		else if (strcmp(code, "42703") == 0)
			terr_hint(e, "check the column's name; quote names with capitals");
		else if (strcmp(code, "25006") == 0)
			terr_hint(e, "this connection is read-only");
		else if (strcmp(code, "25P02") == 0)
			terr_hint(e, "an earlier statement failed: ROLLBACK the transaction to go on");
		else if (strcmp(code, "40001") == 0 || strcmp(code, "40P01") == 0)
			terr_hint(e, "the transaction conflicted with another one; run it again");
		else if (strcmp(code, "42501") == 0)
			terr_hint(e, "the role lacks the privilege; ask for a GRANT");
	}
	long long p;
	if (pos && parse_ll(pos, 1, INT32_MAX, &p) == 0)
		e->position = p;
	if (code && strcmp(code, "57014") == 0) {
		int64_t elapsed = pg.q ? (mono_us() - pg.q->started_us) / 1000 : -1;
		enum cancel_by by = pg.q ? pg.q->cancel : CANCEL_NONE;
		if (by == CANCEL_USER || by == CANCEL_CLOSE) {
			e->kind = TE_QUERY_CANCELLED;
		} else if (by == CANCEL_TIMEOUT || (primary && strstr(primary, "statement timeout"))) {
			e->kind = TE_QUERY_TIMEOUT;
			e->elapsed_ms = elapsed;
			free(e->message);
			e->message = xasprintf("the query ran longer than its timeout (%lld ms)",
			    (long long)elapsed);
			terr_hint(e, by == CANCEL_TIMEOUT ?
			    "raise timeout_ms, or make the query faster" :
			    "raise the connection's statement_timeout_ms, or make the query faster");
		}
	}
}

/* Notices (RAISE NOTICE, warnings) go to the broker with the query's id. */
void
pg_notice_receiver(void *arg, const PGresult *res)
{
	UNUSED(arg);
	if (wk.peer == NULL || rpc_peer_closing(wk.peer))
		return;
	msgpack_packer *pk = rpc_peer_packer(wk.peer);
	rpc_pack_notify_begin(pk, N_QUERY_NOTICE);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 6);
	mp_pack_key(pk, "query_id"); /* first: the broker routes on it */
	mp_pack_cstr(pk, pg.q && !pg.q->internal ? pg.q->id : NULL);
	mp_pack_key(pk, "severity");
	mp_pack_cstr(pk, PQresultErrorField(res, PG_DIAG_SEVERITY));
	mp_pack_key(pk, "message");
	mp_pack_cstr(pk, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	mp_pack_key(pk, "code");
	mp_pack_cstr(pk, PQresultErrorField(res, PG_DIAG_SQLSTATE));
	mp_pack_key(pk, "detail");
	mp_pack_cstr(pk, PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
	mp_pack_key(pk, "hint");
	mp_pack_cstr(pk, PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
}

/* libevent sent a batch buffer we lent it. */
static void
batch_free(const void *data, size_t len, void *arg)
{
	UNUSED(len);
	UNUSED(arg);
	free((void *)(uintptr_t)data);
}

/* Send the kept batch as one query_rows notification. */
static void
batch_flush(struct pgq *q)
{
	if (q->batch_rows == 0 || q->max_rows >= 0 || wk.peer == NULL)
		return;
	struct evbuffer *out = rpc_peer_output(wk.peer);
	msgpack_packer pk;
	rpc_packer_init(&pk, out);
	rpc_pack_notify_begin(&pk, N_QUERY_ROWS);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	mp_pack_key(&pk, "query_id");
	mp_pack_cstr(&pk, q->id);
	mp_pack_key(&pk, "rows");
	pack_array32(out, q->batch_rows);
	/* hand the rows' buffer to libevent instead of copying it */
	if (evbuffer_add_reference(out, q->rows.data, q->rows.len, batch_free, NULL) == 0)
		memset(&q->rows, 0, sizeof q->rows);
	else
		evbuffer_add(out, q->rows.data, q->rows.len);
	q->rows.len = 0;
	q->batch_rows = 0;
}

/* A new result set: remember its shape; stream its columns. */
static void
result_begin(const PGresult *res)
{
	struct pgq *q = pg.q;
	char buf[200];
	q->ncols = PQnfields(res);
	free(q->types);
	q->types = xcalloc((size_t)MAX(q->ncols, 1), sizeof *q->types);
	q->cols.len = 0;
	msgpack_packer *pk = obuf_packer(&q->cols);
	msgpack_pack_array(pk, (size_t)q->ncols);
	for (int i = 0; i < q->ncols; i++) {
		q->types[i] = PQftype(res, i);
		msgpack_pack_map(pk, 2);
		mp_pack_key(pk, "name");
		mp_pack_cstr(pk, PQfname(res, i));
		mp_pack_key(pk, "data_type");
		mp_pack_cstr(pk, pg_type_format(q->types[i], PQfmod(res, i), buf, sizeof buf));
	}
	q->in_rows = true;
	if (q->max_rows >= 0) {
		/* one answer: only the last result set's rows are kept */
		q->rows.len = 0;
		q->kept_rows = 0;
	}
	if (q->max_rows < 0 && wk.peer) {
		batch_flush(q);
		msgpack_packer *npk = rpc_peer_packer(wk.peer);
		rpc_pack_notify_begin(npk, N_QUERY_COLUMNS);
		msgpack_pack_array(npk, 1);
		msgpack_pack_map(npk, 3);
		mp_pack_key(npk, "query_id");
		mp_pack_cstr(npk, q->id);
		mp_pack_key(npk, "result_index");
		msgpack_pack_int(npk, q->result_index);
		mp_pack_key(npk, "columns");
		evbuffer_add(rpc_peer_output(wk.peer), q->cols.data, q->cols.len);
	}
	q->result_index++;
}

/* One row from single-row mode. */
static int
result_row(const PGresult *res)
{
	struct pgq *q = pg.q;
	q->row_count++;
	if (q->cancel != CANCEL_NONE)
		return 0; /* nobody wants the rest */
	if (q->max_rows >= 0 && (q->kept_rows >= (uint64_t)q->max_rows || q->truncated)) {
		q->truncated = true;
		return 0;
	}
	size_t before = q->rows.len;
	msgpack_packer *pk = obuf_packer(&q->rows);
	msgpack_pack_array(pk, (size_t)q->ncols);
	for (int i = 0; i < q->ncols; i++)
		pg_value_pack(pk, res, 0, i, q->types[i]);
	if (q->rows.len - before > ROW_MAX) {
		q->rows.len = before;
		terr_set(&q->err, TE_DATABASE, "row %llu is larger than Tusk's %u MiB limit for one row",
		    (unsigned long long)q->row_count, ROW_MAX >> 20);
		terr_hint(&q->err, "select less of the large columns (e.g. left(col, 1000) or length(col))");
		return -1;
	}
	if (q->max_rows >= 0) {
		if (q->rows.len > RESULT_MAX) {
			q->rows.len = before;
			q->truncated = true;
			return 0;
		}
		q->kept_rows++;
		return 0;
	}
	q->batch_rows++;
	if (q->rows.len >= ROW_BATCH_BYTES)
		batch_flush(q);
	return 0;
}

/* The internal type-name load finished. */
static void
types_loaded(const PGresult *res)
{
	pg_types_free();
	int n = PQntuples(res);
	pg.types = xcalloc((size_t)MAX(n, 1), sizeof *pg.types);
	for (int i = 0; i < n; i++) {
		pg.types[pg.ntypes].oid = (Oid)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		pg.types[pg.ntypes].name = xstrdup(PQgetvalue(res, i, 1));
		pg.types[pg.ntypes].elem = (Oid)strtoul(PQgetvalue(res, i, 2), NULL, 10);
		pg.ntypes++;
	}
	qsort(pg.types, pg.ntypes, sizeof *pg.types, type_cmp);
	pg.types_stale = false;
}

/* COPY TO STDOUT: each line becomes a row of one text column. */
static void
copy_out_rows(void)
{
	struct pgq *q = pg.q;
	char *line;
	int n;
	while ((n = PQgetCopyData(pg.conn, &line, 1)) > 0) {
		size_t len = (size_t)n;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		q->row_count++;
		if (q->max_rows < 0 || q->kept_rows < (uint64_t)q->max_rows) {
			msgpack_packer *pk = obuf_packer(&q->rows);
			msgpack_pack_array(pk, 1);
			msgpack_pack_str(pk, len);
			msgpack_pack_str_body(pk, line, len);
			if (q->max_rows >= 0)
				q->kept_rows++;
			else if (++q->batch_rows, q->rows.len >= ROW_BATCH_BYTES)
				batch_flush(q);
		} else {
			q->truncated = true;
		}
		PQfreemem(line);
	}
	if (n == -1)
		q->copy_out = false; /* done: PQgetResult gives the final status */
}

/* Start the COPY TO STDOUT stream as a one-column result. */
static void
copy_out_begin(void)
{
	struct pgq *q = pg.q;
	q->ncols = 1;
	free(q->types);
	q->types = xcalloc(1, sizeof *q->types);
	q->cols.len = 0;
	msgpack_packer *pk = obuf_packer(&q->cols);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2);
	mp_pack_key(pk, "name");
	mp_pack_cstr(pk, "copy");
	mp_pack_key(pk, "data_type");
	mp_pack_cstr(pk, "text");
	if (q->max_rows < 0 && wk.peer) {
		msgpack_packer *npk = rpc_peer_packer(wk.peer);
		rpc_pack_notify_begin(npk, N_QUERY_COLUMNS);
		msgpack_pack_array(npk, 1);
		msgpack_pack_map(npk, 3);
		mp_pack_key(npk, "query_id");
		mp_pack_cstr(npk, q->id);
		mp_pack_key(npk, "result_index");
		msgpack_pack_int(npk, q->result_index);
		mp_pack_key(npk, "columns");
		evbuffer_add(rpc_peer_output(wk.peer), q->cols.data, q->cols.len);
	}
	q->result_index++;
	q->copy_out = true;
}

/*
 * Does a command tag say the schema changed? DDL (CREATE, ALTER, DROP,
 * COMMENT, GRANT, REVOKE, SECURITY LABEL, IMPORT FOREIGN SCHEMA, REFRESH
 * MATERIALIZED VIEW), CREATE TABLE AS / SELECT INTO (a "SELECT n" tag on a
 * command that returned no rows), and DO and CALL, whose bodies may run
 * DDL. Inside a transaction its end (COMMIT, ROLLBACK, ...) counts too,
 * once DDL ran in it: other sessions see the change then, or it is undone.
 */
static bool
tag_is_ddl(const char *tag)
{
	static const char *const words[] = { "CREATE ", "ALTER ", "DROP ", "COMMENT", "GRANT",
		"REVOKE", "SECURITY LABEL", "IMPORT FOREIGN SCHEMA", "REFRESH MATERIALIZED VIEW",
		"SELECT ", "DO", "CALL" };
	for (size_t i = 0; i < nitems(words); i++) {
		size_t n = strlen(words[i]);
		if (strncmp(tag, words[i], n) == 0 && (words[i][n - 1] == ' ' || tag[n] == '\0' ||
		    tag[n] == ' '))
			return true;
	}
	return false;
}

/* A command finished with this tag: note DDL for schema_touched. */
static void
ddl_note(struct pgq *q, const char *tag)
{
	if (tag_is_ddl(tag)) {
		q->ddl = true;
	} else if (pg.ddl_in_tx && (strcmp(tag, "COMMIT") == 0 || strcmp(tag, "ROLLBACK") == 0 ||
	    strcmp(tag, "PREPARE TRANSACTION") == 0)) {
		q->ddl = true;
	}
}

/* Before a user query's answer: tell the broker the schema changed (it
 * bumps its cached schema's version and tells the clients). */
static void
schema_touched_send(struct pgq *q)
{
	PGTransactionStatusType ts = PQtransactionStatus(pg.conn);
	bool in_tx = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
	if (pg.ddl_in_tx && !in_tx) {
		q->ddl = true; /* the transaction ended however it did */
		pg.ddl_in_tx = false;
	}
	if (!q->ddl || wk.peer == NULL || rpc_peer_closing(wk.peer))
		return;
	if (in_tx)
		pg.ddl_in_tx = true;
	msgpack_packer *pk = rpc_peer_packer(wk.peer);
	rpc_pack_notify_begin(pk, W_SCHEMA_TOUCHED);
	msgpack_pack_array(pk, 1);
	MP_PACK_FIELDS(pk, MPF_STR("query_id", q->id));
}

/* Take every result libpq has ready, within backpressure. */
void
pg_process_results(void)
{
	while (pg.q && !pg.paused) {
		struct pgq *q = pg.q;
		if (q->kind != PQK_QUERY) {
			pg_copy_process();
			return;
		}
		if (q->copy_out) {
			copy_out_rows();
			if (q->copy_out) {
				if (wk.peer && rpc_peer_output_len(wk.peer) > OUT_HIGH)
					pg.paused = true;
				break; /* wait for more copy data */
			}
			continue;
		}
		if (PQisBusy(pg.conn))
			break;
		PGresult *res = PQgetResult(pg.conn);
		if (res == NULL) {
			query_finish();
			return;
		}
		if (q->ops) {
			if (!q->ops->result(q, res))
				PQclear(res);
			continue;
		}
		switch (PQresultStatus(res)) {
		case PGRES_SINGLE_TUPLE:
			if (!q->in_rows)
				result_begin(res);
			if (!terr_isset(&q->err) && result_row(res) < 0) {
				/* the row is too large: stop the query */
				if (pg.cancel) {
					q->cancel = CANCEL_CLOSE;
					pg_cancel_send(0);
				}
			}
			break;
		case PGRES_TUPLES_OK:
			if (q->internal) {
				types_loaded(res);
				break;
			}
			if (!q->in_rows)
				result_begin(res); /* a result without rows still has columns */
			q->in_rows = false;
			free(q->command_tag);
			q->command_tag = xstrdup(PQcmdStatus(res));
			free(q->rows_affected);
			q->rows_affected = xstrdup(PQcmdTuples(res));
			break;
		case PGRES_COMMAND_OK:
			free(q->command_tag);
			q->command_tag = xstrdup(PQcmdStatus(res));
			if (!q->internal)
				ddl_note(q, q->command_tag);
			free(q->rows_affected);
			q->rows_affected = xstrdup(PQcmdTuples(res));
			break;
		case PGRES_EMPTY_QUERY:
			break;
		case PGRES_COPY_OUT:
			copy_out_begin();
			break;
		case PGRES_COPY_IN:
			PQputCopyEnd(pg.conn, "COPY FROM STDIN is not supported by Tusk");
			if (!terr_isset(&q->err)) {
				/* 0A000 feature_not_supported: a client can tell this
				 * refusal apart and offer its import instead */
				terr_set(&q->err, TE_DATABASE, "COPY FROM STDIN is not supported in a query");
				terr_code(&q->err, "0A000");
				terr_hint(&q->err, "load a file with import_file (tuskctl import, or Import… in the window), or COPY FROM a server-side file");
			}
			break;
		case PGRES_FATAL_ERROR:
			if (!terr_isset(&q->err))
				pg_result_error(&q->err, res);
			q->in_rows = false;
			break;
		default:
			break;
		}
		PQclear(res);
		if (wk.peer && rpc_peer_output_len(wk.peer) > OUT_HIGH) {
			pg.paused = true; /* the broker is behind: let the server wait */
			log_trace("pausing the server stream (%zu bytes queued)",
			    rpc_peer_output_len(wk.peer));
		}
	}
	if (pg.conn && pg.state == PG_READY)
		pg_watch_query();
}

/* Free a finished query. */
void
pg_query_free(struct pgq *q)
{
	if (q->ev_timeout)
		event_free(q->ev_timeout);
	if (q->ev_recancel)
		event_free(q->ev_recancel);
	if (q->ops && q->ops->free)
		q->ops->free(q);
	free(q->id);
	free(q->types);
	free(q->command_tag);
	free(q->rows_affected);
	pg_copy_free(q->copy);
	terr_clear(&q->err);
	obuf_free(&q->cols);
	obuf_free(&q->rows);
	pg_batch_free(q->batch);
	free(q);
}

/* Transaction status after the query, for the client's display. */
const char *
pg_tx_status(void)
{
	switch (PQtransactionStatus(pg.conn)) {
	case PQTRANS_IDLE: return "idle";
	case PQTRANS_INTRANS: return "in_transaction";
	case PQTRANS_INERROR: return "failed_transaction";
	case PQTRANS_ACTIVE: return "active";
	default: return "unknown";
	}
}

/* The reply's columns: the last result set's, encoded already (an mpf_fn). */
static void
pack_reply_columns(msgpack_packer *pk, const void *arg)
{
	const struct pgq *q = arg;
	if (q->cols.len)
		evbuffer_add(rpc_peer_output(wk.peer), q->cols.data, q->cols.len);
	else
		msgpack_pack_array(pk, 0);
}

/* The reply's rows: the kept ones for max_rows, else none (an mpf_fn). */
static void
pack_reply_rows(msgpack_packer *pk, const void *arg)
{
	const struct pgq *q = arg;
	if (q->max_rows < 0) {
		msgpack_pack_array(pk, 0);
		return;
	}
	struct evbuffer *out = rpc_peer_output(wk.peer);
	pack_array32(out, (uint32_t)q->kept_rows);
	evbuffer_add(out, q->rows.data, q->rows.len);
}

/* All results are in: answer the broker, start what waits. */
static void
query_finish(void)
{
	struct pgq *q = pg.q;
	if (q->batch) {
		pg_batch_step();
		return;
	}
	pg.q = NULL;
	if (q->ops) {
		q->ops->done(q); /* the next statement (pg.q again), or answered and freed */
		if (pg.q)
			return;
	} else if (q->internal) {
		pg_query_free(q);
	} else if (terr_isset(&q->err)) {
		schema_touched_send(q);
		batch_flush(q);
		q->err.transaction = pg_tx_status(); /* e.g. failed_transaction now */
		wk_reply_error(q->msgid, &q->err);
		log_debug("query %s failed: %s", q->id, q->err.message);
		pg_query_free(q);
	} else {
		schema_touched_send(q);
		batch_flush(q);
		double elapsed = (double)(mono_us() - q->started_us) / 1000.0;
		struct evbuffer *out = rpc_peer_output(wk.peer);
		msgpack_packer pk;
		rpc_packer_init(&pk, out);
		rpc_pack_reply_begin(&pk, q->msgid);
		long long ra;
		bool has_ra = q->rows_affected && parse_ll(q->rows_affected, 0, INT64_MAX, &ra) == 0;
		MP_PACK_FIELDS(&pk,
		    MPF_STR("query_id", q->id),
		    MPF_FN("columns", pack_reply_columns, q),
		    MPF_FN("rows", pack_reply_rows, q),
		    MPF_UINT("row_count", q->row_count),
		    MPF_BOOL("truncated", q->truncated),
		    MPF_DOUBLE("elapsed_ms", elapsed),
		    MPF_STR("command_tag", q->command_tag),
		    has_ra ? (struct mp_field)MPF_INT("rows_affected", ra) : (struct mp_field)MPF_NIL("rows_affected"),
		    MPF_INT("result_sets", q->result_index),
		    MPF_STR("transaction", pg_tx_status()));
		log_debug("query %s done: %llu rows in %.1f ms", q->id, (unsigned long long)q->row_count,
		    elapsed);
		pg_query_free(q);
	}
	pg_query_after();
}

/* A query is answered and pg.q is free: start what waits. */
void
pg_query_after(void)
{
	if (pg.types_stale) {
		pg_types_load();
		return;
	}
	if (pg.pending && !cancel_running()) {
		pg_pending_start();
		return;
	}
	if (pg.waiting) {
		struct pgq *w = pg.waiting;
		pg.waiting = NULL;
		w->ops->start(w);
		return;
	}
	pg_watch_query();
}

/* Start the query order that waited (for the type names, or for a cancel
 * to reach the server), unless something still holds it back. */
void
pg_pending_start(void)
{
	if (pg.pending == NULL || pg.q || cancel_running() || pg.state != PG_READY || pg.close_done)
		return;
	struct qorder *o = pg.pending;
	pg.pending = NULL;
	pg_order_start(o);
}

/* Start an internal query now, or next when the type names are loading. */
void
pg_run(struct pgq *q)
{
	if (pg.q) {
		pg.waiting = q; /* the type names are loading: this goes next */
		return;
	}
	q->ops->start(q);
}

/* Can an order that runs SQL start (connected, nothing else running)? */
bool
pg_ready_for_order(struct tusk_error *e)
{
	if (pg.state != PG_READY || pg.close_done)
		terr_set(e, TE_INTERNAL, "worker: not connected");
	else if ((pg.q && !pg.q->internal) || pg.pending || pg.waiting)
		terr_set(e, TE_INTERNAL, "worker: a query is already running");
	else
		return true;
	return false;
}

/* The query ran past its timeout_ms: cancel it, report a timeout. */
static void
query_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	UNUSED(arg);
	if (pg.q == NULL || pg.cancel == NULL || pg.q->cancel != CANCEL_NONE)
		return;
	pg.q->cancel = CANCEL_TIMEOUT;
	log_debug("query %s: timeout after %lld ms, cancelling", pg.q->id, (long long)pg.q->timeout_ms);
	pg_cancel_send(0);
}

/* Send a query (or one statement of a batch) to the server. */
int
pg_send_query(struct pgq *q, const char *sql, int nvalues, char *const *values)
{
	pg.q = q;
	q->started_us = mono_us();
	int ok = values ? PQsendQueryParams(pg.conn, sql, nvalues, NULL, (const char *const *)values,
	    NULL, NULL, 0) : PQsendQuery(pg.conn, sql);
	if (!ok) {
		char *m = pg_clean_message(PQerrorMessage(pg.conn));
		terr_set(&q->err, TE_CONNECTION, "%s", m);
		free(m);
		terr_hint(&q->err, "the connection to the server is broken; connect again");
		return -1;
	}
	if (!q->internal && !q->ops)
		PQsetSingleRowMode(pg.conn);
	if (q->timeout_ms > 0 && q->ev_timeout == NULL) {
		q->ev_timeout = evtimer_new(wk.base, query_timeout_cb, NULL);
		struct timeval tv = { q->timeout_ms / 1000, (q->timeout_ms % 1000) * 1000 };
		evtimer_add(q->ev_timeout, &tv);
	}
	pg_watch_query();
	return 0;
}

int
pg_send(struct pgq *q, const char *sql, bool params, bool single_row)
{
	pg.q = q;
	q->started_us = mono_us();
	/* the extended protocol takes one statement only */
	int ok = params ? PQsendQueryParams(pg.conn, sql, 0, NULL, NULL, NULL, NULL, 0) :
	    PQsendQuery(pg.conn, sql);
	if (!ok) {
		char *m = pg_clean_message(PQerrorMessage(pg.conn));
		terr_set(&q->err, TE_CONNECTION, "%s", m);
		free(m);
		terr_hint(&q->err, "the connection to the server is broken; connect again");
		return -1;
	}
	if (single_row)
		PQsetSingleRowMode(pg.conn);
	pg_watch_query();
	return 0;
}

/* Load the type names (pg_type) on our own account. */
void
pg_types_load(void)
{
	struct pgq *q = xcalloc(1, sizeof *q);
	q->id = xstrdup("types");
	q->internal = true;
	q->max_rows = -1;
	/* a "true" array (as format_type decides) keeps its element type, so
	 * a modifier can be printed inside it: character varying(20)[] */
	if (pg_send_query(q, "select oid::int8, pg_catalog.format_type(oid, -1), "
	    "case when typelem <> 0 and typlen = -1 and typstorage <> 'p' then typelem else 0 end::int8 "
	    "from pg_catalog.pg_type", 0, NULL) < 0) {
		log_warn("cannot load type names: %s", q->err.message);
		pg.q = NULL;
		pg_query_free(q);
	}
}

/* Forget a query order. */
void
qorder_free(struct qorder *o)
{
	if (o == NULL)
		return;
	free(o->id);
	free(o->sql);
	pg_copy_free(o->copy);
	for (int i = 0; i < o->nvalues; i++)
		free(o->values[i]);
	free(o->values);
	pg_batch_free(o->batch);
	free(o);
}

/* A user's query, batch, export or import (takes the order). */
int
pg_order_start(struct qorder *o)
{
	if (o->kind != PQK_QUERY) {
		pg_copy_start(o);
		return 0;
	}
	struct pgq *q = xcalloc(1, sizeof *q);
	q->id = o->id;
	o->id = NULL;
	q->msgid = o->msgid;
	q->max_rows = o->max_rows;
	q->timeout_ms = o->timeout_ms;
	q->batch = o->batch;
	o->batch = NULL;
	int r = pg_send_query(q, o->sql, o->nvalues, o->values);
	qorder_free(o);
	if (r < 0) {
		pg.q = NULL;
		wk_reply_error(q->msgid, &q->err);
		pg_query_free(q);
		return -1;
	}
	return 0;
}

/* The order's bound values: each a str, or nil for NULL. */
static int
order_values(struct qorder *o, const msgpack_object *arr, struct tusk_error *e)
{
	if (arr == NULL)
		return 0;
	if (arr->via.array.size > 65535)
		return terr_set(e, TE_INTERNAL, "worker: more than 65535 bound values");
	o->nvalues = (int)arr->via.array.size;
	o->values = xcalloc((size_t)MAX(o->nvalues, 1), sizeof *o->values);
	for (int i = 0; i < o->nvalues; i++) {
		const msgpack_object *v = &arr->via.array.ptr[i];
		if (v->type == MSGPACK_OBJECT_NIL)
			continue;
		if (!mo_has_type(v, TT_STR))
			return terr_set(e, TE_INTERNAL, "worker: bound value %d is not text or nil", i + 1);
		o->values[i] = mo_strdup(v);
	}
	return 0;
}

/* May an order that runs SQL start now? If not, its error is answered. */
bool
pg_order_allowed(uint32_t msgid)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	if (pg_ready_for_order(&e))
		return true;
	wk_reply_error(msgid, &e);
	terr_clear(&e);
	return false;
}

void
pg_query(uint32_t msgid, const struct params *params)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	if (!pg_order_allowed(msgid))
		return;
	struct qorder *o = xcalloc(1, sizeof *o);
	o->msgid = msgid;
	o->id = params_strdup(params, "query_id");
	o->sql = params_strdup(params, "sql");
	o->max_rows = params_int(params, "max_rows", -1);
	o->timeout_ms = params_int(params, "timeout_ms", -1);
	if (order_values(o, params_get(params, "params"), &e) < 0) {
		wk_reply_error(msgid, &e);
		terr_clear(&e);
		qorder_free(o);
		return;
	}
	if (pg.q || cancel_running()) {
		/*
		 * The type names are loading, or a cancel is on its way to the
		 * server: a cancel request names no query, and one arriving late
		 * would cancel this one. It goes next (pg_pending_start).
		 */
		pg.pending = o;
		return;
	}
	pg_order_start(o);
}

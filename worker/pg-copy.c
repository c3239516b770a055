/*
 * pg-copy.c — exports and imports on the session (the worker opens no
 * files: the broker writes and reads them).
 *
 * Export: the broker's statement runs and the file's bytes go back as
 * export_data notifications of about EXPORT_CHUNK, within the same
 * backpressure as row batches (stop reading the server while the broker is
 * behind). Mode copy passes COPY's own bytes on untouched (CSV, TSV: the
 * server formats them, so they are PostgreSQL's); json and ndjson read a
 * binary COPY of row_to_json rows (binary, because text COPY would escape
 * the JSON's backslashes) and join them; sql and markdown format the rows
 * of the query (single-row mode) here.
 *
 * Import: the COPY ... FROM STDIN starts; once the server takes data the
 * broker hears import_ready and sends the file as copy_data orders, each
 * answered when libpq has handed it to the kernel, so at most the broker's
 * window of bytes waits here. A cancel fails the COPY (PQputCopyEnd with a
 * message): the server rolls it back, nothing is committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "log.h"
#include "msg.h"
#include "pg.h"
#include "proto.h"
#include "sqlident.h"
#include "util.h"
#include "worker.h"

#define NUMERICOID 1700

static const char *const mode_names[] = { "copy", "json", "ndjson", "sql", "markdown" };

/* Free a COPY's state. */
void
pg_copy_free(struct pgcopy *c)
{
	if (c == NULL)
		return;
	free(c->null_text);
	free(c->table);
	free(c->cols);
	free(c->quoted);
	obuf_free(&c->out);
	free(c);
}

/* Append bytes to the export's pending output. */
static void
out_add(struct pgcopy *c, const void *p, size_t n)
{
	obuf_write(&c->out, p, n);
}

/* Append a C string. */
static void
out_adds(struct pgcopy *c, const char *s)
{
	out_add(c, s, strlen(s));
}

/* libevent sent an export chunk we lent it. */
static void
chunk_free(const void *data, size_t len, void *arg)
{
	UNUSED(len);
	UNUSED(arg);
	free((void *)(uintptr_t)data);
}

/* Send what is pending as one export_data notification. */
static void
export_send(struct pgq *q)
{
	struct pgcopy *c = q->copy;
	if (c->out.len == 0 || wk.peer == NULL)
		return;
	struct evbuffer *out = rpc_peer_output(wk.peer);
	msgpack_packer pk;
	rpc_packer_init(&pk, out);
	rpc_pack_notify_begin(&pk, W_EXPORT_DATA);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 3);
	mp_pack_key(&pk, "query_id");
	mp_pack_cstr(&pk, q->id);
	mp_pack_key(&pk, "rows");
	msgpack_pack_uint64(&pk, c->rows);
	mp_pack_key(&pk, "data");
	msgpack_pack_bin(&pk, c->out.len);
	/* lend the buffer to libevent instead of copying it */
	if (evbuffer_add_reference(out, c->out.data, c->out.len, chunk_free, NULL) == 0)
		memset(&c->out, 0, sizeof c->out);
	else
		evbuffer_add(out, c->out.data, c->out.len);
	c->out.len = 0;
}

/* Big-endian integers of the binary COPY format. */
static int32_t
be32(const unsigned char *p)
{
	return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* A big-endian 16-bit signed integer at p. */
static int16_t
be16(const unsigned char *p)
{
	return (int16_t)((uint16_t)(p[0] << 8 | p[1]));
}

/* One CopyData message of a binary COPY of row_to_json: its rows joined
 * as JSON or NDJSON. -1 when it is not what the server sends. */
static int
json_take(struct pgcopy *c, const unsigned char *p, size_t n)
{
	static const unsigned char sig[11] = "PGCOPY\n\377\r\n";
	const unsigned char *end = p + n;
	if (!c->seen_header) {
		if (n < 19 || memcmp(p, sig, 11) != 0)
			return -1;
		int32_t ext = be32(p + 15);
		if (ext < 0 || (size_t)ext > n - 19)
			return -1;
		p += 19 + ext;
		c->seen_header = true;
	}
	while (p < end) {
		if (end - p < 2)
			return -1;
		int16_t nf = be16(p);
		p += 2;
		if (nf == -1)
			return p == end ? 0 : -1; /* the trailer */
		if (nf != 1 || end - p < 4)
			return -1;
		int32_t len = be32(p);
		p += 4;
		if (len > end - p)
			return -1;
		if (c->mode == EXP_JSON)
			out_adds(c, c->rows == 0 ? "[\n" : ",\n");
		if (len < 0)
			out_adds(c, "null");
		else
			out_add(c, p, (size_t)len);
		if (c->mode == EXP_NDJSON)
			out_adds(c, "\n");
		if (len > 0)
			p += len;
		c->rows++;
	}
	return 0;
}

/* COPY TO STDOUT data of an export: take what is ready. 0 while more is
 * to come (or the stream is paused), 1 when the COPY's data is over. */
static int
export_copy_rows(struct pgq *q)
{
	struct pgcopy *c = q->copy;
	char *buf;
	int n;
	while ((n = PQgetCopyData(pg.conn, &buf, 1)) > 0) {
		if (q->cancel == CANCEL_NONE && !terr_isset(&q->err)) {
			if (c->mode == EXP_COPY) {
				out_add(c, buf, (size_t)n);
				if (c->header && !c->seen_header)
					c->seen_header = true; /* the header line is no row */
				else
					c->rows++;
			} else if (json_take(c, (const unsigned char *)buf, (size_t)n) < 0) {
				terr_set(&q->err, TE_INTERNAL, "the server's binary COPY data is not as expected");
			}
		}
		PQfreemem(buf);
		if (c->out.len >= EXPORT_CHUNK) {
			export_send(q);
			if (wk.peer && rpc_peer_output_len(wk.peer) > OUT_HIGH) {
				pg.paused = true; /* the broker is behind: let the server wait */
				return 0;
			}
		}
	}
	if (n == 0)
		return 0;
	if (n == -2 && !terr_isset(&q->err)) {
		char *m = pg_clean_message(PQerrorMessage(pg.conn));
		terr_set(&q->err, TE_CONNECTION, "%s", m);
		free(m);
	}
	q->copy_out = false;
	return 1;
}

/* Does a value of this type go into SQL without quotes? */
static bool
type_is_number(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID || t == OIDOID || t == FLOAT4OID ||
	    t == FLOAT8OID || t == NUMERICOID;
}

/* The first rows (or the end of a result without rows): the header of a
 * Markdown table, the column list of the INSERTs. */
static void
rows_begin(struct pgcopy *c, const PGresult *res)
{
	c->began = true;
	c->ncols = PQnfields(res);
	if (c->mode == EXP_MARKDOWN) {
		out_adds(c, "|");
		for (int i = 0; i < c->ncols; i++) {
			const char *name = PQfname(res, i);
			out_adds(c, " ");
			for (const char *s = name; *s; s++) {
				if (*s == '|' || *s == '\\')
					out_adds(c, "\\");
				out_add(c, s, 1);
			}
			out_adds(c, " |");
		}
		out_adds(c, "\n|");
		for (int i = 0; i < c->ncols; i++)
			out_adds(c, type_is_number(PQftype(res, i)) ? " ---: |" : " --- |");
		out_adds(c, "\n");
		return;
	}
	struct strbuf sb;
	sb_init(&sb);
	sb_addc(&sb, '(');
	free(c->quoted);
	c->quoted = xcalloc((size_t)MAX(c->ncols, 1), sizeof *c->quoted);
	for (int i = 0; i < c->ncols; i++) {
		const char *name = PQfname(res, i);
		if (i)
			sb_adds(&sb, ", ");
		sqlident_add(&sb, name);
		Oid t = PQftype(res, i);
		c->quoted[i] = !type_is_number(t) && t != BOOLOID;
	}
	sb_addc(&sb, ')');
	free(c->cols);
	c->cols = sb_detach(&sb);
}

/* One row of single-row mode as a Markdown line or an INSERT. */
static void
rows_take(struct pgcopy *c, const PGresult *res)
{
	if (c->mode == EXP_MARKDOWN) {
		out_adds(c, "|");
		for (int i = 0; i < c->ncols; i++) {
			out_adds(c, " ");
			if (PQgetisnull(res, 0, i)) {
				out_adds(c, c->null_text ? c->null_text : "NULL");
			} else {
				const char *v = PQgetvalue(res, 0, i);
				int len = PQgetlength(res, 0, i);
				for (int k = 0; k < len; k++) {
					if (v[k] == '|' || v[k] == '\\')
						out_adds(c, "\\");
					if (v[k] == '\n')
						out_adds(c, "<br>");
					else if (v[k] != '\r')
						out_add(c, &v[k], 1);
				}
			}
			out_adds(c, " |");
		}
		out_adds(c, "\n");
		c->rows++;
		return;
	}
	struct strbuf sb;
	sb_init(&sb);
	sb_adds(&sb, "INSERT INTO ");
	sb_adds(&sb, c->table);
	sb_addc(&sb, ' ');
	sb_adds(&sb, c->cols);
	sb_adds(&sb, " VALUES (");
	for (int i = 0; i < c->ncols; i++) {
		if (i)
			sb_adds(&sb, ", ");
		if (PQgetisnull(res, 0, i)) {
			sb_adds(&sb, "NULL");
			continue;
		}
		const char *v = PQgetvalue(res, 0, i);
		size_t len = (size_t)PQgetlength(res, 0, i);
		Oid t = PQftype(res, i);
		if (t == BOOLOID)
			sb_adds(&sb, v[0] == 't' ? "true" : "false");
		else if (!c->quoted[i] && len > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) &&
		    strchr(v, 'I') == NULL && strcmp(v, "-0") != 0)
			sb_add(&sb, v, len); /* a number (NaN, Infinity and -0 go quoted) */
		else
			sqlident_literal(&sb, v, len);
	}
	sb_adds(&sb, ");\n");
	out_add(c, sb.buf, sb.len);
	sb_free(&sb);
	c->rows++;
}

/* The line and column of a COPY FROM error, from its context ("COPY t,
 * line 3, column b: ..."), into the error's fields. */
static void
import_error_place(struct tusk_error *e, const PGresult *res)
{
	const char *ctx = PQresultErrorField(res, PG_DIAG_CONTEXT);
	if (ctx == NULL)
		return;
	const char *at = strstr(ctx, "COPY ");
	while (at && at != ctx && at[-1] != '\n')
		at = strstr(at + 5, "COPY ");
	if (at == NULL)
		return;
	const char *nl = strchr(at, '\n');
	size_t linelen = nl ? (size_t)(nl - at) : strlen(at);
	char *line = xstrndup(at, linelen);
	char *l = strstr(line, ", line ");
	if (l) {
		long long n = strtoll(l + 7, NULL, 10);
		if (n > 0)
			e->line = n;
		char *col = strstr(l, ", column ");
		if (col) {
			col += 9;
			char *stop = strstr(col, ": ");
			free(e->column);
			e->column = stop ? xstrndup(col, (size_t)(stop - col)) : xstrdup(col);
		}
	}
	free(line);
}

/* Answer the copy_data orders whose bytes the kernel has. */
static void
acks_answer(struct pgcopy *c)
{
	for (int i = 0; i < c->nacks; i++)
		msgpack_pack_map(wk_reply_begin(c->acks[i]), 0);
	c->nacks = 0;
}

/* Push an import's bytes on; answer the chunks that left; end the COPY
 * when its end could not be queued before. */
static void
import_flush(struct pgq *q)
{
	struct pgcopy *c = q->copy;
	int f = PQflush(pg.conn);
	if (f == 0 && c->end_pending) {
		int r = PQputCopyEnd(pg.conn, NULL);
		if (r == 1) {
			c->end_pending = false;
			c->copy_in = false;
		}
		f = r < 0 ? -1 : PQflush(pg.conn);
	}
	if (f == 0)
		acks_answer(c);
	/* a broken socket shows on the read side */
	pg_watch(f == 1 ? EV_READ | EV_WRITE : EV_READ);
}

/* The export or import is over: answer it, go on. */
static void
copy_finish(struct pgq *q)
{
	struct pgcopy *c = q->copy;
	pg.q = NULL;
	if (q->kind == PQK_IMPORT)
		acks_answer(c);
	if (terr_isset(&q->err)) {
		wk_reply_error(q->msgid, &q->err);
		log_debug("%s %s failed: %s", q->kind == PQK_IMPORT ? "import" : "export", q->id,
		    q->err.message);
	} else {
		uint64_t n = c->rows;
		long long tag;
		if ((q->kind == PQK_IMPORT || c->mode == EXP_COPY) && q->rows_affected &&
		    parse_ll(q->rows_affected, 0, INT64_MAX, &tag) == 0)
			n = (uint64_t)tag; /* the server's count ("COPY n") */
		if (q->kind == PQK_EXPORT) {
			if (c->mode == EXP_JSON)
				out_adds(c, c->rows ? "\n]\n" : "[]\n");
			export_send(q);
		}
		msgpack_packer *pk = wk_reply_begin(q->msgid);
		msgpack_pack_map(pk, 1);
		mp_pack_key(pk, "row_count");
		msgpack_pack_uint64(pk, n);
		log_debug("%s %s done: %llu rows", q->kind == PQK_IMPORT ? "import" : "export", q->id,
		    (unsigned long long)n);
	}
	pg_query_free(q);
	pg_query_after();
}

/* Tell the broker the server takes the file now. */
static void
import_ready(struct pgq *q)
{
	msgpack_packer *pk = rpc_peer_packer(wk.peer);
	rpc_pack_notify_begin(pk, W_IMPORT_READY);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "query_id");
	mp_pack_cstr(pk, q->id);
}

void
pg_copy_process(void)
{
	struct pgq *q = pg.q;
	struct pgcopy *c = q->copy;
	while (pg.q == q && !pg.paused) {
		if (q->copy_out) {
			if (export_copy_rows(q) == 0)
				break;
			continue;
		}
		if (q->kind == PQK_IMPORT && (c->copy_in || c->end_pending)) {
			import_flush(q);
			if (c->copy_in || c->end_pending)
				return; /* the broker's chunks keep it going */
			continue;
		}
		if (PQisBusy(pg.conn))
			break;
		PGresult *res = PQgetResult(pg.conn);
		if (res == NULL) {
			copy_finish(q);
			return;
		}
		switch (PQresultStatus(res)) {
		case PGRES_COPY_OUT:
			q->copy_out = true;
			break;
		case PGRES_COPY_IN:
			if (q->kind == PQK_IMPORT && !c->copy_in) {
				c->copy_in = true;
				import_ready(q);
			} else {
				PQputCopyEnd(pg.conn, "not an import");
			}
			break;
		case PGRES_SINGLE_TUPLE:
			if (!c->began)
				rows_begin(c, res);
			if (q->cancel == CANCEL_NONE && !terr_isset(&q->err)) {
				rows_take(c, res);
				if (c->out.len >= EXPORT_CHUNK)
					export_send(q);
			}
			break;
		case PGRES_TUPLES_OK:
			if (!c->began && c->mode >= EXP_SQL)
				rows_begin(c, res);
			break;
		case PGRES_COMMAND_OK:
			free(q->rows_affected);
			q->rows_affected = xstrdup(PQcmdTuples(res));
			break;
		case PGRES_FATAL_ERROR:
			if (!terr_isset(&q->err)) {
				pg_result_error(&q->err, res);
				if (q->kind == PQK_IMPORT)
					import_error_place(&q->err, res);
			}
			break;
		default:
			break;
		}
		PQclear(res);
		if (wk.peer && rpc_peer_output_len(wk.peer) > OUT_HIGH)
			pg.paused = true;
	}
	if (pg.q == q)
		pg_watch_query();
}

/* Start an order now, or once the type names have loaded. */
static void
copy_order_go(struct qorder *o)
{
	if (pg.q) {
		pg.pending = o;
		return;
	}
	pg_order_start(o);
}

/* A copy order's common part: the order, or NULL after an error reply. */
static struct qorder *
copy_order(uint32_t msgid, const struct params *p, enum pgq_kind kind)
{
	if (!pg_order_allowed(msgid))
		return NULL;
	struct qorder *o = xcalloc(1, sizeof *o);
	o->msgid = msgid;
	o->kind = kind;
	o->id = params_strdup(p, "query_id");
	o->sql = params_strdup(p, "sql");
	o->max_rows = -1;
	o->timeout_ms = -1;
	o->copy = xcalloc(1, sizeof *o->copy);
	return o;
}

void
pg_export(uint32_t msgid, const struct params *p)
{
	struct qorder *o = copy_order(msgid, p, PQK_EXPORT);
	if (o == NULL)
		return;
	struct pgcopy *c = o->copy;
	char *mode = params_strdup(p, "mode");
	size_t m = 0;
	while (m < nitems(mode_names) && strcmp(mode, mode_names[m]) != 0)
		m++;
	free(mode);
	c->mode = (enum export_mode)m;
	c->header = params_bool(p, "header", false);
	c->null_text = params_strdup(p, "null");
	c->table = params_strdup(p, "table");
	if (m == nitems(mode_names) || (c->mode == EXP_SQL && c->table == NULL)) {
		struct tusk_error e = TUSK_ERROR_INIT;
		terr_set(&e, TE_INTERNAL, "worker: a malformed export order");
		wk_reply_error(msgid, &e);
		terr_clear(&e);
		qorder_free(o);
		return;
	}
	copy_order_go(o);
}

/* import: start a COPY FROM STDIN whose data comes in copy_data orders. */
void
pg_import(uint32_t msgid, const struct params *p)
{
	struct qorder *o = copy_order(msgid, p, PQK_IMPORT);
	if (o)
		copy_order_go(o);
}

void
pg_copy_start(struct qorder *o)
{
	struct pgq *q = xcalloc(1, sizeof *q);
	q->id = o->id;
	o->id = NULL;
	q->msgid = o->msgid;
	q->kind = o->kind;
	q->copy = o->copy;
	o->copy = NULL;
	q->max_rows = -1;
	q->timeout_ms = -1;
	if (q->kind == PQK_IMPORT && PQtransactionStatus(pg.conn) != PQTRANS_IDLE) {
		terr_set(&q->err, TE_VALIDATION, "the session is inside a transaction");
		terr_hint(&q->err, "COMMIT or ROLLBACK it first: an import is one transaction of its own");
		wk_reply_error(q->msgid, &q->err);
		pg_query_free(q);
		qorder_free(o);
		return;
	}
	bool rows = q->kind == PQK_EXPORT && q->copy->mode >= EXP_SQL;
	int r = pg_send(q, o->sql, true, rows);
	qorder_free(o);
	if (r < 0) {
		pg.q = NULL;
		wk_reply_error(q->msgid, &q->err);
		pg_query_free(q);
	}
}

/* copy_data: send a chunk of an import's file to the server (and end the COPY after the last). */
void
pg_copy_data(uint32_t msgid, const struct params *p)
{
	struct pgq *q = pg.q;
	const msgpack_object *id = params_get(p, "query_id");
	struct pgcopy *c = q && q->kind == PQK_IMPORT && mo_str_eq(id, q->id) ? q->copy : NULL;
	if (c == NULL || !c->copy_in || c->end_pending || q->cancel != CANCEL_NONE ||
	    terr_isset(&q->err)) {
		/* the import is ending (or over): its bytes are not wanted */
		msgpack_pack_map(wk_reply_begin(msgid), 0);
		return;
	}
	if (c->nacks == IMPORT_ACKS) {
		struct tusk_error e = TUSK_ERROR_INIT;
		terr_set(&e, TE_INTERNAL, "worker: more than %d copy_data orders outstanding", IMPORT_ACKS);
		wk_reply_error(msgid, &e);
		terr_clear(&e);
		return;
	}
	c->acks[c->nacks++] = msgid;
	const msgpack_object *data = params_get(p, "data");
	int r = 1;
	if (data->via.bin.size > 0)
		r = PQputCopyData(pg.conn, data->via.bin.ptr, (int)data->via.bin.size);
	if (r == 1 && params_bool(p, "last", false)) {
		r = PQputCopyEnd(pg.conn, NULL);
		if (r == 0) {
			c->end_pending = true;
			r = 1;
		} else {
			c->copy_in = false;
		}
	}
	if (r != 1) {
		char *m = pg_clean_message(PQerrorMessage(pg.conn));
		terr_set(&q->err, TE_CONNECTION, "could not send the file to the server: %s", m);
		free(m);
		c->copy_in = c->end_pending = false;
		PQputCopyEnd(pg.conn, "the client could not send the data");
	}
	pg_process_results();
}

void
pg_copy_cancel(void)
{
	struct pgq *q = pg.q;
	if (q == NULL || q->kind != PQK_IMPORT || !(q->copy->copy_in || q->copy->end_pending))
		return;
	/* queued behind what the server still has to read; if libpq cannot
	 * take it now, the cancel request still ends the COPY */
	if (PQputCopyEnd(pg.conn, "canceled by the user") == 1)
		q->copy->copy_in = q->copy->end_pending = false;
	acks_answer(q->copy);
}

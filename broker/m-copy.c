/*
 * m-copy.c — export_query and import_file: files written and read at
 * COPY's speed. Both are queries on the connection's queue (queries.c):
 * they wait behind what runs, show in get_running_queries, end with
 * cancel_query, fail with WorkerLost when the worker dies.
 *
 * The broker owns the files (a worker opens none). An export is written
 * into a new temporary file beside the target (O_EXCL, mode 0666 less the
 * umask) and renamed over the target only once complete, so a cancel or an
 * error leaves no partial file and never replaces an existing one. Writes
 * are synchronous, in the worker's chunks (it is a local file): while one is
 * written the broker reads nothing more from the worker, which stops reading
 * the server once its own output backs up, so memory stays bounded at any
 * size. An import reads the file in IMPORT_CHUNK pieces and keeps at most
 * IMPORT_WINDOW of them unacknowledged by the worker.
 *
 * Progress: query_progress {query_id, rows, bytes} to the requesting
 * client, at most every PROGRESS_MS or PROGRESS_BYTES.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "proto.h"
#include "sqlident.h"
#include "util.h"
#include "uuid.h"
#include "wire.h"

#define PROGRESS_MS 100
#define PROGRESS_BYTES (1024u * 1024)
#define IMPORT_CHUNK (256u * 1024)
#define IMPORT_WINDOW 4

/* --- options ------------------------------------------------------------ */

static const struct tusk_param p_options[] = {
	{ "header", TT_BOOL, P_OPT, "a header line (csv, tsv; default true)", NULL },
	{ "delimiter", TT_STR, P_OPT, "csv, tsv: one character (default , and tab)", NULL },
	{ "null", TT_STR, P_OPT, "the text of NULL (csv, tsv: default empty; markdown: NULL)", NULL },
	{ "quote", TT_STR, P_OPT, "csv, tsv: the quote character (default \")", NULL },
	{ "table", TT_STR, P_OPT, "sql: the INSERTs' table, as written in SQL (default exported)", NULL },
	{ "columns", TT_ARRAY, P_OPT, "import: the file's columns, in order (exact names)", "[str]" },
	PARAMS_END,
};

#define OPTIONS_SHAPE "{header?: bool, delimiter?: str, null?: str, quote?: str, table?: str, columns?: [str]}"

enum copy_format { CF_CSV, CF_TSV, CF_JSON, CF_NDJSON, CF_SQL, CF_MARKDOWN, CF__COUNT };
static const char *const format_names[CF__COUNT] = { "csv", "tsv", "json", "ndjson", "sql",
	"markdown" };

/* The options map (absent: none) read against p_options. */
static int
options_parse(struct params *o, const struct params *p, struct tusk_error *e)
{
	static const msgpack_object none = { .type = MSGPACK_OBJECT_MAP };
	const msgpack_object *m = params_get(p, "options");
	return params_parse_map(o, p_options, m ? m : &none, "options.", e);
}

/* The format parameter; -1 with e set. */
static int
format_parse(const struct params *p, bool import, struct tusk_error *e)
{
	char *f = params_strdup(p, "format");
	int n = import ? CF_JSON : CF__COUNT;
	for (int i = 0; i < n; i++) {
		if (strcmp(f, format_names[i]) == 0) {
			free(f);
			return i;
		}
	}
	terr_set(e, TE_VALIDATION, "format: '%.40s' is not one of %s", f,
	    import ? "csv, tsv" : "csv, tsv, json, ndjson, sql, markdown");
	free(f);
	terr_hint(e, import ? "an import reads CSV or TSV (CSV with a tab delimiter)" :
	    "csv is byte for byte what COPY ... (FORMAT csv) writes");
	return -1;
}

/* A one-character COPY option (one byte: COPY's rule), as a literal. */
static int
option_char(struct strbuf *sb, const struct params *o, const char *name, const char *def,
    struct tusk_error *e)
{
	char *v = params_strdup(o, name);
	const char *c = v ? v : def;
	if (strlen(c) != 1 || c[0] == '\r' || c[0] == '\n' || (unsigned char)c[0] >= 0x80) {
		free(v);
		return terr_set(e, TE_VALIDATION, "options.%s: must be one single-byte character", name);
	}
	sb_addf(sb, ", %s ", name[0] == 'd' ? "DELIMITER" : "QUOTE");
	sqlident_literal(sb, c, 1);
	free(v);
	return 0;
}

/* The WITH (...) of a CSV or TSV COPY. */
static int
copy_with(struct strbuf *sb, int fmt, const struct params *o, struct tusk_error *e)
{
	sb_addf(sb, " WITH (FORMAT csv, HEADER %s", params_bool(o, "header", true) ? "true" : "false");
	if (option_char(sb, o, "delimiter", fmt == CF_TSV ? "\t" : ",", e) < 0 ||
	    option_char(sb, o, "quote", "\"", e) < 0)
		return -1;
	if (params_has(o, "null")) {
		const msgpack_object *n = params_get(o, "null");
		sb_adds(sb, ", NULL ");
		sqlident_literal(sb, n->via.str.ptr, n->via.str.size);
	}
	sb_addc(sb, ')');
	return 0;
}

/* The user's query without trailing blanks and semicolons (COPY (...)
 * takes one statement without its terminator). */
static char *
query_trimmed(const struct params *p)
{
	char *sql = params_strdup(p, "sql");
	size_t n = strlen(sql);
	while (n > 0 && (sql[n - 1] == ';' || sql[n - 1] == ' ' || sql[n - 1] == '\t' ||
	    sql[n - 1] == '\n' || sql[n - 1] == '\r'))
		sql[--n] = '\0';
	return sql;
}

/* --- export ------------------------------------------------------------- */

struct export_ctx {
	char *path;	 /* the target */
	char *tmp;	 /* the temporary file beside it, until renamed */
	int fd;
	const char *mode; /* wire_export's mode */
	bool header;
	char *null_text;
	char *table;	 /* quoted */
	uint64_t rows;
	uint64_t bytes;
	uint64_t progress_bytes;
	int64_t progress_ms;
	struct tusk_error werr; /* writing failed: the answer */
};

/* Close and remove the temporary file (if still there). */
static void
export_discard(struct export_ctx *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	if (x->tmp && unlink(x->tmp) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", x->tmp, strerror(errno));
	free(x->tmp);
	x->tmp = NULL;
}

/* Free an export's state; an unfinished file is removed. */
static void
export_free(struct query *q)
{
	struct export_ctx *x = q->ctx;
	export_discard(x);
	free(x->path);
	free(x->null_text);
	free(x->table);
	terr_clear(&x->werr);
	free(x);
}

/* W_EXPORT {query_id, sql, mode, header, null?, table?} */
static void
export_pack(struct query *q, msgpack_packer *pk)
{
	struct export_ctx *x = q->ctx;
	MP_PACK_FIELDS(pk,
	    MPF_STR("query_id", q->id),
	    MPF_STR("sql", q->sql),
	    MPF_STR("mode", x->mode),
	    MPF_BOOL("header", x->header),
	    x->null_text ? (struct mp_field)MPF_STR("null", x->null_text) : (struct mp_field)MPF_NIL("null"),
	    x->table ? (struct mp_field)MPF_STR("table", x->table) : (struct mp_field)MPF_NIL("table"));
}

/* Write all of it (a local file: synchronously). */
static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* export_data {query_id, rows, data}: into the file; progress. */
static void
export_notify(struct query *q, const struct rpc_msg *m)
{
	struct export_ctx *x = q->ctx;
	struct params prm;
	struct tusk_error e = TUSK_ERROR_INIT;
	if (strcmp(m->method, W_EXPORT_DATA) != 0 ||
	    params_parse(&prm, wire_export_data, m->params, &e) < 0) {
		terr_clear(&e);
		return;
	}
	if (terr_isset(&x->werr) || x->fd < 0)
		return; /* failed: the cancel is on its way */
	const msgpack_object *d = params_get(&prm, "data");
	if (write_all(x->fd, d->via.bin.ptr, d->via.bin.size) < 0) {
		terr_set(&x->werr, TE_STORAGE, "writing %s: %s", x->path, strerror(errno));
		terr_hint(&x->werr, errno == ENOSPC || errno == EDQUOT ?
		    "free some space, or export to another place" : "check the disk and the path");
		log_warn("export %s: %s", q->id, x->werr.message);
		query_cancel(q);
		return;
	}
	x->bytes += d->via.bin.size;
	x->rows = (uint64_t)params_int(&prm, "rows", 0);
	q->rows = x->rows;
	int64_t now = mono_ms();
	if (x->bytes - x->progress_bytes >= PROGRESS_BYTES || now - x->progress_ms >= PROGRESS_MS) {
		query_progress(q, x->rows, x->bytes);
		x->progress_bytes = x->bytes;
		x->progress_ms = now;
	}
}

/* The worker finished: complete the file, rename it into place, answer. */
static void
export_done(struct query *q, const msgpack_object *res)
{
	struct export_ctx *x = q->ctx;
	struct params prm;
	struct tusk_error e = TUSK_ERROR_INIT;
	struct worker *w = q->conn->worker;
	int64_t rows = 0;
	if (w && w->peer && worker_reply_read(w->peer, W_EXPORT, wire_copy_reply, res, &prm) == 0)
		rows = params_int(&prm, "row_count", 0);
	else
		terr_set(&e, TE_WORKER_LOST, "the connection's worker sent a malformed answer");
	if (!terr_isset(&e) && terr_isset(&x->werr))
		terr_copy(&e, &x->werr);
	if (!terr_isset(&e)) {
		int fd = x->fd;
		x->fd = -1;
		if (close(fd) < 0) {
			terr_set(&e, TE_STORAGE, "writing %s: %s", x->path, strerror(errno));
		} else if (rename(x->tmp, x->path) < 0) {
			terr_set(&e, TE_STORAGE, "cannot rename %s to %s: %s", x->tmp, x->path, strerror(errno));
		} else {
			free(x->tmp);
			x->tmp = NULL;
		}
	}
	if (terr_isset(&e)) {
		export_discard(x);
		if (q->req)
			req_error(q->req, &e);
		terr_clear(&e);
		return;
	}
	log_info("export %s: %lld rows, %llu bytes to %s", q->id, (long long)rows,
	    (unsigned long long)x->bytes, x->path);
	if (q->req)
		MP_PACK_FIELDS(req_result(q->req),
		    MPF_STR("query_id", q->id),
		    MPF_STR("path", x->path),
		    MPF_INT("row_count", rows),
		    MPF_UINT("bytes", x->bytes),
		    MPF_DOUBLE("elapsed_ms", (double)(mono_ms() - q->started_mono_ms)));
}

/* Failed or cancelled: no file; a write error is the answer. */
static bool
export_failed(struct query *q, const struct tusk_error *e)
{
	struct export_ctx *x = q->ctx;
	UNUSED(e);
	export_discard(x);
	if (!terr_isset(&x->werr) || q->req == NULL)
		return false;
	req_error(q->req, &x->werr);
	return true;
}

static const struct query_ops export_ops = {
	.order = W_EXPORT,
	.pack = export_pack,
	.done = export_done,
	.failed = export_failed,
	.free = export_free,
	.notify = export_notify,
};

/* Make the temporary file beside path (a new name, O_EXCL). -1 with e. */
static int
export_tmp_open(struct export_ctx *x, struct tusk_error *e)
{
	struct stat st;
	if (x->path[0] != '/') {
		terr_set(e, TE_VALIDATION, "path: '%.200s' is not absolute", x->path);
		terr_hint(e, "the broker does not share your working directory: give the full path");
		return -1;
	}
	if (stat(x->path, &st) == 0 && !S_ISREG(st.st_mode)) {
		terr_set(e, TE_VALIDATION, "path: %.200s exists and is not a regular file", x->path);
		terr_hint(e, "name a file to create or replace");
		return -1;
	}
	char *d = xstrdup(x->path), *b = xstrdup(x->path);
	char *dir = dirname(d), *base = basename(b);
	if (base[0] == '\0' || strcmp(base, "/") == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		free(d);
		free(b);
		return terr_set(e, TE_VALIDATION, "path: '%.200s' names no file", x->path), -1;
	}
	int err = 0;
	for (int tries = 0; tries < 16; tries++) {
		char rnd[UUID_STR_LEN];
		uuid_v4(rnd);
		free(x->tmp);
		x->tmp = xasprintf("%s/.%s.%.8s.tusk-part", strcmp(dir, "/") == 0 ? "" : dir, base, rnd);
		x->fd = open(x->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
		if (x->fd >= 0 || errno != EEXIST) {
			err = errno;
			break;
		}
	}
	if (x->fd < 0) {
		terr_set(e, TE_VALIDATION, "path: cannot create a file in %.200s: %s", dir, strerror(err));
		terr_hint(e, "choose a folder that exists and that you can write to");
		free(x->tmp);
		x->tmp = NULL;
	}
	free(d);
	free(b);
	return x->fd < 0 ? -1 : 0;
}

static const struct tusk_param p_export_query[] = {
	{ "connection_id", TT_STR, 0, "an open connection's id", NULL },
	{ "sql", TT_STR, 0, "one query (SELECT, VALUES, TABLE, or DML ... RETURNING)", NULL },
	{ "path", TT_STR, 0, "the file to write (absolute); replaced only once complete", NULL },
	{ "format", TT_STR, 0, "csv, tsv, json, ndjson, sql or markdown", NULL },
	{ "options", TT_MAP, P_OPT, "header, delimiter, null, quote, table", OPTIONS_SHAPE },
	{ "query_id", TT_STR, P_OPT, "client-chosen id, for cancel_query and progress", NULL },
	PARAMS_END,
};

/* export_query {connection_id, sql, path, format, options?, query_id?} */
static int
h_export_query(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct params o;
	int fmt = format_parse(p, false, e);
	if (fmt < 0 || options_parse(&o, p, e) < 0)
		return -1;
	if (params_has(&o, "columns"))
		return terr_set(e, TE_VALIDATION, "options.columns: only an import takes columns");
	struct export_ctx *x = xcalloc(1, sizeof *x);
	x->fd = -1;
	x->path = params_strdup(p, "path");
	x->header = params_bool(&o, "header", true);
	x->progress_ms = mono_ms();
	char *sql = query_trimmed(p);
	struct strbuf sb;
	sb_init(&sb);
	int r = 0;
	switch (fmt) {
	case CF_CSV:
	case CF_TSV:
		x->mode = "copy";
		sb_addf(&sb, "COPY (\n%s\n) TO STDOUT", sql);
		r = copy_with(&sb, fmt, &o, e);
		break;
	case CF_JSON:
	case CF_NDJSON:
		/* binary: text COPY would escape the JSON's backslashes */
		x->mode = fmt == CF_JSON ? "json" : "ndjson";
		sb_addf(&sb, "COPY (SELECT pg_catalog.row_to_json(tusk_row.*) FROM (\n%s\n) tusk_row) TO STDOUT "
		    "WITH (FORMAT binary)", sql);
		break;
	case CF_SQL: {
		x->mode = "sql";
		char *t = params_strdup(&o, "table");
		struct sqlname n;
		r = sqlname_parse(&n, t ? t : "exported", "options.table", e);
		free(t);
		if (r == 0) {
			struct strbuf tb;
			sb_init(&tb);
			sqlname_quote(&tb, &n);
			x->table = sb_detach(&tb);
			sqlname_free(&n);
		}
		sb_adds(&sb, sql);
		break;
	}
	default:
		x->mode = "markdown";
		x->null_text = params_has(&o, "null") ? params_strdup(&o, "null") : xstrdup("NULL");
		sb_adds(&sb, sql);
		break;
	}
	free(sql);
	if (r == 0)
		r = export_tmp_open(x, e);
	if (r < 0) {
		sb_free(&sb);
		struct query fake = { .ctx = x };
		export_free(&fake);
		return -1;
	}
	struct query *q = query_submit(req->conn, req, params_strdup(p, "query_id"), sb_detach(&sb),
	    &export_ops, x, e);
	if (q == NULL) {
		struct query fake = { .ctx = x };
		export_free(&fake);
		return -1;
	}
	queries_kick(req->conn);
	return H_ASYNC;
}

const struct tusk_method m_export_query = {
	.name = M_EXPORT_QUERY,
	.params = p_export_query,
	.result = "{query_id: str, path: str, row_count: int, bytes: int, elapsed_ms: float}",
	.flags = MF_STREAMS | MF_CONNECTION,
	.doc = "Write a query's rows to a file (csv byte for byte as COPY writes it, tsv, json, ndjson, "
	    "sql INSERTs, markdown); query_progress notifications meanwhile; cancel_query leaves no file.",
	.handler = h_export_query,
};

/* --- import ------------------------------------------------------------- */

struct chunk {
	uint32_t msgid;
	uint64_t bytes;
	uint64_t rows;
};

struct import_ctx {
	char *path;
	int fd;
	bool header;
	char quote;
	bool in_quotes;	  /* counting records: inside a quoted field */
	char last_byte;
	bool started;	  /* the server takes data */
	bool last_sent;
	struct chunk window[IMPORT_WINDOW];
	int nwindow;
	uint64_t rows;	  /* records the server has (approximately: counted here) */
	uint64_t bytes;
	uint64_t progress_bytes;
	int64_t progress_ms;
};

static void import_send(struct query *q);

/* Free an import's state: forget the chunks still unanswered, close the file. */
static void
import_free(struct query *q)
{
	struct import_ctx *x = q->ctx;
	struct worker *w = q->conn ? q->conn->worker : NULL;
	for (int i = 0; i < x->nwindow; i++)
		if (w && w->peer)
			rpc_call_forget(w->peer, x->window[i].msgid);
	if (x->fd >= 0)
		close(x->fd);
	free(x->path);
	free(x);
}

/* W_IMPORT {query_id, sql} */
static void
import_pack(struct query *q, msgpack_packer *pk)
{
	MP_PACK_FIELDS(pk,
	    MPF_STR("query_id", q->id),
	    MPF_STR("sql", q->sql));
}

/* Records in a piece of CSV (newlines outside quotes). */
static uint64_t
import_count(struct import_ctx *x, const char *p, size_t n)
{
	uint64_t rows = 0;
	bool inq = x->in_quotes;
	char quote = x->quote;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '\n')
			rows += !inq;
		else if (c == quote)
			inq = !inq;
	}
	x->in_quotes = inq;
	if (n > 0)
		x->last_byte = p[n - 1];
	return rows;
}

/* The worker has a chunk (or refused it): send the next. */
static void
import_acked(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res, void *arg)
{
	struct query *q = arg;
	struct import_ctx *x = q->ctx;
	struct params prm;
	if (x->nwindow == 0)
		return;
	struct chunk c = x->window[0];
	memmove(&x->window[0], &x->window[1], (size_t)(x->nwindow - 1) * sizeof x->window[0]);
	x->nwindow--;
	if (err != NULL || res == NULL)
		return; /* the import's own answer says why */
	if (worker_reply_read(p, W_COPY_DATA, wire_copy_data_reply, res, &prm) < 0)
		return; /* malformed: the worker is dropped, the import fails */
	x->bytes += c.bytes;
	x->rows += c.rows;
	/* the header line is no row */
	q->rows = x->header && x->rows > 0 ? x->rows - 1 : x->rows;
	int64_t now = mono_ms();
	if (x->bytes - x->progress_bytes >= PROGRESS_BYTES || now - x->progress_ms >= PROGRESS_MS) {
		query_progress(q, q->rows, x->bytes);
		x->progress_bytes = x->bytes;
		x->progress_ms = now;
	}
	import_send(q);
}

/* Fill the window with the file's next chunks. */
static void
import_send(struct query *q)
{
	static char buf[IMPORT_CHUNK];
	struct import_ctx *x = q->ctx;
	struct worker *w = q->conn->worker;
	while (x->started && !x->last_sent && !q->cancel_sent && x->nwindow < IMPORT_WINDOW && w &&
	    w->peer && !rpc_peer_closing(w->peer)) {
		ssize_t n = read(x->fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* the file went bad under us: end the import, nothing committed */
			log_warn("import %s: reading %s: %s", q->id, x->path, strerror(errno));
			query_cancel(q);
			return;
		}
		struct chunk *c = &x->window[x->nwindow++];
		c->bytes = (uint64_t)n;
		c->rows = import_count(x, buf, (size_t)n);
		bool last = n == 0;
		if (last && x->last_byte != '\n' && x->last_byte != '\0')
			c->rows++; /* the last line had no newline */
		msgpack_packer *pk = rpc_call(w->peer, W_COPY_DATA, import_acked, q, &c->msgid);
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 3);
		mp_pack_key(pk, "query_id");
		mp_pack_cstr(pk, q->id);
		mp_pack_key(pk, "data");
		msgpack_pack_bin(pk, (size_t)n);
		msgpack_pack_bin_body(pk, buf, (size_t)n);
		mp_pack_key(pk, "last");
		mp_pack_bool(pk, last);
		x->last_sent = last;
	}
}

/* import_ready {query_id}: the server takes the file. */
static void
import_notify(struct query *q, const struct rpc_msg *m)
{
	struct import_ctx *x = q->ctx;
	if (strcmp(m->method, W_IMPORT_READY) != 0 || x->started)
		return;
	x->started = true;
	import_send(q);
}

/* The COPY is committed: answer. */
static void
import_done(struct query *q, const msgpack_object *res)
{
	struct params prm;
	struct worker *w = q->conn->worker;
	if (w == NULL || w->peer == NULL || worker_reply_read(w->peer, W_IMPORT, wire_copy_reply, res, &prm) < 0) {
		if (q->req) {
			struct tusk_error e = TUSK_ERROR_INIT;
			terr_set(&e, TE_WORKER_LOST, "the connection's worker sent a malformed answer");
			req_error(q->req, &e);
			terr_clear(&e);
		}
		return;
	}
	struct import_ctx *x = q->ctx;
	int64_t rows = params_int(&prm, "row_count", 0);
	log_info("import %s: %lld rows from %s", q->id, (long long)rows, x->path);
	if (q->req)
		MP_PACK_FIELDS(req_result(q->req),
		    MPF_STR("query_id", q->id),
		    MPF_INT("row_count", rows),
		    MPF_DOUBLE("elapsed_ms", (double)(mono_ms() - q->started_mono_ms)));
}

static const struct query_ops import_ops = {
	.order = W_IMPORT,
	.pack = import_pack,
	.done = import_done,
	.free = import_free,
	.notify = import_notify,
};

static const struct tusk_param p_import_file[] = {
	{ "connection_id", TT_STR, 0, "an open connection's id", NULL },
	{ "table", TT_STR, 0, "the table, as written in SQL: name or schema.name, \"Quoted\" as needed", NULL },
	{ "path", TT_STR, 0, "the file to read (absolute)", NULL },
	{ "format", TT_STR, 0, "csv or tsv", NULL },
	{ "options", TT_MAP, P_OPT, "header, delimiter, null, quote, columns", OPTIONS_SHAPE },
	{ "query_id", TT_STR, P_OPT, "client-chosen id, for cancel_query and progress", NULL },
	PARAMS_END,
};

/* import_file {connection_id, table, path, format, options?, query_id?} */
static int
h_import_file(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct params o;
	int fmt = format_parse(p, true, e);
	if (fmt < 0 || options_parse(&o, p, e) < 0)
		return -1;
	if (params_has(&o, "table"))
		return terr_set(e, TE_VALIDATION, "options.table: the table is import_file's own parameter");
	char *t = params_strdup(p, "table");
	struct sqlname name;
	int r = sqlname_parse(&name, t, "table", e);
	free(t);
	if (r < 0)
		return -1;
	struct strbuf sb;
	sb_init(&sb);
	sb_adds(&sb, "COPY ");
	sqlname_quote(&sb, &name);
	sqlname_free(&name);
	const msgpack_object *cols = params_get(&o, "columns");
	if (cols && cols->via.array.size > 0) {
		sb_adds(&sb, " (");
		for (uint32_t i = 0; i < cols->via.array.size; i++) {
			const msgpack_object *c = &cols->via.array.ptr[i];
			if (c->type != MSGPACK_OBJECT_STR || c->via.str.size == 0 ||
			    memchr(c->via.str.ptr, '\0', c->via.str.size)) {
				sb_free(&sb);
				return terr_set(e, TE_VALIDATION, "options.columns: item %u is not a column name",
				    i + 1);
			}
			if (i)
				sb_adds(&sb, ", ");
			char *col = xstrndup(c->via.str.ptr, c->via.str.size);
			sqlident_add(&sb, col);
			free(col);
		}
		sb_addc(&sb, ')');
	}
	sb_adds(&sb, " FROM STDIN");
	if (copy_with(&sb, fmt, &o, e) < 0) {
		sb_free(&sb);
		return -1;
	}
	char *path = params_strdup(p, "path");
	struct stat st;
	int fd = path[0] == '/' ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (path[0] != '/') {
			terr_set(e, TE_VALIDATION, "path: '%.200s' is not absolute", path);
			terr_hint(e, "the broker does not share your working directory: give the full path");
		} else if (fd < 0) {
			terr_set(e, TE_VALIDATION, "path: cannot open %.200s: %s", path, strerror(errno));
			terr_hint(e, "name a file that exists and that you can read");
		} else {
			terr_set(e, TE_VALIDATION, "path: %.200s is not a regular file", path);
		}
		if (fd >= 0)
			close(fd);
		free(path);
		sb_free(&sb);
		return -1;
	}
	struct import_ctx *x = xcalloc(1, sizeof *x);
	x->fd = fd;
	x->path = path;
	x->header = params_bool(&o, "header", true);
	char *qc = params_strdup(&o, "quote");
	x->quote = qc ? qc[0] : '"';
	free(qc);
	x->progress_ms = mono_ms();
	struct query *q = query_submit(req->conn, req, params_strdup(p, "query_id"), sb_detach(&sb),
	    &import_ops, x, e);
	if (q == NULL) {
		struct query fake = { .ctx = x };
		import_free(&fake);
		return -1;
	}
	queries_kick(req->conn);
	return H_ASYNC;
}

const struct tusk_method m_import_file = {
	.name = M_IMPORT_FILE,
	.params = p_import_file,
	.result = "{query_id: str, row_count: int, elapsed_ms: float}",
	.flags = MF_STREAMS | MF_CONNECTION,
	.doc = "Load a CSV or TSV file into a table with COPY ... FROM STDIN, as one transaction; "
	    "an error names the file's line and column; cancel_query commits nothing.",
	.handler = h_import_file,
};

/*
 * cmd-query.c — tuskctl query, cancel, running.
 *
 * `query` streams: rows arrive as query_rows notifications and are written
 * out as they come (CSV, JSON, or a table whose column widths are taken
 * from the first rows). stdout is written with blocking writes, so a slow
 * reader slows tuskctl, which slows the broker, which pauses the worker,
 * which stops reading the server: memory stays flat however large the
 * result. ^C cancels the query on the server (a second ^C quits at once).
 * On a terminal, progress is shown on stderr while stdout is redirected.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "dtoa.h"
#include "mpscan.h"
#include "msg.h"
#include "proto.h"
#include "util.h"
#include "uuid.h"

#define TABLE_SAMPLE 1000 /* rows read before a table's widths are fixed */

enum fmt { F_TABLE, F_CSV, F_JSON };

struct qstate {
	enum fmt fmt;
	char *sql;
	char query_id[UUID_STR_LEN];
	char *conn;
	long long max_rows;
	long long timeout_ms;
	const char *null_text;
	bool header;
	/* the current result set */
	int ncols;
	char **cols;
	uint64_t set_rows;
	bool in_set;
	/* table */
	char ***sample;
	size_t nsample;
	size_t *widths;
	bool widths_fixed;
	/* json */
	bool json_open;
	bool json_first_row;
	int json_sets;
	/* progress */
	uint64_t rows;
	int64_t t0_us;
	int64_t last_progress_us;
	bool progress;
	bool progress_shown;
	struct strbuf sb;
	msgpack_object *vals; /* one row, for the raw path */
	size_t nvals;
};

/*
 * CSV goes through our own buffer and write(2): stdio's per-call locking
 * was a quarter of tuskctl's time on a million rows.
 */
static struct {
	char buf[1 << 18];
	size_t len;
} ob;

/* Write the buffer out; a closed pipe ends tuskctl quietly. */
static void
ob_flush(void)
{
	size_t off = 0;
	fflush(stdout);
	while (off < ob.len) {
		ssize_t n = write(STDOUT_FILENO, ob.buf + off, ob.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(errno == EPIPE ? 0 : EXIT_ERR);
		off += (size_t)n;
	}
	ob.len = 0;
}

/* Add a character to the output buffer. */
static inline void
ob_putc(char c)
{
	if (ob.len == sizeof ob.buf)
		ob_flush();
	ob.buf[ob.len++] = c;
}

/* Add n bytes to the output buffer; more than it holds are written through. */
static void
ob_write(const char *p, size_t n)
{
	if (n > sizeof ob.buf - ob.len) {
		ob_flush();
		if (n > sizeof ob.buf) {
			fwrite(p, 1, n, stdout);
			fflush(stdout);
			return;
		}
	}
	memcpy(ob.buf + ob.len, p, n);
	ob.len += n;
}

/* A CSV field (RFC 4180 quoting when needed) into the buffer. */
static void
ob_csv(const char *s, size_t n)
{
	bool quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
	for (size_t i = 0; i < n && !quote; i++) {
		char c = s[i];
		quote = c == ',' || c == '"' || c == '\n' || c == '\r';
	}
	if (!quote) {
		ob_write(s, n);
		return;
	}
	ob_putc('"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			ob_putc('"');
		ob_putc(s[i]);
	}
	ob_putc('"');
}

/* Decimal of an unsigned without printf. */
static void
put_u64(uint64_t v)
{
	char buf[24];
	int i = (int)sizeof buf;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ob_write(buf + i, sizeof buf - (size_t)i);
}

/* A value as a CSV field. */
static void
csv_value(struct qstate *q, const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		put_u64(o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		ob_putc('-');
		put_u64((uint64_t)(-(o->via.i64 + 1)) + 1);
		break;
	case MSGPACK_OBJECT_STR:
		ob_csv(o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_FLOAT32: {
		char buf[DTOA_BUFSIZE];
		ob_write(buf, (size_t)dtoa_shortest_float((float)o->via.f64, buf));
		break;
	}
	case MSGPACK_OBJECT_FLOAT64: {
		char buf[DTOA_BUFSIZE];
		ob_write(buf, (size_t)dtoa_shortest(o->via.f64, buf));
		break;
	}
	case MSGPACK_OBJECT_BOOLEAN:
		ob_putc(o->via.boolean ? 't' : 'f');
		break;
	default:
		q->sb.len = 0;
		text_value(&q->sb, o, "");
		ob_csv(q->sb.buf ? q->sb.buf : "", q->sb.len);
	}
}

/* Progress on stderr (only when stdout is not the terminal). */
static void
progress(struct qstate *q, bool final)
{
	if (!q->progress)
		return;
	int64_t now = mono_us();
	if (final) {
		if (q->progress_shown)
			fputs("\r\033[K", stderr);
		return;
	}
	if (now - q->last_progress_us < 100000)
		return;
	q->last_progress_us = now;
	q->progress_shown = true;
	fprintf(stderr, "\r%llu rows, %.1f s", (unsigned long long)q->rows,
	    (double)(now - q->t0_us) / 1e6);
}

/* Table: fix widths from the header and the sample, print them. */
static void
table_flush_sample(struct qstate *q)
{
	if (q->widths_fixed || q->ncols == 0)
		return;
	q->widths = xcalloc((size_t)q->ncols, sizeof *q->widths);
	for (int c = 0; c < q->ncols; c++) {
		q->widths[c] = strlen(q->cols[c]);
		for (size_t r = 0; r < q->nsample; r++)
			q->widths[c] = MAX(q->widths[c], strlen(q->sample[r][c]));
	}
	for (int c = 0; c < q->ncols; c++)
		printf("%s%-*s", c ? " | " : " ", c < q->ncols - 1 ? (int)q->widths[c] : 0, q->cols[c]);
	printf("\n");
	for (int c = 0; c < q->ncols; c++) {
		fputs(c ? "-+-" : "-", stdout);
		for (size_t i = 0; i < q->widths[c]; i++)
			fputc('-', stdout);
	}
	printf("-\n");
	for (size_t r = 0; r < q->nsample; r++) {
		for (int c = 0; c < q->ncols; c++) {
			printf("%s%-*s", c ? " | " : " ", c < q->ncols - 1 ? (int)q->widths[c] : 0,
			    q->sample[r][c]);
			free(q->sample[r][c]);
		}
		printf("\n");
		free(q->sample[r]);
	}
	free(q->sample);
	q->sample = NULL;
	q->nsample = 0;
	q->widths_fixed = true;
}

/* One cell as table text: newlines and tabs shown escaped. */
static char *
table_cell(struct qstate *q, const msgpack_object *o)
{
	q->sb.len = 0;
	text_value(&q->sb, o, q->null_text);
	struct strbuf out;
	sb_init(&out);
	for (size_t i = 0; i < q->sb.len; i++) {
		char c = q->sb.buf[i];
		if (c == '\n')
			sb_adds(&out, "\\n");
		else if (c == '\t')
			sb_adds(&out, "\\t");
		else if (c == '\r')
			sb_adds(&out, "\\r");
		else
			sb_addc(&out, c);
	}
	return sb_detach(&out);
}

/* End the current result set (table footer, JSON close). */
static void
set_end(struct qstate *q)
{
	if (!q->in_set)
		return;
	if (q->fmt == F_TABLE) {
		table_flush_sample(q);
		printf("(%llu row%s)\n", (unsigned long long)q->set_rows, q->set_rows == 1 ? "" : "s");
	} else if (q->fmt == F_JSON) {
		fputs("]}", stdout);
	}
	for (int c = 0; c < q->ncols; c++)
		free(q->cols[c]);
	free(q->cols);
	free(q->widths);
	q->cols = NULL;
	q->widths = NULL;
	q->widths_fixed = false;
	q->ncols = 0;
	q->in_set = false;
}

/* A new result set with these columns. */
static void
set_begin(struct qstate *q, const msgpack_object *cols)
{
	set_end(q);
	if (q->fmt == F_TABLE && q->json_sets++ > 0)
		printf("\n");
	q->ncols = (int)cols->via.array.size;
	q->cols = xcalloc((size_t)MAX(q->ncols, 1), sizeof *q->cols);
	for (int c = 0; c < q->ncols; c++) {
		const msgpack_object *n = mo_map_get(&cols->via.array.ptr[c], "name");
		q->cols[c] = n && n->type == MSGPACK_OBJECT_STR ? mo_strdup(n) : xstrdup("?");
	}
	q->set_rows = 0;
	q->in_set = true;
	if (q->fmt == F_CSV && q->header) {
		for (int c = 0; c < q->ncols; c++) {
			if (c)
				ob_putc(',');
			ob_csv(q->cols[c], strlen(q->cols[c]));
		}
		ob_putc('\n');
	} else if (q->fmt == F_JSON) {
		if (!q->json_open) {
			fputs("{\"query_id\":", stdout);
			json_string(stdout, q->query_id, strlen(q->query_id));
			fputs(",\"result_sets\":[", stdout);
			q->json_open = true;
		} else {
			fputc(',', stdout);
		}
		fputs("{\"columns\":", stdout);
		json_value(stdout, cols);
		fputs(",\"rows\":[", stdout);
		q->json_first_row = true;
	}
}

/* One row of the current result set (n values). */
static void
row_out(struct qstate *q, const msgpack_object *vals, uint32_t n)
{
	n = MIN(n, (uint32_t)q->ncols);
	q->rows++;
	q->set_rows++;
	switch (q->fmt) {
	case F_CSV:
		for (uint32_t c = 0; c < n; c++) {
			if (c)
				ob_putc(',');
			csv_value(q, &vals[c]);
		}
		ob_putc('\n');
		break;
	case F_JSON: {
		if (!q->json_first_row)
			fputc(',', stdout);
		q->json_first_row = false;
		msgpack_object row = { .type = MSGPACK_OBJECT_ARRAY };
		row.via.array.size = n;
		row.via.array.ptr = (msgpack_object *)(uintptr_t)vals;
		json_value(stdout, &row);
		break;
	}
	case F_TABLE:
		if (!q->widths_fixed) {
			char **cells = xcalloc((size_t)MAX(q->ncols, 1), sizeof *cells);
			for (int c = 0; c < q->ncols; c++)
				cells[c] = (uint32_t)c < n ? table_cell(q, &vals[c]) : xstrdup("");
			q->sample = xrealloc(q->sample, (q->nsample + 1) * sizeof *q->sample);
			q->sample[q->nsample++] = cells;
			if (q->nsample >= TABLE_SAMPLE)
				table_flush_sample(q);
		} else {
			for (uint32_t c = 0; c < n; c++) {
				char *cell = table_cell(q, &vals[c]);
				printf("%s%-*s", c ? " | " : " ",
				    c < (uint32_t)q->ncols - 1 ? (int)q->widths[c] : 0, cell);
				free(cell);
			}
			fputc('\n', stdout);
		}
		break;
	}
}

/* Rows of the current result set, decoded. */
static void
rows_out(struct qstate *q, const msgpack_object *rows)
{
	for (uint32_t i = 0; i < rows->via.array.size; i++) {
		const msgpack_object *row = &rows->via.array.ptr[i];
		if (row->type == MSGPACK_OBJECT_ARRAY)
			row_out(q, row->via.array.ptr, row->via.array.size);
	}
	progress(q, false);
}

/* A scalar from the byte cursor as a msgpack object (borrowing its bytes). */
static void
val_object(const struct mp_val *v, msgpack_object *o)
{
	memset(o, 0, sizeof *o);
	switch (v->type) {
	case MPV_NIL: o->type = MSGPACK_OBJECT_NIL; break;
	case MPV_BOOL: o->type = MSGPACK_OBJECT_BOOLEAN, o->via.boolean = v->b; break;
	case MPV_UINT: o->type = MSGPACK_OBJECT_POSITIVE_INTEGER, o->via.u64 = v->u; break;
	case MPV_INT:
		if (v->i >= 0)
			o->type = MSGPACK_OBJECT_POSITIVE_INTEGER, o->via.u64 = (uint64_t)v->i;
		else
			o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER, o->via.i64 = v->i;
		break;
	case MPV_FLOAT: o->type = MSGPACK_OBJECT_FLOAT64, o->via.f64 = v->f; break;
	case MPV_FLOAT32: o->type = MSGPACK_OBJECT_FLOAT32, o->via.f64 = v->f; break;
	case MPV_STR: o->type = MSGPACK_OBJECT_STR, o->via.str.ptr = v->p, o->via.str.size = v->len; break;
	case MPV_BIN: o->type = MSGPACK_OBJECT_BIN, o->via.bin.ptr = v->p, o->via.bin.size = v->len; break;
	case MPV_EXT: o->type = MSGPACK_OBJECT_BIN, o->via.bin.ptr = v->p, o->via.bin.size = v->len; break;
	}
}

/*
 * A query_rows batch read straight from its bytes: no object tree for
 * thousands of rows, only one row of values at a time. Anything that does
 * not look like our batch is left to the normal decoder.
 */
static bool
query_raw(const uint8_t *data, size_t len, void *arg)
{
	struct qstate *q = arg;
	struct mp_cur c = { data, data + len };
	uint32_t n, one, nkeys, nrows;
	uint64_t type;
	const char *qid;
	uint32_t qlen;
	if (mp_cur_array(&c, &n) < 0 || n != 3 || mp_cur_uint(&c, &type) < 0 || type != 2 ||
	    mp_cur_lit(&c, N_QUERY_ROWS) < 0 || mp_cur_array(&c, &one) < 0 || one != 1 ||
	    mp_cur_map(&c, &nkeys) < 0 || nkeys != 2 || mp_cur_lit(&c, "query_id") < 0 ||
	    mp_cur_str(&c, &qid, &qlen) < 0 || qlen != strlen(q->query_id) ||
	    memcmp(qid, q->query_id, qlen) != 0 || mp_cur_lit(&c, "rows") < 0 ||
	    mp_cur_array(&c, &nrows) < 0 || !q->in_set)
		return false;
	if ((size_t)q->ncols > q->nvals) {
		q->vals = xrealloc(q->vals, (size_t)q->ncols * sizeof *q->vals);
		q->nvals = (size_t)q->ncols;
	}
	for (uint32_t r = 0; r < nrows; r++) {
		uint32_t nv;
		struct mp_val v;
		if (mp_cur_array(&c, &nv) < 0)
			goto bad;
		uint32_t keep = MIN(nv, (uint32_t)q->ncols);
		for (uint32_t i = 0; i < nv; i++) {
			if (mp_cur_scalar(&c, &v) < 0)
				goto bad;
			if (i < keep)
				val_object(&v, &q->vals[i]);
		}
		row_out(q, q->vals, keep);
	}
	progress(q, false);
	return true;
bad:
	/* values are scalars by construction: this is a broken peer */
	fprintf(stderr, "error: a malformed row batch arrived; stopping\n");
	_exit(EXIT_ERR);
}

/* Notifications during the query. */
static void
query_notify(const struct rpc_msg *m, void *arg)
{
	struct qstate *q = arg;
	const msgpack_object *p = m->params && m->params->type == MSGPACK_OBJECT_ARRAY &&
	    m->params->via.array.size == 1 ? &m->params->via.array.ptr[0] : NULL;
	const msgpack_object *qid = mo_map_get(p, "query_id");
	if (qid == NULL || !mo_str_eq(qid, q->query_id))
		return;
	if (strcmp(m->method, N_QUERY_COLUMNS) == 0) {
		const msgpack_object *cols = mo_map_get(p, "columns");
		if (cols && cols->type == MSGPACK_OBJECT_ARRAY)
			set_begin(q, cols);
	} else if (strcmp(m->method, N_QUERY_ROWS) == 0) {
		const msgpack_object *rows = mo_map_get(p, "rows");
		if (rows && rows->type == MSGPACK_OBJECT_ARRAY && q->in_set)
			rows_out(q, rows);
	} else if (strcmp(m->method, N_QUERY_NOTICE) == 0) {
		const msgpack_object *sev = mo_map_get(p, "severity"), *msg = mo_map_get(p, "message");
		char *s = sev ? mo_strdup(sev) : xstrdup("NOTICE"), *t = msg ? mo_strdup(msg) : xstrdup("");
		progress(q, true);
		fprintf(stderr, "%s:  %s\n", s, t);
		free(s);
		free(t);
	}
}

/* The final response. */
static void
query_result(const msgpack_object *r, void *arg)
{
	struct qstate *q = arg;
	const msgpack_object *cols = mo_map_get(r, "columns"), *rows = mo_map_get(r, "rows");
	/* with --max-rows the rows come here, in one piece */
	if (q->max_rows >= 0 && cols && cols->type == MSGPACK_OBJECT_ARRAY && cols->via.array.size > 0) {
		set_begin(q, cols);
		if (rows && rows->type == MSGPACK_OBJECT_ARRAY)
			rows_out(q, rows);
	}
	progress(q, true);
	bool had_set = q->in_set;
	set_end(q);
	const msgpack_object *tag = mo_map_get(r, "command_tag");
	const msgpack_object *trunc = mo_map_get(r, "truncated");
	bool truncated = trunc && trunc->type == MSGPACK_OBJECT_BOOLEAN && trunc->via.boolean;
	if (q->fmt == F_JSON) {
		if (!q->json_open) {
			fputs("{\"query_id\":", stdout);
			json_string(stdout, q->query_id, strlen(q->query_id));
			fputs(",\"result_sets\":[", stdout);
		}
		fputs("]", stdout);
		for (uint32_t i = 0; i < r->via.map.size; i++) {
			const msgpack_object *k = &r->via.map.ptr[i].key;
			if (mo_str_eq(k, "columns") || mo_str_eq(k, "rows") || mo_str_eq(k, "query_id") ||
			    mo_str_eq(k, "result_sets"))
				continue;
			fputc(',', stdout);
			json_value(stdout, k);
			fputc(':', stdout);
			json_value(stdout, &r->via.map.ptr[i].val);
		}
		fputs("}\n", stdout);
	} else if (q->fmt == F_TABLE) {
		if (!had_set && tag && tag->type == MSGPACK_OBJECT_STR)
			printf("%.*s\n", (int)tag->via.str.size, tag->via.str.ptr);
	}
	if (truncated && q->fmt != F_JSON) {
		const msgpack_object *rc = mo_map_get(r, "row_count");
		int64_t total = 0;
		if (rc)
			mo_int(rc, &total);
		fprintf(stderr, "note: %lld rows in all; only the first %llu are shown (--max-rows)\n",
		    (long long)total, (unsigned long long)q->rows);
	}
}

/* execute_query's parameters. */
static void
pack_query(msgpack_packer *pk, void *arg)
{
	struct qstate *q = arg;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 3 + (q->max_rows >= 0) + (q->timeout_ms >= 0));
	mp_pack_key(pk, "connection_id");
	mp_pack_cstr(pk, q->conn);
	mp_pack_key(pk, "sql");
	mp_pack_cstr(pk, q->sql);
	mp_pack_key(pk, "query_id");
	mp_pack_cstr(pk, q->query_id);
	if (q->max_rows >= 0) {
		mp_pack_key(pk, "max_rows");
		msgpack_pack_int64(pk, q->max_rows);
	}
	if (q->timeout_ms >= 0) {
		mp_pack_key(pk, "timeout_ms");
		msgpack_pack_int64(pk, q->timeout_ms);
	}
}

/* Parameters with only a query_id. */
static void
pack_query_id(msgpack_packer *pk, void *arg)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "query_id");
	mp_pack_cstr(pk, arg);
}

/* ^C: ask the broker to cancel our query. */
static void
interrupt_cancel(void *arg)
{
	struct qstate *q = arg;
	progress(q, true);
	fprintf(stderr, "cancelling query %s (^C again to quit)\n", q->query_id);
	ctl_send(M_CANCEL_QUERY, pack_query_id, q->query_id);
}

/* Read all of stdin as the SQL text. */
char *
read_all_stdin(void)
{
	struct strbuf sb;
	char buf[65536];
	size_t n;
	sb_init(&sb);
	while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
		sb_add(&sb, buf, n);
	return sb_detach(&sb);
}

/* query: run SQL on a connection and print its rows as they stream in. */
int
cmd_query(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connection", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "max-rows", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "query-id", required_argument, NULL, 'q' },
		{ "null", required_argument, NULL, 'N' },
		{ "no-header", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	static char stdout_buf[1 << 18];
	struct qstate q = { .fmt = ctl.json ? F_JSON : F_TABLE, .max_rows = -1, .timeout_ms = -1,
		.null_text = "", .header = true };
	const char *conn_arg = NULL, *qid = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:f:m:t:q:N:H", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': conn_arg = optarg; break;
		case 'f':
			if (strcmp(optarg, "table") == 0) q.fmt = F_TABLE;
			else if (strcmp(optarg, "csv") == 0) q.fmt = F_CSV;
			else if (strcmp(optarg, "json") == 0) q.fmt = F_JSON;
			else {
				fprintf(stderr, "error: --format is table, csv or json\n");
				return EXIT_USAGE;
			}
			break;
		case 'm':
			if (parse_ll(optarg, 0, INT64_MAX, &q.max_rows) < 0)
				return EXIT_USAGE;
			break;
		case 't':
			if (parse_ll(optarg, 0, INT64_MAX, &q.timeout_ms) < 0)
				return EXIT_USAGE;
			break;
		case 'q': qid = optarg; break;
		case 'N': q.null_text = optarg; break;
		case 'H': q.header = false; break;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind > 1)
		return EXIT_USAGE;
	if (argc - optind == 1 && strcmp(argv[optind], "-") != 0)
		q.sql = xstrdup(argv[optind]);
	else if (!isatty(STDIN_FILENO))
		q.sql = read_all_stdin();
	if (q.sql == NULL || q.sql[strspn(q.sql, " \t\r\n")] == '\0') {
		free(q.sql);
		return EXIT_USAGE;
	}
	if (qid)
		snprintf(q.query_id, sizeof q.query_id, "%s", qid);
	else
		uuid_v4(q.query_id);

	q.conn = resolve_connection(conn_arg);
	if (q.conn == NULL) {
		free(q.sql);
		return EXIT_ERR;
	}
	setvbuf(stdout, stdout_buf, _IOFBF, sizeof stdout_buf);
	sb_init(&q.sb);
	q.progress = isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO);
	q.t0_us = q.last_progress_us = mono_us();
	ctl_on_interrupt(interrupt_cancel, &q);
	ctl_set_raw(query_raw, &q);
	int r = ctl_call(M_EXECUTE_QUERY, pack_query, &q, query_result, &q, query_notify, &q);
	ctl_set_raw(NULL, NULL);
	ctl_on_interrupt(NULL, NULL);
	ob_flush();
	if (r != EXIT_OK) {
		progress(&q, true);
		set_end(&q);
	}
	fflush(stdout);
	for (size_t i = 0; i < q.nsample; i++) {
		for (int c = 0; c < q.ncols; c++)
			free(q.sample[i][c]);
		free(q.sample[i]);
	}
	free(q.sample);
	free(q.vals);
	sb_free(&q.sb);
	free(q.sql);
	free(q.conn);
	return r;
}

/* cancel: whether the query was cancelled. */
static void
cancel_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json) {
		print_object(r);
		return;
	}
	const msgpack_object *c = mo_map_get(r, "cancelled");
	printf("%s\n", c && c->type == MSGPACK_OBJECT_BOOLEAN && c->via.boolean ? "cancelled" :
	    "not cancelled (the query had finished)");
}

/* cancel QUERY_ID: cancel a running query. */
int
cmd_cancel(int argc, char **argv)
{
	if (argc != 2)
		return EXIT_USAGE;
	return ctl_call(M_CANCEL_QUERY, pack_query_id, argv[1], cancel_result, NULL, NULL, NULL);
}

/* get_running_queries' parameters: a connection, or none for all. */
static void
pack_running(msgpack_packer *pk, void *arg)
{
	msgpack_pack_array(pk, 1);
	if (arg == NULL) {
		msgpack_pack_map(pk, 0);
		return;
	}
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "connection_id");
	mp_pack_cstr(pk, arg);
}

/* running: the running queries, or say there are none. */
static void
running_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json || (r->type == MSGPACK_OBJECT_ARRAY && r->via.array.size > 0)) {
		print_object(r);
		return;
	}
	printf("no queries running\n");
}

/* running [-c CONN]: the queries running now. */
int
cmd_running(int argc, char **argv)
{
	char *conn = NULL;
	if (argc == 3 && (strcmp(argv[1], "-c") == 0 || strcmp(argv[1], "--connection") == 0)) {
		conn = resolve_connection(argv[2]);
		if (conn == NULL)
			return EXIT_ERR;
	} else if (argc != 1) {
		return EXIT_USAGE;
	}
	int r = ctl_call(M_GET_RUNNING_QUERIES, pack_running, conn, running_result, NULL, NULL, NULL);
	free(conn);
	return r;
}

/*
 * cmd-copy.c — tuskctl export and import: a query's rows into a file, a
 * CSV or TSV file into a table, at COPY's speed (export_query and
 * import_file: the broker writes and reads the file, so a relative path is
 * made absolute here, against tuskctl's own directory).
 *
 * On a terminal a progress line (rows, bytes, seconds) shows on stderr
 * from the query_progress notifications; ^C cancels on the server (an
 * export then leaves no file, an import commits nothing).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "msg.h"
#include "proto.h"
#include "util.h"
#include "uuid.h"

struct copy_cmd {
	bool import;
	char *conn;
	char *sql;	   /* export */
	char *table;	   /* import */
	char *path;	   /* absolute */
	const char *format;
	const char *delimiter, *null_text, *quote, *target_table, *columns;
	bool no_header;
	char query_id[UUID_STR_LEN];
	bool progress;	   /* stderr is a terminal */
	bool progress_shown;
	int64_t t0_us;
};

/* The options map: only what was given. */
static void
pack_options(msgpack_packer *pk, const struct copy_cmd *c)
{
	int n = c->no_header + (c->delimiter != NULL) + (c->null_text != NULL) + (c->quote != NULL) +
	    (c->target_table != NULL) + (c->columns != NULL);
	msgpack_pack_map(pk, (size_t)n);
	if (c->no_header) {
		mp_pack_key(pk, "header");
		msgpack_pack_false(pk);
	}
	const char *const strs[][2] = { { "delimiter", c->delimiter }, { "null", c->null_text },
		{ "quote", c->quote }, { "table", c->target_table } };
	for (size_t i = 0; i < nitems(strs); i++) {
		if (strs[i][1] == NULL)
			continue;
		mp_pack_key(pk, strs[i][0]);
		mp_pack_cstr(pk, strs[i][1]);
	}
	if (c->columns) {
		/* a,b,c: exact names */
		size_t k = 1;
		for (const char *s = c->columns; *s; s++)
			k += *s == ',';
		mp_pack_key(pk, "columns");
		msgpack_pack_array(pk, k);
		const char *s = c->columns;
		for (size_t i = 0; i < k; i++) {
			size_t len = strcspn(s, ",");
			msgpack_pack_str(pk, len);
			msgpack_pack_str_body(pk, s, len);
			s += len + (s[len] == ',');
		}
	}
}

/* export_query / import_file's params. */
static void
pack_copy(msgpack_packer *pk, void *arg)
{
	struct copy_cmd *c = arg;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 6);
	mp_pack_key(pk, "connection_id");
	mp_pack_cstr(pk, c->conn);
	mp_pack_key(pk, c->import ? "table" : "sql");
	mp_pack_cstr(pk, c->import ? c->table : c->sql);
	mp_pack_key(pk, "path");
	mp_pack_cstr(pk, c->path);
	mp_pack_key(pk, "format");
	mp_pack_cstr(pk, c->format);
	mp_pack_key(pk, "options");
	pack_options(pk, c);
	mp_pack_key(pk, "query_id");
	mp_pack_cstr(pk, c->query_id);
}

/* Clear the progress line. */
static void
progress_clear(struct copy_cmd *c)
{
	if (c->progress_shown)
		fputs("\r\033[K", stderr);
	c->progress_shown = false;
}

/* query_progress {query_id, rows, bytes}: the terminal's progress line. */
static void
copy_notify(const struct rpc_msg *m, void *arg)
{
	struct copy_cmd *c = arg;
	if (!c->progress || strcmp(m->method, N_QUERY_PROGRESS) != 0 || m->params == NULL ||
	    m->params->type != MSGPACK_OBJECT_ARRAY || m->params->via.array.size != 1)
		return;
	const msgpack_object *p = &m->params->via.array.ptr[0];
	int64_t rows = mo_map_int(p, "rows", 0), bytes = mo_map_int(p, "bytes", 0);
	fprintf(stderr, "\r\033[K%lld rows, %.1f MB, %.1f s", (long long)rows, (double)bytes / 1e6,
	    (double)(mono_us() - c->t0_us) / 1e6);
	c->progress_shown = true;
}

/* The answer: a line on stdout (or the JSON). */
static void
copy_result(const msgpack_object *r, void *arg)
{
	struct copy_cmd *c = arg;
	progress_clear(c);
	if (ctl.json) {
		print_object(r);
		return;
	}
	int64_t rows = mo_map_int(r, "row_count", 0);
	const msgpack_object *el = mo_map_get(r, "elapsed_ms");
	double ms = el && el->type == MSGPACK_OBJECT_FLOAT64 ? el->via.f64 : 0;
	if (c->import)
		printf("imported %lld rows into %s in %.2f s\n", (long long)rows, c->table, ms / 1e3);
	else
		printf("exported %lld rows (%lld bytes) to %s in %.2f s\n", (long long)rows,
		    (long long)mo_map_int(r, "bytes", 0), c->path, ms / 1e3);
}

/* cancel_query's params. */
static void
pack_cancel(msgpack_packer *pk, void *arg)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "query_id");
	mp_pack_cstr(pk, arg);
}

/* ^C: cancel on the server. */
static void
copy_cancel(void *arg)
{
	struct copy_cmd *c = arg;
	progress_clear(c);
	fprintf(stderr, "cancelling %s (^C again to quit)\n", c->query_id);
	ctl_send(M_CANCEL_QUERY, pack_cancel, c->query_id);
}

/* An absolute form of a path given on the command line (the broker does
 * not share our directory). */
static char *
path_absolute(const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof cwd) == NULL)
		return xstrdup(p); /* the broker refuses it, saying why */
	return xasprintf("%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, p);
}

/* export and import: their options (opts), then the call. */
static int
copy_run(int argc, char **argv, bool import, const struct option *opts)
{
	struct copy_cmd c = { .import = import, .format = "csv" };
	const char *conn_arg = NULL, *out = NULL, *qid = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, import ? "c:f:t:d:N:Q:C:q:H" : "c:f:o:t:d:N:Q:q:H", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': conn_arg = optarg; break;
		case 'f': c.format = optarg; break;
		case 'o': out = optarg; break;
		case 't':
			if (import)
				c.table = optarg;
			else
				c.target_table = optarg;
			break;
		case 'd': c.delimiter = optarg; break;
		case 'N': c.null_text = optarg; break;
		case 'Q': c.quote = optarg; break;
		case 'C': c.columns = optarg; break;
		case 'q': qid = optarg; break;
		case 'H': c.no_header = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || (import && (c.table == NULL || out || c.target_table)) ||
	    (!import && (out == NULL || c.columns))) {
		fprintf(stderr, "usage: tuskctl %s\n", import ?
		    "import [-c CONN] -t TABLE [-f csv|tsv] [options] FILE" :
		    "export [-c CONN] -f FORMAT -o FILE [options] SQL|-");
		return EXIT_USAGE;
	}
	if (import) {
		c.path = path_absolute(argv[optind]);
	} else {
		c.path = path_absolute(out);
		c.sql = strcmp(argv[optind], "-") == 0 ? read_all_stdin() : xstrdup(argv[optind]);
	}
	if (qid)
		snprintf(c.query_id, sizeof c.query_id, "%s", qid);
	else
		uuid_v4(c.query_id);
	c.conn = resolve_connection(conn_arg);
	int r = EXIT_ERR;
	if (c.conn) {
		c.progress = isatty(STDERR_FILENO) && !ctl.json;
		c.t0_us = mono_us();
		ctl_on_interrupt(copy_cancel, &c);
		r = ctl_call(import ? M_IMPORT_FILE : M_EXPORT_QUERY, pack_copy, &c, copy_result, &c,
		    copy_notify, &c);
		ctl_on_interrupt(NULL, NULL);
		progress_clear(&c);
	}
	free(c.conn);
	free(c.path);
	free(c.sql);
	return r;
}

/* export: write a query's or a table's rows to a file on the broker's side. */
int
cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connection", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "table", required_argument, NULL, 't' },
		{ "delimiter", required_argument, NULL, 'd' },
		{ "null", required_argument, NULL, 'N' },
		{ "quote", required_argument, NULL, 'Q' },
		{ "query-id", required_argument, NULL, 'q' },
		{ "no-header", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	return copy_run(argc, argv, false, opts);
}

/* import: load a file into a table. */
int
cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connection", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "table", required_argument, NULL, 't' },
		{ "delimiter", required_argument, NULL, 'd' },
		{ "null", required_argument, NULL, 'N' },
		{ "quote", required_argument, NULL, 'Q' },
		{ "columns", required_argument, NULL, 'C' },
		{ "query-id", required_argument, NULL, 'q' },
		{ "no-header", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	return copy_run(argc, argv, true, opts);
}

/*
 * cmd-table.c — tuskctl table, activity, backend.
 *
 * `table` shows a table's rows as open_table pages them (sorted and
 * filtered by the server; --all follows `next` to the end). Names follow
 * SQL's rules: unquoted parts are folded to lower case, "quoted" ones are
 * exact ('public."Order Items"'). `activity` lists the server's sessions
 * (get_server_activity), longest-running first, with who blocks whom;
 * --watch refreshes it. `backend cancel|terminate PID` ends a query or a
 * session (cancel_backend, terminate_backend).
 */
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctl.h"
#include "msg.h"
#include "proto.h"
#include "util.h"

#define TARGS_MAX 32

struct tfilter_arg {
	char *column;
	const char *op;
	char **vals;	 /* one, or the `in` list */
	int nvals;
};

struct targs {
	char *conn;
	char *schema;
	char *table;
	char *order[TARGS_MAX];
	bool desc[TARGS_MAX];
	int norder;
	struct tfilter_arg filters[TARGS_MAX];
	int nfilters;
	long long limit;
	char **after;	 /* the previous page's next (NULL entries: nil) */
	int nafter;
	bool all;
	enum { TF_TABLE, TF_CSV, TF_JSON } fmt;
	bool header;
	/* what the pages said */
	struct table *out;
	uint64_t rows;
	bool more;
	char *footer;
};

/* Read one SQL name at *p: "quoted" exactly, else up to a stop character,
 * folded to lower case. NULL when empty or unterminated. */
static char *
sql_name(const char **p, const char *stop)
{
	const char *s = *p;
	struct strbuf sb;
	sb_init(&sb);
	if (*s == '"') {
		for (s++;; s++) {
			if (*s == '\0') {
				sb_free(&sb);
				return NULL;
			}
			if (*s == '"' && s[1] == '"') {
				sb_addc(&sb, '"');
				s++;
			} else if (*s == '"') {
				s++;
				break;
			} else {
				sb_addc(&sb, *s);
			}
		}
	} else {
		for (; *s && strchr(stop, *s) == NULL; s++)
			sb_addc(&sb, *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s);
		if (sb.len == 0) {
			sb_free(&sb);
			return NULL;
		}
	}
	*p = s;
	sb_addc(&sb, '\0');
	return sb_detach(&sb);
}

/* NAME as [schema.]table. */
static int
parse_table_name(struct targs *a, const char *arg)
{
	const char *p = arg;
	char *first = sql_name(&p, ".");
	if (first == NULL)
		return -1;
	if (*p == '\0') {
		a->table = first;
		return 0;
	}
	if (*p != '.') {
		free(first);
		return -1;
	}
	p++;
	char *second = sql_name(&p, ".");
	if (second == NULL || *p != '\0') {
		free(first);
		free(second);
		return -1;
	}
	free(a->schema);
	a->schema = first;
	a->table = second;
	return 0;
}

/* --order a,-b,"C": a minus sorts descending. */
static int
parse_order(struct targs *a, const char *arg)
{
	const char *p = arg;
	while (*p) {
		if (a->norder == TARGS_MAX)
			return -1;
		bool desc = *p == '-';
		if (desc)
			p++;
		char *name = sql_name(&p, ",");
		if (name == NULL)
			return -1;
		a->desc[a->norder] = desc;
		a->order[a->norder++] = name;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return -1;
	}
	return 0;
}

/* Does s start with the word w (any case), followed by a blank or the end? */
static bool
word_at(const char *s, const char *w)
{
	size_t n = strlen(w);
	return strncasecmp(s, w, n) == 0 && (s[n] == '\0' || s[n] == ' ');
}

/* --filter 'COL OP VALUE': = != <> < > <= >= ~ (contains) ^ (starts with),
 * or 'COL is null', 'COL is not null', 'COL in a,b,c'. */
static int
parse_filter(struct targs *a, const char *arg)
{
	static const struct { const char *sym, *op; } ops[] = {
		{ "!=", "!=" }, { "<>", "<>" }, { "<=", "<=" }, { ">=", ">=" }, { "=", "=" },
		{ "<", "<" }, { ">", ">" }, { "~", "contains" }, { "^", "starts_with" },
	};
	if (a->nfilters == TARGS_MAX)
		return -1;
	struct tfilter_arg *f = &a->filters[a->nfilters];
	const char *p = arg;
	while (*p == ' ')
		p++;
	f->column = sql_name(&p, " !=<>~^");
	if (f->column == NULL)
		return -1;
	a->nfilters++;
	while (*p == ' ')
		p++;
	if (word_at(p, "is") && word_at(p + 3, "null") && p[7] == '\0') {
		f->op = "is_null";
		return 0;
	}
	if (word_at(p, "is") && word_at(p + 3, "not") && word_at(p + 7, "null") && p[11] == '\0') {
		f->op = "is_not_null";
		return 0;
	}
	if (word_at(p, "in")) {
		f->op = "in";
		char *list = xstrdup(p + 3), *save = NULL;
		f->vals = xcalloc(strlen(list) + 1, sizeof *f->vals);
		for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			f->vals[f->nvals++] = xstrdup(tok);
		}
		free(list);
		return f->nvals ? 0 : -1;
	}
	for (size_t i = 0; i < nitems(ops); i++) {
		size_t n = strlen(ops[i].sym);
		if (strncmp(p, ops[i].sym, n) == 0) {
			f->op = ops[i].op;
			p += n;
			if (*p == ' ')
				p++;
			f->vals = xcalloc(1, sizeof *f->vals);
			f->vals[0] = xstrdup(p);
			f->nvals = 1;
			return 0;
		}
	}
	return -1;
}

/* Free table's arguments. */
static void
targs_free(struct targs *a)
{
	free(a->conn);
	free(a->schema);
	free(a->table);
	for (int i = 0; i < a->norder; i++)
		free(a->order[i]);
	for (int i = 0; i < a->nfilters; i++) {
		free(a->filters[i].column);
		for (int k = 0; k < a->filters[i].nvals; k++)
			free(a->filters[i].vals[k]);
		free(a->filters[i].vals);
	}
	for (int i = 0; i < a->nafter; i++)
		free(a->after[i]);
	free(a->after);
	free(a->footer);
}

/* open_table's parameters: the table, the page size, order, filters and the cursor. */
static void
pack_open_table(msgpack_packer *pk, void *arg)
{
	const struct targs *a = arg;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 4 + (a->norder ? 1 : 0) + (a->nfilters ? 1 : 0) + (a->after ? 1 : 0));
	mp_pack_key(pk, "connection_id");
	mp_pack_cstr(pk, a->conn);
	mp_pack_key(pk, "schema");
	mp_pack_cstr(pk, a->schema);
	mp_pack_key(pk, "table");
	mp_pack_cstr(pk, a->table);
	mp_pack_key(pk, "limit");
	msgpack_pack_int64(pk, a->limit);
	if (a->norder) {
		mp_pack_key(pk, "order_by");
		msgpack_pack_array(pk, (size_t)a->norder);
		for (int i = 0; i < a->norder; i++)
			MP_PACK_FIELDS(pk, MPF_STR("column", a->order[i]), MPF_BOOL("desc", a->desc[i]));
	}
	if (a->nfilters) {
		mp_pack_key(pk, "filter");
		msgpack_pack_array(pk, (size_t)a->nfilters);
		for (int i = 0; i < a->nfilters; i++) {
			const struct tfilter_arg *f = &a->filters[i];
			msgpack_pack_map(pk, f->nvals ? 3 : 2);
			mp_pack_key(pk, "column");
			mp_pack_cstr(pk, f->column);
			mp_pack_key(pk, "op");
			mp_pack_cstr(pk, f->op);
			if (f->nvals == 0)
				continue;
			mp_pack_key(pk, "value");
			if (strcmp(f->op, "in") == 0) {
				msgpack_pack_array(pk, (size_t)f->nvals);
				for (int k = 0; k < f->nvals; k++)
					mp_pack_cstr(pk, f->vals[k]);
			} else {
				mp_pack_cstr(pk, f->vals[0]);
			}
		}
	}
	if (a->after) {
		mp_pack_key(pk, "after");
		msgpack_pack_array(pk, (size_t)a->nafter);
		for (int i = 0; i < a->nafter; i++)
			mp_pack_cstr(pk, a->after[i]);
	}
}

/* A page: print (or gather) its rows, keep its cursor. */
static void
table_page(const msgpack_object *r, void *arg)
{
	struct targs *a = arg;
	const msgpack_object *cols = mo_map_get(r, "columns");
	const msgpack_object *rows = mo_map_get(r, "rows");
	const msgpack_object *next = mo_map_get(r, "next");
	if (a->fmt == TF_JSON) {
		json_value(stdout, r);
		putchar('\n');
	}
	uint32_t nc = cols && cols->type == MSGPACK_OBJECT_ARRAY ? cols->via.array.size : 0;
	if (a->fmt == TF_TABLE && a->out == NULL) {
		const char **h = xcalloc(MAX(nc, 1), sizeof *h);
		char **names = xcalloc(MAX(nc, 1), sizeof *names);
		for (uint32_t i = 0; i < nc; i++)
			h[i] = names[i] = mo_map_strdup(&cols->via.array.ptr[i], "name", "?");
		a->out = table_new(h, (int)nc);
		for (uint32_t i = 0; i < nc; i++)
			free(names[i]);
		free(names);
		free(h);
	}
	if (a->fmt == TF_CSV && a->header) {
		for (uint32_t i = 0; i < nc; i++) {
			char *n = mo_map_strdup(&cols->via.array.ptr[i], "name", "");
			if (i)
				putchar(',');
			csv_field(stdout, n, strlen(n));
			free(n);
		}
		putchar('\n');
		a->header = false;
	}
	for (uint32_t i = 0; rows && i < rows->via.array.size; i++) {
		const msgpack_object *row = &rows->via.array.ptr[i];
		a->rows++;
		if (a->fmt == TF_JSON || row->type != MSGPACK_OBJECT_ARRAY)
			continue;
		char **cells = a->fmt == TF_TABLE ? xcalloc(MAX(nc, 1), sizeof *cells) : NULL;
		for (uint32_t k = 0; k < nc && k < row->via.array.size; k++) {
			struct strbuf sb;
			sb_init(&sb);
			text_value(&sb, &row->via.array.ptr[k], a->fmt == TF_TABLE ? "NULL" : "");
			sb_addc(&sb, '\0');
			if (cells) {
				cells[k] = sb_detach(&sb);
			} else {
				if (k)
					putchar(',');
				if (row->via.array.ptr[k].type != MSGPACK_OBJECT_NIL)
					csv_field(stdout, sb.buf, sb.len - 1);
				sb_free(&sb);
			}
		}
		if (cells)
			table_add(a->out, cells);
		else
			putchar('\n');
	}
	for (int i = 0; i < a->nafter; i++)
		free(a->after[i]);
	free(a->after);
	a->after = NULL;
	a->nafter = 0;
	a->more = next && next->type == MSGPACK_OBJECT_ARRAY;
	if (a->more) {
		a->nafter = (int)next->via.array.size;
		a->after = xcalloc(MAX(next->via.array.size, 1), sizeof *a->after);
		for (uint32_t i = 0; i < next->via.array.size; i++)
			if (next->via.array.ptr[i].type == MSGPACK_OBJECT_STR)
				a->after[i] = mo_strdup(&next->via.array.ptr[i]);
	}
	free(a->footer);
	const msgpack_object *ed = mo_map_get(r, "editable");
	char *reason = mo_map_strdup(r, "reason", NULL);
	char *key = mo_map_strdup(r, "key_name", NULL);
	a->footer = ed && ed->type == MSGPACK_OBJECT_BOOLEAN && ed->via.boolean ?
	    xasprintf("editable (key %s)", key ? key : "?") :
	    xasprintf("not editable: %s", reason ? reason : "?");
	free(reason);
	free(key);
}

/* table NAME: a table's rows page by page, ordered and filtered. */
int
cmd_table(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connection", required_argument, NULL, 'c' },
		{ "order", required_argument, NULL, 'o' },
		{ "filter", required_argument, NULL, 'w' },
		{ "limit", required_argument, NULL, 'l' },
		{ "all", no_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct targs a = { .limit = 100, .header = true };
	const char *conn_arg = NULL;
	int ch, rc = EXIT_USAGE;
	a.schema = xstrdup("public");
	a.fmt = ctl.json ? TF_JSON : TF_TABLE;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:o:w:l:af:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': conn_arg = optarg; break;
		case 'o':
			if (parse_order(&a, optarg) < 0) {
				fprintf(stderr, "error: --order takes COLUMN[,-COLUMN...] (a minus sorts descending)\n");
				goto out;
			}
			break;
		case 'w':
			if (parse_filter(&a, optarg) < 0) {
				fprintf(stderr, "error: --filter takes 'COLUMN OP VALUE' (OP: = != < > <= >= ~ ^), "
				    "'COLUMN is [not] null' or 'COLUMN in A,B,C'\n");
				goto out;
			}
			break;
		case 'l':
			if (parse_ll(optarg, 1, 10000, &a.limit) < 0) {
				fprintf(stderr, "error: --limit is 1 to 10000 rows\n");
				goto out;
			}
			break;
		case 'a': a.all = true; break;
		case 'f':
			if (strcmp(optarg, "table") == 0) a.fmt = TF_TABLE;
			else if (strcmp(optarg, "csv") == 0) a.fmt = TF_CSV;
			else if (strcmp(optarg, "json") == 0) a.fmt = TF_JSON;
			else {
				fprintf(stderr, "error: --format is table, csv or json\n");
				goto out;
			}
			break;
		default:
			goto out;
		}
	}
	if (optind != argc - 1 || parse_table_name(&a, argv[optind]) < 0) {
		if (optind == argc - 1)
			fprintf(stderr, "error: NAME is [SCHEMA.]TABLE; quote mixed-case names: '\"Order Items\"'\n");
		goto out;
	}
	a.conn = resolve_connection(conn_arg);
	rc = EXIT_ERR;
	if (a.conn == NULL)
		goto out;
	do {
		rc = ctl_call(M_OPEN_TABLE, pack_open_table, &a, table_page, &a, NULL, NULL);
	} while (rc == EXIT_OK && a.all && a.more);
	if (rc == EXIT_OK && a.fmt == TF_TABLE) {
		table_print(a.out, stdout);
		printf("(%llu row%s%s; %s)\n", (unsigned long long)a.rows, a.rows == 1 ? "" : "s",
		    a.more ? ", more follow: --all or a larger --limit" : "", a.footer ? a.footer : "");
	}
out:
	if (a.out)
		table_free(a.out);
	targs_free(&a);
	return rc;
}

/* --- activity ------------------------------------------------------------ */

struct actargs {
	char *conn;
	bool all;
};

/* Parameters with only a connection_id. */
static void
pack_conn_only(msgpack_packer *pk, void *arg)
{
	msgpack_pack_array(pk, 1);
	MP_PACK_FIELDS(pk, MPF_STR("connection_id", (const char *)arg));
}

static const msgpack_object *sort_rows;

/* Longest-running query first; sessions without one last. */
static int
by_duration(const void *x, const void *y)
{
	int64_t a = mo_map_int(&sort_rows->via.array.ptr[*(const uint32_t *)x], "query_ms", -1);
	int64_t b = mo_map_int(&sort_rows->via.array.ptr[*(const uint32_t *)y], "query_ms", -1);
	return a < b ? 1 : a > b ? -1 : 0;
}

/* A duration in ms as "1.2s", "3m04s", "2h05m". */
static char *
fmt_duration(int64_t ms)
{
	if (ms < 0)
		return xstrdup("");
	if (ms < 60000)
		return xasprintf("%.1fs", (double)ms / 1000);
	if (ms < 3600000)
		return xasprintf("%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
	return xasprintf("%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}

/* activity: the server's sessions, longest-running query first. */
static void
activity_print(const msgpack_object *r, void *arg)
{
	const struct actargs *a = arg;
	if (ctl.json) {
		json_value(stdout, r);
		putchar('\n');
		return;
	}
	static const char *const h[] = { "PID", "USER", "DATABASE", "APPLICATION", "STATE", "WAIT",
		"DURATION", "BLOCKED BY", "TUSK", "QUERY" };
	struct table *t = table_new(h, (int)nitems(h));
	uint32_t n = r->type == MSGPACK_OBJECT_ARRAY ? r->via.array.size : 0;
	uint32_t *idx = xcalloc(MAX(n, 1), sizeof *idx);
	for (uint32_t i = 0; i < n; i++)
		idx[i] = i;
	sort_rows = r;
	qsort(idx, n, sizeof *idx, by_duration);
	for (uint32_t k = 0; k < n; k++) {
		const msgpack_object *b = &r->via.array.ptr[idx[k]];
		char *type = mo_map_strdup(b, "backend_type", "");
		bool client = strcmp(type, "client backend") == 0;
		free(type);
		if (!client && !a->all)
			continue;
		char **cells = xcalloc(nitems(h), sizeof *cells);
		cells[0] = xasprintf("%lld", (long long)mo_map_int(b, "pid", 0));
		cells[1] = mo_map_strdup(b, "user", "");
		cells[2] = mo_map_strdup(b, "database", "");
		cells[3] = mo_map_strdup(b, "application", "");
		cells[4] = mo_map_strdup(b, "state", "");
		char *wt = mo_map_strdup(b, "wait_event_type", NULL), *we = mo_map_strdup(b, "wait_event", NULL);
		cells[5] = wt ? xasprintf("%s:%s", wt, we ? we : "") : xstrdup("");
		free(wt);
		free(we);
		cells[6] = fmt_duration(mo_map_int(b, "query_ms", -1));
		struct strbuf sb;
		sb_init(&sb);
		const msgpack_object *bl = mo_map_get(b, "blocked_by");
		for (uint32_t i = 0; bl && bl->type == MSGPACK_OBJECT_ARRAY && i < bl->via.array.size; i++)
			sb_addf(&sb, "%s%lld", i ? "," : "", (long long)bl->via.array.ptr[i].via.i64);
		sb_addc(&sb, '\0');
		cells[7] = sb_detach(&sb);
		const msgpack_object *self = mo_map_get(b, "self");
		char *tname = mo_map_strdup(b, "tusk_connection_name", NULL);
		cells[8] = self && self->type == MSGPACK_OBJECT_BOOLEAN && self->via.boolean ?
		    xstrdup("(this)") : tname ? xstrdup(tname) : xstrdup("");
		free(tname);
		char *q = mo_map_strdup(b, "query", "");
		for (char *p = q; *p; p++)
			if (*p == '\n' || *p == '\t' || *p == '\r')
				*p = ' ';
		if (strlen(q) > 80)
			strcpy(q + 77, "...");
		cells[9] = q;
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
	free(idx);
}

/* activity: what the server's sessions are doing, once or every interval. */
int
cmd_activity(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connection", required_argument, NULL, 'c' },
		{ "watch", no_argument, NULL, 'w' },
		{ "interval", required_argument, NULL, 'i' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct actargs a = { 0 };
	const char *conn_arg = NULL;
	bool watch = false;
	long long interval = 2000;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:wi:a", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': conn_arg = optarg; break;
		case 'w': watch = true; break;
		case 'i':
			if (parse_ll(optarg, 100, 3600000, &interval) < 0)
				return EXIT_USAGE;
			break;
		case 'a': a.all = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return EXIT_USAGE;
	a.conn = resolve_connection(conn_arg);
	if (a.conn == NULL)
		return EXIT_ERR;
	int rc;
	for (;;) {
		if (watch && !ctl.json && isatty(STDOUT_FILENO))
			printf("\033[H\033[2J");
		rc = ctl_call(M_GET_SERVER_ACTIVITY, pack_conn_only, a.conn, activity_print, &a, NULL, NULL);
		fflush(stdout);
		if (rc != EXIT_OK || !watch)
			break;
		if (!ctl.json)
			printf("\n(every %.1fs; ^C quits)\n", (double)interval / 1000);
		fflush(stdout);
		poll(NULL, 0, (int)interval);
	}
	free(a.conn);
	return rc;
}

/* --- backend cancel|terminate ---------------------------------------------- */

struct sigargs {
	char *conn;
	long long pid;
	bool terminate;
};

/* cancel_backend's and terminate_backend's parameters. */
static void
pack_signal(msgpack_packer *pk, void *arg)
{
	const struct sigargs *s = arg;
	msgpack_pack_array(pk, 1);
	MP_PACK_FIELDS(pk, MPF_STR("connection_id", s->conn), MPF_INT("pid", s->pid));
}

/* backend: whether the backend was signalled; a refusal makes the exit status fail. */
static void
signal_print(const msgpack_object *r, void *arg)
{
	struct sigargs *s = arg;
	const msgpack_object *ok = mo_map_get(r, "ok");
	bool done = ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
	if (ctl.json) {
		json_value(stdout, r);
		putchar('\n');
	} else if (done) {
		printf(s->terminate ? "terminated backend %lld\n" : "cancelled the query of backend %lld\n",
		    s->pid);
	} else {
		char *m = mo_map_strdup(r, "message", "not signalled");
		fprintf(stderr, "error: %s\n", m);
		free(m);
	}
	if (!done)
		s->pid = -1; /* the exit status says it */
}

/* backend cancel|terminate PID: cancel a backend's query or end it. */
int
cmd_backend(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connection", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigargs s = { 0 };
	const char *conn_arg = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		if (ch != 'c')
			return EXIT_USAGE;
		conn_arg = optarg;
	}
	/* options may also follow the action: backend cancel -c CONN PID */
	if (optind >= argc)
		return EXIT_USAGE;
	const char *action = argv[optind];
	if (strcmp(action, "cancel") == 0)
		s.terminate = false;
	else if (strcmp(action, "terminate") == 0)
		s.terminate = true;
	else
		return EXIT_USAGE;
	int rest = argc - optind;
	char **rv = argv + optind;
	optind = 1;
	while ((ch = getopt_long(rest, rv, "c:", opts, NULL)) != -1) {
		if (ch != 'c')
			return EXIT_USAGE;
		conn_arg = optarg;
	}
	if (optind != rest - 1 || parse_ll(rv[optind], 1, INT32_MAX, &s.pid) < 0)
		return EXIT_USAGE;
	s.conn = resolve_connection(conn_arg);
	if (s.conn == NULL)
		return EXIT_ERR;
	int rc = ctl_call(s.terminate ? M_TERMINATE_BACKEND : M_CANCEL_BACKEND, pack_signal, &s,
	    signal_print, &s, NULL, NULL);
	free(s.conn);
	return rc == EXIT_OK && s.pid < 0 ? EXIT_ERR : rc;
}

/*
 * cmd-history.c — tuskctl history (the statements run through Tusk, from
 * any client, searched by words) and tuskctl saved (named queries: list,
 * show, add, rm, run).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "msg.h"
#include "proto.h"
#include "util.h"

/* One line of SQL, cut to n bytes (on a character boundary). */
static char *
one_line(const char *s, size_t n)
{
	char *r = xstrdup(s);
	for (char *p = r; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	if (strlen(r) > n) {
		size_t k = n - 1;
		while (k > 0 && ((unsigned char)r[k] & 0xc0) == 0x80)
			k--;
		r[k] = '~';
		r[k + 1] = '\0';
	}
	return r;
}

/* "2024-05-01T12:00:00.123Z" as local "2024-05-01 14:00:00". */
static char *
local_time(const char *iso)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (iso == NULL || strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return xstrdup(iso ? iso : "");
	time_t t = timegm(&tm);
	struct tm lt;
	char buf[32];
	localtime_r(&t, &lt);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &lt);
	return xstrdup(buf);
}

/* --- naming a connection for a filter ---------------------------------------- */

struct conn_match {
	const char *arg;
	char *saved_id;	     /* a saved connection matched (by name, id or prefix) */
	char *connection_id; /* or an open one */
	int matches;
};

/* Does o's key k match the argument exactly (or as a 4+ character id prefix)? */
static int
match_kind(const msgpack_object *o, const char *idkey, const char *arg)
{
	const msgpack_object *id = mo_map_get(o, idkey), *name = mo_map_get(o, "name");
	if (id == NULL || id->type != MSGPACK_OBJECT_STR)
		return 0;
	if (mo_str_eq(id, arg))
		return 2;
	if (name && name->type == MSGPACK_OBJECT_STR) {
		char *n = mo_strdup(name);
		bool same = strcasecmp(n, arg) == 0;
		free(n);
		if (same)
			return 2;
	}
	size_t alen = strlen(arg);
	return alen >= 4 && id->via.str.size >= alen && memcmp(id->via.str.ptr, arg, alen) == 0;
}

/* list_connections: saved connections matching. */
static void
match_saved(const msgpack_object *r, void *arg)
{
	struct conn_match *m = arg;
	for (uint32_t i = 0; r->type == MSGPACK_OBJECT_ARRAY && i < r->via.array.size; i++) {
		int k = match_kind(&r->via.array.ptr[i], "id", m->arg);
		if (k == 0 || (k == 1 && m->matches > 0 && m->saved_id == NULL))
			continue;
		free(m->saved_id);
		m->saved_id = mo_map_strdup(&r->via.array.ptr[i], "id", NULL);
		m->matches = k == 2 ? 1 : m->matches + 1;
		if (k == 2)
			return;
	}
}

/* get_active_connections: open ones matching (their saved id when they have one). */
static void
match_open(const msgpack_object *r, void *arg)
{
	struct conn_match *m = arg;
	for (uint32_t i = 0; r->type == MSGPACK_OBJECT_ARRAY && i < r->via.array.size; i++) {
		const msgpack_object *o = &r->via.array.ptr[i];
		int k = match_kind(o, "connection_id", m->arg);
		if (k == 0)
			continue;
		free(m->connection_id);
		m->connection_id = mo_map_strdup(o, "connection_id", NULL);
		m->matches = k == 2 ? 1 : m->matches + 1;
		if (k == 2)
			return;
	}
}

/* A saved connection (preferred) or an open one: 0, or -1 with a message. */
static int
conn_match_resolve(struct conn_match *m)
{
	if (ctl_call(M_LIST_CONNECTIONS, pack_no_params, NULL, match_saved, m, NULL, NULL) != EXIT_OK)
		return -1;
	if (m->matches == 0 &&
	    ctl_call(M_GET_ACTIVE_CONNECTIONS, pack_no_params, NULL, match_open, m, NULL, NULL) != EXIT_OK)
		return -1;
	if (m->matches == 1)
		return 0;
	fprintf(stderr, m->matches == 0 ? "error: no saved or open connection matches '%s'\n" :
					  "error: '%s' matches several connections\n", m->arg);
	fprintf(stderr, "hint: give a saved connection's name or id (tuskctl connections list)\n");
	return -1;
}

/* --- history ------------------------------------------------------------------- */

struct history_args {
	const char *search;
	const char *status;
	struct conn_match conn;
	int64_t limit;
};

/* get_history's params from the command line. */
static void
pack_history(msgpack_packer *pk, void *arg)
{
	struct history_args *a = arg;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1 + (a->search != NULL) + (a->status != NULL) + (a->conn.saved_id != NULL) +
	    (a->conn.connection_id != NULL));
	mp_pack_key(pk, "limit");
	msgpack_pack_int64(pk, a->limit);
	if (a->search) {
		mp_pack_key(pk, "search");
		mp_pack_cstr(pk, a->search);
	}
	if (a->status) {
		mp_pack_key(pk, "status");
		mp_pack_cstr(pk, a->status);
	}
	if (a->conn.saved_id) {
		mp_pack_key(pk, "id");
		mp_pack_cstr(pk, a->conn.saved_id);
	} else if (a->conn.connection_id) {
		mp_pack_key(pk, "connection_id");
		mp_pack_cstr(pk, a->conn.connection_id);
	}
}

/* The entries as a table, oldest at the top (the newest is next to the prompt). */
static void
history_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json) {
		print_object(r);
		return;
	}
	if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size == 0) {
		printf("no history\n");
		return;
	}
	const char *hdr[] = { "id", "started", "connection", "client", "status", "ms", "rows", "sql" };
	struct table *t = table_new(hdr, 8);
	int w = isatty(STDOUT_FILENO) ? 60 : 200;
	for (uint32_t i = r->via.array.size; i-- > 0;) {
		const msgpack_object *h = &r->via.array.ptr[i];
		char **c = xcalloc(8, sizeof *c);
		char *iso = mo_map_strdup(h, "started_at", ""), *sql = mo_map_strdup(h, "sql", "");
		char *status = mo_map_strdup(h, "status", ""), *code = mo_map_strdup(h, "error_code", NULL);
		const msgpack_object *ms = mo_map_get(h, "elapsed_ms");
		c[0] = xasprintf("%lld", (long long)mo_map_int(h, "history_id", 0));
		c[1] = local_time(iso);
		c[2] = mo_map_strdup(h, "connection_name", "");
		c[3] = mo_map_strdup(h, "client", "");
		c[4] = code ? xasprintf("%s %s", status, code) : xstrdup(status);
		c[5] = ms && ms->type == MSGPACK_OBJECT_FLOAT64 ? xasprintf("%.1f", ms->via.f64) :
								 xasprintf("%lld", (long long)mo_map_int(h, "elapsed_ms", 0));
		c[6] = xasprintf("%lld", (long long)mo_map_int(h, "row_count", 0));
		c[7] = one_line(sql, (size_t)w);
		table_add(t, c);
		free(iso);
		free(sql);
		free(status);
		free(code);
	}
	table_print(t, stdout);
	table_free(t);
}

/* tuskctl history [SEARCH] [-c CONN] [-n N] [--status S] */
int
cmd_history(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connection", required_argument, NULL, 'c' },
		{ "limit", required_argument, NULL, 'n' },
		{ "status", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct history_args a = { .limit = 20 };
	long long limit = 20;
	const char *conn = NULL;
	int ch;
	optind = 0; /* GNU getopt: start afresh (main parsed with "+") */
	while ((ch = getopt_long(argc, argv, "c:n:s:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': conn = optarg; break;
		case 'n':
			if (parse_ll(optarg, 1, 10000, &limit) < 0) {
				fprintf(stderr, "error: -n is a number from 1 to 10000\n");
				return EXIT_USAGE;
			}
			a.limit = limit;
			break;
		case 's': a.status = optarg; break;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind > 1)
		return EXIT_USAGE;
	if (argc - optind == 1)
		a.search = argv[optind];
	a.conn.arg = conn;
	int r = EXIT_ERR;
	if (conn == NULL || conn_match_resolve(&a.conn) == 0)
		r = ctl_call(M_GET_HISTORY, pack_history, &a, history_result, NULL, NULL, NULL);
	free(a.conn.saved_id);
	free(a.conn.connection_id);
	return r;
}

/* --- saved queries ---------------------------------------------------------------- */

struct saved_find {
	const char *name;
	msgpack_object found; /* a deep copy lives in zone */
	msgpack_zone *zone;
	bool ok;
};

/* list_saved_queries: the one named (case-insensitively) or with that id. */
static void
saved_find_one(const msgpack_object *r, void *arg)
{
	struct saved_find *f = arg;
	for (uint32_t i = 0; r->type == MSGPACK_OBJECT_ARRAY && i < r->via.array.size; i++) {
		const msgpack_object *q = &r->via.array.ptr[i];
		char *name = mo_map_strdup(q, "name", "");
		bool hit = strcasecmp(name, f->name) == 0 || mo_str_eq(mo_map_get(q, "saved_query_id"), f->name);
		free(name);
		if (hit) {
			/* the result is freed after this callback: keep a copy */
			msgpack_sbuffer sb;
			msgpack_sbuffer_init(&sb);
			msgpack_packer pk;
			msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
			msgpack_pack_object(&pk, *q);
			f->zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
			char *buf = msgpack_zone_malloc(f->zone, sb.size);
			memcpy(buf, sb.data, sb.size);
			size_t off = 0;
			f->ok = msgpack_unpack(buf, sb.size, &off, f->zone, &f->found) == MSGPACK_UNPACK_SUCCESS;
			msgpack_sbuffer_destroy(&sb);
			return;
		}
	}
}

/* Find a saved query by name or id: 0, or -1 with a message. */
static int
saved_find(struct saved_find *f)
{
	if (ctl_call(M_LIST_SAVED_QUERIES, pack_no_params, NULL, saved_find_one, f, NULL, NULL) != EXIT_OK)
		return -1;
	if (f->ok)
		return 0;
	fprintf(stderr, "error: no saved query named '%s'\nhint: tuskctl saved list\n", f->name);
	return -1;
}

/* The saved queries as a table. */
static void
saved_list_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json) {
		print_object(r);
		return;
	}
	if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size == 0) {
		printf("no saved queries (tuskctl saved add NAME SQL)\n");
		return;
	}
	const char *hdr[] = { "name", "folder", "description", "sql" };
	struct table *t = table_new(hdr, 4);
	for (uint32_t i = 0; i < r->via.array.size; i++) {
		const msgpack_object *q = &r->via.array.ptr[i];
		char **c = xcalloc(4, sizeof *c);
		char *sql = mo_map_strdup(q, "sql", ""), *d = mo_map_strdup(q, "description", "");
		c[0] = mo_map_strdup(q, "name", "");
		c[1] = mo_map_strdup(q, "folder", "");
		c[2] = one_line(d, 40);
		c[3] = one_line(sql, 60);
		free(sql);
		free(d);
		table_add(t, c);
	}
	table_print(t, stdout);
	table_free(t);
}

struct saved_add {
	const char *id, *name, *sql, *description, *folder, *conn_id;
};

/* save_query's params. */
static void
pack_saved_add(msgpack_packer *pk, void *arg)
{
	struct saved_add *a = arg;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2 + (a->id != NULL) + (a->description != NULL) + (a->folder != NULL) +
	    (a->conn_id != NULL));
	mp_pack_key(pk, "name");
	mp_pack_cstr(pk, a->name);
	mp_pack_key(pk, "sql");
	mp_pack_cstr(pk, a->sql);
	if (a->id) {
		mp_pack_key(pk, "saved_query_id");
		mp_pack_cstr(pk, a->id);
	}
	if (a->description) {
		mp_pack_key(pk, "description");
		mp_pack_cstr(pk, a->description);
	}
	if (a->folder) {
		mp_pack_key(pk, "folder");
		mp_pack_cstr(pk, a->folder);
	}
	if (a->conn_id) {
		mp_pack_key(pk, "id");
		mp_pack_cstr(pk, a->conn_id);
	}
}

/* A saved query: name and description as comments, then its SQL. */
static void
saved_show_result(const msgpack_object *q, void *arg)
{
	UNUSED(arg);
	if (ctl.json) {
		print_object(q);
		return;
	}
	char *name = mo_map_strdup(q, "name", ""), *sql = mo_map_strdup(q, "sql", "");
	char *d = mo_map_strdup(q, "description", NULL), *folder = mo_map_strdup(q, "folder", NULL);
	if (folder)
		printf("-- %s (in %s)\n", name, folder);
	else
		printf("-- %s\n", name);
	if (d)
		printf("-- %s\n", d);
	printf("%s\n", sql);
	free(name);
	free(sql);
	free(d);
	free(folder);
}

/* delete_saved_query's params. */
static void
pack_saved_id(msgpack_packer *pk, void *arg)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "saved_query_id");
	mp_pack_cstr(pk, arg);
}

/* What rm says when it is done. */
static void
saved_rm_result(const msgpack_object *r, void *arg)
{
	UNUSED(r);
	if (!ctl.json)
		printf("deleted: %s\n", (const char *)arg);
	else
		printf("null\n");
}

/* saved add|save NAME [-d TEXT] [--folder F] [-c CONN] SQL|- */
static int
saved_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "description", required_argument, NULL, 'd' },
		{ "folder", required_argument, NULL, 'F' },
		{ "connection", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct saved_add a = { 0 };
	struct conn_match m = { 0 };
	char *sql = NULL;
	int ch;
	optind = 0; /* GNU getopt: start afresh (main parsed with "+") */
	while ((ch = getopt_long(argc, argv, "d:F:c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': a.description = optarg; break;
		case 'F': a.folder = optarg; break;
		case 'c': m.arg = optarg; break;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return EXIT_USAGE;
	a.name = argv[optind];
	if (argc - optind == 2 && strcmp(argv[optind + 1], "-") != 0)
		sql = xstrdup(argv[optind + 1]);
	else if (!isatty(STDIN_FILENO))
		sql = read_all_stdin();
	if (sql == NULL || sql[strspn(sql, " \t\r\n")] == '\0') {
		free(sql);
		fprintf(stderr, "error: give the SQL as an argument or on stdin\n");
		return EXIT_USAGE;
	}
	a.sql = sql;
	int r = EXIT_ERR;
	if (m.arg && conn_match_resolve(&m) < 0)
		goto out;
	if (m.arg && m.saved_id == NULL) {
		fprintf(stderr, "error: '%s' is not a saved connection\nhint: a saved query runs on a saved connection (tuskctl connections list)\n",
		    m.arg);
		goto out;
	}
	a.conn_id = m.saved_id;
	/* the same name again replaces that query */
	struct saved_find f = { .name = a.name };
	int q = ctl_call(M_LIST_SAVED_QUERIES, pack_no_params, NULL, saved_find_one, &f, NULL, NULL);
	if (q != EXIT_OK)
		goto out;
	char *id = f.ok ? mo_map_strdup(&f.found, "saved_query_id", NULL) : NULL;
	if (f.zone)
		msgpack_zone_free(f.zone);
	a.id = id;
	r = ctl_call(M_SAVE_QUERY, pack_saved_add, &a, saved_show_result, NULL, NULL, NULL);
	free(id);
out:
	free(sql);
	free(m.saved_id);
	free(m.connection_id);
	return r;
}

/* saved run NAME [-c CONN] [-f FORMAT]: tuskctl query with the saved SQL. */
static int
saved_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connection", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conn = NULL, *fmt = NULL;
	int ch;
	optind = 0; /* GNU getopt: start afresh (main parsed with "+") */
	while ((ch = getopt_long(argc, argv, "c:f:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': conn = optarg; break;
		case 'f': fmt = optarg; break;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return EXIT_USAGE;
	struct saved_find f = { .name = argv[optind] };
	if (saved_find(&f) < 0) {
		if (f.zone)
			msgpack_zone_free(f.zone);
		return EXIT_ERR;
	}
	char *sql = mo_map_strdup(&f.found, "sql", "");
	/* no -c: the saved query's own connection (its open session) */
	char *own = mo_map_strdup(&f.found, "id", NULL);
	msgpack_zone_free(f.zone);
	char *qargv[8];
	int qargc = 0;
	qargv[qargc++] = xstrdup("query");
	if (conn || own) {
		qargv[qargc++] = xstrdup("-c");
		qargv[qargc++] = xstrdup(conn ? conn : own);
	}
	if (fmt) {
		qargv[qargc++] = xstrdup("-f");
		qargv[qargc++] = xstrdup(fmt);
	}
	qargv[qargc++] = xstrdup("--");
	qargv[qargc++] = sql;
	qargv[qargc] = NULL;
	int r = cmd_query(qargc, qargv);
	for (int i = 0; i < qargc; i++)
		free(qargv[i]);
	free(own);
	return r;
}

/* The forms of `tuskctl saved` (also `tuskctl saved help`). */
static void
saved_usage(FILE *f)
{
	fprintf(f, "usage: tuskctl saved list\n"
		   "       tuskctl saved show NAME\n"
		   "       tuskctl saved add NAME [--description TEXT] [--folder F] [--connection CONN] SQL|-\n"
		   "       tuskctl saved rm NAME\n"
		   "       tuskctl saved run NAME [--connection CONN] [--format table|csv|json]\n"
		   "\n"
		   "NAME is a saved query's name (any case). add replaces the query of that name; save\n"
		   "is the same as add. run uses the query's own connection unless --connection names one.\n");
}

/* tuskctl saved ... */
int
cmd_saved(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "list";
	if (strcmp(sub, "list") == 0 && argc <= 2)
		return ctl_call(M_LIST_SAVED_QUERIES, pack_no_params, NULL, saved_list_result, NULL, NULL, NULL);
	if (strcmp(sub, "add") == 0 || strcmp(sub, "save") == 0)
		return saved_add(argc - 1, argv + 1);
	if (strcmp(sub, "run") == 0)
		return saved_run(argc - 1, argv + 1);
	if ((strcmp(sub, "show") == 0 || strcmp(sub, "rm") == 0) && argc == 3) {
		struct saved_find f = { .name = argv[2] };
		if (saved_find(&f) < 0) {
			if (f.zone)
				msgpack_zone_free(f.zone);
			return EXIT_ERR;
		}
		int r = EXIT_OK;
		if (strcmp(sub, "show") == 0) {
			saved_show_result(&f.found, NULL);
		} else {
			char *id = mo_map_strdup(&f.found, "saved_query_id", "");
			r = ctl_call(M_DELETE_SAVED_QUERY, pack_saved_id, id, saved_rm_result, argv[2], NULL, NULL);
			free(id);
		}
		msgpack_zone_free(f.zone);
		return r;
	}
	if (strcmp(sub, "help") == 0) {
		saved_usage(stdout);
		return EXIT_OK;
	}
	saved_usage(stderr);
	return EXIT_USAGE;
}

/*
 * m-table.c — a table's data, and safe edits of it: open_table and
 * apply_edits.
 *
 * Both first read the relation's description from the catalog (columns,
 * the row key, privileges, whether it can be edited), then run what the
 * client asked for as statements built in tablesql.c — identifiers
 * quoted, every value bound. open_table answers one page: the rows, each
 * row's key (as text) and xmin as read, and the cursor of the next page.
 * apply_edits runs every edit in one transaction on the worker
 * (exec_batch, worker/pg-edit.c), each UPDATE and DELETE keyed on the row
 * key and guarded by the xmin as read; when any of them finds its row
 * changed or gone, nothing is applied and the conflicting rows are read
 * again so the client can show their current values. All of it goes
 * through the connection's queue (sqlcall.h).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "sqlcall.h"
#include "util.h"

#define CONFLICTS_READ 100 /* conflicting rows whose current values are read */

/* What an open_table or apply_edits call carries from step to step. */
struct tcall {
	char *schema;
	char *table;
	bool read_only;
	bool dry_run;
	char *query_id;		 /* apply_edits: the batch's id */
	msgpack_sbuffer args;	 /* the arguments read after the catalog, packed */
	msgpack_unpacked un;
	bool unpacked;
	struct ttable t;
	struct tpage pg;
	struct tedit *ed;
	int ned;
	struct tsql *st;	 /* apply_edits: the statements, as sent */
	int nst;
	char **shown_sql;	 /* their SQL, for the answer */
	int *conflicts;		 /* indexes of edits that found their row changed */
	int nconflicts;
	struct tsql page_sql;	 /* open_table: the page's statement */
	char *page_text;
};

/* Free a call's state. */
static void
tcall_free(void *arg)
{
	struct tcall *c = arg;
	free(c->schema);
	free(c->table);
	free(c->query_id);
	msgpack_sbuffer_destroy(&c->args);
	if (c->unpacked)
		msgpack_unpacked_destroy(&c->un);
	ttable_free(&c->t);
	tpage_free(&c->pg);
	tedits_free(c->ed, c->ned);
	for (int i = 0; i < c->nst; i++) {
		tsql_free(&c->st[i]);
		free(c->shown_sql[i]);
	}
	free(c->st);
	free(c->shown_sql);
	free(c->conflicts);
	tsql_free(&c->page_sql);
	free(c->page_text);
	free(c);
}

/* Keep some request arguments (they are read after the catalog answers). */
static struct tcall *
tcall_new(struct request *req, const struct params *p, const char *const *keep)
{
	struct tcall *c = xcalloc(1, sizeof *c);
	c->schema = params_strdup(p, "schema");
	c->table = params_strdup(p, "table");
	c->read_only = req->conn->cfg.read_only;
	tsql_init(&c->page_sql);
	msgpack_sbuffer_init(&c->args);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &c->args, msgpack_sbuffer_write);
	int n = 0;
	while (keep[n])
		n++;
	msgpack_pack_map(&pk, (size_t)n);
	for (int i = 0; i < n; i++) {
		mp_pack_key(&pk, keep[i]);
		const msgpack_object *o = params_get(p, keep[i]);
		if (o)
			msgpack_pack_object(&pk, *o);
		else
			msgpack_pack_nil(&pk);
	}
	return c;
}

/* A kept argument (NULL when absent or nil). */
static const msgpack_object *
tcall_arg(struct tcall *c, const char *name)
{
	if (!c->unpacked) {
		msgpack_unpacked_init(&c->un);
		c->unpacked = true;
		size_t off = 0;
		if (msgpack_unpack_next(&c->un, c->args.data, c->args.size, &off) != MSGPACK_UNPACK_SUCCESS)
			return NULL;
	}
	const msgpack_object *o = mo_map_get(&c->un.data, name);
	return o && o->type != MSGPACK_OBJECT_NIL ? o : NULL;
}

/* Check schema and table, then read the relation's description. */
static int
tcall_start(struct request *req, struct tcall *c, sqlcall_fn fn, struct tusk_error *e)
{
	if (c->schema[0] == '\0' || c->table[0] == '\0') {
		terr_set(e, TE_VALIDATION, "%s: must not be empty", c->schema[0] ? "table" : "schema");
		tcall_free(c);
		return -1;
	}
	struct tsql q;
	tsql_init(&q);
	sb_adds(&q.sql, tsql_catalog);
	tsql_push(&q, xstrdup(c->schema));
	tsql_push(&q, xstrdup(c->table));
	if (sqlcall_query(req->conn, req, &q, 2000, fn, c, tcall_free, e) == NULL) {
		tsql_free(&q);
		tcall_free(c);
		return -1;
	}
	return H_ASYNC;
}

/* The catalog's answer into c->t; false after answering the request. */
static bool
tcall_load(struct query *q, struct tcall *c, const struct params *reply,
    const struct tusk_error *e)
{
	struct tusk_error le = TUSK_ERROR_INIT;
	if (e) {
		req_error(q->req, e);
		return false;
	}
	if (ttable_load(&c->t, c->schema, c->table, params_get(reply, "rows"), c->read_only, &le) < 0) {
		req_error(q->req, &le);
		terr_clear(&le);
		return false;
	}
	return true;
}

/* Run the next statement of a call with the request moved to it; answer
 * the request when it cannot be queued. true: c went with it. */
static bool
tcall_next(struct query *q, struct tcall *c, struct tsql *stmt, int64_t max_rows, sqlcall_fn fn)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	struct request *req = q->req;
	q->req = NULL;
	if (sqlcall_query(q->conn, req, stmt, max_rows, fn, c, tcall_free, &e) != NULL)
		return true;
	req_error(req, &e);
	req_free(req);
	terr_clear(&e);
	return false;
}

/* --- open_table --------------------------------------------------------- */

/* Pack columns: the catalog's description with the page's type names. */
static void
pack_columns(msgpack_packer *pk, const void *arg)
{
	const struct tcall *c = arg;
	msgpack_pack_array(pk, (size_t)c->t.ncols);
	for (int i = 0; i < c->t.ncols; i++) {
		const struct tcol *col = &c->t.cols[i];
		const char *identity = col->identity == 'a' ? "always" : col->identity == 'd' ? "by_default" : NULL;
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", col->name),
		    MPF_STR("data_type", col->typname),
		    MPF_STR("type", col->type),
		    MPF_BOOL("nullable", !col->notnull),
		    MPF_BOOL("key", col->key_pos > 0 && c->t.nkey > 0),
		    MPF_BOOL("editable", col->editable),
		    MPF_BOOL("generated", col->generated),
		    MPF_STR("identity", identity),
		    MPF_BOOL("has_default", col->has_default));
	}
}

/* The page's rows, keys, xmins and cursor, read from the worker's rows. */
struct page_out {
	const struct tcall *c;
	const msgpack_object *rows;
	uint32_t n;	   /* rows answered (at most limit) */
	int extra;	   /* leading text columns */
};

/* A row's leading text cell (xmin or a sort value). */
static const msgpack_object *
page_cell(const struct page_out *o, uint32_t r, int i)
{
	const msgpack_object *row = &o->rows->via.array.ptr[r];
	return &row->via.array.ptr[i];
}

/* A page's rows without the leading columns (xmin, sort values) read for the broker. */
static void
pack_rows(msgpack_packer *pk, const void *arg)
{
	const struct page_out *o = arg;
	msgpack_pack_array(pk, o->n);
	for (uint32_t r = 0; r < o->n; r++) {
		const msgpack_object *row = &o->rows->via.array.ptr[r];
		uint32_t cols = row->via.array.size - (uint32_t)o->extra;
		msgpack_pack_array(pk, cols);
		for (uint32_t i = 0; i < cols; i++)
			msgpack_pack_object(pk, row->via.array.ptr[(uint32_t)o->extra + i]);
	}
}

/* Where the key column k's text is among a row's leading cells. */
static int
key_cell(const struct tcall *c, int k)
{
	int base = c->t.has_xmin ? 1 : 0;
	for (int s = 0; s < c->pg.nsort; s++)
		if (c->pg.sort[s].col == c->t.key[k])
			return base + s;
	return -1;
}

/* Pack a {column: text} key map from a row's cells. */
static void
pack_key_map(msgpack_packer *pk, const struct tcall *c, const msgpack_object *row, int cell0,
    bool page)
{
	msgpack_pack_map(pk, (size_t)c->t.nkey);
	for (int k = 0; k < c->t.nkey; k++) {
		mp_pack_key(pk, c->t.cols[c->t.key[k]].name);
		int at = page ? key_cell(c, k) : cell0 + k;
		msgpack_pack_object(pk, row->via.array.ptr[at]);
	}
}

/* Each row's key as a map (empty when the table has none or pages by offset). */
static void
pack_keys(msgpack_packer *pk, const void *arg)
{
	const struct page_out *o = arg;
	if (o->c->t.nkey == 0 || o->c->pg.offset_paging) {
		msgpack_pack_array(pk, 0);
		return;
	}
	msgpack_pack_array(pk, o->n);
	for (uint32_t r = 0; r < o->n; r++)
		pack_key_map(pk, o->c, &o->rows->via.array.ptr[r], 0, true);
}

/* Each row's xmin (empty when the table has none, e.g. a view). */
static void
pack_xmins(msgpack_packer *pk, const void *arg)
{
	const struct page_out *o = arg;
	if (!o->c->t.has_xmin) {
		msgpack_pack_array(pk, 0);
		return;
	}
	msgpack_pack_array(pk, o->n);
	for (uint32_t r = 0; r < o->n; r++)
		msgpack_pack_object(pk, *page_cell(o, r, 0));
}

/* The names of the table's key columns. */
static void
pack_key_columns(msgpack_packer *pk, const void *arg)
{
	const struct ttable *t = arg;
	msgpack_pack_array(pk, (size_t)t->nkey);
	for (int k = 0; k < t->nkey; k++)
		mp_pack_cstr(pk, t->cols[t->key[k]].name);
}

/* The cursor after the last row answered (nil: this was the last page). */
static void
pack_next(msgpack_packer *pk, const void *arg)
{
	const struct page_out *o = arg;
	const struct tcall *c = o->c;
	if (o->rows->via.array.size <= o->n || o->n == 0) {
		msgpack_pack_nil(pk);
		return;
	}
	if (c->pg.offset_paging) {
		char buf[32];
		snprintf(buf, sizeof buf, "%lld", (long long)(c->pg.offset + (int64_t)o->n));
		msgpack_pack_array(pk, 1);
		mp_pack_cstr(pk, buf);
		return;
	}
	int base = c->t.has_xmin ? 1 : 0;
	msgpack_pack_array(pk, (size_t)c->pg.nsort);
	for (int s = 0; s < c->pg.nsort; s++)
		msgpack_pack_object(pk, *page_cell(o, o->n - 1, base + s));
}

/* The page's answer. */
static bool
page_done(struct query *q, const struct params *reply, const struct tusk_error *e, void *arg)
{
	struct tcall *c = arg;
	if (e) {
		req_error(q->req, e);
		return false;
	}
	const msgpack_object *rows = params_get(reply, "rows");
	struct page_out o = { c, rows, 0, tpage_extra(&c->t, &c->pg) };
	for (uint32_t r = 0; r < rows->via.array.size; r++) {
		const msgpack_object *row = &rows->via.array.ptr[r];
		if (row->type != MSGPACK_OBJECT_ARRAY ||
		    row->via.array.size != (uint32_t)(o.extra + c->t.ncols)) {
			struct tusk_error le = TUSK_ERROR_INIT;
			terr_set(&le, TE_INTERNAL, "the page came back with %u columns, expected %d",
			    row->type == MSGPACK_OBJECT_ARRAY ? row->via.array.size : 0, o.extra + c->t.ncols);
			terr_hint(&le, "the table changed while it was read; open it again");
			req_error(q->req, &le);
			terr_clear(&le);
			return false;
		}
	}
	o.n = (uint32_t)MIN((int64_t)rows->via.array.size, c->pg.limit);
	MP_PACK_FIELDS(req_result(q->req),
	    MPF_STR("schema", c->t.schema),
	    MPF_STR("table", c->t.name),
	    MPF_STR("kind", ttable_kind(&c->t)),
	    MPF_FN("columns", pack_columns, c),
	    MPF_FN("rows", pack_rows, &o),
	    MPF_FN("keys", pack_keys, &o),
	    MPF_FN("xmins", pack_xmins, &o),
	    MPF_FN("key_columns", pack_key_columns, &c->t),
	    MPF_STR("key_name", c->t.nkey ? c->t.key_name : NULL),
	    MPF_BOOL("editable", c->t.editable),
	    MPF_STR("reason", c->t.reason),
	    MPF_FN("next", pack_next, &o),
	    MPF_STR("paging", c->pg.offset_paging ? "offset" : "keyset"),
	    MPF_STR("sql", c->page_text),
	    MPF_DOUBLE("elapsed_ms", params_float(reply, "elapsed_ms", 0)));
	return false;
}

/* The catalog answered: build the page's statement and run it. */
static bool
page_catalog_done(struct query *q, const struct params *reply, const struct tusk_error *e,
    void *arg)
{
	struct tcall *c = arg;
	struct tusk_error le = TUSK_ERROR_INIT;
	if (!tcall_load(q, c, reply, e))
		return false;
	if (tpage_parse(&c->pg, &c->t, tcall_arg(c, "order_by"), tcall_arg(c, "filter"),
	    tcall_arg(c, "after"), tcall_arg(c, "limit"), &le) < 0) {
		req_error(q->req, &le);
		terr_clear(&le);
		return false;
	}
	struct tsql stmt;
	tsql_init(&stmt);
	tsql_page(&stmt, &c->t, &c->pg);
	c->page_text = xstrdup(stmt.sql.buf);
	log_debug("open_table %s.%s: %s", c->schema, c->table, c->page_text);
	bool kept = tcall_next(q, c, &stmt, c->pg.limit + 1, page_done);
	tsql_free(&stmt);
	return kept;
}

static const struct tusk_param p_open_table[] = {
	{ "connection_id", TT_STR, 0, "an open connection's id", NULL },
	{ "schema", TT_STR, 0, "the relation's schema (exact name, as in the catalog)", NULL },
	{ "table", TT_STR, 0, "the table, view, materialized or foreign table (exact name)", NULL },
	{ "order_by", TT_ARRAY, P_OPT, "sort by these columns (then by the key); default: the key",
	    "[{column: str, desc?: bool}]" },
	{ "filter", TT_ARRAY, P_OPT, "conditions, all of which a row meets; contains and starts_with ignore case",
	    "[{column: str, op: \"=\" | \"!=\" | \"<>\" | \"<\" | \">\" | \"<=\" | \">=\" | \"contains\" | "
	    "\"starts_with\" | \"is_null\" | \"is_not_null\" | \"in\", value?: any}]" },
	{ "limit", TT_INT, P_OPT, "rows in the page (default 200, at most 10000)", NULL },
	{ "after", TT_ARRAY, P_OPT, "the `next` of the page before (with the same order_by and filter)",
	    "[str | nil]" },
	PARAMS_END,
};

/* open_table {connection_id, schema, table, order_by?, filter?, limit?, after?} */
static int
h_open_table(struct request *req, const struct params *p, struct tusk_error *e)
{
	static const char *const keep[] = { "order_by", "filter", "limit", "after", NULL };
	struct tcall *c = tcall_new(req, p, keep);
	return tcall_start(req, c, page_catalog_done, e);
}

const struct tusk_method m_open_table = {
	.name = M_OPEN_TABLE,
	.params = p_open_table,
	.result = "{schema: str, table: str, "
	    "kind: \"table\" | \"partitioned_table\" | \"view\" | \"materialized_view\" | \"foreign_table\", "
	    "columns: [{name: str, data_type: str, type: str, nullable: bool, key: bool, "
	    "editable: bool, generated: bool, identity: \"always\" | \"by_default\" | nil, "
	    "has_default: bool}], rows: [[any]], keys: [{*: str}], xmins: [str], "
	    "key_columns: [str], key_name: str | nil, editable: bool, reason: str | nil, "
	    "next: [str | nil] | nil, paging: \"keyset\" | \"offset\", sql: str, elapsed_ms: float}",
	.flags = MF_READ_ONLY | MF_CONNECTION,
	.doc = "One page of a table's rows, sorted and filtered by the server, with each row's key and xmin for apply_edits; `next` continues after the last row (keyset paging).",
	.handler = h_open_table,
};

/* --- apply_edits -------------------------------------------------------- */

/* The statements of a table edit as shown to the user, each with its parameters. */
static void
pack_statements(msgpack_packer *pk, const void *arg)
{
	const struct tcall *c = arg;
	msgpack_pack_array(pk, (size_t)c->nst);
	for (int i = 0; i < c->nst; i++) {
		const struct tsql *s = &c->st[i];
		msgpack_pack_map(pk, 2);
		mp_pack_key(pk, "sql");
		mp_pack_cstr(pk, c->shown_sql[i]);
		mp_pack_key(pk, "params");
		msgpack_pack_array(pk, (size_t)s->n);
		for (int k = 0; k < s->n; k++)
			mp_pack_cstr(pk, s->values[k]);
	}
}

/* An empty conflict list. */
static void
pack_no_conflicts(msgpack_packer *pk, const void *arg)
{
	UNUSED(arg);
	msgpack_pack_array(pk, 0);
}

/* The answer of a call that applied (or, dry, would apply) every edit. */
static void
edits_answer(struct request *req, const struct tcall *c, int applied)
{
	MP_PACK_FIELDS(req_result(req),
	    MPF_INT("applied", applied),
	    MPF_FN("conflicts", pack_no_conflicts, NULL),
	    MPF_BOOL("dry_run", c->dry_run),
	    MPF_FN("statements", pack_statements, c));
}

/* The conflicts, with the rows as they are now. */
struct conflict_out {
	const struct tcall *c;
	const msgpack_object *rows; /* [index, xmin, key..., columns...] or NULL */
};

/* The edits refused because their row changed or went since it was read, with the row now. */
static void
pack_conflicts(msgpack_packer *pk, const void *arg)
{
	const struct conflict_out *o = arg;
	const struct tcall *c = o->c;
	int lead = 1 + (c->t.has_xmin ? 1 : 0) + c->t.nkey;
	msgpack_pack_array(pk, (size_t)c->nconflicts);
	for (int i = 0; i < c->nconflicts; i++) {
		int idx = c->conflicts[i];
		const msgpack_object *row = NULL;
		for (uint32_t r = 0; o->rows && r < o->rows->via.array.size; r++) {
			const msgpack_object *x = &o->rows->via.array.ptr[r];
			int64_t v;
			if (x->type == MSGPACK_OBJECT_ARRAY && x->via.array.size == (uint32_t)(lead + c->t.ncols) &&
			    mo_int(&x->via.array.ptr[0], &v) == 0 && v == idx)
				row = x;
		}
		bool known = o->rows != NULL && i < CONFLICTS_READ;
		const char *reason = row ? "changed" : known ? "deleted" : "changed";
		const char *msg = row ? "another session changed the row since it was read" :
		    known ? "another session deleted the row (or changed its key) since it was read" :
		    "the row changed since it was read";
		msgpack_pack_map(pk, 6);
		mp_pack_key(pk, "index");
		msgpack_pack_int(pk, idx);
		mp_pack_key(pk, "op");
		mp_pack_cstr(pk, c->ed[idx].op == ED_UPDATE ? "update" : "delete");
		mp_pack_key(pk, "reason");
		mp_pack_cstr(pk, reason);
		mp_pack_key(pk, "message");
		mp_pack_cstr(pk, msg);
		mp_pack_key(pk, "xmin");
		if (row && c->t.has_xmin)
			msgpack_pack_object(pk, row->via.array.ptr[1]);
		else
			msgpack_pack_nil(pk);
		mp_pack_key(pk, "current");
		if (row) {
			msgpack_pack_array(pk, (size_t)c->t.ncols);
			for (int k = 0; k < c->t.ncols; k++)
				msgpack_pack_object(pk, row->via.array.ptr[lead + k]);
		} else {
			msgpack_pack_nil(pk);
		}
	}
}

/* Answer the conflicts (rows: their current values, or NULL). */
static void
conflicts_answer(struct request *req, const struct tcall *c, const msgpack_object *rows)
{
	struct conflict_out o = { c, rows };
	MP_PACK_FIELDS(req_result(req),
	    MPF_INT("applied", 0),
	    MPF_FN("conflicts", pack_conflicts, &o),
	    MPF_BOOL("dry_run", false),
	    MPF_FN("statements", pack_statements, c));
}

/* The conflicting rows as they are now. */
static bool
conflicts_read(struct query *q, const struct params *reply, const struct tusk_error *e, void *arg)
{
	struct tcall *c = arg;
	if (e) {
		/* the edits were not applied either way: say so without the rows */
		log_warn("apply_edits %s.%s: reading the conflicting rows failed: %s", c->schema, c->table,
		    e->message);
		conflicts_answer(q->req, c, NULL);
		return false;
	}
	conflicts_answer(q->req, c, params_get(reply, "rows"));
	return false;
}

/* The batch's answer. */
static bool
edits_done(struct query *q, const struct params *reply, const struct tusk_error *e, void *arg)
{
	struct tcall *c = arg;
	if (e) {
		req_error(q->req, e);
		return false;
	}
	const msgpack_object *err = params_get(reply, "error");
	if (err) {
		struct tusk_error be = TUSK_ERROR_INIT;
		if (terr_unpack(err, &be) < 0)
			terr_set(&be, TE_INTERNAL, "the worker sent a malformed error");
		int64_t failed = params_int(reply, "failed", -1);
		if (failed >= 0 && failed < c->ned && be.message) {
			static const char *const ops[] = { "insert", "update", "delete" };
			char *m = xasprintf("edits[%lld] (%s): %s", (long long)failed, ops[c->ed[failed].op],
			    be.message);
			free(be.message);
			be.message = m;
		}
		if (be.detail == NULL)
			terr_detail(&be, "nothing was applied: the transaction was rolled back");
		req_error(q->req, &be);
		terr_clear(&be);
		return false;
	}
	if (params_bool(reply, "committed", false)) {
		log_info("apply_edits %s.%s: %d edits applied", c->schema, c->table, c->ned);
		edits_answer(q->req, c, c->ned);
		return false;
	}
	const msgpack_object *mm = params_get(reply, "mismatches");
	c->conflicts = xcalloc(MAX(mm->via.array.size, 1), sizeof *c->conflicts);
	for (uint32_t i = 0; i < mm->via.array.size; i++) {
		int64_t v;
		if (mo_int(&mm->via.array.ptr[i], &v) == 0 && v >= 0 && v < c->ned &&
		    c->ed[v].op != ED_INSERT)
			c->conflicts[c->nconflicts++] = (int)v;
	}
	log_info("apply_edits %s.%s: %d conflicts, nothing applied", c->schema, c->table,
	    c->nconflicts);
	if (c->nconflicts == 0) {
		struct tusk_error le = TUSK_ERROR_INIT;
		terr_set(&le, TE_INTERNAL, "the edits were rolled back without a reason");
		req_error(q->req, &le);
		terr_clear(&le);
		return false;
	}
	struct tsql stmt;
	tsql_init(&stmt);
	tsql_rows_by_key(&stmt, &c->t, c->ed, c->conflicts, MIN(c->nconflicts, CONFLICTS_READ));
	bool kept = tcall_next(q, c, &stmt, CONFLICTS_READ, conflicts_read);
	tsql_free(&stmt);
	return kept;
}

/* The catalog answered: check the edits, build them, run them. */
static bool
edits_catalog_done(struct query *q, const struct params *reply, const struct tusk_error *e,
    void *arg)
{
	struct tcall *c = arg;
	struct tusk_error le = TUSK_ERROR_INIT;
	if (!tcall_load(q, c, reply, e))
		return false;
	if (tedits_parse(&c->ed, &c->ned, &c->t, tcall_arg(c, "edits"), &le) < 0) {
		req_error(q->req, &le);
		terr_clear(&le);
		return false;
	}
	c->st = xcalloc((size_t)c->ned, sizeof *c->st);
	c->shown_sql = xcalloc((size_t)c->ned, sizeof *c->shown_sql);
	for (int i = 0; i < c->ned; i++) {
		tsql_init(&c->st[i]);
		tsql_edit(&c->st[i], &c->t, &c->ed[i]);
		c->shown_sql[i] = xstrdup(c->st[i].sql.buf);
	}
	c->nst = c->ned;
	if (c->dry_run) {
		edits_answer(q->req, c, 0);
		return false;
	}
	/* the batch takes copies: the statements stay for the answer */
	struct tsql *copy = xcalloc((size_t)c->nst, sizeof *copy);
	for (int i = 0; i < c->nst; i++) {
		tsql_init(&copy[i]);
		sb_adds(&copy[i].sql, c->st[i].sql.buf);
		for (int k = 0; k < c->st[i].n; k++)
			tsql_push(&copy[i], c->st[i].values[k] ? xstrdup(c->st[i].values[k]) : NULL);
	}
	struct request *req = q->req;
	q->req = NULL;
	char *id = c->query_id;
	c->query_id = NULL;
	bool kept = sqlcall_batch(q->conn, req, id, copy, c->nst, edits_done, c, tcall_free, &le) != NULL;
	for (int i = 0; i < c->nst; i++)
		tsql_free(&copy[i]);
	free(copy);
	if (!kept) {
		req_error(req, &le);
		req_free(req);
		terr_clear(&le);
	}
	return kept;
}

static const struct tusk_param p_apply_edits[] = {
	{ "connection_id", TT_STR, 0, "an open connection's id", NULL },
	{ "schema", TT_STR, 0, "the table's schema", NULL },
	{ "table", TT_STR, 0, "the table", NULL },
	{ "edits", TT_ARRAY, 0, "applied in order, all or nothing; key and xmin as open_table answered them",
	    "[{op: \"insert\" | \"update\" | \"delete\", key?: {*: any}, xmin?: str | int, values?: {*: any}}]" },
	{ "dry_run", TT_BOOL, P_OPT, "build the statements and answer them without running anything", NULL },
	{ "query_id", TT_STR, P_OPT, "an id for the transaction (cancel_query names it); one is made otherwise", NULL },
	PARAMS_END,
};

/* apply_edits {connection_id, schema, table, edits, dry_run?, query_id?} */
static int
h_apply_edits(struct request *req, const struct params *p, struct tusk_error *e)
{
	static const char *const keep[] = { "edits", NULL };
	struct tcall *c = tcall_new(req, p, keep);
	c->dry_run = params_bool(p, "dry_run", false);
	c->query_id = params_strdup(p, "query_id");
	return tcall_start(req, c, edits_catalog_done, e);
}

const struct tusk_method m_apply_edits = {
	.name = M_APPLY_EDITS,
	.params = p_apply_edits,
	.result = "{applied: int, conflicts: [{index: int, op: \"update\" | \"delete\", "
	    "reason: \"changed\" | \"deleted\", message: str, xmin: str | nil, current: [any] | nil}], "
	    "dry_run: bool, statements: [{sql: str, params: [str | nil]}]}",
	.flags = MF_CONNECTION,
	.doc = "Apply inserts, updates and deletes to a table in one transaction, each keyed on the row key and guarded by the row's xmin as read: when another session changed or deleted a row since, nothing is applied and the conflicts come back with the rows' current values.",
	.handler = h_apply_edits,
};

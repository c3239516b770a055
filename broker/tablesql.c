/*
 * tablesql.c — open_table's and apply_edits' statements (tablesql.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtoa.h"
#include "msg.h"
#include "sqlident.h"
#include "tablesql.h"

/*
 * One row per column (one row with nil names for a table without
 * columns): the relation's kind, updatability and privileges, its row key
 * (the primary key, else the unique index of fewest NOT NULL columns
 * without expressions or predicate), and each column's description.
 */
const char tsql_catalog[] =
    "WITH rel AS (SELECT c.oid, c.relkind FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')), "
    "k AS (SELECT (i.indkey::int2[])[0:i.indnkeyatts - 1] AS cols, ic.relname AS name "
    "FROM pg_catalog.pg_index i JOIN rel ON i.indrelid = rel.oid "
    "JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
    "WHERE i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL "
    "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute ka WHERE ka.attrelid = rel.oid "
    "AND ka.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]) AND NOT ka.attnotnull) "
    "ORDER BY i.indisprimary DESC, i.indnkeyatts, ic.relname LIMIT 1) "
    "SELECT rel.relkind::text, pg_catalog.pg_relation_is_updatable(rel.oid, false), "
    "pg_catalog.has_table_privilege(rel.oid, 'INSERT'), "
    "pg_catalog.has_table_privilege(rel.oid, 'UPDATE'), "
    "pg_catalog.has_table_privilege(rel.oid, 'DELETE'), "
    "(SELECT name::text FROM k), a.attname::text, "
    "pg_catalog.format_type(a.atttypid, a.atttypmod), ty.typname::text, a.attnotnull, "
    "a.attgenerated::text, a.attidentity::text, a.atthasdef, "
    "pg_catalog.has_column_privilege(rel.oid, a.attnum, 'UPDATE'), "
    "(SELECT pg_catalog.array_position(k.cols, a.attnum) - pg_catalog.array_lower(k.cols, 1) + 1 FROM k) "
    "FROM rel LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 "
    "AND NOT a.attisdropped LEFT JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid "
    "ORDER BY a.attnum";

enum { CAT_RELKIND, CAT_UPDATABLE, CAT_INSERT, CAT_UPDATE, CAT_DELETE, CAT_KEY_NAME, CAT_NAME,
	CAT_TYPE, CAT_TYPNAME, CAT_NOTNULL, CAT_GENERATED, CAT_IDENTITY, CAT_HASDEF, CAT_COL_UPDATE,
	CAT_KEY_POS, CAT__COUNT };

/* A catalog cell as a new string (NULL for nil or a non-string). */
static char *
cell_str(const msgpack_object *row, int i)
{
	const msgpack_object *o = &row->via.array.ptr[i];
	return o->type == MSGPACK_OBJECT_STR ? mo_strdup(o) : NULL;
}

/* A catalog cell as a bool (false for anything else). */
static bool
cell_bool(const msgpack_object *row, int i)
{
	const msgpack_object *o = &row->via.array.ptr[i];
	return o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}

/* A catalog cell as an integer (def for nil). */
static int64_t
cell_int(const msgpack_object *row, int i, int64_t def)
{
	int64_t v;
	return mo_int(&row->via.array.ptr[i], &v) == 0 ? v : def;
}

/* Decide whether rows may be edited, and say why not. */
static void
ttable_decide(struct ttable *t, bool read_only)
{
	t->reason = NULL;
	if (t->relkind == 'v')
		t->reason = t->updatable ?
		    "a view has no key or row version (xmin) to guard edits against concurrent changes: edit its base table" :
		    "the view is not updatable";
	else if (t->relkind == 'm')
		t->reason = "a materialized view cannot be edited (REFRESH MATERIALIZED VIEW recomputes it)";
	else if (t->relkind == 'f')
		t->reason = "a foreign table has no row version (xmin) to guard edits against concurrent changes";
	else if (t->nkey == 0)
		t->reason = "the table has no primary key or unique key on NOT NULL columns, so a row cannot be named safely";
	else if (read_only)
		t->reason = "the connection is read-only";
	else if (!t->can_insert && !t->can_update && !t->can_delete)
		t->reason = "the role may not INSERT, UPDATE or DELETE in this table";
	t->editable = t->reason == NULL;
	for (int i = 0; i < t->ncols; i++) {
		struct tcol *c = &t->cols[i];
		c->editable = t->editable && !c->generated && c->identity != 'a' && c->can_update;
	}
}

int
ttable_load(struct ttable *t, const char *schema, const char *name, const msgpack_object *rows,
    bool read_only, struct tusk_error *e)
{
	memset(t, 0, sizeof *t);
	t->schema = xstrdup(schema);
	t->name = xstrdup(name);
	if (rows == NULL || rows->type != MSGPACK_OBJECT_ARRAY || rows->via.array.size == 0) {
		terr_set(e, TE_VALIDATION, "table: no table or view %s.%s", schema, name);
		return terr_hint(e, "check the schema and the name (names are case-sensitive: \"Order Items\" is not order_items)"), -1;
	}
	uint32_t n = rows->via.array.size;
	t->cols = xcalloc(n, sizeof *t->cols);
	for (uint32_t r = 0; r < n; r++) {
		const msgpack_object *row = &rows->via.array.ptr[r];
		if (row->type != MSGPACK_OBJECT_ARRAY || row->via.array.size != CAT__COUNT)
			return terr_set(e, TE_INTERNAL, "the catalog answered an unexpected row");
		if (r == 0) {
			char *k = cell_str(row, CAT_RELKIND);
			t->relkind = k ? k[0] : 'r';
			free(k);
			t->updatable = (int)cell_int(row, CAT_UPDATABLE, 0);
			t->can_insert = cell_bool(row, CAT_INSERT);
			t->can_update = cell_bool(row, CAT_UPDATE);
			t->can_delete = cell_bool(row, CAT_DELETE);
			t->key_name = cell_str(row, CAT_KEY_NAME);
		}
		char *cname = cell_str(row, CAT_NAME);
		if (cname == NULL)
			continue; /* a table without columns */
		struct tcol *c = &t->cols[t->ncols++];
		c->name = cname;
		c->type = cell_str(row, CAT_TYPE);
		c->typname = cell_str(row, CAT_TYPNAME);
		c->notnull = cell_bool(row, CAT_NOTNULL);
		char *g = cell_str(row, CAT_GENERATED);
		c->generated = g && g[0] == 's';
		free(g);
		char *id = cell_str(row, CAT_IDENTITY);
		c->identity = id && (id[0] == 'a' || id[0] == 'd') ? id[0] : 0;
		free(id);
		c->has_default = cell_bool(row, CAT_HASDEF);
		c->can_update = cell_bool(row, CAT_COL_UPDATE);
		int64_t kp = cell_int(row, CAT_KEY_POS, 0);
		c->key_pos = kp > 0 && kp <= TKEY_MAX ? (int)kp : 0;
	}
	for (int pos = 1; pos <= TKEY_MAX; pos++)
		for (int i = 0; i < t->ncols; i++)
			if (t->cols[i].key_pos == pos)
				t->key[t->nkey++] = i;
	if (t->key_name == NULL)
		t->nkey = 0;
	t->has_xmin = t->relkind == 'r' || t->relkind == 'p' || t->relkind == 'm';
	ttable_decide(t, read_only);
	return 0;
}

/* Free a table's description and clear it. */
void
ttable_free(struct ttable *t)
{
	for (int i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].type);
		free(t->cols[i].typname);
	}
	free(t->cols);
	free(t->schema);
	free(t->name);
	free(t->key_name);
	memset(t, 0, sizeof *t);
}

int
ttable_col(const struct ttable *t, const char *name, size_t len)
{
	for (int i = 0; i < t->ncols; i++)
		if (strlen(t->cols[i].name) == len && memcmp(t->cols[i].name, name, len) == 0)
			return i;
	return -1;
}

const char *
ttable_kind(const struct ttable *t)
{
	switch (t->relkind) {
	case 'p': return "partitioned_table";
	case 'v': return "view";
	case 'm': return "materialized_view";
	case 'f': return "foreign_table";
	default: return "table";
	}
}

/* An empty statement with no parameters. */
void
tsql_init(struct tsql *q)
{
	memset(q, 0, sizeof *q);
	sb_init(&q->sql);
}

/* Free a statement's text and parameters and clear it. */
void
tsql_free(struct tsql *q)
{
	for (int i = 0; i < q->n; i++)
		free(q->values[i]);
	free(q->values);
	sb_free(&q->sql);
	memset(q, 0, sizeof *q);
}

void
tsql_push(struct tsql *q, char *value)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 8;
		q->values = xrealloc(q->values, (size_t)q->cap * sizeof *q->values);
	}
	q->values[q->n++] = value;
}

void
tsql_bind(struct tsql *q, char *value)
{
	tsql_push(q, value);
	sb_addf(&q->sql, "$%d", q->n);
}

int
tsql_value_text(const msgpack_object *v, char **out, const char *field, struct tusk_error *e)
{
	char buf[DTOA_BUFSIZE];
	*out = NULL;
	switch (v->type) {
	case MSGPACK_OBJECT_NIL:
		return 0;
	case MSGPACK_OBJECT_BOOLEAN:
		*out = xstrdup(v->via.boolean ? "true" : "false");
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*out = xasprintf("%" PRIu64, v->via.u64);
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*out = xasprintf("%" PRId64, v->via.i64);
		return 0;
	case MSGPACK_OBJECT_FLOAT32:
		dtoa_shortest_float((float)v->via.f64, buf);
		*out = xstrdup(buf);
		return 0;
	case MSGPACK_OBJECT_FLOAT64:
		dtoa_shortest(v->via.f64, buf);
		*out = xstrdup(buf);
		return 0;
	case MSGPACK_OBJECT_STR:
		if (memchr(v->via.str.ptr, '\0', v->via.str.size) != NULL) {
			terr_set(e, TE_VALIDATION, "%s: text holds a NUL byte, which PostgreSQL cannot store", field);
			terr_hint(e, "send binary data as bin (it is stored as bytea)");
			return -1;
		}
		*out = xstrndup(v->via.str.ptr, v->via.str.size);
		return 0;
	case MSGPACK_OBJECT_BIN: {
		static const char hex[] = "0123456789abcdef";
		char *s = xmalloc(3 + 2 * (size_t)v->via.bin.size);
		s[0] = '\\';
		s[1] = 'x';
		for (uint32_t i = 0; i < v->via.bin.size; i++) {
			unsigned char c = (unsigned char)v->via.bin.ptr[i];
			s[2 + 2 * i] = hex[c >> 4];
			s[3 + 2 * i] = hex[c & 15];
		}
		s[2 + 2 * (size_t)v->via.bin.size] = '\0';
		*out = s;
		return 0;
	}
	default:
		terr_set(e, TE_VALIDATION, "%s: expected nil, bool, a number, str or bin", field);
		terr_hint(e, "send an array or JSON value as its text, e.g. '{1,2}' or '{\"a\": 1}'");
		return -1;
	}
}

/* Append a column reference t."name" (or t.ctid). */
static void
add_col(struct strbuf *sb, const struct ttable *t, int col)
{
	if (col < 0) {
		sb_adds(sb, "t.ctid");
		return;
	}
	sb_adds(sb, "t.");
	sqlident_add(sb, t->cols[col].name);
}

/* The column a field names (a str), or -1 with e set. */
static int
find_col(const struct ttable *t, const msgpack_object *o, const char *field, struct tusk_error *e)
{
	if (o == NULL || !mo_has_type(o, TT_STR)) {
		terr_set(e, TE_VALIDATION, "%s: expected a column name (str)", field);
		return -1;
	}
	int c = ttable_col(t, o->via.str.ptr, o->via.str.size);
	if (c < 0) {
		terr_set(e, TE_VALIDATION, "%s: %s.%s has no column \"%.*s\"", field, t->schema, t->name,
		    (int)MIN(o->via.str.size, 128u), o->via.str.ptr);
		terr_hint(e, "names are case-sensitive; open_table lists the columns");
	}
	return c;
}

/* Refuse map keys outside names (NULL-terminated); -1 with e set. */
static int
check_keys(const msgpack_object *map, const char *const *names, const char *field,
    struct tusk_error *e)
{
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		bool known = false;
		for (int j = 0; names[j]; j++)
			known = known || mo_str_eq(k, names[j]);
		if (!known) {
			if (k->type == MSGPACK_OBJECT_STR)
				terr_set(e, TE_VALIDATION, "%s: unknown field '%.*s'", field,
				    (int)MIN(k->via.str.size, 64u), k->via.str.ptr);
			else
				terr_set(e, TE_VALIDATION, "%s: field names must be strings", field);
			return -1;
		}
	}
	return 0;
}

/* LIKE's special characters in v escaped (backslash is the escape). */
static char *
like_escape(const char *v, bool leading)
{
	struct strbuf sb;
	sb_init(&sb);
	if (leading)
		sb_addc(&sb, '%');
	for (const char *p = v; *p; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			sb_addc(&sb, '\\');
		sb_addc(&sb, *p);
	}
	sb_addc(&sb, '%');
	return sb_detach(&sb);
}

static const struct {
	const char *name;
	enum tfop op;
} filter_ops[] = {
	{ "=", TF_EQ }, { "!=", TF_NE }, { "<>", TF_NE }, { "<", TF_LT }, { ">", TF_GT },
	{ "<=", TF_LE }, { ">=", TF_GE }, { "contains", TF_CONTAINS },
	{ "starts_with", TF_STARTS_WITH }, { "is_null", TF_IS_NULL }, { "is_not_null", TF_IS_NOT_NULL },
	{ "in", TF_IN },
};

/* One filter entry {column, op, value?}. */
static int
filter_parse(struct tfilter *f, const struct ttable *t, const msgpack_object *o, int i,
    struct tusk_error *e)
{
	static const char *const keys[] = { "column", "op", "value", NULL };
	char field[48];
	snprintf(field, sizeof field, "filter[%d]", i);
	if (o->type != MSGPACK_OBJECT_MAP)
		return terr_set(e, TE_VALIDATION, "%s: expected {column, op, value?}", field);
	if (check_keys(o, keys, field, e) < 0)
		return -1;
	char cf[64];
	snprintf(cf, sizeof cf, "%s.column", field);
	if ((f->col = find_col(t, mo_map_get(o, "column"), cf, e)) < 0)
		return -1;
	const msgpack_object *op = mo_map_get(o, "op");
	bool found = false;
	for (size_t k = 0; k < nitems(filter_ops) && op; k++)
		if (mo_str_eq(op, filter_ops[k].name)) {
			f->op = filter_ops[k].op;
			found = true;
		}
	if (!found) {
		terr_set(e, TE_VALIDATION, "%s.op: expected one of =, !=, <, >, <=, >=, contains, starts_with, is_null, is_not_null, in", field);
		return -1;
	}
	const msgpack_object *v = mo_map_get(o, "value");
	if (v && v->type == MSGPACK_OBJECT_NIL)
		v = NULL;
	char vf[64];
	snprintf(vf, sizeof vf, "%s.value", field);
	if (f->op == TF_IS_NULL || f->op == TF_IS_NOT_NULL) {
		if (v)
			return terr_set(e, TE_VALIDATION, "%s: is_null and is_not_null take no value", vf);
		return 0;
	}
	if (v == NULL) {
		terr_set(e, TE_VALIDATION, "%s: required for this op", vf);
		terr_hint(e, "to match NULL use op is_null");
		return -1;
	}
	if (f->op == TF_IN) {
		if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0 ||
		    v->via.array.size > TIN_MAX)
			return terr_set(e, TE_VALIDATION, "%s: expected a list of 1 to %d values", vf, TIN_MAX);
		f->vals = xcalloc(v->via.array.size, sizeof *f->vals);
		for (uint32_t k = 0; k < v->via.array.size; k++) {
			char ef[80];
			snprintf(ef, sizeof ef, "%s[%u]", vf, k);
			if (tsql_value_text(&v->via.array.ptr[k], &f->vals[k], ef, e) < 0)
				return -1;
			f->nvals++;
			if (f->vals[k] == NULL) {
				terr_set(e, TE_VALIDATION, "%s: nil never matches in a list", ef);
				terr_hint(e, "add a filter with op is_null instead");
				return -1;
			}
		}
		return 0;
	}
	f->vals = xcalloc(1, sizeof *f->vals);
	if (tsql_value_text(v, &f->vals[0], vf, e) < 0)
		return -1;
	f->nvals = 1;
	if (f->op == TF_CONTAINS || f->op == TF_STARTS_WITH) {
		char *pat = like_escape(f->vals[0], f->op == TF_CONTAINS);
		free(f->vals[0]);
		f->vals[0] = pat;
	}
	return 0;
}

int
tpage_parse(struct tpage *pg, const struct ttable *t, const msgpack_object *order_by,
    const msgpack_object *filter, const msgpack_object *after, const msgpack_object *limit,
    struct tusk_error *e)
{
	static const char *const okeys[] = { "column", "desc", NULL };
	memset(pg, 0, sizeof *pg);
	pg->limit = TLIMIT_DEFAULT;
	if (limit && (mo_int(limit, &pg->limit) < 0 || pg->limit < 1 || pg->limit > TLIMIT_MAX))
		return terr_set(e, TE_VALIDATION, "limit: 1 to %d rows", TLIMIT_MAX);
	if (order_by) {
		if (order_by->type != MSGPACK_OBJECT_ARRAY || order_by->via.array.size > TORDER_MAX)
			return terr_set(e, TE_VALIDATION, "order_by: expected at most %d entries [{column, desc?}]",
			    TORDER_MAX);
		for (uint32_t i = 0; i < order_by->via.array.size; i++) {
			const msgpack_object *o = &order_by->via.array.ptr[i];
			char field[48];
			snprintf(field, sizeof field, "order_by[%u]", i);
			if (o->type != MSGPACK_OBJECT_MAP)
				return terr_set(e, TE_VALIDATION, "%s: expected {column, desc?}", field);
			if (check_keys(o, okeys, field, e) < 0)
				return -1;
			char cf[64];
			snprintf(cf, sizeof cf, "%s.column", field);
			int c = find_col(t, mo_map_get(o, "column"), cf, e);
			if (c < 0)
				return -1;
			const msgpack_object *d = mo_map_get(o, "desc");
			if (d && d->type != MSGPACK_OBJECT_NIL && d->type != MSGPACK_OBJECT_BOOLEAN)
				return terr_set(e, TE_VALIDATION, "%s.desc: expected a bool", field);
			for (int k = 0; k < pg->nsort; k++)
				if (pg->sort[k].col == c)
					return terr_set(e, TE_VALIDATION, "%s: column \"%s\" is already in the order",
					    field, t->cols[c].name);
			pg->sort[pg->nsort].col = c;
			pg->sort[pg->nsort].desc = d && d->type == MSGPACK_OBJECT_BOOLEAN && d->via.boolean;
			pg->nsort++;
		}
	}
	/* the tie-break that makes the order total, in the direction of the
	 * last column (so that a one-direction order stays one) */
	bool tdesc = pg->nsort > 0 && pg->sort[pg->nsort - 1].desc;
	if (t->nkey > 0) {
		for (int k = 0; k < t->nkey; k++) {
			bool have = false;
			for (int s = 0; s < pg->nsort; s++)
				have = have || pg->sort[s].col == t->key[k];
			if (!have)
				pg->sort[pg->nsort++] = (struct tsort){ t->key[k], tdesc };
		}
	} else if (t->relkind == 'r' || t->relkind == 'm') {
		pg->sort[pg->nsort++] = (struct tsort){ -1, tdesc };
	} else {
		pg->offset_paging = true;
	}
	if (filter) {
		if (filter->type != MSGPACK_OBJECT_ARRAY || filter->via.array.size > TFILTER_MAX)
			return terr_set(e, TE_VALIDATION, "filter: expected at most %d entries [{column, op, value?}]",
			    TFILTER_MAX);
		for (uint32_t i = 0; i < filter->via.array.size; i++) {
			pg->nfilters++;
			if (filter_parse(&pg->filters[i], t, &filter->via.array.ptr[i], (int)i, e) < 0)
				return -1;
		}
	}
	if (after) {
		if (after->type != MSGPACK_OBJECT_ARRAY)
			return terr_set(e, TE_VALIDATION, "after: expected the `next` of the page before");
		if (pg->offset_paging) {
			long long off;
			char *s = after->via.array.size == 1 && mo_has_type(&after->via.array.ptr[0], TT_STR) ?
			    mo_strdup(&after->via.array.ptr[0]) : NULL;
			int r = s ? parse_ll(s, 0, INT64_MAX, &off) : -1;
			free(s);
			if (r < 0) {
				terr_set(e, TE_VALIDATION, "after: not a `next` of this relation");
				return terr_hint(e, "pass `next` unchanged, with the same order_by"), -1;
			}
			pg->offset = off;
		} else {
			if (after->via.array.size != (uint32_t)pg->nsort) {
				terr_set(e, TE_VALIDATION, "after: expected %d values (the `next` of the page before), got %u",
				    pg->nsort, after->via.array.size);
				return terr_hint(e, "pass `next` unchanged, with the same order_by"), -1;
			}
			for (int i = 0; i < pg->nsort; i++) {
				const msgpack_object *v = &after->via.array.ptr[i];
				if (v->type == MSGPACK_OBJECT_NIL)
					continue;
				if (!mo_has_type(v, TT_STR))
					return terr_set(e, TE_VALIDATION, "after[%d]: expected str or nil", i);
				pg->after[i] = mo_strdup(v);
			}
		}
		pg->has_after = true;
	}
	return 0;
}

/* Free a page request's filter values and cursor and clear it. */
void
tpage_free(struct tpage *pg)
{
	for (int i = 0; i < pg->nfilters; i++) {
		for (int k = 0; k < pg->filters[i].nvals; k++)
			free(pg->filters[i].vals[k]);
		free(pg->filters[i].vals);
	}
	for (int i = 0; i < TSORT_MAX; i++)
		free(pg->after[i]);
	memset(pg, 0, sizeof *pg);
}

int
tpage_extra(const struct ttable *t, const struct tpage *pg)
{
	return (t->has_xmin ? 1 : 0) + (pg->offset_paging ? 0 : pg->nsort);
}

/* Is this sort entry's column NOT NULL (ctid always is)? */
static bool
sort_notnull(const struct ttable *t, const struct tsort *s)
{
	return s->col < 0 || t->cols[s->col].notnull;
}

/*
 * "Comes after the cursor" for the order (expanded so mixed directions and
 * NULLs are right: ASC puts NULLs last, DESC first, as PostgreSQL does):
 *   (s1 after v1) OR (s1 = v1 AND s2 after v2) OR ...
 * where "= NULL" is IS NULL, and "after" per column is
 *   ASC:  v NULL: nothing;   else s > v (OR s IS NULL when nullable)
 *   DESC: v NULL: s IS NOT NULL; else s < v
 * Each cursor value is bound once. When every column is NOT NULL and the
 * directions agree, the row comparison (s1, s2) > (v1, v2) says the same
 * and an index on the columns serves it.
 */
static void
keyset_add(struct tsql *q, const struct ttable *t, const struct tpage *pg)
{
	int pn[TSORT_MAX];
	bool simple = true;
	for (int i = 0; i < pg->nsort; i++)
		simple = simple && sort_notnull(t, &pg->sort[i]) && pg->after[i] != NULL &&
		    pg->sort[i].desc == pg->sort[0].desc;
	if (simple) {
		sb_addc(&q->sql, '(');
		for (int i = 0; i < pg->nsort; i++) {
			if (i)
				sb_adds(&q->sql, ", ");
			add_col(&q->sql, t, pg->sort[i].col);
		}
		sb_adds(&q->sql, pg->sort[0].desc ? ") < (" : ") > (");
		for (int i = 0; i < pg->nsort; i++) {
			if (i)
				sb_adds(&q->sql, ", ");
			tsql_bind(q, xstrdup(pg->after[i]));
		}
		sb_addc(&q->sql, ')');
		return;
	}
	for (int i = 0; i < pg->nsort; i++)
		pn[i] = 0;
	/* a bound on the first column that an index on it can serve (the
	 * condition below implies it; NULLs as PostgreSQL places them) */
	const struct tsort *s0 = &pg->sort[0];
	if (pg->after[0] != NULL && (s0->desc || sort_notnull(t, s0))) {
		add_col(&q->sql, t, s0->col);
		sb_adds(&q->sql, s0->desc ? " <= " : " >= ");
		tsql_bind(q, xstrdup(pg->after[0]));
		pn[0] = q->n;
		sb_adds(&q->sql, " AND ");
	} else if (pg->after[0] == NULL && !s0->desc) {
		add_col(&q->sql, t, s0->col);
		sb_adds(&q->sql, " IS NULL AND ");
	}
	int terms = 0;
	sb_addc(&q->sql, '(');
	for (int i = 0; i < pg->nsort; i++) {
		const struct tsort *s = &pg->sort[i];
		if (!s->desc && pg->after[i] == NULL)
			continue; /* nothing sorts after NULL here */
		if (terms++)
			sb_adds(&q->sql, " OR ");
		sb_addc(&q->sql, '(');
		for (int j = 0; j < i; j++) {
			add_col(&q->sql, t, pg->sort[j].col);
			if (pg->after[j] == NULL) {
				sb_adds(&q->sql, " IS NULL AND ");
				continue;
			}
			sb_adds(&q->sql, " = ");
			if (pn[j]) {
				sb_addf(&q->sql, "$%d", pn[j]);
			} else {
				tsql_bind(q, xstrdup(pg->after[j]));
				pn[j] = q->n;
			}
			sb_adds(&q->sql, " AND ");
		}
		if (pg->after[i] == NULL) {
			add_col(&q->sql, t, s->col);
			sb_adds(&q->sql, " IS NOT NULL");
		} else {
			bool nullable = !s->desc && !sort_notnull(t, s);
			if (nullable)
				sb_addc(&q->sql, '(');
			add_col(&q->sql, t, s->col);
			sb_adds(&q->sql, s->desc ? " < " : " > ");
			if (pn[i]) {
				sb_addf(&q->sql, "$%d", pn[i]);
			} else {
				tsql_bind(q, xstrdup(pg->after[i]));
				pn[i] = q->n;
			}
			if (nullable) {
				sb_adds(&q->sql, " OR ");
				add_col(&q->sql, t, s->col);
				sb_adds(&q->sql, " IS NULL)");
			}
		}
		sb_addc(&q->sql, ')');
	}
	if (terms == 0)
		sb_adds(&q->sql, "false");
	sb_addc(&q->sql, ')');
}

/* One filter's condition. */
static void
filter_add(struct tsql *q, const struct ttable *t, const struct tfilter *f)
{
	static const char *const cmp[] = { [TF_EQ] = " = ", [TF_NE] = " <> ", [TF_LT] = " < ",
		[TF_GT] = " > ", [TF_LE] = " <= ", [TF_GE] = " >= " };
	add_col(&q->sql, t, f->col);
	switch (f->op) {
	case TF_EQ: case TF_NE: case TF_LT: case TF_GT: case TF_LE: case TF_GE:
		sb_adds(&q->sql, cmp[f->op]);
		tsql_bind(q, xstrdup(f->vals[0]));
		break;
	case TF_CONTAINS:
	case TF_STARTS_WITH:
		sb_adds(&q->sql, "::text ILIKE ");
		tsql_bind(q, xstrdup(f->vals[0]));
		break;
	case TF_IS_NULL:
		sb_adds(&q->sql, " IS NULL");
		break;
	case TF_IS_NOT_NULL:
		sb_adds(&q->sql, " IS NOT NULL");
		break;
	case TF_IN:
		sb_adds(&q->sql, " IN (");
		for (int i = 0; i < f->nvals; i++) {
			if (i)
				sb_adds(&q->sql, ", ");
			tsql_bind(q, xstrdup(f->vals[i]));
		}
		sb_addc(&q->sql, ')');
		break;
	}
}

/* The columns every row of a page (or a conflict read) carries. */
static void
select_list_add(struct strbuf *sb, const struct ttable *t, const struct tsort *sort, int nsort)
{
	int n = 0;
	if (t->has_xmin) {
		sb_adds(sb, "t.xmin::text");
		n++;
	}
	for (int i = 0; i < nsort; i++) {
		if (n++)
			sb_adds(sb, ", ");
		add_col(sb, t, sort[i].col);
		sb_adds(sb, "::text");
	}
	for (int i = 0; i < t->ncols; i++) {
		if (n++)
			sb_adds(sb, ", ");
		add_col(sb, t, i);
	}
	if (n == 0)
		sb_adds(sb, "NULL");
}

void
tsql_page(struct tsql *q, const struct ttable *t, const struct tpage *pg)
{
	sb_adds(&q->sql, "SELECT ");
	select_list_add(&q->sql, t, pg->sort, pg->offset_paging ? 0 : pg->nsort);
	sb_adds(&q->sql, " FROM ");
	sqlident_add_qualified(&q->sql, t->schema, t->name);
	sb_adds(&q->sql, " t");
	int conds = 0;
	for (int i = 0; i < pg->nfilters; i++) {
		sb_adds(&q->sql, conds++ ? " AND " : " WHERE ");
		filter_add(q, t, &pg->filters[i]);
	}
	if (pg->has_after && !pg->offset_paging) {
		sb_adds(&q->sql, conds++ ? " AND " : " WHERE ");
		keyset_add(q, t, pg);
	}
	for (int i = 0; i < pg->nsort; i++) {
		sb_adds(&q->sql, i ? ", " : " ORDER BY ");
		add_col(&q->sql, t, pg->sort[i].col);
		if (pg->sort[i].desc)
			sb_adds(&q->sql, " DESC");
	}
	sb_adds(&q->sql, " LIMIT ");
	tsql_bind(q, xasprintf("%" PRId64, pg->limit + 1));
	if (pg->offset_paging && pg->offset > 0) {
		sb_adds(&q->sql, " OFFSET ");
		tsql_bind(q, xasprintf("%" PRId64, pg->offset));
	}
}

/* Read a {column: value} map of an edit into cols/vals. */
static int
edit_values(struct tedit *ed, const struct ttable *t, const msgpack_object *m, const char *field,
    struct tusk_error *e)
{
	if (m->type != MSGPACK_OBJECT_MAP)
		return terr_set(e, TE_VALIDATION, "%s: expected {column: value}", field);
	ed->cols = xcalloc(MAX(m->via.map.size, 1), sizeof *ed->cols);
	ed->vals = xcalloc(MAX(m->via.map.size, 1), sizeof *ed->vals);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		int c = find_col(t, k, field, e);
		if (c < 0)
			return -1;
		const struct tcol *col = &t->cols[c];
		char vf[200];
		snprintf(vf, sizeof vf, "%s.%s", field, col->name);
		for (int j = 0; j < ed->nvals; j++)
			if (ed->cols[j] == c)
				return terr_set(e, TE_VALIDATION, "%s: given twice", vf);
		if (col->generated)
			return terr_set(e, TE_VALIDATION, "%s: a generated column is computed by the server", vf);
		if (col->identity == 'a')
			return terr_set(e, TE_VALIDATION, "%s: an identity column GENERATED ALWAYS is set by the server", vf);
		if (ed->op == ED_UPDATE && !col->can_update)
			return terr_set(e, TE_VALIDATION, "%s: the role may not UPDATE this column", vf);
		ed->cols[ed->nvals] = c;
		if (tsql_value_text(&m->via.map.ptr[i].val, &ed->vals[ed->nvals], vf, e) < 0)
			return -1;
		ed->nvals++;
	}
	return 0;
}

/* Read an edit's key {column: value}: exactly the key's columns. */
static int
edit_key(struct tedit *ed, const struct ttable *t, const msgpack_object *m, const char *field,
    struct tusk_error *e)
{
	if (m == NULL || m->type != MSGPACK_OBJECT_MAP) {
		terr_set(e, TE_VALIDATION, "%s: required: the row's key {column: value}", field);
		return terr_hint(e, "open_table answers each row's key in `keys`"), -1;
	}
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		int c = find_col(t, &m->via.map.ptr[i].key, field, e);
		if (c < 0)
			return -1;
		int pos = t->cols[c].key_pos;
		char vf[200];
		snprintf(vf, sizeof vf, "%s.%s", field, t->cols[c].name);
		if (pos == 0 || t->nkey == 0) {
			terr_set(e, TE_VALIDATION, "%s: not a column of the row key (%s)", vf,
			    t->key_name ? t->key_name : "none");
			return -1;
		}
		if (ed->key[pos - 1])
			return terr_set(e, TE_VALIDATION, "%s: given twice", vf);
		if (tsql_value_text(&m->via.map.ptr[i].val, &ed->key[pos - 1], vf, e) < 0)
			return -1;
		if (ed->key[pos - 1] == NULL)
			return terr_set(e, TE_VALIDATION, "%s: a key value is never NULL", vf);
	}
	for (int k = 0; k < t->nkey; k++)
		if (ed->key[k] == NULL)
			return terr_set(e, TE_VALIDATION, "%s: missing key column \"%s\"", field,
			    t->cols[t->key[k]].name);
	return 0;
}

/* Are two edits about the same row? */
static bool
same_row(const struct ttable *t, const struct tedit *a, const struct tedit *b)
{
	for (int k = 0; k < t->nkey; k++)
		if (strcmp(a->key[k], b->key[k]) != 0)
			return false;
	return true;
}

/* One edit {op, key?, xmin?, values?}. */
static int
edit_parse(struct tedit *ed, const struct ttable *t, const msgpack_object *o, int i,
    struct tusk_error *e)
{
	static const char *const keys[] = { "op", "key", "xmin", "values", NULL };
	char field[48], f2[64];
	snprintf(field, sizeof field, "edits[%d]", i);
	if (o->type != MSGPACK_OBJECT_MAP)
		return terr_set(e, TE_VALIDATION, "%s: expected {op, key?, xmin?, values?}", field);
	if (check_keys(o, keys, field, e) < 0)
		return -1;
	const msgpack_object *op = mo_map_get(o, "op");
	if (mo_str_eq(op, "insert"))
		ed->op = ED_INSERT;
	else if (mo_str_eq(op, "update"))
		ed->op = ED_UPDATE;
	else if (mo_str_eq(op, "delete"))
		ed->op = ED_DELETE;
	else
		return terr_set(e, TE_VALIDATION, "%s.op: expected insert, update or delete", field);
	const msgpack_object *key = mo_map_get(o, "key");
	const msgpack_object *xmin = mo_map_get(o, "xmin");
	const msgpack_object *values = mo_map_get(o, "values");
	if (key && key->type == MSGPACK_OBJECT_NIL)
		key = NULL;
	if (xmin && xmin->type == MSGPACK_OBJECT_NIL)
		xmin = NULL;
	if (values && values->type == MSGPACK_OBJECT_NIL)
		values = NULL;
	if (ed->op == ED_INSERT) {
		if (key || xmin)
			return terr_set(e, TE_VALIDATION, "%s: an insert has no key or xmin", field);
	} else {
		snprintf(f2, sizeof f2, "%s.key", field);
		if (edit_key(ed, t, key, f2, e) < 0)
			return -1;
		int64_t x;
		if (xmin && mo_int(xmin, &x) == 0 && x >= 0 && x <= UINT32_MAX) {
			ed->xmin = xasprintf("%" PRId64, x);
		} else if (xmin && mo_has_type(xmin, TT_STR)) {
			ed->xmin = mo_strdup(xmin);
			long long v;
			if (parse_ll(ed->xmin, 0, UINT32_MAX, &v) < 0)
				return terr_set(e, TE_VALIDATION, "%s.xmin: expected a transaction id (digits)", field);
		} else {
			terr_set(e, TE_VALIDATION, "%s.xmin: required: the row's xmin as read", field);
			return terr_hint(e, "open_table answers each row's xmin in `xmins`"), -1;
		}
	}
	if (ed->op == ED_DELETE) {
		if (values)
			return terr_set(e, TE_VALIDATION, "%s.values: a delete takes no values", field);
		return 0;
	}
	snprintf(f2, sizeof f2, "%s.values", field);
	if (values && edit_values(ed, t, values, f2, e) < 0)
		return -1;
	if (ed->op == ED_UPDATE && ed->nvals == 0)
		return terr_set(e, TE_VALIDATION, "%s: required: the columns to change", f2);
	return 0;
}

int
tedits_parse(struct tedit **out, int *n, const struct ttable *t, const msgpack_object *edits,
    struct tusk_error *e)
{
	*out = NULL;
	*n = 0;
	if (!t->editable) {
		terr_set(e, TE_VALIDATION, "%s.%s is not editable: %s", t->schema, t->name, t->reason);
		return -1;
	}
	if (edits->via.array.size == 0 || edits->via.array.size > TEDITS_MAX)
		return terr_set(e, TE_VALIDATION, "edits: 1 to %d edits", TEDITS_MAX);
	struct tedit *ed = xcalloc(edits->via.array.size, sizeof *ed);
	*out = ed;
	for (uint32_t i = 0; i < edits->via.array.size; i++) {
		(*n)++;
		if (edit_parse(&ed[i], t, &edits->via.array.ptr[i], (int)i, e) < 0)
			return -1;
		if (ed[i].op == ED_INSERT)
			continue;
		for (uint32_t j = 0; j < i; j++)
			if (ed[j].op != ED_INSERT && same_row(t, &ed[i], &ed[j])) {
				terr_set(e, TE_VALIDATION, "edits[%u]: the same row as edits[%u]", i, j);
				terr_hint(e, "send one edit per row: merge the changes of a row into one update");
				return -1;
			}
	}
	return 0;
}

/* Free n edits (keys, xmins, values, columns) and the array. */
void
tedits_free(struct tedit *ed, int n)
{
	for (int i = 0; ed && i < n; i++) {
		for (int k = 0; k < TKEY_MAX; k++)
			free(ed[i].key[k]);
		free(ed[i].xmin);
		for (int k = 0; k < ed[i].nvals; k++)
			free(ed[i].vals[k]);
		free(ed[i].vals);
		free(ed[i].cols);
	}
	free(ed);
}

/* WHERE key = ... AND xmin = ... of an update or delete. */
static void
edit_where(struct tsql *q, const struct ttable *t, const struct tedit *ed)
{
	sb_adds(&q->sql, " WHERE ");
	for (int k = 0; k < t->nkey; k++) {
		sqlident_add(&q->sql, t->cols[t->key[k]].name);
		sb_adds(&q->sql, " = ");
		tsql_bind(q, xstrdup(ed->key[k]));
		sb_adds(&q->sql, " AND ");
	}
	sb_adds(&q->sql, "xmin = ");
	tsql_bind(q, xstrdup(ed->xmin));
}

void
tsql_edit(struct tsql *q, const struct ttable *t, const struct tedit *ed)
{
	switch (ed->op) {
	case ED_INSERT:
		sb_adds(&q->sql, "INSERT INTO ");
		sqlident_add_qualified(&q->sql, t->schema, t->name);
		if (ed->nvals == 0) {
			sb_adds(&q->sql, " DEFAULT VALUES");
			break;
		}
		sb_adds(&q->sql, " (");
		for (int i = 0; i < ed->nvals; i++) {
			if (i)
				sb_adds(&q->sql, ", ");
			sqlident_add(&q->sql, t->cols[ed->cols[i]].name);
		}
		sb_adds(&q->sql, ") VALUES (");
		for (int i = 0; i < ed->nvals; i++) {
			if (i)
				sb_adds(&q->sql, ", ");
			tsql_bind(q, ed->vals[i] ? xstrdup(ed->vals[i]) : NULL);
		}
		sb_addc(&q->sql, ')');
		break;
	case ED_UPDATE:
		sb_adds(&q->sql, "UPDATE ");
		sqlident_add_qualified(&q->sql, t->schema, t->name);
		sb_adds(&q->sql, " SET ");
		for (int i = 0; i < ed->nvals; i++) {
			if (i)
				sb_adds(&q->sql, ", ");
			sqlident_add(&q->sql, t->cols[ed->cols[i]].name);
			sb_adds(&q->sql, " = ");
			tsql_bind(q, ed->vals[i] ? xstrdup(ed->vals[i]) : NULL);
		}
		edit_where(q, t, ed);
		break;
	case ED_DELETE:
		sb_adds(&q->sql, "DELETE FROM ");
		sqlident_add_qualified(&q->sql, t->schema, t->name);
		edit_where(q, t, ed);
		break;
	}
}

void
tsql_rows_by_key(struct tsql *q, const struct ttable *t, const struct tedit *ed, const int *idx,
    int n)
{
	struct tsort key[TKEY_MAX];
	for (int k = 0; k < t->nkey; k++)
		key[k] = (struct tsort){ t->key[k], false };
	for (int i = 0; i < n; i++) {
		if (i)
			sb_adds(&q->sql, " UNION ALL ");
		sb_addf(&q->sql, "SELECT %d, ", idx[i]);
		select_list_add(&q->sql, t, key, t->nkey);
		sb_adds(&q->sql, " FROM ");
		sqlident_add_qualified(&q->sql, t->schema, t->name);
		sb_adds(&q->sql, " t WHERE ");
		for (int k = 0; k < t->nkey; k++) {
			if (k)
				sb_adds(&q->sql, " AND ");
			add_col(&q->sql, t, t->key[k]);
			sb_adds(&q->sql, " = ");
			tsql_bind(q, xstrdup(ed[idx[i]].key[k]));
		}
	}
}

/*
 * tablesql.h — the statements behind open_table and apply_edits, built
 * from a table's description in the catalog.
 *
 * Identifiers are quoted as quote_ident() does (sqlident.h) and every
 * value — a filter's, a cursor's, an edit's, a key's — is a bound text
 * parameter ($1..$n), never text pasted into the SQL. A page is ordered by
 * the chosen columns and then by the row key (or ctid), so the order is
 * total and a page continues after the last row of the one before (keyset
 * paging: the 1,000th page costs what the first does); relations with
 * neither a key nor ctid page by OFFSET. An edit is keyed on the row key
 * and guarded by the row's xmin as read. Pure functions over decoded
 * msgpack: no I/O, unit-tested in tests/unit/test_tablesql.c.
 */
#ifndef TUSK_TABLESQL_H
#define TUSK_TABLESQL_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "error.h"
#include "util.h"

#define TKEY_MAX 32	  /* columns of a key (INDEX_MAX_KEYS) */
#define TORDER_MAX 8	  /* order_by entries */
#define TSORT_MAX (TORDER_MAX + TKEY_MAX)
#define TFILTER_MAX 32	  /* filter entries */
#define TIN_MAX 1000	  /* values of one `in` filter */
#define TLIMIT_DEFAULT 200
#define TLIMIT_MAX 10000
#define TEDITS_MAX 5000	  /* edits in one apply_edits */

/* One column, as the catalog describes it. */
struct tcol {
	char *name;
	char *type;	  /* format_type(): character varying(20) */
	char *typname;	  /* pg_type.typname: varchar */
	bool notnull;
	bool generated;	  /* GENERATED ALWAYS AS (...) STORED */
	char identity;	  /* 'a' always, 'd' by default, 0: none */
	bool has_default;
	bool can_update;  /* the role may UPDATE it */
	int key_pos;	  /* 1-based position in the row key, 0: not in it */
	bool editable;	  /* ttable_load decides */
};

/* A relation and whether its rows may be edited (and why not). */
struct ttable {
	char *schema;
	char *name;
	char relkind;	  /* r p v m f */
	int updatable;	  /* pg_relation_is_updatable() */
	bool can_insert, can_update, can_delete;
	char *key_name;	  /* the key's index, NULL: none */
	struct tcol *cols;
	int ncols;
	int key[TKEY_MAX]; /* column indexes, in key order */
	int nkey;
	bool has_xmin;	  /* rows have xmin and ctid (r p m) */
	bool editable;
	const char *reason; /* why not editable (static text) */
};

/* The catalog query: $1 schema, $2 name; one row per column. */
extern const char tsql_catalog[];

/* Read the catalog's rows; read_only is the connection's setting. -1 with
 * a Validation error when the relation is not there. */
int ttable_load(struct ttable *t, const char *schema, const char *name, const msgpack_object *rows,
    bool read_only, struct tusk_error *e);
void ttable_free(struct ttable *t);
/* The column named name, or -1. */
int ttable_col(const struct ttable *t, const char *name, size_t len);
/* "relation" kind name: table, partitioned_table, view, ... */
const char *ttable_kind(const struct ttable *t);

/* A statement and its bound values. */
struct tsql {
	struct strbuf sql;
	char **values;	  /* NULL for SQL NULL; owned */
	int n;
	int cap;
};
void tsql_init(struct tsql *q);
void tsql_free(struct tsql *q);
/* Bind a value (taken; NULL binds NULL) and append its $n. */
void tsql_bind(struct tsql *q, char *value);
/* Bind a value (taken) without writing its $n (the SQL names it already). */
void tsql_push(struct tsql *q, char *value);

/*
 * A client's value as a text parameter: nil → NULL (*out NULL), bool →
 * true/false, integers in decimal, floats in the shortest digits that read
 * back exactly (float32 as float4), str as is, bin → bytea hex (\x...).
 * Arrays, maps and extensions are refused (send arrays and JSON as their
 * text). field names the value in the error.
 */
int tsql_value_text(const msgpack_object *v, char **out, const char *field, struct tusk_error *e);

enum tfop { TF_EQ, TF_NE, TF_LT, TF_GT, TF_LE, TF_GE, TF_CONTAINS, TF_STARTS_WITH, TF_IS_NULL,
	TF_IS_NOT_NULL, TF_IN };

struct tsort {
	int col;	  /* column index; -1: ctid */
	bool desc;
};

struct tfilter {
	int col;
	enum tfop op;
	char **vals;	  /* text values (NULL entries never: nil is refused) */
	int nvals;
};

/* What one page asks for. */
struct tpage {
	struct tsort sort[TSORT_MAX]; /* the order: order_by, then the key (or ctid) */
	int nsort;
	bool offset_paging; /* no key, no ctid: LIMIT/OFFSET */
	struct tfilter filters[TFILTER_MAX];
	int nfilters;
	char *after[TSORT_MAX]; /* the cursor: the sort values of the last row */
	bool has_after;
	int64_t offset;
	int64_t limit;
};

/* Read order_by, filter, after and limit (each may be NULL). -1 with a
 * Validation error naming the field. */
int tpage_parse(struct tpage *pg, const struct ttable *t, const msgpack_object *order_by,
    const msgpack_object *filter, const msgpack_object *after, const msgpack_object *limit,
    struct tusk_error *e);
void tpage_free(struct tpage *pg);
/* Leading text columns of a page's rows before the table's own: xmin (when
 * the relation has it), then one per sort entry. */
int tpage_extra(const struct ttable *t, const struct tpage *pg);
/* The page's SELECT (fetches limit + 1 rows: the extra one says there is more). */
void tsql_page(struct tsql *q, const struct ttable *t, const struct tpage *pg);

enum teop { ED_INSERT, ED_UPDATE, ED_DELETE };

struct tedit {
	enum teop op;
	char *key[TKEY_MAX]; /* the key's values as text, in key order */
	char *xmin;
	int *cols;	  /* columns set (insert, update) */
	char **vals;	  /* their values (NULL: SQL NULL) */
	int nvals;
};

/* Read edits [{op, key?, xmin?, values?}]: every column known and editable,
 * the whole key and xmin for update and delete, one edit per row. */
int tedits_parse(struct tedit **out, int *n, const struct ttable *t, const msgpack_object *edits,
    struct tusk_error *e);
void tedits_free(struct tedit *ed, int n);
/* The statement of one edit (touches exactly one row when nothing changed). */
void tsql_edit(struct tsql *q, const struct ttable *t, const struct tedit *ed);
/* The current rows of edits idx[0..n-1] (update or delete), one SELECT per
 * edit joined by UNION ALL: the edit's index, then the page's leading
 * columns (xmin, the key as text), then the table's columns. */
void tsql_rows_by_key(struct tsql *q, const struct ttable *t, const struct tedit *ed,
    const int *idx, int n);

#endif

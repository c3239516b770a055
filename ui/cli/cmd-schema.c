/*
 * cmd-schema.c — tuskctl schema and describe: what is in a database, as
 * psql's \d family lists it (get_schema), and one object as psql's \d NAME
 * shows it, or its DDL (describe_object).
 *
 * Names on the command line follow psql: unquoted letters fold to lower
 * case, double quotes keep a name exact ("Order Items"), a dot separates
 * the schema; in a PATTERN, * and ? are wildcards outside quotes.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "msg.h"
#include "proto.h"
#include "quote.h"
#include "sqlident.h"
#include "util.h"

/* Wildcards in a compiled pattern (never in a name: names hold no
 * control characters here that matter, and a pattern's own are quoted). */
#define PAT_ANY '\x01'
#define PAT_ONE '\x02'

/* What `schema` lists. */
enum {
	K_SCHEMA = 0x1, K_TABLE = 0x2, K_VIEW = 0x4, K_MATVIEW = 0x8, K_FOREIGN = 0x10,
	K_SEQUENCE = 0x20, K_FUNCTION = 0x40, K_TYPE = 0x80,
	K_DEFAULT = 0xfe,
};

static const struct {
	const char *word;
	unsigned bit;
} kind_words[] = {
	{ "schema", K_SCHEMA }, { "table", K_TABLE }, { "view", K_VIEW },
	{ "matview", K_MATVIEW }, { "foreign", K_FOREIGN }, { "sequence", K_SEQUENCE },
	{ "function", K_FUNCTION }, { "type", K_TYPE },
};

/*
 * Split a psql-style name or pattern into schema (NULL when none) and
 * name, each compiled: unquoted letters folded, quotes removed ("" is a
 * quote), and with wildcards (pattern) * and ? as PAT_ANY and PAT_ONE. A
 * function's argument list, "(...)", is kept as written.
 */
static void
name_split(const char *arg, bool wildcards, char **ret_schema, char **ret_name)
{
	struct strbuf part;
	char *schema = NULL;
	bool quoted = false;
	sb_init(&part);
	sb_adds(&part, "");
	for (const char *s = arg; *s; s++) {
		if (quoted) {
			if (*s == '"' && s[1] == '"') {
				sb_addc(&part, '"');
				s++;
			} else if (*s == '"') {
				quoted = false;
			} else {
				sb_addc(&part, *s);
			}
		} else if (*s == '"') {
			quoted = true;
		} else if (*s == '(') {
			sb_adds(&part, s);
			break;
		} else if (*s == '.' && schema == NULL) {
			schema = sb_detach(&part);
			sb_init(&part);
			sb_adds(&part, "");
		} else if (wildcards && *s == '*') {
			sb_addc(&part, PAT_ANY);
		} else if (wildcards && *s == '?') {
			sb_addc(&part, PAT_ONE);
		} else {
			sb_addc(&part, *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s);
		}
	}
	*ret_schema = schema;
	*ret_name = sb_detach(&part);
}

/* Does s match the compiled pattern p? */
static bool
pattern_match(const char *p, const char *s)
{
	for (; *p; p++, s++) {
		if (*p == PAT_ANY) {
			for (const char *t = s;; t++) {
				if (pattern_match(p + 1, t))
					return true;
				if (*t == '\0')
					return false;
			}
		}
		if (*s == '\0')
			return false;
		if (*p == PAT_ONE) {
			/* one character, not one byte */
			while ((s[1] & 0xc0) == 0x80)
				s++;
			continue;
		}
		if (*p != *s)
			return false;
	}
	return *s == '\0';
}

/* A str field of a map as a new string ("" when absent or nil). */
static char *
field(const msgpack_object *m, const char *key)
{
	return mo_map_strdup(m, key, "");
}

/* The map's array field (NULL when absent). */
static const msgpack_object *
array_field(const msgpack_object *m, const char *key)
{
	const msgpack_object *a = mo_map_get(m, key);
	return a && a->type == MSGPACK_OBJECT_ARRAY ? a : NULL;
}

/* Is the map's field a true bool? */
static bool
bool_field(const msgpack_object *m, const char *key)
{
	const msgpack_object *b = mo_map_get(m, key);
	return b && b->type == MSGPACK_OBJECT_BOOLEAN && b->via.boolean;
}

/* Print a JSON str field (key, then the value). */
static void
json_field(const char *key, const char *value, bool first)
{
	printf("%s", first ? "{" : ",");
	json_string(stdout, key, strlen(key));
	printf(":");
	json_string(stdout, value, strlen(value));
}

/* --- schema --------------------------------------------------------------- */

struct listing {
	char *conn;
	char *schema_pat, *name_pat; /* compiled; NULL: any */
	unsigned kinds;
	bool system, refresh;
	struct table *t;
	unsigned shown;
};

/* get_schema {connection_id, refresh?, system?} */
static void
pack_get_schema(msgpack_packer *pk, void *arg)
{
	struct listing *l = arg;
	msgpack_pack_array(pk, 1);
	MP_PACK_FIELDS(pk,
	    MPF_STR("connection_id", l->conn),
	    MPF_BOOL("refresh", l->refresh),
	    MPF_BOOL("system", l->system));
}

/* The kind bit of a get_schema kind name. */
static unsigned
kind_bit(const char *kind, const char *family)
{
	if (strcmp(family, "types") == 0)
		return K_TYPE;
	if (strcmp(family, "functions") == 0)
		return K_FUNCTION;
	if (strcmp(family, "sequences") == 0)
		return K_SEQUENCE;
	if (strcmp(kind, "view") == 0)
		return K_VIEW;
	if (strcmp(kind, "materialized_view") == 0)
		return K_MATVIEW;
	if (strcmp(kind, "foreign_table") == 0)
		return K_FOREIGN;
	return K_TABLE;
}

/* psql's words for a kind. */
static const char *
kind_text(const char *kind)
{
	static const char *const names[][2] = {
		{ "partitioned_table", "partitioned table" }, { "materialized_view", "materialized view" },
		{ "foreign_table", "foreign table" }, { "window", "window function" },
		{ "enum", "enum type" }, { "composite", "composite type" }, { "range", "range type" },
	};
	for (size_t i = 0; i < nitems(names); i++)
		if (strcmp(kind, names[i][0]) == 0)
			return names[i][1];
	return kind;
}

/* One row of the listing (or one JSON object). */
static void
listing_add(struct listing *l, const char *schema, const char *name, const char *kind,
    char *details, const msgpack_object *item)
{
	l->shown++;
	if (ctl.json) {
		printf("%s", l->shown > 1 ? ",\n" : "");
		json_field("schema", schema, true);
		json_field("name", name, false);
		json_field("kind", kind, false);
		for (uint32_t i = 0; item && i < item->via.map.size; i++) {
			const msgpack_object_kv *kv = &item->via.map.ptr[i];
			if (mo_str_eq(&kv->key, "name") || mo_str_eq(&kv->key, "kind"))
				continue;
			printf(",");
			json_value(stdout, &kv->key);
			printf(":");
			json_value(stdout, &kv->val);
		}
		printf("}");
		free(details);
		return;
	}
	char **cells = xcalloc(4, sizeof *cells);
	cells[0] = xstrdup(schema);
	cells[1] = xstrdup(name);
	cells[2] = xstrdup(kind_text(kind));
	cells[3] = details;
	table_add(l->t, cells);
}

/* The details column of one item. */
static char *
item_details(const char *family, const msgpack_object *it)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_adds(&sb, "");
	if (strcmp(family, "relations") == 0) {
		const msgpack_object *parent = mo_map_get(it, "parent");
		int64_t rows = mo_map_int(it, "estimated_rows", -1);
		if (parent && parent->type == MSGPACK_OBJECT_MAP) {
			char *ps = field(parent, "schema"), *pn = field(parent, "name");
			sb_adds(&sb, "partition of ");
			sqlident_add_qualified(&sb, ps, pn);
			free(ps);
			free(pn);
		}
		if (rows >= 0)
			sb_addf(&sb, "%s~%lld rows", sb.len ? ", " : "", (long long)rows);
	} else if (strcmp(family, "functions") == 0) {
		char *a = field(it, "arguments"), *r = field(it, "result");
		sb_addf(&sb, "(%s)%s%s", a, *r ? " → " : "", r);
		free(a);
		free(r);
	} else if (strcmp(family, "types") == 0) {
		const msgpack_object *v = array_field(it, "values");
		char *base = field(it, "base_type");
		if (*base)
			sb_addf(&sb, "%s", base);
		for (uint32_t i = 0; v && i < v->via.array.size; i++) {
			char *s = mo_strdup(&v->via.array.ptr[i]);
			sb_adds(&sb, i ? ", " : "");
			quote_literal(&sb, s ? s : "");
			free(s);
		}
		free(base);
	}
	return sb_detach(&sb);
}

/* List a schema's items of one family (relations, functions, ...). */
static void
listing_family(struct listing *l, const char *schema, const msgpack_object *sc, const char *family)
{
	const msgpack_object *items = array_field(sc, family);
	for (uint32_t i = 0; items && i < items->via.array.size; i++) {
		const msgpack_object *it = &items->via.array.ptr[i];
		char *name, *kind;
		if (it->type == MSGPACK_OBJECT_STR) {
			name = mo_strdup(it);
			kind = xstrdup("sequence");
			it = NULL;
		} else {
			name = field(it, "name");
			kind = field(it, "kind");
		}
		if ((l->kinds & kind_bit(kind, family)) &&
		    (l->name_pat == NULL || pattern_match(l->name_pat, name)))
			listing_add(l, schema, name, kind, it ? item_details(family, it) : xstrdup(""), it);
		free(name);
		free(kind);
	}
}

/* get_schema's answer: the matching objects. */
static void
schema_result(const msgpack_object *r, void *arg)
{
	struct listing *l = arg;
	static const char *const headers[] = { "Schema", "Name", "Kind", "Details" };
	static const char *const sheaders[] = { "Name", "Owner", "Comment" };
	bool schemas_only = l->kinds == K_SCHEMA;
	l->t = table_new(schemas_only ? sheaders : headers, schemas_only ? 3 : 4);
	if (ctl.json)
		printf("[");
	const msgpack_object *schemas = array_field(r, "schemas");
	for (uint32_t i = 0; schemas && i < schemas->via.array.size; i++) {
		const msgpack_object *sc = &schemas->via.array.ptr[i];
		char *sname = field(sc, "name");
		if (l->schema_pat && !pattern_match(l->schema_pat, sname)) {
			free(sname);
			continue;
		}
		if (l->kinds & K_SCHEMA && (l->name_pat == NULL || l->schema_pat ||
		    pattern_match(l->name_pat, sname))) {
			if (schemas_only && !ctl.json) {
				l->shown++;
				char **cells = xcalloc(3, sizeof *cells);
				cells[0] = xstrdup(sname);
				cells[1] = field(sc, "owner");
				cells[2] = field(sc, "comment");
				table_add(l->t, cells);
			} else {
				listing_add(l, sname, sname, "schema", xstrdup(""), NULL);
			}
		}
		listing_family(l, sname, sc, "relations");
		listing_family(l, sname, sc, "sequences");
		listing_family(l, sname, sc, "functions");
		listing_family(l, sname, sc, "types");
		free(sname);
	}
	if (ctl.json) {
		printf("]\n");
	} else if (l->shown) {
		table_print(l->t, stdout);
		printf("(%u %s)\n", l->shown, l->shown == 1 ? "object" : "objects");
	} else {
		printf("No matching objects.\n");
	}
	const msgpack_object *w = array_field(r, "warnings");
	for (uint32_t i = 0; w && i < w->via.array.size; i++) {
		char *s = mo_strdup(&w->via.array.ptr[i]);
		fprintf(stderr, "warning: %s\n", s ? s : "");
		free(s);
	}
	table_free(l->t);
	l->t = NULL;
}

/* "table,view" → kind bits; 0 when a word is unknown. */
static unsigned
kinds_parse(const char *list)
{
	unsigned bits = 0;
	char *copy = xstrdup(list), *save = NULL;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		unsigned bit = 0;
		for (size_t i = 0; i < nitems(kind_words); i++)
			if (strcmp(w, kind_words[i].word) == 0)
				bit = kind_words[i].bit;
		if (bit == 0) {
			free(copy);
			return 0;
		}
		bits |= bit;
	}
	free(copy);
	return bits;
}

/* schema [PATTERN]: list the objects of a connection's database. */
int
cmd_schema(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connection", required_argument, NULL, 'c' },
		{ "kind", required_argument, NULL, 'k' },
		{ "system", no_argument, NULL, 'S' },
		{ "refresh", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct listing l = { .kinds = K_DEFAULT };
	const char *conn_arg = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:k:Sr", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': conn_arg = optarg; break;
		case 'S': l.system = true; break;
		case 'r': l.refresh = true; break;
		case 'k':
			l.kinds = kinds_parse(optarg);
			if (l.kinds == 0) {
				fprintf(stderr, "error: --kind takes a list of schema, table, view, matview, "
				    "foreign, sequence, function, type\n");
				return EXIT_USAGE;
			}
			break;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind > 1)
		return EXIT_USAGE;
	if (argc - optind == 1)
		name_split(argv[optind], true, &l.schema_pat, &l.name_pat);
	if (l.name_pat && l.name_pat[0] == '\0') {
		/* "Sales." : everything in the schema */
		free(l.name_pat);
		l.name_pat = NULL;
	}
	l.conn = resolve_connection(conn_arg);
	int r = EXIT_ERR;
	if (l.conn)
		r = ctl_call(M_GET_SCHEMA, pack_get_schema, &l, schema_result, &l, NULL, NULL);
	free(l.conn);
	free(l.schema_pat);
	free(l.name_pat);
	return r;
}

/* --- describe ------------------------------------------------------------- */

struct describing {
	char *conn;
	char *schema, *name, *kind;
	bool ddl;
};

/* Find the schema of an unqualified name: the first on the search path
 * that has an object so named (else the first on the path). */
static void
find_schema_result(const msgpack_object *r, void *arg)
{
	struct describing *d = arg;
	const msgpack_object *path = array_field(r, "search_path");
	const msgpack_object *schemas = array_field(r, "schemas");
	size_t base = strcspn(d->name, "(");
	static const char *const families[] = { "relations", "sequences", "functions", "types" };
	for (uint32_t p = 0; path && p < path->via.array.size && d->schema == NULL; p++) {
		const msgpack_object *pn = &path->via.array.ptr[p];
		for (uint32_t i = 0; schemas && i < schemas->via.array.size && !d->schema; i++) {
			const msgpack_object *sc = &schemas->via.array.ptr[i];
			const msgpack_object *sn = mo_map_get(sc, "name");
			if (sn == NULL || pn->type != MSGPACK_OBJECT_STR || sn->type != MSGPACK_OBJECT_STR ||
			    sn->via.str.size != pn->via.str.size ||
			    memcmp(sn->via.str.ptr, pn->via.str.ptr, pn->via.str.size) != 0)
				continue;
			for (size_t f = 0; f < nitems(families) && !d->schema; f++) {
				const msgpack_object *items = array_field(sc, families[f]);
				for (uint32_t k = 0; items && k < items->via.array.size; k++) {
					const msgpack_object *it = &items->via.array.ptr[k];
					const msgpack_object *n = it->type == MSGPACK_OBJECT_STR ? it :
					    mo_map_get(it, "name");
					if (n && n->type == MSGPACK_OBJECT_STR && n->via.str.size == base &&
					    memcmp(n->via.str.ptr, d->name, base) == 0) {
						d->schema = mo_strdup(pn);
						break;
					}
				}
			}
		}
	}
	if (d->schema == NULL && path && path->via.array.size)
		d->schema = mo_strdup(&path->via.array.ptr[0]);
}

/* get_schema {connection_id} (from the cache, usually) */
static void
pack_find_schema(msgpack_packer *pk, void *arg)
{
	struct describing *d = arg;
	msgpack_pack_array(pk, 1);
	MP_PACK_FIELDS(pk, MPF_STR("connection_id", d->conn));
}

/* describe_object {connection_id, schema, name, kind?} */
static void
pack_describe(msgpack_packer *pk, void *arg)
{
	struct describing *d = arg;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, d->kind ? 4 : 3);
	mp_pack_key(pk, "connection_id");
	mp_pack_cstr(pk, d->conn);
	mp_pack_key(pk, "schema");
	mp_pack_cstr(pk, d->schema);
	mp_pack_key(pk, "name");
	mp_pack_cstr(pk, d->name);
	if (d->kind) {
		mp_pack_key(pk, "kind");
		mp_pack_cstr(pk, d->kind);
	}
}

/* Bytes as pg_size_pretty() writes them: "8192 bytes", "32 kB", "12 MB". */
static char *
size_pretty(int64_t b)
{
	static const char *const units[] = { "kB", "MB", "GB", "TB", "PB" };
	if (b < 10 * 1024)
		return xasprintf("%lld bytes", (long long)b);
	double v = (double)b / 1024;
	size_t u = 0;
	while (v >= 10 * 1024 && u + 1 < nitems(units)) {
		v /= 1024;
		u++;
	}
	return xasprintf("%.0f %s", v, units[u]);
}

/* psql's title of an object. */
static const char *
describe_title(const char *kind)
{
	static const char *const names[][2] = {
		{ "table", "Table" }, { "partitioned_table", "Partitioned table" }, { "view", "View" },
		{ "materialized_view", "Materialized view" }, { "foreign_table", "Foreign table" },
		{ "sequence", "Sequence" }, { "function", "Function" }, { "procedure", "Procedure" },
		{ "aggregate", "Aggregate" }, { "window", "Window function" }, { "enum", "Enum type" },
		{ "domain", "Domain" }, { "composite", "Composite type" }, { "range", "Range type" },
	};
	for (size_t i = 0; i < nitems(names); i++)
		if (strcmp(kind, names[i][0]) == 0)
			return names[i][1];
	return "Object";
}

/* The columns table: Column | Type | Collation | Nullable | Default. */
static void
describe_columns(const msgpack_object *cols)
{
	static const char *const headers[] = { "Column", "Type", "Collation", "Nullable", "Default" };
	struct table *t = table_new(headers, 5);
	for (uint32_t i = 0; cols && i < cols->via.array.size; i++) {
		const msgpack_object *c = &cols->via.array.ptr[i];
		char *ident = field(c, "identity"), *gen = field(c, "generated");
		char *def;
		if (*gen)
			def = xasprintf("generated always as (%s) stored", gen);
		else if (*ident)
			def = xasprintf("generated %s as identity", strcmp(ident, "always") == 0 ?
			    "always" : "by default");
		else
			def = field(c, "default");
		char **cells = xcalloc(5, sizeof *cells);
		cells[0] = field(c, "name");
		cells[1] = field(c, "type");
		cells[2] = field(c, "collation");
		cells[3] = xstrdup(bool_field(c, "nullable") ? "" : "not null");
		cells[4] = def;
		table_add(t, cells);
		free(ident);
		free(gen);
	}
	table_print(t, stdout);
	table_free(t);
}

/* A section of lines: its heading, then each line indented. */
static void
section(const char *heading, struct strbuf *lines)
{
	if (lines->len)
		printf("%s:\n%s", heading, lines->buf);
	sb_free(lines);
	sb_init(lines);
}

/* What follows an index's "USING ": "btree (id)". */
static const char *
index_method(const char *def)
{
	const char *u = strstr(def, " USING ");
	return u ? u + strlen(" USING ") : def;
}

/* psql's \d: the columns, then indexes, constraints, keys both ways, and
 * triggers, each under its heading. */
static void
describe_print(const msgpack_object *o)
{
	char *schema = field(o, "schema"), *name = field(o, "name"), *kind = field(o, "kind");
	struct strbuf qn, sb;
	sb_init(&qn);
	sb_init(&sb);
	sqlident_add_qualified(&qn, schema, name);
	printf("%s \"%s.%s\"\n", describe_title(kind), schema, name);
	const msgpack_object *cols = array_field(o, "columns");
	if (cols && cols->via.array.size)
		describe_columns(cols);
	const msgpack_object *parent = mo_map_get(o, "partition_of");
	if (parent && parent->type == MSGPACK_OBJECT_MAP) {
		char *ps = field(parent, "schema"), *pn = field(parent, "name"), *b = field(parent, "bound");
		struct strbuf p;
		sb_init(&p);
		sqlident_add_qualified(&p, ps, pn);
		printf("Partition of: %s %s\n", p.buf, b);
		sb_free(&p);
		free(ps);
		free(pn);
		free(b);
	}
	char *pkey = field(o, "partition_key");
	if (*pkey)
		printf("Partition key: %s\n", pkey);
	free(pkey);
	const msgpack_object *values = array_field(o, "values");
	for (uint32_t i = 0; values && i < values->via.array.size; i++) {
		char *v = mo_strdup(&values->via.array.ptr[i]);
		sb_adds(&sb, "    ");
		quote_literal(&sb, v ? v : "");
		sb_adds(&sb, "\n");
		free(v);
	}
	section("Values", &sb);

	const msgpack_object *idx = array_field(o, "indexes");
	for (uint32_t i = 0; idx && i < idx->via.array.size; i++) {
		const msgpack_object *x = &idx->via.array.ptr[i];
		char *n = field(x, "name"), *def = field(x, "definition"), *con = field(x, "constraint");
		sb_addf(&sb, "    \"%s\"%s %s%s\n", n, bool_field(x, "primary") ? " PRIMARY KEY," :
		    bool_field(x, "unique") ? (*con ? " UNIQUE CONSTRAINT," : " UNIQUE,") : "",
		    index_method(def), bool_field(x, "valid") ? "" : " INVALID");
		free(n);
		free(def);
		free(con);
	}
	section("Indexes", &sb);
	const msgpack_object *cons = array_field(o, "constraints");
	static const char *const contypes[][2] = { { "check", "Check constraints" },
		{ "exclusion", "Exclusion constraints" } };
	for (size_t k = 0; k < nitems(contypes); k++) {
		for (uint32_t i = 0; cons && i < cons->via.array.size; i++) {
			const msgpack_object *c = &cons->via.array.ptr[i];
			char *t = field(c, "type");
			if (strcmp(t, contypes[k][0]) == 0) {
				char *n = field(c, "name"), *def = field(c, "definition");
				sb_addf(&sb, "    \"%s\" %s\n", n, def);
				free(n);
				free(def);
			}
			free(t);
		}
		section(contypes[k][1], &sb);
	}
	const msgpack_object *fks = array_field(o, "foreign_keys");
	for (uint32_t i = 0; fks && i < fks->via.array.size; i++) {
		char *n = field(&fks->via.array.ptr[i], "name");
		char *def = field(&fks->via.array.ptr[i], "definition");
		sb_addf(&sb, "    \"%s\" %s\n", n, def);
		free(n);
		free(def);
	}
	section("Foreign-key constraints", &sb);
	const msgpack_object *refs = array_field(o, "referenced_by");
	for (uint32_t i = 0; refs && i < refs->via.array.size; i++) {
		const msgpack_object *r = &refs->via.array.ptr[i];
		char *rs = field(r, "schema"), *rt = field(r, "table"), *n = field(r, "name");
		char *def = field(r, "definition");
		struct strbuf t;
		sb_init(&t);
		sqlident_add_qualified(&t, rs, rt);
		sb_addf(&sb, "    TABLE %s CONSTRAINT \"%s\" %s\n", t.buf, n, def);
		sb_free(&t);
		free(rs);
		free(rt);
		free(n);
		free(def);
	}
	section("Referenced by", &sb);
	const msgpack_object *trg = array_field(o, "triggers");
	for (uint32_t i = 0; trg && i < trg->via.array.size; i++) {
		const msgpack_object *x = &trg->via.array.ptr[i];
		char *def = field(x, "definition"), *en = field(x, "enabled");
		const char *body = strncmp(def, "CREATE TRIGGER ", 15) == 0 ? def + 15 : def;
		sb_addf(&sb, "    %s%s\n", body, strcmp(en, "disabled") == 0 ? " (disabled)" : "");
		free(def);
		free(en);
	}
	section("Triggers", &sb);
	const msgpack_object *parts = array_field(o, "partitions");
	for (uint32_t i = 0; parts && i < parts->via.array.size; i++) {
		const msgpack_object *p = &parts->via.array.ptr[i];
		char *ps = field(p, "schema"), *pn = field(p, "name"), *b = field(p, "bound");
		sb_adds(&sb, "    ");
		sqlident_add_qualified(&sb, ps, pn);
		sb_addf(&sb, " %s\n", b);
		free(ps);
		free(pn);
		free(b);
	}
	section("Partitions", &sb);
	char *def = field(o, "definition");
	if (*def && (strcmp(kind, "view") == 0 || strcmp(kind, "materialized_view") == 0))
		printf("View definition:\n%s\n", def);
	else if (*def)
		printf("%s\n", def);
	free(def);
	char *comment = field(o, "comment");
	if (*comment)
		printf("Comment: %s\n", comment);
	free(comment);
	int64_t size = mo_map_int(o, "size_bytes", -1), rows = mo_map_int(o, "estimated_rows", -1);
	if (size >= 0) {
		char *sz = size_pretty(size);
		printf("Size: %s\n", sz);
		free(sz);
	}
	if (rows >= 0)
		printf("Rows (estimate): %lld\n", (long long)rows);
	sb_free(&sb);
	sb_free(&qn);
	free(schema);
	free(name);
	free(kind);
}

/* describe_object's answer. */
static void
describe_object_result(const msgpack_object *r, void *arg)
{
	struct describing *d = arg;
	if (ctl.json) {
		json_value(stdout, r);
		printf("\n");
	} else if (d->ddl) {
		char *ddl = field(r, "ddl");
		fputs(ddl, stdout);
		free(ddl);
	} else {
		describe_print(r);
	}
	const msgpack_object *w = array_field(r, "warnings");
	for (uint32_t i = 0; w && i < w->via.array.size; i++) {
		char *s = mo_strdup(&w->via.array.ptr[i]);
		fprintf(stderr, "warning: %s\n", s ? s : "");
		free(s);
	}
}

/* describe [NAME]: a database object (or its DDL); without NAME the broker's methods. */
int
cmd_describe(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connection", required_argument, NULL, 'c' },
		{ "kind", required_argument, NULL, 'k' },
		{ "ddl", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct describing d = { 0 };
	const char *conn_arg = NULL;
	int ch;
	if (argc == 1)
		return cmd_methods(argc, argv); /* what `describe` always printed */
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:k:D", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': conn_arg = optarg; break;
		case 'k': d.kind = optarg; break;
		case 'D': d.ddl = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return EXIT_USAGE;
	name_split(argv[optind], false, &d.schema, &d.name);
	d.conn = resolve_connection(conn_arg);
	int r = EXIT_ERR;
	if (d.conn && d.schema == NULL)
		r = ctl_call(M_GET_SCHEMA, pack_find_schema, &d, find_schema_result, &d, NULL, NULL);
	if (d.conn && d.schema)
		r = ctl_call(M_DESCRIBE_OBJECT, pack_describe, &d, describe_object_result, &d, NULL, NULL);
	free(d.conn);
	free(d.schema);
	free(d.name);
	return r;
}

/*
 * pg-catalog.c — reading the catalog: the orders `catalog` (get_schema's
 * tree of every schema's objects) and `describe` (describe_object: one
 * object in full, with the DDL that recreates it).
 *
 * Each read is a few set-based statements on pg_catalog (psql's describe.c
 * is the model: one query per kind of object, names through format_type and
 * the pg_get_*def functions), run one after the other as a job on the
 * session (pgq_ops, pg-query.c), so it is cancelled with cancel_query like
 * any query. The statements that differ between PostgreSQL 12 and 17 are
 * built in one place, catalog_sql_*() below, from the server's version.
 *
 * A job runs inside a savepoint of its own (in a transaction of its own
 * when the session is idle, else in the user's): a statement the role may
 * not run (42501, a revoked catalog) is rolled back to the savepoint and
 * becomes a warning, and the rest of the read goes on; at the end the
 * savepoint (or the job's own transaction) is rolled back, so the user's
 * transaction is as it was. describe runs with search_path = pg_catalog,
 * pg_temp (SET LOCAL, undone with the savepoint), so every name in its DDL
 * comes out qualified, as pg_dump writes it.
 *
 * The answer is packed straight onto the broker link, once: the broker
 * keeps get_schema's bytes as they are (broker/m-schema.c).
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "msg.h"
#include "pg.h"
#include "proto.h"
#include "quote.h"
#include "util.h"
#include "worker.h"

#define SAVEPOINT "tusk_catalog"
#define STEPS_MAX 14
#define WARNINGS_MAX 32

enum job_kind { JOB_SCHEMA, JOB_DESCRIBE };
enum job_phase { PH_OPEN, PH_STEPS, PH_RECOVER, PH_CLOSE };
/* What describe found: a relation or sequence, a function, a type. */
enum obj_class { OC_NONE, OC_REL, OC_SEQ, OC_FUNC, OC_TYPE };

/* The statements of each read, by index into job->res. */
enum { S_PATH, S_SCHEMAS, S_RELS, S_COLS, S_FUNCS, S_SEQS, S_TYPES, S_ENUMS, S_EXTS, S_NSCHEMA };
enum { D_RESOLVE, D_RESOLVE_FN, D_RESOLVE_TYPE, D_INFO, D_COLS, D_CONS, D_REFBY, D_INDEXES, D_TRIGGERS, D_PARTS, D_OWNED,
	D_ITEMS, D_NDESCRIBE };

struct job {
	enum job_kind kind;
	enum job_phase phase;
	bool system;
	bool began;	     /* BEGIN was ours: the session was idle */
	int version;	     /* PQserverVersion */
	char *schema, *name, *want;
	int step;	     /* the running statement's index */
	bool step_failed;    /* it failed in a way that becomes a warning */
	bool steps[STEPS_MAX]; /* which statements this job runs */
	PGresult *res[STEPS_MAX];
	char *warnings[WARNINGS_MAX];
	int nwarnings;
	/* describe */
	enum obj_class oc;
	char okind;	     /* relkind, prokind or typtype */
	char oid[24];
};

/* --- small helpers ---------------------------------------------------- */

/* A value, or NULL for SQL NULL (or a missing result). */
static const char *
val(const PGresult *r, int row, int col)
{
	if (r == NULL || row >= PQntuples(r) || col >= PQnfields(r) || PQgetisnull(r, row, col))
		return NULL;
	return PQgetvalue(r, row, col);
}

/* A boolean value (NULL is false). */
static bool
bval(const PGresult *r, int row, int col)
{
	const char *v = val(r, row, col);
	return v && v[0] == 't';
}

/* A value as an integer (def when NULL). */
static long long
ival(const PGresult *r, int row, int col, long long def)
{
	const char *v = val(r, row, col);
	return v ? strtoll(v, NULL, 10) : def;
}

static int
nrows(const PGresult *r)
{
	return r ? PQntuples(r) : 0;
}

/* Pack a value as a str, or nil. */
static void
pack_val(msgpack_packer *pk, const PGresult *r, int row, int col)
{
	mp_pack_cstr(pk, val(r, row, col));
}

/*
 * A one-dimensional text[] in PostgreSQL's output format ({a,"b c"}) into
 * strings (NULL elements stay NULL). The count, or -1 when malformed.
 */
static int
pgarr_parse(const char *s, char ***ret)
{
	*ret = NULL;
	if (s == NULL || *s != '{')
		return -1;
	s++;
	int n = 0, cap = 0;
	char **v = NULL;
	if (*s == '}')
		return 0;
	for (;;) {
		struct strbuf sb;
		sb_init(&sb);
		bool quoted = *s == '"';
		if (quoted) {
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && s[1])
					s++;
				sb_addc(&sb, *s);
			}
			if (*s != '"')
				goto bad;
			s++;
		} else {
			for (; *s && *s != ',' && *s != '}'; s++)
				sb_addc(&sb, *s);
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			v = xrealloc(v, (size_t)cap * sizeof *v);
		}
		char *e = sb_detach(&sb);
		if (!quoted && strcmp(e, "NULL") == 0) {
			free(e);
			e = NULL;
		}
		v[n++] = e;
		if (*s == '}')
			break;
		if (*s != ',')
			goto bad_nosb;
		s++;
		continue;
bad:
		sb_free(&sb);
bad_nosb:
		for (int i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return -1;
	}
	*ret = v;
	return n;
}

/* Free what pgarr_parse made. */
static void
pgarr_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Pack a text[] value as an array of str (a malformed one packs []). */
static void
pack_arr(msgpack_packer *pk, const PGresult *r, int row, int col)
{
	char **v;
	int n = pgarr_parse(val(r, row, col), &v);
	if (n < 0)
		n = 0;
	msgpack_pack_array(pk, (size_t)n);
	for (int i = 0; i < n; i++)
		mp_pack_cstr(pk, v[i]);
	pgarr_free(v, n);
}

/* A run of rows sharing one oid (results are ordered by it). */
struct run {
	unsigned long oid;
	int start, count;
};

/* The runs of r's column col (r ordered by it). */
static struct run *
runs_build(const PGresult *r, int col, int *ret_n)
{
	int rows = nrows(r), n = 0;
	struct run *runs = xcalloc((size_t)MAX(rows, 1), sizeof *runs);
	for (int i = 0; i < rows; i++) {
		unsigned long oid = strtoul(PQgetvalue(r, i, col), NULL, 10);
		if (n && runs[n - 1].oid == oid) {
			runs[n - 1].count++;
			continue;
		}
		runs[n].oid = oid;
		runs[n].start = i;
		runs[n].count = 1;
		n++;
	}
	*ret_n = n;
	return runs;
}

/* bsearch's comparison of an oid with a run. */
static int
run_cmp(const void *key, const void *elem)
{
	unsigned long k = *(const unsigned long *)key, o = ((const struct run *)elem)->oid;
	return k < o ? -1 : k > o;
}

/* The run of oid (count 0 when it has none). */
static struct run
run_find(const struct run *runs, int n, const char *oid_text)
{
	unsigned long oid = strtoul(oid_text, NULL, 10);
	const struct run *r = n ? bsearch(&oid, runs, (size_t)n, sizeof *runs, run_cmp) : NULL;
	struct run none = { oid, 0, 0 };
	return r ? *r : none;
}

/* --- the statements (the one place that knows server versions) ------------ */

/* The schemas a get_schema lists (n is pg_namespace). */
static const char *
nsp_filter(bool system)
{
	return system ?
	    "n.nspname <> 'pg_toast' and n.nspname !~ '^pg_(toast_)?temp_'" :
	    "n.nspname !~ '^pg_' and n.nspname <> 'information_schema'";
}

/* get_schema's statement number i. */
static char *
catalog_sql_schema(const struct job *j, int i)
{
	const char *f = nsp_filter(j->system);
	switch (i) {
	case S_PATH:
		return xstrdup("select s::text from pg_catalog.unnest(pg_catalog.current_schemas(false)) "
		    "with ordinality as t(s, i) order by i");
	case S_SCHEMAS:
		return xasprintf("select n.oid::int8, n.nspname::text, "
		    "pg_catalog.pg_get_userbyid(n.nspowner)::text, d.description "
		    "from pg_catalog.pg_namespace n left join pg_catalog.pg_description d on d.objoid = n.oid "
		    "and d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass and d.objsubid = 0 "
		    "where %s order by n.nspname", f);
	case S_RELS:
		/* reltuples is -1 for "never counted" from 14 on, 0 before */
		return xasprintf("select c.oid::int8, c.relnamespace::int8, c.relname::text, "
		    "c.relkind::text, d.description, "
		    "case when c.reltuples < 0 %s then null else c.reltuples::int8 end, "
		    "pn.nspname::text, pc.relname::text "
		    "from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
		    "left join pg_catalog.pg_description d on d.objoid = c.oid "
		    "and d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objsubid = 0 "
		    "left join pg_catalog.pg_inherits i on c.relispartition and i.inhrelid = c.oid "
		    "left join pg_catalog.pg_class pc on pc.oid = i.inhparent "
		    "left join pg_catalog.pg_namespace pn on pn.oid = pc.relnamespace "
		    "where c.relkind in ('r','p','v','m','f') and %s "
		    "order by c.relnamespace, c.relname",
		    j->version >= 140000 ? "" : "or (c.reltuples = 0 and c.relpages = 0)", f);
	case S_COLS:
		return xasprintf("select a.attrelid::int8, a.attname::text, "
		    "pg_catalog.format_type(a.atttypid, a.atttypmod), not a.attnotnull, "
		    "pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attidentity::text, "
		    "a.attgenerated::text, coalesce(a.attnum = any(pk.indkey), false), d.description "
		    "from pg_catalog.pg_attribute a join pg_catalog.pg_class c on c.oid = a.attrelid "
		    "join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
		    "left join pg_catalog.pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum "
		    "left join pg_catalog.pg_index pk on pk.indrelid = a.attrelid and pk.indisprimary "
		    "left join pg_catalog.pg_description d on d.objoid = a.attrelid "
		    "and d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objsubid = a.attnum "
		    "where a.attnum > 0 and not a.attisdropped and c.relkind in ('r','p','v','m','f') "
		    "and %s order by a.attrelid, a.attnum", f);
	case S_FUNCS:
		return xasprintf("select p.pronamespace::int8, p.proname::text, "
		    "pg_catalog.pg_get_function_arguments(p.oid), pg_catalog.pg_get_function_result(p.oid), "
		    "p.prokind::text, pg_catalog.pg_get_function_identity_arguments(p.oid), d.description "
		    "from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace "
		    "left join pg_catalog.pg_description d on d.objoid = p.oid "
		    "and d.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objsubid = 0 "
		    "where %s and not exists (select 1 from pg_catalog.pg_depend dep "
		    "where dep.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and dep.objid = p.oid "
		    "and dep.deptype in ('e','i')) "
		    "order by p.pronamespace, p.proname, 6", f);
	case S_SEQS:
		return xasprintf("select c.relnamespace::int8, c.relname::text "
		    "from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
		    "where c.relkind = 'S' and %s order by c.relnamespace, c.relname", f);
	case S_TYPES:
		return xasprintf("select t.typnamespace::int8, t.oid::int8, t.typname::text, "
		    "t.typtype::text, case when t.typtype = 'd' then "
		    "pg_catalog.format_type(t.typbasetype, t.typtypmod) end, d.description "
		    "from pg_catalog.pg_type t join pg_catalog.pg_namespace n on n.oid = t.typnamespace "
		    "left join pg_catalog.pg_class c on c.oid = t.typrelid "
		    "left join pg_catalog.pg_description d on d.objoid = t.oid "
		    "and d.classoid = 'pg_catalog.pg_type'::pg_catalog.regclass and d.objsubid = 0 "
		    "where (t.typtype in ('e','d','r') or (t.typtype = 'c' and c.relkind = 'c')) and %s "
		    "order by t.typnamespace, t.typname", f);
	case S_ENUMS:
		return xasprintf("select e.enumtypid::int8, e.enumlabel::text "
		    "from pg_catalog.pg_enum e join pg_catalog.pg_type t on t.oid = e.enumtypid "
		    "join pg_catalog.pg_namespace n on n.oid = t.typnamespace "
		    "where %s order by e.enumtypid, e.enumsortorder", f);
	case S_EXTS:
		return xstrdup("select x.extname::text, x.extversion, n.nspname::text "
		    "from pg_catalog.pg_extension x join pg_catalog.pg_namespace n on n.oid = x.extnamespace "
		    "order by x.extname");
	}
	return NULL;
}

/* What each get_schema statement reads (for warnings). */
static const char *const schema_what[S_NSCHEMA] = {
	"the search path", "schemas", "tables and views", "columns", "functions and procedures",
	"sequences", "types", "enum labels", "extensions",
};

static const char *const describe_what[D_NDESCRIBE] = {
	"tables, views and sequences", "functions", "types", "the object's details", "columns", "constraints", "foreign keys to it",
	"indexes", "triggers", "partitions", "owned sequences", "members",
};

/* Names of a text[] of attribute numbers' columns of relation rel (SQL). */
#define ATTNAMES(nums, rel) \
	"array(select a.attname from pg_catalog.unnest(" nums ") with ordinality " \
	"k(n, o) join pg_catalog.pg_attribute a on a.attrelid = " rel " and a.attnum = k.n " \
	"order by k.o)::text[]"

/* The columns of a relation (or a composite type's attributes): where. */
static char *
columns_sql(const char *attrelid)
{
	return xasprintf("select a.attnum::int, a.attname::text, "
	    "pg_catalog.format_type(a.atttypid, a.atttypmod), not a.attnotnull, "
	    "pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attidentity::text, a.attgenerated::text, "
	    "d.description, case when a.attcollation <> t.typcollation then "
	    "pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) end, "
	    "a.attislocal, a.attinhcount::int, "
	    "case when a.attstorage <> t.typstorage then a.attstorage::text end, "
	    "coalesce(a.attstattarget::int, -1), "
	    "(select pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) || ' ' || "
	    "pg_catalog.quote_literal(o.option_value), ', ') "
	    "from pg_catalog.pg_options_to_table(a.attfdwoptions) o), "
	    "coalesce(a.attnum = any(pk.conkey), false) "
	    "from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid "
	    "left join pg_catalog.pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum "
	    "left join pg_catalog.pg_description d on d.objoid = a.attrelid "
	    "and d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objsubid = a.attnum "
	    "left join pg_catalog.pg_collation co on co.oid = a.attcollation "
	    "left join pg_catalog.pg_namespace cn on cn.oid = co.collnamespace "
	    "left join pg_catalog.pg_constraint pk on pk.conrelid = a.attrelid and pk.contype = 'p' "
	    "where a.attrelid = %s and a.attnum > 0 and not a.attisdropped order by a.attnum",
	    attrelid);
}

/* describe's statement number i (its object's oid is $1 from D_INFO on). */
static char *
catalog_sql_describe(const struct job *j, int i)
{
	switch (i) {
	/* the candidates, one statement per catalog so that one this role may
	 * not read does not hide the others */
	case D_RESOLVE:
		return xstrdup("select 'r', c.oid::int8, c.relkind::text from pg_catalog.pg_class c "
		    "join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
		    "where n.nspname = $1 and c.relname = $2 and c.relkind in ('r','p','v','m','f','S')");
	case D_RESOLVE_FN:
		return xstrdup("select 'f', p.oid::int8, p.prokind::text from pg_catalog.pg_proc p "
		    "join pg_catalog.pg_namespace n on n.oid = p.pronamespace where n.nspname = $1 and "
		    "(p.proname = $2 or p.proname || '(' || "
		    "pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' = $2 or "
		    "p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' = $2) "
		    "and not exists (select 1 from pg_catalog.pg_depend dep "
		    "where dep.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and dep.objid = p.oid "
		    "and dep.deptype = 'i')");
	case D_RESOLVE_TYPE:
		return xstrdup("select 't', t.oid::int8, t.typtype::text from pg_catalog.pg_type t "
		    "join pg_catalog.pg_namespace n on n.oid = t.typnamespace "
		    "left join pg_catalog.pg_class c on c.oid = t.typrelid "
		    "where n.nspname = $1 and t.typname = $2 and "
		    "(t.typtype in ('e','d','r') or (t.typtype = 'c' and c.relkind = 'c'))");
	case D_INFO:
		if (j->oc == OC_REL)
			return xstrdup("select n.nspname::text, c.relname::text, c.relkind::text, "
			    "pg_catalog.pg_get_userbyid(c.relowner)::text, d.description, "
			    "case when c.reltuples >= 0 and c.relkind in ('r','m','f','p') "
			    "then c.reltuples::int8 end, "
			    "case when c.relkind in ('r','m') then pg_catalog.pg_total_relation_size(c.oid) "
			    "when c.relkind = 'p' then (select pg_catalog.sum("
			    "pg_catalog.pg_total_relation_size(t.relid))::int8 "
			    "from pg_catalog.pg_partition_tree(c.oid) t) end, "
			    "c.relpersistence::text, "
			    "(select pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) || '=' || "
			    "pg_catalog.quote_literal(o.option_value), ', ') "
			    "from pg_catalog.pg_options_to_table(c.reloptions) o), "
			    "case when c.relkind = 'p' then pg_catalog.pg_get_partkeydef(c.oid) end, "
			    "pn.nspname::text, pc.relname::text, pg_catalog.pg_get_expr(c.relpartbound, c.oid), "
			    "case when c.relkind in ('v','m') then pg_catalog.pg_get_viewdef(c.oid) end, "
			    "c.relispopulated, c.relrowsecurity, c.relforcerowsecurity, c.relreplident::text, "
			    "fs.srvname::text, "
			    "(select pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) || ' ' || "
			    "pg_catalog.quote_literal(o.option_value), ', ') "
			    "from pg_catalog.pg_options_to_table(ft.ftoptions) o), "
			    "case when am.amname <> 'heap' then am.amname::text end, ts.spcname::text, "
			    "(select pg_catalog.string_agg(pg_catalog.quote_ident(hn.nspname) || '.' || "
			    "pg_catalog.quote_ident(hc.relname), ', ' order by h.inhseqno) "
			    "from pg_catalog.pg_inherits h join pg_catalog.pg_class hc on hc.oid = h.inhparent "
			    "join pg_catalog.pg_namespace hn on hn.oid = hc.relnamespace "
			    "where h.inhrelid = c.oid and not c.relispartition) "
			    "from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
			    "left join pg_catalog.pg_description d on d.objoid = c.oid "
			    "and d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objsubid = 0 "
			    "left join pg_catalog.pg_inherits i on c.relispartition and i.inhrelid = c.oid "
			    "left join pg_catalog.pg_class pc on pc.oid = i.inhparent "
			    "left join pg_catalog.pg_namespace pn on pn.oid = pc.relnamespace "
			    "left join pg_catalog.pg_foreign_table ft on ft.ftrelid = c.oid "
			    "left join pg_catalog.pg_foreign_server fs on fs.oid = ft.ftserver "
			    "left join pg_catalog.pg_am am on am.oid = c.relam "
			    "left join pg_catalog.pg_tablespace ts on ts.oid = c.reltablespace "
			    "where c.oid = $1");
		if (j->oc == OC_SEQ)
			return xstrdup("select n.nspname::text, c.relname::text, c.relkind::text, "
			    "pg_catalog.pg_get_userbyid(c.relowner)::text, d.description, "
			    "pg_catalog.format_type(s.seqtypid, null), s.seqstart::text, "
			    "s.seqincrement::text, s.seqmin::text, s.seqmax::text, s.seqcache::text, "
			    "s.seqcycle, o.nspname::text, o.relname::text, o.attname::text, o.deptype::text, "
			    "pg_catalog.pg_total_relation_size(c.oid) "
			    "from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
			    "join pg_catalog.pg_sequence s on s.seqrelid = c.oid "
			    "left join pg_catalog.pg_description d on d.objoid = c.oid "
			    "and d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objsubid = 0 "
			    "left join lateral (select tn.nspname, tc.relname, a.attname, dep.deptype "
			    "from pg_catalog.pg_depend dep join pg_catalog.pg_class tc on tc.oid = dep.refobjid "
			    "join pg_catalog.pg_namespace tn on tn.oid = tc.relnamespace "
			    "join pg_catalog.pg_attribute a on a.attrelid = tc.oid and a.attnum = dep.refobjsubid "
			    "where dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
			    "and dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
			    "and dep.objid = c.oid and dep.refobjsubid > 0 and dep.deptype in ('a','i') "
			    "limit 1) o on true where c.oid = $1");
		if (j->oc == OC_FUNC)
			return xstrdup("select n.nspname::text, p.proname::text, p.prokind::text, "
			    "pg_catalog.pg_get_userbyid(p.proowner)::text, d.description, "
			    "pg_catalog.pg_get_function_arguments(p.oid), "
			    "pg_catalog.pg_get_function_result(p.oid), "
			    "pg_catalog.pg_get_function_identity_arguments(p.oid), "
			    "case when p.prokind <> 'a' then pg_catalog.pg_get_functiondef(p.oid) end, "
			    "a.aggkind::text, a.aggtransfn::text, pg_catalog.format_type(a.aggtranstype, null), "
			    "a.aggtransspace::int, case when a.aggfinalfn::oid <> 0 then a.aggfinalfn::text end, "
			    "a.aggfinalextra, case when a.aggcombinefn::oid <> 0 then a.aggcombinefn::text end, "
			    "case when a.aggserialfn::oid <> 0 then a.aggserialfn::text end, "
			    "case when a.aggdeserialfn::oid <> 0 then a.aggdeserialfn::text end, a.agginitval, "
			    "(select o.oprname::text from pg_catalog.pg_operator o where o.oid = a.aggsortop), "
			    "p.proparallel::text, a.aggfinalmodify::text "
			    "from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace "
			    "left join pg_catalog.pg_aggregate a on a.aggfnoid = p.oid "
			    "left join pg_catalog.pg_description d on d.objoid = p.oid "
			    "and d.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objsubid = 0 "
			    "where p.oid = $1");
		/* a type; multirange types came in 14 */
		return xasprintf("select n.nspname::text, t.typname::text, t.typtype::text, "
		    "pg_catalog.pg_get_userbyid(t.typowner)::text, d.description, "
		    "pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, "
		    "case when t.typcollation <> coalesce(bt.typcollation, 0) then "
		    "pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) end, "
		    "pg_catalog.format_type(r.rngsubtype, null), "
		    "case when not opc.opcdefault then pg_catalog.quote_ident(opn.nspname) || '.' || "
		    "pg_catalog.quote_ident(opc.opcname) end, "
		    "case when r.rngcollation <> 0 and r.rngcollation <> st.typcollation then "
		    "pg_catalog.quote_ident(rcn.nspname) || '.' || pg_catalog.quote_ident(rco.collname) end, "
		    "case when r.rngcanonical::oid <> 0 then r.rngcanonical::text end, "
		    "case when r.rngsubdiff::oid <> 0 then r.rngsubdiff::text end, %s "
		    "from pg_catalog.pg_type t join pg_catalog.pg_namespace n on n.oid = t.typnamespace "
		    "left join pg_catalog.pg_type bt on bt.oid = t.typbasetype "
		    "left join pg_catalog.pg_collation co on co.oid = t.typcollation "
		    "left join pg_catalog.pg_namespace cn on cn.oid = co.collnamespace "
		    "left join pg_catalog.pg_range r on r.rngtypid = t.oid "
		    "left join pg_catalog.pg_type st on st.oid = r.rngsubtype "
		    "left join pg_catalog.pg_opclass opc on opc.oid = r.rngsubopc "
		    "left join pg_catalog.pg_namespace opn on opn.oid = opc.opcnamespace "
		    "left join pg_catalog.pg_collation rco on rco.oid = r.rngcollation "
		    "left join pg_catalog.pg_namespace rcn on rcn.oid = rco.collnamespace "
		    "left join pg_catalog.pg_description d on d.objoid = t.oid "
		    "and d.classoid = 'pg_catalog.pg_type'::pg_catalog.regclass and d.objsubid = 0 "
		    "where t.oid = $1",
		    j->version >= 140000 ? "pg_catalog.format_type(r.rngmultitypid, null)" : "null");
	case D_COLS:
		return columns_sql("$1");
	case D_CONS:
		return xstrdup("select co.conname::text, co.contype::text, "
		    "pg_catalog.pg_get_constraintdef(co.oid), co.conislocal, co.coninhcount::int, "
		    "co.convalidated, d.description, fn.nspname::text, fc.relname::text, "
		    ATTNAMES("co.conkey", "co.conrelid") ", " ATTNAMES("co.confkey", "co.confrelid") ", "
		    "co.confupdtype::text, co.confdeltype::text, co.confmatchtype::text, co.condeferrable, "
		    "co.condeferred, co.conparentid <> 0, co.connoinherit "
		    "from pg_catalog.pg_constraint co "
		    "left join pg_catalog.pg_class fc on fc.oid = co.confrelid "
		    "left join pg_catalog.pg_namespace fn on fn.oid = fc.relnamespace "
		    "left join pg_catalog.pg_description d on d.objoid = co.oid "
		    "and d.classoid = 'pg_catalog.pg_constraint'::pg_catalog.regclass "
		    "where co.conrelid = $1 order by co.contype = 'f', co.contype, co.conname");
	case D_REFBY:
		return xstrdup("select co.conname::text, n.nspname::text, c.relname::text, "
		    ATTNAMES("co.conkey", "co.conrelid") ", " ATTNAMES("co.confkey", "co.confrelid") ", "
		    "pg_catalog.pg_get_constraintdef(co.oid) "
		    "from pg_catalog.pg_constraint co join pg_catalog.pg_class c on c.oid = co.conrelid "
		    "join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
		    "where co.confrelid = $1 and co.contype = 'f' and co.conparentid = 0 "
		    "order by n.nspname, c.relname, co.conname");
	case D_INDEXES:
		return xstrdup("select ic.relname::text, pg_catalog.pg_get_indexdef(i.indexrelid), "
		    "i.indisprimary, i.indisunique, i.indisvalid, i.indisclustered, i.indisreplident, "
		    "d.description, co.conname::text, exists (select 1 from pg_catalog.pg_inherits h "
		    "where h.inhrelid = i.indexrelid), am.amname::text "
		    "from pg_catalog.pg_index i join pg_catalog.pg_class ic on ic.oid = i.indexrelid "
		    "join pg_catalog.pg_am am on am.oid = ic.relam "
		    "left join pg_catalog.pg_constraint co on co.conindid = i.indexrelid "
		    "and co.conrelid = i.indrelid and co.contype in ('p','u','x') "
		    "left join pg_catalog.pg_description d on d.objoid = i.indexrelid "
		    "and d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objsubid = 0 "
		    "where i.indrelid = $1 "
		    "order by i.indisprimary desc, i.indisunique desc, ic.relname");
	case D_TRIGGERS:
		/* a partition's clone of its parent's trigger: tgparentid from 13,
		 * an internal trigger (not listed) in 12 */
		return xasprintf("select t.tgname::text, pg_catalog.pg_get_triggerdef(t.oid), "
		    "t.tgenabled::text, d.description, %s "
		    "from pg_catalog.pg_trigger t left join pg_catalog.pg_description d on d.objoid = t.oid "
		    "and d.classoid = 'pg_catalog.pg_trigger'::pg_catalog.regclass "
		    "where t.tgrelid = $1 and not t.tgisinternal order by t.tgname",
		    j->version >= 130000 ? "t.tgparentid <> 0" : "false");
	case D_PARTS:
		return xstrdup("select n.nspname::text, c.relname::text, "
		    "pg_catalog.pg_get_expr(c.relpartbound, c.oid), c.relkind::text "
		    "from pg_catalog.pg_inherits i join pg_catalog.pg_class c on c.oid = i.inhrelid "
		    "join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
		    "where i.inhparent = $1 and c.relispartition "
		    "order by pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', n.nspname, c.relname");
	case D_OWNED:
		return xstrdup("select a.attname::text, sn.nspname::text, sc.relname::text, "
		    "dep.deptype::text, pg_catalog.format_type(s.seqtypid, null), s.seqstart::text, "
		    "s.seqincrement::text, s.seqmin::text, s.seqmax::text, s.seqcache::text, s.seqcycle, "
		    "d.description "
		    "from pg_catalog.pg_depend dep join pg_catalog.pg_class sc on sc.oid = dep.objid "
		    "and sc.relkind = 'S' join pg_catalog.pg_namespace sn on sn.oid = sc.relnamespace "
		    "join pg_catalog.pg_sequence s on s.seqrelid = sc.oid "
		    "join pg_catalog.pg_attribute a on a.attrelid = dep.refobjid "
		    "and a.attnum = dep.refobjsubid "
		    "left join pg_catalog.pg_description d on d.objoid = sc.oid "
		    "and d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objsubid = 0 "
		    "where dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
		    "and dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
		    "and dep.refobjid = $1 and dep.refobjsubid > 0 and dep.deptype in ('a','i') "
		    "order by a.attnum");
	case D_ITEMS:
		/* a type's members: enum labels, a composite's attributes, a
		 * domain's constraints */
		if (j->okind == 'e')
			return xstrdup("select e.enumlabel::text from pg_catalog.pg_enum e "
			    "where e.enumtypid = $1 order by e.enumsortorder");
		if (j->okind == 'c')
			return columns_sql("(select typrelid from pg_catalog.pg_type where oid = $1)");
		return xstrdup("select co.conname::text, pg_catalog.pg_get_constraintdef(co.oid), "
		    "co.convalidated, d.description from pg_catalog.pg_constraint co "
		    "left join pg_catalog.pg_description d on d.objoid = co.oid "
		    "and d.classoid = 'pg_catalog.pg_constraint'::pg_catalog.regclass "
		    "where co.contypid = $1 order by co.conname");
	}
	return NULL;
}

/* --- the job ----------------------------------------------------------- */

/* Forget a job (pgq_ops.free). */
static void
job_free(struct pgq *q)
{
	struct job *j = q->ctx;
	if (j == NULL)
		return;
	for (int i = 0; i < STEPS_MAX; i++)
		PQclear(j->res[i]);
	for (int i = 0; i < j->nwarnings; i++)
		free(j->warnings[i]);
	free(j->schema);
	free(j->name);
	free(j->want);
	free(j);
	q->ctx = NULL;
}

/* Keep a warning for the answer. */
static void
job_warn(struct job *j, char *w)
{
	if (j->nwarnings < WARNINGS_MAX)
		j->warnings[j->nwarnings++] = w;
	else
		free(w);
}

/* A statement's result (pgq_ops.result). */
static bool
job_result(struct pgq *q, PGresult *res)
{
	struct job *j = q->ctx;
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK) {
		if (j->phase == PH_STEPS && j->res[j->step] == NULL) {
			j->res[j->step] = res;
			return true;
		}
		return false;
	}
	if (st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY)
		return false;
	struct tusk_error e = TUSK_ERROR_INIT;
	pg_result_error(&e, res);
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (j->phase == PH_STEPS && !terr_isset(&q->err) && code && strcmp(code, "42501") == 0 &&
	    !(j->kind == JOB_DESCRIBE && j->step == D_INFO)) {
		/* a catalog this role may not read: what is visible, and a word */
		const char *what = j->kind == JOB_SCHEMA ? schema_what[j->step] : describe_what[j->step];
		job_warn(j, xasprintf("%s could not be read: %s", what, e.message));
		j->step_failed = true;
	} else if (!terr_isset(&q->err)) {
		terr_copy(&q->err, &e);
	}
	terr_clear(&e);
	return false;
}

/* The SQL that undoes the job's work on the session. */
static const char *
job_close_sql(const struct job *j)
{
	return j->began ? "ROLLBACK" :
	    "ROLLBACK TO SAVEPOINT " SAVEPOINT "; RELEASE SAVEPOINT " SAVEPOINT;
}

/* Send a statement; on failure the job answers at once. */
static bool
job_send(struct pgq *q, const char *sql, int nvalues, const char *const *values)
{
	if (pg_send(q, sql, nvalues, values) == 0)
		return true;
	pg.q = NULL;
	return false;
}

static void job_answer(struct pgq *q);

/* Run the next statement of the job, or close it. */
static void
job_next(struct pgq *q)
{
	struct job *j = q->ctx;
	int n = j->kind == JOB_SCHEMA ? S_NSCHEMA : D_NDESCRIBE;
	if (!terr_isset(&q->err)) {
		while (j->step < n && !j->steps[j->step])
			j->step++;
		if (j->step < n) {
			char *sql = j->kind == JOB_SCHEMA ? catalog_sql_schema(j, j->step) :
			    catalog_sql_describe(j, j->step);
			const char *values[2] = { j->schema, j->name };
			int nv = j->kind == JOB_SCHEMA ? 0 : j->step < D_INFO ? 2 : 1;
			if (j->kind == JOB_DESCRIBE && j->step >= D_INFO)
				values[0] = j->oid;
			log_trace("catalog %s: step %d", q->id, j->step);
			bool ok = job_send(q, sql, nv, nv ? values : NULL);
			free(sql);
			if (!ok)
				job_answer(q);
			return;
		}
	}
	j->phase = PH_CLOSE;
	if (!job_send(q, job_close_sql(j), 0, NULL))
		job_answer(q);
}

/* Which statements a describe runs for what it found. */
static void
describe_plan(struct job *j)
{
	memset(j->steps, 0, sizeof j->steps);
	j->steps[D_INFO] = true;
	if (j->oc == OC_REL) {
		j->steps[D_COLS] = j->steps[D_CONS] = j->steps[D_REFBY] = j->steps[D_INDEXES] = true;
		j->steps[D_TRIGGERS] = j->steps[D_PARTS] = j->steps[D_OWNED] = true;
	} else if (j->oc == OC_TYPE && j->okind != 'r') {
		j->steps[D_ITEMS] = true;
	}
}

/* The kind names of the contract, by class and catalog letter. */
static const char *
kind_name(enum obj_class oc, char k)
{
	switch (oc) {
	case OC_REL:
		return k == 'r' ? "table" : k == 'p' ? "partitioned_table" : k == 'v' ? "view" :
		    k == 'm' ? "materialized_view" : k == 'f' ? "foreign_table" : "relation";
	case OC_SEQ:
		return "sequence";
	case OC_FUNC:
		return k == 'p' ? "procedure" : k == 'a' ? "aggregate" : k == 'w' ? "window" : "function";
	case OC_TYPE:
		return k == 'e' ? "enum" : k == 'd' ? "domain" : k == 'c' ? "composite" : "range";
	default:
		return "object";
	}
}

/* Does a kind name given by the client match? ("relation" and "type" and
 * "function" match their whole families.) */
static bool
kind_matches(const char *want, enum obj_class oc, char k)
{
	if (want == NULL || strcmp(want, kind_name(oc, k)) == 0)
		return true;
	if (strcmp(want, "relation") == 0)
		return oc == OC_REL;
	if (strcmp(want, "type") == 0)
		return oc == OC_TYPE;
	if (strcmp(want, "routine") == 0)
		return oc == OC_FUNC;
	return false;
}

/* describe found its candidates: pick one, or say why not. */
static void
describe_resolved(struct pgq *q)
{
	struct job *j = q->ctx;
	const char *found = NULL;
	int n = 0;
	struct strbuf names, what;
	sb_init(&names);
	sb_init(&what);
	quote_qualified(&what, j->schema, j->name);
	enum obj_class oc = OC_NONE;
	char ok = 0;
	for (int step = D_RESOLVE; step <= D_RESOLVE_TYPE; step++) {
		const PGresult *r = j->res[step];
		for (int i = 0; i < nrows(r); i++) {
			const char *cls = val(r, i, 0), *k = val(r, i, 2);
			enum obj_class c = cls[0] == 'f' ? OC_FUNC : cls[0] == 't' ? OC_TYPE :
			    k[0] == 'S' ? OC_SEQ : OC_REL;
			if (!kind_matches(j->want, c, k[0]))
				continue;
			if (n++ == 0) {
				found = val(r, i, 1);
				oc = c;
				ok = k[0];
			}
			sb_addf(&names, "%s%s", n > 1 ? ", " : "", kind_name(c, k[0]));
		}
	}
	if (n == 0) {
		terr_set(&q->err, TE_VALIDATION, "no %s named %s", j->want ? j->want :
		    "table, view, sequence, function or type", what.buf);
		if (j->nwarnings)
			terr_detail(&q->err, "%s", j->warnings[0]);
		terr_hint(&q->err, "names are exact (case matters, no quotes); get_schema lists the objects");
	} else if (n > 1) {
		terr_set(&q->err, TE_VALIDATION, "%s names %d objects (%s)", what.buf, n, names.buf);
		terr_hint(&q->err, "give kind, or a function's argument types as in name(integer, text) "
		    "(get_schema's identity_arguments)");
	} else {
		snprintf(j->oid, sizeof j->oid, "%s", found);
		j->oc = oc;
		j->okind = ok;
		describe_plan(j);
	}
	sb_free(&names);
	sb_free(&what);
}

/* A statement of the job is over: go on with the next. */
static void
job_step_over(struct pgq *q)
{
	struct job *j = q->ctx;
	if (!terr_isset(&q->err) && j->kind == JOB_DESCRIBE && j->step == D_RESOLVE_TYPE)
		describe_resolved(q);
	j->step++;
	job_next(q);
}

/* Every result of a statement is in (pgq_ops.done). */
static void
job_done(struct pgq *q)
{
	struct job *j = q->ctx;
	pg.q = q; /* ours until answered */
	switch (j->phase) {
	case PH_OPEN:
		if (terr_isset(&q->err)) {
			if (j->began) {
				j->phase = PH_CLOSE;
				if (job_send(q, "ROLLBACK", 0, NULL))
					return;
			}
			job_answer(q);
			return;
		}
		j->phase = PH_STEPS;
		j->step = 0;
		job_next(q);
		return;
	case PH_STEPS:
		if (!terr_isset(&q->err) && j->step_failed) {
			j->step_failed = false;
			j->phase = PH_RECOVER;
			if (!job_send(q, j->kind == JOB_DESCRIBE ?
			    "ROLLBACK TO SAVEPOINT " SAVEPOINT "; SET LOCAL search_path = pg_catalog, pg_temp" :
			    "ROLLBACK TO SAVEPOINT " SAVEPOINT, 0, NULL))
				job_answer(q);
			return;
		}
		job_step_over(q);
		return;
	case PH_RECOVER:
		j->phase = PH_STEPS;
		job_step_over(q);
		return;
	case PH_CLOSE:
		job_answer(q);
		return;
	}
}

/* Open the job's savepoint (pgq_ops.start). */
static void
job_start(struct pgq *q)
{
	struct job *j = q->ctx;
	PGTransactionStatusType ts = PQtransactionStatus(pg.conn);
	pg.q = q;
	if (ts == PQTRANS_INERROR) {
		terr_set(&q->err, TE_DATABASE, "the session's transaction has failed: the catalog "
		    "cannot be read until it ends");
		terr_code(&q->err, "25P02");
		terr_hint(&q->err, "ROLLBACK the transaction (in the query tab), then try again");
		job_answer(q);
		return;
	}
	j->began = ts == PQTRANS_IDLE;
	j->version = PQserverVersion(pg.conn);
	j->phase = PH_OPEN;
	struct strbuf sb;
	sb_init(&sb);
	sb_adds(&sb, j->began ? "BEGIN; SAVEPOINT " SAVEPOINT : "SAVEPOINT " SAVEPOINT);
	if (j->kind == JOB_DESCRIBE)
		sb_adds(&sb, "; SET LOCAL search_path = pg_catalog, pg_temp");
	bool ok = job_send(q, sb.buf, 0, NULL);
	sb_free(&sb);
	if (!ok)
		job_answer(q);
}

static const struct pgq_ops job_ops = {
	.start = job_start,
	.result = job_result,
	.done = job_done,
	.free = job_free,
};

/* A job for an order, or NULL after answering why not. */
static struct pgq *
job_new(uint32_t msgid, const struct params *p, enum job_kind kind)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	if (!pg_ready_for_order(&e)) {
		wk_reply_error(msgid, &e);
		terr_clear(&e);
		return NULL;
	}
	struct job *j = xcalloc(1, sizeof *j);
	j->kind = kind;
	struct pgq *q = xcalloc(1, sizeof *q);
	q->id = params_strdup(p, "query_id");
	q->msgid = msgid;
	q->max_rows = -1;
	q->timeout_ms = -1;
	q->ops = &job_ops;
	q->ctx = j;
	return q;
}

void
pg_catalog(uint32_t msgid, const struct params *p)
{
	struct pgq *q = job_new(msgid, p, JOB_SCHEMA);
	if (q == NULL)
		return;
	struct job *j = q->ctx;
	j->system = params_bool(p, "system", false);
	for (int i = 0; i < S_NSCHEMA; i++)
		j->steps[i] = true;
	pg_run(q);
}

void
pg_describe(uint32_t msgid, const struct params *p)
{
	struct pgq *q = job_new(msgid, p, JOB_DESCRIBE);
	if (q == NULL)
		return;
	struct job *j = q->ctx;
	j->schema = params_strdup(p, "schema");
	j->name = params_strdup(p, "name");
	j->want = params_strdup(p, "kind");
	j->steps[D_RESOLVE] = j->steps[D_RESOLVE_FN] = j->steps[D_RESOLVE_TYPE] = true;
	pg_run(q);
}

/* --- get_schema's answer --------------------------------------------------- */

/* The columns of one relation (a run of S_COLS). */
static void
pack_columns(msgpack_packer *pk, const PGresult *r, struct run run)
{
	msgpack_pack_array(pk, (size_t)run.count);
	for (int i = run.start; i < run.start + run.count; i++) {
		const char *ident = val(r, i, 5), *gen = val(r, i, 6), *comment = val(r, i, 8);
		bool has_ident = ident && *ident, has_gen = gen && *gen;
		msgpack_pack_map(pk, 5 + has_ident + has_gen + (comment != NULL));
		mp_pack_key(pk, "name");
		pack_val(pk, r, i, 1);
		mp_pack_key(pk, "type");
		pack_val(pk, r, i, 2);
		mp_pack_key(pk, "nullable");
		mp_pack_bool(pk, bval(r, i, 3));
		mp_pack_key(pk, "default");
		mp_pack_cstr(pk, has_gen ? NULL : val(r, i, 4));
		mp_pack_key(pk, "primary_key");
		mp_pack_bool(pk, bval(r, i, 7));
		if (has_ident) {
			mp_pack_key(pk, "identity");
			mp_pack_cstr(pk, ident[0] == 'a' ? "always" : "by_default");
		}
		if (has_gen) {
			mp_pack_key(pk, "generated");
			mp_pack_cstr(pk, val(r, i, 4)); /* the expression */
		}
		if (comment) {
			mp_pack_key(pk, "comment");
			mp_pack_cstr(pk, comment);
		}
	}
}

struct schema_runs {
	struct run *rels, *cols, *funcs, *seqs, *types, *enums;
	int nrels, ncols, nfuncs, nseqs, ntypes, nenums;
};

/* One schema's relations. */
static void
pack_relations(msgpack_packer *pk, const struct job *j, const struct schema_runs *sr,
    const char *nspoid)
{
	const PGresult *r = j->res[S_RELS];
	struct run run = run_find(sr->rels, sr->nrels, nspoid);
	msgpack_pack_array(pk, (size_t)run.count);
	for (int i = run.start; i < run.start + run.count; i++) {
		bool part = val(r, i, 6) != NULL;
		const char *k = val(r, i, 3);
		msgpack_pack_map(pk, 5 + part);
		mp_pack_key(pk, "name");
		pack_val(pk, r, i, 2);
		mp_pack_key(pk, "kind");
		mp_pack_cstr(pk, kind_name(OC_REL, k[0]));
		mp_pack_key(pk, "comment");
		pack_val(pk, r, i, 4);
		mp_pack_key(pk, "estimated_rows");
		if (val(r, i, 5) && k[0] != 'v')
			msgpack_pack_int64(pk, ival(r, i, 5, 0));
		else
			msgpack_pack_nil(pk);
		mp_pack_key(pk, "columns");
		pack_columns(pk, j->res[S_COLS], run_find(sr->cols, sr->ncols, val(r, i, 0)));
		if (part) {
			mp_pack_key(pk, "parent");
			MP_PACK_FIELDS(pk, MPF_STR("schema", val(r, i, 6)), MPF_STR("name", val(r, i, 7)));
		}
	}
}

/* One schema's functions. */
static void
pack_functions(msgpack_packer *pk, const struct job *j, const struct schema_runs *sr,
    const char *nspoid)
{
	const PGresult *r = j->res[S_FUNCS];
	struct run run = run_find(sr->funcs, sr->nfuncs, nspoid);
	msgpack_pack_array(pk, (size_t)run.count);
	for (int i = run.start; i < run.start + run.count; i++) {
		const char *k = val(r, i, 4), *comment = val(r, i, 6);
		msgpack_pack_map(pk, 5 + (comment != NULL));
		mp_pack_key(pk, "name");
		pack_val(pk, r, i, 1);
		mp_pack_key(pk, "arguments");
		pack_val(pk, r, i, 2);
		mp_pack_key(pk, "result");
		pack_val(pk, r, i, 3);
		mp_pack_key(pk, "kind");
		mp_pack_cstr(pk, kind_name(OC_FUNC, k ? k[0] : 'f'));
		mp_pack_key(pk, "identity_arguments");
		pack_val(pk, r, i, 5);
		if (comment) {
			mp_pack_key(pk, "comment");
			mp_pack_cstr(pk, comment);
		}
	}
}

/* One schema's sequences (names). */
static void
pack_sequences(msgpack_packer *pk, const struct job *j, const struct schema_runs *sr,
    const char *nspoid)
{
	const PGresult *r = j->res[S_SEQS];
	struct run run = run_find(sr->seqs, sr->nseqs, nspoid);
	msgpack_pack_array(pk, (size_t)run.count);
	for (int i = run.start; i < run.start + run.count; i++)
		pack_val(pk, r, i, 1);
}

/* One schema's types. */
static void
pack_types(msgpack_packer *pk, const struct job *j, const struct schema_runs *sr,
    const char *nspoid)
{
	const PGresult *r = j->res[S_TYPES], *e = j->res[S_ENUMS];
	struct run run = run_find(sr->types, sr->ntypes, nspoid);
	msgpack_pack_array(pk, (size_t)run.count);
	for (int i = run.start; i < run.start + run.count; i++) {
		const char *k = val(r, i, 3), *base = val(r, i, 4), *comment = val(r, i, 5);
		bool is_enum = k[0] == 'e';
		msgpack_pack_map(pk, 2 + is_enum + (base != NULL) + (comment != NULL));
		mp_pack_key(pk, "name");
		pack_val(pk, r, i, 2);
		mp_pack_key(pk, "kind");
		mp_pack_cstr(pk, kind_name(OC_TYPE, k[0]));
		if (is_enum) {
			struct run er = run_find(sr->enums, sr->nenums, val(r, i, 1));
			mp_pack_key(pk, "values");
			msgpack_pack_array(pk, (size_t)er.count);
			for (int x = er.start; x < er.start + er.count; x++)
				pack_val(pk, e, x, 1);
		}
		if (base) {
			mp_pack_key(pk, "base_type");
			mp_pack_cstr(pk, base);
		}
		if (comment) {
			mp_pack_key(pk, "comment");
			mp_pack_cstr(pk, comment);
		}
	}
}

/* Pack the warnings array. */
static void
pack_warnings(msgpack_packer *pk, const struct job *j)
{
	msgpack_pack_array(pk, (size_t)j->nwarnings);
	for (int i = 0; i < j->nwarnings; i++)
		mp_pack_cstr(pk, j->warnings[i]);
}

/* get_schema's result, less version and fetched_at (wire_catalog_reply). */
static void
schema_pack(msgpack_packer *pk, const struct job *j)
{
	struct schema_runs sr;
	sr.rels = runs_build(j->res[S_RELS], 1, &sr.nrels);
	sr.cols = runs_build(j->res[S_COLS], 0, &sr.ncols);
	sr.funcs = runs_build(j->res[S_FUNCS], 0, &sr.nfuncs);
	sr.seqs = runs_build(j->res[S_SEQS], 0, &sr.nseqs);
	sr.types = runs_build(j->res[S_TYPES], 0, &sr.ntypes);
	sr.enums = runs_build(j->res[S_ENUMS], 0, &sr.nenums);

	const PGresult *s = j->res[S_SCHEMAS];
	msgpack_pack_map(pk, 8);
	mp_pack_key(pk, "schemas");
	msgpack_pack_array(pk, (size_t)nrows(s));
	for (int i = 0; i < nrows(s); i++) {
		const char *oid = val(s, i, 0);
		msgpack_pack_map(pk, 7);
		mp_pack_key(pk, "name");
		pack_val(pk, s, i, 1);
		mp_pack_key(pk, "owner");
		pack_val(pk, s, i, 2);
		mp_pack_key(pk, "comment");
		pack_val(pk, s, i, 3);
		mp_pack_key(pk, "relations");
		pack_relations(pk, j, &sr, oid);
		mp_pack_key(pk, "functions");
		pack_functions(pk, j, &sr, oid);
		mp_pack_key(pk, "sequences");
		pack_sequences(pk, j, &sr, oid);
		mp_pack_key(pk, "types");
		pack_types(pk, j, &sr, oid);
	}
	const PGresult *x = j->res[S_EXTS];
	mp_pack_key(pk, "extensions");
	msgpack_pack_array(pk, (size_t)nrows(x));
	for (int i = 0; i < nrows(x); i++)
		MP_PACK_FIELDS(pk, MPF_STR("name", val(x, i, 0)), MPF_STR("version", val(x, i, 1)),
		    MPF_STR("schema", val(x, i, 2)));
	const PGresult *sp = j->res[S_PATH];
	mp_pack_key(pk, "search_path");
	msgpack_pack_array(pk, (size_t)nrows(sp));
	for (int i = 0; i < nrows(sp); i++)
		pack_val(pk, sp, i, 0);
	mp_pack_key(pk, "database");
	mp_pack_cstr(pk, PQdb(pg.conn));
	mp_pack_key(pk, "user");
	mp_pack_cstr(pk, PQuser(pg.conn));
	mp_pack_key(pk, "server_version");
	msgpack_pack_int(pk, j->version);
	mp_pack_key(pk, "system");
	mp_pack_bool(pk, j->system);
	mp_pack_key(pk, "warnings");
	pack_warnings(pk, j);
	free(sr.rels);
	free(sr.cols);
	free(sr.funcs);
	free(sr.seqs);
	free(sr.types);
	free(sr.enums);
}

/* --- describe's answer and DDL -------------------------------------------- */

/* Append "schema.name" quoted. */
static void
sb_qname(struct strbuf *sb, const struct job *j)
{
	quote_qualified(sb, j->schema, j->name);
}

/* Append "COMMENT ON what target IS '...';" when there is a comment. */
static void
ddl_comment(struct strbuf *sb, const char *what, const char *target, const char *comment)
{
	if (comment == NULL)
		return;
	sb_addf(sb, "\nCOMMENT ON %s %s IS ", what, target);
	quote_literal(sb, comment);
	sb_adds(sb, ";\n");
}

/* A referential action's letter as SQL. */
static const char *
fk_action(const char *a)
{
	switch (a ? a[0] : 'a') {
	case 'r': return "RESTRICT";
	case 'c': return "CASCADE";
	case 'n': return "SET NULL";
	case 'd': return "SET DEFAULT";
	default: return "NO ACTION";
	}
}

/* The options of a sequence from columns at col of r (type, start, increment,
 * min, max, cache, cycle); with_type: AS type first. */
static void
ddl_seq_options(struct strbuf *sb, const PGresult *r, int row, int col, bool with_type)
{
	const char *sep = with_type ? "\n    " : " ";
	if (with_type)
		sb_addf(sb, "%sAS %s", sep, val(r, row, col));
	sb_addf(sb, "%sSTART WITH %s%sINCREMENT BY %s%sMINVALUE %s%sMAXVALUE %s%sCACHE %s%s%sCYCLE",
	    sep, val(r, row, col + 1), sep, val(r, row, col + 2), sep, val(r, row, col + 3), sep,
	    val(r, row, col + 4), sep, val(r, row, col + 5), sep, bval(r, row, col + 6) ? "" : "NO ");
}

/* Strip trailing white space and semicolons (view definitions end in ";"). */
static char *
sql_trimmed(const char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == ';' || s[n - 1] == ' ' || s[n - 1] == '\n'))
		n--;
	return xstrndup(s, n);
}

/* Is this column's identity/serial sequence one of D_OWNED's rows? */
static int
owned_row(const PGresult *owned, const char *attname, char deptype)
{
	for (int i = 0; i < nrows(owned); i++)
		if (strcmp(val(owned, i, 0), attname) == 0 && val(owned, i, 3)[0] == deptype)
			return i;
	return -1;
}

/* One column's definition in CREATE TABLE / CREATE TYPE. */
static void
ddl_column(struct strbuf *sb, const struct job *j, int i, bool composite)
{
	const PGresult *c = j->res[composite ? D_ITEMS : D_COLS], *owned = j->res[D_OWNED];
	const char *name = val(c, i, 1), *def = val(c, i, 4), *ident = val(c, i, 5);
	const char *gen = val(c, i, 6), *coll = val(c, i, 8), *fdwopts = val(c, i, 13);
	sb_adds(sb, "    ");
	quote_ident(sb, name);
	sb_addf(sb, " %s", val(c, i, 2));
	if (fdwopts)
		sb_addf(sb, " OPTIONS (%s)", fdwopts);
	if (coll)
		sb_addf(sb, " COLLATE %s", coll);
	if (composite)
		return;
	if (gen && *gen) {
		sb_addf(sb, " GENERATED ALWAYS AS (%s) STORED", def);
	} else if (ident && *ident) {
		sb_addf(sb, " GENERATED %s AS IDENTITY", ident[0] == 'a' ? "ALWAYS" : "BY DEFAULT");
		int o = owned_row(owned, name, 'i');
		if (o >= 0) {
			sb_adds(sb, " (SEQUENCE NAME ");
			quote_qualified(sb, val(owned, o, 1), val(owned, o, 2));
			ddl_seq_options(sb, owned, o, 4, false);
			sb_adds(sb, ")");
		}
	} else if (def) {
		sb_addf(sb, " DEFAULT %s", def);
	}
	if (!bval(c, i, 3))
		sb_adds(sb, " NOT NULL");
}

/* CREATE TABLE / FOREIGN TABLE / PARTITION OF, and what follows it. */
static void
ddl_relation(struct strbuf *sb, const struct job *j)
{
	const PGresult *info = j->res[D_INFO], *cols = j->res[D_COLS], *cons = j->res[D_CONS];
	const PGresult *idx = j->res[D_INDEXES], *trg = j->res[D_TRIGGERS], *owned = j->res[D_OWNED];
	char k = j->okind;
	struct strbuf qn;
	sb_init(&qn);
	sb_qname(&qn, j);
	const char *comment = val(info, 0, 4), *relopts = val(info, 0, 8);
	const char *am = val(info, 0, 20), *tablespace = val(info, 0, 21);
	bool is_part = val(info, 0, 10) != NULL;

	if (k == 'v' || k == 'm') {
		char *def = sql_trimmed(val(info, 0, 13) ? val(info, 0, 13) : "");
		sb_addf(sb, "CREATE %sVIEW %s", k == 'm' ? "MATERIALIZED " : "", qn.buf);
		if (am)
			sb_addf(sb, " USING %s", am);
		if (relopts)
			sb_addf(sb, " WITH (%s)", relopts);
		if (k == 'm' && tablespace) {
			sb_adds(sb, " TABLESPACE ");
			quote_ident(sb, tablespace);
		}
		sb_addf(sb, " AS\n%s", def);
		if (k == 'm')
			sb_addf(sb, "\n  WITH %sDATA", bval(info, 0, 14) ? "" : "NO ");
		sb_adds(sb, ";\n");
		free(def);
	} else {
		/* serial columns' sequences first (their defaults name them) */
		for (int i = 0; i < nrows(owned); i++) {
			if (val(owned, i, 3)[0] != 'a')
				continue;
			sb_adds(sb, "CREATE SEQUENCE ");
			quote_qualified(sb, val(owned, i, 1), val(owned, i, 2));
			ddl_seq_options(sb, owned, i, 4, true);
			sb_adds(sb, ";\n\n");
		}
		sb_addf(sb, "CREATE %s%sTABLE %s", val(info, 0, 7)[0] == 'u' ? "UNLOGGED " : "",
		    k == 'f' ? "FOREIGN " : "", qn.buf);
		if (is_part) {
			sb_adds(sb, " PARTITION OF ");
			quote_qualified(sb, val(info, 0, 10), val(info, 0, 11));
		}
		/* columns (a partition's come from its parent), then table constraints */
		struct strbuf items;
		sb_init(&items);
		for (int i = 0; i < nrows(cols) && !is_part; i++) {
			if (!bval(cols, i, 9))
				continue; /* inherited (INHERITS) */
			sb_adds(&items, items.len ? ",\n" : "\n");
			ddl_column(&items, j, i, false);
		}
		for (int i = 0; i < nrows(cons); i++) {
			const char *t = val(cons, i, 1);
			if (!bval(cons, i, 3) || bval(cons, i, 16) || !bval(cons, i, 5) ||
			    !strchr("cpux", t[0]))
				continue; /* inherited, not valid, a foreign key: later */
			sb_adds(&items, items.len ? ",\n" : "\n");
			sb_adds(&items, "    CONSTRAINT ");
			quote_ident(&items, val(cons, i, 0));
			sb_addf(&items, " %s", val(cons, i, 2));
		}
		if (items.len || !is_part) {
			sb_adds(sb, " (");
			if (items.len)
				sb_add(sb, items.buf, items.len);
			sb_adds(sb, "\n)");
		}
		sb_free(&items);
		if (is_part)
			sb_addf(sb, "\n%s", val(info, 0, 12));
		if (val(info, 0, 22))
			sb_addf(sb, "\nINHERITS (%s)", val(info, 0, 22));
		if (val(info, 0, 9))
			sb_addf(sb, "\nPARTITION BY %s", val(info, 0, 9));
		if (val(info, 0, 18)) {
			sb_adds(sb, "\nSERVER ");
			quote_ident(sb, val(info, 0, 18));
		}
		if (k == 'f' && val(info, 0, 19))
			sb_addf(sb, "\nOPTIONS (%s)", val(info, 0, 19));
		if (am && k != 'f')
			sb_addf(sb, "\nUSING %s", am);
		if (relopts)
			sb_addf(sb, "\nWITH (%s)", relopts);
		if (tablespace) {
			sb_adds(sb, "\nTABLESPACE ");
			quote_ident(sb, tablespace);
		}
		sb_adds(sb, ";\n");
	}

	/* a partition's own column defaults and NOT NULL */
	for (int i = 0; i < nrows(cols) && is_part; i++) {
		const char *gen = val(cols, i, 6), *ident = val(cols, i, 5);
		if ((gen && *gen) || (ident && *ident))
			continue;
		if (val(cols, i, 4)) {
			sb_addf(sb, "\nALTER TABLE ONLY %s ALTER COLUMN ", qn.buf);
			quote_ident(sb, val(cols, i, 1));
			sb_addf(sb, " SET DEFAULT %s;\n", val(cols, i, 4));
		}
		if (!bval(cols, i, 3)) {
			sb_addf(sb, "\nALTER TABLE ONLY %s ALTER COLUMN ", qn.buf);
			quote_ident(sb, val(cols, i, 1));
			sb_adds(sb, " SET NOT NULL;\n");
		}
	}
	/* column storage and statistics targets */
	for (int i = 0; i < nrows(cols); i++) {
		if (val(cols, i, 11)) {
			const char *st = val(cols, i, 11);
			sb_addf(sb, "\nALTER TABLE ONLY %s ALTER COLUMN ", qn.buf);
			quote_ident(sb, val(cols, i, 1));
			sb_addf(sb, " SET STORAGE %s;\n", st[0] == 'p' ? "PLAIN" : st[0] == 'e' ?
			    "EXTERNAL" : st[0] == 'm' ? "MAIN" : "EXTENDED");
		}
		if (ival(cols, i, 12, -1) >= 0) {
			sb_addf(sb, "\nALTER TABLE ONLY %s ALTER COLUMN ", qn.buf);
			quote_ident(sb, val(cols, i, 1));
			sb_addf(sb, " SET STATISTICS %lld;\n", ival(cols, i, 12, -1));
		}
	}
	/* constraints that are not valid yet, and foreign keys */
	for (int i = 0; i < nrows(cons); i++) {
		const char *t = val(cons, i, 1);
		if (!bval(cons, i, 3) || bval(cons, i, 16) || t[0] == 't')
			continue;
		if (t[0] != 'f' && bval(cons, i, 5))
			continue; /* in CREATE TABLE */
		sb_addf(sb, "\nALTER TABLE %s%s ADD CONSTRAINT ", t[0] == 'f' ? "" : "ONLY ", qn.buf);
		quote_ident(sb, val(cons, i, 0));
		sb_addf(sb, " %s;\n", val(cons, i, 2));
	}
	/* indexes that no constraint and no parent index makes */
	for (int i = 0; i < nrows(idx); i++) {
		if (val(idx, i, 8) || bval(idx, i, 9))
			continue;
		const char *def = val(idx, i, 1), *only = strstr(def, " ON ONLY ");
		sb_adds(sb, "\n");
		if (only) {
			sb_add(sb, def, (size_t)(only - def));
			sb_addf(sb, " ON %s", only + strlen(" ON ONLY "));
		} else {
			sb_adds(sb, def);
		}
		sb_adds(sb, ";\n");
	}
	for (int i = 0; i < nrows(idx); i++) {
		if (bval(idx, i, 5)) {
			sb_addf(sb, "\nALTER TABLE %s CLUSTER ON ", qn.buf);
			quote_ident(sb, val(idx, i, 0));
			sb_adds(sb, ";\n");
		}
		if (bval(idx, i, 6) && val(info, 0, 17)[0] == 'i' && (k == 'r' || k == 'p')) {
			sb_addf(sb, "\nALTER TABLE ONLY %s REPLICA IDENTITY USING INDEX ", qn.buf);
			quote_ident(sb, val(idx, i, 0));
			sb_adds(sb, ";\n");
		}
	}
	const char *ri = val(info, 0, 17);
	if (ri && (ri[0] == 'f' || ri[0] == 'n') && (k == 'r' || k == 'p'))
		sb_addf(sb, "\nALTER TABLE ONLY %s REPLICA IDENTITY %s;\n", qn.buf,
		    ri[0] == 'f' ? "FULL" : "NOTHING");
	/* triggers of its own (not a parent's clones) */
	for (int i = 0; i < nrows(trg); i++) {
		if (bval(trg, i, 4))
			continue;
		sb_addf(sb, "\n%s;\n", val(trg, i, 1));
		const char *en = val(trg, i, 2);
		if (en[0] != 'O') {
			sb_addf(sb, "\nALTER TABLE %s %s TRIGGER ", qn.buf, en[0] == 'D' ? "DISABLE" :
			    en[0] == 'R' ? "ENABLE REPLICA" : "ENABLE ALWAYS");
			quote_ident(sb, val(trg, i, 0));
			sb_adds(sb, ";\n");
		}
	}
	if (bval(info, 0, 15))
		sb_addf(sb, "\nALTER TABLE %s ENABLE ROW LEVEL SECURITY;\n", qn.buf);
	if (bval(info, 0, 16))
		sb_addf(sb, "\nALTER TABLE %s FORCE ROW LEVEL SECURITY;\n", qn.buf);
	for (int i = 0; i < nrows(owned); i++) {
		if (val(owned, i, 3)[0] != 'a')
			continue;
		sb_adds(sb, "\nALTER SEQUENCE ");
		quote_qualified(sb, val(owned, i, 1), val(owned, i, 2));
		sb_addf(sb, " OWNED BY %s.", qn.buf);
		quote_ident(sb, val(owned, i, 0));
		sb_adds(sb, ";\n");
	}

	/* comments */
	ddl_comment(sb, k == 'v' ? "VIEW" : k == 'm' ? "MATERIALIZED VIEW" : k == 'f' ?
	    "FOREIGN TABLE" : "TABLE", qn.buf, comment);
	for (int i = 0; i < nrows(cols); i++) {
		struct strbuf t;
		sb_init(&t);
		sb_addf(&t, "%s.", qn.buf);
		quote_ident(&t, val(cols, i, 1));
		ddl_comment(sb, "COLUMN", t.buf, val(cols, i, 7));
		sb_free(&t);
	}
	for (int i = 0; i < nrows(cons); i++) {
		if (!bval(cons, i, 3) || bval(cons, i, 16))
			continue;
		struct strbuf t;
		sb_init(&t);
		quote_ident(&t, val(cons, i, 0));
		sb_addf(&t, " ON %s", qn.buf);
		ddl_comment(sb, "CONSTRAINT", t.buf, val(cons, i, 6));
		sb_free(&t);
	}
	for (int i = 0; i < nrows(idx); i++) {
		struct strbuf t;
		sb_init(&t);
		quote_qualified(&t, j->schema, val(idx, i, 0));
		ddl_comment(sb, "INDEX", t.buf, val(idx, i, 7));
		sb_free(&t);
	}
	for (int i = 0; i < nrows(trg); i++) {
		if (bval(trg, i, 4))
			continue;
		struct strbuf t;
		sb_init(&t);
		quote_ident(&t, val(trg, i, 0));
		sb_addf(&t, " ON %s", qn.buf);
		ddl_comment(sb, "TRIGGER", t.buf, val(trg, i, 3));
		sb_free(&t);
	}
	for (int i = 0; i < nrows(owned); i++) {
		struct strbuf t;
		sb_init(&t);
		quote_qualified(&t, val(owned, i, 1), val(owned, i, 2));
		ddl_comment(sb, "SEQUENCE", t.buf, val(owned, i, 11));
		sb_free(&t);
	}
	sb_free(&qn);
}

/* CREATE SEQUENCE and OWNED BY. */
static void
ddl_sequence(struct strbuf *sb, const struct job *j)
{
	const PGresult *info = j->res[D_INFO];
	struct strbuf qn;
	sb_init(&qn);
	sb_qname(&qn, j);
	const char *dep = val(info, 0, 15);
	if (dep && dep[0] == 'i')
		sb_addf(sb, "-- %s is the identity sequence of ", qn.buf);
	else
		sb_addf(sb, "CREATE SEQUENCE %s", qn.buf);
	if (dep && dep[0] == 'i') {
		quote_qualified(sb, val(info, 0, 12), val(info, 0, 13));
		sb_adds(sb, ".");
		quote_ident(sb, val(info, 0, 14));
		sb_adds(sb, ": its table's DDL creates it\n");
	} else {
		ddl_seq_options(sb, info, 0, 5, true);
		sb_adds(sb, ";\n");
		if (dep) {
			sb_addf(sb, "\nALTER SEQUENCE %s OWNED BY ", qn.buf);
			quote_qualified(sb, val(info, 0, 12), val(info, 0, 13));
			sb_adds(sb, ".");
			quote_ident(sb, val(info, 0, 14));
			sb_adds(sb, ";\n");
		}
	}
	ddl_comment(sb, "SEQUENCE", qn.buf, val(info, 0, 4));
	sb_free(&qn);
}

/* CREATE FUNCTION / PROCEDURE (pg_get_functiondef) or CREATE AGGREGATE. */
static void
ddl_function(struct strbuf *sb, struct job *j)
{
	const PGresult *info = j->res[D_INFO];
	struct strbuf sig;
	sb_init(&sig);
	sb_qname(&sig, j);
	sb_addf(&sig, "(%s)", val(info, 0, 7) ? val(info, 0, 7) : "");
	if (j->okind != 'a') {
		char *def = sql_trimmed(val(info, 0, 8) ? val(info, 0, 8) : "");
		sb_addf(sb, "%s;\n", def);
		free(def);
	} else {
		const char *ak = val(info, 0, 9);
		if (ak && ak[0] != 'n')
			job_warn(j, xstrdup("the DDL of ordered-set and hypothetical-set aggregates is "
			    "incomplete"));
		sb_addf(sb, "CREATE AGGREGATE %s (\n    SFUNC = %s,\n    STYPE = %s", sig.buf,
		    val(info, 0, 10), val(info, 0, 11));
		if (ival(info, 0, 12, 0) > 0)
			sb_addf(sb, ",\n    SSPACE = %lld", ival(info, 0, 12, 0));
		if (val(info, 0, 13))
			sb_addf(sb, ",\n    FINALFUNC = %s", val(info, 0, 13));
		if (bval(info, 0, 14))
			sb_adds(sb, ",\n    FINALFUNC_EXTRA");
		const char *fm = val(info, 0, 21);
		if (val(info, 0, 13) && fm && fm[0] != 'r')
			sb_addf(sb, ",\n    FINALFUNC_MODIFY = %s", fm[0] == 's' ? "SHAREABLE" : "READ_WRITE");
		if (val(info, 0, 15))
			sb_addf(sb, ",\n    COMBINEFUNC = %s", val(info, 0, 15));
		if (val(info, 0, 16))
			sb_addf(sb, ",\n    SERIALFUNC = %s", val(info, 0, 16));
		if (val(info, 0, 17))
			sb_addf(sb, ",\n    DESERIALFUNC = %s", val(info, 0, 17));
		if (val(info, 0, 18)) {
			sb_adds(sb, ",\n    INITCOND = ");
			quote_literal(sb, val(info, 0, 18));
		}
		if (val(info, 0, 19))
			sb_addf(sb, ",\n    SORTOP = %s", val(info, 0, 19));
		const char *par = val(info, 0, 20);
		if (par && par[0] != 'u')
			sb_addf(sb, ",\n    PARALLEL = %s", par[0] == 's' ? "SAFE" : "RESTRICTED");
		sb_adds(sb, "\n);\n");
	}
	ddl_comment(sb, j->okind == 'p' ? "PROCEDURE" : j->okind == 'a' ? "AGGREGATE" : "FUNCTION",
	    sig.buf, val(info, 0, 4));
	sb_free(&sig);
}

/* CREATE TYPE / DOMAIN. */
static void
ddl_type(struct strbuf *sb, const struct job *j)
{
	const PGresult *info = j->res[D_INFO], *items = j->res[D_ITEMS];
	struct strbuf qn;
	sb_init(&qn);
	sb_qname(&qn, j);
	switch (j->okind) {
	case 'e':
		sb_addf(sb, "CREATE TYPE %s AS ENUM (", qn.buf);
		for (int i = 0; i < nrows(items); i++) {
			sb_adds(sb, i ? ",\n    " : "\n    ");
			quote_literal(sb, val(items, i, 0));
		}
		sb_adds(sb, "\n);\n");
		break;
	case 'c':
		sb_addf(sb, "CREATE TYPE %s AS (", qn.buf);
		for (int i = 0; i < nrows(items); i++) {
			sb_adds(sb, i ? ",\n" : "\n");
			ddl_column(sb, j, i, true);
		}
		sb_adds(sb, "\n);\n");
		break;
	case 'd':
		sb_addf(sb, "CREATE DOMAIN %s AS %s", qn.buf, val(info, 0, 5));
		if (val(info, 0, 8))
			sb_addf(sb, " COLLATE %s", val(info, 0, 8));
		if (val(info, 0, 7))
			sb_addf(sb, " DEFAULT %s", val(info, 0, 7));
		if (bval(info, 0, 6))
			sb_adds(sb, " NOT NULL");
		for (int i = 0; i < nrows(items); i++) {
			if (!bval(items, i, 2))
				continue;
			sb_adds(sb, "\n    CONSTRAINT ");
			quote_ident(sb, val(items, i, 0));
			sb_addf(sb, " %s", val(items, i, 1));
		}
		sb_adds(sb, ";\n");
		for (int i = 0; i < nrows(items); i++) {
			if (bval(items, i, 2))
				continue;
			sb_addf(sb, "\nALTER DOMAIN %s ADD CONSTRAINT ", qn.buf);
			quote_ident(sb, val(items, i, 0));
			sb_addf(sb, " %s;\n", val(items, i, 1));
		}
		break;
	default:
		sb_addf(sb, "CREATE TYPE %s AS RANGE (\n    subtype = %s", qn.buf, val(info, 0, 9));
		if (val(info, 0, 10))
			sb_addf(sb, ",\n    subtype_opclass = %s", val(info, 0, 10));
		if (val(info, 0, 11))
			sb_addf(sb, ",\n    collation = %s", val(info, 0, 11));
		if (val(info, 0, 12))
			sb_addf(sb, ",\n    canonical = %s", val(info, 0, 12));
		if (val(info, 0, 13))
			sb_addf(sb, ",\n    subtype_diff = %s", val(info, 0, 13));
		if (val(info, 0, 14))
			sb_addf(sb, ",\n    multirange_type_name = %s", val(info, 0, 14));
		sb_adds(sb, "\n);\n");
		break;
	}
	ddl_comment(sb, j->okind == 'd' ? "DOMAIN" : "TYPE", qn.buf, val(info, 0, 4));
	if (j->okind == 'c') {
		for (int i = 0; i < nrows(items); i++) {
			struct strbuf t;
			sb_init(&t);
			sb_addf(&t, "%s.", qn.buf);
			quote_ident(&t, val(items, i, 1));
			ddl_comment(sb, "COLUMN", t.buf, val(items, i, 7));
			sb_free(&t);
		}
	}
	if (j->okind == 'd') {
		for (int i = 0; i < nrows(items); i++) {
			struct strbuf t;
			sb_init(&t);
			quote_ident(&t, val(items, i, 0));
			sb_addf(&t, " ON DOMAIN %s", qn.buf);
			ddl_comment(sb, "CONSTRAINT", t.buf, val(items, i, 3));
			sb_free(&t);
		}
	}
	sb_free(&qn);
}

/* describe's columns (a relation's, or a composite type's attributes). */
static void
pack_describe_columns(msgpack_packer *pk, const PGresult *c)
{
	msgpack_pack_array(pk, (size_t)nrows(c));
	for (int i = 0; i < nrows(c); i++) {
		const char *ident = val(c, i, 5), *gen = val(c, i, 6);
		bool is_gen = gen && *gen;
		msgpack_pack_map(pk, 10);
		mp_pack_key(pk, "name");
		pack_val(pk, c, i, 1);
		mp_pack_key(pk, "position");
		msgpack_pack_int64(pk, ival(c, i, 0, 0));
		mp_pack_key(pk, "type");
		pack_val(pk, c, i, 2);
		mp_pack_key(pk, "nullable");
		mp_pack_bool(pk, bval(c, i, 3));
		mp_pack_key(pk, "default");
		mp_pack_cstr(pk, is_gen ? NULL : val(c, i, 4));
		mp_pack_key(pk, "primary_key");
		mp_pack_bool(pk, bval(c, i, 14));
		mp_pack_key(pk, "identity");
		mp_pack_cstr(pk, ident && *ident ? (ident[0] == 'a' ? "always" : "by_default") : NULL);
		mp_pack_key(pk, "generated");
		mp_pack_cstr(pk, is_gen ? val(c, i, 4) : NULL);
		mp_pack_key(pk, "collation");
		pack_val(pk, c, i, 8);
		mp_pack_key(pk, "comment");
		pack_val(pk, c, i, 7);
	}
}

/* The constraint type names of the contract. */
static const char *
contype_name(char t)
{
	switch (t) {
	case 'c': return "check";
	case 'u': return "unique";
	case 'p': return "primary_key";
	case 'f': return "foreign_key";
	case 'x': return "exclusion";
	case 't': return "trigger";
	default: return "other";
	}
}

/* describe's result (wire_describe_reply). */
static void
describe_pack(msgpack_packer *pk, struct job *j)
{
	const PGresult *info = j->res[D_INFO];
	bool rel = j->oc == OC_REL, func = j->oc == OC_FUNC, type = j->oc == OC_TYPE;
	const PGresult *cols = rel ? j->res[D_COLS] : type && j->okind == 'c' ? j->res[D_ITEMS] : NULL;
	const PGresult *cons = j->res[D_CONS], *idx = j->res[D_INDEXES], *trg = j->res[D_TRIGGERS];
	const PGresult *refby = j->res[D_REFBY], *parts = j->res[D_PARTS];
	/* the object's names as the catalog has them */
	free(j->schema);
	free(j->name);
	j->schema = xstrdup(val(info, 0, 0) ? val(info, 0, 0) : "");
	j->name = xstrdup(val(info, 0, 1) ? val(info, 0, 1) : "");

	struct strbuf ddl;
	sb_init(&ddl);
	if (info == NULL || nrows(info) == 0)
		sb_adds(&ddl, "");
	else if (rel)
		ddl_relation(&ddl, j);
	else if (j->oc == OC_SEQ)
		ddl_sequence(&ddl, j);
	else if (func)
		ddl_function(&ddl, j);
	else
		ddl_type(&ddl, j);

	msgpack_pack_map(pk, 23);
	mp_pack_key(pk, "schema");
	mp_pack_cstr(pk, j->schema);
	mp_pack_key(pk, "name");
	mp_pack_cstr(pk, j->name);
	mp_pack_key(pk, "kind");
	mp_pack_cstr(pk, kind_name(j->oc, j->okind));
	mp_pack_key(pk, "owner");
	pack_val(pk, info, 0, 3);
	mp_pack_key(pk, "comment");
	pack_val(pk, info, 0, 4);
	mp_pack_key(pk, "columns");
	pack_describe_columns(pk, cols);

	/* primary key */
	int pki = -1;
	for (int i = 0; rel && i < nrows(cons); i++)
		if (val(cons, i, 1)[0] == 'p')
			pki = i;
	mp_pack_key(pk, "primary_key");
	if (pki >= 0) {
		msgpack_pack_map(pk, 2);
		mp_pack_key(pk, "name");
		pack_val(pk, cons, pki, 0);
		mp_pack_key(pk, "columns");
		pack_arr(pk, cons, pki, 9);
	} else {
		msgpack_pack_nil(pk);
	}

	mp_pack_key(pk, "indexes");
	msgpack_pack_array(pk, (size_t)nrows(idx));
	for (int i = 0; i < nrows(idx); i++)
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", val(idx, i, 0)),
		    MPF_STR("definition", val(idx, i, 1)),
		    MPF_BOOL("primary", bval(idx, i, 2)),
		    MPF_BOOL("unique", bval(idx, i, 3)),
		    MPF_BOOL("valid", bval(idx, i, 4)),
		    MPF_STR("method", val(idx, i, 10)),
		    MPF_STR("constraint", val(idx, i, 8)),
		    MPF_STR("comment", val(idx, i, 7)));

	/* constraints: a relation's (foreign keys too) or a domain's */
	const PGresult *dcons = type && j->okind == 'd' ? j->res[D_ITEMS] : NULL;
	mp_pack_key(pk, "constraints");
	msgpack_pack_array(pk, (size_t)(nrows(cons) + nrows(dcons)));
	for (int i = 0; i < nrows(cons); i++)
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", val(cons, i, 0)),
		    MPF_STR("type", contype_name(val(cons, i, 1)[0])),
		    MPF_STR("definition", val(cons, i, 2)),
		    MPF_BOOL("validated", bval(cons, i, 5)),
		    MPF_BOOL("inherited", !bval(cons, i, 3) || bval(cons, i, 16)),
		    MPF_STR("comment", val(cons, i, 6)));
	for (int i = 0; i < nrows(dcons); i++)
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", val(dcons, i, 0)),
		    MPF_STR("type", "check"),
		    MPF_STR("definition", val(dcons, i, 1)),
		    MPF_BOOL("validated", bval(dcons, i, 2)),
		    MPF_BOOL("inherited", false),
		    MPF_STR("comment", val(dcons, i, 3)));

	int nfk = 0;
	for (int i = 0; i < nrows(cons); i++)
		nfk += val(cons, i, 1)[0] == 'f';
	mp_pack_key(pk, "foreign_keys");
	msgpack_pack_array(pk, (size_t)nfk);
	for (int i = 0; i < nrows(cons); i++) {
		if (val(cons, i, 1)[0] != 'f')
			continue;
		const char *m = val(cons, i, 13);
		msgpack_pack_map(pk, 11);
		mp_pack_key(pk, "name");
		pack_val(pk, cons, i, 0);
		mp_pack_key(pk, "columns");
		pack_arr(pk, cons, i, 9);
		mp_pack_key(pk, "ref_schema");
		pack_val(pk, cons, i, 7);
		mp_pack_key(pk, "ref_table");
		pack_val(pk, cons, i, 8);
		mp_pack_key(pk, "ref_columns");
		pack_arr(pk, cons, i, 10);
		mp_pack_key(pk, "on_update");
		mp_pack_cstr(pk, fk_action(val(cons, i, 11)));
		mp_pack_key(pk, "on_delete");
		mp_pack_cstr(pk, fk_action(val(cons, i, 12)));
		mp_pack_key(pk, "match");
		mp_pack_cstr(pk, m && m[0] == 'f' ? "FULL" : m && m[0] == 'p' ? "PARTIAL" : "SIMPLE");
		mp_pack_key(pk, "deferrable");
		mp_pack_bool(pk, bval(cons, i, 14));
		mp_pack_key(pk, "deferred");
		mp_pack_bool(pk, bval(cons, i, 15));
		mp_pack_key(pk, "definition");
		pack_val(pk, cons, i, 2);
	}

	mp_pack_key(pk, "referenced_by");
	msgpack_pack_array(pk, (size_t)nrows(refby));
	for (int i = 0; i < nrows(refby); i++) {
		msgpack_pack_map(pk, 6);
		mp_pack_key(pk, "name");
		pack_val(pk, refby, i, 0);
		mp_pack_key(pk, "schema");
		pack_val(pk, refby, i, 1);
		mp_pack_key(pk, "table");
		pack_val(pk, refby, i, 2);
		mp_pack_key(pk, "columns");
		pack_arr(pk, refby, i, 3);
		mp_pack_key(pk, "ref_columns");
		pack_arr(pk, refby, i, 4);
		mp_pack_key(pk, "definition");
		pack_val(pk, refby, i, 5);
	}

	mp_pack_key(pk, "triggers");
	msgpack_pack_array(pk, (size_t)nrows(trg));
	for (int i = 0; i < nrows(trg); i++) {
		const char *en = val(trg, i, 2);
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", val(trg, i, 0)),
		    MPF_STR("definition", val(trg, i, 1)),
		    MPF_STR("enabled", en[0] == 'D' ? "disabled" : en[0] == 'R' ? "replica" :
		    en[0] == 'A' ? "always" : "origin"),
		    MPF_BOOL("inherited", bval(trg, i, 4)),
		    MPF_STR("comment", val(trg, i, 3)));
	}

	mp_pack_key(pk, "partitions");
	msgpack_pack_array(pk, (size_t)nrows(parts));
	for (int i = 0; i < nrows(parts); i++)
		MP_PACK_FIELDS(pk,
		    MPF_STR("schema", val(parts, i, 0)),
		    MPF_STR("name", val(parts, i, 1)),
		    MPF_STR("bound", val(parts, i, 2)),
		    MPF_STR("kind", kind_name(OC_REL, val(parts, i, 3)[0])));

	mp_pack_key(pk, "partition_of");
	if (rel && val(info, 0, 10))
		MP_PACK_FIELDS(pk,
		    MPF_STR("schema", val(info, 0, 10)),
		    MPF_STR("name", val(info, 0, 11)),
		    MPF_STR("bound", val(info, 0, 12)));
	else
		msgpack_pack_nil(pk);
	mp_pack_key(pk, "partition_key");
	mp_pack_cstr(pk, rel ? val(info, 0, 9) : NULL);

	mp_pack_key(pk, "values");
	if (type && j->okind == 'e') {
		const PGresult *e = j->res[D_ITEMS];
		msgpack_pack_array(pk, (size_t)nrows(e));
		for (int i = 0; i < nrows(e); i++)
			pack_val(pk, e, i, 0);
	} else {
		msgpack_pack_nil(pk);
	}
	mp_pack_key(pk, "size_bytes");
	const char *size = rel ? val(info, 0, 6) : j->oc == OC_SEQ ? val(info, 0, 16) : NULL;
	if (size)
		msgpack_pack_int64(pk, strtoll(size, NULL, 10));
	else
		msgpack_pack_nil(pk);
	mp_pack_key(pk, "estimated_rows");
	if (rel && val(info, 0, 5))
		msgpack_pack_int64(pk, ival(info, 0, 5, 0));
	else
		msgpack_pack_nil(pk);
	mp_pack_key(pk, "definition");
	mp_pack_cstr(pk, rel ? val(info, 0, 13) : func ? val(info, 0, 8) : NULL);
	mp_pack_key(pk, "arguments");
	mp_pack_cstr(pk, func ? val(info, 0, 5) : NULL);
	mp_pack_key(pk, "result");
	mp_pack_cstr(pk, func ? val(info, 0, 6) : NULL);
	mp_pack_key(pk, "ddl");
	mp_pack_cstr(pk, ddl.buf ? ddl.buf : "");
	mp_pack_key(pk, "warnings");
	pack_warnings(pk, j);
	sb_free(&ddl);
}

/* The job is over: answer the broker, free it, let the session go on. */
static void
job_answer(struct pgq *q)
{
	struct job *j = q->ctx;
	pg.q = NULL;
	if (!terr_isset(&q->err) && j->kind == JOB_DESCRIBE &&
	    (j->res[D_INFO] == NULL || nrows(j->res[D_INFO]) == 0)) {
		struct strbuf what;
		sb_init(&what);
		quote_qualified(&what, j->schema, j->name);
		terr_set(&q->err, TE_VALIDATION, "%s is gone, or this role may not see it", what.buf);
		sb_free(&what);
	}
	if (wk.peer && !rpc_peer_closing(wk.peer)) {
		if (terr_isset(&q->err)) {
			log_debug("catalog %s failed: %s", q->id, q->err.message);
			wk_reply_error(q->msgid, &q->err);
		} else if (j->kind == JOB_SCHEMA) {
			int64_t t0 = mono_us();
			schema_pack(wk_reply_begin(q->msgid), j);
			log_debug("catalog %s: packed in %lld us (%zu bytes queued)", q->id,
			    (long long)(mono_us() - t0), rpc_peer_output_len(wk.peer));
		} else {
			describe_pack(wk_reply_begin(q->msgid), j);
		}
	}
	pg_query_free(q);
}

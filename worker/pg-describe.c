/*
 * pg-describe.c — the order `describe` (describe_object): which object a
 * schema and name mean, the statements that read it in full, and its answer
 * (the DDL comes from pg-ddl.c). The statements that differ between
 * PostgreSQL versions are built in describe_sql() only.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "msg.h"
#include "pg-catalog.h"
#include "pg.h"
#include "quote.h"
#include "sqlident.h"
#include "util.h"

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
char *
describe_sql(const struct job *j, int i)
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

/* Does a kind name given by the client match? ("relation" and "type" and
 * "function" match their whole families.) */
static bool
kind_matches(const char *want, enum obj_class oc, char k)
{
	if (want == NULL || strcmp(want, cat_kind_name(oc, k)) == 0)
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
void
describe_resolved(struct pgq *q)
{
	struct job *j = q->ctx;
	const char *found = NULL;
	int n = 0;
	struct strbuf names, what;
	sb_init(&names);
	sb_init(&what);
	sqlident_add_qualified(&what, j->schema, j->name);
	enum obj_class oc = OC_NONE;
	char ok = 0;
	for (int step = D_RESOLVE; step <= D_RESOLVE_TYPE; step++) {
		const PGresult *r = j->res[step];
		for (int i = 0; i < cat_rows(r); i++) {
			const char *cls = cat_val(r, i, 0), *k = cat_val(r, i, 2);
			enum obj_class c = cls[0] == 'f' ? OC_FUNC : cls[0] == 't' ? OC_TYPE :
			    k[0] == 'S' ? OC_SEQ : OC_REL;
			if (!kind_matches(j->want, c, k[0]))
				continue;
			if (n++ == 0) {
				found = cat_val(r, i, 1);
				oc = c;
				ok = k[0];
			}
			sb_addf(&names, "%s%s", n > 1 ? ", " : "", cat_kind_name(c, k[0]));
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

/* describe's columns (a relation's, or a composite type's attributes). */
static void
pack_describe_columns(msgpack_packer *pk, const void *arg)
{
	const PGresult *c = arg;
	msgpack_pack_array(pk, (size_t)cat_rows(c));
	for (int i = 0; i < cat_rows(c); i++) {
		const char *ident = cat_val(c, i, COL_IDENTITY), *gen = cat_val(c, i, COL_GENERATED);
		bool is_gen = gen && *gen;
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", cat_val(c, i, COL_NAME)),
		    MPF_INT("position", cat_int(c, i, COL_NUM, 0)),
		    MPF_STR("type", cat_val(c, i, COL_TYPE)),
		    MPF_BOOL("nullable", cat_bool(c, i, COL_NULLABLE)),
		    MPF_STR("default", is_gen ? NULL : cat_val(c, i, COL_DEFAULT)),
		    MPF_BOOL("primary_key", cat_bool(c, i, COL_PKEY)),
		    MPF_STR("identity", ident && *ident ? (ident[0] == 'a' ? "always" : "by_default") :
		    NULL),
		    MPF_STR("generated", is_gen ? cat_val(c, i, COL_DEFAULT) : NULL),
		    MPF_STR("collation", cat_val(c, i, COL_COLLATION)),
		    MPF_STR("comment", cat_val(c, i, COL_COMMENT)));
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

/* A text[] cell, for MPF_FN. */
struct cell {
	const PGresult *r;
	int row, col;
};

/* Pack a text[] cell as an array of str. */
static void
pack_cell_array(msgpack_packer *pk, const void *arg)
{
	const struct cell *c = arg;
	cat_pack_array(pk, c->r, c->row, c->col);
}

/* The primary key {name, columns}, or nil. */
static void
pack_primary_key(msgpack_packer *pk, const void *arg)
{
	const struct job *j = arg;
	const PGresult *cons = j->res[D_CONS];
	for (int i = 0; j->oc == OC_REL && i < cat_rows(cons); i++) {
		if (cat_val(cons, i, CON_TYPE)[0] != 'p')
			continue;
		struct cell cols = { cons, i, 9 };
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", cat_val(cons, i, CON_NAME)),
		    MPF_FN("columns", pack_cell_array, &cols));
		return;
	}
	msgpack_pack_nil(pk);
}

/* The indexes. */
static void
pack_indexes(msgpack_packer *pk, const void *arg)
{
	const PGresult *idx = arg;
	msgpack_pack_array(pk, (size_t)cat_rows(idx));
	for (int i = 0; i < cat_rows(idx); i++)
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", cat_val(idx, i, IDX_NAME)),
		    MPF_STR("definition", cat_val(idx, i, IDX_DEF)),
		    MPF_BOOL("primary", cat_bool(idx, i, IDX_PRIMARY)),
		    MPF_BOOL("unique", cat_bool(idx, i, IDX_UNIQUE)),
		    MPF_BOOL("valid", cat_bool(idx, i, IDX_VALID)),
		    MPF_STR("method", cat_val(idx, i, IDX_METHOD)),
		    MPF_STR("constraint", cat_val(idx, i, IDX_CONSTRAINT)),
		    MPF_STR("comment", cat_val(idx, i, IDX_COMMENT)));
}

/* The constraints: a relation's (foreign keys too) or a domain's. */
static void
pack_constraints(msgpack_packer *pk, const void *arg)
{
	const struct job *j = arg;
	const PGresult *cons = j->res[D_CONS];
	const PGresult *dcons = j->oc == OC_TYPE && j->okind == 'd' ? j->res[D_ITEMS] : NULL;
	msgpack_pack_array(pk, (size_t)(cat_rows(cons) + cat_rows(dcons)));
	for (int i = 0; i < cat_rows(cons); i++)
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", cat_val(cons, i, CON_NAME)),
		    MPF_STR("type", contype_name(cat_val(cons, i, CON_TYPE)[0])),
		    MPF_STR("definition", cat_val(cons, i, CON_DEF)),
		    MPF_BOOL("validated", cat_bool(cons, i, CON_VALIDATED)),
		    MPF_BOOL("inherited", !cat_bool(cons, i, CON_LOCAL) || cat_bool(cons, i, CON_CLONE)),
		    MPF_STR("comment", cat_val(cons, i, CON_COMMENT)));
	for (int i = 0; i < cat_rows(dcons); i++)
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", cat_val(dcons, i, DCON_NAME)),
		    MPF_STR("type", "check"),
		    MPF_STR("definition", cat_val(dcons, i, DCON_DEF)),
		    MPF_BOOL("validated", cat_bool(dcons, i, DCON_VALIDATED)),
		    MPF_BOOL("inherited", false),
		    MPF_STR("comment", cat_val(dcons, i, DCON_COMMENT)));
}

/* The foreign keys, with both ends' columns and their actions. */
static void
pack_foreign_keys(msgpack_packer *pk, const void *arg)
{
	const PGresult *cons = arg;
	int n = 0;
	for (int i = 0; i < cat_rows(cons); i++)
		n += cat_val(cons, i, CON_TYPE)[0] == 'f';
	msgpack_pack_array(pk, (size_t)n);
	for (int i = 0; i < cat_rows(cons); i++) {
		if (cat_val(cons, i, CON_TYPE)[0] != 'f')
			continue;
		const char *m = cat_val(cons, i, CON_MATCH);
		struct cell cols = { cons, i, 9 }, refcols = { cons, i, 10 };
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", cat_val(cons, i, CON_NAME)),
		    MPF_FN("columns", pack_cell_array, &cols),
		    MPF_STR("ref_schema", cat_val(cons, i, CON_REF_SCHEMA)),
		    MPF_STR("ref_table", cat_val(cons, i, CON_REF_TABLE)),
		    MPF_FN("ref_columns", pack_cell_array, &refcols),
		    MPF_STR("on_update", fk_action(cat_val(cons, i, CON_ON_UPDATE))),
		    MPF_STR("on_delete", fk_action(cat_val(cons, i, CON_ON_DELETE))),
		    MPF_STR("match", m && m[0] == 'f' ? "FULL" : m && m[0] == 'p' ? "PARTIAL" : "SIMPLE"),
		    MPF_BOOL("deferrable", cat_bool(cons, i, CON_DEFERRABLE)),
		    MPF_BOOL("deferred", cat_bool(cons, i, CON_DEFERRED)),
		    MPF_STR("definition", cat_val(cons, i, CON_DEF)));
	}
}

/* The foreign keys of other tables that reference this one. */
static void
pack_referenced_by(msgpack_packer *pk, const void *arg)
{
	const PGresult *refby = arg;
	msgpack_pack_array(pk, (size_t)cat_rows(refby));
	for (int i = 0; i < cat_rows(refby); i++) {
		struct cell cols = { refby, i, 3 }, refcols = { refby, i, 4 };
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", cat_val(refby, i, REF_NAME)),
		    MPF_STR("schema", cat_val(refby, i, REF_SCHEMA)),
		    MPF_STR("table", cat_val(refby, i, REF_TABLE)),
		    MPF_FN("columns", pack_cell_array, &cols),
		    MPF_FN("ref_columns", pack_cell_array, &refcols),
		    MPF_STR("definition", cat_val(refby, i, REF_DEF)));
	}
}

/* The triggers (a partition's clones of its parent's too). */
static void
pack_triggers(msgpack_packer *pk, const void *arg)
{
	const PGresult *trg = arg;
	msgpack_pack_array(pk, (size_t)cat_rows(trg));
	for (int i = 0; i < cat_rows(trg); i++) {
		const char *en = cat_val(trg, i, TRG_ENABLED);
		MP_PACK_FIELDS(pk,
		    MPF_STR("name", cat_val(trg, i, TRG_NAME)),
		    MPF_STR("definition", cat_val(trg, i, TRG_DEF)),
		    MPF_STR("enabled", en[0] == 'D' ? "disabled" : en[0] == 'R' ? "replica" :
		    en[0] == 'A' ? "always" : "origin"),
		    MPF_BOOL("inherited", cat_bool(trg, i, TRG_CLONE)),
		    MPF_STR("comment", cat_val(trg, i, TRG_COMMENT)));
	}
}

/* A partitioned table's partitions. */
static void
pack_partitions(msgpack_packer *pk, const void *arg)
{
	const PGresult *parts = arg;
	msgpack_pack_array(pk, (size_t)cat_rows(parts));
	for (int i = 0; i < cat_rows(parts); i++)
		MP_PACK_FIELDS(pk,
		    MPF_STR("schema", cat_val(parts, i, PART_SCHEMA)),
		    MPF_STR("name", cat_val(parts, i, PART_NAME)),
		    MPF_STR("bound", cat_val(parts, i, PART_BOUND)),
		    MPF_STR("kind", cat_kind_name(OC_REL, cat_val(parts, i, PART_KIND)[0])));
}

/* A partition's parent and bound, or nil. */
static void
pack_partition_of(msgpack_packer *pk, const void *arg)
{
	const struct job *j = arg;
	const PGresult *info = j->res[D_INFO];
	if (j->oc == OC_REL && cat_val(info, 0, REL_PARENT_SCHEMA))
		MP_PACK_FIELDS(pk,
		    MPF_STR("schema", cat_val(info, 0, REL_PARENT_SCHEMA)),
		    MPF_STR("name", cat_val(info, 0, REL_PARENT)),
		    MPF_STR("bound", cat_val(info, 0, REL_BOUND)));
	else
		msgpack_pack_nil(pk);
}

/* An enum's labels, or nil. */
static void
pack_values(msgpack_packer *pk, const void *arg)
{
	const struct job *j = arg;
	if (j->oc != OC_TYPE || j->okind != 'e') {
		msgpack_pack_nil(pk);
		return;
	}
	const PGresult *e = j->res[D_ITEMS];
	msgpack_pack_array(pk, (size_t)cat_rows(e));
	for (int i = 0; i < cat_rows(e); i++)
		cat_pack_val(pk, e, i, 0);
}

/* The warnings. */
static void
pack_describe_warnings(msgpack_packer *pk, const void *arg)
{
	cat_pack_warnings(pk, arg);
}

/* describe's result (wire_describe_reply). */
void
describe_pack(msgpack_packer *pk, struct job *j)
{
	const PGresult *info = j->res[D_INFO];
	bool rel = j->oc == OC_REL, func = j->oc == OC_FUNC;
	const PGresult *cols = rel ? j->res[D_COLS] :
	    j->oc == OC_TYPE && j->okind == 'c' ? j->res[D_ITEMS] : NULL;
	/* the object's names as the catalog has them (the first five columns
	 * of D_INFO are the same for every class) */
	free(j->schema);
	free(j->name);
	j->schema = xstrdup(cat_val(info, 0, REL_SCHEMA) ? cat_val(info, 0, REL_SCHEMA) : "");
	j->name = xstrdup(cat_val(info, 0, REL_NAME) ? cat_val(info, 0, REL_NAME) : "");
	struct strbuf ddl;
	sb_init(&ddl);
	ddl_build(&ddl, j);
	const char *size = rel ? cat_val(info, 0, REL_SIZE) :
	    j->oc == OC_SEQ ? cat_val(info, 0, SEQ_SIZE) : NULL;
	const char *rows = rel ? cat_val(info, 0, REL_ROWS) : NULL;
	MP_PACK_FIELDS(pk,
	    MPF_STR("schema", j->schema),
	    MPF_STR("name", j->name),
	    MPF_STR("kind", cat_kind_name(j->oc, j->okind)),
	    MPF_STR("owner", cat_val(info, 0, REL_OWNER)),
	    MPF_STR("comment", cat_val(info, 0, REL_COMMENT)),
	    MPF_FN("columns", pack_describe_columns, cols),
	    MPF_FN("primary_key", pack_primary_key, j),
	    MPF_FN("indexes", pack_indexes, j->res[D_INDEXES]),
	    MPF_FN("constraints", pack_constraints, j),
	    MPF_FN("foreign_keys", pack_foreign_keys, j->res[D_CONS]),
	    MPF_FN("referenced_by", pack_referenced_by, j->res[D_REFBY]),
	    MPF_FN("triggers", pack_triggers, j->res[D_TRIGGERS]),
	    MPF_FN("partitions", pack_partitions, j->res[D_PARTS]),
	    MPF_FN("partition_of", pack_partition_of, j),
	    MPF_STR("partition_key", rel ? cat_val(info, 0, REL_PARTKEY) : NULL),
	    MPF_FN("values", pack_values, j),
	    MPF_INT_OPT("size_bytes", size ? strtoll(size, NULL, 10) : -1),
	    MPF_INT_OPT("estimated_rows", rows ? strtoll(rows, NULL, 10) : -1),
	    MPF_STR("definition", rel ? cat_val(info, 0, REL_VIEWDEF) :
	    func ? cat_val(info, 0, FN_DEF) : NULL),
	    MPF_STR("arguments", func ? cat_val(info, 0, FN_ARGS) : NULL),
	    MPF_STR("result", func ? cat_val(info, 0, FN_RESULT) : NULL),
	    MPF_STR("ddl", ddl.buf ? ddl.buf : ""),
	    MPF_FN("warnings", pack_describe_warnings, j));
	sb_free(&ddl);
}
const char *const describe_what[D_NDESCRIBE] = {
	"tables, views and sequences", "functions", "types", "the object's details", "columns",
	"constraints", "foreign keys to it",
	"indexes", "triggers", "partitions", "owned sequences", "members",
};


/*
 * pg-catalog.c — reading the catalog: the job every read is (its
 * statements, savepoint and warnings), and the order `catalog`: get_schema's
 * tree of every schema's objects. pg-describe.c reads one object
 * (describe_object), pg-ddl.c writes its DDL.
 *
 * Each read is a few set-based statements on pg_catalog (psql's describe.c
 * is the model: one query per kind of object, names through format_type and
 * the pg_get_*def functions), run one after the other as a job on the
 * session (pgq_ops, pg-query.c), so it is cancelled with cancel_query like
 * any query. The statements that differ between PostgreSQL 12 and 17 are
 * built from the server's version in schema_sql() and describe_sql() only.
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
#include "pg-catalog.h"
#include "pg.h"
#include "proto.h"
#include "sqlident.h"
#include "util.h"
#include "worker.h"

#define SAVEPOINT "tusk_catalog"

/* --- small helpers ---------------------------------------------------- */

/* A value, or NULL for SQL NULL (or a missing result). */
const char *
cat_val(const PGresult *r, int row, int col)
{
	if (r == NULL || row >= PQntuples(r) || col >= PQnfields(r) || PQgetisnull(r, row, col))
		return NULL;
	return PQgetvalue(r, row, col);
}

/* A boolean value (NULL is false). */
bool
cat_bool(const PGresult *r, int row, int col)
{
	const char *v = cat_val(r, row, col);
	return v && v[0] == 't';
}

/* A value as an integer (def when NULL). */
long long
cat_int(const PGresult *r, int row, int col, long long def)
{
	const char *v = cat_val(r, row, col);
	return v ? strtoll(v, NULL, 10) : def;
}

int
cat_rows(const PGresult *r)
{
	return r ? PQntuples(r) : 0;
}

/* Pack a value as a str, or nil. */
void
cat_pack_val(msgpack_packer *pk, const PGresult *r, int row, int col)
{
	mp_pack_cstr(pk, cat_val(r, row, col));
}

/*
 * A one-dimensional text[] in PostgreSQL's output format ({a,"b c"}) into
 * strings (NULL elements stay NULL). The count, or -1 when malformed.
 */
int
cat_array_parse(const char *s, char ***ret)
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
void
cat_array_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Pack a text[] value as an array of str (a malformed one packs []). */
void
cat_pack_array(msgpack_packer *pk, const PGresult *r, int row, int col)
{
	char **v;
	int n = cat_array_parse(cat_val(r, row, col), &v);
	if (n < 0)
		n = 0;
	msgpack_pack_array(pk, (size_t)n);
	for (int i = 0; i < n; i++)
		mp_pack_cstr(pk, v[i]);
	cat_array_free(v, n);
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
	int rows = cat_rows(r), n = 0;
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
schema_sql(const struct job *j, int i)
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
void
cat_warn(struct job *j, char *w)
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
		cat_warn(j, xasprintf("%s could not be read: %s", what, e.message));
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
job_send(struct pgq *q, const char *sql, int nvalues, char *const *values)
{
	if (pg_send_query(q, sql, nvalues, values) == 0)
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
			char *sql = j->kind == JOB_SCHEMA ? schema_sql(j, j->step) :
			    describe_sql(j, j->step);
			char *values[2] = { j->schema, j->name };
			int nv = j->kind == JOB_SCHEMA ? 0 : j->step < D_INFO ? 2 : 1;
			if (j->kind == JOB_DESCRIBE && j->step >= D_INFO)
				values[0] = j->oid;
			j->step_us = mono_us();
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


/* The kind names of the contract, by class and catalog letter. */
const char *
cat_kind_name(enum obj_class oc, char k)
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



/* A statement of the job is over: go on with the next. */
static void
job_step_over(struct pgq *q)
{
	struct job *j = q->ctx;
	log_debug("catalog %s: %s read in %lld ms (%d rows)", q->id, j->kind == JOB_SCHEMA ?
	    schema_what[j->step] : describe_what[j->step], (long long)(mono_us() - j->step_us) / 1000,
	    cat_rows(j->res[j->step]));
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

/* describe_object: resolve the named object (relation, function or type) and describe it. */
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
		const char *ident = cat_val(r, i, 5), *gen = cat_val(r, i, 6), *comment = cat_val(r, i, 8);
		bool has_ident = ident && *ident, has_gen = gen && *gen;
		msgpack_pack_map(pk, 5 + has_ident + has_gen + (comment != NULL));
		mp_pack_key(pk, "name");
		cat_pack_val(pk, r, i, 1);
		mp_pack_key(pk, "type");
		cat_pack_val(pk, r, i, 2);
		mp_pack_key(pk, "nullable");
		mp_pack_bool(pk, cat_bool(r, i, 3));
		mp_pack_key(pk, "default");
		mp_pack_cstr(pk, has_gen ? NULL : cat_val(r, i, 4));
		mp_pack_key(pk, "primary_key");
		mp_pack_bool(pk, cat_bool(r, i, 7));
		if (has_ident) {
			mp_pack_key(pk, "identity");
			mp_pack_cstr(pk, ident[0] == 'a' ? "always" : "by_default");
		}
		if (has_gen) {
			mp_pack_key(pk, "generated");
			mp_pack_cstr(pk, cat_val(r, i, 4)); /* the expression */
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
		bool part = cat_val(r, i, 6) != NULL;
		const char *k = cat_val(r, i, 3);
		msgpack_pack_map(pk, 5 + part);
		mp_pack_key(pk, "name");
		cat_pack_val(pk, r, i, 2);
		mp_pack_key(pk, "kind");
		mp_pack_cstr(pk, cat_kind_name(OC_REL, k[0]));
		mp_pack_key(pk, "comment");
		cat_pack_val(pk, r, i, 4);
		mp_pack_key(pk, "estimated_rows");
		if (cat_val(r, i, 5) && k[0] != 'v')
			msgpack_pack_int64(pk, cat_int(r, i, 5, 0));
		else
			msgpack_pack_nil(pk);
		mp_pack_key(pk, "columns");
		pack_columns(pk, j->res[S_COLS], run_find(sr->cols, sr->ncols, cat_val(r, i, 0)));
		if (part) {
			mp_pack_key(pk, "parent");
			MP_PACK_FIELDS(pk, MPF_STR("schema", cat_val(r, i, 6)), MPF_STR("name", cat_val(r, i, 7)));
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
		const char *k = cat_val(r, i, 4), *comment = cat_val(r, i, 6);
		msgpack_pack_map(pk, 5 + (comment != NULL));
		mp_pack_key(pk, "name");
		cat_pack_val(pk, r, i, 1);
		mp_pack_key(pk, "arguments");
		cat_pack_val(pk, r, i, 2);
		mp_pack_key(pk, "result");
		cat_pack_val(pk, r, i, 3);
		mp_pack_key(pk, "kind");
		mp_pack_cstr(pk, cat_kind_name(OC_FUNC, k ? k[0] : 'f'));
		mp_pack_key(pk, "identity_arguments");
		cat_pack_val(pk, r, i, 5);
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
		cat_pack_val(pk, r, i, 1);
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
		const char *k = cat_val(r, i, 3), *base = cat_val(r, i, 4), *comment = cat_val(r, i, 5);
		bool is_enum = k[0] == 'e';
		msgpack_pack_map(pk, 2 + is_enum + (base != NULL) + (comment != NULL));
		mp_pack_key(pk, "name");
		cat_pack_val(pk, r, i, 2);
		mp_pack_key(pk, "kind");
		mp_pack_cstr(pk, cat_kind_name(OC_TYPE, k[0]));
		if (is_enum) {
			struct run er = run_find(sr->enums, sr->nenums, cat_val(r, i, 1));
			mp_pack_key(pk, "values");
			msgpack_pack_array(pk, (size_t)er.count);
			for (int x = er.start; x < er.start + er.count; x++)
				cat_pack_val(pk, e, x, 1);
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
void
cat_pack_warnings(msgpack_packer *pk, const struct job *j)
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
	msgpack_pack_array(pk, (size_t)cat_rows(s));
	for (int i = 0; i < cat_rows(s); i++) {
		const char *oid = cat_val(s, i, 0);
		msgpack_pack_map(pk, 7);
		mp_pack_key(pk, "name");
		cat_pack_val(pk, s, i, 1);
		mp_pack_key(pk, "owner");
		cat_pack_val(pk, s, i, 2);
		mp_pack_key(pk, "comment");
		cat_pack_val(pk, s, i, 3);
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
	msgpack_pack_array(pk, (size_t)cat_rows(x));
	for (int i = 0; i < cat_rows(x); i++)
		MP_PACK_FIELDS(pk, MPF_STR("name", cat_val(x, i, 0)), MPF_STR("version", cat_val(x, i, 1)),
		    MPF_STR("schema", cat_val(x, i, 2)));
	const PGresult *sp = j->res[S_PATH];
	mp_pack_key(pk, "search_path");
	msgpack_pack_array(pk, (size_t)cat_rows(sp));
	for (int i = 0; i < cat_rows(sp); i++)
		cat_pack_val(pk, sp, i, 0);
	mp_pack_key(pk, "database");
	mp_pack_cstr(pk, PQdb(pg.conn));
	mp_pack_key(pk, "user");
	mp_pack_cstr(pk, PQuser(pg.conn));
	mp_pack_key(pk, "server_version");
	msgpack_pack_int(pk, j->version);
	mp_pack_key(pk, "system");
	mp_pack_bool(pk, j->system);
	mp_pack_key(pk, "warnings");
	cat_pack_warnings(pk, j);
	free(sr.rels);
	free(sr.cols);
	free(sr.funcs);
	free(sr.seqs);
	free(sr.types);
	free(sr.enums);
}

/* --- describe's answer and DDL -------------------------------------------- */















/* The job is over: answer the broker, free it, let the session go on. */
static void
job_answer(struct pgq *q)
{
	struct job *j = q->ctx;
	pg.q = NULL;
	if (!terr_isset(&q->err) && j->kind == JOB_DESCRIBE &&
	    (j->res[D_INFO] == NULL || cat_rows(j->res[D_INFO]) == 0)) {
		struct strbuf what;
		sb_init(&what);
		sqlident_add_qualified(&what, j->schema, j->name);
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

/*
 * pg-ddl.c — the DDL that recreates what describe read: CREATE TABLE (or
 * FOREIGN TABLE, PARTITION OF), its constraints, indexes, triggers, owned
 * sequences and comments; CREATE VIEW / MATERIALIZED VIEW, SEQUENCE,
 * FUNCTION (pg_get_functiondef) or AGGREGATE, TYPE and DOMAIN. Run in an
 * empty database it gives what pg_dump --schema-only gives (the
 * integration suite checks that for every kind). Names are quoted with
 * sqlident.h, literals with quote.h; expressions come from the server's
 * pg_get_*def functions.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg-catalog.h"
#include "quote.h"
#include "sqlident.h"
#include "util.h"

/* Append "schema.name" quoted. */
static void
sb_qname(struct strbuf *sb, const struct job *j)
{
	sqlident_add_qualified(sb, j->schema, j->name);
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

/* The options of a sequence from columns at col of r (type, start, increment,
 * min, max, cache, cycle); with_type: AS type first. */
static void
ddl_seq_options(struct strbuf *sb, const PGresult *r, int row, int col, bool with_type)
{
	const char *sep = with_type ? "\n    " : " ";
	if (with_type)
		sb_addf(sb, "%sAS %s", sep, cat_val(r, row, col));
	sb_addf(sb, "%sSTART WITH %s%sINCREMENT BY %s%sMINVALUE %s%sMAXVALUE %s%sCACHE %s%s%sCYCLE",
	    sep, cat_val(r, row, col + 1), sep, cat_val(r, row, col + 2), sep,
	    cat_val(r, row, col + 3), sep, cat_val(r, row, col + 4), sep, cat_val(r, row, col + 5), sep,
	    cat_bool(r, row, col + 6) ? "" : "NO ");
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
	for (int i = 0; i < cat_rows(owned); i++)
		if (strcmp(cat_val(owned, i, OWN_COLUMN), attname) == 0 &&
		    cat_val(owned, i, OWN_DEPTYPE)[0] == deptype)
			return i;
	return -1;
}

/* One column's definition in CREATE TABLE / CREATE TYPE. */
static void
ddl_column(struct strbuf *sb, const struct job *j, int i, bool composite)
{
	const PGresult *c = j->res[composite ? D_ITEMS : D_COLS], *owned = j->res[D_OWNED];
	const char *name = cat_val(c, i, COL_NAME), *def = cat_val(c, i, COL_DEFAULT);
	const char *ident = cat_val(c, i, COL_IDENTITY), *gen = cat_val(c, i, COL_GENERATED);
	const char *coll = cat_val(c, i, COL_COLLATION), *fdwopts = cat_val(c, i, COL_FDWOPTIONS);
	sb_adds(sb, "    ");
	sqlident_add(sb, name);
	sb_addf(sb, " %s", cat_val(c, i, COL_TYPE));
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
			sqlident_add_qualified(sb, cat_val(owned, o, OWN_SCHEMA), cat_val(owned, o, OWN_NAME));
			ddl_seq_options(sb, owned, o, OWN_TYPE, false);
			sb_adds(sb, ")");
		}
	} else if (def) {
		sb_addf(sb, " DEFAULT %s", def);
	}
	if (!cat_bool(c, i, COL_NULLABLE))
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
	const char *comment = cat_val(info, 0, REL_COMMENT), *relopts = cat_val(info, 0, REL_OPTIONS);
	const char *am = cat_val(info, 0, REL_AM), *tablespace = cat_val(info, 0, REL_TABLESPACE);
	bool is_part = cat_val(info, 0, REL_PARENT_SCHEMA) != NULL;

	if (k == 'v' || k == 'm') {
		char *def = sql_trimmed(cat_val(info, 0, REL_VIEWDEF) ? cat_val(info, 0, REL_VIEWDEF) : "");
		sb_addf(sb, "CREATE %sVIEW %s", k == 'm' ? "MATERIALIZED " : "", qn.buf);
		if (am)
			sb_addf(sb, " USING %s", am);
		if (relopts)
			sb_addf(sb, " WITH (%s)", relopts);
		if (k == 'm' && tablespace) {
			sb_adds(sb, " TABLESPACE ");
			sqlident_add(sb, tablespace);
		}
		sb_addf(sb, " AS\n%s", def);
		if (k == 'm')
			sb_addf(sb, "\n  WITH %sDATA", cat_bool(info, 0, REL_POPULATED) ? "" : "NO ");
		sb_adds(sb, ";\n");
		free(def);
	} else {
		/* serial columns' sequences first (their defaults name them) */
		for (int i = 0; i < cat_rows(owned); i++) {
			if (cat_val(owned, i, OWN_DEPTYPE)[0] != 'a')
				continue;
			sb_adds(sb, "CREATE SEQUENCE ");
			sqlident_add_qualified(sb, cat_val(owned, i, OWN_SCHEMA), cat_val(owned, i, OWN_NAME));
			ddl_seq_options(sb, owned, i, OWN_TYPE, true);
			sb_adds(sb, ";\n\n");
		}
		sb_addf(sb, "CREATE %s%sTABLE %s", cat_val(info, 0, REL_PERSISTENCE)[0] == 'u' ? "UNLOGGED " : "",
		    k == 'f' ? "FOREIGN " : "", qn.buf);
		if (is_part) {
			sb_adds(sb, " PARTITION OF ");
			sqlident_add_qualified(sb, cat_val(info, 0, REL_PARENT_SCHEMA), cat_val(info, 0, REL_PARENT));
		}
		/* columns (a partition's come from its parent), then table constraints */
		struct strbuf items;
		sb_init(&items);
		for (int i = 0; i < cat_rows(cols) && !is_part; i++) {
			if (!cat_bool(cols, i, COL_LOCAL))
				continue; /* inherited (INHERITS) */
			sb_adds(&items, items.len ? ",\n" : "\n");
			ddl_column(&items, j, i, false);
		}
		for (int i = 0; i < cat_rows(cons); i++) {
			const char *t = cat_val(cons, i, CON_TYPE);
			if (!cat_bool(cons, i, CON_LOCAL) || cat_bool(cons, i, CON_CLONE) ||
			    !cat_bool(cons, i, CON_VALIDATED) ||
			    !strchr("cpux", t[0]))
				continue; /* inherited, not valid, a foreign key: later */
			sb_adds(&items, items.len ? ",\n" : "\n");
			sb_adds(&items, "    CONSTRAINT ");
			sqlident_add(&items, cat_val(cons, i, CON_NAME));
			sb_addf(&items, " %s", cat_val(cons, i, CON_DEF));
		}
		if (items.len || !is_part) {
			sb_adds(sb, " (");
			if (items.len)
				sb_add(sb, items.buf, items.len);
			sb_adds(sb, "\n)");
		}
		sb_free(&items);
		if (is_part)
			sb_addf(sb, "\n%s", cat_val(info, 0, REL_BOUND));
		if (cat_val(info, 0, REL_INHERITS))
			sb_addf(sb, "\nINHERITS (%s)", cat_val(info, 0, REL_INHERITS));
		if (cat_val(info, 0, REL_PARTKEY))
			sb_addf(sb, "\nPARTITION BY %s", cat_val(info, 0, REL_PARTKEY));
		if (cat_val(info, 0, REL_SERVER)) {
			sb_adds(sb, "\nSERVER ");
			sqlident_add(sb, cat_val(info, 0, REL_SERVER));
		}
		if (k == 'f' && cat_val(info, 0, REL_FTOPTIONS))
			sb_addf(sb, "\nOPTIONS (%s)", cat_val(info, 0, REL_FTOPTIONS));
		if (am && k != 'f')
			sb_addf(sb, "\nUSING %s", am);
		if (relopts)
			sb_addf(sb, "\nWITH (%s)", relopts);
		if (tablespace) {
			sb_adds(sb, "\nTABLESPACE ");
			sqlident_add(sb, tablespace);
		}
		sb_adds(sb, ";\n");
	}

	/* a partition's own column defaults and NOT NULL */
	for (int i = 0; i < cat_rows(cols) && is_part; i++) {
		const char *gen = cat_val(cols, i, COL_GENERATED), *ident = cat_val(cols, i, COL_IDENTITY);
		if ((gen && *gen) || (ident && *ident))
			continue;
		if (cat_val(cols, i, COL_DEFAULT)) {
			sb_addf(sb, "\nALTER TABLE ONLY %s ALTER COLUMN ", qn.buf);
			sqlident_add(sb, cat_val(cols, i, COL_NAME));
			sb_addf(sb, " SET DEFAULT %s;\n", cat_val(cols, i, COL_DEFAULT));
		}
		if (!cat_bool(cols, i, COL_NULLABLE)) {
			sb_addf(sb, "\nALTER TABLE ONLY %s ALTER COLUMN ", qn.buf);
			sqlident_add(sb, cat_val(cols, i, COL_NAME));
			sb_adds(sb, " SET NOT NULL;\n");
		}
	}
	/* column storage and statistics targets */
	for (int i = 0; i < cat_rows(cols); i++) {
		if (cat_val(cols, i, COL_STORAGE)) {
			const char *st = cat_val(cols, i, COL_STORAGE);
			sb_addf(sb, "\nALTER TABLE ONLY %s ALTER COLUMN ", qn.buf);
			sqlident_add(sb, cat_val(cols, i, COL_NAME));
			sb_addf(sb, " SET STORAGE %s;\n", st[0] == 'p' ? "PLAIN" : st[0] == 'e' ?
			    "EXTERNAL" : st[0] == 'm' ? "MAIN" : "EXTENDED");
		}
		if (cat_int(cols, i, COL_STATTARGET, -1) >= 0) {
			sb_addf(sb, "\nALTER TABLE ONLY %s ALTER COLUMN ", qn.buf);
			sqlident_add(sb, cat_val(cols, i, COL_NAME));
			sb_addf(sb, " SET STATISTICS %lld;\n", cat_int(cols, i, COL_STATTARGET, -1));
		}
	}
	/* constraints that are not valid yet, and foreign keys */
	for (int i = 0; i < cat_rows(cons); i++) {
		const char *t = cat_val(cons, i, CON_TYPE);
		if (!cat_bool(cons, i, CON_LOCAL) || cat_bool(cons, i, CON_CLONE) || t[0] == 't')
			continue;
		if (t[0] != 'f' && cat_bool(cons, i, CON_VALIDATED))
			continue; /* in CREATE TABLE */
		sb_addf(sb, "\nALTER TABLE %s%s ADD CONSTRAINT ", t[0] == 'f' ? "" : "ONLY ", qn.buf);
		sqlident_add(sb, cat_val(cons, i, CON_NAME));
		sb_addf(sb, " %s;\n", cat_val(cons, i, CON_DEF));
	}
	/* indexes that no constraint and no parent index makes */
	for (int i = 0; i < cat_rows(idx); i++) {
		if (cat_val(idx, i, IDX_CONSTRAINT) || cat_bool(idx, i, IDX_ATTACHED))
			continue;
		const char *def = cat_val(idx, i, IDX_DEF), *only = strstr(def, " ON ONLY ");
		sb_adds(sb, "\n");
		if (only) {
			sb_add(sb, def, (size_t)(only - def));
			sb_addf(sb, " ON %s", only + strlen(" ON ONLY "));
		} else {
			sb_adds(sb, def);
		}
		sb_adds(sb, ";\n");
	}
	for (int i = 0; i < cat_rows(idx); i++) {
		if (cat_bool(idx, i, IDX_CLUSTERED)) {
			sb_addf(sb, "\nALTER TABLE %s CLUSTER ON ", qn.buf);
			sqlident_add(sb, cat_val(idx, i, IDX_NAME));
			sb_adds(sb, ";\n");
		}
		if (cat_bool(idx, i, IDX_REPLIDENT) && cat_val(info, 0, REL_REPLIDENT)[0] == 'i' &&
		    (k == 'r' || k == 'p')) {
			sb_addf(sb, "\nALTER TABLE ONLY %s REPLICA IDENTITY USING INDEX ", qn.buf);
			sqlident_add(sb, cat_val(idx, i, IDX_NAME));
			sb_adds(sb, ";\n");
		}
	}
	const char *ri = cat_val(info, 0, REL_REPLIDENT);
	if (ri && (ri[0] == 'f' || ri[0] == 'n') && (k == 'r' || k == 'p'))
		sb_addf(sb, "\nALTER TABLE ONLY %s REPLICA IDENTITY %s;\n", qn.buf,
		    ri[0] == 'f' ? "FULL" : "NOTHING");
	/* triggers of its own (not a parent's clones) */
	for (int i = 0; i < cat_rows(trg); i++) {
		if (cat_bool(trg, i, TRG_CLONE))
			continue;
		sb_addf(sb, "\n%s;\n", cat_val(trg, i, TRG_DEF));
		const char *en = cat_val(trg, i, TRG_ENABLED);
		if (en[0] != 'O') {
			sb_addf(sb, "\nALTER TABLE %s %s TRIGGER ", qn.buf, en[0] == 'D' ? "DISABLE" :
			    en[0] == 'R' ? "ENABLE REPLICA" : "ENABLE ALWAYS");
			sqlident_add(sb, cat_val(trg, i, TRG_NAME));
			sb_adds(sb, ";\n");
		}
	}
	if (cat_bool(info, 0, REL_RLS))
		sb_addf(sb, "\nALTER TABLE %s ENABLE ROW LEVEL SECURITY;\n", qn.buf);
	if (cat_bool(info, 0, REL_FORCE_RLS))
		sb_addf(sb, "\nALTER TABLE %s FORCE ROW LEVEL SECURITY;\n", qn.buf);
	for (int i = 0; i < cat_rows(owned); i++) {
		if (cat_val(owned, i, OWN_DEPTYPE)[0] != 'a')
			continue;
		sb_adds(sb, "\nALTER SEQUENCE ");
		sqlident_add_qualified(sb, cat_val(owned, i, OWN_SCHEMA), cat_val(owned, i, OWN_NAME));
		sb_addf(sb, " OWNED BY %s.", qn.buf);
		sqlident_add(sb, cat_val(owned, i, OWN_COLUMN));
		sb_adds(sb, ";\n");
	}

	/* comments */
	ddl_comment(sb, k == 'v' ? "VIEW" : k == 'm' ? "MATERIALIZED VIEW" : k == 'f' ?
	    "FOREIGN TABLE" : "TABLE", qn.buf, comment);
	for (int i = 0; i < cat_rows(cols); i++) {
		struct strbuf t;
		sb_init(&t);
		sb_addf(&t, "%s.", qn.buf);
		sqlident_add(&t, cat_val(cols, i, COL_NAME));
		ddl_comment(sb, "COLUMN", t.buf, cat_val(cols, i, COL_COMMENT));
		sb_free(&t);
	}
	for (int i = 0; i < cat_rows(cons); i++) {
		if (!cat_bool(cons, i, CON_LOCAL) || cat_bool(cons, i, CON_CLONE))
			continue;
		struct strbuf t;
		sb_init(&t);
		sqlident_add(&t, cat_val(cons, i, CON_NAME));
		sb_addf(&t, " ON %s", qn.buf);
		ddl_comment(sb, "CONSTRAINT", t.buf, cat_val(cons, i, CON_COMMENT));
		sb_free(&t);
	}
	for (int i = 0; i < cat_rows(idx); i++) {
		struct strbuf t;
		sb_init(&t);
		sqlident_add_qualified(&t, j->schema, cat_val(idx, i, IDX_NAME));
		ddl_comment(sb, "INDEX", t.buf, cat_val(idx, i, IDX_COMMENT));
		sb_free(&t);
	}
	for (int i = 0; i < cat_rows(trg); i++) {
		if (cat_bool(trg, i, TRG_CLONE))
			continue;
		struct strbuf t;
		sb_init(&t);
		sqlident_add(&t, cat_val(trg, i, TRG_NAME));
		sb_addf(&t, " ON %s", qn.buf);
		ddl_comment(sb, "TRIGGER", t.buf, cat_val(trg, i, TRG_COMMENT));
		sb_free(&t);
	}
	for (int i = 0; i < cat_rows(owned); i++) {
		struct strbuf t;
		sb_init(&t);
		sqlident_add_qualified(&t, cat_val(owned, i, OWN_SCHEMA), cat_val(owned, i, OWN_NAME));
		ddl_comment(sb, "SEQUENCE", t.buf, cat_val(owned, i, OWN_COMMENT));
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
	const char *dep = cat_val(info, 0, SEQ_DEPTYPE);
	if (dep && dep[0] == 'i')
		sb_addf(sb, "-- %s is the identity sequence of ", qn.buf);
	else
		sb_addf(sb, "CREATE SEQUENCE %s", qn.buf);
	if (dep && dep[0] == 'i') {
		sqlident_add_qualified(sb, cat_val(info, 0, SEQ_OWNER_SCHEMA), cat_val(info, 0, SEQ_OWNER_TABLE));
		sb_adds(sb, ".");
		sqlident_add(sb, cat_val(info, 0, SEQ_OWNER_COLUMN));
		sb_adds(sb, ": its table's DDL creates it\n");
	} else {
		ddl_seq_options(sb, info, 0, SEQ_TYPE, true);
		sb_adds(sb, ";\n");
		if (dep) {
			sb_addf(sb, "\nALTER SEQUENCE %s OWNED BY ", qn.buf);
			sqlident_add_qualified(sb, cat_val(info, 0, SEQ_OWNER_SCHEMA), cat_val(info, 0, SEQ_OWNER_TABLE));
			sb_adds(sb, ".");
			sqlident_add(sb, cat_val(info, 0, SEQ_OWNER_COLUMN));
			sb_adds(sb, ";\n");
		}
	}
	ddl_comment(sb, "SEQUENCE", qn.buf, cat_val(info, 0, SEQ_COMMENT));
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
	const char *args = cat_val(info, 0, FN_IDENTITY_ARGS);
	sb_addf(&sig, "(%s)", args ? args : "");
	if (j->okind != 'a') {
		char *def = sql_trimmed(cat_val(info, 0, FN_DEF) ? cat_val(info, 0, FN_DEF) : "");
		sb_addf(sb, "%s;\n", def);
		free(def);
	} else {
		const char *ak = cat_val(info, 0, FN_AGGKIND);
		if (ak && ak[0] != 'n')
			cat_warn(j, xstrdup("the DDL of ordered-set and hypothetical-set aggregates is "
			    "incomplete"));
		sb_addf(sb, "CREATE AGGREGATE %s (\n    SFUNC = %s,\n    STYPE = %s", sig.buf,
		    cat_val(info, 0, FN_SFUNC), cat_val(info, 0, FN_STYPE));
		if (cat_int(info, 0, FN_SSPACE, 0) > 0)
			sb_addf(sb, ",\n    SSPACE = %lld", cat_int(info, 0, FN_SSPACE, 0));
		if (cat_val(info, 0, FN_FINALFUNC))
			sb_addf(sb, ",\n    FINALFUNC = %s", cat_val(info, 0, FN_FINALFUNC));
		if (cat_bool(info, 0, FN_FINALEXTRA))
			sb_adds(sb, ",\n    FINALFUNC_EXTRA");
		const char *fm = cat_val(info, 0, FN_FINALMODIFY);
		if (cat_val(info, 0, FN_FINALFUNC) && fm && fm[0] != 'r')
			sb_addf(sb, ",\n    FINALFUNC_MODIFY = %s", fm[0] == 's' ? "SHAREABLE" : "READ_WRITE");
		if (cat_val(info, 0, FN_COMBINEFUNC))
			sb_addf(sb, ",\n    COMBINEFUNC = %s", cat_val(info, 0, FN_COMBINEFUNC));
		if (cat_val(info, 0, FN_SERIALFUNC))
			sb_addf(sb, ",\n    SERIALFUNC = %s", cat_val(info, 0, FN_SERIALFUNC));
		if (cat_val(info, 0, FN_DESERIALFUNC))
			sb_addf(sb, ",\n    DESERIALFUNC = %s", cat_val(info, 0, FN_DESERIALFUNC));
		if (cat_val(info, 0, FN_INITCOND)) {
			sb_adds(sb, ",\n    INITCOND = ");
			quote_literal(sb, cat_val(info, 0, FN_INITCOND));
		}
		if (cat_val(info, 0, FN_SORTOP))
			sb_addf(sb, ",\n    SORTOP = %s", cat_val(info, 0, FN_SORTOP));
		const char *par = cat_val(info, 0, FN_PARALLEL);
		if (par && par[0] != 'u')
			sb_addf(sb, ",\n    PARALLEL = %s", par[0] == 's' ? "SAFE" : "RESTRICTED");
		sb_adds(sb, "\n);\n");
	}
	ddl_comment(sb, j->okind == 'p' ? "PROCEDURE" : j->okind == 'a' ? "AGGREGATE" : "FUNCTION",
	    sig.buf, cat_val(info, 0, FN_COMMENT));
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
		for (int i = 0; i < cat_rows(items); i++) {
			sb_adds(sb, i ? ",\n    " : "\n    ");
			quote_literal(sb, cat_val(items, i, ENUM_LABEL));
		}
		sb_adds(sb, "\n);\n");
		break;
	case 'c':
		sb_addf(sb, "CREATE TYPE %s AS (", qn.buf);
		for (int i = 0; i < cat_rows(items); i++) {
			sb_adds(sb, i ? ",\n" : "\n");
			ddl_column(sb, j, i, true);
		}
		sb_adds(sb, "\n);\n");
		break;
	case 'd':
		sb_addf(sb, "CREATE DOMAIN %s AS %s", qn.buf, cat_val(info, 0, TY_BASE));
		if (cat_val(info, 0, TY_COLLATION))
			sb_addf(sb, " COLLATE %s", cat_val(info, 0, TY_COLLATION));
		if (cat_val(info, 0, TY_DEFAULT))
			sb_addf(sb, " DEFAULT %s", cat_val(info, 0, TY_DEFAULT));
		if (cat_bool(info, 0, TY_NOTNULL))
			sb_adds(sb, " NOT NULL");
		for (int i = 0; i < cat_rows(items); i++) {
			if (!cat_bool(items, i, DCON_VALIDATED))
				continue;
			sb_adds(sb, "\n    CONSTRAINT ");
			sqlident_add(sb, cat_val(items, i, DCON_NAME));
			sb_addf(sb, " %s", cat_val(items, i, DCON_DEF));
		}
		sb_adds(sb, ";\n");
		for (int i = 0; i < cat_rows(items); i++) {
			if (cat_bool(items, i, DCON_VALIDATED))
				continue;
			sb_addf(sb, "\nALTER DOMAIN %s ADD CONSTRAINT ", qn.buf);
			sqlident_add(sb, cat_val(items, i, DCON_NAME));
			sb_addf(sb, " %s;\n", cat_val(items, i, DCON_DEF));
		}
		break;
	default:
		sb_addf(sb, "CREATE TYPE %s AS RANGE (\n    subtype = %s", qn.buf, cat_val(info, 0, TY_SUBTYPE));
		if (cat_val(info, 0, TY_OPCLASS))
			sb_addf(sb, ",\n    subtype_opclass = %s", cat_val(info, 0, TY_OPCLASS));
		if (cat_val(info, 0, TY_RANGE_COLLATION))
			sb_addf(sb, ",\n    collation = %s", cat_val(info, 0, TY_RANGE_COLLATION));
		if (cat_val(info, 0, TY_CANONICAL))
			sb_addf(sb, ",\n    canonical = %s", cat_val(info, 0, TY_CANONICAL));
		if (cat_val(info, 0, TY_SUBDIFF))
			sb_addf(sb, ",\n    subtype_diff = %s", cat_val(info, 0, TY_SUBDIFF));
		if (cat_val(info, 0, TY_MULTIRANGE))
			sb_addf(sb, ",\n    multirange_type_name = %s", cat_val(info, 0, TY_MULTIRANGE));
		sb_adds(sb, "\n);\n");
		break;
	}
	ddl_comment(sb, j->okind == 'd' ? "DOMAIN" : "TYPE", qn.buf, cat_val(info, 0, TY_COMMENT));
	if (j->okind == 'c') {
		for (int i = 0; i < cat_rows(items); i++) {
			struct strbuf t;
			sb_init(&t);
			sb_addf(&t, "%s.", qn.buf);
			sqlident_add(&t, cat_val(items, i, COL_NAME));
			ddl_comment(sb, "COLUMN", t.buf, cat_val(items, i, COL_COMMENT));
			sb_free(&t);
		}
	}
	if (j->okind == 'd') {
		for (int i = 0; i < cat_rows(items); i++) {
			struct strbuf t;
			sb_init(&t);
			sqlident_add(&t, cat_val(items, i, DCON_NAME));
			sb_addf(&t, " ON DOMAIN %s", qn.buf);
			ddl_comment(sb, "CONSTRAINT", t.buf, cat_val(items, i, DCON_COMMENT));
			sb_free(&t);
		}
	}
	sb_free(&qn);
}

void
ddl_build(struct strbuf *sb, struct job *j)
{
	const PGresult *info = j->res[D_INFO];
	sb_adds(sb, "");
	if (info == NULL || cat_rows(info) == 0)
		return;
	if (j->oc == OC_REL)
		ddl_relation(sb, j);
	else if (j->oc == OC_SEQ)
		ddl_sequence(sb, j);
	else if (j->oc == OC_FUNC)
		ddl_function(sb, j);
	else
		ddl_type(sb, j);
}

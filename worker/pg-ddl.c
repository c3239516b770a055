/*
 * pg-ddl.c — the DDL that recreates what describe read: CREATE TABLE (or
 * FOREIGN TABLE, PARTITION OF), its constraints, indexes, triggers, owned
 * sequences and comments; CREATE VIEW / MATERIALIZED VIEW, SEQUENCE,
 * FUNCTION (pg_get_functiondef) or AGGREGATE, TYPE and DOMAIN. Run in an
 * empty database it gives what pg_dump --schema-only gives (the
 * integration suite checks that for every kind). Names are quoted with
 * quote.h; expressions come from the server's pg_get_*def functions.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg-catalog.h"
#include "quote.h"
#include "util.h"

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

/* The options of a sequence from columns at col of r (type, start, increment,
 * min, max, cache, cycle); with_type: AS type first. */
static void
ddl_seq_options(struct strbuf *sb, const PGresult *r, int row, int col, bool with_type)
{
	const char *sep = with_type ? "\n    " : " ";
	if (with_type)
		sb_addf(sb, "%sAS %s", sep, cat_val(r, row, col));
	sb_addf(sb, "%sSTART WITH %s%sINCREMENT BY %s%sMINVALUE %s%sMAXVALUE %s%sCACHE %s%s%sCYCLE",
	    sep, cat_val(r, row, col + 1), sep, cat_val(r, row, col + 2), sep, cat_val(r, row, col + 3), sep,
	    cat_val(r, row, col + 4), sep, cat_val(r, row, col + 5), sep, cat_bool(r, row, col + 6) ? "" : "NO ");
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
		if (strcmp(cat_val(owned, i, 0), attname) == 0 && cat_val(owned, i, 3)[0] == deptype)
			return i;
	return -1;
}

/* One column's definition in CREATE TABLE / CREATE TYPE. */
static void
ddl_column(struct strbuf *sb, const struct job *j, int i, bool composite)
{
	const PGresult *c = j->res[composite ? D_ITEMS : D_COLS], *owned = j->res[D_OWNED];
	const char *name = cat_val(c, i, 1), *def = cat_val(c, i, 4), *ident = cat_val(c, i, 5);
	const char *gen = cat_val(c, i, 6), *coll = cat_val(c, i, 8), *fdwopts = cat_val(c, i, 13);
	sb_adds(sb, "    ");
	quote_ident(sb, name);
	sb_addf(sb, " %s", cat_val(c, i, 2));
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
			quote_qualified(sb, cat_val(owned, o, 1), cat_val(owned, o, 2));
			ddl_seq_options(sb, owned, o, 4, false);
			sb_adds(sb, ")");
		}
	} else if (def) {
		sb_addf(sb, " DEFAULT %s", def);
	}
	if (!cat_bool(c, i, 3))
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
	const char *comment = cat_val(info, 0, 4), *relopts = cat_val(info, 0, 8);
	const char *am = cat_val(info, 0, 20), *tablespace = cat_val(info, 0, 21);
	bool is_part = cat_val(info, 0, 10) != NULL;

	if (k == 'v' || k == 'm') {
		char *def = sql_trimmed(cat_val(info, 0, 13) ? cat_val(info, 0, 13) : "");
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
			sb_addf(sb, "\n  WITH %sDATA", cat_bool(info, 0, 14) ? "" : "NO ");
		sb_adds(sb, ";\n");
		free(def);
	} else {
		/* serial columns' sequences first (their defaults name them) */
		for (int i = 0; i < cat_rows(owned); i++) {
			if (cat_val(owned, i, 3)[0] != 'a')
				continue;
			sb_adds(sb, "CREATE SEQUENCE ");
			quote_qualified(sb, cat_val(owned, i, 1), cat_val(owned, i, 2));
			ddl_seq_options(sb, owned, i, 4, true);
			sb_adds(sb, ";\n\n");
		}
		sb_addf(sb, "CREATE %s%sTABLE %s", cat_val(info, 0, 7)[0] == 'u' ? "UNLOGGED " : "",
		    k == 'f' ? "FOREIGN " : "", qn.buf);
		if (is_part) {
			sb_adds(sb, " PARTITION OF ");
			quote_qualified(sb, cat_val(info, 0, 10), cat_val(info, 0, 11));
		}
		/* columns (a partition's come from its parent), then table constraints */
		struct strbuf items;
		sb_init(&items);
		for (int i = 0; i < cat_rows(cols) && !is_part; i++) {
			if (!cat_bool(cols, i, 9))
				continue; /* inherited (INHERITS) */
			sb_adds(&items, items.len ? ",\n" : "\n");
			ddl_column(&items, j, i, false);
		}
		for (int i = 0; i < cat_rows(cons); i++) {
			const char *t = cat_val(cons, i, 1);
			if (!cat_bool(cons, i, 3) || cat_bool(cons, i, 16) || !cat_bool(cons, i, 5) ||
			    !strchr("cpux", t[0]))
				continue; /* inherited, not valid, a foreign key: later */
			sb_adds(&items, items.len ? ",\n" : "\n");
			sb_adds(&items, "    CONSTRAINT ");
			quote_ident(&items, cat_val(cons, i, 0));
			sb_addf(&items, " %s", cat_val(cons, i, 2));
		}
		if (items.len || !is_part) {
			sb_adds(sb, " (");
			if (items.len)
				sb_add(sb, items.buf, items.len);
			sb_adds(sb, "\n)");
		}
		sb_free(&items);
		if (is_part)
			sb_addf(sb, "\n%s", cat_val(info, 0, 12));
		if (cat_val(info, 0, 22))
			sb_addf(sb, "\nINHERITS (%s)", cat_val(info, 0, 22));
		if (cat_val(info, 0, 9))
			sb_addf(sb, "\nPARTITION BY %s", cat_val(info, 0, 9));
		if (cat_val(info, 0, 18)) {
			sb_adds(sb, "\nSERVER ");
			quote_ident(sb, cat_val(info, 0, 18));
		}
		if (k == 'f' && cat_val(info, 0, 19))
			sb_addf(sb, "\nOPTIONS (%s)", cat_val(info, 0, 19));
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
	for (int i = 0; i < cat_rows(cols) && is_part; i++) {
		const char *gen = cat_val(cols, i, 6), *ident = cat_val(cols, i, 5);
		if ((gen && *gen) || (ident && *ident))
			continue;
		if (cat_val(cols, i, 4)) {
			sb_addf(sb, "\nALTER TABLE ONLY %s ALTER COLUMN ", qn.buf);
			quote_ident(sb, cat_val(cols, i, 1));
			sb_addf(sb, " SET DEFAULT %s;\n", cat_val(cols, i, 4));
		}
		if (!cat_bool(cols, i, 3)) {
			sb_addf(sb, "\nALTER TABLE ONLY %s ALTER COLUMN ", qn.buf);
			quote_ident(sb, cat_val(cols, i, 1));
			sb_adds(sb, " SET NOT NULL;\n");
		}
	}
	/* column storage and statistics targets */
	for (int i = 0; i < cat_rows(cols); i++) {
		if (cat_val(cols, i, 11)) {
			const char *st = cat_val(cols, i, 11);
			sb_addf(sb, "\nALTER TABLE ONLY %s ALTER COLUMN ", qn.buf);
			quote_ident(sb, cat_val(cols, i, 1));
			sb_addf(sb, " SET STORAGE %s;\n", st[0] == 'p' ? "PLAIN" : st[0] == 'e' ?
			    "EXTERNAL" : st[0] == 'm' ? "MAIN" : "EXTENDED");
		}
		if (cat_int(cols, i, 12, -1) >= 0) {
			sb_addf(sb, "\nALTER TABLE ONLY %s ALTER COLUMN ", qn.buf);
			quote_ident(sb, cat_val(cols, i, 1));
			sb_addf(sb, " SET STATISTICS %lld;\n", cat_int(cols, i, 12, -1));
		}
	}
	/* constraints that are not valid yet, and foreign keys */
	for (int i = 0; i < cat_rows(cons); i++) {
		const char *t = cat_val(cons, i, 1);
		if (!cat_bool(cons, i, 3) || cat_bool(cons, i, 16) || t[0] == 't')
			continue;
		if (t[0] != 'f' && cat_bool(cons, i, 5))
			continue; /* in CREATE TABLE */
		sb_addf(sb, "\nALTER TABLE %s%s ADD CONSTRAINT ", t[0] == 'f' ? "" : "ONLY ", qn.buf);
		quote_ident(sb, cat_val(cons, i, 0));
		sb_addf(sb, " %s;\n", cat_val(cons, i, 2));
	}
	/* indexes that no constraint and no parent index makes */
	for (int i = 0; i < cat_rows(idx); i++) {
		if (cat_val(idx, i, 8) || cat_bool(idx, i, 9))
			continue;
		const char *def = cat_val(idx, i, 1), *only = strstr(def, " ON ONLY ");
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
		if (cat_bool(idx, i, 5)) {
			sb_addf(sb, "\nALTER TABLE %s CLUSTER ON ", qn.buf);
			quote_ident(sb, cat_val(idx, i, 0));
			sb_adds(sb, ";\n");
		}
		if (cat_bool(idx, i, 6) && cat_val(info, 0, 17)[0] == 'i' && (k == 'r' || k == 'p')) {
			sb_addf(sb, "\nALTER TABLE ONLY %s REPLICA IDENTITY USING INDEX ", qn.buf);
			quote_ident(sb, cat_val(idx, i, 0));
			sb_adds(sb, ";\n");
		}
	}
	const char *ri = cat_val(info, 0, 17);
	if (ri && (ri[0] == 'f' || ri[0] == 'n') && (k == 'r' || k == 'p'))
		sb_addf(sb, "\nALTER TABLE ONLY %s REPLICA IDENTITY %s;\n", qn.buf,
		    ri[0] == 'f' ? "FULL" : "NOTHING");
	/* triggers of its own (not a parent's clones) */
	for (int i = 0; i < cat_rows(trg); i++) {
		if (cat_bool(trg, i, 4))
			continue;
		sb_addf(sb, "\n%s;\n", cat_val(trg, i, 1));
		const char *en = cat_val(trg, i, 2);
		if (en[0] != 'O') {
			sb_addf(sb, "\nALTER TABLE %s %s TRIGGER ", qn.buf, en[0] == 'D' ? "DISABLE" :
			    en[0] == 'R' ? "ENABLE REPLICA" : "ENABLE ALWAYS");
			quote_ident(sb, cat_val(trg, i, 0));
			sb_adds(sb, ";\n");
		}
	}
	if (cat_bool(info, 0, 15))
		sb_addf(sb, "\nALTER TABLE %s ENABLE ROW LEVEL SECURITY;\n", qn.buf);
	if (cat_bool(info, 0, 16))
		sb_addf(sb, "\nALTER TABLE %s FORCE ROW LEVEL SECURITY;\n", qn.buf);
	for (int i = 0; i < cat_rows(owned); i++) {
		if (cat_val(owned, i, 3)[0] != 'a')
			continue;
		sb_adds(sb, "\nALTER SEQUENCE ");
		quote_qualified(sb, cat_val(owned, i, 1), cat_val(owned, i, 2));
		sb_addf(sb, " OWNED BY %s.", qn.buf);
		quote_ident(sb, cat_val(owned, i, 0));
		sb_adds(sb, ";\n");
	}

	/* comments */
	ddl_comment(sb, k == 'v' ? "VIEW" : k == 'm' ? "MATERIALIZED VIEW" : k == 'f' ?
	    "FOREIGN TABLE" : "TABLE", qn.buf, comment);
	for (int i = 0; i < cat_rows(cols); i++) {
		struct strbuf t;
		sb_init(&t);
		sb_addf(&t, "%s.", qn.buf);
		quote_ident(&t, cat_val(cols, i, 1));
		ddl_comment(sb, "COLUMN", t.buf, cat_val(cols, i, 7));
		sb_free(&t);
	}
	for (int i = 0; i < cat_rows(cons); i++) {
		if (!cat_bool(cons, i, 3) || cat_bool(cons, i, 16))
			continue;
		struct strbuf t;
		sb_init(&t);
		quote_ident(&t, cat_val(cons, i, 0));
		sb_addf(&t, " ON %s", qn.buf);
		ddl_comment(sb, "CONSTRAINT", t.buf, cat_val(cons, i, 6));
		sb_free(&t);
	}
	for (int i = 0; i < cat_rows(idx); i++) {
		struct strbuf t;
		sb_init(&t);
		quote_qualified(&t, j->schema, cat_val(idx, i, 0));
		ddl_comment(sb, "INDEX", t.buf, cat_val(idx, i, 7));
		sb_free(&t);
	}
	for (int i = 0; i < cat_rows(trg); i++) {
		if (cat_bool(trg, i, 4))
			continue;
		struct strbuf t;
		sb_init(&t);
		quote_ident(&t, cat_val(trg, i, 0));
		sb_addf(&t, " ON %s", qn.buf);
		ddl_comment(sb, "TRIGGER", t.buf, cat_val(trg, i, 3));
		sb_free(&t);
	}
	for (int i = 0; i < cat_rows(owned); i++) {
		struct strbuf t;
		sb_init(&t);
		quote_qualified(&t, cat_val(owned, i, 1), cat_val(owned, i, 2));
		ddl_comment(sb, "SEQUENCE", t.buf, cat_val(owned, i, 11));
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
	const char *dep = cat_val(info, 0, 15);
	if (dep && dep[0] == 'i')
		sb_addf(sb, "-- %s is the identity sequence of ", qn.buf);
	else
		sb_addf(sb, "CREATE SEQUENCE %s", qn.buf);
	if (dep && dep[0] == 'i') {
		quote_qualified(sb, cat_val(info, 0, 12), cat_val(info, 0, 13));
		sb_adds(sb, ".");
		quote_ident(sb, cat_val(info, 0, 14));
		sb_adds(sb, ": its table's DDL creates it\n");
	} else {
		ddl_seq_options(sb, info, 0, 5, true);
		sb_adds(sb, ";\n");
		if (dep) {
			sb_addf(sb, "\nALTER SEQUENCE %s OWNED BY ", qn.buf);
			quote_qualified(sb, cat_val(info, 0, 12), cat_val(info, 0, 13));
			sb_adds(sb, ".");
			quote_ident(sb, cat_val(info, 0, 14));
			sb_adds(sb, ";\n");
		}
	}
	ddl_comment(sb, "SEQUENCE", qn.buf, cat_val(info, 0, 4));
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
	sb_addf(&sig, "(%s)", cat_val(info, 0, 7) ? cat_val(info, 0, 7) : "");
	if (j->okind != 'a') {
		char *def = sql_trimmed(cat_val(info, 0, 8) ? cat_val(info, 0, 8) : "");
		sb_addf(sb, "%s;\n", def);
		free(def);
	} else {
		const char *ak = cat_val(info, 0, 9);
		if (ak && ak[0] != 'n')
			cat_warn(j, xstrdup("the DDL of ordered-set and hypothetical-set aggregates is "
			    "incomplete"));
		sb_addf(sb, "CREATE AGGREGATE %s (\n    SFUNC = %s,\n    STYPE = %s", sig.buf,
		    cat_val(info, 0, 10), cat_val(info, 0, 11));
		if (cat_int(info, 0, 12, 0) > 0)
			sb_addf(sb, ",\n    SSPACE = %lld", cat_int(info, 0, 12, 0));
		if (cat_val(info, 0, 13))
			sb_addf(sb, ",\n    FINALFUNC = %s", cat_val(info, 0, 13));
		if (cat_bool(info, 0, 14))
			sb_adds(sb, ",\n    FINALFUNC_EXTRA");
		const char *fm = cat_val(info, 0, 21);
		if (cat_val(info, 0, 13) && fm && fm[0] != 'r')
			sb_addf(sb, ",\n    FINALFUNC_MODIFY = %s", fm[0] == 's' ? "SHAREABLE" : "READ_WRITE");
		if (cat_val(info, 0, 15))
			sb_addf(sb, ",\n    COMBINEFUNC = %s", cat_val(info, 0, 15));
		if (cat_val(info, 0, 16))
			sb_addf(sb, ",\n    SERIALFUNC = %s", cat_val(info, 0, 16));
		if (cat_val(info, 0, 17))
			sb_addf(sb, ",\n    DESERIALFUNC = %s", cat_val(info, 0, 17));
		if (cat_val(info, 0, 18)) {
			sb_adds(sb, ",\n    INITCOND = ");
			quote_literal(sb, cat_val(info, 0, 18));
		}
		if (cat_val(info, 0, 19))
			sb_addf(sb, ",\n    SORTOP = %s", cat_val(info, 0, 19));
		const char *par = cat_val(info, 0, 20);
		if (par && par[0] != 'u')
			sb_addf(sb, ",\n    PARALLEL = %s", par[0] == 's' ? "SAFE" : "RESTRICTED");
		sb_adds(sb, "\n);\n");
	}
	ddl_comment(sb, j->okind == 'p' ? "PROCEDURE" : j->okind == 'a' ? "AGGREGATE" : "FUNCTION",
	    sig.buf, cat_val(info, 0, 4));
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
			quote_literal(sb, cat_val(items, i, 0));
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
		sb_addf(sb, "CREATE DOMAIN %s AS %s", qn.buf, cat_val(info, 0, 5));
		if (cat_val(info, 0, 8))
			sb_addf(sb, " COLLATE %s", cat_val(info, 0, 8));
		if (cat_val(info, 0, 7))
			sb_addf(sb, " DEFAULT %s", cat_val(info, 0, 7));
		if (cat_bool(info, 0, 6))
			sb_adds(sb, " NOT NULL");
		for (int i = 0; i < cat_rows(items); i++) {
			if (!cat_bool(items, i, 2))
				continue;
			sb_adds(sb, "\n    CONSTRAINT ");
			quote_ident(sb, cat_val(items, i, 0));
			sb_addf(sb, " %s", cat_val(items, i, 1));
		}
		sb_adds(sb, ";\n");
		for (int i = 0; i < cat_rows(items); i++) {
			if (cat_bool(items, i, 2))
				continue;
			sb_addf(sb, "\nALTER DOMAIN %s ADD CONSTRAINT ", qn.buf);
			quote_ident(sb, cat_val(items, i, 0));
			sb_addf(sb, " %s;\n", cat_val(items, i, 1));
		}
		break;
	default:
		sb_addf(sb, "CREATE TYPE %s AS RANGE (\n    subtype = %s", qn.buf, cat_val(info, 0, 9));
		if (cat_val(info, 0, 10))
			sb_addf(sb, ",\n    subtype_opclass = %s", cat_val(info, 0, 10));
		if (cat_val(info, 0, 11))
			sb_addf(sb, ",\n    collation = %s", cat_val(info, 0, 11));
		if (cat_val(info, 0, 12))
			sb_addf(sb, ",\n    canonical = %s", cat_val(info, 0, 12));
		if (cat_val(info, 0, 13))
			sb_addf(sb, ",\n    subtype_diff = %s", cat_val(info, 0, 13));
		if (cat_val(info, 0, 14))
			sb_addf(sb, ",\n    multirange_type_name = %s", cat_val(info, 0, 14));
		sb_adds(sb, "\n);\n");
		break;
	}
	ddl_comment(sb, j->okind == 'd' ? "DOMAIN" : "TYPE", qn.buf, cat_val(info, 0, 4));
	if (j->okind == 'c') {
		for (int i = 0; i < cat_rows(items); i++) {
			struct strbuf t;
			sb_init(&t);
			sb_addf(&t, "%s.", qn.buf);
			quote_ident(&t, cat_val(items, i, 1));
			ddl_comment(sb, "COLUMN", t.buf, cat_val(items, i, 7));
			sb_free(&t);
		}
	}
	if (j->okind == 'd') {
		for (int i = 0; i < cat_rows(items); i++) {
			struct strbuf t;
			sb_init(&t);
			quote_ident(&t, cat_val(items, i, 0));
			sb_addf(&t, " ON DOMAIN %s", qn.buf);
			ddl_comment(sb, "CONSTRAINT", t.buf, cat_val(items, i, 3));
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

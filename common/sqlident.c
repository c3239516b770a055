/*
 * sqlident.c — quote_ident() rules (sqlident.h).
 */
#include <stdlib.h>
#include <string.h>

#include "sqlident.h"

/*
 * The keywords quote_ident() quotes: every pg_get_keywords() word whose
 * catcode is not 'U' (unreserved), PostgreSQL 15. Sorted for bsearch.
 */
static const char *const quoted_keywords[] = {
	"all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric",
	"authorization", "between", "bigint", "binary", "bit", "boolean", "both", "case",
	"cast", "char", "character", "check", "coalesce", "collate", "collation", "column",
	"concurrently", "constraint", "create", "cross", "current_catalog", "current_date",
	"current_role", "current_schema", "current_time", "current_timestamp", "current_user",
	"dec", "decimal", "default", "deferrable", "desc", "distinct", "do", "else", "end",
	"except", "exists", "extract", "false", "fetch", "float", "for", "foreign", "freeze",
	"from", "full", "grant", "greatest", "group", "grouping", "having", "ilike", "in",
	"initially", "inner", "inout", "int", "integer", "intersect", "interval", "into", "is",
	"isnull", "join", "lateral", "leading", "least", "left", "like", "limit", "localtime",
	"localtimestamp", "national", "natural", "nchar", "none", "normalize", "not",
	"notnull", "null", "nullif", "numeric", "offset", "on", "only", "or", "order", "out",
	"outer", "overlaps", "overlay", "placing", "position", "precision", "primary", "real",
	"references", "returning", "right", "row", "select", "session_user", "setof",
	"similar", "smallint", "some", "substring", "symmetric", "table", "tablesample",
	"then", "time", "timestamp", "to", "trailing", "treat", "trim", "true", "union",
	"unique", "user", "using", "values", "varchar", "variadic", "verbose", "when", "where",
	"window", "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists", "xmlforest",
	"xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable",
};

/* bsearch comparator: a word against a table entry. */
static int
kw_cmp(const void *key, const void *ent)
{
	return strcmp(key, *(const char *const *)ent);
}

bool
sqlident_is_keyword(const char *word)
{
	return bsearch(word, quoted_keywords, nitems(quoted_keywords), sizeof quoted_keywords[0],
	    kw_cmp) != NULL;
}

bool
sqlident_needs_quotes(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return true;
	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return true;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return true;
	return sqlident_is_keyword(name);
}

void
sqlident_add(struct strbuf *sb, const char *name)
{
	if (!sqlident_needs_quotes(name)) {
		sb_adds(sb, name);
		return;
	}
	sb_addc(sb, '"');
	for (const char *p = name ? name : ""; *p; p++) {
		if (*p == '"')
			sb_addc(sb, '"');
		sb_addc(sb, *p);
	}
	sb_addc(sb, '"');
}

void
sqlident_add_qualified(struct strbuf *sb, const char *schema, const char *name)
{
	sqlident_add(sb, schema);
	sb_addc(sb, '.');
	sqlident_add(sb, name);
}

char *
sqlident_quote(const char *name)
{
	struct strbuf sb;
	sb_init(&sb);
	sqlident_add(&sb, name);
	return sb_detach(&sb);
}

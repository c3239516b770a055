/*
 * quote.c — quote_ident() and quote_literal() as PostgreSQL has them
 * (quote.h). The rules follow quote_identifier() in ruleutils.c.
 */
#include "quote.h"

#include <stdlib.h>
#include <string.h>

/*
 * PostgreSQL's keywords in every category but UNRESERVED (reserved,
 * type/function-name, column-name): what pg_get_keywords() lists with
 * catcode <> 'U'. PostgreSQL 15's list, plus what 16 (system_user,
 * json_array, json_arrayagg, json_object, json_objectagg) and 17 (json,
 * json_exists, json_query, json_scalar, json_serialize, json_table,
 * json_value, merge_action) added. Sorted, for bsearch.
 */
const char *const quote_keywords[] = {
	"all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric",
	"authorization", "between", "bigint", "binary", "bit", "boolean", "both", "case",
	"cast", "char", "character", "check", "coalesce", "collate", "collation", "column",
	"concurrently", "constraint", "create", "cross", "current_catalog", "current_date",
	"current_role", "current_schema", "current_time", "current_timestamp", "current_user",
	"dec", "decimal", "default", "deferrable", "desc", "distinct", "do", "else", "end",
	"except", "exists", "extract", "false", "fetch", "float", "for", "foreign", "freeze",
	"from", "full", "grant", "greatest", "group", "grouping", "having", "ilike", "in",
	"initially", "inner", "inout", "int", "integer", "intersect", "interval", "into", "is",
	"isnull", "join", "json", "json_array", "json_arrayagg", "json_exists", "json_object",
	"json_objectagg", "json_query", "json_scalar", "json_serialize", "json_table",
	"json_value", "lateral", "leading", "least", "left", "like", "limit", "localtime",
	"localtimestamp", "merge_action", "national", "natural", "nchar", "none", "normalize",
	"not", "notnull", "null", "nullif", "numeric", "offset", "on", "only", "or", "order",
	"out", "outer", "overlaps", "overlay", "placing", "position", "precision", "primary",
	"real", "references", "returning", "right", "row", "select", "session_user", "setof",
	"similar", "smallint", "some", "substring", "symmetric", "system_user", "table",
	"tablesample", "then", "time", "timestamp", "to", "trailing", "treat", "trim", "true",
	"union", "unique", "user", "using", "values", "varchar", "variadic", "verbose", "when",
	"where", "window", "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists",
	"xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize",
	"xmltable",
};
const unsigned quote_nkeywords = sizeof quote_keywords / sizeof quote_keywords[0];

/* bsearch's comparison of a word with a keyword. */
static int
keyword_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

bool
quote_is_keyword(const char *name)
{
	return bsearch(name, quote_keywords, quote_nkeywords, sizeof quote_keywords[0],
	    keyword_cmp) != NULL;
}

bool
quote_ident_needed(const char *name)
{
	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return true;
	for (const char *s = name; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return true;
	return quote_is_keyword(name);
}

void
quote_ident(struct strbuf *sb, const char *name)
{
	if (!quote_ident_needed(name)) {
		sb_adds(sb, name);
		return;
	}
	sb_addc(sb, '"');
	for (const char *s = name; *s; s++) {
		if (*s == '"')
			sb_addc(sb, '"');
		sb_addc(sb, *s);
	}
	sb_addc(sb, '"');
}

void
quote_qualified(struct strbuf *sb, const char *schema, const char *name)
{
	if (schema) {
		quote_ident(sb, schema);
		sb_addc(sb, '.');
	}
	quote_ident(sb, name);
}

void
quote_literal(struct strbuf *sb, const char *s)
{
	if (s == NULL) {
		sb_adds(sb, "NULL");
		return;
	}
	if (strchr(s, '\\'))
		sb_addc(sb, 'E');
	sb_addc(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			sb_addc(sb, *s);
		sb_addc(sb, *s);
	}
	sb_addc(sb, '\'');
}

char *
quote_ident_dup(const char *name)
{
	struct strbuf sb;
	sb_init(&sb);
	quote_ident(&sb, name);
	return sb_detach(&sb);
}

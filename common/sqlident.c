/*
 * sqlident.c — quote_ident() and quote_literal() rules, and names read as
 * the server reads them (sqlident.h).
 */
#include <stdlib.h>
#include <string.h>

#include "sqlident.h"

/*
 * The keywords quote_ident() quotes: every pg_get_keywords() word whose
 * catcode is not 'U' (unreserved), PostgreSQL 15, and the ones later
 * releases added (json and the SQL/JSON functions, merge_action,
 * system_user): quoting a word an older server would not is harmless,
 * missing one a newer server needs is not. Sorted for bsearch.
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
	"isnull", "join", "json", "json_array", "json_arrayagg", "json_exists", "json_object",
	"json_objectagg", "json_query", "json_scalar", "json_serialize", "json_table", "json_value",
	"lateral", "leading", "least", "left", "like", "limit", "localtime",
	"localtimestamp", "merge_action", "national", "natural", "nchar", "none", "normalize", "not",
	"notnull", "null", "nullif", "numeric", "offset", "on", "only", "or", "order", "out",
	"outer", "overlaps", "overlay", "placing", "position", "precision", "primary", "real",
	"references", "returning", "right", "row", "select", "session_user", "setof",
	"similar", "smallint", "some", "substring", "symmetric", "system_user", "table", "tablesample",
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

void
sqlident_literal(struct strbuf *sb, const char *s, size_t len)
{
	if (memchr(s, '\\', len))
		sb_addc(sb, 'E');
	sb_addc(sb, '\'');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\'' || s[i] == '\\')
			sb_addc(sb, s[i]);
		sb_addc(sb, s[i]);
	}
	sb_addc(sb, '\'');
}

/* One part of a name from *pp (moved past it): a new string, or NULL. */
static char *
name_part(const char **pp)
{
	const char *p = *pp;
	struct strbuf sb;
	sb_init(&sb);
	if (*p == '"') {
		p++;
		for (;;) {
			if (*p == '\0') {
				sb_free(&sb);
				return NULL; /* unterminated */
			}
			if (*p == '"') {
				if (p[1] != '"')
					break;
				p++;
			}
			sb_addc(&sb, *p++);
		}
		p++;
		if (sb.len == 0) {
			sb_free(&sb);
			return NULL; /* "" is not a name */
		}
	} else {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		    (unsigned char)*p >= 0x80)) {
			sb_free(&sb);
			return NULL;
		}
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '$' || (unsigned char)*p >= 0x80) {
			char c = *p++;
			sb_addc(&sb, c >= 'A' && c <= 'Z' ? (char)(c + 32) : c);
		}
	}
	*pp = p;
	return sb_detach(&sb);
}

int
sqlname_parse(struct sqlname *n, const char *text, const char *field, struct tusk_error *e)
{
	memset(n, 0, sizeof *n);
	const char *p = text;
	char *first = name_part(&p);
	char *second = NULL;
	if (first && *p == '.') {
		p++;
		second = name_part(&p);
	}
	if (first == NULL || *p != '\0' || (second == NULL && p > text && p[-1] == '.')) {
		free(first);
		free(second);
		terr_set(e, TE_VALIDATION, "%s: '%.100s' is not a table name", field, text);
		terr_hint(e, "write it as in SQL: name or schema.name; \"Quote\" a name with capitals, "
		    "spaces or other characters");
		return -1;
	}
	if (second) {
		n->schema = first;
		n->name = second;
	} else {
		n->name = first;
	}
	return 0;
}

void
sqlname_quote(struct strbuf *sb, const struct sqlname *n)
{
	if (n->schema)
		sqlident_add_qualified(sb, n->schema, n->name);
	else
		sqlident_add(sb, n->name);
}

/* Free a qualified name's parts and clear it. */
void
sqlname_free(struct sqlname *n)
{
	free(n->schema);
	free(n->name);
	memset(n, 0, sizeof *n);
}

/*
 * sqlident.h — SQL identifiers as PostgreSQL's quote_ident() writes them.
 *
 * Every statement Tusk builds from a user's input (a table's data, its
 * edits, filters) names schemas, tables and columns through these
 * functions, and passes values as bound parameters, never as text pasted
 * into SQL. A name is left bare only when quote_ident() would leave it
 * bare: lower-case letters, digits and underscores, not starting with a
 * digit, and not a keyword other than an unreserved one (the keyword list
 * is PostgreSQL 15's pg_get_keywords(); tests check it against the
 * server). Anything else is double-quoted with inner quotes doubled.
 */
#ifndef TUSK_SQLIDENT_H
#define TUSK_SQLIDENT_H

#include <stdbool.h>

#include "util.h"

/* Would quote_ident() quote this name? */
bool sqlident_needs_quotes(const char *name);
/* Is this word a keyword quote_ident() quotes (reserved, column-name or
 * type/function-name category)? Lower-case words only. */
bool sqlident_is_keyword(const char *word);
/* Append the identifier as quote_ident() writes it. */
void sqlident_add(struct strbuf *sb, const char *name);
/* Append schema.name, each part quoted as needed. */
void sqlident_add_qualified(struct strbuf *sb, const char *schema, const char *name);
/* The identifier as quote_ident() writes it (a new string). */
char *sqlident_quote(const char *name);

#endif

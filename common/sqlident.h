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
 *
 * Also: a value as quote_literal() writes it (for the INSERT statements an
 * export writes: a file is no place for bound values), and a possibly
 * qualified name given as SQL text (import_file's table: quoted parts kept,
 * unquoted ones folded to lower case) read the way the server reads it.
 */
#ifndef TUSK_SQLIDENT_H
#define TUSK_SQLIDENT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
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
/* Append the value as quote_literal() would: '...' with quotes doubled,
 * or E'...' with backslashes doubled too when it has any (so it reads the
 * same whatever standard_conforming_strings is). */
void sqlident_literal(struct strbuf *sb, const char *s, size_t len);

/* A name as written in SQL: one or two parts (schema.name). */
struct sqlname {
	char *schema; /* NULL when not qualified */
	char *name;
};

/*
 * Read text as the server reads a (qualified) name: "Quoted" parts are kept
 * as written ("" is one quote), unquoted ones are folded to lower case and
 * must be letters, digits, _ or $ (not starting with a digit or $). -1 with
 * a Validation error naming field otherwise.
 */
int sqlname_parse(struct sqlname *n, const char *text, const char *field, struct tusk_error *e);
/* Append the name, each part quoted as quote_ident() would. */
void sqlname_quote(struct strbuf *sb, const struct sqlname *n);
void sqlname_free(struct sqlname *n);

#endif

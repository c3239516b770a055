/*
 * quote.h — names and literals in SQL that Tusk builds, quoted exactly as
 * PostgreSQL's quote_ident() and quote_literal() would.
 *
 * A name is left bare only when it is lower-case ASCII letters, digits and
 * underscores, starts with a letter or underscore, and is not a keyword
 * PostgreSQL reserves in any way (every category but "unreserved"): so
 * "Order Items", "Ünïcode", "user" and "select" come out quoted, orders
 * does not. The keyword list is PostgreSQL 17's (a superset of 12..16's:
 * quoting a word an older server would accept bare is harmless); the
 * integration suite compares it with the server's pg_get_keywords().
 */
#ifndef TUSK_QUOTE_H
#define TUSK_QUOTE_H

#include <stdbool.h>

#include "util.h"

/* Is name a keyword PostgreSQL does not accept as a bare column name? */
bool quote_is_keyword(const char *name);
/* Would quote_ident() quote it? */
bool quote_ident_needed(const char *name);
/* Append name as quote_ident() gives it. */
void quote_ident(struct strbuf *sb, const char *name);
/* Append schema.name, each part quoted (schema NULL: name alone). */
void quote_qualified(struct strbuf *sb, const char *schema, const char *name);
/* Append s as quote_literal() gives it ('...', E'...' when it holds a
 * backslash); NULL appends NULL. */
void quote_literal(struct strbuf *sb, const char *s);
/* A new string: quote_ident(name). */
char *quote_ident_dup(const char *name);

/* The keywords, sorted (for the tests and for clients that quote too). */
extern const char *const quote_keywords[];
extern const unsigned quote_nkeywords;

#endif

/*
 * sqlident.h — SQL names and literals written as PostgreSQL writes them:
 * quote_ident's rules for a name, quote_literal's for a value, and a
 * possibly qualified name (schema.table, quoted parts kept, unquoted ones
 * folded to lower case) read the way the server reads it. Statements Tusk
 * builds from user input use these, never concatenation of raw text.
 */
#ifndef TUSK_SQLIDENT_H
#define TUSK_SQLIDENT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "util.h"

/* Does quote_ident put this name in double quotes? */
bool sqlident_needs_quotes(const char *name, size_t len);
/* Append the name as quote_ident would write it. */
void sqlident_quote(struct strbuf *sb, const char *name, size_t len);
/* Append the value as quote_literal would: '...' with quotes doubled, or
 * E'...' with backslashes doubled too when it has any (so it reads the same
 * whatever standard_conforming_strings is). */
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
/* Append the name, each part quoted as quote_ident would. */
void sqlname_quote(struct strbuf *sb, const struct sqlname *n);
void sqlname_free(struct sqlname *n);

#endif

/*
 * quote.h — string literals in SQL that Tusk builds (the DDL that
 * describe_object writes: comments, enum labels, an aggregate's initial
 * condition), written as PostgreSQL's quote_literal() writes them.
 * Identifiers are sqlident.h's.
 */
#ifndef TUSK_QUOTE_H
#define TUSK_QUOTE_H

#include "util.h"

/* Append s as quote_literal() gives it ('...', E'...' when it holds a
 * backslash); NULL appends NULL. */
void quote_literal(struct strbuf *sb, const char *s);

#endif

/*
 * sqlmask.h — take passwords out of SQL before it is kept (the query
 * history): a lexer that knows PostgreSQL's comments, quoted identifiers,
 * standard, E'' and dollar-quoted strings, and masks
 *
 *   - the string literal after a word that ends in "password" (any case,
 *     optionally after "="): CREATE/ALTER ROLE|USER … [ENCRYPTED] PASSWORD
 *     '…', FDW and user mapping OPTIONS (password '…', SET password '…'),
 *     also a column compared with "password = '…'" (better one mask too
 *     many than a secret kept);
 *   - inside any string literal, the value of a connection-string key that
 *     ends in "password" (password=…, sslpassword=…, quoted or not; dblink,
 *     postgres_fdw, COPY … PROGRAM are all literals) and the password of a
 *     URI's user info (postgresql://user:…@host).
 *
 * A masked value becomes ******** (its quotes kept), so the statement still
 * reads as what it was. Pure functions; no allocation but the result.
 */
#ifndef TUSK_SQLMASK_H
#define TUSK_SQLMASK_H

#include <stddef.h>

#define SQLMASK_TEXT "********"

/* A new NUL-terminated copy of sql (len bytes) with the secrets masked;
 * *nmasked (if not NULL) counts them. */
char *sqlmask(const char *sql, size_t len, size_t *nmasked);

#endif

/*
 * sqlcall.h — the broker's own statements on a connection.
 *
 * open_table, apply_edits and the server-activity methods run statements
 * Tusk builds itself (tablesql.h), with bound values, through the
 * connection's queue like any query (queries.c: one at a time on the
 * session, cancel_query and WorkerLost apply, get_running_queries lists
 * them). The answer comes decoded to a callback instead of going to the
 * client as bytes; notices of these statements are dropped.
 */
#ifndef TUSK_SQLCALL_H
#define TUSK_SQLCALL_H

#include "broker.h"
#include "tablesql.h"

/*
 * The answer: reply (the order's reply fields: wire_query_reply or
 * wire_exec_batch_reply) or e. The callback answers q->req (or moves it
 * to another query, setting q->req NULL). Return true when it kept arg
 * (passed it on); otherwise arg_free (when given) frees it afterwards.
 */
typedef bool (*sqlcall_fn)(struct query *q, const struct params *reply,
    const struct tusk_error *e, void *arg);

/* One statement (W_QUERY with bound values): its rows, at most max_rows,
 * come in the reply. Takes stmt's contents. NULL with e set. */
struct query *sqlcall_query(struct conn *c, struct request *req, struct tsql *stmt,
    int64_t max_rows, sqlcall_fn fn, void *arg, void (*arg_free)(void *), struct tusk_error *e);
/* Statements in one transaction (W_EXEC_BATCH), each expected to touch
 * exactly one row. Takes the statements' contents; id may name the query
 * (taken; NULL: a UUID). NULL with e set. */
struct query *sqlcall_batch(struct conn *c, struct request *req, char *id, struct tsql *stmts,
    int n, sqlcall_fn fn, void *arg, void (*arg_free)(void *), struct tusk_error *e);

#endif

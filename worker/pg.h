/*
 * pg.h — the worker's PostgreSQL session, shared by its files: pg.c (the
 * session: socket watching, cancel, close), pg-connect.c (resolving, the
 * tunnel, libpq's connect, errors that name the case), pg-query.c (queries,
 * results, row batches, COPY out, type names), pg-value.c (a value in the
 * contract's mapping). One session per worker, so its state is one struct.
 */
#ifndef TUSK_WORKER_PG_H
#define TUSK_WORKER_PG_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <msgpack.h>

#include "config.h"
#include "error.h"
#include "worker.h"

struct evbuffer;
struct resolve;
struct pgbatch;

/* Built-in type OIDs (stable across PostgreSQL versions). */
#define BOOLOID 16
#define BYTEAOID 17
#define INT8OID 20
#define INT2OID 21
#define INT4OID 23
#define OIDOID 26
#define FLOAT4OID 700
#define FLOAT8OID 701

#define OUT_HIGH (1024u * 1024)		/* stop reading the server above this */
#define ROW_MAX (56u * 1024 * 1024)	/* one encoded row, at most */
#define RESULT_MAX (48u * 1024 * 1024)	/* rows kept for a max_rows answer */
#define NO_FILE "/nonexistent/tusk-no-file"
#define CLOSE_CANCEL_MS 1500		/* closing waits this long for a cancel */
#define RECANCEL_MS 500			/* a cancelled query still running: cancel again */
#define CANCEL_WAITERS 64 /* cancel orders answered when the running cancel ends */

enum pg_state { PG_NONE, PG_RESOLVING, PG_TUNNELLING, PG_CONNECTING, PG_READY, PG_DEAD };
enum cancel_by { CANCEL_NONE, CANCEL_USER, CANCEL_TIMEOUT, CANCEL_CLOSE };

/* A growable buffer rows are encoded into (reused across batches). */
struct obuf {
	char *data;
	size_t len;
	size_t cap;
};

/* What a query order is for. */
enum pgq_kind { PQK_QUERY, PQK_EXPORT, PQK_IMPORT };
/* How an export makes its bytes (wire_export's mode). */
enum export_mode { EXP_COPY, EXP_JSON, EXP_NDJSON, EXP_SQL, EXP_MARKDOWN };

#define EXPORT_CHUNK (256u * 1024) /* export_data carries about this much */
#define IMPORT_ACKS 16		   /* copy_data orders awaiting the kernel, at most */

/* An export's or an import's state (pg-copy.c). */
struct pgcopy {
	enum export_mode mode;
	bool header;		/* export: a header row (counted apart) */
	char *null_text;	/* markdown: NULL's text */
	char *table;		/* sql: the target, quoted */
	struct obuf out;	/* export: the bytes not yet sent */
	uint64_t rows;		/* export: rows formatted */
	bool seen_header;	/* copy: the header line / binary header is behind */
	bool began;		/* json: "[" is out; sql/markdown: the column part is made */
	int ncols;
	char *cols;		/* sql: "(a, b)"; markdown: unused */
	bool *quoted;		/* sql: column i's values are literals */
	bool copy_in;		/* import: the server takes data */
	bool end_pending;	/* import: PQputCopyEnd could not be queued yet */
	uint32_t acks[IMPORT_ACKS]; /* import: copy_data orders to answer once flushed */
	int nacks;
};

struct pgq;

/*
 * Work the worker does on its own account for an order (catalog reads,
 * pg-catalog.c): its statements' results come whole (no single-row mode)
 * to result(), and done() runs once every result of a statement is in
 * (it may send the next statement with pg_send_query, or answer and free the
 * query). start() sends the first statement when the session is free.
 */
struct pgq_ops {
	void (*start)(struct pgq *q);
	/* Take res (return true) or leave it to be cleared. */
	bool (*result)(struct pgq *q, PGresult *res);
	void (*done)(struct pgq *q);
	/* Free ctx (also when the session ends under it). */
	void (*free)(struct pgq *q);
};

struct pgq {
	char *id;
	uint32_t msgid;
	enum pgq_kind kind;
	struct pgcopy *copy;  /* PQK_EXPORT, PQK_IMPORT */
	bool internal;	      /* the type-name load, not a user's query */
	int64_t max_rows;     /* -1: stream */
	int64_t timeout_ms;
	int64_t started_us;
	uint64_t row_count;   /* all rows, every result set */
	uint64_t kept_rows;   /* rows in `rows` for a max_rows answer */
	uint32_t batch_rows;
	int result_index;     /* result sets begun */
	bool in_rows;	      /* columns of the current result are sent */
	bool truncated;
	bool copy_out;
	char *command_tag;
	char *rows_affected;
	struct tusk_error err;
	enum cancel_by cancel;
	struct event *ev_timeout;
	struct event *ev_recancel; /* the cancel is sent again while it still runs */
	int ncols;
	Oid *types;
	struct obuf cols;     /* the current result's columns, encoded */
	struct obuf rows;     /* the batch, or the kept rows */
	bool ddl;	      /* a statement changed the schema (schema_touched) */
	const struct pgq_ops *ops; /* NULL: a user's query or the type names */
	void *ctx;
	struct pgbatch *batch; /* exec_batch: the statements (pg-edit.c), or NULL */
};

/* A query order as the broker gave it (wire_query, or wire_export /
 * wire_import with kind and copy), owned. */
struct qorder {
	uint32_t msgid;
	enum pgq_kind kind;
	struct pgcopy *copy;
	char *id;
	char *sql;
	int64_t max_rows;   /* -1: stream */
	int64_t timeout_ms; /* -1: none */
	char **values;	    /* $1..$n as text, NULL for SQL NULL; NULL: not bound */
	int nvalues;
	struct pgbatch *batch; /* exec_batch: sql is its BEGIN (pg-edit.c) */
};

struct typename {
	Oid oid;
	Oid elem;   /* a true array's element type, else 0 */
	char *name; /* format_type(oid, -1) */
};

struct pg_session {
	PGconn *conn;
	PGcancel *cancel;
	enum pg_state state;
	struct event *ev;
	int ev_fd;
	short ev_what;
	uint32_t connect_msgid;
	struct event *ev_connect_timeout;
	int64_t connect_started_us;
	int connect_timeout_s;
	bool want_version;
	struct tusk_config cfg;
	struct resolve *resolve;	/* while a host name resolves */
	char *password;			/* until libpq has it */
	char *ssl_passphrase;		/* until libpq has it */
	bool ssl_key_given;		/* a passphrase came for the client key */
	/* cancel orders answered when the running cancel ends */
	uint32_t cancel_waiters[CANCEL_WAITERS];
	int ncancel_waiters;
	/* closing */
	pg_closed_fn close_done;
	void *close_arg;
	struct event *ev_close;
	struct pgq *q;
	/* a user query that waits while the type names load */
	struct qorder *pending;
	/* an order's own work (pgq_ops) that waits likewise */
	struct pgq *waiting;
	/* DDL ran inside the open transaction: its end changes the schema too */
	bool ddl_in_tx;
	bool paused;
	bool types_stale;
	struct typename *types;
	size_t ntypes;
	msgpack_packer pk; /* writes into an obuf */
};

extern struct pg_session pg;

/* pg.c */
/* Packer callback into an obuf, and an obuf's packer (pg.pk). */
int obuf_write(void *data, const char *buf, size_t len);
void obuf_free(struct obuf *b);
msgpack_packer *obuf_packer(struct obuf *b);
/* array32 header: a count filled in before the bytes are sent. */
void pack_array32(struct evbuffer *out, uint32_t n);
/* Watch the server socket for what (EV_READ / EV_WRITE), or nothing. */
void pg_watch(short what);
/* Read interest, plus write while libpq has unsent bytes (nothing while paused). */
void pg_watch_query(void);
/* libpq's message without its prefixes and trailing newlines (a new string). */
char *pg_clean_message(const char *msg);
/* Send a cancel for the running query; answer msgid (0: nobody) when done. */
void pg_cancel_send(uint32_t msgid);

/* pg-connect.c */
/* Drive PQconnectPoll (the socket is ready). */
void pg_connect_step(void);

/* pg-query.c */
/* Notices go to the broker with the running query's id. */
void pg_notice_receiver(void *arg, const PGresult *res);
/* Take every result libpq has ready, within backpressure. */
void pg_process_results(void);
void pg_query_free(struct pgq *q);
void qorder_free(struct qorder *o);
/* Start the query order that waited, if nothing holds it back now. */
void pg_pending_start(void);
/* Load the type names (pg_type) on our own account. */
void pg_types_load(void);
/* A server error (a PGresult) into e, with the hints Tusk adds. */
void pg_result_error(struct tusk_error *e, const PGresult *res);
/* Is the session free for an order? (an error reply to msgid otherwise) */
bool pg_order_allowed(uint32_t msgid);
/* Send q (kind set) to the server: 0, or -1 with q->err set. */
int pg_send(struct pgq *q, const char *sql, bool params, bool single_row);
/* A column's type as PostgreSQL prints it: format_type(oid, typmod), from
 * the loaded names (a new type's number otherwise). */
const char *pg_type_format(Oid oid, int typmod, char *buf, size_t len);
void pg_types_free(void);
/* Send one statement of q (values bound when not NULL); -1 with q->err set. */
int pg_send_query(struct pgq *q, const char *sql, int nvalues, char *const *values);
/* A query is answered and pg.q is free: start what waits. */
void pg_query_after(void);
/* Start a user's query, batch, export or import (takes the order); -1 when
 * answered with an error. */
int pg_order_start(struct qorder *o);
/* The transaction status as the contract names it. */
const char *pg_tx_status(void);
/* A server error (a PGresult) into e, with hints by SQLSTATE. */
void pg_result_error(struct tusk_error *e, const PGresult *res);
/* Run q (with ops) now, or after the type names load. */
void pg_run(struct pgq *q);
/* Is the session free for an order? Sets e when not. */
bool pg_ready_for_order(struct tusk_error *e);

/* pg-edit.c */
/* All results of the running batch statement are in: go on, or answer
 * (then pg.q is freed and cleared). */
void pg_batch_step(void);
void pg_batch_free(struct pgbatch *b);

/* pg-copy.c */
/* Send an export or import order to the server (takes o). */
void pg_copy_start(struct qorder *o);
/* Results of a running export or import (pg_process_results' part). */
void pg_copy_process(void);
/* A running import's COPY fails: no more of its data is taken. */
void pg_copy_cancel(void);
void pg_copy_free(struct pgcopy *c);

/* pg-value.c */
/* One value of row `row`, column `col` in the contract's mapping. */
void pg_value_pack(msgpack_packer *pk, const PGresult *res, int row, int col, Oid type);

#endif

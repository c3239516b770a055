/*
 * store-priv.h — what the store's files share (store.c, store-conns.c,
 * store-prefs.c, store-repair.c): the statements, the handle, helpers.
 * The rest of the broker uses store.h.
 */
#ifndef TUSK_BROKER_STORE_PRIV_H
#define TUSK_BROKER_STORE_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "config.h"
#include "error.h"
#include "store.h"

#define CONN_COLS \
	"id, name, host, port, dbname, username, ssl_mode, ssl_ca_cert, ssl_client_cert, " \
	"ssl_client_key, ssh_host, ssh_port, ssh_username, ssh_auth_type, ssh_key_path, " \
	"ssh_local_port, read_only, statement_timeout_ms, created_ms, updated_ms"
#define CONN_NCOLS 20
#define PREF_COLS "key, value, updated_ms"
#define HIST_COLS \
	"id, sql, connection_name, saved_id, connection_id, database, started_ms, elapsed_ms, " \
	"row_count, status, error_code, client"
#define SAVED_COLS "id, name, sql, description, connection_id, folder, created_ms, updated_ms"
#define NOTICE_COLS "created_ms, action, message, errors, backup_path, salvaged_rows, lost_rows"

enum st_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_CONN_LIST,
	ST_CONN_GET,
	ST_CONN_BY_KEY,
	ST_CONN_INSERT,
	ST_CONN_UPDATE,
	ST_CONN_DELETE,
	ST_PREF_GET,
	ST_PREF_SET,
	ST_PREF_LIST,
	ST_NOTICE_INSERT,
	ST_NOTICE_CURRENT,
	ST_NOTICE_DISMISS,
	ST_ROW_COUNT,
	ST_HIST_INSERT,
	ST_HIST_LIST,
	ST_HIST_SEARCH,
	ST_HIST_COUNT,
	ST_HIST_MAX_ID,
	ST_HIST_FTS_ADD,
	ST_HIST_PRUNE_FTS,
	ST_HIST_PRUNE,
	ST_HIST_DELETE_FTS,
	ST_HIST_DELETE,
	ST_HIST_FTS_CLEAR,
	ST_HIST_DELETE_ALL,
	ST_HIST_FTS_REBUILD,
	ST_SAVED_LIST,
	ST_SAVED_GET,
	ST_SAVED_BY_KEY,
	ST_SAVED_INSERT,
	ST_SAVED_UPDATE,
	ST_SAVED_DELETE,
	ST_SAVED_SALVAGE,
	ST_WS_GET,
	ST_WS_SET,
	ST__COUNT
};

/* The text of each statement (store.c). */
extern const char *const st_sql[ST__COUNT];

struct store {
	sqlite3 *db;
	char *path;
	const struct store_migration *mig;
	size_t nmig;
	enum tusk_error_kind kind; /* Initialization while opening, Storage after */
	sqlite3_stmt *st[ST__COUNT];
	struct store_notice *notice;
};

/* A growable list of strings. */
struct strlist {
	char **v;
	size_t n;
};

#define BUSY_TIMEOUT_MS 1000
#define CHECK_MAX_ERRORS 50
#define PROBE_MAX 1000000


/* Shared helpers (defined in the files above). */
/* Fill e with what failed on db and a hint that fits the cause. Returns -1. */
int db_fail(struct store *s, sqlite3 *db, struct tusk_error *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Append a copy of a string. */
void strlist_add(struct strlist *l, const char *s);
/* Free the strings and the array. */
void strlist_free(struct strlist *l);
/* Free a notice. */
void notice_free(struct store_notice *n);
/* Milliseconds since the epoch as ISO 8601 into a new string. */
char *iso_ms(int64_t ms);
/* Remove a file if it is there; -1 with errno when removing failed. */
int unlink_quiet(const char *path);
/* Remove a scratch database and the files SQLite keeps beside it. */
void unlink_db_files(const char *path);
/* fsync the directory holding path, so a rename or a new file is durable. */
void fsync_dir_of(const char *path);
/* Size of a file, or -1 when it is absent. */
off_t file_size(const char *path);
/* Copy src to a new file dst (O_EXCL), byte for byte, and fsync it. */
int copy_file(const char *src, const char *dst);
/* Open path read-write (creating it when create); no statement is run. */
int db_open(struct store *s, const char *path, bool create, sqlite3 **ret, struct tusk_error *e);
/* Run one fixed statement that returns no rows we need. */
int db_exec(sqlite3 *db, const char *sql);
/* One integer from a fixed query; -1 with rc set on failure or no row. */
int db_int(sqlite3 *db, const char *sql, int64_t *ret);
/* Bring db to the newest schema (each migration in one transaction). */
int db_migrate(struct store *s, sqlite3 *db, struct tusk_error *e);
/* quick_check (or the full integrity_check): problems into out; 0 when sound. */
int db_check(sqlite3 *db, bool full, struct strlist *out);
/* Settings of an open, sound database. */
int db_configure(struct store *s, sqlite3 *db, struct tusk_error *e);
/* The prepared statement id, reset and unbound; NULL with e set on failure. */
sqlite3_stmt *st_get(struct store *s, enum st_id id, struct tusk_error *e);
/* Finalize every cached statement (before closing or replacing the file). */
void st_finalize_all(struct store *s);
/* Run a statement without rows (BEGIN, COMMIT, ROLLBACK). */
int st_run(struct store *s, enum st_id id, struct tusk_error *e);
/* Roll back after a failure, keeping the first error. */
void st_rollback(struct store *s);
/* Open the store's file again (after a repair replaced it). */
int store_reopen(struct store *s, struct tusk_error *e);
/* A text column (a new string, NULL for SQL NULL when nullable); -1 for another type. */
int col_text(sqlite3_stmt *st, int i, bool nullable, char **out);
/* An integer column; *present false for SQL NULL. -1 for another type. */
int col_int(sqlite3_stmt *st, int i, bool nullable, int64_t *out, bool *present);
/* Read one row of CONN_COLS into c (and its times in ms). */
int conn_from_row(sqlite3_stmt *st, struct tusk_config *c, int64_t *created_ms, int64_t *updated_ms);
/* Bind text or NULL. */
void bind_text(sqlite3_stmt *st, int i, const char *v);
/* Bind every column of c (the order of ST_CONN_INSERT and ST_CONN_UPDATE). */
void conn_bind(sqlite3_stmt *st, const struct tusk_config *c, const char *name_key, int64_t created_ms, int64_t updated_ms);
/* Step a statement that writes one row; -1 with e set on failure. */
int st_write(struct store *s, sqlite3_stmt *st, struct tusk_error *e);
/* Is this one complete msgpack object of exactly len bytes? */
bool msgpack_complete(const void *p, size_t len);
/* The same with a larger bound (the workspace). */
bool msgpack_complete_max(const void *p, size_t len, size_t max);
/* Bind one history row (the order of ST_HIST_INSERT; id 0 binds NULL: a new id). */
void hist_bind(sqlite3_stmt *st, const struct store_history_entry *h);
/* Read one row of HIST_COLS; -1 when it does not read back. */
int hist_from_row(sqlite3_stmt *st, struct store_history_entry *h);
/* Read one row of SAVED_COLS; -1 when it does not read back. */
int saved_from_row(sqlite3_stmt *st, struct store_saved_query *q);
/* Bind one saved query (the order of ST_SAVED_INSERT and ST_SAVED_UPDATE). */
void saved_bind(sqlite3_stmt *st, const struct store_saved_query *q, const char *name_key);
/* The file is damaged: back it up, repair or salvage it, say what happened. */
int recover(struct store *s, sqlite3 *db, struct strlist *problems, struct store_notice **ret, struct tusk_error *e);
/* Keep a new notice in the database (best effort: memory holds it anyway). */
void notice_save(struct store *s, const struct store_notice *n);
/* Load the outstanding notice from the database into s->notice. */
void notice_load(struct store *s);

#endif

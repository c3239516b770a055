/*
 * store.h — the broker's local store: saved connections, preferences, the
 * query history, saved queries, the window's workspace and the storage
 * notice, in one SQLite file (TUSK_HOME/data/tusk.db, or the XDG
 * data directory) that only the broker opens.
 *
 * Opening checks the file before anything writes to it: a database written
 * by a newer Tusk is refused untouched; a damaged one is first copied byte
 * for byte to tusk.db.YYYYMMDD-HHMMSS.corrupt beside it, then repaired in
 * place (REINDEX) or, when that fails, every row that can still be read is
 * salvaged into a fresh database that takes its place. What happened is kept
 * as a notice, in the new database too, until a client dismisses it. The
 * schema moves forward by numbered migrations, each in one transaction.
 *
 * The store is synchronous and belongs to the broker's one thread: SQLite is
 * local and each statement is short (WAL, a busy timeout, prepared
 * statements). It never sees a password. It does not depend on the broker's
 * globals, so unit tests link it alone. The one exception to "one thread":
 * store_open_peer gives another thread (the history writer) a connection of
 * its own to the same file; each handle is used by one thread at a time.
 */
#ifndef TUSK_STORE_H
#define TUSK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct tusk_error;
struct store;

/* Bounds on what a client may keep in the store. */
#define STORE_PREF_KEY_MAX 256
#define STORE_PREF_VALUE_MAX (1024u * 1024)

/* A numbered step of the schema; sql is fixed text run in one transaction. */
struct store_migration {
	int version;
	const char *description;
	const char *sql;
};

/* What the start-up check (or check_database_health) found and did. */
struct store_notice {
	int64_t at_ms;
	char *action;	   /* "repaired" (rebuilt in place) or "salvaged" (new file) */
	char *message;	   /* one paragraph for people */
	char **errors;	   /* what the check reported */
	size_t nerrors;
	char *backup_path; /* the byte-identical copy of the damaged file */
	int64_t salvaged_rows;
	int64_t lost_rows; /* rows known to have existed that could not be read */
};

struct store_health {
	bool healthy;	   /* the full integrity check found nothing */
	char **errors;
	size_t nerrors;
};

struct store_pref {
	char *key;
	void *value; /* encoded msgpack, exactly as set */
	size_t len;
	int64_t updated_ms;
};

/* The migrations this Tusk knows, in order. */
extern const struct store_migration store_migrations[];
extern const size_t store_migrations_count;

/*
 * Open (creating if needed) the store at path: check, repair or salvage,
 * migrate. Failures are Initialization errors naming the path and the cause.
 */
int store_open(struct store **ret, const char *path, struct tusk_error *e);
/* The same with another list of migrations (unit tests). */
int store_open_with(struct store **ret, const char *path, const struct store_migration *mig,
    size_t nmig, struct tusk_error *e);
/* Close cleanly (WAL checkpointed); accepts NULL. */
void store_close(struct store *s);
const char *store_path(const struct store *s);
/* The schema version of the open database. */
int store_version(struct store *s);

/* --- saved connections -------------------------------------------------- */

/* Every saved connection, ordered by name. */
int store_connections_list(struct store *s, struct tusk_config **ret, size_t *ret_n,
    struct tusk_error *e);
void store_configs_free(struct tusk_config *v, size_t n);
/* 1 and *ret filled when found, 0 when not, -1 on error. */
int store_connection_get(struct store *s, const char *id, struct tusk_config *ret,
    struct tusk_error *e);
/* 1 when found (name case-folded), 0 when not, -1 on error. */
int store_connection_find_name(struct store *s, const char *name, struct tusk_config *ret,
    struct tusk_error *e);
/*
 * Create (no id, or an unknown UUID) or update (a known id) one validated
 * config. The name must be unique without regard to case. On success c holds
 * the id and the timestamps as stored (created_at kept on update, updated_at
 * later than before); *created says which it was.
 */
int store_connection_save(struct store *s, struct tusk_config *c, bool *created,
    struct tusk_error *e);
/* 1 when deleted, 0 when there was no such connection, -1 on error. */
int store_connection_delete(struct store *s, const char *id, struct tusk_error *e);

/* --- preferences ------------------------------------------------------- */

/* 1 with *ret filled (caller frees with store_prefs_free), 0 if unset, -1. */
int store_preference_get(struct store *s, const char *key, struct store_pref *ret,
    struct tusk_error *e);
/* value: one encoded msgpack object of len bytes (checked). */
int store_preference_set(struct store *s, const char *key, const void *value, size_t len,
    struct tusk_error *e);
int store_preferences_list(struct store *s, struct store_pref **ret, size_t *ret_n,
    struct tusk_error *e);
void store_prefs_free(struct store_pref *v, size_t n);
/* Is key acceptable (length, characters)? Validation error naming it if not. */
int store_preference_key_check(const char *key, struct tusk_error *e);

/* --- query history (store-history.c) -------------------------------------- */

#define STORE_HISTORY_SQL_MAX (1024u * 1024) /* longer SQL is kept cut (after masking) */
#define STORE_HISTORY_LIMIT_MAX 10000

struct store_history_entry {
	int64_t history_id; /* 0 for a new entry */
	char *sql;
	char *connection_name;
	char *saved_id;	     /* the saved connection's id, NULL for a quick connection */
	char *connection_id; /* the open connection (session) it ran on */
	char *database;
	int64_t started_ms;
	double elapsed_ms;
	int64_t row_count;
	const char *status;  /* "ok", "error", "cancelled" (static) */
	char *error_code;    /* SQLSTATE, or NULL */
	const char *client;  /* "window", "tuskctl", "other" (static) */
};

struct store_history_filter {
	const char *search;	   /* words, each matched as a prefix (FTS5); NULL: all */
	const char *saved_id;
	const char *connection_id;
	const char *status;
	int64_t before;		   /* only entries with a smaller id; 0: no bound */
	int64_t limit;
};

/* A second connection to s's file for another thread (history writer). */
int store_open_peer(struct store *s, struct store **ret, struct tusk_error *e);
/* Add entries in one transaction. */
int store_history_add(struct store *s, const struct store_history_entry *v, size_t n,
    struct tusk_error *e);
int store_history_count(struct store *s, int64_t *ret, struct tusk_error *e);
/* Keep the newest `keep` entries; *deleted says how many went. */
int store_history_prune(struct store *s, int64_t keep, int64_t *deleted, struct tusk_error *e);
/* Entries, newest first. A search without any word is a Validation error. */
int store_history_list(struct store *s, const struct store_history_filter *f,
    struct store_history_entry **ret, size_t *ret_n, struct tusk_error *e);
/* Delete these entries (or all); *deleted counts them. */
int store_history_delete(struct store *s, const int64_t *ids, size_t n, bool all,
    int64_t *deleted, struct tusk_error *e);
void store_history_free(struct store_history_entry *v, size_t n);
/* Free one entry's strings (the entry itself is the caller's). */
void store_history_clear(struct store_history_entry *h);
/* The FTS5 query for a user's search words (each a quoted prefix term, all
 * required); NULL when the text holds no word. */
char *store_fts_query(const char *search);

/* --- saved queries and the workspace (store-saved.c) ---------------------- */

#define STORE_SAVED_SQL_MAX (4u * 1024 * 1024)
#define STORE_SAVED_TEXT_MAX 200 /* name, folder */
#define STORE_SAVED_DESC_MAX 10000
#define STORE_WORKSPACE_MAX (16u * 1024 * 1024)

struct store_saved_query {
	char *id;	   /* saved_query_id */
	char *name;
	char *sql;
	char *description;
	char *conn_id;	   /* a saved connection's id, or NULL */
	char *folder;
	int64_t created_ms;
	int64_t updated_ms;
};

int store_saved_list(struct store *s, struct store_saved_query **ret, size_t *ret_n,
    struct tusk_error *e);
/* 1 found, 0 not, -1 error. */
int store_saved_get(struct store *s, const char *id, struct store_saved_query *ret,
    struct tusk_error *e);
/* By name, compared case-folded: 1, 0 or -1. */
int store_saved_find_name(struct store *s, const char *name, struct store_saved_query *ret,
    struct tusk_error *e);
/* Insert (no id) or update (a known id): the name unique without regard to
 * case, the connection (if any) a saved one. q gets the id and the times. */
int store_saved_save(struct store *s, struct store_saved_query *q, bool *created,
    struct tusk_error *e);
/* 1 deleted, 0 no such query, -1 error. */
int store_saved_delete(struct store *s, const char *id, struct tusk_error *e);
void store_saved_free(struct store_saved_query *v, size_t n);
/* Free one saved query's strings (the struct is the caller's). */
void store_saved_clear(struct store_saved_query *q);

/* The workspace's encoded map: 1 with *ret (caller frees), 0 none, -1. */
int store_workspace_get(struct store *s, void **ret, size_t *len, int64_t *saved_ms,
    struct tusk_error *e);
/* Keep one encoded msgpack map of len bytes (checked). */
int store_workspace_save(struct store *s, const void *value, size_t len, int64_t *saved_ms,
    struct tusk_error *e);

/* --- health --------------------------------------------------------------- */

/*
 * Run the full integrity check. When it finds damage, the store is recovered
 * at once (backup, repair or salvage, reopen) and a new notice is set;
 * ret->errors still lists what the check found.
 */
int store_check(struct store *s, struct store_health *ret, struct tusk_error *e);
void store_health_free(struct store_health *h);
/* The outstanding notice, or NULL. */
const struct store_notice *store_notice_get(const struct store *s);
/* Forget the notice (kept dismissed in the database). 1 if there was one. */
int store_notice_dismiss(struct store *s, struct tusk_error *e);

#endif

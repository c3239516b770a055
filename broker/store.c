/*
 * store.c — the local store in SQLite (see store.h): opening the file,
 * schema and migrations, the statement cache, closing. Its other files:
 * store-conns.c (saved connections), store-prefs.c (preferences),
 * store-history.c (query history), store-saved.c (saved queries and the
 * window's workspace), store-repair.c (what happens when the file is
 * damaged).
 *
 * Every statement is fixed text, prepared once and kept (values are bound,
 * never pasted into SQL). Tables are STRICT with CHECK constraints, so a row
 * that does not fit its columns cannot be written, by a bug or by a salvage
 * of garbage.
 *
 * Damage. The order of the steps is the point:
 *   1. Nothing writes to a file before it passed PRAGMA quick_check (even
 *      `journal_mode=WAL` writes the header).
 *   2. A damaged file is first copied byte for byte to a new
 *      tusk.db.YYYYMMDD-HHMMSS.corrupt (UTC; O_EXCL, so no backup is ever
 *      overwritten; its -wal beside it as ...corrupt-wal). If the copy fails,
 *      the broker stops with the file untouched.
 *   3. Repair in place: REINDEX, then the full integrity check. Damage
 *      confined to indexes ends here with nothing lost.
 *   4. Salvage: the backup is copied to a scratch file (SQLite may write to
 *      what it opens: WAL recovery, checkpoints) and read with
 *      writable_schema on (a truncated file is then read as far as it goes);
 *      a header that is not SQLite's any more is rebuilt in the scratch copy.
 *      Rows are read one by one by rowid — the rowids come from a table
 *      scan, from each index, and from probing up to the largest one seen —
 *      so a damaged page loses its own rows and no others. Each row goes
 *      through the same checks and inserts as a normal save into a fresh
 *      database, which then replaces tusk.db by rename(2). Rows known to have
 *      existed (seen in a scan or an index) that cannot be read are counted
 *      as lost.
 * SQLite 3.40's library has no sqlite3_recover (an extension outside
 * libsqlite3) and no sqlite_dbpage; this is the reading that its public API
 * allows.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "error.h"
#include "log.h"
#include "mpscan.h"
#include "store-priv.h"
#include "util.h"
#include "uuid.h"

/* --- schema ----------------------------------------------------------------- */

/*
 * Version 1. SSH tunnel settings are columns of their connection (one row,
 * all or nothing, checked together). Times are milliseconds since the epoch;
 * the wire shows them as ISO 8601. name_key is the case-folded name that
 * uniqueness is decided on (config_name_fold).
 */
static const char schema_v1[] =
    "CREATE TABLE connections ("
    " id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),"
    " name TEXT NOT NULL CHECK (length(name) > 0),"
    " name_key TEXT NOT NULL,"
    " host TEXT NOT NULL CHECK (length(host) > 0),"
    " port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
    " dbname TEXT NOT NULL CHECK (length(dbname) > 0),"
    " username TEXT NOT NULL CHECK (length(username) > 0),"
    " ssl_mode TEXT NOT NULL CHECK (ssl_mode IN ('disable', 'prefer', 'require', 'verify-ca', 'verify-full')),"
    " ssl_ca_cert TEXT, ssl_client_cert TEXT, ssl_client_key TEXT,"
    " ssh_host TEXT,"
    " ssh_port INTEGER CHECK (ssh_port BETWEEN 1 AND 65535),"
    " ssh_username TEXT,"
    " ssh_auth_type TEXT CHECK (ssh_auth_type IN ('password', 'key_file', 'agent')),"
    " ssh_key_path TEXT,"
    " ssh_local_port INTEGER CHECK (ssh_local_port BETWEEN 0 AND 65535),"
    " read_only INTEGER NOT NULL CHECK (read_only IN (0, 1)),"
    " statement_timeout_ms INTEGER CHECK (statement_timeout_ms >= 0),"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " CHECK ((ssh_host IS NULL) = (ssh_port IS NULL) AND (ssh_host IS NULL) = (ssh_username IS NULL)"
    "        AND (ssh_host IS NULL) = (ssh_auth_type IS NULL)),"
    " CHECK (ssh_key_path IS NULL OR ssh_auth_type = 'key_file')"
    ") STRICT;"
    "CREATE UNIQUE INDEX connections_name_key ON connections (name_key);"
    "CREATE TABLE preferences ("
    " key TEXT PRIMARY KEY NOT NULL CHECK (length(key) BETWEEN 1 AND 256),"
    " value BLOB NOT NULL CHECK (length(value) BETWEEN 1 AND 1048576),"
    " updated_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE storage_notices ("
    " id INTEGER PRIMARY KEY,"
    " created_ms INTEGER NOT NULL,"
    " action TEXT NOT NULL,"
    " message TEXT NOT NULL,"
    " errors TEXT NOT NULL,"
    " backup_path TEXT,"
    " salvaged_rows INTEGER NOT NULL,"
    " lost_rows INTEGER NOT NULL,"
    " dismissed_ms INTEGER"
    ") STRICT;";

/*
 * Version 2. Query history (written in batches from the history thread on a
 * connection of its own, see broker/history.c) with an FTS5 index over its
 * SQL (external content: the text is stored once). The index is kept by
 * store-history.c in bulk, one INSERT ... SELECT per batch, not by triggers:
 * a trigger costs some 15 µs a row, the bulk statement next to nothing. Saved
 * queries, whose connection is forgotten (not the query) when the saved
 * connection is deleted; the window's workspace, one msgpack map.
 */
static const char schema_v2[] =
    "CREATE TABLE history ("
    " id INTEGER PRIMARY KEY,"
    " sql TEXT NOT NULL,"
    " connection_name TEXT NOT NULL,"
    " saved_id TEXT CHECK (saved_id IS NULL OR length(saved_id) = 36),"
    " connection_id TEXT NOT NULL CHECK (length(connection_id) BETWEEN 1 AND 64),"
    " database TEXT,"
    " started_ms INTEGER NOT NULL,"
    " elapsed_ms REAL NOT NULL CHECK (elapsed_ms >= 0),"
    " row_count INTEGER NOT NULL CHECK (row_count >= 0),"
    /* = ... OR, not IN (...): an IN list costs every insert an ephemeral
     * table (allocated and freed: measurable at thousands of rows a second) */
    " status TEXT NOT NULL CHECK (status = 'ok' OR status = 'error' OR status = 'cancelled'),"
    " error_code TEXT CHECK (error_code IS NULL OR length(error_code) BETWEEN 1 AND 16),"
    " client TEXT NOT NULL CHECK (client = 'window' OR client = 'tuskctl' OR client = 'other')"
    ") STRICT;"
    "CREATE INDEX history_saved ON history (saved_id, id);"
    "CREATE INDEX history_connection ON history (connection_id, id);"
    "CREATE VIRTUAL TABLE history_fts USING fts5(sql, content = 'history', content_rowid = 'id',"
    " tokenize = 'unicode61 remove_diacritics 2');"
    "CREATE TABLE saved_queries ("
    " id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),"
    " name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),"
    " name_key TEXT NOT NULL,"
    " sql TEXT NOT NULL,"
    " description TEXT,"
    " connection_id TEXT REFERENCES connections (id) ON DELETE SET NULL,"
    " folder TEXT CHECK (folder IS NULL OR length(folder) BETWEEN 1 AND 200),"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE UNIQUE INDEX saved_queries_name_key ON saved_queries (name_key);"
    "CREATE TABLE workspace ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " value BLOB NOT NULL CHECK (length(value) BETWEEN 1 AND 16777216),"
    " saved_ms INTEGER NOT NULL"
    ") STRICT;";

const struct store_migration store_migrations[] = {
	{ 1, "saved connections, preferences, storage notices", schema_v1 },
	{ 2, "query history (FTS5), saved queries, workspace", schema_v2 },
};
const size_t store_migrations_count = nitems(store_migrations);

/* --- statements ------------------------------------------------------------------ */

const char *const st_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_CONN_LIST] = "SELECT " CONN_COLS " FROM connections ORDER BY name_key, id",
	[ST_CONN_GET] = "SELECT " CONN_COLS " FROM connections WHERE id = ?1",
	[ST_CONN_BY_KEY] = "SELECT " CONN_COLS " FROM connections WHERE name_key = ?1",
	[ST_CONN_INSERT] = "INSERT INTO connections (" CONN_COLS ", name_key) VALUES "
			   "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
	[ST_CONN_UPDATE] = "UPDATE connections SET name = ?2, host = ?3, port = ?4, dbname = ?5, username = ?6,"
			   " ssl_mode = ?7, ssl_ca_cert = ?8, ssl_client_cert = ?9, ssl_client_key = ?10,"
			   " ssh_host = ?11, ssh_port = ?12, ssh_username = ?13, ssh_auth_type = ?14,"
			   " ssh_key_path = ?15, ssh_local_port = ?16, read_only = ?17,"
			   " statement_timeout_ms = ?18, created_ms = ?19, updated_ms = ?20, name_key = ?21"
			   " WHERE id = ?1",
	[ST_CONN_DELETE] = "DELETE FROM connections WHERE id = ?1",
	[ST_PREF_GET] = "SELECT " PREF_COLS " FROM preferences WHERE key = ?1",
	[ST_PREF_SET] = "INSERT INTO preferences (" PREF_COLS ") VALUES (?1, ?2, ?3)"
			" ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
	[ST_PREF_LIST] = "SELECT " PREF_COLS " FROM preferences ORDER BY key",
	[ST_NOTICE_INSERT] = "INSERT INTO storage_notices (" NOTICE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_NOTICE_CURRENT] = "SELECT " NOTICE_COLS " FROM storage_notices WHERE dismissed_ms IS NULL"
			      " ORDER BY id DESC LIMIT 1",
	[ST_NOTICE_DISMISS] = "UPDATE storage_notices SET dismissed_ms = ?1 WHERE dismissed_ms IS NULL",
	[ST_ROW_COUNT] = "SELECT (SELECT count(*) FROM connections) + (SELECT count(*) FROM preferences)"
			 " + (SELECT count(*) FROM saved_queries) + (SELECT count(*) FROM workspace)"
			 " + (SELECT count(*) FROM history)",
	[ST_HIST_INSERT] = "INSERT INTO history (" HIST_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_HIST_LIST] = "SELECT " HIST_COLS " FROM history WHERE (?2 IS NULL OR saved_id = ?2)"
			 " AND (?3 IS NULL OR connection_id = ?3) AND (?4 IS NULL OR status = ?4)"
			 " AND id < ?5 ORDER BY id DESC LIMIT ?6",
	[ST_HIST_SEARCH] = "SELECT " HIST_COLS " FROM history WHERE id IN"
			   " (SELECT rowid FROM history_fts WHERE history_fts MATCH ?1)"
			   " AND (?2 IS NULL OR saved_id = ?2)"
			   " AND (?3 IS NULL OR connection_id = ?3) AND (?4 IS NULL OR status = ?4)"
			   " AND id < ?5 ORDER BY id DESC LIMIT ?6",
	[ST_HIST_COUNT] = "SELECT count(*) FROM history",
	[ST_HIST_MAX_ID] = "SELECT coalesce(max(id), 0) FROM history",
	[ST_HIST_FTS_ADD] = "INSERT INTO history_fts (rowid, sql) SELECT id, sql FROM history WHERE id > ?1",
	[ST_HIST_PRUNE_FTS] = "INSERT INTO history_fts (history_fts, rowid, sql) SELECT 'delete', id, sql FROM history"
			      " WHERE id <= (SELECT id FROM history ORDER BY id DESC LIMIT 1 OFFSET ?1)",
	[ST_HIST_PRUNE] = "DELETE FROM history WHERE id <= (SELECT id FROM history ORDER BY id DESC LIMIT 1 OFFSET ?1)",
	[ST_HIST_DELETE_FTS] = "INSERT INTO history_fts (history_fts, rowid, sql) SELECT 'delete', id, sql FROM history"
			       " WHERE id = ?1",
	[ST_HIST_DELETE] = "DELETE FROM history WHERE id = ?1",
	[ST_HIST_FTS_CLEAR] = "INSERT INTO history_fts (history_fts) VALUES ('delete-all')",
	[ST_HIST_DELETE_ALL] = "DELETE FROM history",
	[ST_HIST_FTS_REBUILD] = "INSERT INTO history_fts (history_fts) VALUES ('rebuild')",
	[ST_SAVED_LIST] = "SELECT " SAVED_COLS " FROM saved_queries ORDER BY coalesce(folder, ''), name_key, id",
	[ST_SAVED_GET] = "SELECT " SAVED_COLS " FROM saved_queries WHERE id = ?1",
	[ST_SAVED_BY_KEY] = "SELECT " SAVED_COLS " FROM saved_queries WHERE name_key = ?1",
	[ST_SAVED_INSERT] = "INSERT INTO saved_queries (" SAVED_COLS ", name_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_SAVED_UPDATE] = "UPDATE saved_queries SET name = ?2, sql = ?3, description = ?4, connection_id = ?5,"
			    " folder = ?6, created_ms = ?7, updated_ms = ?8, name_key = ?9 WHERE id = ?1",
	[ST_SAVED_DELETE] = "DELETE FROM saved_queries WHERE id = ?1",
	[ST_SAVED_SALVAGE] = "INSERT INTO saved_queries (" SAVED_COLS ", name_key) VALUES (?1, ?2, ?3, ?4,"
			     " (SELECT id FROM connections WHERE id = ?5), ?6, ?7, ?8, ?9)",
	[ST_WS_GET] = "SELECT value, saved_ms FROM workspace WHERE id = 1",
	[ST_WS_SET] = "INSERT INTO workspace (id, value, saved_ms) VALUES (1, ?1, ?2)"
		      " ON CONFLICT (id) DO UPDATE SET value = excluded.value, saved_ms = excluded.saved_ms",
};


/* --- small helpers ------------------------------------------------------------- */

/* Append a copy of a string. */
void
strlist_add(struct strlist *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = xstrdup(s);
}

/* Free the strings and the array. */
void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Free a notice. */
void
notice_free(struct store_notice *n)
{
	if (n == NULL)
		return;
	free(n->action);
	free(n->message);
	for (size_t i = 0; i < n->nerrors; i++)
		free(n->errors[i]);
	free(n->errors);
	free(n->backup_path);
	free(n);
}

/* "sqlite's message (the system's cause)" for the last failure on db. */
static char *
db_cause(sqlite3 *db)
{
	if (db == NULL)
		return xstrdup("out of memory");
	int sys = sqlite3_system_errno(db);
	if (sys != 0)
		return xasprintf("%s (%s)", sqlite3_errmsg(db), strerror(sys));
	return xstrdup(sqlite3_errmsg(db));
}

/* Fill e with what failed on db and a hint that fits the cause. Returns -1. */
int
db_fail(struct store *s, sqlite3 *db, struct tusk_error *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = xvasprintf(fmt, ap);
	va_end(ap);
	char *cause = db_cause(db);
	int code = db ? sqlite3_errcode(db) : SQLITE_NOMEM;
	terr_set(e, s->kind, "%s %s: %s", what, s->path, cause);
	switch (code) {
	case SQLITE_FULL:
		terr_hint(e, "the disk holding %s is full; free some space", s->path);
		break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		terr_hint(e, "check that you can write %s and its directory, or set TUSK_HOME to a writable directory",
		    s->path);
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		terr_hint(e, "another program holds the database; only the Tusk broker should open it");
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		terr_hint(e, "the database is damaged: check_database_health (`tuskctl health`) repairs it and keeps a copy");
		break;
	default:
		terr_hint(e, "see the broker's log for details");
	}
	free(what);
	free(cause);
	return -1;
}

/* Milliseconds since the epoch as ISO 8601 into a new string. */
char *
iso_ms(int64_t ms)
{
	char buf[40];
	iso8601_utc(ms, buf, sizeof buf);
	return xstrdup(buf);
}

/* Remove a file if it is there; -1 with errno when removing failed. */
int
unlink_quiet(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Remove a scratch database and the files SQLite keeps beside it. */
void
unlink_db_files(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < nitems(sfx); i++) {
		char *p = xasprintf("%s%s", path, sfx[i]);
		if (unlink_quiet(p) < 0)
			log_warn("cannot remove %s: %s", p, strerror(errno));
		free(p);
	}
}

/* fsync the directory holding path, so a rename or a new file is durable. */
void
fsync_dir_of(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else {
		free(dir);
		dir = xstrdup(".");
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Size of a file, or -1 when it is absent. */
off_t
file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/*
 * Copy src to a new file dst (never replacing one), byte for byte, synced.
 * On failure dst is removed and errno says why.
 */
int
copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		int err = errno;
		close(in);
		errno = err;
		return -1;
	}
	char buf[64 * 1024];
	off_t total = 0;
	int err = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				err = errno;
				break;
			}
			off += w;
		}
		if (err)
			break;
		total += n;
	}
	struct stat st;
	if (err == 0 && (fstat(in, &st) < 0 || st.st_size != total))
		err = EIO; /* the source changed while we copied it */
	if (err == 0 && fsync(out) < 0)
		err = errno;
	if (close(out) < 0 && err == 0)
		err = errno;
	close(in);
	if (err) {
		unlink(dst);
		errno = err;
		return -1;
	}
	fsync_dir_of(dst);
	return 0;
}

/* --- opening a file ------------------------------------------------------------ */

/* Open path read-write (creating it when create); no statement is run. */
int
db_open(struct store *s, const char *path, bool create, sqlite3 **ret, struct tusk_error *e)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		char *cause = db_cause(db);
		terr_set(e, s->kind, "cannot open the database %s: %s", path, cause);
		terr_hint(e, "check that you can write %s and its directory, or set TUSK_HOME to a writable directory",
		    path);
		free(cause);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	if (sqlite3_db_readonly(db, "main") == 1) {
		terr_set(e, s->kind, "cannot write the database %s: %s", path,
		    access(path, W_OK) < 0 ? strerror(errno) : "opened read-only");
		terr_hint(e, "check the permissions of %s and of its directory", path);
		sqlite3_close(db);
		return -1;
	}
	*ret = db;
	return 0;
}

/* Run one fixed statement that returns no rows we need. */
int
db_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* One integer from a fixed query; -1 with rc set on failure or no row. */
int
db_int(sqlite3 *db, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*ret = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_ERROR;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -1;
}

/*
 * The schema version recorded in the file: 0 for a file without the
 * migrations table, -1 when it cannot be read (damage).
 */
static int64_t
db_version(sqlite3 *db)
{
	int64_t n, v;
	if (db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
		&n) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (db_int(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", &v) < 0)
		return -1;
	return v;
}

/* The newest version a migration list reaches. */
static int
latest_version(const struct store_migration *mig, size_t nmig)
{
	int v = 0;
	for (size_t i = 0; i < nmig; i++)
		v = MAX(v, mig[i].version);
	return v;
}

/* Refuse a file written by a newer Tusk, without touching it. */
static int
refuse_newer(struct store *s, int64_t v, struct tusk_error *e)
{
	terr_set(e, s->kind,
	    "the database %s was written by a newer Tusk (schema version %lld; this Tusk knows up to %d)",
	    s->path, (long long)v, latest_version(s->mig, s->nmig));
	terr_hint(e, "run the newer Tusk again, or move the file away to start with an empty one; it was not changed");
	return -1;
}

/*
 * Bring db to the newest version: every missing migration, in order, and
 * its row in schema_migrations, in one transaction.
 */
int
db_migrate(struct store *s, sqlite3 *db, struct tusk_error *e)
{
	static const char create_table[] =
	    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
	    " description TEXT NOT NULL, applied_ms INTEGER NOT NULL) STRICT";
	sqlite3_stmt *ins = NULL;
	if (db_exec(db, "BEGIN IMMEDIATE") != SQLITE_OK)
		return db_fail(s, db, e, "cannot begin the schema update of");
	if (db_exec(db, create_table) != SQLITE_OK) {
		db_fail(s, db, e, "cannot create the migrations table in");
		goto fail;
	}
	int64_t cur;
	if (db_int(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", &cur) < 0) {
		db_fail(s, db, e, "cannot read the schema version of");
		goto fail;
	}
	if (cur > latest_version(s->mig, s->nmig)) {
		refuse_newer(s, cur, e);
		goto fail;
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO schema_migrations (version, description, applied_ms) VALUES (?1, ?2, ?3)",
		-1, &ins, NULL) != SQLITE_OK) {
		db_fail(s, db, e, "cannot prepare the schema update of");
		goto fail;
	}
	for (size_t i = 0; i < s->nmig; i++) {
		const struct store_migration *m = &s->mig[i];
		if (m->version <= cur)
			continue;
		if (db_exec(db, m->sql) != SQLITE_OK) {
			db_fail(s, db, e, "schema migration %d (%s) failed on", m->version, m->description);
			goto fail;
		}
		sqlite3_bind_int(ins, 1, m->version);
		sqlite3_bind_text(ins, 2, m->description, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, wall_ms());
		if (sqlite3_step(ins) != SQLITE_DONE) {
			db_fail(s, db, e, "cannot record schema migration %d in", m->version);
			goto fail;
		}
		sqlite3_reset(ins);
		log_info("database %s: applied schema migration %d (%s)", s->path, m->version,
		    m->description);
	}
	sqlite3_finalize(ins);
	ins = NULL;
	if (db_exec(db, "COMMIT") != SQLITE_OK) {
		db_fail(s, db, e, "cannot commit the schema update of");
		goto fail;
	}
	return 0;
fail:
	sqlite3_finalize(ins);
	db_exec(db, "ROLLBACK");
	return -1;
}

/*
 * PRAGMA quick_check or integrity_check. 0 when the file is sound; 1 with
 * the problems listed (an error from SQLite itself counts as one).
 */
int
db_check(sqlite3 *db, bool full, struct strlist *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, full ? "PRAGMA integrity_check(50)" : "PRAGMA quick_check(50)",
	    -1, &st, NULL);
	bool ok = false;
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		rc = SQLITE_OK;
		if (t && strcmp(t, "ok") == 0) {
			ok = true;
			continue;
		}
		/* a row may hold several lines ("*** in database main ***\n...") */
		char *copy = xstrdup(t ? t : "?");
		for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (strncmp(line, "*** in database", 15) == 0 || out->n >= CHECK_MAX_ERRORS)
				continue;
			strlist_add(out, line);
		}
		free(copy);
	}
	if (rc != SQLITE_DONE) {
		char *cause = db_cause(db);
		strlist_add(out, cause);
		free(cause);
	}
	sqlite3_finalize(st);
	if (out->n == 0 && !ok)
		strlist_add(out, "the check gave no answer");
	return out->n == 0 ? 0 : 1;
}

/* Settings of an open, sound database. */
int
db_configure(struct store *s, sqlite3 *db, struct tusk_error *e)
{
	sqlite3_stmt *st = NULL;
	const char *mode = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		mode = (const char *)sqlite3_column_text(st, 0);
	if (mode == NULL) {
		db_fail(s, db, e, "cannot set up");
		sqlite3_finalize(st);
		return -1;
	}
	if (strcmp(mode, "wal") != 0)
		log_warn("database %s: journal mode is %s (WAL is not available here)", s->path, mode);
	sqlite3_finalize(st);
	if (db_exec(db, "PRAGMA synchronous = FULL") != SQLITE_OK ||
	    db_exec(db, "PRAGMA foreign_keys = ON") != SQLITE_OK)
		return db_fail(s, db, e, "cannot set up");
	return 0;
}

/* --- statement cache ----------------------------------------------------------------- */

/* The prepared statement id, reset and unbound; NULL with e set on failure. */
sqlite3_stmt *
st_get(struct store *s, enum st_id id, struct tusk_error *e)
{
	if (s->db == NULL) {
		terr_set(e, TE_STORAGE, "the local database %s is not available", s->path);
		terr_hint(e, "see the broker's log for why; restart the broker to try again");
		return NULL;
	}
	if (s->st[id] == NULL &&
	    sqlite3_prepare_v3(s->db, st_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL) !=
		SQLITE_OK) {
		db_fail(s, s->db, e, "cannot prepare a statement on");
		return NULL;
	}
	sqlite3_reset(s->st[id]);
	sqlite3_clear_bindings(s->st[id]);
	return s->st[id];
}

/* Finalize every cached statement (before closing or replacing the file). */
void
st_finalize_all(struct store *s)
{
	for (int i = 0; i < ST__COUNT; i++) {
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
}

/* Run a statement without rows (BEGIN, COMMIT, ROLLBACK). */
int
st_run(struct store *s, enum st_id id, struct tusk_error *e)
{
	sqlite3_stmt *st = st_get(s, id, e);
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, s->db, e, "cannot update");
	return 0;
}

/* Roll back after a failure, keeping the first error. */
void
st_rollback(struct store *s)
{
	struct tusk_error ignored = TUSK_ERROR_INIT;
	if (s->db && !sqlite3_get_autocommit(s->db))
		st_run(s, ST_ROLLBACK, &ignored);
	terr_clear(&ignored);
}


/* --- open and close --------------------------------------------------------------- */

/*
 * Open s->path: refuse a newer schema, check, recover when damaged,
 * configure, migrate, and load the notice.
 */
int
store_reopen(struct store *s, struct tusk_error *e)
{
	sqlite3 *db = NULL;
	struct strlist problems = { 0 };
	struct store_notice *fresh = NULL;

	bool existed = file_size(s->path) > 0;
	if (db_open(s, s->path, true, &db, e) < 0)
		return -1;
	/* host and user names are nobody else's business (SQLite gives the
	 * -wal and -shm files the mode of the database) */
	if (!existed && chmod(s->path, 0600) < 0)
		log_warn("cannot make %s private: %s", s->path, strerror(errno));
	if (existed) {
		int64_t v = db_version(db);
		if (v > latest_version(s->mig, s->nmig)) {
			sqlite3_close(db);
			return refuse_newer(s, v, e);
		}
		if (db_check(db, false, &problems) != 0) {
			int r = recover(s, db, &problems, &fresh, e);
			strlist_free(&problems);
			if (r < 0)
				return -1;
			if (db_open(s, s->path, false, &db, e) < 0) {
				notice_free(fresh);
				return -1;
			}
		}
	}
	if (db_configure(s, db, e) < 0 || db_migrate(s, db, e) < 0) {
		sqlite3_close(db);
		notice_free(fresh);
		return -1;
	}
	s->db = db;
	if (fresh) {
		notice_save(s, fresh);
		notice_free(s->notice);
		s->notice = fresh;
	}
	notice_load(s);
	return 0;
}

/* Open the store at path with the given migrations. */
int
store_open_with(struct store **ret, const char *path, const struct store_migration *mig,
    size_t nmig, struct tusk_error *e)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->path = xstrdup(path);
	s->mig = mig;
	s->nmig = nmig;
	s->kind = TE_INITIALIZATION;
	/* scratch files of a salvage that was interrupted: never user data
	 * (the damaged file is still in place, or its backup exists) */
	char *p = xasprintf("%s.salvage-src", path);
	unlink_db_files(p);
	free(p);
	p = xasprintf("%s.salvage-new", path);
	unlink_db_files(p);
	free(p);
	if (store_reopen(s, e) < 0) {
		store_close(s);
		return -1;
	}
	s->kind = TE_STORAGE;
	log_info("database %s open (schema version %d, SQLite %s)", path, store_version(s),
	    sqlite3_libversion());
	*ret = s;
	return 0;
}

/* Open the store with this Tusk's migrations. */
int
store_open(struct store **ret, const char *path, struct tusk_error *e)
{
	return store_open_with(ret, path, store_migrations, store_migrations_count, e);
}

/* Finalize the statements and close the file (the WAL is checkpointed). */
void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	st_finalize_all(s);
	if (s->db && sqlite3_close(s->db) != SQLITE_OK)
		log_warn("closing the database %s: %s", s->path, sqlite3_errmsg(s->db));
	notice_free(s->notice);
	free(s->path);
	free(s);
}

/* The database file's path. */
const char *
store_path(const struct store *s)
{
	return s->path;
}

/* The schema version recorded in the open file. */
int
store_version(struct store *s)
{
	return s->db ? (int)db_version(s->db) : -1;
}

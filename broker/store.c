/*
 * store.c — the local store in SQLite (see store.h): schema and migrations,
 * saved connections, preferences, and what happens when the file is damaged.
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

const struct store_migration store_migrations[] = {
	{ 1, "saved connections, preferences, storage notices", schema_v1 },
};
const size_t store_migrations_count = nitems(store_migrations);

/* --- statements ------------------------------------------------------------------ */

#define CONN_COLS \
	"id, name, host, port, dbname, username, ssl_mode, ssl_ca_cert, ssl_client_cert, " \
	"ssl_client_key, ssh_host, ssh_port, ssh_username, ssh_auth_type, ssh_key_path, " \
	"ssh_local_port, read_only, statement_timeout_ms, created_ms, updated_ms"
#define CONN_NCOLS 20
#define PREF_COLS "key, value, updated_ms"
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
	ST__COUNT
};

static const char *const st_sql[ST__COUNT] = {
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
	[ST_ROW_COUNT] = "SELECT (SELECT count(*) FROM connections) + (SELECT count(*) FROM preferences)",
};

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

static int store_reopen(struct store *s, struct tusk_error *e);

/* --- small helpers ------------------------------------------------------------- */

/* Append a copy of a string. */
static void
strlist_add(struct strlist *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = xstrdup(s);
}

/* Free the strings and the array. */
static void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Free a notice. */
static void
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
static int __attribute__((format(printf, 4, 5)))
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
static char *
iso_ms(int64_t ms)
{
	char buf[40];
	iso8601_utc(ms, buf, sizeof buf);
	return xstrdup(buf);
}

/* Remove a file if it is there; -1 with errno when removing failed. */
static int
unlink_quiet(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Remove a scratch database and the files SQLite keeps beside it. */
static void
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
static void
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
static off_t
file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/*
 * Copy src to a new file dst (never replacing one), byte for byte, synced.
 * On failure dst is removed and errno says why.
 */
static int
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
static int
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
static int
db_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* One integer from a fixed query; -1 with rc set on failure or no row. */
static int
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
static int
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
static int
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
static int
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
static sqlite3_stmt *
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
static void
st_finalize_all(struct store *s)
{
	for (int i = 0; i < ST__COUNT; i++) {
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
}

/* Run a statement without rows (BEGIN, COMMIT, ROLLBACK). */
static int
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
static void
st_rollback(struct store *s)
{
	struct tusk_error ignored = TUSK_ERROR_INIT;
	if (s->db && !sqlite3_get_autocommit(s->db))
		st_run(s, ST_ROLLBACK, &ignored);
	terr_clear(&ignored);
}

/* --- rows <-> configs -------------------------------------------------------- */

/* A text column as a new string; NULL for SQL NULL. -1 when it holds
 * something else than text without NUL bytes (a damaged row). */
static int
col_text(sqlite3_stmt *st, int i, bool nullable, char **out)
{
	*out = NULL;
	int t = sqlite3_column_type(st, i);
	if (t == SQLITE_NULL)
		return nullable ? 0 : -1;
	if (t != SQLITE_TEXT)
		return -1;
	const char *p = (const char *)sqlite3_column_text(st, i);
	int n = sqlite3_column_bytes(st, i);
	if (p == NULL || memchr(p, '\0', (size_t)n) != NULL)
		return -1;
	*out = xstrndup(p, (size_t)n);
	return 0;
}

/* An integer column; *present false for SQL NULL. -1 for another type. */
static int
col_int(sqlite3_stmt *st, int i, bool nullable, int64_t *out, bool *present)
{
	int t = sqlite3_column_type(st, i);
	*present = t != SQLITE_NULL;
	if (t == SQLITE_NULL)
		return nullable ? 0 : -1;
	if (t != SQLITE_INTEGER)
		return -1;
	*out = sqlite3_column_int64(st, i);
	return 0;
}

/* Read one row of CONN_COLS into c (and its times in ms). */
static int
conn_from_row(sqlite3_stmt *st, struct tusk_config *c, int64_t *created_ms, int64_t *updated_ms)
{
	int64_t v;
	bool has;
	config_init(c);
	char *ssh_host = NULL, *ssh_user = NULL, *ssh_auth = NULL, *ssh_key = NULL;
	int64_t ssh_port = 22, ssh_local = -1;
	bool has_ssh_port = false;
	if (col_text(st, 0, false, &c->id) < 0 || col_text(st, 1, false, &c->name) < 0 ||
	    col_text(st, 2, false, &c->host) < 0 || col_int(st, 3, false, &v, &has) < 0 ||
	    v < 1 || v > 65535)
		goto bad;
	c->port = (int)v;
	if (col_text(st, 4, false, &c->database) < 0 || col_text(st, 5, false, &c->username) < 0 ||
	    col_text(st, 6, false, &c->ssl_mode) < 0 || col_text(st, 7, true, &c->ssl_ca_cert) < 0 ||
	    col_text(st, 8, true, &c->ssl_client_cert) < 0 ||
	    col_text(st, 9, true, &c->ssl_client_key) < 0 || col_text(st, 10, true, &ssh_host) < 0 ||
	    col_int(st, 11, true, &ssh_port, &has_ssh_port) < 0 ||
	    col_text(st, 12, true, &ssh_user) < 0 || col_text(st, 13, true, &ssh_auth) < 0 ||
	    col_text(st, 14, true, &ssh_key) < 0 || col_int(st, 15, true, &ssh_local, &has) < 0)
		goto bad;
	if (!has)
		ssh_local = -1;
	if (ssh_host) {
		if (!ssh_user || !ssh_auth || !has_ssh_port || ssh_port < 1 || ssh_port > 65535 ||
		    ssh_local < -1 || ssh_local > 65535)
			goto bad;
		c->ssh = xcalloc(1, sizeof *c->ssh);
		c->ssh->host = ssh_host;
		c->ssh->port = (int)ssh_port;
		c->ssh->username = ssh_user;
		c->ssh->auth_type = ssh_auth;
		c->ssh->key_path = ssh_key;
		c->ssh->local_port = (int)ssh_local;
		ssh_host = ssh_user = ssh_auth = ssh_key = NULL;
	} else if (ssh_user || ssh_auth || ssh_key) {
		goto bad;
	}
	if (col_int(st, 16, false, &v, &has) < 0 || (v != 0 && v != 1))
		goto bad;
	c->read_only = v == 1;
	if (col_int(st, 17, true, &v, &has) < 0 || (has && v < 0))
		goto bad;
	c->statement_timeout_ms = has ? v : -1;
	if (col_int(st, 18, false, created_ms, &has) < 0 || col_int(st, 19, false, updated_ms, &has) < 0)
		goto bad;
	if (!uuid_valid(c->id, strlen(c->id)) || !config_ssl_mode_valid(c->ssl_mode))
		goto bad;
	c->created_at = iso_ms(*created_ms);
	c->updated_at = iso_ms(*updated_ms);
	return 0;
bad:
	free(ssh_host);
	free(ssh_user);
	free(ssh_auth);
	free(ssh_key);
	config_free(c);
	return -1;
}

/* Bind text or NULL. */
static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* Bind every column of c (the order of ST_CONN_INSERT and ST_CONN_UPDATE). */
static void
conn_bind(sqlite3_stmt *st, const struct tusk_config *c, const char *name_key, int64_t created_ms,
    int64_t updated_ms)
{
	bind_text(st, 1, c->id);
	bind_text(st, 2, c->name);
	bind_text(st, 3, c->host);
	sqlite3_bind_int(st, 4, c->port);
	bind_text(st, 5, c->database);
	bind_text(st, 6, c->username);
	bind_text(st, 7, c->ssl_mode);
	bind_text(st, 8, c->ssl_ca_cert);
	bind_text(st, 9, c->ssl_client_cert);
	bind_text(st, 10, c->ssl_client_key);
	if (c->ssh) {
		bind_text(st, 11, c->ssh->host);
		sqlite3_bind_int(st, 12, c->ssh->port);
		bind_text(st, 13, c->ssh->username);
		bind_text(st, 14, c->ssh->auth_type);
		bind_text(st, 15, c->ssh->key_path);
		if (c->ssh->local_port >= 0)
			sqlite3_bind_int(st, 16, c->ssh->local_port);
	}
	sqlite3_bind_int(st, 17, c->read_only ? 1 : 0);
	if (c->statement_timeout_ms >= 0)
		sqlite3_bind_int64(st, 18, c->statement_timeout_ms);
	sqlite3_bind_int64(st, 19, created_ms);
	sqlite3_bind_int64(st, 20, updated_ms);
	bind_text(st, 21, name_key);
}

/* Step a statement that changes rows; a constraint failure is a Validation
 * error about the row, anything else a store failure. */
static int
st_write(struct store *s, sqlite3_stmt *st, struct tusk_error *e)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		terr_set(e, TE_VALIDATION, "the value does not fit the store: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return db_fail(s, s->db, e, "cannot write to");
}

/* --- salvage ------------------------------------------------------------------------ */

/* One table's salvage: fixed statements on the damaged copy, and a copier. */
struct salvage_table {
	const char *name;
	const char *scan;	  /* rowids in table order */
	const char *index[2];	  /* rowids from each index (NULL: none) */
	const char *max;	  /* the largest rowid */
	const char *row;	  /* the row by rowid (?1) */
	int (*copy)(struct store *dst, sqlite3_stmt *row);
};

/* Re-check and insert one connection row into the fresh database. */
static int
salvage_conn(struct store *dst, sqlite3_stmt *row)
{
	struct tusk_config c;
	int64_t cms, ums;
	struct tusk_error e = TUSK_ERROR_INIT;
	if (conn_from_row(row, &c, &cms, &ums) < 0)
		return -1;
	char *key = config_name_fold(c.name);
	sqlite3_stmt *st = st_get(dst, ST_CONN_INSERT, &e);
	int r = -1;
	if (st) {
		conn_bind(st, &c, key, cms, ums);
		r = st_write(dst, st, &e);
	}
	if (r < 0)
		log_debug("salvage: connection row refused: %s", e.message ? e.message : "?");
	terr_clear(&e);
	free(key);
	config_free(&c);
	return r;
}

/* Is this one complete msgpack object of exactly len bytes? */
static bool
msgpack_complete(const void *p, size_t len)
{
	static const struct mp_limits lim = { STORE_PREF_VALUE_MAX, MP_MAX_DEPTH, STORE_PREF_VALUE_MAX };
	size_t n = 0;
	return len > 0 && len <= STORE_PREF_VALUE_MAX && mp_scan_buf(&lim, p, len, &n) == MP_DONE &&
	    n == len;
}

/* Re-check and insert one preference row into the fresh database. */
static int
salvage_pref(struct store *dst, sqlite3_stmt *row)
{
	char *key = NULL;
	int64_t ums;
	bool has;
	struct tusk_error e = TUSK_ERROR_INIT;
	if (col_text(row, 0, false, &key) < 0 || sqlite3_column_type(row, 1) != SQLITE_BLOB ||
	    col_int(row, 2, false, &ums, &has) < 0 || store_preference_key_check(key, &e) < 0) {
		terr_clear(&e);
		free(key);
		return -1;
	}
	const void *v = sqlite3_column_blob(row, 1);
	size_t len = (size_t)sqlite3_column_bytes(row, 1);
	int r = -1;
	if (msgpack_complete(v, len)) {
		sqlite3_stmt *st = st_get(dst, ST_PREF_SET, &e);
		if (st) {
			bind_text(st, 1, key);
			sqlite3_bind_blob(st, 2, v, (int)len, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 3, ums);
			r = st_write(dst, st, &e);
		}
	}
	terr_clear(&e);
	free(key);
	return r;
}

static const struct salvage_table salvage_tables[] = {
	{ "connections",
	    "SELECT rowid FROM connections NOT INDEXED",
	    { "SELECT rowid FROM connections INDEXED BY sqlite_autoindex_connections_1",
		"SELECT rowid FROM connections INDEXED BY connections_name_key" },
	    "SELECT max(rowid) FROM connections",
	    "SELECT " CONN_COLS " FROM connections WHERE rowid = ?1",
	    salvage_conn },
	{ "preferences",
	    "SELECT rowid FROM preferences NOT INDEXED",
	    { "SELECT rowid FROM preferences INDEXED BY sqlite_autoindex_preferences_1", NULL },
	    "SELECT max(rowid) FROM preferences",
	    "SELECT " PREF_COLS " FROM preferences WHERE rowid = ?1",
	    salvage_pref },
};

/* A rowid to try, and whether a scan or an index vouched that it existed. */
struct cand {
	int64_t rowid;
	bool known;
};

struct cands {
	struct cand *v;
	size_t n, cap;
};

/* Add a candidate rowid. */
static void
cands_add(struct cands *c, int64_t rowid, bool known)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->v = xrealloc(c->v, c->cap * sizeof *c->v);
	}
	c->v[c->n++] = (struct cand){ rowid, known };
}

/* Order by rowid, known first (so that merging keeps the flag). */
static int
cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->rowid != y->rowid)
		return x->rowid < y->rowid ? -1 : 1;
	return (int)y->known - (int)x->known;
}

/* Rowids a fixed query yields, as far as it can read; the largest seen. */
static int64_t
cands_collect(sqlite3 *src, const char *sql, bool known, struct cands *c)
{
	sqlite3_stmt *st = NULL;
	int64_t max = 0;
	if (sql == NULL || sqlite3_prepare_v2(src, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return 0;
	}
	while (sqlite3_step(st) == SQLITE_ROW && c->n < 4 * PROBE_MAX) {
		if (sqlite3_column_type(st, 0) != SQLITE_INTEGER)
			continue;
		int64_t r = sqlite3_column_int64(st, 0);
		cands_add(c, r, known);
		max = MAX(max, r);
	}
	sqlite3_finalize(st);
	return max;
}

/* Salvage one table; adds to *saved and *lost. */
static void
salvage_one(sqlite3 *src, struct store *dst, const struct salvage_table *t, int64_t *saved,
    int64_t *lost)
{
	struct cands c = { 0 };
	sqlite3_stmt *row = NULL;
	int64_t max = 0, m, ok = 0, bad = 0;

	if (sqlite3_prepare_v2(src, t->row, -1, &row, NULL) != SQLITE_OK) {
		log_warn("salvage: table %s cannot be read at all: %s", t->name, sqlite3_errmsg(src));
		sqlite3_finalize(row);
		return;
	}
	max = MAX(max, cands_collect(src, t->scan, true, &c));
	for (size_t i = 0; i < nitems(t->index); i++)
		max = MAX(max, cands_collect(src, t->index[i], true, &c));
	if (db_int(src, t->max, &m) == 0)
		max = MAX(max, m);
	/* rowids are handed out in order: probing reaches rows that neither a
	 * scan (stopped at a damaged page) nor an index (damaged too) reached */
	int64_t probe_to = MIN(max + 64, (int64_t)PROBE_MAX);
	for (int64_t r = 1; r <= probe_to; r++)
		cands_add(&c, r, false);
	if (c.n)
		qsort(c.v, c.n, sizeof *c.v, cand_cmp);
	for (size_t i = 0; i < c.n; i++) {
		if (i > 0 && c.v[i].rowid == c.v[i - 1].rowid)
			continue;
		sqlite3_reset(row);
		sqlite3_bind_int64(row, 1, c.v[i].rowid);
		int rc = sqlite3_step(row);
		if (rc == SQLITE_ROW) {
			if (t->copy(dst, row) == 0)
				ok++;
			else
				bad++;
		} else if (rc != SQLITE_DONE && c.v[i].known) {
			bad++;
		}
	}
	sqlite3_finalize(row);
	free(c.v);
	log_warn("salvage: table %s: %lld rows recovered, %lld lost", t->name, (long long)ok,
	    (long long)bad);
	*saved += ok;
	*lost += bad;
}

/*
 * Write a plausible SQLite header over a copy whose header is gone (page
 * size from the list below, the rest as a fresh rollback-journal file with
 * an empty free list). Then the pages behind it can be read again.
 */
static int
header_rebuild(const char *path, int page_size)
{
	unsigned char h[100];
	off_t size = file_size(path);
	if (size < page_size)
		return -1;
	memset(h, 0, sizeof h);
	memcpy(h, "SQLite format 3", 16);
	h[16] = (unsigned char)((page_size == 65536 ? 1 : page_size) >> 8);
	h[17] = (unsigned char)((page_size == 65536 ? 1 : page_size) & 0xff);
	h[18] = 1; /* legacy (rollback journal) read and write versions */
	h[19] = 1;
	h[21] = 64; /* payload fractions, fixed by the format */
	h[22] = 32;
	h[23] = 32;
	uint32_t pages = (uint32_t)(size / page_size);
	const uint32_t fields[][2] = {
		{ 24, 1 },	 /* change counter */
		{ 28, pages },	 /* size in pages (valid: see offset 92) */
		{ 40, 1 },	 /* schema cookie */
		{ 44, 4 },	 /* schema format */
		{ 56, 1 },	 /* UTF-8 */
		{ 92, 1 },	 /* version-valid-for = change counter */
		{ 96, (uint32_t)sqlite3_libversion_number() },
	};
	for (size_t i = 0; i < nitems(fields); i++) {
		uint32_t v = fields[i][1];
		unsigned char *p = h + fields[i][0];
		p[0] = (unsigned char)(v >> 24);
		p[1] = (unsigned char)(v >> 16);
		p[2] = (unsigned char)(v >> 8);
		p[3] = (unsigned char)v;
	}
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = pwrite(fd, h, sizeof h, 0);
	close(fd);
	return w == (ssize_t)sizeof h ? 0 : -1;
}

/* Open a scratch copy for reading what is left; NULL when nothing is. */
static sqlite3 *
salvage_source(const char *scratch)
{
	static const int sizes[] = { 4096, 1024, 2048, 8192, 16384, 32768, 65536, 512 };
	int64_t n;
	for (size_t attempt = 0; attempt <= nitems(sizes); attempt++) {
		sqlite3 *db = NULL;
		if (attempt > 0 && header_rebuild(scratch, sizes[attempt - 1]) < 0)
			continue;
		if (sqlite3_open_v2(scratch, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
			sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
			/* read a truncated file as far as it goes, a damaged schema
			 * as far as it parses */
			db_exec(db, "PRAGMA writable_schema = ON");
			if (db_int(db, "SELECT count(*) FROM sqlite_master", &n) == 0) {
				if (attempt > 0)
					log_warn("salvage: rebuilt the file header (page size %d)",
					    sizes[attempt - 1]);
				return db;
			}
			int rc = sqlite3_errcode(db);
			sqlite3_close(db);
			if (rc != SQLITE_NOTADB && attempt == 0)
				return NULL; /* the header is fine; the schema is not */
		} else {
			sqlite3_close(db);
		}
	}
	return NULL;
}

/*
 * Salvage what the backup still holds into a fresh database that replaces
 * s->path. On failure s->path is unchanged.
 */
static int
salvage(struct store *s, const char *backup, int64_t *saved, int64_t *lost, struct tusk_error *e)
{
	char *scratch = xasprintf("%s.salvage-src", s->path);
	char *fresh = xasprintf("%s.salvage-new", s->path);
	char *bwal = xasprintf("%s-wal", backup), *swal = xasprintf("%s-wal", scratch);
	struct store dst = { .path = fresh, .mig = s->mig, .nmig = s->nmig, .kind = s->kind };
	sqlite3 *src = NULL;
	int r = -1;

	unlink_db_files(scratch);
	unlink_db_files(fresh);
	if (copy_file(backup, scratch) < 0 || (file_size(bwal) > 0 && copy_file(bwal, swal) < 0)) {
		terr_set(e, s->kind, "cannot copy %s for salvage: %s", backup, strerror(errno));
		terr_hint(e, "free some space in %s", s->path);
		goto out;
	}
	src = salvage_source(scratch);
	if (db_open(&dst, fresh, true, &dst.db, e) < 0 || db_migrate(&dst, dst.db, e) < 0)
		goto out;
	if (chmod(fresh, 0600) < 0)
		log_warn("cannot make %s private: %s", fresh, strerror(errno));
	if (st_run(&dst, ST_BEGIN, e) < 0)
		goto out;
	if (src) {
		for (size_t i = 0; i < nitems(salvage_tables); i++)
			salvage_one(src, &dst, &salvage_tables[i], saved, lost);
	} else {
		log_warn("salvage: nothing in %s can be read as a database", backup);
	}
	if (st_run(&dst, ST_COMMIT, e) < 0)
		goto out;
	st_finalize_all(&dst);
	if (sqlite3_close(dst.db) != SQLITE_OK) {
		db_fail(&dst, dst.db, e, "cannot close");
		goto out;
	}
	dst.db = NULL;
	/* the damaged file's -wal would be replayed into the new file: it goes
	 * (its copy is beside the backup), then the new file takes the name */
	char *wal = xasprintf("%s-wal", s->path), *shm = xasprintf("%s-shm", s->path);
	char *jnl = xasprintf("%s-journal", s->path);
	int ur = unlink_quiet(wal) | unlink_quiet(shm) | unlink_quiet(jnl);
	free(wal);
	free(shm);
	free(jnl);
	if (ur < 0 || rename(fresh, s->path) < 0) {
		terr_set(e, s->kind, "cannot put the salvaged database in place of %s: %s", s->path,
		    strerror(errno));
		terr_hint(e, "check the permissions of %s", s->path);
		goto out;
	}
	fsync_dir_of(s->path);
	r = 0;
out:
	if (src)
		sqlite3_close(src);
	st_finalize_all(&dst);
	if (dst.db)
		sqlite3_close(dst.db);
	unlink_db_files(scratch);
	if (r < 0)
		unlink_db_files(fresh);
	free(scratch);
	free(fresh);
	free(bwal);
	free(swal);
	return r;
}

/* --- recovery ---------------------------------------------------------------- */

/* Copy the damaged file (and its -wal) to a new timestamped backup. */
static char *
backup_take(const char *path, struct tusk_error *e, enum tusk_error_kind kind)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	char *b = NULL;
	for (int i = 1; i < 1000; i++) {
		b = i == 1 ? xasprintf("%s.%s.corrupt", path, stamp) :
			     xasprintf("%s.%s-%d.corrupt", path, stamp, i);
		if (copy_file(path, b) == 0)
			break;
		int err = errno;
		free(b);
		b = NULL;
		if (err != EEXIST) {
			errno = err;
			break;
		}
	}
	if (b == NULL) {
		terr_set(e, kind, "the database %s is damaged, and no copy of it could be made: %s; it was left as it is",
		    path, strerror(errno));
		terr_hint(e, "free some space beside it (or copy it away yourself), then start Tusk again");
		return NULL;
	}
	char *wal = xasprintf("%s-wal", path), *bwal = xasprintf("%s-wal", b);
	if (file_size(wal) > 0 && copy_file(wal, bwal) < 0) {
		terr_set(e, kind, "the database %s is damaged, and its write-ahead log could not be copied: %s; it was left as it is",
		    path, strerror(errno));
		terr_hint(e, "free some space beside it, then start Tusk again");
		free(b);
		b = NULL;
	}
	free(wal);
	free(bwal);
	return b;
}

/* REINDEX in place; true when the full check then passes. */
static bool
repair_in_place(struct store *s, int64_t *rows)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	struct strlist problems = { 0 };
	sqlite3 *db = NULL;
	bool ok = false;
	if (db_open(s, s->path, false, &db, &e) == 0 && db_exec(db, "REINDEX") == SQLITE_OK &&
	    db_check(db, true, &problems) == 0) {
		ok = true;
		if (db_int(db, st_sql[ST_ROW_COUNT], rows) < 0)
			*rows = 0;
	} else if (db) {
		log_warn("repair of %s in place failed: %s", s->path,
		    problems.n ? problems.v[0] : sqlite3_errmsg(db));
	}
	sqlite3_close(db);
	strlist_free(&problems);
	terr_clear(&e);
	return ok;
}

/*
 * db (open on s->path) failed its check with these problems: back it up,
 * close it, repair or salvage. *ret is the notice of what was done.
 */
static int
recover(struct store *s, sqlite3 *db, struct strlist *problems, struct store_notice **ret,
    struct tusk_error *e)
{
	log_error("the database %s is damaged: %s", s->path, problems->v[0]);
	char *backup = backup_take(s->path, e, s->kind);
	/* closing may checkpoint a -wal into the file: only now that a copy is taken */
	sqlite3_close(db);
	if (backup == NULL)
		return -1;
	log_warn("a copy of the damaged database is kept at %s", backup);

	struct store_notice *n = xcalloc(1, sizeof *n);
	n->at_ms = wall_ms();
	n->backup_path = backup;
	n->errors = problems->v;
	n->nerrors = problems->n;
	problems->v = NULL;
	problems->n = 0;
	int64_t rows = 0;
	if (repair_in_place(s, &rows)) {
		n->action = xstrdup("repaired");
		n->salvaged_rows = rows;
		n->message = xasprintf("The local database was damaged and has been repaired; nothing was lost. "
				       "A copy of the damaged file is kept at %s.", backup);
	} else {
		int64_t saved = 0, lost = 0;
		if (salvage(s, backup, &saved, &lost, e) < 0) {
			notice_free(n);
			return -1;
		}
		n->action = xstrdup("salvaged");
		n->salvaged_rows = saved;
		n->lost_rows = lost;
		if (lost == 0 && saved == 0)
			n->message = xasprintf("The local database was damaged and nothing in it could be read; "
					       "Tusk started a new, empty one. The damaged file is kept at %s.",
			    backup);
		else
			n->message = xasprintf("The local database was damaged. %lld saved items were recovered "
					       "into a new database; %lld could not be read. The damaged file is kept at %s.",
			    (long long)saved, (long long)lost, backup);
	}
	log_warn("%s", n->message);
	*ret = n;
	return 0;
}

/* --- notices ----------------------------------------------------------------------- */

/* Keep a new notice in the database (best effort: memory holds it anyway). */
static void
notice_save(struct store *s, const struct store_notice *n)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	struct strbuf errs;
	sb_init(&errs);
	for (size_t i = 0; i < n->nerrors; i++)
		sb_addf(&errs, "%s%s", i ? "\n" : "", n->errors[i]);
	char *text = sb_detach(&errs);
	sqlite3_stmt *st = st_get(s, ST_NOTICE_INSERT, &e);
	if (st) {
		sqlite3_bind_int64(st, 1, n->at_ms);
		bind_text(st, 2, n->action);
		bind_text(st, 3, n->message);
		bind_text(st, 4, text);
		bind_text(st, 5, n->backup_path);
		sqlite3_bind_int64(st, 6, n->salvaged_rows);
		sqlite3_bind_int64(st, 7, n->lost_rows);
		st_write(s, st, &e);
	}
	if (terr_isset(&e))
		log_warn("cannot record the storage notice: %s", e.message);
	terr_clear(&e);
	free(text);
}

/* Load the outstanding notice from the database into s->notice. */
static void
notice_load(struct store *s)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	sqlite3_stmt *st = st_get(s, ST_NOTICE_CURRENT, &e);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		struct store_notice *n = xcalloc(1, sizeof *n);
		char *errs = NULL;
		bool has;
		col_int(st, 0, false, &n->at_ms, &has);
		col_text(st, 1, false, &n->action);
		col_text(st, 2, false, &n->message);
		col_text(st, 3, false, &errs);
		col_text(st, 4, true, &n->backup_path);
		col_int(st, 5, false, &n->salvaged_rows, &has);
		col_int(st, 6, false, &n->lost_rows, &has);
		struct strlist l = { 0 };
		for (char *save = NULL, *line = errs ? strtok_r(errs, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save))
			strlist_add(&l, line);
		free(errs);
		n->errors = l.v;
		n->nerrors = l.n;
		if (n->action == NULL)
			n->action = xstrdup("salvaged");
		if (n->message == NULL)
			n->message = xstrdup("The local database was damaged and has been recovered.");
		notice_free(s->notice);
		s->notice = n;
	}
	if (st)
		sqlite3_reset(st);
	terr_clear(&e);
}

/* --- open and close --------------------------------------------------------------- */

/*
 * Open s->path: refuse a newer schema, check, recover when damaged,
 * configure, migrate, and load the notice.
 */
static int
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

/* --- saved connections ------------------------------------------------------------- */

/* Free a list of configs. */
void
store_configs_free(struct tusk_config *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		config_free(&v[i]);
	free(v);
}

/* Every saved connection, by name. */
int
store_connections_list(struct store *s, struct tusk_config **ret, size_t *ret_n,
    struct tusk_error *e)
{
	struct tusk_config *v = NULL;
	size_t n = 0;
	int64_t cms, ums;
	int rc;
	sqlite3_stmt *st = st_get(s, ST_CONN_LIST, e);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof *v);
		if (conn_from_row(st, &v[n], &cms, &ums) < 0) {
			log_warn("database %s: skipped a saved connection that does not read back", s->path);
			continue;
		}
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_configs_free(v, n);
		return db_fail(s, s->db, e, "cannot read the saved connections from");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* One connection by a key statement (id or name_key). */
static int
conn_lookup(struct store *s, enum st_id id, const char *key, struct tusk_config *ret,
    int64_t *cms, int64_t *ums, struct tusk_error *e)
{
	sqlite3_stmt *st = st_get(s, id, e);
	if (st == NULL)
		return -1;
	bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	int r = 0;
	if (rc == SQLITE_ROW) {
		if (conn_from_row(st, ret, cms, ums) < 0) {
			terr_set(e, TE_STORAGE, "the saved connection in %s does not read back", s->path);
			terr_hint(e, "check_database_health (`tuskctl health`) checks the database");
			r = -1;
		} else {
			r = 1;
		}
	} else if (rc != SQLITE_DONE) {
		r = db_fail(s, s->db, e, "cannot read a saved connection from");
	}
	sqlite3_reset(st);
	return r;
}

/* One saved connection by id. */
int
store_connection_get(struct store *s, const char *id, struct tusk_config *ret,
    struct tusk_error *e)
{
	int64_t cms, ums;
	return conn_lookup(s, ST_CONN_GET, id, ret, &cms, &ums, e);
}

/* One saved connection by name, compared case-folded. */
int
store_connection_find_name(struct store *s, const char *name, struct tusk_config *ret,
    struct tusk_error *e)
{
	int64_t cms, ums;
	char *key = config_name_fold(name);
	int r = conn_lookup(s, ST_CONN_BY_KEY, key, ret, &cms, &ums, e);
	free(key);
	return r;
}

/* Insert or update a saved connection in one transaction. */
int
store_connection_save(struct store *s, struct tusk_config *c, bool *created, struct tusk_error *e)
{
	struct tusk_config old, other;
	int64_t ocms = 0, oums = 0, xcms, xums;
	char idbuf[UUID_STR_LEN];
	int found = 0;

	if (c->id && !uuid_valid(c->id, strlen(c->id))) {
		terr_set(e, TE_VALIDATION, "id: '%.64s' is not a UUID", c->id);
		terr_hint(e, "leave the id out to save a new connection; list_connections shows the ids");
		return -1;
	}
	if (c->name == NULL || *c->name == '\0')
		return terr_set(e, TE_VALIDATION, "name: must not be empty");
	char *key = config_name_fold(c->name);
	if (st_run(s, ST_BEGIN, e) < 0)
		goto fail;
	if (c->id) {
		found = conn_lookup(s, ST_CONN_GET, c->id, &old, &ocms, &oums, e);
		if (found < 0)
			goto fail;
		if (found)
			config_free(&old);
	} else {
		uuid_v4(idbuf);
		c->id = xstrdup(idbuf);
	}
	int dup = conn_lookup(s, ST_CONN_BY_KEY, key, &other, &xcms, &xums, e);
	if (dup < 0)
		goto fail;
	if (dup) {
		bool same = strcmp(other.id, c->id) == 0;
		if (!same) {
			terr_set(e, TE_VALIDATION, "name: '%s' is already used by the saved connection '%s'",
			    c->name, other.name);
			terr_hint(e, "names are compared without regard to case; choose another name, or edit that connection");
		}
		config_free(&other);
		if (!same)
			goto fail;
	}
	int64_t now = wall_ms();
	int64_t cms = found ? ocms : now;
	int64_t ums = found ? MAX(now, oums + 1) : now;
	sqlite3_stmt *st = st_get(s, found ? ST_CONN_UPDATE : ST_CONN_INSERT, e);
	if (st == NULL)
		goto fail;
	conn_bind(st, c, key, cms, ums);
	if (st_write(s, st, e) < 0 || st_run(s, ST_COMMIT, e) < 0)
		goto fail;
	free(c->created_at);
	free(c->updated_at);
	c->created_at = iso_ms(cms);
	c->updated_at = iso_ms(ums);
	*created = !found;
	free(key);
	return 0;
fail:
	st_rollback(s);
	free(key);
	return -1;
}

/* Delete a saved connection by id. */
int
store_connection_delete(struct store *s, const char *id, struct tusk_error *e)
{
	sqlite3_stmt *st = st_get(s, ST_CONN_DELETE, e);
	if (st == NULL)
		return -1;
	bind_text(st, 1, id);
	if (st_write(s, st, e) < 0)
		return -1;
	return sqlite3_changes(s->db) > 0 ? 1 : 0;
}

/* --- preferences ------------------------------------------------------------------ */

/* Is a preference key acceptable? */
int
store_preference_key_check(const char *key, struct tusk_error *e)
{
	size_t n = strlen(key);
	if (n == 0)
		return terr_set(e, TE_VALIDATION, "key: must not be empty");
	if (n > STORE_PREF_KEY_MAX)
		return terr_set(e, TE_VALIDATION, "key: %zu bytes is longer than %d", n,
		    STORE_PREF_KEY_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[i];
		if (c < 0x20 || c == 0x7f) {
			terr_set(e, TE_VALIDATION, "key: control characters are not allowed");
			terr_hint(e, "use names like \"ui.theme\" or \"editor.font_size\"");
			return -1;
		}
	}
	return 0;
}

/* Free a list of preferences. */
void
store_prefs_free(struct store_pref *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

/* One row of PREF_COLS; -1 when it does not read back as a preference. */
static int
pref_from_row(sqlite3_stmt *st, struct store_pref *p)
{
	bool has;
	memset(p, 0, sizeof *p);
	if (col_text(st, 0, false, &p->key) < 0 || sqlite3_column_type(st, 1) != SQLITE_BLOB ||
	    col_int(st, 2, false, &p->updated_ms, &has) < 0) {
		free(p->key);
		p->key = NULL;
		return -1;
	}
	p->len = (size_t)sqlite3_column_bytes(st, 1);
	if (!msgpack_complete(sqlite3_column_blob(st, 1), p->len)) {
		free(p->key);
		p->key = NULL;
		return -1;
	}
	p->value = xmalloc(p->len);
	memcpy(p->value, sqlite3_column_blob(st, 1), p->len);
	return 0;
}

/* One preference's stored bytes. */
int
store_preference_get(struct store *s, const char *key, struct store_pref *ret,
    struct tusk_error *e)
{
	sqlite3_stmt *st = st_get(s, ST_PREF_GET, e);
	if (st == NULL)
		return -1;
	bind_text(st, 1, key);
	int rc = sqlite3_step(st), r = 0;
	if (rc == SQLITE_ROW) {
		if (pref_from_row(st, ret) < 0) {
			terr_set(e, TE_STORAGE, "preference '%.64s' in %s does not read back", key, s->path);
			terr_hint(e, "set it again; check_database_health (`tuskctl health`) checks the database");
			r = -1;
		} else {
			r = 1;
		}
	} else if (rc != SQLITE_DONE) {
		r = db_fail(s, s->db, e, "cannot read a preference from");
	}
	sqlite3_reset(st);
	return r;
}

/* Keep a preference's encoded value (insert or replace). */
int
store_preference_set(struct store *s, const char *key, const void *value, size_t len,
    struct tusk_error *e)
{
	if (store_preference_key_check(key, e) < 0)
		return -1;
	if (len > STORE_PREF_VALUE_MAX) {
		terr_set(e, TE_VALIDATION, "value: %zu bytes encoded is more than the %u allowed", len,
		    STORE_PREF_VALUE_MAX);
		terr_hint(e, "preferences are for settings; keep large data elsewhere");
		return -1;
	}
	if (!msgpack_complete(value, len))
		return terr_set(e, TE_VALIDATION, "value: not one complete msgpack value");
	sqlite3_stmt *st = st_get(s, ST_PREF_SET, e);
	if (st == NULL)
		return -1;
	bind_text(st, 1, key);
	sqlite3_bind_blob(st, 2, value, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, wall_ms());
	return st_write(s, st, e);
}

/* Every preference, by key. */
int
store_preferences_list(struct store *s, struct store_pref **ret, size_t *ret_n,
    struct tusk_error *e)
{
	struct store_pref *v = NULL;
	size_t n = 0;
	int rc;
	sqlite3_stmt *st = st_get(s, ST_PREF_LIST, e);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof *v);
		if (pref_from_row(st, &v[n]) < 0) {
			log_warn("database %s: skipped a preference that does not read back", s->path);
			continue;
		}
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_prefs_free(v, n);
		return db_fail(s, s->db, e, "cannot read the preferences from");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* --- health ------------------------------------------------------------------------ */

/* Free a health report. */
void
store_health_free(struct store_health *h)
{
	for (size_t i = 0; i < h->nerrors; i++)
		free(h->errors[i]);
	free(h->errors);
	memset(h, 0, sizeof *h);
}

/* Full integrity check; recover at once from damage it finds. */
int
store_check(struct store *s, struct store_health *ret, struct tusk_error *e)
{
	struct strlist problems = { 0 };
	memset(ret, 0, sizeof *ret);
	if (s->db == NULL) {
		/* a recovery failed before: try again from the start */
		if (store_reopen(s, e) < 0)
			return -1;
	}
	if (db_check(s->db, true, &problems) == 0) {
		ret->healthy = true;
		return 0;
	}
	for (size_t i = 0; i < problems.n; i++) {
		ret->errors = xrealloc(ret->errors, (ret->nerrors + 1) * sizeof *ret->errors);
		ret->errors[ret->nerrors++] = xstrdup(problems.v[i]);
	}
	struct store_notice *fresh = NULL;
	st_finalize_all(s);
	sqlite3 *db = s->db;
	s->db = NULL;
	int r = recover(s, db, &problems, &fresh, e);
	strlist_free(&problems);
	if (r < 0)
		return -1;
	notice_free(s->notice);
	s->notice = NULL;
	s->kind = TE_STORAGE;
	sqlite3 *ndb = NULL;
	if (db_open(s, s->path, false, &ndb, e) < 0 || db_configure(s, ndb, e) < 0 ||
	    db_migrate(s, ndb, e) < 0) {
		sqlite3_close(ndb);
		s->notice = fresh;
		return -1;
	}
	s->db = ndb;
	notice_save(s, fresh);
	s->notice = fresh;
	notice_load(s);
	return 0;
}

/* The outstanding notice, or NULL. */
const struct store_notice *
store_notice_get(const struct store *s)
{
	return s->notice;
}

/* Mark the notice dismissed, in memory and in the file. */
int
store_notice_dismiss(struct store *s, struct tusk_error *e)
{
	if (s->notice == NULL)
		return 0;
	sqlite3_stmt *st = st_get(s, ST_NOTICE_DISMISS, e);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, wall_ms());
	if (st_write(s, st, e) < 0)
		return -1;
	notice_free(s->notice);
	s->notice = NULL;
	return 1;
}

/*
 * store-repair.c — what happens when tusk.db is damaged (store.c's top
 * comment tells the order of the steps): the byte-identical backup, repair
 * in place, salvage row by row into a fresh file, the notice that tells the
 * user; and the full integrity check a client can ask for.
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
bool
msgpack_complete(const void *p, size_t len)
{
	return msgpack_complete_max(p, len, STORE_PREF_VALUE_MAX);
}

/* The same with a larger bound (the workspace). */
bool
msgpack_complete_max(const void *p, size_t len, size_t max)
{
	const struct mp_limits lim = { max, MP_MAX_DEPTH, max };
	size_t n = 0;
	return len > 0 && len <= max && mp_scan_buf(&lim, p, len, &n) == MP_DONE && n == len;
}

/* Re-check and insert one history row into the fresh database. */
static int
salvage_history(struct store *dst, sqlite3_stmt *row)
{
	struct store_history_entry h;
	struct tusk_error e = TUSK_ERROR_INIT;
	if (hist_from_row(row, &h) < 0)
		return -1;
	sqlite3_stmt *st = st_get(dst, ST_HIST_INSERT, &e);
	int r = -1;
	if (st) {
		hist_bind(st, &h);
		r = st_write(dst, st, &e);
	}
	terr_clear(&e);
	store_history_clear(&h);
	return r;
}

/* Re-check and insert one saved query (its connection kept if it survived). */
static int
salvage_saved(struct store *dst, sqlite3_stmt *row)
{
	struct store_saved_query q;
	struct tusk_error e = TUSK_ERROR_INIT;
	if (saved_from_row(row, &q) < 0)
		return -1;
	char *key = config_name_fold(q.name);
	sqlite3_stmt *st = st_get(dst, ST_SAVED_SALVAGE, &e);
	int r = -1;
	if (st) {
		saved_bind(st, &q, key);
		r = st_write(dst, st, &e);
	}
	terr_clear(&e);
	free(key);
	store_saved_clear(&q);
	return r;
}

/* Re-check and insert the workspace row. */
static int
salvage_workspace(struct store *dst, sqlite3_stmt *row)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	int64_t ms;
	bool has;
	const void *v = sqlite3_column_blob(row, 0);
	size_t len = (size_t)sqlite3_column_bytes(row, 0);
	if (sqlite3_column_type(row, 0) != SQLITE_BLOB || col_int(row, 1, false, &ms, &has) < 0 ||
	    !msgpack_complete_max(v, len, STORE_WORKSPACE_MAX))
		return -1;
	sqlite3_stmt *st = st_get(dst, ST_WS_SET, &e);
	int r = -1;
	if (st) {
		sqlite3_bind_blob(st, 1, v, (int)len, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, ms);
		r = st_write(dst, st, &e);
	}
	terr_clear(&e);
	return r;
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
	/* after connections: a saved query keeps its connection if that survived */
	{ "saved_queries",
	    "SELECT rowid FROM saved_queries NOT INDEXED",
	    { "SELECT rowid FROM saved_queries INDEXED BY sqlite_autoindex_saved_queries_1",
		"SELECT rowid FROM saved_queries INDEXED BY saved_queries_name_key" },
	    "SELECT max(rowid) FROM saved_queries",
	    "SELECT " SAVED_COLS " FROM saved_queries WHERE rowid = ?1",
	    salvage_saved },
	{ "workspace",
	    "SELECT rowid FROM workspace NOT INDEXED",
	    { NULL, NULL },
	    "SELECT max(rowid) FROM workspace",
	    "SELECT value, saved_ms FROM workspace WHERE rowid = ?1",
	    salvage_workspace },
	/* its FTS index is rebuilt after (ST_HIST_FTS_REBUILD) */
	{ "history",
	    "SELECT rowid FROM history NOT INDEXED",
	    { "SELECT rowid FROM history INDEXED BY history_saved",
		"SELECT rowid FROM history INDEXED BY history_connection" },
	    "SELECT max(rowid) FROM history",
	    "SELECT " HIST_COLS " FROM history WHERE rowid = ?1",
	    salvage_history },
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
		/* the history's words, indexed again from its salvaged rows */
		if (st_run(&dst, ST_HIST_FTS_REBUILD, e) < 0)
			goto out;
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
int
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
void
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
void
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

/*
 * store-history.c — the query history in the store: rows in and out, the
 * FTS5 search, pruning, deletion, and the second connection the history
 * writer thread uses (store_open_peer). What goes in is already masked and
 * cut to size (broker/history.c); this file only keeps it.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "error.h"
#include "log.h"
#include "store-priv.h"
#include "util.h"

static int st_int(struct store *s, enum st_id id, int64_t *ret, struct tusk_error *e);

/* A second connection to s's file, for another thread. */
int
store_open_peer(struct store *s, struct store **ret, struct tusk_error *e)
{
	struct store *p = xcalloc(1, sizeof *p);
	p->path = xstrdup(s->path);
	p->mig = s->mig;
	p->nmig = s->nmig;
	p->kind = TE_STORAGE;
	if (db_open(p, p->path, false, &p->db, e) < 0 || db_configure(p, p->db, e) < 0 ||
	    db_exec(p->db, "PRAGMA synchronous = NORMAL") != SQLITE_OK) {
		if (!terr_isset(e))
			db_fail(p, p->db, e, "cannot set up");
		store_close(p);
		return -1;
	}
	*ret = p;
	return 0;
}

/* Free the strings of one entry and zero it. */
void
store_history_clear(struct store_history_entry *h)
{
	free(h->sql);
	free(h->connection_name);
	free(h->saved_id);
	free(h->connection_id);
	free(h->database);
	free(h->error_code);
	memset(h, 0, sizeof *h);
}

/* Free a list of history entries. */
void
store_history_free(struct store_history_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_history_clear(&v[i]);
	free(v);
}

/* Bind text that outlives the statement's step (no copy), or NULL. */
static void
bind_static(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Bind one history row (the order of ST_HIST_INSERT; id 0 binds NULL: a new
 * id). The strings are not copied: h must live until the step is done. */
void
hist_bind(sqlite3_stmt *st, const struct store_history_entry *h)
{
	if (h->history_id > 0)
		sqlite3_bind_int64(st, 1, h->history_id);
	bind_static(st, 2, h->sql);
	bind_static(st, 3, h->connection_name);
	bind_static(st, 4, h->saved_id);
	bind_static(st, 5, h->connection_id);
	bind_static(st, 6, h->database);
	sqlite3_bind_int64(st, 7, h->started_ms);
	sqlite3_bind_double(st, 8, h->elapsed_ms);
	sqlite3_bind_int64(st, 9, h->row_count);
	bind_static(st, 10, h->status);
	bind_static(st, 11, h->error_code);
	bind_static(st, 12, h->client);
}

/* The static name in list that equals s, or NULL. */
static const char *
static_name(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return *list;
	return NULL;
}

static const char *const statuses[] = { "ok", "error", "cancelled", NULL };
static const char *const clients[] = { "window", "tuskctl", "other", NULL };

/* Read one row of HIST_COLS; -1 when it does not read back. */
int
hist_from_row(sqlite3_stmt *st, struct store_history_entry *h)
{
	bool has;
	char *status = NULL, *client = NULL;
	memset(h, 0, sizeof *h);
	int r = -1;
	if (col_int(st, 0, false, &h->history_id, &has) < 0 || col_text(st, 1, false, &h->sql) < 0 ||
	    col_text(st, 2, false, &h->connection_name) < 0 || col_text(st, 3, true, &h->saved_id) < 0 ||
	    col_text(st, 4, false, &h->connection_id) < 0 || col_text(st, 5, true, &h->database) < 0 ||
	    col_int(st, 6, false, &h->started_ms, &has) < 0 ||
	    sqlite3_column_type(st, 7) != SQLITE_FLOAT ||
	    col_int(st, 8, false, &h->row_count, &has) < 0 || col_text(st, 9, false, &status) < 0 ||
	    col_text(st, 10, true, &h->error_code) < 0 || col_text(st, 11, false, &client) < 0)
		goto out;
	h->elapsed_ms = sqlite3_column_double(st, 7);
	h->status = static_name(status, statuses);
	h->client = static_name(client, clients);
	if (h->status && h->client && h->history_id > 0 && h->elapsed_ms >= 0 && h->row_count >= 0)
		r = 0;
out:
	free(status);
	free(client);
	if (r < 0)
		store_history_clear(h);
	return r;
}

/* Add entries in one transaction. */
int
store_history_add(struct store *s, const struct store_history_entry *v, size_t n,
    struct tusk_error *e)
{
	if (n == 0)
		return 0;
	if (st_run(s, ST_BEGIN, e) < 0)
		return -1;
	int64_t last;
	if (st_int(s, ST_HIST_MAX_ID, &last, e) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = st_get(s, ST_HIST_INSERT, e);
		if (st == NULL)
			goto fail;
		hist_bind(st, &v[i]);
		if (st_write(s, st, e) < 0)
			goto fail;
	}
	/* the batch's words into the index, in one statement */
	sqlite3_stmt *fts = st_get(s, ST_HIST_FTS_ADD, e);
	if (fts == NULL)
		goto fail;
	sqlite3_bind_int64(fts, 1, last);
	if (st_write(s, fts, e) < 0 || st_run(s, ST_COMMIT, e) < 0)
		goto fail;
	return 0;
fail:
	st_rollback(s);
	return -1;
}

/* A statement's one integer (no parameters). */
static int
st_int(struct store *s, enum st_id id, int64_t *ret, struct tusk_error *e)
{
	sqlite3_stmt *st = st_get(s, id, e);
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_fail(s, s->db, e, "cannot read the history in");
	return 0;
}

/* How many entries there are. */
int
store_history_count(struct store *s, int64_t *ret, struct tusk_error *e)
{
	return st_int(s, ST_HIST_COUNT, ret, e);
}

/* Run a keyed pair (the index's delete, then the rows') with one integer. */
static int
st_pair(struct store *s, enum st_id fts, enum st_id rows, int64_t arg, int64_t *changed,
    struct tusk_error *e)
{
	sqlite3_stmt *st = st_get(s, fts, e);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, arg);
	if (st_write(s, st, e) < 0 || (st = st_get(s, rows, e)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, arg);
	if (st_write(s, st, e) < 0)
		return -1;
	*changed = sqlite3_changes64(s->db);
	return 0;
}

/* Keep the newest `keep` entries (index and rows in one transaction). */
int
store_history_prune(struct store *s, int64_t keep, int64_t *deleted, struct tusk_error *e)
{
	*deleted = 0;
	if (st_run(s, ST_BEGIN, e) < 0)
		return -1;
	if (st_pair(s, ST_HIST_PRUNE_FTS, ST_HIST_PRUNE, keep, deleted, e) < 0 ||
	    st_run(s, ST_COMMIT, e) < 0) {
		st_rollback(s);
		*deleted = 0;
		return -1;
	}
	return 0;
}

/* Is c part of a word (ASCII letters, digits, underscore, any non-ASCII byte)? */
static bool
word_byte(unsigned char c)
{
	return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/* The FTS5 query for a user's search words; NULL when there is none. */
char *
store_fts_query(const char *search)
{
	struct strbuf sb;
	sb_init(&sb);
	bool any = false;
	for (const char *p = search; *p;) {
		if (!word_byte((unsigned char)*p)) {
			p++;
			continue;
		}
		const char *w = p;
		while (*p && word_byte((unsigned char)*p))
			p++;
		/* a word is a quoted string to FTS5 (no quote can be in it), a
		 * prefix of the indexed tokens */
		sb_addf(&sb, "%s\"%.*s\"*", any ? " " : "", (int)(p - w), w);
		any = true;
	}
	if (!any) {
		sb_free(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

/* Entries, newest first. */
int
store_history_list(struct store *s, const struct store_history_filter *f,
    struct store_history_entry **ret, size_t *ret_n, struct tusk_error *e)
{
	char *fts = NULL;
	if (f->search && (fts = store_fts_query(f->search)) == NULL) {
		terr_set(e, TE_VALIDATION, "search: no word to look for in '%.64s'", f->search);
		terr_hint(e, "history is searched by the words of the SQL (letters, digits, _)");
		return -1;
	}
	sqlite3_stmt *st = st_get(s, fts ? ST_HIST_SEARCH : ST_HIST_LIST, e);
	if (st == NULL) {
		free(fts);
		return -1;
	}
	bind_text(st, 1, fts);
	bind_text(st, 2, f->saved_id);
	bind_text(st, 3, f->connection_id);
	bind_text(st, 4, f->status);
	sqlite3_bind_int64(st, 5, f->before > 0 ? f->before : INT64_MAX);
	sqlite3_bind_int64(st, 6, f->limit);
	struct store_history_entry *v = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof *v);
		if (hist_from_row(st, &v[n]) < 0) {
			log_warn("database %s: skipped a history entry that does not read back", s->path);
			continue;
		}
		n++;
	}
	sqlite3_reset(st);
	free(fts);
	if (rc != SQLITE_DONE) {
		store_history_free(v, n);
		return db_fail(s, s->db, e, "cannot read the history from");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Delete these entries (or all) in one transaction. */
int
store_history_delete(struct store *s, const int64_t *ids, size_t n, bool all, int64_t *deleted,
    struct tusk_error *e)
{
	*deleted = 0;
	if (st_run(s, ST_BEGIN, e) < 0)
		return -1;
	if (all) {
		if (st_run(s, ST_HIST_FTS_CLEAR, e) < 0 || st_run(s, ST_HIST_DELETE_ALL, e) < 0)
			goto fail;
		*deleted = sqlite3_changes64(s->db);
	}
	for (size_t i = 0; !all && i < n; i++) {
		int64_t one = 0;
		if (st_pair(s, ST_HIST_DELETE_FTS, ST_HIST_DELETE, ids[i], &one, e) < 0)
			goto fail;
		*deleted += one;
	}
	if (st_run(s, ST_COMMIT, e) < 0)
		goto fail;
	return 0;
fail:
	st_rollback(s);
	*deleted = 0;
	return -1;
}

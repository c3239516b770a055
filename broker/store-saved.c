/*
 * store-saved.c — saved queries (named SQL with an optional description,
 * folder and saved connection; the name unique after case folding) and the
 * window's workspace (one msgpack map, kept exactly as given).
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "store-priv.h"
#include "util.h"
#include "uuid.h"

/* --- saved queries --------------------------------------------------------- */

/* Free a list of saved queries. */
void
store_saved_free(struct store_saved_query *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].name);
		free(v[i].sql);
		free(v[i].description);
		free(v[i].conn_id);
		free(v[i].folder);
	}
	free(v);
}

/* Free the members of one saved query and zero it. */
void
store_saved_clear(struct store_saved_query *q)
{
	free(q->id);
	free(q->name);
	free(q->sql);
	free(q->description);
	free(q->conn_id);
	free(q->folder);
	memset(q, 0, sizeof *q);
}

/* Read one row of SAVED_COLS; -1 when it does not read back. */
int
saved_from_row(sqlite3_stmt *st, struct store_saved_query *q)
{
	bool has;
	memset(q, 0, sizeof *q);
	if (col_text(st, 0, false, &q->id) < 0 || col_text(st, 1, false, &q->name) < 0 ||
	    col_text(st, 2, false, &q->sql) < 0 || col_text(st, 3, true, &q->description) < 0 ||
	    col_text(st, 4, true, &q->conn_id) < 0 || col_text(st, 5, true, &q->folder) < 0 ||
	    col_int(st, 6, false, &q->created_ms, &has) < 0 ||
	    col_int(st, 7, false, &q->updated_ms, &has) < 0 || !uuid_valid(q->id, strlen(q->id)) ||
	    *q->name == '\0') {
		store_saved_clear(q);
		return -1;
	}
	return 0;
}

/* Bind one saved query (the order of ST_SAVED_INSERT and ST_SAVED_UPDATE). */
void
saved_bind(sqlite3_stmt *st, const struct store_saved_query *q, const char *name_key)
{
	bind_text(st, 1, q->id);
	bind_text(st, 2, q->name);
	bind_text(st, 3, q->sql);
	bind_text(st, 4, q->description);
	bind_text(st, 5, q->conn_id);
	bind_text(st, 6, q->folder);
	sqlite3_bind_int64(st, 7, q->created_ms);
	sqlite3_bind_int64(st, 8, q->updated_ms);
	bind_text(st, 9, name_key);
}

/* Every saved query, by folder and name. */
int
store_saved_list(struct store *s, struct store_saved_query **ret, size_t *ret_n,
    struct tusk_error *e)
{
	struct store_saved_query *v = NULL;
	size_t n = 0;
	int rc;
	sqlite3_stmt *st = st_get(s, ST_SAVED_LIST, e);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof *v);
		if (saved_from_row(st, &v[n]) < 0) {
			log_warn("database %s: skipped a saved query that does not read back", s->path);
			continue;
		}
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_saved_free(v, n);
		return db_fail(s, s->db, e, "cannot read the saved queries from");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* One saved query by a key statement (id or name_key). */
static int
saved_lookup(struct store *s, enum st_id id, const char *key, struct store_saved_query *ret,
    struct tusk_error *e)
{
	sqlite3_stmt *st = st_get(s, id, e);
	if (st == NULL)
		return -1;
	bind_text(st, 1, key);
	int rc = sqlite3_step(st), r = 0;
	if (rc == SQLITE_ROW) {
		if (saved_from_row(st, ret) < 0) {
			terr_set(e, TE_STORAGE, "the saved query in %s does not read back", s->path);
			terr_hint(e, "check_database_health (`tuskctl health`) checks the database");
			r = -1;
		} else {
			r = 1;
		}
	} else if (rc != SQLITE_DONE) {
		r = db_fail(s, s->db, e, "cannot read a saved query from");
	}
	sqlite3_reset(st);
	return r;
}

/* One saved query by id. */
int
store_saved_get(struct store *s, const char *id, struct store_saved_query *ret,
    struct tusk_error *e)
{
	return saved_lookup(s, ST_SAVED_GET, id, ret, e);
}

/* One saved query by name, compared case-folded. */
int
store_saved_find_name(struct store *s, const char *name, struct store_saved_query *ret,
    struct tusk_error *e)
{
	char *key = config_name_fold(name);
	int r = saved_lookup(s, ST_SAVED_BY_KEY, key, ret, e);
	free(key);
	return r;
}

/* A text field's bounds: NULL allowed when optional, never empty. */
static int
saved_text_check(const char *field, const char *v, bool optional, size_t max,
    struct tusk_error *e)
{
	if (v == NULL)
		return optional ? 0 : terr_set(e, TE_VALIDATION, "%s: required", field);
	size_t n = strlen(v);
	if (n == 0) {
		terr_set(e, TE_VALIDATION, "%s: must not be empty", field);
		if (optional)
			terr_hint(e, "leave %s out instead", field);
		return -1;
	}
	if (n > max)
		return terr_set(e, TE_VALIDATION, "%s: %zu bytes is longer than %zu", field, n, max);
	return 0;
}

/* Insert or update a saved query in one transaction. */
int
store_saved_save(struct store *s, struct store_saved_query *q, bool *created, struct tusk_error *e)
{
	struct store_saved_query old, other;
	char idbuf[UUID_STR_LEN];
	int found = 0;

	if (q->id && !uuid_valid(q->id, strlen(q->id))) {
		terr_set(e, TE_VALIDATION, "saved_query_id: '%.64s' is not a UUID", q->id);
		terr_hint(e, "leave it out to save a new query; list_saved_queries shows the ids");
		return -1;
	}
	if (saved_text_check("name", q->name, false, STORE_SAVED_TEXT_MAX, e) < 0 ||
	    saved_text_check("folder", q->folder, true, STORE_SAVED_TEXT_MAX, e) < 0 ||
	    saved_text_check("description", q->description, true, STORE_SAVED_DESC_MAX, e) < 0)
		return -1;
	if (q->sql == NULL)
		return terr_set(e, TE_VALIDATION, "sql: required");
	if (strlen(q->sql) > STORE_SAVED_SQL_MAX) {
		terr_set(e, TE_VALIDATION, "sql: %zu bytes is more than the %u a saved query may hold",
		    strlen(q->sql), STORE_SAVED_SQL_MAX);
		terr_hint(e, "keep large scripts in a .sql file");
		return -1;
	}
	if (q->conn_id && !uuid_valid(q->conn_id, strlen(q->conn_id))) {
		terr_set(e, TE_VALIDATION, "id: '%.64s' is not a saved connection's id", q->conn_id);
		terr_hint(e, "list_connections shows the ids; leave id out for a query of no connection");
		return -1;
	}
	char *key = config_name_fold(q->name);
	if (st_run(s, ST_BEGIN, e) < 0)
		goto fail;
	if (q->conn_id) {
		struct tusk_config c;
		int r = store_connection_get(s, q->conn_id, &c, e);
		if (r < 0)
			goto fail;
		if (r == 0) {
			terr_set(e, TE_VALIDATION, "id: no saved connection '%s'", q->conn_id);
			terr_hint(e, "list_connections shows the ids; leave id out for a query of no connection");
			goto fail;
		}
		config_free(&c);
	}
	if (q->id) {
		found = saved_lookup(s, ST_SAVED_GET, q->id, &old, e);
		if (found < 0)
			goto fail;
	} else {
		uuid_v4(idbuf);
		q->id = xstrdup(idbuf);
	}
	int dup = saved_lookup(s, ST_SAVED_BY_KEY, key, &other, e);
	if (dup < 0)
		goto fail_old;
	if (dup) {
		bool same = strcmp(other.id, q->id) == 0;
		if (!same) {
			terr_set(e, TE_VALIDATION, "name: '%s' is already the name of another saved query",
			    other.name);
			terr_hint(e, "names are compared without regard to case; choose another, or give that query's saved_query_id to replace it");
		}
		store_saved_clear(&other);
		if (!same)
			goto fail_old;
	}
	int64_t now = wall_ms();
	q->created_ms = found ? old.created_ms : now;
	q->updated_ms = found ? MAX(now, old.updated_ms + 1) : now;
	if (found)
		store_saved_clear(&old);
	sqlite3_stmt *st = st_get(s, found ? ST_SAVED_UPDATE : ST_SAVED_INSERT, e);
	if (st == NULL)
		goto fail;
	saved_bind(st, q, key);
	if (st_write(s, st, e) < 0 || st_run(s, ST_COMMIT, e) < 0)
		goto fail;
	*created = !found;
	free(key);
	return 0;
fail_old:
	if (found)
		store_saved_clear(&old);
fail:
	st_rollback(s);
	free(key);
	return -1;
}

/* Delete a saved query by id. */
int
store_saved_delete(struct store *s, const char *id, struct tusk_error *e)
{
	sqlite3_stmt *st = st_get(s, ST_SAVED_DELETE, e);
	if (st == NULL)
		return -1;
	bind_text(st, 1, id);
	if (st_write(s, st, e) < 0)
		return -1;
	return sqlite3_changes(s->db) > 0 ? 1 : 0;
}

/* --- the workspace ---------------------------------------------------------- */

/* The workspace's encoded map: 1 with *ret, 0 none, -1 error. */
int
store_workspace_get(struct store *s, void **ret, size_t *len, int64_t *saved_ms,
    struct tusk_error *e)
{
	sqlite3_stmt *st = st_get(s, ST_WS_GET, e);
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st), r = 0;
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		const void *b = sqlite3_column_blob(st, 0);
		bool has;
		if (sqlite3_column_type(st, 0) != SQLITE_BLOB || !msgpack_complete_max(b, n, STORE_WORKSPACE_MAX) ||
		    col_int(st, 1, false, saved_ms, &has) < 0) {
			terr_set(e, TE_STORAGE, "the workspace in %s does not read back", s->path);
			terr_hint(e, "it is replaced at the next save; check_database_health (`tuskctl health`) checks the database");
			r = -1;
		} else {
			*ret = xmalloc(n);
			memcpy(*ret, b, n);
			*len = n;
			r = 1;
		}
	} else if (rc != SQLITE_DONE) {
		r = db_fail(s, s->db, e, "cannot read the workspace from");
	}
	sqlite3_reset(st);
	return r;
}

/* Keep the workspace (one encoded msgpack value, checked by the caller to be a map). */
int
store_workspace_save(struct store *s, const void *value, size_t len, int64_t *saved_ms,
    struct tusk_error *e)
{
	if (len > STORE_WORKSPACE_MAX) {
		terr_set(e, TE_VALIDATION, "workspace: %zu bytes encoded is more than the %u allowed", len,
		    STORE_WORKSPACE_MAX);
		terr_hint(e, "keep large scripts in .sql files; the workspace keeps their path");
		return -1;
	}
	if (!msgpack_complete_max(value, len, STORE_WORKSPACE_MAX))
		return terr_set(e, TE_VALIDATION, "workspace: not one complete msgpack value");
	sqlite3_stmt *st = st_get(s, ST_WS_SET, e);
	if (st == NULL)
		return -1;
	int64_t now = wall_ms();
	sqlite3_bind_blob(st, 1, value, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now);
	if (st_write(s, st, e) < 0)
		return -1;
	*saved_ms = now;
	return 0;
}

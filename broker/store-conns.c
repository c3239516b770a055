/*
 * store-conns.c — saved connections in the store: rows to configs and back,
 * list, get, find by name, save (insert or update, the name unique after
 * case folding), delete.
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

/* --- rows <-> configs -------------------------------------------------------- */

/* A text column as a new string; NULL for SQL NULL. -1 when it holds
 * something else than text without NUL bytes (a damaged row). */
int
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
int
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
int
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
void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* Bind every column of c (the order of ST_CONN_INSERT and ST_CONN_UPDATE). */
void
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
	}
	/* 16, ssh_local_port: no longer a setting; NULL (an old file's value is
	 * read and ignored) */
	sqlite3_bind_null(st, 16);
	sqlite3_bind_int(st, 17, c->read_only ? 1 : 0);
	if (c->statement_timeout_ms >= 0)
		sqlite3_bind_int64(st, 18, c->statement_timeout_ms);
	sqlite3_bind_int64(st, 19, created_ms);
	sqlite3_bind_int64(st, 20, updated_ms);
	bind_text(st, 21, name_key);
}

/* Step a statement that changes rows; a constraint failure is a Validation
 * error about the row, anything else a store failure. */
int
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

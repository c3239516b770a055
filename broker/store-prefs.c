/*
 * store-prefs.c — preferences in the store: any msgpack value under a key,
 * kept exactly as it was set.
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

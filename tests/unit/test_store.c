/*
 * test_store.c — the broker's store (broker/store.o) on real SQLite files in
 * a temporary directory: migrations from an old schema to a new one, a
 * newer schema refused untouched, a failing migration rolled back, the real
 * schema's rules (case-folded unique names, created_at kept, updated_at
 * bumped), preference bounds, and repair of a damaged index at start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "error.h"
#include "log.h"
#include "store.h"
#include "util.h"

static char dir[64];
static char path[128];

/* A fresh directory per test. */
static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_store.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/tusk.db", dir);
	return 0;
}

/* Remove the directory and what the test left in it. */
static int
teardown(void **state)
{
	(void)state;
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int r = system(cmd);
	free(cmd);
	return r == 0 ? 0 : -1;
}

/* One integer from a query on the file, through a separate connection. */
static int64_t
query_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

/* Run SQL on the file through a separate connection. */
static void
exec_sql(const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The whole file. */
static char *
slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static const struct store_migration v1[] = {
	{ 1, "a table", "CREATE TABLE t (a INTEGER NOT NULL);" },
};
static const struct store_migration v2[] = {
	{ 1, "a table", "CREATE TABLE t (a INTEGER NOT NULL);" },
	{ 2, "a column and a table", "ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'new';"
				     "CREATE TABLE u (x TEXT);" },
};
static const struct store_migration v2_broken[] = {
	{ 1, "a table", "CREATE TABLE t (a INTEGER NOT NULL);" },
	{ 2, "half done", "CREATE TABLE half (x INTEGER); THIS IS NOT SQL;" },
};

/* An old file is brought forward, its rows kept, each step recorded. */
static void
test_migrate_old_to_new(void **state)
{
	struct store *s;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	assert_int_equal(store_open_with(&s, path, v1, 1, &e), 0);
	assert_int_equal(store_version(s), 1);
	store_close(s);
	exec_sql("INSERT INTO t (a) VALUES (41), (42)");

	assert_int_equal(store_open_with(&s, path, v2, 2, &e), 0);
	assert_int_equal(store_version(s), 2);
	store_close(s);
	assert_int_equal(query_int("SELECT count(*) FROM t WHERE b = 'new'"), 2);
	assert_int_equal(query_int("SELECT sum(a) FROM t"), 83);
	assert_int_equal(query_int("SELECT count(*) FROM u"), 0);
	assert_int_equal(query_int("SELECT count(*) FROM schema_migrations"), 2);
	assert_int_equal(query_int("SELECT count(*) FROM schema_migrations WHERE version = 2 AND description = 'a column and a table'"), 1);
	/* opening again changes nothing */
	assert_int_equal(store_open_with(&s, path, v2, 2, &e), 0);
	store_close(s);
	assert_int_equal(query_int("SELECT count(*) FROM schema_migrations"), 2);
}

/* A file from a newer Tusk: an Initialization error, the file untouched. */
static void
test_newer_schema_refused(void **state)
{
	struct store *s = NULL;
	struct tusk_error e = TUSK_ERROR_INIT;
	size_t n1, n2;
	(void)state;
	assert_int_equal(store_open_with(&s, path, v2, 2, &e), 0);
	store_close(s);
	char *before = slurp(path, &n1);
	assert_int_equal(store_open_with(&s, path, v1, 1, &e), -1);
	assert_int_equal(e.kind, TE_INITIALIZATION);
	assert_non_null(strstr(e.message, "newer Tusk"));
	assert_non_null(strstr(e.message, path));
	assert_non_null(strstr(e.message, "schema version 2"));
	assert_non_null(e.hint);
	char *after = slurp(path, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	free(before);
	free(after);
	terr_clear(&e);
	/* and the real schema refuses a version it does not know */
	exec_sql("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)");
	assert_int_equal(store_open(&s, path, &e), -1);
	assert_non_null(strstr(e.message, "schema version 99"));
	terr_clear(&e);
}

/* A migration that fails leaves the file at the version before it. */
static void
test_failed_migration_rolls_back(void **state)
{
	struct store *s = NULL;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	assert_int_equal(store_open_with(&s, path, v1, 1, &e), 0);
	store_close(s);
	assert_int_equal(store_open_with(&s, path, v2_broken, 2, &e), -1);
	assert_int_equal(e.kind, TE_INITIALIZATION);
	assert_non_null(strstr(e.message, "migration 2"));
	terr_clear(&e);
	assert_int_equal(query_int("SELECT max(version) FROM schema_migrations"), 1);
	assert_int_equal(query_int("SELECT count(*) FROM sqlite_master WHERE name = 'half'"), 0);
}

/* The real schema from nothing: every table, WAL, version recorded. */
static void
test_real_schema(void **state)
{
	struct store *s;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	assert_int_equal(store_open(&s, path, &e), 0);
	assert_int_equal(store_version(s), (int)store_migrations[store_migrations_count - 1].version);
	assert_null(store_notice_get(s));
	store_close(s);
	assert_int_equal(query_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('connections', 'preferences', 'storage_notices', 'schema_migrations')"), 4);
	/* WAL is a property of the file */
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A config with the required fields. */
static void
config_make(struct tusk_config *c, const char *name)
{
	config_init(c);
	c->name = xstrdup(name);
	c->host = xstrdup("db.example.com");
	c->database = xstrdup("app");
	c->username = xstrdup("me");
	c->ssl_mode = xstrdup("prefer");
}

/* Names are unique without regard to case; updates keep created_at. */
static void
test_connections(void **state)
{
	struct store *s;
	struct tusk_error e = TUSK_ERROR_INIT;
	struct tusk_config a, b, got;
	bool created;
	(void)state;
	assert_int_equal(store_open(&s, path, &e), 0);

	config_make(&a, "Ärger Prod");
	a.ssh = xcalloc(1, sizeof *a.ssh);
	a.ssh->host = xstrdup("bastion");
	a.ssh->port = 2222;
	a.ssh->username = xstrdup("jump");
	a.ssh->auth_type = xstrdup("agent");
	a.statement_timeout_ms = 0;
	assert_int_equal(store_connection_save(s, &a, &created, &e), 0);
	assert_true(created);
	assert_non_null(a.id);

	config_make(&b, "äRGER prod");
	assert_int_equal(store_connection_save(s, &b, &created, &e), -1);
	assert_int_equal(e.kind, TE_VALIDATION);
	assert_non_null(strstr(e.message, "name:"));
	assert_non_null(strstr(e.message, "Ärger Prod"));
	terr_clear(&e);
	assert_int_equal(query_int("SELECT count(*) FROM connections"), 1);
	config_free(&b);

	assert_int_equal(store_connection_find_name(s, "ÄRGER PROD", &got, &e), 1);
	assert_string_equal(got.id, a.id);
	assert_int_equal(got.ssh->port, 2222);
	assert_string_equal(got.ssh->auth_type, "agent");
	assert_int_equal(got.statement_timeout_ms, 0);
	config_free(&got);

	char *created_at = xstrdup(a.created_at), *updated_at = xstrdup(a.updated_at);
	free(a.host);
	a.host = xstrdup("db2.example.com");
	assert_int_equal(store_connection_save(s, &a, &created, &e), 0);
	assert_false(created);
	assert_string_equal(a.created_at, created_at);
	assert_true(strcmp(a.updated_at, updated_at) > 0);
	assert_int_equal(store_connection_get(s, a.id, &got, &e), 1);
	assert_string_equal(got.host, "db2.example.com");
	assert_string_equal(got.created_at, created_at);
	config_free(&got);

	assert_int_equal(store_connection_delete(s, a.id, &e), 1);
	assert_int_equal(store_connection_delete(s, a.id, &e), 0);
	assert_int_equal(store_connection_get(s, a.id, &got, &e), 0);
	free(created_at);
	free(updated_at);
	config_free(&a);
	store_close(s);
}

/* A file of schema version 1 (the first release) moves to version 2 and
 * keeps its connections; a saved query names one, and forgets it when the
 * connection is deleted. */
static void
test_v1_file_gains_history(void **state)
{
	struct store *s;
	struct tusk_error e = TUSK_ERROR_INIT;
	struct tusk_config a;
	bool created;
	(void)state;
	assert_int_equal(store_open_with(&s, path, store_migrations, 1, &e), 0);
	config_make(&a, "old one");
	assert_int_equal(store_connection_save(s, &a, &created, &e), 0);
	store_close(s);
	assert_int_equal(store_open(&s, path, &e), 0);
	assert_int_equal(store_version(s), 2);
	assert_int_equal(query_int("SELECT count(*) FROM connections"), 1);
	struct store_saved_query q = { .name = xstrdup("Q"), .sql = xstrdup("select 1"), .conn_id = xstrdup(a.id) };
	assert_int_equal(store_saved_save(s, &q, &created, &e), 0);
	assert_true(created);
	struct store_saved_query dup = { .name = xstrdup("q"), .sql = xstrdup("select 2") };
	assert_int_equal(store_saved_save(s, &dup, &created, &e), -1);
	assert_int_equal(e.kind, TE_VALIDATION);
	terr_clear(&e);
	store_saved_clear(&dup);
	assert_int_equal(store_connection_delete(s, a.id, &e), 1);
	struct store_saved_query got;
	assert_int_equal(store_saved_find_name(s, "q", &got, &e), 1);
	assert_null(got.conn_id);
	store_saved_clear(&got);
	store_saved_clear(&q);
	config_free(&a);
	store_close(s);
}

/* History: batches in, FTS search by word prefixes, filters, pages, prune,
 * delete; the index follows the rows. */
static void
test_history(void **state)
{
	struct store *s, *peer;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	assert_int_equal(store_open(&s, path, &e), 0);
	assert_int_equal(store_open_peer(s, &peer, &e), 0);
	struct store_history_entry v[30];
	for (int i = 0; i < 30; i++) {
		v[i] = (struct store_history_entry){
			.sql = xasprintf("select %d as %s", i, i % 3 ? "plain_word" : "Überprüfung"),
			.connection_name = xstrdup("c"), .connection_id = xstrdup(i % 2 ? "one" : "two"),
			.started_ms = 1000 + i, .elapsed_ms = 0.5, .row_count = 1,
			.status = i == 29 ? "error" : "ok", .error_code = i == 29 ? xstrdup("42P01") : NULL,
			.client = "tuskctl",
		};
	}
	assert_int_equal(store_history_add(peer, v, 20, &e), 0);
	assert_int_equal(store_history_add(peer, v + 20, 10, &e), 0);
	for (int i = 0; i < 30; i++)
		store_history_clear(&v[i]);
	struct store_history_entry *got;
	size_t n;
	struct store_history_filter f = { .search = "uberpruf", .limit = 100 };
	assert_int_equal(store_history_list(s, &f, &got, &n, &e), 0);
	assert_int_equal(n, 10);
	assert_true(got[0].history_id > got[9].history_id);
	store_history_free(got, n);
	f = (struct store_history_filter){ .search = "plain", .connection_id = "one", .limit = 100 };
	assert_int_equal(store_history_list(s, &f, &got, &n, &e), 0);
	assert_int_equal(n, 10);
	store_history_free(got, n);
	f = (struct store_history_filter){ .status = "error", .limit = 5 };
	assert_int_equal(store_history_list(s, &f, &got, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0].error_code, "42P01");
	int64_t last = got[0].history_id;
	store_history_free(got, n);
	f = (struct store_history_filter){ .before = last, .limit = 100 };
	assert_int_equal(store_history_list(s, &f, &got, &n, &e), 0);
	assert_int_equal(n, 29);
	store_history_free(got, n);
	f = (struct store_history_filter){ .search = "!!", .limit = 5 };
	assert_int_equal(store_history_list(s, &f, &got, &n, &e), -1);
	assert_int_equal(e.kind, TE_VALIDATION);
	terr_clear(&e);
	int64_t gone, count;
	assert_int_equal(store_history_prune(peer, 12, &gone, &e), 0);
	assert_int_equal(gone, 18);
	assert_int_equal(store_history_count(s, &count, &e), 0);
	assert_int_equal(count, 12);
	int64_t ids[2] = { last, 999999 };
	assert_int_equal(store_history_delete(s, ids, 2, false, &gone, &e), 0);
	assert_int_equal(gone, 1);
	/* the index holds exactly the rows left */
	assert_int_equal(query_int("SELECT count(*) FROM history_fts WHERE history_fts MATCH 'select'"), 11);
	assert_int_equal(query_int("INSERT INTO history_fts (history_fts, rank) VALUES ('integrity-check', 1) RETURNING 0"), 0);
	assert_int_equal(store_history_delete(s, NULL, 0, true, &gone, &e), 0);
	assert_int_equal(gone, 11);
	assert_int_equal(query_int("SELECT count(*) FROM history_fts WHERE history_fts MATCH 'select'"), 0);
	store_close(peer);
	store_close(s);
}

/* The workspace: exact bytes back; a non-msgpack value refused. */
static void
test_workspace(void **state)
{
	struct store *s;
	struct tusk_error e = TUSK_ERROR_INIT;
	void *v;
	size_t len;
	int64_t ms;
	(void)state;
	assert_int_equal(store_open(&s, path, &e), 0);
	assert_int_equal(store_workspace_get(s, &v, &len, &ms, &e), 0);
	static const unsigned char map[] = { 0x81, 0xa1, 'a', 0x01 };
	assert_int_equal(store_workspace_save(s, map, sizeof map, &ms, &e), 0);
	assert_int_equal(store_workspace_save(s, map, 2, &ms, &e), -1);
	assert_int_equal(e.kind, TE_VALIDATION);
	terr_clear(&e);
	assert_int_equal(store_workspace_get(s, &v, &len, &ms, &e), 1);
	assert_int_equal(len, sizeof map);
	assert_memory_equal(v, map, sizeof map);
	free(v);
	store_close(s);
}

/* Preferences: bounded keys and values, exact bytes back. */
static void
test_preferences(void **state)
{
	struct store *s;
	struct tusk_error e = TUSK_ERROR_INIT;
	struct store_pref p;
	(void)state;
	assert_int_equal(store_open(&s, path, &e), 0);
	const char value[] = "\x92\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xc0"; /* [2^64-1, nil] */
	assert_int_equal(store_preference_set(s, "k", value, sizeof value - 1, &e), 0);
	assert_int_equal(store_preference_get(s, "k", &p, &e), 1);
	assert_int_equal(p.len, sizeof value - 1);
	assert_memory_equal(p.value, value, p.len);
	free(p.key);
	free(p.value);
	assert_int_equal(store_preference_get(s, "absent", &p, &e), 0);

	assert_int_equal(store_preference_set(s, "", value, 1, &e), -1);
	assert_non_null(strstr(e.message, "key: must not be empty"));
	terr_clear(&e);
	char longkey[300];
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	assert_int_equal(store_preference_set(s, longkey, value, 1, &e), -1);
	assert_non_null(strstr(e.message, "longer than 256"));
	terr_clear(&e);
	assert_int_equal(store_preference_set(s, "k2", "\x92\x01", 2, &e), -1); /* half an array */
	assert_int_equal(e.kind, TE_VALIDATION);
	terr_clear(&e);
	size_t big = STORE_PREF_VALUE_MAX + 16;
	char *blob = xcalloc(1, big);
	blob[0] = (char)0xc6; /* bin 32 */
	uint32_t n = (uint32_t)(big - 5);
	blob[1] = (char)(n >> 24);
	blob[2] = (char)(n >> 16);
	blob[3] = (char)(n >> 8);
	blob[4] = (char)n;
	assert_int_equal(store_preference_set(s, "big", blob, big, &e), -1);
	assert_non_null(strstr(e.message, "value:"));
	terr_clear(&e);
	free(blob);
	store_close(s);
}

/* Damage confined to an index is repaired in place at start: nothing lost,
 * the damaged file kept byte for byte. */
static void
test_damaged_index_repaired(void **state)
{
	struct store *s;
	struct tusk_error e = TUSK_ERROR_INIT;
	bool created;
	(void)state;
	assert_int_equal(store_open(&s, path, &e), 0);
	for (int i = 0; i < 40; i++) {
		struct tusk_config c;
		char name[64];
		snprintf(name, sizeof name, "connection %02d", i);
		config_make(&c, name);
		assert_int_equal(store_connection_save(s, &c, &created, &e), 0);
		config_free(&c);
	}
	store_close(s);
	/* zero the cell pointers of the name index's first page: structure broken,
	 * the table intact */
	int64_t page = query_int("SELECT rootpage FROM sqlite_master WHERE name = 'connections_name_key'");
	int64_t psize = query_int("PRAGMA page_size");
	assert_true(page > 1);
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, (long)((page - 1) * psize + 8), SEEK_SET);
	char zeros[16] = { 0 };
	fwrite(zeros, 1, sizeof zeros, f);
	fclose(f);
	size_t n1, n2;
	char *damaged = slurp(path, &n1);

	assert_int_equal(store_open(&s, path, &e), 0);
	const struct store_notice *n = store_notice_get(s);
	assert_non_null(n);
	assert_string_equal(n->action, "repaired");
	assert_int_equal(n->salvaged_rows, 40);
	assert_int_equal(n->lost_rows, 0);
	assert_true(n->nerrors > 0);
	assert_non_null(strstr(n->backup_path, ".corrupt"));
	char *backup = slurp(n->backup_path, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(damaged, backup, n1);
	struct tusk_config *v;
	size_t cnt;
	assert_int_equal(store_connections_list(s, &v, &cnt, &e), 0);
	assert_int_equal(cnt, 40);
	store_configs_free(v, cnt);
	struct store_health h;
	assert_int_equal(store_check(s, &h, &e), 0);
	assert_true(h.healthy);
	store_health_free(&h);
	assert_int_equal(store_notice_dismiss(s, &e), 1);
	assert_null(store_notice_get(s));
	store_close(s);
	free(damaged);
	free(backup);
}

int
main(void)
{
	log_set_level(TLOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrate_old_to_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_migration_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_preferences, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_index_repaired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_file_gains_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workspace, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

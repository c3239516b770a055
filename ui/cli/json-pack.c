/*
 * json-pack.c — JSON text to msgpack for tuskctl (json-pack.h).
 *
 * The value is packed into a buffer of its own first, so a value that
 * cannot be packed whole (too deep for the broker, or unreadable) is
 * refused before anything is sent: a request is never half packed.
 */
#include "json-pack.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "proto.h"

_Static_assert(JSON_PACK_MAX_DEPTH == CLIENT_MAX_DEPTH - 3, "the envelope, params and map take three levels");

/* Pack the JSON value in json (valid) at nesting depth (containers around it). */
static int
pack_value(sqlite3 *db, msgpack_packer *pk, const char *json, int depth)
{
	sqlite3_stmt *st = NULL;
	int rc = JSON_PACK_FAILED;
	if (sqlite3_prepare_v2(db, "SELECT json_type(?1), json_extract(?1, '$'),"
				   " (SELECT count(*) FROM json_each(?1))",
		-1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	const char *type = (const char *)sqlite3_column_text(st, 0);
	int64_t n = sqlite3_column_int64(st, 2);
	if (type == NULL)
		goto out;
	if (strcmp(type, "null") == 0) {
		msgpack_pack_nil(pk);
	} else if (strcmp(type, "true") == 0) {
		msgpack_pack_true(pk);
	} else if (strcmp(type, "false") == 0) {
		msgpack_pack_false(pk);
	} else if (strcmp(type, "integer") == 0) {
		msgpack_pack_int64(pk, sqlite3_column_int64(st, 1));
	} else if (strcmp(type, "real") == 0) {
		msgpack_pack_double(pk, sqlite3_column_double(st, 1));
	} else if (strcmp(type, "text") == 0) {
		const char *t = (const char *)sqlite3_column_text(st, 1);
		int len = sqlite3_column_bytes(st, 1);
		msgpack_pack_str_with_body(pk, t ? t : "", (size_t)len);
	} else {
		if (depth >= JSON_PACK_MAX_DEPTH) {
			rc = JSON_PACK_TOO_DEEP;
			goto out;
		}
		bool obj = strcmp(type, "object") == 0;
		sqlite3_stmt *each = NULL;
		if (obj)
			msgpack_pack_map(pk, (size_t)n);
		else
			msgpack_pack_array(pk, (size_t)n);
		if (sqlite3_prepare_v2(db, "SELECT key, CASE type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'"
			       " ELSE json_quote(value) END FROM json_each(?1) ORDER BY id",
			-1, &each, NULL) != SQLITE_OK)
			goto out;
		sqlite3_bind_text(each, 1, json, -1, SQLITE_STATIC);
		int64_t got = 0;
		while (sqlite3_step(each) == SQLITE_ROW) {
			if (obj) {
				const char *k = (const char *)sqlite3_column_text(each, 0);
				msgpack_pack_str_with_body(pk, k ? k : "",
				    (size_t)sqlite3_column_bytes(each, 0));
			}
			const char *v = (const char *)sqlite3_column_text(each, 1);
			int r = v ? pack_value(db, pk, v, depth + 1) : JSON_PACK_FAILED;
			if (r != JSON_PACK_OK) {
				sqlite3_finalize(each);
				rc = r;
				goto out;
			}
			got++;
		}
		sqlite3_finalize(each);
		if (got != n)
			goto out;
	}
	rc = JSON_PACK_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

/* JSON text to msgpack, whole or not at all (json-pack.h). */
int
json_pack(msgpack_sbuffer *sb, const char *json)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t valid = 0;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
		sqlite3_close(db);
		return JSON_PACK_FAILED;
	}
	if (sqlite3_prepare_v2(db, "SELECT json_valid(?1)", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			valid = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (!valid) {
		sqlite3_close(db);
		return JSON_PACK_NOT_JSON;
	}
	/* into a buffer of its own: appended to sb only when whole */
	msgpack_sbuffer tmp;
	msgpack_packer pk;
	msgpack_sbuffer_init(&tmp);
	msgpack_packer_init(&pk, &tmp, msgpack_sbuffer_write);
	int r = pack_value(db, &pk, json, 0);
	if (r == JSON_PACK_OK)
		msgpack_sbuffer_write(sb, tmp.data, tmp.size);
	msgpack_sbuffer_destroy(&tmp);
	sqlite3_close(db);
	return r;
}

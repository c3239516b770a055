/*
 * m-history.c — get_history and delete_history: the statements users ran,
 * from any client, as history.c recorded them (masked), searched with FTS5,
 * newest first, paged by history_id.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "proto.h"
#include "store.h"
#include "util.h"

#define HISTORY_LIMIT_DEFAULT 100

/* One entry as the wire map (id and error_code only when there is one). */
static void
history_pack(msgpack_packer *pk, const struct store_history_entry *h)
{
	char ts[40];
	iso8601_utc(h->started_ms, ts, sizeof ts);
	struct mp_field f[13];
	size_t n = 0;
	f[n++] = (struct mp_field)MPF_INT("history_id", h->history_id);
	f[n++] = (struct mp_field)MPF_STR("sql", h->sql);
	f[n++] = (struct mp_field)MPF_STR("connection_name", h->connection_name);
	if (h->saved_id)
		f[n++] = (struct mp_field)MPF_STR("id", h->saved_id);
	f[n++] = (struct mp_field)MPF_STR("connection_id", h->connection_id);
	f[n++] = (struct mp_field)MPF_STR("database", h->database);
	f[n++] = (struct mp_field)MPF_STR("started_at", ts);
	f[n++] = (struct mp_field)MPF_DOUBLE("elapsed_ms", h->elapsed_ms);
	f[n++] = (struct mp_field)MPF_INT("row_count", h->row_count);
	f[n++] = (struct mp_field)MPF_STR("status", h->status);
	if (h->error_code)
		f[n++] = (struct mp_field)MPF_STR("error_code", h->error_code);
	f[n++] = (struct mp_field)MPF_STR("client", h->client);
	mp_pack_fields(pk, f, n);
}

static const struct tusk_param p_get_history[] = {
	{ "search", TT_STR, P_OPT, "words of the SQL (each matches as a prefix; all must match)", NULL },
	{ "id", TT_STR, P_OPT, "only statements run on this saved connection", NULL },
	{ "connection_id", TT_STR, P_OPT, "only statements run on this session (open connection)", NULL },
	{ "status", TT_STR, P_OPT, "ok, error or cancelled", "\"ok\" | \"error\" | \"cancelled\"" },
	{ "limit", TT_INT, P_OPT, "at most this many (default 100, at most 10000)", NULL },
	{ "before", TT_INT, P_OPT, "only entries older than this history_id (the next page)", NULL },
	PARAMS_END,
};

/* get_history {search?, id?, connection_id?, status?, limit?, before?} */
static int
h_get_history(struct request *req, const struct params *p, struct tusk_error *e)
{
	int64_t limit = params_int(p, "limit", HISTORY_LIMIT_DEFAULT);
	int64_t before = params_int(p, "before", 0);
	if (limit < 1 || limit > STORE_HISTORY_LIMIT_MAX) {
		terr_set(e, TE_VALIDATION, "limit: from 1 to %d", STORE_HISTORY_LIMIT_MAX);
		terr_hint(e, "page with before: the smallest history_id of the last page");
		return -1;
	}
	if (params_has(p, "before") && before < 1)
		return terr_set(e, TE_VALIDATION, "before: a history_id (1 or more)");
	char *search = params_strdup(p, "search"), *id = params_strdup(p, "id");
	char *cid = params_strdup(p, "connection_id"), *status = params_strdup(p, "status");
	int r = -1;
	if (status && strcmp(status, "ok") != 0 && strcmp(status, "error") != 0 &&
	    strcmp(status, "cancelled") != 0) {
		terr_set(e, TE_VALIDATION, "status: '%.32s' is not ok, error or cancelled", status);
		goto out;
	}
	struct store_history_filter f = {
		.search = search, .saved_id = id, .connection_id = cid, .status = status,
		.before = before, .limit = limit,
	};
	struct store_history_entry *v = NULL;
	size_t n = 0;
	struct store *db = history_lock(e);
	if (db == NULL)
		goto out;
	r = store_history_list(db, &f, &v, &n, e);
	history_unlock(0);
	if (r < 0)
		goto out;
	msgpack_packer *pk = req_result(req);
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		history_pack(pk, &v[i]);
	store_history_free(v, n);
	r = H_DONE;
out:
	free(search);
	free(id);
	free(cid);
	free(status);
	return r;
}

const struct tusk_method m_get_history = {
	.name = M_GET_HISTORY,
	.params = p_get_history,
	.result = "[@history_entry]",
	.flags = MF_READ_ONLY,
	.doc = "The statements run through Tusk (any client), newest first; passwords in them are masked.",
	.handler = h_get_history,
};

static const struct tusk_param p_delete_history[] = {
	{ "history_ids", TT_ARRAY, P_OPT, "the entries to delete", "[int]" },
	{ "all", TT_BOOL, P_OPT, "true: delete the whole history", NULL },
	PARAMS_END,
};

/* delete_history {history_ids? | all: true} */
static int
h_delete_history(struct request *req, const struct params *p, struct tusk_error *e)
{
	bool all = params_bool(p, "all", false);
	const msgpack_object *ids = params_get(p, "history_ids");
	if (all == (ids != NULL)) {
		terr_set(e, TE_VALIDATION, "give history_ids or all: true (one of them)");
		terr_hint(e, "get_history shows the history_id of each entry");
		return -1;
	}
	size_t n = ids ? ids->via.array.size : 0;
	int64_t *v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *o = &ids->via.array.ptr[i];
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > INT64_MAX || o->via.u64 == 0) {
			free(v);
			return terr_set(e, TE_VALIDATION, "history_ids[%zu]: a history_id (1 or more)", i);
		}
		v[i] = (int64_t)o->via.u64;
	}
	int64_t deleted = 0;
	struct store *db = history_lock(e);
	int r = db ? store_history_delete(db, v, n, all, &deleted, e) : -1;
	if (db)
		history_unlock(deleted);
	free(v);
	if (r < 0)
		return -1;
	log_info("query history: %lld entries deleted", (long long)deleted);
	MP_PACK_FIELDS(req_result(req), MPF_INT("deleted", deleted));
	return H_DONE;
}

const struct tusk_method m_delete_history = {
	.name = M_DELETE_HISTORY,
	.params = p_delete_history,
	.result = "{deleted: int}",
	.flags = 0,
	.doc = "Delete history entries, or all of them.",
	.handler = h_delete_history,
};

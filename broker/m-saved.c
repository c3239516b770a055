/*
 * m-saved.c — saved queries (list_saved_queries, save_query,
 * delete_saved_query) and the window's workspace (get_workspace,
 * save_workspace), kept in the store (store-saved.c).
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "proto.h"
#include "store.h"
#include "util.h"

/* One saved query as the wire map. */
static void
saved_pack(msgpack_packer *pk, const struct store_saved_query *q)
{
	char cts[40], uts[40];
	iso8601_utc(q->created_ms, cts, sizeof cts);
	iso8601_utc(q->updated_ms, uts, sizeof uts);
	MP_PACK_FIELDS(pk,
	    MPF_STR("saved_query_id", q->id),
	    MPF_STR("name", q->name),
	    MPF_STR("sql", q->sql),
	    MPF_STR("description", q->description),
	    MPF_STR("id", q->conn_id),
	    MPF_STR("folder", q->folder),
	    MPF_STR("created_at", cts),
	    MPF_STR("updated_at", uts));
}

/* list_saved_queries */
static int
h_list_saved_queries(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct store_saved_query *v;
	size_t n;
	UNUSED(p);
	if (store_saved_list(tuskd.store, &v, &n, e) < 0)
		return -1;
	msgpack_packer *pk = req_result(req);
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		saved_pack(pk, &v[i]);
	store_saved_free(v, n);
	return H_DONE;
}

const struct tusk_method m_list_saved_queries = {
	.name = M_LIST_SAVED_QUERIES,
	.params = params_none,
	.result = "[@saved_query]",
	.flags = MF_READ_ONLY,
	.doc = "The saved queries, by folder and name.",
	.handler = h_list_saved_queries,
};

static const struct tusk_param p_save_query[] = {
	{ "saved_query_id", TT_STR, P_OPT, "the query to replace; a new one is saved without it", NULL },
	{ "name", TT_STR, 0, "unique without regard to case (1 to 200 bytes)", NULL },
	{ "sql", TT_STR, 0, "the SQL (up to 4 MiB)", NULL },
	{ "description", TT_STR, P_OPT, "what it is for", NULL },
	{ "id", TT_STR, P_OPT, "the saved connection it runs on", NULL },
	{ "folder", TT_STR, P_OPT, "a folder to list it under", NULL },
	PARAMS_END,
};

/* save_query {saved_query_id?, name, sql, description?, id?, folder?} */
static int
h_save_query(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct store_saved_query q = {
		.id = params_strdup(p, "saved_query_id"),
		.name = params_strdup(p, "name"),
		.sql = params_strdup(p, "sql"),
		.description = params_strdup(p, "description"),
		.conn_id = params_strdup(p, "id"),
		.folder = params_strdup(p, "folder"),
	};
	bool created = false;
	int r = -1;
	if (q.id) {
		struct store_saved_query old;
		int f = store_saved_get(tuskd.store, q.id, &old, e);
		if (f == 0) {
			terr_set(e, TE_VALIDATION, "saved_query_id: no saved query '%.64s'", q.id);
			terr_hint(e, "leave saved_query_id out to save a new query; list_saved_queries shows the ids");
		}
		if (f == 1)
			store_saved_clear(&old);
		if (f != 1)
			goto out;
	}
	if (store_saved_save(tuskd.store, &q, &created, e) < 0)
		goto out;
	log_info("saved query '%s' %s", q.name, created ? "added" : "updated");
	saved_pack(req_result(req), &q);
	r = H_DONE;
out:
	store_saved_clear(&q);
	return r;
}

const struct tusk_method m_save_query = {
	.name = M_SAVE_QUERY,
	.params = p_save_query,
	.result = "@saved_query",
	.flags = 0,
	.doc = "Save a named query (a new one, or replace the one with saved_query_id).",
	.handler = h_save_query,
};

static const struct tusk_param p_delete_saved_query[] = {
	{ "saved_query_id", TT_STR, 0, "the query to delete", NULL },
	PARAMS_END,
};

/* delete_saved_query {saved_query_id} */
static int
h_delete_saved_query(struct request *req, const struct params *p, struct tusk_error *e)
{
	char *id = params_strdup(p, "saved_query_id");
	int r = store_saved_delete(tuskd.store, id, e);
	if (r == 0) {
		terr_set(e, TE_VALIDATION, "saved_query_id: no saved query '%.64s'", id);
		terr_hint(e, "list_saved_queries shows the ids");
	}
	free(id);
	if (r != 1)
		return -1;
	req_nil(req);
	return H_DONE;
}

const struct tusk_method m_delete_saved_query = {
	.name = M_DELETE_SAVED_QUERY,
	.params = p_delete_saved_query,
	.result = "nil",
	.flags = 0,
	.doc = "Delete a saved query.",
	.handler = h_delete_saved_query,
};

/* --- the workspace ------------------------------------------------------------- */

/* get_workspace */
static int
h_get_workspace(struct request *req, const struct params *p, struct tusk_error *e)
{
	void *v = NULL;
	size_t len = 0;
	int64_t ms;
	UNUSED(p);
	int r = store_workspace_get(tuskd.store, &v, &len, &ms, e);
	if (r < 0)
		return -1;
	if (r == 0) {
		req_nil(req);
		return H_DONE;
	}
	/* the stored bytes are one checked msgpack map: they go out as they are */
	msgpack_packer *pk = req_result(req);
	msgpack_pack_bin_body(pk, v, len);
	free(v);
	return H_DONE;
}

const struct tusk_method m_get_workspace = {
	.name = M_GET_WORKSPACE,
	.params = params_none,
	.result = "{*: any} | nil",
	.flags = MF_READ_ONLY,
	.doc = "The workspace the window saved last (its tabs), or nil.",
	.handler = h_get_workspace,
};

static const struct tusk_param p_save_workspace[] = {
	{ "workspace", TT_MAP, 0, "any map the window keeps: tabs, their SQL, cursor, connection, file (up to 16 MiB)",
	    "{*: any}" },
	PARAMS_END,
};

/* save_workspace {workspace} */
static int
h_save_workspace(struct request *req, const struct params *p, struct tusk_error *e)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int64_t ms = 0;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *params_get(p, "workspace"));
	int r = store_workspace_save(tuskd.store, sb.data, sb.size, &ms, e);
	msgpack_sbuffer_destroy(&sb);
	if (r < 0)
		return -1;
	char ts[40];
	iso8601_utc(ms, ts, sizeof ts);
	MP_PACK_FIELDS(req_result(req), MPF_STR("saved_at", ts));
	return H_DONE;
}

const struct tusk_method m_save_workspace = {
	.name = M_SAVE_WORKSPACE,
	.params = p_save_workspace,
	.result = "{saved_at: str}",
	.flags = 0,
	.doc = "Keep the window's workspace (replaces the one kept before).",
	.handler = h_save_workspace,
};

/*
 * backend.c — ending an orphaned server backend: when a worker is killed
 * or lost while its query ran, the query may still run on the server. A
 * short-lived helper worker connects with the same settings and asks for
 * pg_terminate_backend() of the old backend, then reports whether it ended.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "broker.h"
#include "conns.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "wire.h"

/* --- ending an orphaned backend ------------------------------------------ */

struct endb {
	struct tusk_config cfg;
	struct tusk_secrets secrets;
	int backend_pid;
	int server_major;
	backend_cb cb;
	void *arg;
	struct worker *w;
	bool done;
};

/* Report once, then let the helper go. */
static void
endb_finish(struct endb *b, int result, const struct tusk_error *e)
{
	if (b->done)
		return;
	b->done = true;
	b->cb(result, e, b->arg);
	if (b->w && b->w->state != WS_DEAD)
		worker_close(b->w);
}

/* The helper's query answered. */
static void
endb_queried(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res, void *arg)
{
	struct endb *b = arg;
	struct tusk_error e = TUSK_ERROR_INIT;
	struct params prm;
	if (res != NULL && worker_reply_read(p, W_QUERY, wire_query_reply, res, &prm) < 0)
		res = NULL;
	if (res == NULL || err != NULL) {
		worker_error(&e, err, "ending the backend", b->w);
		if (e.code && strcmp(e.code, "42501") == 0)
			terr_hint(&e, "role \"%s\" may not end backend %d; GRANT pg_signal_backend TO %s, or ask an administrator to run pg_terminate_backend(%d)",
			    b->cfg.username, b->backend_pid, b->cfg.username, b->backend_pid);
		endb_finish(b, -1, &e);
		terr_clear(&e);
		return;
	}
	const msgpack_object *rows = params_get(&prm, "rows");
	const msgpack_object *v = rows->via.array.size == 1 &&
	    rows->via.array.ptr[0].type == MSGPACK_OBJECT_ARRAY && rows->via.array.ptr[0].via.array.size == 1 ?
	    &rows->via.array.ptr[0].via.array.ptr[0] : NULL;
	if (v == NULL || v->type == MSGPACK_OBJECT_NIL || (v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean)) {
		endb_finish(b, 1, NULL); /* ended now, or already gone */
	} else {
		terr_set(&e, TE_DATABASE, "backend %d did not end in time", b->backend_pid);
		terr_hint(&e, "it may be stuck in an uninterruptible wait; ask an administrator");
		endb_finish(b, 0, &e);
		terr_clear(&e);
	}
}

/* The helper is connected: ask the server to end the backend. */
static void
endb_connected(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res, void *arg)
{
	struct endb *b = arg;
	UNUSED(p);
	if (res == NULL || err != NULL) {
		struct tusk_error e = TUSK_ERROR_INIT;
		worker_error(&e, err, "connecting to end the backend", b->w);
		endb_finish(b, -1, &e);
		terr_clear(&e);
		return;
	}
	char sql[256];
	if (b->server_major >= 14)
		snprintf(sql, sizeof sql, "select case when exists (select 1 from pg_stat_activity where pid = %d) "
		    "then pg_terminate_backend(%d, 2000) end", b->backend_pid, b->backend_pid);
	else
		snprintf(sql, sizeof sql, "select case when exists (select 1 from pg_stat_activity where pid = %d) "
		    "then pg_terminate_backend(%d) end", b->backend_pid, b->backend_pid);
	worker_set_state(b->w, WS_BUSY);
	msgpack_packer *pk = rpc_call(b->w->peer, W_QUERY, endb_queried, b, NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 3);
	mp_pack_key(pk, "query_id");
	mp_pack_cstr(pk, "end-backend");
	mp_pack_key(pk, "sql");
	mp_pack_cstr(pk, sql);
	mp_pack_key(pk, "max_rows");
	msgpack_pack_int(pk, 1);
}

/* The helper died: report if it had not yet, and forget it. */
static void
endb_dead(struct worker *w, const char *reason, void *arg)
{
	struct endb *b = arg;
	UNUSED(w);
	if (!b->done) {
		struct tusk_error e = TUSK_ERROR_INIT;
		terr_set(&e, TE_WORKER_LOST, "the helper that was to end the backend ended: %s", reason);
		endb_finish(b, -1, &e);
		terr_clear(&e);
	}
	config_free(&b->cfg);
	secrets_free(&b->secrets);
	free(b);
}

static const struct worker_ops endb_ops = { .dead = endb_dead };

/* End a connection's server backend from a helper worker's own session; cb gets the outcome. */
void
conn_end_backend(const struct conn *c, int backend_pid, backend_cb cb, void *arg)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	const struct conn_priv *cp = (const struct conn_priv *)c;
	struct endb *b = xcalloc(1, sizeof *b);
	config_init(&b->cfg);
	config_copy(&b->cfg, &c->cfg);
	secrets_fill(&b->secrets, &cp->secrets);
	b->backend_pid = backend_pid;
	b->server_major = c->server_version ? atoi(c->server_version) : 0;
	b->cb = cb;
	b->arg = arg;
	b->w = worker_spawn(WR_HELPER, &endb_ops, b, &e);
	if (b->w == NULL) {
		endb_finish(b, -1, &e);
		terr_clear(&e);
		config_free(&b->cfg);
		secrets_free(&b->secrets);
		free(b);
		return;
	}
	free(b->w->conn_id);
	b->w->conn_id = xstrdup(c->id);
	b->w->conn_name = xasprintf("%s (ending backend %d)", c->cfg.name, backend_pid);
	log_info("ending backend %d of %s from a helper worker", backend_pid, c->cfg.name);
	send_connect(b->w, &b->cfg, &b->secrets, endb_connected, b);
}

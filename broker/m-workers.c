/*
 * m-workers.c — list_workers and kill_worker: every worker visible, any
 * worker stoppable, from any client (tuskctl works when the frontend is
 * frozen).
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "util.h"

/* list_workers */
static int
h_list_workers(struct request *req, const struct params *p, struct tusk_error *e)
{
	UNUSED(p);
	UNUSED(e);
	unsigned n = 0;
	struct worker *w;
	TAILQ_FOREACH(w, &tuskd.workers, entry) {
		worker_sample(w);
		n++;
	}
	msgpack_packer *pk = req_result(req);
	msgpack_pack_array(pk, n);
	TAILQ_FOREACH(w, &tuskd.workers, entry)
		worker_pack(pk, w);
	return H_DONE;
}

const struct tusk_method m_list_workers = {
	.name = M_LIST_WORKERS,
	.params = params_none,
	.result = "[@worker]",
	.flags = MF_READ_ONLY,
	.doc = "Every worker process, and the recently dead ones with why they died.",
	.handler = h_list_workers,
};

static const struct tusk_param p_kill_worker[] = {
	{ "worker_id", TT_INT, P_OPT, "a worker's id (list_workers)" , NULL },
	{ "connection_id", TT_STR, P_OPT, "or an open connection's id: its worker" , NULL },
	PARAMS_END,
};

/* kill_worker {worker_id | connection_id} */
static int
h_kill_worker(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct worker *w = NULL;
	if (params_has(p, "worker_id") == params_has(p, "connection_id")) {
		terr_set(e, TE_VALIDATION, "give worker_id or connection_id (one of them)");
		terr_hint(e, "list_workers shows the ids");
		return -1;
	}
	if (params_has(p, "worker_id")) {
		int64_t id = params_int(p, "worker_id", -1);
		w = id > 0 ? worker_find((uint64_t)id) : NULL;
		if (w == NULL) {
			terr_set(e, TE_VALIDATION, "worker_id: no worker %lld", (long long)id);
			terr_hint(e, "list_workers shows the ids");
			return -1;
		}
	} else {
		char *cid = params_strdup(p, "connection_id");
		struct conn *c = conn_find(cid);
		free(cid);
		if (c == NULL || c->worker == NULL) {
			terr_set(e, TE_VALIDATION, "connection_id: no open connection with that id");
			terr_hint(e, "get_active_connections lists them");
			return -1;
		}
		w = c->worker;
	}
	if (w->reaped || w->state == WS_DEAD) {
		terr_set(e, TE_VALIDATION, "worker %llu has already ended (%s)", (unsigned long long)w->id,
		    w->death_reason ? w->death_reason : "dead");
		return -1;
	}
	if (w->kill_req) {
		terr_set(e, TE_VALIDATION, "worker %llu is already being killed", (unsigned long long)w->id);
		terr_hint(e, "wait for the first kill_worker to answer");
		return -1;
	}
	w->kill_req = req;
	worker_kill_user(w);
	return H_ASYNC;
}

const struct tusk_method m_kill_worker = {
	.name = M_KILL_WORKER,
	.params = p_kill_worker,
	.result = "{killed: bool, worker_id: int, pid: int, reason: str | nil, "
	    "backend_pid: int | nil, backend_terminated: bool | nil, "
	    "backend_error: str | nil, hint: str | nil}",
	.flags = 0,
	.doc = "Stop a worker: cancel its query, SIGTERM, "
	    "SIGKILL after a grace period; then end its server backend.",
	.handler = h_kill_worker,
};

/*
 * The kill_worker answer, once the worker is dead: backend is -1 when it
 * had none; result is 1 ended, 0 still running, -1 could not tell (e).
 */
void
kill_answer(struct request *req, const struct worker *w, int backend_pid, int result,
    const struct tusk_error *e)
{
	msgpack_packer *pk = req_result(req);
	msgpack_pack_map(pk, 8);
	mp_pack_key(pk, "killed");
	msgpack_pack_true(pk);
	mp_pack_key(pk, "worker_id");
	msgpack_pack_uint64(pk, w->id);
	mp_pack_key(pk, "pid");
	msgpack_pack_int(pk, w->pid);
	mp_pack_key(pk, "reason");
	mp_pack_cstr(pk, w->death_reason);
	mp_pack_key(pk, "backend_pid");
	if (backend_pid > 0)
		msgpack_pack_int(pk, backend_pid);
	else
		msgpack_pack_nil(pk);
	bool ended = backend_pid > 0 && result == 1;
	mp_pack_key(pk, "backend_terminated");
	if (backend_pid <= 0 || result < 0)
		msgpack_pack_nil(pk);
	else if (ended)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	mp_pack_key(pk, "backend_error");
	mp_pack_cstr(pk, backend_pid <= 0 || ended ? NULL : e ? e->message : "the backend is still running");
	mp_pack_key(pk, "hint");
	mp_pack_cstr(pk, backend_pid <= 0 || ended ? NULL : e && e->hint ? e->hint :
	    "end it with pg_terminate_backend() as a role allowed to");
}

/*
 * events.c — `subscribe` and the event stream: what happens to workers,
 * connections and queries, pushed to the clients that asked.
 *
 * An event is the notification [2, "event", [{topic, type, ...}]]. Events
 * are small and few (one per state change), but a subscriber that stops
 * reading must not make the broker grow: while its output is over the
 * high mark, its events are dropped and counted, and the next event it gets
 * says how many it missed (`dropped`), so it can re-read the lists.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "broker.h"
#include "log.h"
#include "proto.h"
#include "util.h"

static const char *const topic_names[] = { "workers", "connections", "queries" };

/* Topic name to bit. */
static unsigned
topic_bit(const char *name, size_t len)
{
	for (unsigned i = 0; i < nitems(topic_names); i++)
		if (strlen(topic_names[i]) == len && memcmp(topic_names[i], name, len) == 0)
			return 1u << i;
	return 0;
}

static const struct tusk_param p_subscribe[] = {
	{ "topics", TT_ARRAY, P_OPT, "workers, connections, queries (default: all)", "[\"workers\" | \"connections\" | \"queries\"]" },
	PARAMS_END,
};

/* subscribe {topics?} */
static int
h_subscribe(struct request *req, const struct params *p, struct tusk_error *e)
{
	const msgpack_object *t = params_get(p, "topics");
	unsigned mask = 0;
	if (t == NULL) {
		mask = EV_ALL;
	} else {
		for (uint32_t i = 0; i < t->via.array.size; i++) {
			const msgpack_object *x = &t->via.array.ptr[i];
			unsigned bit = x->type == MSGPACK_OBJECT_STR ? topic_bit(x->via.str.ptr, x->via.str.size) : 0;
			if (bit == 0) {
				char *name = x->type == MSGPACK_OBJECT_STR ? mo_strdup(x) : xstrdup("?");
				terr_set(e, TE_VALIDATION, "topics: unknown topic '%.32s'", name);
				free(name);
				terr_hint(e, "topics are workers, connections and queries");
				return -1;
			}
			mask |= bit;
		}
	}
	req->client->topics = mask;
	req->client->dropped = 0;
	req_nil(req);
	return H_DONE;
}

const struct tusk_method m_subscribe = {
	.name = M_SUBSCRIBE,
	.params = p_subscribe,
	.result = "nil",
	.flags = MF_STREAMS,
	.doc = "Receive `event` notifications about workers, connections and queries.",
	.handler = h_subscribe,
};

/* Start an event for every subscriber of topic; returns how many. The
 * body (map entries after topic and type) is packed by fn. */
static void
emit(unsigned topic, const char *type, unsigned nfields,
    void (*fn)(msgpack_packer *, const void *), const void *arg)
{
	struct client *c;
	TAILQ_FOREACH(c, &tuskd.clients, entry) {
		if (!(c->topics & topic) || c->gone || c->peer == NULL)
			continue;
		if (client_congested(c)) {
			c->dropped++;
			continue;
		}
		msgpack_packer *pk = packer_on(client_output(c));
		rpc_pack_notify_begin(pk, N_EVENT);
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 3 + nfields + (c->dropped > 0));
		mp_pack_key(pk, "topic");
		mp_pack_cstr(pk, topic == EV_WORKERS ? "workers" : topic == EV_CONNECTIONS ?
		    "connections" : "queries");
		mp_pack_key(pk, "type");
		mp_pack_cstr(pk, type);
		mp_pack_key(pk, "at");
		char ts[40];
		iso8601_utc(wall_ms(), ts, sizeof ts);
		mp_pack_cstr(pk, ts);
		if (c->dropped > 0) {
			mp_pack_key(pk, "dropped");
			msgpack_pack_uint64(pk, c->dropped);
			c->dropped = 0;
		}
		fn(pk, arg);
	}
}

/* Is anyone listening to this topic? (Saves packing for nobody.) */
static bool
anyone(unsigned topic)
{
	struct client *c;
	TAILQ_FOREACH(c, &tuskd.clients, entry)
		if ((c->topics & topic) && !c->gone)
			return true;
	return false;
}

/* A workers event's body: the worker as worker_pack describes it. */
static void
pack_worker_body(msgpack_packer *pk, const void *arg)
{
	mp_pack_key(pk, "worker");
	worker_pack(pk, (const struct worker *)arg);
}

/* A worker started, changed state, or died. */
void
event_worker(const char *type, const struct worker *w)
{
	if (anyone(EV_WORKERS))
		emit(EV_WORKERS, type, 1, pack_worker_body, w);
}

struct conn_ev {
	const struct conn *c;
	const char *reason;
};

/* A connections event's body: the connection's id, name and the reason. */
static void
pack_conn_body(msgpack_packer *pk, const void *arg)
{
	const struct conn_ev *ce = arg;
	mp_pack_key(pk, "connection_id");
	mp_pack_cstr(pk, ce->c->id);
	mp_pack_key(pk, "name");
	mp_pack_cstr(pk, ce->c->cfg.name);
	mp_pack_key(pk, "reason");
	mp_pack_cstr(pk, ce->reason);
}

/* A connection is connecting, connected, lost, or disconnected. */
void
event_conn(const char *type, const struct conn *c, const char *reason)
{
	struct conn_ev ce = { c, reason };
	if (anyone(EV_CONNECTIONS))
		emit(EV_CONNECTIONS, type, 3, pack_conn_body, &ce);
}

struct query_ev {
	const struct query *q;
	const struct tusk_error *err;
};

/* A queries event's body: ids, rows so far, time since it started, and its error or nil. */
static void
pack_query_body(msgpack_packer *pk, const void *arg)
{
	const struct query_ev *qe = arg;
	mp_pack_key(pk, "query_id");
	mp_pack_cstr(pk, qe->q->id);
	mp_pack_key(pk, "connection_id");
	mp_pack_cstr(pk, qe->q->conn->id);
	mp_pack_key(pk, "row_count");
	msgpack_pack_uint64(pk, qe->q->rows);
	mp_pack_key(pk, "elapsed_ms");
	msgpack_pack_int64(pk, mono_ms() - qe->q->started_mono_ms);
	mp_pack_key(pk, "error");
	if (qe->err)
		terr_pack(pk, qe->err);
	else
		msgpack_pack_nil(pk);
}

/* A query started, finished, was cancelled, or failed. */
void
event_query(const char *type, const struct query *q, const struct tusk_error *err)
{
	struct query_ev qe = { q, err };
	if (anyone(EV_QUERIES))
		emit(EV_QUERIES, type, 5, pack_query_body, &qe);
}

/*
 * conns.c — open connections: connect, disconnect, test, list.
 *
 * A connection is one worker process holding one server session. The
 * broker owns connections, not clients: a connection opened by one client
 * (tuskctl connect) serves every client until someone disconnects it.
 * When its worker dies the connection is kept as "lost" with the reason, so
 * clients can show it and connect again with the same id.
 *
 * A request names either an inline config (a quick connection) or the id
 * of a saved one (store.c): then the config comes from the store and the
 * secrets it uses from the secrets layer (secrets.c, asynchronous), unless
 * the request gave them; the connection's id is the saved id.
 *
 * Secrets: the password travels to the worker in a private message (wiped
 * after sending). An open connection keeps its secrets in broker memory for
 * the session, so it can be reconnected; they are wiped when it goes.
 *
 * Beside them the worker gets what its SSH tunnel needs from the user's
 * session, since its environment is empty: the known_hosts files to check
 * the server against and the agent's socket (SSH_AUTH_SOCK).
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

static void conn_worker_notify(struct worker *w, const struct rpc_msg *m, void *arg);
static bool conn_worker_raw(struct worker *w, struct evbuffer *in, size_t len, void *arg);
static void conn_worker_dead(struct worker *w, const char *reason, void *arg);

static const struct worker_ops conn_worker_ops = {
	.notify = conn_worker_notify,
	.raw = conn_worker_raw,
	.dead = conn_worker_dead,
};

static const char *const conn_state_names[] = {
	[CS_CONNECTING] = "connecting",
	[CS_CONNECTED] = "connected",
	[CS_LOST] = "lost",
	[CS_CLOSING] = "closing",
};

/* An open (or lost) connection by id. */
struct conn *
conn_find(const char *id)
{
	struct conn *c;
	TAILQ_FOREACH(c, &tuskd.conns, entry)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

/* The connection a request names, connected, or a clear error. */
struct conn *
conn_lookup(const char *id, struct tusk_error *e)
{
	struct conn *c = conn_find(id);
	if (c == NULL) {
		terr_set(e, TE_VALIDATION, "connection_id: no open connection '%.64s'", id);
		terr_hint(e, "connect first; get_active_connections lists the open ones");
		return NULL;
	}
	if (c->state == CS_LOST) {
		terr_set(e, TE_CONNECTION, "connection '%s' was lost: %s", c->cfg.name,
		    c->lost_reason ? c->lost_reason : "its worker ended");
		terr_hint(e, "connect again to reopen it");
		return NULL;
	}
	if (c->state != CS_CONNECTED) {
		terr_set(e, TE_CONNECTION, "connection '%s' is %s", c->cfg.name,
		    conn_state_names[c->state]);
		terr_hint(e, c->state == CS_CONNECTING ? "wait for connect to answer" : "connect again");
		return NULL;
	}
	return c;
}

/* The connection a request's connection_id names, in any state (a lost
 * one too), or a clear error. */
static struct conn *
conn_named(const struct params *p, struct tusk_error *e)
{
	char *id = params_strdup(p, "connection_id");
	struct conn *c = conn_find(id);
	free(id);
	if (c == NULL) {
		terr_set(e, TE_VALIDATION, "connection_id: no open connection with that id");
		terr_hint(e, "get_active_connections lists the open ones");
	}
	return c;
}

/* Take a reference on a connection (conn_unref drops it). */
void
conn_ref(struct conn *c)
{
	c->refs++;
}

/* The saved connection's new name, for the open one too. */
void
conn_rename(struct conn *c, const char *name)
{
	if (name == NULL || (c->cfg.name && strcmp(c->cfg.name, name) == 0))
		return;
	log_info("open connection %s renamed to %s", c->cfg.name, name);
	free(c->cfg.name);
	c->cfg.name = xstrdup(name);
	if (c->worker) {
		free(c->worker->conn_name);
		c->worker->conn_name = xstrdup(name);
	}
	event_conn("renamed", c, NULL);
}

/* Drop a reference; the last frees the connection and wipes its secrets. */
void
conn_unref(struct conn *c)
{
	if (--c->refs > 0)
		return;
	struct conn_priv *cp = (struct conn_priv *)c;
	secrets_free(&cp->secrets);
	config_free(&c->cfg);
	free(c->server_version);
	free(c->tls_version);
	free(c->tls_cipher);
	free(c->tunnel_host_key);
	free(c->lost_reason);
	free(c->saved_id);
	free(c->label);
	if (c->worker)
		worker_unref(c->worker);
	free(cp);
}

/* Take the connection out of the registry. */
static void
conn_remove(struct conn *c)
{
	TAILQ_REMOVE(&tuskd.conns, c, entry);
	conn_unref(c);
}

/* The worker answered the connect order. */
static void
connect_reply(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res, void *arg)
{
	struct conn *c = arg;
	struct request *req = c->connect_req;
	struct params prm, tun;

	c->connect_req = NULL;
	if (res != NULL && (worker_reply_read(p, W_CONNECT, wire_connect_reply, res, &prm) < 0 ||
	    (params_has(&prm, "ssh_tunnel") && worker_reply_read(p, W_CONNECT, wire_ssh_info,
	    params_get(&prm, "ssh_tunnel"), &tun) < 0)))
		res = NULL; /* the worker is dropped: report it lost */
	if (res == NULL || err != NULL) {
		struct tusk_error e = TUSK_ERROR_INIT;
		worker_error(&e, err, "connecting", c->worker);
		credential_hint(&e, &((struct conn_priv *)c)->secrets);
		hostkeys_pending(c->worker, &c->cfg, c->id, &e);
		if (req) {
			req_error(req, &e);
			req_free(req);
		}
		log_info("connect to %s failed: %s", c->cfg.name, e.message);
		event_conn("disconnected", c, e.message);
		terr_clear(&e);
		c->state = CS_CLOSING;
		if (c->worker)
			worker_close(c->worker);
		conn_remove(c);
		return;
	}
	c->state = CS_CONNECTED;
	c->connected_wall_ms = wall_ms();
	free(c->server_version);
	c->server_version = params_strdup(&prm, "server_version");
	c->backend_pid = (int)params_int(&prm, "backend_pid", -1);
	c->tls = params_bool(&prm, "tls", false);
	free(c->tls_version);
	c->tls_version = params_strdup(&prm, "tls_version");
	free(c->tls_cipher);
	c->tls_cipher = params_strdup(&prm, "tls_cipher");
	free(c->tunnel_host_key);
	c->tunnel_host_key = NULL;
	c->tunnel_local_port = 0;
	if (params_has(&prm, "ssh_tunnel")) {
		char *type = params_strdup(&tun, "host_key_type"), *fpr = params_strdup(&tun, "host_key_fingerprint");
		int64_t lp = params_int(&tun, "local_port", 0);
		c->tunnel_local_port = lp > 0 && lp < 65536 ? (int)lp : 0;
		if (type && fpr)
			c->tunnel_host_key = xasprintf("%.64s %.128s", type, fpr);
		free(type);
		free(fpr);
	}
	if (c->worker) {
		c->worker->backend_pid = c->backend_pid;
		worker_set_state(c->worker, WS_IDLE);
	}
	log_info("connected to %s (%s:%d, backend %d, worker %d)", c->cfg.name, c->cfg.host,
	    c->cfg.port, c->backend_pid, c->worker ? (int)c->worker->pid : -1);
	event_conn("connected", c, NULL);
	if (req) {
		msgpack_packer *pk = req_result(req);
		msgpack_pack_map(pk, 1);
		mp_pack_key(pk, "connection_id");
		mp_pack_cstr(pk, c->id);
		req_free(req);
	}
	queries_kick(c);
}

/* Spawn the connection's worker and send it the connect order. */
static int
conn_start(struct conn *c, struct tusk_error *e)
{
	struct conn_priv *cp = (struct conn_priv *)c;
	struct worker *w = worker_spawn(WR_CONN, &conn_worker_ops, c, e);
	if (w == NULL)
		return -1;
	if (c->worker)
		worker_unref(c->worker);
	c->worker = w;
	worker_ref(w);
	conn_ref(c); /* the worker's callbacks hold the connection */
	free(w->conn_id);
	w->conn_id = xstrdup(c->id);
	free(w->conn_name);
	w->conn_name = xstrdup(c->cfg.name);
	free(w->saved_id);
	w->saved_id = c->saved_id ? xstrdup(c->saved_id) : NULL;
	free(w->conn_label);
	w->conn_label = c->label ? xstrdup(c->label) : NULL;
	c->state = CS_CONNECTING;
	free(c->lost_reason);
	c->lost_reason = NULL;
	send_connect(w, &c->cfg, &cp->secrets, connect_reply, c);
	event_conn("connecting", c, NULL);
	return 0;
}

/* May req's client open one more connection (or test one)? Open and lost
 * connections count, and tests running. 0, or -1 with e set. */
int
conns_admit(struct request *req, struct tusk_error *e)
{
	unsigned n = 0;
	struct conn *c;
	struct worker *w;
	TAILQ_FOREACH(c, &tuskd.conns, entry)
		n++;
	TAILQ_FOREACH(w, &tuskd.workers, entry)
		if (w->role == WR_TEST && w->state != WS_DEAD)
			n++;
	if (n < (unsigned)tuskd.set.max_connections)
		return 0;
	return limit_refuse(req ? req->client : NULL, LIMIT_CONNECTIONS, e,
	    "the broker has %u connections open or being tested (its limit is %d)", n,
	    tuskd.set.max_connections);
}

/*
 * Open a connection for cfg with secrets s (both moved in), or answer the
 * id of the one that is open. H_ASYNC while connecting, H_DONE, or -1.
 */
int
conn_open(struct request *req, struct tusk_config *cfg_in, struct tusk_secrets *s,
    bool new_session, const char *label, struct tusk_error *e)
{
	struct tusk_config cfg = *cfg_in;
	config_init(cfg_in);
	struct conn *c = cfg.id && !new_session ? conn_find(cfg.id) : NULL;
	if (tuskd.shutting_down) {
		config_free(&cfg);
		secrets_free(s);
		return terr_set(e, TE_CONNECTION, "the broker is shutting down");
	}
	if (c && (c->state == CS_CONNECTED || c->state == CS_CONNECTING)) {
		config_free(&cfg);
		secrets_free(s);
		if (c->state == CS_CONNECTING)
			return terr_set(e, TE_CONNECTION, "connection '%s' is already connecting",
			    c->cfg.name);
		msgpack_packer *pk = req_result(req);
		msgpack_pack_map(pk, 1);
		mp_pack_key(pk, "connection_id");
		mp_pack_cstr(pk, c->id);
		return H_DONE;
	}
	if (c == NULL && conns_admit(req, e) < 0) {
		config_free(&cfg);
		secrets_free(s);
		return -1;
	}
	if (c == NULL) {
		struct conn_priv *cp = xcalloc(1, sizeof *cp);
		c = &cp->c;
		c->refs = 1; /* the registry's */
		c->backend_pid = -1;
		TAILQ_INIT(&c->queue);
		if (cfg.id && !new_session && uuid_valid(cfg.id, strlen(cfg.id)))
			snprintf(c->id, sizeof c->id, "%s", cfg.id);
		else
			uuid_v4(c->id);
		config_init(&c->cfg);
		TAILQ_INSERT_TAIL(&tuskd.conns, c, entry);
	}
	free(c->saved_id);
	c->saved_id = s->saved && cfg.id ? xstrdup(cfg.id) : NULL;
	if (label) {
		free(c->label);
		c->label = xstrdup(label);
	}
	config_free(&c->cfg);
	c->cfg = cfg;
	free(c->cfg.id);
	c->cfg.id = xstrdup(c->id);
	if (c->cfg.name == NULL)
		c->cfg.name = config_display(&c->cfg);
	struct conn_priv *cp = (struct conn_priv *)c;
	secrets_move(&cp->secrets, s);
	if (conn_start(c, e) < 0) {
		conn_remove(c);
		return -1;
	}
	c->connect_req = req;
	return H_ASYNC;
}

static const struct tusk_param p_connect[] = {
	CONNECT_PARAMS("a connection config: quick connect (give id or config)"),
	{ "new_session", TT_BOOL, P_OPT, "true: open another session (worker) of this saved connection, with a new connection_id, even when one is open", NULL },
	{ "label", TT_STR, P_OPT, "what this session is for (a tab's title), shown in list_workers and get_active_connections", NULL },
	PARAMS_END,
};

/* A session label: printable, short. */
static int
label_check(const char *label, struct tusk_error *e)
{
	if (label && strlen(label) > CONN_LABEL_MAX)
		return terr_set(e, TE_VALIDATION, "label: longer than %d bytes", CONN_LABEL_MAX);
	for (const char *p = label; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return terr_set(e, TE_VALIDATION, "label: control characters are not allowed");
	return 0;
}

/* connect {id | config, password?, ..., new_session?, label?} */
static int
h_connect(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct tusk_config cfg;
	struct tusk_secrets s;
	struct saved_ctx *x = NULL;
	if (tuskd.shutting_down)
		return terr_set(e, TE_CONNECTION, "the broker is shutting down");
	bool new_session = params_bool(p, "new_session", false);
	char *label = params_strdup(p, "label");
	if (label_check(label, e) < 0) {
		free(label);
		return -1;
	}
	int r = conn_request_config(req, p, false, &cfg, &s, &x, e);
	if (r <= 0) {
		if (r == 0)
			r = conn_open(req, &cfg, &s, new_session, label, e);
		free(label);
		return r;
	}
	x->new_session = new_session;
	x->label = label;
	/* a saved connection that is open answers at once, without secrets */
	struct conn *c = new_session ? NULL : conn_find(x->cfg.id);
	if (c && (c->state == CS_CONNECTED || c->state == CS_CONNECTING)) {
		x->step = SECRET__COUNT;
		secrets_free(&x->sec);
	}
	/* another session takes the secrets the open one was given (typed
	 * once at a prompt, they are not asked for again per tab) */
	struct conn *o;
	if (new_session)
		TAILQ_FOREACH(o, &tuskd.conns, entry)
			if (o->state == CS_CONNECTED && o->saved_id && strcmp(o->saved_id, x->cfg.id) == 0)
				secrets_fill(&x->sec, &((struct conn_priv *)o)->secrets);
	saved_next(x);
	return H_ASYNC;
}

const struct tusk_method m_connect = {
	.name = M_CONNECT,
	.params = p_connect,
	.result = "{connection_id: str}",
	.flags = 0,
	.doc = "Open a connection: one sandboxed worker process, one server session.",
	.handler = h_connect,
};

static const struct tusk_param p_set_connection_label[] = {
	{ "connection_id", TT_STR, 0, "an open (or lost) connection's id", NULL },
	{ "label", TT_STR, P_OPT, "what this session is for (a tab's title); nil clears it", NULL },
	PARAMS_END,
};

/* set_connection_label {connection_id, label?} */
static int
h_set_connection_label(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct conn *c = conn_named(p, e);
	if (c == NULL)
		return -1;
	char *label = params_strdup(p, "label");
	if (label_check(label, e) < 0) {
		free(label);
		return -1;
	}
	free(c->label);
	c->label = label;
	if (c->worker) {
		free(c->worker->conn_label);
		c->worker->conn_label = label ? xstrdup(label) : NULL;
	}
	req_nil(req);
	return H_DONE;
}

const struct tusk_method m_set_connection_label = {
	.name = M_SET_CONNECTION_LABEL,
	.params = p_set_connection_label,
	.result = "nil",
	.flags = 0,
	.doc = "Name a session (a tab's title): list_workers and get_active_connections show it.",
	.handler = h_set_connection_label,
};

/* Close a connection: queued queries are cancelled, the worker exits. */
static void
conn_close(struct conn *c, const char *why)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	terr_set(&e, TE_QUERY_CANCELLED, "the connection was closed (%s)", why);
	terr_hint(&e, "connect again to run it");
	c->state = CS_CLOSING;
	queries_fail_conn(c, &e);
	terr_clear(&e);
	if (c->connect_req) {
		terr_set(&e, TE_CONNECTION, "the connection was closed (%s) while connecting", why);
		req_error(c->connect_req, &e);
		req_free(c->connect_req);
		c->connect_req = NULL;
		terr_clear(&e);
	}
	if (c->worker && c->worker->state != WS_DEAD)
		worker_close(c->worker);
	event_conn("disconnected", c, why);
	conn_remove(c);
}

static const struct tusk_param p_disconnect[] = {
	{ "connection_id", TT_STR, 0, "an open connection's id" , NULL },
	PARAMS_END,
};

/* disconnect {connection_id} */
static int
h_disconnect(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct conn *c = conn_named(p, e);
	if (c == NULL)
		return -1;
	log_info("disconnecting %s", c->cfg.name);
	conn_close(c, "disconnect");
	req_nil(req);
	return H_DONE;
}

const struct tusk_method m_disconnect = {
	.name = M_DISCONNECT,
	.params = p_disconnect,
	.result = "nil",
	.flags = 0,
	.doc = "Close a connection: its queries are cancelled, its worker exits.",
	.handler = h_disconnect,
};

/* Close every connection (shutdown). */
void
conns_close_all(void)
{
	struct conn *c, *tmp;
	TAILQ_FOREACH_SAFE(c, &tuskd.conns, entry, tmp)
		conn_close(c, "broker shutting down");
}

/* An open connection's SSH tunnel, or nil (an mpf_fn). */
static void
pack_tunnel(msgpack_packer *pk, const void *arg)
{
	const struct conn *c = arg;
	const struct tusk_ssh *t = c->cfg.ssh;
	if (t == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	MP_PACK_FIELDS(pk,
	    MPF_STR("host", t->host),
	    MPF_INT("port", t->port),
	    MPF_STR("username", t->username),
	    MPF_STR("auth_method", t->auth_type),
	    c->tunnel_local_port > 0 ? (struct mp_field)MPF_INT("local_port", c->tunnel_local_port) :
	    (struct mp_field)MPF_NIL("local_port"),
	    MPF_STR("host_key", c->tunnel_host_key));
}

/* The get_active_connections entry of c. */
static void
conn_pack(msgpack_packer *pk, const struct conn *c)
{
	char ts[40];
	unsigned active = 0;
	const struct query *q;
	TAILQ_FOREACH(q, &c->queue, centry)
		active++;
	if (c->connected_wall_ms > 0)
		iso8601_utc(c->connected_wall_ms, ts, sizeof ts);
	bool live = c->worker && c->worker->state != WS_DEAD;
	MP_PACK_FIELDS(pk,
	    MPF_STR("connection_id", c->id),
	    MPF_STR("name", c->cfg.name),
	    MPF_STR("host", c->cfg.host),
	    MPF_INT("port", c->cfg.port),
	    MPF_STR("database", c->cfg.database),
	    MPF_STR("username", c->cfg.username),
	    MPF_STR("state", conn_state_names[c->state]),
	    MPF_STR("connected_at", c->connected_wall_ms > 0 ? ts : NULL),
	    MPF_UINT("active_queries", active),
	    MPF_STR("server_version", c->server_version),
	    MPF_INT_OPT("backend_pid", c->backend_pid > 0 ? c->backend_pid : -1),
	    live ? (struct mp_field)MPF_INT("worker_pid", c->worker->pid) : (struct mp_field)MPF_NIL("worker_pid"),
	    c->worker ? (struct mp_field)MPF_UINT("worker_id", c->worker->id) : (struct mp_field)MPF_NIL("worker_id"),
	    MPF_BOOL("tls", c->tls),
	    MPF_STR("tls_version", c->tls_version),
	    MPF_STR("tls_cipher", c->tls_cipher),
	    MPF_FN("ssh_tunnel", pack_tunnel, c),
	    MPF_BOOL("read_only", c->cfg.read_only),
	    MPF_STR("lost_reason", c->lost_reason),
	    MPF_STR("saved_id", c->saved_id),
	    MPF_STR("label", c->label));
}

/* get_active_connections */
static int
h_get_active_connections(struct request *req, const struct params *p, struct tusk_error *e)
{
	UNUSED(p);
	UNUSED(e);
	unsigned n = 0;
	struct conn *c;
	TAILQ_FOREACH(c, &tuskd.conns, entry)
		n++;
	msgpack_packer *pk = req_result(req);
	msgpack_pack_array(pk, n);
	TAILQ_FOREACH(c, &tuskd.conns, entry)
		conn_pack(pk, c);
	return H_DONE;
}

const struct tusk_method m_get_active_connections = {
	.name = M_GET_ACTIVE_CONNECTIONS,
	.params = params_none,
	.result = "[{connection_id: str, name: str | nil, host: str | nil, port: int, "
	    "database: str | nil, username: str | nil, "
	    "state: \"connecting\" | \"connected\" | \"lost\" | \"closing\", "
	    "connected_at: str | nil, active_queries: int, server_version: str | nil, "
	    "backend_pid: int | nil, worker_pid: int | nil, worker_id: int | nil, tls: bool, "
	    "tls_version: str | nil, tls_cipher: str | nil, ssh_tunnel: {host: str, "
	    "port: int, username: str, auth_method: str, local_port: int | nil, "
	    "host_key: str | nil} | nil, read_only: bool, lost_reason: str | nil, "
	    "saved_id: str | nil, label: str | nil}]",
	.flags = MF_READ_ONLY,
	.doc = "The open connections.",
	.handler = h_get_active_connections,
};

/* Notifications from a connection's worker. */
static void
conn_worker_notify(struct worker *w, const struct rpc_msg *m, void *arg)
{
	UNUSED(w);
	queries_worker_notify(arg, m);
}

/* Raw messages: row batches and query results. */
static bool
conn_worker_raw(struct worker *w, struct evbuffer *in, size_t len, void *arg)
{
	return queries_worker_raw(w, arg, in, len);
}

/* What a lost connection's backend termination answers to. */
struct lost_ctx {
	struct request *kill_req;
	struct worker *w; /* referenced */
	int backend_pid;
	char conn_id[UUID_STR_LEN];
	char *conn_name;
};

/* The orphaned backend was dealt with: log, tell subscribers, answer kill_worker. */
static void
lost_backend_done(int result, const struct tusk_error *e, void *arg)
{
	struct lost_ctx *lc = arg;
	struct conn *c = conn_find(lc->conn_id);
	if (result == 1)
		log_info("backend %d of %s ended", lc->backend_pid, lc->conn_name);
	else
		log_warn("backend %d of %s could not be ended: %s", lc->backend_pid, lc->conn_name,
		    e && e->message ? e->message : "still running");
	if (c)
		event_conn(result == 1 ? "backend_ended" : "backend_not_ended", c,
		    result == 1 ? NULL : e && e->message ? e->message : "still running");
	if (lc->kill_req) {
		kill_answer(lc->kill_req, lc->w, lc->backend_pid, result, e);
		req_free(lc->kill_req);
	}
	worker_unref(lc->w);
	free(lc->conn_name);
	free(lc);
}

/* The connection's worker died. */
static void
conn_worker_dead(struct worker *w, const char *reason, void *arg)
{
	struct conn *c = arg;
	struct tusk_error e = TUSK_ERROR_INIT;

	if (c->state == CS_CLOSING || c->worker != w)
		goto done; /* closed on purpose, or replaced by a newer worker */
	terr_set(&e, TE_WORKER_LOST, "the connection's worker ended: %s", reason);
	terr_reason(&e, reason);
	terr_hint(&e, "the connection is marked lost; connect again to reopen it");
	if (c->connect_req) {
		req_error(c->connect_req, &e);
		req_free(c->connect_req);
		c->connect_req = NULL;
		c->state = CS_CLOSING;
		event_conn("disconnected", c, reason);
		conn_remove(c);
		goto done;
	}
	log_warn("connection %s lost: %s", c->cfg.name, reason);
	c->state = CS_LOST;
	free(c->lost_reason);
	c->lost_reason = xstrdup(reason);
	queries_fail_conn(c, &e);
	event_conn("lost", c, reason);
	/* the server may still run what the worker started: end it */
	if (w->backend_pid > 0 && strcmp(reason, "the server ended the session") != 0) {
		struct lost_ctx *lc = xcalloc(1, sizeof *lc);
		lc->kill_req = w->kill_req;
		w->kill_req = NULL;
		lc->w = w;
		worker_ref(w);
		lc->backend_pid = w->backend_pid;
		snprintf(lc->conn_id, sizeof lc->conn_id, "%s", c->id);
		lc->conn_name = xstrdup(c->cfg.name);
		conn_end_backend(c, w->backend_pid, lost_backend_done, lc);
	}
done:
	terr_clear(&e);
	conn_unref(c);
}

/* --- test_connection ---------------------------------------------------- */


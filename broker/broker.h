/*
 * broker.h — tuskd's shared state and the interfaces between its files.
 *
 * tuskd is one libevent loop on one thread. It owns: the client sockets
 * (client.c), the dispatch of requests through the method table
 * (dispatch.c), the worker processes (workers.c), the open connections
 * (conns.c), the queries and their row streams (queries.c), the log files
 * (main.c), the local store (store.c, its methods in m-store.c), the
 * secrets of saved connections (secrets.c), the tunables (settings.c). Objects that callbacks can still hold are reference-counted and
 * freed when the last reference goes; nothing is freed inside a callback of
 * the peer that is still using it (rpc.c defers peer closes).
 */
#ifndef TUSK_BROKER_H
#define TUSK_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <msgpack.h>

#include "config.h"
#include "error.h"
#include "logfile.h"
#include "methods.h"
#include "msg.h"
#include "paths.h"
#include "rpc.h"
#include "tqueue.h"
#include "uuid.h"

struct event_base;
struct evconnlistener;
struct event;
struct evbuffer;

struct client;
struct request;
struct worker;
struct conn;
struct query;
struct store;
struct host_key_offer;

/* Tunables (defaults in main.c; settings.c reads them from preferences and
 * from --set). */
struct settings {
	int heartbeat_ms;	 /* ping interval */
	int heartbeat_misses;	 /* unanswered intervals before "hung" */
	int worker_start_ms;	 /* spawn -> hello, at most */
	int kill_grace_ms;	 /* SIGTERM -> SIGKILL */
	int shutdown_grace_ms;	 /* workers told to close -> killed */
	int connect_timeout_s;	 /* libpq connect_timeout */
	int ssh_keepalive_s;	 /* an SSH tunnel's keepalive interval */
	size_t client_high;	 /* client output above this pauses its workers */
	size_t client_low;	 /* ... and below this resumes them */
	int dead_workers_kept;	 /* recently dead workers listed */
	int keychain_timeout_ms; /* bound of one keychain call */
	int worker_memory_mb;	 /* each worker's address-space cap */
	/* limits on what peers control (limits.c) */
	int max_clients;	 /* clients connected at once */
	int max_client_requests; /* a client's unanswered requests before it is not read */
	int max_connections;	 /* connections open (lost ones too) and tests running */
	int max_queued_queries;	 /* queries waiting on one connection */
	size_t max_queued_bytes; /* ... and their SQL, in bytes */
	int worker_log_rate;	 /* log records a worker may send a second */
	int log_file_max_mb;	 /* one day's log file */
	int log_dir_max_mb;	 /* the log directory */
};

struct broker {
	struct event_base *base;
	struct tusk_paths paths;
	struct logfile logfile;
	bool log_stderr;
	int64_t start_mono_ms;
	int64_t start_wall_ms;
	struct evconnlistener *listener;
	int listen_fd;
	bool activated; /* listen_fd came from systemd (socket activation) */
	int lock_fd;
	char *worker_path;
	struct settings set;
	struct store *store;
	TAILQ_HEAD(client_list, client) clients;
	unsigned nclients;
	unsigned nrefused; /* clients past max_clients, told so and closed */
	TAILQ_HEAD(worker_list, worker) workers;
	TAILQ_HEAD(conn_list, conn) conns;
	TAILQ_HEAD(query_list, query) queries;
	uint64_t next_client_id;
	uint64_t next_worker_id;
	bool shutting_down;
	struct event *ev_sigterm, *ev_sigint, *ev_sigchld, *ev_sighup;
	struct event *ev_heartbeat;
	struct event *ev_shutdown;
	struct event *ev_accept_retry;
	struct evbuffer *discard;
};

extern struct broker tuskd;

/* --- client.c: client sockets ---------------------------------------- */

/* Event topics a client can subscribe to. */
#define EV_WORKERS 0x1u
#define EV_CONNECTIONS 0x2u
#define EV_QUERIES 0x4u
#define EV_ALL 0x7u

struct client {
	TAILQ_ENTRY(client) entry;
	uint64_t id;
	struct rpc_peer *peer; /* NULL once gone */
	pid_t pid;
	uid_t uid;
	int refs;
	bool gone;
	const char *kind;  /* "window" (tusk-ui), "tuskctl" or "other": its executable */
	unsigned topics;   /* subscribed event topics */
	uint64_t dropped;  /* events dropped while it did not read */
	unsigned inflight; /* its requests not answered yet */
	bool output_full;  /* not read while its output is above client_high */
	bool refused;	   /* past max_clients: answered with an error, closed */
	unsigned limits_logged; /* the limits it met, logged once each */
};

/* Take a listening socket passed the systemd way (LISTEN_FDS/LISTEN_PID):
 * 1 taken, 0 none passed, -1 one was passed but is not our socket. */
int client_inherit(struct tusk_error *e);
int client_bind(struct tusk_error *e);
/* Remove the socket file, unless systemd owns it. */
void client_unlink(void);
int client_listen(struct tusk_error *e);
void client_stop_listening(void);
void client_ref(struct client *c);
void client_unref(struct client *c);
/* Where to write to this client: its output, or a sink when it is gone. */
struct evbuffer *client_output(struct client *c);
/* Backpressure: is this client's output over its high mark? */
bool client_congested(struct client *c);
/* Read a client's requests, or stop while it has max_client_requests
 * unanswered or its output is above client_high (until below client_low). */
void client_reading_update(struct client *c);
void client_drop_all(void);

/* --- dispatch.c: requests ---------------------------------------------- */

struct request {
	struct client *client; /* referenced */
	uint32_t msgid;
	const struct tusk_method *method;
	struct conn *conn;     /* MF_CONNECTION: the open connection named (referenced) */
	int64_t started_us;
};

/* Handlers answer H_DONE after replying, H_ASYNC after keeping the request,
 * or -1 with e set (the dispatcher replies with the error). */
#define H_DONE 0
#define H_ASYNC 1

void dispatch_check_table(void);
void dispatch_request(struct client *c, const struct rpc_msg *m);
/* Begin the reply: pack exactly one result object with the returned packer. */
msgpack_packer *req_result(struct request *req);
void req_nil(struct request *req);
void req_error(struct request *req, const struct tusk_error *e);
void req_free(struct request *req);
bool req_client_alive(const struct request *req);
/* Packer on an arbitrary evbuffer (shared, reset per call). */
msgpack_packer *packer_on(struct evbuffer *out);

/* --- workers.c: worker processes -------------------------------------- */

enum worker_state { WS_STARTING, WS_CONNECTING, WS_IDLE, WS_BUSY, WS_CANCELLING, WS_STOPPING,
	WS_DEAD };
enum worker_role { WR_CONN, WR_TEST, WR_HELPER };

struct worker_ops {
	/* A notification from the worker (log records are handled already). */
	void (*notify)(struct worker *w, const struct rpc_msg *m, void *arg);
	/* A complete message as bytes; return true when taken. */
	bool (*raw)(struct worker *w, struct evbuffer *in, size_t len, void *arg);
	/* The worker is gone for good; reason says why. */
	void (*dead)(struct worker *w, const char *reason, void *arg);
};

struct worker {
	TAILQ_ENTRY(worker) entry;
	uint64_t id;
	pid_t pid;
	int refs;
	struct rpc_peer *peer;
	enum worker_state state;
	enum worker_role role;
	const struct worker_ops *ops;
	void *arg;
	int64_t started_mono_ms;
	int64_t started_wall_ms;
	int64_t last_pong_mono_ms;
	uint32_t ping_msgid; /* outstanding ping, 0 if none */
	int64_t ping_sent_mono_ms;
	int64_t ping_cpu_ms; /* its CPU time when pinged (-1: unknown) */
	int missed;
	bool hello;	/* it said hello: from now on heartbeats judge it */
	bool reaped;
	bool peer_gone;
	bool kill_sent;
	char *kill_reason;	 /* why we signalled it */
	char *death_reason;	 /* final, once dead */
	int64_t died_wall_ms;
	struct event *ev_kill;	 /* escalation timer */
	struct client *paused_for; /* backpressure: waiting for this client */
	/* what it reported */
	int backend_pid;
	char *conn_name;
	char *conn_id;
	char *saved_id;		 /* its connection's saved connection, or NULL */
	char *conn_label;	 /* its connection's label (a tab's title), or NULL */
	char *query_id;
	char *query_sql;
	int64_t query_started_mono_ms;
	uint64_t rows_streamed;
	uint64_t bytes_streamed;
	/* resources, from /proc while alive, from wait4 once dead */
	int64_t cpu_ms;
	int64_t rss_bytes;
	/* kill_worker: the request to answer once it is dead (and its backend ended) */
	struct request *kill_req;
	struct event *ev_escalate;
	/* an unknown SSH host key it reported (W_HOST_KEY), until its connect fails */
	struct host_key_offer *host_key;
	/* its log records: worker_log_rate a second, the rest counted and dropped */
	int64_t log_window_ms;
	int log_in_window;
	uint64_t log_dropped;
	bool log_flood_said;
};

struct worker *worker_spawn(enum worker_role role, const struct worker_ops *ops, void *arg,
    struct tusk_error *e);
void worker_ref(struct worker *w);
void worker_unref(struct worker *w);
/* Ask the worker to close; kill it if it does not within the grace period. */
void worker_close(struct worker *w);
/* Signal it now; reason is what its death will be reported as. */
void worker_kill(struct worker *w, int sig, const char *reason);
void worker_set_state(struct worker *w, enum worker_state s);
const char *worker_state_name(enum worker_state s);
void workers_reap(void);
/* At exit: finish every worker not finished yet (owners learn it once). */
void workers_finish_all(void);
void workers_heartbeat(void);
void workers_set_log_level(int level);
unsigned workers_alive(void);
/* Find a worker by id. */
struct worker *worker_find(uint64_t id);
/* Read a worker's success reply to order against spec (wire.h); on a
 * malformed one the worker is dropped as a protocol violation and -1 comes
 * back. */
int worker_reply_read(struct rpc_peer *p, const char *order, const struct tusk_param *spec,
    const msgpack_object *res, struct params *prm);
/* Refresh cpu_ms and rss_bytes from /proc (alive workers). */
void worker_sample(struct worker *w);
/* The list_workers entry of a worker. */
void worker_pack(msgpack_packer *pk, const struct worker *w);
/* kill_worker's escalation: cancel, SIGTERM, SIGKILL. */
void worker_kill_user(struct worker *w);
/* Pause reading a worker until client c drains (backpressure). */
void worker_pause_for(struct worker *w, struct client *c);
/* Client c drained (or left): resume the workers waiting for it. */
void workers_resume_for(struct client *c);

/* --- conns.c: open connections (conn-setup.c, conn-test.c, backend.c) -- */

enum conn_state { CS_CONNECTING, CS_CONNECTED, CS_LOST, CS_CLOSING };

struct conn {
	TAILQ_ENTRY(conn) entry;
	char id[UUID_STR_LEN];
	int refs;
	struct tusk_config cfg;
	struct worker *worker;
	enum conn_state state;
	int64_t connected_wall_ms;
	char *server_version;
	int backend_pid;
	bool tls;
	char *tls_version;
	char *tls_cipher;
	int tunnel_local_port;	   /* the SSH tunnel's local end, 0: none */
	char *tunnel_host_key;	   /* "type SHA256:..." of the SSH server */
	char *lost_reason;
	struct request *connect_req;
	char *saved_id;		   /* the saved connection it was opened from, or NULL */
	char *label;		   /* what the client calls this session (a tab's title) */
	TAILQ_HEAD(conn_queue, query) queue; /* queued and running, in order */
	struct query *running;
};

#define CONN_LABEL_MAX 200

struct conn *conn_find(const char *id);
/* Find an open connection for a request, or set a Validation error. */
struct conn *conn_lookup(const char *id, struct tusk_error *e);
void conn_ref(struct conn *c);
void conn_unref(struct conn *c);
/* A saved connection was renamed: the open one follows (its worker, events). */
void conn_rename(struct conn *c, const char *name);
void conns_close_all(void);
/* backend.c: end an orphaned server backend from a short-lived helper
 * worker on the same settings. result: 1 ended (or already gone), 0 still running,
 * -1 could not check (e says why). */
typedef void (*backend_cb)(int result, const struct tusk_error *e, void *arg);
void conn_end_backend(const struct conn *c, int backend_pid, backend_cb cb, void *arg);

/* --- queries.c: queries and row streams -------------------------------- */

enum query_state { QS_QUEUED, QS_RUNNING };

/*
 * Work on a connection other than a plain execute_query (a catalog read,
 * an export, a table page, ...) is a query too: it waits in the same queue,
 * shows in get_running_queries and list_workers, is cancelled with
 * cancel_query, and fails with WorkerLost like any query. Its ops say what
 * order the worker gets and what becomes of the answer; NULL ops (or NULL
 * members) mean execute_query's behaviour: W_QUERY with the SQL, streamed
 * messages and the result moved to the requesting client as bytes.
 */
struct query_ops {
	/* The order and its arguments map (default: W_QUERY {query_id, sql,
	 * max_rows?, timeout_ms?}). */
	const char *order;
	void (*pack)(struct query *q, msgpack_packer *pk);
	/* A worker message of this query (a notification with its query_id, or
	 * its success reply) at the head of in, len bytes: return true after
	 * draining exactly len to take it; false for the default handling. A
	 * success reply taken ends the query (q->req must be answered then). */
	bool (*raw)(struct query *q, struct evbuffer *in, size_t len, const struct rpc_peek *pk);
	/* The success reply (decoded), instead of passing it to the client.
	 * The request (q->req, if any) must be answered here. */
	void (*done)(struct query *q, const msgpack_object *res);
	/* The query failed (e) or ended; q->req is answered by the queue with
	 * e unless this returns true (it answered itself). May be NULL. */
	bool (*failed)(struct query *q, const struct tusk_error *e);
	/* Free ctx. */
	void (*free)(struct query *q);
	/* A declared worker notification of this query (wire.h; its params
	 * already read against the declaration), e.g. export_data. */
	void (*notify)(struct query *q, const struct rpc_msg *m);
};

struct query {
	TAILQ_ENTRY(query) entry;   /* tuskd.queries */
	TAILQ_ENTRY(query) centry;  /* conn->queue */
	char *id;
	struct conn *conn;	    /* referenced */
	struct request *req;	    /* the execute_query request */
	char *sql;
	size_t sql_len;		    /* strlen(sql), for the queue's bound */
	int64_t max_rows;	    /* -1: stream */
	int64_t timeout_ms;	    /* -1: none */
	enum query_state state;
	int64_t started_wall_ms;
	int64_t started_mono_ms;
	uint32_t worker_msgid;
	uint64_t rows;
	uint64_t bytes;
	bool cancel_sent;
	bool record;		    /* a statement the user ran: kept in the history
				     * once it reached the worker (execute_query sets
				     * it; other work sets it for SQL a user typed) */
	int64_t started_us;	    /* monotonic, when it was sent to the worker */
	const struct query_ops *ops; /* NULL: execute_query */
	void *ctx;		     /* the ops' own state */
};

struct query *query_find(const char *id);
/*
 * Queue work on a connection (answers req, which may be NULL, through ops;
 * takes sql, shown in get_running_queries and list_workers; id NULL makes a
 * UUID, a given one must be valid and unused). NULL with e set.
 */
struct query *query_submit(struct conn *c, struct request *req, char *id, char *sql,
    const struct query_ops *ops, void *ctx, struct tusk_error *e);
/* May client cl (NULL: the broker) queue sql_len more bytes of work on c
 * (max_queued_queries, max_queued_bytes)? 0, or -1 with e set. */
int queries_admit(struct conn *c, struct client *cl, size_t sql_len, struct tusk_error *e);
/* The connection's worker can take the next queued query. */
void queries_kick(struct conn *c);
/* Cancel a query as cancel_query does, nobody waiting for the answer. */
void query_cancel(struct query *q);
/* Send query_progress {query_id, rows, bytes} to the query's client. */
void query_progress(struct query *q, uint64_t rows, uint64_t bytes);
/* Fail every query of a connection (its worker is gone). */
void queries_fail_conn(struct conn *c, const struct tusk_error *e);
/* A client left: cancel what it was running. */
void queries_client_gone(struct client *cl);
/* A worker message that belongs to a query stream. */
bool queries_worker_raw(struct worker *w, struct conn *c, struct evbuffer *in, size_t len);
void queries_worker_notify(struct conn *c, const struct rpc_msg *m);

/* --- events.c: subscriptions ------------------------------------------- */

void event_worker(const char *type, const struct worker *w);
void event_conn(const char *type, const struct conn *c, const char *reason);
void event_query(const char *type, const struct query *q, const struct tusk_error *err);

/* --- secrets.c: passwords of saved connections ------------------------- */

enum secret_kind { SECRET_DB, SECRET_SSH, SECRET_SSH_KEY, SECRET_SSL_KEY, SECRET__COUNT };

/* The field of s that holds a secret of this kind. */
char **secret_slot(struct tusk_secrets *s, enum secret_kind kind);

/*
 * Every call answers through its callback on a later loop turn (never
 * inside the call), in call order. e is set on failure; warning (or NULL)
 * says something the user should know about a success ("kept for this
 * session only"). value is NULL when nothing is stored; it is wiped after
 * the callback returns: copy it.
 */
typedef void (*secret_done_fn)(const struct tusk_error *e, const char *warning, void *arg);
typedef void (*secret_value_fn)(const struct tusk_error *e, const char *value, void *arg);

void secret_store(const char *conn_id, enum secret_kind kind, const char *value, secret_done_fn cb,
    void *arg);
void secret_lookup(const char *conn_id, enum secret_kind kind, secret_value_fn cb, void *arg);
void secret_delete(const char *conn_id, enum secret_kind kind, secret_done_fn cb, void *arg);
void secret_delete_all(const char *conn_id, secret_done_fn cb, void *arg);
const char *secret_kind_name(enum secret_kind k);
/* "the database password", "the SSH password", "the SSH key passphrase" */
const char *secret_kind_what(enum secret_kind k);
/* The hint that goes with a "kept for this session only" warning. */
const char *secrets_session_hint(void);
/* Answer what is queued and wipe every secret (at exit). */
void secrets_shutdown(void);

/* --- settings.c: tunables ----------------------------------------------- */

/* --set NAME=VALUE; -1 when the name or the value is wrong. */
int settings_set_arg(const char *arg);
void settings_usage(FILE *f);
/* Apply the "broker.NAME" preferences that --set did not override. */
void settings_load_preferences(struct store *st);
/* Is key one of the broker.* preferences? */
bool settings_is_key(const char *key);
/* May a broker.* preference take this value? */
int settings_check_preference(const char *key, const msgpack_object *v, struct tusk_error *e);

/* --- limits.c: what a peer may ask for ---------------------------------- */

enum limit { LIMIT_CLIENTS, LIMIT_CLIENT_REQUESTS, LIMIT_CONNECTIONS, LIMIT_QUEUED_QUERIES,
	LIMIT_QUEUED_BYTES, LIMIT_MEMORY, LIMIT__COUNT };

/*
 * Refuse what client c (NULL: the broker's own work) asked past limit l: e
 * becomes a Validation error (Internal for memory) with the code
 * "limit.NAME" and a hint naming the setting; logged once per client.
 * Returns -1.
 */
int limit_refuse(struct client *c, enum limit l, struct tusk_error *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Log, once per client, that it met limit l without an error (backpressure). */
void limit_note(struct client *c, enum limit l, const char *what);

/* --- m-store.c, for saved connections ----------------------------------- */

/* A request names a saved connection with `id`: the config, or a
 * Validation error naming the id. */
int conn_saved_load(const char *id, struct tusk_config *cfg, struct tusk_error *e);

/* --- m-store.c ----------------------------------------------------------- */

struct store_notice;
/* The storage notice as the wire map (nil when n is NULL). */
void store_notice_pack(msgpack_packer *pk, const struct store_notice *n);

/* --- the methods (each defined beside its handler; methods.c lists them) --- */

extern const struct tusk_method m_open_table;
extern const struct tusk_method m_apply_edits;
extern const struct tusk_method m_get_server_activity;
extern const struct tusk_method m_cancel_backend;
extern const struct tusk_method m_terminate_backend;
extern const struct tusk_method m_health_check;
extern const struct tusk_method m_get_app_info;
extern const struct tusk_method m_get_log_directory;
extern const struct tusk_method m_describe;
extern const struct tusk_method m_get_log_level;
extern const struct tusk_method m_set_log_level;
extern const struct tusk_method m_shutdown;
extern const struct tusk_method m_test_connection;
extern const struct tusk_method m_connect;
extern const struct tusk_method m_disconnect;
extern const struct tusk_method m_get_active_connections;
extern const struct tusk_method m_execute_query;
extern const struct tusk_method m_cancel_query;
/* m-copy.c */
extern const struct tusk_method m_export_query;
extern const struct tusk_method m_import_file;
extern const struct tusk_method m_get_running_queries;
extern const struct tusk_method m_list_workers;
extern const struct tusk_method m_kill_worker;
extern const struct tusk_method m_subscribe;
extern const struct tusk_method m_check_keychain_available;
extern const struct tusk_method m_get_keychain_status;
extern const struct tusk_method m_has_stored_password;
extern const struct tusk_method m_list_connections;
extern const struct tusk_method m_get_connection;
extern const struct tusk_method m_save_connection;
extern const struct tusk_method m_delete_connection;
extern const struct tusk_method m_get_preference;
extern const struct tusk_method m_set_preference;
extern const struct tusk_method m_list_preferences;
extern const struct tusk_method m_check_database_health;
extern const struct tusk_method m_dismiss_storage_notice;
extern const struct tusk_method m_trust_host_key;
extern const struct tusk_method m_get_schema;
extern const struct tusk_method m_describe_object;
extern const struct tusk_method m_get_history;
extern const struct tusk_method m_delete_history;
extern const struct tusk_method m_list_saved_queries;
extern const struct tusk_method m_save_query;
extern const struct tusk_method m_delete_saved_query;
extern const struct tusk_method m_get_workspace;
extern const struct tusk_method m_save_workspace;
extern const struct tusk_method m_set_connection_label;

/* The table (methods.c). */
extern const struct tusk_method *const method_table[];
extern const size_t method_table_len;
/* kill_worker's answer, also given by conns.c once the backend is ended. */
void kill_answer(struct request *req, const struct worker *w, int backend_pid, int result,
    const struct tusk_error *e);

/* --- hostkeys.c: SSH host keys ------------------------------------------- */

/* Tusk's own known_hosts (in the data directory; the broker alone writes it). */
const char *hostkeys_file(void);
/* The user's ~/.ssh/known_hosts (read by workers, never written); caller frees. */
char *hostkeys_user_file(void);
/* A worker's W_HOST_KEY notification: keep the key on the worker. */
void hostkeys_offer(struct worker *w, const struct params *prm);
/* A connect or test failed with e: name conn_id in e's host_key block, and
 * for an unknown key keep the worker's offer for trust_host_key. */
void hostkeys_pending(struct worker *w, const struct tusk_config *cfg, const char *conn_id,
    struct tusk_error *e);
void host_key_offer_free(struct host_key_offer *k);
void hostkeys_free(void);

/* m-keychain.c: the keychain status get_keychain_status answers */
void keychain_status_stale(void);
void keychain_status_free(void);

/* --- m-schema.c: the schema cache --------------------------------------- */

/* A user's query on c ran DDL: the cached schema is stale, clients hear
 * schema_changed. */
void schema_touched(struct conn *c);
/* Drop the cache (at exit). */
void schema_cache_free(void);
/* --- history.c: the query history recorder ------------------------------ */

struct store_history_entry;
/* Open the history's own connection to st's file and start its thread. */
int history_start(struct store *st, struct tusk_error *e);
/* Write what is waiting and stop (at exit). */
void history_stop(void);
bool history_enabled(void);
/* Record an entry (strings moved in); written within a fraction of a second. */
void history_record(struct store_history_entry *h);
/* The history's connection with all recorded entries written; then
 * history_unlock(entries deleted meanwhile). NULL with e set. */
struct store *history_lock(struct tusk_error *e);
void history_unlock(int64_t deleted);
/* Around a repair that may replace the file. */
void history_detach(void);
void history_attach(struct store *st);
bool history_is_key(const char *key);
int history_check_preference(const char *key, const msgpack_object *v, struct tusk_error *e);
void history_preference_set(const char *key, const msgpack_object *v);

/* --- main.c ------------------------------------------------------------- */

void broker_shutdown(const char *why);

#endif

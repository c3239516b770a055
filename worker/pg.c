/*
 * pg.c — the worker's PostgreSQL session: connect, run, stream, cancel.
 *
 * Connect: the connection's sandbox layer first (sandbox_connection), then
 * a host name is resolved on the loop (resolve.c: libpq's own getaddrinfo
 * would block and needs files the sandbox hides) and libpq gets
 * host=<name> hostaddr=<addresses>, so verify-full still checks the name.
 * PQconnectStartParams with explicit parameters only (no service file, no
 * ~/.pgpass, no ~/.postgresql defaults), driven by PQconnectPoll on the
 * loop, with our own timeout (libpq's connect_timeout only applies to
 * blocking connects); the timeout covers name resolution. Failures are
 * classified so the user gets a hint that tells unknown host, refused,
 * timeout, wrong password, missing database or role, and TLS problems
 * apart.
 *
 * Query: PQsendQuery + single-row mode. Each row is encoded once, straight
 * into a reused buffer; at ~64 KiB the batch is framed as a complete
 * query_rows notification the broker forwards as bytes. With max_rows the
 * rows go into the final response instead. When the broker's side of the
 * socketpair backs up, we stop reading the server (TCP pushes back).
 *
 * Cancel: PQcancel on a short-lived thread (cancel.c), so the loop goes
 * on answering heartbeats and, through a tunnel, serving the channel the
 * cancel request travels on. The error that follows is reported as
 * QueryCancelled or QueryTimeout depending on who asked.
 *
 * SSH tunnel (tunnel.c): when the config has ssh_tunnel, the tunnel's local
 * end is made before the sandbox layer (which lets libpq reach it), the SSH
 * server's name is resolved here (the database's is resolved by the SSH
 * server: direct-tcpip takes the name), the tunnel is set up, and libpq
 * connects to its local end with host=<the database host>
 * hostaddr=127.0.0.1, so TLS still checks the database's name.
 *
 * Closing (pg_close) cancels a running query first, waits for that (at
 * most CLOSE_CANCEL_MS), then ends the session and the tunnel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "cancel.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "resolve.h"
#include "sandbox-policy.h"
#include "sandbox.h"
#include "tunnel.h"
#include "util.h"
#include "worker.h"

/* Built-in type OIDs (stable across PostgreSQL versions). */
#define BOOLOID 16
#define BYTEAOID 17
#define INT8OID 20
#define INT2OID 21
#define INT4OID 23
#define OIDOID 26
#define FLOAT4OID 700
#define FLOAT8OID 701

#define OUT_HIGH (1024u * 1024)		/* stop reading the server above this */
#define ROW_MAX (56u * 1024 * 1024)	/* one encoded row, at most */
#define RESULT_MAX (48u * 1024 * 1024)	/* rows kept for a max_rows answer */
#define NO_FILE "/nonexistent/tusk-no-file"
#define CLOSE_CANCEL_MS 1500		/* closing waits this long for a cancel */
#define CANCEL_WAITERS 8

enum pg_state { PG_NONE, PG_RESOLVING, PG_TUNNELLING, PG_CONNECTING, PG_READY, PG_DEAD };
enum cancel_by { CANCEL_NONE, CANCEL_USER, CANCEL_TIMEOUT, CANCEL_CLOSE };

/* A growable buffer rows are encoded into (reused across batches). */
struct obuf {
	char *data;
	size_t len;
	size_t cap;
};

struct pgq {
	char *id;
	uint32_t msgid;
	bool internal;	      /* the type-name load, not a user's query */
	int64_t max_rows;     /* -1: stream */
	int64_t timeout_ms;
	int64_t started_us;
	uint64_t row_count;   /* all rows, every result set */
	uint64_t kept_rows;   /* rows in `rows` for a max_rows answer */
	uint32_t batch_rows;
	int result_index;     /* result sets begun */
	bool in_rows;	      /* columns of the current result are sent */
	bool truncated;
	bool copy_out;
	char *command_tag;
	char *rows_affected;
	struct tusk_error err;
	enum cancel_by cancel;
	struct event *ev_timeout;
	int ncols;
	Oid *types;
	struct obuf cols;     /* the current result's columns, encoded */
	struct obuf rows;     /* the batch, or the kept rows */
};

struct typename {
	Oid oid;
	char *name;
};

static struct {
	PGconn *conn;
	PGcancel *cancel;
	enum pg_state state;
	struct event *ev;
	int ev_fd;
	short ev_what;
	uint32_t connect_msgid;
	struct event *ev_connect_timeout;
	int64_t connect_started_us;
	int connect_timeout_s;
	bool want_version;
	struct tusk_config cfg;
	struct resolve *resolve;	/* while a host name resolves */
	char *password;			/* until libpq has it */
	char *ssl_passphrase;		/* until libpq has it */
	bool ssl_key_given;		/* a passphrase came for the client key */
	/* cancel orders answered when the running cancel ends */
	uint32_t cancel_waiters[CANCEL_WAITERS];
	int ncancel_waiters;
	/* closing */
	pg_closed_fn close_done;
	void *close_arg;
	struct event *ev_close;
	struct pgq *q;
	/* a user query that waits while the type names load */
	uint32_t pending_msgid;
	char *pending_id, *pending_sql;
	int64_t pending_max_rows, pending_timeout_ms;
	bool paused;
	bool types_stale;
	struct typename *types;
	size_t ntypes;
	msgpack_packer pk; /* writes into an obuf */
} pg;

static void pg_event(evutil_socket_t fd, short what, void *arg);
static void process_results(void);
static void query_finish(void);
static void start_types_load(void);
static void notice_receiver(void *arg, const PGresult *res);
static int start_user_query(uint32_t msgid, char *id, char *sql, int64_t max_rows,
    int64_t timeout_ms);
static void cancel_send(uint32_t msgid);
static void query_free(struct pgq *q);

/* --- small buffers -------------------------------------------------------- */

/* Packer callback into an obuf. */
static int
obuf_write(void *data, const char *buf, size_t len)
{
	struct obuf *b = data;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 64 * 1024;
		while (cap < b->len + len)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	return 0;
}

static void
obuf_free(struct obuf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* A packer appending to b. */
static msgpack_packer *
pk_on(struct obuf *b)
{
	msgpack_packer_init(&pg.pk, b, obuf_write);
	return &pg.pk;
}

/* array32 header: a count filled in before the bytes are sent. */
static void
pack_array32(struct evbuffer *out, uint32_t n)
{
	uint8_t h[5] = { 0xdd, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	evbuffer_add(out, h, sizeof h);
}

/* --- type names ------------------------------------------------------------ */

static int
type_cmp(const void *a, const void *b)
{
	Oid x = ((const struct typename *)a)->oid, y = ((const struct typename *)b)->oid;
	return x < y ? -1 : x > y;
}

/* The name of a type OID (or its number when the type is new to us). */
static const char *
type_name(Oid oid, char *buf, size_t len)
{
	struct typename key = { oid, NULL };
	struct typename *t = pg.ntypes ? bsearch(&key, pg.types, pg.ntypes, sizeof *pg.types, type_cmp) : NULL;
	if (t)
		return t->name;
	if (pg.ntypes)
		pg.types_stale = true;
	snprintf(buf, len, "oid:%u", oid);
	return buf;
}

static void
types_free(void)
{
	for (size_t i = 0; i < pg.ntypes; i++)
		free(pg.types[i].name);
	free(pg.types);
	pg.types = NULL;
	pg.ntypes = 0;
}

/* --- socket watching ------------------------------------------------------ */

/* Watch the server socket for what (EV_READ / EV_WRITE), or nothing. */
static void
pg_watch(short what)
{
	int fd = pg.conn ? PQsocket(pg.conn) : -1;
	if (pg.ev && (fd != pg.ev_fd || what != pg.ev_what || what == 0)) {
		event_free(pg.ev);
		pg.ev = NULL;
	}
	pg.ev_fd = fd;
	pg.ev_what = what;
	if (fd < 0 || what == 0 || pg.ev)
		return;
	pg.ev = event_new(wk.base, fd, what | EV_PERSIST, pg_event, NULL);
	event_add(pg.ev, NULL);
}

/* Read interest, plus write while libpq has unsent bytes. */
static void
pg_watch_query(void)
{
	if (pg.paused) {
		pg_watch(0);
		return;
	}
	int f = PQflush(pg.conn);
	pg_watch(f == 1 ? EV_READ | EV_WRITE : EV_READ);
}

/* --- errors ------------------------------------------------------------------ */

/* Strip libpq's "connection to server at ... failed: " and trailing newlines. */
static char *
clean_message(const char *msg)
{
	const char *p = msg ? msg : "unknown error";
	const char *f = strstr(p, " failed: ");
	if (f && strncmp(p, "connection to server", 20) == 0)
		p = f + 9;
	if (strncmp(p, "FATAL:  ", 8) == 0)
		p += 8;
	char *s = xstrdup(p);
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	/* several attempts (IPv6, IPv4) repeat themselves: keep the last */
	char *nl = strrchr(s, '\n');
	if (nl && strstr(s, "connection to server")) {
		char *last = clean_message(nl + 1);
		free(s);
		return last;
	}
	return s;
}

/* Turn a failed connect into an error with a hint that names the case. */
static void
connect_error(struct tusk_error *e, const char *raw, int64_t elapsed_ms)
{
	const struct tusk_config *c = &pg.cfg;
	char *msg = clean_message(raw);
	terr_set(e, TE_CONNECTION, "%s", msg);
	if (strstr(msg, "password authentication failed")) {
		e->kind = TE_CREDENTIAL;
		terr_code(e, "28P01");
		terr_hint(e, "the server rejected the password for role \"%s\"; check it and try again",
		    c->username);
	} else if (strstr(msg, "no password supplied") || strstr(msg, "password is required")) {
		e->kind = TE_CREDENTIAL;
		terr_set(e, TE_CREDENTIAL, "the server asks for a password for role \"%s\"", c->username);
		terr_code(e, "28P01");
		terr_hint(e, "send the password with connect (it is never stored in the connection)");
	} else if (strstr(msg, "does not exist") && strstr(msg, "database")) {
		terr_code(e, "3D000");
		terr_hint(e, "database \"%s\" does not exist on %s:%d; check the name, or create it",
		    c->database, c->host, c->port);
	} else if (strstr(msg, "role") && strstr(msg, "does not exist")) {
		terr_code(e, "28000");
		terr_hint(e, "role \"%s\" does not exist on the server; check the user name", c->username);
	} else if (strstr(msg, "could not translate host name") || strstr(msg, "Name or service not known") ||
	    strstr(msg, "unknown host")) {
		terr_hint(e, "the host name \"%s\" could not be resolved; check its spelling and your DNS",
		    c->host);
	} else if (strstr(msg, "Connection refused")) {
		terr_hint(e, "nothing accepts connections on %s port %d; is PostgreSQL running there, and listening on that address and port?",
		    c->host, c->port);
	} else if (strstr(msg, "No route to host") || strstr(msg, "Network is unreachable") ||
	    strstr(msg, "Host is unreachable")) {
		terr_hint(e, "%s cannot be reached from this machine; check the network, VPN or firewall",
		    c->host);
	} else if (strstr(msg, "timeout expired") || strstr(msg, "timed out")) {
		e->elapsed_ms = elapsed_ms;
		terr_hint(e, "no answer from %s:%d within %d s; the server may be down, or a firewall drops the packets",
		    c->host, c->port, pg.connect_timeout_s);
	} else if (strstr(msg, "server does not support SSL")) {
		terr_hint(e, "the server has no TLS; use ssl_mode prefer or disable to connect without encryption");
	} else if (strstr(msg, "no pg_hba.conf entry") && strstr(msg, "no encryption")) {
		terr_hint(e, "the server requires TLS for this connection; use ssl_mode require (or verify-ca/verify-full with its CA)");
	} else if (strstr(msg, "no pg_hba.conf entry")) {
		terr_hint(e, "the server's pg_hba.conf has no rule admitting this user, database and address; ask its administrator");
	} else if (strstr(msg, "certificate verify failed")) {
		terr_hint(e, "the server's certificate is not trusted: it is not signed by the CA in ssl_ca_cert (%s); give the CA that signed it",
		    c->ssl_ca_cert ? c->ssl_ca_cert : "none");
	} else if (strstr(msg, "does not match host name")) {
		/* server certificate for "a" (and 2 other names) does not match host name "b" */
		const char *f = strstr(msg, "certificate for "), *m = strstr(msg, " does not match");
		int len = f && m && m > f + 16 ? (int)(m - (f + 16)) : 0;
		terr_hint(e, "the server's certificate is for %.*s%snot for \"%s\", the host connected to; connect by a name the certificate lists, or use ssl_mode verify-ca",
		    len, len ? f + 16 : "", len ? ", " : "", c->host);
	} else if (strstr(msg, "requires a valid client certificate")) {
		terr_hint(e, "the server wants a client certificate for role \"%s\" (a cert rule in pg_hba.conf); give ssl_client_cert and ssl_client_key",
		    c->username);
	} else if (strstr(msg, "certificate authentication failed")) {
		terr_hint(e, "the client certificate's common name must be the role name \"%s\" (or be mapped to it in pg_ident.conf)",
		    c->username);
	} else if (strstr(msg, "could not load private key file") && pg.ssl_key_given) {
		e->kind = TE_CREDENTIAL;
		terr_code(e, "ssl_key_passphrase");
		terr_hint(e, "the passphrase does not decrypt the TLS client key %s; check it", c->ssl_client_key);
	} else if (strstr(msg, "could not load private key file")) {
		e->kind = TE_CREDENTIAL;
		terr_code(e, "ssl_key_passphrase");
		terr_hint(e, "the TLS client key %s could not be loaded; if a passphrase protects it, send ssl_key_passphrase with connect",
		    c->ssl_client_key);
	} else if (strstr(msg, "certificate file") || strstr(msg, "private key file")) {
		terr_hint(e, "check the client certificate and key files (paths, permissions: the key must be 0600)");
	} else if (strstr(msg, "root certificate file")) {
		terr_hint(e, "give the CA certificate in ssl_ca_cert");
	} else if (strstr(msg, "the database system is starting up") ||
	    strstr(msg, "the database system is shutting down")) {
		terr_hint(e, "the server is not accepting connections right now; try again shortly");
	} else if (strstr(msg, "too many clients") || strstr(msg, "remaining connection slots")) {
		terr_code(e, "53300");
		terr_hint(e, "the server has no free connection slots; close other sessions or raise max_connections");
	}
	free(msg);
}

/* A server error (a PGresult) into a tusk_error. */
static void
result_error(struct tusk_error *e, const PGresult *res)
{
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
	if (primary == NULL) {
		char *m = clean_message(PQresultErrorMessage(res));
		terr_set(e, TE_DATABASE, "%s", m);
		free(m);
	} else {
		terr_set(e, TE_DATABASE, "%s", primary);
	}
	if (code)
		terr_code(e, code);
	if (detail)
		terr_detail(e, "%s", detail);
	if (hint) {
		terr_hint(e, "%s", hint);
	} else if (code) {
		if (strcmp(code, "42601") == 0 && pos)
			terr_hint(e, "check the SQL at character %s", pos);
		else if (strcmp(code, "42P01") == 0)
			terr_hint(e, "check the table's name and schema (search_path)");
		else if (strcmp(code, "42703") == 0)
			terr_hint(e, "check the column's name; quote names with capitals");
		else if (strcmp(code, "25006") == 0)
			terr_hint(e, "this connection is read-only");
		else if (strcmp(code, "25P02") == 0)
			terr_hint(e, "an earlier statement failed: ROLLBACK the transaction to go on");
		else if (strcmp(code, "40001") == 0 || strcmp(code, "40P01") == 0)
			terr_hint(e, "the transaction conflicted with another one; run it again");
		else if (strcmp(code, "42501") == 0)
			terr_hint(e, "the role lacks the privilege; ask for a GRANT");
	}
	long long p;
	if (pos && parse_ll(pos, 1, INT32_MAX, &p) == 0)
		e->position = p;
	if (code && strcmp(code, "57014") == 0) {
		int64_t elapsed = pg.q ? (mono_us() - pg.q->started_us) / 1000 : -1;
		enum cancel_by by = pg.q ? pg.q->cancel : CANCEL_NONE;
		if (by == CANCEL_USER || by == CANCEL_CLOSE) {
			e->kind = TE_QUERY_CANCELLED;
		} else if (by == CANCEL_TIMEOUT || (primary && strstr(primary, "statement timeout"))) {
			e->kind = TE_QUERY_TIMEOUT;
			e->elapsed_ms = elapsed;
			free(e->message);
			e->message = xasprintf("the query ran longer than its timeout (%lld ms)",
			    (long long)elapsed);
			terr_hint(e, by == CANCEL_TIMEOUT ?
			    "raise timeout_ms, or make the query faster" :
			    "raise the connection's statement_timeout_ms, or make the query faster");
		}
	}
}

/* --- connecting ------------------------------------------------------------ */

/* A connect that cannot go on: answer the broker, then leave. */
static void
connect_fail(struct tusk_error *e, int status)
{
	log_debug("connect failed: %s", e->message);
	wk_reply_error(pg.connect_msgid, e);
	terr_clear(e);
	secret_free(pg.password);
	secret_free(pg.ssl_passphrase);
	pg.password = pg.ssl_passphrase = NULL;
	if (pg.ev_connect_timeout)
		evtimer_del(pg.ev_connect_timeout);
	resolve_cancel(pg.resolve);
	pg.resolve = NULL;
	pg_watch(0);
	if (pg.conn) {
		PQfinish(pg.conn);
		pg.conn = NULL;
	}
	tunnel_free();
	pg.state = PG_DEAD;
	wk_exit(status);
}

static void
connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	UNUSED(arg);
	struct tusk_error e = TUSK_ERROR_INIT;
	int64_t ms = (mono_us() - pg.connect_started_us) / 1000;
	if (pg.state == PG_RESOLVING) {
		const char *host = pg.cfg.ssh ? pg.cfg.ssh->host : pg.cfg.host;
		resolve_cancel(pg.resolve);
		pg.resolve = NULL;
		terr_set(&e, TE_CONNECTION, "could not translate host name \"%s\" to address: no answer within %lld ms",
		    host, (long long)ms);
		e.elapsed_ms = ms;
		terr_hint(&e, "the host name \"%s\" could not be resolved in time; check your DNS (/etc/resolv.conf)",
		    host);
	} else if (pg.state == PG_TUNNELLING) {
		tunnel_timeout_error(&e, (long long)ms, pg.connect_timeout_s);
	} else if (pg.state == PG_CONNECTING) {
		connect_error(&e, "timeout expired", ms);
		free(e.message);
		e.message = xasprintf("connection to %s:%d timed out after %lld ms", pg.cfg.host,
		    pg.cfg.port, (long long)ms);
	} else {
		return;
	}
	connect_fail(&e, 0);
}

/* Connected: report who we talk to, then load type names. */
static void
connect_done(void)
{
	PQsetnonblocking(pg.conn, 1);
	PQsetNoticeReceiver(pg.conn, notice_receiver, NULL);
	pg.cancel = PQgetCancel(pg.conn);
	pg.state = PG_READY;
	evtimer_del(pg.ev_connect_timeout);
	const char *ver = PQparameterStatus(pg.conn, "server_version");
	const char *proto = PQsslInUse(pg.conn) ? PQsslAttribute(pg.conn, "protocol") : NULL;
	const char *cipher = PQsslInUse(pg.conn) ? PQsslAttribute(pg.conn, "cipher") : NULL;
	msgpack_packer *pk = wk_reply_begin(pg.connect_msgid);
	msgpack_pack_map(pk, 6);
	mp_pack_key(pk, "backend_pid");
	msgpack_pack_int(pk, PQbackendPID(pg.conn));
	mp_pack_key(pk, "server_version");
	mp_pack_cstr(pk, ver);
	mp_pack_key(pk, "tls");
	if (PQsslInUse(pg.conn))
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	mp_pack_key(pk, "tls_version");
	mp_pack_cstr(pk, proto);
	mp_pack_key(pk, "tls_cipher");
	mp_pack_cstr(pk, cipher);
	mp_pack_key(pk, "ssh_tunnel");
	if (tunnel_active())
		tunnel_pack_info(pk);
	else
		msgpack_pack_nil(pk);
	log_debug("connected: backend %d, server %s%s%s%s", PQbackendPID(pg.conn), ver ? ver : "?",
	    proto ? ", " : "", proto ? proto : "", tunnel_active() ? ", through the SSH tunnel" : "");
	start_types_load();
}

/* Drive PQconnectPoll. */
static void
connect_step(void)
{
	switch (PQconnectPoll(pg.conn)) {
	case PGRES_POLLING_READING:
		pg_watch(EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		pg_watch(EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		pg_watch(0);
		connect_done();
		break;
	case PGRES_POLLING_FAILED:
	default: {
		struct tusk_error e = TUSK_ERROR_INIT;
		connect_error(&e, PQerrorMessage(pg.conn), (mono_us() - pg.connect_started_us) / 1000);
		connect_fail(&e, 0);
		break;
	}
	}
}

/* Build the server options string: timeouts and read-only sessions. */
static char *
session_options(const struct tusk_config *c)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_adds(&sb, "-c bytea_output=hex");
	if (c->statement_timeout_ms > 0)
		sb_addf(&sb, " -c statement_timeout=%lld", (long long)c->statement_timeout_ms);
	if (c->read_only)
		sb_adds(&sb, " -c default_transaction_read_only=on");
	return sb_detach(&sb);
}

/* Hand libpq the parameters: to the server (and its addresses, for a host
 * name), or to the tunnel's local end. */
static void
connect_begin(char *const *addrs, size_t naddrs)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	char port[8];
	bool tunnelled = tunnel_active();
	snprintf(port, sizeof port, "%d", tunnelled ? tunnel_local_port() : pg.cfg.port);
	char *options = session_options(&pg.cfg);
	struct strbuf hosts, hostaddrs;
	sb_init(&hosts);
	sb_init(&hostaddrs);
	if (tunnelled) {
		/* the database's own name: TLS checks the certificate against it */
		sb_adds(&hosts, pg.cfg.host);
		sb_adds(&hostaddrs, "127.0.0.1");
	} else if (naddrs > 0) {
		/* one name per address: libpq tries each, and checks TLS by the name */
		for (size_t i = 0; i < naddrs; i++) {
			sb_addf(&hosts, "%s%s", i ? "," : "", pg.cfg.host);
			sb_addf(&hostaddrs, "%s%s", i ? "," : "", addrs[i]);
		}
	} else {
		sb_adds(&hosts, pg.cfg.host);
		if (pg.cfg.host[0] != '/')
			sb_adds(&hostaddrs, pg.cfg.host); /* an IP literal: no lookup */
	}
	const char *kw[24], *val[24];
	int n = 0;
#define KV(k, v) do { kw[n] = (k); val[n] = (v); n++; } while (0)
	KV("host", hosts.buf);
	if (hostaddrs.len)
		KV("hostaddr", hostaddrs.buf);
	KV("port", port);
	KV("dbname", pg.cfg.database);
	KV("user", pg.cfg.username);
	if (pg.password)
		KV("password", pg.password);
	KV("passfile", NO_FILE);
	KV("sslmode", pg.cfg.ssl_mode);
	KV("sslrootcert", pg.cfg.ssl_ca_cert ? pg.cfg.ssl_ca_cert : NO_FILE);
	KV("sslcert", pg.cfg.ssl_client_cert ? pg.cfg.ssl_client_cert : NO_FILE);
	KV("sslkey", pg.cfg.ssl_client_key ? pg.cfg.ssl_client_key : NO_FILE);
	if (pg.ssl_passphrase)
		KV("sslpassword", pg.ssl_passphrase);
	KV("sslcrl", NO_FILE);
	KV("gssencmode", "disable");
	KV("application_name", "tusk");
	KV("client_encoding", "UTF8");
	KV("options", options);
	KV(NULL, NULL);
#undef KV
	pg.state = PG_CONNECTING;
	pg.conn = PQconnectStartParams(kw, val, 0);
	secret_free(pg.password);
	secret_free(pg.ssl_passphrase);
	pg.password = pg.ssl_passphrase = NULL;
	free(options);
	sb_free(&hosts);
	sb_free(&hostaddrs);
	if (pg.conn == NULL) {
		terr_set(&e, TE_INTERNAL, "libpq could not allocate a connection");
		connect_fail(&e, TUSK_EXIT_OOM);
		return;
	}
	connect_step(); /* reports a failure at once */
}

/* The tunnel is up: libpq connects through it. */
static void
tunnel_ready(void *arg)
{
	UNUSED(arg);
	if (pg.state == PG_TUNNELLING)
		connect_begin(NULL, 0);
}

/* The tunnel could not be set up. */
static void
tunnel_failed(struct tusk_error *e, void *arg)
{
	UNUSED(arg);
	if (pg.state == PG_TUNNELLING || pg.state == PG_CONNECTING)
		connect_fail(e, 0);
}

/* The tunnel broke under a working session: a clear Connection error, then leave. */
static void
tunnel_lost(struct tusk_error *e, void *arg)
{
	UNUSED(arg);
	if (pg.state == PG_TUNNELLING || pg.state == PG_CONNECTING) {
		connect_fail(e, 0);
		return;
	}
	if (pg.state != PG_READY)
		return;
	if (pg.q && !pg.q->internal)
		wk_reply_error(pg.q->msgid, e);
	if (pg.pending_id)
		wk_reply_error(pg.pending_msgid, e);
	if (pg.q) {
		query_free(pg.q);
		pg.q = NULL;
	}
	pg_watch(0);
	pg.state = PG_DEAD;
	wk_exit(TUSK_EXIT_TUNNEL_LOST);
}

static const struct tunnel_cbs tunnel_callbacks = {
	.ready = tunnel_ready,
	.failed = tunnel_failed,
	.lost = tunnel_lost,
};

/* The host to connect to by TCP (the database's, or the SSH server's) resolved. */
static void
connect_resolved(int err, const char *message, char *const *addrs, size_t n, void *arg)
{
	UNUSED(arg);
	pg.resolve = NULL;
	if (pg.state != PG_RESOLVING)
		return;
	struct tusk_error e = TUSK_ERROR_INIT;
	const char *host = pg.cfg.ssh ? pg.cfg.ssh->host : pg.cfg.host;
	if (err) {
		if (pg.cfg.ssh) {
			terr_set(&e, TE_CONNECTION, "could not translate the SSH server's host name \"%s\" to an address: %s",
			    host, message);
			terr_hint(&e, "the host name \"%s\" could not be resolved; check its spelling and your DNS",
			    host);
		} else {
			char *raw = xasprintf("could not translate host name \"%s\" to address: %s", host,
			    message);
			connect_error(&e, raw, (mono_us() - pg.connect_started_us) / 1000);
			free(raw);
		}
		connect_fail(&e, 0);
		return;
	}
	log_debug("%s resolved to %zu address%s (first %s)", host, n, n == 1 ? "" : "es", addrs[0]);
	if (pg.cfg.ssh) {
		pg.state = PG_TUNNELLING;
		if (tunnel_start(addrs, n, &e) < 0 && pg.state == PG_TUNNELLING)
			connect_fail(&e, 0);
		terr_clear(&e);
		return;
	}
	connect_begin(addrs, n);
}

void
pg_connect(uint32_t msgid, const struct params *params)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	if (pg.state != PG_NONE) {
		terr_set(&e, TE_INTERNAL, "worker: already connected");
		wk_reply_error(msgid, &e);
		terr_clear(&e);
		return;
	}
	pg.connect_msgid = msgid;
	pg.connect_started_us = mono_us();
	const msgpack_object *cfgo = params_get(params, "config");
	if (config_parse(cfgo, &pg.cfg, &e) < 0) {
		if (!terr_isset(&e))
			terr_set(&e, TE_INTERNAL, "worker: connect without a config");
		connect_fail(&e, 0);
		return;
	}
	pg.password = params_strdup(params, "password");
	pg.ssl_passphrase = params_strdup(params, "ssl_key_passphrase");
	pg.ssl_key_given = pg.ssl_passphrase != NULL;
	int64_t tos = params_int(params, "connect_timeout_s", 10);
	pg.connect_timeout_s = (int)MAX(1, MIN(tos, 3600));

	struct sbx_tunnel sbt = { 0 };
	char *kh = NULL, *ukh = NULL;
	if (pg.cfg.ssh) {
		/* the tunnel's local end exists before the sandbox narrows the network */
		if (tunnel_listen(&e) < 0) {
			connect_fail(&e, 0);
			return;
		}
		kh = params_strdup(params, "known_hosts");
		ukh = params_strdup(params, "user_known_hosts");
		sbt.local_port = tunnel_local_port();
		sbt.known_hosts = kh;
		sbt.user_known_hosts = ukh;
	}
	/* lock down to this connection before any byte goes to the network */
	if (sandbox_connection(&pg.cfg, pg.cfg.ssh ? &sbt : NULL, &e) < 0) {
		free(kh);
		free(ukh);
		connect_fail(&e, TUSK_EXIT_SANDBOX);
		return;
	}

	pg.ev_connect_timeout = evtimer_new(wk.base, connect_timeout_cb, NULL);
	struct timeval tv = { pg.connect_timeout_s, 0 };
	evtimer_add(pg.ev_connect_timeout, &tv);
	const char *tcp_host = pg.cfg.host;
	if (pg.cfg.ssh) {
		char *agent = params_strdup(params, "ssh_auth_sock");
		struct tunnel_opts o = {
			.cfg = &pg.cfg,
			.password = params_strdup(params, "ssh_password"),
			.passphrase = params_strdup(params, "ssh_key_passphrase"),
			.known_hosts = kh,
			.user_known_hosts = ukh,
			.agent_sock = agent,
		};
		int64_t kas = params_int(params, "ssh_keepalive_s", 0);
		if (kas > 0 && kas <= 3600)
			o.keepalive_s = (int)kas;
		tunnel_setup(wk.base, &o, &tunnel_callbacks, NULL);
		free(kh);
		free(ukh);
		free(agent);
		tcp_host = pg.cfg.ssh->host;
	}
	if (sandbox_host_needs_resolve(tcp_host)) {
		pg.state = PG_RESOLVING;
		pg.resolve = resolve_start(wk.base, tcp_host, connect_resolved, NULL, &e);
		if (pg.resolve == NULL)
			connect_fail(&e, 0);
		return;
	}
	if (pg.cfg.ssh) {
		pg.state = PG_TUNNELLING;
		if (tunnel_start(NULL, 0, &e) < 0 && pg.state == PG_TUNNELLING)
			connect_fail(&e, 0);
		terr_clear(&e);
		return;
	}
	connect_begin(NULL, 0);
}

/* --- queries ------------------------------------------------------------------- */

/* Notices (RAISE NOTICE, warnings) go to the broker with the query's id. */
static void
notice_receiver(void *arg, const PGresult *res)
{
	UNUSED(arg);
	if (wk.peer == NULL || rpc_peer_closing(wk.peer))
		return;
	msgpack_packer *pk = rpc_peer_packer(wk.peer);
	rpc_pack_notify_begin(pk, N_QUERY_NOTICE);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 6);
	mp_pack_key(pk, "query_id"); /* first: the broker routes on it */
	mp_pack_cstr(pk, pg.q && !pg.q->internal ? pg.q->id : NULL);
	mp_pack_key(pk, "severity");
	mp_pack_cstr(pk, PQresultErrorField(res, PG_DIAG_SEVERITY));
	mp_pack_key(pk, "message");
	mp_pack_cstr(pk, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	mp_pack_key(pk, "code");
	mp_pack_cstr(pk, PQresultErrorField(res, PG_DIAG_SQLSTATE));
	mp_pack_key(pk, "detail");
	mp_pack_cstr(pk, PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
	mp_pack_key(pk, "hint");
	mp_pack_cstr(pk, PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
}

/* libevent sent a batch buffer we lent it. */
static void
batch_free(const void *data, size_t len, void *arg)
{
	UNUSED(len);
	UNUSED(arg);
	free((void *)(uintptr_t)data);
}

/* Send the kept batch as one query_rows notification. */
static void
batch_flush(struct pgq *q)
{
	if (q->batch_rows == 0 || q->max_rows >= 0 || wk.peer == NULL)
		return;
	struct evbuffer *out = rpc_peer_output(wk.peer);
	msgpack_packer pk;
	rpc_packer_init(&pk, out);
	rpc_pack_notify_begin(&pk, N_QUERY_ROWS);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	mp_pack_key(&pk, "query_id");
	mp_pack_cstr(&pk, q->id);
	mp_pack_key(&pk, "rows");
	pack_array32(out, q->batch_rows);
	/* hand the rows' buffer to libevent instead of copying it */
	if (evbuffer_add_reference(out, q->rows.data, q->rows.len, batch_free, NULL) == 0)
		memset(&q->rows, 0, sizeof q->rows);
	else
		evbuffer_add(out, q->rows.data, q->rows.len);
	q->rows.len = 0;
	q->batch_rows = 0;
}

/* A new result set: remember its shape; stream its columns. */
static void
result_begin(const PGresult *res)
{
	struct pgq *q = pg.q;
	char buf[24];
	q->ncols = PQnfields(res);
	free(q->types);
	q->types = xcalloc((size_t)MAX(q->ncols, 1), sizeof *q->types);
	q->cols.len = 0;
	msgpack_packer *pk = pk_on(&q->cols);
	msgpack_pack_array(pk, (size_t)q->ncols);
	for (int i = 0; i < q->ncols; i++) {
		q->types[i] = PQftype(res, i);
		msgpack_pack_map(pk, 2);
		mp_pack_key(pk, "name");
		mp_pack_cstr(pk, PQfname(res, i));
		mp_pack_key(pk, "data_type");
		mp_pack_cstr(pk, type_name(q->types[i], buf, sizeof buf));
	}
	q->in_rows = true;
	if (q->max_rows >= 0) {
		/* one answer: only the last result set's rows are kept */
		q->rows.len = 0;
		q->kept_rows = 0;
	}
	if (q->max_rows < 0 && wk.peer) {
		batch_flush(q);
		msgpack_packer *npk = rpc_peer_packer(wk.peer);
		rpc_pack_notify_begin(npk, N_QUERY_COLUMNS);
		msgpack_pack_array(npk, 1);
		msgpack_pack_map(npk, 3);
		mp_pack_key(npk, "query_id");
		mp_pack_cstr(npk, q->id);
		mp_pack_key(npk, "result_index");
		msgpack_pack_int(npk, q->result_index);
		mp_pack_key(npk, "columns");
		evbuffer_add(rpc_peer_output(wk.peer), q->cols.data, q->cols.len);
	}
	q->result_index++;
}

/* Hex digit value, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* PostgreSQL's integer text (an optional '-' and digits) to int64. */
static bool
parse_int64(const char *s, size_t len, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (len > 0 && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len || len - i > 19)
		return false;
	uint64_t v = 0;
	for (; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (d > 9)
			return false;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return false;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)v;
	}
	return true;
}

/* One value in the contract's mapping. */
static void
pack_value(msgpack_packer *pk, const PGresult *res, int row, int col, Oid type)
{
	size_t len = (size_t)PQgetlength(res, row, col);
	/* NULL and '' both have length 0: only then ask which */
	if (len == 0 && PQgetisnull(res, row, col)) {
		msgpack_pack_nil(pk);
		return;
	}
	const char *v = PQgetvalue(res, row, col);
	char *end;
	switch (type) {
	case INT2OID:
	case INT4OID:
	case INT8OID: {
		int64_t n;
		if (parse_int64(v, len, &n)) {
			msgpack_pack_int64(pk, n);
			return;
		}
		break;
	}
	case OIDOID: {
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		if (errno == 0 && *end == '\0' && end != v) {
			msgpack_pack_uint64(pk, n);
			return;
		}
		break;
	}
	case FLOAT4OID:
	case FLOAT8OID: {
		double d = strtod(v, &end);
		if (*end == '\0' && end != v) {
			msgpack_pack_double(pk, d);
			return;
		}
		break;
	}
	case BOOLOID:
		if (v[0] == 't')
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		return;
	case BYTEAOID:
		if (len >= 2 && v[0] == '\\' && v[1] == 'x' && len % 2 == 0) {
			size_t n = (len - 2) / 2;
			msgpack_pack_bin(pk, n);
			char chunk[256];
			size_t c = 0;
			for (size_t i = 0; i < n; i++) {
				int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
				chunk[c++] = (char)((hi < 0 ? 0 : hi) << 4 | (lo < 0 ? 0 : lo));
				if (c == sizeof chunk) {
					msgpack_pack_bin_body(pk, chunk, c);
					c = 0;
				}
			}
			if (c)
				msgpack_pack_bin_body(pk, chunk, c);
			return;
		}
		break;
	default:
		break;
	}
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, v, len);
}

/* One row from single-row mode. */
static int
result_row(const PGresult *res)
{
	struct pgq *q = pg.q;
	q->row_count++;
	if (q->cancel != CANCEL_NONE)
		return 0; /* nobody wants the rest */
	if (q->max_rows >= 0 && (q->kept_rows >= (uint64_t)q->max_rows || q->truncated)) {
		q->truncated = true;
		return 0;
	}
	size_t before = q->rows.len;
	msgpack_packer *pk = pk_on(&q->rows);
	msgpack_pack_array(pk, (size_t)q->ncols);
	for (int i = 0; i < q->ncols; i++)
		pack_value(pk, res, 0, i, q->types[i]);
	if (q->rows.len - before > ROW_MAX) {
		q->rows.len = before;
		terr_set(&q->err, TE_DATABASE, "row %llu is larger than Tusk's %u MiB limit for one row",
		    (unsigned long long)q->row_count, ROW_MAX >> 20);
		terr_hint(&q->err, "select less of the large columns (e.g. left(col, 1000) or length(col))");
		return -1;
	}
	if (q->max_rows >= 0) {
		if (q->rows.len > RESULT_MAX) {
			q->rows.len = before;
			q->truncated = true;
			return 0;
		}
		q->kept_rows++;
		return 0;
	}
	q->batch_rows++;
	if (q->rows.len >= ROW_BATCH_BYTES)
		batch_flush(q);
	return 0;
}

/* The internal type-name load finished. */
static void
types_loaded(const PGresult *res)
{
	types_free();
	int n = PQntuples(res);
	pg.types = xcalloc((size_t)MAX(n, 1), sizeof *pg.types);
	for (int i = 0; i < n; i++) {
		pg.types[pg.ntypes].oid = (Oid)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		pg.types[pg.ntypes].name = xstrdup(PQgetvalue(res, i, 1));
		pg.ntypes++;
	}
	qsort(pg.types, pg.ntypes, sizeof *pg.types, type_cmp);
	pg.types_stale = false;
}

/* COPY TO STDOUT: each line becomes a row of one text column. */
static void
copy_out_rows(void)
{
	struct pgq *q = pg.q;
	char *line;
	int n;
	while ((n = PQgetCopyData(pg.conn, &line, 1)) > 0) {
		size_t len = (size_t)n;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		q->row_count++;
		if (q->max_rows < 0 || q->kept_rows < (uint64_t)q->max_rows) {
			msgpack_packer *pk = pk_on(&q->rows);
			msgpack_pack_array(pk, 1);
			msgpack_pack_str(pk, len);
			msgpack_pack_str_body(pk, line, len);
			if (q->max_rows >= 0)
				q->kept_rows++;
			else if (++q->batch_rows, q->rows.len >= ROW_BATCH_BYTES)
				batch_flush(q);
		} else {
			q->truncated = true;
		}
		PQfreemem(line);
	}
	if (n == -1)
		q->copy_out = false; /* done: PQgetResult gives the final status */
}

/* Start the COPY TO STDOUT stream as a one-column result. */
static void
copy_out_begin(void)
{
	struct pgq *q = pg.q;
	q->ncols = 1;
	free(q->types);
	q->types = xcalloc(1, sizeof *q->types);
	q->cols.len = 0;
	msgpack_packer *pk = pk_on(&q->cols);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2);
	mp_pack_key(pk, "name");
	mp_pack_cstr(pk, "copy");
	mp_pack_key(pk, "data_type");
	mp_pack_cstr(pk, "text");
	if (q->max_rows < 0 && wk.peer) {
		msgpack_packer *npk = rpc_peer_packer(wk.peer);
		rpc_pack_notify_begin(npk, N_QUERY_COLUMNS);
		msgpack_pack_array(npk, 1);
		msgpack_pack_map(npk, 3);
		mp_pack_key(npk, "query_id");
		mp_pack_cstr(npk, q->id);
		mp_pack_key(npk, "result_index");
		msgpack_pack_int(npk, q->result_index);
		mp_pack_key(npk, "columns");
		evbuffer_add(rpc_peer_output(wk.peer), q->cols.data, q->cols.len);
	}
	q->result_index++;
	q->copy_out = true;
}

/* Take every result libpq has ready, within backpressure. */
static void
process_results(void)
{
	while (pg.q && !pg.paused) {
		struct pgq *q = pg.q;
		if (q->copy_out) {
			copy_out_rows();
			if (q->copy_out) {
				if (wk.peer && rpc_peer_output_len(wk.peer) > OUT_HIGH)
					pg.paused = true;
				break; /* wait for more copy data */
			}
			continue;
		}
		if (PQisBusy(pg.conn))
			break;
		PGresult *res = PQgetResult(pg.conn);
		if (res == NULL) {
			query_finish();
			return;
		}
		switch (PQresultStatus(res)) {
		case PGRES_SINGLE_TUPLE:
			if (!q->in_rows)
				result_begin(res);
			if (!terr_isset(&q->err) && result_row(res) < 0) {
				/* the row is too large: stop the query */
				if (pg.cancel) {
					q->cancel = CANCEL_CLOSE;
					cancel_send(0);
				}
			}
			break;
		case PGRES_TUPLES_OK:
			if (q->internal) {
				types_loaded(res);
				break;
			}
			if (!q->in_rows)
				result_begin(res); /* a result without rows still has columns */
			q->in_rows = false;
			free(q->command_tag);
			q->command_tag = xstrdup(PQcmdStatus(res));
			free(q->rows_affected);
			q->rows_affected = xstrdup(PQcmdTuples(res));
			break;
		case PGRES_COMMAND_OK:
			free(q->command_tag);
			q->command_tag = xstrdup(PQcmdStatus(res));
			free(q->rows_affected);
			q->rows_affected = xstrdup(PQcmdTuples(res));
			break;
		case PGRES_EMPTY_QUERY:
			break;
		case PGRES_COPY_OUT:
			copy_out_begin();
			break;
		case PGRES_COPY_IN:
			PQputCopyEnd(pg.conn, "COPY FROM STDIN is not supported by Tusk");
			if (!terr_isset(&q->err)) {
				terr_set(&q->err, TE_DATABASE, "COPY FROM STDIN is not supported");
				terr_hint(&q->err, "load files with COPY FROM a server-side file, or with psql's \\copy");
			}
			break;
		case PGRES_FATAL_ERROR:
			if (!terr_isset(&q->err))
				result_error(&q->err, res);
			q->in_rows = false;
			break;
		default:
			break;
		}
		PQclear(res);
		if (wk.peer && rpc_peer_output_len(wk.peer) > OUT_HIGH) {
			pg.paused = true; /* the broker is behind: let the server wait */
			log_trace("pausing the server stream (%zu bytes queued)",
			    rpc_peer_output_len(wk.peer));
		}
	}
	if (pg.conn && pg.state == PG_READY)
		pg_watch_query();
}

/* Free a finished query. */
static void
query_free(struct pgq *q)
{
	if (q->ev_timeout)
		event_free(q->ev_timeout);
	free(q->id);
	free(q->types);
	free(q->command_tag);
	free(q->rows_affected);
	terr_clear(&q->err);
	obuf_free(&q->cols);
	obuf_free(&q->rows);
	free(q);
}

/* Transaction status after the query, for the client's display. */
static const char *
tx_status(void)
{
	switch (PQtransactionStatus(pg.conn)) {
	case PQTRANS_IDLE: return "idle";
	case PQTRANS_INTRANS: return "in_transaction";
	case PQTRANS_INERROR: return "failed_transaction";
	case PQTRANS_ACTIVE: return "active";
	default: return "unknown";
	}
}

/* All results are in: answer the broker, start what waits. */
static void
query_finish(void)
{
	struct pgq *q = pg.q;
	pg.q = NULL;
	if (q->internal) {
		query_free(q);
	} else if (terr_isset(&q->err)) {
		batch_flush(q);
		wk_reply_error(q->msgid, &q->err);
		log_debug("query %s failed: %s", q->id, q->err.message);
		query_free(q);
	} else {
		batch_flush(q);
		double elapsed = (double)(mono_us() - q->started_us) / 1000.0;
		struct evbuffer *out = rpc_peer_output(wk.peer);
		msgpack_packer pk;
		rpc_packer_init(&pk, out);
		rpc_pack_reply_begin(&pk, q->msgid);
		msgpack_pack_map(&pk, 10);
		mp_pack_key(&pk, "query_id");
		mp_pack_cstr(&pk, q->id);
		mp_pack_key(&pk, "columns");
		if (q->cols.len)
			evbuffer_add(out, q->cols.data, q->cols.len);
		else
			msgpack_pack_array(&pk, 0);
		mp_pack_key(&pk, "rows");
		if (q->max_rows >= 0) {
			pack_array32(out, (uint32_t)q->kept_rows);
			evbuffer_add(out, q->rows.data, q->rows.len);
		} else {
			msgpack_pack_array(&pk, 0);
		}
		mp_pack_key(&pk, "row_count");
		msgpack_pack_uint64(&pk, q->row_count);
		mp_pack_key(&pk, "truncated");
		if (q->truncated)
			msgpack_pack_true(&pk);
		else
			msgpack_pack_false(&pk);
		mp_pack_key(&pk, "elapsed_ms");
		msgpack_pack_double(&pk, elapsed);
		mp_pack_key(&pk, "command_tag");
		mp_pack_cstr(&pk, q->command_tag);
		mp_pack_key(&pk, "rows_affected");
		long long ra;
		if (q->rows_affected && parse_ll(q->rows_affected, 0, INT64_MAX, &ra) == 0)
			msgpack_pack_int64(&pk, ra);
		else
			msgpack_pack_nil(&pk);
		mp_pack_key(&pk, "result_sets");
		msgpack_pack_int(&pk, q->result_index);
		mp_pack_key(&pk, "transaction");
		mp_pack_cstr(&pk, tx_status());
		log_debug("query %s done: %llu rows in %.1f ms", q->id, (unsigned long long)q->row_count,
		    elapsed);
		query_free(q);
	}
	if (pg.types_stale) {
		start_types_load();
		return;
	}
	if (pg.pending_id) {
		char *id = pg.pending_id, *sql = pg.pending_sql;
		pg.pending_id = pg.pending_sql = NULL;
		start_user_query(pg.pending_msgid, id, sql, pg.pending_max_rows, pg.pending_timeout_ms);
		return;
	}
	pg_watch_query();
}

/* The query ran past its timeout_ms: cancel it, report a timeout. */
static void
query_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	UNUSED(arg);
	if (pg.q == NULL || pg.cancel == NULL || pg.q->cancel != CANCEL_NONE)
		return;
	pg.q->cancel = CANCEL_TIMEOUT;
	log_debug("query %s: timeout after %lld ms, cancelling", pg.q->id, (long long)pg.q->timeout_ms);
	cancel_send(0);
}

/* Send a query to the server. */
static int
send_query(struct pgq *q, const char *sql)
{
	pg.q = q;
	q->started_us = mono_us();
	if (!PQsendQuery(pg.conn, sql)) {
		char *m = clean_message(PQerrorMessage(pg.conn));
		terr_set(&q->err, TE_CONNECTION, "%s", m);
		free(m);
		terr_hint(&q->err, "the connection to the server is broken; connect again");
		return -1;
	}
	if (!q->internal)
		PQsetSingleRowMode(pg.conn);
	if (q->timeout_ms > 0) {
		q->ev_timeout = evtimer_new(wk.base, query_timeout_cb, NULL);
		struct timeval tv = { q->timeout_ms / 1000, (q->timeout_ms % 1000) * 1000 };
		evtimer_add(q->ev_timeout, &tv);
	}
	pg_watch_query();
	return 0;
}

/* Load the type names (pg_type) on our own account. */
static void
start_types_load(void)
{
	struct pgq *q = xcalloc(1, sizeof *q);
	q->id = xstrdup("types");
	q->internal = true;
	q->max_rows = -1;
	if (send_query(q, "select oid::int8, typname::text from pg_catalog.pg_type") < 0) {
		log_warn("cannot load type names: %s", q->err.message);
		pg.q = NULL;
		query_free(q);
	}
}

/* A user's query (takes id and sql). */
static int
start_user_query(uint32_t msgid, char *id, char *sql, int64_t max_rows, int64_t timeout_ms)
{
	struct pgq *q = xcalloc(1, sizeof *q);
	q->id = id;
	q->msgid = msgid;
	q->max_rows = max_rows;
	q->timeout_ms = timeout_ms;
	int r = send_query(q, sql);
	free(sql);
	if (r < 0) {
		pg.q = NULL;
		wk_reply_error(msgid, &q->err);
		query_free(q);
		return -1;
	}
	return 0;
}

void
pg_query(uint32_t msgid, const struct params *params)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	if (pg.state != PG_READY || pg.close_done) {
		terr_set(&e, TE_INTERNAL, "worker: not connected");
		wk_reply_error(msgid, &e);
		terr_clear(&e);
		return;
	}
	int64_t max_rows = params_int(params, "max_rows", -1);
	int64_t timeout_ms = params_int(params, "timeout_ms", -1);
	if ((pg.q && !pg.q->internal) || pg.pending_id) {
		terr_set(&e, TE_INTERNAL, "worker: a query is already running");
		wk_reply_error(msgid, &e);
		terr_clear(&e);
		return;
	}
	if (pg.q) {
		/* the type names are loading: this one goes next */
		pg.pending_msgid = msgid;
		pg.pending_id = params_strdup(params, "query_id");
		pg.pending_sql = params_strdup(params, "sql");
		pg.pending_max_rows = max_rows;
		pg.pending_timeout_ms = timeout_ms;
		return;
	}
	start_user_query(msgid, params_strdup(params, "query_id"), params_strdup(params, "sql"), max_rows,
	    timeout_ms);
}

/* Answer the cancel orders that waited for the running cancel. */
static void
cancel_answer(bool sent)
{
	for (int i = 0; i < pg.ncancel_waiters; i++) {
		msgpack_packer *pk = wk_reply_begin(pg.cancel_waiters[i]);
		msgpack_pack_map(pk, 1);
		mp_pack_key(pk, "sent");
		if (sent)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
	}
	pg.ncancel_waiters = 0;
}

static void close_finish(void);

/* PQcancel returned (on its thread, or here). */
static void
cancel_done(bool sent, const char *error, void *arg)
{
	UNUSED(arg);
	if (!sent)
		log_warn("cancel failed: %s", error && *error ? error : "unknown error");
	else
		log_debug("cancel request delivered");
	cancel_answer(sent);
	if (pg.close_done) {
		close_finish();
		return;
	}
	/* rows of a cancelled query are dropped: a paused stream can move on */
	if (sent && pg.paused && pg.state == PG_READY) {
		pg.paused = false;
		process_results();
	}
}

/*
 * Ask the server to cancel what runs; msgid (0: none) is answered {sent}
 * when the request was delivered. Off the loop on a thread; without one, a
 * direct connection falls back to the blocking call (through a tunnel that
 * would wait for the loop forever, so it reports failure instead).
 */
static void
cancel_send(uint32_t msgid)
{
	if (msgid) {
		if (pg.ncancel_waiters == CANCEL_WAITERS) {
			msgpack_packer *pk = wk_reply_begin(msgid);
			msgpack_pack_map(pk, 1);
			mp_pack_key(pk, "sent");
			msgpack_pack_true(pk); /* one is on its way */
			return;
		}
		pg.cancel_waiters[pg.ncancel_waiters++] = msgid;
	}
	if (cancel_running())
		return; /* answered when the running one returns */
	if (cancel_start(wk.base, pg.cancel, cancel_done, NULL) == 0)
		return;
	if (tunnel_active()) {
		cancel_done(false, "no thread to send it on", NULL);
		return;
	}
	char eb[256] = "";
	bool sent = PQcancel(pg.cancel, eb, sizeof eb) == 1;
	cancel_done(sent, eb, NULL);
}

void
pg_cancel(uint32_t msgid, const struct params *params)
{
	const msgpack_object *id = params_get(params, "query_id");
	if (pg.pending_id && mo_str_eq(id, pg.pending_id)) {
		/* it never reached the server */
		struct tusk_error e = TUSK_ERROR_INIT;
		terr_set(&e, TE_QUERY_CANCELLED, "canceling statement due to user request");
		terr_code(&e, "57014");
		wk_reply_error(pg.pending_msgid, &e);
		terr_clear(&e);
		free(pg.pending_id);
		free(pg.pending_sql);
		pg.pending_id = pg.pending_sql = NULL;
		msgpack_packer *pk = wk_reply_begin(msgid);
		msgpack_pack_map(pk, 1);
		mp_pack_key(pk, "sent");
		msgpack_pack_true(pk);
		return;
	}
	if (pg.q && !pg.q->internal && mo_str_eq(id, pg.q->id) && pg.cancel && !pg.close_done) {
		if (pg.q->cancel == CANCEL_NONE)
			pg.q->cancel = CANCEL_USER;
		log_debug("cancelling %s", pg.q->id);
		cancel_send(msgid);
		return;
	}
	msgpack_packer *pk = wk_reply_begin(msgid);
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "sent");
	msgpack_pack_false(pk);
}

/* The broker caught up: read the server again. */
void
pg_output_drained(void)
{
	if (!pg.paused)
		return;
	pg.paused = false;
	log_trace("resuming the server stream");
	process_results();
}

/* Socket events: connecting, or results arriving. */
static void
pg_event(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(arg);
	if (pg.state == PG_CONNECTING) {
		connect_step();
		return;
	}
	if (pg.state != PG_READY)
		return;
	if (what & EV_WRITE) {
		if (PQflush(pg.conn) < 0)
			goto broken;
	}
	if (what & EV_READ) {
		if (!PQconsumeInput(pg.conn))
			goto broken;
	}
	if (pg.q) {
		process_results();
	} else {
		/* idle: drain notices, notice a closed connection */
		PGresult *res;
		while (!PQisBusy(pg.conn) && (res = PQgetResult(pg.conn)) != NULL)
			PQclear(res);
		if (PQstatus(pg.conn) == CONNECTION_BAD)
			goto broken;
	}
	return;
broken: {
	struct tusk_error e = TUSK_ERROR_INIT;
	char *m = clean_message(PQerrorMessage(pg.conn));
	terr_set(&e, TE_CONNECTION, "the connection to the server was lost: %s", m);
	free(m);
	terr_hint(&e, "the server closed the session (restart, idle timeout, or pg_terminate_backend); connect again");
	log_warn("%s", e.message);
	if (pg.q && !pg.q->internal)
		wk_reply_error(pg.q->msgid, &e);
	if (pg.pending_id)
		wk_reply_error(pg.pending_msgid, &e);
	terr_clear(&e);
	if (pg.q) {
		query_free(pg.q);
		pg.q = NULL;
	}
	pg_watch(0);
	pg.state = PG_DEAD;
	wk_exit(TUSK_EXIT_SERVER_LOST);
}
}

void
pg_init(void)
{
	memset(&pg, 0, sizeof pg);
	pg.ev_fd = -1;
	config_init(&pg.cfg);
	/*
	 * Without a hook and without sslpassword, OpenSSL asks for an
	 * encrypted client key's passphrase on the terminal, which would hang
	 * a worker started from one. libpq's own default hook only ever gives
	 * sslpassword (or nothing): installing it turns the prompt off.
	 */
	PQsetSSLKeyPassHook_OpenSSL(PQdefaultSSLKeyPassHook_OpenSSL);
}

/* The wait for a closing cancel is over: finish the close. */
static void
close_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	UNUSED(arg);
	log_warn("closing: the cancel did not return within %d ms", CLOSE_CANCEL_MS);
	close_finish();
}

/* End the session and the tunnel, then tell whoever asked. */
static void
close_finish(void)
{
	pg_closed_fn done = pg.close_done;
	void *arg = pg.close_arg;
	if (done == NULL)
		return;
	pg.close_done = NULL;
	pg_shutdown();
	done(arg);
}

void
pg_close(pg_closed_fn done, void *arg)
{
	if (pg.close_done)
		return; /* already closing: that close ends the process */
	pg.close_done = done;
	pg.close_arg = arg;
	if (pg.conn && pg.q && !pg.q->internal && pg.cancel && pg.state == PG_READY) {
		/* the server should stop what runs, not just lose its client */
		pg.q->cancel = CANCEL_CLOSE;
		cancel_send(0);
		if (pg.close_done && cancel_running()) {
			struct timeval tv = { CLOSE_CANCEL_MS / 1000, (CLOSE_CANCEL_MS % 1000) * 1000 };
			pg.ev_close = evtimer_new(wk.base, close_timeout_cb, NULL);
			evtimer_add(pg.ev_close, &tv);
			return;
		}
	}
	close_finish();
}

/* End the session now (after pg_close's cancel, or at exit). */
void
pg_shutdown(void)
{
	pg_watch(0);
	if (pg.q) {
		query_free(pg.q);
		pg.q = NULL;
	}
	free(pg.pending_id);
	free(pg.pending_sql);
	pg.pending_id = pg.pending_sql = NULL;
	resolve_cancel(pg.resolve);
	pg.resolve = NULL;
	secret_free(pg.password);
	secret_free(pg.ssl_passphrase);
	pg.password = pg.ssl_passphrase = NULL;
	if (pg.ev_connect_timeout) {
		event_free(pg.ev_connect_timeout);
		pg.ev_connect_timeout = NULL;
	}
	if (pg.ev_close) {
		event_free(pg.ev_close);
		pg.ev_close = NULL;
	}
	if (pg.cancel) {
		if (cancel_running())
			cancel_forget(); /* its thread may still use pg.cancel: leave it be */
		else
			PQfreeCancel(pg.cancel);
		pg.cancel = NULL;
	}
	if (pg.conn) {
		PQfinish(pg.conn); /* through a tunnel, its goodbye is forwarded next */
		pg.conn = NULL;
	}
	tunnel_close();
	pg.state = PG_DEAD;
	types_free();
	config_free(&pg.cfg);
}

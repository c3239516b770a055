/*
 * pg-connect.c — connecting: the connection's sandbox layer, the host name
 * resolved on the loop, the SSH tunnel, libpq's non-blocking connect with
 * our own deadline, and connect errors turned into hints that tell the
 * cases apart (see pg.c's top comment for the whole story).
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
#include "pg.h"
#include "proto.h"
#include "resolve.h"
#include "sandbox-policy.h"
#include "sandbox.h"
#include "tunnel.h"
#include "util.h"
#include "worker.h"

/* Turn a failed connect into an error with a hint that names the case. */
static void
connect_error(struct tusk_error *e, const char *raw, int64_t elapsed_ms)
{
	const struct tusk_config *c = &pg.cfg;
	char *msg = pg_clean_message(raw);
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

/* The connect timeout: fail the step still running (resolving, tunnelling or connecting). */
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
	PQsetNoticeReceiver(pg.conn, pg_notice_receiver, NULL);
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
	pg_types_load();
}

/* Drive PQconnectPoll. */
void
pg_connect_step(void)
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
	pg_connect_step(); /* reports a failure at once */
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
	if (pg.pending)
		wk_reply_error(pg.pending->msgid, e);
	if (pg.q) {
		pg_query_free(pg.q);
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
/*
 * The connection's own sandbox layer, before any byte goes to the network:
 * an SSH tunnel's local end is made first (the layer then lets libpq reach
 * it), and the known_hosts files the tunnel reads are let in. 0, or the
 * exit status connect_fail takes: 0 when the tunnel's end could not be
 * made (the worker lives on to report it), TUSK_EXIT_SANDBOX when the
 * sandbox could not be applied.
 */
static int
connect_lock_down(const struct params *params, struct tusk_error *e)
{
	struct sbx_tunnel sbt = { 0 };
	char *kh = NULL, *ukh = NULL;
	if (pg.cfg.ssh) {
		if (tunnel_listen(e) < 0)
			return 0;
		kh = params_strdup(params, "known_hosts");
		ukh = params_strdup(params, "user_known_hosts");
		sbt.local_port = tunnel_local_port();
		sbt.known_hosts = kh;
		sbt.user_known_hosts = ukh;
	}
	int r = sandbox_connection(&pg.cfg, pg.cfg.ssh ? &sbt : NULL, e);
	free(kh);
	free(ukh);
	return r < 0 ? TUSK_EXIT_SANDBOX : 0;
}

/* Hand the tunnel what it needs (its secrets move to it). */
static void
connect_tunnel_setup(const struct params *params)
{
	char *kh = params_strdup(params, "known_hosts"), *ukh = params_strdup(params, "user_known_hosts");
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
}

/* Go: resolve the name first if it needs it, else tunnel or connect now. */
static void
connect_route(void)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	const char *tcp_host = pg.cfg.ssh ? pg.cfg.ssh->host : pg.cfg.host;
	if (sandbox_host_needs_resolve(tcp_host)) {
		pg.state = PG_RESOLVING;
		pg.resolve = resolve_start(wk.base, tcp_host, connect_resolved, NULL, &e);
		if (pg.resolve == NULL)
			connect_fail(&e, 0);
		terr_clear(&e);
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
	if (config_parse(params_get(params, "config"), &pg.cfg, &e) < 0) {
		connect_fail(&e, 0);
		return;
	}
	pg.password = params_strdup(params, "password");
	pg.ssl_passphrase = params_strdup(params, "ssl_key_passphrase");
	pg.ssl_key_given = pg.ssl_passphrase != NULL;
	int64_t tos = params_int(params, "connect_timeout_s", 10);
	pg.connect_timeout_s = (int)MAX(1, MIN(tos, 3600));
	int status = connect_lock_down(params, &e);
	if (terr_isset(&e)) {
		connect_fail(&e, status);
		return;
	}
	/* the deadline covers name resolution and the tunnel too */
	pg.ev_connect_timeout = evtimer_new(wk.base, connect_timeout_cb, NULL);
	struct timeval tv = { pg.connect_timeout_s, 0 };
	if (pg.ev_connect_timeout == NULL || evtimer_add(pg.ev_connect_timeout, &tv) < 0)
		wk_exit(TUSK_EXIT_OOM);
	if (pg.cfg.ssh)
		connect_tunnel_setup(params);
	connect_route();
}

/*
 * pg.c — the worker's PostgreSQL session (pg.h lists its files): connect, run,
 * stream, cancel; this file holds the socket watching, the cancel and the close.
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
 * QueryCancelled or QueryTimeout depending on who asked. A cancel request
 * names no query, and the backend ignores one that arrives before the
 * query does: so the next query starts only once the request was delivered,
 * and a query still running RECANCEL_MS after its cancel gets it again.
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
#include "pg.h"
#include "proto.h"
#include "resolve.h"
#include "sandbox-policy.h"
#include "sandbox.h"
#include "tunnel.h"
#include "util.h"
#include "worker.h"

struct pg_session pg;

static void pg_event(evutil_socket_t fd, short what, void *arg);
static void close_finish(void);

/* --- small buffers -------------------------------------------------------- */

/* Packer callback into an obuf. */
int
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

/* Free an output buffer and clear it. */
void
obuf_free(struct obuf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* A packer appending to b. */
msgpack_packer *
obuf_packer(struct obuf *b)
{
	msgpack_packer_init(&pg.pk, b, obuf_write);
	return &pg.pk;
}

/* array32 header: a count filled in before the bytes are sent. */
void
pack_array32(struct evbuffer *out, uint32_t n)
{
	uint8_t h[5] = { 0xdd, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	evbuffer_add(out, h, sizeof h);
}

/* --- type names ------------------------------------------------------------ */

/* --- socket watching ------------------------------------------------------ */

/* Watch the server socket for what (EV_READ / EV_WRITE), or nothing. */
void
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
void
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
char *
pg_clean_message(const char *msg)
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
		char *last = pg_clean_message(nl + 1);
		free(s);
		return last;
	}
	return s;
}

/* --- connecting ------------------------------------------------------------ */

/* --- queries ------------------------------------------------------------------- */

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


/* A cancelled query still runs: the request may have reached the backend
 * before the query did (it then ignores it, as between two queries). */
static void
recancel_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgq *q = arg;
	UNUSED(fd);
	UNUSED(what);
	if (pg.q != q || pg.close_done || pg.state != PG_READY)
		return;
	log_debug("query %s still runs after its cancel: cancelling again", q->id);
	pg_cancel_send(0);
}

/* Send the cancel again if the query it was for is still running a while
 * after it was delivered. */
static void
recancel_arm(void)
{
	struct pgq *q = pg.q;
	if (q == NULL || q->internal || q->cancel == CANCEL_NONE)
		return;
	if (q->ev_recancel == NULL && (q->ev_recancel = evtimer_new(wk.base, recancel_cb, q)) == NULL)
		return;
	struct timeval tv = { RECANCEL_MS / 1000, (RECANCEL_MS % 1000) * 1000 };
	evtimer_add(q->ev_recancel, &tv);
}

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
		pg_process_results();
	}
	/* the cancel reached the server: a query waiting for it may start, and
	 * the one it was for should end soon (else it is sent again) */
	if (sent)
		recancel_arm();
	pg_pending_start();
}

/*
 * Ask the server to cancel what runs; msgid (0: none) is answered {sent}
 * when the request was delivered. Off the loop on a thread; without one, a
 * direct connection falls back to the blocking call (through a tunnel that
 * would wait for the loop forever, so it reports failure instead).
 */
void
pg_cancel_send(uint32_t msgid)
{
	if (msgid) {
		if (pg.ncancel_waiters == CANCEL_WAITERS) {
			/* the broker bounds what it asks; a flood gets the truth */
			struct tusk_error e = TUSK_ERROR_INIT;
			terr_set(&e, TE_INTERNAL, "worker: %d cancel orders already wait for the running cancel",
			    CANCEL_WAITERS);
			wk_reply_error(msgid, &e);
			terr_clear(&e);
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

/* An order cancelled before it reached the server: it ends as cancelled,
 * and the cancel order (cancel_msgid) is answered as sent. */
static void
cancel_unsent(uint32_t order_msgid, uint32_t cancel_msgid)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	terr_set(&e, TE_QUERY_CANCELLED, "canceling statement due to user request");
	terr_code(&e, "57014");
	wk_reply_error(order_msgid, &e);
	terr_clear(&e);
	msgpack_packer *pk = wk_reply_begin(cancel_msgid);
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "sent");
	msgpack_pack_true(pk);
}

/* cancel {query_id}: one that waits ends here; a running one gets a cancel
 * request (answered with whether it reached the server). */
void
pg_cancel(uint32_t msgid, const struct params *params)
{
	const msgpack_object *id = params_get(params, "query_id");
	if (pg.pending && mo_str_eq(id, pg.pending->id)) {
		/* it never reached the server */
		cancel_unsent(pg.pending->msgid, msgid);
		qorder_free(pg.pending);
		pg.pending = NULL;
		return;
	}
	if (pg.waiting && mo_str_eq(id, pg.waiting->id)) {
		/* an order's own work that never reached the server */
		cancel_unsent(pg.waiting->msgid, msgid);
		pg_query_free(pg.waiting);
		pg.waiting = NULL;
		return;
	}
	if (pg.q && !pg.q->internal && mo_str_eq(id, pg.q->id) && pg.cancel && !pg.close_done) {
		if (pg.q->cancel == CANCEL_NONE)
			pg.q->cancel = CANCEL_USER;
		log_debug("cancelling %s", pg.q->id);
		/* an import's COPY fails on purpose (no more data: the server
		 * rolls it back); the cancel request ends what the server is
		 * still doing with the data it has */
		pg_copy_cancel();
		pg_cancel_send(msgid);
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
	pg_process_results();
}

/* Socket events: connecting, or results arriving. */
static void
pg_event(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(arg);
	if (pg.state == PG_CONNECTING) {
		pg_connect_step();
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
		pg_process_results();
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
	char *m = pg_clean_message(PQerrorMessage(pg.conn));
	terr_set(&e, TE_CONNECTION, "the connection to the server was lost: %s", m);
	free(m);
	terr_hint(&e, "the server closed the session (restart, idle timeout, or pg_terminate_backend); connect again");
	log_warn("%s", e.message);
	if (pg.q && !pg.q->internal)
		wk_reply_error(pg.q->msgid, &e);
	if (pg.pending)
		wk_reply_error(pg.pending->msgid, &e);
	if (pg.waiting)
		wk_reply_error(pg.waiting->msgid, &e);
	terr_clear(&e);
	if (pg.q) {
		pg_query_free(pg.q);
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
		pg_cancel_send(0);
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
		pg_query_free(pg.q);
		pg.q = NULL;
	}
	qorder_free(pg.pending);
	pg.pending = NULL;
	if (pg.waiting) {
		pg_query_free(pg.waiting);
		pg.waiting = NULL;
	}
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
	pg_types_free();
	config_free(&pg.cfg);
}

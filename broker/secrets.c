/*
 * secrets.c — passwords of saved connections (database, SSH, SSH key
 * passphrase), behind an asynchronous interface.
 *
 * The interface is the one a keychain needs: a Secret Service call goes over
 * D-Bus and may wait for an unlock prompt, so it must run off the loop
 * thread and answer later. Every operation therefore answers through its
 * callback on a later loop turn, never inside the call, in the order the
 * operations were made (one queue, drained by one event).
 *
 * Secrets go to the OS keychain (keychain.c: the Secret Service on a
 * thread of its own, bounded in time, never prompting). When the keychain
 * is missing, locked or hung, the secret is kept in broker memory for the
 * session only, and the caller gets a warning saying so with the
 * keychain's own reason and hint: nothing ever reaches the disk. Session
 * copies are wiped (explicit_bzero) when replaced, deleted, or at shutdown.
 * A lookup asks the session memory first (a secret that could not go to
 * the keychain), then the keychain.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "broker.h"
#include "keychain.h"
#include "log.h"
#include "util.h"

/* A secret held for the session. */
struct secret_entry {
	TAILQ_ENTRY(secret_entry) entry;
	char conn_id[UUID_STR_LEN];
	enum secret_kind kind;
	char *value;
};

enum secret_op_type { OP_STORE, OP_LOOKUP, OP_DELETE, OP_DELETE_ALL };

/* A queued operation. */
struct secret_op {
	TAILQ_ENTRY(secret_op) entry;
	enum secret_op_type type;
	char conn_id[UUID_STR_LEN];
	enum secret_kind kind;
	char *value; /* OP_STORE: a copy, wiped after */
	secret_done_fn done;
	secret_value_fn got;
	void *arg;
};

TAILQ_HEAD(secret_op_list, secret_op);

static TAILQ_HEAD(, secret_entry) entries = TAILQ_HEAD_INITIALIZER(entries);
static struct secret_op_list queue = TAILQ_HEAD_INITIALIZER(queue);
static struct event *ev_run;

static const char *const kind_names[] = {
	[SECRET_DB] = "db",
	[SECRET_SSH] = "ssh",
	[SECRET_SSH_KEY] = "ssh_key",
	[SECRET_SSL_KEY] = "ssl_key",
};

static const char *const kind_what[] = {
	[SECRET_DB] = "the database password",
	[SECRET_SSH] = "the SSH password",
	[SECRET_SSH_KEY] = "the SSH key passphrase",
	[SECRET_SSL_KEY] = "the TLS client key passphrase",
};

/* The field of s that holds a secret of this kind. */
char **
secret_slot(struct tusk_secrets *s, enum secret_kind kind)
{
	switch (kind) {
	case SECRET_SSH: return &s->ssh_password;
	case SECRET_SSH_KEY: return &s->ssh_key_passphrase;
	case SECRET_SSL_KEY: return &s->ssl_key_passphrase;
	default: return &s->password;
	}
}

/* The kind's name (as the keychain attribute will spell it). */
const char *
secret_kind_name(enum secret_kind k)
{
	return k < nitems(kind_names) ? kind_names[k] : "?";
}

/* What the kind is, in words ("the SSH password"). */
const char *
secret_kind_what(enum secret_kind k)
{
	return k < nitems(kind_what) ? kind_what[k] : "the secret";
}

/* The entry for (conn_id, kind), or NULL. */
static struct secret_entry *
entry_find(const char *conn_id, enum secret_kind kind)
{
	struct secret_entry *s;
	TAILQ_FOREACH(s, &entries, entry)
		if (s->kind == kind && strcmp(s->conn_id, conn_id) == 0)
			return s;
	return NULL;
}

/* Remove and wipe one entry. */
static void
entry_drop(struct secret_entry *s)
{
	TAILQ_REMOVE(&entries, s, entry);
	secret_free(s->value);
	free(s);
}

static char *fallback_hint; /* the keychain's hint, from the last fallback */

/* Keep a secret in session memory. */
static void
memory_keep(const char *conn_id, enum secret_kind kind, char *value)
{
	struct secret_entry *s = entry_find(conn_id, kind);
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		snprintf(s->conn_id, sizeof s->conn_id, "%s", conn_id);
		s->kind = kind;
		TAILQ_INSERT_TAIL(&entries, s, entry);
	}
	secret_free(s->value);
	s->value = value;
}

/* Forget a session copy, if any. */
static void
memory_drop(const char *conn_id, enum secret_kind kind)
{
	struct secret_entry *s = entry_find(conn_id, kind);
	if (s)
		entry_drop(s);
}

/* Release an operation (wiping what it carried). */
static void
op_free(struct secret_op *op)
{
	secret_free(op->value);
	free(op);
}

/* The keychain stored it, or could not: then memory keeps it. */
static void
kc_stored(int status, char *secret, const struct tusk_error *e, void *arg)
{
	struct secret_op *op = arg;
	secret_free(secret);
	keychain_status_stale();
	if (status == KC_OK) {
		memory_drop(op->conn_id, op->kind);
		log_debug("secret %s of %s stored in the keychain", kind_names[op->kind], op->conn_id);
		op->done(NULL, NULL, op->arg);
	} else {
		memory_keep(op->conn_id, op->kind, op->value);
		op->value = NULL;
		free(fallback_hint);
		fallback_hint = xasprintf("%s%s(Tusk will ask for it again after the broker restarts)",
		    e && e->hint ? e->hint : "", e && e->hint ? " " : "");
		char *warning = xasprintf("%s is kept for this session only: %s", kind_what[op->kind],
		    e && e->message ? e->message : "the keychain is not available");
		log_warn("secret %s of %s kept in memory: %s", kind_names[op->kind], op->conn_id,
		    e && e->message ? e->message : "no keychain");
		op->done(NULL, warning, op->arg);
		free(warning);
	}
	op_free(op);
}

/* The keychain's answer to a lookup. */
static void
kc_found(int status, char *secret, const struct tusk_error *e, void *arg)
{
	struct secret_op *op = arg;
	if (status == KC_ERROR) {
		log_warn("cannot read %s of %s from the keychain: %s", kind_what[op->kind], op->conn_id,
		    e && e->message ? e->message : "?");
		op->got(e, NULL, op->arg);
	} else {
		op->got(NULL, secret, op->arg);
	}
	secret_free(secret);
	op_free(op);
}

/* The keychain removed it (or could not: it is logged). */
static void
kc_removed(int status, char *secret, const struct tusk_error *e, void *arg)
{
	struct secret_op *op = arg;
	secret_free(secret);
	if (status == KC_ERROR)
		log_warn("cannot remove secrets of %s from the keychain: %s", op->conn_id,
		    e && e->message ? e->message : "?");
	if (op->done)
		op->done(NULL, NULL, op->arg);
	op_free(op);
}

/* Start one operation (its answer comes from the keychain, or now). */
static void
op_run(struct secret_op *op)
{
	struct secret_entry *s;
	char *label;
	switch (op->type) {
	case OP_STORE:
		label = xasprintf("Tusk: %s of connection %s", kind_what[op->kind], op->conn_id);
		keychain_store(op->conn_id, op->kind, label, op->value, kc_stored, op);
		free(label);
		return;
	case OP_LOOKUP:
		s = entry_find(op->conn_id, op->kind);
		if (s) {
			op->got(NULL, s->value, op->arg);
			break;
		}
		keychain_lookup(op->conn_id, op->kind, kc_found, op);
		return;
	case OP_DELETE:
		memory_drop(op->conn_id, op->kind);
		keychain_delete(op->conn_id, op->kind, kc_removed, op);
		return;
	case OP_DELETE_ALL:
		for (int k = 0; k < SECRET__COUNT; k++)
			memory_drop(op->conn_id, (enum secret_kind)k);
		keychain_clear(op->conn_id, kc_removed, op);
		return;
	}
	op_free(op);
}

/* Drain the queue as it was when this turn began; later ops wait a turn. */
static void
queue_cb(evutil_socket_t fd, short what, void *arg)
{
	struct secret_op_list now = TAILQ_HEAD_INITIALIZER(now);
	struct secret_op *op;
	UNUSED(fd);
	UNUSED(what);
	UNUSED(arg);
	TAILQ_CONCAT(&now, &queue, entry);
	while ((op = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, op, entry);
		op_run(op);
	}
}

/* Queue an operation for the next loop turn. */
static void
op_queue(struct secret_op *op)
{
	static const struct timeval zero = { 0, 0 };
	if (ev_run == NULL && (ev_run = event_new(tuskd.base, -1, 0, queue_cb, NULL)) == NULL)
		fatal("secrets: cannot create an event: out of memory"); /* answers must come later */
	TAILQ_INSERT_TAIL(&queue, op, entry);
	if (!event_pending(ev_run, EV_TIMEOUT, NULL))
		event_add(ev_run, &zero);
}

/* A new operation on a connection's secret. */
static struct secret_op *
op_new(enum secret_op_type type, const char *conn_id, enum secret_kind kind)
{
	struct secret_op *op = xcalloc(1, sizeof *op);
	op->type = type;
	snprintf(op->conn_id, sizeof op->conn_id, "%s", conn_id);
	op->kind = kind;
	return op;
}

/* Keep a secret for a connection; answers on a later turn. */
void
secret_store(const char *conn_id, enum secret_kind kind, const char *value, secret_done_fn cb,
    void *arg)
{
	struct secret_op *op = op_new(OP_STORE, conn_id, kind);
	op->value = xstrdup(value);
	op->done = cb;
	op->arg = arg;
	op_queue(op);
}

/* Look a secret up; answers on a later turn (value NULL: none). */
void
secret_lookup(const char *conn_id, enum secret_kind kind, secret_value_fn cb, void *arg)
{
	struct secret_op *op = op_new(OP_LOOKUP, conn_id, kind);
	op->got = cb;
	op->arg = arg;
	op_queue(op);
}

/* Forget one secret; answers on a later turn. */
void
secret_delete(const char *conn_id, enum secret_kind kind, secret_done_fn cb, void *arg)
{
	struct secret_op *op = op_new(OP_DELETE, conn_id, kind);
	op->done = cb;
	op->arg = arg;
	op_queue(op);
}

/* Forget every secret of a connection; answers on a later turn. */
void
secret_delete_all(const char *conn_id, secret_done_fn cb, void *arg)
{
	struct secret_op *op = op_new(OP_DELETE_ALL, conn_id, SECRET_DB);
	op->done = cb;
	op->arg = arg;
	op_queue(op);
}

/* The hint for a "kept for this session only" warning. */
const char *
secrets_session_hint(void)
{
	return fallback_hint ? fallback_hint :
	    "start or unlock a Secret Service provider (gnome-keyring, KeePassXC); Tusk will ask for it again after the broker restarts";
}

/*
 * At exit: answer what is still queued (callbacks may queue more), then
 * wipe every secret held.
 */
void
secrets_shutdown(void)
{
	while (!TAILQ_EMPTY(&queue))
		queue_cb(-1, 0, NULL);
	if (ev_run)
		event_free(ev_run);
	ev_run = NULL;
	struct secret_entry *s;
	while ((s = TAILQ_FIRST(&entries)) != NULL)
		entry_drop(s);
	free(fallback_hint);
	fallback_hint = NULL;
}


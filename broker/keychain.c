/*
 * keychain.c — secrets in the Secret Service (libsecret), on a thread of
 * their own (see keychain.h).
 *
 * Why a thread: libsecret talks D-Bus; a Secret Service can be slow to
 * activate, locked behind a prompt, or hung (D-Bus's own timeout is 25 s).
 * The broker's loop must keep answering meanwhile. So each call becomes a
 * job: the loop queues it and arms a timer; the keychain thread runs the
 * blocking libsecret call with the job's GCancellable; when the timer fires
 * first, the loop cancels the job (g_cancellable_cancel is thread-safe) and
 * the call returns at once. Finished jobs come back through a pipe the loop
 * watches, and their callbacks run on the loop.
 *
 * Never a prompt: before storing or looking up, the thread checks that the
 * default collection exists and is unlocked (the same D-Bus questions
 * `secret-tool` would need a prompt for are answered from properties). A
 * keychain that timed out is not asked again for a while (a hung service
 * would otherwise cost every request its full bound); requests fail fast
 * and the caller keeps the secret for the session instead.
 *
 * Secrets are wiped from our buffers when a job ends; libsecret's own
 * copies are freed with secret_password_free, which wipes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libsecret/secret.h>

#include "error.h"
#include "keychain.h"
#include "log.h"
#include "tqueue.h"
#include "util.h"

#define SECRETS "org.freedesktop.secrets"
#define BACKOFF_MS 30000 /* after a timeout, fail fast this long */

static const SecretSchema tusk_schema = {
	"io.github.tusk.Secret", SECRET_SCHEMA_NONE,
	{
		{ "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "connection", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
	0, 0, 0, 0, 0, 0, 0, 0,
};

enum job_type { J_STORE, J_LOOKUP, J_DELETE, J_CLEAR, J_PROBE };

struct job {
	TAILQ_ENTRY(job) entry;
	enum job_type type;
	enum secret_kind kind;
	char *conn_id;
	char *label;
	char *secret;	      /* to store, or found */
	keychain_cb cb;
	void *arg;
	GCancellable *cancel;
	int timeout_ms;
	struct event *ev_timer;
	int timed_out;	      /* set by the loop before cancelling */
	int status;
	struct tusk_error err;
};

TAILQ_HEAD(job_list, job);

static struct {
	struct event_base *base;
	int timeout_ms;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job_list pending;
	struct job_list done;
	bool stopping;
	int pipe_r, pipe_w;
	struct event *ev_done;
	int64_t unavailable_until; /* loop thread only */
	struct tusk_error last_timeout;
} kc = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .pipe_r = -1,
	.pipe_w = -1 };

/* --- the keychain thread ------------------------------------------------ */

/* Translate a GLib error into ours, with a hint that names the case. */
static void
glib_error(struct job *j, const GError *g, const char *what)
{
	struct tusk_error *e = &j->err;
	if (j->timed_out || g_error_matches(g, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		terr_set(e, TE_CREDENTIAL, "the keychain did not answer within %.1f s (%s)",
		    j->timeout_ms / 1000.0, what);
		terr_hint(e, "the Secret Service provider seems hung; restart it (for gnome-keyring: gnome-keyring-daemon --replace), or unlock it from your desktop");
	} else if (g->domain == G_DBUS_ERROR && g->code == G_DBUS_ERROR_SERVICE_UNKNOWN) {
		terr_set(e, TE_CREDENTIAL, "no Secret Service is available on the session bus (%s)", what);
		terr_hint(e, "install and start a Secret Service provider such as gnome-keyring or KeePassXC (with its Secret Service integration on)");
	} else if (strstr(g->message, "autolaunch") || strstr(g->message, "DBUS_SESSION_BUS_ADDRESS") ||
	    strstr(g->message, "Could not connect") || strstr(g->message, "dbus-launch")) {
		terr_set(e, TE_CREDENTIAL, "no D-Bus session bus, so no keychain (%s)", what);
		terr_hint(e, "run Tusk inside your desktop session (DBUS_SESSION_BUS_ADDRESS), with a Secret Service provider such as gnome-keyring or KeePassXC");
	} else if (strstr(g->message, "locked")) {
		terr_set(e, TE_CREDENTIAL, "the keyring is locked (%s)", what);
		terr_hint(e, "unlock your login keyring (log in to the desktop, or open Passwords and Keys); Tusk never asks for the keyring password itself");
	} else {
		terr_set(e, TE_CREDENTIAL, "the keychain failed (%s): %s", what, g->message);
		terr_hint(e, "check that your Secret Service provider (gnome-keyring, KeePassXC) is running and unlocked");
	}
	j->status = KC_ERROR;
}

/* A D-Bus call on the session bus, bounded by the job's cancellable. */
static GVariant *
bus_call(GDBusConnection *bus, const char *dest, const char *path, const char *iface,
    const char *method, GVariant *args, struct job *j, GError **err)
{
	return g_dbus_connection_call_sync(bus, dest, path, iface, method, args, NULL,
	    G_DBUS_CALL_FLAGS_NONE, j->timeout_ms, j->cancel, err);
}

/*
 * Usable without a prompt? A bus, a Secret Service (running or
 * activatable), a default collection, unlocked. 0 or -1 with j->err set.
 */
static int
probe(struct job *j)
{
	GError *g = NULL;
	GDBusConnection *bus = g_bus_get_sync(G_BUS_TYPE_SESSION, j->cancel, &g);
	if (bus == NULL) {
		glib_error(j, g, "connecting to the session bus");
		g_error_free(g);
		return -1;
	}
	gboolean owned = FALSE, activatable = FALSE;
	GVariant *r = bus_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	    "NameHasOwner", g_variant_new("(s)", SECRETS), j, NULL);
	if (r) {
		g_variant_get(r, "(b)", &owned);
		g_variant_unref(r);
	}
	if (!owned) {
		r = bus_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
		    "ListActivatableNames", NULL, j, NULL);
		if (r) {
			const char **names;
			g_variant_get(r, "(^a&s)", &names);
			for (int i = 0; names[i]; i++)
				if (strcmp(names[i], SECRETS) == 0)
					activatable = TRUE;
			g_free(names);
			g_variant_unref(r);
		}
	}
	if (!owned && !activatable) {
		GError why = { G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN, (gchar *)(uintptr_t)"not provided" };
		if (g_cancellable_is_cancelled(j->cancel))
			why = (GError){ G_IO_ERROR, G_IO_ERROR_CANCELLED, (gchar *)(uintptr_t)"cancelled" };
		glib_error(j, &why, "looking for a Secret Service");
		g_object_unref(bus);
		return -1;
	}
	r = bus_call(bus, SECRETS, "/org/freedesktop/secrets", "org.freedesktop.Secret.Service",
	    "ReadAlias", g_variant_new("(s)", "default"), j, &g);
	if (r == NULL) {
		glib_error(j, g, "asking the Secret Service for its default keyring");
		g_error_free(g);
		g_object_unref(bus);
		return -1;
	}
	const char *coll;
	g_variant_get(r, "(&o)", &coll);
	if (strcmp(coll, "/") == 0) {
		terr_set(&j->err, TE_CREDENTIAL, "the Secret Service has no default keyring");
		terr_hint(&j->err, "create or unlock a login keyring in your desktop (Passwords and Keys); Tusk never creates one itself");
		j->status = KC_ERROR;
		g_variant_unref(r);
		g_object_unref(bus);
		return -1;
	}
	GVariant *v = bus_call(bus, SECRETS, coll, "org.freedesktop.DBus.Properties", "Get",
	    g_variant_new("(ss)", "org.freedesktop.Secret.Collection", "Locked"), j, &g);
	g_variant_unref(r);
	if (v == NULL) {
		glib_error(j, g, "asking whether the keyring is locked");
		g_error_free(g);
		g_object_unref(bus);
		return -1;
	}
	GVariant *inner;
	g_variant_get(v, "(v)", &inner);
	gboolean locked = g_variant_get_boolean(inner);
	g_variant_unref(inner);
	g_variant_unref(v);
	g_object_unref(bus);
	if (locked) {
		terr_set(&j->err, TE_CREDENTIAL, "the default keyring is locked");
		terr_hint(&j->err, "unlock your login keyring (log in to the desktop, or open Passwords and Keys); Tusk never asks for the keyring password itself");
		j->status = KC_ERROR;
		return -1;
	}
	return 0;
}

/* Run one job on the keychain thread. */
static void
job_run(struct job *j)
{
	GError *g = NULL;
	j->status = KC_OK;
	if (g_cancellable_is_cancelled(j->cancel)) {
		GError c = { G_IO_ERROR, G_IO_ERROR_CANCELLED, (gchar *)(uintptr_t)"cancelled" };
		glib_error(j, &c, "waiting for the keychain");
		return;
	}
	if (probe(j) < 0)
		return;
	switch (j->type) {
	case J_PROBE:
		break;
	case J_STORE:
		if (!secret_password_store_sync(&tusk_schema, SECRET_COLLECTION_DEFAULT, j->label,
		    j->secret, j->cancel, &g, "kind", secret_kind_name(j->kind), "connection", j->conn_id, NULL)) {
			glib_error(j, g, "storing a secret");
			g_error_free(g);
		}
		break;
	case J_LOOKUP: {
		gchar *pw = secret_password_lookup_sync(&tusk_schema, j->cancel, &g, "kind",
		    secret_kind_name(j->kind), "connection", j->conn_id, NULL);
		if (g != NULL) {
			glib_error(j, g, "looking up a secret");
			g_error_free(g);
		} else if (pw == NULL) {
			j->status = KC_NOT_FOUND;
		} else {
			j->secret = xstrdup(pw);
			secret_password_free(pw);
		}
		break;
	}
	case J_DELETE:
		secret_password_clear_sync(&tusk_schema, j->cancel, &g, "kind", secret_kind_name(j->kind),
		    "connection", j->conn_id, NULL);
		if (g != NULL) {
			glib_error(j, g, "removing a secret");
			g_error_free(g);
		}
		break;
	case J_CLEAR:
		secret_password_clear_sync(&tusk_schema, j->cancel, &g, "connection", j->conn_id, NULL);
		if (g != NULL) {
			glib_error(j, g, "removing secrets");
			g_error_free(g);
		}
		break;
	}
}

/* The keychain thread: take jobs, run them, hand them back. */
static void *
keychain_thread(void *arg)
{
	UNUSED(arg);
	for (;;) {
		pthread_mutex_lock(&kc.lock);
		while (TAILQ_EMPTY(&kc.pending) && !kc.stopping)
			pthread_cond_wait(&kc.cond, &kc.lock);
		struct job *j = TAILQ_FIRST(&kc.pending);
		if (j == NULL) {
			pthread_mutex_unlock(&kc.lock);
			break;
		}
		TAILQ_REMOVE(&kc.pending, j, entry);
		pthread_mutex_unlock(&kc.lock);

		job_run(j);

		pthread_mutex_lock(&kc.lock);
		TAILQ_INSERT_TAIL(&kc.done, j, entry);
		pthread_mutex_unlock(&kc.lock);
		char c = 'x';
		while (write(kc.pipe_w, &c, 1) < 0 && errno == EINTR)
			;
	}
	return NULL;
}

/* --- the broker's side ---------------------------------------------------- */

/* Free a job, wiping its secret. */
static void
job_free(struct job *j)
{
	if (j->ev_timer)
		event_free(j->ev_timer);
	g_object_unref(j->cancel);
	free(j->conn_id);
	free(j->label);
	secret_free(j->secret);
	terr_clear(&j->err);
	free(j);
}

/* Deliver a finished job's answer. */
static void
job_answer(struct job *j)
{
	if (j->status == KC_ERROR && j->timed_out) {
		kc.unavailable_until = mono_ms() + BACKOFF_MS;
		terr_copy(&kc.last_timeout, &j->err);
	}
	char *secret = j->secret;
	j->secret = NULL;
	if (j->cb)
		j->cb(j->status, secret, j->status == KC_ERROR ? &j->err : NULL, j->arg);
	else
		secret_free(secret);
	job_free(j);
}

/* The pipe says jobs are done. */
static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[64];
	UNUSED(what);
	UNUSED(arg);
	while (read(fd, buf, sizeof buf) > 0)
		;
	for (;;) {
		pthread_mutex_lock(&kc.lock);
		struct job *j = TAILQ_FIRST(&kc.done);
		if (j)
			TAILQ_REMOVE(&kc.done, j, entry);
		pthread_mutex_unlock(&kc.lock);
		if (j == NULL)
			break;
		job_answer(j);
	}
}

/* A job ran out of time: cancel its call (the thread returns at once). */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;
	UNUSED(fd);
	UNUSED(what);
	__atomic_store_n(&j->timed_out, 1, __ATOMIC_SEQ_CST);
	log_warn("keychain: a request did not finish within %d ms; cancelling it", j->timeout_ms);
	g_cancellable_cancel(j->cancel);
}

/* Fail a job without asking the keychain: answered on the next loop turn,
 * like every keychain answer. */
static void
job_fail_later(struct job *j)
{
	j->status = KC_ERROR;
	pthread_mutex_lock(&kc.lock);
	TAILQ_INSERT_TAIL(&kc.done, j, entry);
	pthread_mutex_unlock(&kc.lock);
	char c = 'x';
	if (kc.pipe_w >= 0 && write(kc.pipe_w, &c, 1) < 0)
		log_warn("keychain: cannot wake the loop");
}

/* Queue a job (or fail it at once while the keychain is known to hang). */
static void
job_submit(struct job *j)
{
	j->cancel = g_cancellable_new();
	if (!kc.started || mono_ms() < kc.unavailable_until) {
		if (kc.started && kc.last_timeout.message)
			terr_copy(&j->err, &kc.last_timeout);
		else
			terr_set(&j->err, TE_CREDENTIAL, "the keychain is not available");
		if (!j->err.hint)
			terr_hint(&j->err, "start or unlock your Secret Service provider (gnome-keyring, KeePassXC)");
		job_fail_later(j);
		return;
	}
	j->ev_timer = evtimer_new(kc.base, timer_cb, j);
	if (j->ev_timer == NULL) {
		/* a call without its bound could hang the keychain's thread for good */
		terr_set(&j->err, TE_CREDENTIAL, "the keychain was not asked: out of memory");
		terr_hint(&j->err, "try again");
		job_fail_later(j);
		return;
	}
	struct timeval tv = { j->timeout_ms / 1000, (j->timeout_ms % 1000) * 1000 };
	evtimer_add(j->ev_timer, &tv);
	pthread_mutex_lock(&kc.lock);
	TAILQ_INSERT_TAIL(&kc.pending, j, entry);
	pthread_cond_signal(&kc.cond);
	pthread_mutex_unlock(&kc.lock);
}

/* A new job. */
static struct job *
job_new(enum job_type type, const char *conn_id, enum secret_kind kind, keychain_cb cb, void *arg)
{
	struct job *j = xcalloc(1, sizeof *j);
	j->type = type;
	j->kind = kind;
	j->conn_id = xstrdup(conn_id ? conn_id : "");
	j->cb = cb;
	j->arg = arg;
	j->timeout_ms = kc.timeout_ms;
	terr_init(&j->err);
	return j;
}

/* Start the keychain thread and its answer pipe (no thread: secrets last the session only). */
int
keychain_init(struct event_base *base, int timeout_ms)
{
	int fds[2];
	kc.base = base;
	kc.timeout_ms = timeout_ms;
	TAILQ_INIT(&kc.pending);
	TAILQ_INIT(&kc.done);
	terr_init(&kc.last_timeout);
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	kc.pipe_r = fds[0];
	kc.pipe_w = fds[1];
	kc.ev_done = event_new(base, kc.pipe_r, EV_READ | EV_PERSIST, done_cb, NULL);
	if (kc.ev_done == NULL || event_add(kc.ev_done, NULL) < 0)
		return -1;
	if (pthread_create(&kc.thread, NULL, keychain_thread, NULL) != 0) {
		log_warn("keychain: cannot start its thread; secrets will be kept for the session only");
		return 0;
	}
	kc.started = true;
	return 0;
}

/* Stop the thread: pending jobs are cancelled and answered. */
void
keychain_shutdown(void)
{
	if (kc.started) {
		pthread_mutex_lock(&kc.lock);
		struct job *j;
		TAILQ_FOREACH(j, &kc.pending, entry)
			g_cancellable_cancel(j->cancel);
		kc.stopping = true;
		pthread_cond_signal(&kc.cond);
		pthread_mutex_unlock(&kc.lock);
		pthread_join(kc.thread, NULL);
		kc.started = false;
	}
	/* whatever was left: answer it now */
	struct job *j;
	while ((j = TAILQ_FIRST(&kc.pending)) != NULL) {
		TAILQ_REMOVE(&kc.pending, j, entry);
		TAILQ_INSERT_TAIL(&kc.done, j, entry);
	}
	while ((j = TAILQ_FIRST(&kc.done)) != NULL) {
		TAILQ_REMOVE(&kc.done, j, entry);
		job_answer(j);
	}
	if (kc.ev_done)
		event_free(kc.ev_done);
	kc.ev_done = NULL;
	if (kc.pipe_r >= 0)
		close(kc.pipe_r);
	if (kc.pipe_w >= 0)
		close(kc.pipe_w);
	kc.pipe_r = kc.pipe_w = -1;
	terr_clear(&kc.last_timeout);
}

void
keychain_store(const char *conn_id, enum secret_kind kind, const char *label, const char *secret,
    keychain_cb cb, void *arg)
{
	struct job *j = job_new(J_STORE, conn_id, kind, cb, arg);
	j->label = xstrdup(label);
	j->secret = xstrdup(secret);
	job_submit(j);
}

/* Look a connection's secret up in the keychain; cb gets it (or nothing). */
void
keychain_lookup(const char *conn_id, enum secret_kind kind, keychain_cb cb, void *arg)
{
	job_submit(job_new(J_LOOKUP, conn_id, kind, cb, arg));
}

void
keychain_delete(const char *conn_id, enum secret_kind kind, keychain_cb cb, void *arg)
{
	job_submit(job_new(J_DELETE, conn_id, kind, cb, arg));
}

void
keychain_clear(const char *conn_id, keychain_cb cb, void *arg)
{
	job_submit(job_new(J_CLEAR, conn_id, SECRET_DB, cb, arg));
}

void
keychain_probe(keychain_cb cb, void *arg)
{
	struct job *j = job_new(J_PROBE, NULL, SECRET_DB, cb, arg);
	/* a probe must answer quickly: half the bound of real work, at most 1.5 s */
	j->timeout_ms = MIN(kc.timeout_ms / 2 + 1, 1500);
	job_submit(j);
}

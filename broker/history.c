/*
 * history.c — the query history recorder: every statement a user ran
 * (queries.c says which), from any client, into tusk.db without slowing a
 * query down.
 *
 * On the loop, recording a query is a few copies into a list in memory. A
 * timer (HISTORY_FLUSH_MS after the first entry of a batch) hands the list
 * to the history thread, which masks the secrets in the SQL (sqlmask.c),
 * cuts it to STORE_HISTORY_SQL_MAX and writes the batch in one transaction
 * on a connection of its own (store_open_peer; WAL lets the loop's
 * connection read and write meanwhile). Pruning to history.max_entries is
 * batch work too: only when the count is more than a tenth over the bound,
 * the oldest entries go in one statement.
 *
 * That connection is guarded by db_lock. The loop takes it to read
 * (get_history), to delete, and around a repair of the file (which replaces
 * the file under the connection): it then first writes what is still
 * waiting, so a client always reads what it has run. Lock order: db_lock,
 * then q_lock. The thread never logs (the log belongs to the loop): it
 * keeps its last failure for the loop to report.
 *
 * Preferences: history.enabled (bool, default true) and history.max_entries
 * (int, default 100000), read at start and whenever a client sets them.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "broker.h"
#include "log.h"
#include "sqlmask.h"
#include "store.h"
#include "util.h"

#define HISTORY_FLUSH_MS 200
#define HISTORY_MAX_DEFAULT 100000
#define HISTORY_MAX_MAX 10000000

struct hentry {
	TAILQ_ENTRY(hentry) entry;
	struct store_history_entry h; /* sql not yet masked */
};
TAILQ_HEAD(hlist, hentry);

static struct {
	bool started;
	bool enabled;
	int64_t max_entries;
	struct hlist pending;	/* loop only: not yet handed over */
	struct event *ev_flush;
	/* q_lock: the thread's inbox and its report */
	pthread_mutex_t q_lock;
	pthread_cond_t cond;
	struct hlist inbox;
	bool stop;
	char *failure;		/* the thread's last failure, for the loop to log */
	uint64_t written;	/* entries written (stats) */
	/* db_lock: the connection and what depends on it */
	pthread_mutex_t db_lock;
	struct store *db;
	int64_t count;		/* entries in the table, as far as we know */
	pthread_t thread;
} hist = { .enabled = true, .max_entries = HISTORY_MAX_DEFAULT };

/* Move every entry of from to the end of to. */
static void
hlist_concat(struct hlist *to, struct hlist *from)
{
	struct hentry *he;
	while ((he = TAILQ_FIRST(from)) != NULL) {
		TAILQ_REMOVE(from, he, entry);
		TAILQ_INSERT_TAIL(to, he, entry);
	}
}

/* Keep a failure for the loop (q_lock held). */
static void
failure_set(const struct tusk_error *e)
{
	free(hist.failure);
	hist.failure = xstrdup(e->message ? e->message : "unknown failure");
}

/* Cut s to at most max bytes on a UTF-8 boundary, saying so. */
static void
sql_cut(char **s)
{
	size_t n = strlen(*s);
	if (n <= STORE_HISTORY_SQL_MAX)
		return;
	size_t keep = STORE_HISTORY_SQL_MAX - 64;
	while (keep > 0 && ((unsigned char)(*s)[keep] & 0xc0) == 0x80)
		keep--;
	char *c = xasprintf("%.*s\n-- (cut by Tusk: %zu bytes in all)", (int)keep, *s, n);
	free(*s);
	*s = c;
}

/*
 * Write a batch (db_lock held): mask, cut, insert in one transaction,
 * prune when over the bound. Frees the entries. 0, or -1 with e set.
 */
static int
batch_write(struct hlist *l, int64_t max_entries, struct tusk_error *e)
{
	size_t n = 0;
	struct hentry *he, *tmp;
	TAILQ_FOREACH(he, l, entry)
		n++;
	if (n == 0)
		return 0;
	struct store_history_entry *v = xcalloc(n, sizeof *v);
	size_t i = 0;
	TAILQ_FOREACH_SAFE(he, l, entry, tmp) {
		TAILQ_REMOVE(l, he, entry);
		v[i] = he->h;
		memset(&he->h, 0, sizeof he->h);
		free(he);
		/* most statements hold nothing to mask: no copy for them */
		if (strcasestr(v[i].sql, "password") || strstr(v[i].sql, "://")) {
			char *masked = sqlmask(v[i].sql, strlen(v[i].sql), NULL);
			free(v[i].sql);
			v[i].sql = masked;
		}
		sql_cut(&v[i].sql);
		i++;
	}
	int r = -1;
	if (hist.db == NULL) {
		terr_set(e, TE_STORAGE, "the history's connection to the database is closed");
	} else if (store_history_add(hist.db, v, n, e) == 0) {
		r = 0;
		hist.count += (int64_t)n;
		if (hist.count > max_entries + max_entries / 10) {
			int64_t gone = 0;
			if (store_history_prune(hist.db, max_entries, &gone, e) < 0)
				r = -1;
			else
				hist.count -= gone;
		}
	}
	store_history_free(v, n);
	return r;
}

/* The history thread: wait for a batch, write it. */
static void *
history_thread(void *arg)
{
	UNUSED(arg);
	for (;;) {
		pthread_mutex_lock(&hist.q_lock);
		while (TAILQ_EMPTY(&hist.inbox) && !hist.stop)
			pthread_cond_wait(&hist.cond, &hist.q_lock);
		bool stop = hist.stop && TAILQ_EMPTY(&hist.inbox);
		int64_t max = hist.max_entries;
		pthread_mutex_unlock(&hist.q_lock);
		if (stop)
			return NULL;

		struct hlist batch = TAILQ_HEAD_INITIALIZER(batch);
		TAILQ_INIT(&batch);
		struct tusk_error e = TUSK_ERROR_INIT;
		pthread_mutex_lock(&hist.db_lock);
		pthread_mutex_lock(&hist.q_lock);
		hlist_concat(&batch, &hist.inbox); /* the loop may have taken it meanwhile */
		pthread_mutex_unlock(&hist.q_lock);
		int r = batch_write(&batch, max, &e);
		pthread_mutex_unlock(&hist.db_lock);
		if (r < 0) {
			pthread_mutex_lock(&hist.q_lock);
			failure_set(&e);
			pthread_mutex_unlock(&hist.q_lock);
		}
		terr_clear(&e);
	}
}

/* Log what the thread could not write. */
static void
failure_report(void)
{
	pthread_mutex_lock(&hist.q_lock);
	char *f = hist.failure;
	hist.failure = NULL;
	pthread_mutex_unlock(&hist.q_lock);
	if (f)
		log_warn("query history: entries could not be written: %s", f);
	free(f);
}

/* The timer: hand the pending entries to the thread. */
static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	UNUSED(arg);
	pthread_mutex_lock(&hist.q_lock);
	hlist_concat(&hist.inbox, &hist.pending);
	pthread_cond_signal(&hist.cond);
	pthread_mutex_unlock(&hist.q_lock);
	failure_report();
}

/* A bool or int preference's value from the store. */
static bool
pref_read(struct store *st, const char *key, msgpack_object *ret, msgpack_unpacked *u)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	struct store_pref p;
	bool ok = false;
	int r = store_preference_get(st, key, &p, &e);
	if (r < 0)
		log_warn("preference %s: %s", key, e.message);
	terr_clear(&e);
	if (r == 1) {
		if (msgpack_unpack_next(u, p.value, p.len, NULL) == MSGPACK_UNPACK_SUCCESS) {
			*ret = u->data;
			ok = true;
		}
		free(p.key);
		free(p.value);
	}
	return ok;
}

/* Is key one of the history.* preferences? */
bool
history_is_key(const char *key)
{
	return strcmp(key, "history.enabled") == 0 || strcmp(key, "history.max_entries") == 0;
}

/* May this history.* preference take v? */
int
history_check_preference(const char *key, const msgpack_object *v, struct tusk_error *e)
{
	if (strcmp(key, "history.enabled") == 0) {
		if (v->type != MSGPACK_OBJECT_BOOLEAN) {
			terr_set(e, TE_VALIDATION, "value: history.enabled is true or false");
			return -1;
		}
		return 0;
	}
	int64_t n = -1;
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= HISTORY_MAX_MAX)
		n = (int64_t)v->via.u64;
	if (n < 1) {
		terr_set(e, TE_VALIDATION, "value: history.max_entries is a whole number from 1 to %d",
		    HISTORY_MAX_MAX);
		terr_hint(e, "the default is %d; set history.enabled to false to keep no history",
		    HISTORY_MAX_DEFAULT);
		return -1;
	}
	return 0;
}

/* A checked history.* preference was set: use it from now on. */
void
history_preference_set(const char *key, const msgpack_object *v)
{
	if (strcmp(key, "history.enabled") == 0) {
		hist.enabled = v->via.boolean;
		log_info("query history %s", hist.enabled ? "on" : "off");
		return;
	}
	pthread_mutex_lock(&hist.q_lock);
	hist.max_entries = (int64_t)v->via.u64;
	pthread_mutex_unlock(&hist.q_lock);
	log_info("query history keeps at most %lld entries", (long long)hist.max_entries);
}

/* Read the preferences; open the history's connection; start the thread. */
int
history_start(struct store *st, struct tusk_error *e)
{
	msgpack_unpacked u;
	msgpack_object v;
	msgpack_unpacked_init(&u);
	struct tusk_error pe = TUSK_ERROR_INIT;
	if (pref_read(st, "history.enabled", &v, &u) && history_check_preference("history.enabled", &v, &pe) == 0)
		hist.enabled = v.via.boolean;
	terr_clear(&pe);
	if (pref_read(st, "history.max_entries", &v, &u) &&
	    history_check_preference("history.max_entries", &v, &pe) == 0)
		hist.max_entries = (int64_t)v.via.u64;
	terr_clear(&pe);
	msgpack_unpacked_destroy(&u);

	TAILQ_INIT(&hist.pending);
	TAILQ_INIT(&hist.inbox);
	if (store_open_peer(st, &hist.db, e) < 0 || store_history_count(hist.db, &hist.count, e) < 0) {
		store_close(hist.db);
		hist.db = NULL;
		return -1;
	}
	pthread_mutex_init(&hist.q_lock, NULL);
	pthread_mutex_init(&hist.db_lock, NULL);
	pthread_cond_init(&hist.cond, NULL);
	if (pthread_create(&hist.thread, NULL, history_thread, NULL) != 0) {
		store_close(hist.db);
		hist.db = NULL;
		return terr_set(e, TE_INITIALIZATION, "cannot start the query history's thread");
	}
	hist.ev_flush = evtimer_new(tuskd.base, flush_cb, NULL);
	hist.started = true;
	log_info("query history %s (%lld entries, at most %lld kept)", hist.enabled ? "on" : "off",
	    (long long)hist.count, (long long)hist.max_entries);
	return 0;
}

/* Write every waiting entry now (db_lock held, on the loop). */
static void
write_all_locked(void)
{
	struct hlist all = TAILQ_HEAD_INITIALIZER(all);
	TAILQ_INIT(&all);
	pthread_mutex_lock(&hist.q_lock);
	hlist_concat(&all, &hist.inbox);
	int64_t max = hist.max_entries;
	pthread_mutex_unlock(&hist.q_lock);
	hlist_concat(&all, &hist.pending);
	struct tusk_error e = TUSK_ERROR_INIT;
	if (batch_write(&all, max, &e) < 0)
		log_warn("query history: entries could not be written: %s", e.message);
	terr_clear(&e);
	failure_report();
}

/* Stop the thread after it wrote what it has; write the rest; close. */
void
history_stop(void)
{
	if (!hist.started)
		return;
	pthread_mutex_lock(&hist.q_lock);
	hist.stop = true;
	pthread_cond_signal(&hist.cond);
	pthread_mutex_unlock(&hist.q_lock);
	pthread_join(hist.thread, NULL);
	pthread_mutex_lock(&hist.db_lock);
	write_all_locked();
	pthread_mutex_unlock(&hist.db_lock);
	event_free(hist.ev_flush);
	store_close(hist.db);
	hist.db = NULL;
	pthread_mutex_destroy(&hist.q_lock);
	pthread_mutex_destroy(&hist.db_lock);
	pthread_cond_destroy(&hist.cond);
	hist.started = false;
}

/* Is recording on? */
bool
history_enabled(void)
{
	return hist.started && hist.enabled;
}

/* Record one entry (its strings are moved in; static status and client). */
void
history_record(struct store_history_entry *h)
{
	if (!history_enabled()) {
		store_history_clear(h);
		return;
	}
	struct hentry *he = xcalloc(1, sizeof *he);
	he->h = *h;
	memset(h, 0, sizeof *h);
	bool first = TAILQ_EMPTY(&hist.pending);
	TAILQ_INSERT_TAIL(&hist.pending, he, entry);
	if (first) {
		struct timeval tv = { 0, HISTORY_FLUSH_MS * 1000 };
		evtimer_add(hist.ev_flush, &tv);
	}
}

/*
 * The history's connection, with everything recorded so far written
 * (history_unlock after use); NULL with e set when it is not open.
 */
struct store *
history_lock(struct tusk_error *e)
{
	if (!hist.started) {
		terr_set(e, TE_STORAGE, "the query history is not available");
		terr_hint(e, "see the broker's log for why");
		return NULL;
	}
	pthread_mutex_lock(&hist.db_lock);
	write_all_locked();
	if (hist.db == NULL) {
		pthread_mutex_unlock(&hist.db_lock);
		terr_set(e, TE_STORAGE, "the query history's connection to the database is closed");
		terr_hint(e, "check_database_health (`tuskctl health`) reopens it");
		return NULL;
	}
	return hist.db;
}

/* Release what history_lock gave; deleted entries leave the count. */
void
history_unlock(int64_t deleted)
{
	hist.count -= deleted;
	if (hist.count < 0)
		hist.count = 0;
	pthread_mutex_unlock(&hist.db_lock);
}

/* Before the store's file is repaired or replaced: write, close, hold. */
void
history_detach(void)
{
	if (!hist.started)
		return;
	pthread_mutex_lock(&hist.db_lock);
	write_all_locked();
	store_close(hist.db);
	hist.db = NULL;
}

/* After: open the (new) file again and let the thread go on. */
void
history_attach(struct store *st)
{
	if (!hist.started)
		return;
	struct tusk_error e = TUSK_ERROR_INIT;
	if (store_open_peer(st, &hist.db, &e) < 0 || store_history_count(hist.db, &hist.count, &e) < 0) {
		log_warn("query history: cannot reopen the database: %s", e.message);
		store_close(hist.db);
		hist.db = NULL;
	}
	terr_clear(&e);
	pthread_mutex_unlock(&hist.db_lock);
}

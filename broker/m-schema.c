/*
 * m-schema.c — get_schema, describe_object, schema_changed, and the cache
 * of schemas they share.
 *
 * A catalog read is work on the connection like any query (queries.c): it
 * waits in the connection's queue, shows in get_running_queries, is
 * cancelled with cancel_query. The worker reads the catalog and packs
 * get_schema's map once (worker/pg-catalog.c); the broker never decodes it:
 * it checks the map's top-level keys, keeps its bytes, and answers every
 * get_schema from them by packing version and fetched_at in front and
 * handing the same bytes (refcounted, by reference) to each client's
 * output. So a cached answer costs a few bytes of packing whatever the
 * schema's size, and the loop never walks a big schema.
 *
 * The cache is per server, database and user (what the catalog looks the
 * same to), with a slot for the user schemas and one with the system ones.
 * A user's query that ran DDL (the worker's schema_touched) bumps the
 * entry's version, marks both slots stale and sends schema_changed
 * {connection_id, version} to the clients that asked get_schema on a
 * connection with that key (the next get_schema reads again); so does a
 * re-read (refresh) that finds the catalog changed by someone else.
 * Concurrent get_schema calls for one slot on one connection share one
 * read; another connection reads for itself (the first may be stuck
 * behind a long query of its own).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "broker.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "wire.h"

#define SCHEMA_ENTRIES_MAX 8		      /* servers x databases x users kept */
#define SCHEMA_BYTES_MAX (96u * 1024 * 1024)  /* all cached schemas together */
#define WATCHERS_MAX 64			      /* (client, connection) pairs told per entry */
#define WAITERS_MAX 256			      /* get_schema calls sharing one read */

/* Bytes shared by the cache and the client outputs they were handed to. */
struct blob {
	int refs;
	size_t len;
	char data[];
};

struct watcher {
	uint64_t client_id;
	char conn_id[UUID_STR_LEN];
};

struct slot {
	struct blob *blob;     /* the worker's map, less its header; NULL: never read */
	uint32_t nkeys;	       /* the map's entries */
	int64_t fetched_ms;
	bool stale;	       /* DDL ran since it was read */
	struct query *reading; /* the read in flight, if any */
};

struct schema_entry {
	TAILQ_ENTRY(schema_entry) entry;
	char *key;
	int64_t version;
	int64_t used_ms;
	struct slot slots[2];  /* [system] */
	struct watcher watchers[WATCHERS_MAX];
	int nwatchers;
};

static TAILQ_HEAD(, schema_entry) schema_cache = TAILQ_HEAD_INITIALIZER(schema_cache);

/* A read's own state (query ctx). */
struct read_ctx {
	char *key;
	bool system;
	int64_t version;       /* the entry's version when it began */
	bool expect_change;    /* the slot was stale then: its version is bumped already */
	struct request *waiters[WAITERS_MAX];
	int nwaiters;
};

/* describe_object's order (query ctx). */
struct describe_ctx {
	char *schema, *name, *kind;
};

/* --- the cache ------------------------------------------------------------ */

/* Release a blob reference (evbuffer cleanup too). */
static void
blob_unref(struct blob *b)
{
	if (b && --b->refs == 0)
		free(b);
}

/* libevent is done with bytes it had by reference. */
static void
blob_cleanup(const void *data, size_t len, void *arg)
{
	UNUSED(data);
	UNUSED(len);
	blob_unref(arg);
}

/* What a connection's catalog is shared by: server, database, user (and
 * the tunnel that reaches the server). A new string. */
static char *
schema_key(const struct tusk_config *cfg)
{
	char *key;
	if (cfg->ssh)
		key = xasprintf("%s@%s:%d/%s via %s@%s:%d", cfg->username ? cfg->username : "",
		    cfg->host ? cfg->host : "", cfg->port, cfg->database ? cfg->database : "",
		    cfg->ssh->username ? cfg->ssh->username : "", cfg->ssh->host ? cfg->ssh->host : "",
		    cfg->ssh->port);
	else
		key = xasprintf("%s@%s:%d/%s", cfg->username ? cfg->username : "",
		    cfg->host ? cfg->host : "", cfg->port, cfg->database ? cfg->database : "");
	return key;
}

/* Forget an entry (no read may be in flight). */
static void
entry_free(struct schema_entry *en)
{
	TAILQ_REMOVE(&schema_cache, en, entry);
	blob_unref(en->slots[0].blob);
	blob_unref(en->slots[1].blob);
	free(en->key);
	free(en);
}

/* The entry of key, or NULL. */
static struct schema_entry *
entry_find(const char *key)
{
	struct schema_entry *en;
	TAILQ_FOREACH(en, &schema_cache, entry)
		if (strcmp(en->key, key) == 0)
			return en;
	return NULL;
}

/* Bytes all entries hold. */
static size_t
cache_bytes(void)
{
	size_t n = 0;
	struct schema_entry *en;
	TAILQ_FOREACH(en, &schema_cache, entry)
		for (int i = 0; i < 2; i++)
			n += en->slots[i].blob ? en->slots[i].blob->len : 0;
	return n;
}

/* Evict the least recently used entries (never keep, never one that reads)
 * while the cache is over its bounds. */
static void
cache_trim(const struct schema_entry *keep)
{
	for (;;) {
		unsigned n = 0;
		struct schema_entry *en, *lru = NULL;
		TAILQ_FOREACH(en, &schema_cache, entry) {
			n++;
			if (en == keep || en->slots[0].reading || en->slots[1].reading)
				continue;
			if (lru == NULL || en->used_ms < lru->used_ms)
				lru = en;
		}
		if (lru == NULL || (n <= SCHEMA_ENTRIES_MAX && cache_bytes() <= SCHEMA_BYTES_MAX))
			return;
		log_debug("schema cache: evicting %s", lru->key);
		entry_free(lru);
	}
}

/* The entry of key, made if missing. */
static struct schema_entry *
entry_get(const char *key)
{
	struct schema_entry *en = entry_find(key);
	if (en == NULL) {
		en = xcalloc(1, sizeof *en);
		en->key = xstrdup(key);
		en->version = 1;
		TAILQ_INSERT_HEAD(&schema_cache, en, entry);
	}
	en->used_ms = mono_ms();
	return en;
}

/* Remember that this client wants schema_changed for this connection. */
static void
watcher_add(struct schema_entry *en, const struct client *cl, const char *conn_id)
{
	for (int i = 0; i < en->nwatchers; i++)
		if (en->watchers[i].client_id == cl->id && strcmp(en->watchers[i].conn_id, conn_id) == 0)
			return;
	if (en->nwatchers == WATCHERS_MAX) {
		/* the oldest goes */
		memmove(&en->watchers[0], &en->watchers[1], (WATCHERS_MAX - 1) * sizeof en->watchers[0]);
		en->nwatchers--;
	}
	struct watcher *w = &en->watchers[en->nwatchers++];
	w->client_id = cl->id;
	snprintf(w->conn_id, sizeof w->conn_id, "%s", conn_id);
}

/* A live client by id. */
static struct client *
client_by_id(uint64_t id)
{
	struct client *c;
	TAILQ_FOREACH(c, &tuskd.clients, entry)
		if (c->id == id && !c->gone)
			return c;
	return NULL;
}

/* Tell the watchers the entry's version changed (and forget the ones
 * whose client or connection is gone). */
static void
schema_changed_emit(struct schema_entry *en)
{
	int kept = 0;
	for (int i = 0; i < en->nwatchers; i++) {
		struct watcher *w = &en->watchers[i];
		struct client *c = client_by_id(w->client_id);
		if (c == NULL || conn_find(w->conn_id) == NULL)
			continue;
		msgpack_packer *pk = packer_on(client_output(c));
		rpc_pack_notify_begin(pk, N_SCHEMA_CHANGED);
		msgpack_pack_array(pk, 1);
		MP_PACK_FIELDS(pk,
		    MPF_STR("connection_id", w->conn_id),
		    MPF_INT("version", en->version));
		en->watchers[kept++] = *w;
	}
	en->nwatchers = kept;
}

void
schema_touched(struct conn *c)
{
	char *key = schema_key(&c->cfg);
	struct schema_entry *en = entry_find(key);
	free(key);
	if (en == NULL)
		return; /* nobody read this catalog yet */
	en->version++;
	en->slots[0].stale = en->slots[1].stale = true;
	log_debug("schema of %s changed (DDL on %s): version %lld", en->key, c->cfg.name,
	    (long long)en->version);
	schema_changed_emit(en);
}

/* Answer get_schema from a slot: version and fetched_at, then the bytes. */
static void
answer_cached(struct request *req, const struct schema_entry *en, const struct slot *s)
{
	char ts[40];
	iso8601_utc(s->fetched_ms, ts, sizeof ts);
	msgpack_packer *pk = req_result(req);
	msgpack_pack_map(pk, s->nkeys + 2);
	mp_pack_key(pk, "version");
	msgpack_pack_int64(pk, en->version);
	mp_pack_key(pk, "fetched_at");
	mp_pack_cstr(pk, ts);
	s->blob->refs++;
	if (evbuffer_add_reference(client_output(req->client), s->blob->data, s->blob->len,
	    blob_cleanup, s->blob) < 0) {
		evbuffer_add(client_output(req->client), s->blob->data, s->blob->len);
		blob_unref(s->blob);
	}
}

/* --- reading the catalog ---------------------------------------------------- */

/* The value's type from its first byte, as the TT_ kinds a reply declares. */
static bool
mp_byte_is(uint8_t b, enum tusk_type t)
{
	switch (t) {
	case TT_MAP: return (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
	case TT_ARRAY: return (b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd;
	case TT_STR: return (b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb);
	case TT_BOOL: return b == 0xc2 || b == 0xc3;
	case TT_INT: return b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3);
	default: return true;
	}
}

/*
 * Is the map in p (len bytes, one value that passed the scanner) made of
 * exactly spec's fields with their types? Its entries and where its body
 * starts, or -1.
 */
static int
reply_map_check(const uint8_t *p, size_t len, const struct tusk_param *spec, uint32_t *ret_n,
    size_t *ret_body)
{
	struct mp_cur cur = { p, p + len };
	uint32_t n, seen = 0;
	if (mp_cur_map(&cur, &n) < 0 || n > 32)
		return -1;
	*ret_n = n;
	*ret_body = (size_t)(cur.p - p);
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t klen;
		if (mp_cur_str(&cur, &k, &klen) < 0 || cur.p >= cur.end)
			return -1;
		int f = -1;
		for (int s = 0; spec[s].name; s++)
			if (strlen(spec[s].name) == klen && memcmp(spec[s].name, k, klen) == 0)
				f = s;
		if (f < 0 || (seen & (1u << f)))
			return -1;
		seen |= 1u << f;
		bool nil = *cur.p == 0xc0;
		if (nil ? !(spec[f].flags & P_OPT) : !mp_byte_is(*cur.p, spec[f].type))
			return -1;
		struct mp_limits lim = { (size_t)(cur.end - cur.p), MP_MAX_DEPTH,
			(size_t)(cur.end - cur.p) };
		size_t vlen;
		if (mp_scan_buf(&lim, cur.p, (size_t)(cur.end - cur.p), &vlen) != MP_DONE)
			return -1;
		cur.p += vlen;
	}
	for (int s = 0; spec[s].name; s++)
		if (!(spec[s].flags & P_OPT) && !(seen & (1u << s)))
			return -1;
	return cur.p == cur.end ? 0 : -1;
}

/* The read's slot, if its entry is still there. */
static struct slot *
read_slot(const struct read_ctx *rc, struct schema_entry **ret_en)
{
	struct schema_entry *en = entry_find(rc->key);
	*ret_en = en;
	return en ? &en->slots[rc->system] : NULL;
}

/* catalog {query_id, system} */
static void
read_pack(struct query *q, msgpack_packer *pk)
{
	struct read_ctx *rc = q->ctx;
	MP_PACK_FIELDS(pk, MPF_STR("query_id", q->id), MPF_BOOL("system", rc->system));
}

/* The worker's answer, as bytes: check it, keep it, answer from it. */
static bool
read_raw(struct query *q, struct evbuffer *in, size_t len, const struct rpc_peek *pk)
{
	struct read_ctx *rc = q->ctx;
	if (pk->type != RPC_RESPONSE)
		return false; /* a notice: the default handling */
	evbuffer_drain(in, pk->result_at);
	size_t n = len - pk->result_at;
	struct blob *b = xmalloc(sizeof *b + n);
	b->refs = 1;
	evbuffer_remove(in, b->data, n);
	uint32_t nkeys;
	size_t body;
	if (reply_map_check((const uint8_t *)b->data, n, wire_catalog_reply, &nkeys, &body) < 0) {
		struct worker *w = q->conn->worker;
		log_warn("connection %s: malformed catalog reply from its worker", q->conn->cfg.name);
		if (w) {
			worker_kill(w, SIGKILL, "protocol violation: malformed reply to catalog");
			if (w->peer)
				rpc_peer_close(w->peer, "malformed reply to catalog", false);
		}
		free(b);
		struct tusk_error e = TUSK_ERROR_INIT;
		terr_set(&e, TE_WORKER_LOST, "the connection's worker sent a malformed catalog");
		terr_reason(&e, "protocol violation");
		for (int i = 0; i < rc->nwaiters; i++) {
			req_error(rc->waiters[i], &e);
			req_free(rc->waiters[i]);
		}
		rc->nwaiters = 0;
		terr_clear(&e);
		return true;
	}
	/* keep the map's body only: the answer packs its own header */
	memmove(b->data, b->data + body, n - body);
	b->len = n - body;

	struct schema_entry *en = entry_get(rc->key);
	struct slot *s = &en->slots[rc->system];
	bool changed = s->blob && (s->blob->len != b->len || memcmp(s->blob->data, b->data, b->len));
	bool touched_meanwhile = en->version != rc->version;
	blob_unref(s->blob);
	s->blob = b;
	s->nkeys = nkeys;
	s->fetched_ms = wall_ms();
	s->stale = touched_meanwhile; /* DDL ran during the read: it may predate it */
	if (s->reading == q)
		s->reading = NULL;
	log_debug("schema of %s read: %zu bytes in %lld ms", en->key, b->len,
	    (long long)(mono_ms() - q->started_mono_ms));
	if (changed && !touched_meanwhile && !rc->expect_change) {
		/* changed behind Tusk's back (another client, a migration) */
		en->version++;
		schema_changed_emit(en);
	}
	for (int i = 0; i < rc->nwaiters; i++) {
		answer_cached(rc->waiters[i], en, s);
		req_free(rc->waiters[i]);
	}
	rc->nwaiters = 0;
	cache_trim(en);
	return true;
}

/* The read failed or was cancelled: everyone waiting hears why. */
static bool
read_failed(struct query *q, const struct tusk_error *e)
{
	struct read_ctx *rc = q->ctx;
	for (int i = 0; i < rc->nwaiters; i++) {
		req_error(rc->waiters[i], e);
		req_free(rc->waiters[i]);
	}
	rc->nwaiters = 0;
	return false;
}

/* The read is over (answered already). */
static void
read_free(struct query *q)
{
	struct read_ctx *rc = q->ctx;
	struct schema_entry *en;
	struct slot *s = read_slot(rc, &en);
	if (s && s->reading == q)
		s->reading = NULL;
	if (rc->nwaiters) {
		struct tusk_error e = TUSK_ERROR_INIT;
		terr_set(&e, TE_INTERNAL, "the catalog read ended without an answer");
		read_failed(q, &e);
		terr_clear(&e);
	}
	free(rc->key);
	free(rc);
}

static const struct query_ops read_ops = {
	.order = W_CATALOG,
	.pack = read_pack,
	.raw = read_raw,
	.failed = read_failed,
	.free = read_free,
};

static const struct tusk_param p_get_schema[] = {
	{ "connection_id", TT_STR, 0, "an open connection's id", NULL },
	{ "refresh", TT_BOOL, P_OPT, "read the catalog again instead of answering from the cache", NULL },
	{ "system", TT_BOOL, P_OPT, "include pg_catalog and information_schema", NULL },
	PARAMS_END,
};

/* get_schema {connection_id, refresh?, system?} */
static int
h_get_schema(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct conn *c = req->conn;
	bool refresh = params_bool(p, "refresh", false), system = params_bool(p, "system", false);
	char *key = schema_key(&c->cfg);
	struct schema_entry *en = entry_get(key);
	struct slot *s = &en->slots[system];
	watcher_add(en, req->client, c->id);
	if (s->blob && !s->stale && !refresh) {
		free(key);
		answer_cached(req, en, s);
		return H_DONE;
	}
	if (s->reading && s->reading->conn == c) {
		/* share a read on this connection (one on another may wait behind
		 * that connection's queries: this one reads for itself) */
		struct read_ctx *rc = s->reading->ctx;
		if (rc->version == en->version && rc->nwaiters < WAITERS_MAX) {
			free(key);
			rc->waiters[rc->nwaiters++] = req; /* its answer is ours too */
			return H_ASYNC;
		}
	}
	struct read_ctx *rc = xcalloc(1, sizeof *rc);
	rc->key = key;
	rc->system = system;
	rc->version = en->version;
	rc->expect_change = s->stale;
	rc->waiters[rc->nwaiters++] = req;
	struct query *q = query_submit(c, NULL, NULL, xstrdup(system ?
	    "-- get_schema: reading the catalog (with system schemas)" :
	    "-- get_schema: reading the catalog"), &read_ops, rc, e);
	if (q == NULL) {
		free(rc->key);
		free(rc);
		return -1;
	}
	s->reading = q;
	queries_kick(c);
	return H_ASYNC;
}

/* The shapes of get_schema's result (common/methods.c names @schema). */
const struct tusk_method m_get_schema = {
	.name = M_GET_SCHEMA,
	.params = p_get_schema,
	.result = "{version: int, fetched_at: str, schemas: [@schema], "
	    "extensions: [{name: str, version: str, schema: str}], search_path: [str], "
	    "database: str, user: str, server_version: int, system: bool, warnings: [str]}",
	.flags = MF_READ_ONLY | MF_CONNECTION,
	.doc = "The database's schemas and their tables, views, columns, functions, sequences and "
	    "types, from the broker's cache (per server, database and user) or read from the "
	    "catalog; DDL run through Tusk makes the next call read again (schema_changed).",
	.handler = h_get_schema,
};

/* --- describe_object --------------------------------------------------------- */

/* describe {query_id, schema, name, kind?} */
static void
describe_pack(struct query *q, msgpack_packer *pk)
{
	struct describe_ctx *dc = q->ctx;
	MP_PACK_FIELDS(pk,
	    MPF_STR("query_id", q->id),
	    MPF_STR("schema", dc->schema),
	    MPF_STR("name", dc->name),
	    MPF_STR("kind", dc->kind));
}

/* The worker's description: checked, then passed on. */
static void
describe_done(struct query *q, const msgpack_object *res)
{
	struct params prm;
	struct worker *w = q->conn->worker;
	if (w == NULL || w->peer == NULL ||
	    worker_reply_read(w->peer, W_DESCRIBE, wire_describe_reply, res, &prm) < 0) {
		struct tusk_error e = TUSK_ERROR_INIT;
		terr_set(&e, TE_WORKER_LOST, "the connection's worker sent a malformed description");
		terr_reason(&e, "protocol violation");
		if (q->req)
			req_error(q->req, &e);
		terr_clear(&e);
		return;
	}
	if (q->req)
		msgpack_pack_object(req_result(q->req), *res);
}

/* Forget describe's arguments. */
static void
describe_ctx_free(struct describe_ctx *dc)
{
	free(dc->schema);
	free(dc->name);
	free(dc->kind);
	free(dc);
}

/* Forget describe's order. */
static void
describe_free(struct query *q)
{
	describe_ctx_free(q->ctx);
}

static const struct query_ops describe_ops = {
	.order = W_DESCRIBE,
	.pack = describe_pack,
	.done = describe_done,
	.free = describe_free,
};

/* The kinds describe_object takes. */
static const char *const describe_kinds[] = {
	"table", "partitioned_table", "view", "materialized_view", "foreign_table", "sequence",
	"function", "procedure", "aggregate", "window", "enum", "domain", "composite", "range",
	"relation", "routine", "type", NULL,
};

static const struct tusk_param p_describe_object[] = {
	{ "connection_id", TT_STR, 0, "an open connection's id", NULL },
	{ "schema", TT_STR, 0, "the object's schema (exact, unquoted)", NULL },
	{ "name", TT_STR, 0, "its name (exact, unquoted); a function's may be name(argument types)",
	    NULL },
	{ "kind", TT_STR, P_OPT, "only an object of this kind (table, view, function, enum, ...; "
	    "relation, routine and type for a family)", NULL },
	PARAMS_END,
};

/* describe_object {connection_id, schema, name, kind?} */
static int
h_describe_object(struct request *req, const struct params *p, struct tusk_error *e)
{
	char *kind = params_strdup(p, "kind");
	if (kind) {
		bool ok = false;
		for (int i = 0; describe_kinds[i]; i++)
			ok = ok || strcmp(kind, describe_kinds[i]) == 0;
		if (!ok) {
			terr_set(e, TE_VALIDATION, "kind: '%.40s' is not a kind of object", kind);
			terr_hint(e, "one of table, partitioned_table, view, materialized_view, "
			    "foreign_table, sequence, function, procedure, aggregate, window, enum, "
			    "domain, composite, range (or relation, routine, type)");
			free(kind);
			return -1;
		}
	}
	struct describe_ctx *dc = xcalloc(1, sizeof *dc);
	dc->schema = params_strdup(p, "schema");
	dc->name = params_strdup(p, "name");
	dc->kind = kind;
	if (strlen(dc->name) == 0 || strlen(dc->schema) == 0) {
		terr_set(e, TE_VALIDATION, "%s: must not be empty", strlen(dc->schema) ? "name" : "schema");
		terr_hint(e, "get_schema lists the schemas and their objects");
		describe_ctx_free(dc);
		return -1;
	}
	char *label = xasprintf("-- describe_object %.100s.%.100s", dc->schema, dc->name);
	struct query *q = query_submit(req->conn, req, NULL, label, &describe_ops, dc, e);
	if (q == NULL) {
		describe_ctx_free(dc);
		return -1;
	}
	queries_kick(req->conn);
	return H_ASYNC;
}

const struct tusk_method m_describe_object = {
	.name = M_DESCRIBE_OBJECT,
	.params = p_describe_object,
	.result = "@object",
	.flags = MF_READ_ONLY | MF_CONNECTION,
	.doc = "One table, view, sequence, function or type in full: columns, keys, indexes, "
	    "constraints, foreign keys both ways, triggers, partitions, size, and the DDL that "
	    "recreates it.",
	.handler = h_describe_object,
};

void
schema_cache_free(void)
{
	struct schema_entry *en;
	while ((en = TAILQ_FIRST(&schema_cache)) != NULL)
		entry_free(en);
}

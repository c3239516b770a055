/*
 * error.c — building, copying and (de)serialising struct tusk_error.
 */
#include "error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "rpc.h"
#include "util.h"

#define TE_NAME_(e, name) [e] = name,
static const char *const kind_names[TE__COUNT] = {
	[TE_NONE] = "None",
	TUSK_ERROR_KINDS(TE_NAME_)
};
#undef TE_NAME_

/* An empty error. */
void
terr_init(struct tusk_error *e)
{
	struct tusk_error z = TUSK_ERROR_INIT;
	*e = z;
}

/* Free a host-key block. */
static void
host_key_free(struct tusk_host_key *h)
{
	if (h == NULL)
		return;
	free(h->status);
	free(h->host);
	free(h->key_type);
	free(h->fingerprint);
	free(h->known_fingerprint);
	free(h->connection_id);
	free(h);
}

/* Free the strings and reset. */
void
terr_clear(struct tusk_error *e)
{
	host_key_free(e->host_key);
	free(e->message);
	free(e->detail);
	free(e->hint);
	free(e->code);
	free(e->reason);
	free(e->column);
	terr_init(e);
}

/*
 * The setters format before they free: wrapping an error's own text
 * (terr_set(e, k, "connect: %s", e->message)) must read the old string
 * while it is still alive.
 */

/* Set kind and message; returns -1 so handlers can `return terr_set(...)`. */
int
terr_set(struct tusk_error *e, enum tusk_error_kind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	terr_clear(e);
	e->kind = kind;
	e->message = msg;
	return -1;
}

/* Attach a hint: what the user can do about it. */
void
terr_hint(struct tusk_error *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *hint = xvasprintf(fmt, ap);
	va_end(ap);
	free(e->hint);
	e->hint = hint;
}

/* Attach a detail. */
void
terr_detail(struct tusk_error *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *detail = xvasprintf(fmt, ap);
	va_end(ap);
	free(e->detail);
	e->detail = detail;
}

/* Attach a SQLSTATE. */
void
terr_code(struct tusk_error *e, const char *code)
{
	char *copy = xstrdup(code);
	free(e->code);
	e->code = copy;
}

/* Attach a WorkerLost reason. */
void
terr_reason(struct tusk_error *e, const char *reason)
{
	char *copy = xstrdup(reason);
	free(e->reason);
	e->reason = copy;
}

/* The host-key block, created empty on first use. */
struct tusk_host_key *
terr_host_key(struct tusk_error *e)
{
	if (e->host_key == NULL) {
		e->host_key = xcalloc(1, sizeof *e->host_key);
		e->host_key->port = -1;
	}
	return e->host_key;
}

/* Is an error recorded? */
int
terr_isset(const struct tusk_error *e)
{
	return e->kind != TE_NONE;
}

/* Deep copy. */
void
terr_copy(struct tusk_error *dst, const struct tusk_error *src)
{
	terr_clear(dst);
	dst->kind = src->kind;
	dst->message = xstrdup(src->message);
	dst->detail = xstrdup(src->detail);
	dst->hint = xstrdup(src->hint);
	dst->code = xstrdup(src->code);
	dst->reason = xstrdup(src->reason);
	dst->position = src->position;
	dst->elapsed_ms = src->elapsed_ms;
	dst->line = src->line;
	dst->column = xstrdup(src->column);
	dst->transaction = src->transaction;
	if (src->host_key) {
		const struct tusk_host_key *h = src->host_key;
		struct tusk_host_key *d = terr_host_key(dst);
		d->status = xstrdup(h->status);
		d->host = xstrdup(h->host);
		d->port = h->port;
		d->key_type = xstrdup(h->key_type);
		d->fingerprint = xstrdup(h->fingerprint);
		d->known_fingerprint = xstrdup(h->known_fingerprint);
		d->connection_id = xstrdup(h->connection_id);
	}
}

/* Wire name of a kind. */
const char *
terr_kind_name(enum tusk_error_kind k)
{
	if ((int)k < 0 || k >= TE__COUNT)
		return "Internal";
	return kind_names[k];
}

/* Kind from its wire name; Internal when unknown. */
enum tusk_error_kind
terr_kind_parse(const char *s, size_t len)
{
	for (int k = 1; k < TE__COUNT; k++)
		if (strlen(kind_names[k]) == len && memcmp(kind_names[k], s, len) == 0)
			return (enum tusk_error_kind)k;
	return TE_INTERNAL;
}

/* Pack an optional int64 (negative = absent). */
static void
pack_opt_int(msgpack_packer *pk, int64_t v)
{
	if (v < 0)
		msgpack_pack_nil(pk);
	else
		msgpack_pack_int64(pk, v);
}

/* The wire map of an error. */
void
terr_pack(msgpack_packer *pk, const struct tusk_error *e)
{
	int n = 7 + (e->reason != NULL) + (e->host_key != NULL) + (e->line >= 0) + (e->column != NULL) +
	    (e->transaction != NULL);
	msgpack_pack_map(pk, (size_t)n);
	mp_pack_key(pk, "kind");
	mp_pack_cstr(pk, terr_kind_name(e->kind == TE_NONE ? TE_INTERNAL : e->kind));
	mp_pack_key(pk, "message");
	mp_pack_cstr(pk, e->message ? e->message : "unknown error");
	mp_pack_key(pk, "detail");
	mp_pack_cstr(pk, e->detail);
	mp_pack_key(pk, "hint");
	mp_pack_cstr(pk, e->hint);
	mp_pack_key(pk, "position");
	pack_opt_int(pk, e->position);
	mp_pack_key(pk, "code");
	mp_pack_cstr(pk, e->code);
	mp_pack_key(pk, "elapsed_ms");
	pack_opt_int(pk, e->elapsed_ms);
	if (e->reason) {
		mp_pack_key(pk, "reason");
		mp_pack_cstr(pk, e->reason);
	}
	if (e->line >= 0) {
		mp_pack_key(pk, "line");
		msgpack_pack_int64(pk, e->line);
	}
	if (e->column) {
		mp_pack_key(pk, "column");
		mp_pack_cstr(pk, e->column);
	}
	if (e->transaction) {
		mp_pack_key(pk, "transaction");
		mp_pack_cstr(pk, e->transaction);
	}
	if (e->host_key) {
		const struct tusk_host_key *h = e->host_key;
		mp_pack_key(pk, "host_key");
		msgpack_pack_map(pk, 7);
		mp_pack_key(pk, "status");
		mp_pack_cstr(pk, h->status);
		mp_pack_key(pk, "host");
		mp_pack_cstr(pk, h->host);
		mp_pack_key(pk, "port");
		pack_opt_int(pk, h->port);
		mp_pack_key(pk, "key_type");
		mp_pack_cstr(pk, h->key_type);
		mp_pack_key(pk, "fingerprint");
		mp_pack_cstr(pk, h->fingerprint);
		mp_pack_key(pk, "known_fingerprint");
		mp_pack_cstr(pk, h->known_fingerprint);
		mp_pack_key(pk, "connection_id");
		mp_pack_cstr(pk, h->connection_id);
	}
}

void
pack_error_or_nil(msgpack_packer *pk, const void *e)
{
	if (e)
		terr_pack(pk, e);
	else
		msgpack_pack_nil(pk);
}

/* A short string field of a map (hostile input: at most 512 bytes). */
static char *
short_str(const msgpack_object *map, const char *key)
{
	const msgpack_object *v = mo_map_get(map, key);
	if (v == NULL || v->type != MSGPACK_OBJECT_STR || v->via.str.size > 512)
		return NULL;
	return mo_strdup(v);
}

/* A transaction state's static name (unknown ones are "unknown"). */
static const char *
tx_state_static(const msgpack_object *v)
{
	static const char *const states[] = { "idle", "in_transaction", "failed_transaction", "active" };
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		if (mo_str_eq(v, states[i]))
			return states[i];
	return "unknown";
}

/* Read an error map (as sent by a worker or the broker). */
int
terr_unpack(const msgpack_object *o, struct tusk_error *e)
{
	terr_clear(e);
	if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
		return -1;
	const msgpack_object *v;
	if ((v = mo_map_get(o, "message")) == NULL || v->type != MSGPACK_OBJECT_STR)
		return -1;
	e->message = mo_strdup(v);
	e->kind = TE_INTERNAL;
	if ((v = mo_map_get(o, "kind")) != NULL && v->type == MSGPACK_OBJECT_STR)
		e->kind = terr_kind_parse(v->via.str.ptr, v->via.str.size);
	if ((v = mo_map_get(o, "detail")) != NULL && v->type == MSGPACK_OBJECT_STR)
		e->detail = mo_strdup(v);
	if ((v = mo_map_get(o, "hint")) != NULL && v->type == MSGPACK_OBJECT_STR)
		e->hint = mo_strdup(v);
	if ((v = mo_map_get(o, "code")) != NULL && v->type == MSGPACK_OBJECT_STR)
		e->code = mo_strdup(v);
	if ((v = mo_map_get(o, "reason")) != NULL && v->type == MSGPACK_OBJECT_STR)
		e->reason = mo_strdup(v);
	if ((v = mo_map_get(o, "position")) != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    v->via.u64 <= INT64_MAX)
		e->position = (int64_t)v->via.u64;
	if ((v = mo_map_get(o, "elapsed_ms")) != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    v->via.u64 <= INT64_MAX)
		e->elapsed_ms = (int64_t)v->via.u64;
	if ((v = mo_map_get(o, "line")) != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    v->via.u64 <= INT64_MAX)
		e->line = (int64_t)v->via.u64;
	e->column = short_str(o, "column");
	if ((v = mo_map_get(o, "transaction")) != NULL && v->type == MSGPACK_OBJECT_STR)
		e->transaction = tx_state_static(v);
	if ((v = mo_map_get(o, "host_key")) != NULL && v->type == MSGPACK_OBJECT_MAP) {
		struct tusk_host_key *h = terr_host_key(e);
		const msgpack_object *port = mo_map_get(v, "port");
		int64_t pn;
		h->status = short_str(v, "status");
		h->host = short_str(v, "host");
		h->port = port && mo_int(port, &pn) == 0 && pn > 0 && pn <= 65535 ? (int)pn : -1;
		h->key_type = short_str(v, "key_type");
		h->fingerprint = short_str(v, "fingerprint");
		h->known_fingerprint = short_str(v, "known_fingerprint");
		h->connection_id = short_str(v, "connection_id");
	}
	return 0;
}

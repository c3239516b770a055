/*
 * error.h — the one error model every Tusk method answers with.
 *
 * On the wire an error is the map {kind, message, detail, hint, position,
 * code, elapsed_ms} with nil where absent (plus `reason` for WorkerLost, and
 * `host_key` for a Connection error about an SSH server's host key).
 * Inside the code a handler fills one struct tusk_error; that struct becomes
 * the wire map. Strings are owned by the struct.
 */
#ifndef TUSK_ERROR_H
#define TUSK_ERROR_H

#include <stdint.h>

#include <msgpack.h>

#include "proto.h"

#define TE_ENUM_(e, name) e,
/* The kinds and their wire names are listed once, in proto.h. */
enum tusk_error_kind {
	TE_NONE = 0,
	TUSK_ERROR_KINDS(TE_ENUM_)
	TE__COUNT
};
#undef TE_ENUM_

/*
 * An SSH server's host key that is not trusted: unknown (trust_host_key can
 * record it) or changed from the one on record (never accepted).
 */
struct tusk_host_key {
	char *status;		/* "unknown" or "changed" */
	char *host;		/* the SSH server as configured */
	int port;
	char *key_type;		/* e.g. ssh-ed25519 */
	char *fingerprint;	/* SHA256:... of the key the server offered */
	char *known_fingerprint; /* changed: the key(s) on record, ", "-separated */
	char *connection_id;	/* the id trust_host_key takes (set by the broker) */
};

struct tusk_error {
	enum tusk_error_kind kind;
	char *message;
	char *detail;
	char *hint;
	char *code;	    /* SQLSTATE for Database errors */
	char *reason;	    /* WorkerLost: hung, crashed, killed, ... */
	int64_t position;   /* 1-based character offset in the SQL, or -1 */
	int64_t elapsed_ms; /* for timeouts, or -1 */
	struct tusk_host_key *host_key; /* SSH host key errors, else NULL */
	int64_t line;	    /* import: the file's line the server named, or -1 */
	char *column;	    /* import: the column it named, or NULL */
	const char *transaction; /* a query's: the session's state after it (static), or NULL */
};

#define TUSK_ERROR_INIT { TE_NONE, NULL, NULL, NULL, NULL, NULL, -1, -1, NULL, -1, NULL, NULL }

void terr_init(struct tusk_error *e);
/* Set kind and message (replacing any previous error). Returns -1. */
int terr_set(struct tusk_error *e, enum tusk_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void terr_hint(struct tusk_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void terr_detail(struct tusk_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void terr_code(struct tusk_error *e, const char *code);
void terr_reason(struct tusk_error *e, const char *reason);
/* Attach (or return the attached) host-key block, zeroed when new. */
struct tusk_host_key *terr_host_key(struct tusk_error *e);
void terr_clear(struct tusk_error *e);
/* Deep copy src into dst (dst is cleared first). */
void terr_copy(struct tusk_error *dst, const struct tusk_error *src);
int terr_isset(const struct tusk_error *e);

const char *terr_kind_name(enum tusk_error_kind k);
enum tusk_error_kind terr_kind_parse(const char *s, size_t len);

/* The wire map. */
void terr_pack(msgpack_packer *pk, const struct tusk_error *e);
/* The wire map, or nil for NULL (an mpf_fn for MP_PACK_FIELDS). */
void pack_error_or_nil(msgpack_packer *pk, const void *e);
/* Read a wire map into e (copies); unknown kinds become Internal. -1 if o is
 * not a map with a string message. */
int terr_unpack(const msgpack_object *o, struct tusk_error *e);

#endif

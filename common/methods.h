/*
 * methods.h — what a method, a notification and a named shape are.
 *
 * Each client-facing method is one `const struct tusk_method`, defined in
 * the broker file that handles it (tmux's cmd_entry, Redis's command
 * table): its name (from proto.h), its parameters (checked by the
 * dispatcher before the handler runs, see msg.h), the shape of its result
 * (shape.h), flags the dispatcher acts on, a line of documentation, and the
 * handler. broker/methods.c lists them all in one table; `describe` is
 * packed from that table, so the documentation, the generated TypeScript
 * types of the web UI and the integration suite's result checks all follow
 * the code. Notifications and the named shapes they share are declared here
 * once (methods.c). Add entries; never rename.
 */
#ifndef TUSK_METHODS_H
#define TUSK_METHODS_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "msg.h"

struct request; /* the broker's */
struct tusk_error;

typedef int (*method_handler)(struct request *req, const struct params *p, struct tusk_error *e);

/* Flags */
#define MF_READ_ONLY 0x1  /* changes nothing: a client may repeat it freely */
#define MF_STREAMS 0x2	  /* notifications about it may arrive before its answer */
#define MF_CONNECTION 0x4 /* its connection_id must name an open connection: the
			   * dispatcher finds it (req->conn) or answers the error */

struct tusk_method {
	const char *name;
	const struct tusk_param *params; /* terminated by a NULL name */
	const char *result;		 /* the result's shape (shape.h) */
	unsigned flags;
	const char *doc;
	method_handler handler;
};

struct tusk_notification {
	const char *name;
	const char *shape; /* of its one params map */
	const char *doc;
};

struct tusk_shape_def {
	const char *name; /* @name in shapes */
	const char *shape;
};

/* Every notification a client may receive; NULL-name terminated. */
extern const struct tusk_notification tusk_notifications[];
/* The named shapes; NULL-name terminated. */
extern const struct tusk_shape_def tusk_shapes[];
/* Is name (len bytes) one of tusk_shapes? (shape_valid's check of @name) */
bool tusk_shape_known(const char *name, size_t len);

/*
 * Is the table sound: names unique and at most RPC_MAX_METHOD bytes,
 * parameters within PARAMS_MAX with unique names, every shape parses and
 * names only known shapes, a handler for each? 0, or -1 with why.
 */
int methods_check(const struct tusk_method *const *table, size_t n, char *why, size_t whylen);
/* Find a method by name (len bytes, not NUL-terminated); NULL when unknown. */
const struct tusk_method *methods_find(const struct tusk_method *const *table, size_t n,
    const char *name, size_t len);
/* The `describe` result for this table. */
void methods_pack_describe(msgpack_packer *pk, const struct tusk_method *const *table, size_t n);

#endif
